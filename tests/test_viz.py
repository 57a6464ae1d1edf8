"""aslsign.viz and ``aslsign render``: the pictures are read back and their pixels checked."""

from __future__ import annotations

import csv
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from aslsign import landmarks as L
from aslsign.errors import InputShapeError

HAS_VIZ = all(importlib.util.find_spec(m) for m in ("PIL", "imageio", "imageio_ffmpeg"))
requires_viz = pytest.mark.skipif(
    not HAS_VIZ, reason='needs Pillow, imageio and imageio-ffmpeg: pip install -e ".[viz]"'
)

BLUE = (40, 90, 230)  # viz.COLORS["right_hand"]
RED = (230, 60, 40)  # viz.COLORS["left_hand"]


# ------------------------------------------------------------------ connection lists
def test_connection_counts_and_ranges() -> None:
    assert len(L.HAND_CONNECTIONS) == 21
    assert len(L.LEFT_HAND_CONNECTIONS) == len(L.RIGHT_HAND_CONNECTIONS) == 21
    assert len(L.POSE_CONNECTIONS_UPPER_BODY) == 25
    assert len(L.FACE_CONNECTIONS) == 124  # 36 oval + 40 lips + 2 x 16 eyes + 2 x 8 eyebrows
    parts = {
        "hand": (L.HAND_CONNECTIONS, range(0, 21)),
        "left": (L.LEFT_HAND_CONNECTIONS, range(468, 489)),
        "right": (L.RIGHT_HAND_CONNECTIONS, range(522, 543)),
        "pose": (L.POSE_CONNECTIONS_UPPER_BODY, range(489, 489 + 25)),
        "face": (L.FACE_CONNECTIONS, range(0, 468)),
    }
    for name, (edges, rows) in parts.items():
        assert len(set(edges)) == len(edges), name
        for a, b in edges:
            assert a in rows and b in rows and a != b, (name, a, b)
    # every hand point is connected; the lips of the face contours are the LIPS group
    assert {i for e in L.HAND_CONNECTIONS for i in e} == set(range(21))
    assert set(L.LIPS) <= {i for e in L.FACE_CONNECTIONS for i in e}
    assert (489 + 11, 489 + 12) in L.POSE_CONNECTIONS_UPPER_BODY  # the shoulders


# ------------------------------------------------------------------ helpers
def _read(path: Path) -> np.ndarray:
    import imageio.v3 as iio

    return np.asarray(iio.imread(path, index=None))[..., :3]


def _mask(img: np.ndarray, color: tuple[int, int, int], tol: int = 30) -> np.ndarray:
    return (np.abs(img.astype(int) - np.array(color)) <= tol).all(axis=-1)


def _no_counter(frames: np.ndarray) -> np.ndarray:
    """The frames without the frame counter (top-right corner)."""
    out = frames.copy()
    h, w = out.shape[1:3]
    out[:, : h // 10, w * 3 // 4 :] = 0
    return out


def _hand(center: tuple[float, float], spread: float = 0.03) -> np.ndarray:
    """21 hand points: the wrist at ``center``, the fingers fanning upwards from it."""
    pts = np.zeros((21, 3), np.float32)
    pts[0, :2] = center
    for finger in range(5):
        angle = np.deg2rad(-150 + 30 * finger)
        for k in range(4):
            r = spread * (k + 1) / 4
            pts[1 + 4 * finger + k, :2] = (
                center[0] + r * np.cos(angle),
                center[1] + r * np.sin(angle),
            )
    return pts


def _pixel(v: np.ndarray, size: int) -> np.ndarray:
    """Where the renderer puts image coordinates when the shoulders span (0.1, 0.1)-(0.9, 0.9):
    a square box fitted to all points with a 5 % margin each side."""
    x0, side = 0.5 - 0.8 * 1.1 / 2, 0.8 * 1.1
    return (v - x0) / side * (size - 1)


def _synthetic() -> np.ndarray:
    """5 frames: the shoulders fix the box; the right hand is at A, absent, at A, at B, at B."""
    x = np.full((5, 543, 3), np.nan, np.float32)
    x[:, 489 + 11, :2] = (0.1, 0.1)
    x[:, 489 + 12, :2] = (0.9, 0.9)
    a, b = _hand((0.3, 0.7)), _hand((0.7, 0.3))
    x[0, 522:543], x[2, 522:543] = a, a
    x[3, 522:543], x[4, 522:543] = b, b
    return x


# ------------------------------------------------------------------ render
@requires_viz
def test_render_gif_hand_pixels_where_the_hand_is(tmp_path: Path) -> None:
    from aslsign.viz import render

    x = _synthetic()
    out = render(x, tmp_path / "s.gif", size=256)
    assert out == tmp_path / "s.gif"
    frames = _read(out)
    assert frames.shape == (5, 256, 256, 3)
    for t in (0, 2, 3, 4):
        blue = _mask(frames[t], BLUE)
        pts = _pixel(x[t, 522:543, :2], 256)
        lo, hi = pts.min(axis=0) - 6, pts.max(axis=0) + 6
        ys, xs = np.nonzero(blue)
        assert len(xs) > 50, t
        assert (xs >= lo[0]).all() and (xs <= hi[0]).all(), t  # no hand pixels elsewhere
        assert (ys >= lo[1]).all() and (ys <= hi[1]).all(), t
        for px, py in pts[[0, 4, 8, 12, 16, 20]]:  # wrist and fingertips are drawn
            r, c = round(py), round(px)
            assert blue[r - 2 : r + 3, c - 2 : c + 3].any(), (t, px, py)
        assert not _mask(frames[t], RED).any()  # no left hand in this sequence
    assert not _mask(frames[1], BLUE).any()  # NaN hand: no hand pixels
    assert _mask(frames[1], (40, 170, 60)).any()  # the pose is still drawn


@requires_viz
def test_render_frames_change_only_where_the_sequence_moves(tmp_path: Path) -> None:
    from aslsign.viz import render

    frames = _no_counter(_read(render(_synthetic(), tmp_path / "s.gif", size=128)))
    assert np.array_equal(frames[0], frames[2])  # same pose, same hand
    assert np.array_equal(frames[3], frames[4])
    assert not np.array_equal(frames[2], frames[3])  # the hand moved
    assert not np.array_equal(frames[0], frames[1])  # the hand vanished
    # the part of the picture away from both hand positions is the same in every frame
    assert np.array_equal(frames[0, 100:, :40], frames[3, 100:, :40])


@requires_viz
def test_render_mp4_reads_back(tmp_path: Path) -> None:
    import imageio.v2 as iio2

    from aslsign.viz import render

    x = np.concatenate([_synthetic()] * 2)  # 10 frames
    out = render(x, tmp_path / "s.mp4", fps=10, size=128)
    reader = iio2.get_reader(out, format="FFMPEG")
    frames = np.stack([np.asarray(f) for f in reader])
    reader.close()
    assert frames.shape == (10, 128, 128, 3)
    blue = [_mask(f, BLUE, tol=60).sum() for f in frames]
    assert blue[0] > 20 and blue[3] > 20 and blue[1] < 3  # lossy, but the hand is there or not


@requires_viz
def test_render_labels_and_title_change_text_pixels(tmp_path: Path) -> None:
    from aslsign.viz import render

    x = _synthetic()
    plain = _read(render(x, tmp_path / "a.gif", size=256))
    labelled = _read(render(x, tmp_path / "b.gif", size=256, labels=["", "A", "AB", "ABC", "x"]))
    bottom = slice(256 - 30, 256), slice(0, 120)
    assert np.array_equal(plain[0], labelled[0])  # an empty label draws nothing
    for t in range(1, 5):
        assert not np.array_equal(plain[t][bottom], labelled[t][bottom]), t
        assert np.array_equal(plain[t][: 256 - 30], labelled[t][: 256 - 30]), t
    assert not np.array_equal(labelled[2][bottom], labelled[3][bottom])
    titled = _read(render(x, tmp_path / "c.gif", size=256, title="hello"))
    assert not np.array_equal(plain[0][:30, :120], titled[0][:30, :120])


@requires_viz
def test_render_grid(tmp_path: Path) -> None:
    from aslsign.viz import render_grid

    x = _synthetic()
    out = render_grid([x, x[:2], x[:3]], tmp_path / "g.gif", size=64, columns=2, titles="abc")
    frames = _read(out)
    assert frames.shape == (5, 128, 128, 3)  # the longest sequence; 2 rows x 2 columns
    assert (frames[:, 64:, 64:] == 255).all()  # the empty fourth cell
    held = frames[:, 64:, :64]  # 3 frames: holds its last frame from frame 2 on
    assert all(np.array_equal(held[2], held[t]) for t in (3, 4))
    assert not _mask(held[1], BLUE).any() and _mask(held[2], BLUE).any()
    one = _read(render_grid([x], tmp_path / "one.gif", size=64))
    assert one.shape == (5, 64, 64, 3)


@requires_viz
def test_render_rejects_bad_input(tmp_path: Path) -> None:
    from aslsign.viz import render, render_grid

    x = _synthetic()
    with pytest.raises(InputShapeError):
        render(x[:, :542], tmp_path / "a.gif")
    with pytest.raises(InputShapeError):
        render(x[..., :2], tmp_path / "a.gif")
    with pytest.raises(InputShapeError):
        render(x[:0], tmp_path / "a.gif")
    with pytest.raises(InputShapeError):
        render(x, tmp_path / "a.gif", labels=["a"])
    with pytest.raises(InputShapeError):
        render_grid([x, x[0]], tmp_path / "a.gif")
    with pytest.raises(ValueError, match=r"\.gif or \.mp4"):
        render(x, tmp_path / "a.png")
    with pytest.raises(ValueError, match="fps"):
        render(x, tmp_path / "a.gif", fps=0)
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------------ real data
def _real_file(gislr_mini: Path) -> Path:
    """A gislr-mini sequence whose right or left hand is seen in at least 10 frames."""
    from aslsign import load_sequence

    with open(gislr_mini / "train.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows[:40]:
        path = gislr_mini / row["path"]
        x = load_sequence(path)
        if np.isfinite(x[:, 522:543, 0]).all(axis=1).sum() >= 10:
            return path
    pytest.skip("no gislr-mini sequence with a right hand in 10 frames among the first 40")


@requires_viz
def test_render_real_sequence(gislr_mini: Path, tmp_path: Path) -> None:
    from aslsign import load_sequence
    from aslsign.viz import render

    path = _real_file(gislr_mini)
    x = load_sequence(path)
    frames = _read(render(x, tmp_path / "real.gif", size=128))
    assert len(frames) == len(x)
    hand = x[:, 522:543, :2]
    seen = np.isfinite(hand).all(axis=(1, 2))
    body = _no_counter(frames)
    checked = 0
    for t in range(1, len(x)):
        if seen[t] and seen[t - 1]:
            moved = np.nanmax(np.abs(hand[t] - hand[t - 1]))
            if moved > 0.02:
                assert not np.array_equal(body[t], body[t - 1]), t
                checked += 1
        if seen[t]:
            assert _mask(frames[t], BLUE).sum() > 10, t
        else:
            assert not _mask(frames[t], BLUE).any(), t
    assert checked > 0


# ------------------------------------------------------------------ CLI
def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "aslsign.cli", "render", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ.copy(),
    )
    assert proc.returncode == 0, proc.stderr
    return proc


@requires_viz
def test_cli_render(gislr_mini: Path, tmp_path: Path) -> None:
    from aslsign import load_sequence

    path = _real_file(gislr_mini)
    n = len(load_sequence(path))
    plain, predicted = tmp_path / "plain.gif", tmp_path / "model.gif"
    proc = _cli(str(path), "-o", str(plain), "--size", "128", "--fps", "10")
    assert f"{n} frames" in proc.stdout
    _cli(str(path), "-o", str(predicted), "--size", "128", "--model", "hybrid_tiny.gislr_mini")
    a, b = _read(plain), _read(predicted)
    assert len(a) == len(b) == n
    bottom = slice(128 - 16, 128)
    assert (a[:, bottom, :60] == 255).all()  # no label without a model
    import aslsign

    with aslsign.SignRecognizer.from_pretrained() as rec:
        spans = rec.spot(load_sequence(path))
    assert spans
    inside = {t for s in spans for t in range(s.start_frame, s.end_frame)}
    for t in range(n):  # the span's sign on its frames, nothing on the others
        assert (b[t, bottom, :60] < 128).any() == (t in inside), t
    assert np.array_equal(a[:, : 128 - 16], b[:, : 128 - 16])


def test_cli_render_bad_suffix(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "aslsign.cli", "render", "x.parquet", "-o", "x.png"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and ".gif or .mp4" in proc.stderr


@requires_viz
def test_cli_render_aslfr_sequence(tmp_path: Path) -> None:
    from aslsign import write_fingerspelling

    x = _synthetic()
    path = write_fingerspelling(tmp_path / "spell.parquet", {5: x, 9: np.concatenate([x, x])})
    _cli(str(path), "--sequence-id", "9", "-o", str(tmp_path / "nine.gif"), "--size", "64")
    assert len(_read(tmp_path / "nine.gif")) == 10
    _cli(str(path), "-o", str(tmp_path / "first.gif"), "--size", "64")
    assert len(_read(tmp_path / "first.gif")) == 5
    out = tmp_path / "spelled.mp4"
    _cli(str(path), "--sequence-id", "9", "-o", str(out), "--model", "ctc_tiny.synth_letters")
    assert out.stat().st_size > 0


def test_missing_viz_extra_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from aslsign import viz

    for name in ("PIL", "imageio", "imageio.v3"):
        monkeypatch.setitem(sys.modules, name, None)  # an import of it raises ImportError
    with pytest.raises(ImportError, match=r'pip install "aslsign\[viz\]"'):
        viz.render(_synthetic(), tmp_path / "a.gif")
    assert not (tmp_path / "a.gif").exists()


@requires_viz
def test_partly_detected_hand_draws_only_finite_points(tmp_path: Path) -> None:
    from aslsign.viz import render

    x = _synthetic()[:1].repeat(2, axis=0)
    x[:, 522:543] = _hand((0.5, 0.6), spread=0.2)
    x[1, 522] = np.nan  # no wrist in frame 1: no wrist dot, no palm edges from it
    frames = _read(render(x, tmp_path / "p.gif", size=256))
    cx, cy = (round(v) for v in _pixel(np.array([0.5, 0.6]), 256))
    near_wrist = (slice(cy - 8, cy + 9), slice(cx - 8, cx + 9))
    assert _mask(frames[0], BLUE)[near_wrist].any()
    assert not _mask(frames[1], BLUE)[near_wrist].any()
    assert _mask(frames[1], BLUE).sum() > 100  # the fingers are still there


@requires_viz
def test_render_mp4_odd_size_is_padded_to_even(tmp_path: Path) -> None:
    import imageio.v2 as iio2

    from aslsign.viz import render

    out = render(_synthetic(), tmp_path / "odd.mp4", size=101)
    reader = iio2.get_reader(out, format="FFMPEG")
    frames = np.stack([np.asarray(f) for f in reader])
    reader.close()
    assert frames.shape == (5, 102, 102, 3)


# ------------------------------------------------------------------ overlay (aslsign live)
@requires_viz
def test_overlay_draws_at_image_coordinates_and_leaves_the_input() -> None:
    from aslsign.viz import overlay

    image = np.full((120, 240, 3), 20, np.uint8)  # dark, wider than high
    frame = np.full((L.NUM_LANDMARKS, 3), np.nan, np.float32)
    hand = np.zeros((21, 3), np.float32)
    hand[:, 0] = np.linspace(0.70, 0.80, 21)  # x in [168, 192] px
    hand[:, 1] = np.linspace(0.20, 0.40, 21)  # y in [24, 48] px
    frame[L.SLICES["right_hand"]] = hand
    out = overlay(image, frame)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert (image == 20).all()  # a new image
    ys, xs = np.nonzero(_mask(out, BLUE))
    assert len(xs) > 20
    assert xs.min() >= 160 and xs.max() <= 200 and ys.min() >= 16 and ys.max() <= 56
    assert not _mask(out, RED).any()  # the left hand is NaN: nothing drawn
    labelled = overlay(image, frame, text="hello 0.93")
    changed = (labelled != out).any(axis=-1)
    ys, xs = np.nonzero(changed)
    assert len(ys) and ys.min() > 60 and xs.max() < 160  # the bottom-left corner only


@requires_viz
def test_overlay_rejects_wrong_shapes() -> None:
    from aslsign.viz import overlay

    frame = np.zeros((L.NUM_LANDMARKS, 3), np.float32)
    with pytest.raises(InputShapeError):
        overlay(np.zeros((10, 10), np.uint8), frame)
    with pytest.raises(InputShapeError):
        overlay(np.zeros((10, 10, 3), np.float32), frame)
    with pytest.raises(InputShapeError):
        overlay(np.zeros((10, 10, 3), np.uint8), frame[:100])
