"""Evaluation metrics: fingerspelling transcriptions (sign -> text), and spotting (events).

**Spotting.** :func:`event_scores` compares found spans with true ones the usual way for events:
a found span matches a true sign when the labels are equal and their temporal IoU (frames in
both over frames in either) is at least ``iou`` (0.3); each true sign matches at most one found
span (the best IoU first). Precision = matches / found spans, recall = matches / true signs,
F1 their harmonic mean. A true span with label None is an *unknown* sign: any span found over
it is a false positive, and it is not one of the signs to find.

**Fingerspelling.**

Over a set of (reference, prediction) phrase pairs let ``N`` be the total number of characters
of the references and ``D`` the total Levenshtein distance (the fewest single-character
insertions, deletions and substitutions, each costing 1) between each reference and its own
prediction.

* :func:`normalized_levenshtein` is ``(N - D) / N``, the metric of the Kaggle "Google - American
  Sign Language Fingerspelling Recognition" (ASLFR) competition. It is computed over the set, not
  averaged per phrase; 1.0 is perfect and it goes below 0 when the predictions need more edits
  than the references have characters (it is not bounded below).
* :func:`character_error_rate` is ``D / N`` (``1 - normalized_levenshtein``).
* :func:`levenshtein_distances` gives the distance of each pair.

Conventions: references and predictions pair up one to one (equal lengths, else
:class:`~aslsign.errors.InputShapeError`), and each element must be a ``str``. When the references
hold no characters at all (``N == 0``) both ratios are undefined and InputShapeError is raised
rather than returning a number that could silently enter an average.

Edit distances are computed by ``rapidfuzz`` (a dependency of aslsign), imported on first use:
this module imports without it and only the functions fail, saying how to install it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .errors import InputShapeError

__all__ = [
    "character_error_rate",
    "event_scores",
    "levenshtein_distances",
    "normalized_levenshtein",
    "temporal_iou",
]


def _levenshtein() -> Callable[[str, str], int]:
    """rapidfuzz's Levenshtein distance (unit costs), or an ImportError saying how to get it."""
    try:
        from rapidfuzz.distance import Levenshtein
    except ImportError as exc:
        raise ImportError(
            "aslsign.metrics computes edit distances with rapidfuzz, which is not installed: "
            "pip install rapidfuzz"
        ) from exc
    distance: Callable[[str, str], int] = Levenshtein.distance
    return distance


def _validate(references: Sequence[str], predictions: Sequence[str]) -> None:
    for name, texts in (("references", references), ("predictions", predictions)):
        if isinstance(texts, str):
            raise InputShapeError(
                f"{name} must be a sequence of strings, one per phrase; got a single string "
                f"({texts[:20]!r}): wrap it in a list."
            )
    if len(references) != len(predictions):
        raise InputShapeError(
            f"references and predictions must pair up one to one; got {len(references)} "
            f"references and {len(predictions)} predictions."
        )
    for name, texts in (("references", references), ("predictions", predictions)):
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise InputShapeError(
                    f"{name} must hold strings; item {i} is a {type(text).__name__} ({text!r})."
                )


def levenshtein_distances(references: Sequence[str], predictions: Sequence[str]) -> np.ndarray:
    """The Levenshtein distance of each (reference, prediction) pair.

    Returns:
        An int64 array of shape ``(len(references),)``.

    Raises:
        InputShapeError: the sequences differ in length or hold something other than strings.
        ImportError: rapidfuzz is not installed.
    """
    _validate(references, predictions)
    distance = _levenshtein()
    return np.fromiter(
        (distance(ref, pred) for ref, pred in zip(references, predictions, strict=True)),
        dtype=np.int64,
        count=len(references),
    )


def _edits_and_length(references: Sequence[str], predictions: Sequence[str]) -> tuple[int, int]:
    """``(D, N)``: total distance and total reference length, N > 0 guaranteed."""
    d = int(levenshtein_distances(references, predictions).sum())
    n = sum(len(ref) for ref in references)
    if n == 0:
        raise InputShapeError(
            f"The metric divides by the total reference length, but the {len(references)} "
            "references hold no characters at all (all empty, or none given)."
        )
    return d, n


def normalized_levenshtein(references: Sequence[str], predictions: Sequence[str]) -> float:
    """``(N - D) / N``: the Kaggle ASLFR competition metric over a set of phrase pairs.

    Args:
        references: the true phrases.
        predictions: one predicted phrase per reference, in the same order.

    Returns:
        At most 1.0 (every prediction exact); negative when ``D > N``.

    Raises:
        InputShapeError: different lengths, non-string items, or references with no characters.
        ImportError: rapidfuzz is not installed.
    """
    d, n = _edits_and_length(references, predictions)
    return (n - d) / n


def character_error_rate(references: Sequence[str], predictions: Sequence[str]) -> float:
    """``D / N``, the character error rate over a set of phrase pairs (0.0 is perfect).

    Same arguments, conventions and errors as :func:`normalized_levenshtein`; it can exceed 1.
    """
    d, n = _edits_and_length(references, predictions)
    return d / n


def temporal_iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    """Frames in both of two ``(start, end)`` spans (end exclusive) over frames in either."""
    inter = min(a[1], b[1]) - max(a[0], b[0])
    if inter <= 0:
        return 0.0
    return inter / (max(a[1], b[1]) - min(a[0], b[0]))


def event_scores(
    found: Sequence[tuple[str | None, int, int]],
    truth: Sequence[tuple[str | None, int, int]],
    iou: float = 0.3,
) -> dict[str, float]:
    """Event precision, recall and F1 of ``found`` spans against ``truth`` (both ``(label,
    start_frame, end_frame)``; see the module docstring), with the counts."""
    pairs = sorted(
        (
            (temporal_iou((f[1], f[2]), (t[1], t[2])), i, j)
            for i, f in enumerate(found)
            for j, t in enumerate(truth)
            if f[0] is not None and f[0] == t[0]
        ),
        reverse=True,
    )
    used_f: set[int] = set()
    used_t: set[int] = set()
    for value, i, j in pairs:
        if value >= iou and i not in used_f and j not in used_t:
            used_f.add(i)
            used_t.add(j)
    matches = len(used_f)
    to_find = sum(t[0] is not None for t in truth)
    precision = matches / len(found) if found else 1.0
    recall = matches / to_find if to_find else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "f1": f1,
        "precision": precision,
        "recall": recall,
        "matches": matches,
        "found": len(found),
        "signs": to_find,
    }
