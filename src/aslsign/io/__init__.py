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

import os
from pathlib import Path

import numpy as np
import pyarrow as pa

from ..errors import InputShapeError, LandmarkFileError
from ._common import LandmarkInput, dataframe_to_table, from_array, is_dataframe
from .aslfr import (
    FingerspellingDataset,
    FingerspellingRecord,
    is_aslfr_file,
    list_sequence_ids,
    load_fingerspelling,
    read_fingerspelling_file,
    write_fingerspelling,
)
from .gislr import (
    GislrDataset,
    GislrRecord,
    load_sequence,
    read_examples,
    sequence_table,
    write_sequence,
)

__all__ = [
    "FingerspellingDataset",
    "FingerspellingRecord",
    "GislrDataset",
    "GislrRecord",
    "LandmarkInput",
    "is_aslfr_file",
    "list_sequence_ids",
    "load_fingerspelling",
    "load_landmarks",
    "load_sequence",
    "open_folder",
    "read_examples",
    "read_fingerspelling_file",
    "sequence_table",
    "write_fingerspelling",
    "write_sequence",
]


def open_folder(
    root: str | os.PathLike[str],
) -> GislrDataset | FingerspellingDataset | list[Path]:
    """What a folder of landmark data holds, as ``aslsign stats`` and ``aslsign predict`` read it.

    A ``train.csv`` with a ``sign`` column makes it a :class:`GislrDataset`, one with a
    ``phrase`` column a :class:`FingerspellingDataset` (without its supplemental records);
    a folder without ``train.csv`` gives every ``.parquet`` file under it, sorted by path.

    Raises:
        LandmarkFileError: ``train.csv`` names neither format, or there is no parquet file.
    """
    import csv

    root = Path(root)
    if (root / "train.csv").is_file():
        with open(root / "train.csv", newline="", encoding="utf-8") as fh:
            columns = set(next(csv.reader(fh), []))
        if "sign" in columns:
            return GislrDataset(root)
        if "phrase" in columns:
            return FingerspellingDataset(root, supplemental=False)
        raise LandmarkFileError(
            f"{root / 'train.csv'} has neither a sign column (GISLR) nor a phrase column (ASLFR)."
        )
    files = sorted(p for p in root.rglob("*.parquet") if p.is_file())
    if not files:
        raise LandmarkFileError(
            f"{root} holds no .parquet file and no train.csv: give a GISLR or ASLFR folder, a "
            "folder of landmark files, or the files themselves."
        )
    return files


def load_landmarks(source: LandmarkInput, sequence_id: int | None = None) -> np.ndarray:
    """Load one sequence from either format, told apart by its columns.

    A GISLR (long) file, table or DataFrame goes to :func:`load_sequence` (it holds one sequence;
    ``sequence_id`` must be None); an ASLFR (wide) one to :func:`load_fingerspelling` (with
    ``sequence_id`` picking the sequence); an array must be ``(frames, 543, 3)``.
    """
    if isinstance(source, (str, os.PathLike)):
        wide = is_aslfr_file(Path(source))
    elif isinstance(source, pa.Table) or is_dataframe(source):
        table = source if isinstance(source, pa.Table) else dataframe_to_table(source)
        wide = "x_face_0" in table.column_names
        source = table
    else:
        if sequence_id is not None:
            raise InputShapeError("sequence_id applies to ASLFR files and tables, not to arrays.")
        return from_array(source)
    if wide:
        return load_fingerspelling(source, sequence_id)
    if sequence_id is not None:
        raise InputShapeError(
            "sequence_id applies to ASLFR (wide, many sequences) files; this is a GISLR file, "
            "which holds one sequence."
        )
    return load_sequence(source)
