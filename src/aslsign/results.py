"""Typed prediction results."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Category", "FingerspellingResult", "SignResult", "result_text"]


@dataclass(frozen=True)
class Category:
    """One class of a prediction.

    Attributes:
        index: position of the class in the model output (and in ``config.labels``).
        label: the sign's name.
        score: its probability (softmax of the model's logits, or the model's own probability).
    """

    index: int
    label: str
    score: float


@dataclass(frozen=True)
class SignResult:
    """The prediction for one landmark sequence.

    Attributes:
        top_k: the ``k`` most probable signs of the vocabulary, most probable first (the
            candidates: listed also when the sign was rejected). Empty when nothing was
            detected (no hand).
        probabilities: float32 vector over all output classes, in model output order (the
            background class included, when the model has one). All zeros when nothing was
            detected (the model is not run on such input).
        num_frames: frames in the input.
        num_frames_used: frames the model saw (after dropping frames with no landmark and
            truncating to the model's ``max_len``).
        rejected: the model did not recognise the sign as one of its vocabulary: the best
            sign's probability was below the score threshold (or, with none, the model's
            background class won). :attr:`label` is then None, while :attr:`top_k` still lists
            the candidates.
    """

    top_k: tuple[Category, ...]
    probabilities: np.ndarray
    num_frames: int
    num_frames_used: int
    rejected: bool = False

    @property
    def detected(self) -> bool:
        """False when there was nothing to recognise (no hand: no prediction was made)."""
        return bool(self.top_k)

    @property
    def label(self) -> str | None:
        """The recognised sign; None when nothing was detected or the sign was rejected."""
        return self.top_k[0].label if self.top_k and not self.rejected else None

    @property
    def score(self) -> float:
        """Probability of the best sign of the vocabulary (also when it was rejected: see
        :attr:`rejected`); 0.0 when nothing was detected."""
        return self.top_k[0].score if self.top_k else 0.0

    @property
    def index(self) -> int | None:
        """Output index of :attr:`label`, or None when there is no label."""
        return self.top_k[0].index if self.label is not None else None

    def __repr__(self) -> str:
        if not self.detected:
            return f"SignResult(label=None, detected=False, num_frames={self.num_frames})"
        first = 0 if self.rejected else 1  # a rejected result lists its best candidate too
        others = ", ".join(f"{c.label!r}: {c.score:.3f}" for c in self.top_k[first : first + 3])
        more = ", ..." if len(self.top_k) > first + 3 else ""
        head = "label=None, rejected=True" if self.rejected else f"label={self.label!r}"
        return (
            f"SignResult({head}, score={self.score:.3f}, "
            f"{'candidates' if self.rejected else 'next'}={{{others}{more}}}, "
            f"num_frames={self.num_frames}, num_frames_used={self.num_frames_used})"
        )

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (used by ``aslsign predict --json``)."""
        return {
            "label": self.label,
            "score": self.score,
            "detected": self.detected,
            "rejected": self.rejected,
            "num_frames": self.num_frames,
            "num_frames_used": self.num_frames_used,
            "top_k": [{"index": c.index, "label": c.label, "score": c.score} for c in self.top_k],
        }


@dataclass(frozen=True)
class FingerspellingResult:
    """The transcription of one fingerspelling sequence.

    Attributes:
        text: the decoded phrase ("" when nothing was detected or nothing was spelled).
        characters: one :class:`Category` per character of ``text``, in order: ``label`` is the
            character, ``index`` its model output index, ``score`` its confidence in [0, 1] (CTC
            models: the highest probability the character had over the output steps that
            emitted it; Kaggle models: the probability of the row's argmax).
        log_prob: the decoder's log-probability of ``text`` (CTC greedy: of its best alignment;
            beam search: summed over the alignments the beam kept; Kaggle models: the sum of the
            rows' log-probabilities). ``-inf`` when nothing was detected.
        num_frames: frames in the input.
        num_frames_used: frames the model saw (after frame filtering and resampling).
    """

    text: str
    characters: tuple[Category, ...]
    log_prob: float
    num_frames: int
    num_frames_used: int

    @property
    def detected(self) -> bool:
        """False when the input had no usable frame (the model was not run)."""
        return self.num_frames_used > 0

    @property
    def confidences(self) -> tuple[float, ...]:
        """Per-character confidences, aligned with :attr:`text`."""
        return tuple(c.score for c in self.characters)

    @property
    def confidence(self) -> float:
        """Geometric mean of the per-character confidences (0.0 for empty text)."""
        if not self.characters:
            return 0.0
        return float(np.exp(np.mean(np.log(np.maximum(self.confidences, 1e-12)))))

    def __repr__(self) -> str:
        detected = "" if self.detected else ", detected=False"
        return (
            f"FingerspellingResult(text={self.text!r}, confidence={self.confidence:.3f}"
            f"{detected}, num_frames={self.num_frames}, num_frames_used={self.num_frames_used})"
        )

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (used by ``aslsign predict --json``)."""
        return {
            "text": self.text,
            "confidence": self.confidence,
            "confidences": list(self.confidences),
            "log_prob": self.log_prob if np.isfinite(self.log_prob) else None,
            "detected": self.detected,
            "num_frames": self.num_frames,
            "num_frames_used": self.num_frames_used,
        }


def result_text(result: SignResult | FingerspellingResult) -> str:
    """A short line for a result, as ``aslsign live`` and ``aslsign render --model`` show it:
    ``hello 0.93`` for a sign, ``(unknown sign; hello 0.41?)`` for a rejected one, the
    transcription for fingerspelling, and ``(no hands)`` when there was nothing to recognise."""
    if not result.detected:
        return "(no hands)"
    if isinstance(result, FingerspellingResult):
        return result.text
    if result.rejected:
        return f"(unknown sign; {result.top_k[0].label} {result.score:.2f}?)"
    return f"{result.label} {result.score:.2f}"
