"""Render landmark sequences as animated GIF or MP4 skeletons (the ``viz`` extra).

``render(landmarks, "sign.gif")`` draws every frame of a (frames, 543, 3) sequence: both hands
with their finger connections, the upper-body pose skeleton, and the face contours and lips, each
part in its own colour. Points that were not detected (NaN) are simply not drawn; a connection is
drawn only when both of its ends are finite. The x, y axes are the same for every frame: a square
box fitted once to all finite points of the whole sequence (image coordinates, y down).
A frame counter ("7/40") sits in the top-right corner, an optional title in the top-left and
optional per-frame labels (e.g. a streaming prediction) in the bottom-left.

Drawing uses Pillow, encoding imageio (GIF through its Pillow plugin, MP4 through
imageio-ffmpeg); both are imported only when a function runs, so ``import aslsign`` never needs
them. Install them with ``pip install "aslsign[viz]"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import EmptySequenceError, InputShapeError
from .landmarks import (
    FACE_CONNECTIONS,
    LEFT_HAND_CONNECTIONS,
    NUM_LANDMARKS,
    POSE_CONNECTIONS_UPPER_BODY,
    RIGHT_HAND_CONNECTIONS,
    SLICES,
)

__all__ = ["COLORS", "overlay", "render", "render_grid"]

#: RGB colour of each part.
COLORS: dict[str, tuple[int, int, int]] = {
    "face": (120, 120, 120),
    "pose": (40, 170, 60),
    "left_hand": (230, 60, 40),
    "right_hand": (40, 90, 230),
}
BACKGROUND = (255, 255, 255)
# On a photo the face's grey is lost: cyan instead.
_OVERLAY_COLORS = {**COLORS, "face": (0, 200, 220)}
TEXT_COLOR = (0, 0, 0)
COUNTER_COLOR = (160, 160, 160)
_SUFFIXES = (".gif", ".mp4")
_INSTALL_HINT = 'aslsign.viz needs Pillow and imageio: pip install "aslsign[viz]"'

# (part name, connections, line width at size 512, dot radius at size 512); drawn in this order.
_PARTS: tuple[tuple[str, tuple[tuple[int, int], ...], float, float], ...] = (
    ("face", FACE_CONNECTIONS, 1.5, 0.0),
    ("pose", POSE_CONNECTIONS_UPPER_BODY, 4.0, 4.0),
    ("left_hand", LEFT_HAND_CONNECTIONS, 3.0, 3.5),
    ("right_hand", RIGHT_HAND_CONNECTIONS, 3.0, 3.5),
)
_POSE_POINTS = tuple(sorted({i for edge in POSE_CONNECTIONS_UPPER_BODY for i in edge}))
_FACE_POINTS = tuple(sorted({i for edge in FACE_CONNECTIONS for i in edge}))


def _imports() -> tuple[Any, Any, Any]:
    try:
        import imageio.v3 as iio
        from PIL import Image, ImageDraw
    except ImportError as exc:
        raise ImportError(f"{_INSTALL_HINT} ({exc})") from exc
    return Image, ImageDraw, iio


def _check(landmarks: Any, name: str = "landmarks") -> np.ndarray:
    x = np.asarray(landmarks)
    if x.ndim != 3 or x.shape[1:] != (NUM_LANDMARKS, 3):
        raise InputShapeError(
            f"{name}: expected a (frames, {NUM_LANDMARKS}, 3) landmark array, got shape {x.shape}"
        )
    if x.shape[0] == 0:
        raise EmptySequenceError(f"{name}: the sequence has no frames")
    if not np.issubdtype(x.dtype, np.number):
        raise InputShapeError(f"{name}: expected a numeric array, got dtype {x.dtype}")
    return x.astype(np.float32, copy=False)


def _check_path(path: str | Path) -> Path:
    p = Path(path)
    if p.suffix.lower() not in _SUFFIXES:
        raise ValueError(f"render: the output must end in .gif or .mp4, got {p.name!r}")
    return p


def _drawn_rows() -> tuple[int, ...]:
    hands = tuple(range(SLICES["left_hand"].start, SLICES["left_hand"].stop)) + tuple(
        range(SLICES["right_hand"].start, SLICES["right_hand"].stop)
    )
    return _FACE_POINTS + _POSE_POINTS + hands


def _box(x: np.ndarray, margin: float = 0.05) -> tuple[float, float, float]:
    """(x0, y0, side): a square fitted once to every finite drawn point of the sequence."""
    xy = x[:, _drawn_rows(), :2].reshape(-1, 2)
    xy = xy[np.isfinite(xy).all(axis=1)]
    if len(xy) == 0:
        return 0.0, 0.0, 1.0
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    side = float(max(hi - lo)) * (1 + 2 * margin)
    side = max(side, 1e-3)
    center = (lo + hi) / 2
    return float(center[0] - side / 2), float(center[1] - side / 2), side


class _Painter:
    """Draws frames of one sequence into square RGB images of ``size`` pixels."""

    def __init__(
        self, x: np.ndarray, size: int, title: str | None, labels: Sequence[str] | None
    ) -> None:
        self.Image, self.ImageDraw, _ = _imports()
        self.x, self.size, self.title = x, size, title
        self.labels = labels
        self.x0, self.y0, self.side = _box(x)
        self.scale = size / 512.0
        self.font = _font(max(10, round(size / 24)))

    def _pixels(self, frame: np.ndarray) -> np.ndarray:
        px = np.empty((frame.shape[0], 2), dtype=np.float64)
        px[:, 0] = (frame[:, 0] - self.x0) / self.side * (self.size - 1)
        px[:, 1] = (frame[:, 1] - self.y0) / self.side * (self.size - 1)
        return px

    def frame(self, t: int) -> Any:
        img = self.Image.new("RGB", (self.size, self.size), BACKGROUND)
        draw = self.ImageDraw.Draw(img)
        t = min(t, len(self.x) - 1)  # shorter sequences hold their last frame
        _draw_skeleton(draw, self._pixels(self.x[t]), self.scale)
        pad = max(2, round(4 * self.scale))
        # The frame counter also keeps every GIF frame distinct: Pillow merges identical
        # consecutive frames, which would change the frame count.
        draw.text(
            (self.size - pad, pad),
            f"{t + 1}/{len(self.x)}",
            fill=COUNTER_COLOR,
            font=self.font,
            anchor="ra",
        )
        if self.title:
            draw.text((pad, pad), self.title, fill=TEXT_COLOR, font=self.font)
        if self.labels is not None and t < len(self.labels) and self.labels[t]:
            draw.text(
                (pad, self.size - pad),
                str(self.labels[t]),
                fill=TEXT_COLOR,
                font=self.font,
                anchor="ld",
            )
        return img


def _font(pixels: int) -> Any:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=pixels)
    except (TypeError, OSError):  # older Pillow: a fixed bitmap font
        return ImageFont.load_default()


def _draw_skeleton(
    draw: Any, px: np.ndarray, scale: float, colors: dict[str, tuple[int, int, int]] = COLORS
) -> None:
    """Draw every part of one frame, given as (543, 2) pixel positions, NaN = not detected."""
    ok = np.isfinite(px).all(axis=1)
    for part, edges, width, radius in _PARTS:
        color = colors[part]
        w = max(1, round(width * scale))
        for a, b in edges:
            if ok[a] and ok[b]:
                draw.line([tuple(px[a]), tuple(px[b])], fill=color, width=w)
        r = radius * scale
        if r > 0:
            rows = _POSE_POINTS if part == "pose" else range(SLICES[part].start, SLICES[part].stop)
            for i in rows:
                if ok[i]:
                    cx, cy = px[i]
                    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=color)


def overlay(image: np.ndarray, frame_landmarks: np.ndarray, text: str | None = None) -> np.ndarray:
    """Draw one frame's landmarks onto the video image they came from; returns a new image.

    ``image`` is RGB uint8 ``(height, width, 3)``; ``frame_landmarks`` is ``(543, 3)`` in
    MediaPipe's normalised image coordinates (x * width, y * height are pixels), NaN where not
    detected; parts in :data:`COLORS`, the face in cyan. ``text`` (e.g. the current
    prediction) is drawn in the bottom-left corner on a white box. This is what
    ``aslsign live`` shows in its window.
    """
    Image, ImageDraw, _ = _imports()
    img_arr = np.asarray(image)
    if img_arr.ndim != 3 or img_arr.shape[2] != 3 or img_arr.dtype != np.uint8:
        raise InputShapeError(
            f"overlay: expected an RGB uint8 image (height, width, 3), got {img_arr.dtype} "
            f"{img_arr.shape}"
        )
    lm = np.asarray(frame_landmarks, dtype=np.float64)
    if lm.shape != (NUM_LANDMARKS, 3):
        raise InputShapeError(f"overlay: expected ({NUM_LANDMARKS}, 3) landmarks, got {lm.shape}")
    h, w = img_arr.shape[:2]
    img = Image.fromarray(img_arr)
    draw = ImageDraw.Draw(img)
    scale = max(h, w) / 256.0  # thicker than on a white canvas: this is a photo
    _draw_skeleton(draw, lm[:, :2] * np.array([w, h]), scale, _OVERLAY_COLORS)
    if text:
        font = _font(max(12, round(h / 20)))
        pad = max(2, round(6 * scale))
        box = draw.textbbox((pad, h - pad), text, font=font, anchor="ld")
        draw.rectangle([box[0] - pad, box[1] - pad, box[2] + pad, h], fill=BACKGROUND)
        draw.text((pad, h - pad), text, fill=TEXT_COLOR, font=font, anchor="ld")
    return np.asarray(img)


def _write(frames: list[np.ndarray], path: Path, fps: float) -> Path:
    _, _, iio = _imports()
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".gif":
        # GIF frame durations are whole centiseconds; loop forever.
        duration = max(20, round(100 / fps) * 10)
        iio.imwrite(path, np.stack(frames), plugin="pillow", duration=duration, loop=0)
        return path
    try:
        import imageio.v2 as iio2
        import imageio_ffmpeg  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"{_INSTALL_HINT} (MP4 needs imageio-ffmpeg: {exc})") from exc
    h, w = frames[0].shape[:2]
    if h % 2 or w % 2:  # H.264 with yuv420p needs even sides: pad with the background
        pad = ((0, h % 2), (0, w % 2), (0, 0))
        frames = [np.pad(f, pad, constant_values=BACKGROUND[0]) for f in frames]
    writer: Any = iio2.get_writer(path, format="FFMPEG", mode="I", fps=fps, macro_block_size=1)
    with writer as w:
        for f in frames:
            w.append_data(f)
    return path


def render(
    landmarks: np.ndarray,
    path: str | Path,
    fps: float = 15,
    title: str | None = None,
    labels: Sequence[str] | None = None,
    size: int = 512,
) -> Path:
    """Write an animated skeleton of a (frames, 543, 3) sequence to ``path`` (.gif or .mp4).

    Args:
        landmarks: the sequence; NaN where a point was not detected.
        path: output file; the suffix picks the format (``.gif`` or ``.mp4``).
        fps: frames per second of the animation.
        title: text drawn at the top of every frame.
        labels: one string per frame (e.g. a streaming prediction) drawn at the bottom.
        size: width and height of the square frames in pixels (an MP4 of odd size gets one
            background row and column more: H.264 needs even sides).

    Returns the path written. Raises :class:`~aslsign.errors.InputShapeError` for an array of
    the wrong shape, ``ValueError`` for another suffix or bad arguments.
    """
    out = _check_path(path)
    x = _check(landmarks)
    if labels is not None and len(labels) != len(x):
        raise InputShapeError(f"render: {len(labels)} labels for {len(x)} frames")
    _check_args(fps, size)
    painter = _Painter(x, size, title, labels)
    frames = [np.asarray(painter.frame(t)) for t in range(len(x))]
    return _write(frames, out, fps)


def render_grid(
    sequences: Sequence[np.ndarray],
    path: str | Path,
    fps: float = 15,
    titles: Sequence[str] | None = None,
    size: int = 256,
    columns: int | None = None,
) -> Path:
    """Render several sequences side by side, each in a ``size`` x ``size`` cell.

    ``columns`` cells per row (default: all in one row); the animation lasts as long as the
    longest sequence and shorter ones hold their last frame. Returns the path written.
    """
    out = _check_path(path)
    xs = [_check(s, f"sequences[{i}]") for i, s in enumerate(sequences)]
    if not xs:
        raise InputShapeError("render_grid: no sequences")
    if titles is not None and len(titles) != len(xs):
        raise ValueError(f"render_grid: {len(titles)} titles for {len(xs)} sequences")
    _check_args(fps, size)
    cols = len(xs) if columns is None else columns
    if cols < 1:
        raise ValueError(f"render_grid: columns must be >= 1, got {cols}")
    rows = -(-len(xs) // cols)
    painters = [
        _Painter(x, size, None if titles is None else titles[i], None) for i, x in enumerate(xs)
    ]
    frames = []
    for t in range(max(len(x) for x in xs)):
        canvas = np.full((rows * size, cols * size, 3), BACKGROUND, dtype=np.uint8)
        for i, p in enumerate(painters):
            r, c = divmod(i, cols)
            canvas[r * size : (r + 1) * size, c * size : (c + 1) * size] = np.asarray(p.frame(t))
        frames.append(canvas)
    return _write(frames, out, fps)


def _check_args(fps: float, size: int) -> None:
    if not fps > 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    if int(size) != size or size < 16:
        raise ValueError(f"size must be an integer >= 16, got {size}")
