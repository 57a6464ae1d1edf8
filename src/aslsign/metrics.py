"""Evaluation metrics for fingerspelling transcriptions.

:func:`normalized_levenshtein` is the metric of the Kaggle ASLFR competition: with ``N`` the
total number of characters over all reference phrases and ``D`` the total Levenshtein distance
(insertions, deletions and substitutions, each costing 1) between each reference and its
prediction, the score is ``(N - D) / N``. 1.0 is perfect; it falls below 0 when the predictions
need more edits than the references have characters. Edit distances come from ``rapidfuzz``
(C++), one call per pair.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .errors import InputShapeError

__all__ = ["character_error_rate", "levenshtein_distances", "normalized_levenshtein"]


def _distance_function():  # type: ignore[no-untyped-def]
    try:
        from rapidfuzz.distance import Levenshtein
    except ImportError as exc:  # pragma: no cover - rapidfuzz is a dependency
        raise ImportError(
            "aslsign.metrics needs rapidfuzz: pip install rapidfuzz (it comes with aslsign)."
        ) from exc
    return Levenshtein.distance


def _check(references: Sequence[str], predictions: Sequence[str]) -> None:
    if isinstance(references, str) or isinstance(predictions, str):
        raise InputShapeError(
            "references and predictions are sequences of strings (one per phrase), not a "
            "single string: wrap one phrase in a list."
        )
    if len(references) != len(predictions):
        raise InputShapeError(
            f"Got {len(references)} references but {len(predictions)} predictions; they pair "
            "up one to one."
        )


def levenshtein_distances(references: Sequence[str], predictions: Sequence[str]) -> np.ndarray:
    """The Levenshtein distance of each (reference, prediction) pair, as int64."""
    _check(references, predictions)
    distance = _distance_function()
    return np.array(
        [distance(str(r), str(p)) for r, p in zip(references, predictions, strict=True)],
        dtype=np.int64,
    )


def _totals(references: Sequence[str], predictions: Sequence[str]) -> tuple[int, int]:
    d = int(levenshtein_distances(references, predictions).sum())
    n = sum(len(str(r)) for r in references)
    if n == 0:
        raise InputShapeError(
            "The references hold no characters at all, so the metric (a ratio over the "
            "reference length) is undefined."
        )
    return n, d


def normalized_levenshtein(references: Sequence[str], predictions: Sequence[str]) -> float:
    """``(N - D) / N``: the Kaggle ASLFR competition metric over a set of phrases.

    Raises InputShapeError when the lengths differ or every reference is empty.
    """
    n, d = _totals(references, predictions)
    return (n - d) / n


def character_error_rate(references: Sequence[str], predictions: Sequence[str]) -> float:
    """``D / N`` (so ``1 - normalized_levenshtein``)."""
    n, d = _totals(references, predictions)
    return d / n
