"""FingerspellingRecognizer: Kaggle ASLFR submission models, aslsign CTC artifacts, task checks.

The Kaggle-format model is built here with plain TensorFlow (tests/kaggle_model.py; nothing of
aslsign's models or pipelines in it) and its transcriptions through aslsign are compared with
its signature called directly and read by argmax through the competition's character map.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import requires_tf

import aslsign
from aslsign import FingerspellingRecognizer, SignRecognizer
from aslsign.characters import CHARACTERS
from aslsign.errors import ConfigError, SignatureMismatchError, WrongTaskError


def direct_text(model_path: Path, columns: list[str], landmarks: np.ndarray, chars) -> str:
    """The Kaggle way: call the signature on the selected columns, argmax each output row."""
    from ai_edge_litert.interpreter import Interpreter

    from aslsign.landmarks import ASLFR_COLUMNS

    runner = Interpreter(model_path=str(model_path)).get_signature_runner("serving_default")
    flat = landmarks.transpose(0, 2, 1).reshape(len(landmarks), -1)  # ASLFR column order
    index = {c: i for i, c in enumerate(ASLFR_COLUMNS)}
    x = flat[:, [index[c] for c in columns]].astype(np.float32)
    try:
        out = runner(inputs=x)["outputs"]
    except ValueError:  # LiteRT cannot read an output with no rows
        return ""
    return "".join(chars[i] for i in out.argmax(axis=-1))


def sequences(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        x = rng.random((int(rng.integers(3, 60)), 543, 3), dtype=np.float32)
        x[rng.random(len(x)) < 0.2, 468:489] = np.nan
        out.append(x)
    return out


@pytest.fixture(scope="module")
def kaggle_dir(tmp_path_factory) -> tuple[Path, list[str]]:
    """A Kaggle ASLFR submission: model.tflite + inference_args.json (logit outputs)."""
    pytest.importorskip("tensorflow", reason="needs TensorFlow to build the test model")
    from kaggle_model import aslfr_columns, make_kaggle_aslfr_submission

    root = tmp_path_factory.mktemp("aslfr_kaggle")
    columns = aslfr_columns(seed=1)
    make_kaggle_aslfr_submission(root / "model.tflite", columns)
    (root / "inference_args.json").write_text(json.dumps({"selected_columns": columns}))
    return root, columns


@requires_tf
def test_kaggle_model_decodes_like_its_signature(kaggle_dir, label_maps):
    root, columns = kaggle_dir
    char_map = label_maps / "character_to_prediction_index.json"
    competition = aslsign.characters.read_character_map(char_map)
    assert competition == CHARACTERS  # the packaged map is the competition's
    with FingerspellingRecognizer.from_kaggle(root / "model.tflite", char_map=char_map) as rec:
        assert rec.config.task == "fingerspelling" and rec.characters == CHARACTERS
        seqs = sequences(12)
        results = [rec.predict(x) for x in seqs]
        texts = [direct_text(root / "model.tflite", columns, x, competition) for x in seqs]
        assert [r.text for r in results] == texts
        assert sum(len(t) for t in texts) > 30, "the test model should spell something"
        for r in results:
            assert len(r.characters) == len(r.text)
            assert all(0.0 < c <= 1.0 for c in r.confidences)
            assert 0.0 < r.confidence <= 1.0 if r.text else r.confidence == 0.0
        assert [r.text for r in rec.predict_batch(seqs)] == texts
    # found by from_pretrained: a directory without config.json, or the bare .tflite
    with FingerspellingRecognizer.from_pretrained(root) as rec:
        assert rec.predict(seqs[0]).text == texts[0]
    with FingerspellingRecognizer.from_pretrained(
        root / "model.tflite", inference_args={"selected_columns": columns}
    ) as rec:
        assert rec.predict(seqs[1]).text == texts[1]
    with aslsign.load_recognizer(root) as rec:
        assert isinstance(rec, FingerspellingRecognizer)


@requires_tf
def test_kaggle_model_with_probability_outputs(tmp_path):
    from kaggle_model import aslfr_columns, make_kaggle_aslfr_submission

    columns = aslfr_columns(seed=2)
    path = make_kaggle_aslfr_submission(tmp_path / "m.tflite", columns, probabilities=True)
    with FingerspellingRecognizer.from_kaggle(path, {"selected_columns": columns}) as rec:
        for x in sequences(5, seed=3):
            r = rec.predict(x)
            assert r.text == direct_text(path, columns, x, CHARACTERS)
            out = rec._model(inputs=rec.preprocessor(x))["outputs"]  # type: ignore[union-attr]
            np.testing.assert_allclose(r.confidences, out.max(axis=-1), rtol=1e-6)


@requires_tf
def test_kaggle_model_on_an_aslfr_file_and_no_detection(kaggle_dir, tmp_path):
    root, _ = kaggle_dir
    seqs = dict(enumerate(sequences(6, seed=4), start=100))
    path = aslsign.write_fingerspelling(tmp_path / "file.parquet", seqs)
    with FingerspellingRecognizer.from_pretrained(root) as rec:
        for sid, x in seqs.items():
            assert rec.predict(path, sequence_id=sid).text == rec.predict(x).text
        nothing = rec.predict(np.full((9, 543, 3), np.nan, np.float32))
        assert nothing.text == "" and not nothing.detected and nothing.num_frames == 9
        assert nothing.characters == () and nothing.confidence == 0.0
        with pytest.raises(aslsign.SequenceNotFoundError):
            rec.predict(path, sequence_id=5)


@requires_tf
def test_kaggle_errors(kaggle_dir, tmp_path):
    root, columns = kaggle_dir
    alone = tmp_path / "alone.tflite"
    shutil.copy(root / "model.tflite", alone)
    with pytest.raises(ConfigError, match="inference_args"):
        FingerspellingRecognizer.from_kaggle(alone)
    with pytest.raises(ConfigError, match="selected_columns"):
        FingerspellingRecognizer.from_kaggle(alone, {"columns": columns})
    with pytest.raises(SignatureMismatchError, match="selects 3"):
        FingerspellingRecognizer.from_kaggle(alone, {"selected_columns": columns[:3]})
    with pytest.raises(WrongTaskError, match="FingerspellingRecognizer"):
        SignRecognizer.from_kaggle(alone, {"hello": 0})


@requires_tf
def test_a_gislr_kaggle_model_is_refused_with_the_right_name(tmp_path):
    from kaggle_model import make_kaggle_submission

    path = make_kaggle_submission(tmp_path / "gislr.tflite", num_classes=4)
    with pytest.raises(WrongTaskError, match="SignRecognizer"):
        FingerspellingRecognizer.from_kaggle(path, {"selected_columns": ["x_face_0"]})


def test_a_sign_model_is_refused_with_the_right_name():
    with pytest.raises(WrongTaskError, match=r"aslsign\.SignRecognizer\.from_pretrained"):
        FingerspellingRecognizer.from_pretrained(aslsign.DEFAULT_MODEL)


def test_beam_width_is_checked():
    with pytest.raises(ValueError, match="beam_width"):
        FingerspellingRecognizer.from_pretrained(beam_width=0)


# ----------------------------------------------------------------------------- CTC artifacts


@pytest.fixture(scope="module")
def ctc_artifact(tmp_path_factory) -> Path:
    """A small untrained CTC encoder exported by the recipe's own code."""
    pytest.importorskip("tensorflow", reason="needs TensorFlow to build the test model")
    import keras

    from aslsign.preprocessing import FingerspellingPreprocessor
    from training_recipes import export
    from training_recipes.fingerspelling import ARCHITECTURE, BLANK, STRIDE, build_model

    keras.utils.set_random_seed(0)
    pre = FingerspellingPreprocessor(max_len=48)
    model = build_model(channels=pre.num_features[0], dim=32, pre_blocks=1, num_stages=1)
    # sharpen the untrained head so that it spells varied characters, not only blanks
    kernel, bias = model.get_layer("classifier").get_weights()
    model.get_layer("classifier").set_weights([kernel * 8, bias])
    out = tmp_path_factory.mktemp("ctc") / "artifact"
    export.write_artifact(
        out,
        model,
        name="ctc-test",
        architecture=ARCHITECTURE,
        architecture_args={"dim": 32},
        labels=(*CHARACTERS, BLANK),
        preprocessor=pre,
        training={"recipe": "tests (untrained)"},
        task="fingerspelling",
        decoding={"type": "ctc", "blank_index": len(CHARACTERS), "output_stride": STRIDE},
    )
    (out / "README.md").write_text("# ctc-test\n\nUntrained.\n")
    return out


def hand_sequences(gislr_mini: Path, n: int) -> list[np.ndarray]:
    ds = aslsign.GislrDataset(gislr_mini)
    return [r.load() for r in list(ds)[:n]]


@requires_tf
def test_ctc_artifact_batch_equals_single_and_beam_runs(ctc_artifact, gislr_mini):
    seqs = hand_sequences(gislr_mini, 30)
    with FingerspellingRecognizer.from_pretrained(ctc_artifact) as rec:
        single = [rec.predict(x) for x in seqs]
        assert sum(len(r.text) for r in single) > 20
        for kwargs in ({}, {"batch_size": 3, "max_batch_frames": 50}):
            batch = rec.predict_batch(seqs, **kwargs)
            assert [b.text for b in batch] == [s.text for s in single]
            for a, b in zip(single, batch, strict=True):
                np.testing.assert_allclose(a.confidences, b.confidences, atol=1e-5)
        beams = rec.predict_batch(seqs, beam_width=8)
        for greedy, beam in zip(single, beams, strict=True):
            assert beam.log_prob >= greedy.log_prob - 1e-4  # a labelling's mass >= one path's
    with pytest.raises(WrongTaskError, match="FingerspellingRecognizer"):
        SignRecognizer.from_pretrained(ctc_artifact)
    with aslsign.load_recognizer(ctc_artifact, beam_width=2) as rec:
        assert isinstance(rec, FingerspellingRecognizer) and rec.beam_width == 2


@requires_tf
def test_text_is_the_greedy_decoding_of_the_model_output(ctc_artifact, gislr_mini):
    from aslsign.ctc import greedy_decode, log_softmax

    seqs = hand_sequences(gislr_mini, 8)
    with FingerspellingRecognizer.from_pretrained(ctc_artifact) as rec:
        got = [rec.predict(x).text for x in seqs]
        features = [rec.preprocessor(x) for x in seqs]
        out_name = rec.config.output.name
    tflite = aslsign.runtime.LiteRTModel(ctc_artifact / "model.tflite")
    for f, text in zip(features, got, strict=True):
        logits = tflite(inputs=f[None])[out_name][0]
        assert len(logits) == -(-len(f) // 2)  # one output step per two frames
        tokens = greedy_decode(log_softmax(logits), blank=len(CHARACTERS)).tokens
        assert "".join(CHARACTERS[t] for t in tokens) == text


@requires_tf
def test_kaggle_export_decodes_like_the_artifact(gislr_mini, tmp_path):
    import keras

    from aslsign.preprocessing import FingerspellingPreprocessor
    from training_recipes import export
    from training_recipes.fingerspelling import BLANK, STRIDE, build_model
    from training_recipes.kaggle_aslfr import export_kaggle

    pre = FingerspellingPreprocessor(max_len=48)

    keras.utils.set_random_seed(1)
    model = build_model(channels=pre.num_features[0], dim=32, pre_blocks=1, num_stages=1)
    kernel, bias = model.get_layer("classifier").get_weights()
    model.get_layer("classifier").set_weights([kernel * 8, bias])
    art = tmp_path / "artifact"
    export.write_artifact(
        art,
        model,
        name="pair",
        architecture="ctc_hybrid",
        architecture_args={},
        labels=(*CHARACTERS, BLANK),
        preprocessor=pre,
        training={},
        task="fingerspelling",
        decoding={"type": "ctc", "blank_index": len(CHARACTERS), "output_stride": STRIDE},
    )
    kaggle = export_kaggle(model, pre, tmp_path / "kaggle", blank=len(CHARACTERS))
    assert {p.name for p in kaggle.iterdir()} == {
        "model.tflite",
        "inference_args.json",
        "character_to_prediction_index.json",
    }
    seqs = hand_sequences(gislr_mini, 40)
    seqs.append(seqs[0][:1])  # one frame
    seqs.append(np.full((4, 543, 3), np.nan, np.float32))  # nothing detected
    long = np.concatenate(seqs[:6])  # longer than max_len: resampled in both
    seqs.append(long)
    assert len(pre.select(long)) == pre.max_len
    with (
        FingerspellingRecognizer.from_pretrained(art) as ours,
        FingerspellingRecognizer.from_kaggle(kaggle / "model.tflite") as theirs,
    ):
        a = [r.text for r in ours.predict_batch(seqs)]
        b = [r.text for r in theirs.predict_batch(seqs)]
    assert a == b
    assert sum(len(t) for t in a) > 20
