"""A disk cache of the landmark rows a recipe reads, so that a full-size run never holds the raw
sequences in RAM.

The first run reads every parquet file once (in a thread pool), keeps the frames the recipe's
preprocessor keeps (:attr:`LandmarkView.keep_frames`) and of each frame only the landmark rows
its augmentation and preprocessing read (:attr:`LandmarkView.rows`, e.g. the 118 points of the
1st-place pipeline and their mirror partners), and writes them as one float32 array of
concatenated frames (``frames.bin``, memory-mapped when read) plus an offsets index
(``offsets.npy``). Of the other rows only *whether* each value was detected is kept, as packed
bits (``missing.bin``): indexing the cache rebuilds a sample as a ``(frames, 543, 3)`` array with
the cached rows' values, NaN where the file has NaN and 0 in the other rows' detected places.
The recipe's augmentation and the runtime's :mod:`aslsign.preprocessing` turn it into exactly
the features the original file gives (tests/test_distribute.py checks this). The bits matter:
the time resize of the augmentation runs TensorFlow's bicubic kernel across the landmark axis
too, where a NaN neighbour (weight 0) turns a value into NaN, but a finite one does not change
it.

A cache lives in ``<cache dir>/<key>/``; the key is a hash of the data folder, the file list
(paths, sizes, modification times), the rows, and the view's configuration (the preprocessing
options that decide which frames are kept). A run whose key matches reuses it without reading a
parquet file; any change gives a new key and a new cache. Several runs (or several workers on
one machine) may build the same cache at once: each writes a private directory and the first
to finish renames it into place.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from aslsign.landmarks import NUM_LANDMARKS

__all__ = ["FORMAT_VERSION", "LandmarkCache", "LandmarkView", "Subset", "take"]

#: Bumped when the files' layout changes (part of the key).
FORMAT_VERSION = 2


@dataclass(frozen=True)
class LandmarkView:
    """What a recipe reads of a raw ``(frames, 543, 3)`` sequence.

    Args:
        rows: the landmark rows kept (sorted); None keeps all 543.
        keep_frames: drops the frames the recipe never looks at (the preprocessor's empty-frame
            rule); it must be idempotent on what it returns, and applying it first must not
            change the recipe's features or augmentations. None keeps every frame.
        config: JSON-able description of ``keep_frames`` and anything else that decides the
            cached content (goes into the key).
    """

    rows: tuple[int, ...] | None = None
    keep_frames: Callable[[np.ndarray], np.ndarray] | None = None
    config: dict[str, Any] = field(default_factory=dict)

    def apply(self, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``raw`` reduced to the cached frames and rows (float32, C order), and the packed
        NaN bits of the other rows (None when all rows are kept). A sequence that loses every
        frame keeps one all-NaN frame, so that it stays as empty as it was."""
        x = np.asarray(raw, np.float32)
        if self.keep_frames is not None:
            kept = self.keep_frames(x)
            if len(kept) == 0 and len(x):
                kept = np.full((1, *x.shape[1:]), np.nan, np.float32)
            x = kept
        if self.rows is None:
            return np.ascontiguousarray(x, np.float32), None
        others = np.isnan(x[:, _others(self.rows)]).reshape(len(x), -1)
        values = np.ascontiguousarray(x[:, np.asarray(self.rows, np.intp)], np.float32)
        return values, np.packbits(others, axis=1)


def _others(rows: Sequence[int]) -> np.ndarray:
    """The landmark rows not in ``rows``."""
    return np.setdiff1d(np.arange(NUM_LANDMARKS), np.asarray(rows, np.intp))


def _open(path: Path, dtype: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A read-only memory map of ``path`` (an empty array when it has no bytes)."""
    if int(np.prod(shape)) == 0:
        return np.zeros(shape, dtype)
    return np.memmap(path, dtype, "r", shape=shape)


class Subset(Sequence[np.ndarray]):
    """The items ``indices`` of a lazily indexed sequence (nothing is loaded until asked)."""

    def __init__(self, base: Sequence[np.ndarray], indices: Sequence[int]) -> None:
        self.base, self.indices = base, np.asarray(indices, np.int64)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, (int, np.integer)):
            return self.base[int(self.indices[i])]
        if isinstance(i, slice):
            return Subset(self.base, self.indices[i])
        return Subset(self.base, self.indices[np.asarray(i, np.int64)])

    def __iter__(self) -> Iterator[np.ndarray]:
        for j in self.indices:
            yield self.base[int(j)]


def take(items: Sequence[Any], indices: Sequence[int]) -> Sequence[Any]:
    """``[items[j] for j in indices]`` for a list; a lazy :class:`Subset` otherwise."""
    if isinstance(items, list):
        return [items[int(j)] for j in indices]
    return Subset(items, indices)


class LandmarkCache(Sequence[np.ndarray]):
    """A built cache (see the module docstring); ``cache[i]`` is sample ``i`` as a NaN-filled
    float32 ``(frames, 543, 3)`` array, ``cache[list]`` a lazy :class:`Subset`."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        meta = json.loads((self.directory / "meta.json").read_text())
        self.meta: dict[str, Any] = meta
        self.rows = None if meta["rows"] is None else np.asarray(meta["rows"], np.intp)
        self.offsets = np.load(self.directory / "offsets.npy")
        width = NUM_LANDMARKS if self.rows is None else len(self.rows)
        total = int(self.offsets[-1])
        self.frames = _open(self.directory / "frames.bin", np.float32, (total, width, 3))
        self.others = None if self.rows is None else _others(self.rows)
        bits = 0 if self.others is None else (len(self.others) * 3 + 7) // 8
        self.missing = _open(self.directory / "missing.bin", np.uint8, (total, bits))

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        """Cached frames per sample."""
        return np.diff(self.offsets)

    @property
    def nbytes(self) -> int:
        """Bytes on disk (frames and NaN bits)."""
        return int(self.frames.nbytes + self.missing.nbytes)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return Subset(self, np.arange(len(self))[i])
        if not isinstance(i, (int, np.integer)):
            return Subset(self, np.asarray(i, np.int64))
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        i = int(i) % len(self)
        lo, hi = self.offsets[i], self.offsets[i + 1]
        part = self.frames[lo:hi]
        if self.rows is None or self.others is None:
            return np.array(part, np.float32)
        out = np.zeros((len(part), NUM_LANDMARKS, 3), np.float32)
        count = len(self.others) * 3
        missing = np.unpackbits(self.missing[lo:hi], axis=1, count=count).astype(bool)
        other = out[:, self.others]
        other[missing.reshape(len(part), -1, 3)] = np.nan
        out[:, self.others] = other
        out[:, self.rows] = part
        return out

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in range(len(self)):
            yield self[i]

    # ------------------------------------------------------------------------- building

    @staticmethod
    def key(paths: Sequence[Path], root: Path, view: LandmarkView) -> str:
        """The cache key of ``paths`` (in order) under ``root`` seen through ``view``."""
        h = hashlib.sha256()
        head = {
            "format": FORMAT_VERSION,
            "data": str(Path(root).resolve()),
            "rows": None if view.rows is None else list(view.rows),
            "view": view.config,
        }
        h.update(json.dumps(head, sort_keys=True, default=str).encode())
        for p in paths:
            st = os.stat(p)
            h.update(f"\n{p}\t{st.st_size}\t{st.st_mtime_ns}".encode())
        return h.hexdigest()[:20]

    @classmethod
    def open_or_build(
        cls,
        paths: Sequence[Path],
        root: Path,
        view: LandmarkView,
        cache_dir: Path,
        *,
        load: Callable[[Path], np.ndarray] | None = None,
        workers: int | None = None,
        progress: bool = False,
    ) -> LandmarkCache:
        """The cache of ``paths`` in ``cache_dir``: opened when its key matches, else built
        by reading each file with ``load`` (default :func:`aslsign.load_sequence`) in
        ``workers`` threads."""
        key = cls.key(paths, root, view)
        final = Path(cache_dir) / key
        if (final / "meta.json").is_file():
            return cls(final)
        if load is None:
            from aslsign.io import load_sequence

            load = load_sequence
        cls._build(paths, root, view, final, load, workers or min(8, os.cpu_count() or 1), progress)
        return cls(final)

    @staticmethod
    def _build(
        paths: Sequence[Path],
        root: Path,
        view: LandmarkView,
        final: Path,
        load: Callable[[Path], np.ndarray],
        workers: int,
        progress: bool,
    ) -> None:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
        start = time.perf_counter()
        offsets = [0]

        def read(p: Path) -> tuple[np.ndarray, np.ndarray | None]:
            return view.apply(load(p))

        try:
            with (
                open(tmp / "frames.bin", "wb") as out,
                open(tmp / "missing.bin", "wb") as bits,
                ThreadPoolExecutor(workers) as pool,
            ):
                chunk = 64 * workers  # bounded read-ahead: memory stays small
                for lo in range(0, len(paths), chunk):
                    for x, missing in pool.map(read, paths[lo : lo + chunk]):
                        out.write(x.tobytes())
                        if missing is not None:
                            bits.write(missing.tobytes())
                        offsets.append(offsets[-1] + len(x))
                    if progress:
                        print(
                            f"\rcaching landmarks: {len(offsets) - 1}/{len(paths)}",
                            end="",
                            file=sys.stderr,
                        )
            if progress:
                print(file=sys.stderr)
            np.save(tmp / "offsets.npy", np.asarray(offsets, np.int64))
            meta = {
                "format": FORMAT_VERSION,
                "data": str(Path(root).resolve()),
                "sequences": len(paths),
                "frames": offsets[-1],
                "rows": None if view.rows is None else list(view.rows),
                "view": view.config,
                "dtype": "float32",
                "bytes_per_frame": round(
                    (os.path.getsize(tmp / "frames.bin") + os.path.getsize(tmp / "missing.bin"))
                    / max(1, offsets[-1]),
                    1,
                ),
                "build_seconds": round(time.perf_counter() - start, 2),
            }
            (tmp / "meta.json").write_text(json.dumps(meta, indent=1, default=str))
            try:
                tmp.rename(final)
            except OSError:  # another process finished the same cache first
                if not (final / "meta.json").is_file():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
