"""Features for fingerspelling (ASLFR) models: the dominant hand's shape and where the hands are.

``fingerspelling`` (:class:`FingerspellingPreprocessor`), step by step for one sequence:

1. **Dominant hand.** The hand detected in more frames is the dominant one (the right hand wins
   a tie). With ``mirror_dominant`` a left-dominant sequence is mirrored (sides swapped, x ->
   1 - x, :func:`aslsign.landmarks.mirror`), so the dominant hand is always ``right_hand``.
2. **Frames.** ``frame_filter`` ``"hands"`` drops frames in which neither hand was detected,
   ``"landmarks"`` frames in which nothing was, ``"none"`` keeps every frame. Sequences longer
   than ``max_len`` frames are resampled to ``max_len`` evenly spaced frames (``overflow
   "resample"``, nearest frame, which keeps every character of a long phrase in view) or cut
   (``"truncate"``).
3. **Position block.** The x/y of the points of ``groups`` (default: both hands, the 40 lip
   points, 4 nose points, 10 arm pose points: 96), centred and scaled per sequence. With
   ``normalize "shoulders"`` the centre is the clip's mean shoulder midpoint and the unit its
   mean shoulder width (pose 11 and 12); where the shoulders were never seen, or with
   ``"std"``, the centre is the nan-mean of the selected points and the unit their nan-standard
   deviation. Then forward differences at each of ``lags`` (``x[t+k] - x[t]``, zero past the
   end), as in the ``gislr_1st`` pipeline.
4. **Hand-shape block** (``hand_shape``). The dominant hand's 21 points in x, y, z relative to
   its wrist, divided by the frame's wrist-to-middle-knuckle distance (x/y): the hand shape
   whatever the hand's position and size, which is what tells most letters apart.
5. NaN (undetected points) -> ``nan_fill``; batches are padded with ``pad_value`` after each
   sequence's last frame, for the model to mask.

Channels: ``len(points) * 2 * (1 + len(lags))`` position channels (``[p0.x, p0.y, p1.x, ...]``,
then each lag), then ``21 * 3`` hand-shape channels (``[p0.x, p0.y, p0.z, ...]``): 447 with the
defaults.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .. import _validate as v
from ..landmarks import LEFT_HAND, MIRROR, POSE, RIGHT_HAND
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

__all__ = ["FingerspellingPreprocessor"]

_SHOULDERS = (POSE[11], POSE[12])
_HAND = 21
_MIDDLE_KNUCKLE = 9
_FILTERS = ("hands", "landmarks", "none")


def resample_indices(n: int, m: int) -> np.ndarray:
    """``m`` evenly spaced frame indices of ``n`` frames: round(i * (n - 1) / (m - 1)), halves
    rounded up, in integer arithmetic (so a TensorFlow graph can compute exactly the same)."""
    i = np.arange(m, dtype=np.int64)
    den = max(m - 1, 1)
    return ((2 * i * (n - 1) + den) // (2 * den)).astype(np.intp)


@dataclass(frozen=True)
class FingerspellingPreprocessor:
    """Dominant-hand-aligned position + hand-shape features for fingerspelling models."""

    name: ClassVar[str] = "fingerspelling"

    groups: tuple[str, ...] = ("right_hand", "left_hand", "lips", "nose", "arm_pose")
    mirror_dominant: bool = True
    hand_shape: bool = True
    normalize: str = "shoulders"
    frame_filter: str = "hands"
    lags: tuple[int, ...] = (1,)
    max_len: int = 512
    overflow: str = "resample"
    nan_fill: float = 0.0
    pad_value: float = -100.0
    points: np.ndarray = field(init=False, repr=False, compare=False)
    _gather: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Check every parameter's type and range (ConfigError naming it)."""
        points = group_points(self.groups, self.max_len)
        for key, value, allowed in (
            ("normalize", self.normalize, ("shoulders", "std")),
            ("frame_filter", self.frame_filter, _FILTERS),
            ("overflow", self.overflow, ("resample", "truncate")),
        ):
            v.string(value, f"preprocessing.{key}", allowed)
        v.boolean(self.mirror_dominant, "preprocessing.mirror_dominant")
        v.boolean(self.hand_shape, "preprocessing.hand_shape")
        lags = check_lags(self.lags, self.max_len)
        check_fills(self.nan_fill, self.pad_value)
        object.__setattr__(self, "max_len", int(self.max_len))
        # gathered rows: the groups' points, then the dominant (right) hand, then the shoulders
        gather = np.concatenate([points, np.array(RIGHT_HAND + _SHOULDERS, np.intp)])
        object.__setattr__(self, "points", points)
        object.__setattr__(self, "_gather", gather)
        object.__setattr__(self, "groups", tuple(self.groups))
        object.__setattr__(self, "lags", lags)

    @property
    def num_points(self) -> int:
        return len(self.points)

    @property
    def num_features(self) -> tuple[int, ...]:
        position = self.num_points * 2 * (1 + len(self.lags))
        return (position + (_HAND * 3 if self.hand_shape else 0),)

    def select(self, landmarks: np.ndarray) -> np.ndarray:
        """Steps 1-2: the gathered rows ``(frames', rows, 3)``, mirrored, frames handled.

        Rows are the groups' points, then the dominant hand, then the two shoulders. Recipes
        augment this form (a pointwise x/y transform or a time resampling commutes with it)
        and pass it to :meth:`features`.
        """
        x = check_landmarks(landmarks)
        left = ~np.isnan(x[:, LEFT_HAND, 0]).all(axis=1)
        right = ~np.isnan(x[:, RIGHT_HAND, 0]).all(axis=1)
        mirrored = self.mirror_dominant and int(left.sum()) > int(right.sum())
        if self.frame_filter == "hands":
            keep = left | right
        elif self.frame_filter == "landmarks":
            keep = ~np.isnan(x).all(axis=(1, 2))
        else:
            keep = np.ones(len(x), bool)
        rows = MIRROR[self._gather] if mirrored else self._gather
        sel = x[np.flatnonzero(keep)[:, None], rows[None, :]]
        if mirrored:
            sel[..., 0] = 1.0 - sel[..., 0]
        return self.limit(sel)

    def limit(self, selected: np.ndarray) -> np.ndarray:
        """At most ``max_len`` frames: resampled evenly (``overflow "resample"``) or cut."""
        n, m = len(selected), self.max_len
        if n <= m:
            return selected
        if self.overflow == "truncate":
            return selected[:m]
        return selected[resample_indices(n, m)]

    @property
    def input_rows(self) -> np.ndarray:
        """The landmark rows (0-542) the pipeline reads, whichever hand is dominant."""
        rows = np.concatenate([self._gather, MIRROR[self._gather], LEFT_HAND, RIGHT_HAND])
        return np.unique(rows)

    def __call__(self, landmarks: np.ndarray) -> np.ndarray:
        features, lengths = self.batch([landmarks])
        return features[0, : lengths[0]]

    def batch(self, sequences: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Features of several sequences at once: float32 ``(batch, frames, F)`` padded with
        ``pad_value`` after each sequence's ``lengths[i]`` frames, and ``lengths``."""
        check_batch(sequences)
        return self.features([self.select(s) for s in sequences])

    def features(self, kept: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Steps 3-5 on the output of :meth:`select` (several sequences, vectorised)."""
        check_batch(kept)
        lengths = np.array([len(k) for k in kept], np.int64)
        frames, batch, p = int(lengths.max(initial=0)), len(kept), self.num_points
        sel = np.full((batch, frames, len(self._gather), 3), np.nan, np.float32)
        for i, k in enumerate(kept):
            sel[i, : len(k)] = k
        # position block: (B, xy, T * points) views for the per-sequence statistics
        pts = sel[:, :, :p, :2]
        flat = pts.transpose(0, 3, 1, 2).reshape(batch, 2, frames * p)
        center = np.full((batch, 2), np.nan, np.float32)
        scale = np.full(batch, np.nan, np.float32)
        with np.errstate(invalid="ignore", divide="ignore"):
            if self.normalize == "shoulders":
                sh = sel[:, :, p + _HAND :, :2]  # (B, T, 2, xy)
                center = nan_mean(sh.mean(axis=2).transpose(0, 2, 1))[..., 0]
                width = np.sqrt(((sh[:, :, 0] - sh[:, :, 1]) ** 2).sum(-1))
                scale = nan_mean(width)[:, 0]
            fallback = np.isnan(center).any(axis=1) | ~(scale > 0)
            if fallback.any():
                c = nan_mean(flat[fallback])[..., 0]  # (n, 2)
                dev = flat[fallback] - c[..., None]
                s = np.sqrt(nan_mean((dev * dev).reshape(len(c), -1)))[:, 0]
                center[fallback], scale[fallback] = c, s
            center[np.isnan(center)] = 0.5
            scale[~(scale > 0)] = 1.0
            pos = (pts - center[:, None, None, :]) / scale[:, None, None, None]
        out = np.zeros((batch, frames, *self.num_features), np.float32)
        end = add_lags(out, pos.reshape(batch, frames, p * 2), self.lags)
        if self.hand_shape:
            hand = sel[:, :, p : p + _HAND, :]
            rel = hand - hand[:, :, :1]
            size = np.sqrt((rel[:, :, _MIDDLE_KNUCKLE, :2] ** 2).sum(-1))[..., None, None]
            with np.errstate(invalid="ignore", divide="ignore"):
                out[:, :, end:] = (rel / size).reshape(batch, frames, _HAND * 3)
        finish(out, lengths, self.nan_fill, self.pad_value)
        return out, lengths

    def pad_batch(self, sequences: Sequence[np.ndarray]) -> np.ndarray:
        return pad(sequences, self.num_features, self.pad_value)

    def to_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "groups": list(self.groups),
            "mirror_dominant": self.mirror_dominant,
            "hand_shape": self.hand_shape,
            "normalize": self.normalize,
            "frame_filter": self.frame_filter,
            "lags": list(self.lags),
            "max_len": self.max_len,
            "overflow": self.overflow,
            "nan_fill": self.nan_fill,
            "pad_value": self.pad_value,
        }
