"""What both landmark formats share: the array form, DataFrame handling, and CSV datasets."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar, Union

import numpy as np
import pyarrow as pa

from ..errors import EmptySequenceError, InputShapeError, LandmarkFileError
from ..landmarks import NUM_LANDMARKS, check_coordinates

__all__ = ["LandmarkInput", "RecordDataset"]

#: Anything the loaders accept: a parquet path, a pyarrow Table, a pandas DataFrame or an array.
LandmarkInput = Union[str, "os.PathLike[str]", np.ndarray, pa.Table, Any]


def is_dataframe(obj: Any) -> bool:
    return type(obj).__name__ == "DataFrame" and hasattr(obj, "columns") and hasattr(obj, "iloc")


def dataframe_to_table(df: Any) -> pa.Table:
    """A pandas DataFrame as a pyarrow Table without importing pandas; a named index is kept.

    Object (text) columns stay text, so a number column stored as text is reported by the
    loaders' type checks instead of being parsed.
    """
    columns = {str(c): _column_array(df[c]) for c in df.columns}
    index_name = getattr(df.index, "name", None)
    if index_name is not None and str(index_name) not in columns:
        columns = {str(index_name): _column_array(df.index), **columns}
    return pa.table(columns)


def _column_array(values: Any) -> pa.Array:
    arr = np.asarray(values)
    if arr.dtype == object or arr.dtype.kind in "USO":
        return pa.array([None if v is None else str(v) for v in arr], type=pa.string())
    return pa.array(arr)


def from_array(source: Any, origin: str = "landmark array") -> np.ndarray:
    """Validate an array-like ``(frames, 543, 3)`` and return it as contiguous float32.

    Raises InputShapeError (shape, dtype), EmptySequenceError (no frames) or InputValueError
    (a value that is +-inf or beyond :data:`aslsign.landmarks.MAX_ABS_COORDINATE`).
    """
    try:
        arr = np.asarray(source)
    except (TypeError, ValueError) as exc:
        raise InputShapeError(
            f"Cannot read landmarks from {type(source).__name__}: {exc}. Expected a parquet "
            f"path, a pyarrow Table / pandas DataFrame, or an array of shape (frames, "
            f"{NUM_LANDMARKS}, 3)."
        ) from exc
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise InputShapeError(
            f"Expected a numeric landmark array of shape (frames, {NUM_LANDMARKS}, 3); got "
            f"dtype {arr.dtype} from {type(source).__name__}."
        )
    if arr.ndim != 3 or arr.shape[1:] != (NUM_LANDMARKS, 3):
        raise InputShapeError(
            f"Expected a landmark array of shape (frames, {NUM_LANDMARKS}, 3); got shape "
            f"{arr.shape}."
            + (" Add a frame axis for a single frame: arr[None]." if arr.ndim == 2 else "")
        )
    if arr.shape[0] == 0:
        raise EmptySequenceError("The landmark array has zero frames.")
    with np.errstate(over="ignore"):  # a float64 beyond float32's range becomes inf: refused
        out = np.ascontiguousarray(arr, dtype=np.float32)
    check_coordinates(out, origin, original=arr)
    return out


def check_unique_columns(names: Sequence[str], used: Iterable[str], origin: str) -> None:
    """Raise InputShapeError when a column that is read appears more than once (which one is
    meant?). ``names``: the table's or file's columns; ``used``: those the loader reads."""
    if len(set(names)) == len(names):
        return
    twice = sorted({n for n in used if names.count(n) > 1})
    if twice:
        raise InputShapeError(f"{origin}: column(s) {twice} appear more than once.")


def check_integral(column: pa.ChunkedArray | pa.Array, name: str, origin: str) -> np.ndarray:
    """A frame number or id column as int64: InputShapeError for nulls, NaN or fractions."""
    if column.null_count:
        raise InputShapeError(f"{origin}: column {name} has null values.")
    values = column_values(column)
    if values.dtype.kind == "f":
        whole = np.isfinite(values) & (values == np.round(values)) & (np.abs(values) < 2**62)
        if not whole.all():
            bad = values[~whole][0]
            raise InputShapeError(f"{origin}: column {name} must hold integers; got {bad}.")
    return values.astype(np.int64)


def check_numeric(table: pa.Table, names: Iterable[str], origin: str) -> None:
    """Raise InputShapeError when one of ``names`` (those present) is not a number column."""
    schema = table.schema
    for name in names:
        if name not in schema.names:
            continue
        kind = schema.field(name).type
        if not (pa.types.is_floating(kind) or pa.types.is_integer(kind) or pa.types.is_null(kind)):
            raise InputShapeError(f"{origin}: column {name} has type {kind}, expected a number.")


# Arrow number types -> numpy. Columns are read from their buffers: pyarrow's own ``to_numpy``
# imports pandas (about 0.3 s and 45 MB) whenever it has to copy, e.g. for a column with nulls.
_NUMPY_DTYPES: dict[pa.DataType, np.dtype[Any]] = {
    t: np.dtype(d)
    for t, d in (
        (pa.float16(), np.float16),
        (pa.float32(), np.float32),
        (pa.float64(), np.float64),
        (pa.int8(), np.int8),
        (pa.int16(), np.int16),
        (pa.int32(), np.int32),
        (pa.int64(), np.int64),
        (pa.uint8(), np.uint8),
        (pa.uint16(), np.uint16),
        (pa.uint32(), np.uint32),
        (pa.uint64(), np.uint64),
    )
}


def column_values(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A number column as numpy in its own dtype, read from the Arrow buffers (no pandas).

    Nulls become NaN (an integer column with nulls comes out as float64). Raises
    InputShapeError for a column that is not of a number type.
    """
    dtype = _NUMPY_DTYPES.get(column.type)
    if dtype is None:
        raise InputShapeError(f"column of type {column.type} is not a number column.")
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    parts = [_chunk_values(c, dtype) for c in chunks if len(c)]
    if not parts:
        return np.empty(0, dtype)
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(parts)


def _chunk_values(chunk: pa.Array, dtype: np.dtype[Any]) -> np.ndarray:
    n, offset = len(chunk), chunk.offset
    validity, data = chunk.buffers()[:2]
    values = np.frombuffer(data, dtype=dtype, count=offset + n)[offset:]
    if not chunk.null_count:
        return values  # a read-only view of the Arrow memory
    values = values.astype(np.float64) if values.dtype.kind != "f" else values.copy()
    bits = np.unpackbits(np.frombuffer(validity, np.uint8), count=offset + n, bitorder="little")
    values[bits[offset:] == 0] = np.nan
    return values


def fill_float_column(column: pa.ChunkedArray | pa.Array, out: np.ndarray) -> None:
    """Write a number column into ``out`` (a float view of its length), nulls as NaN: the
    values are converted straight from the Arrow buffers, with no float64 copy in between."""
    if pa.types.is_null(column.type):
        out[:] = np.nan
        return
    dtype = _NUMPY_DTYPES.get(column.type)
    if dtype is None:
        raise InputShapeError(f"column of type {column.type} is not a number column.")
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    start = 0
    for chunk in chunks:
        n, offset = len(chunk), chunk.offset
        if not n:
            continue
        validity, data = chunk.buffers()[:2]
        target = out[start : start + n]
        target[:] = np.frombuffer(data, dtype=dtype, count=offset + n)[offset:]
        if chunk.null_count:
            bits = np.unpackbits(
                np.frombuffer(validity, np.uint8), count=offset + n, bitorder="little"
            )
            target[bits[offset:] == 0] = np.nan
        start += n


R = TypeVar("R")


class RecordDataset(Sequence[R], Generic[R]):
    """A folder described by a CSV of records (one per sequence), shared by both formats.

    Subclasses set ``_COLUMNS`` (required CSV columns) and build one record per CSV row.
    """

    _COLUMNS: tuple[str, ...] = ()
    _FORMAT = ""

    def __init__(self, root: str | os.PathLike[str], records: Sequence[R]) -> None:
        self.root = Path(root)
        self.records: list[R] = list(records)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> R:  # type: ignore[override]
        return self.records[i]

    def __iter__(self) -> Iterator[R]:
        return iter(self.records)

    @property
    def participants(self) -> list[int]:
        """Sorted distinct participant ids."""
        return sorted({r.participant_id for r in self.records})  # type: ignore[attr-defined]

    def _filtered(self, keep: Callable[[R], bool]) -> list[R]:
        return [r for r in self.records if keep(r)]

    @classmethod
    def _read_csv(
        cls, root: Path, csv_name: str, make: Callable[[dict[str, str]], R], required: bool = True
    ) -> list[R]:
        path = root / csv_name
        if not path.is_file():
            if not required:
                return []
            raise LandmarkFileError(
                f"No {csv_name} in {root}. A {cls._FORMAT} folder has a {csv_name} with columns "
                f"{', '.join(cls._COLUMNS)}."
            )
        with path.open(newline="") as fh:
            reader = csv.DictReader(fh)
            missing = set(cls._COLUMNS) - set(reader.fieldnames or ())
            if missing:
                raise LandmarkFileError(f"{path}: missing column(s) {sorted(missing)}.")
            try:
                return [make(row) for row in reader]
            except ValueError as exc:
                raise LandmarkFileError(f"{path}: line {reader.line_num}: {exc}") from exc


def progress_bar(items: Any, enabled: bool, desc: str, unit: str, total: int | None = None) -> Any:
    """``items`` wrapped in a tqdm bar when ``enabled``."""
    if not enabled:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, unit=unit, total=total)
