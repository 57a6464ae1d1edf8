"""Kaggle GISLR submission models (bare ``.tflite`` + label map) through ``SignRecognizer``.

The model is built here with plain TensorFlow in the Kaggle format (preprocessing inside the
graph, ``serving_default``: ``inputs`` [frames, 543, 3] -> ``outputs`` [250] probabilities), and
its outputs through aslsign are compared with the signature called directly on the Kaggle
reference loader's array, on real GISLR sequences.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import requires_tf

from aslsign import ConfigError, SignatureMismatchError, SignRecognizer
from aslsign.recognizer import read_label_map

pytestmark = requires_tf

LABEL_MAP = "sign_to_prediction_index_map.json"


@pytest.fixture(scope="module")
def kaggle_tflite(tmp_path_factory) -> Path:
    """A 250-class Kaggle submission model, alone in its directory (no label map beside it)."""
    from kaggle_model import make_kaggle_submission

    return make_kaggle_submission(tmp_path_factory.mktemp("kaggle") / "model.tflite")


@pytest.fixture(scope="module")
def label_map_file(label_maps) -> Path:
    return label_maps / LABEL_MAP


@pytest.fixture(scope="module")
def gallery_files(gislr_gallery) -> list[Path]:
    """Six real gallery sequences of different lengths (shortest to longest)."""
    table = pd.read_csv(gislr_gallery / "train.csv").drop_duplicates("n_frames")
    table = table.sort_values("n_frames").reset_index(drop=True)
    picks = np.unique(np.linspace(0, len(table) - 1, 6).round().astype(int))
    files = [gislr_gallery / p for p in table.loc[picks, "path"]]
    assert len({len(reference_load(f)) for f in files}) == len(files) >= 4
    return files


def reference_load(path: Path) -> np.ndarray:
    """Kaggle's reference loader."""
    data = pd.read_parquet(path, columns=["x", "y", "z"])
    return data.to_numpy().reshape(-1, 543, 3).astype(np.float32)


def direct(model_path: Path, x: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=str(model_path)).get_signature_runner("serving_default")
    return np.asarray(runner(inputs=x)["outputs"])


def test_from_kaggle_matches_the_signature_called_directly(
    kaggle_tflite, label_map_file, gallery_files
):
    labels = read_label_map(label_map_file)
    assert len(labels) == 250
    with SignRecognizer.from_kaggle(kaggle_tflite, label_map_file, top_k=3) as rec:
        assert rec.labels == labels
        assert rec.config.num_classes == 250
        winners = set()
        for path in gallery_files:
            x = reference_load(path)
            want = direct(kaggle_tflite, x)
            result = rec.predict(path)
            np.testing.assert_allclose(result.probabilities, want, rtol=1e-6, atol=1e-7)
            assert result.probabilities.shape == (250,)
            assert result.num_frames == len(x)
            best = int(np.argmax(want))
            assert result.index == best
            assert result.label == labels[best]
            assert result.score == pytest.approx(float(want[best]), rel=1e-6)
            assert [c.index for c in result.top_k] == list(np.argsort(-want, kind="stable")[:3])
            assert all(c.label == labels[c.index] for c in result.top_k)
            winners.add(best)
        # the stand-in model is not constant: the probabilities depend on the input
        first, last = (direct(kaggle_tflite, reference_load(p)) for p in gallery_files[::5])
        assert np.abs(first - last).max() > 1e-2
        assert len(winners) >= 2


def test_label_map_as_dict(kaggle_tflite, label_map_file, gallery_files):
    mapping = json.loads(label_map_file.read_text())
    with SignRecognizer.from_kaggle(kaggle_tflite, mapping) as rec:
        result = rec.predict(gallery_files[0])
    want = direct(kaggle_tflite, reference_load(gallery_files[0]))
    np.testing.assert_allclose(result.probabilities, want, rtol=1e-6, atol=1e-7)
    assert result.label == {v: k for k, v in mapping.items()}[int(np.argmax(want))]


def test_from_pretrained_detects_kaggle_models(
    kaggle_tflite, label_map_file, gallery_files, tmp_path
):
    # a bare .tflite with the label map passed in
    by_file = SignRecognizer.from_pretrained(kaggle_tflite, label_map=label_map_file)
    # a directory with model.tflite + sign_to_prediction_index_map.json and no config.json
    folder = tmp_path / "submission"
    folder.mkdir()
    shutil.copyfile(kaggle_tflite, folder / "model.tflite")
    shutil.copyfile(label_map_file, folder / LABEL_MAP)
    by_dir = SignRecognizer.from_pretrained(folder)
    by_str = SignRecognizer.from_pretrained(str(folder / "model.tflite"))
    with by_file, by_dir, by_str:
        for rec in (by_file, by_dir, by_str):
            assert rec.config.architecture == "kaggle_submission"
            assert rec.labels == by_file.labels
        for path in gallery_files[:3]:
            a, b, c = (r.predict(path) for r in (by_file, by_dir, by_str))
            np.testing.assert_array_equal(a.probabilities, b.probabilities)
            np.testing.assert_array_equal(a.probabilities, c.probabilities)
            assert a.label == b.label == c.label


def test_predict_batch_equals_predict(kaggle_tflite, label_map_file, gallery_files):
    sequences = [gallery_files[0], reference_load(gallery_files[1]), *gallery_files[2:]]
    with SignRecognizer.from_kaggle(kaggle_tflite, label_map_file) as rec:
        batch = rec.predict_batch(sequences, batch_size=2)
        single = [rec.predict(s) for s in sequences]
    assert len(batch) == len(sequences)
    for b, s in zip(batch, single, strict=True):
        np.testing.assert_allclose(b.probabilities, s.probabilities, rtol=1e-6, atol=1e-7)
        assert b.top_k == s.top_k
        assert b.num_frames == s.num_frames


def test_kaggle_model_without_label_map(kaggle_tflite):
    assert not (kaggle_tflite.parent / LABEL_MAP).exists()
    with pytest.raises(ConfigError, match="label_map"):
        SignRecognizer.from_kaggle(kaggle_tflite)
    with pytest.raises(ConfigError, match="label_map"):
        SignRecognizer.from_pretrained(kaggle_tflite)
    with pytest.raises(ConfigError, match="label_map"):
        SignRecognizer.from_pretrained(kaggle_tflite.parent)


def test_label_map_with_wrong_indices(kaggle_tflite, label_map_file, tmp_path):
    mapping = json.loads(label_map_file.read_text())
    gap = {sign: (i if i < 100 else i + 1) for sign, i in mapping.items()}  # skips 100
    with pytest.raises(ConfigError, match="indices"):
        SignRecognizer.from_kaggle(kaggle_tflite, gap)
    dup = dict(mapping, **{next(iter(mapping)): 5})  # index 5 twice, 0 missing
    bad = tmp_path / LABEL_MAP
    bad.write_text(json.dumps(dup))
    with pytest.raises(ConfigError):
        SignRecognizer.from_kaggle(kaggle_tflite, bad)
    with pytest.raises(ConfigError):
        SignRecognizer.from_kaggle(kaggle_tflite, tmp_path / "missing.json")


def test_label_map_with_too_few_signs(kaggle_tflite, label_map_file):
    mapping = json.loads(label_map_file.read_text())
    short = {sign: i for sign, i in mapping.items() if i < 249}
    assert len(short) == 249
    with pytest.raises(SignatureMismatchError, match="250"):
        SignRecognizer.from_kaggle(kaggle_tflite, short)


def test_model_whose_input_is_not_named_inputs(label_map_file, tmp_path):
    from kaggle_model import make_tiny_model

    tiny = make_tiny_model(tmp_path / "tiny.tflite", input_name="x")
    with pytest.raises(SignatureMismatchError, match="inputs"):
        SignRecognizer.from_kaggle(tiny, {"a": 0, "b": 1, "c": 2})
    with pytest.raises(SignatureMismatchError):
        SignRecognizer.from_pretrained(tiny, label_map={"a": 0, "b": 1, "c": 2})


def test_cli_predicts_with_a_kaggle_model(kaggle_tflite, label_map_file, gallery_files):
    import subprocess
    import sys

    labels = read_label_map(label_map_file)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "aslsign.cli",
            "predict",
            *map(str, gallery_files[:3]),
            "--model",
            str(kaggle_tflite),
            "--label-map",
            str(label_map_file),
            "--json",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    for row, path in zip(rows, gallery_files[:3], strict=True):
        probs = direct(kaggle_tflite, reference_load(path))
        assert row["label"] == labels[int(np.argmax(probs))]
        assert row["score"] == pytest.approx(float(probs.max()), rel=1e-5)


# ------------------------------------------------------- submission models as found in the wild
# Competitors' models: outputs with a dynamic shape signature ([-1]: the size is known only after
# a call) or a batch axis, and logits rather than probabilities (the competition scored argmax).
WILD = {
    "logits, dynamic [-1]": {"logits": True, "output_shape": "dynamic"},
    "logits, [250]": {"logits": True, "output_shape": "static"},
    "softmax in the graph, [1, 250]": {"logits": False, "output_shape": "batch"},
    "softmax in the graph, dynamic [-1]": {"logits": False, "output_shape": "dynamic"},
}


@pytest.fixture(scope="module")
def wild_models(tmp_path_factory) -> dict[str, Path]:
    from kaggle_model import make_kaggle_submission

    root = tmp_path_factory.mktemp("wild")
    return {
        name: make_kaggle_submission(root / f"m{i}.tflite", seed=i + 1, **options)
        for i, (name, options) in enumerate(WILD.items())
    }


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z.astype(np.float64) - z.max())
    return e / e.sum()


@pytest.mark.parametrize("name", list(WILD))
def test_models_from_the_wild_give_probabilities(name, wild_models, label_map_file, gallery_files):
    path = wild_models[name]
    logits = WILD[name]["logits"]
    labels = read_label_map(label_map_file)
    with SignRecognizer.from_kaggle(path, label_map_file, top_k=4) as rec:
        assert rec.config.output_kind == ("logits" if logits else "probabilities")
        winners, single = set(), []
        for f in gallery_files:
            own = direct(path, reference_load(f)).reshape(-1)  # the model's own output
            assert own.shape == (250,)
            if logits:  # the stand-in really gives logits: not a probability vector
                assert own.min() < 0 or abs(own.sum() - 1) > 0.1
            r = rec.predict(f)
            best = int(np.argmax(own))
            assert (r.index, r.label) == (best, labels[best])
            p = r.probabilities
            assert p.shape == (250,) and (p >= 0).all() and (p <= 1).all()
            assert float(p.sum()) == pytest.approx(1.0, abs=1e-5)
            np.testing.assert_allclose(p, softmax(own) if logits else own, rtol=1e-5, atol=1e-7)
            assert 0 < r.score <= 1 and r.score == pytest.approx(float(p.max()))
            assert [c.index for c in r.top_k] == list(np.argsort(-own, kind="stable")[:4])
            assert all(0 <= c.score <= 1 for c in r.top_k)
            winners.add(best)
            single.append(r)
        assert len(winners) >= 2
        batch = rec.predict_batch(gallery_files)
    for b, s in zip(batch, single, strict=True):
        assert b.label == s.label
        np.testing.assert_allclose(b.probabilities, s.probabilities, rtol=1e-6, atol=1e-7)


def test_output_kind_can_be_forced(wild_models, label_map_file, gallery_files):
    logits_model = wild_models["logits, [250]"]
    own = direct(logits_model, reference_load(gallery_files[0]))
    with SignRecognizer.from_kaggle(logits_model, label_map_file, output_kind="logits") as rec:
        np.testing.assert_allclose(rec.predict(gallery_files[0]).probabilities, softmax(own), 1e-5)
    # told they are probabilities, the scores are reported as they come (the user's word)
    with SignRecognizer.from_pretrained(
        logits_model, label_map=label_map_file, output_kind="probabilities"
    ) as rec:
        assert rec.config.output_kind == "probabilities"
        np.testing.assert_array_equal(rec.predict(gallery_files[0]).probabilities, own)
    with pytest.raises(ValueError, match="output_kind"):
        SignRecognizer.from_kaggle(logits_model, label_map_file, output_kind="scores")


def test_dynamic_output_of_the_wrong_size_is_refused_at_load(wild_models, label_map_file):
    mapping = json.loads(label_map_file.read_text())
    short = {sign: i for sign, i in mapping.items() if i < 200}
    for kind in ("auto", "logits"):  # "logits" needs no probe for its kind: still checked
        with pytest.raises(SignatureMismatchError, match=r"250 scores \(on its first call.*200"):
            SignRecognizer.from_kaggle(wild_models["logits, dynamic [-1]"], short, output_kind=kind)


def test_detect_output_kind():
    from aslsign.recognizer import detect_output_kind

    assert detect_output_kind(np.array([0.2, 0.3, 0.5], np.float32)) == "probabilities"
    assert detect_output_kind(np.array([[0.2, 0.3, 0.504]])) == "probabilities"  # within 0.01
    assert detect_output_kind(np.array([0.2, 0.3, 0.6])) == "logits"
    assert detect_output_kind(np.array([1.5, -0.5, 0.0])) == "logits"  # sums to 1, negative
    assert detect_output_kind(np.array([np.nan, 0.5, 0.5])) == "logits"
    assert detect_output_kind(np.array([6.79, 16.48, 2.0])) == "logits"


def test_cli_shows_and_uses_the_output_kind(wild_models, label_map_file, gallery_files):
    import subprocess
    import sys

    model = wild_models["logits, dynamic [-1]"]

    def cli(*args: str) -> str:
        cmd = [sys.executable, "-m", "aslsign.cli", *args, "--label-map", str(label_map_file)]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout

    info = cli("info", str(model))
    assert "logits, detected on a probe call; a softmax makes them probabilities" in info
    assert "logits, --output-kind" in cli("info", str(model), "--output-kind", "logits")
    out = cli("predict", *map(str, gallery_files[:2]), "--model", str(model), "--json", "--quiet")
    for line, f in zip(out.splitlines(), gallery_files[:2], strict=True):
        row = json.loads(line)
        own = direct(model, reference_load(f))
        assert row["score"] == pytest.approx(float(softmax(own).max()), rel=1e-5)
        assert 0 < row["score"] <= 1
