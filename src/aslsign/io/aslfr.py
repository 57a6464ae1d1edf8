"""ASLFR (fingerspelling) landmarks: wide parquet files holding many sequences, and folders.

A Kaggle ASLFR file has one row per frame: the index ``sequence_id``, a ``frame`` column, then
the 1,629 coordinate columns of :data:`aslsign.landmarks.ASLFR_COLUMNS` (``x_face_0`` ...
``x_right_hand_20``, then ``y_...`` and ``z_...``), NaN where a landmark was not detected. One
file holds about a thousand sequences.

:func:`load_fingerspelling` reads one sequence without decoding the rest of the file: the
file's row-group statistics on ``sequence_id`` say which row groups can hold it, and only those
are read (the smaller a file's row groups, the less is decoded). The footer and the
``sequence_id`` -> row-group index are kept per file (keyed on path, size and modification
time), so later reads from the same file skip that work too.
"""

from __future__ import annotations

import functools
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import (
    EmptySequenceError,
    InputShapeError,
    LandmarkFileError,
    SequenceNotFoundError,
)
from ..landmarks import ASLFR_COLUMNS, NUM_LANDMARKS, check_coordinates
from ._common import (
    LandmarkInput,
    RecordDataset,
    check_integral,
    check_numeric,
    check_unique_columns,
    dataframe_to_table,
    fill_float_column,
    from_array,
    is_dataframe,
    progress_bar,
)

__all__ = [
    "FingerspellingDataset",
    "FingerspellingRecord",
    "list_sequence_ids",
    "load_fingerspelling",
    "read_fingerspelling_file",
    "write_fingerspelling",
]

SEQUENCE_ID = "sequence_id"
FRAME = "frame"
_GISLR_COLUMNS = {"x", "y", "z", "type", "landmark_index"}
_USED = (SEQUENCE_ID, FRAME, *ASLFR_COLUMNS)  # the columns a loader may read


# ----------------------------------------------------------------------------- reading


def load_fingerspelling(source: LandmarkInput, sequence_id: int | None = None) -> np.ndarray:
    """Load one fingerspelling sequence as float32 ``(frames, 543, 3)``, NaN where not detected.

    ``source`` may be

    * a path to an ASLFR parquet file: ``sequence_id`` picks the sequence (it may be left out
      when the file holds only one); only the row groups that can hold it are decoded,
    * a :class:`pyarrow.Table` or :class:`pandas.DataFrame` in the ASLFR wide schema, holding
      one sequence (or several, with ``sequence_id`` picking one; ``sequence_id`` may be a
      column or the DataFrame's index),
    * an array-like of shape ``(frames, 543, 3)`` (returned as float32).

    Frames come out in ascending ``frame`` order (file order when there is no ``frame`` column);
    values are exactly the stored ones, as float32.

    Raises:
        SequenceNotFoundError: ``sequence_id`` is not in the file or table.
        LandmarkFileError: the file is missing, not parquet, not in the ASLFR format (for
            example a GISLR file), or lacks coordinate columns.
        InputShapeError: non-numeric columns, or several sequences and no ``sequence_id``.
        EmptySequenceError: the sequence has no frames.
    """
    if isinstance(source, (str, os.PathLike)):
        return _open(Path(source)).read(sequence_id)
    if isinstance(source, pa.Table):
        return _from_wide_table(source, sequence_id, "table")
    if is_dataframe(source):
        return _from_wide_table(dataframe_to_table(source), sequence_id, "DataFrame")
    return from_array(source)


def is_aslfr_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is an ASLFR (wide) parquet file; its footer is kept for a later read.

    Raises LandmarkFileError when it is no readable parquet file.
    """
    path = Path(path)
    if _cached(_cache_key(path)) is not None:  # opened before (and unchanged): no footer read
        return True
    try:
        opened = pq.ParquetFile(path, pre_buffer=True)
        names = set(opened.schema_arrow.names)
    except FileNotFoundError as exc:
        raise LandmarkFileError(f"Landmark file not found: {path}") from exc
    except IsADirectoryError as exc:
        raise LandmarkFileError(f"{path} is a directory, not a landmark file.") from exc
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise LandmarkFileError(f"{path} is not a readable parquet file ({exc}).") from exc
    if ASLFR_COLUMNS[0] not in names:
        return False
    _open(path, opened)
    return True


def list_sequence_ids(path: str | os.PathLike[str]) -> list[int]:
    """The sequence ids of an ASLFR file, in file order (reads the ``sequence_id`` column only)."""
    return _open(Path(path)).sequence_ids()


def read_fingerspelling_file(
    path: str | os.PathLike[str], sequence_ids: Iterable[int] | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(sequence_id, landmarks)`` for the sequences of an ASLFR file, by row group.

    Faster than :func:`load_fingerspelling` per sequence when most of a file is wanted: every
    row group is decoded once. ``sequence_ids`` (default: all) limits what is yielded; the order
    is the file's. Raises :class:`SequenceNotFoundError` for an id the file does not hold.
    """
    f = _open(Path(path))
    wanted = None if sequence_ids is None else {int(s) for s in sequence_ids}
    if wanted is not None:
        missing = wanted - set(f.sequence_ids())
        if missing:
            raise SequenceNotFoundError(f.not_found(sorted(missing)[0]))
    for rg in range(f.num_row_groups):
        ids = f.row_group_ids(rg)
        if wanted is not None and not wanted.intersection(ids.tolist()):
            continue
        coords, frames = _decode(f.read_row_groups([rg]), f"{path} row group {rg}")
        for sid, rows in _split_rows(ids):
            if wanted is None or sid in wanted:
                seq_frames = None if frames is None else frames[rows]
                yield sid, _in_frame_order(coords[rows], seq_frames, f"{path} sequence {sid}")


def _split_rows(ids: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(sequence id, row indices) for every id in first-appearance order."""
    unique, first = np.unique(ids, return_index=True)
    out = []
    for sid in unique[np.argsort(first)]:
        out.append((int(sid), np.flatnonzero(ids == sid)))
    return out


class _AslfrFile:
    """An opened ASLFR file: footer, schema checks, and a lazily built sequence index."""

    def __init__(self, path: Path, opened: pq.ParquetFile | None = None) -> None:
        self.path = path
        try:
            self._pf = opened if opened is not None else pq.ParquetFile(path, pre_buffer=True)
            schema = self._pf.schema_arrow
        except FileNotFoundError as exc:
            raise LandmarkFileError(f"Landmark file not found: {path}") from exc
        except IsADirectoryError as exc:
            raise LandmarkFileError(f"{path} is a directory, not a landmark file.") from exc
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise LandmarkFileError(
                f"{path} is not a readable parquet file ({exc}). Expected an ASLFR landmark file."
            ) from exc
        names = schema.names
        _check_wide_columns(set(names), str(path))
        check_unique_columns(names, _USED, str(path))
        self.columns = [SEQUENCE_ID] + ([FRAME] if FRAME in names else []) + list(ASLFR_COLUMNS)
        self._indices = [names.index(c) for c in self.columns]
        meta = self._pf.metadata
        self.num_row_groups = meta.num_row_groups
        self._sid_col = names.index(SEQUENCE_ID)
        self._ranges: list[tuple[int, int] | None] = []  # (min, max) sequence id per row group
        for rg in range(self.num_row_groups):
            stats = meta.row_group(rg).column(self._sid_col).statistics
            ok = stats is not None and stats.has_min_max
            self._ranges.append((int(stats.min), int(stats.max)) if ok else None)
        self._ids: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()
        # a ParquetFile is not thread-safe: reads of the same file from two threads at once
        # crash pyarrow (segfault); this file is shared by every thread through the cache
        self._read_lock = threading.Lock()

    def row_group_ids(self, rg: int) -> np.ndarray:
        """The ``sequence_id`` column of one row group (read once, then cached)."""
        with self._lock:
            ids = self._ids.get(rg)
        if ids is None:
            try:
                with self._read_lock:
                    col = self._pf.read_row_group(rg, columns=[SEQUENCE_ID]).column(0)
            except (pa.ArrowException, OSError) as exc:
                raise LandmarkFileError(
                    f"{self.path}: parquet data is corrupt (row group {rg}: {exc})."
                ) from exc
            ids = check_integral(col, SEQUENCE_ID, str(self.path))
            with self._lock:
                self._ids[rg] = ids
        return ids

    def sequence_ids(self) -> list[int]:
        out: dict[int, None] = {}
        for rg in range(self.num_row_groups):
            for sid, _ in _split_rows(self.row_group_ids(rg)):
                out[sid] = None
        return list(out)

    def read_row_groups(self, groups: list[int]) -> pa.Table:
        try:
            with self._read_lock:
                return self._pf.read_row_groups(groups, columns=self.columns, use_threads=True)
        except (pa.ArrowException, OSError) as exc:
            raise LandmarkFileError(f"{self.path}: parquet data is corrupt ({exc}).") from exc

    def not_found(self, sequence_id: int) -> str:
        ids = self.sequence_ids()
        shown = ", ".join(map(str, ids[:5])) + (", ..." if len(ids) > 5 else "")
        return (
            f"{self.path} holds no sequence_id {sequence_id}; it holds {len(ids)} sequences "
            f"({shown}). aslsign.list_sequence_ids(path) lists them."
        )

    def read(self, sequence_id: int | None) -> np.ndarray:
        origin = f"{self.path}"
        if sequence_id is None:
            all_ids = self.sequence_ids()
            if len(all_ids) != 1:
                raise InputShapeError(
                    f"{self.path} holds {len(all_ids)} sequences; pass sequence_id= to pick one "
                    f"(for example {all_ids[0] if all_ids else 'none'})."
                )
            sequence_id = all_ids[0]
        sid = _as_id(sequence_id)
        candidates = [rg for rg, r in enumerate(self._ranges) if r is None or r[0] <= sid <= r[1]]
        groups = [rg for rg in candidates if (self.row_group_ids(rg) == sid).any()]
        if not groups:
            raise SequenceNotFoundError(self.not_found(sid))
        table = self.read_row_groups(groups)
        ids = np.concatenate([self.row_group_ids(rg) for rg in groups])
        rows = np.flatnonzero(ids == sid)
        if rows[-1] - rows[0] + 1 == len(rows):  # one contiguous run: a zero-copy slice
            table = table.slice(int(rows[0]), len(rows))
        else:
            table = table.take(rows)
        return _to_landmarks(table, f"{origin} sequence {sid}")


_CACHE: OrderedDict[tuple[str, int, int], _AslfrFile] = OrderedDict()
_CACHE_SIZE = 16
_CACHE_LOCK = threading.Lock()


def _cache_key(path: Path) -> tuple[str, int, int]:
    """``(resolved path, size, mtime)``: a changed file gets a new key."""
    try:
        st = path.stat()
    except FileNotFoundError as exc:
        raise LandmarkFileError(f"Landmark file not found: {path}") from exc
    except (OSError, ValueError) as exc:  # no permission, a name too long or with a NUL, ...
        raise LandmarkFileError(f"Cannot read the landmark file {path}: {exc}") from exc
    return (str(path.resolve()), st.st_size, st.st_mtime_ns)


def _cached(key: tuple[str, int, int]) -> _AslfrFile | None:
    with _CACHE_LOCK:
        f = _CACHE.get(key)
        if f is not None:
            _CACHE.move_to_end(key)
        return f


def _open(path: Path, opened: pq.ParquetFile | None = None) -> _AslfrFile:
    """The cached :class:`_AslfrFile` of ``path`` (re-opened when the file changes)."""
    key = _cache_key(path)
    f = _cached(key)
    if f is not None:
        return f
    f = _AslfrFile(path, opened)
    with _CACHE_LOCK:
        _CACHE[key] = f
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return f


def _as_id(sequence_id: Any) -> int:
    try:
        sid = int(sequence_id)
    except (TypeError, ValueError) as exc:
        raise InputShapeError(f"sequence_id must be an integer; got {sequence_id!r}.") from exc
    if sid != sequence_id and not isinstance(sequence_id, str):
        raise InputShapeError(f"sequence_id must be an integer; got {sequence_id!r}.")
    return sid


def _check_wide_columns(names: set[str], origin: str) -> None:
    missing = [c for c in ASLFR_COLUMNS if c not in names]
    if not missing and SEQUENCE_ID in names:
        return
    if names >= _GISLR_COLUMNS:
        raise LandmarkFileError(
            f"{origin} is a GISLR (isolated sign) landmark file, not an ASLFR fingerspelling "
            "file: read it with aslsign.load_sequence()."
        )
    if len(missing) == len(ASLFR_COLUMNS):
        raise LandmarkFileError(
            f"{origin} is not an ASLFR landmark file: it has none of the coordinate columns "
            f"x_face_0 ... z_right_hand_20 (found {sorted(names)[:8]}...)."
        )
    if missing:
        raise LandmarkFileError(
            f"{origin}: missing {len(missing)} of the {len(ASLFR_COLUMNS)} ASLFR coordinate "
            f"columns ({', '.join(missing[:5])}{', ...' if len(missing) > 5 else ''})."
        )
    raise LandmarkFileError(
        f"{origin}: no sequence_id column (or index). An ASLFR file is indexed by sequence_id."
    )


def _from_wide_table(table: pa.Table, sequence_id: int | None, origin: str) -> np.ndarray:
    check_unique_columns(table.column_names, _USED, origin)
    names = set(table.column_names)
    missing = [c for c in ASLFR_COLUMNS if c not in names]
    if missing:
        _check_wide_columns(names | {SEQUENCE_ID}, origin)
    if SEQUENCE_ID in names:
        check_numeric(table, [SEQUENCE_ID], origin)
        ids = check_integral(table.column(SEQUENCE_ID), SEQUENCE_ID, origin)
        if sequence_id is None:
            unique = np.unique(ids)
            if len(unique) > 1:
                raise InputShapeError(
                    f"The {origin} holds {len(unique)} sequences; pass sequence_id= to pick one."
                )
        else:
            sid = _as_id(sequence_id)
            rows = np.flatnonzero(ids == sid)
            if not len(rows):
                raise SequenceNotFoundError(f"The {origin} holds no sequence_id {sid}.")
            table = table.take(rows)
    elif sequence_id is not None:
        raise SequenceNotFoundError(
            f"The {origin} has no sequence_id column or index to find sequence {sequence_id} in."
        )
    return _to_landmarks(table, origin)


def _to_landmarks(table: pa.Table, origin: str) -> np.ndarray:
    """(frames, 543, 3) float32 from the wide columns of one sequence, in frame order."""
    if table.num_rows == 0:
        raise EmptySequenceError(f"{origin}: the sequence has no frames.")
    coords, frames = _decode(table, origin)
    return _in_frame_order(coords, frames, origin)


def _decode(table: pa.Table, origin: str) -> tuple[np.ndarray, np.ndarray | None]:
    """All rows of ``table`` as (rows, 543, 3) float32, and the ``frame`` column if any."""
    n = table.num_rows
    position = {name: i for i, name in enumerate(table.column_names)}  # by-name lookup is O(n)
    columns = table.columns
    coords = np.empty((len(ASLFR_COLUMNS), n), np.float32)  # (xyz * 543, rows)
    for i, name in enumerate(ASLFR_COLUMNS):
        column = columns[position[name]]
        if not (pa.types.is_floating(column.type) or pa.types.is_null(column.type)):
            check_numeric(table, [name], origin)  # raises for non-numbers; integers pass
        with np.errstate(over="ignore"):  # float64 beyond float32's range -> inf: refused later
            fill_float_column(column, coords[i])
    out = coords.reshape(3, NUM_LANDMARKS, n).transpose(2, 1, 0)
    if FRAME not in position:
        return out, None
    check_numeric(table, [FRAME], origin)
    return out, check_integral(columns[position[FRAME]], FRAME, origin)


def _in_frame_order(coords: np.ndarray, frames: np.ndarray | None, origin: str) -> np.ndarray:
    """One sequence's rows in frame order, its values checked (InputValueError)."""
    if frames is not None and len(frames) > 1 and not (frames[1:] > frames[:-1]).all():
        coords = coords[np.argsort(frames, kind="stable")]
    out = np.ascontiguousarray(coords)
    check_coordinates(out, origin)
    return out


# ----------------------------------------------------------------------------- writing


def _pandas_metadata(frame_type: str) -> bytes:
    """pandas' schema metadata, so ``pd.read_parquet`` gives a ``sequence_id`` index."""

    def col(name: str, kind: str) -> dict[str, Any]:
        return {
            "name": name,
            "field_name": name,
            "pandas_type": kind,
            "numpy_type": kind,
            "metadata": None,
        }

    columns = [col(FRAME, frame_type)] + [col(c, "float32") for c in ASLFR_COLUMNS]
    meta = {
        "index_columns": [SEQUENCE_ID],
        "column_indexes": [
            {
                "name": None,
                "field_name": None,
                "pandas_type": "unicode",
                "numpy_type": "object",
                "metadata": {"encoding": "UTF-8"},
            }
        ],
        "columns": [*columns, col(SEQUENCE_ID, "int64")],
        "creator": {"library": "aslsign"},
        "pandas_version": "2.0.0",
    }
    return json.dumps(meta).encode()


@functools.cache
def _schema() -> pa.Schema:
    """The ASLFR file schema (built on first use: 1,631 fields)."""
    return pa.schema(
        [pa.field(SEQUENCE_ID, pa.int64()), pa.field(FRAME, pa.int16())]
        + [pa.field(c, pa.float32()) for c in ASLFR_COLUMNS],
        metadata={b"pandas": _pandas_metadata("int16")},
    )


def write_fingerspelling(
    path: str | os.PathLike[str],
    sequences: Mapping[int, np.ndarray] | Iterable[tuple[int, np.ndarray]],
    *,
    sequences_per_row_group: int = 32,
    compression: str = "zstd",
) -> Path:
    """Write landmark sequences as one ASLFR wide parquet file; return its path.

    ``sequences`` maps (or pairs) each ``sequence_id`` with a ``(frames, 543, 3)`` array. Each
    row group holds ``sequences_per_row_group`` whole sequences, so :func:`load_fingerspelling`
    decodes only the group a sequence is in. The file reads back with ``pd.read_parquet`` as
    Kaggle's do: index ``sequence_id``, column ``frame`` (0, 1, ...), then the 1,629 float32
    coordinate columns.
    """
    if sequences_per_row_group < 1:
        raise ValueError(f"sequences_per_row_group must be >= 1, got {sequences_per_row_group}.")
    items = sequences.items() if isinstance(sequences, Mapping) else sequences
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    seen: set[int] = set()
    pending: list[tuple[int, np.ndarray]] = []
    # statistics on the id and frame only: they find a sequence's row group, and 1,629 more
    # per row group would make the footer (read on every open) megabytes long
    with pq.ParquetWriter(
        path, _schema(), compression=compression, write_statistics=[SEQUENCE_ID, FRAME]
    ) as writer:
        for sid, landmarks in items:
            sid = int(sid)
            if sid in seen:
                raise ValueError(f"sequence_id {sid} is given twice.")
            seen.add(sid)
            pending.append((sid, from_array(landmarks, f"sequence {sid}")))
            if len(pending) == sequences_per_row_group:
                writer.write_table(_wide_table(pending), row_group_size=1 << 30)
                pending = []
        if pending or not seen:
            writer.write_table(_wide_table(pending), row_group_size=1 << 30)
    return path


def _wide_table(sequences: Sequence[tuple[int, np.ndarray]]) -> pa.Table:
    lengths = [len(x) for _, x in sequences]
    total = sum(lengths)
    ids = np.repeat(np.array([s for s, _ in sequences], np.int64), lengths)
    frames = np.concatenate(
        [np.arange(n, dtype=np.int16) for n in lengths] + [np.empty(0, np.int16)]
    )
    if sequences:
        stacked = np.concatenate([x for _, x in sequences])  # (total, 543, 3)
        coords = stacked.transpose(2, 1, 0).reshape(len(ASLFR_COLUMNS), total)
    else:
        coords = np.empty((len(ASLFR_COLUMNS), 0), np.float32)
    arrays = [pa.array(ids), pa.array(frames.astype(np.int16))]
    arrays += [pa.array(np.ascontiguousarray(c)) for c in coords]
    return pa.Table.from_arrays(arrays, schema=_schema())


# ----------------------------------------------------------------------------- datasets


@dataclass(frozen=True)
class FingerspellingRecord:
    """One row of an ASLFR ``train.csv`` (or ``supplemental_metadata.csv``)."""

    path: Path
    file_id: int
    sequence_id: int
    participant_id: int
    phrase: str
    supplemental: bool = False

    def load(self) -> np.ndarray:
        """The landmarks of this record, as :func:`load_fingerspelling` returns them."""
        return load_fingerspelling(self.path, self.sequence_id)


class FingerspellingDataset(RecordDataset[FingerspellingRecord]):
    """An ASLFR-style folder: ``train.csv`` (path, file_id, sequence_id, participant_id, phrase)
    plus its parquet files; ``supplemental_metadata.csv`` is read too when present (its records
    have ``supplemental=True``).

    >>> ds = FingerspellingDataset("data/aslfr")                            # doctest: +SKIP
    >>> for record, landmarks in ds.iter_sequences(progress=True):          # doctest: +SKIP
    ...     print(record.phrase, landmarks.shape)
    """

    _COLUMNS = ("path", "file_id", "sequence_id", "participant_id", "phrase")
    _FORMAT = "ASLFR-style"

    def __init__(
        self,
        root: str | os.PathLike[str],
        csv_name: str = "train.csv",
        *,
        supplemental: bool = True,
        records: Sequence[FingerspellingRecord] | None = None,
    ) -> None:
        root = Path(root)
        if records is None:
            records = self._read_csv(root, csv_name, lambda row: self._record(root, row, False))
            if supplemental:
                records += self._read_csv(
                    root,
                    "supplemental_metadata.csv",
                    lambda row: self._record(root, row, True),
                    required=False,
                )
        super().__init__(root, records)

    @staticmethod
    def _record(root: Path, row: dict[str, str], supplemental: bool) -> FingerspellingRecord:
        return FingerspellingRecord(
            path=root / row["path"],
            file_id=int(row["file_id"]),
            sequence_id=int(row["sequence_id"]),
            participant_id=int(row["participant_id"]),
            phrase=row["phrase"],
            supplemental=supplemental,
        )

    def __repr__(self) -> str:
        return (
            f"FingerspellingDataset({str(self.root)!r}, sequences={len(self)}, "
            f"files={len(self.files)}, participants={len(self.participants)})"
        )

    @property
    def files(self) -> list[Path]:
        """The distinct parquet files, in record order."""
        return list(dict.fromkeys(r.path for r in self.records))

    @property
    def phrases(self) -> list[str]:
        """Sorted distinct phrases."""
        return sorted({r.phrase for r in self.records})

    def subset(
        self,
        participants: Sequence[int] | None = None,
        phrases: Sequence[str] | None = None,
        *,
        supplemental: bool | None = None,
        sequence_ids: Sequence[int] | None = None,
    ) -> FingerspellingDataset:
        """The records matching every filter given (participants, phrases, supplemental or not,
        sequence ids)."""
        sets = [None if v is None else set(v) for v in (participants, phrases, sequence_ids)]
        keep = self._filtered(
            lambda r: (
                (sets[0] is None or r.participant_id in sets[0])
                and (sets[1] is None or r.phrase in sets[1])
                and (sets[2] is None or r.sequence_id in sets[2])
                and (supplemental is None or r.supplemental == supplemental)
            )
        )
        return FingerspellingDataset(self.root, records=keep)

    def iter_sequences(
        self, progress: bool = False
    ) -> Iterator[tuple[FingerspellingRecord, np.ndarray]]:
        """Yield ``(record, landmarks)`` for every record, file by file.

        Each file is read once, row group by row group (see :func:`read_fingerspelling_file`),
        so the order is: files in the order they first appear, records in file order within a
        file.
        """
        by_file: dict[Path, dict[int, FingerspellingRecord]] = {}
        for r in self.records:
            by_file.setdefault(r.path, {})[r.sequence_id] = r
        bar = progress_bar(None, progress, "loading", "seq", total=len(self.records))
        try:
            for path, records in by_file.items():
                for sid, landmarks in read_fingerspelling_file(path, records):
                    if bar is not None:
                        bar.update(1)
                    yield records[sid], landmarks
        finally:
            if bar is not None:
                bar.close()
