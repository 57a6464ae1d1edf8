"""Mark Wijkhuizen's GISLR Transformer, rebuilt in Keras 3, with a training entry point.

Architecture source: Mark Wijkhuizen's Kaggle notebook "GISLR TF Data Processing & Transformer
Training" (gislr-tf-data-processing-transformer-training, 2023), for the Kaggle competition
"Google - Isolated Sign Language Recognition". Written here for Keras 3 from the notebook's
published configuration; facts and numbers carry over, the code is new.

Input: the ``wijkhuizen`` features of :mod:`aslsign.preprocessing` ``(batch, frames, 133)``, one
row per frame ``[frame_index, 132 normalised coordinates]`` with index -1 on padding frames
(``frames`` is 64 from the pipeline, but any length works). Output: logits over the classes.

- Per part (40 lip points, 21 dominant-hand points, 5 dominant-arm pose points, x/y): Dense
  (``embedding_units``, GELU, no bias) -> Dense(``embedding_units``, no bias); a frame in which
  the part is entirely missing (all zeros) gets a learned "empty" embedding instead.
- The three part embeddings are mixed with softmax-normalised learned weights, then Dense(
  ``units``, GELU, no bias) -> Dense(``units``, no bias), plus a learned positional embedding of
  ``floor(index * frames)`` (``frames + 1`` rows, zeros at the start).
- ``num_blocks`` blocks of ``x + attention(x)``, ``x + MLP(x)`` (no normalisation layers, as in
  the original): multi-head self-attention (``num_heads``, q/k/v/output projections with
  bias), MLP Dense(``units * mlp_ratio``, GELU) -> Dropout(``mlp_dropout``) -> Dense(``units``).
- Mean over the visible frames, Dropout(``classifier_dropout``), Dense(``num_classes``).
- In training, ``frame_mask_rate`` of the real frames are hidden at random from attention and
  pooling (all stay visible if none would be left).

Published configuration: units 512, embedding units 384, 2 blocks, 8 heads, MLP ratio 2, MLP
dropout 0.3, classifier dropout 0.1, 25 % frame masking, 64 frames; with 250 classes that is
5,315,965 parameters (the arithmetic is in tests/test_transformer.py). Training, through the
shared driver :func:`training_recipes.train.train_signs`: 100 epochs of batches holding 4
samples of every sign, AdamW lr 1e-3 with a per-epoch cosine decay and no warm-up, weight decay
0.05 x lr, clipnorm 1.0, label smoothing 0.25, about 10 % of the participants held out.

Deliberate differences from the notebook:

- **Keys are masked.** The original handed a ``(batch, frames, 1)`` mask to the masked softmax,
  which broadcasts over the *keys*: it masked the rows of the padding frames (queries) and let
  every real frame attend to the padding frames. Here padding and hidden frames are masked as
  keys, so a padded batch gives each sequence the logits it gets alone.
- **fp16-safe masking.** The original's masked softmax (tf.keras 2) added ``(1 - mask) *
  -1e9`` to the scores. -1e9 is far outside float16 (largest finite 65504): stored as float16 it
  becomes -inf, and ``0 * -inf`` is NaN, so every unmasked score turned NaN; in float16
  arithmetic the fully masked padding rows were all -inf and their softmax NaN, which the
  unmasked keys then carried into every frame (and ``NaN * 0`` survives the masked pooling).
  Here masked scores are *replaced* (not added to) by :data:`MASK_VALUE` = -30000, which
  float16 holds exactly, no row is ever fully masked when a sequence has a visible frame, and
  pooling selects visible frames with ``where`` instead of multiplying by the mask.
- Random frame masking only in training (the original drew it in the inference graph too).
- The frame index arrives normalised to [0, 1] in channel 0 (one model input; the original fed
  raw indices as a second input and divided by their maximum, 0 / 0 for a one-frame clip).
- One fused q/k/v projection instead of 3 x 8 per-head Dense layers: the same parameters.
- The output is logits (the original ended in a softmax); :class:`aslsign.SignRecognizer`
  applies the softmax.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out

if __package__ in (None, ""):  # run as a script: make `training_recipes` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras
import numpy as np
from keras import layers, ops

from aslsign.landmarks import LEFT_HAND, RIGHT_HAND
from aslsign.preprocessing.wijkhuizen import CHANNELS, NUM_COORDS, WijkhuizenPreprocessor
from training_recipes.cache import LandmarkView
from training_recipes.train import (
    SignRecipe,
    add_run_options,
    cosine_schedule,
    sign_parser,
    train_signs,
)

__all__ = [
    "ARCHITECTURE",
    "MASK_VALUE",
    "FrameEmbedding",
    "FrameMask",
    "LandmarkEmbedding",
    "MaskedMeanPool",
    "MaskedSelfAttention",
    "TransformerBlock",
    "build_model",
    "build_parser",
    "main",
    "parse_args",
]

ARCHITECTURE = "wijkhuizen_transformer"
#: Score given to masked keys: far below any real score, exactly representable in float16.
MASK_VALUE = -30000.0
_PARTS = ("lips", "hand", "pose")


@keras.saving.register_keras_serializable("aslsign")
class FrameMask(layers.Layer):
    """1.0 for the frames the model looks at, 0.0 for the others: ``(batch, frames)``.

    Padding frames (index channel < 0) are never looked at. In training, each real frame is
    also hidden with probability ``rate``; a sequence left with no frame keeps all its frames.
    """

    def __init__(self, rate: float = 0.25, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate, self.seed = rate, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        real = ops.greater_equal(inputs[..., 0], 0.0)
        if training and self.rate > 0:
            draw = keras.random.uniform(ops.shape(real), seed=self.seed_generator)
            keep = ops.logical_and(real, ops.greater_equal(draw, self.rate))
            empty = ops.logical_not(ops.any(keep, axis=1, keepdims=True))
            real = ops.where(empty, real, keep)
        return ops.cast(real, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1])

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


@keras.saving.register_keras_serializable("aslsign")
class LandmarkEmbedding(layers.Layer):
    """One body part's coordinates -> Dense(GELU) -> Dense, or a learned empty embedding for
    frames in which the part is entirely missing (all its values 0)."""

    def __init__(self, units: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = units
        self.dense_1 = layers.Dense(
            units, use_bias=False, activation="gelu", kernel_initializer="glorot_uniform"
        )
        self.dense_2 = layers.Dense(units, use_bias=False, kernel_initializer="he_uniform")

    def build(self, input_shape):
        self.empty_embedding = self.add_weight(
            shape=(self.units,), initializer="zeros", name="empty_embedding"
        )
        self.dense_1.build(input_shape)
        self.dense_2.build((*input_shape[:-1], self.units))

    def call(self, inputs):
        missing = ops.equal(ops.max(ops.abs(inputs), axis=-1, keepdims=True), 0.0)
        return ops.where(missing, self.empty_embedding, self.dense_2(self.dense_1(inputs)))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable("aslsign")
class FrameEmbedding(layers.Layer):
    """``wijkhuizen`` feature rows -> ``(batch, frames, units)``: the part embeddings mixed by
    softmax weights, two fully connected layers, plus the learned position of each frame."""

    def __init__(
        self, units: int = 512, embedding_units: int = 384, frames: int = 64, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.units, self.embedding_units, self.frames = units, embedding_units, frames
        self.parts = [LandmarkEmbedding(embedding_units, name=f"{p}_embedding") for p in _PARTS]
        self.fc_1 = layers.Dense(
            units, use_bias=False, activation="gelu", kernel_initializer="glorot_uniform"
        )
        self.fc_2 = layers.Dense(units, use_bias=False, kernel_initializer="he_uniform")
        self.positions = layers.Embedding(frames + 1, units, embeddings_initializer="zeros")

    def build(self, input_shape):
        if input_shape[-1] != 1 + NUM_COORDS:
            raise ValueError(f"expected {1 + NUM_COORDS} channels, got {input_shape[-1]}")
        for part, embedding in zip(_PARTS, self.parts, strict=True):
            sl = CHANNELS[part]
            embedding.build((*input_shape[:-1], sl.stop - sl.start))
        self.landmark_weights = self.add_weight(
            shape=(len(_PARTS),), initializer="zeros", name="landmark_weights"
        )
        self.fc_1.build((*input_shape[:-1], self.embedding_units))
        self.fc_2.build((*input_shape[:-1], self.units))
        self.positions.build(input_shape[:-1])

    def call(self, inputs):
        weights = ops.softmax(self.landmark_weights)
        x = 0.0
        for i, (part, embedding) in enumerate(zip(_PARTS, self.parts, strict=True)):
            sl = CHANNELS[part]
            x = x + weights[i] * embedding(inputs[..., sl.start : sl.stop])
        x = self.fc_2(self.fc_1(x))
        index = inputs[..., 0]
        frames = float(self.frames)
        position = ops.clip(ops.floor(index * frames), 0.0, frames)
        position = ops.where(ops.less(index, 0.0), frames, position)  # padding: the last row
        return x + self.positions(ops.cast(position, "int32"))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "embedding_units": self.embedding_units,
            "frames": self.frames,
        }


@keras.saving.register_keras_serializable("aslsign")
class MaskedSelfAttention(layers.Layer):
    """Multi-head self-attention over the visible frames (masked as keys, fp16-safe)."""

    def __init__(self, units: int = 512, num_heads: int = 8, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if units % num_heads:
            raise ValueError(f"units ({units}) must be a multiple of num_heads ({num_heads})")
        self.units, self.num_heads = units, num_heads
        self.depth = units // num_heads
        self.qkv = layers.Dense(3 * units)
        self.out = layers.Dense(units)

    def build(self, inputs_shape, frame_mask_shape=None):
        self.qkv.build(inputs_shape)
        self.out.build((*inputs_shape[:-1], self.units))

    def call(self, inputs, frame_mask):
        frames = ops.shape(inputs)[1]
        qkv = ops.reshape(self.qkv(inputs), (-1, frames, 3, self.num_heads, self.depth))
        qkv = ops.transpose(qkv, (2, 0, 3, 1, 4))  # 3, B, H, T, depth
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2))) * (self.depth**-0.5)
        keys = ops.expand_dims(ops.expand_dims(frame_mask, 1), 1)  # B, 1, 1, T (float: TFLite)
        visible = ops.greater(keys, 0.5)
        scores = ops.where(visible, scores, MASK_VALUE)
        x = ops.matmul(ops.softmax(scores, axis=-1), v)  # B, H, T, depth
        x = ops.reshape(ops.transpose(x, (0, 2, 1, 3)), (-1, frames, self.units))
        return self.out(x)

    def compute_output_shape(self, inputs_shape, frame_mask_shape=None):
        return inputs_shape

    def get_config(self):
        return {**super().get_config(), "units": self.units, "num_heads": self.num_heads}


@keras.saving.register_keras_serializable("aslsign")
class TransformerBlock(layers.Layer):
    """``x + attention(x)``, then ``x + Dense(GELU) -> Dropout -> Dense`` (no normalisation)."""

    def __init__(
        self,
        units: int = 512,
        num_heads: int = 8,
        mlp_ratio: int = 2,
        mlp_dropout: float = 0.3,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.units, self.num_heads = units, num_heads
        self.mlp_ratio, self.mlp_dropout = mlp_ratio, mlp_dropout
        self.attention = MaskedSelfAttention(units, num_heads, name="attention")
        self.mlp_1 = layers.Dense(
            units * mlp_ratio, activation="gelu", kernel_initializer="glorot_uniform"
        )
        self.dropout = layers.Dropout(mlp_dropout)
        self.mlp_2 = layers.Dense(units, kernel_initializer="he_uniform")

    def build(self, inputs_shape, frame_mask_shape=None):
        self.attention.build(inputs_shape)
        self.mlp_1.build(inputs_shape)
        self.mlp_2.build((*inputs_shape[:-1], self.units * self.mlp_ratio))

    def call(self, inputs, frame_mask, training=None):
        x = inputs + self.attention(inputs, frame_mask)
        return x + self.mlp_2(self.dropout(self.mlp_1(x), training=training))

    def compute_output_shape(self, inputs_shape, frame_mask_shape=None):
        return inputs_shape

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "num_heads": self.num_heads,
            "mlp_ratio": self.mlp_ratio,
            "mlp_dropout": self.mlp_dropout,
        }


@keras.saving.register_keras_serializable("aslsign")
class MaskedMeanPool(layers.Layer):
    """Mean over the visible frames: ``(batch, frames, C)`` -> ``(batch, C)``; hidden frames
    are selected away (never multiplied), so nothing in them can leak into the mean."""

    def call(self, inputs, frame_mask):
        visible = ops.greater(ops.expand_dims(frame_mask, -1), 0.5)
        total = ops.sum(ops.where(visible, inputs, 0.0), axis=1)
        count = ops.sum(ops.cast(visible, inputs.dtype), axis=1)
        return total / ops.maximum(count, 1.0)

    def compute_output_shape(self, inputs_shape, frame_mask_shape=None):
        return (inputs_shape[0], inputs_shape[-1])


def build_model(
    num_classes: int = 250,
    units: int = 512,
    num_blocks: int = 2,
    num_heads: int = 8,
    mlp_ratio: int = 2,
    embedding_units: int = 384,
    frames: int = 64,
    mlp_dropout: float = 0.3,
    classifier_dropout: float = 0.1,
    frame_mask_rate: float = 0.25,
    seed: int | None = None,
) -> keras.Model:
    """The Transformer; input ``(batch, frames, 133)`` ``wijkhuizen`` features, output logits.

    The defaults are the published configuration. ``frames`` is the pipeline's ``frames`` (it
    sizes the positional embedding); the input's frame axis is dynamic.
    """
    inputs = keras.Input((None, 1 + NUM_COORDS), name="inputs")
    mask = FrameMask(frame_mask_rate, seed=seed, name="frame_mask")(inputs)
    x = FrameEmbedding(units, embedding_units, frames, name="embedding")(inputs)
    for b in range(num_blocks):
        x = TransformerBlock(units, num_heads, mlp_ratio, mlp_dropout, name=f"block_{b}")(x, mask)
    x = MaskedMeanPool(name="pool")(x, mask)
    x = layers.Dropout(classifier_dropout, name="classifier_dropout")(x)
    outputs = layers.Dense(  # float32 logits also under mixed precision (--mixed-precision)
        num_classes, kernel_initializer="glorot_uniform", name="classifier", dtype="float32"
    )(x)
    return keras.Model(inputs, outputs, name=ARCHITECTURE)


def build_parser() -> argparse.ArgumentParser:
    """The recipe's command line; the defaults are the notebook's published values."""
    p = sign_parser(
        __doc__.split("\n\n")[0],
        "participants held out for validation, drawn with --seed (the notebook held out 10 %% "
        "of them: 3 of GISLR's 21); 0: train on everyone",
    )
    pre = p.add_argument_group("preprocessing (the wijkhuizen pipeline)")
    pre.add_argument("--frames", type=int, default=64, help="frames per sample after pooling")
    pre.add_argument(
        "--mirror-lips",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="mirror the lips of right-dominant clips too (--no-mirror-lips: the original)",
    )
    model = p.add_argument_group("model")
    model.add_argument("--units", type=int, default=512, help="transformer width")
    model.add_argument(
        "--embedding-units", type=int, default=384, help="width of each body-part embedding"
    )
    model.add_argument("--num-blocks", type=int, default=2, help="transformer blocks")
    model.add_argument("--num-heads", type=int, default=8, help="attention heads")
    model.add_argument("--mlp-ratio", type=int, default=2, help="MLP width / units")
    model.add_argument("--mlp-dropout", type=float, default=0.3, help="dropout inside the MLPs")
    model.add_argument(
        "--classifier-dropout", type=float, default=0.1, help="dropout before the classifier"
    )
    model.add_argument(
        "--frame-mask-rate",
        type=float,
        default=0.25,
        help="fraction of real frames hidden at random in training",
    )
    train = p.add_argument_group("training")
    train.add_argument("--epochs", type=int, default=100, help="passes over the training data")
    train.add_argument(
        "--per-class",
        type=int,
        default=4,
        help="samples of every sign in each batch (batch size = per-class x signs)",
    )
    train.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (AdamW)")
    train.add_argument(
        "--warmup-epochs", type=int, default=0, help="linear warm-up before the cosine decay"
    )
    train.add_argument(
        "--weight-decay-ratio",
        type=float,
        default=0.05,
        help="AdamW weight decay as a fraction of the current learning rate, set every epoch",
    )
    train.add_argument("--clipnorm", type=float, default=1.0, help="gradient norm clipping")
    train.add_argument(
        "--label-smoothing", type=float, default=0.25, help="of the cross-entropy targets"
    )
    add_run_options(train)
    return p


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the recipe's options (``--help`` lists them with their defaults)."""
    p = build_parser()
    args = p.parse_args(argv)
    return args


class TransformerRecipe(SignRecipe):
    """The published training of the Transformer (module docstring)."""

    script = "training_recipes/transformer.py"
    architecture = ARCHITECTURE

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args)
        self.label_smoothing = args.label_smoothing

    def architecture_args(self) -> dict[str, Any]:
        a = self.args
        return {
            "units": a.units,
            "embedding_units": a.embedding_units,
            "num_blocks": a.num_blocks,
            "num_heads": a.num_heads,
            "mlp_ratio": a.mlp_ratio,
            "mlp_dropout": a.mlp_dropout,
            "classifier_dropout": a.classifier_dropout,
            "frame_mask_rate": a.frame_mask_rate,
        }

    def preprocessor(self, train_raws: list[np.ndarray]) -> WijkhuizenPreprocessor:
        """The pipeline with its per-coordinate mean/std measured on the training split."""
        a = self.args
        return WijkhuizenPreprocessor(frames=a.frames, mirror_lips=a.mirror_lips).fit(train_raws)

    def landmark_view(self) -> LandmarkView:
        """The cache keeps every frame (pooling counts them) and the rows the pipeline reads
        for either dominant hand (both hands: the dominant one is the one seen more)."""
        a = self.args
        pre = WijkhuizenPreprocessor(frames=a.frames, mirror_lips=a.mirror_lips)
        used = np.concatenate([pre.rows("left"), pre.rows("right"), LEFT_HAND, RIGHT_HAND])
        config = {k: v for k, v in pre.to_config().items() if k not in ("mean", "std")}
        return LandmarkView(tuple(np.unique(used).tolist()), None, {"preprocessing": config})

    def build(
        self, num_classes: int, pre: WijkhuizenPreprocessor, steps_per_epoch: int
    ) -> keras.Model:
        a = self.args
        return build_model(
            num_classes=num_classes,
            units=a.units,
            num_blocks=a.num_blocks,
            num_heads=a.num_heads,
            mlp_ratio=a.mlp_ratio,
            embedding_units=a.embedding_units,
            frames=pre.frames,
            mlp_dropout=a.mlp_dropout,
            classifier_dropout=a.classifier_dropout,
            frame_mask_rate=a.frame_mask_rate,
            seed=a.seed,
        )

    def optimizer(self, steps_per_epoch: int) -> keras.optimizers.Optimizer:
        a = self.args
        schedule = cosine_schedule(
            a.lr,
            steps_per_epoch * a.epochs,
            final_lr=0.0,
            warmup_steps=a.warmup_epochs * steps_per_epoch,
            steps_per_epoch=steps_per_epoch,  # the notebook moved the rate once per epoch
        )
        # Keras decays by weight_decay * lr_t per step: the notebook's tensorflow-addons AdamW
        # with weight_decay = ratio * lr (train module docstring)
        return keras.optimizers.AdamW(
            schedule, weight_decay=a.weight_decay_ratio, clipnorm=a.clipnorm
        )

    def batching(self) -> dict[str, Any]:
        return {"per_class": self.args.per_class}

    def summary(self) -> str:
        a = self.args
        return (
            f"epochs {a.epochs}, class-balanced batches of {a.per_class} samples of every sign, "
            f"AdamW lr {a.lr:g} with a per-epoch cosine decay to 0 "
            f"({a.warmup_epochs} warm-up epochs), weight decay {a.weight_decay_ratio:g} x lr, "
            f"clipnorm {a.clipnorm:g}, label smoothing {a.label_smoothing}, random frame "
            f"masking {a.frame_mask_rate:g}; normalisation statistics from the training split"
        )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Train, export and measure an artifact (``--help`` for the options)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    return train_signs(TransformerRecipe(parse_args(argv)), argv)


if __name__ == "__main__":
    main()
