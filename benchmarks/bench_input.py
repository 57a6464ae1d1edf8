"""Benchmark: the recipes' input pipeline against a training step of the published-size hybrid.

Builds the landmark cache of gislr-mini for the hybrid recipe (first pass: every parquet file
read once, in threads; a fresh temporary cache directory), then times the tf.data pipeline the
recipe trains from (warm cache: memory-mapped frames, the published augmentation, the runtime's
``gislr_1st`` preprocessing, length-bucketed batches of 64, built in parallel) and a training
step of the hybrid at its published size (dim 192, 250 classes, batch 64) with and without AWP.
Prints medians and the ratio "input time / step time" (the input pipeline should cost at most
about 10 % of a step). docs/training.md quotes it.

    python benchmarks/bench_input.py [--data ../shared/data/gislr-mini] [--batches 30] [--steps 8]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras
import numpy as np

import aslsign
from training_recipes import data, hybrid
from training_recipes.cache import LandmarkCache
from training_recipes.train import AdamWTiedDecay, Trainer

NUM_CLASSES = 250
BATCH = 64


def default_data() -> Path:
    root = os.environ.get("ASLSIGN_DATA")
    return Path(root) / "gislr-mini" if root else Path("../shared/data/gislr-mini")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=default_data())
    p.add_argument("--batches", type=int, default=30, help="timed batches of the pipeline")
    p.add_argument("--steps", type=int, default=8, help="timed training steps")
    args = p.parse_args()
    print(f"machine: {os.cpu_count()} CPU cores; data {args.data}")
    ds = aslsign.GislrDataset(args.data)
    recipe = hybrid.HybridRecipe(hybrid.parse_args(["--data", str(args.data), "--out", "x"]))

    with tempfile.TemporaryDirectory() as tmp:
        # first pass: build the cache
        start = time.perf_counter()
        cache = LandmarkCache.open_or_build(
            [r.path for r in ds.records], ds.root, recipe.landmark_view(), Path(tmp)
        )
        build = time.perf_counter() - start
        frames = int(cache.offsets[-1])
        print(
            f"cache build (first pass): {len(cache)} sequences in {build:.2f} s = "
            f"{len(cache) / build:.0f} sequences/s, {frames / build:.0f} frames/s; "
            f"{cache.meta['bytes_per_frame']:.0f} bytes per cached frame "
            f"({len(cache.rows)} of 543 rows as float32 + NaN bits of the others), "
            f"{cache.nbytes / len(cache) / 1024:.1f} KiB per sequence here"
        )

        # warm cache: the training pipeline of the recipe
        cache = LandmarkCache.open_or_build(
            [r.path for r in ds.records], ds.root, recipe.landmark_view(), Path(tmp)
        )
        pre = recipe.preprocessor([])
        lengths = [len(recipe.features(pre, cache[i], None)) for i in range(len(cache))]
        keep = [i for i, n in enumerate(lengths) if n]
        ys = np.random.default_rng(0).integers(0, NUM_CLASSES, len(cache))

        def prepare(i: int, rng: np.random.Generator | None) -> np.ndarray:
            f = recipe.features(pre, cache[i], rng)
            return f if len(f) else recipe.features(pre, cache[i], None)

        source = data.Batches(
            keep,
            ys[keep],
            prepare=prepare,
            pad=pre.pad_batch,
            collate=data.one_hot(NUM_CLASSES),
            batch_size=BATCH,
            lengths=[lengths[i] for i in keep],
            seed=0,
        )
        import tensorflow as tf

        spec = (
            tf.TensorSpec((None, None, 708), tf.float32),
            tf.TensorSpec((None, NUM_CLASSES), tf.float32),
        )
        it = iter(data.tf_dataset(source, *spec))
        for _ in range(3):  # warm-up (autotuning, first traces)
            next(it)
        times = []
        for _ in range(args.batches):
            t = time.perf_counter()
            next(it)
            times.append(time.perf_counter() - t)
        pipeline = statistics.median(times)
        source.epoch_index = 0
        members = next(source.plan())[2]
        seq = []
        for _ in range(5):
            t = time.perf_counter()
            source.make(0, 0, members)
            seq.append(time.perf_counter() - t)
        one_thread = statistics.median(seq)
        print(
            f"input: {pipeline * 1000:.1f} ms per batch of {BATCH} from the tf.data pipeline "
            f"(median of {args.batches}, warm cache); {one_thread * 1000:.1f} ms to build one "
            "in a single thread"
        )

        # training steps of the published-size hybrid
        batches = [next(it) for _ in range(4)]
        cce = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
        for awp in (0.0, 0.2):
            keras.utils.set_random_seed(0)
            model = hybrid.build_model(num_classes=NUM_CLASSES, channels=708, dim=192)
            trainer = Trainer(model, lambda y, p, x: cce(y, p), awp_lambda=awp)
            trainer.awp_active = awp > 0
            trainer.compile(AdamWTiedDecay(5e-4, 0.1))
            for x, y in batches[:2]:
                trainer.train_on_batch(x, y)
            steps = []
            for i in range(args.steps):
                x, y = batches[i % len(batches)]
                t = time.perf_counter()
                trainer.train_on_batch(x, y)
                steps.append(time.perf_counter() - t)
            step = statistics.median(steps)
            name = f"hybrid dim 192{' + AWP' if awp else ''}"
            print(
                f"step: {step * 1000:.0f} ms ({name}, batch {BATCH}); input time / step time = "
                f"{pipeline / step:.1%} (pipeline), {one_thread / step:.1%} (one thread)"
            )


if __name__ == "__main__":
    main()
