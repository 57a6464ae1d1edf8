"""Export an isolated-sign artifact as a Kaggle GISLR submission model.

The Kaggle "Google - Isolated Sign Language Recognition" format: ``model.tflite`` with a
``serving_default`` signature taking ``inputs`` float32 ``[frames, 543, 3]`` (raw landmarks, NaN
where not detected) and returning ``outputs`` float32 ``[signs]`` (here: probabilities), read
through ``sign_to_prediction_index_map.json``; the competition allowed at most 40 MB.

The artifact's ``model.tflite`` goes in unchanged: this module writes the artifact's
preprocessing in TensorFlow ops (the NumPy pipeline of :mod:`aslsign.preprocessing` stays the
one the runtime and training use; a test holds the two equal on real sequences), converts it to
its own small TFLite graph, and joins three graphs into one at the flatbuffer level
(:func:`chain_tflite`)::

    inputs [frames, 543, 3] -> preprocessing -> [1, frames', features]
        -> the artifact's model.tflite -> [1, signs] logits -> softmax -> outputs [signs]

so the submission holds exactly the weights and operators of the artifact (no Keras model is
needed: any artifact, bundled or downloaded, can be exported), and its probabilities equal the
artifact's up to float rounding. Pipelines written in TensorFlow here: ``gislr_1st`` (the
hybrid) and ``wijkhuizen`` (the Transformer).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from aslsign.config import ModelConfig
from aslsign.landmarks import LEFT_HAND, LIPS, NUM_LANDMARKS, RIGHT_HAND
from aslsign.preprocessing import (
    MAX_ABS_FEATURE,
    Gislr1stPreprocessor,
    WijkhuizenPreprocessor,
    from_config,
)
from aslsign.preprocessing.wijkhuizen import NUM_COORDS, NUM_POINTS, PAD_INDEX
from training_recipes.tf_ops import nan_mean

__all__ = [
    "KAGGLE_MAX_BYTES",
    "chain_tflite",
    "export_and_compare",
    "export_kaggle_artifact",
    "preprocessing_graph",
    "tf_gislr_1st",
    "tf_wijkhuizen",
]

#: The competition's limit on the submission's model.tflite.
KAGGLE_MAX_BYTES = 40 * 1024 * 1024
LABEL_MAP_FILE = "sign_to_prediction_index_map.json"


# ----------------------------------------------------------------------------- TF preprocessing


def tf_gislr_1st(pre: Gislr1stPreprocessor, landmarks: Any) -> Any:
    """The ``gislr_1st`` features of one ``(frames, 543, 3)`` sequence in TensorFlow ops:
    ``(frames', 708)``, as :class:`aslsign.preprocessing.Gislr1stPreprocessor` computes them."""
    import tensorflow as tf

    x = landmarks
    if pre.drop_empty_frames:
        rows = x if pre.empty_frames == "all" else tf.gather(x, pre.points, axis=1)
        seen = tf.reduce_any(tf.logical_not(tf.math.is_nan(rows)), axis=(1, 2))
        x = tf.gather(x, tf.reshape(tf.where(seen), (-1,)), axis=0)
    sel = tf.gather(x[:, :, :2], np.append(pre.points, pre.center_landmark), axis=1)
    center = nan_mean(sel[:, -1], axis=0)  # (2,), over every kept frame
    center = tf.where(tf.math.is_nan(center), pre.center_fallback, center)
    pts = sel[:, :-1] - center
    std = tf.sqrt(nan_mean(pts * pts, axis=(0, 1)))  # per coordinate, before truncation
    pts = pts[: pre.max_len] / std
    frames = tf.shape(pts)[0]
    values = tf.reshape(pts, (frames, pre.num_points * 2))  # [p0.x, p0.y, p1.x, ...]
    blocks = [values]
    for lag in pre.lags:
        diff = values[lag:] - values[:-lag]
        blocks.append(tf.concat([diff, tf.zeros((tf.minimum(lag, frames), values.shape[1]))], 0))
    out = tf.concat(blocks, axis=-1)
    out = tf.where(tf.math.is_finite(out), out, tf.fill(tf.shape(out), pre.nan_fill))
    return tf.clip_by_value(out, -MAX_ABS_FEATURE, MAX_ABS_FEATURE)


def _pool_weights(kept: Any, total: Any, frames: int) -> Any:
    """:func:`aslsign.preprocessing.wijkhuizen.pool_weights` in TensorFlow: ``(frames, kept)``
    counts of each kept frame in each output window (meaningful when ``kept >= frames``)."""
    import tensorflow as tf

    square = frames * frames
    repeats = tf.where(kept < square, tf.maximum(1, square // tf.maximum(total, 1)), 1)
    length = kept * repeats
    per = (length + frames - 1) // frames
    extra = per * frames - length
    before = extra // 2 + frames // 2
    after = extra - extra // 2 + frames - frames // 2
    repeated = tf.reshape(tf.tile(tf.range(kept)[:, None], tf.stack([1, repeats])), (-1,))
    source = tf.concat(
        [tf.zeros((before,), tf.int32), repeated, tf.fill((after,), kept - 1)], axis=0
    )
    window = tf.range(tf.size(source)) // (per + 1)
    cells = frames * kept
    segment = tf.clip_by_value(window * kept + source, 0, tf.maximum(cells - 1, 0))
    counts = tf.math.unsorted_segment_sum(
        tf.ones_like(segment, tf.float32), segment, tf.maximum(cells, 1)
    )
    return tf.reshape(counts[:cells], (frames, kept))


def tf_wijkhuizen(pre: WijkhuizenPreprocessor, landmarks: Any) -> Any:
    """The ``wijkhuizen`` features of one ``(frames, 543, 3)`` sequence in TensorFlow ops:
    ``(pre.frames, 133)`` with padding rows, as ``WijkhuizenPreprocessor.batch`` makes them."""
    import tensorflow as tf

    x, frames = landmarks, pre.frames
    seen = tf.logical_not(tf.math.is_nan(x))
    left = tf.reduce_sum(tf.cast(tf.gather(seen, LEFT_HAND, axis=1), tf.int32))
    right = tf.reduce_sum(tf.cast(tf.gather(seen, RIGHT_HAND, axis=1), tf.int32))
    is_left = left >= right  # the left hand wins a tie
    hand = tf.where(is_left, np.array(LEFT_HAND, np.int32), np.array(RIGHT_HAND, np.int32))
    keep = tf.reshape(tf.where(tf.reduce_any(tf.gather(seen, hand, axis=1), axis=(1, 2))), (-1,))
    kept = tf.size(keep)
    # nothing kept: go on with frame 0 (no zero-size tensors), and mark every row padding below
    keep = tf.concat([tf.cast(keep, tf.int32), [0]], axis=0)[: tf.maximum(kept, 1)]
    seen_any = kept > 0
    kept = tf.maximum(kept, 1)
    rows = tf.where(is_left, pre.rows("left").astype(np.int32), pre.rows("right").astype(np.int32))
    coords = tf.gather(tf.gather(x, keep, axis=0), rows, axis=1)[:, :, :2]  # (n, 66, 2)
    flipped = np.zeros((NUM_POINTS, 1), bool)
    flipped[0 if pre.mirror_lips else len(LIPS) :] = True
    flip = tf.logical_and(tf.logical_not(is_left), flipped)
    coords = tf.concat(
        [tf.where(flip, 1.0 - coords[..., :1], coords[..., :1]), coords[..., 1:]], axis=-1
    )
    index = tf.cast(keep - tf.reduce_min(keep), tf.float32)
    flat = tf.reshape(coords, (kept, NUM_COORDS))
    identity = tf.cast(tf.equal(tf.range(frames)[:, None], tf.range(kept)[None, :]), tf.float32)
    weights = tf.where(kept >= frames, _pool_weights(kept, tf.shape(x)[0], frames), identity)
    valid = tf.logical_not(tf.math.is_nan(flat))
    pooled = tf.matmul(weights, tf.where(valid, flat, 0.0)) / tf.matmul(
        weights, tf.cast(valid, tf.float32)
    )
    position = tf.matmul(weights, index[:, None])[:, 0] / tf.reduce_sum(weights, axis=1)
    real = tf.logical_and(tf.range(frames) < tf.minimum(kept, frames), seen_any)
    top = tf.reduce_max(tf.where(real, position, 0.0))
    position = tf.where(top > 0, position / tf.maximum(top, 1e-30), 0.0)
    position = tf.where(real, position, PAD_INDEX)
    z = (pooled - pre._mean) / pre._std
    z = tf.where(tf.logical_or(tf.math.is_nan(z), tf.logical_not(real[:, None])), 0.0, z)
    z = tf.clip_by_value(z, -MAX_ABS_FEATURE, MAX_ABS_FEATURE)
    return tf.concat([position[:, None], z], axis=-1)


_TF_PIPELINES: dict[str, Any] = {"gislr_1st": tf_gislr_1st, "wijkhuizen": tf_wijkhuizen}


def preprocessing_graph(pre: Any) -> bytes:
    """A TFLite graph ``inputs [frames, 543, 3] -> [1, frames', features]`` of ``pre``.

    A sequence in which nothing is left after preprocessing gives one frame of ``nan_fill``
    instead of none, so that the model after it always runs (the runtime does not run the
    model then; such a sequence has no answer).
    """
    import tensorflow as tf

    write = _TF_PIPELINES.get(pre.name)
    if write is None:
        raise NotImplementedError(
            f"The Kaggle export writes the {sorted(_TF_PIPELINES)} preprocessing in TensorFlow; "
            f"this artifact uses {pre.name!r}."
        )
    width = pre.num_features[0]

    @tf.function(
        input_signature=[tf.TensorSpec([None, NUM_LANDMARKS, 3], tf.float32, name="inputs")]
    )
    def graph(inputs: Any) -> Any:
        features = write(pre, inputs)
        at_least_one = tf.maximum(tf.shape(features)[0], 1)
        filler = tf.fill((1, width), tf.constant(getattr(pre, "nan_fill", 0.0), tf.float32))
        features = tf.concat([features, filler], axis=0)[:at_least_one]
        return {"features": features[None]}

    return chain_tflite([_convert(graph)], "inputs", "features")  # one graph: names it


def _softmax_graph(num_classes: int, logits: bool) -> bytes:
    """``[1, classes] -> outputs [classes]`` (a softmax first when the model gives logits)."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([1, num_classes], tf.float32, name="scores")])
    def graph(scores: Any) -> Any:
        probs = tf.nn.softmax(scores, axis=-1) if logits else scores
        return {"outputs": tf.reshape(probs, (num_classes,))}

    return _convert(graph)


def _convert(fn: Any) -> bytes:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    return bytes(converter.convert())


# ----------------------------------------------------------------------------- joining graphs


def _same_code(a: Any, b: Any) -> bool:
    return (a.builtinCode, a.deprecatedBuiltinCode, a.customCode, a.version) == (
        b.builtinCode,
        b.deprecatedBuiltinCode,
        b.customCode,
        b.version,
    )


def _read(data: bytes) -> Any:
    """A ``.tflite`` as the flatbuffer object API's ``ModelT``, with every weight buffer inline
    (large models and quantiser outputs may keep buffers after the flatbuffer, at an offset)."""
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(data))
    for buffer in model.buffers:
        if buffer.offset and buffer.offset > 1:
            buffer.data = np.frombuffer(data, np.uint8, buffer.size, buffer.offset).copy()
            buffer.offset = buffer.size = 0
    return model


def chain_tflite(graphs: list[bytes], input_name: str, output_name: str) -> bytes:
    """Join single-subgraph TFLite models into one: each model's only output feeds the next
    one's only input. The result has one ``serving_default`` signature ``input_name`` ->
    ``output_name``. Operators, tensors and weight buffers are copied unchanged."""
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    models = [_read(g) for g in graphs]
    for i, m in enumerate(models):
        g = m.subgraphs[0]
        if len(m.subgraphs) != 1 or len(g.inputs) != 1 or len(g.outputs) != 1:
            raise ValueError(
                f"graph {i}: chain_tflite joins models of one subgraph with one input and one "
                f"output; it has {len(m.subgraphs)} subgraphs, {len(g.inputs)} inputs and "
                f"{len(g.outputs)} outputs."
            )
    model = models[0]
    graph = model.subgraphs[0]
    for m in models[1:]:
        g = m.subgraphs[0]
        codes = []
        for code in m.operatorCodes:
            same = [j for j, c in enumerate(model.operatorCodes) if _same_code(c, code)]
            if not same:
                model.operatorCodes.append(code)
            codes.append(same[0] if same else len(model.operatorCodes) - 1)
        buffer_base = len(model.buffers)
        model.buffers.extend(m.buffers)
        tensor_base = len(graph.tensors)
        joint, previous_output = g.inputs[0], graph.outputs[0]
        for t in g.tensors:
            t.buffer = 0 if t.buffer == 0 else t.buffer + buffer_base  # 0: no data
            graph.tensors.append(t)

        def index(i: int, base: int = tensor_base, joint: int = joint, out: int = previous_output):
            return out if i == joint else (i if i < 0 else i + base)

        for op in g.operators:
            op.opcodeIndex = codes[op.opcodeIndex]
            op.inputs = [index(int(i)) for i in op.inputs]
            op.outputs = [index(int(i)) for i in op.outputs]
            if op.intermediates is not None:
                op.intermediates = [index(int(i)) for i in op.intermediates]
            graph.operators.append(op)
        graph.outputs = [index(int(g.outputs[0]))]
    signature = schema.SignatureDefT()
    signature.signatureKey = "serving_default"
    signature.subgraphIndex = 0
    signature.inputs, signature.outputs = [schema.TensorMapT()], [schema.TensorMapT()]
    signature.inputs[0].name, signature.inputs[0].tensorIndex = input_name, graph.inputs[0]
    signature.outputs[0].name, signature.outputs[0].tensorIndex = output_name, graph.outputs[0]
    model.signatureDefs = [signature]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


# ----------------------------------------------------------------------------- export


def export_kaggle_artifact(
    artifact: str | os.PathLike[str], out: str | os.PathLike[str], variant: str | None = None
) -> Path:
    """Write ``out/model.tflite`` (the Kaggle GISLR format, see the module docstring) and
    ``out/sign_to_prediction_index_map.json`` from an isolated-sign artifact directory (its
    ``model.tflite``, or the ``variant`` file)."""
    from aslsign.artifact import open_artifact

    opened = open_artifact(Path(artifact), variant=variant)
    config = opened.config
    if config is None or config.task != "isolated_sign":
        raise ValueError(
            f"{artifact} is not an aslsign isolated-sign artifact (model.tflite + config.json "
            "with task isolated_sign); the Kaggle GISLR export needs one."
        )
    _check_batched(config)
    pre = from_config(config.preprocessing)
    data = chain_tflite(
        [
            preprocessing_graph(pre),
            opened.model_file.read_bytes(),
            _softmax_graph(config.num_classes, config.output_kind == "logits"),
        ],
        "inputs",
        "outputs",
    )
    if len(data) > KAGGLE_MAX_BYTES:
        raise ValueError(
            f"The Kaggle model would be {len(data) / 2**20:.1f} MB, over the competition's "
            f"{KAGGLE_MAX_BYTES // 2**20} MB; export a smaller variant (variant='fp16')."
        )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.tflite").write_bytes(data)
    labels = {label: i for i, label in enumerate(config.labels)}
    (out / LABEL_MAP_FILE).write_text(json.dumps(labels, indent=1) + "\n")
    return out


def _check_batched(config: ModelConfig) -> None:
    if len(config.input.shape) != 3:
        raise ValueError(
            f"The Kaggle export joins the preprocessing to a model taking [batch, frames, "
            f"features]; this model's input is {list(config.input.shape)}."
        )


def export_and_compare(
    artifact: Path, out: Path, sequences: list[np.ndarray]
) -> dict[str, float | int]:
    """Export ``artifact`` to ``out`` and compare the two on ``sequences`` through the runtime:
    the largest probability difference and the share of equal labels (sequences in which
    nothing was detected are left out: the artifact has no answer for them)."""
    from aslsign import SignRecognizer

    export_kaggle_artifact(artifact, out)
    worst, same, count = 0.0, 0, 0
    with (
        SignRecognizer.from_pretrained(artifact) as art,
        SignRecognizer.from_kaggle(Path(out) / "model.tflite") as kag,
    ):
        for x in sequences:
            a = art.predict(x)
            if a.label is None:
                continue
            b = kag.predict(x)
            worst = max(worst, float(np.abs(a.probabilities - b.probabilities).max()))
            same += a.label == b.label
            count += 1
    return {
        "max_abs_diff": float(f"{worst:.3g}"),
        "same_label": same / max(count, 1),
        "count": count,
    }
