"""The hybrid recipe: published size, masking, export parity, and a real end-to-end run."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import requires_tf

pytestmark = requires_tf


@pytest.fixture(scope="module")
def hybrid():
    from training_recipes import hybrid

    return hybrid


def test_published_configuration_has_1836569_parameters(hybrid):
    model = hybrid.build_model(num_classes=250, channels=708, dim=192)
    assert model.count_params() == 1_836_569


def test_padding_is_masked(hybrid):
    model = hybrid.build_model(num_classes=5, dim=32)
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(7, 708)), rng.normal(size=(19, 708))
    batch = np.full((2, 19, 708), -100.0, np.float32)
    batch[0, :7], batch[1] = a, b
    together = np.asarray(model(batch, training=False))
    alone = np.asarray(model(a[None].astype(np.float32), training=False))
    np.testing.assert_allclose(together[0], alone[0], atol=1e-5)


def test_export_parity_on_real_sequences(hybrid, gislr_mini, tmp_path):
    """Keras vs TFLite (fp32) on preprocessed real sequences of several lengths: <= 1e-4."""
    import aslsign
    from aslsign.preprocessing import Gislr1stPreprocessor
    from training_recipes.export import keras_vs_tflite, write_artifact

    pre = Gislr1stPreprocessor()
    ds = aslsign.GislrDataset(gislr_mini)
    seqs = [pre(r.load()) for r in ds.records[:40]]
    by_len = sorted((s for s in seqs if len(s)), key=len)
    chosen = [by_len[0], by_len[len(by_len) // 2], by_len[-1]]
    assert len({len(s) for s in chosen}) == 3, "want three different lengths"

    model = hybrid.build_model(num_classes=2, dim=32)
    config = write_artifact(
        tmp_path,
        model,
        name="parity",
        architecture=hybrid.ARCHITECTURE,
        architecture_args={},
        labels=["hello", "thankyou"],
        preprocessor=pre,
        training={},
    )
    assert config.input.shape == (None, None, 708)
    diff = keras_vs_tflite(
        model, tmp_path / "model.tflite", [s[None] for s in chosen] + [pre.pad_batch(chosen)]
    )
    assert diff <= 1e-4
    # and through the runtime: SignRecognizer's probabilities are the softmax of Keras logits
    with aslsign.SignRecognizer.from_pretrained(tmp_path) as rec:
        for s, raw in zip(seqs[:5], ds.records[:5], strict=True):
            logits = np.asarray(model(s[None], training=False))[0]
            expected = np.exp(logits - logits.max())
            expected /= expected.sum()
            np.testing.assert_allclose(rec.predict(raw.path).probabilities, expected, atol=1e-5)


def test_recipe_trains_and_exports_an_artifact(hybrid, gislr_mini, tmp_path):
    import aslsign

    out = tmp_path / "runs" / "artifact"  # parent does not exist yet
    metrics = hybrid.main(
        [
            "--data",
            str(gislr_mini),
            "--out",
            str(out),
            "--dim",
            "32",
            "--epochs",
            "1",
            "--batch-size",
            "32",
            "--val-ids",
            "2044,34503",
            "--prototypes",
            "--kaggle",
            str(tmp_path / "kaggle"),
        ]
    )
    assert {p.name for p in out.iterdir()} == {
        "model.tflite",
        "model.fp16.tflite",
        "model.int8.tflite",
        "config.json",
        "README.md",
        "examples.json",
    }
    config = json.loads((out / "config.json").read_text())
    fp16 = config["variants"]["fp16"]
    assert fp16["size_ratio"] < 0.75 and fp16["agreement"]["metric"] == "top1_agreement"
    assert fp16["agreement"]["count"] == metrics["validation"]["count"]
    assert config["labels"] == ["hello", "thankyou"]
    assert config["training"]["val_participants"] == [2044, 34503]
    assert 2044 not in config["training"]["train_participants"]
    assert config["preprocessing"]["name"] == "gislr_1st"
    val = metrics["validation"]
    assert val["count"] == sum(
        1 for r in aslsign.GislrDataset(gislr_mini) if r.participant_id in (2044, 34503)
    )
    assert 0.0 <= val["top1"] <= 1.0 and "top5" not in val  # top-5 of 2 classes says nothing
    assert metrics["export_max_abs_diff"] <= 1e-4
    assert metrics["kaggle"]["max_abs_diff"] <= 1e-4 and metrics["kaggle"]["same_label"] == 1.0
    assert metrics["kaggle"]["count"] == val["count"]
    assert (tmp_path / "kaggle" / "sign_to_prediction_index_map.json").is_file()
    card = (out / "README.md").read_text()
    assert f"{val['top1']:.4f}" in card and "hello, thankyou" in card
    assert "## Variants" in card and "`model.int8.tflite`" in card
    assert f"difference {metrics['kaggle']['max_abs_diff']}, same label 100.0%" in card
    rec = aslsign.SignRecognizer.from_pretrained(out)
    assert rec.predict(next(iter(aslsign.GislrDataset(gislr_mini))).path).label in rec.labels


def test_recipe_cross_validates_and_trains_on_everyone(hybrid, gislr_small, tmp_path):
    """--cv-folds: K participant folds scored on unseen signers, then the artifact on all."""
    import aslsign

    out = tmp_path / "cv"
    argv = ["--data", str(gislr_small), "--out", str(out), "--dim", "16", "--num-stages", "1"]
    argv += ["--epochs", "1", "--batch-size", "64", "--max-len", "64", "--cv-folds", "2"]
    argv += ["--val-participants", "0", "--awp-start-epoch", "0", "--late-dropout-start-epoch", "0"]
    metrics = hybrid.main(argv)
    ds = aslsign.GislrDataset(gislr_small)
    cv = metrics["cv"]
    folds = [f["participants"] for f in cv["folds"]]
    assert len(folds) == 2 and sorted(p for f in folds for p in f) == ds.participants
    assert cv["count"] == len(ds) == sum(f["count"] for f in cv["folds"])
    assert cv["correct"] == round(cv["top1"] * cv["count"])
    config = json.loads((out / "config.json").read_text())
    assert config["training"]["train_participants"] == ds.participants
    assert config["training"]["val_participants"] == []
    assert config["preprocessing"]["empty_frames"] == "selected"
    assert config["training"]["args"]["awp_lambda"] == 0.2 and "validation" not in metrics
    card = (out / "README.md").read_text()
    assert f"{cv['top1']:.4f}" in card and "--cv-folds 2" in card
    assert not (tmp_path / "cv.ckpt").exists(), "a finished run leaves no checkpoint behind"


def test_recipe_refuses_to_continue_a_run_without_resume(hybrid, gislr_mini, tmp_path):
    (tmp_path / "a.ckpt" / "final").mkdir(parents=True)
    (tmp_path / "a.ckpt" / "final" / "state.json").write_text('{"epoch": 1}')
    (tmp_path / "a.ckpt" / "final" / "latest.weights.h5").write_bytes(b"")
    argv = ["--data", str(gislr_mini), "--out", str(tmp_path / "a"), "--dim", "16"]
    with pytest.raises(SystemExit, match="--resume"):
        hybrid.main([*argv, "--epochs", "1", "--val-participants", "0"])


def test_every_option_is_documented_and_defaults_are_published(hybrid, capsys):
    args = hybrid.parse_args(["--data", "d", "--out", "o"])
    published = {
        "dim": 192,
        "num_stages": 2,
        "max_len": 384,
        "epochs": 300,
        "batch_size": 64,
        "final_lr": 1e-6,
        "weight_decay_ratio": 0.1,
        "label_smoothing": 0.1,
        "awp_lambda": 0.2,
        "awp_start_epoch": 15,
        "late_dropout": 0.8,
        "late_dropout_start_epoch": 15,
        "p_resample": 0.8,
        "p_flip": 0.5,
        "p_affine": 0.75,
        "p_temporal_mask": 0.5,
        "p_cutout": 0.5,
        "empty_frames": "selected",
    }
    assert {k: getattr(args, k) for k in published} == published
    assert hybrid.HybridRecipe(args).lr == pytest.approx(5e-4)
    big = hybrid.parse_args(["--data", "d", "--out", "o", "--batch-size", "512"])
    assert hybrid.HybridRecipe(big).lr == pytest.approx(4e-3)  # 5e-4 per 64 samples
    with pytest.raises(SystemExit):
        hybrid.parse_args(["--help"])
    text = capsys.readouterr().out
    options = [o for o in text.split() if o.startswith("--")]
    for dest in vars(args):
        assert f"--{dest.replace('_', '-')}" in options, dest
    assert text.count("(default:") >= len(published), "--help shows the defaults"
    actions = [a for a in hybrid.build_parser()._actions if a.dest != "help"]
    assert all(a.help for a in actions), [a.dest for a in actions if not a.help]


def test_recipe_learns_a_background_class_and_measures_rejection(
    hybrid, gislr_small, gislr_gallery, letters, tmp_path
):
    """--negatives/--letters: a background class; rejection cross-validated by sign (a fold's
    unseen signs were never its negatives), a calibrated threshold, stream F1, all in the
    config and the card; the artifact rejects through aslsign."""
    import csv

    import aslsign

    negatives = tmp_path / "gallery"
    negatives.mkdir()
    (negatives / "parquet").symlink_to(gislr_gallery / "parquet")
    with open(gislr_gallery / "train.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))[:24]  # a few signs (and maybe hello/thankyou: skipped)
    with open(negatives / "train.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    out = tmp_path / "open"
    argv = ["--data", str(gislr_small), "--out", str(out), "--dim", "16", "--num-stages", "1"]
    argv += ["--epochs", "1", "--batch-size", "64", "--max-len", "64", "--cv-folds", "2"]
    argv += ["--val-participants", "0", "--variants", "", "--idle-negatives", "10"]
    argv += ["--negatives", str(negatives), "--letters", str(letters)]
    metrics = hybrid.main(argv)
    config = json.loads((out / "config.json").read_text())
    assert config["labels"] == ["hello", "thankyou", "<other>"]
    assert config["background_label"] == "<other>"
    open_set = metrics["open_set"]
    signs = {r["sign"] for r in rows} - {"hello", "thankyou"}
    assert open_set["unseen_signs"] == len(signs) + 35  # every other sign and letter, once
    assert open_set["count"] == len(aslsign.GislrDataset(gislr_small))
    assert config["score_threshold"] == open_set["score_threshold"]
    assert 0.0 <= open_set["score_threshold"] <= 1.0
    wins, plain = open_set["background_wins"], open_set["without_rejection"]
    assert wins["in_vocabulary_correct"] <= plain["in_vocabulary_correct"]
    assert plain["unseen_signs_rejected"] == 0.0  # nothing is rejected without a rule
    folds = metrics["cv"]["folds"]
    assert sum(f["unseen_signs"] for f in folds) == open_set["unseen_signs"]
    streams = metrics["streams"]
    assert streams["signs"] == open_set["count"] and streams["unknown"] == open_set["unseen_signs"]
    assert 0.0 <= streams["f1"] <= 1.0
    card = (out / "README.md").read_text()
    assert "Unknown signs" in card and f"{open_set['unseen_signs']}" in card
    assert "<other>" in card and "trained on other signs" in card
    with aslsign.SignRecognizer.from_pretrained(out, score_threshold=1.0) as rec:
        assert rec.vocabulary == ("hello", "thankyou")
        r = rec.predict(next(iter(aslsign.GislrDataset(gislr_small))).path)
        assert r.rejected and [c.label for c in r.top_k] == ["hello", "thankyou"]
