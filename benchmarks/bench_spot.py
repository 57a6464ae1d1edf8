"""Per-frame cost of spotting (``spotter.push``) with the bundled default models.

    python benchmarks/bench_spot.py [--data ../shared/data] [--signs 60] [--phrases 4]

Signs: real gislr-mini sequences joined by idle gaps of 0.5-1.5 s (no hands, or hands at rest:
``aslsign.spotting.join_sequences``). Fingerspelling: SYNTHETIC phrases of 40-60 characters
(the recipe's generator, from the real letter recordings) joined the same way, with the partial
transcript asked for every 15 frames while a phrase is open, as ``aslsign live`` does. Each
stream is pushed frame by frame at 30 fps timestamps; the script prints the median cost of a
push that only segments, of one that ends a span (and so runs the model), the p99, and the mean
per frame, against the 33.3 ms a frame lasts at 30 fps. Also the delay between a span's last
frame and the push that reports it, and how well the spans match the truth: event F1 for signs
(same label, IoU >= 0.3; the default model saw these signers in training, so it is no measure
of unseen signers: the model card has the cross-validated one) and, for the SYNTHETIC phrases,
the normalised Levenshtein of the joined spans against the joined phrases.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

import aslsign
from aslsign.spotting import join_sequences

REPO = Path(__file__).resolve().parents[1]
FRAME_MS = 1000 / 30


def sign_stream(data: Path, count: int) -> tuple[np.ndarray, list, str]:
    records = list(aslsign.GislrDataset(data / "gislr-mini"))
    rng = np.random.default_rng(0)
    chosen = [records[int(i)] for i in rng.choice(len(records), count, replace=False)]
    stream, truth = join_sequences([(r.sign, r.load()) for r in chosen], seed=0)
    return stream, truth, f"{count} real gislr-mini signs"


def phrase_stream(data: Path, count: int) -> tuple[np.ndarray, list, str]:
    sys.path.insert(0, str(REPO))
    from training_recipes.synth_fingerspelling import long_phrases

    items = long_phrases(data / "fingerspelling-letters", count, seed=0)
    stream, truth = join_sequences(items, seed=0, gap_s=(2.0, 3.0))
    return stream, truth, f"{count} SYNTHETIC phrases of 40-60 characters"


def run(
    rec: aslsign.SignRecognizer | aslsign.FingerspellingRecognizer, stream: np.ndarray, truth: list
) -> None:
    from aslsign.metrics import event_scores, normalized_levenshtein

    spotter = rec.spotter()
    found: list = []
    quiet, ending, delays, total = [], [], [], 0.0
    spelling = rec.task == "fingerspelling"
    for i, frame in enumerate(stream):
        t0 = time.perf_counter()
        spans = spotter.push(frame, round(i * FRAME_MS))
        found += spans
        if spelling and spotter.in_span and i % 15 == 0:
            _ = spotter.partial
        dt = (time.perf_counter() - t0) * 1e3
        total += dt
        (ending if spans else quiet).append(dt)
        delays += [(i + 1 - s.end_frame) / 30 for s in spans]
    found += spotter.flush()
    all_ms = quiet + ending
    mean = total / len(stream)
    print(
        f"  push: median {statistics.median(quiet):.3f} ms (no span ends), "
        f"{statistics.median(ending) if ending else float('nan'):.2f} ms (a span ends, "
        f"{len(ending)} times), p99 {np.percentile(all_ms, 99):.2f} ms, max {max(all_ms):.1f} ms; "
        f"mean {mean:.3f} ms per frame = {mean / FRAME_MS:.1%} of a 30 fps frame"
    )
    if delays:
        print(f"  delay from a span's last frame to its report: {statistics.median(delays):.2f} s")
    if spelling:
        joined = " ".join(s.text for s in found)
        score = normalized_levenshtein([" ".join(t[0] for t in truth)], [joined])
        print(f"  joined spans vs the phrases: normalised Levenshtein {score:.3f} (SYNTHETIC)")
    else:
        e = event_scores([(s.label, s.start_frame, s.end_frame) for s in found], truth)
        print(
            f"  event F1 {e['f1']:.3f} (precision {e['precision']:.3f}, recall {e['recall']:.3f}"
            f"; signers seen in training)"
        )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    p.add_argument("--signs", type=int, default=60)
    p.add_argument("--phrases", type=int, default=4)
    args = p.parse_args()
    for cls, name, make, count in (
        (aslsign.SignRecognizer, aslsign.DEFAULT_MODEL, sign_stream, args.signs),
        (
            aslsign.FingerspellingRecognizer,
            aslsign.DEFAULT_FINGERSPELLING_MODEL,
            phrase_stream,
            args.phrases,
        ),
    ):
        stream, truth, what = make(args.data, count)
        print(f"{name}: {len(stream)} frames ({len(stream) / 30:.0f} s) of {what}")
        with cls.from_pretrained(name) as rec:
            run(rec, stream, truth)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
