"""Scale-out: the landmark cache, MirroredStrategy on two logical CPUs, and a two-process
MultiWorkerMirroredStrategy run of the hybrid recipe on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, requires_tf

pytestmark = [requires_tf, pytest.mark.train]


def _recipe(module: str, *extra: str):
    from training_recipes import hybrid, transformer

    mod = {"hybrid": hybrid, "transformer": transformer}[module]
    rec = {"hybrid": "HybridRecipe", "transformer": "TransformerRecipe"}[module]
    return getattr(mod, rec)(mod.parse_args(["--data", "d", "--out", "o", *extra]))


# ----------------------------------------------------------------------------- cache


@pytest.mark.parametrize(
    "module, extra",
    [("hybrid", ()), ("hybrid", ("--empty-frames", "all")), ("transformer", ())],
)
def test_cached_samples_give_exactly_the_features_of_the_files(
    gislr_small, tmp_path, module, extra
):
    """Features and augmented features from the cache equal those from the parquet files."""
    import aslsign
    from training_recipes.cache import LandmarkCache

    recipe = _recipe(module, *extra)
    ds = aslsign.GislrDataset(gislr_small)
    paths = [r.path for r in ds.records]
    cache = LandmarkCache.open_or_build(paths, ds.root, recipe.landmark_view(), tmp_path)
    raws = [r.load() for r in ds.records]
    pre = recipe.preprocessor(raws)
    assert len(cache) == len(raws)
    for i, raw in enumerate(raws):
        np.testing.assert_array_equal(
            recipe.features(pre, cache[i], None), recipe.features(pre, raw, None)
        )
        for s in range(2):  # augmentation (resample, flip, affine, masks) when the recipe has it
            a = recipe.features(pre, cache[i], np.random.default_rng([s, i]))
            b = recipe.features(pre, raw, np.random.default_rng([s, i]))
            np.testing.assert_array_equal(a, b)
    if module == "hybrid" and not extra:  # only the rows it reads: 118 points and partners
        assert len(cache.rows) == 118 and cache.meta["bytes_per_frame"] < 1600


def test_second_pass_reads_the_cache_and_a_changed_config_makes_a_new_one(gislr_small, tmp_path):
    import aslsign
    from training_recipes.cache import LandmarkCache

    ds = aslsign.GislrDataset(gislr_small)
    paths = [r.path for r in ds.records[:10]]
    reads: list[Path] = []

    def counting(path: Path) -> np.ndarray:
        reads.append(path)
        return aslsign.load_sequence(path)

    def forbidden(path: Path) -> np.ndarray:
        raise AssertionError(f"read {path} although the cache is warm")

    view = _recipe("hybrid").landmark_view()
    first = LandmarkCache.open_or_build(paths, ds.root, view, tmp_path, load=counting)
    assert sorted(reads) == sorted(paths)
    second = LandmarkCache.open_or_build(paths, ds.root, view, tmp_path, load=forbidden)
    assert second.directory == first.directory
    for i in range(len(paths)):
        np.testing.assert_array_equal(first[i], second[i])
    # another preprocessing configuration (the empty-frame rule) is another cache
    other = _recipe("hybrid", "--empty-frames", "all").landmark_view()
    reads.clear()
    third = LandmarkCache.open_or_build(paths, ds.root, other, tmp_path, load=counting)
    assert third.directory != first.directory and len(reads) == len(paths)
    # another file list too
    fewer = LandmarkCache.open_or_build(paths[:5], ds.root, view, tmp_path, load=counting)
    assert fewer.directory not in (first.directory, third.directory) and len(fewer) == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.directory.name for p in (first, third, fewer)
    ), "no temporary build directory is left behind"


def test_lazy_subsets_index_like_lists(gislr_small, tmp_path):
    import aslsign
    from training_recipes.cache import LandmarkCache, take

    ds = aslsign.GislrDataset(gislr_small)
    cache = LandmarkCache.open_or_build(
        [r.path for r in ds.records[:6]], ds.root, _recipe("transformer").landmark_view(), tmp_path
    )
    sub = take(cache, [4, 1, 3])
    assert len(sub) == 3 and len(sub[:2]) == 2
    np.testing.assert_array_equal(sub[1], cache[1])
    np.testing.assert_array_equal(sub[[2]][0], cache[3])
    assert take([10, 11, 12], [2, 0]) == [12, 10]


def test_batches_do_not_depend_on_how_they_are_split_across_replicas():
    """A sample's augmentation depends on (seed, epoch, batch, position), not on the order of
    building: the tf.data pipeline (parallel) gives the sequential epoch exactly."""
    import tensorflow as tf

    from training_recipes.data import Batches, one_hot, tf_dataset

    items = [np.full((n, 2), n, np.float32) for n in (3, 5, 2, 7, 4, 6, 1)]
    source = Batches(
        items,
        [0, 1, 0, 1, 0, 1, 0],
        prepare=lambda x, rng: x if rng is None else x + rng.normal(size=x.shape),
        pad=lambda xs: np.stack([np.pad(x, ((0, 7 - len(x)), (0, 0))) for x in xs]),
        collate=one_hot(2),
        batch_size=3,
        seed=5,
    )
    sequential = [x for x, _ in source.epoch()] + [x for x, _ in source.epoch()]
    source.epoch_index = 0
    ds = tf_dataset(
        source, tf.TensorSpec((None, 7, 2), tf.float32), tf.TensorSpec((None, 2), tf.float32)
    )
    parallel = [x.numpy() for x, _ in ds.take(2 * len(source))]
    for a, b in zip(sequential, parallel, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)


# ----------------------------------------------------------------------------- strategies


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(REPO)])
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return env


def test_mirrored_two_replicas_awp_matches_one_device_and_trains(gislr_small, tmp_path):
    out = tmp_path / "report.json"
    script = str(REPO / "tests" / "distribute_worker.py")
    proc = subprocess.run(
        [sys.executable, script, "mirrored", str(gislr_small), str(out)],
        capture_output=True,
        text=True,
        timeout=240,
        env=_env(),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    awp = report["awp"]
    # AWP on 2 replicas x 4 samples = AWP on one device x 8: perturbation from all-reduced grads
    np.testing.assert_allclose(awp["loss_mirrored"], awp["loss_one_device"], rtol=1e-5)
    assert awp["max_weight_diff"] < 1e-5
    hybrid = report["hybrid"]
    assert hybrid["weights_changed"]
    assert hybrid["loss"][2] < hybrid["loss"][1] < hybrid["loss"][0], hybrid["loss"]
    # every trainable weight (and LateDropout's counter) is the same on both replicas; only
    # BatchNorm's moving statistics are per replica
    assert all("moving_" in name for name in hybrid["replicas_differ"]), hybrid["replicas_differ"]
    steps = hybrid["steps_per_epoch"]
    assert hybrid["late_dropout_counter"] == [3 * 2 * steps] * 2  # AWP: 2 calls a step
    # (the switch of AWP at a later epoch under a strategy: the multi-worker test below)


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def test_multi_worker_run_on_loopback_writes_the_artifact_once(gislr_small, tmp_path):
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    out = tmp_path / "mw"
    argv = [
        sys.executable,
        str(REPO / "training_recipes" / "hybrid.py"),
        "--data",
        str(gislr_small),
    ]
    argv += ["--out", str(out), "--strategy", "multi-worker", "--dim", "16", "--num-stages", "1"]
    argv += ["--epochs", "2", "--batch-size", "16", "--max-len", "32", "--val-participants", "1"]
    argv += ["--awp-start-epoch", "1", "--late-dropout-start-epoch", "1"]
    procs = []
    for i in range(2):
        env = _env()
        env["TF_CONFIG"] = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})
        env["OMP_NUM_THREADS"] = "1"
        procs.append(
            subprocess.Popen(
                argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
        )
    logs = []
    try:
        for p in procs:
            logs.append(p.communicate(timeout=240)[0])
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for i, (p, log) in enumerate(zip(procs, logs, strict=True)):
        assert p.returncode == 0, f"worker {i}:\n{log[-3000:]}"
    config = json.loads((out / "config.json").read_text())
    assert config["training"]["args"]["strategy"] == "multi-worker"
    assert (out / "model.tflite").is_file() and "2 replicas" in logs[0]
    # only the chief wrote: the artifact, and the shared landmark cache; no checkpoint is left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mw", "mw.cache"]
    assert config["metrics"]["validation"]["count"] > 0


def test_mixed_precision_trains_with_float32_logits_and_exports_a_float32_copy():
    """--mixed-precision: float16 compute, float32 logits, AWP steps stay finite; the model
    handed to the export is a float32 build holding the trained weights."""
    import keras

    from training_recipes.train import AdamWTiedDecay, Trainer, _float32_copy

    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 12, 708)).astype(np.float32)
    y = np.eye(2, dtype=np.float32)[rng.integers(0, 2, 8)]
    recipe = _recipe("hybrid", "--dim", "16", "--num-stages", "1")
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = recipe.build(2, recipe.preprocessor([]), 1)
        cce = keras.losses.CategoricalCrossentropy(from_logits=True)
        trainer = Trainer(model, lambda a, b, c: cce(a, b), awp_lambda=0.2)
        trainer.compile(AdamWTiedDecay(1e-3, 0.1))
        trainer.awp_active = True
        logs = [trainer.train_on_batch(x, y, return_dict=True)["loss"] for _ in range(3)]
        assert np.isfinite(logs).all()
        assert model.get_layer("s0_conv0_expand").compute_dtype == "float16"
        assert model(x).dtype == "float32", "the classifier computes in float32"
        fp32 = _float32_copy(recipe, model, 2, recipe.preprocessor([]), 1)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert all(w.dtype in ("float32", "int64") for w in fp32.weights)
    assert fp32.get_layer("s0_conv0_expand").compute_dtype == "float32"
    for a, b in zip(model.get_weights(), fp32.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(fp32(x), model(x), atol=0.05)  # float16 vs float32 arithmetic
