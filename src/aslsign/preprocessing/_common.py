"""Pieces every pipeline shares: input checks, NaN-aware means, lag channels and padding."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import _validate as v
from ..errors import ConfigError, InputShapeError
from ..landmarks import GROUPS, NUM_LANDMARKS, check_coordinates

#: Model input values are clipped to +-MAX_ABS_FEATURE. Real features stay within about +-100
#: (the largest over the bundled data: 63); only degenerate input reaches the bound, e.g.
#: shoulders or hand points that (nearly) coincide, which the normalisations divide by. The
#: bundled models stay finite up to about 1e15 and give NaN from about 1e20.
MAX_ABS_FEATURE = 1e6


def check_landmarks(landmarks: np.ndarray) -> np.ndarray:
    """``landmarks`` as float32 after checking it is a ``(frames, 543, 3)`` array of numbers
    within :data:`aslsign.landmarks.MAX_ABS_COORDINATE` (InputShapeError, InputValueError)."""
    if (
        not isinstance(landmarks, np.ndarray)
        or landmarks.ndim != 3
        or landmarks.shape[1:] != (NUM_LANDMARKS, 3)
        or landmarks.dtype.kind not in "fiu"
    ):
        shape = getattr(landmarks, "shape", type(landmarks).__name__)
        dtype = getattr(landmarks, "dtype", "")
        raise InputShapeError(
            f"Preprocessing expects a number array of shape (frames, {NUM_LANDMARKS}, 3); got "
            f"{dtype} {shape}. Use aslsign.load_sequence() or aslsign.load_fingerspelling() to "
            "read a file or table."
        )
    with np.errstate(over="ignore"):  # a float64 beyond float32's range becomes inf: refused
        x = landmarks.astype(np.float32, copy=False)
    check_coordinates(x, "preprocessing input", original=landmarks)
    return x


def check_batch(sequences: Sequence[np.ndarray]) -> None:
    if not len(sequences):
        raise InputShapeError("Cannot preprocess an empty list of sequences.")


def nan_mean(x: np.ndarray) -> np.ndarray:
    """Mean over the last axis ignoring NaN (NaN where nothing is valid), keepdims."""
    valid = ~np.isnan(x)
    total = np.where(valid, x, 0.0).sum(axis=-1, keepdims=True, dtype=np.float32)
    count = valid.sum(axis=-1, keepdims=True, dtype=np.float32)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count


def add_lags(out: np.ndarray, values: np.ndarray, lags: Sequence[int], start: int = 0) -> int:
    """Write ``values`` (B, T, W) and their forward differences at each lag into ``out``.

    ``out[..., start : start + W]`` gets the values, the next ``W`` channels ``x[t + lags[0]] -
    x[t]`` (left as they are, zero, for the last ``lag`` frames), and so on. Returns the channel
    after the last one written.
    """
    frames, width = values.shape[1], values.shape[2]
    out[:, :, start : start + width] = values
    for j, lag in enumerate(lags, start=1):
        if frames > lag:
            lo = start + j * width
            with np.errstate(invalid="ignore", over="ignore"):  # inf - inf: finish() fills it
                out[:, : frames - lag, lo : lo + width] = values[:, lag:] - values[:, :-lag]
    return start + width * (1 + len(lags))


def finish(out: np.ndarray, lengths: np.ndarray, nan_fill: float, pad_value: float) -> None:
    """In place: NaN/inf -> ``nan_fill``, then everything clipped to +-:data:`MAX_ABS_FEATURE`;
    frames past each sequence's length -> ``pad_value``."""
    out[~np.isfinite(out)] = nan_fill
    np.clip(out, -MAX_ABS_FEATURE, MAX_ABS_FEATURE, out=out)
    for i, n in enumerate(lengths):
        out[i, n:] = pad_value


def pad(sequences: Sequence[np.ndarray], features: tuple[int, ...], value: float) -> np.ndarray:
    """Stack sequences of different lengths into one batch padded with ``value``."""
    if not sequences:
        raise InputShapeError("Cannot pad an empty list of sequences.")
    longest = max(len(s) for s in sequences)
    batch = np.full((len(sequences), longest, *features), value, np.float32)
    for i, s in enumerate(sequences):
        batch[i, : len(s)] = s
    return batch


def group_points(groups: Sequence[str], max_len: int) -> np.ndarray:
    """The landmark rows of the named ``groups`` (in order); checks the names and ``max_len``."""
    names = v.string_list(groups, "preprocessing.groups", "landmark group names")
    unknown = [g for g in names if g not in GROUPS]
    if unknown:
        raise ConfigError(
            f"preprocessing.groups: unknown landmark group(s) {unknown}; "
            f"known groups are {sorted(GROUPS)}."
        )
    v.integer(max_len, "preprocessing.max_len", 1)
    return np.array([i for g in names for i in GROUPS[g]], dtype=np.intp)


def check_lags(lags: Sequence[int], max_len: int) -> tuple[int, ...]:
    """``lags``: a list of frame offsets 1..max_len (may be empty)."""
    return v.integer_list(lags, "preprocessing.lags", 1, max_len)


def check_fills(nan_fill: float, pad_value: float) -> None:
    """``nan_fill`` and ``pad_value``: finite numbers within +-MAX_ABS_FEATURE."""
    v.number(nan_fill, "preprocessing.nan_fill", -MAX_ABS_FEATURE, MAX_ABS_FEATURE)
    v.number(pad_value, "preprocessing.pad_value", -MAX_ABS_FEATURE, MAX_ABS_FEATURE)


class NanPadded:
    """``batch`` and ``pad_batch`` of pipelines that feed the model per-frame values, NaN-padded
    (Kaggle submission models, which have no batch axis and see one sequence at a time)."""

    @property
    def num_features(self) -> tuple[int, ...]:
        raise NotImplementedError

    def __call__(self, landmarks: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def batch(self, sequences: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        seqs = [self(s) for s in sequences]
        return self.pad_batch(seqs), np.array([len(s) for s in seqs])

    def pad_batch(self, sequences: Sequence[np.ndarray]) -> np.ndarray:
        return pad(sequences, self.num_features, float("nan"))
