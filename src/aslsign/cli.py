"""The ``aslsign`` command line.

aslsign predict FILE... [--model NAME|DIR] [--top-k K] [--json]
aslsign predict --example            # the default model's bundled example sequences
aslsign info [MODEL] [--json]
aslsign models
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import __version__
from .errors import AslSignError
from .io import load_sequence, read_examples
from .recognizer import SignRecognizer
from .registry import DEFAULT_MODEL, list_models
from .results import SignResult

__all__ = ["main"]

_FILES_PER_STEP = 256


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="aslsign", description="ASL sign recognition from MediaPipe Holistic landmarks."
    )
    p.add_argument("--version", action="version", version=f"aslsign {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    pr = sub.add_parser("predict", help="recognise the sign in landmark files")
    pr.add_argument("files", nargs="*", type=Path, help="GISLR parquet files")
    pr.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=f"bundled name, artifact dir, .tflite or hub repo (default {DEFAULT_MODEL})",
    )
    pr.add_argument(
        "--example",
        action="store_true",
        help="also run the example sequences bundled with the model",
    )
    pr.add_argument("--label-map", type=Path, help="label map JSON for a Kaggle .tflite model")
    pr.add_argument("--top-k", type=int, default=3, help="classes to list per file")
    pr.add_argument("--json", action="store_true", help="one JSON object per line")
    pr.add_argument("--batch-size", type=int, default=32, help="sequences per interpreter call")
    pr.add_argument("--threads", type=int, default=None, help="interpreter threads")
    pr.add_argument("--quiet", action="store_true", help="no progress bar")

    info = sub.add_parser("info", help="describe a model")
    info.add_argument("model", nargs="?", default=DEFAULT_MODEL)
    info.add_argument("--label-map", type=Path, help="label map JSON for a Kaggle .tflite model")
    info.add_argument("--json", action="store_true", help="print the full config as JSON")

    sub.add_parser("models", help="list the bundled models")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "predict":
            return _predict(args)
        if args.command == "info":
            return _info(args)
        for name in list_models():
            print(name + ("  (default)" if name == DEFAULT_MODEL else ""))
        return 0
    except AslSignError as exc:
        print(f"aslsign: error: {exc}", file=sys.stderr)
        return 2


def _predict(args: argparse.Namespace) -> int:
    if not args.files and not args.example:
        print("aslsign predict: give landmark files, or --example", file=sys.stderr)
        return 2
    if args.top_k < 1 or args.batch_size < 1:
        print("aslsign predict: --top-k and --batch-size must be >= 1", file=sys.stderr)
        return 2
    with SignRecognizer.from_pretrained(
        args.model, top_k=args.top_k, num_threads=args.threads, label_map=args.label_map
    ) as rec:
        inputs: list[tuple[str, Path | np.ndarray]] = []
        if args.example:
            examples = Path(rec.source or "") / "examples.json"
            if not examples.is_file():
                print(
                    f"aslsign predict: model {args.model} ships no examples.json", file=sys.stderr
                )
                return 2
            inputs += [(f"example:{k}", v) for k, v in read_examples(examples).items()]
        inputs += [(str(f), f) for f in args.files]
        return _predict_inputs(rec, inputs, args)


def _predict_inputs(
    rec: SignRecognizer, inputs: list[tuple[str, Path | np.ndarray]], args: argparse.Namespace
) -> int:
    bar = None
    if len(inputs) > 1 and not args.quiet:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(inputs), desc="predicting", unit="file", file=sys.stderr)
    failures = 0
    width = max(len(name) for name, _ in inputs)
    if not args.json:
        _emit(f"{'file':<{width}}  {'label':<16} {'score':>6}  top-{args.top_k}", bar)
    for start in range(0, len(inputs), _FILES_PER_STEP):  # bounded memory, steady progress
        chunk = inputs[start : start + _FILES_PER_STEP]
        loaded, names = [], []
        for name, src in chunk:
            try:
                loaded.append(load_sequence(src))
                names.append(name)
            except AslSignError as exc:
                failures += 1
                _emit_error(name, exc, args.json, bar)
        results = rec.predict_batch(loaded, batch_size=args.batch_size)
        for name, result in zip(names, results, strict=True):
            _emit(_format(name, result, args.json, width), bar)
        if bar is not None:
            bar.update(len(chunk))
    if bar is not None:
        bar.close()
    return 1 if failures else 0


def _emit(line: str, bar: object) -> None:
    if bar is not None:
        bar.write(line, file=sys.stdout)  # type: ignore[attr-defined]
    else:
        print(line, flush=True)


def _emit_error(name: str, exc: Exception, as_json: bool, bar: object) -> None:
    if as_json:
        _emit(json.dumps({"file": name, "error": str(exc), "type": type(exc).__name__}), bar)
    else:
        print(f"aslsign: error: {exc}", file=sys.stderr)


def _format(name: str, r: SignResult, as_json: bool, width: int) -> str:
    if as_json:
        return json.dumps({"file": name, **r.to_dict()})
    if not r.detected:
        return f"{name:<{width}}  {'(no landmarks)':<16} {0.0:>6.3f}"
    tops = ", ".join(f"{c.label} {c.score:.3f}" for c in r.top_k)
    return f"{name:<{width}}  {r.label or '':<16} {r.score:>6.3f}  {tops}"


def _info(args: argparse.Namespace) -> int:
    with SignRecognizer.from_pretrained(args.model, label_map=args.label_map) as rec:
        backend = rec.backend
    c = rec.config
    if args.json:
        print(json.dumps(c.to_dict(), indent=2, sort_keys=True))
        return 0
    labels = ", ".join(c.labels[:20]) + (
        f", ... ({len(c.labels)} in all)" if len(c.labels) > 20 else ""
    )
    rows = [
        ("name", c.name),
        ("source", rec.source),
        ("task", c.task),
        ("architecture", f"{c.architecture} {c.architecture_args or ''}".strip()),
        ("labels", labels),
        ("input", f"{c.input.name} {c.input.dtype} {list(c.input.shape)}"),
        ("output", f"{c.output.name} {c.output.dtype} {list(c.output.shape)} ({c.output_kind})"),
        ("preprocessing", json.dumps(c.preprocessing)),
        ("backend", backend),
        ("license", c.license),
    ]
    val = c.metrics.get("validation")
    if val:
        rows.append(
            (
                "accuracy",
                f"top-1 {val['top1']:.4f}, top-5 {val['top5']:.4f} on {c.metrics.get('data')}",
            )
        )
    for key, value in rows:
        print(f"{key:>14}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
