"""The Kaggle GISLR submission export of an artifact (``export.py ARTIFACT --format kaggle``).

The in-graph TensorFlow preprocessing is held to the NumPy pipeline on real sequences of many
lengths (and shortened, stretched and damaged copies of them), and the exported file, loaded
through ``SignRecognizer.from_kaggle``, to the artifact it came from.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import requires_tf

import aslsign
from aslsign import SignRecognizer, load_sequence
from aslsign import landmarks as lm
from aslsign.preprocessing import from_config
from aslsign.registry import zoo_dir
from aslsign.runtime import LiteRTModel

pytestmark = [requires_tf, pytest.mark.train]

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = zoo_dir() / aslsign.DEFAULT_MODEL


@pytest.fixture(scope="module")
def sequences(gislr_mini, gislr_gallery) -> list[np.ndarray]:
    """Real sequences of many lengths: every 3rd gislr-mini file, the gallery, and variants."""
    mini = pd.read_csv(gislr_mini / "train.csv")["path"].tolist()[::3]
    seqs = [load_sequence(gislr_mini / p) for p in mini]
    seqs += [load_sequence(p) for p in sorted(gislr_gallery.glob("**/*.parquet"))[:60]]
    base = max(seqs[:40], key=len)
    seqs += [base[:n] for n in (1, 2, 3, 5)]  # shorter than the lags
    seqs += [np.concatenate([base] * (500 // len(base) + 1))[:500]]  # longer than max_len
    no_centre = base.copy()
    no_centre[:, 17] = np.nan  # the centre landmark never seen: the 0.5 fallback
    seqs.append(no_centre)
    gaps = base.copy()
    gaps[::3] = np.nan  # empty frames in between
    seqs.append(gaps)
    return seqs


@pytest.fixture(scope="module", params=["hybrid_tiny.gislr_mini", "transformer_tiny.gislr_mini"])
def exported(request, tmp_path_factory) -> tuple[Path, Path]:
    """(artifact, its Kaggle export) of each bundled isolated-sign model."""
    from training_recipes.kaggle_gislr import export_kaggle_artifact

    artifact = zoo_dir() / request.param
    return artifact, export_kaggle_artifact(artifact, tmp_path_factory.mktemp("kaggle"))


def _pipelines() -> list[tuple[str, dict]]:
    """Each bundled preprocessing, and its options set both ways."""
    out = []
    for name, key, values in (
        ("hybrid_tiny.gislr_mini", "empty_frames", ("all", "selected")),
        ("transformer_tiny.gislr_mini", "mirror_lips", (True, False)),
    ):
        config = aslsign.ModelConfig.load(zoo_dir() / name / "config.json").preprocessing
        out += [(f"{config['name']}-{key}={v}", {**config, key: v}) for v in values]
    return out


@pytest.mark.parametrize("config", [c for _, c in _pipelines()], ids=[i for i, _ in _pipelines()])
def test_tf_preprocessing_equals_numpy(config, sequences, tmp_path):
    from training_recipes.kaggle_gislr import preprocessing_graph

    pre = from_config(config)
    path = tmp_path / "pre.tflite"
    path.write_bytes(preprocessing_graph(pre))
    graph = LiteRTModel(path)
    checked = 0
    for x in sequences:
        ref, used = pre.batch([x])  # padded to the pipeline's length, as the model sees it
        got = graph(inputs=x)["features"]
        if used[0] == 0:
            continue
        assert got.shape == ref.shape, (len(x), got.shape, ref.shape)
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)
        checked += 1
    assert checked >= 150
    lengths = {len(x) for x in sequences}
    assert min(lengths) == 1 and max(lengths) > 384


def test_export_matches_the_artifact(exported, sequences):
    artifact, kaggle_dir = exported
    assert (kaggle_dir / "model.tflite").stat().st_size <= 40 * 2**20
    labels = json.loads((kaggle_dir / "sign_to_prediction_index_map.json").read_text())
    with SignRecognizer.from_pretrained(artifact) as art:
        assert labels == {label: i for i, label in enumerate(art.labels)}
        ref = [art.predict(x) for x in sequences]
    with SignRecognizer.from_kaggle(kaggle_dir / "model.tflite") as kag:
        assert kag.config.input.shape == (None, lm.NUM_LANDMARKS, 3)
        got = [kag.predict(x) for x in sequences]
    compared = 0
    for a, b in zip(ref, got, strict=True):
        assert np.isfinite(b.probabilities).all()
        assert abs(b.probabilities.sum() - 1) < 1e-5
        if not a.detected:  # nothing detected: the runtime has no answer, Kaggle must give one
            continue
        np.testing.assert_allclose(b.probabilities, a.probabilities, rtol=0, atol=1e-4)
        assert np.argmax(a.probabilities) == np.argmax(b.probabilities)
        compared += 1
    assert compared >= 150


def test_nothing_detected_still_gives_probabilities(exported):
    model = LiteRTModel(exported[1] / "model.tflite")
    out = model(inputs=np.full((4, lm.NUM_LANDMARKS, 3), np.nan, np.float32))["outputs"]
    classes = len(json.loads((exported[1] / "sign_to_prediction_index_map.json").read_text()))
    assert out.shape == (classes,) and np.isfinite(out).all() and abs(out.sum() - 1) < 1e-5


def test_fp16_variant_export(tmp_path, sequences):
    from training_recipes.kaggle_gislr import export_kaggle_artifact

    fp32 = export_kaggle_artifact(DEFAULT, tmp_path / "fp32")
    fp16 = export_kaggle_artifact(DEFAULT, tmp_path / "fp16", variant="fp16")
    size = (fp16 / "model.tflite").stat().st_size
    assert size < 0.6 * (fp32 / "model.tflite").stat().st_size
    with (
        SignRecognizer.from_pretrained(DEFAULT, variant="fp16") as art,
        SignRecognizer.from_kaggle(fp16 / "model.tflite") as kag,
    ):
        for x in sequences[:30]:
            a, b = art.predict(x), kag.predict(x)
            np.testing.assert_allclose(b.probabilities, a.probabilities, atol=1e-4)


def test_command_line(tmp_path, gislr_mini):
    out = tmp_path / "submission"
    proc = subprocess.run(
        [
            sys.executable,
            "training_recipes/export.py",
            str(DEFAULT),
            "--format=kaggle",
            f"--out={out}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "wrote" in proc.stdout
    path = gislr_mini / pd.read_csv(gislr_mini / "train.csv")["path"].iloc[5]
    with (
        SignRecognizer.from_pretrained(out) as kag,  # a directory without config.json: Kaggle
        SignRecognizer.from_pretrained(DEFAULT) as art,
    ):
        assert kag.config.architecture == "kaggle_submission"
        assert kag.predict(path).label == art.predict(path).label


def test_refuses_what_it_cannot_export(tmp_path):
    from training_recipes.kaggle_gislr import export_kaggle_artifact

    with pytest.raises(ValueError, match="isolated-sign"):
        export_kaggle_artifact(zoo_dir() / aslsign.DEFAULT_FINGERSPELLING_MODEL, tmp_path / "x")
    proc = subprocess.run(
        [
            sys.executable,
            "training_recipes/export.py",
            str(zoo_dir() / aslsign.DEFAULT_FINGERSPELLING_MODEL),
            "--format=kaggle",
            f"--out={tmp_path / 'y'}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "fingerspelling.py --kaggle" in proc.stderr
