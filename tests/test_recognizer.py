"""SignRecognizer with the bundled default model and a real LiteRT interpreter."""

from __future__ import annotations

import json
import shutil
import threading

import numpy as np
import pytest

import aslsign
from aslsign import SignRecognizer
from aslsign.errors import (
    ConfigError,
    InputShapeError,
    ModelFileError,
    ModelNotFoundError,
    SignatureMismatchError,
)
from aslsign.registry import zoo_dir


@pytest.fixture(scope="module")
def rec():
    with SignRecognizer.from_pretrained() as r:
        yield r


@pytest.fixture(scope="module")
def mini(gislr_mini):
    """Real gislr-mini records. The bundled model trained on all 12 signers of gislr-mini; its
    accuracy on signers it never saw is the cross-validation its recipe ran (checked below)."""
    return aslsign.GislrDataset(gislr_mini)


def test_default_model_knows_hello_and_thankyou(rec):
    assert rec.labels == ("hello", "thankyou", "<other>") and rec.config.background_index == 2
    assert rec.vocabulary == ("hello", "thankyou")
    assert rec.score_threshold is not None and 0 < rec.score_threshold < 1


def test_default_model_was_cross_validated_on_unseen_signers(gislr_mini):
    config = aslsign.ModelConfig.load(zoo_dir() / aslsign.DEFAULT_MODEL / "config.json")
    cv = config.metrics["cv"]
    folds = [p for f in cv["folds"] for p in f["participants"]]
    assert sorted(folds) == aslsign.GislrDataset(gislr_mini).participants  # every signer once
    assert cv["count"] == len(aslsign.GislrDataset(gislr_mini))
    assert cv["top1"] >= 0.98 and cv["correct"] == round(cv["top1"] * cv["count"])


def test_accuracy(rec, mini, gislr_gallery):
    records = list(mini)
    results = rec.predict_batch([r.path for r in records])
    accuracy = np.mean([res.label == r.sign for res, r in zip(results, records, strict=True)])
    assert accuracy >= 0.97, f"accuracy on its training signers {accuracy:.3f}"
    # the gallery's recordings of the two signs come from another export of GISLR
    for sign in ("hello", "thankyou"):
        assert rec.predict(gislr_gallery / "parquet" / f"{sign}.parquet").label == sign


def test_result_object(rec, mini):
    record = mini[0]
    result = rec.predict(record.path, top_k=1)
    assert isinstance(result.top_k[0], aslsign.Category)
    assert len(result.top_k) == 1 and result.detected
    assert result.label == result.top_k[0].label == rec.labels[result.index]
    assert result.score == pytest.approx(float(result.probabilities.max()))
    assert result.probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    assert result.num_frames == len(aslsign.load_sequence(record.path))
    assert 0 < result.num_frames_used <= result.num_frames
    assert len(rec.predict(record.path).top_k) == 2  # top_k is capped at the class count


def test_predict_batch_equals_predict(rec, mini):
    records = list(mini)[:20]
    single = [rec.predict(r.path) for r in records]
    paths = [r.path for r in records]
    # several windows of 8 * batch_size, frame budgets that split batches, and the defaults
    for kwargs in ({"batch_size": 2, "max_batch_frames": 40}, {"batch_size": 7}, {}):
        batch = rec.predict_batch(paths, **kwargs)
        assert [b.num_frames for b in batch] == [a.num_frames for a in single]
        for a, b in zip(single, batch, strict=True):
            np.testing.assert_allclose(a.probabilities, b.probabilities, atol=1e-5)
            assert a.label == b.label
    with pytest.raises(ValueError, match="max_batch_frames"):
        rec.predict_batch(paths, max_batch_frames=0)


def test_predict_batch_reads_files_ahead_in_order_and_lazily(rec, mini, tmp_path):
    """Files are read by threads ahead of inference: order kept, mixed inputs fine, a
    generator is consumed as it goes, and a bad file raises where a loop would."""
    records = list(mini)[:30]
    paths = [r.path for r in records]
    single = [rec.predict(p) for p in paths]
    pulled = []

    def gen():
        for p in paths:
            pulled.append(p)
            yield p

    mixed = [p if i % 3 else aslsign.load_sequence(p) for i, p in enumerate(paths)]
    for source in (gen(), mixed):
        batch = rec.predict_batch(source, batch_size=2)
        assert [b.label for b in batch] == [a.label for a in single]
        for a, b in zip(single, batch, strict=True):
            np.testing.assert_allclose(a.probabilities, b.probabilities, atol=1e-5)
    assert pulled == paths
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet")
    with pytest.raises(aslsign.LandmarkFileError, match=r"bad\.parquet"):
        rec.predict_batch([*paths[:5], bad, *paths[5:]])


def test_all_nan_sequence_returns_no_detection(rec):
    nothing = np.full((12, 543, 3), np.nan, np.float32)
    result = rec.predict(nothing)
    assert not result.detected
    assert result.label is None and result.score == 0.0 and result.top_k == ()
    assert result.num_frames == 12 and result.num_frames_used == 0
    assert not result.probabilities.any() and result.probabilities.shape == (3,)
    assert rec.predict_batch([nothing])[0].label is None


def test_input_errors(rec):
    with pytest.raises(InputShapeError, match="543"):
        rec.predict(np.zeros((5, 540, 3), np.float32))
    with pytest.raises(aslsign.EmptySequenceError):
        rec.predict(np.zeros((0, 543, 3), np.float32))
    with pytest.raises(aslsign.LandmarkFileError):
        rec.predict("no/such/file.parquet")


def test_threads_share_one_recognizer(rec, mini):
    paths = [r.path for r in list(mini)[:24]]
    expected = [rec.predict(p).probabilities for p in paths]
    got: dict[int, np.ndarray] = {}
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for i in range(offset, len(paths), 4):
                got[i] = rec.predict(paths[i]).probabilities
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i, probs in enumerate(expected):
        np.testing.assert_allclose(got[i], probs, atol=1e-6)


def test_close_is_idempotent():
    r = SignRecognizer.from_pretrained(num_threads=1)
    with r:
        pass
    r.close()
    with pytest.raises(RuntimeError, match="closed"):
        r.predict(np.random.default_rng(0).random((4, 543, 3)))


@pytest.fixture()
def artifact_copy(tmp_path):
    dst = tmp_path / "model"
    shutil.copytree(zoo_dir() / aslsign.DEFAULT_MODEL, dst)
    return dst


def _edit_config(path, **changes):
    data = json.loads((path / "config.json").read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    (path / "config.json").write_text(json.dumps(data))


def test_local_directory_loads(artifact_copy):
    assert SignRecognizer.from_pretrained(artifact_copy).vocabulary == ("hello", "thankyou")


def test_unknown_model_name():
    with pytest.raises(ModelNotFoundError, match="bundled model name"):
        SignRecognizer.from_pretrained("no_such_model")


def test_missing_config_field(artifact_copy):
    _edit_config(artifact_copy, labels=None)
    with pytest.raises(ConfigError, match="labels"):
        SignRecognizer.from_pretrained(artifact_copy)


def test_corrupt_config(artifact_copy):
    (artifact_copy / "config.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        SignRecognizer.from_pretrained(artifact_copy)


def test_corrupt_model_file(artifact_copy):
    (artifact_copy / "model.tflite").write_bytes(b"\x00garbage" * 100)
    with pytest.raises(ModelFileError, match="sha256"):
        SignRecognizer.from_pretrained(artifact_copy)
    with pytest.raises(ModelFileError, match="not a loadable TFLite model"):
        SignRecognizer.from_pretrained(artifact_copy, verify=False)


def test_signature_that_does_not_fit_the_config(artifact_copy):
    _edit_config(artifact_copy, labels=["a", "b", "c", "d"], background_label="d")
    with pytest.raises(SignatureMismatchError, match="3 classes but the config lists 4"):
        SignRecognizer.from_pretrained(artifact_copy)
    _edit_config(
        artifact_copy,
        labels=["a", "b", "c"],
        background_label="c",
        input={"name": "x", "dtype": "float32", "shape": [None, None, 708]},
    )
    with pytest.raises(SignatureMismatchError, match="promises input 'x'"):
        SignRecognizer.from_pretrained(artifact_copy)
    _edit_config(
        artifact_copy,
        input=json.loads((zoo_dir() / aslsign.DEFAULT_MODEL / "config.json").read_text())["input"],
        preprocessing={"name": "gislr_1st", "lags": [1]},
    )
    with pytest.raises(SignatureMismatchError, match="472"):
        SignRecognizer.from_pretrained(artifact_copy)
