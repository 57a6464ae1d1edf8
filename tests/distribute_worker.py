"""Subprocess side of tests/test_distribute.py (TensorFlow's devices must be configured before it
initialises them, so each check runs in a fresh interpreter).

    python tests/distribute_worker.py mirrored GISLR_DIR OUT_JSON
        On two logical CPU devices: (1) one AWP training run of a small dense model under a
        two-replica MirroredStrategy against the same run on one device; (2) a tiny hybrid
        trained for 3 epochs (AWP from the start, LateDropout from epoch 1) through the
        recipes' tf.data pipeline under the strategy. Writes what it measured to OUT_JSON.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]


def two_cpus() -> None:
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)


def replica_values(variable) -> list:
    """Each replica's copy of a (mirrored) Keras variable."""
    value = variable.value
    parts = getattr(value, "values", None)
    return [p.numpy() for p in parts] if parts else [value.numpy()]


def cross_entropy(y, logits, x):
    import keras

    return keras.losses.CategoricalCrossentropy(from_logits=True)(y, logits)


def awp_against_one_device(mirrored) -> dict:
    import keras
    import numpy as np
    import tensorflow as tf

    from training_recipes.train import AdamWTiedDecay, Trainer

    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 4)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 8)]
    results = []
    for strategy in (tf.distribute.get_strategy(), mirrored):
        with strategy.scope():
            keras.utils.set_random_seed(0)
            inputs = keras.Input((4,))
            hidden = keras.layers.Dense(5, activation="tanh")(inputs)
            model = keras.Model(inputs, keras.layers.Dense(3)(hidden))
            trainer = Trainer(model, cross_entropy, awp_lambda=0.2)
            trainer.compile(AdamWTiedDecay(0.1, 0.1))
        trainer.awp_active = True
        ds = tf.data.Dataset.from_tensors((x, y)).repeat()
        if strategy.num_replicas_in_sync > 1:
            ds = strategy.experimental_distribute_dataset(ds)  # 4 samples per replica
        history = trainer.fit(ds, epochs=2, steps_per_epoch=3, verbose=0).history
        results.append((history["loss"], [replica_values(v) for v in model.trainable_variables]))
    (loss1, w1), (loss2, w2) = results
    return {
        "replicas": 2,
        "loss_one_device": loss1,
        "loss_mirrored": loss2,
        "max_weight_diff": max(
            float(np.abs(a[0] - b_part).max()) for a, b in zip(w1, w2, strict=True) for b_part in b
        ),
    }


def tiny_hybrid(data_dir: Path, strategy) -> dict:
    import keras
    import numpy as np
    import tensorflow as tf

    import aslsign
    from aslsign.preprocessing import Gislr1stPreprocessor
    from training_recipes import data, hybrid
    from training_recipes.train import AdamWTiedDecay, Trainer, fit

    ds = aslsign.GislrDataset(data_dir)
    raws = [r.load() for r in ds.records]
    ys = np.array([ds.signs.index(r.sign) for r in ds.records])
    pre = Gislr1stPreprocessor(max_len=32)
    policy = hybrid.PublishedAugment(max_len=32)
    source = data.Batches(
        list(range(len(raws))),
        ys,
        prepare=lambda i, rng: pre(raws[i]) if rng is None else pre(policy(raws[i], rng)),
        pad=pre.pad_batch,
        collate=data.one_hot(2),
        batch_size=16 * strategy.num_replicas_in_sync,
        lengths=[len(pre(r)) for r in raws],
        seed=0,
    )
    with strategy.scope():
        keras.utils.set_random_seed(0)
        model = hybrid.build_model(
            num_classes=2, dim=16, num_stages=1, late_dropout_start=len(source), drop_rate=0.0
        )
        cce = keras.losses.CategoricalCrossentropy(from_logits=True)
        trainer = Trainer(model, lambda a, b, c: cce(a, b), awp_lambda=0.2)
        trainer.compile(AdamWTiedDecay(3e-3, 0.1))
        trainer(pre.pad_batch([pre(raws[0])]))
    before = [v.numpy().copy() for v in model.trainable_variables]
    spec = (tf.TensorSpec((None, None, 708), tf.float32), tf.TensorSpec((None, 2), tf.float32))
    dataset = data.tf_dataset(source, *spec, strategy=strategy)
    history = fit(trainer, source, dataset, epochs=3, awp_start_epoch=0, verbose=0).history
    differ = [
        v.path
        for v in model.variables
        if not all(np.array_equal(replica_values(v)[0], p) for p in replica_values(v)[1:])
    ]
    counter = next(v for v in model.variables if "train_counter" in v.path)
    return {
        "steps_per_epoch": len(source),
        "loss": history["loss"],
        "replicas_differ": differ,  # BatchNorm moving statistics are per replica in Keras
        "weights_changed": any(
            not np.array_equal(a, v.numpy())
            for a, v in zip(before, model.trainable_variables, strict=True)
        ),
        "late_dropout_counter": [int(c) for c in replica_values(counter)],
    }


def main() -> None:
    mode, data_dir, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    if mode != "mirrored":
        raise SystemExit(f"unknown mode {mode}")
    two_cpus()
    import tensorflow as tf

    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])  # one per process
    report = {"awp": awp_against_one_device(mirrored), "hybrid": tiny_hybrid(data_dir, mirrored)}
    out.write_text(json.dumps(report))


if __name__ == "__main__":
    main()
