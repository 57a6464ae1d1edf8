"""TensorFlow ops shared by the graphs that rewrite :mod:`aslsign.preprocessing` pipelines for
Kaggle submission models (:mod:`training_recipes.kaggle_gislr`,
:mod:`training_recipes.kaggle_aslfr`).
"""

from __future__ import annotations

from typing import Any

__all__ = ["nan_mean"]


def nan_mean(x: Any, axis: Any) -> Any:
    """Mean over ``axis`` ignoring NaN (NaN where nothing is valid), as NumPy ``nanmean``."""
    import tensorflow as tf

    valid = tf.logical_not(tf.math.is_nan(x))
    total = tf.reduce_sum(tf.where(valid, x, tf.zeros_like(x)), axis=axis)
    return total / tf.reduce_sum(tf.cast(valid, tf.float32), axis=axis)
