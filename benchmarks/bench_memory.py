"""Benchmark: memory (resident set size) over many predictions and many load/close cycles.

Two phases, each after a warm-up (the first calls allocate the interpreter's arenas, numpy's and
pyarrow's pools; that is a one-off, not growth):

1. ``--predictions`` (10,000) predictions per task with one recogniser each (the bundled default
   sign and fingerspelling models): real gislr-mini sequences, alternately as arrays and read
   from their files; for fingerspelling also read from an ASLFR file of those sequences.
2. ``--cycles`` (1,000) load / predict / close cycles per task.

RSS is read from ``/proc/self/status`` (``VmRSS``; ``resource.getrusage`` where there is no
/proc) every ``--every`` steps. For each phase the script prints RSS at the start (after the
warm-up), at the end and its peak, the growth ratio end / start and the slope over the second
half (KB per 1,000 steps), which is what a leak would show.

    python benchmarks/bench_memory.py                       # 10,000 predictions, 1,000 cycles
    python benchmarks/bench_memory.py --predictions 2000 --cycles 200 --check
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import aslsign
from aslsign import FingerspellingRecognizer, SignRecognizer

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "gislr-mini"
#: --check fails when RSS at the end of a phase is more than this much above its start
MAX_GROWTH = 1.10


def rss_kb() -> int:
    """Resident set size of this process in KB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # peak, KB on Linux


def measure(name: str, steps: int, step: Callable[[int], None], every: int) -> dict[str, float]:
    """Run ``step(i)`` for i < steps, sampling RSS every ``every`` steps; print a summary."""
    gc.collect()
    samples = [(0, rss_kb())]
    t0 = time.perf_counter()
    for i in range(steps):
        step(i)
        if (i + 1) % every == 0:
            samples.append((i + 1, rss_kb()))
    seconds = time.perf_counter() - t0
    gc.collect()
    samples.append((steps, rss_kb()))
    start, end = samples[0][1], samples[-1][1]
    peak = max(kb for _, kb in samples)
    half = np.array([(i, kb) for i, kb in samples if i >= steps // 2], np.float64)
    slope = float(np.polyfit(half[:, 0], half[:, 1], 1)[0]) * 1000 if len(half) > 2 else 0.0
    result = {
        "start_mb": start / 1024,
        "end_mb": end / 1024,
        "peak_mb": peak / 1024,
        "growth": end / start,
        "slope_kb_per_1000": slope,
        "seconds": seconds,
    }
    print(
        f"{name:<44} start {result['start_mb']:7.1f} MB  end {result['end_mb']:7.1f} MB  "
        f"peak {result['peak_mb']:7.1f} MB  growth x{result['growth']:.3f}  "
        f"second-half slope {slope:+8.1f} KB/1000  ({seconds:.0f} s)",
        flush=True,
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="a GISLR folder")
    parser.add_argument("--sequences", type=int, default=100, help="real sequences cycled over")
    parser.add_argument("--predictions", type=int, default=10_000, help="per task")
    parser.add_argument("--cycles", type=int, default=1_000, help="load/close cycles per task")
    parser.add_argument("--every", type=int, default=250, help="steps between RSS samples")
    parser.add_argument(
        "--warmup", type=int, default=None, help="steps before measuring (default: 3 rounds)"
    )
    parser.add_argument(
        "--check", action="store_true", help=f"exit 1 when a phase grows more than x{MAX_GROWTH}"
    )
    args = parser.parse_args(argv)

    records = list(aslsign.GislrDataset(args.data))[:: max(1, 439 // args.sequences)]
    records = records[: args.sequences]
    paths = [r.path for r in records]
    arrays = [r.load() for r in records]
    tmp = Path(tempfile.mkdtemp(prefix="bench_memory_"))
    aslfr = aslsign.write_fingerspelling(
        tmp / "phrases.parquet", dict(enumerate(arrays)), sequences_per_row_group=4
    )
    print(
        f"aslsign {aslsign.__version__}, {len(arrays)} real sequences of {args.data.name} "
        f"({min(map(len, arrays))}-{max(map(len, arrays))} frames), an ASLFR file of them; "
        f"RSS every {args.every} steps after a warm-up",
        flush=True,
    )
    n = len(arrays)
    warmup = 3 * n if args.warmup is None else args.warmup  # every sequence in every form
    results = {}
    with SignRecognizer.from_pretrained() as sign, FingerspellingRecognizer.from_pretrained() as fs:
        # every sequence in every form: round r of the n sequences uses form r % forms
        def sign_step(i: int) -> None:
            sign.predict(arrays[i % n] if (i // n) % 2 else paths[i % n])

        def spell_step(i: int) -> None:
            form = (i // n) % 3
            if form == 0:
                fs.predict(aslfr, sequence_id=i % n)
            else:
                fs.predict(arrays[i % n] if form == 1 else paths[i % n])

        for step in (sign_step, spell_step):
            for i in range(warmup):
                step(i)
        results["sign predictions"] = measure(
            f"{args.predictions} sign predictions", args.predictions, sign_step, args.every
        )
        results["spell predictions"] = measure(
            f"{args.predictions} fingerspelling predictions",
            args.predictions,
            spell_step,
            args.every,
        )

    def cycle(cls: type[SignRecognizer] | type[FingerspellingRecognizer]) -> Callable[[int], None]:
        def step(i: int) -> None:
            rec = cls.from_pretrained()
            rec.predict(arrays[i % n])
            rec.close()

        return step

    for cls in (SignRecognizer, FingerspellingRecognizer):
        for i in range(50):
            cycle(cls)(i)
        results[f"{cls.__name__} cycles"] = measure(
            f"{args.cycles} {cls.__name__} load/predict/close",
            args.cycles,
            cycle(cls),
            max(1, args.every // 10),
        )
    worst = max(r["growth"] for r in results.values())
    print(f"largest growth x{worst:.3f} (--check limit x{MAX_GROWTH})")
    return 1 if args.check and worst > MAX_GROWTH else 0


if __name__ == "__main__":
    sys.exit(main())
