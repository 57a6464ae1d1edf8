"""Benchmark: aslsign.load_sequence vs Kaggle's reference GISLR loader on real parquet files.

The reference is the loader from the GISLR competition::

    data = pd.read_parquet(path, columns=["x", "y", "z"])
    data.values.reshape(-1, 543, 3).astype(np.float32)

Both loaders run on the same files in one process, interleaved (for every file and repeat the
two alternate, and which one goes first alternates too) so that a noisy machine slows both
equally. Each file's time is the median over ``--repeats``; the script prints the median over
files of those per-file medians, and the ratio reference / aslsign. The spec requires a ratio of
at least 1.5. Every timed file is also checked for equality (NaN positions included).

    python benchmarks/bench_load.py                 # ../shared/data/gislr-mini, 200 files
    python benchmarks/bench_load.py --files 439 --repeats 7 --check
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import aslsign
from aslsign import load_sequence

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "gislr-mini"
REQUIRED_RATIO = 1.5


def kaggle_reference(path: Path) -> np.ndarray:
    data = pd.read_parquet(path, columns=["x", "y", "z"])
    n_frames = int(len(data) / 543)
    return data.values.reshape(n_frames, 543, 3).astype(np.float32)


def _time(fn, path: Path) -> float:
    t0 = time.perf_counter()
    fn(path)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="folder searched recursively for *.parquet; a relative path is taken from the "
        "current directory, else from the repository root (default: ../shared/data/gislr-mini "
        "relative to the repository root)",
    )
    parser.add_argument("--files", type=int, default=200, help="number of files (default 200)")
    parser.add_argument("--repeats", type=int, default=5, help="timings per file (default 5)")
    parser.add_argument(
        "--check",
        action="store_true",
        help=f"exit with status 1 if the ratio reference/aslsign is below {REQUIRED_RATIO}",
    )
    args = parser.parse_args(argv)
    if args.files < 1 or args.repeats < 1:
        parser.error("--files and --repeats must be at least 1")

    data = args.data
    if not data.is_absolute() and not data.is_dir():
        data = REPO / data  # relative to the repository root when not relative to the cwd
    data = data.resolve()
    files = sorted(data.rglob("*.parquet"))[: args.files]
    if not files:
        print(f"no parquet files under {data}", file=sys.stderr)
        return 2

    # Verify equality on every timed file (also warms the OS file cache and imports).
    frames = 0
    for path in files:
        expected = kaggle_reference(path)
        got = load_sequence(path)
        if got.dtype != expected.dtype or got.shape != expected.shape:
            print(f"MISMATCH {path}: {got.dtype}{got.shape} vs {expected.dtype}{expected.shape}")
            return 1
        if not np.array_equal(got, expected, equal_nan=True):
            print(f"MISMATCH {path}: values differ from the reference loader")
            return 1
        frames += got.shape[0]

    # Each repeat is a pass over all files per loader, as when iterating a dataset; the loaders
    # take turns going first, so drift in machine load hits both alike.
    loaders = {"aslsign": load_sequence, "reference": kaggle_reference}
    samples: dict[str, list[list[float]]] = {name: [] for name in loaders}
    for r in range(args.repeats):
        order = ("aslsign", "reference") if r % 2 == 0 else ("reference", "aslsign")
        for name in order:
            samples[name].append([_time(loaders[name], path) for path in files])
    per_file = {
        name: [statistics.median(times) for times in zip(*passes, strict=True)]
        for name, passes in samples.items()
    }

    ms = {name: 1000 * statistics.median(times) for name, times in per_file.items()}
    total = {name: 1000 * sum(times) for name, times in per_file.items()}
    ratio = ms["reference"] / ms["aslsign"]
    per_file_ratios = [
        ref / own for ref, own in zip(per_file["reference"], per_file["aslsign"], strict=True)
    ]
    passed = ratio >= REQUIRED_RATIO

    print(f"aslsign {aslsign.__version__}, numpy {np.__version__}, pandas {pd.__version__}")
    print(
        f"data: {data} ({len(files)} files, {frames} frames, {args.repeats} repeats per file; "
        "equality with the reference verified on every file)"
    )
    for label, name in (("aslsign.load_sequence", "aslsign"), ("kaggle reference", "reference")):
        print(f"{label:<22}: median {ms[name]:.3f} ms/file (sum {total[name]:.1f} ms)")
    print(
        f"ratio reference/aslsign: {ratio:.2f}x (per-file ratios: min "
        f"{min(per_file_ratios):.2f}, median {statistics.median(per_file_ratios):.2f}, max "
        f"{max(per_file_ratios):.2f})"
    )
    print(f"spec (>= {REQUIRED_RATIO}x): {'PASS' if passed else 'FAIL'}")
    if args.check and not passed:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
