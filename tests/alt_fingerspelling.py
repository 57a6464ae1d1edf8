"""An independent renderer of synthetic fingerspelling, for evaluation only.

It shares nothing with ``training_recipes/synth_fingerspelling.py`` but the letter recordings:
every clip keeps its own body (no alignment), clips play at 0.5-2x their recorded speed
(nearest frame), and letters are joined by a cut, a hold of the last frame, or a straight
interpolation; whole sequences are scaled, rotated, shifted and sometimes mirrored. Phrases are
random strings of a-z and 1-9. What it makes is SYNTHETIC.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from aslsign import landmarks as lm

NAMES = {c: c for c in "abcdefghijklmnopqrstuvwxyz"} | {
    "1": "one", "2": "two", "3": "three", "4": "four", "5": "five",
    "6": "six", "7": "seven", "8": "eight", "9": "nine",
}  # fmt: skip


def read_clips(letters: Path) -> dict[str, np.ndarray]:
    face = json.loads((letters / "metadata.json").read_text())["face_indices"]
    parts = {"pose": lm.POSE, "left_hand": lm.LEFT_HAND, "right_hand": lm.RIGHT_HAND, "face": face}
    clips = {}
    for char, name in NAMES.items():
        frames = json.loads((letters / f"{name}.json").read_text())["frames"]
        x = np.full((len(frames), 543, 3), np.nan, np.float32)
        for t, frame in enumerate(frames):
            for part, rows in parts.items():
                for row, point in zip(rows, frame.get(part) or (), strict=False):
                    if point is not None:
                        x[t, row] = point
        clips[char] = x
    return clips


def render(phrase: str, clips: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
    pieces: list[np.ndarray] = []
    for char in phrase:
        clip = clips[char]
        n = max(3, round(len(clip) / rng.uniform(0.5, 2.0)))
        clip = clip[np.round(np.linspace(0, len(clip) - 1, n)).astype(int)]
        if pieces:
            kind = rng.integers(0, 3)
            k = int(rng.integers(2, 11))
            if kind == 1:
                pieces.append(np.repeat(pieces[-1][-1:], k, axis=0))
            elif kind == 2:
                w = np.linspace(0, 1, k + 2)[1:-1, None, None].astype(np.float32)
                pieces.append(pieces[-1][-1] * (1 - w) + clip[0] * w)
        pieces.append(clip)
    x = np.concatenate(pieces)
    angle = math.radians(rng.uniform(-15, 15))
    m = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    m = (m * rng.uniform(0.7, 1.3)).astype(np.float32)
    x[..., :2] = (x[..., :2] - 0.5) @ m.T + 0.5 + rng.uniform(-0.15, 0.15, 2).astype(np.float32)
    return lm.mirror(x) if rng.random() < 0.3 else x


def phrases(n: int, rng: np.random.Generator) -> list[str]:
    alphabet = list(NAMES)
    return ["".join(rng.choice(alphabet, int(rng.integers(4, 20)))) for _ in range(n)]
