"""Per-sequence time of SignRecognizer.predict in a loop vs predict_batch, in one run.

    python benchmarks/bench_predict.py [--data ../shared/data/gislr-mini] [--model NAME|DIR]

Sequences are real GISLR files loaded once up front, so both paths time preprocessing +
inference only. Prints medians over repeats and the ratio loop/batch (higher = batch faster).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

import aslsign

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "gislr-mini")
    p.add_argument("--model", default=aslsign.DEFAULT_MODEL)
    p.add_argument("--sequences", type=int, default=200)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--check", action="store_true", help="exit 1 unless batch is >= 1.5x faster")
    args = p.parse_args()

    ds = aslsign.GislrDataset(args.data)
    seqs = [r.load() for r in ds.records[: args.sequences]]
    frames = [len(s) for s in seqs]
    rec = aslsign.SignRecognizer.from_pretrained(args.model, num_threads=args.threads)
    rec.predict_batch(seqs[:8])  # warm up
    loop_t, batch_t = [], []
    for _ in range(args.repeats):  # interleaved, so machine noise hits both alike
        t0 = time.perf_counter()
        single = [rec.predict(s) for s in seqs]
        loop_t.append((time.perf_counter() - t0) / len(seqs))
        t0 = time.perf_counter()
        batch = rec.predict_batch(seqs, batch_size=args.batch_size)
        batch_t.append((time.perf_counter() - t0) / len(seqs))
    worst = max(
        float(np.abs(a.probabilities - b.probabilities).max())
        for a, b in zip(single, batch, strict=True)
    )
    loop_ms, batch_ms = statistics.median(loop_t) * 1e3, statistics.median(batch_t) * 1e3
    ratio = loop_ms / batch_ms
    print(
        f"model {args.model}; {len(seqs)} real sequences from {args.data.name} "
        f"(frames median {int(np.median(frames))}, max {max(frames)}); {args.repeats} repeats"
    )
    print(f"predict loop : {loop_ms:.3f} ms/sequence (median)")
    print(f"predict_batch: {batch_ms:.3f} ms/sequence (median, batch_size {args.batch_size})")
    print(f"ratio loop/batch: {ratio:.2f}x; max |prob difference| {worst:.2e}")
    return 1 if args.check and ratio < 1.5 else 0


if __name__ == "__main__":
    raise SystemExit(main())
