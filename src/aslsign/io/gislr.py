"""GISLR (isolated signs) landmarks: long-format parquet files, tables, arrays, and folders.

Everything converges on one representation: a float32 array of shape ``(frames, 543, 3)``
holding x, y, z per landmark in the MediaPipe Holistic order of :mod:`aslsign.landmarks`, with
NaN where a landmark was not detected, frames in ascending ``frame`` order.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .._util import read_json
from ..errors import EmptySequenceError, InputShapeError, LandmarkFileError
from ..landmarks import ASLFR_COLUMNS, NUM_LANDMARKS, TYPE_OFFSETS, check_coordinates
from ..registry import DEFAULT_FINGERSPELLING_MODEL as _SPELLING_MODEL
from ._common import (
    LandmarkInput,
    RecordDataset,
    check_integral,
    check_numeric,
    check_unique_columns,
    column_values,
    dataframe_to_table,
    fill_float_column,
    from_array,
    is_dataframe,
    progress_bar,
)

__all__ = [
    "GislrDataset",
    "GislrRecord",
    "load_sequence",
    "read_examples",
    "sequence_table",
    "write_sequence",
]

_XYZ = ("x", "y", "z")
_USED = ("frame", "type", "landmark_index", *_XYZ)  # the columns a loader may read
# landmark_index of each row of a frame in the standard order (face, left_hand, pose, right_hand).
_STANDARD_INDEX = np.concatenate([np.arange(n) for _, n in TYPE_OFFSETS.values()]).astype(np.int16)
# type of each row of a frame in the standard order.
_STANDARD_TYPE = np.concatenate([np.full(n, name) for name, (_, n) in TYPE_OFFSETS.items()])


def load_sequence(source: LandmarkInput) -> np.ndarray:
    """Load one landmark sequence as float32 ``(frames, 543, 3)``, NaN where not detected.

    ``source`` may be

    * a path to a GISLR parquet file (long format: ``frame, row_id, type, landmark_index, x, y,
      z``; only ``x, y, z`` are required, ``frame`` and ``landmark_index`` are used when present),
    * a :class:`pyarrow.Table` or :class:`pandas.DataFrame` in that schema,
    * an array-like of shape ``(frames, 543, 3)``.

    Frames come out in ascending ``frame`` order; rows within a frame are put in the standard
    Holistic order using ``type``/``landmark_index`` when they are not already in it. The result
    equals Kaggle's reference loader (``pd.read_parquet(columns=["x","y","z"])`` reshaped to
    ``(-1, 543, 3)`` as float32) on every file that loader handles.

    Raises:
        LandmarkFileError: the file is missing, is not a readable parquet file, or lacks columns.
        EmptySequenceError: there are no frames.
        InputShapeError: wrong array shape/dtype, or a frame without exactly 543 rows.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        return _from_table(_read_parquet(path), origin=str(path), path=path)
    if isinstance(source, pa.Table):
        return _from_table(source, origin="table")
    if is_dataframe(source):
        return _from_table(dataframe_to_table(source), origin="DataFrame")
    return from_array(source)


def sequence_table(
    landmarks: np.ndarray, frames: Sequence[int] | np.ndarray | None = None
) -> pa.Table:
    """A GISLR long-format table of one sequence: ``frame, row_id, type, landmark_index, x, y, z``.

    The schema of the Kaggle GISLR files (int16 ``frame`` and ``landmark_index``, ``row_id`` as
    ``"{frame}-{type}-{landmark_index}"``, float64 coordinates, NaN where not detected), rows in
    the standard Holistic order, so :func:`load_sequence` of the table gives ``landmarks`` back.

    Args:
        landmarks: array-like ``(frames, 543, 3)``.
        frames: the frame number of each frame (default ``0, 1, 2, ...``); strictly increasing
            integers in the int16 range.

    Raises:
        InputShapeError: wrong shape, or ``frames`` of the wrong length, not increasing, or out
            of range.
    """
    n = len(from_array(landmarks))  # validates; the values are written in float64 as given
    arr = np.asarray(landmarks, dtype=np.float64)
    numbers = np.arange(n) if frames is None else np.asarray(frames)
    if numbers.shape != (n,) or not np.issubdtype(numbers.dtype, np.integer):
        raise InputShapeError(
            f"frames must be {n} integers, one per frame; got shape {numbers.shape} of "
            f"{numbers.dtype}."
        )
    if n and (numbers.min() < 0 or numbers.max() > np.iinfo(np.int16).max):
        raise InputShapeError(
            f"frame numbers must lie in 0..32767, got {numbers.min()}..{numbers.max()}."
        )
    if (np.diff(numbers) <= 0).any():
        raise InputShapeError("frame numbers must be strictly increasing.")
    frame_col = np.repeat(numbers.astype(np.int16), NUM_LANDMARKS)
    types = np.tile(_STANDARD_TYPE, n)
    index = np.tile(_STANDARD_INDEX, n)
    row_id = np.char.add(
        np.char.add(np.char.add(frame_col.astype(str), "-"), np.char.add(types, "-")),
        index.astype(str),
    )
    flat = arr.reshape(-1, 3)
    return pa.table(
        {
            "frame": pa.array(frame_col, pa.int16()),
            "row_id": pa.array(row_id, pa.string()),
            "type": pa.array(types, pa.string()),
            "landmark_index": pa.array(index, pa.int16()),
            "x": pa.array(flat[:, 0], pa.float64()),
            "y": pa.array(flat[:, 1], pa.float64()),
            "z": pa.array(flat[:, 2], pa.float64()),
        }
    )


def write_sequence(
    landmarks: np.ndarray,
    path: str | os.PathLike[str],
    frames: Sequence[int] | np.ndarray | None = None,
) -> Path:
    """Write one sequence as a GISLR parquet file (see :func:`sequence_table`); returns the path.

    ``load_sequence(write_sequence(x, path))`` equals ``x`` as float32, NaN included.
    """
    out = Path(path)
    if not out.parent.exists():
        raise LandmarkFileError(f"{out}: the folder {out.parent} does not exist.")
    pq.write_table(sequence_table(landmarks, frames), out)
    return out


def _read_parquet(path: Path) -> pa.Table:
    # One read() into memory and a ParquetReader without pre-buffering: for landmark files
    # (tens to hundreds of KB) this is the fastest path pyarrow offers (benchmarks/bench_load.py).
    try:
        with open(path, "rb") as fh:
            data = pa.py_buffer(fh.read())
    except FileNotFoundError as exc:
        raise LandmarkFileError(f"Landmark file not found: {path}") from exc
    except IsADirectoryError as exc:
        raise LandmarkFileError(f"{path} is a directory, not a landmark file.") from exc
    except (OSError, ValueError) as exc:  # no permission, a name too long or with a NUL, ...
        raise LandmarkFileError(f"Cannot read the landmark file {path}: {exc}") from exc
    reader = pq.ParquetReader()
    try:
        reader.open(data, pre_buffer=False)
        names = reader.schema_arrow.names
    except (pa.ArrowException, OSError) as exc:
        raise LandmarkFileError(
            f"{path} is not a readable parquet file ({exc}). Expected a GISLR landmark file."
        ) from exc
    _require_columns(set(names), str(path))
    check_unique_columns(names, _USED, str(path))
    wanted = [c for c in ("frame", "landmark_index") if c in names] + list(_XYZ)
    # column_indices count parquet leaf columns: a nested column (a struct, a list) has several
    # or none of its own name, so a field's position in the schema is not its leaf index
    leaves = {tuple(p): i for i, p in enumerate(reader.column_paths)}
    nested = [c for c in wanted if (c,) not in leaves]
    if nested:
        kinds = [str(reader.schema_arrow.field(c).type) for c in nested]
        raise InputShapeError(f"{path}: column(s) {nested} have type(s) {kinds}, expected numbers.")
    try:
        return reader.read_all(column_indices=[leaves[(c,)] for c in wanted], use_threads=True)
    except (pa.ArrowException, OSError) as exc:
        raise LandmarkFileError(f"{path}: parquet data is corrupt ({exc}).") from exc


def _require_columns(names: set[str], origin: str) -> None:
    missing = [c for c in _XYZ if c not in names]
    if not missing:
        return
    if ASLFR_COLUMNS[0] in names or ASLFR_COLUMNS[-1] in names:
        raise LandmarkFileError(
            f"{origin} is an ASLFR fingerspelling file (many sequences, a column per "
            "coordinate), not a GISLR isolated-sign file: transcribe it with "
            f"aslsign.FingerspellingRecognizer (aslsign predict --model {_SPELLING_MODEL}), "
            "or read a sequence with aslsign.load_fingerspelling(path, sequence_id)."
        )
    found = sorted(names)
    shown = ", ".join(found[:8]) + (f", ... ({len(found)} in all)" if len(found) > 8 else "")
    raise LandmarkFileError(
        f"{origin}: missing column(s) {missing}. A GISLR landmark table needs x, y, z "
        f"(and frame, type, landmark_index); found {shown or 'no columns'}."
    )


def _check_column_types(table: pa.Table, origin: str) -> None:
    check_numeric(table, (*_XYZ, "frame", "landmark_index"), origin)
    for name in ("frame", "landmark_index"):
        if name in table.column_names:
            column = table.column(name)
            if pa.types.is_integer(column.type) and not column.null_count:
                continue  # the Kaggle files: int16, nothing to check value by value
            check_integral(column, name, origin)


def _column(table: pa.Table, name: str) -> np.ndarray:
    """A column as numpy in its own dtype; float nulls become NaN."""
    return column_values(table.column(name))


def _from_table(table: pa.Table, origin: str, path: Path | None = None) -> np.ndarray:
    check_unique_columns(table.column_names, _USED, origin)
    names = set(table.column_names)
    _require_columns(names, origin)
    _check_column_types(table, origin)
    n = table.num_rows
    if n == 0:
        raise EmptySequenceError(f"{origin}: the landmark table has no rows (zero frames).")
    if n % NUM_LANDMARKS:
        detail = _bad_frame_detail(table) if "frame" in names else ""
        raise InputShapeError(
            f"{origin}: {n} rows is not a whole number of frames of {NUM_LANDMARKS} "
            f"landmarks.{detail}"
        )
    xyz = np.empty((n, 3), np.float32)
    with np.errstate(over="ignore"):  # a float64 beyond float32's range becomes inf: refused
        for i, c in enumerate(_XYZ):
            fill_float_column(table.column(c), xyz[:, i])
    order = _row_order(table, origin, path) if "frame" in names else None
    if order is not None:
        xyz = xyz[order]
    out = xyz.reshape(n // NUM_LANDMARKS, NUM_LANDMARKS, 3)
    check_coordinates(out, origin)
    return out


def _bad_frame_detail(table: pa.Table) -> str:
    frames = _column(table, "frame")
    values, counts = np.unique(frames, return_counts=True)
    bad = np.flatnonzero(counts != NUM_LANDMARKS)
    if not len(bad):
        return ""
    i = bad[0]
    return f" Frame {values[i]} has {counts[i]} rows, expected {NUM_LANDMARKS}."


def _row_order(table: pa.Table, origin: str, path: Path | None) -> np.ndarray | None:
    """Row permutation that sorts frames and rows within a frame, or None when already sorted."""
    names = table.column_names
    flat = _column(table, "frame")
    frames = flat.reshape(-1, NUM_LANDMARKS)
    first = frames[:, 0]
    frames_sorted = bool((frames == first[:, None]).all() and (first[1:] > first[:-1]).all())
    has_index = "landmark_index" in names
    if frames_sorted and (
        not has_index
        or bool((_column(table, "landmark_index").reshape(frames.shape) == _STANDARD_INDEX).all())
    ):
        return None  # the fast path: every Kaggle file is stored in this order
    values, counts = np.unique(flat, return_counts=True)
    if (counts != NUM_LANDMARKS).any():
        i = int(np.flatnonzero(counts != NUM_LANDMARKS)[0])
        raise InputShapeError(
            f"{origin}: frame {values[i]} has {counts[i]} rows, expected {NUM_LANDMARKS}."
        )
    if not has_index:
        return np.argsort(flat, kind="stable")  # keep the within-frame order as stored
    global_row = _global_rows(table, origin, path)
    order = np.lexsort((global_row, flat))
    if not (global_row[order].reshape(-1, NUM_LANDMARKS) == np.arange(NUM_LANDMARKS)).all():
        raise InputShapeError(
            f"{origin}: a frame does not hold each of the {NUM_LANDMARKS} landmarks exactly once."
        )
    return order


def _global_rows(table: pa.Table, origin: str, path: Path | None) -> np.ndarray:
    if "type" in table.column_names:
        type_column = table.column("type")
    elif path is not None:
        try:
            type_column = pq.read_table(path, columns=["type"]).column("type")
        except (pa.ArrowException, OSError, KeyError) as exc:
            raise InputShapeError(
                f"{origin}: rows within a frame are not in the standard order and the type "
                f"column to put them in order cannot be read ({exc})."
            ) from exc
    else:
        raise InputShapeError(
            f"{origin}: rows within a frame are not in the standard order and there is no "
            "type column to put them in order."
        )
    import pyarrow.compute as pc  # ~30-80 ms to import: only on this rare path

    names = list(TYPE_OFFSETS)
    try:
        position = pc.fill_null(pc.index_in(type_column, value_set=pa.array(names)), -1)
    except pa.ArrowException as exc:
        raise InputShapeError(f"{origin}: column type must hold strings ({exc}).") from exc
    which = column_values(position)
    if (which < 0).any():
        bad = type_column.filter(pc.equal(position, -1))
        unknown = sorted({str(v) for v in bad.slice(0, 1000).to_pylist()})[:5]
        raise InputShapeError(f"{origin}: unknown landmark type(s) {unknown}; expected {names}.")
    starts = np.array([start for start, _ in TYPE_OFFSETS.values()], np.int64)
    return starts[which] + _column(table, "landmark_index").astype(np.int64)


@dataclass(frozen=True)
class GislrRecord:
    """One row of a GISLR ``train.csv``."""

    path: Path
    participant_id: int
    sequence_id: int
    sign: str

    def load(self) -> np.ndarray:
        """The landmarks of this record, as :func:`load_sequence` returns them."""
        return load_sequence(self.path)


class GislrDataset(RecordDataset[GislrRecord]):
    """A GISLR-style folder: ``train.csv`` (path, participant_id, sequence_id, sign) + files.

    Indexing gives :class:`GislrRecord` objects (cheap); :meth:`iter_sequences` loads them.

    >>> ds = GislrDataset("data/gislr-mini")                        # doctest: +SKIP
    >>> for record, landmarks in ds.iter_sequences(progress=True):  # doctest: +SKIP
    ...     print(record.sign, landmarks.shape)
    """

    _COLUMNS = ("path", "participant_id", "sequence_id", "sign")
    _FORMAT = "GISLR-style"

    def __init__(
        self,
        root: str | os.PathLike[str],
        csv_name: str = "train.csv",
        records: Sequence[GislrRecord] | None = None,
    ) -> None:
        root = Path(root)
        if records is None:
            records = self._read_csv(
                root,
                csv_name,
                lambda row: GislrRecord(
                    path=root / row["path"],
                    participant_id=int(row["participant_id"]),
                    sequence_id=int(row["sequence_id"]),
                    sign=row["sign"],
                ),
            )
        super().__init__(root, records)

    def __repr__(self) -> str:
        return (
            f"GislrDataset({str(self.root)!r}, sequences={len(self)}, signs={len(self.signs)}, "
            f"participants={len(self.participants)})"
        )

    @property
    def signs(self) -> list[str]:
        """Sorted distinct signs."""
        return sorted({r.sign for r in self.records})

    def subset(
        self,
        participants: Sequence[int] | None = None,
        signs: Sequence[str] | None = None,
    ) -> GislrDataset:
        """The records whose participant and sign are in the given collections."""
        keep = self._filtered(
            lambda r: (
                (participants is None or r.participant_id in participants)
                and (signs is None or r.sign in signs)
            )
        )
        return GislrDataset(self.root, records=keep)

    def iter_sequences(self, progress: bool = False) -> Iterator[tuple[GislrRecord, np.ndarray]]:
        """Yield ``(record, landmarks)`` for every record, loading files one at a time."""
        for record in progress_bar(self.records, progress, "loading", "seq"):
            yield record, record.load()


def read_examples(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read an artifact's ``examples.json``: ``{name: (frames, 543, 3) nested lists}``, null = NaN.

    Model artifacts made by the recipes may ship one averaged prototype sequence per sign there
    (``aslsign predict --example`` runs them).
    """
    data = read_json(path, LandmarkFileError, "examples file")
    if not isinstance(data, dict):
        raise LandmarkFileError(
            f"{path}: expected an object {{name: (frames, 543, 3) nested lists}}, got "
            f"{type(data).__name__}."
        )
    out = {}
    for name, frames in data.items():
        try:
            arr = np.array(frames, dtype=np.float64)  # null -> nan
        except (TypeError, ValueError) as exc:
            raise LandmarkFileError(
                f"{path}: example {name!r} is not a (frames, 543, 3) array of numbers ({exc})."
            ) from exc
        out[str(name)] = from_array(arr, f"{path} example {name!r}")
    return out
