"""Statistics of a landmark dataset: lengths, what is missing, hands, signs, participants.

:func:`dataset_stats` takes a GISLR folder (``train.csv``: path, participant_id, sequence_id,
sign), an ASLFR folder (``train.csv``: path, file_id, sequence_id, participant_id, phrase), any
other folder (every parquet file under it, as :func:`aslsign.io.open_folder` reads folders) or a
list of parquet files (GISLR or ASLFR), reads every sequence once (files in parallel threads:
pyarrow decodes without the GIL) and keeps only a few counts per sequence, so memory stays flat
however large the data. The result (``aslsign stats PATH --json``) has exactly these keys:

``sequences``
    how many sequences were read.
``frames``
    frames per sequence: ``min``, ``p5``, ``p25``, ``median``, ``p75``, ``p95``, ``max``
    (linear interpolation between ranks, as ``numpy.percentile``) and ``mean``.
``missing``
    ``{part: fraction}`` for ``face``, ``left_hand``, ``pose``, ``right_hand``: the fraction of
    all frames of all sequences in which every coordinate of that part is NaN.
``no_hands``
    the fraction of all frames with neither hand.
``dominant_hand``
    ``{"left", "right", "none"}`` shares of the sequences: the hand with more detected values
    over the clip (the left wins a tie, as :func:`aslsign.preprocessing.wijkhuizen.dominant_hand`);
    ``none`` when no hand is seen at all.
``signs``
    sequences per sign (GISLR folders; ``{}`` otherwise).
``participants``
    sequences per participant id (folders; ``{}`` for bare files).

ASLFR folders also get ``phrase_length``: characters per phrase, the same statistics as
``frames``.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import LandmarkFileError
from .landmarks import FACE, LEFT_HAND, POSE, RIGHT_HAND

__all__ = [
    "PARTS",
    "SequenceCounts",
    "collect_counts",
    "dataset_stats",
    "format_table",
    "sequence_counts",
    "summarize",
    "write_plots",
]

PathLike = str | os.PathLike[str]

#: The parts whose missing frames are counted, and their rows.
PARTS: dict[str, tuple[int, ...]] = {
    "face": FACE,
    "left_hand": LEFT_HAND,
    "pose": POSE,
    "right_hand": RIGHT_HAND,
}
_SLICES = {name: slice(rows[0], rows[-1] + 1) for name, rows in PARTS.items()}


@dataclass(frozen=True)
class SequenceCounts:
    """What :func:`dataset_stats` keeps of one sequence."""

    frames: int
    missing: dict[str, int]  # frames in which the part is entirely NaN
    no_hands: int  # frames with neither hand
    dominant: str  # "left", "right" or "none"
    sign: str | None = None
    participant: int | None = None
    phrase: str | None = None


def sequence_counts(
    landmarks: np.ndarray,
    sign: str | None = None,
    participant: int | None = None,
    phrase: str | None = None,
) -> SequenceCounts:
    """The counts of one ``(frames, 543, 3)`` sequence."""
    seen = ~np.isnan(landmarks)
    part_seen = {name: seen[:, s].any(axis=(1, 2)) for name, s in _SLICES.items()}
    left = int(seen[:, _SLICES["left_hand"]].sum())
    right = int(seen[:, _SLICES["right_hand"]].sum())
    dominant = "none" if left == right == 0 else ("left" if left >= right else "right")
    hands = part_seen["left_hand"] | part_seen["right_hand"]
    return SequenceCounts(
        frames=len(landmarks),
        missing={name: int((~s).sum()) for name, s in part_seen.items()},
        no_hands=int((~hands).sum()),
        dominant=dominant,
        sign=sign,
        participant=participant,
        phrase=phrase,
    )


def _summary(values: Sequence[float]) -> dict[str, float]:
    a = np.asarray(values, np.float64)
    if not len(a):
        return {}
    q = np.percentile(a, [5, 25, 50, 75, 95])
    return {
        "min": float(a.min()),
        "p5": float(q[0]),
        "p25": float(q[1]),
        "median": float(q[2]),
        "p75": float(q[3]),
        "p95": float(q[4]),
        "max": float(a.max()),
        "mean": float(a.mean()),
    }


# ----------------------------------------------------------------------------- reading


def _jobs(source: PathLike | Sequence[PathLike]) -> tuple[list[Callable[[], list[Any]]], str]:
    """One job per file (each returns the SequenceCounts of that file) and the data's kind."""
    from .io import (
        FingerspellingDataset,
        GislrDataset,
        is_aslfr_file,
        load_sequence,
        open_folder,
        read_fingerspelling_file,
    )

    def gislr(path: Path, sign: str | None, who: int | None) -> Callable[[], list[Any]]:
        return lambda: [sequence_counts(load_sequence(path), sign=sign, participant=who)]

    def aslfr(path: Path, meta: dict[int, tuple[int | None, str | None]] | None) -> Any:
        def run() -> list[Any]:
            wanted = None if meta is None else list(meta)
            out = []
            for sid, x in read_fingerspelling_file(path, wanted):
                who, phrase = (meta or {}).get(sid, (None, None))
                out.append(sequence_counts(x, participant=who, phrase=phrase))
            return out

        return run

    if isinstance(source, str | os.PathLike) and Path(source).is_dir():
        folder = open_folder(source)
        if isinstance(folder, GislrDataset):
            return [gislr(r.path, r.sign, r.participant_id) for r in folder], "gislr"
        if isinstance(folder, FingerspellingDataset):
            by_file: dict[Path, dict[int, tuple[int | None, str | None]]] = {}
            for r in folder:
                by_file.setdefault(r.path, {})[r.sequence_id] = (r.participant_id, r.phrase)
            return [aslfr(p, meta) for p, meta in by_file.items()], "aslfr"
        source = folder
    paths = [Path(source)] if isinstance(source, str | os.PathLike) else [Path(p) for p in source]
    if not paths:
        raise LandmarkFileError("No files given.")
    return [aslfr(p, None) if is_aslfr_file(p) else gislr(p, None, None) for p in paths], "files"


def dataset_stats(
    source: PathLike | Sequence[PathLike], *, workers: int | None = None, progress: bool = False
) -> dict[str, Any]:
    """The statistics of a dataset folder or of files (see the module docstring)."""
    return summarize(*collect_counts(source, workers=workers, progress=progress))


def collect_counts(
    source: PathLike | Sequence[PathLike], *, workers: int | None = None, progress: bool = False
) -> tuple[list[SequenceCounts], str]:
    """The :class:`SequenceCounts` of every sequence of ``source``, and the data's kind
    (``gislr``, ``aslfr`` or ``files``); files are read by ``workers`` threads."""
    jobs, kind = _jobs(source)
    counts: list[SequenceCounts] = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), desc="reading", unit="file")
    with ThreadPoolExecutor(workers or min(8, os.cpu_count() or 1)) as pool:
        for part in pool.map(lambda job: job(), jobs):
            counts += part
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    return counts, kind


def summarize(counts: Iterable[SequenceCounts], kind: str = "files") -> dict[str, Any]:
    """The statistics of per-sequence counts (``kind``: ``gislr``, ``aslfr`` or ``files``)."""
    counts = list(counts)
    total = sum(c.frames for c in counts)
    share = (lambda n: n / total) if total else (lambda n: 0.0)
    dominant = Counter(c.dominant for c in counts)
    out: dict[str, Any] = {
        "sequences": len(counts),
        "frames": _summary([c.frames for c in counts]),
        "missing": {p: share(sum(c.missing[p] for c in counts)) for p in PARTS},
        "no_hands": share(sum(c.no_hands for c in counts)),
        "dominant_hand": {
            h: (dominant[h] / len(counts) if counts else 0.0) for h in ("left", "right", "none")
        },
        "signs": dict(sorted(Counter(c.sign for c in counts if c.sign is not None).items())),
        "participants": {
            str(k): v
            for k, v in sorted(
                Counter(c.participant for c in counts if c.participant is not None).items()
            )
        },
    }
    if kind == "aslfr":
        out["phrase_length"] = _summary([len(c.phrase) for c in counts if c.phrase is not None])
    return out


# ----------------------------------------------------------------------------- output


def format_table(stats: dict[str, Any]) -> str:
    """A plain-text report of :func:`dataset_stats`."""
    f = stats["frames"]
    lines = [f"{'sequences':>18}: {stats['sequences']}"]
    if f:
        lines.append(
            f"{'frames':>18}: min {f['min']:g}, p5 {f['p5']:g}, p25 {f['p25']:g}, median "
            f"{f['median']:g}, p75 {f['p75']:g}, p95 {f['p95']:g}, max {f['max']:g}, mean "
            f"{f['mean']:.1f}"
        )
    for part, value in stats["missing"].items():
        lines.append(f"{'missing ' + part:>18}: {value:.1%} of frames")
    lines.append(f"{'no hands':>18}: {stats['no_hands']:.1%} of frames")
    d = stats["dominant_hand"]
    lines.append(
        f"{'dominant hand':>18}: left {d['left']:.1%}, right {d['right']:.1%}, none {d['none']:.1%}"
    )
    if stats.get("phrase_length"):
        p = stats["phrase_length"]
        lines.append(
            f"{'phrase length':>18}: min {p['min']:g}, median {p['median']:g}, max {p['max']:g},"
            f" mean {p['mean']:.1f}"
        )
    for key in ("signs", "participants"):
        items = stats[key]
        if items:
            top = sorted(items.items(), key=lambda kv: (-kv[1], kv[0]))
            shown = ", ".join(f"{k} {v}" for k, v in top[:10])
            more = f", ... ({len(items)} in all)" if len(items) > 10 else ""
            lines.append(f"{key:>18}: {shown}{more}")
    return "\n".join(lines)


def write_plots(counts: Sequence[SequenceCounts], directory: PathLike) -> list[Path]:
    """PNG plots into ``directory``: ``lengths.png`` (histogram of frames per sequence) and,
    when the sequences have signs, ``missing_hands_by_sign.png`` (per sign, the fraction of
    frames with neither hand). Needs matplotlib (``pip install "aslsign[viz]"``)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError('Plots need matplotlib: pip install "aslsign[viz]"') from exc
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.hist([c.frames for c in counts], bins=50, color="#4c72b0")
    ax.set_xlabel("frames per sequence")
    ax.set_ylabel("sequences")
    ax.set_title(f"{len(counts)} sequences")
    fig.tight_layout()
    fig.savefig(out / "lengths.png", dpi=100)
    plt.close(fig)
    written.append(out / "lengths.png")
    by_sign: dict[str, list[int]] = {}
    for c in counts:
        if c.sign is not None:
            totals = by_sign.setdefault(c.sign, [0, 0])
            totals[0] += c.no_hands
            totals[1] += c.frames
    if by_sign:
        rates = sorted(((n / t if t else 0.0), s) for s, (n, t) in by_sign.items())
        fig, ax = plt.subplots(figsize=(7, max(3.0, 0.18 * len(rates) + 1)))
        ax.barh([s for _, s in rates], [r for r, _ in rates], color="#dd8452")
        ax.set_xlabel("fraction of frames with neither hand")
        ax.set_xlim(0, 1)
        ax.tick_params(axis="y", labelsize=max(4, min(9, 400 // max(len(rates), 1))))
        fig.tight_layout()
        fig.savefig(out / "missing_hands_by_sign.png", dpi=100)
        plt.close(fig)
        written.append(out / "missing_hands_by_sign.png")
    return written
