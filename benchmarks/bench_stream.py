"""Per-frame cost of streaming recognition (``stream.push``) with the bundled default models.

    python benchmarks/bench_stream.py [--data ../shared/data/gislr-mini] [--frames 600]

Real gislr-mini sequences are joined into one long stream and pushed frame by frame with each
model's default window and stride (signs: 64 frames every 8; fingerspelling: 256 every 16).
Prints the median cost of a push that only buffers, of one that recognises, and the mean per
frame, against the 33.3 ms a frame lasts at 30 fps. Landmark extraction (MediaPipe) is not
included: it is measured separately with the ``video`` extra.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

import aslsign

REPO = Path(__file__).resolve().parents[1]
FRAME_MS = 1000 / 30


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "gislr-mini")
    p.add_argument("--frames", type=int, default=600)
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args()

    seqs = [r.load() for r in aslsign.GislrDataset(args.data).records[:100]]
    stream_frames = np.concatenate(seqs)[: args.frames]
    print(f"{len(stream_frames)} real frames of {args.data.name}, pushed at 30 fps timestamps")
    for cls, name in (
        (aslsign.SignRecognizer, aslsign.DEFAULT_MODEL),
        (aslsign.FingerspellingRecognizer, aslsign.DEFAULT_FINGERSPELLING_MODEL),
    ):
        with cls.from_pretrained(name, num_threads=args.threads) as rec, rec.stream() as s:
            buffer_ms, result_ms, total = [], [], 0.0
            for i, frame in enumerate(stream_frames):
                t0 = time.perf_counter()
                out = s.push(frame, round(i * FRAME_MS))
                dt = (time.perf_counter() - t0) * 1e3
                total += dt
                (buffer_ms if out is None else result_ms).append(dt)
            window, stride = s.window_frames, s.stride
        mean = total / len(stream_frames)
        buffered, recognised = statistics.median(buffer_ms), statistics.median(result_ms)
        p95 = float(np.percentile(result_ms, 95))
        print(
            f"{name} (window {window}, stride {stride}): push without a result "
            f"{buffered:.3f} ms, with a result {recognised:.2f} ms (median; p95 {p95:.2f}); "
            f"mean {mean:.3f} ms per frame = {mean / FRAME_MS:.1%} of a 30 fps frame"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
