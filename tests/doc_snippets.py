"""The code snippets of README.md and docs/*.md, and what runs them as a reader would.

Every ```` ```python ```` and ```` ```bash ```` block of those pages is a snippet. Snippets run
page by page, in the page's order, in a fresh working directory (:func:`make_sandbox`) that
holds the files the pages name (``path/to/sequence.parquet``, ``phrases.parquet``,
``submission/model.tflite``, ``../shared/data``, ``zoo/``, ``training_recipes/``, ...), made
from the real data and the bundled models. The Python snippets of a page share one namespace
(a page is read top to bottom), kept by one worker process per page; a shell snippet runs
with ``bash -euo pipefail`` and the test environment's ``python`` and ``aslsign`` on ``PATH``.

An HTML comment on the line before a block says how to run it (the site does not show it)::

    <!-- snippet: needs=mediapipe -->        MediaPipe Holistic: the video environment runs it
    <!-- snippet: needs=camera -->           a camera: no CI machine has one
    <!-- snippet: needs=hub -->              the Hugging Face hub: run against the loopback hub
    <!-- snippet: needs=kaggle -->           the full Kaggle data set on GPUs/TPUs or a cluster
    <!-- snippet: ci -->                     .ci/run runs it itself (installs: a fresh venv)
    <!-- snippet: replace "--epochs 100" "--epochs 1" -->
                                             the same command, shorter: a training run as
                                             written, with these pairs replaced

Nothing else skips a snippet, and every ``needs`` must be one of :data:`NEEDS`.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: what a snippet may need that the main test environment does not have
NEEDS = ("mediapipe", "camera", "hub", "kaggle")
_FENCE = re.compile(r"^```(python|bash)[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)
_DIRECTIVE = re.compile(r"<!--\s*snippet:\s*(.*?)\s*-->\s*\n(?:[ \t]*\n)?$")
_MARK = "@@snippet-worker@@"


@dataclass(frozen=True)
class Snippet:
    page: str  # relative to the repository
    line: int  # of the first line of code
    lang: str  # python | bash
    code: str
    needs: frozenset[str] = frozenset()
    ci: bool = False
    replace: tuple[tuple[str, str], ...] = field(default=())

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"

    def runnable_code(self) -> str:
        code = self.code
        for old, new in self.replace:
            if old not in code:
                raise ValueError(f"{self.where}: replace {old!r}: not in the snippet")
            code = code.replace(old, new)
        return code


def pages() -> list[Path]:
    """README.md and every page of docs/."""
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def snippets(path: Path) -> list[Snippet]:
    """The snippets of one page, in order, with their directives."""
    text = path.read_text(encoding="utf-8")
    found = []
    for match in _FENCE.finditer(text):
        before = text[: match.start()]
        needs: set[str] = set()
        ci = False
        replace: list[tuple[str, str]] = []
        directive = _DIRECTIVE.search(before)
        if directive is not None:
            words = shlex.split(directive[1])
            while words:
                word = words.pop(0)
                if word.startswith("needs="):
                    needs |= set(word[len("needs=") :].split(","))
                elif word == "ci":
                    ci = True
                elif word == "replace":  # the rest: old, new, old, new, ...
                    if not words or len(words) % 2:
                        raise ValueError(f"{path.name}: replace takes pairs: {directive[1]!r}")
                    replace += zip(words[::2], words[1::2], strict=True)
                    words = []
                else:
                    raise ValueError(f"{path.name}: unknown snippet directive {word!r}")
        unknown = needs - set(NEEDS)
        if unknown:
            raise ValueError(f"{path.name}: snippets may need only {NEEDS}, not {unknown}")
        found.append(
            Snippet(
                page=path.relative_to(REPO).as_posix(),
                line=before.count("\n") + 2,
                lang=match[1],
                code=match[2],
                needs=frozenset(needs),
                ci=ci,
                replace=tuple(replace),
            )
        )
    return found


# ------------------------------------------------------------------------------- the sandbox


def make_sandbox(root: Path, data: Path, *, tensorflow: bool, video: bool) -> Path:
    """A working directory holding every file the pages name; returns it (``root/work``).

    ``tensorflow``: also the Kaggle submissions (``submission/``, a GISLR export of the default
    model by the recipe's exporter; ``kaggle_aslfr/``, a stand-in ASLFR submission);
    ``video``: also a clip of a real photograph (``clip.mp4``, ``frames/``, ``photo.jpg``).
    """
    import aslsign

    work = root / "work"
    work.mkdir(parents=True)
    (root / "shared").mkdir()
    (root / "shared" / "data").symlink_to(data)  # ../shared/data, as in a checkout
    for name in ("zoo", "training_recipes", "benchmarks"):
        (work / name).symlink_to(REPO / name)
    mini = data / "gislr-mini"
    records = list(aslsign.GislrDataset(mini))
    hello = [r for r in records if r.sign == "hello"]
    thanks = [r for r in records if r.sign == "thankyou"]

    def link(target: Path, *names: str) -> None:
        for name in names:
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            (work / name).symlink_to(target)

    link(hello[0].path, "path/to/sequence.parquet", "1234.parquet", "a.parquet")
    link(thanks[0].path, "b.parquet")
    for r in hello[1:3] + thanks[1:3]:
        link(r.path, f"data/{r.sign}_{r.sequence_id}.parquet")
    link(mini / "train_landmark_files", "train_landmark_files")
    from aslsign.spotting import join_sequences

    stream, _ = join_sequences([(r.sign, r.load()) for r in hello[5:8] + thanks[5:8]], seed=2)
    aslsign.write_sequence(stream, work / "stream.parquet")  # a long recording to spot in
    link(REPO / "zoo" / "transformer_tiny.gislr_mini", "path/to/artifact_dir")
    shutil.copytree(REPO / "zoo" / "hybrid_tiny.gislr_mini", work / "runs" / "hybrid_tiny")

    # a GISLR folder: 2 signers x 4 sequences of gislr-mini, read in place
    gislr = work / "data" / "gislr"
    gislr.mkdir(parents=True)
    (gislr / "train_landmark_files").symlink_to(mini / "train_landmark_files")
    people = sorted({r.participant_id for r in records})[:2]
    keep = [r for p in (2044, *people) for r in records if r.participant_id == p][:8]
    with open(gislr / "train.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "participant_id", "sequence_id", "sign"])
        for r in keep:
            w.writerow(
                [r.path.relative_to(mini).as_posix(), r.participant_id, r.sequence_id, r.sign]
            )

    # an ASLFR file and folder: three SYNTHETIC phrases of the recipe's generator (from the real
    # letter recordings), under sequence ids of the Kaggle data's kind
    sys.path.insert(0, str(REPO))
    from training_recipes.synth_fingerspelling import generate

    synth = generate(data / "fingerspelling-letters", root / "synth", 3, seed=4)
    with open(synth / "train.csv", newline="") as fh:
        made = list(csv.DictReader(fh))
    ids = [1816796431, 1816825349, 1817123330]
    aslfr = work / "data" / "aslfr"
    (aslfr / "train_landmarks").mkdir(parents=True)
    seqs = {
        sid: aslsign.load_fingerspelling(synth / row["path"], int(row["sequence_id"]))
        for sid, row in zip(ids, made, strict=True)
    }
    aslsign.write_fingerspelling(aslfr / "train_landmarks" / "5414471.parquet", seqs)
    with open(aslfr / "train.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "file_id", "sequence_id", "participant_id", "phrase"])
        for sid, who, row in zip(ids, (254, 254, 37), made, strict=True):
            w.writerow(["train_landmarks/5414471.parquet", 5414471, sid, who, row["phrase"]])
    spelled = aslfr / "train_landmarks" / "5414471.parquet"
    link(spelled, "phrases.parquet", "5414471.parquet", "path/to/5414471.parquet")
    link(spelled, "ASLFR_FILE.parquet")
    link(aslfr, "path/to/aslfr")

    if tensorflow:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        subprocess.run(
            [
                *(sys.executable, "training_recipes/export.py", "zoo/hybrid_tiny.gislr_mini"),
                *("--format", "kaggle", "--out", str(work / "submission")),
            ],
            cwd=REPO,
            env=env,
            check=True,
            capture_output=True,
            timeout=600,
        )
        sys.path.insert(0, str(REPO / "tests"))
        from kaggle_model import aslfr_columns, make_kaggle_aslfr_submission

        columns = aslfr_columns(seed=1)
        make_kaggle_aslfr_submission(work / "kaggle_aslfr" / "model.tflite", columns)
        (work / "kaggle_aslfr" / "inference_args.json").write_text(
            json.dumps({"selected_columns": columns})
        )
    if video:
        _write_clip(work)
    return work


def _write_clip(work: Path) -> None:
    """A real photograph of a person (matplotlib's Grace Hopper), moved 6 px per frame: as a
    folder of PNGs, an MP4 and one JPEG."""
    import imageio.v2 as iio2
    import numpy as np
    from matplotlib import cbook
    from PIL import Image

    photo = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    shutil.copyfile(photo, work / "photo.jpg")
    image = np.asarray(Image.open(photo).convert("RGB"))
    (work / "frames").mkdir()
    frames = [np.roll(image, 6 * k, axis=1) for k in range(8)]
    for k, f in enumerate(frames):
        Image.fromarray(f).save(work / "frames" / f"frame{k}.png")
    with iio2.get_writer(work / "clip.mp4", format="FFMPEG", mode="I", fps=10) as writer:
        for f in frames:
            writer.append_data(f)


def page_sandbox(template: Path, root: Path) -> Path:
    """A fresh copy of the sandbox (links stay links) for one page."""
    shutil.copytree(template.parent, root, symlinks=True)
    return root / "work"


# -------------------------------------------------------------------------------- running


class PythonWorker:
    """One Python process that runs a page's Python snippets in one namespace, in its sandbox."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "worker"],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def run(self, snippet: Snippet) -> tuple[bool, str]:
        """``(ok, what it printed or its traceback)``."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        message = {"file": snippet.page, "line": snippet.line, "code": snippet.runnable_code()}
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()
        output = []
        for line in self.proc.stdout:
            if line.startswith(_MARK):
                reply = json.loads(line[len(_MARK) :])
                return reply["ok"], "".join(output) + reply.get("error", "")
            output.append(line)
        return False, "".join(output) + f"\n(the worker exited with {self.proc.wait()})"

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def run_bash(snippet: Snippet, cwd: Path, env: dict[str, str], timeout: float) -> tuple[bool, str]:
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", snippet.runnable_code()],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return proc.returncode == 0, proc.stdout + proc.stderr


def _worker() -> None:
    """The worker's loop: a snippet per line of stdin, a reply line per snippet."""
    namespace: dict[str, object] = {"__name__": "__main__"}
    for line in sys.stdin:
        message = json.loads(line)
        # the code at its own line of the page, so tracebacks point at the page
        source = "\n" * (message["line"] - 1) + message["code"]
        try:
            exec(compile(source, message["file"], "exec"), namespace)
            reply = {"ok": True}
        except BaseException:  # reported to the test, which fails
            reply = {"ok": False, "error": traceback.format_exc()}
        sys.stdout.flush()
        sys.stderr.flush()
        print("\n" + _MARK + json.dumps(reply), flush=True)


if __name__ == "__main__" and sys.argv[1:] == ["worker"]:
    _worker()
