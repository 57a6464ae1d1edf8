"""Features of Mark Wijkhuizen's GISLR Transformer (``wijkhuizen``).

Source of the facts: Mark Wijkhuizen's Kaggle notebook "GISLR TF Data Processing & Transformer
Training" (gislr-tf-data-processing-transformer-training, 2023), written afresh here in NumPy.
:class:`WijkhuizenPreprocessor`, step by step for one ``(frames, 543, 3)`` sequence:

1. **Dominant hand.** The hand with more non-NaN values (x, y and z, over the whole clip) is
   the dominant one; the left hand wins a tie, as in the original.
2. **Frames.** Only the frames in which the dominant hand has at least one non-NaN value are
   kept. A clip in which it is never seen (no hand at all) gives no frames: ``(0, 133)``.
3. **Points.** The 40 lip points, the dominant hand's 21 points and the dominant arm's 5 pose
   points (elbow, wrist, pinky, index, thumb: rows 502, 504, ..., 510 for the left arm, 503, ...,
   511 for the right), x and y only: 66 points, 132 values. A right-dominant clip is mirrored
   (x -> 1 - x, right-side rows read in place of the left-side ones), so the dominant hand
   always looks like a left hand. The original mirrors the hand and the arm but not the lips;
   ``mirror_lips`` (default ``true``) mirrors the lips too (the lip points are read from their
   mirror partners, :data:`aslsign.landmarks.MIRROR`), ``false`` reproduces the original.
4. **Length.** ``frames`` (64) output frames. A shorter clip keeps its ``n`` frames and is padded
   to ``frames``. A clip of ``n >= frames`` kept frames is pooled as in the original: each kept
   frame is repeated ``r = frames**2 // N`` times (``N`` = the clip's frame count *before*
   step 2, at least 1; no repetition when ``n >= frames**2``), giving ``L = n * r`` frames; with
   ``p = ceil(L / frames)`` and ``e = p * frames - L``, ``e // 2 + frames // 2`` copies of the
   first frame are put before and the rest (``e - e // 2 + frames - frames // 2``) copies of the
   last frame after, and the ``(p + 1) * frames`` frames are averaged in ``frames`` consecutive
   windows of ``p + 1``, ignoring NaN (a point undetected in a whole window stays NaN).
   :func:`pool_weights` gives the window weights.
5. **Frame index.** Each kept frame's position in the clip minus the first kept frame's (pooled
   like the coordinates), divided by the largest of them, so it runs from 0 to 1 (0 for a single
   frame, where the original divided 0 by 0). Padding frames get -1; the model masks them and
   turns the index into a learned position ``floor(index * frames)``, the original's
   ``index / max(index) * frames`` cast to an integer.
6. **Normalisation.** ``(value - mean) / std`` per coordinate, with ``mean`` and ``std`` (132
   numbers each, the layout below) measured on the training split by
   :meth:`WijkhuizenPreprocessor.fit` (0 and 1 when not fitted). Undetected (NaN) values and
   padding become 0 after normalisation. The original filled NaN with 0 first and normalised
   only the values that were not 0; as a detected coordinate is (almost surely) never exactly
   0.0, both give the same numbers, and the statistics are likewise taken over detected values
   only.

Layout, one row per frame (133 channels): ``[frame_index, lips p0.x, p0.y, ..., p39.y, hand
p0.x, ..., p20.y, arm p0.x, ..., p4.y]``; see :data:`CHANNELS`. The frame index travels inside
the features because aslsign models take exactly one input tensor.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np

from .._validate import boolean, fail, integer, is_number
from ..errors import ConfigError, InputShapeError
from ..landmarks import LEFT_ARM_POSE, LEFT_HAND, LIPS, MIRROR, RIGHT_HAND
from ._common import MAX_ABS_FEATURE, check_batch, check_landmarks, pad

__all__ = ["CHANNELS", "NUM_COORDS", "WijkhuizenPreprocessor", "dominant_hand", "pool_weights"]

_LEFT_ROWS = np.array(LIPS + LEFT_HAND + LEFT_ARM_POSE, np.intp)
_NUM_LIPS = len(LIPS)
NUM_POINTS = len(_LEFT_ROWS)  # 66
#: Normalised coordinates per frame (x and y of the 66 points).
NUM_COORDS = 2 * NUM_POINTS
#: Where each part sits in a feature row.
CHANNELS: dict[str, slice] = {
    "frame_index": slice(0, 1),
    "lips": slice(1, 1 + 2 * _NUM_LIPS),
    "hand": slice(1 + 2 * _NUM_LIPS, 1 + 2 * (_NUM_LIPS + len(LEFT_HAND))),
    "pose": slice(1 + 2 * (_NUM_LIPS + len(LEFT_HAND)), 1 + NUM_COORDS),
}
PAD_INDEX = -1.0


def dominant_hand(landmarks: np.ndarray) -> str:
    """``"left"`` or ``"right"``: the hand with more non-NaN values; the left wins a tie."""
    x = check_landmarks(landmarks)
    left = int(np.count_nonzero(~np.isnan(x[:, LEFT_HAND])))
    right = int(np.count_nonzero(~np.isnan(x[:, RIGHT_HAND])))
    return "left" if left >= right else "right"


def pool_weights(kept: int, total: int, frames: int) -> np.ndarray:
    """``(frames, kept)`` counts: how often each kept frame enters each output window (step 4).

    ``kept >= frames`` frames remain of a clip of ``total`` frames. Output frame ``j`` is the
    NaN-ignoring weighted mean of the kept frames with weights ``W[j]`` (row sums are equal).
    For ``frames = 64`` this is the original's repeat, edge-pad and mean-pool scheme; for an odd
    ``frames`` the edge padding is split so that the padded length still divides.
    """
    if kept < frames:
        raise ValueError(f"pooling needs at least {frames} frames, got {kept}")
    repeats = max(1, (frames * frames) // max(total, 1)) if kept < frames * frames else 1
    length = kept * repeats
    per = -(-length // frames)  # ceil
    extra = per * frames - length
    before = extra // 2 + frames // 2
    after = extra - extra // 2 + frames - frames // 2
    source = np.concatenate(
        [
            np.zeros(before, np.intp),
            np.repeat(np.arange(kept, dtype=np.intp), repeats),
            np.full(after, kept - 1, np.intp),
        ]
    )
    window = np.arange(len(source)) // (per + 1)
    counts = np.bincount(window * kept + source, minlength=frames * kept)
    return counts.reshape(frames, kept).astype(np.float64)


def _stats(values: Any, key: str) -> tuple[float, ...] | None:
    if values is None:
        return None
    if not isinstance(values, (list, tuple)) or not all(is_number(x) for x in values):
        raise fail(f"preprocessing.{key}", f"a list of {NUM_COORDS} numbers or null", values)
    out = tuple(float(x) for x in values)
    if len(out) != NUM_COORDS:
        raise ConfigError(
            f"preprocessing.{key} must hold {NUM_COORDS} numbers (x and y of 40 lip, 21 hand and "
            f"5 arm points, point by point), got {len(out)}. Refit the statistics with fit()."
        )
    if not all(math.isfinite(v) for v in out):
        raise ConfigError(f"preprocessing.{key} must be finite numbers; got NaN or infinity.")
    return out


@dataclass(frozen=True)
class WijkhuizenPreprocessor:
    """Mark Wijkhuizen's GISLR Transformer features: 64 frames of [frame index, 132 coords]."""

    name: ClassVar[str] = "wijkhuizen"

    frames: int = 64
    mirror_lips: bool = True
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    _mean: np.ndarray = field(init=False, repr=False, compare=False)
    _std: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "frames", integer(self.frames, "preprocessing.frames", 1))
        boolean(self.mirror_lips, "preprocessing.mirror_lips")
        mean, std = _stats(self.mean, "mean"), _stats(self.std, "std")
        if std is not None and min(std) <= 0:
            raise ConfigError(
                f"preprocessing.std must be > 0 everywhere; got {min(std)} at coordinate "
                f"{std.index(min(std))}."
            )
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)
        m = np.zeros(NUM_COORDS, np.float32) if mean is None else np.array(mean, np.float32)
        s = np.ones(NUM_COORDS, np.float32) if std is None else np.array(std, np.float32)
        object.__setattr__(self, "_mean", m)
        object.__setattr__(self, "_std", s)

    @property
    def num_features(self) -> tuple[int, ...]:
        return (1 + NUM_COORDS,)

    @property
    def max_len(self) -> int:
        """Frames of every output (the runtime sizes its batches with it)."""
        return self.frames

    @property
    def fitted(self) -> bool:
        """Whether ``mean`` and ``std`` were measured (otherwise 0 and 1 are used)."""
        return self.mean is not None and self.std is not None

    def rows(self, dominant: str) -> np.ndarray:
        """The 66 landmark rows (0-542) read for a ``"left"`` or ``"right"`` dominant clip."""
        if dominant == "left":
            return _LEFT_ROWS
        rows = MIRROR[_LEFT_ROWS]
        if not self.mirror_lips:
            rows = np.concatenate([_LEFT_ROWS[:_NUM_LIPS], rows[_NUM_LIPS:]])
        return rows

    def select(self, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Steps 1-5: ``(coords, index)`` before normalisation.

        ``coords`` is float32 ``(n, 66, 2)`` with NaN where a point was not detected, ``index``
        the frame-index channel ``(n,)`` in [0, 1]; ``n`` is the number of real frames
        (``frames`` when pooled, fewer for a short clip, 0 when the dominant hand is never seen).
        """
        x = check_landmarks(landmarks)
        dominant = dominant_hand(x)
        hand = LEFT_HAND if dominant == "left" else RIGHT_HAND
        keep = np.flatnonzero((~np.isnan(x[:, hand])).any(axis=(1, 2)))
        coords = x[keep[:, None], self.rows(dominant)[None, :], :2]
        if dominant == "right":
            flip = slice(0, None) if self.mirror_lips else slice(_NUM_LIPS, None)
            coords[:, flip, 0] = 1.0 - coords[:, flip, 0]
        index = (keep - keep[0]).astype(np.float64) if len(keep) else np.zeros(0)
        if len(keep) >= self.frames:
            weights = pool_weights(len(keep), len(x), self.frames)
            flat = coords.reshape(len(keep), NUM_COORDS).astype(np.float64)
            valid = ~np.isnan(flat)
            with np.errstate(invalid="ignore", divide="ignore"):
                pooled = (weights @ np.where(valid, flat, 0.0)) / (weights @ valid)
            coords = pooled.reshape(self.frames, NUM_POINTS, 2).astype(np.float32)
            index = (weights @ index) / weights.sum(axis=1)
        top = index.max(initial=0.0)
        index = (index / top if top > 0 else np.zeros_like(index)).astype(np.float32)
        return coords, index

    def __call__(self, landmarks: np.ndarray) -> np.ndarray:
        """``(frames, 133)`` features, or ``(0, 133)`` when the dominant hand is never seen."""
        features, lengths = self.batch([landmarks])
        return features[0] if lengths[0] else features[0, :0]

    def batch(self, sequences: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Features of several sequences: float32 ``(batch, frames, 133)`` and the number of
        real (not padding) frames of each, 0 where nothing usable was seen."""
        check_batch(sequences)
        return self.features([self.select(s) for s in sequences])

    def features(
        self, selected: Sequence[tuple[np.ndarray, np.ndarray]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Step 6 and the layout, on outputs of :meth:`select` (vectorised over the batch).

        Values are clipped to +-:data:`aslsign.preprocessing._common.MAX_ABS_FEATURE`."""
        limit = np.float32(MAX_ABS_FEATURE)
        if not selected:
            raise InputShapeError("Cannot build features of an empty list of sequences.")
        batch, frames = len(selected), self.frames
        lengths = np.array([len(c) for c, _ in selected], np.int64)
        if lengths.max(initial=0) > frames:
            raise ValueError(f"selected sequences have at most {frames} frames")
        coords = np.full((batch, frames, NUM_COORDS), np.nan, np.float32)
        out = np.empty((batch, frames, *self.num_features), np.float32)
        out[..., 0] = PAD_INDEX
        for i, (c, t) in enumerate(selected):
            coords[i, : len(c)] = c.reshape(len(c), NUM_COORDS)
            out[i, : len(t), 0] = t
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # inf: clipped below
            z = (coords - self._mean) / self._std
        out[..., 1:] = np.clip(np.where(np.isnan(z), np.float32(0.0), z), -limit, limit)
        return out, lengths

    def pad_batch(self, sequences: Sequence[np.ndarray]) -> np.ndarray:
        """Stack feature sequences into ``(batch, max(frames, longest), 133)``; padding frames
        have index -1 and coordinates 0."""
        batch = pad(sequences, self.num_features, 0.0)
        short = self.frames - batch.shape[1]
        if short > 0:
            batch = np.pad(batch, ((0, 0), (0, short), (0, 0)))
        for i, s in enumerate(sequences):
            batch[i, len(s) :, 0] = PAD_INDEX
        return batch

    def fit(self, sequences: Sequence[np.ndarray]) -> WijkhuizenPreprocessor:
        """This pipeline with ``mean`` and ``std`` measured on ``sequences`` (the training split).

        Per coordinate over the detected values of all real frames after steps 1-5 (population
        standard deviation). A coordinate never detected keeps mean 0 and std 1, one that never
        varies std 1.
        """
        check_batch(sequences)
        coords = [self.select(s)[0].reshape(-1, NUM_COORDS) for s in sequences]
        values = np.concatenate(coords).astype(np.float64)
        valid = ~np.isnan(values)
        count = valid.sum(axis=0)
        filled = np.where(valid, values, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = filled.sum(axis=0) / count
            var = (np.where(valid, values - mean, 0.0) ** 2).sum(axis=0) / count
        mean = np.where(count > 0, mean, 0.0)
        std = np.sqrt(np.where(count > 0, var, 1.0))
        std = np.where(std > 1e-12, std, 1.0)
        return replace(self, mean=tuple(mean.tolist()), std=tuple(std.tolist()))

    def to_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "frames": self.frames,
            "mirror_lips": self.mirror_lips,
            "mean": None if self.mean is None else list(self.mean),
            "std": None if self.std is None else list(self.std),
        }
