"""Exporting a trained Keras model as an aslsign artifact, and proving the export faithful.

An artifact directory holds ``model.tflite`` (LiteRT, ``serving_default`` signature, dynamic
frame axis), ``config.json`` (:class:`aslsign.ModelConfig`: preprocessing, labels, signature,
training record, metrics, sha256) and a ``README.md`` model card (:mod:`training_recipes.card`).
:func:`staged_dir` writes it beside its destination and moves it into place only when everything
succeeded, so a failed run never leaves a half-written artifact.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from aslsign import landmarks as lm
from aslsign.config import ModelConfig, TensorSpec, sha256_file
from aslsign.runtime import LiteRTModel

__all__ = [
    "export_tflite",
    "keras_vs_tflite",
    "publish",
    "run_info",
    "sign_prototype",
    "staged_dir",
    "write_artifact",
    "write_examples",
]


def export_tflite(model: Any, path: Path, *, fp16: bool = False) -> None:
    """Convert a Keras 3 model to TFLite with a ``serving_default`` signature (fp32, or with
    fp16 weights when ``fp16``)."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if fp16:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
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
    **fields: Any,
) -> ModelConfig:
    """Export ``model.tflite`` and ``config.json`` (signature read back from the file).

    ``preprocessor`` is the :mod:`aslsign.preprocessing` pipeline the model was trained on;
    ``decoding`` (fingerspelling models) says how outputs become text; ``fields`` are further
    config.json fields (``background_label``, ``score_threshold``, ``min_hand_frames``).
    """
    out.mkdir(parents=True, exist_ok=True)
    tflite = out / "model.tflite"
    export_tflite(model, tflite)
    runner = LiteRTModel(tflite)
    ((in_name, tin),) = runner.inputs.items()
    ((out_name, tout),) = runner.outputs.items()

    def shape(t: Any) -> tuple[int | None, ...]:
        return tuple(None if s == -1 else s for s in t.shape)

    config = ModelConfig(
        name=name,
        task=task,
        architecture=architecture,
        architecture_args=architecture_args,
        labels=tuple(labels),
        preprocessing=preprocessor.to_config(),
        decoding=decoding or {},
        input=TensorSpec(in_name, str(tin.dtype), shape(tin)),
        output=TensorSpec(out_name, str(tout.dtype), shape(tout)),
        output_kind="logits",
        training=training,
        license=license,
        model_sha256=sha256_file(tflite),
        **fields,
    )
    config.save(out / "config.json")
    return config


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
        "args": {
            k: (
                [str(p) for p in v] if isinstance(v, list) else str(v) if isinstance(v, Path) else v
            )
            for k, v in vars(args).items()
            if k != "push_to_hub"  # where it is published is no part of the training run
        },
        "seconds": seconds,
        "machine": f"{os.cpu_count()} CPU cores, {platform.machine()}",
        "keras_version": keras.__version__,
    }


# ----------------------------------------------------------------------------- examples


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


def publish(out: Path, repo_id: str | None) -> str | None:
    """``--push-to-hub``: push the finished artifact at ``out`` to the hub repo ``repo_id`` with
    :func:`aslsign.push_to_hub` (token from ``HF_TOKEN`` or ``hf auth login``) and print the
    commit; nothing without ``repo_id``. Returns the commit URL."""
    if not repo_id:
        return None
    from aslsign.hub import push_to_hub

    result = push_to_hub(out, repo_id)
    print(f"pushed {out} to {result.repo_id}: {result.commit_url}")
    return result.commit_url


# ----------------------------------------------------------------------------- command line


def _sequences(paths: Sequence[Path], task: str, participants: set[int] | None) -> list[Any]:
    """The sequences under ``paths`` (dataset folders or files) that an artifact of ``task``
    reads: paths of GISLR files, or loaded ASLFR sequences."""
    from aslsign.io import FingerspellingDataset, GislrDataset, list_sequence_ids
    from aslsign.io import load_fingerspelling as load_spelling

    out: list[Any] = []
    for path in paths:
        if path.is_dir():
            if task == "fingerspelling":
                fs = FingerspellingDataset(path)
                out += [
                    r.load() for r in fs if not participants or r.participant_id in participants
                ]
            else:
                gs = GislrDataset(path)
                out += [r.path for r in gs if not participants or r.participant_id in participants]
        elif task == "fingerspelling":
            out += [load_spelling(path, i) for i in list_sequence_ids(path)]
        else:
            out.append(path)
    if not out:
        raise SystemExit(f"No sequences found in {[str(p) for p in paths]}.")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``python training_recipes/export.py ARTIFACT_DIR --format kaggle|variants ...``"""
    import argparse

    p = argparse.ArgumentParser(
        description="Export an aslsign artifact: as a Kaggle submission model (--format kaggle "
        "--out DIR), or add its smaller variants beside model.tflite (--format variants).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("artifact", type=Path, help="artifact directory (model.tflite + config.json)")
    p.add_argument("--format", required=True, choices=("kaggle", "variants"))
    p.add_argument("--out", type=Path, help="kaggle: the directory to write")
    p.add_argument(
        "--variant", default=None, help="kaggle: export this variant (fp16, int8) of the model"
    )
    p.add_argument("--variants", default="fp16,int8", help="variants: which to write (fp16, int8)")
    p.add_argument(
        "--data",
        type=Path,
        nargs="+",
        help="sequences to measure on: dataset folders (GISLR or ASLFR train.csv) or files",
    )
    p.add_argument(
        "--participants", default=None, help="comma-separated participant ids to keep of --data"
    )
    p.add_argument(
        "--verbose",
        action="store_true",
        help="show TensorFlow's and the converter's own log lines (kept off by default)",
    )
    p.add_argument(
        "--describe",
        default=None,
        help="variants: how the card describes the --data sequences (none: the folder names)",
    )
    args = p.parse_args(argv)
    with _tensorflow_logs(quiet=not args.verbose):
        return _main(p, args, argv)


@contextlib.contextmanager
def _tensorflow_logs(quiet: bool) -> Iterator[None]:
    """TensorFlow's start-up lines, absl's Python warnings and the converter's C++ log lines
    off (fd 2 to /dev/null while Python's stderr stays), unless ``quiet`` is False."""
    import logging

    from aslsign._util import native_logs_silenced

    if not quiet:
        yield
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    absl = logging.getLogger("absl")
    level = absl.level
    absl.setLevel(logging.ERROR)
    try:
        with native_logs_silenced():
            yield
    finally:
        absl.setLevel(level)


def _main(p: Any, args: Any, argv: Sequence[str] | None) -> int:
    import shlex
    import sys

    config = ModelConfig.load(args.artifact / "config.json")
    if args.format == "variants":
        from training_recipes import card
        from training_recipes.variants import add_variants, variant_list

        if not args.data:
            p.error("--format variants needs --data: the sequences each variant is measured on")
        who = {int(v) for v in args.participants.split(",")} if args.participants else None
        seqs = _sequences(args.data, config.task, who)
        what = args.describe or ", ".join(d.name for d in args.data)
        command = "python training_recipes/export.py " + shlex.join(
            sys.argv[1:] if argv is None else list(argv)
        )
        config = add_variants(
            args.artifact, seqs, what, variant_list(args.variants), command=command
        )
        readme = args.artifact / "README.md"
        if readme.is_file():
            readme.write_text(card.with_variants(readme.read_text(), config))
        for name, v in config.variants.items():
            print(f"{name}: {v['size_bytes']:,} bytes ({v['size_ratio']:.1%}), {v['agreement']}")
        return 0
    if args.out is None:
        p.error("--format kaggle needs --out DIR")
    if config.task != "isolated_sign":
        p.error(
            "--format kaggle exports isolated-sign artifacts (Kaggle GISLR); a fingerspelling "
            "model's Kaggle ASLFR export is written by its recipe: training_recipes/"
            "fingerspelling.py --kaggle DIR"
        )
    from training_recipes.kaggle_gislr import export_kaggle_artifact

    path = export_kaggle_artifact(args.artifact, args.out, variant=args.variant)
    size = (path / "model.tflite").stat().st_size
    print(f"wrote {path / 'model.tflite'} ({size:,} bytes) and its label map")
    return 0


if __name__ == "__main__":
    import sys

    if __package__ in (None, ""):  # run as a script: make `training_recipes` importable
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    raise SystemExit(main())
