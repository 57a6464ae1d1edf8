"""The fingerspelling recipe: masking, export parity on real-length input, an end-to-end run."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import requires_tf

import aslsign

pytestmark = requires_tf


@pytest.fixture(scope="module")
def recipe():
    from training_recipes import fingerspelling

    return fingerspelling


@pytest.fixture(scope="module")
def synth_data(letters, tmp_path_factory):
    from training_recipes.synth_fingerspelling import generate

    out = tmp_path_factory.mktemp("synth")
    return generate(letters, out, 48, seed=11, n_signers=4, sequences_per_file=30)


def test_output_steps_and_padding(recipe):
    model = recipe.build_model(channels=447, dim=32, pre_blocks=1, num_stages=1)
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(7, 447)), rng.normal(size=(20, 447))
    batch = np.full((2, 20, 447), -100.0, np.float32)
    batch[0, :7], batch[1] = a, b
    together = np.asarray(model(batch, training=False))
    alone = np.asarray(model(a[None].astype(np.float32), training=False))
    assert together.shape == (2, 10, 61 - 1) and alone.shape == (1, 4, 60)  # ceil(n / 2)
    np.testing.assert_allclose(together[0, :4], alone[0], atol=1e-5)


def test_export_parity_on_real_length_inputs(recipe, synth_data, tmp_path):
    """Keras vs TFLite on synthetic phrases of several hundred frames: <= 1e-4."""
    from aslsign.preprocessing import FingerspellingPreprocessor
    from training_recipes.export import export_tflite, keras_vs_tflite

    pre = FingerspellingPreprocessor()
    ds = aslsign.FingerspellingDataset(synth_data)
    feats = sorted((pre(x) for _, x in ds.iter_sequences()), key=len)
    chosen = [feats[0], feats[len(feats) // 2], feats[-1]]
    assert len(chosen[-1]) >= 200 and len({len(f) for f in chosen}) == 3
    model = recipe.build_model(channels=pre.num_features[0], dim=48, pre_blocks=1, num_stages=2)
    export_tflite(model, tmp_path / "model.tflite")
    diff = keras_vs_tflite(
        model, tmp_path / "model.tflite", [f[None] for f in chosen] + [pre.pad_batch(chosen)]
    )
    assert diff <= 1e-4


def test_recipe_trains_and_exports_both_artifacts(recipe, synth_data, tmp_path):
    out = tmp_path / "runs" / "ctc"
    kaggle = tmp_path / "kaggle"
    metrics = recipe.main(
        [
            "--data", str(synth_data), "--out", str(out), "--dim", "16", "--pre-blocks", "0",
            "--num-stages", "1", "--epochs", "1", "--batch-size", "8", "--max-len", "256",
            "--val-participants", "1", "--beam-width", "4", "--kaggle", str(kaggle),
        ]
    )  # fmt: skip
    files = {"model.tflite", "model.fp16.tflite", "model.int8.tflite", "config.json", "README.md"}
    assert {p.name for p in out.iterdir()} == files
    config = json.loads((out / "config.json").read_text())
    for variant in ("fp16", "int8"):  # measured on the held-out sequences, shown in the card
        agreement = config["variants"][variant]["agreement"]
        assert agreement["metric"] == "same_text"
        assert agreement["count"] == metrics["validation"]["count"]
    assert config["task"] == "fingerspelling"
    assert config["decoding"] == {"type": "ctc", "blank_index": 59, "output_stride": 2}
    assert config["labels"][:59] == list(aslsign.CHARACTERS) and config["labels"][59] == "<blank>"
    val_ids = config["training"]["val_participants"]
    assert len(val_ids) == 1 and not set(val_ids) & set(config["training"]["train_participants"])
    ds = aslsign.FingerspellingDataset(synth_data)
    held = {r.phrase for r in ds if r.participant_id in val_ids}
    assert metrics["validation"]["count"] == sum(r.participant_id in val_ids for r in ds)
    assert metrics["validation"]["normalized_levenshtein"] <= 1.0
    assert metrics["validation_beam"]["beam_width"] == 4
    assert metrics["export_max_abs_diff"] <= 1e-4
    assert metrics["kaggle_agreement"] == 1.0
    assert {p.name for p in kaggle.iterdir()} >= {"model.tflite", "inference_args.json"}
    card = (out / "README.md").read_text()
    assert "SYNTHETIC" in card and f"{metrics['validation']['normalized_levenshtein']:.4f}" in card
    assert held  # the held-out signer's phrases exist and were kept out of training
    with aslsign.FingerspellingRecognizer.from_pretrained(out) as rec:
        r = rec.predict(ds[0].path, sequence_id=ds[0].sequence_id)
        assert isinstance(r.text, str) and r.num_frames > 0
