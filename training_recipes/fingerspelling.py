"""Fingerspelling to text: a Conv1D + Transformer encoder with a CTC head, in Keras 3.

Architecture source: hoyso48's 2nd-place solution to Kaggle "Google - American Sign Language
Fingerspelling Recognition" (2023, public write-up and code): the GISLR 1st-place encoder
(Conv1DBlock = Dense(2*dim, swish) -> causal depthwise Conv1D(k=17) -> BN -> ECA -> Dense(dim)
-> drop-path + residual; TransformerBlock = BN -> MHSA -> residual -> BN -> MLP -> residual;
:mod:`training_recipes.hybrid`, :mod:`training_recipes.layers`) with a stride-2 stage and a CTC
head. The 2nd place scaled it to dim 192 and 17 layers and added an attention decoder; its CTC
greedy path alone scored within 0.005 of its joint decoding at a quarter of the latency, so this
recipe keeps the CTC path only. Here:

    features (fingerspelling pipeline) -> Masking -> Dense(dim) + BN
      -> ``pre_blocks`` Conv1DBlocks at the frame rate
      -> keep every 2nd frame (the convolutions are causal, so output step i sees frames <= 2i;
         a sequence of n frames gives ceil(n / 2) steps whatever the padding)
      -> ``num_stages`` x (3 Conv1DBlocks + TransformerBlock)
      -> Dense(characters + 1): logits over the 59 ASLFR characters and the CTC blank (last)

Trained with CTC loss, AdamW and a cosine schedule with warm-up; augmentation on the selected
landmarks (time stretch, rotation/shear/scale/shift, dropped frames). The exported artifact
holds the encoder only (dynamic frame axis); aslsign decodes its output in NumPy. With
``--kaggle`` the recipe also writes a Kaggle ASLFR submission model (preprocessing and greedy
CTC decoding in the graph; :mod:`training_recipes.kaggle_aslfr`).

Train, export and measure (normalised Levenshtein on held-out signers and phrases, through the
exported model and ``aslsign.FingerspellingRecognizer``)::

    python training_recipes/synth_fingerspelling.py \\
        --letters ../shared/data/fingerspelling-letters --out runs/synth --phrases 4000 --seed 0
    python training_recipes/fingerspelling.py --data runs/synth --out runs/ctc_tiny --dim 128
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

if __package__ in (None, ""):  # run as a script: make `training_recipes` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras
import numpy as np
from keras import layers, ops

from aslsign.characters import CHARACTERS
from aslsign.io import FingerspellingDataset, FingerspellingRecord
from aslsign.preprocessing import FingerspellingPreprocessor
from training_recipes import card, data, export
from training_recipes.augment import fingerspelling_augment
from training_recipes.evaluate import evaluate_fingerspelling
from training_recipes.hybrid import conv1d_block, transformer_block
from training_recipes.train import (
    Trainer,
    add_run_options,
    add_variants_option,
    cosine_schedule,
    fit,
    set_seed,
)
from training_recipes.variants import add_variants, variant_list

ARCHITECTURE = "ctc_hybrid"
BLANK = "<blank>"
STRIDE = 2


# ----------------------------------------------------------------------------- model


@keras.saving.register_keras_serializable("aslsign")
class Downsample(layers.Layer):
    """Keep every ``stride``-th frame (and its mask entry), starting with the first."""

    def __init__(self, stride: int = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True
        self.stride = stride

    def call(self, inputs: Any) -> Any:
        return inputs[:, :: self.stride]

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return None if mask is None else mask[:, :: self.stride]

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        frames = input_shape[1]
        return (
            input_shape[0],
            None if frames is None else -(-frames // self.stride),
            *input_shape[2:],
        )

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "stride": self.stride}


def build_model(
    vocab_size: int = len(CHARACTERS) + 1,
    channels: int = 447,
    dim: int = 128,
    num_heads: int = 4,
    kernel_size: int = 17,
    pre_blocks: int = 2,
    num_stages: int = 2,
    drop_rate: float = 0.1,
    attn_dropout: float = 0.1,
    head_dropout: float = 0.2,
    pad_value: float = -100.0,
) -> keras.Model:
    """The CTC encoder: (batch, frames, channels) padded with ``pad_value`` -> (batch,
    ceil(frames / 2), vocab_size) logits."""
    inputs = keras.Input((None, channels), name="inputs")
    x = layers.Masking(mask_value=pad_value, name="mask")(inputs)
    x = layers.Dense(dim, use_bias=False, name="stem_dense")(x)
    x = layers.BatchNormalization(momentum=0.95, name="stem_bn")(x)
    for b in range(pre_blocks):
        x = conv1d_block(x, dim, kernel_size, drop_rate, name=f"pre_conv{b}")
    x = Downsample(STRIDE, name="downsample")(x)
    for s in range(num_stages):
        for b in range(3):
            x = conv1d_block(x, dim, kernel_size, drop_rate, name=f"s{s}_conv{b}")
        x = transformer_block(x, dim, num_heads, 2, attn_dropout, drop_rate, name=f"s{s}_attn")
    x = layers.Dense(dim * 2, activation="swish", name="top_dense")(x)
    x = layers.Dropout(head_dropout, name="head_dropout")(x)
    outputs = layers.Dense(vocab_size, name="classifier")(x)
    return keras.Model(inputs, outputs, name=ARCHITECTURE)


def ctc_loss(blank: int, pad_value: float) -> Any:
    """CTC loss per character of ``((labels, label_lengths), logits, features)``; the output
    steps of each sequence are ``ceil(frames / STRIDE)`` of its unpadded frames."""

    def loss(y: Any, y_pred: Any, x: Any) -> Any:
        labels, label_lengths = y
        frames = ops.sum(ops.cast(ops.any(ops.not_equal(x, pad_value), axis=-1), "int32"), 1)
        steps = (frames + STRIDE - 1) // STRIDE
        value = ops.ctc_loss(labels, y_pred, label_lengths, steps, mask_index=blank)
        # per character, so long and short phrases weigh alike per character
        return ops.mean(value / ops.maximum(ops.cast(label_lengths, value.dtype), 1.0))

    return loss


# ----------------------------------------------------------------------------- data


def encode(phrase: str, index: dict[str, int]) -> np.ndarray:
    unknown = sorted(set(phrase) - set(index))
    if unknown:
        raise SystemExit(f"Phrase {phrase!r} has characters outside the vocabulary: {unknown}.")
    return np.array([index[c] for c in phrase], np.int32)


def load_selected(
    ds: FingerspellingDataset, pre: FingerspellingPreprocessor
) -> tuple[list[np.ndarray], list[FingerspellingRecord]]:
    """Every sequence of ``ds`` reduced to the rows the pipeline reads (``pre.select``)."""
    sel, records = [], []
    for record, raw in ds.iter_sequences(progress=sys.stderr.isatty()):
        sel.append(pre.select(raw))
        records.append(record)
    return sel, records


def ctc_batches(
    selected: Sequence[np.ndarray],
    labels: Sequence[np.ndarray],
    pre: FingerspellingPreprocessor,
    batch_size: int,
    augment: bool,
    seed: int,
) -> data.Batches:
    """Padded ``(features, (labels, label_lengths))`` batches of length-bucketed sequences."""

    def prepare(x: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        if rng is not None:
            x = pre.limit(fingerspelling_augment(x, rng))
        return x if len(x) else np.full((1, *x.shape[1:]), np.nan, np.float32)

    def collate(lab: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        y = np.zeros((len(lab), max(len(t) for t in lab)), np.int32)
        for i, t in enumerate(lab):
            y[i, : len(t)] = t
        return y, np.array([len(t) for t in lab], np.int32)

    return data.Batches(
        selected,
        labels,
        prepare=prepare,
        pad=lambda xs: pre.features(xs)[0],
        collate=collate,
        batch_size=batch_size,
        seed=seed,
        augment=augment,
    )


def split(
    ds: FingerspellingDataset, n_val: int, seed: int, val_ids: Sequence[int] | None
) -> tuple[FingerspellingDataset, FingerspellingDataset, list[int], list[int]]:
    """Hold out whole signers, and drop from training every phrase a held-out signer spells."""
    people = ds.participants
    if val_ids is None:
        if n_val >= len(people):
            raise SystemExit(f"Cannot hold out {n_val} of {len(people)} participants.")
        val_ids = sorted(np.random.default_rng(seed).choice(people, n_val, replace=False).tolist())
    unknown = set(val_ids) - set(people)
    if unknown:
        raise SystemExit(f"--val-ids {sorted(unknown)} are not in the data ({people}).")
    train_ids = [p for p in people if p not in val_ids]
    val = ds.subset(participants=val_ids)
    held_phrases = set(val.phrases)
    train = ds.subset(participants=train_ids)
    train = FingerspellingDataset(
        ds.root, records=[r for r in train if r.phrase not in held_phrases]
    )
    return train, val, train_ids, list(val_ids)


# ----------------------------------------------------------------------------- evaluation


def export_and_compare(
    encoder: Any,
    pre: FingerspellingPreprocessor,
    out: Path,
    artifact: Path,
    raws: Sequence[np.ndarray],
    blank: int,
) -> float:
    """Write the Kaggle submission model; return the share of ``raws`` it transcribes exactly
    as the artifact does (1.0 expected)."""
    from aslsign import FingerspellingRecognizer
    from training_recipes.kaggle_aslfr import export_kaggle

    export_kaggle(encoder, pre, out, blank=blank)
    with (
        FingerspellingRecognizer.from_pretrained(artifact) as ours,
        FingerspellingRecognizer.from_kaggle(out / "model.tflite") as kaggle,
    ):
        a = [r.text for r in ours.predict_batch(raws)]
        b = [r.text for r in kaggle.predict_batch(raws)]
    agreement = float(np.mean([x == y for x, y in zip(a, b, strict=True)])) if a else 1.0
    print(f"Kaggle export: {agreement:.4f} of {len(a)} sequences transcribed as the artifact does")
    return agreement


class Monitor(keras.callbacks.Callback):
    """Greedy-decoded normalised Levenshtein on a validation sample every ``every`` epochs."""

    def __init__(self, features: np.ndarray, lengths: np.ndarray, phrases: list[str], every: int):
        super().__init__()
        self.features, self.lengths, self.phrases, self.every = features, lengths, phrases, every

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if (epoch + 1) % self.every:
            return
        from aslsign.ctc import greedy_decode, log_softmax
        from aslsign.metrics import normalized_levenshtein

        out = log_softmax(np.asarray(self.model.predict(self.features, verbose=0)))
        blank = out.shape[-1] - 1
        texts = []
        for row, n in zip(out, self.lengths, strict=True):
            tokens = greedy_decode(row[: -(-int(n) // STRIDE)], blank=blank).tokens
            texts.append("".join(CHARACTERS[t] for t in tokens))
        score = normalized_levenshtein(self.phrases, texts)
        if logs is not None:
            logs["val_norm_lev"] = score
        print(f"  epoch {epoch + 1}: validation normalised Levenshtein {score:.4f} (synthetic)")


# ----------------------------------------------------------------------------- driver


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--data", required=True, type=Path, help="ASLFR-style folder (train.csv)")
    p.add_argument("--out", required=True, type=Path, help="artifact directory to write")
    p.add_argument("--name", default=None, help="model name in config.json (default: out dir)")
    p.add_argument("--dim", type=int, default=128, help="model width")
    p.add_argument("--num-heads", type=int, default=4, help="attention heads")
    p.add_argument(
        "--pre-blocks", type=int, default=2, help="Conv1D blocks before the stride-2 step"
    )
    p.add_argument(
        "--num-stages", type=int, default=2, help="stages of 3 Conv1D + 1 attention block"
    )
    p.add_argument("--max-len", type=int, default=512, help="frames (longer input is resampled)")
    p.add_argument("--epochs", type=int, default=30, help="epochs")
    p.add_argument("--batch-size", type=int, default=32, help="sequences per batch")
    p.add_argument("--lr", type=float, default=2e-3, help="peak lr (5 %% warm-up, cosine to 1 %%)")
    p.add_argument("--weight-decay", type=float, default=0.05, help="AdamW weight decay")
    p.add_argument("--drop-rate", type=float, default=0.1, help="drop-path rate")
    p.add_argument("--no-augment", action="store_true", help="train without augmentation")
    p.add_argument("--val-participants", type=int, default=2, help="signers held out")
    p.add_argument("--val-ids", default=None, help="comma-separated signer ids to hold out")
    p.add_argument("--max-train", type=int, default=None, help="use at most this many sequences")
    p.add_argument("--monitor-every", type=int, default=5, help="epochs between validations")
    p.add_argument("--beam-width", type=int, default=8, help="beam width also measured")
    p.add_argument(
        "--kaggle",
        type=Path,
        default=None,
        help="also write a Kaggle ASLFR submission model (model.tflite, inference_args.json, "
        "character map) to this directory, checked to transcribe as the artifact does",
    )
    add_variants_option(p)
    add_run_options(p)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    set_seed(args.seed)
    ds = FingerspellingDataset(args.data)
    val_ids = [int(v) for v in args.val_ids.split(",")] if args.val_ids else None
    train_ds, val_ds, train_ids, val_ids = split(ds, args.val_participants, args.seed, val_ids)
    if args.max_train:
        train_ds = FingerspellingDataset(ds.root, records=list(train_ds)[: args.max_train])
    print(
        f"data: {ds}; train {len(train_ds)} (signers {train_ids}), held out {len(val_ds)} "
        f"(signers {val_ids})",
        flush=True,
    )
    pre = FingerspellingPreprocessor(max_len=args.max_len)
    index = {c: i for i, c in enumerate(CHARACTERS)}
    train_sel, train_rec = load_selected(train_ds, pre)
    val_sel, val_rec = load_selected(val_ds, pre)
    train_y = [encode(r.phrase, index) for r in train_rec]

    channels = pre.num_features[0]
    labels = (*CHARACTERS, BLANK)
    arch_args = {
        "dim": args.dim,
        "num_heads": args.num_heads,
        "kernel_size": 17,
        "pre_blocks": args.pre_blocks,
        "num_stages": args.num_stages,
        "stride": STRIDE,
    }
    encoder = build_model(
        vocab_size=len(labels),
        channels=channels,
        dim=args.dim,
        num_heads=args.num_heads,
        pre_blocks=args.pre_blocks,
        num_stages=args.num_stages,
        drop_rate=args.drop_rate,
        pad_value=pre.pad_value,
    )
    trainer = Trainer(encoder, ctc_loss(len(labels) - 1, pre.pad_value))
    source = ctc_batches(train_sel, train_y, pre, args.batch_size, not args.no_augment, args.seed)
    steps = len(source) * args.epochs
    schedule = cosine_schedule(
        args.lr, steps, final_lr=0.01 * args.lr, warmup_steps=max(1, steps // 20)
    )
    trainer.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=args.weight_decay, clipnorm=5.0)
    )
    trainer(pre.features(train_sel[:1])[0], training=False)  # build before a restore
    print(f"model: {encoder.count_params():,} parameters; {steps} steps", flush=True)
    sample = np.random.default_rng(args.seed).permutation(len(val_sel))[:200]
    mon_feats, mon_len = pre.features([val_sel[i] for i in sample]) if len(sample) else (None, None)
    callbacks = []
    if mon_feats is not None:
        callbacks.append(
            Monitor(mon_feats, mon_len, [val_rec[i].phrase for i in sample], args.monitor_every)
        )
    start = time.perf_counter()
    import tensorflow as tf

    x_spec = tf.TensorSpec((None, None, channels), tf.float32)
    y_spec = (tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None,), tf.int32))
    out = Path(args.out)
    ckpt = args.checkpoint_dir or out.parent / (out.name + ".ckpt")
    fit(
        trainer,
        source,
        data.tf_dataset(source, x_spec, y_spec),
        epochs=args.epochs,
        checkpoint_dir=ckpt,
        resume=args.resume,
        callbacks=callbacks,
        verbose=2 if not sys.stdout.isatty() else 1,
    )
    seconds = round(time.perf_counter() - start, 1)

    name = args.name or out.name
    decoding = {"type": "ctc", "blank_index": len(labels) - 1, "output_stride": STRIDE}
    with export.staged_dir(out) as tmp:
        training = {
            "recipe": "training_recipes/fingerspelling.py",
            **export.run_info(args, seconds),
            "data_description": f"SYNTHETIC ASLFR-format phrases from `{args.data.name}` "
            f"({len(ds)} sequences, {len(ds.participants)} synthetic signers; "
            f"{len(train_ds)} used for training)",
            "train_participants": train_ids,
            "val_participants": val_ids,
        }
        config = export.write_artifact(
            tmp,
            encoder,
            name=name,
            architecture=ARCHITECTURE,
            architecture_args=arch_args,
            labels=labels,
            preprocessor=pre,
            training=training,
            task="fingerspelling",
            decoding=decoding,
        )
        # parity on real-length inputs: one at a time and as a padded batch
        probe = [pre.features([s])[0][0] for s in (val_sel or train_sel)[:6] if len(s)]
        diff = export.keras_vs_tflite(
            encoder, tmp / "model.tflite", [p[None] for p in probe] + [pre.pad_batch(probe)]
        )
        raw_val = [r.load() for r in val_rec]
        raw_train = [r.load() for r in train_rec[: len(val_rec) or 200]]
        metrics: dict[str, Any] = {"export_max_abs_diff": float(f"{diff:.3g}")}
        if val_rec:
            phrases = [r.phrase for r in val_rec]
            metrics["validation"] = evaluate_fingerspelling(tmp, raw_val, phrases)
            if args.beam_width > 1:
                metrics["validation_beam"] = evaluate_fingerspelling(
                    tmp, raw_val, phrases, beam_width=args.beam_width
                )
            metrics["data"] = (
                f"{len(val_rec)} SYNTHETIC sequences of {len(val_ids)} held-out synthetic signers "
                f"{val_ids} of {args.data.name}, phrases not seen in training"
            )
        metrics["train"] = evaluate_fingerspelling(
            tmp, raw_train, [r.phrase for r in train_rec[: len(raw_train)]]
        )
        if args.kaggle:
            metrics["kaggle_agreement"] = export_and_compare(
                encoder, pre, args.kaggle, tmp, (raw_val or raw_train)[:200], len(labels) - 1
            )
        config = config.from_dict({**config.to_dict(), "metrics": metrics})
        config.save(tmp / "config.json")
        if args.variants:
            config = add_variants(
                tmp,
                raw_val or raw_train,
                f"SYNTHETIC {'held-out' if raw_val else 'training'} sequences of {args.data.name}",
                variant_list(args.variants),
            )
        command = f"python training_recipes/fingerspelling.py {shlex.join(argv)}"
        (tmp / "README.md").write_text(card.fingerspelling_card(config, command))
    shutil.rmtree(ckpt, ignore_errors=True)  # the run finished: nothing to resume
    print(json.dumps({"out": str(out), **metrics}, indent=2))
    export.publish(out, args.push_to_hub)  # the artifact is in place
    return metrics


if __name__ == "__main__":
    main()
