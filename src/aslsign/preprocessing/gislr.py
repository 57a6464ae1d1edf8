"""The GISLR 1st-place feature pipeline (hoyso48).

``gislr_1st`` (:class:`Gislr1stPreprocessor`)
    The feature pipeline of the GISLR 1st-place solution (hoyso48, Kaggle "Google - Isolated Sign
    Language Recognition", 2023): drop empty frames (``empty_frames "all"``: frames in which no
    landmark was detected, the default; ``"selected"``: frames in which none of the selected
    points was, the original's rule); select 118
    points (lips 40, left hand 21, right hand 21, nose 4, right eye 16, left eye 16); subtract the
    nan-mean of face landmark 17 over the whole clip (0.5 where it was never detected) and divide
    by the nan-standard deviation of the selected points around that centre, per coordinate;
    truncate to ``max_len`` frames; keep x and y and append the lag-1 and lag-2 forward
    differences (``x[t+k] - x[t]``, zero past the end) -> ``118 * 2 * 3 = 708`` channels, laid
    out as ``[p0.x, p0.y, p1.x, ...]`` for positions, then lag-1, then lag-2; NaN -> 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import numpy as np

from .. import _validate as v
from ..landmarks import MAX_ABS_COORDINATE, NUM_LANDMARKS
from ._common import (
    add_lags,
    check_batch,
    check_fills,
    check_lags,
    check_landmarks,
    finish,
    group_points,
    nan_mean,
    pad,
)

__all__ = ["EMPTY_FRAME_RULES", "Gislr1stPreprocessor"]

#: ``empty_frames``: a frame is empty when ``"all"`` 543 landmarks are missing, or when all the
#: ``"selected"`` points are (the 1st-place original)
EMPTY_FRAME_RULES = ("all", "selected")


@dataclass(frozen=True)
class Gislr1stPreprocessor:
    """GISLR 1st-place features: 118 points, centred and scaled, x/y + lag-1/lag-2 -> 708."""

    name: ClassVar[str] = "gislr_1st"

    groups: tuple[str, ...] = ("lips", "left_hand", "right_hand", "nose", "right_eye", "left_eye")
    center_landmark: int = 17
    center_fallback: float = 0.5
    lags: tuple[int, ...] = (1, 2)
    max_len: int = 384
    drop_empty_frames: bool = True
    empty_frames: str = "all"
    nan_fill: float = 0.0
    pad_value: float = -100.0
    points: np.ndarray = field(init=False, repr=False, compare=False)
    _gather: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Check every parameter's type and range (ConfigError naming it)."""
        points = group_points(self.groups, self.max_len)
        center = v.integer(
            self.center_landmark, "preprocessing.center_landmark", 0, NUM_LANDMARKS - 1
        )
        v.number(
            self.center_fallback,
            "preprocessing.center_fallback",
            -MAX_ABS_COORDINATE,
            MAX_ABS_COORDINATE,
        )
        lags = check_lags(self.lags, self.max_len)
        v.boolean(self.drop_empty_frames, "preprocessing.drop_empty_frames")
        v.string(self.empty_frames, "preprocessing.empty_frames", EMPTY_FRAME_RULES)
        check_fills(self.nan_fill, self.pad_value)
        object.__setattr__(self, "points", points)
        object.__setattr__(self, "_gather", np.append(points, center))
        object.__setattr__(self, "groups", tuple(self.groups))
        object.__setattr__(self, "lags", lags)
        object.__setattr__(self, "center_landmark", center)
        object.__setattr__(self, "max_len", int(self.max_len))

    @property
    def num_points(self) -> int:
        return len(self.points)

    @property
    def num_features(self) -> tuple[int, ...]:
        return (self.num_points * 2 * (1 + len(self.lags)),)

    def keep_frames(self, landmarks: np.ndarray) -> np.ndarray:
        """``landmarks`` without the frames this pipeline treats as empty (see ``empty_frames``);
        all of them when ``drop_empty_frames`` is off."""
        x = check_landmarks(landmarks)
        if not self.drop_empty_frames:
            return x
        rows = x if self.empty_frames == "all" else x[:, self.points]
        detected = ~np.isnan(rows).all(axis=(1, 2))
        return x if detected.all() else x[detected]

    def __call__(self, landmarks: np.ndarray) -> np.ndarray:
        features, lengths = self.batch([landmarks])
        return features[0, : lengths[0]]

    def batch(self, sequences: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Features of several sequences at once, vectorised over the batch.

        Returns ``(features, lengths)``: float32 ``(batch, frames, 708)`` padded with
        ``pad_value`` after each sequence's ``lengths[i]`` frames (0 when nothing was detected).
        Equal (to float32 rounding) to calling the pipeline on each sequence and ``pad_batch``.
        """
        check_batch(sequences)
        gather = self._gather
        kept = []
        for landmarks in sequences:
            x = self.keep_frames(landmarks)
            kept.append(x[:, gather, :2])  # (T, points + centre, xy): z is never used
        full = np.array([len(k) for k in kept])
        # coordinate-major (B, xy, T, points) so that every reduction runs over contiguous memory
        sel = np.full((len(kept), 2, int(full.max()), len(gather)), np.nan, np.float32)
        for i, k in enumerate(kept):
            sel[i, :, : len(k)] = k.transpose(2, 0, 1)
        # padding frames are NaN, so the nan-means below only see each sequence's own frames
        center = nan_mean(sel[..., -1])[..., None]  # (B, 2, 1, 1)
        center[np.isnan(center)] = self.center_fallback
        pts = sel[..., :-1] - center
        with np.errstate(invalid="ignore"):
            std = np.sqrt(nan_mean((pts * pts).reshape(*pts.shape[:2], -1)))[..., None]
        lengths = np.minimum(full, self.max_len)
        frames = int(lengths.max(initial=0))
        with np.errstate(invalid="ignore", divide="ignore"):
            pts = pts[:, :, :frames] / std
        pts = pts.transpose(0, 2, 3, 1)  # (B, T, points, xy): channels [p0.x, p0.y, p1.x, ...]
        batch = len(kept)
        out = np.zeros((batch, frames, *self.num_features), np.float32)
        add_lags(out, pts.reshape(batch, frames, pts.shape[2] * 2), self.lags)
        finish(out, lengths, self.nan_fill, self.pad_value)  # NaN: also a lag against padding
        return out, lengths

    def pad_batch(self, sequences: Sequence[np.ndarray]) -> np.ndarray:
        return pad(sequences, self.num_features, self.pad_value)

    def to_config(self) -> dict[str, Any]:
        cfg = {k: v for k, v in asdict(self).items() if k not in ("points", "_gather")}
        cfg["groups"] = list(self.groups)
        cfg["lags"] = list(self.lags)
        return {"name": self.name, **cfg}
