"""Landmark preprocessing in pure NumPy, selected and parameterised by a model's config.json.

This is the only implementation: the runtime calls it before LiteRT inference and the training
recipes call it to build their training arrays, so a model sees the same features in both places.

A config's ``"preprocessing"`` object names a pipeline (``"name"``) and gives its parameters;
:func:`from_config` builds it and ``to_config()`` writes it back. Two pipelines exist:

``gislr_1st`` (:class:`Gislr1stPreprocessor`)
    The feature pipeline of the GISLR 1st-place solution (hoyso48, Kaggle "Google - Isolated Sign
    Language Recognition", 2023): drop frames in which no landmark was detected; select 118
    points (lips 40, left hand 21, right hand 21, nose 4, right eye 16, left eye 16); subtract the
    nan-mean of face landmark 17 over the whole clip (0.5 where it was never detected) and divide
    by the nan-standard deviation of the selected points around that centre, per coordinate;
    truncate to ``max_len`` frames; keep x and y and append the lag-1 and lag-2 forward
    differences (``x[t+k] - x[t]``, zero past the end) -> ``118 * 2 * 3 = 708`` channels, laid
    out as ``[p0.x, p0.y, p1.x, ...]`` for positions, then lag-1, then lag-2; NaN -> 0.

``raw`` (:class:`RawPreprocessor`)
    Nothing: the model takes ``(frames, 543, 3)`` landmarks and preprocesses inside its graph, as
    Kaggle GISLR submission models do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np

from .errors import ConfigError, InputShapeError
from .landmarks import GROUPS, NUM_LANDMARKS

__all__ = [
    "Gislr1stPreprocessor",
    "Preprocessor",
    "RawPreprocessor",
    "from_config",
]


class Preprocessor(Protocol):
    """What the runtime and the recipes need from a preprocessing pipeline."""

    name: ClassVar[str]

    @property
    def num_features(self) -> tuple[int, ...]:
        """Shape of one frame of model input (everything after the frame axis)."""
        ...

    def __call__(self, landmarks: np.ndarray) -> np.ndarray:
        """(frames, 543, 3) float32 landmarks -> (frames', *num_features) float32 model input."""
        ...

    def batch(self, sequences: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Preprocess several sequences into one padded batch; also return their lengths."""
        ...

    def pad_batch(self, sequences: Sequence[np.ndarray]) -> np.ndarray:
        """Stack preprocessed sequences of different lengths into one padded batch."""
        ...

    def to_config(self) -> dict[str, Any]:
        """The ``"preprocessing"`` object of config.json that rebuilds this pipeline."""
        ...


def _nan_mean(x: np.ndarray) -> np.ndarray:
    """Mean over the last axis ignoring NaN (NaN where nothing is valid), keepdims."""
    valid = ~np.isnan(x)
    total = np.where(valid, x, 0.0).sum(axis=-1, keepdims=True, dtype=np.float32)
    count = valid.sum(axis=-1, keepdims=True, dtype=np.float32)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count


def _check_landmarks(landmarks: np.ndarray) -> np.ndarray:
    if (
        not isinstance(landmarks, np.ndarray)
        or landmarks.ndim != 3
        or landmarks.shape[1:]
        != (
            NUM_LANDMARKS,
            3,
        )
    ):
        shape = getattr(landmarks, "shape", type(landmarks).__name__)
        raise InputShapeError(
            f"Preprocessing expects landmarks of shape (frames, {NUM_LANDMARKS}, 3); got {shape}. "
            "Use aslsign.load_sequence() to read a file or table."
        )
    return landmarks.astype(np.float32, copy=False)


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
    nan_fill: float = 0.0
    pad_value: float = -100.0
    points: np.ndarray = field(init=False, repr=False, compare=False)
    _gather: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        unknown = [g for g in self.groups if g not in GROUPS]
        if unknown:
            raise ConfigError(
                f"preprocessing.groups: unknown landmark group(s) {unknown}; "
                f"known groups are {sorted(GROUPS)}."
            )
        if self.max_len < 1:
            raise ConfigError(f"preprocessing.max_len must be >= 1, got {self.max_len}.")
        points = np.array([i for g in self.groups for i in GROUPS[g]], dtype=np.intp)
        object.__setattr__(self, "points", points)
        object.__setattr__(self, "_gather", np.append(points, self.center_landmark))
        object.__setattr__(self, "groups", tuple(self.groups))
        object.__setattr__(self, "lags", tuple(int(k) for k in self.lags))

    @property
    def num_points(self) -> int:
        return len(self.points)

    @property
    def num_features(self) -> tuple[int, ...]:
        return (self.num_points * 2 * (1 + len(self.lags)),)

    def __call__(self, landmarks: np.ndarray) -> np.ndarray:
        features, lengths = self.batch([landmarks])
        return features[0, : lengths[0]]

    def batch(self, sequences: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Features of several sequences at once, vectorised over the batch.

        Returns ``(features, lengths)``: float32 ``(batch, frames, 708)`` padded with
        ``pad_value`` after each sequence's ``lengths[i]`` frames (0 when nothing was detected).
        Equal (to float32 rounding) to calling the pipeline on each sequence and ``pad_batch``.
        """
        if not len(sequences):
            raise InputShapeError("Cannot preprocess an empty list of sequences.")
        gather = self._gather
        kept = []
        for landmarks in sequences:
            x = _check_landmarks(landmarks)
            if self.drop_empty_frames:
                detected = ~np.isnan(x).all(axis=(1, 2))
                if not detected.all():
                    x = x[detected]
            kept.append(x[:, gather, :2])  # (T, points + centre, xy): z is never used
        full = np.array([len(k) for k in kept])
        # coordinate-major (B, xy, T, points) so that every reduction runs over contiguous memory
        sel = np.full((len(kept), 2, int(full.max()), len(gather)), np.nan, np.float32)
        for i, k in enumerate(kept):
            sel[i, :, : len(k)] = k.transpose(2, 0, 1)
        # padding frames are NaN, so the nan-means below only see each sequence's own frames
        center = _nan_mean(sel[..., -1])[..., None]  # (B, 2, 1, 1)
        center[np.isnan(center)] = self.center_fallback
        pts = sel[..., :-1] - center
        with np.errstate(invalid="ignore"):
            std = np.sqrt(_nan_mean((pts * pts).reshape(*pts.shape[:2], -1)))[..., None]
        lengths = np.minimum(full, self.max_len)
        frames = int(lengths.max(initial=0))
        with np.errstate(invalid="ignore", divide="ignore"):
            pts = pts[:, :, :frames] / std
        pts = pts.transpose(0, 2, 3, 1)  # (B, T, points, xy): channels [p0.x, p0.y, p1.x, ...]
        batch, width = len(kept), pts.shape[2] * 2
        out = np.zeros((batch, frames, *self.num_features), np.float32)
        out[:, :, :width] = pts.reshape(batch, frames, width)
        for j, lag in enumerate(self.lags, start=1):
            if frames > lag:
                diff = pts[:, lag:] - pts[:, :-lag]
                out[:, : frames - lag, j * width : (j + 1) * width] = diff.reshape(batch, -1, width)
        out[~np.isfinite(out)] = self.nan_fill  # also the lag of a frame against padding
        for i, n in enumerate(lengths):
            out[i, n:] = self.pad_value
        return out, lengths

    def pad_batch(self, sequences: Sequence[np.ndarray]) -> np.ndarray:
        return _pad(sequences, self.num_features, self.pad_value)

    def to_config(self) -> dict[str, Any]:
        cfg = {k: v for k, v in asdict(self).items() if k not in ("points", "_gather")}
        cfg["groups"] = list(self.groups)
        cfg["lags"] = list(self.lags)
        return {"name": self.name, **cfg}


@dataclass(frozen=True)
class RawPreprocessor:
    """No preprocessing: (frames, 543, 3) landmarks go to the model as they are."""

    name: ClassVar[str] = "raw"

    @property
    def num_features(self) -> tuple[int, ...]:
        return (NUM_LANDMARKS, 3)

    def __call__(self, landmarks: np.ndarray) -> np.ndarray:
        return _check_landmarks(landmarks)

    def batch(self, sequences: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        seqs = [self(s) for s in sequences]
        return self.pad_batch(seqs), np.array([len(s) for s in seqs])

    def pad_batch(self, sequences: Sequence[np.ndarray]) -> np.ndarray:
        return _pad(sequences, self.num_features, float("nan"))

    def to_config(self) -> dict[str, Any]:
        return {"name": self.name}


def _pad(sequences: Sequence[np.ndarray], features: tuple[int, ...], value: float) -> np.ndarray:
    if not sequences:
        raise InputShapeError("Cannot pad an empty list of sequences.")
    longest = max(len(s) for s in sequences)
    batch = np.full((len(sequences), longest, *features), value, np.float32)
    for i, s in enumerate(sequences):
        batch[i, : len(s)] = s
    return batch


_PIPELINES: dict[str, type] = {p.name: p for p in (Gislr1stPreprocessor, RawPreprocessor)}


def from_config(config: dict[str, Any]) -> Preprocessor:
    """Build the pipeline a config.json ``"preprocessing"`` object describes."""
    if not isinstance(config, dict) or "name" not in config:
        raise ConfigError(
            f"The preprocessing config must be an object with a 'name' (one of "
            f"{sorted(_PIPELINES)}); got {config!r}."
        )
    params = {k: v for k, v in config.items() if k != "name"}
    cls = _PIPELINES.get(config["name"])
    if cls is None:
        raise ConfigError(
            f"Unknown preprocessing {config['name']!r}; known pipelines: {sorted(_PIPELINES)}."
        )
    try:
        return cls(**params)  # type: ignore[no-any-return]
    except TypeError as exc:
        raise ConfigError(f"Bad parameters for preprocessing {config['name']!r}: {exc}") from exc
