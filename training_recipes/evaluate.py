"""Measuring an exported artifact the way a user runs it: ``model.tflite`` through the runtime.

Every figure a recipe writes into a model card comes from here, so it is the accuracy of the file
that ships (LiteRT, fp32, NumPy preprocessing), not of the Keras model in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["evaluate_fingerspelling", "evaluate_signs"]


def evaluate_signs(
    artifact: Path, raws: Sequence[np.ndarray], ys: np.ndarray, top_k: Sequence[int] = (1, 5)
) -> dict[str, Any]:
    """Top-k accuracies (``top1``, ``top5``, ...) of an isolated-sign artifact, and ``count``."""
    from aslsign import SignRecognizer

    with SignRecognizer.from_pretrained(artifact, top_k=max(top_k)) as rec:
        results = rec.predict_batch(raws)
    out: dict[str, Any] = {}
    for k in top_k:
        hits = [y in [c.index for c in r.top_k[:k]] for r, y in zip(results, ys, strict=True)]
        out[f"top{k}"] = float(np.mean(hits)) if hits else 0.0
    out["count"] = len(ys)
    return out


def evaluate_fingerspelling(
    artifact: Path, raws: Sequence[np.ndarray], phrases: Sequence[str], beam_width: int = 1
) -> dict[str, Any]:
    """Normalised Levenshtein and exact-match rate of a fingerspelling artifact."""
    from aslsign import FingerspellingRecognizer
    from aslsign.metrics import normalized_levenshtein

    with FingerspellingRecognizer.from_pretrained(artifact, beam_width=beam_width) as rec:
        texts = [r.text for r in rec.predict_batch(raws)]
    exact = float(np.mean([t == p for t, p in zip(texts, phrases, strict=True)]))
    return {
        "normalized_levenshtein": round(normalized_levenshtein(phrases, texts), 4),
        "exact_match": round(exact, 4),
        "count": len(phrases),
        "beam_width": beam_width,
        "examples": [{"phrase": p, "text": t} for p, t in zip(phrases[:8], texts[:8], strict=True)],
    }
