"""One entry point for the SDK's own benchmarks; writes docs/benchmarks.md from what it measures.

    python benchmarks/run.py                      # everything, about 5-10 min on 2 cores
    python benchmarks/run.py --quick              # fewer repeats and files (a smoke run)
    python benchmarks/run.py --no-write           # print only

Measured on real GISLR files (``../shared/data/gislr-mini``, or ``--data``), in one process
(start-up and peak memory in fresh subprocesses), with medians over repeats: the machine is shared
and noisy, so the targets are ratios taken within one run.

* latency of ``predict(array)`` at 16 / 64 / 256 / 384 frames (a real sequence tiled to that
  length), median and p95, with 1 and 2 interpreter threads, per installed backend, for every
  bundled model and the published-size GISLR hybrid (dim 192, 250 signs, 1,836,569 parameters;
  built here with untrained weights when TensorFlow is installed: speed does not depend on them);
* ``predict(path)`` end to end, split into load / preprocess / invoke / result + Python;
* ``predict_batch`` vs a loop of ``predict``, from paths and from arrays;
* ``load_sequence`` vs Kaggle's reference loader (pandas), total time over the files;
* interpreter resizes: a stream of sequences of varying length vs the same lengths sorted;
* peak memory (max RSS) and start-up of a fresh process.

Targets (issue 9): SDK overhead <= 50 % of interpreter time for the dim-192 hybrid on real files;
loader >= 2x the Kaggle reference in total time; ``predict_batch`` from paths >= 3x a loop of
``predict(path)``; a fresh process that imports aslsign, loads the default model and predicts one
file costs <= 150 ms more than one that imports numpy and pyarrow.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import aslsign
from aslsign.runtime import available_backends

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "gislr-mini"
LENGTHS = (16, 64, 256, 384)
PUBLISHED = "hybrid_published (dim 192, untrained)"


# ------------------------------------------------------------------------------ helpers
def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}"


def versions() -> str:
    import pyarrow

    parts = [f"Python {platform.python_version()}", f"numpy {np.__version__}"]
    parts.append(f"pyarrow {pyarrow.__version__}")
    try:
        from importlib.metadata import version

        parts.append(f"ai-edge-litert {version('ai-edge-litert')}")
    except Exception:  # not installed
        pass
    parts.append(f"aslsign {aslsign.__version__}")
    return ", ".join(parts)


def timed(fn: Callable[[], Any], repeats: int) -> list[float]:
    """Milliseconds of ``repeats`` calls (after one warm-up call)."""
    fn()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def p95(values: Sequence[float]) -> float:
    return float(np.percentile(values, 95))


def tiled(x: np.ndarray, frames: int) -> np.ndarray:
    reps = -(-frames // len(x))
    return np.concatenate([x] * reps)[:frames]


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    targets: list[tuple[str, str, bool | None]] = field(default_factory=list)
    latency: dict[str, dict[str, list[tuple[int, float]]]] = field(default_factory=dict)

    def section(self, title: str, intro: str = "") -> None:
        self.add(f"\n## {title}\n")
        if intro:
            self.add(intro + "\n")

    def add(self, line: str) -> None:
        self.lines.append(line)
        print(line, flush=True)

    def table(self, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.add("| " + " | ".join(header) + " |")
        self.add("|" + "---|" * len(header))
        for row in rows:
            self.add("| " + " | ".join(str(c) for c in row) + " |")
        self.add("")

    def target(self, name: str, measured: str, met: bool | None) -> None:
        self.targets.append((name, measured, met))


# ------------------------------------------------------------------------------ models
def published_hybrid(workdir: Path) -> Path | None:
    """The published-size hybrid as an artifact directory (untrained), or None without TF."""
    try:
        sys.path.insert(0, str(REPO / "training_recipes"))
        sys.path.insert(0, str(REPO))
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        from training_recipes import hybrid
        from training_recipes.export import write_artifact
    except ImportError as exc:
        print(f"(published-size hybrid skipped: TensorFlow / the train extra is missing: {exc})")
        return None
    from aslsign.preprocessing import Gislr1stPreprocessor

    out = workdir / "hybrid_published"
    model = hybrid.build_model(num_classes=250, channels=708, dim=192)
    assert model.count_params() == 1_836_569, model.count_params()
    write_artifact(
        out,
        model,
        name="hybrid_published_untrained",
        architecture="gislr_1st_hybrid",
        architecture_args={"dim": 192},
        labels=[f"sign{i}" for i in range(250)],
        preprocessor=Gislr1stPreprocessor(max_len=384),
        training={"note": "untrained weights, for speed measurements only"},
    )
    return out


def models(workdir: Path, with_published: bool) -> list[tuple[str, str, type[Any]]]:
    """(display name, name or path, recogniser class) of every model to time."""
    out: list[tuple[str, str, type[Any]]] = []
    for entry in aslsign.registry.zoo_entries():
        if not entry.has_weights:
            continue
        cls = (
            aslsign.FingerspellingRecognizer
            if entry.task == "fingerspelling"
            else aslsign.SignRecognizer
        )
        out.append((entry.name, entry.name, cls))
    if with_published:
        path = published_hybrid(workdir)
        if path is not None:
            out.append((PUBLISHED, str(path), aslsign.SignRecognizer))
    return out


# ------------------------------------------------------------------------------ sections
def bench_latency(
    rep: Report, mods: list[tuple[str, str, type[Any]]], raw: np.ndarray, repeats: int
) -> None:
    rep.section(
        "Latency of `predict` by sequence length",
        "A real gislr-mini sequence tiled to each length; `predict(array)`, median (p95) in ms.",
    )
    header = ["model", "backend", "threads"] + [f"{n} frames" for n in LENGTHS]
    rows = []
    for display, name, cls in mods:
        for backend in available_backends():
            for threads in (1, 2):
                with cls.from_pretrained(name, num_threads=threads, backend=backend) as rec:
                    cells, series = [], []
                    for n in LENGTHS:
                        x = tiled(raw, n)
                        t = timed(lambda rec=rec, x=x: rec.predict(x), repeats)
                        cells.append(f"{statistics.median(t):.2f} ({p95(t):.2f})")
                        series.append((n, statistics.median(t)))
                rows.append([display, backend, threads, *cells])
                rep.latency.setdefault(display, {})[f"{backend}, {threads} thr"] = series
    rep.table(header, rows)


def bench_end_to_end(
    rep: Report, mods: list[tuple[str, str, type[Any]]], files: list[Path], repeats: int
) -> None:
    rep.section(
        "`predict(path)` end to end",
        f"{len(files)} real gislr-mini files, each part timed separately (median per file, "
        "ms); *SDK overhead* is everything but the interpreter: load + preprocess + result + "
        "Python, as a share of interpreter time. 2 interpreter threads.",
    )
    rows = []
    for display, name, cls in mods:
        if cls is not aslsign.SignRecognizer:
            continue
        with cls.from_pretrained(name, num_threads=2) as rec:
            parts: dict[str, list[float]] = {k: [] for k in ("load", "pre", "invoke", "result")}
            totals = []
            for _ in range(repeats):
                for f in files:
                    t0 = time.perf_counter()
                    raw = aslsign.load_sequence(f)
                    t1 = time.perf_counter()
                    feats, lengths = rec.preprocessor.batch([raw])
                    t2 = time.perf_counter()
                    out = rec._transform(rec._run(feats))
                    t3 = time.perf_counter()
                    rec._result(rec._row(out, 0, int(lengths[0])), raw, int(lengths[0]))
                    t4 = time.perf_counter()
                    for k, a, b in (("load", t0, t1), ("pre", t1, t2), ("invoke", t2, t3)):
                        parts[k].append((b - a) * 1e3)
                    parts["result"].append((t4 - t3) * 1e3)
                    t0 = time.perf_counter()
                    rec.predict(f)
                    totals.append((time.perf_counter() - t0) * 1e3)
        med = {k: statistics.median(v) for k, v in parts.items()}
        total = statistics.median(totals)
        overhead = (total - med["invoke"]) / med["invoke"]
        rows.append(
            [
                display,
                f"{med['load']:.2f}",
                f"{med['pre']:.2f}",
                f"{med['invoke']:.2f}",
                f"{med['result']:.3f}",
                f"{total:.2f}",
                f"{overhead:.0%}",
            ]
        )
        if display == PUBLISHED:
            rep.target(
                "SDK overhead <= 50 % of interpreter time (dim-192 hybrid, real files)",
                f"{overhead:.0%}",
                overhead <= 0.5,
            )
    rep.table(
        ["model", "load", "preprocess", "invoke", "result", "predict(path)", "SDK overhead"],
        rows,
    )


def bench_batch(
    rep: Report, mods: list[tuple[str, str, type[Any]]], files: list[Path], repeats: int
) -> None:
    rep.section(
        "`predict_batch` vs a loop of `predict`",
        f"{len(files)} real files; ms per sequence (median of {repeats} interleaved runs).",
    )
    raws = [aslsign.load_sequence(f) for f in files]
    rows = []
    read_ms = float("nan")
    for display, name, cls in mods:
        if cls is not aslsign.SignRecognizer:
            continue
        with cls.from_pretrained(name) as rec:
            loop_p, batch_p, loop_a, batch_a = [], [], [], []
            rec.predict_batch(files[:8])
            for _ in range(repeats):
                for store, fn in (
                    (loop_p, lambda: [rec.predict(f) for f in files]),
                    (batch_p, lambda: rec.predict_batch(files)),
                    (loop_a, lambda: [rec.predict(x) for x in raws]),
                    (batch_a, lambda: rec.predict_batch(raws)),
                ):
                    t0 = time.perf_counter()
                    fn()
                    store.append((time.perf_counter() - t0) * 1e3 / len(files))
            if name == aslsign.DEFAULT_MODEL:  # the floor under batch-from-paths: reading alone
                from concurrent.futures import ThreadPoolExecutor

                read_t = []
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    with ThreadPoolExecutor(2) as pool:
                        list(pool.map(aslsign.load_sequence, files))
                    read_t.append((time.perf_counter() - t0) * 1e3 / len(files))
                read_ms = statistics.median(read_t)
        lp, bp = statistics.median(loop_p), statistics.median(batch_p)
        la, ba = statistics.median(loop_a), statistics.median(batch_a)
        rows.append(
            [display, f"{lp:.2f}", f"{bp:.2f}", f"{lp / bp:.2f}x", f"{la:.2f}", f"{ba:.2f}",
             f"{la / ba:.2f}x"]
        )  # fmt: skip
        if name == aslsign.DEFAULT_MODEL:
            rep.target(
                "predict_batch from paths >= 3x a loop of predict(path) (default model)",
                f"{lp / bp:.2f}x (reading alone, 2 threads: {read_ms:.2f} ms/file, so at most "
                f"{lp / read_ms:.2f}x even with free inference)",
                lp / bp >= 3,
            )
    rep.table(
        ["model", "loop (paths)", "batch (paths)", "ratio", "loop (arrays)", "batch (arrays)",
         "ratio"],
        rows,
    )  # fmt: skip


def bench_loader(rep: Report, files: list[Path], repeats: int) -> None:
    rep.section(
        "Loader vs Kaggle's reference",
        "`load_sequence` vs `pd.read_parquet(path, columns=['x','y','z'])` reshaped to (-1, "
        "543, 3) float32, interleaved per file; total time over the files, median of repeats.",
    )
    try:
        import pandas as pd
    except ImportError:
        rep.add("(not measured: pandas is not installed; it is in the dev extra)")
        return

    def reference(path: Path) -> np.ndarray:
        data = pd.read_parquet(path, columns=["x", "y", "z"])
        return data.values.reshape(-1, 543, 3).astype(np.float32)

    ours_t, ref_t = [], []
    for f in files:  # warm the file cache; check equality
        np.testing.assert_array_equal(aslsign.load_sequence(f), reference(f))
    for _ in range(repeats):
        ours = ref = 0.0
        for i, f in enumerate(files):
            order = ((aslsign.load_sequence, "o"), (reference, "r"))
            for fn, who in order if i % 2 else order[::-1]:
                t0 = time.perf_counter()
                fn(f)
                dt = time.perf_counter() - t0
                if who == "o":
                    ours += dt
                else:
                    ref += dt
        ours_t.append(ours * 1e3)
        ref_t.append(ref * 1e3)
    o, r = statistics.median(ours_t), statistics.median(ref_t)
    rep.table(
        ["loader", f"total over {len(files)} files (ms)", "per file (ms)"],
        [["aslsign.load_sequence", f"{o:.1f}", f"{o / len(files):.3f}"],
         ["Kaggle reference (pandas)", f"{r:.1f}", f"{r / len(files):.3f}"]],
    )  # fmt: skip
    rep.add(f"Ratio reference / aslsign: **{r / o:.2f}x**.")
    loader_profile(rep, files, repeats)
    rep.target("loader >= 2x Kaggle's reference in total time", f"{r / o:.2f}x", r / o >= 2)


def loader_profile(rep: Report, files: list[Path], repeats: int) -> None:
    """Where ``load_sequence``'s time goes: reading the bytes, parquet decoding (pyarrow, the
    five columns aslsign reads vs the three the reference reads), aslsign's own conversion and
    checks."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from aslsign.io import gislr

    def decode(path: Path, columns: Sequence[str]) -> pa.Table:
        reader = pq.ParquetReader()
        reader.open(pa.py_buffer(path.read_bytes()), pre_buffer=False)
        names = reader.schema_arrow.names
        return reader.read_all(column_indices=[names.index(c) for c in columns], use_threads=True)

    tables = [gislr._read_parquet(f) for f in files]
    parts: dict[str, Callable[[], Any]] = {
        "read the file's bytes": lambda: [f.read_bytes() for f in files],
        "parquet decode of x, y, z (what the reference decodes)": lambda: [
            decode(f, ("x", "y", "z")) for f in files
        ],
        "parquet decode of frame, landmark_index, x, y, z (what aslsign decodes)": lambda: [
            decode(f, ("frame", "landmark_index", "x", "y", "z")) for f in files
        ],
        "aslsign: columns to float32, order and value checks": lambda: [
            gislr._from_table(t, "profile") for t in tables
        ],
        "load_sequence, all of it": lambda: [aslsign.load_sequence(f) for f in files],
    }
    rows = []
    for name, fn in parts.items():
        t = timed(fn, repeats)
        rows.append([name, f"{statistics.median(t) / len(files) * 1e3:.0f}"])
    rep.add("\nWhere `load_sequence`'s time goes (median of repeats, microseconds per file):\n")
    rep.table(["part", "us per file"], rows)


def bench_resize(rep: Report, raw: np.ndarray, repeats: int) -> None:
    rep.section(
        "Interpreter resizes",
        "The default model on 64 sequences of 8-71 frames (a real sequence tiled), in an order "
        "where every call has a new length vs the same sequences sorted so that each length "
        "comes twice in a row; ms per call, median of repeats.",
    )
    xs = [tiled(raw, n) for n in range(8, 72)]
    rng = np.random.default_rng(0)
    shuffled = [xs[i] for i in rng.permutation(len(xs))]
    paired = [x for x in xs for _ in range(2)]
    with aslsign.SignRecognizer.from_pretrained() as rec:
        varying, same = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            for x in shuffled:
                rec.predict(x)
                rec.predict(x[:-1] if len(x) > 8 else x)
            varying.append((time.perf_counter() - t0) * 1e3 / (2 * len(shuffled)))
            t0 = time.perf_counter()
            for x in paired:
                rec.predict(x)
            same.append((time.perf_counter() - t0) * 1e3 / len(paired))
    v, s = statistics.median(varying), statistics.median(same)
    rep.table(
        ["order", "ms per predict"],
        [["a new length every call", f"{v:.3f}"], ["each length twice in a row", f"{s:.3f}"]],
    )
    rep.add(f"Cost of a resize: {v / s:.2f}x the call.")


def _process_seconds(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - t0


def bench_startup(rep: Report, file: Path, repeats: int) -> None:
    rep.section(
        "Start-up and memory of a fresh process",
        "Whole-process wall time, medians of runs taken in turn; peak RSS (VmHWM) of the child.",
    )
    base = "import numpy, pyarrow"
    full = (
        "import aslsign\n"
        "with aslsign.SignRecognizer.from_pretrained() as r:\n"
        f"    r.predict({str(file)!r})"
    )
    a, b = [], []
    for _ in range(repeats):
        a.append(_process_seconds(base))
        b.append(_process_seconds(full))
    ma, mb = statistics.median(a) * 1e3, statistics.median(b) * 1e3
    # The peak is read from /proc/self/status (VmHWM, in kB) after resetting it through
    # clear_refs: a child's ru_maxrss starts from its parent's peak, which here holds TensorFlow.
    rss_code = (
        "import sys\n"
        "from pathlib import Path\n"
        "Path('/proc/self/clear_refs').write_text('5')\n"
        "import aslsign\n"
        "files = sorted(Path(sys.argv[1]).rglob('*.parquet'))[:200]\n"
        "with aslsign.SignRecognizer.from_pretrained() as r:\n"
        "    r.predict_batch(files)\n"
        "status = Path('/proc/self/status').read_text().splitlines()\n"
        "print([int(s.split()[1]) for s in status if s.startswith('VmHWM')][0])"
    )
    out = subprocess.run(
        [sys.executable, "-c", rss_code, str(file.parent.parent)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rss_mb = int(out.strip().splitlines()[-1]) / 1024
    rep.table(
        ["process", "median wall time (ms)"],
        [[f"`{base}`", f"{ma:.0f}"], ["import aslsign, load the default model, predict a file",
                                        f"{mb:.0f}"]],
    )  # fmt: skip
    rep.add(f"Difference: **{mb - ma:.0f} ms**. Peak RSS of `predict_batch` over 200 real files "
            f"with the default model: {rss_mb:.0f} MB.")  # fmt: skip
    rep.target(
        "start-up + first prediction <= 150 ms over `import numpy, pyarrow`",
        f"{mb - ma:.0f} ms",
        mb - ma <= 150,
    )


def plot(rep: Report, path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for model, runs in rep.latency.items():
        for setting, series in runs.items():
            if not setting.endswith("2 thr"):
                continue
            xs, ys = zip(*series, strict=True)
            ax.plot(xs, ys, marker="o", label=f"{model} ({setting})")
    ax.set_xlabel("frames")
    ax.set_ylabel("predict latency, median (ms)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(LENGTHS, [str(n) for n in LENGTHS])
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title(machine(), fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# ------------------------------------------------------------------------------ main
def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="a GISLR folder (real files)")
    p.add_argument("--files", type=int, default=200, help="real files for the file benchmarks")
    p.add_argument("--quick", action="store_true", help="few repeats and files: a smoke run")
    p.add_argument("--no-published", action="store_true", help="skip the dim-192 hybrid")
    p.add_argument("--no-write", action="store_true", help="do not write docs/benchmarks.md")
    p.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks.md")
    args = p.parse_args(argv)
    files = sorted(args.data.rglob("*.parquet"))[: (20 if args.quick else args.files)]
    if not files:
        print(f"no parquet files under {args.data}", file=sys.stderr)
        return 2
    reps = 2 if args.quick else 5
    started = time.time()
    rep = Report()
    rep.add("# Benchmarks\n")
    rep.add(
        f"Written by `python benchmarks/run.py` on {time.strftime('%Y-%m-%d')}. Machine: "
        f"**{machine()}**; {versions()}. The machine is shared and noisy: medians, and ratios "
        "taken within one run. Every figure below is from this machine and this run."
    )
    raw = max((aslsign.load_sequence(f) for f in files[:50]), key=len)
    with tempfile.TemporaryDirectory() as tmp:
        mods = models(Path(tmp), with_published=not args.no_published)
        bench_latency(rep, mods, raw, repeats=5 if args.quick else 20)
        bench_end_to_end(rep, mods, files, repeats=1 if args.quick else 3)
        bench_batch(rep, mods, files, repeats=reps)
    bench_loader(rep, files, repeats=reps)
    bench_resize(rep, raw, repeats=reps)
    bench_startup(rep, files[0], repeats=3 if args.quick else 9)
    rep.section("Targets")
    rep.table(
        ["target", "measured", "met"],
        [[n, m, "n/a" if ok is None else ("yes" if ok else "**no**")] for n, m, ok in
         rep.targets],
    )  # fmt: skip
    rep.add(f"Run time: {(time.time() - started) / 60:.1f} min.")
    rep.add(
        "\nMemory over long runs (10,000 predictions, 1,000 load/close cycles) is measured by "
        "`python benchmarks/bench_memory.py`; its last figures are in `benchmarks/README.md`."
    )
    if not args.no_write:
        image = plot(rep, args.out.parent / "img" / "benchmarks_latency.png")
        text = "\n".join(rep.lines)
        if image is not None:
            rel = os.path.relpath(image, args.out.parent)
            marker = "\n## Latency of `predict` by sequence length\n"
            text = text.replace(marker, marker + f"\n![latency by length, 2 threads]({rel})\n", 1)
        args.out.write_text(text + "\n")
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
