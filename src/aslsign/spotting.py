"""Spotting: where each sign or spelled phrase of a long recording starts and ends.

People do not sign in pre-cut clips. :meth:`Recognizer.spot() <aslsign.SignRecognizer.spot>`
takes a long sequence and returns **spans**, one per sign (:class:`SignSpan`: ``label``,
``score``) or spelled phrase (:class:`FingerspellingSpan`: ``text``, ``confidence``), each with
``start_frame``, ``end_frame`` (exclusive), ``start_s`` and ``end_s``; :meth:`spotter()
<aslsign.SignRecognizer.spotter>` does the same online (:class:`Spotter`: ``push`` a frame,
get the spans that have just ended). ``spot()`` *is* a spotter fed every frame and flushed, so
the two give the same spans.

How a stream is cut (all on the landmarks, before any model runs):

1. **Activity.** A frame is active when a hand is detected and a hand has *moved* within the
   last ``hold_s`` seconds: moved means that the median displacement of the hand's points
   since the oldest frame with a hand of the last ``hold_s`` is more than ``motion`` shoulder
   widths (0.02; over 5,081 frames of gislr-mini signs it was 0.059 at the median and 0.013
   at the 10th percentile, while a tremor of 0.2 % of the image gives 0.009 at its 99th). A
   hand held still, or none, is idle.
2. **Segments.** A segment starts at the first active frame (with up to ``hold_s`` of the
   frames with a hand just before it) and ends when ``gap_s`` seconds pass without an active
   frame; it ends after its last active frame. Segments shorter than ``min_s`` are dropped;
   one that reaches ``max_s`` is closed there and a new one begins.
3. **Recognition.** A sign segment goes to ``predict``: a rejected sign (the model's background
   class, or ``score_threshold``) gives no span (``keep_unknown=True``: a span with ``label``
   None). A fingerspelling segment is transcribed whole, however long
   (:meth:`aslsign.FingerspellingRecognizer.transcribe`); an empty transcript gives no span.
4. **The span** is the segment with up to ``pad_s`` of the idle frames on each side (never
   into the span before it): a sign's recording starts and ends a little before and after its
   hands move.

Defaults per task (seconds): signs ``hold_s`` 0.1, ``gap_s`` 0.55, ``min_s`` 0.15, ``max_s``
4.0, ``pad_s`` 0.2 (chosen by event F1 on streams of gislr-mini sequences joined by 0.5-1.5 s
gaps: 0.79 with the two-sign model, against 0.68 at 0.2 / 0.45 / 0 without padding);
fingerspelling ``hold_s`` 0.7 (letters are held hand shapes), ``gap_s`` 0.7, ``min_s`` 0.3,
``max_s`` 600 (a phrase is transcribed whole however long: a cut costs a character or two),
``pad_s`` 0 (chosen by the normalised Levenshtein of the joined spans on 10 SYNTHETIC phrases of
40-60 characters joined by 2-3 s gaps: 0.879, where transcribing each phrase on its own gives
0.881; 0.867 at 1.5 / 1.0). A span is reported ``gap_s`` after its last active frame (plus the
model's time), so that is the delay between a sign's end and its report.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from .landmarks import POSE, SLICES, hand_present
from .results import FingerspellingResult, SignResult

if TYPE_CHECKING:
    from .base import Recognizer

__all__ = [
    "SPOT_DEFAULTS",
    "FingerspellingSpan",
    "SignSpan",
    "Span",
    "Spotter",
    "join_sequences",
    "span_text",
]

#: The segmentation options of each task (seconds, and shoulder widths per frame for motion).
SPOT_DEFAULTS: dict[str, dict[str, float]] = {
    "isolated_sign": {
        "hold_s": 0.1,
        "gap_s": 0.55,
        "min_s": 0.15,
        "max_s": 4.0,
        "pad_s": 0.2,
        "motion": 0.02,
    },
    "fingerspelling": {
        "hold_s": 0.7,
        "gap_s": 0.7,
        "min_s": 0.3,
        "max_s": 600.0,
        "pad_s": 0.0,
        "motion": 0.02,
    },
}
_LEFT, _RIGHT = SLICES["left_hand"], SLICES["right_hand"]
_SHOULDERS = (POSE[11], POSE[12])


@dataclass(frozen=True)
class SignSpan:
    """A sign found in a stream.

    Attributes:
        label: the sign (None for an unknown sign, only with ``keep_unknown=True``).
        score: its probability (of the best candidate when ``label`` is None).
        start_frame, end_frame: the frames it covers, ``end_frame`` exclusive.
        start_s, end_s: the same in seconds (the start of ``start_frame``, the end of the last
            frame).
        result: the :class:`aslsign.SignResult` of the span's frames.
    """

    label: str | None
    score: float
    start_frame: int
    end_frame: int
    start_s: float
    end_s: float
    result: SignResult

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``aslsign spot --json``)."""
        d = {k: v for k, v in asdict(self).items() if k != "result"}
        d["top_k"] = [{"label": c.label, "score": c.score} for c in self.result.top_k]
        return d


@dataclass(frozen=True)
class FingerspellingSpan:
    """A spelled phrase found in a stream.

    Attributes:
        text: the transcription of the span.
        confidence: its confidence (see :attr:`aslsign.FingerspellingResult.confidence`).
        start_frame, end_frame, start_s, end_s: as for :class:`SignSpan`.
        result: the :class:`aslsign.FingerspellingResult` of the span's frames.
    """

    text: str
    confidence: float
    start_frame: int
    end_frame: int
    start_s: float
    end_s: float
    result: FingerspellingResult

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``aslsign spot --json``)."""
        return {k: v for k, v in asdict(self).items() if k != "result"}


Span = Union[SignSpan, FingerspellingSpan]  # noqa: UP007 - a runtime alias on Python 3.10


class Spotter:
    """Online spotting: push frames, get spans as they end (see the module docstring).

    Made by ``recognizer.spotter(fps, **options)``; ``options`` are the segmentation options
    (``hold_s``, ``gap_s``, ``min_s``, ``max_s``, ``motion``), ``keep_unknown`` (signs) and
    what ``predict`` takes (``top_k``, ``score_threshold``, ``beam_width``).
    """

    def __init__(
        self,
        recognizer: Recognizer[Any],
        fps: float = 30.0,
        *,
        keep_unknown: bool = False,
        **options: Any,
    ) -> None:
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0 < fps <= 1000:
            raise ValueError(
                f"fps must be a number of frames per second in (0, 1000]; got {fps!r}."
            )
        task = recognizer.task
        settings = dict(SPOT_DEFAULTS[task])
        for name in list(options):
            if name in settings:
                value = options.pop(name)
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                    raise ValueError(f"{name} must be a number >= 0; got {value!r}.")
                settings[name] = float(value)
        recognizer._check_predict_options(options)
        self.recognizer, self.fps, self.options = recognizer, float(fps), options
        self.keep_unknown = bool(keep_unknown)
        self.settings = settings
        frames = {k: max(1, round(v * fps)) for k, v in settings.items() if k.endswith("_s")}
        self._hold, self._gap = frames["hold_s"], frames["gap_s"]
        self._pad = round(settings["pad_s"] * fps)  # may be 0
        self._min, self._max = frames["min_s"], frames["max_s"]
        self._spelling = task == "fingerspelling"
        self.reset()

    def reset(self) -> None:
        """Forget everything pushed (a new recording)."""
        self._t = 0  # frames pushed
        self._times: list[int] = []  # the timestamps of the open segment's frames (ms)
        self._frames: list[np.ndarray] = []  # the open segment's frames
        self._recent: deque[tuple[np.ndarray, int, bool]] = deque(maxlen=self._hold)
        self._start: int | None = None  # first frame of the open segment
        self._last_active = -1
        self._last_motion: int | None = None
        self._handed: deque[tuple[int, np.ndarray]] = deque()  # frames with a hand, last hold_s
        self._last_timestamp: int | None = None
        self._partial_cache: tuple[int, str] | None = None
        # the open phrase's full windows, already run by `partial`
        self._windows: dict[tuple[int, int], np.ndarray] = {}
        # (frame, timestamp) of the latest frames, for a span's padding before its start
        self._stamps: deque[tuple[int, int]] = deque(maxlen=self._pad + self._hold + 1)
        self._last_end = 0  # where the last span (or segment) ended: padding stops there
        self._before: list[tuple[int, int]] = []  # the open segment's padding before it

    @property
    def frames_pushed(self) -> int:
        return self._t

    @property
    def in_span(self) -> bool:
        """Is a segment open (signing or spelling now)?"""
        return self._start is not None

    def push(self, frame_landmarks: np.ndarray, timestamp_ms: int) -> list[Span]:
        """Add one frame (``(543, 3)``, NaN = not detected) taken at ``timestamp_ms``; returns
        the spans that ended with it (most often none).

        Raises:
            TimestampError: ``timestamp_ms`` is not after the previous frame's.
            InputShapeError, InputValueError: as :meth:`aslsign.streaming.RecognitionStream.push`.
        """
        from .streaming import check_frame, check_timestamp

        frame = check_frame(frame_landmarks, f"spotter.push (frame {self._t}, {timestamp_ms} ms)")
        timestamp = check_timestamp(timestamp_ms, self._last_timestamp)
        self._last_timestamp = timestamp
        t = self._t
        self._t += 1
        self._stamps.append((t, timestamp))
        present = bool(hand_present(frame[None])[0])
        if present:
            # moved: compared with the oldest frame with a hand of the last hold_s seconds
            # (a window, so that a tremor that does not add up is not motion, and MediaPipe
            # missing a hand for a frame or two does not matter)
            seen = self._handed
            while seen and t - seen[0][0] > self._hold:
                seen.popleft()
            if seen and _moved(seen[0][1], frame) > self.settings["motion"]:
                self._last_motion = t
            seen.append((t, frame))
        active = present and self._last_motion is not None and t - self._last_motion < self._hold
        out: list[Span] = []
        if self._start is None:
            if active:
                lead = list(self._recent)  # the frames with a hand just before
                self._start = t - len(lead)
                self._before = (
                    [s for s in self._stamps if self._last_end <= s[0] < self._start][-self._pad :]
                    if self._pad
                    else []
                )
                self._frames = [f for f, _, _ in lead]
                self._times = [s for _, s, _ in lead]
            else:
                self._recent.append((frame, timestamp, present))
                if not present:
                    self._recent.clear()
                return out
        self._frames.append(frame)
        self._times.append(timestamp)
        if active:
            self._last_active = t
        if t - self._last_active >= self._gap or t + 1 - self._start >= self._max:
            out += self._close()
        return out

    def flush(self) -> list[Span]:
        """The span of the open segment, if any (end of the recording)."""
        return self._close() if self._start is not None else []

    @property
    def partial(self) -> str | None:
        """Fingerspelling: the transcript of the phrase being spelled now (None when no phrase
        is open; recomputed on the frames so far, at most once per pushed frame). Signs: the
        label the open segment would get now, or None."""
        if self._start is None:
            return None
        if self._partial_cache is not None and self._partial_cache[0] == self._t:
            return self._partial_cache[1]
        frames = np.stack(self._frames[: self._last_active - self._start + 1])
        result = self._recognise(frames, self._windows)
        text = result.text if isinstance(result, FingerspellingResult) else (result.label or "")
        self._partial_cache = (self._t, text)
        return text

    # ------------------------------------------------------------------ internals
    def _close(self) -> list[Span]:
        assert self._start is not None
        start, end = self._start, self._last_active + 1
        frames = self._frames[: end - start]
        # the span: the segment and up to pad_s of the idle frames on each side (never before
        # the last span's end, never past the frames pushed so far)
        after = min(self._pad, len(self._frames) - (end - start))
        before = self._before
        span_times = [s for _, s in before] + self._times[: end - start + after]
        span_start, span_end = start - len(before), end + after
        self._last_end = span_end
        # what came after the segment's end may start the next one
        rest = list(zip(self._frames[end - start :], self._times[end - start :], strict=True))
        self._start, self._frames, self._times = None, [], []
        self._partial_cache = None
        windows, self._windows = self._windows, {}
        self._recent.clear()
        for f, s in rest[-self._hold :]:
            present = bool(hand_present(f[None])[0])
            self._recent.append((f, s, present))
            if not present:
                self._recent.clear()
        if end - start < self._min:
            return []
        result = self._recognise(np.stack(frames), windows)
        span = self._span(result, span_start, span_end, span_times)
        return [span] if span is not None else []

    def _recognise(
        self, frames: np.ndarray, windows: dict[tuple[int, int], np.ndarray] | None = None
    ) -> SignResult | FingerspellingResult:
        rec: Any = self.recognizer
        if self._spelling:
            width = rec._beam(self.options.get("beam_width"))
            return rec._transcribe(frames, width, cache=windows)
        return rec.predict(frames, **self.options)

    def _span(
        self, result: SignResult | FingerspellingResult, start: int, end: int, times: list[int]
    ) -> Span | None:
        start_s = times[0] / 1000.0
        end_s = times[-1] / 1000.0 + 1.0 / self.fps
        if isinstance(result, FingerspellingResult):
            if not result.text:
                return None
            return FingerspellingSpan(
                result.text, result.confidence, start, end, start_s, end_s, result
            )
        if not result.detected or (result.label is None and not self.keep_unknown):
            return None
        return SignSpan(result.label, result.score, start, end, start_s, end_s, result)

    def __repr__(self) -> str:
        return f"Spotter(task={self.recognizer.task!r}, fps={self.fps}, pushed={self._t})"


def span_text(span: Span) -> str:
    """A span as ``aslsign spot`` and ``aslsign live`` show it: ``hello 0.97``, ``(unknown
    sign)``, or the spelled text."""
    if isinstance(span, FingerspellingSpan):
        return span.text
    return f"{span.label} {span.score:.2f}" if span.label is not None else "(unknown sign)"


def _moved(previous: np.ndarray, frame: np.ndarray) -> float:
    """How far the hands moved between two frames: the larger of the two hands' median point
    displacement, in shoulder widths (0.25 of the image width when the shoulders are unseen)."""
    sh = frame[list(_SHOULDERS), :2]
    width = float(np.hypot(*(sh[0] - sh[1]))) if np.isfinite(sh).all() else 0.25
    width = width if width > 1e-3 else 0.25
    best = 0.0
    for hand in (_LEFT, _RIGHT):
        d = np.hypot(*(frame[hand, :2] - previous[hand, :2]).T)
        d = d[np.isfinite(d)]
        if len(d):
            best = max(best, float(np.median(d)))
    return best / width


def spot_timestamps(frames: int, fps: float) -> list[int]:
    """The timestamps (ms) ``spot()`` gives a sequence's frames: ``i * 1000 / fps``, rounded."""
    return [round(i * 1000.0 / fps) for i in range(frames)]


def join_sequences(
    items: Sequence[tuple[str | None, np.ndarray]],
    *,
    seed: int = 0,
    gap_s: tuple[float, float] = (0.5, 1.5),
    fps: float = 30.0,
    idle: Sequence[str] = ("no_hands", "rest"),
) -> tuple[np.ndarray, list[tuple[str | None, int, int]]]:
    """A test stream: ``(label, landmarks)`` items joined by idle gaps, and where each item is
    (``(label, start_frame, end_frame)``; label None for an unknown sign).

    Before each item and after the last comes a gap of ``gap_s`` seconds (uniform), of one of
    the ``idle`` kinds (drawn with ``seed``): ``no_hands``, the face and pose of the frame
    before without hands; ``rest``, the last frame of the item before held still, hands
    included, with a tremor of 0.2 % of the image (the hands stay where the sign ended). The
    first gap is ``no_hands`` (nothing came before).
    """
    rng = np.random.default_rng(seed)
    parts: list[np.ndarray] = []
    truth: list[tuple[str | None, int, int]] = []
    at = 0

    def gap(frame: np.ndarray, first: bool = False) -> np.ndarray:
        n = max(1, round(rng.uniform(*gap_s) * fps))
        x = np.repeat(frame[None].astype(np.float32), n, axis=0)
        kind = idle[int(rng.integers(len(idle)))]
        if first or kind == "no_hands":
            x[:, _LEFT] = np.nan
            x[:, _RIGHT] = np.nan
        else:
            x[..., :2] += rng.normal(0.0, 0.002, x[..., :2].shape).astype(np.float32)
        return x

    for label, landmarks in items:
        x = np.asarray(landmarks, np.float32)
        g = gap(parts[-1][-1]) if parts else gap(x[0], first=True)
        parts += [g, x]
        truth.append((label, at + len(g), at + len(g) + len(x)))
        at += len(g) + len(x)
    if parts:
        parts.append(gap(parts[-1][-1]))
    stream = np.concatenate(parts) if parts else np.zeros((0, 543, 3), np.float32)
    return stream, truth
