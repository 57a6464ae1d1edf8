"""Keras 3 layers of the GISLR 1st-place 1D-CNN + Transformer (hoyso48).

Architecture source: hoyso48's 1st-place solution to Kaggle "Google - Isolated Sign Language
Recognition" (2023), its public write-up and notebook. Written here for Keras 3 (the original used
tf.keras 2 and tensorflow-addons). Every layer propagates the padding mask, so a padded batch gives
the same outputs on its real frames as each sequence alone: convolutions are causal (padding comes
at the end), attention and pooling skip padded frames.
"""

from __future__ import annotations

import keras
from keras import layers, ops

__all__ = ["ECA", "CausalDWConv1D", "LateDropout", "MultiHeadSelfAttention", "masked_mean"]


def masked_mean(x, mask):
    """Mean over the frame axis of (batch, frames, channels), skipping masked frames."""
    if mask is None:
        return ops.mean(x, axis=1)
    m = ops.expand_dims(ops.cast(mask, x.dtype), -1)
    return ops.sum(x * m, axis=1) / ops.maximum(ops.sum(m, axis=1), 1.0)


@keras.saving.register_keras_serializable("aslsign")
class ECA(layers.Layer):
    """Efficient channel attention: masked average over frames -> Conv1D over channels -> gate."""

    def __init__(self, kernel_size: int = 5, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.kernel_size = kernel_size
        self.conv = layers.Conv1D(1, kernel_size, padding="same", use_bias=False)

    def build(self, input_shape):
        self.conv.build((None, input_shape[-1], 1))

    def call(self, inputs, mask=None):
        gate = ops.expand_dims(masked_mean(inputs, mask), -1)  # (B, C, 1)
        gate = ops.sigmoid(ops.squeeze(self.conv(gate), -1))
        return inputs * ops.expand_dims(gate, 1)

    def get_config(self):
        return {**super().get_config(), "kernel_size": self.kernel_size}


@keras.saving.register_keras_serializable("aslsign")
class CausalDWConv1D(layers.Layer):
    """Depthwise Conv1D that only looks back: left zero padding of (kernel_size - 1) * dilation."""

    def __init__(self, kernel_size: int = 17, dilation_rate: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.kernel_size = kernel_size
        self.dilation_rate = dilation_rate
        self.dw_conv = layers.DepthwiseConv1D(
            kernel_size, dilation_rate=dilation_rate, padding="valid", use_bias=False
        )

    def build(self, input_shape):
        self.dw_conv.build((None, None, input_shape[-1]))

    def call(self, inputs):
        pad = self.dilation_rate * (self.kernel_size - 1)
        return self.dw_conv(ops.pad(inputs, ((0, 0), (pad, 0), (0, 0))))

    def get_config(self):
        cfg = super().get_config()
        return {**cfg, "kernel_size": self.kernel_size, "dilation_rate": self.dilation_rate}


@keras.saving.register_keras_serializable("aslsign")
class MultiHeadSelfAttention(layers.Layer):
    """Self-attention with one fused qkv projection (no bias) and masked softmax."""

    def __init__(self, dim: int = 256, num_heads: int = 4, dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.dim, self.num_heads, self.dropout = dim, num_heads, dropout
        self.scale = dim**-0.5  # as in the original: scaled by the model dim, not the head dim
        self.qkv = layers.Dense(3 * dim, use_bias=False)
        self.softmax = layers.Softmax(axis=-1)
        self.drop = layers.Dropout(dropout)
        self.proj = layers.Dense(dim, use_bias=False)

    def build(self, input_shape):
        self.qkv.build(input_shape)
        self.proj.build((*input_shape[:-1], self.dim))

    def call(self, inputs, mask=None, training=None):
        frames = ops.shape(inputs)[1]
        qkv = ops.reshape(
            self.qkv(inputs), (-1, frames, self.num_heads, 3 * self.dim // self.num_heads)
        )
        qkv = ops.transpose(qkv, (0, 2, 1, 3))  # B, H, T, 3*dh
        q, k, v = ops.split(qkv, 3, axis=-1)
        attn = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2))) * self.scale
        if mask is not None:
            mask = ops.expand_dims(ops.expand_dims(mask, 1), 1)  # B, 1, 1, T
        attn = self.drop(self.softmax(attn, mask=mask), training=training)
        x = ops.transpose(ops.matmul(attn, v), (0, 2, 1, 3))
        return self.proj(ops.reshape(x, (-1, frames, self.dim)))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        cfg = super().get_config()
        return {**cfg, "dim": self.dim, "num_heads": self.num_heads, "dropout": self.dropout}


@keras.saving.register_keras_serializable("aslsign")
class LateDropout(layers.Layer):
    """Dropout that switches on only after ``start_step`` training steps.

    Keeps its own int64 step counter (a non-trainable weight, so it is part of the parameter
    count: the published 1,836,569 includes it).
    """

    def __init__(self, rate: float, noise_shape=None, start_step: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.rate, self.noise_shape, self.start_step = rate, noise_shape, start_step
        self.dropout = layers.Dropout(rate, noise_shape=noise_shape)

    def build(self, input_shape):
        self.train_counter = self.add_weight(
            shape=(), dtype="int64", initializer="zeros", trainable=False, name="train_counter"
        )

    def call(self, inputs, training=False):
        if not training:
            return inputs
        dropped = self.dropout(inputs, training=True)
        out = ops.where(self.train_counter >= self.start_step, dropped, inputs)
        self.train_counter.assign_add(1)
        return out

    def get_config(self):
        cfg = super().get_config()
        return {
            **cfg,
            "rate": self.rate,
            "noise_shape": self.noise_shape,
            "start_step": self.start_step,
        }
