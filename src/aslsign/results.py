"""Typed prediction results."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Category", "SignResult"]


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
        top_k: the ``k`` most probable classes, most probable first. Empty when no landmark was
            detected in any frame.
        probabilities: float32 vector over all classes, in model output order. All zeros when no
            landmark was detected in any frame (the model is not run on such input).
        num_frames: frames in the input.
        num_frames_used: frames the model saw (after dropping frames with no landmark and
            truncating to the model's ``max_len``).
    """

    top_k: tuple[Category, ...]
    probabilities: np.ndarray
    num_frames: int
    num_frames_used: int

    @property
    def detected(self) -> bool:
        """False when the input had no detected landmark at all (and so no prediction)."""
        return bool(self.top_k)

    @property
    def label(self) -> str | None:
        """The most probable sign, or None when nothing was detected."""
        return self.top_k[0].label if self.top_k else None

    @property
    def score(self) -> float:
        """Probability of :attr:`label` (0.0 when nothing was detected)."""
        return self.top_k[0].score if self.top_k else 0.0

    @property
    def index(self) -> int | None:
        """Output index of :attr:`label`, or None when nothing was detected."""
        return self.top_k[0].index if self.top_k else None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (used by ``aslsign predict --json``)."""
        return {
            "label": self.label,
            "score": self.score,
            "detected": self.detected,
            "num_frames": self.num_frames,
            "num_frames_used": self.num_frames_used,
            "top_k": [{"index": c.index, "label": c.label, "score": c.score} for c in self.top_k],
        }
