"""Export a fingerspelling CTC encoder as a Kaggle ASLFR submission model.

The Kaggle "Google - American Sign Language Fingerspelling Recognition" format: ``model.tflite``
with a ``serving_default`` signature taking ``inputs`` float32 ``[frames,
len(selected_columns)]`` (the columns named in ``inference_args.json``, NaN where a landmark was
not detected) and returning ``outputs`` float32 ``[characters, 59]``, one row per character of
the answer, read by argmax through ``character_to_prediction_index.json``.

Everything between is in the graph here: the ``fingerspelling`` preprocessing of
:mod:`aslsign.preprocessing` written again in TensorFlow ops (the NumPy pipeline stays the one
the runtime and training use; a test holds the two equal), the encoder, and greedy CTC decoding
(argmax per step, repeats collapsed, blanks dropped). Each output row is the one-hot vector of
a character. The graph is traced through ``keras.export.ExportArchive``, which tracks the Keras 3
weights (a bare ``tf.Module`` + ``tf.saved_model.save`` drops them).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from aslsign.characters import CHARACTER_MAP_FILE, character_map
from aslsign.landmarks import ASLFR_COLUMNS, LEFT_HAND, MIRROR, NUM_LANDMARKS, RIGHT_HAND
from aslsign.preprocessing import MAX_ABS_FEATURE, FingerspellingPreprocessor
from training_recipes.tf_ops import nan_mean

__all__ = ["export_kaggle", "selected_columns"]

_HAND, _KNUCKLE = 21, 9


def selected_columns(pre: FingerspellingPreprocessor) -> list[str]:
    """The ASLFR columns the graph reads: x, y, z of every row the pipeline may need."""
    rows = pre.input_rows
    return [ASLFR_COLUMNS[c * NUM_LANDMARKS + r] for c in range(3) for r in rows]


def _supported(pre: FingerspellingPreprocessor) -> None:
    unsupported = {
        "normalize": (pre.normalize, "shoulders"),
        "overflow": (pre.overflow, "resample"),
    }
    for key, (value, ok) in unsupported.items():
        if value != ok:
            raise NotImplementedError(f"Kaggle export supports {key}={ok!r} only; got {value!r}.")


def make_serving_fn(encoder: Any, pre: FingerspellingPreprocessor, blank: int) -> Any:
    """The graph ``inputs [frames, columns] -> outputs [characters, 59]`` as a Python callable."""
    import tensorflow as tf

    _supported(pre)
    rows = pre.input_rows
    local = {int(r): i for i, r in enumerate(rows)}
    gather_plain = np.array([local[int(r)] for r in pre._gather], np.int32)
    gather_mirror = np.array([local[int(r)] for r in MIRROR[pre._gather]], np.int32)
    left = np.array([local[r] for r in LEFT_HAND], np.int32)
    right = np.array([local[r] for r in RIGHT_HAND], np.int32)
    p, n_rows, max_len = pre.num_points, len(rows), pre.max_len
    n_chars = blank  # characters come before the blank

    def preprocess(inputs: Any) -> Any:
        x = tf.transpose(tf.reshape(inputs, (-1, 3, n_rows)), (0, 2, 1))  # (T, rows, xyz)
        left_seen = tf.reduce_any(
            tf.logical_not(tf.math.is_nan(tf.gather(x[:, :, 0], left, axis=1))), 1
        )
        right_seen = tf.reduce_any(
            tf.logical_not(tf.math.is_nan(tf.gather(x[:, :, 0], right, axis=1))), 1
        )
        if pre.frame_filter == "hands":
            keep = tf.logical_or(left_seen, right_seen)
        elif pre.frame_filter == "landmarks":
            keep = tf.reduce_any(tf.logical_not(tf.math.is_nan(x)), axis=(1, 2))
        else:
            keep = tf.ones(tf.shape(x)[:1], tf.bool)
        mirrored = tf.logical_and(
            tf.constant(pre.mirror_dominant),
            tf.reduce_sum(tf.cast(left_seen, tf.int32))
            > tf.reduce_sum(tf.cast(right_seen, tf.int32)),
        )
        x = tf.gather(x, tf.reshape(tf.where(keep), (-1,)), axis=0)
        idx = tf.where(mirrored, gather_mirror, gather_plain)
        sel = tf.gather(x, idx, axis=1)
        flipped = tf.concat([1.0 - sel[..., :1], sel[..., 1:]], axis=-1)
        sel = tf.where(mirrored, flipped, sel)
        # at most max_len frames, evenly resampled with halves rounded up (as resample_indices)
        n = tf.shape(sel)[0]
        m = tf.minimum(n, max_len)
        den = tf.maximum(m - 1, 1)
        i = tf.range(m)
        sel = tf.gather(sel, (2 * i * (n - 1) + den) // (2 * den), axis=0)
        # position block
        pts = sel[:, :p, :2]
        sh = sel[:, p + _HAND :, :2]
        center = nan_mean((sh[:, 0] + sh[:, 1]) / 2.0, axis=0)  # (2,)
        width = tf.sqrt(tf.reduce_sum(tf.square(sh[:, 0] - sh[:, 1]), -1))
        scale = nan_mean(width, axis=0)
        fb_center = nan_mean(tf.reshape(pts, (-1, 2)), axis=0)
        dev = tf.reshape(pts, (-1, 2)) - fb_center
        fb_scale = tf.sqrt(nan_mean(tf.reshape(dev * dev, (-1,)), axis=0))
        use_fb = tf.logical_or(tf.reduce_any(tf.math.is_nan(center)), tf.logical_not(scale > 0))
        center = tf.where(use_fb, fb_center, center)
        scale = tf.where(use_fb, fb_scale, scale)
        center = tf.where(tf.math.is_nan(center), tf.fill([2], 0.5), center)
        scale = tf.where(scale > 0, scale, 1.0)
        pos = tf.reshape((pts - center) / scale, (-1, p * 2))
        blocks = [pos]
        frames = tf.shape(pos)[0]
        for lag in pre.lags:
            diff = pos[lag:] - pos[:-lag]
            pad = tf.zeros((tf.minimum(lag, frames), p * 2))
            blocks.append(tf.concat([diff, pad], axis=0))
        if pre.hand_shape:
            hand = sel[:, p : p + _HAND, :]
            rel = hand - hand[:, :1]
            size = tf.sqrt(tf.reduce_sum(tf.square(rel[:, _KNUCKLE, :2]), -1))[:, None, None]
            blocks.append(tf.reshape(rel / size, (-1, _HAND * 3)))
        out = tf.concat(blocks, axis=-1)
        out = tf.where(tf.math.is_finite(out), out, tf.fill(tf.shape(out), pre.nan_fill))
        return tf.clip_by_value(out, -MAX_ABS_FEATURE, MAX_ABS_FEATURE)

    def decode(features: Any) -> Any:
        logits = encoder(features[None], training=False)[0]
        best = tf.argmax(logits, axis=-1, output_type=tf.int32)
        prev = tf.concat([tf.constant([-1], tf.int32), best[:-1]], axis=0)
        emit = tf.logical_and(tf.not_equal(best, prev), tf.not_equal(best, blank))
        tokens = tf.gather(best, tf.reshape(tf.where(emit), (-1,)))
        return tf.one_hot(tokens, n_chars, dtype=tf.float32)

    def serve(inputs: Any) -> dict[str, Any]:
        features = preprocess(inputs)
        outputs = tf.cond(
            tf.shape(features)[0] > 0,
            lambda: decode(features),
            lambda: tf.zeros((0, n_chars), tf.float32),
        )
        return {"outputs": tf.reshape(outputs, (-1, n_chars))}  # rank 2 in the signature

    return serve


def export_kaggle(encoder: Any, pre: FingerspellingPreprocessor, out: Path, blank: int) -> Path:
    """Write ``model.tflite``, ``inference_args.json`` and the character map into ``out``."""
    import keras
    import tensorflow as tf

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    columns = selected_columns(pre)
    serve = make_serving_fn(encoder, pre, blank)
    with tempfile.TemporaryDirectory(prefix="kaggle-aslfr-") as tmp:
        archive = keras.export.ExportArchive()
        archive.track(encoder)
        archive.add_endpoint(
            name="serving_default",
            fn=serve,
            input_signature=[tf.TensorSpec([None, len(columns)], tf.float32, name="inputs")],
        )
        archive.write_out(tmp, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(
            tmp, signature_keys=["serving_default"]
        )
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        (out / "model.tflite").write_bytes(converter.convert())
    (out / "inference_args.json").write_text(json.dumps({"selected_columns": columns}) + "\n")
    (out / CHARACTER_MAP_FILE).write_text(json.dumps(character_map()) + "\n")
    return out
