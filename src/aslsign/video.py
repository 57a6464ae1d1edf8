"""From video to landmarks with MediaPipe Holistic, and live recognition (the ``video`` extra).

MediaPipe Holistic made both Kaggle datasets (GISLR and ASLFR): per frame a 468-point face
mesh, 21 points per hand and 33 pose points, x and y normalised by the image width and height,
z relative depth. :class:`HolisticExtractor` runs it on RGB images and returns the 543 rows in
the order of :mod:`aslsign.landmarks` (NaN where a part was not detected), so what comes out of
a video goes straight into ``recognizer.predict``, ``recognizer.stream`` or
:func:`aslsign.write_sequence`.

Which mediapipe works: the legacy ``mediapipe.solutions.holistic`` API carries its models inside
the wheel and runs offline; it is in every 0.10.x release up to 0.10.21. Releases from 0.10.30
on have only the Tasks API, whose ``HolisticLandmarker`` needs a ``.task`` model file the wheel
does not carry; aslsign does not drive it and says so with a
:class:`~aslsign.errors.BackendNotAvailableError`. mediapipe 0.10.21 pins ``numpy<2`` and
``protobuf<5``, which TensorFlow 2.21 (the ``train`` extra) cannot share: install
``aslsign[video]`` in an environment of its own.

>>> from aslsign.video import extract                                    # doctest: +SKIP
>>> landmarks = extract("clip.mp4")          # (frames, 543, 3) float32, NaN = not detected
>>> SignRecognizer.from_pretrained().predict(landmarks).label

Sources (:func:`read_frames`): a video file (anything ffmpeg decodes, through imageio-ffmpeg),
a single image, or a folder of images taken in name order (``frame2.png`` before
``frame10.png``). ``aslsign live`` and :func:`run_live` add a camera (OpenCV).
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._util import native_logs_silenced, quiet_native_stderr
from .errors import BackendNotAvailableError, InputShapeError, VideoSourceError
from .io.gislr import write_sequence
from .landmarks import NUM_LANDMARKS, TYPE_OFFSETS
from .results import result_text

if TYPE_CHECKING:
    from .base import Recognizer

__all__ = [
    "IMAGE_SUFFIXES",
    "MEDIAPIPE_REQUIREMENT",
    "FrameSource",
    "HolisticExtractor",
    "check_display",
    "extract",
    "extract_to_parquet",
    "ffmpeg_reason",
    "holistic_to_array",
    "native_logs_silenced",
    "read_frames",
    "run_live",
]

#: The mediapipe releases whose wheel carries the Holistic models (legacy ``solutions`` API).
MEDIAPIPE_REQUIREMENT = "mediapipe>=0.10.14,<0.10.30"
#: Files read as images (one frame each); anything else is opened as a video.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
_INSTALL_HINT = (
    f'pip install "aslsign[video]" (it installs {MEDIAPIPE_REQUIREMENT}, which pins numpy<2 and '
    "protobuf<5: use an environment without the train extra's TensorFlow)"
)
# The result attribute of legacy Holistic for each part, in the order of aslsign.landmarks.
_PARTS = (
    ("face", "face_landmarks"),
    ("left_hand", "left_hand_landmarks"),
    ("pose", "pose_landmarks"),
    ("right_hand", "right_hand_landmarks"),
)


def _holistic_module() -> Any:
    """``mediapipe.solutions.holistic``, or a BackendNotAvailableError that says what to do."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    try:
        import mediapipe as mp
    except ImportError as exc:
        raise BackendNotAvailableError(
            f"Extracting landmarks needs MediaPipe, not installed ({exc}): {_INSTALL_HINT}."
        ) from exc
    version = getattr(mp, "__version__", "?")
    try:
        from mediapipe.python.solutions import holistic
    except ImportError:
        holistic = None
    if holistic is None or not hasattr(holistic, "Holistic"):
        raise BackendNotAvailableError(
            f"mediapipe {version} has no legacy solutions.holistic (removed in 0.10.30; newer "
            "releases need a HolisticLandmarker .task file that is not in the wheel, which "
            f"aslsign does not drive). Install {MEDIAPIPE_REQUIREMENT}: {_INSTALL_HINT}."
        )
    return holistic


def holistic_to_array(results: Any) -> np.ndarray:
    """One MediaPipe Holistic result (legacy ``solutions`` API) as float32 ``(543, 3)``.

    Parts that were not detected are NaN. A face mesh with iris points (478, from
    ``refine_face_landmarks=True``) keeps its first 468 points, the points of the Kaggle data.
    """
    out = np.full((NUM_LANDMARKS, 3), np.nan, dtype=np.float32)
    for part, attribute in _PARTS:
        found = getattr(results, attribute, None)
        if found is None:
            continue
        start, count = TYPE_OFFSETS[part]
        points = list(found.landmark)[:count]
        out[start : start + len(points)] = [(p.x, p.y, p.z) for p in points]
    return out


class HolisticExtractor:
    """MediaPipe Holistic on RGB images: ``process(image) -> (543, 3)`` landmarks.

    Args:
        static_image_mode: treat every image as unrelated (detect from scratch each time);
            the default tracks across frames, as for a video.
        model_complexity: pose model size, 0, 1 or 2 (bigger: more accurate and slower). Only
            1's model is in the mediapipe wheel; mediapipe downloads the others on first use.
        refine_face_landmarks: run the attention face mesh (478 points, iris included); the
            result still has the 468 face points of the Kaggle layout.
        min_detection_confidence, min_tracking_confidence: MediaPipe's thresholds.
        verbose: let MediaPipe's native log lines through to stderr (by default they are
            kept off for the extractor's whole life: at start-up, on every frame, at close).

    A context manager; :meth:`close` is idempotent.

    Raises:
        BackendNotAvailableError: no mediapipe with the legacy Holistic models is installed.
    """

    def __init__(
        self,
        *,
        static_image_mode: bool = False,
        model_complexity: int = 1,
        refine_face_landmarks: bool = False,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        verbose: bool = False,
    ) -> None:
        if model_complexity not in (0, 1, 2):
            raise ValueError(f"model_complexity must be 0, 1 or 2, got {model_complexity!r}")
        for name, value in (
            ("min_detection_confidence", min_detection_confidence),
            ("min_tracking_confidence", min_tracking_confidence),
        ):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {value!r}")
        holistic = _holistic_module()
        self._quiet = not verbose
        self.frames_processed = 0
        self._holistic: Any = None
        try:
            with quiet_native_stderr(self._quiet):
                self._holistic = holistic.Holistic(
                    static_image_mode=static_image_mode,
                    model_complexity=model_complexity,
                    refine_face_landmarks=refine_face_landmarks,
                    min_detection_confidence=min_detection_confidence,
                    min_tracking_confidence=min_tracking_confidence,
                )
        except OSError as exc:  # urllib's URLError: the lite / heavy pose model is not local
            model = "lite" if model_complexity == 0 else "heavy"
            raise BackendNotAvailableError(
                f"model_complexity={model_complexity} needs MediaPipe's pose_landmark_{model}"
                ".tflite, which is not in the mediapipe wheel: mediapipe downloads it on first "
                f"use, and that failed ({exc}). Use model_complexity=1 (its model is in the "
                "wheel), or run once with access to storage.googleapis.com."
            ) from exc

    def process(self, image: np.ndarray) -> np.ndarray:
        """Landmarks of one RGB uint8 image ``(height, width, 3)``: float32 ``(543, 3)``."""
        if self._holistic is None:
            raise RuntimeError("This HolisticExtractor is closed.")
        rgb = np.asarray(image)
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8 or 0 in rgb.shape:
            raise InputShapeError(
                f"HolisticExtractor.process expects an RGB uint8 image (height, width, 3); got "
                f"{rgb.dtype} {rgb.shape}."
            )
        # MediaPipe's calculators log while a frame runs (on the first frames, and whenever a
        # hand shows up on a non-square image): quiet on every call, not only at start-up.
        with quiet_native_stderr(self._quiet):
            results = self._holistic.process(np.ascontiguousarray(rgb))
        self.frames_processed += 1
        return holistic_to_array(results)

    def close(self) -> None:
        """Release MediaPipe's graph. Safe to call more than once."""
        if self._holistic is not None:
            with quiet_native_stderr(self._quiet):
                self._holistic.close()
            self._holistic = None

    def __enter__(self) -> HolisticExtractor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class FrameSource:
    """RGB frames of a video, an image or an image folder (see :func:`read_frames`).

    Iterating yields ``(timestamp_ms, image)`` with ``image`` RGB uint8 ``(height, width, 3)``
    and strictly increasing integer timestamps.
    """

    path: Path
    fps: float
    #: number of frames when known up front (image folders), else an estimate or None.
    count: int | None
    _frames: Callable[[], Iterator[np.ndarray]]

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        last = -1
        for i, image in enumerate(self._frames()):
            timestamp = max(round(i * 1000.0 / self.fps), last + 1)
            last = timestamp
            yield timestamp, image


def _natural_key(path: Path) -> list[Any]:
    return [int(s) if s.isdigit() else s.lower() for s in re.split(r"(\d+)", path.name)]


def _read_image(path: Path) -> np.ndarray:
    try:
        from PIL import Image
    except ImportError as exc:
        raise BackendNotAvailableError(f"Reading images needs Pillow: {_INSTALL_HINT}.") from exc
    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB"))
    except (OSError, ValueError) as exc:  # PIL.UnidentifiedImageError is an OSError
        raise VideoSourceError(f"{path}: not a readable image ({exc}).") from exc


def _video_frames(path: Path) -> FrameSource:
    try:
        import imageio_ffmpeg
    except ImportError as exc:
        raise BackendNotAvailableError(
            f"Reading videos needs imageio-ffmpeg: {_INSTALL_HINT}."
        ) from exc
    try:
        probe = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
        meta = next(probe)
        probe.close()
    except (OSError, RuntimeError, StopIteration) as exc:
        raise VideoSourceError(
            f"{path}: ffmpeg cannot decode it as a video ({ffmpeg_reason(exc)})."
        ) from exc
    fps = float(meta.get("fps") or 30.0)
    duration = float(meta.get("duration") or 0.0)
    width, height = meta["size"]

    def frames() -> Iterator[np.ndarray]:
        reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
        try:
            next(reader)  # the metadata again
            for raw in reader:
                yield np.frombuffer(raw, np.uint8).reshape(height, width, 3)
        except RuntimeError as exc:
            raise VideoSourceError(f"{path}: decoding failed ({ffmpeg_reason(exc)}).") from exc
        finally:
            reader.close()

    return FrameSource(path, fps, round(duration * fps) or None, frames)


_FFMPEG_BANNER = ("ffmpeg version", "built with", "configuration:", "lib", "Copyright")
_FFMPEG_CONTEXT = re.compile(r"^\[[^\]]*@ 0x[0-9a-f]+\]\s*")  # "[in#0 @ 0x5585...] "


def ffmpeg_reason(exc: BaseException) -> str:
    """What went wrong, from an imageio-ffmpeg error that quotes all of ffmpeg's stderr (its
    banner and build configuration included): the last two of ffmpeg's own error lines."""
    text = str(exc)
    head, marker, tail = text.partition("=== stderr ===")
    lines = [ln.strip() for ln in (tail if marker else text).splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith(_FFMPEG_BANNER)]
    specific = [_FFMPEG_CONTEXT.sub("", ln) for ln in lines if _FFMPEG_CONTEXT.match(ln)]
    chosen = list(dict.fromkeys(specific))[-2:] or lines[-1:]
    summary = head.strip().splitlines()[0] if head.strip() else ""
    return "; ".join(chosen) or summary or type(exc).__name__


def read_frames(source: str | os.PathLike[str], fps: float | None = None) -> FrameSource:
    """The frames of a video file, an image file or a folder of images.

    Args:
        source: a video (any format ffmpeg reads: mp4, avi, mov, webm, gif, ...), one image
            (:data:`IMAGE_SUFFIXES`), or a folder whose images are the frames in natural name
            order (other files in it are ignored).
        fps: frame rate for the timestamps; default: the video's own, 30 for images.

    Raises:
        VideoSourceError: the path does not exist, the folder has no images, or a file cannot be
            decoded.
    """
    path = Path(source)
    if fps is not None and not fps > 0:
        raise ValueError(f"fps must be > 0, got {fps!r}")
    if path.is_dir():
        images = sorted(
            (p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()),
            key=_natural_key,
        )
        if not images:
            raise VideoSourceError(
                f"{path}: the folder holds no images ({', '.join(IMAGE_SUFFIXES)})."
            )
        return FrameSource(path, fps or 30.0, len(images), lambda: map(_read_image, images))
    if not path.exists():
        raise VideoSourceError(f"{path}: no such video, image or folder.")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return FrameSource(path, fps or 30.0, 1, lambda: iter([_read_image(path)]))
    video = _video_frames(path)
    if fps is not None:
        video.fps = fps
    return video


def extract(
    source: str | os.PathLike[str],
    *,
    fps: float | None = None,
    progress: bool | None = None,
    **options: Any,
) -> np.ndarray:
    """MediaPipe Holistic landmarks of every frame of a video, image or image folder.

    Returns float32 ``(frames, 543, 3)``, one row per frame read, NaN where a part was not
    detected. ``options`` go to :class:`HolisticExtractor` (``model_complexity``,
    ``static_image_mode``, ``refine_face_landmarks``, ...). ``progress``: a progress bar on
    stderr (default: when stderr is a terminal).

    Raises:
        VideoSourceError: the source cannot be read, or has no frames.
        BackendNotAvailableError: mediapipe (with Holistic) is not installed.
    """
    frames = read_frames(source, fps=fps)
    show = sys.stderr.isatty() if progress is None else progress
    rows: list[np.ndarray] = []
    with HolisticExtractor(**options) as extractor:
        items: Any = frames
        if show:
            from tqdm.auto import tqdm

            items = tqdm(frames, total=frames.count, desc="extracting", unit="frame")
        for _, image in items:
            rows.append(extractor.process(image))
    if not rows:
        raise VideoSourceError(f"{frames.path}: no frames could be read.")
    return np.stack(rows)


def extract_to_parquet(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    **options: Any,
) -> Path:
    """:func:`extract`, written as a GISLR parquet file that :func:`aslsign.load_sequence`
    reads (frame numbers 0, 1, 2, ...). Returns the path written."""
    return write_sequence(extract(source, **options), output)


def run_live(
    recognizer: Recognizer[Any],
    source: int | str | os.PathLike[str] = 0,
    *,
    on_span: Callable[[Any], None] | None = None,
    on_partial: Callable[[int, str], None] | None = None,
    window_frames: int | None = None,
    stride: int | None = None,
    on_result: Callable[[int, Any], None] | None = None,
    show_window: bool = True,
    max_frames: int | None = None,
    extractor: HolisticExtractor | None = None,
    fps: float | None = None,
    partial_every: int = 15,
    **options: Any,
) -> Any:
    """Recognise a camera or a video as it plays: MediaPipe on each frame, then spotting
    (``recognizer.spotter``): each sign or spelled phrase is reported when it ends.

    Args:
        recognizer: any recogniser (isolated signs or fingerspelling).
        source: a camera index (OpenCV) or a video / image folder path.
        on_span: called with every span (:class:`aslsign.spotting.SignSpan` or
            ``FingerspellingSpan``) as it ends.
        on_partial: fingerspelling: called as ``on_partial(timestamp_ms, text)`` with the
            transcript of the phrase being spelled, every ``partial_every`` frames while it
            changes.
        window_frames, stride, on_result: instead of spans, a result of the last
            ``window_frames`` frames every ``stride`` frames (``recognizer.stream``), passed to
            ``on_result(timestamp_ms, result)``; any of them selects this mode.
        show_window: show the frames with the landmarks, the current span (or phrase) and the
            last few in an OpenCV window (``q`` or Esc quits); needs a display.
        max_frames: stop after this many frames (a camera never ends by itself).
        extractor: a :class:`HolisticExtractor` to use (default: a fresh one, closed at the end).
        fps: the frame rate of an image folder, for the timestamps (see :func:`read_frames`;
            default 30); a video's own rate is used otherwise, a camera's clock always.
        partial_every: frames between two partial transcripts.
        options: the spotter's (``gap_s``, ``score_threshold``, ...) or the stream's
            (``top_k``, ``beam_width``).

    Returns the spans found (spotting), or the result of the last window (windows mode).
    """
    cv2: Any = _opencv() if show_window or isinstance(source, int) else None
    if show_window:
        check_display()
    windows = on_result is not None or window_frames is not None or stride is not None
    own_extractor = extractor is None
    ext = HolisticExtractor() if extractor is None else extractor
    if isinstance(source, int):
        frames = _camera_frames(cv2, source)
    else:
        frames = iter(read_frames(source, fps=fps))
    try:
        if windows:
            return _live_windows(
                recognizer,
                frames,
                ext,
                cv2,
                window_frames,
                stride,
                on_result,
                show_window,
                max_frames,
                options,
            )
        return _live_spans(
            recognizer,
            frames,
            ext,
            cv2,
            on_span,
            on_partial,
            show_window,
            max_frames,
            partial_every,
            fps or 30.0,
            options,
        )
    finally:
        if own_extractor:
            ext.close()
        if show_window:
            cv2.destroyAllWindows()


def _live_spans(
    recognizer: Any,
    frames: Iterator[tuple[int, np.ndarray]],
    ext: Any,
    cv2: Any,
    on_span: Callable[[Any], None] | None,
    on_partial: Callable[[int, str], None] | None,
    show_window: bool,
    max_frames: int | None,
    partial_every: int,
    fps: float,
    options: dict[str, Any],
) -> list[Any]:
    from .spotting import span_text

    spotter = recognizer.spotter(fps, **options)
    spans: list[Any] = []
    shown, said = "", ""
    spelling = recognizer.task == "fingerspelling"
    for count, (timestamp, image) in enumerate(frames, start=1):
        landmarks = ext.process(image)
        ended = spotter.push(landmarks, timestamp)
        for span in ended:
            spans.append(span)
            if on_span is not None:
                on_span(span)
        if spelling and spotter.in_span and count % partial_every == 0:
            text = spotter.partial or ""
            if text != said and on_partial is not None:
                on_partial(timestamp, text)
            said = shown = text
        elif not spotter.in_span:
            shown = ""
        if show_window:
            last = " | ".join(span_text(s) for s in spans[-3:])
            now = (shown + "...") if spotter.in_span else ""
            if not _show(cv2, image, landmarks, f"{now}  [{last}]" if last else now):
                break
        if max_frames is not None and count >= max_frames:
            break
    for span in spotter.flush():
        spans.append(span)
        if on_span is not None:
            on_span(span)
    return spans


def _live_windows(
    recognizer: Any,
    frames: Iterator[tuple[int, np.ndarray]],
    ext: Any,
    cv2: Any,
    window_frames: int | None,
    stride: int | None,
    on_result: Callable[[int, Any], None] | None,
    show_window: bool,
    max_frames: int | None,
    options: dict[str, Any],
) -> Any:
    last: Any = None
    text = ""
    timestamp = 0
    with recognizer.stream(window_frames, stride, **options) as stream:
        for count, (timestamp, image) in enumerate(frames, start=1):
            landmarks = ext.process(image)
            result = stream.push(landmarks, timestamp)
            if result is not None:
                last, text = result, result_text(result)
                if on_result is not None:
                    on_result(timestamp, result)
            if show_window and not _show(cv2, image, landmarks, text):
                break
            if max_frames is not None and count >= max_frames:
                break
        if stream.frames_pushed and stream.frames_pushed % stream.stride:
            last = stream.flush()
            if on_result is not None:
                on_result(timestamp, last)
    return last


def _opencv() -> Any:
    try:
        import cv2
    except ImportError as exc:
        raise BackendNotAvailableError(
            f"A camera or a window needs OpenCV (it comes with mediapipe): {_INSTALL_HINT}."
        ) from exc
    return cv2


_DISPLAY_PROBE = "import cv2; cv2.namedWindow('aslsign'); cv2.waitKey(1); cv2.destroyAllWindows()"
_displays_seen: set[str] = set()


def check_display() -> None:
    """Raise BackendNotAvailableError when no window can be opened, where OpenCV would abort
    the process (exit 134, its reason lost): on Linux, no DISPLAY or WAYLAND_DISPLAY, or one
    that is set but cannot be reached (no X server there). A child process opens a window
    first (about a second, once per display and process) and its error is reported."""
    if not sys.platform.startswith("linux"):
        return
    display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if not display:
        raise BackendNotAvailableError(
            "There is no display to open a window on (DISPLAY is not set): use --no-window "
            "(show_window=False) to print the results instead."
        )
    if display in _displays_seen:
        return
    import subprocess

    try:
        probe = subprocess.run(
            [sys.executable, "-c", _DISPLAY_PROBE], capture_output=True, text=True, timeout=60
        )
        failed, said = probe.returncode != 0, probe.stderr
    except subprocess.TimeoutExpired:
        failed, said = True, "opening a window did not finish within 60 s"
    if failed:
        lines = [ln.strip() for ln in said.splitlines() if ln.strip()]
        reason = next((ln for ln in lines if "connect" in ln.lower()), lines[0] if lines else "")
        raise BackendNotAvailableError(
            f"No window can be opened on display {display!r}"
            + (f" ({reason})" if reason else "")
            + ": is a display server running there? Use --no-window (show_window=False) to "
            "print the results instead."
        )
    _displays_seen.add(display)


def _camera_frames(cv2: Any, index: int) -> Iterator[tuple[int, np.ndarray]]:
    capture = cv2.VideoCapture(index)
    if not capture.isOpened():
        raise VideoSourceError(f"camera {index} cannot be opened.")
    last = -1
    try:
        while True:
            ok, bgr = capture.read()
            if not ok:
                return
            timestamp = max(int(time.monotonic() * 1000), last + 1)
            last = timestamp
            yield timestamp, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        capture.release()


def _show(cv2: Any, image: np.ndarray, landmarks: np.ndarray, text: str) -> bool:
    """Draw and show one frame; False when the user pressed q or Esc."""
    from .viz import overlay

    cv2.imshow("aslsign live", cv2.cvtColor(overlay(image, landmarks, text), cv2.COLOR_RGB2BGR))
    return (cv2.waitKey(1) & 0xFF) not in (ord("q"), 27)
