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
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out

if __package__ in (None, ""):  # run as a script: make `training_recipes` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras
from keras import layers

from training_recipes.layers import ECA, CausalDWConv1D, LateDropout, MultiHeadSelfAttention

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
    outputs = layers.Dense(num_classes, name="classifier")(x)
    return keras.Model(inputs, outputs, name=ARCHITECTURE)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument(
        "--data", required=True, type=Path, help="GISLR-style folder (train.csv + files)"
    )
    p.add_argument("--out", required=True, type=Path, help="artifact directory to write")
    p.add_argument("--name", default=None, help="model name in config.json (default: out dir name)")
    p.add_argument("--dim", type=int, default=192)
    p.add_argument("--num-heads", type=int, default=4)
    p.add_argument("--max-len", type=int, default=384)
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--drop-rate", type=float, default=0.2)
    p.add_argument("--late-dropout", type=float, default=0.8)
    p.add_argument(
        "--late-dropout-start",
        type=float,
        default=0.3,
        help="fraction of training steps before LateDropout switches on",
    )
    p.add_argument("--no-augment", action="store_true", help="train without augmentation")
    p.add_argument(
        "--val-participants",
        type=int,
        default=3,
        help="number of participants held out for validation (0: no validation)",
    )
    p.add_argument(
        "--val-ids",
        default=None,
        help="comma-separated participant ids to hold out (overrides the count)",
    )
    p.add_argument(
        "--label-map",
        type=Path,
        default=None,
        help="{sign: index} JSON fixing the output order (default: sorted signs)",
    )
    p.add_argument("--seed", type=int, default=42)
    p.add_argument(
        "--prototypes",
        action="store_true",
        help="also write examples.json: one averaged prototype sequence per sign",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    from training_recipes import common

    return common.train_and_export(
        args,
        argv,
        architecture=ARCHITECTURE,
        recipe="training_recipes/hybrid.py",
        build=lambda num_classes, channels, late_start: build_model(
            num_classes=num_classes,
            channels=channels,
            dim=args.dim,
            num_heads=args.num_heads,
            drop_rate=args.drop_rate,
            late_dropout=args.late_dropout,
            late_dropout_start=late_start,
        ),
        architecture_args={
            "dim": args.dim,
            "num_heads": args.num_heads,
            "kernel_size": 17,
            "num_stages": 2,
            "late_dropout": args.late_dropout,
        },
    )


if __name__ == "__main__":
    main()
