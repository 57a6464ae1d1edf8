"""Shared training machinery of the recipes: data, augmentation, training loop, export, model card.

Features come from :mod:`aslsign.preprocessing` (the runtime's own code); augmentations act on
the raw (frames, 543, 3) landmarks before it, so training and inference see one pipeline.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import shlex
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from aslsign import landmarks as lm
from aslsign.config import ModelConfig, TensorSpec, sha256_file
from aslsign.io import GislrDataset
from aslsign.preprocessing import Gislr1stPreprocessor
from aslsign.recognizer import SignRecognizer, read_label_map
from aslsign.runtime import LiteRTModel

# ----------------------------------------------------------------------------- data


def split_participants(
    ds: GislrDataset, n_val: int, seed: int, val_ids: Sequence[int] | None = None
) -> tuple[list[int], list[int]]:
    """(train, validation) participant ids; validation ones are drawn with ``seed``."""
    people = ds.participants
    if val_ids is not None:
        unknown = set(val_ids) - set(people)
        if unknown:
            raise SystemExit(f"--val-ids {sorted(unknown)} are not in the data ({people}).")
        val = sorted(val_ids)
    else:
        if n_val >= len(people):
            raise SystemExit(f"Cannot hold out {n_val} of {len(people)} participants.")
        val = sorted(np.random.default_rng(seed).choice(people, n_val, replace=False).tolist())
    return [p for p in people if p not in val], val


def load_raw(ds: GislrDataset, labels: Sequence[str]) -> tuple[list[np.ndarray], np.ndarray]:
    """All sequences of ``ds`` (raw landmarks) and their label indices."""
    index = {s: i for i, s in enumerate(labels)}
    raws, ys = [], []
    for record, seq in ds.iter_sequences(progress=sys.stderr.isatty()):
        raws.append(seq)
        ys.append(index[record.sign])
    return raws, np.asarray(ys, np.int64)


def resample_time(
    x: np.ndarray, rng: np.random.Generator, speed: tuple[float, float] = (0.8, 1.25)
) -> np.ndarray:
    """Play a sequence at a random speed in ``speed`` (nearest-frame resampling)."""
    n = len(x)
    if n <= 2:
        return x
    new_n = max(2, round(n / rng.uniform(*speed)))
    return x[np.round(np.linspace(0, n - 1, new_n)).astype(np.intp)]


def affine_xy(
    x: np.ndarray,
    rng: np.random.Generator,
    degrees: float = 15.0,
    shear: float = 0.1,
    scale: tuple[float, float] = (1.0, 1.0),
    shift: float = 0.0,
) -> np.ndarray:
    """A random rotation, shear, scale and shift of x/y about (0.5, 0.5); NaN stays NaN."""
    angle = np.deg2rad(rng.uniform(-degrees, degrees))
    c, s = math.cos(angle), math.sin(angle)
    k = rng.uniform(-shear, shear)
    m = np.array([[c, -s + k], [s, c]], np.float32)
    if scale != (1.0, 1.0):  # no draw otherwise: the recorded GISLR runs keep their stream
        m *= np.float32(rng.uniform(*scale))
    offset = rng.uniform(-shift, shift, 2).astype(np.float32) if shift else 0.0
    x = x.copy()
    x[..., :2] = (x[..., :2] - 0.5) @ m.T + 0.5 + offset
    return x


def augment(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random mirror, time resampling (0.8-1.25x speed), rotation (+-15 deg) and shear of x/y."""
    if rng.random() < 0.5:
        x = lm.mirror(x)
    return affine_xy(resample_time(x, rng), rng)


class BatchSource:
    """Padded (features, one-hot) batches, built in NumPy; lengths are bucketed to pad less."""

    def __init__(self, raws, ys, num_classes, preprocessor, batch_size, augment_data, seed):
        self.raws, self.ys = raws, ys
        self.num_classes = num_classes
        self.pre = preprocessor
        self.batch_size = batch_size
        self.augment = augment_data
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return math.ceil(len(self.raws) / self.batch_size)

    def epoch(self):
        order = self.rng.permutation(len(self.raws))
        feats = []
        for i in order:
            x = augment(self.raws[i], self.rng) if self.augment else self.raws[i]
            f = self.pre(x)
            if len(f) == 0:  # nothing detected: one empty frame, as the runtime never sees it
                f = np.zeros((1, *self.pre.num_features), np.float32)
            feats.append(f)
        # sort within windows of 8 batches by length, then shuffle the batches
        window = self.batch_size * 8
        idx = np.arange(len(order))
        chunks = []
        for w in range(0, len(idx), window):
            part = sorted(idx[w : w + window], key=lambda j: len(feats[j]))
            chunks += [part[b : b + self.batch_size] for b in range(0, len(part), self.batch_size)]
        for c in self.rng.permutation(len(chunks)):
            members = chunks[c]
            x = self.pre.pad_batch([feats[j] for j in members])
            y = np.eye(self.num_classes, dtype=np.float32)[self.ys[order[members]]]
            yield x, y


def tf_dataset(source: BatchSource, channels: int):
    import tensorflow as tf

    return tf.data.Dataset.from_generator(
        source.epoch,
        output_signature=(
            tf.TensorSpec((None, None, channels), tf.float32),
            tf.TensorSpec((None, source.num_classes), tf.float32),
        ),
    ).prefetch(2)


# ----------------------------------------------------------------------------- export


def export_tflite(model: Any, path: Path) -> None:
    """Convert a Keras 3 model to fp32 TFLite with a ``serving_default`` signature."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    path.write_bytes(converter.convert())


def keras_vs_tflite(model: Any, tflite_path: Path, batches: Sequence[np.ndarray]) -> float:
    """Max abs difference between Keras and LiteRT outputs over the given input batches."""
    runner = LiteRTModel(tflite_path)
    (in_name,), (out_name,) = runner.inputs, runner.outputs
    worst = 0.0
    for x in batches:
        ref = np.asarray(model(x, training=False))
        got = runner(**{in_name: x})[out_name]
        worst = max(worst, float(np.abs(ref - got).max()))
    return worst


def write_artifact(
    out: Path,
    model: Any,
    *,
    name: str,
    architecture: str,
    architecture_args: dict[str, Any],
    labels: Sequence[str],
    preprocessor: Any,
    training: dict[str, Any],
    license: str = "Apache-2.0",
    task: str = "isolated_sign",
    decoding: dict[str, Any] | None = None,
) -> ModelConfig:
    """Export ``model.tflite`` and ``config.json`` (signature read back from the file).

    ``preprocessor`` is the :mod:`aslsign.preprocessing` pipeline the model was trained on;
    ``decoding`` (fingerspelling models) says how outputs become text.
    """
    out.mkdir(parents=True, exist_ok=True)
    tflite = out / "model.tflite"
    export_tflite(model, tflite)
    runner = LiteRTModel(tflite)
    ((in_name, tin),) = runner.inputs.items()
    ((out_name, tout),) = runner.outputs.items()
    shape = lambda t: [None if s == -1 else s for s in t.shape]  # noqa: E731
    config = ModelConfig(
        name=name,
        task=task,
        architecture=architecture,
        architecture_args=architecture_args,
        labels=tuple(labels),
        preprocessing=preprocessor.to_config(),
        decoding=decoding or {},
        input=TensorSpec(in_name, str(tin.dtype), tuple(shape(tin))),
        output=TensorSpec(out_name, str(tout.dtype), tuple(shape(tout))),
        output_kind="logits",
        training=training,
        license=license,
        model_sha256=sha256_file(tflite),
    )
    config.save(out / "config.json")
    return config


def evaluate_artifact(out: Path, raws: Sequence[np.ndarray], ys: np.ndarray) -> dict[str, float]:
    """Top-1/top-5 accuracy of the exported artifact through the runtime (``SignRecognizer``)."""
    with SignRecognizer.from_pretrained(out, top_k=5) as rec:
        results = rec.predict_batch(raws)
    top1 = np.mean([r.index == y for r, y in zip(results, ys, strict=True)])
    top5 = np.mean([y in [c.index for c in r.top_k] for r, y in zip(results, ys, strict=True)])
    return {"top1": float(top1), "top5": float(top5), "count": len(ys)}


@contextlib.contextmanager
def staged_dir(out: Path) -> Iterator[Path]:
    """A temporary directory beside ``out`` that replaces ``out`` when the block succeeds.

    A failed run leaves an earlier artifact at ``out`` untouched and no half-written files.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=out.parent))
    try:
        yield tmp
        if out.exists():
            shutil.rmtree(out)
        tmp.chmod(0o755)  # mkdtemp made it private
        tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def run_info(args: Any, seconds: float) -> dict[str, Any]:
    """The arguments, time and machine of a training run, for config.json ``training``."""
    import keras

    return {
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "seconds": seconds,
        "machine": f"{os.cpu_count()} CPU cores, {platform.machine()}",
        "keras_version": keras.__version__,
    }


# ----------------------------------------------------------------------------- prototypes


def sign_prototype(raws: Sequence[np.ndarray], length: int | None = None) -> np.ndarray:
    """An averaged sequence of one sign: right-hand dominant, time-normalised, nan-mean.

    Each sequence loses its undetected frames, is mirrored when its left hand is seen more
    than its right, and is resampled to ``length`` frames (default: the median length); the
    prototype is the mean over sequences where at least half of them saw the landmark.
    """
    seqs = []
    for x in raws:
        x = x[~np.isnan(x).all(axis=(1, 2))]
        if len(x) == 0:
            continue
        left = (~np.isnan(x[:, lm.LEFT_HAND, 0])).sum()
        right = (~np.isnan(x[:, lm.RIGHT_HAND, 0])).sum()
        seqs.append(lm.mirror(x) if left > right else x)
    length = length or int(np.median([len(s) for s in seqs]))
    stack = np.stack(
        [s[np.round(np.linspace(0, len(s) - 1, length)).astype(np.intp)] for s in seqs]
    )
    seen = (~np.isnan(stack)).mean(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices
        proto = np.nanmean(stack, axis=0)
    proto[seen < 0.5] = np.nan
    return proto.astype(np.float32)


def write_examples(path: Path, prototypes: dict[str, np.ndarray]) -> None:
    """examples.json: {sign: (frames, 543, 3) nested lists, null = not detected}, 4 decimals."""

    def enc(a: np.ndarray) -> list:
        return [[[None if np.isnan(v) else round(float(v), 4) for v in p] for p in f] for f in a]

    path.write_text(json.dumps({k: enc(v) for k, v in prototypes.items()}, separators=(",", ":")))


# ----------------------------------------------------------------------------- model card


def _shape(shape: Sequence[int | None]) -> str:
    return json.dumps(list(shape))


def model_card(config: ModelConfig, command: str) -> str:
    t = config.training
    m = config.metrics
    lines = [
        f"# {config.name}",
        "",
        f"Isolated ASL sign recognition from MediaPipe Holistic landmarks: the "
        f"`{config.architecture}` architecture ({config.architecture_args}) trained by "
        f"`{t.get('recipe')}` on {t.get('data_description')}.",
        "",
        f"**Signs it knows ({len(config.labels)}):** " + ", ".join(config.labels) + ".",
        "It always answers with one of these; anything else will be called one of them.",
        "",
        "## Use",
        "",
        "```python",
        "from aslsign import SignRecognizer",
        "",
        f'rec = SignRecognizer.from_pretrained("{config.name}")',
        'print(rec.predict("sequence.parquet").label)',
        "```",
        "",
        "## Evaluation",
        "",
    ]
    if m:
        lines += [
            f"Measured on {m.get('data')}, with the exported `model.tflite` through "
            "`aslsign.SignRecognizer` (fp32, LiteRT):",
            "",
            "| split | sequences | top-1 | top-5 |",
            "|---|---|---|---|",
        ]
        for split in ("validation", "train"):
            if split in m:
                s = m[split]
                lines.append(f"| {split} | {s['count']} | {s['top1']:.4f} | {s['top5']:.4f} |")
        if len(config.labels) <= 5:
            lines += ["", f"(top-5 is trivially 1 with {len(config.labels)} classes.)"]
        lines += ["", f"Keras vs TFLite max abs logit difference: {m.get('export_max_abs_diff')}."]
    else:
        lines += ["No held-out participants: this artifact has no validation measurement."]
    lines += [
        "",
        "## Training",
        "",
        f"Reproduce with `{command}`",
        "",
        f"- participants trained on: {t.get('train_participants')}",
        f"- participants held out: {t.get('val_participants')}",
        f"- epochs {t['args'].get('epochs')}, batch {t['args'].get('batch_size')}, AdamW lr "
        f"{t['args'].get('lr')}, weight decay {t['args'].get('weight_decay')}, label smoothing "
        f"{t['args'].get('label_smoothing')}, augmentation: {not t['args'].get('no_augment')}",
        f"- training time {t.get('seconds')} s on {t.get('machine')}",
        "",
        "## Input",
        "",
        f"Preprocessing `{config.preprocessing['name']}` (see `aslsign.preprocessing`), "
        f"max {config.preprocessing.get('max_len')} frames; model input "
        f"`{config.input.name}` {_shape(config.input.shape)}, output `{config.output.name}` "
        f"{_shape(config.output.shape)} ({config.output_kind}; `null` = any size).",
        "",
        "## License",
        "",
        f"Weights: {config.license}. Training data: Google GISLR / PopSign recordings (CC BY 4.0).",
        "",
    ]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- driver


def train_and_export(
    args: Any,
    argv: Sequence[str],
    *,
    architecture: str,
    recipe: str,
    build: Callable[[int, int, int], Any],
    architecture_args: dict[str, Any],
) -> dict[str, Any]:
    import keras

    keras.utils.set_random_seed(args.seed)
    ds = GislrDataset(args.data)
    labels = list(read_label_map(args.label_map)) if args.label_map else ds.signs
    missing = set(ds.signs) - set(labels)
    if missing:
        raise SystemExit(f"Signs {sorted(missing)} are not in --label-map.")
    val_ids = [int(v) for v in args.val_ids.split(",")] if args.val_ids else None
    if args.val_participants == 0 and val_ids is None:
        train_ids, val_ids = ds.participants, []
    else:
        train_ids, val_ids = split_participants(ds, args.val_participants, args.seed, val_ids)
    pre = Gislr1stPreprocessor(max_len=args.max_len)
    channels = pre.num_features[0]
    print(f"data: {ds}; train participants {train_ids}, held out {val_ids}", flush=True)
    train_raw, train_y = load_raw(ds.subset(participants=train_ids), labels)
    val_raw, val_y = load_raw(ds.subset(participants=val_ids), labels) if val_ids else ([], None)

    source = BatchSource(
        train_raw, train_y, len(labels), pre, args.batch_size, not args.no_augment, args.seed
    )
    steps = len(source) * args.epochs
    model = build(len(labels), channels, int(args.late_dropout_start * steps))
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0,
        decay_steps=max(1, steps - steps // 10),
        warmup_target=args.lr,
        warmup_steps=max(1, steps // 10),
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=args.weight_decay),
        loss=keras.losses.CategoricalCrossentropy(
            from_logits=True, label_smoothing=args.label_smoothing
        ),
        metrics=["accuracy"],
    )
    print(f"model: {model.count_params():,} parameters; {steps} steps", flush=True)
    start = time.perf_counter()
    model.fit(
        tf_dataset(source, channels).repeat(),
        epochs=args.epochs,
        steps_per_epoch=len(source),
        shuffle=False,  # BatchSource shuffles
        verbose=2 if not sys.stdout.isatty() else 1,
    )
    seconds = round(time.perf_counter() - start, 1)

    out = Path(args.out)
    name = args.name or out.name
    with staged_dir(out) as tmp:
        training = {
            "recipe": recipe,
            **run_info(args, seconds),
            "data_description": f"{args.data.name} ({len(ds)} sequences, {len(ds.signs)} signs, "
            f"{len(ds.participants)} participants)",
            "train_participants": train_ids,
            "val_participants": val_ids,
        }
        config = write_artifact(
            tmp,
            model,
            name=name,
            architecture=architecture,
            architecture_args=architecture_args,
            labels=labels,
            preprocessor=pre,
            training=training,
        )
        # parity on real preprocessed sequences of several lengths, batch of one and padded
        probe = [pre(r) for r in (val_raw or train_raw)[:8]]
        probe = [p for p in probe if len(p)]
        diff = keras_vs_tflite(
            model, tmp / "model.tflite", [p[None] for p in probe] + [pre.pad_batch(probe)]
        )
        metrics: dict[str, Any] = {"export_max_abs_diff": float(f"{diff:.3g}")}
        metrics["train"] = evaluate_artifact(tmp, train_raw, train_y)
        if val_ids:
            metrics["validation"] = evaluate_artifact(tmp, val_raw, val_y)
            metrics["data"] = (
                f"{len(val_y)} sequences of {len(val_ids)} held-out participants {val_ids} of "
                f"{args.data.name} (never seen in training)"
            )
        config = ModelConfig.from_dict({**config.to_dict(), "metrics": metrics})
        config.save(tmp / "config.json")
        command = f"python {recipe} {shlex.join(argv)}"
        (tmp / "README.md").write_text(model_card(config, command))
        if args.prototypes:
            protos = {}
            for i, sign in enumerate(labels):
                members = [r for r, y in zip(train_raw, train_y, strict=True) if y == i]
                if members:
                    protos[sign] = sign_prototype(members)
            write_examples(tmp / "examples.json", protos)
    print(json.dumps({"out": str(out), **metrics}, indent=2))
    return metrics
