"""aslsign.metrics against an independent edit-distance implementation."""

from __future__ import annotations

import numpy as np
import pytest

from aslsign.characters import CHARACTERS
from aslsign.errors import InputShapeError
from aslsign.metrics import character_error_rate, levenshtein_distances, normalized_levenshtein


def dp_levenshtein(a: str, b: str) -> int:
    """Textbook dynamic programme: insert, delete and substitute each cost one."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        cur = [i]
        for j, cb in enumerate(b, start=1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def reference_metric(refs: list[str], preds: list[str]) -> float:
    n = sum(len(r) for r in refs)
    d = sum(dp_levenshtein(r, p) for r, p in zip(refs, preds, strict=True))
    return (n - d) / n


def random_phrase(rng: np.random.Generator, alphabet: list[str]) -> str:
    return "".join(rng.choice(alphabet, int(rng.integers(0, 32))))


@pytest.mark.parametrize("seed", range(40))
def test_matches_an_independent_implementation(seed):
    rng = np.random.default_rng(seed)
    alphabet = list(CHARACTERS) if seed % 2 else list("ab ")  # small alphabets: many matches
    refs = [random_phrase(rng, alphabet) for _ in range(int(rng.integers(1, 51)))]
    if not any(refs):
        refs[0] = "x"
    preds = []
    for r in refs:  # predictions near the references, and some unrelated ones
        if rng.random() < 0.3:
            preds.append(random_phrase(rng, alphabet))
        else:
            chars = list(r)
            for _ in range(int(rng.integers(0, 4))):
                if chars and rng.random() < 0.5:
                    chars.pop(int(rng.integers(0, len(chars))))
                else:
                    chars.insert(int(rng.integers(0, len(chars) + 1)), str(rng.choice(alphabet)))
            preds.append("".join(chars))
    assert normalized_levenshtein(refs, preds) == pytest.approx(reference_metric(refs, preds))
    assert character_error_rate(refs, preds) == pytest.approx(1 - reference_metric(refs, preds))
    expected = [dp_levenshtein(r, p) for r, p in zip(refs, preds, strict=True)]
    assert levenshtein_distances(refs, preds).tolist() == expected


def test_known_values():
    assert levenshtein_distances(["kitten"], ["sitting"]).tolist() == [3]
    assert normalized_levenshtein(["hello world"], ["hello world"]) == 1.0
    # (N - D) / N over the set, not a mean of per-phrase scores: (10 - 1 - 5) / 10
    assert normalized_levenshtein(["abcde", "fghij"], ["abcd", ""]) == pytest.approx(0.4)
    assert normalized_levenshtein(["ab"], ["xyzuv"]) == pytest.approx((2 - 5) / 2)  # < 0


def test_errors():
    with pytest.raises(InputShapeError, match="pair up"):
        normalized_levenshtein(["a", "b"], ["a"])
    with pytest.raises(InputShapeError, match="not a single string"):
        normalized_levenshtein("abc", "abd")
    with pytest.raises(InputShapeError, match="no characters"):
        normalized_levenshtein(["", ""], ["a", ""])
