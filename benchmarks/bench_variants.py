"""File size, load time and inference time of each variant of each bundled sign model, as
ratios to fp32, in one run.

    python benchmarks/bench_variants.py [--data ../shared/data/gislr-mini] [--repeats 5]

Sequences are real GISLR files loaded once up front; each repeat times ``predict_batch`` over
them with every variant in turn (interleaved, so machine noise hits all alike). Prints medians
and the ratio variant / fp32 (lower = faster or smaller), and how often the label is fp32's.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

import aslsign
from aslsign.registry import zoo_dir

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "gislr-mini")
    p.add_argument("--sequences", type=int, default=200)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args()

    seqs = [r.load() for r in aslsign.GislrDataset(args.data).records[: args.sequences]]
    print(f"{len(seqs)} real sequences of {args.data.name}; {args.repeats} repeats; medians")
    for name in aslsign.list_models(task="isolated_sign"):
        config = aslsign.ModelConfig.load(zoo_dir() / name / "config.json")
        recs, load_ms = {}, {}
        for v in config.variant_names:
            t0 = time.perf_counter()
            recs[v] = aslsign.SignRecognizer.from_pretrained(
                name, variant=v, num_threads=args.threads
            )
            load_ms[v] = (time.perf_counter() - t0) * 1e3
            recs[v].predict_batch(seqs[:8])  # warm up
        times: dict[str, list[float]] = {v: [] for v in recs}
        labels: dict[str, list[str | None]] = {}
        for _ in range(args.repeats):
            for v, rec in recs.items():
                t0 = time.perf_counter()
                results = rec.predict_batch(seqs)
                times[v].append((time.perf_counter() - t0) / len(seqs) * 1e3)
                labels[v] = [r.label for r in results]
        base = statistics.median(times["fp32"])
        size32 = (zoo_dir() / name / "model.tflite").stat().st_size
        print(f"\n{name}")
        print("  variant      size   of fp32   load ms   ms/seq   vs fp32   same label")
        for v, rec in recs.items():
            file = config.variant_file(v)[0]
            size = (zoo_dir() / name / file).stat().st_size
            ms = statistics.median(times[v])
            same = np.mean([a == b for a, b in zip(labels["fp32"], labels[v], strict=True)])
            print(
                f"  {v:<7} {size / 1e6:7.2f} MB {size / size32:8.1%} {load_ms[v]:9.1f} "
                f"{ms:8.3f} {ms / base:8.2f}x {same:11.1%}"
            )
            rec.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
