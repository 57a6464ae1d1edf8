"""Per-frame cost of streaming recognition (``stream.push``) with the bundled default models.

    python benchmarks/bench_stream.py [--data ../shared/data/gislr-mini] [--frames 600]
    <video env>/bin/python benchmarks/bench_stream.py      # also MediaPipe extraction

Real gislr-mini sequences are joined into one long stream and pushed frame by frame with each
model's default window and stride (signs: 64 frames every 8; fingerspelling: 256 every 16).
Prints the median cost of a push that only buffers, of one that recognises, and the mean per
frame, against the 33.3 ms a frame lasts at 30 fps.

Landmark extraction is measured separately, when MediaPipe is installed (the ``video`` extra, in
its own environment): MediaPipe Holistic in video mode on a 640x480 clip made from a real photo
of a person (matplotlib's Grace Hopper sample, shifted a few pixels per frame; she shows face and
shoulders, no hands), per ``model_complexity``, and the sum extraction + recognition per frame.
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
    p.add_argument("--extract-frames", type=int, default=60, help="frames for MediaPipe")
    args = p.parse_args()
    means: dict[str, float] = {}

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
        means[name] = mean
    bench_extraction(args.extract_frames, means)
    return 0


def photo_clip(frames: int) -> list[np.ndarray]:
    """A 640x480 clip of a real photo of a person, moving 4 px right per frame."""
    import matplotlib.cbook as cbook
    from PIL import Image

    img = Image.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)).convert("RGB")
    img.thumbnail((640, 480))
    canvas = np.full((480, 640, 3), 128, np.uint8)
    h, w = img.height, img.width
    out = []
    for k in range(frames):
        frame = canvas.copy()
        x0 = (k * 4) % (640 - w + 1)
        frame[:h, x0 : x0 + w] = np.asarray(img)
        out.append(frame)
    return out


def bench_extraction(frames: int, recognition_ms: dict[str, float]) -> None:
    from importlib.util import find_spec

    if find_spec("mediapipe") is None:
        print("extraction: not measured (MediaPipe is not installed; run in the video environment)")
        return
    from aslsign.errors import BackendNotAvailableError
    from aslsign.video import HolisticExtractor

    clip = photo_clip(frames)
    for complexity in (0, 1, 2):
        try:
            ext = HolisticExtractor(model_complexity=complexity)
        except BackendNotAvailableError:  # only model_complexity 1 is in the wheel
            print(f"extraction, model_complexity {complexity}: its pose model is not installed")
            continue
        with ext:
            for image in clip[:5]:  # warm-up: graph start, first detections
                ext.process(image)
            times = []
            for image in clip:
                t0 = time.perf_counter()
                ext.process(image)
                times.append((time.perf_counter() - t0) * 1e3)
        med, p95 = statistics.median(times), float(np.percentile(times, 95))
        print(
            f"extraction (MediaPipe Holistic, model_complexity {complexity}, 640x480, "
            f"{len(times)} frames): median {med:.1f} ms, p95 {p95:.1f} ms per frame"
        )
        for name, rec_ms in recognition_ms.items():
            total = med + rec_ms
            print(
                f"  + {name}: {total:.1f} ms per frame = {total / FRAME_MS:.0%} of a 30 fps "
                f"frame (extraction {med / total:.0%})"
            )


if __name__ == "__main__":
    raise SystemExit(main())
