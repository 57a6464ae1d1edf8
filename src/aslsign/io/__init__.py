"""Loading landmark sequences in both Kaggle formats, and the folders that hold them.

Everything converges on one representation: a float32 array of shape ``(frames, 543, 3)``
holding x, y, z per landmark in the MediaPipe Holistic order of :mod:`aslsign.landmarks`, with
NaN where a landmark was not detected, frames in ascending ``frame`` order.

* GISLR (isolated signs): one long-format parquet file per sequence, :func:`load_sequence`,
  :class:`GislrDataset`.
* ASLFR (fingerspelling): wide parquet files with many sequences each,
  :func:`load_fingerspelling`, :class:`FingerspellingDataset`, :func:`write_fingerspelling`.
"""

from __future__ import annotations

from ._common import LandmarkInput
from .aslfr import (
    FingerspellingDataset,
    FingerspellingRecord,
    list_sequence_ids,
    load_fingerspelling,
    read_fingerspelling_file,
    write_fingerspelling,
)
from .gislr import GislrDataset, GislrRecord, load_sequence, read_examples

__all__ = [
    "FingerspellingDataset",
    "FingerspellingRecord",
    "GislrDataset",
    "GislrRecord",
    "LandmarkInput",
    "list_sequence_ids",
    "load_fingerspelling",
    "load_sequence",
    "read_examples",
    "read_fingerspelling_file",
    "write_fingerspelling",
]
