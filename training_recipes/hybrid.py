"""GISLR 1st-place 1D-CNN + Transformer hybrid, rebuilt in Keras 3, with a training entry point.

Architecture source: hoyso48's 1st-place solution to the Kaggle competition "Google - Isolated
Sign Language Recognition" (2023; public write-up and notebook "1st place solution - training").
Input: the 708-channel ``gislr_1st`` features of :mod:`aslsign.preprocessing`, padded with -100
(masked). Stem Dense(dim, no bias) + BatchNorm; two stages of 3 Conv1DBlocks and 1
TransformerBlock; Conv1DBlock = Dense(2*dim, swish) -> causal depthwise Conv1D(k=17) -> BN -> ECA
-> Dense(dim) -> drop-path -> residual; TransformerBlock = BN -> MHSA -> drop-path -> residual ->
BN -> Dense(2*dim, swish) -> Dense(dim) -> drop-path -> residual; head Dense(2*dim) -> masked
global average pooling -> LateDropout(0.8) -> Dense(classes) (logits). At the published
configuration (dim 192, 708 channels, 250 classes) it has 1,836,569 parameters.

Train and export an artifact (model.tflite + config.json + README.md model card)::

    python training_recipes/hybrid.py --data ../shared/data/gislr-mini --out runs/hybrid --dim 96

The validation split holds out whole participants; the reported top-1/top-5 are measured on them
with the exported TFLite model through ``aslsign.SignRecognizer``.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out

if __package__ in (None, ""):  # run as a script: make `training_recipes` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras
import numpy as np
from keras import layers

from aslsign import landmarks as lm
from aslsign.preprocessing import Gislr1stPreprocessor
from aslsign.preprocessing.gislr import EMPTY_FRAME_RULES
from training_recipes.augment import PublishedAugment
from training_recipes.cache import LandmarkView
from training_recipes.layers import ECA, CausalDWConv1D, LateDropout, MultiHeadSelfAttention
from training_recipes.train import (
    AdamWTiedDecay,
    SignRecipe,
    add_run_options,
    cosine_schedule,
    sign_parser,
    train_signs,
)

ARCHITECTURE = "gislr_1st_hybrid"


def conv1d_block(
    x, dim: int, kernel_size: int = 17, drop_rate: float = 0.2, expand: int = 2, name: str = "conv"
):
    skip = x
    x = layers.Dense(x.shape[-1] * expand, activation="swish", name=f"{name}_expand")(x)
    x = CausalDWConv1D(kernel_size, name=f"{name}_dwconv")(x)
    x = layers.BatchNormalization(momentum=0.95, name=f"{name}_bn")(x)
    x = ECA(name=f"{name}_eca")(x)
    x = layers.Dense(dim, name=f"{name}_project")(x)
    if drop_rate > 0:
        x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1), name=f"{name}_drop")(x)
    if skip.shape[-1] == dim:
        x = layers.Add(name=f"{name}_add")([x, skip])
    return x


def transformer_block(
    x,
    dim: int,
    num_heads: int = 4,
    expand: int = 2,
    attn_dropout: float = 0.2,
    drop_rate: float = 0.2,
    name: str = "attn",
):
    skip = x
    x = layers.BatchNormalization(momentum=0.95, name=f"{name}_bn1")(x)
    x = MultiHeadSelfAttention(dim, num_heads, dropout=attn_dropout, name=f"{name}_mhsa")(x)
    x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1), name=f"{name}_drop1")(x)
    x = skip = layers.Add(name=f"{name}_add1")([skip, x])
    x = layers.BatchNormalization(momentum=0.95, name=f"{name}_bn2")(x)
    x = layers.Dense(dim * expand, use_bias=False, activation="swish", name=f"{name}_mlp1")(x)
    x = layers.Dense(dim, use_bias=False, name=f"{name}_mlp2")(x)
    x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1), name=f"{name}_drop2")(x)
    return layers.Add(name=f"{name}_add2")([skip, x])


def build_model(
    num_classes: int = 250,
    channels: int = 708,
    dim: int = 192,
    num_heads: int = 4,
    kernel_size: int = 17,
    num_stages: int = 2,
    drop_rate: float = 0.2,
    attn_dropout: float = 0.2,
    late_dropout: float = 0.8,
    late_dropout_start: int = 0,
    pad_value: float = -100.0,
) -> keras.Model:
    """The hybrid; input (batch, frames, channels) padded with ``pad_value``, output logits."""
    inputs = keras.Input((None, channels), name="inputs")
    x = layers.Masking(mask_value=pad_value, name="mask")(inputs)
    x = layers.Dense(dim, use_bias=False, name="stem_dense")(x)
    x = layers.BatchNormalization(momentum=0.95, name="stem_bn")(x)
    for s in range(num_stages):
        for b in range(3):
            x = conv1d_block(x, dim, kernel_size, drop_rate, name=f"s{s}_conv{b}")
        x = transformer_block(x, dim, num_heads, 2, attn_dropout, drop_rate, name=f"s{s}_attn")
    x = layers.Dense(dim * 2, name="top_dense")(x)
    x = layers.GlobalAveragePooling1D(name="pool")(x)
    x = LateDropout(late_dropout, start_step=late_dropout_start, name="late_dropout")(x)
    # float32 logits also under a mixed-precision policy (--mixed-precision)
    outputs = layers.Dense(num_classes, name="classifier", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=ARCHITECTURE)


class HybridRecipe(SignRecipe):
    """The published training of the hybrid (module docstring of :mod:`training_recipes.train`
    and :mod:`training_recipes.augment` for AWP, the decay and the augmentations)."""

    script = "training_recipes/hybrid.py"
    architecture = ARCHITECTURE

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args)
        self.label_smoothing = args.label_smoothing
        self.awp_lambda = args.awp_lambda
        self.awp_start_epoch = args.awp_start_epoch
        self._no_drop: tuple[Gislr1stPreprocessor, Gislr1stPreprocessor] | None = None
        self.augment = PublishedAugment(
            p_resample=args.p_resample,
            p_flip=args.p_flip,
            max_len=args.max_len,
            p_affine=args.p_affine,
            p_temporal_mask=args.p_temporal_mask,
            p_cutout=args.p_cutout,
        )

    @property
    def lr(self) -> float:
        """``--lr``, or the published 5e-4 per 64 samples scaled to the global batch size
        (``--batch-size`` x replicas)."""
        return self.args.lr or 5e-4 * self.args.batch_size * self.replicas / 64

    def architecture_args(self) -> dict[str, Any]:
        a = self.args
        return {
            "dim": a.dim,
            "num_heads": a.num_heads,
            "kernel_size": a.kernel_size,
            "num_stages": a.num_stages,
            "late_dropout": a.late_dropout,
        }

    def preprocessor(self, train_raws: list[np.ndarray]) -> Gislr1stPreprocessor:
        return Gislr1stPreprocessor(max_len=self.args.max_len, empty_frames=self.args.empty_frames)

    def landmark_view(self) -> LandmarkView:
        """The cache keeps the non-empty frames (the model's rule) and the 118 points, the
        centre landmark and their mirror partners (the flip reads those); with ``--empty-frames
        all`` every row, as that rule looks at all 543."""
        pre = self.preprocessor([])
        rows = None
        if pre.empty_frames != "all":
            rows = tuple(np.union1d(pre._gather, lm.MIRROR[pre._gather]).tolist())
        return LandmarkView(rows, pre.keep_frames, {"preprocessing": pre.to_config()})

    def features(
        self, pre: Gislr1stPreprocessor, raw: np.ndarray, rng: np.random.Generator | None
    ) -> np.ndarray:
        if rng is None:
            return pre(raw)
        # empty frames go first, with the model's rule, so that the temporal mask masks frames
        # instead of deleting them (augment module docstring)
        x = self.augment(pre.keep_frames(raw), rng)
        if self._no_drop is None or self._no_drop[0] is not pre:  # once per preprocessor
            self._no_drop = (pre, replace(pre, drop_empty_frames=False))
        return self._no_drop[1](x)

    def build(
        self, num_classes: int, pre: Gislr1stPreprocessor, steps_per_epoch: int
    ) -> keras.Model:
        a = self.args
        return build_model(
            num_classes=num_classes,
            channels=pre.num_features[0],
            dim=a.dim,
            num_heads=a.num_heads,
            kernel_size=a.kernel_size,
            num_stages=a.num_stages,
            drop_rate=a.drop_rate,
            attn_dropout=a.attn_dropout,
            late_dropout=a.late_dropout,
            late_dropout_start=a.late_dropout_start_epoch * steps_per_epoch,
            pad_value=pre.pad_value,
        )

    def optimizer(self, steps_per_epoch: int) -> keras.optimizers.Optimizer:
        a = self.args
        schedule = cosine_schedule(self.lr, steps_per_epoch * a.epochs, final_lr=a.final_lr)
        return AdamWTiedDecay(schedule, weight_decay_ratio=a.weight_decay_ratio)

    def summary(self) -> str:
        a = self.args
        aug = (
            "none"
            if a.no_augment
            else ", ".join(
                f"{k} {v}"
                for k, v in (
                    ("resample", a.p_resample),
                    ("flip", a.p_flip),
                    ("affine", a.p_affine),
                    ("temporal mask", a.p_temporal_mask),
                    ("cutout", a.p_cutout),
                )
            )
            + f", temporal crop to {a.max_len}"
        )
        return (
            f"epochs {a.epochs}, batch {a.batch_size}, AdamW lr {self.lr:g} cosine to "
            f"{a.final_lr:g} without warm-up, weight decay {a.weight_decay_ratio:g} x lr "
            f"(applied x lr), label smoothing {a.label_smoothing}, AWP lambda {a.awp_lambda} "
            f"from epoch {a.awp_start_epoch}, LateDropout {a.late_dropout} from epoch "
            f"{a.late_dropout_start_epoch}, empty frames: {a.empty_frames}; augmentation "
            f"(probabilities): {aug}"
        )


def build_parser() -> argparse.ArgumentParser:
    """The recipe's command line; the defaults are the published values."""
    p = sign_parser(
        __doc__.split("\n\n")[0],
        "participants held out for validation, drawn with --seed (0: train on everyone)",
    )
    g = p.add_argument_group("model (published: dim 192, 2 stages; the 4x model: dim 384, 4)")
    g.add_argument("--dim", type=int, default=192, help="model width")
    g.add_argument("--num-stages", type=int, default=2, help="stages of 3 Conv1D + 1 attention")
    g.add_argument("--num-heads", type=int, default=4, help="attention heads")
    g.add_argument("--kernel-size", type=int, default=17, help="causal depthwise kernel")
    g.add_argument("--max-len", type=int, default=384, help="frames (longer input is cropped)")
    g.add_argument("--drop-rate", type=float, default=0.2, help="drop-path rate of the blocks")
    g.add_argument("--attn-dropout", type=float, default=0.2, help="attention dropout")
    g.add_argument("--late-dropout", type=float, default=0.8, help="LateDropout rate of the head")
    g.add_argument(
        "--late-dropout-start-epoch", type=int, default=15, help="epoch LateDropout switches on"
    )
    g.add_argument(
        "--empty-frames",
        choices=EMPTY_FRAME_RULES,
        default="selected",
        help="which frames are dropped as empty: those with none of the 118 'selected' points "
        "(the original rule) or with no landmark at 'all' (the rule of artifacts made before "
        "the option); recorded in config.json",
    )
    g = p.add_argument_group("training (published values as defaults)")
    g.add_argument("--epochs", type=int, default=300, help="epochs")
    g.add_argument("--batch-size", type=int, default=64, help="sequences per batch")
    g.add_argument(
        "--lr", type=float, default=None, help="peak learning rate (default: 5e-4 x batch / 64)"
    )
    g.add_argument("--final-lr", type=float, default=1e-6, help="cosine decays to this")
    g.add_argument(
        "--weight-decay-ratio",
        type=float,
        default=0.1,
        help="weight decay = this x the current lr, applied x lr (var -= lr * wd * var)",
    )
    g.add_argument("--label-smoothing", type=float, default=0.1, help="label smoothing")
    g.add_argument(
        "--awp-lambda", type=float, default=0.2, help="AWP perturbation size (0: no AWP)"
    )
    g.add_argument("--awp-start-epoch", type=int, default=15, help="epoch AWP switches on")
    g.add_argument("--no-augment", action="store_true", help="train without augmentation")
    g.add_argument("--p-resample", type=float, default=0.8, help="p of a 0.5-1.5x time resample")
    g.add_argument("--p-flip", type=float, default=0.5, help="p of a horizontal flip")
    g.add_argument(
        "--p-affine", type=float, default=0.75, help="p of the scale/shear/rotate/shift affine"
    )
    g.add_argument(
        "--p-temporal-mask", type=float, default=0.5, help="p of masking 20-40 %% of the frames"
    )
    g.add_argument("--p-cutout", type=float, default=0.5, help="p of a spatial cutout")
    add_run_options(g)
    return p


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the recipe's options (``--help`` lists them with their defaults)."""
    return build_parser().parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    argv = list(sys.argv[1:] if argv is None else argv)
    return train_signs(HybridRecipe(parse_args(argv)), argv)


if __name__ == "__main__":
    main()
