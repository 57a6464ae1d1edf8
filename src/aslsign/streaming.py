"""Recognition on a live stream of frames, in the style of MediaPipe Tasks' ``LIVE_STREAM`` mode.

``stream = recognizer.stream(window_frames=..., stride=..., callback=...)`` keeps the last
``window_frames`` frames pushed to it. Every ``stride`` frames :meth:`RecognitionStream.push`
recognises the window (returns the result and passes it, with the frame's timestamp, to
``callback``); :meth:`RecognitionStream.flush` recognises the current window at any time. A
window's result is exactly ``recognizer.predict(window)`` of the same frames (the same
preprocessing and model), so it works for every recogniser and task.

>>> with SignRecognizer.from_pretrained().stream(64, 8) as stream:  # doctest: +SKIP
...     for timestamp_ms, frame in frames:            # frame: (543, 3), NaN = not detected
...         result = stream.push(frame, timestamp_ms)
...         if result is not None:
...             print(timestamp_ms, result.label)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np

from .errors import InputShapeError, TimestampError
from .landmarks import NUM_LANDMARKS, check_coordinates

if TYPE_CHECKING:
    from .base import Recognizer

__all__ = ["RecognitionStream", "check_frame", "check_timestamp"]

ResultT = TypeVar("ResultT")


class RecognitionStream(Generic[ResultT]):
    """A sliding window over pushed frames; see the module docstring.

    Args:
        recognizer: the recogniser whose ``predict`` runs on each window.
        window_frames: how many of the latest frames a result looks at (>= 1).
        stride: a result every this many pushed frames (>= 1).
        callback: called as ``callback(result, timestamp_ms)`` with every result ``push``
            returns (not with :meth:`flush`'s).
        options: passed to ``recognizer.predict`` (e.g. ``top_k``, ``beam_width``).
    """

    def __init__(
        self,
        recognizer: Recognizer[ResultT],
        window_frames: int,
        stride: int,
        callback: Callable[[ResultT, int], None] | None = None,
        **options: Any,
    ) -> None:
        for name, value in (("window_frames", window_frames), ("stride", stride)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}.")
        self.recognizer = recognizer
        self.window_frames, self.stride = window_frames, stride
        self.callback = callback
        self.options = options
        self._frames: deque[np.ndarray] = deque(maxlen=window_frames)
        self._last_timestamp: int | None = None
        self._pushed = 0
        self._closed = False

    @property
    def frames_pushed(self) -> int:
        """Frames pushed so far."""
        return self._pushed

    @property
    def window(self) -> np.ndarray:
        """The current window: float32 ``(frames, 543, 3)``, oldest first (at most
        ``window_frames`` frames)."""
        if not self._frames:
            return np.zeros((0, NUM_LANDMARKS, 3), np.float32)
        return np.stack(self._frames)

    def push(self, frame_landmarks: np.ndarray, timestamp_ms: int) -> ResultT | None:
        """Add one frame (``(543, 3)``, NaN where not detected) taken at ``timestamp_ms``.

        Returns the result of the window ending with this frame every ``stride`` frames (and
        calls ``callback`` with it), else None.

        Raises:
            TimestampError: ``timestamp_ms`` is not after the previous frame's.
            InputShapeError: the frame is not a ``(543, 3)`` array of numbers.
            InputValueError: a coordinate is +-inf or beyond
                :data:`aslsign.landmarks.MAX_ABS_COORDINATE` (the frame is not added).
        """
        self._check_open()
        frame32 = check_frame(
            frame_landmarks, f"stream.push (frame {self._pushed}, {timestamp_ms} ms)"
        )
        timestamp = check_timestamp(timestamp_ms, self._last_timestamp)
        self._last_timestamp = timestamp
        self._frames.append(frame32)
        self._pushed += 1
        if self._pushed % self.stride:
            return None
        result = self._recognise()
        if self.callback is not None:
            self.callback(result, timestamp)
        return result

    def flush(self) -> ResultT:
        """The result of the current window, now (the frames stay: pushing goes on).

        Raises:
            EmptySequenceError: nothing was pushed yet.
        """
        self._check_open()
        return self._recognise()

    def reset(self) -> None:
        """Forget the frames and the last timestamp (e.g. a new video)."""
        self._frames.clear()
        self._last_timestamp = None
        self._pushed = 0

    def _recognise(self) -> ResultT:
        predict: Callable[..., ResultT] = self.recognizer.predict  # type: ignore[attr-defined]
        return predict(self.window, **self.options)

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("This stream is closed.")

    def close(self) -> None:
        """End the stream (the recogniser stays open). Safe to call more than once."""
        self._closed = True
        self._frames.clear()

    def __enter__(self) -> RecognitionStream[ResultT]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"RecognitionStream(window_frames={self.window_frames}, stride={self.stride}, "
            f"frames={len(self._frames)}, pushed={self._pushed})"
        )


def check_frame(frame_landmarks: object, where: str) -> np.ndarray:
    """One pushed frame as float32 ``(543, 3)``, or InputShapeError / InputValueError (a
    stream's and a spotter's ``push``)."""
    verb = where.split(" ", 1)[0]
    try:
        frame = np.asarray(frame_landmarks)
    except (TypeError, ValueError) as exc:  # e.g. ragged nested lists
        raise InputShapeError(
            f"{verb} expects one frame of landmarks, a ({NUM_LANDMARKS}, 3) array of "
            f"numbers; cannot read {type(frame_landmarks).__name__} ({exc})."
        ) from exc
    if frame.shape != (NUM_LANDMARKS, 3) or frame.dtype.kind not in "fiu":
        raise InputShapeError(
            f"{verb} expects one frame of landmarks, a ({NUM_LANDMARKS}, 3) array of "
            f"numbers (NaN = not detected); got {frame.dtype} {frame.shape}."
        )
    with np.errstate(over="ignore"):  # a float64 beyond float32's range becomes inf: refused
        frame32 = frame.astype(np.float32)
    check_coordinates(frame32, where, original=frame)
    return frame32


def check_timestamp(timestamp_ms: object, last: int | None) -> int:
    """A pushed frame's timestamp: an integer of milliseconds after ``last``."""
    try:
        timestamp = int(timestamp_ms)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError) as exc:
        raise TimestampError(
            f"timestamp_ms must be an integer number of milliseconds; got {timestamp_ms!r}."
        ) from exc
    if last is not None and timestamp <= last:
        raise TimestampError(
            f"Frame timestamps must increase: got {timestamp} ms after {last}"
            " ms. Push frames in the order they were taken, each with its own time."
        )
    return timestamp
