"""The ``aslsign`` command line.

aslsign predict FILE... [--model NAME|DIR] [--top-k K] [--json]
aslsign predict --example            # the default model's bundled example sequences
aslsign predict --model ctc_tiny.synth_letters FILE... [--sequence-id ID] [--beam-width W]
aslsign spot FILE [--model M] [--fps N] [--sequence-id ID] [--json]
aslsign info [MODEL] [--json]
aslsign models
aslsign push ARTIFACT_DIR owner/name [--revision BRANCH] [--private] [--token T] [--message M]
aslsign render FILE [--sequence-id ID] -o out.gif|out.mp4 [--fps N] [--model M] [--size PX]
aslsign extract VIDEO_OR_IMAGE_DIR -o out.parquet [--fps N] [--model-complexity C]
aslsign live [--camera N | --video FILE] [--model M] [--no-window]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .auto import recognizer_class
from .config import ModelConfig
from .errors import AslSignError
from .fingerspelling import FingerspellingRecognizer
from .io import (
    FingerspellingDataset,
    GislrDataset,
    is_aslfr_file,
    load_sequence,
    open_folder,
    read_examples,
    read_fingerspelling_file,
    write_sequence,
)
from .recognizer import KAGGLE_OUTPUT_KINDS, SignRecognizer
from .registry import DEFAULT_FINGERSPELLING_MODEL, DEFAULT_MODEL, zoo_entries
from .results import FingerspellingResult, SignResult, result_text
from .spotting import span_text

__all__ = ["main"]

_SEQUENCES_PER_STEP = 256


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="aslsign", description="ASL recognition from MediaPipe Holistic landmarks."
    )
    p.add_argument("--version", action="version", version=f"aslsign {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    pr = sub.add_parser(
        "predict",
        help="recognise the sign in landmark files, or transcribe fingerspelling",
        description="Isolated-sign models print one row per file; fingerspelling models one "
        "row per sequence (every sequence of an ASLFR file, or --sequence-id).",
    )
    pr.add_argument(
        "files",
        nargs="*",
        type=Path,
        help="GISLR or ASLFR parquet files, or folders (a GISLR or ASLFR folder with train.csv, "
        "or any folder: every .parquet under it)",
    )
    pr.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=f"bundled name, artifact dir, .tflite or hub repo (default {DEFAULT_MODEL}; the "
        f"bundled fingerspelling model is {DEFAULT_FINGERSPELLING_MODEL})",
    )
    pr.add_argument(
        "--example",
        action="store_true",
        help="also run the example sequences bundled with the model",
    )
    pr.add_argument(
        "--variant",
        default=None,
        help="which of the model's files to run: fp32 (model.tflite, the default), fp16 or "
        "int8 (see `aslsign info`)",
    )
    pr.add_argument("--json", action="store_true", help="one JSON object per line")
    pr.add_argument("--batch-size", type=int, default=32, help="sequences per interpreter call")
    pr.add_argument("--threads", type=int, default=None, help="interpreter threads")
    pr.add_argument("--quiet", action="store_true", help="no progress bar")
    signs = pr.add_argument_group("isolated-sign models")
    signs.add_argument("--top-k", type=int, default=3, help="classes to list per file")
    signs.add_argument("--label-map", type=Path, help="label map JSON for a Kaggle GISLR model")
    _output_kind_argument(signs)
    signs.add_argument(
        "--score-threshold",
        type=_probability,
        default=None,
        help="call a sign unknown when its probability is below this (default: the model's "
        "own, from its config.json; 0: never)",
    )
    spell = pr.add_argument_group("fingerspelling models")
    spell.add_argument("--sequence-id", type=int, help="transcribe only this sequence of each file")
    spell.add_argument("--beam-width", type=int, default=1, help="1: greedy; more: beam search")
    spell.add_argument("--inference-args", type=Path, help="inference_args.json of a Kaggle model")
    spell.add_argument("--char-map", type=Path, help="character map JSON of a Kaggle model")

    sp = sub.add_parser(
        "spot",
        help="find where each sign or spelled phrase of a long recording starts and ends",
        description="Cut a long landmark sequence at idle stretches (no hands, hands at rest) "
        "and recognise each part: one line per span (start and end in seconds and frames, the "
        "sign and its score, or the spelled text). Unknown signs give no span.",
    )
    sp.add_argument("file", type=Path, help="GISLR or ASLFR parquet file (or an extracted video)")
    sp.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=f"sign or fingerspelling model (default {DEFAULT_MODEL}; the bundled "
        f"fingerspelling model is {DEFAULT_FINGERSPELLING_MODEL})",
    )
    sp.add_argument("--variant", default=None, help="model variant (fp32, fp16, int8)")
    sp.add_argument("--fps", type=_positive, default=30.0, help="frame rate (default 30)")
    sp.add_argument("--sequence-id", type=int, help="sequence of an ASLFR file (default: first)")
    sp.add_argument("--json", action="store_true", help="one JSON object per span")
    sp.add_argument(
        "--score-threshold",
        type=_probability,
        default=None,
        help="sign models: call a sign unknown below this probability (default: the model's)",
    )
    sp.add_argument("--keep-unknown", action="store_true", help="also list spans of unknown signs")

    info = sub.add_parser("info", help="describe a model")
    info.add_argument("model", nargs="?", default=DEFAULT_MODEL)
    info.add_argument("--label-map", type=Path, help="label map JSON for a Kaggle GISLR model")
    _output_kind_argument(info)
    info.add_argument("--inference-args", type=Path, help="inference_args.json (Kaggle ASLFR)")
    info.add_argument("--variant", default=None, help="describe this variant (fp32, fp16, int8)")
    info.add_argument("--json", action="store_true", help="print the full config as JSON")

    st = sub.add_parser(
        "stats",
        help="statistics of a dataset: lengths, missing parts, hands, signs, participants",
        description="PATH: a GISLR folder, an ASLFR folder (train.csv), or parquet files.",
    )
    st.add_argument("paths", nargs="+", type=Path, help="a dataset folder, or files")
    st.add_argument("--json", action="store_true", help="print JSON instead of a table")
    st.add_argument("--plots", type=Path, help="also write PNG plots into this directory")
    st.add_argument("--workers", type=int, default=None, help="threads reading files")

    sub.add_parser(
        "models", help="list the zoo: bundled models, and published-size ones to build yourself"
    )

    push = sub.add_parser(
        "push",
        help="publish a model artifact to a Hugging Face hub repo",
        description="Upload an artifact directory (model.tflite, config.json, README.md, "
        "examples.json, the variants config.json names) to a hub model repo, creating the repo "
        "and the branch if needed; a README.md without YAML front matter gets the hub metadata "
        "(in the upload only: the directory is not changed).",
    )
    push.add_argument("artifact", type=Path, help="artifact directory")
    push.add_argument("repo_id", help="hub model repo, owner/name")
    push.add_argument("--revision", default=None, help="branch to commit to (default main)")
    push.add_argument("--private", action="store_true", help="create the repo private")
    push.add_argument(
        "--token", default=None, help="hub token with write access (default: HF_TOKEN or login)"
    )
    push.add_argument("--message", default=None, help="commit message")

    rd = sub.add_parser(
        "render",
        help="draw a landmark sequence as an animated GIF or MP4 (needs aslsign[viz])",
        description="Draw the hands, upper-body pose and face contours of one sequence, frame by "
        "frame. With --model the frames of each span the model finds (aslsign spot) show its "
        "sign or text.",
    )
    rd.add_argument("file", type=Path, help="GISLR or ASLFR parquet file")
    rd.add_argument(
        "--sequence-id", type=int, help="sequence of an ASLFR file (default: its first)"
    )
    rd.add_argument("-o", "--output", type=Path, required=True, help="out.gif or out.mp4")
    rd.add_argument("--fps", type=_positive, default=15, help="frames per second (default 15)")
    rd.add_argument("--size", type=int, default=512, help="frame width and height in pixels")
    rd.add_argument("--title", default=None, help="title (default: the file name)")
    rd.add_argument("--model", default=None, help="label each frame with this model's prediction")
    rd.add_argument("--variant", default=None, help="model variant (fp32, fp16, int8)")

    ex = sub.add_parser(
        "extract",
        help="MediaPipe Holistic landmarks of a video or images, as a GISLR parquet file "
        "(needs aslsign[video])",
        description="Run MediaPipe Holistic on every frame of a video, an image, or a folder of "
        "images (in name order) and write the landmarks in the GISLR schema (frame, row_id, "
        "type, landmark_index, x, y, z; NaN where not detected).",
    )
    ex.add_argument("source", type=Path, help="video file, image, or folder of images")
    ex.add_argument("-o", "--output", type=Path, required=True, help="out.parquet")
    _holistic_arguments(ex)
    ex.add_argument(
        "--fps", type=_positive, default=None, help="frame rate of an image folder (default 30)"
    )
    ex.add_argument("--quiet", action="store_true", help="no progress bar")

    lv = sub.add_parser(
        "live",
        help="recognise a camera or a video as it plays (needs aslsign[video])",
        description="MediaPipe Holistic on each frame, then spotting: each sign (or spelled "
        "phrase) is printed when it ends, with where it started and ended; while spelling, "
        "the transcript so far. The window (q or Esc quits) shows the current span and the "
        "last few; --no-window prints only. With --window-frames or --stride: instead a "
        "result of the last window every stride frames.",
    )
    where = lv.add_mutually_exclusive_group()
    where.add_argument("--camera", type=int, default=None, help="camera index (default 0)")
    where.add_argument("--video", type=Path, default=None, help="a video file or image folder")
    lv.add_argument("--model", default=DEFAULT_MODEL, help=f"model (default {DEFAULT_MODEL})")
    lv.add_argument("--variant", default=None, help="model variant (fp32, fp16, int8)")
    lv.add_argument(
        "--window-frames", type=int, default=None, help="sliding-window mode: frames per window"
    )
    lv.add_argument(
        "--stride", type=int, default=None, help="sliding-window mode: a result every N frames"
    )
    lv.add_argument("--no-window", action="store_true", help="print results, open no window")
    lv.add_argument("--max-frames", type=int, default=None, help="stop after N frames")
    lv.add_argument(
        "--fps", type=_positive, default=None, help="frame rate of an image folder (default 30)"
    )
    _holistic_arguments(lv)
    return p


def _number_type(what: str, ok: Callable[[float], bool]) -> Callable[[str], float]:
    """An argparse type: a number for which ``ok`` holds (``what`` says which)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return value

    return parse


_positive = _number_type("a finite number > 0", lambda v: math.isfinite(v) and v > 0)
_probability = _number_type("a number in [0, 1]", lambda v: 0.0 <= v <= 1.0)


def _output_kind_argument(parser: Any) -> None:
    parser.add_argument(
        "--output-kind",
        choices=KAGGLE_OUTPUT_KINDS,
        default="auto",
        help="what a Kaggle GISLR model outputs: auto (detected on one call at load), "
        "probabilities, or logits (a softmax makes them probabilities)",
    )


def _holistic_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model-complexity",
        type=int,
        choices=(0, 1, 2),
        default=1,
        help="MediaPipe pose model: 0 fastest, 2 most accurate (default 1, the one in the "
        "mediapipe wheel; mediapipe downloads 0 and 2 on first use)",
    )
    parser.add_argument(
        "--static-image-mode",
        action="store_true",
        help="detect on every image afresh (unrelated images) instead of tracking",
    )
    parser.add_argument(
        "--refine-face", action="store_true", help="MediaPipe's attention face mesh"
    )
    parser.add_argument("--verbose", action="store_true", help="show MediaPipe's own log lines")


def _holistic_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "model_complexity": args.model_complexity,
        "static_image_mode": args.static_image_mode,
        "refine_face_landmarks": args.refine_face,
        "verbose": args.verbose,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "predict":
            return _predict(args)
        if args.command == "info":
            return _info(args)
        if args.command == "spot":
            return _spot(args)
        if args.command == "stats":
            return _stats(args)
        if args.command == "push":
            return _push(args)
        if args.command == "render":
            return _render(args)
        if args.command == "extract":
            return _extract(args)
        if args.command == "live":
            return _live(args)
        defaults = {DEFAULT_MODEL, DEFAULT_FINGERSPELLING_MODEL}
        for e in zoo_entries():
            status = e.status + (", default" if e.name in defaults else "")
            print(f"{e.name:<32} {e.task:<15} {status}")
        return 0
    except AslSignError as exc:
        print(f"aslsign: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`aslsign predict DIR | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # what a shell reports for a process ended by SIGPIPE
    except KeyboardInterrupt:
        print("aslsign: interrupted", file=sys.stderr)
        return 130


# (display name, sequence id or None, landmarks or the error that stopped loading them)
Item = tuple[str, "int | None", "np.ndarray | AslSignError"]


def _open(args: argparse.Namespace) -> SignRecognizer | FingerspellingRecognizer:
    cls = recognizer_class(args.model, variant=args.variant)
    if cls is FingerspellingRecognizer:
        return FingerspellingRecognizer.from_pretrained(
            args.model,
            beam_width=args.beam_width,
            num_threads=getattr(args, "threads", None),
            inference_args=args.inference_args,
            char_map=getattr(args, "char_map", None),
            variant=args.variant,
        )
    return SignRecognizer.from_pretrained(
        args.model,
        top_k=getattr(args, "top_k", 5),
        num_threads=getattr(args, "threads", None),
        label_map=args.label_map,
        output_kind=getattr(args, "output_kind", "auto"),
        score_threshold=getattr(args, "score_threshold", None),
        variant=args.variant,
    )


def _predict(args: argparse.Namespace) -> int:
    if not args.files and not args.example:
        print("aslsign predict: give landmark files, or --example", file=sys.stderr)
        return 2
    if args.top_k < 1 or args.batch_size < 1 or args.beam_width < 1:
        print(
            "aslsign predict: --top-k, --batch-size and --beam-width must be >= 1", file=sys.stderr
        )
        return 2
    with _open(args) as rec:
        items: list[Iterable[Item]] = []
        if args.example:
            examples = Path(rec.source or "") / "examples.json"
            if not examples.is_file():
                print(
                    f"aslsign predict: model {args.model} ships no examples.json", file=sys.stderr
                )
                return 2
            items.append((f"example:{k}", None, v) for k, v in read_examples(examples).items())
        spelling = isinstance(rec, FingerspellingRecognizer)
        args.files = _expand_folders(args.files)
        items.append(_file_items(args.files, args.sequence_id if spelling else None, spelling))
        return _predict_items(rec, itertools.chain.from_iterable(items), args)


def _expand_folders(paths: list[Path]) -> list[Path]:
    """Folders replaced by their files (:func:`aslsign.io.open_folder`), in order."""
    files: list[Path] = []
    for path in paths:
        if not path.is_dir():
            files.append(path)
            continue
        folder = open_folder(path)
        if isinstance(folder, GislrDataset):
            files += [r.path for r in folder]
        elif isinstance(folder, FingerspellingDataset):
            files += folder.files
        else:
            files += folder
    return files


def _file_items(files: list[Path], sequence_id: int | None, spelling: bool) -> Iterator[Item]:
    """Every sequence of the files: GISLR files hold one, ASLFR files many (read file by file)."""
    for f in files:
        try:
            if spelling and is_aslfr_file(f):
                ids = None if sequence_id is None else [sequence_id]
                for sid, x in read_fingerspelling_file(f, ids):
                    yield str(f), sid, x
            else:
                yield str(f), None, load_sequence(f)
        except AslSignError as exc:
            yield str(f), sequence_id, exc


def _predict_items(
    rec: SignRecognizer | FingerspellingRecognizer, items: Iterator[Item], args: argparse.Namespace
) -> int:
    spelling = isinstance(rec, FingerspellingRecognizer)
    bar = None
    many = len(args.files) + args.example > 1 or spelling
    if many and not args.quiet and sys.stderr.isatty():  # never a bar in a log file
        from tqdm.auto import tqdm

        bar = tqdm(desc="predicting", unit="seq", file=sys.stderr, leave=False)
    # With the bar and the table on one terminal, the table comes after the bar, not through it.
    out = _Output(hold=bar is not None and sys.stdout.isatty())
    failed: list[str] = []  # names of the inputs that could not be read, in order
    width = max([len(str(f)) for f in args.files] + [16])
    # the table's header comes with its first row: none when every input failed
    top_k = min(args.top_k, len(rec.config.vocabulary))
    header: str | None = None
    if not args.json:
        header = (
            f"{'file':<{width}}  {'sequence_id':>11}  {'conf':>5}  text"
            if spelling
            else f"{'file':<{width}}  {'label':<16} {'score':>6}  top-{top_k}"
        )
    while True:  # bounded memory, steady progress
        chunk = list(itertools.islice(items, _SEQUENCES_PER_STEP))
        if not chunk:
            break
        results: Iterator[SignResult | FingerspellingResult] = iter(
            rec.predict_batch(
                [x for _, _, x in chunk if isinstance(x, np.ndarray)], batch_size=args.batch_size
            )
        )
        for name, sid, x in chunk:  # results and errors in input order
            if isinstance(x, np.ndarray):
                if header is not None:
                    out.line(header)
                    header = None
                out.line(_format(name, sid, next(results), args, width))
                continue
            if name not in failed:
                failed.append(name)
            _emit_error(name, sid, x, args.json, out)
        if bar is not None:
            bar.update(len(chunk))
    if bar is not None:
        bar.close()
    out.flush()
    if failed:
        noun = "file" if len(args.files) == 1 else "files"
        shown = ", ".join(failed[:3]) + (", ..." if len(failed) > 3 else "")
        rest = "; the others were predicted" if len(failed) < len(args.files) else ""
        print(
            f"aslsign predict: {len(failed)} of {len(args.files)} {noun} could not be read "
            f"({shown}){rest}.",
            file=sys.stderr,
        )
    return 1 if failed else 0


class _Output:
    """Table rows to stdout: at once, or held until the progress bar is gone (``hold``)."""

    def __init__(self, hold: bool) -> None:
        self.hold = hold
        self.rows: list[str] = []

    def line(self, text: str) -> None:
        if self.hold:
            self.rows.append(text)
        else:
            print(text, flush=True)

    def flush(self) -> None:
        for text in self.rows:
            print(text)
        self.rows.clear()
        sys.stdout.flush()


def _emit_error(
    name: str, sequence_id: int | None, exc: Exception, as_json: bool, out: _Output
) -> None:
    if as_json:
        row: dict[str, Any] = {"file": name}
        if sequence_id is not None:
            row["sequence_id"] = sequence_id
        out.line(json.dumps({**row, "error": str(exc), "type": type(exc).__name__}))
    else:
        print(f"aslsign: error: {exc}", file=sys.stderr)


def _format(
    name: str,
    sequence_id: int | None,
    r: SignResult | FingerspellingResult,
    args: argparse.Namespace,
    width: int,
) -> str:
    if isinstance(r, FingerspellingResult):
        if args.json:
            return json.dumps({"file": name, "sequence_id": sequence_id, **r.to_dict()})
        sid = "" if sequence_id is None else str(sequence_id)
        text = r.text if r.detected else "(no hands)"
        return f"{name:<{width}}  {sid:>11}  {r.confidence:>5.3f}  {text}"
    if args.json:
        return json.dumps({"file": name, **r.to_dict()})
    if not r.detected:
        return f"{name:<{width}}  {'(no hands)':<16} {0.0:>6.3f}"
    tops = ", ".join(f"{c.label} {c.score:.3f}" for c in r.top_k)
    return f"{name:<{width}}  {r.label or '(unknown)':<16} {r.score:>6.3f}  {tops}"


def _spot(args: argparse.Namespace) -> int:
    args.beam_width, args.inference_args, args.label_map, args.top_k = 1, None, None, 5
    with _open(args) as rec:
        if is_aslfr_file(args.file):
            ids = None if args.sequence_id is None else [args.sequence_id]
            _, x = next(iter(read_fingerspelling_file(args.file, ids)))
        else:
            x = load_sequence(args.file)
        options: dict[str, Any] = {}
        if isinstance(rec, SignRecognizer):
            options["keep_unknown"] = args.keep_unknown
            if args.score_threshold is not None:
                options["score_threshold"] = args.score_threshold
        spans = rec.spot(x, fps=args.fps, **options)
    if args.json:
        for s in spans:
            print(json.dumps(s.to_dict()))
        return 0
    print(f"{'start':>9} {'end':>9}  {'frames':>13}  result")
    for s in spans:
        frames = f"{s.start_frame}-{s.end_frame}"
        print(f"{s.start_s:8.2f}s {s.end_s:8.2f}s  {frames:>13}  {span_text(s)}")
    print(f"{len(spans)} span(s) in {len(x)} frames ({len(x) / args.fps:.1f} s)", file=sys.stderr)
    return 0


def _push(args: argparse.Namespace) -> int:
    from .hub import push_to_hub

    result = push_to_hub(
        args.artifact,
        args.repo_id,
        revision=args.revision,
        private=args.private,
        token=args.token,
        commit_message=args.message,
    )
    print(f"pushed {', '.join(result.files)} to {result.repo_id}@{result.revision}")
    print(f"commit {result.commit_sha}: {result.commit_url}")
    return 0


def _render(args: argparse.Namespace) -> int:
    from .viz import render

    suffix = args.output.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        print(f"aslsign render: -o must end in .gif or .mp4, got {args.output}", file=sys.stderr)
        return 2
    if args.fps <= 0 or args.size < 16:
        print("aslsign render: --fps must be > 0 and --size >= 16", file=sys.stderr)
        return 2
    title = args.title if args.title is not None else args.file.name
    if is_aslfr_file(args.file):
        ids = None if args.sequence_id is None else [args.sequence_id]
        sid, x = next(iter(read_fingerspelling_file(args.file, ids)))
        if args.title is None:
            title = f"{args.file.name} #{sid}"
    else:
        x = load_sequence(args.file)
    labels = None if args.model is None else _span_labels(args, x)
    out = render(x, args.output, fps=args.fps, title=title, labels=labels, size=args.size)
    print(f"wrote {out} ({len(x)} frames)")
    return 0


def _span_labels(args: argparse.Namespace, x: np.ndarray) -> list[str]:
    """Each frame's label: the span it is in (``rec.spot``), or nothing."""
    args.beam_width, args.inference_args, args.label_map, args.top_k = 1, None, None, 1
    labels = [""] * len(x)
    with _open(args) as rec:
        for span in rec.spot(x):  # recorded at 30 fps, whatever the animation's --fps
            labels[span.start_frame : span.end_frame] = [span_text(span)] * (
                span.end_frame - span.start_frame
            )
    return labels


def _extract(args: argparse.Namespace) -> int:
    from .landmarks import SLICES
    from .video import extract, native_logs_silenced

    if args.output.suffix.lower() != ".parquet":
        print(f"aslsign extract: -o must end in .parquet, got {args.output}", file=sys.stderr)
        return 2
    with native_logs_silenced(not args.verbose):
        x = extract(
            args.source,
            fps=args.fps,
            progress=not args.quiet and sys.stderr.isatty(),
            **_holistic_options(args),
        )
    out = write_sequence(x, args.output)
    found = ", ".join(
        f"{part.replace('_', ' ')} {int(np.isfinite(x[:, rows, 0]).any(axis=1).sum())}"
        for part, rows in SLICES.items()
    )
    print(f"wrote {out}: {len(x)} frames; frames with {found}")
    return 0


def _live(args: argparse.Namespace) -> int:
    from .video import HolisticExtractor, check_display, native_logs_silenced, run_live

    for name in ("window_frames", "stride", "max_frames"):
        value = getattr(args, name)
        if value is not None and value < 1:
            print(f"aslsign live: --{name.replace('_', '-')} must be >= 1", file=sys.stderr)
            return 2
    if not args.no_window:
        check_display()  # before loading anything
    source: int | Path = args.video if args.video is not None else (args.camera or 0)
    args.beam_width, args.inference_args, args.label_map, args.top_k = 1, None, None, 1

    def show(timestamp_ms: int, result: SignResult | FingerspellingResult) -> None:
        print(f"{timestamp_ms / 1000:9.2f} s  {result_text(result)}", flush=True)

    def show_span(span: Any) -> None:
        print(f"{span.start_s:8.2f}-{span.end_s:.2f} s  {span_text(span)}", flush=True)

    def show_partial(timestamp_ms: int, text: str) -> None:
        print(f"{timestamp_ms / 1000:9.2f} s  ... {text}", flush=True)

    windows = args.window_frames is not None or args.stride is not None

    with (
        native_logs_silenced(not args.verbose),
        _open(args) as rec,
        HolisticExtractor(**_holistic_options(args)) as extractor,
    ):
        run_live(
            rec,
            source,
            window_frames=args.window_frames,
            stride=args.stride,
            on_result=show if windows else None,
            on_span=show_span,
            on_partial=show_partial,
            show_window=not args.no_window,
            max_frames=args.max_frames,
            extractor=extractor,
            fps=args.fps,
        )
    return 0


def _info(args: argparse.Namespace) -> int:
    args.beam_width = 1
    with _open(args) as rec:
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
        ("output", f"{c.output.name} {c.output.dtype} {list(c.output.shape)} ({_kind(c, args)})"),
        ("preprocessing", json.dumps(c.preprocessing)),
        ("backend", backend),
        ("license", c.license),
        ("variants", _variants_line(c, rec.variant)),
    ]
    if c.decoding:
        rows.append(("decoding", json.dumps(c.decoding)))
    rows.append(("no hand", f"no label unless a hand is seen in {c.min_hand_frames}+ frame(s)"))
    if c.task == "isolated_sign":
        threshold = getattr(rec, "score_threshold", c.score_threshold)
        background = f"background class {c.background_label!r}"
        if threshold is not None:
            over = (
                f" (probabilities over the signs and the {background})"
                if c.background_label
                else ""
            )
            rule = f"rejected when the best sign's probability is below {threshold}{over}"
        elif c.background_label:
            rule = f"rejected when the {background} wins"
        else:
            rule = "never rejected (no threshold, no background class)"
        rows.append(("unknown signs", rule))
    val, cv = c.metrics.get("validation"), c.metrics.get("cv")
    if cv and "top1" in cv:
        rows.append(
            (
                "cross-validated",
                f"top-1 {cv['top1']:.4f} ({cv.get('correct')}/{cv.get('count')} sequences of "
                f"unseen participants, {len(cv.get('folds', ()))} folds)",
            )
        )
    if val and "top1" in val:
        tops = ", ".join(f"top-{k} {val[f'top{k}']:.4f}" for k in (1, 5, 10) if f"top{k}" in val)
        rows.append(("accuracy", f"{tops} on {c.metrics.get('data')}"))
    elif val and "normalized_levenshtein" in val:
        rows.append(
            (
                "norm. Levenshtein",
                f"{val['normalized_levenshtein']:.4f} on {c.metrics.get('data')}",
            )
        )
    for key, value in rows:
        print(f"{key:>17}: {value}")
    return 0


def _stats(args: argparse.Namespace) -> int:
    from .stats import collect_counts, format_table, summarize, write_plots

    if args.workers is not None and args.workers < 1:
        raise SystemExit(f"aslsign: error: --workers must be >= 1, got {args.workers}")
    source = args.paths[0] if len(args.paths) == 1 and args.paths[0].is_dir() else args.paths
    counts, kind = collect_counts(source, workers=args.workers, progress=sys.stderr.isatty())
    stats = summarize(counts, kind)
    print(json.dumps(stats, indent=2) if args.json else format_table(stats))
    if args.plots:
        for path in write_plots(counts, args.plots):
            print(f"wrote {path}", file=sys.stderr)
    return 0


def _kind(config: ModelConfig, args: argparse.Namespace) -> str:
    """``logits``, and for a Kaggle sign model how that was decided and what is done with it."""
    if config.architecture != "kaggle_submission" or config.task != "isolated_sign":
        return config.output_kind
    how = "detected on a probe call" if args.output_kind == "auto" else "--output-kind"
    done = "; a softmax makes them probabilities" if config.output_kind == "logits" else ""
    return f"{config.output_kind}, {how}{done}"


def _variants_line(config: ModelConfig, loaded: str) -> str:
    """``fp32 (loaded), fp16 1.1 MB 52.7 % top-1 agreement 1.0000, ...``"""
    parts = []
    for name in config.variant_names:
        entry = config.variants.get(name, {})
        bits = [name]
        if entry.get("size_bytes"):
            bits.append(f"{entry['size_bytes'] / 1e6:.2f} MB")
        if entry.get("size_ratio"):
            bits.append(f"{entry['size_ratio']:.1%} of fp32")
        agree = entry.get("agreement")
        if isinstance(agree, dict) and "value" in agree:
            bits.append(f"{agree.get('metric', 'agreement')} {agree['value']:.4f}")
        if name == loaded:
            bits.append("(loaded)")
        parts.append(" ".join(bits))
    return "; ".join(parts)


if __name__ == "__main__":
    raise SystemExit(main())
