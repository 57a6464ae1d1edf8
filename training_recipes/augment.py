"""Augmentations of raw landmark sequences, and the policies the recipes train with.

Every function takes float32 landmarks ``(frames, points, 3)`` (NaN = not detected; usually all
543 Holistic points) and a ``numpy.random.Generator`` and returns new landmarks; inputs are never
modified in place. Augmentation happens *before* :mod:`aslsign.preprocessing`, so a model is
trained on the runtime's own features.

:class:`PublishedAugment` is the policy of the GISLR 1st-place solution (hoyso48, Kaggle "Google
- Isolated Sign Language Recognition", 2023; public notebook and write-up), with its published
probabilities and ranges: resample 0.5-1.5x (bilinear 1/3, else bicubic or nearest, 1/3 each),
horizontal flip, random temporal crop to ``max_len``, spatial affine (scale, shear on x or y,
rotation about (0.5, 0.5), shift), temporal mask (a contiguous 20-40 % of the frames -> NaN) and
spatial cutout (a square of side 0.2-0.4 -> NaN), each drawn independently, in that order.

**Temporal mask and empty frames.** The original drops empty frames *before* augmenting. A mask
applied first and followed by the runtime's empty-frame drop would delete the masked frames: a
time warp, not a mask. The recipes therefore drop empty frames first (with the model's own rule,
``Gislr1stPreprocessor.keep_frames``), augment, and preprocess without dropping frames again.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from aslsign import landmarks as lm

__all__ = [
    "PublishedAugment",
    "affine_xy",
    "fingerspelling_augment",
    "resample_time",
    "resize_time",
    "spatial_affine",
    "spatial_cutout",
    "temporal_crop",
    "temporal_mask",
]

INTERPOLATIONS = ("bilinear", "bicubic", "nearest")


# ----------------------------------------------------------------------------- temporal


def resample_time(
    x: np.ndarray, rng: np.random.Generator, speed: tuple[float, float] = (0.8, 1.25)
) -> np.ndarray:
    """Play a sequence at a random speed in ``speed`` (nearest-frame resampling)."""
    n = len(x)
    if n <= 2:
        return x
    new_n = max(2, round(n / rng.uniform(*speed)))
    return x[np.round(np.linspace(0, n - 1, new_n)).astype(np.intp)]


def resize_time(x: np.ndarray, length: int, method: str) -> np.ndarray:
    """Resize the frame axis to ``length`` with TensorFlow's image resize (as the original did:
    the sequence is an image of height frames, width points, 3 channels). NaN spreads to the
    frames an interpolation kernel touches, as it did there."""
    import tensorflow as tf

    if method not in INTERPOLATIONS:
        raise ValueError(f"method must be one of {INTERPOLATIONS}, got {method!r}")
    length = max(1, int(length))
    out = tf.image.resize(x, (length, x.shape[1]), method=method)
    return np.asarray(out, np.float32)


def random_resample(
    x: np.ndarray, rng: np.random.Generator, rate: tuple[float, float] = (0.5, 1.5)
) -> np.ndarray:
    """Resize the frame axis by a factor in ``rate``: bilinear with p 1/3, else bicubic or
    nearest with p 1/2 each (the published draw)."""
    if len(x) == 0:
        return x
    length = int(rng.uniform(*rate) * len(x))  # truncated, as tf.cast(float -> int)
    method = "bilinear"
    if rng.random() >= 0.33:
        method = "bicubic" if rng.random() < 0.5 else "nearest"
    return resize_time(x, length, method)


def temporal_crop(x: np.ndarray, rng: np.random.Generator, length: int) -> np.ndarray:
    """A random window of ``length`` frames (the whole sequence when it is not longer).

    As published: the offset is drawn from ``[0, clip(frames - length, 1, length))``.
    """
    n = len(x)
    high = min(max(n - length, 1), length)
    offset = int(rng.integers(0, high))
    return x[offset : offset + length]


def temporal_mask(
    x: np.ndarray,
    rng: np.random.Generator,
    size: tuple[float, float] = (0.2, 0.4),
) -> np.ndarray:
    """Set a contiguous span of ``size`` (a fraction drawn in that range) of the frames to NaN."""
    n = len(x)
    span = int(n * rng.uniform(*size))
    if span == 0:
        return x
    offset = int(rng.integers(0, min(max(n - span, 1), n)))
    x = x.copy()
    x[offset : offset + span] = np.nan
    return x


# ----------------------------------------------------------------------------- spatial


def spatial_affine(
    x: np.ndarray,
    rng: np.random.Generator,
    scale: tuple[float, float] = (0.8, 1.2),
    shear: tuple[float, float] = (-0.15, 0.15),
    shift: tuple[float, float] = (-0.1, 0.1),
    degrees: tuple[float, float] = (-30.0, 30.0),
) -> np.ndarray:
    """The published random affine, in its order: scale x/y/z; shear x *or* y (one of the two,
    p 1/2) and move the centre with it; rotate x/y about the (sheared) centre (0.5, 0.5); shift
    x/y/z by one common offset."""
    x = x * np.float32(rng.uniform(*scale))
    center = np.array([0.5, 0.5], np.float32)
    k = rng.uniform(*shear)
    kx, ky = (0.0, k) if rng.random() < 0.5 else (k, 0.0)
    m = np.array([[1.0, kx], [ky, 1.0]], np.float32)
    center = center + np.array([ky, kx], np.float32)
    angle = math.radians(rng.uniform(*degrees))
    c, s = math.cos(angle), math.sin(angle)
    rot = np.array([[c, s], [-s, c]], np.float32)
    xy = ((x[..., :2] @ m) - center) @ rot + center
    x = np.concatenate([xy, x[..., 2:]], axis=-1)
    return (x + np.float32(rng.uniform(*shift))).astype(np.float32)


def spatial_cutout(
    x: np.ndarray, rng: np.random.Generator, size: tuple[float, float] = (0.2, 0.4)
) -> np.ndarray:
    """Points inside a random square (corner U(0, 1) in x and y, side in ``size``) -> NaN."""
    oy, ox = rng.random(), rng.random()
    side = rng.uniform(*size)
    with np.errstate(invalid="ignore"):
        inside = (
            (ox < x[..., 0]) & (x[..., 0] < ox + side) & (oy < x[..., 1]) & (x[..., 1] < oy + side)
        )
    x = x.copy()
    x[inside] = np.nan
    return x


def affine_xy(
    x: np.ndarray,
    rng: np.random.Generator,
    degrees: float = 15.0,
    shear: float = 0.1,
    scale: tuple[float, float] = (1.0, 1.0),
    shift: float = 0.0,
) -> np.ndarray:
    """A random rotation, shear, scale and shift of x/y about (0.5, 0.5); NaN stays NaN."""
    angle = np.deg2rad(rng.uniform(-degrees, degrees))
    c, s = math.cos(angle), math.sin(angle)
    k = rng.uniform(-shear, shear)
    m = np.array([[c, -s + k], [s, c]], np.float32)
    if scale != (1.0, 1.0):
        m *= np.float32(rng.uniform(*scale))
    offset = rng.uniform(-shift, shift, 2).astype(np.float32) if shift else 0.0
    x = x.copy()
    x[..., :2] = (x[..., :2] - 0.5) @ m.T + 0.5 + offset
    return x


# ----------------------------------------------------------------------------- policies


@dataclass(frozen=True)
class PublishedAugment:
    """The GISLR 1st-place augmentation policy (see the module docstring).

    Each ``p_*`` is the probability of one step; 0 switches it off. ``max_len`` is the temporal
    crop's window (None: no crop). Works on raw ``(frames, 543, 3)`` landmarks whose empty frames
    were already dropped.
    """

    p_resample: float = 0.8
    resample_rate: tuple[float, float] = (0.5, 1.5)
    p_flip: float = 0.5
    max_len: int | None = 384
    p_affine: float = 0.75
    scale: tuple[float, float] = (0.8, 1.2)
    shear: tuple[float, float] = (-0.15, 0.15)
    shift: tuple[float, float] = (-0.1, 0.1)
    degrees: tuple[float, float] = (-30.0, 30.0)
    p_temporal_mask: float = 0.5
    temporal_mask_size: tuple[float, float] = (0.2, 0.4)
    p_cutout: float = 0.5
    cutout_size: tuple[float, float] = (0.2, 0.4)

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if len(x) == 0:
            return x
        if rng.random() < self.p_resample:
            x = random_resample(x, rng, self.resample_rate)
        if rng.random() < self.p_flip:
            x = lm.mirror(x)
        if self.max_len is not None:
            x = temporal_crop(x, rng, self.max_len)
        if rng.random() < self.p_affine:
            x = spatial_affine(x, rng, self.scale, self.shear, self.shift, self.degrees)
        if rng.random() < self.p_temporal_mask:
            x = temporal_mask(x, rng, self.temporal_mask_size)
        if rng.random() < self.p_cutout:
            x = spatial_cutout(x, rng, self.cutout_size)
        return x

    def to_config(self) -> dict[str, Any]:
        return {"name": "gislr_1st_published", **asdict(self)}


def fingerspelling_augment(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The fingerspelling recipe's policy, on the rows its pipeline selects: time stretch,
    an x/y affine transform, randomly dropped frames and landmark jitter."""
    if rng.random() < 0.8:
        x = resample_time(x, rng, speed=(0.6, 1.6))
    if rng.random() < 0.75:
        x = affine_xy(x, rng, degrees=20.0, shear=0.15, scale=(0.8, 1.2), shift=0.1)
    if len(x) > 8 and rng.random() < 0.5:
        keep = rng.random(len(x)) >= rng.uniform(0.0, 0.15)
        x = x[keep] if keep.sum() >= 2 else x
    if rng.random() < 0.5:
        x = x + rng.normal(0.0, rng.uniform(0.0, 0.004), x.shape).astype(np.float32)
    return x
