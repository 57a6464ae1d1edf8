"""Benchmark: fingerspelling I/O and decoding, each against its baseline in one run.

1. **Loading one sequence** of an ASLFR file of 1,000 sequences: ``aslsign.load_fingerspelling``
   (reads only the row group that holds the sequence) vs ``pd.read_parquet(file).loc[sid]``
   (the whole file). ``load_fingerspelling`` is timed cold (its per-file footer cache emptied
   before every call) and warm (the cache kept, as when several sequences of a file are read).
   The file is SYNTHETIC random landmarks laid out like Kaggle's (frames 40-250 per sequence,
   face and pose detected in most frames, one hand in 70 %, the other in 20 %), written by
   ``aslsign.write_fingerspelling`` with its default of 32 sequences per row group. A file
   written as one row group (pandas' default for files this size) leaves nothing to skip: the
   script reports that case too.
2. **Decoding vs the interpreter** for the bundled fingerspelling model: CTC greedy and prefix
   beam search in NumPy against the LiteRT call that produced the logits, on synthetic
   sequences of the same random kind.
3. **predict_batch vs a loop of predict** with the bundled model, on 128 such sequences (same
   texts required).

Targets: single-sequence load >= 10x faster than the full read; greedy decoding <= 10 % of the
interpreter's time. Medians; the machine is shared and noisy, so compare the ratios.

    python benchmarks/bench_fingerspelling.py            # prints a table
    python benchmarks/bench_fingerspelling.py --check    # exit 1 when a target is missed
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

import aslsign
from aslsign import landmarks as lm
from aslsign.io import aslfr

LOAD_TARGET = 10.0
DECODE_TARGET = 0.10


def synthetic_sequence(rng: np.random.Generator, frames: int) -> np.ndarray:
    x = rng.random((frames, 543, 3), dtype=np.float32)
    x[rng.random(frames) < 0.1, lm.SLICES["face"]] = np.nan
    x[rng.random(frames) < 0.3, lm.SLICES["right_hand"]] = np.nan
    x[rng.random(frames) < 0.8, lm.SLICES["left_hand"]] = np.nan
    return x


def write_file(path: Path, n: int, seed: int, per_group: int) -> list[int]:
    rng = np.random.default_rng(seed)
    ids = [int(s) for s in rng.choice(2**31, n, replace=False)]
    lengths = rng.integers(40, 251, n)
    pairs = ((sid, synthetic_sequence(rng, int(k))) for sid, k in zip(ids, lengths, strict=True))
    aslsign.write_fingerspelling(path, pairs, sequences_per_row_group=per_group)
    return ids


def median_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_load(path: Path, ids: list[int], picks: int, repeats: int) -> dict[str, float]:
    rng = np.random.default_rng(1)
    chosen = [ids[i] for i in rng.choice(len(ids), picks, replace=False)]

    def cold() -> None:
        for sid in chosen:
            aslfr._CACHE.clear()
            aslsign.load_fingerspelling(path, sid)

    def warm() -> None:
        for sid in chosen:
            aslsign.load_fingerspelling(path, sid)

    def pandas_once() -> None:
        sid = chosen[0]
        df = pd.read_parquet(path)
        df.loc[sid]

    sid = chosen[0]
    ref = pd.read_parquet(path).loc[[sid]]
    got = aslsign.load_fingerspelling(path, sid)
    flat = ref[list(lm.ASLFR_COLUMNS)].to_numpy(np.float32).reshape(-1, 3, 543).transpose(0, 2, 1)
    assert np.array_equal(got, flat, equal_nan=True), "loaders disagree"
    t_pandas = median_time(pandas_once, repeats)
    t_cold = median_time(cold, repeats) / picks
    t_warm = median_time(warm, repeats) / picks
    return {"pandas": t_pandas, "cold": t_cold, "warm": t_warm}


def bench_decode(sequences: int, repeats: int) -> dict[str, float]:
    from aslsign.ctc import beam_search_decode, greedy_decode, log_softmax

    rng = np.random.default_rng(2)
    rec = aslsign.FingerspellingRecognizer.from_pretrained()
    blank = rec.config.decoding["blank_index"]
    t_model, t_greedy, t_beam = [], [], []
    for _ in range(sequences):
        x = synthetic_sequence(rng, int(rng.integers(100, 300)))
        features = rec.preprocessor(x)[None]
        t_model.append(median_time(lambda f=features: rec._run(f), repeats))
        logp = log_softmax(rec._run(features)[0])
        t_greedy.append(median_time(lambda lp=logp: greedy_decode(lp, blank=blank), repeats))
        t_beam.append(
            median_time(lambda lp=logp: beam_search_decode(lp, blank=blank, beam_width=8), repeats)
        )
    rec.close()
    return {
        "interpreter": statistics.median(t_model),
        "greedy": statistics.median(t_greedy),
        "beam8": statistics.median(t_beam),
    }


def bench_batch(sequences: int, repeats: int) -> dict[str, float]:
    rng = np.random.default_rng(3)
    seqs = [synthetic_sequence(rng, int(rng.integers(40, 300))) for _ in range(sequences)]
    with aslsign.FingerspellingRecognizer.from_pretrained() as rec:
        loop = [rec.predict(x).text for x in seqs]
        batch = [r.text for r in rec.predict_batch(seqs)]
        assert loop == batch, "predict_batch and predict disagree"
        t_loop = median_time(lambda: [rec.predict(x) for x in seqs], repeats)
        t_batch = median_time(lambda: rec.predict_batch(seqs), repeats)
    return {"loop": t_loop / sequences, "batch": t_batch / sequences}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sequences", type=int, default=1000, help="sequences in the ASLFR file")
    p.add_argument("--picks", type=int, default=20, help="sequences loaded per timing")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = p.parse_args(argv)

    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-aslfr-") as tmp:
        for label, per_group in (("32 sequences per row group", 32), ("one row group", 10**9)):
            path = Path(tmp) / f"{per_group}.parquet"
            t0 = time.perf_counter()
            ids = write_file(path, args.sequences, seed=0, per_group=per_group)
            size = path.stat().st_size / 1e6
            print(
                f"\nASLFR file, {args.sequences} synthetic sequences, {label}: {size:.0f} MB "
                f"(written in {time.perf_counter() - t0:.0f} s)"
            )
            r = bench_load(path, ids, args.picks, args.repeats)
            print(f"  pd.read_parquet(file).loc[sid]       {r['pandas'] * 1e3:9.1f} ms")
            for key in ("cold", "warm"):
                ratio = r["pandas"] / r[key]
                print(
                    f"  load_fingerspelling ({key}, per seq.)  {r[key] * 1e3:9.1f} ms   "
                    f"{ratio:6.1f}x faster"
                )
            if per_group == 32 and r["pandas"] / r["cold"] < LOAD_TARGET:
                ok = False
            path.unlink()
    d = bench_decode(sequences=20, repeats=args.repeats)
    print("\nDecoding, bundled fingerspelling model, 20 synthetic sequences of 100-300 frames")
    print(f"  interpreter           {d['interpreter'] * 1e3:8.2f} ms")
    for key in ("greedy", "beam8"):
        share = d[key] / d["interpreter"]
        print(f"  {key:<20}  {d[key] * 1e3:8.2f} ms   {share:7.1%} of the interpreter's time")
    if d["greedy"] / d["interpreter"] > DECODE_TARGET:
        ok = False
    b = bench_batch(sequences=128, repeats=args.repeats)
    print("\npredict_batch vs a loop of predict, 128 synthetic sequences of 40-300 frames")
    print(f"  loop of predict   {b['loop'] * 1e3:8.2f} ms per sequence")
    print(
        f"  predict_batch     {b['batch'] * 1e3:8.2f} ms per sequence   "
        f"{b['loop'] / b['batch']:5.2f}x faster"
    )
    print("\ntargets met" if ok else "\nTARGET MISSED")
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
