"""Pipelines of Kaggle submission models, which preprocess inside their own graph.

``raw`` (:class:`RawPreprocessor`)
    Kaggle GISLR models: ``(frames, 543, 3)`` landmarks go to the model as they are.

``aslfr_columns`` (:class:`ColumnsPreprocessor`)
    Kaggle ASLFR models: the ``selected_columns`` of the model's ``inference_args.json`` (ASLFR
    column names such as ``x_right_hand_0``) are taken from the landmarks, in that order,
    giving ``(frames, len(columns))`` with NaN kept, as the competition fed them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .._validate import string_list
from ..errors import ConfigError
from ..landmarks import ASLFR_COLUMNS, NUM_LANDMARKS
from ._common import NanPadded, check_landmarks

__all__ = ["ColumnsPreprocessor", "RawPreprocessor"]


@dataclass(frozen=True)
class RawPreprocessor(NanPadded):
    """No preprocessing: (frames, 543, 3) landmarks go to the model as they are."""

    name: ClassVar[str] = "raw"

    @property
    def num_features(self) -> tuple[int, ...]:
        return (NUM_LANDMARKS, 3)

    def __call__(self, landmarks: np.ndarray) -> np.ndarray:
        return check_landmarks(landmarks)

    def to_config(self) -> dict[str, Any]:
        return {"name": self.name}


_COLUMN_POSITION = {name: i for i, name in enumerate(ASLFR_COLUMNS)}


@dataclass(frozen=True)
class ColumnsPreprocessor(NanPadded):
    """The named ASLFR columns of each frame: ``(frames, 543, 3)`` -> ``(frames, columns)``."""

    name: ClassVar[str] = "aslfr_columns"

    columns: tuple[str, ...]
    _rows: np.ndarray = field(init=False, repr=False, compare=False)
    _coords: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        columns = string_list(self.columns, "preprocessing.columns", "ASLFR column names")
        unknown = [c for c in columns if c not in _COLUMN_POSITION]
        if unknown:
            raise ConfigError(
                f"aslfr_columns: unknown column(s) {unknown[:5]}; ASLFR columns are named like "
                "x_face_0, y_left_hand_20, z_pose_32, x_right_hand_0."
            )
        k = np.array([_COLUMN_POSITION[c] for c in columns], np.intp)
        object.__setattr__(self, "columns", columns)
        object.__setattr__(self, "_rows", k % NUM_LANDMARKS)
        object.__setattr__(self, "_coords", k // NUM_LANDMARKS)

    @property
    def num_features(self) -> tuple[int, ...]:
        return (len(self.columns),)

    def __call__(self, landmarks: np.ndarray) -> np.ndarray:
        x = check_landmarks(landmarks)
        return np.ascontiguousarray(x[:, self._rows, self._coords])

    def to_config(self) -> dict[str, Any]:
        return {"name": self.name, "columns": list(self.columns)}
