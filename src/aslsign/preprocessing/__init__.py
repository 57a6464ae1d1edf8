"""Landmark preprocessing in pure NumPy, selected and parameterised by a model's config.json.

This is the only implementation: the runtime calls it before LiteRT inference and the training
recipes call it to build their training arrays, so a model sees the same features in both places.

A config's ``"preprocessing"`` object names a pipeline (``"name"``) and gives its parameters;
:func:`from_config` builds it and ``to_config()`` writes it back. The pipelines, one module each:

======================  ============================================  ==========================
name                    class                                         used by
======================  ============================================  ==========================
``gislr_1st``           :class:`Gislr1stPreprocessor` (``gislr``)      isolated-sign models
``wijkhuizen``          :class:`WijkhuizenPreprocessor`               isolated-sign models
                        (``wijkhuizen``)                              (Wijkhuizen's Transformer)
``fingerspelling``      :class:`FingerspellingPreprocessor`           fingerspelling models
``raw``                 :class:`RawPreprocessor` (``kaggle``)          Kaggle GISLR submissions
``aslfr_columns``       :class:`ColumnsPreprocessor` (``kaggle``)      Kaggle ASLFR submissions
======================  ============================================  ==========================
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, ClassVar, Protocol

import numpy as np

from ..errors import ConfigError
from ._common import MAX_ABS_FEATURE
from .fingerspelling import FingerspellingPreprocessor
from .gislr import Gislr1stPreprocessor
from .kaggle import ColumnsPreprocessor, RawPreprocessor
from .wijkhuizen import WijkhuizenPreprocessor

__all__ = [
    "MAX_ABS_FEATURE",
    "ColumnsPreprocessor",
    "FingerspellingPreprocessor",
    "Gislr1stPreprocessor",
    "Preprocessor",
    "RawPreprocessor",
    "WijkhuizenPreprocessor",
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


_PIPELINES: dict[str, type] = {
    p.name: p
    for p in (
        Gislr1stPreprocessor,
        WijkhuizenPreprocessor,
        FingerspellingPreprocessor,
        RawPreprocessor,
        ColumnsPreprocessor,
    )
}


def from_config(config: dict[str, Any]) -> Preprocessor:
    """Build the pipeline a config.json ``"preprocessing"`` object describes."""
    if not isinstance(config, dict) or "name" not in config:
        raise ConfigError(
            f"The preprocessing config must be an object with a 'name' (one of "
            f"{sorted(_PIPELINES)}); got {config!r}."
        )
    params = {k: v for k, v in config.items() if k != "name"}
    name = config["name"]
    cls = _PIPELINES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ConfigError(f"Unknown preprocessing {name!r}; known pipelines: {sorted(_PIPELINES)}.")
    known = [f.name for f in dataclasses.fields(cls) if f.init]
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ConfigError(
            f"Bad parameters for preprocessing {name!r}: no parameter(s) {unknown}; it takes "
            f"{known or 'none'}."
        )
    missing = [
        f.name
        for f in dataclasses.fields(cls)
        if f.init
        and f.name not in params
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"Bad parameters for preprocessing {name!r}: {missing} must be given.")
    return cls(**params)  # type: ignore[no-any-return]
