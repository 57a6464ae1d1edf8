"""Benchmark: training throughput of the published-size recipes on this machine.

Builds the GISLR 1st-place hybrid (dim 192, 250 signs, 1,836,569 parameters) and Mark
Wijkhuizen's Transformer (units 512, 250 signs, 5,315,965 parameters) with the recipes' own
code, feeds them real gislr-mini sequences preprocessed by the runtime's pipelines (labels drawn
at random over 250 signs: only the speed is measured), and times training steps after a warm-up:
the hybrid with and without AWP (AWP doubles the passes), the Transformer with class-balanced
batches of 4 x 250. It prints samples per second and the time one epoch of the full Kaggle GISLR
data (94,477 sequences) would take here; docs/training.md quotes it.

    python benchmarks/bench_train.py [--data ../shared/data/gislr-mini] [--steps 8]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras
import numpy as np

import aslsign
from aslsign.preprocessing import Gislr1stPreprocessor, WijkhuizenPreprocessor
from training_recipes import hybrid, transformer
from training_recipes.train import AdamWTiedDecay, Trainer

GISLR_SEQUENCES = 94_477
NUM_CLASSES = 250


def time_steps(trainer: Trainer, batches: list[tuple[np.ndarray, np.ndarray]], steps: int) -> float:
    """Median seconds per training step (after two warm-up steps that trace the function)."""
    for x, y in batches[:2]:
        trainer.train_on_batch(x, y)
    times = []
    for i in range(steps):
        x, y = batches[i % len(batches)]
        start = time.perf_counter()
        trainer.train_on_batch(x, y)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=Path("../shared/data/gislr-mini"))
    p.add_argument("--steps", type=int, default=8, help="timed steps per configuration")
    args = p.parse_args()
    raws = [r.load() for r in list(aslsign.GislrDataset(args.data))[:256]]
    rng = np.random.default_rng(0)
    eye = np.eye(NUM_CLASSES, dtype=np.float32)
    cce = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)

    def loss(y, p, x):
        return cce(y, p)

    print(f"machine: {os.cpu_count()} CPU cores; real gislr-mini sequences, random labels")
    rows = []

    pre = Gislr1stPreprocessor()
    feats = sorted((pre(r) for r in raws), key=len)
    batches = []
    for b in range(0, len(feats) - 63, 64):  # length-bucketed, as the recipe batches
        batches.append((pre.pad_batch(feats[b : b + 64]), eye[rng.integers(0, NUM_CLASSES, 64)]))
    for awp in (0.0, 0.2):
        keras.utils.set_random_seed(0)
        model = hybrid.build_model(num_classes=NUM_CLASSES, channels=708, dim=192)
        trainer = Trainer(model, loss, awp_lambda=awp)
        trainer.awp_active = awp > 0
        trainer.compile(AdamWTiedDecay(5e-4, 0.1))
        sec = time_steps(trainer, batches, args.steps)
        rows.append((f"hybrid dim 192{' + AWP' if awp else ''} (batch 64)", 64 / sec))

    wpre = WijkhuizenPreprocessor().fit(raws)
    wfeat = wpre.batch(raws)[0]
    keras.utils.set_random_seed(0)
    model = transformer.build_model(num_classes=NUM_CLASSES)
    trainer = Trainer(model, loss)
    trainer.compile(keras.optimizers.AdamW(1e-3, weight_decay=0.05, clipnorm=1.0))
    size = 1000  # 4 samples of each of 250 signs
    tbatches = []
    for _ in range(3):
        idx = rng.integers(0, len(wfeat), size)
        tbatches.append((wfeat[idx], eye[np.repeat(np.arange(NUM_CLASSES), 4)]))
    sec = time_steps(trainer, tbatches, max(2, args.steps // 4))
    rows.append(("transformer units 512 (batch 4 x 250)", size / sec))

    print(f"{'configuration':<42} {'samples/s':>10} {'one GISLR epoch':>16}")
    for name, rate in rows:
        minutes = GISLR_SEQUENCES / rate / 60
        print(f"{name:<42} {rate:>10.1f} {minutes:>12.0f} min")


if __name__ == "__main__":
    main()
