"""Every Python and shell snippet of README.md and docs/ runs as written (tests/doc_snippets.py).

One test per snippet, in page order; the snippets of a page share a working directory and, for
Python, one namespace. Snippets that need MediaPipe run in the video environment (.ci/run), those
that need the hub against the loopback hub; only a camera and the full Kaggle data on
accelerators are out of reach, and say so as their skip reason.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from pathlib import Path

import pytest
from conftest import DATA, HAS_TF
from doc_snippets import NEEDS, REPO, PythonWorker, Snippet, page_sandbox, pages, run_bash, snippets

HAS_MEDIAPIPE = importlib.util.find_spec("mediapipe") is not None
# The video environment (no TensorFlow, MediaPipe) runs the snippets that need MediaPipe; the
# main one (TensorFlow, no MediaPipe) all the others.
VIDEO_ENV = HAS_MEDIAPIPE and not HAS_TF
ALL = [s for page in pages() for s in snippets(page)]
REASONS = {
    "camera": "needs a camera, which no CI machine has",
    "kaggle": "needs the full Kaggle data set on GPUs/TPUs or a cluster of machines",
    "mediapipe": "needs MediaPipe: the video environment runs it (.ci/run)",
}


def why_not(snippet: Snippet) -> str | None:
    """Why this environment does not run a snippet, or None."""
    if snippet.ci:
        return ".ci/run runs it itself (test_ci_runs_the_readme_setup_commands checks that)"
    for need in ("camera", "kaggle"):
        if need in snippet.needs:
            return REASONS[need]
    if VIDEO_ENV and "mediapipe" not in snippet.needs:
        return "the main test environment runs it"
    if "mediapipe" in snippet.needs and not HAS_MEDIAPIPE:
        return REASONS["mediapipe"]
    if not HAS_TF and any(s in snippet.code for s in _TRAIN):
        return "needs TensorFlow (the train extra, which the README's test command installs)"
    return None


# what only exists with the train extra: the recipes, and the Kaggle models the sandbox makes
_TRAIN = ("training_recipes/", "submission/", "kaggle_aslfr/")


class PageRun:
    """The snippets of one page run in order, once each, in the page's own sandbox."""

    def __init__(self, page: str, workdir: Path, env: dict[str, str]) -> None:
        self.todo = [s for s in ALL if s.page == page and why_not(s) is None]
        self.done: dict[Snippet, tuple[bool, str]] = {}
        self.workdir, self.env = workdir, env
        self.worker: PythonWorker | None = None

    def result(self, snippet: Snippet) -> tuple[bool, str]:
        for s in self.todo[: self.todo.index(snippet) + 1]:
            if s in self.done:
                continue
            if s.lang == "python":
                if self.worker is None:
                    self.worker = PythonWorker(self.workdir, self.env)
                self.done[s] = self.worker.run(s)
            else:
                self.done[s] = run_bash(s, self.workdir, self.env, timeout=900)
        return self.done[snippet]

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from doc_snippets import make_sandbox

    if not DATA.is_dir():
        pytest.skip(f"real data folder {DATA} not found: set ASLSIGN_DATA")
    video = importlib.util.find_spec("imageio_ffmpeg") is not None
    return make_sandbox(tmp_path_factory.mktemp("sandbox"), DATA, tensorflow=HAS_TF, video=video)


@pytest.fixture(scope="session")
def hub_env(tmp_path_factory: pytest.TempPathFactory):
    """Snippets talk to a loopback stand-in for the hub (never the internet)."""
    from hub_server import WRITE_TOKEN, HubServer, client_env

    with HubServer() as server:
        env = client_env(server, tmp_path_factory.mktemp("hf_home"), HF_TOKEN=WRITE_TOKEN)
        env.pop("HF_HUB_DISABLE_IMPLICIT_TOKEN")  # the pages say HF_TOKEN is the token
        yield env


@pytest.fixture(scope="session")
def page_runs(sandbox: Path, hub_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory):
    runs: dict[str, PageRun] = {}

    def get(page: str) -> PageRun:
        if page not in runs:
            root = tmp_path_factory.mktemp(re.sub(r"\W", "_", page))
            workdir = page_sandbox(sandbox, root / "page")
            env = {
                **hub_env,
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
                "ASLSIGN_DATA": str(DATA),
                "MPLBACKEND": "Agg",
            }
            runs[page] = PageRun(page, workdir, env)
        return runs[page]

    yield get
    for run in runs.values():
        run.close()


@pytest.mark.parametrize("snippet", ALL, ids=[s.where for s in ALL])
def test_snippet_runs(snippet: Snippet, page_runs) -> None:
    reason = why_not(snippet)
    if reason is not None:
        pytest.skip(reason)
    ok, output = page_runs(snippet.page).result(snippet)
    assert ok, f"{snippet.where} ({snippet.lang}) failed:\n{snippet.code}\n--- output ---\n{output}"


def test_snippets_are_found_with_their_directives() -> None:
    assert len(ALL) > 40
    assert {s.lang for s in ALL} == {"python", "bash"}
    assert all(s.needs <= set(NEEDS) for s in ALL)
    # what the issue excepts, and nothing more: a camera, MediaPipe, the hub; and the published
    # full-scale runs (Kaggle data on accelerators or a cluster)
    for s in ALL:
        if s.needs & {"camera", "kaggle"}:
            assert s.lang == "bash", s.where
    readme = [s for s in ALL if s.page == "README.md"]
    assert [s.code.strip() for s in readme if s.ci][:2] == [
        "pip install . && aslsign predict --example",
        'pip install -e ".[dev,train,viz,docs]" && python -m pytest -q',
    ]


def test_ci_runs_the_readme_setup_commands() -> None:
    """The snippets marked ``ci`` are README's two set-up commands (and copies of them), which
    .ci/run reads from README.md and runs as written, and install lines naming real extras."""
    sys.path.insert(0, str(REPO / ".ci"))
    from readme_command import setup_commands

    commands = setup_commands(REPO / "README.md")
    ci = (REPO / ".ci" / "run").read_text()
    assert all(f"readme_command.py {which}" in ci for which in ("main", "tests", "video"))
    import tomllib

    extras = set(
        tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    )
    for s in (s for s in ALL if s.ci):
        code = s.code.strip()
        if code in commands.values():
            continue
        for line in code.splitlines():  # install lines: a checkout's extras that exist
            command = line.split("#")[0].strip()
            match = re.search(r"pip install (?:-e )?\"?\.(?:\[([\w,]+)\])?\"?", command)
            assert match, f"{s.where}: {line!r} is not one of README's set-up commands"
            assert set(filter(None, (match[1] or "").split(","))) <= extras, (s.where, line)
