"""Interpreter backend selection and the LiteRTModel wrapper."""

from __future__ import annotations

import numpy as np
import pytest

import aslsign
from aslsign.errors import BackendNotAvailableError, ModelFileError, SignatureMismatchError
from aslsign.registry import zoo_dir
from aslsign.runtime import LiteRTModel, available_backends

MODEL = zoo_dir() / aslsign.DEFAULT_MODEL / "model.tflite"


def test_default_backend_is_ai_edge_litert():
    assert available_backends()[0] == "ai_edge_litert"
    assert LiteRTModel(MODEL).backend == "ai_edge_litert"


def test_backend_from_environment(monkeypatch):
    monkeypatch.setenv("ASLSIGN_BACKEND", "no_such_backend")
    with pytest.raises(BackendNotAvailableError, match="choose one of"):
        LiteRTModel(MODEL)


def test_tflite_runtime_explains_its_numpy_limit():
    if int(np.__version__.split(".")[0]) < 2:
        pytest.skip("numpy < 2: tflite_runtime may work here")
    with pytest.raises(BackendNotAvailableError, match="numpy<2"):
        LiteRTModel(MODEL, backend="tflite_runtime")


@pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated")
@pytest.mark.parametrize("backend", ["tensorflow"])
def test_other_backends_agree(backend):
    if backend not in available_backends():
        pytest.skip(f"{backend} is not installed")
    x = np.random.default_rng(0).normal(size=(2, 9, 708)).astype(np.float32)
    a = LiteRTModel(MODEL)(inputs=x)
    b = LiteRTModel(MODEL, backend=backend)(inputs=x)
    (key,) = a
    np.testing.assert_allclose(a[key], b[key], atol=1e-5)


def test_signature_inputs_and_shapes():
    m = LiteRTModel(MODEL, num_threads=1)
    assert m.signature == "serving_default"
    (info,) = m.inputs.values()
    assert info.shape == (-1, -1, 708) and info.dtype == np.float32
    for frames in (1, 5, 40):
        (out,) = m(inputs=np.zeros((3, frames, 708), np.float32)).values()
        assert out.shape == (3, 3)  # hello, thankyou and the background class
    with pytest.raises(SignatureMismatchError, match="takes inputs"):
        m(wrong=np.zeros((1, 1, 708), np.float32))


def test_missing_model_file(tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        LiteRTModel(tmp_path / "none.tflite")


def test_interpreters_follow_input_shapes_without_changing_results():
    """Calls with alternating shapes run on interpreters that already hold those shapes; the
    outputs equal those of one interpreter resized for every call, bit for bit."""
    rng = np.random.default_rng(3)
    xs = [rng.normal(size=(b, n, 708)).astype(np.float32) for b, n in
          [(1, 9), (1, 40), (2, 9), (1, 17), (3, 64), (1, 5)]]  # fmt: skip
    order = rng.integers(0, len(xs), size=60)
    one, pool = LiteRTModel(MODEL, max_interpreters=1), LiteRTModel(MODEL, max_interpreters=4)
    assert LiteRTModel(MODEL).max_interpreters == 2
    for i in order:
        a, b = one(inputs=xs[i])["output_0"], pool(inputs=xs[i])["output_0"]
        assert np.array_equal(a, b)
    assert len(one._slots) == 1 and len(pool._slots) == 4
    held = {slot[2] for slot in pool._slots}
    assert len(held) == 4  # four different shapes held at once
    last = pool._slots[-1][2]
    assert last == (("inputs", xs[order[-1]].shape),)
    with pytest.raises(ValueError, match="max_interpreters"):
        LiteRTModel(MODEL, max_interpreters=0)
    with pytest.raises(TypeError, match="max_interpreters"):
        LiteRTModel(MODEL, max_interpreters=True)
