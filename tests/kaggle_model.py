"""Build small models in the Kaggle GISLR submission format with plain TensorFlow (tests only).

A Kaggle "Google - Isolated Sign Language Recognition" submission is a ``.tflite`` whose
``serving_default`` signature takes ``inputs`` float32 ``[frames, 543, 3]`` (raw MediaPipe
Holistic landmarks, NaN where not detected) and returns ``outputs`` ``[num_signs]``
probabilities; all preprocessing lives inside the graph. :func:`make_kaggle_submission` builds
such a model with fixed random weights (seeded NumPy, held as ``tf.constant``), using TFLite
builtin ops only (no Flex / SELECT_TF_OPS). TensorFlow is imported lazily.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from aslsign import landmarks as lm

__all__ = ["make_kaggle_submission", "make_tiny_model"]


def _selected_landmarks() -> np.ndarray:
    return np.asarray(lm.LIPS + lm.HANDS, np.int32)


def _convert(module, fn, path: Path) -> Path:
    """SavedModel with a ``serving_default`` signature -> builtin-ops-only ``.tflite``."""
    import tensorflow as tf

    with tempfile.TemporaryDirectory(prefix="kaggle-savedmodel-") as tmp:
        tf.saved_model.save(module, tmp, signatures={"serving_default": fn.get_concrete_function()})
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        data = converter.convert()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def make_kaggle_submission(
    path: Path,
    num_classes: int = 250,
    seed: int = 0,
    *,
    logits: bool = False,
    output_shape: str = "static",
) -> Path:
    """Write a Kaggle GISLR submission-format ``.tflite`` to ``path`` and return ``path``.

    The graph selects the lip + hand landmarks (``tf.gather``), keeps x/y, normalises them by
    the nan-mean and nan-std of the detected points, replaces NaN with 0, pools the frames
    (mean and max absolute value), and applies two dense layers with fixed random weights and
    a softmax, so different sequences give clearly different probabilities.

    As competitors' models in the wild do, it may return the ``logits`` instead (the
    competition scored the argmax), and ``output_shape`` may be ``"static"`` (``[250]``),
    ``"dynamic"`` (shape signature ``[-1]``: its size is known only after a call) or
    ``"batch"`` (``[1, 250]``).
    """
    import tensorflow as tf

    idx = _selected_landmarks()
    n_feat = len(idx) * 2 * 2  # x/y, mean + max-abs pooling
    hidden = 64
    rng = np.random.default_rng(seed)
    w1 = (rng.standard_normal((n_feat, hidden)) / np.sqrt(n_feat) * 2.0).astype(np.float32)
    b1 = (rng.standard_normal(hidden) * 0.1).astype(np.float32)
    w2 = (rng.standard_normal((hidden, num_classes)) / np.sqrt(hidden) * 4.0).astype(np.float32)
    b2 = (rng.standard_normal(num_classes) * 0.1).astype(np.float32)

    class KaggleSubmission(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.idx = tf.constant(idx)
            self.w1, self.b1 = tf.constant(w1), tf.constant(b1)
            self.w2, self.b2 = tf.constant(w2), tf.constant(b2)

        @tf.function(
            input_signature=[tf.TensorSpec([None, lm.NUM_LANDMARKS, 3], tf.float32, name="inputs")]
        )
        def __call__(self, inputs):
            x = tf.gather(inputs, self.idx, axis=1)[:, :, :2]  # (T, K, 2)
            nan = tf.math.is_nan(x)
            seen = tf.cast(tf.logical_not(nan), tf.float32)
            x0 = tf.where(nan, tf.zeros_like(x), x)
            count = tf.maximum(tf.reduce_sum(seen), 1.0)
            mean = tf.reduce_sum(x0) / count
            var = tf.reduce_sum(tf.square(x0 - mean) * seen) / count
            x = (x0 - mean) * tf.math.rsqrt(var + 1e-6) * seen  # undetected -> 0
            x = tf.reshape(x, [-1, len(idx) * 2])  # (T, K*2)
            pooled = tf.concat([tf.reduce_mean(x, 0), tf.reduce_max(tf.abs(x), 0)], 0)
            h = tf.nn.relu(tf.matmul(pooled[None], self.w1) + self.b1)
            scores = tf.matmul(h, self.w2) + self.b2  # (1, classes)
            if not logits:
                scores = tf.nn.softmax(scores)
            if output_shape == "batch":
                return {"outputs": scores}
            if output_shape == "dynamic":  # a slice end that depends on the input: [-1]
                return {"outputs": scores[0, : tf.shape(inputs)[0] + num_classes]}
            return {"outputs": scores[0]}

    module = KaggleSubmission()
    return _convert(module, module.__call__, path)


def make_tiny_model(path: Path, input_name: str = "x", output_name: str = "outputs") -> Path:
    """A tiny ``.tflite`` taking ``[frames, 543, 3]`` under another input name (not Kaggle)."""
    import tensorflow as tf

    class Tiny(tf.Module):
        @tf.function(
            input_signature=[
                tf.TensorSpec([None, lm.NUM_LANDMARKS, 3], tf.float32, name=input_name)
            ]
        )
        def __call__(self, x):
            x = tf.where(tf.math.is_nan(x), tf.zeros_like(x), x)
            return {output_name: tf.nn.softmax(tf.reduce_mean(x, axis=[0, 1]))}

    module = Tiny()
    return _convert(module, module.__call__, path)


def aslfr_columns(seed: int = 0, count: int = 100) -> list[str]:
    """A Kaggle-style ``selected_columns`` list: both hands' x/y plus some pose and face points."""
    from aslsign.landmarks import ASLFR_COLUMNS

    hands = [c for c in ASLFR_COLUMNS if "hand" in c and not c.startswith("z")]
    rng = np.random.default_rng(seed)
    others = [c for c in ASLFR_COLUMNS if "hand" not in c]
    return hands + list(rng.choice(others, count - len(hands), replace=False))


def make_kaggle_aslfr_submission(
    path: Path, columns: list[str], *, probabilities: bool = False, seed: int = 0
) -> Path:
    """Write a Kaggle ASLFR submission-format ``.tflite`` (builtin ops only) to ``path``.

    ``serving_default``: ``inputs`` float32 [frames, len(columns)] (NaN kept) -> ``outputs``
    [frames // 3, 59]: NaN -> 0, the frames are averaged in groups of three, and a fixed random
    two-layer network scores the 59 characters per group (logits, or softmax probabilities
    with ``probabilities``). Nothing of aslsign's own models or pipelines is used.
    """
    import tensorflow as tf

    n = len(columns)
    rng = np.random.default_rng(seed)
    w1 = (rng.standard_normal((n, 48)) / np.sqrt(n) * 3.0).astype(np.float32)
    w2 = (rng.standard_normal((48, 59)) / np.sqrt(48) * 3.0).astype(np.float32)
    b2 = (rng.standard_normal(59) * 0.5).astype(np.float32)

    class AslfrSubmission(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w1, self.w2, self.b2 = tf.constant(w1), tf.constant(w2), tf.constant(b2)

        @tf.function(input_signature=[tf.TensorSpec([None, n], tf.float32, name="inputs")])
        def __call__(self, inputs):
            x = tf.where(tf.math.is_nan(inputs), tf.zeros_like(inputs), inputs)
            groups = tf.shape(x)[0] // 3
            x = tf.reduce_mean(tf.reshape(x[: groups * 3], (groups, 3, n)), axis=1)
            logits = tf.matmul(tf.nn.tanh(tf.matmul(x - 0.5, self.w1)), self.w2) + self.b2
            return {"outputs": tf.nn.softmax(logits) if probabilities else logits}

    module = AslfrSubmission()
    return _convert(module, module.__call__, path)
