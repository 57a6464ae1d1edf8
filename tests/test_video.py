"""aslsign.video and the extract / live verbs.

Frames come from a real photograph of a person that matplotlib ships (Grace Hopper, head and
shoulders), turned into a short clip by shifting it sideways a few pixels per frame. The tests
marked ``video`` run real MediaPipe Holistic; they need the ``video`` extra, which cannot share an
environment with TensorFlow (CI runs them in a second environment, see .ci/run).
"""

from __future__ import annotations

import importlib.util
import io
import os
import re
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

import aslsign
from aslsign.cli import main
from aslsign.errors import BackendNotAvailableError, VideoSourceError
from aslsign.landmarks import SLICES

pytest.importorskip("PIL", reason="the video tests need Pillow (aslsign[video] or [viz])")
pytest.importorskip("imageio_ffmpeg", reason="the video tests need imageio-ffmpeg")
cbook = pytest.importorskip("matplotlib.cbook", reason="the photo comes with matplotlib")

from PIL import Image  # noqa: E402

from aslsign import video  # noqa: E402

HAS_MEDIAPIPE = importlib.util.find_spec("mediapipe") is not None
if not HAS_MEDIAPIPE and os.environ.get("ASLSIGN_REQUIRE_VIDEO"):
    raise RuntimeError("ASLSIGN_REQUIRE_VIDEO is set but MediaPipe is not installed")
needs_mediapipe = pytest.mark.skipif(
    not HAS_MEDIAPIPE,
    reason="MediaPipe is not installed: the video extra has its own environment (see .ci/run)",
)
FRAMES = 10
SHIFT = 6  # pixels per frame
NOSE = 1  # face-mesh point 1, the nose tip
POSE_NOSE = SLICES["pose"].start  # pose point 0


def photo() -> np.ndarray:
    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    return np.asarray(Image.open(path).convert("RGB"))


def shifted(image: np.ndarray, pixels: int) -> np.ndarray:
    """The photo moved right by ``pixels``, the uncovered strip filled with its edge column."""
    out = np.empty_like(image)
    out[:, pixels:] = image[:, : image.shape[1] - pixels]
    out[:, :pixels] = image[:, :1]
    return out


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The shifted photo as a folder of PNGs (named so that name order != natural order
    would differ) and as an MP4."""
    import imageio.v2 as iio2

    root = tmp_path_factory.mktemp("clip")
    folder = root / "frames"
    folder.mkdir()
    image = photo()
    frames = [shifted(image, SHIFT * k) for k in range(FRAMES)]
    for k, f in enumerate(frames):
        Image.fromarray(f).save(folder / f"frame{k}.png")
    (folder / "notes.txt").write_text("not an image")
    mp4 = root / "clip.mp4"
    with iio2.get_writer(mp4, format="FFMPEG", mode="I", fps=10, macro_block_size=1) as w:
        for f in frames:
            w.append_data(f)
    return {"folder": folder, "mp4": mp4}


# --------------------------------------------------------------------------------------------
# Reading frames (no MediaPipe needed)
# --------------------------------------------------------------------------------------------


def test_folder_frames_come_in_natural_name_order(clip: dict[str, Path]) -> None:
    source = video.read_frames(clip["folder"])
    assert source.count == FRAMES and source.fps == 30.0
    got = list(source)
    assert [t for t, _ in got] == [round(k * 1000 / 30) for k in range(FRAMES)]
    image = photo()
    for k, (_, frame) in enumerate(got):  # frame10 would sort before frame2 by plain name
        np.testing.assert_array_equal(frame, shifted(image, SHIFT * k))


def test_video_frames_decode_with_their_count_and_rate(clip: dict[str, Path]) -> None:
    source = video.read_frames(clip["mp4"])
    assert source.fps == pytest.approx(10.0)
    got = list(source)
    assert len(got) == FRAMES
    assert [t for t, _ in got] == [100 * k for k in range(FRAMES)]
    image = photo()
    for k, (_, frame) in enumerate(got):  # lossy H.264: close to the frame, far from others
        err = np.abs(frame.astype(int) - shifted(image, SHIFT * k)).mean()
        other = np.abs(frame.astype(int) - shifted(image, SHIFT * ((k + 5) % FRAMES))).mean()
        assert frame.shape == image.shape and err < 6 < other


def test_single_image_is_one_frame() -> None:
    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    frames = list(video.read_frames(path, fps=25))
    assert len(frames) == 1 and frames[0][1].shape == photo().shape


def test_unreadable_sources_raise_video_source_error(tmp_path: Path) -> None:
    with pytest.raises(VideoSourceError, match="no such"):
        video.read_frames(tmp_path / "missing.mp4")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "a.txt").write_text("x")
    with pytest.raises(VideoSourceError, match="no images"):
        video.read_frames(tmp_path / "empty")
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 2048)
    with pytest.raises(VideoSourceError, match="cannot decode"):
        video.read_frames(bad)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG not really")
    with pytest.raises(VideoSourceError, match="not a readable image"):
        list(video.read_frames(broken))
    with pytest.raises(ValueError, match="fps"):
        video.read_frames(tmp_path / "empty", fps=0)


def test_native_logs_silenced_keeps_python_stderr() -> None:
    """Inside, what native code writes to fd 2 is dropped; Python's sys.stderr still shows."""
    import subprocess
    import sys

    code = (
        "import os, sys\n"
        "from aslsign.video import native_logs_silenced\n"
        "os.write(2, b'native-before\\n')\n"
        "with native_logs_silenced():\n"
        "    os.write(2, b'native-inside\\n')\n"
        "    print('python-inside', file=sys.stderr)\n"
        "os.write(2, b'native-after\\n')\n"
        "with native_logs_silenced(False):\n"
        "    os.write(2, b'native-verbose\\n')\n"
    )
    err = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stderr.split()
    assert err == ["native-before", "python-inside", "native-after", "native-verbose"]


@pytest.mark.skipif(HAS_MEDIAPIPE, reason="checks the message when MediaPipe is absent")
def test_without_mediapipe_the_error_says_what_to_install(
    clip: dict[str, Path], tmp_path: Path
) -> None:
    with pytest.raises(BackendNotAvailableError, match=r"aslsign\[video\]"):
        video.extract(clip["folder"])
    assert main(["extract", str(clip["folder"]), "-o", str(tmp_path / "x.parquet")]) == 2


# --------------------------------------------------------------------------------------------
# Real MediaPipe Holistic
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def extracted(clip: dict[str, Path]) -> np.ndarray:
    if not HAS_MEDIAPIPE:
        pytest.skip("MediaPipe is not installed: the video extra has its own environment")
    return video.extract(clip["folder"])


def detected(x: np.ndarray, part: str) -> np.ndarray:
    """Per frame: is every point of the part finite."""
    return np.isfinite(x[:, SLICES[part]]).all(axis=(1, 2))


@pytest.mark.video
@needs_mediapipe
def test_extract_finds_pose_and_face_and_no_hands(extracted: np.ndarray) -> None:
    assert extracted.shape == (FRAMES, 543, 3) and extracted.dtype == np.float32
    assert detected(extracted, "pose").all() and detected(extracted, "face").all()
    # Her hands are not in the picture: nothing detected is NaN, never zeros.
    assert np.isnan(extracted[:, SLICES["left_hand"]]).all()
    assert np.isnan(extracted[:, SLICES["right_hand"]]).all()
    # x, y are normalised image coordinates; the nose lies inside the face oval.
    nose = extracted[:, NOSE, :2]
    face = extracted[:, SLICES["face"], :2]
    assert ((face.min(axis=1) < nose) & (nose < face.max(axis=1))).all()
    assert ((face > 0) & (face < 1)).all()


@pytest.mark.video
@needs_mediapipe
def test_landmarks_follow_the_picture(clip: dict[str, Path]) -> None:
    """The photo moves SHIFT px right per frame: x of the face and the pose's nose move by
    SHIFT / width, y stays. (Static image mode: in video mode MediaPipe smooths landmarks over
    time, so they lag behind a moving picture.)"""
    x = video.extract(clip["folder"], static_image_mode=True)
    expected = SHIFT * np.arange(FRAMES) / photo().shape[1]  # 0 .. 0.105
    face_centre = x[:, SLICES["face"], :2].mean(axis=1)
    # measured: face centre within 0.003, face-mesh nose 0.004, pose nose 0.02 (pose is coarser)
    for xy, atol in ((face_centre, 0.01), (x[:, NOSE, :2], 0.01), (x[:, POSE_NOSE, :2], 0.03)):
        np.testing.assert_allclose(xy[:, 0] - xy[0, 0], expected, atol=atol)
        np.testing.assert_allclose(xy[:, 1] - xy[0, 1], 0, atol=atol)


@pytest.mark.video
@needs_mediapipe
def test_cli_extract_writes_a_gislr_file_that_loads(
    clip: dict[str, Path], extracted: np.ndarray, tmp_path: Path
) -> None:
    out = tmp_path / "person.parquet"
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert main(["extract", str(clip["folder"]), "-o", str(out)]) == 0
    assert f"{FRAMES} frames" in buf.getvalue() and f"pose {FRAMES}" in buf.getvalue()
    table = pq.read_table(out)
    assert table.column_names == ["frame", "row_id", "type", "landmark_index", "x", "y", "z"]
    assert table.num_rows == FRAMES * 543
    x = aslsign.load_sequence(out)
    assert x.shape == (FRAMES, 543, 3)
    np.testing.assert_array_equal(x, extracted)  # same frames, same graph: deterministic
    # her hands are not in the picture: nothing to recognise, and the model is not run
    result = aslsign.SignRecognizer.from_pretrained().predict(out)
    assert result.label is None and not result.detected
    assert not result.probabilities.any()


@pytest.mark.video
@needs_mediapipe
def test_video_file_gives_the_same_frame_count_and_close_landmarks(
    clip: dict[str, Path], extracted: np.ndarray
) -> None:
    x = video.extract(clip["mp4"])
    assert x.shape == extracted.shape
    assert detected(x, "pose").all() and detected(x, "face").all()
    diff = np.abs(x[:, SLICES["face"], :2] - extracted[:, SLICES["face"], :2])
    assert np.nanmean(diff) < 0.01  # H.264 changes the pixels a little


@pytest.mark.video
@needs_mediapipe
def test_iris_face_mesh_is_cut_to_468_points(clip: dict[str, Path], extracted: np.ndarray) -> None:
    x = video.extract(clip["folder"], refine_face_landmarks=True)
    assert x.shape == extracted.shape and detected(x, "face").all()
    diff = np.abs(x[:, SLICES["face"], :2] - extracted[:, SLICES["face"], :2])
    assert np.mean(diff) < 0.01  # the same 468 points, not the iris ones appended


class _WithHands:
    """Real MediaPipe on the photo (which shows no hands), with the hands of a real GISLR
    "hello" put into each frame, so that there is something to recognise."""

    def __init__(self, hands: np.ndarray) -> None:
        self.real = video.HolisticExtractor()
        self.hands, self.frames = hands, []

    def process(self, image: np.ndarray) -> np.ndarray:
        frame = self.real.process(image)
        rows = np.r_[SLICES["left_hand"], SLICES["right_hand"]]
        frame[rows] = self.hands[len(self.frames) % len(self.hands)][rows]
        self.frames.append(frame)
        return frame

    def close(self) -> None:
        self.real.close()


@pytest.mark.video
@needs_mediapipe
def test_live_results_equal_predict_on_each_window(clip: dict[str, Path], gislr_mini) -> None:
    seen: list[tuple[int, aslsign.SignResult]] = []
    hello = next(r for r in aslsign.GislrDataset(gislr_mini) if r.sign == "hello").load()
    ext = _WithHands(hello)
    with aslsign.SignRecognizer.from_pretrained() as rec:
        last = video.run_live(
            rec,
            clip["mp4"],
            window_frames=6,
            stride=3,
            show_window=False,
            on_result=lambda t, r: seen.append((t, r)),
            extractor=ext,  # type: ignore[arg-type]
        )
        ext.close()
        x = np.stack(ext.frames)
        assert [t for t, _ in seen] == [200, 500, 800, 900]  # strides, then the flush at the end
        for (t, r), end in zip(seen, (3, 6, 9, 10), strict=True):
            expected = rec.predict(x[max(0, end - 6) : end])
            assert r.detected and r.label == expected.label, t
            np.testing.assert_allclose(r.probabilities, expected.probabilities, atol=1e-5)
        assert last is seen[-1][1]


@pytest.mark.video
@needs_mediapipe
def test_cli_live_prints_a_line_per_result(clip: dict[str, Path]) -> None:
    buf = io.StringIO()
    with redirect_stdout(buf):
        code = main(
            [
                "live",
                "--video",
                str(clip["mp4"]),
                "--no-window",
                "--stride",
                "5",
                "--window-frames",
                "8",
            ]
        )
    assert code == 0
    lines = buf.getvalue().strip().splitlines()
    assert len(lines) == 2, lines  # frames 5 and 10
    for line, seconds in zip(lines, ("0.40", "0.90"), strict=True):
        m = re.fullmatch(r"\s*(\S+) s  (.+)", line)
        assert m is not None, line
        assert m.group(1) == seconds
        assert m.group(2) == "(no hands)"  # no hand in the picture: no label, ever


@pytest.mark.video
@needs_mediapipe
def test_live_window_without_a_display_is_a_clear_error(
    clip: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with (
        aslsign.SignRecognizer.from_pretrained() as rec,
        pytest.raises(BackendNotAvailableError, match="--no-window"),
    ):
        video.run_live(rec, clip["mp4"])


@pytest.mark.video
@needs_mediapipe
def test_extractor_rejects_bad_images_and_options() -> None:
    with pytest.raises(ValueError, match="model_complexity"):
        video.HolisticExtractor(model_complexity=3)
    with video.HolisticExtractor() as ext:
        with pytest.raises(aslsign.InputShapeError):
            ext.process(np.zeros((10, 10), np.uint8))
        with pytest.raises(aslsign.InputShapeError):
            ext.process(np.zeros((10, 10, 3), np.float32))
        blank = ext.process(np.full((64, 64, 3), 255, np.uint8))
        assert np.isnan(blank).all()  # nothing there: every part NaN
    with pytest.raises(RuntimeError, match="closed"):
        ext.process(photo())


@pytest.mark.video
@needs_mediapipe
def test_pose_models_outside_the_wheel_work_or_say_why() -> None:
    """model_complexity 0 / 2 use pose models that mediapipe downloads on first use: offline
    that is a BackendNotAvailableError that says so; where the model is there, it runs."""
    for complexity in (0, 2):
        try:
            ext = video.HolisticExtractor(model_complexity=complexity)
        except BackendNotAvailableError as exc:
            assert "model_complexity=1" in str(exc) and "not in the mediapipe wheel" in str(exc)
            continue
        with ext:
            assert detected(ext.process(photo())[None], "face").all()


# --------------------------------------------------------------------------------------------
# Rough edges a newcomer met (issue 14)
# --------------------------------------------------------------------------------------------


def test_a_corrupt_video_says_what_ffmpeg_found_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(np.random.default_rng(0).bytes(3000))
    with pytest.raises(VideoSourceError) as info:
        video.read_frames(bad)
    message = str(info.value)
    assert "\n" not in message and len(message) < 300, message
    assert "ffmpeg version" not in message and "configuration:" not in message
    assert "Invalid data" in message or "not found" in message
    assert main(["extract", str(bad), "-o", str(tmp_path / "x.parquet")]) == 2


def test_ffmpeg_reason_keeps_ffmpegs_own_error_lines() -> None:
    quoted = (
        "Could not load meta information\n=== stderr ===\n\nffmpeg version n9 Copyright (c)\n"
        "  built with gcc\n  configuration: --enable-gpl\n  libavutil      61.  1.102\n"
        "[in#0 @ 0x55855afff040] moov atom not found\n"
        "[in#0 @ 0x55855affecc0] Error opening input: Invalid data found when processing input\n"
        "Error opening input file x.mp4.\n"
    )
    assert video.ffmpeg_reason(RuntimeError(quoted)) == (
        "moov atom not found; Error opening input: Invalid data found when processing input"
    )
    assert video.ffmpeg_reason(OSError("plain")) == "plain"


@pytest.mark.video
@needs_mediapipe
def test_a_display_that_cannot_be_opened_is_a_clear_error(clip: dict[str, Path]) -> None:
    """DISPLAY set, no X server behind it: OpenCV would abort the process (exit 134) with its
    reason hidden by the quiet native logs; the command says what failed instead."""
    import subprocess
    import sys

    env = {**os.environ, "DISPLAY": ":97", "QT_QPA_PLATFORM": "xcb"}
    env.pop("WAYLAND_DISPLAY", None)
    proc = subprocess.run(
        [sys.executable, "-m", "aslsign.cli", "live", "--video", str(clip["folder"])],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "No window can be opened on display ':97'" in proc.stderr
    assert "--no-window" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.video
@needs_mediapipe
def test_the_extractor_keeps_native_logs_off_for_its_whole_life(clip: dict[str, Path]) -> None:
    """MediaPipe logs from its calculators while frames run (for example when a hand shows up
    on a non-square image, long after start-up): a native line written during any call, not
    only the first ones, stays off unless verbose."""
    import subprocess
    import sys

    code = (
        "import os, sys, numpy as np\n"
        "from aslsign.video import HolisticExtractor, read_frames\n"
        f"verbose = {{'1': True, '0': False}}[sys.argv[1]]\n"
        "with HolisticExtractor(verbose=verbose) as ext:\n"
        "    real = ext._holistic.process\n"
        "    def logging_process(image):\n"
        "        os.write(2, b'W0000 native line\\n')\n"
        "        return real(image)\n"
        "    ext._holistic.process = logging_process\n"
        f"    for _, image in read_frames({str(clip['folder'])!r}):\n"
        "        ext.process(image)\n"
        "print('python line', file=sys.stderr)\n"
    )
    for verbose, expected in (("0", 0), ("1", FRAMES)):
        err = subprocess.run(
            [sys.executable, "-c", code, verbose],
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        ).stderr
        assert err.count("W0000 native line") == expected, err
        assert "python line" in err


@pytest.mark.video
@needs_mediapipe
def test_live_takes_the_frame_rate_of_an_image_folder(clip: dict[str, Path]) -> None:
    buf = io.StringIO()
    with redirect_stdout(buf):
        code = main(
            ["live", "--video", str(clip["folder"]), "--no-window", "--stride", "5", "--fps", "5"]
        )
    assert code == 0
    times = [line.split()[0] for line in buf.getvalue().strip().splitlines()]
    assert times == ["0.80", "1.80"]  # frames 5 and 10 at 5 frames a second


@pytest.mark.video
@needs_mediapipe
def test_live_spots_spans_as_spot_would(clip: dict[str, Path], gislr_mini) -> None:
    """run_live's default: a spotter over the extracted frames, the spans spot() finds."""
    hello = next(r for r in aslsign.GislrDataset(gislr_mini) if r.sign == "hello").load()
    ext = _WithHands(hello)
    seen: list = []
    with aslsign.SignRecognizer.from_pretrained() as rec:
        spans = video.run_live(
            rec,
            clip["folder"],
            show_window=False,
            on_span=seen.append,
            extractor=ext,  # type: ignore[arg-type]
        )
        ext.close()
        expected = rec.spot(np.stack(ext.frames))
    assert (
        [s.to_dict() for s in spans]
        == [s.to_dict() for s in expected]
        == [s.to_dict() for s in seen]
    )


@pytest.mark.video
@needs_mediapipe
def test_cli_live_prints_no_span_for_a_person_without_hands(clip: dict[str, Path]) -> None:
    buf = io.StringIO()
    with redirect_stdout(buf):
        code = main(["live", "--video", str(clip["mp4"]), "--no-window"])
    assert code == 0 and buf.getvalue() == ""  # idle all along: nothing to report
