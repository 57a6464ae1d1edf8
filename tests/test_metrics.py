"""aslsign.metrics against an independent pure-Python edit distance."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aslsign.characters import CHARACTERS
from aslsign.errors import InputShapeError
from aslsign.metrics import character_error_rate, levenshtein_distances, normalized_levenshtein

ALPHABET = "".join(CHARACTERS)  # the 59 ASLFR characters, space included
assert len(ALPHABET) == 59 and " " in ALPHABET


def dp_levenshtein(a: str, b: str) -> int:
    """Textbook dynamic programme over a full table: insert, delete, substitute each cost 1."""
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        table[i][0] = i
    for j in range(len(b) + 1):
        table[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            table[i][j] = min(
                table[i - 1][j] + 1,  # delete a[i - 1]
                table[i][j - 1] + 1,  # insert b[j - 1]
                table[i - 1][j - 1] + (a[i - 1] != b[j - 1]),  # substitute (or keep)
            )
    return table[len(a)][len(b)]


def reference_score(refs: list[str], preds: list[str]) -> tuple[float, float]:
    """(normalised Levenshtein, character error rate) from the DP above."""
    n = sum(len(r) for r in refs)
    d = sum(dp_levenshtein(r, p) for r, p in zip(refs, preds, strict=True))
    return (n - d) / n, d / n


def test_dp_reference_itself():
    assert dp_levenshtein("kitten", "sitting") == 3
    assert dp_levenshtein("", "abc") == 3
    assert dp_levenshtein("flaw", "lawn") == 2
    assert dp_levenshtein("abc", "abc") == 0


phrases = st.text(alphabet=ALPHABET, min_size=0, max_size=31)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(phrases, phrases), min_size=1, max_size=50))
def test_matches_the_dp_on_random_phrases(pairs):
    refs = [r for r, _ in pairs]
    preds = [p for _, p in pairs]
    expected = [dp_levenshtein(r, p) for r, p in pairs]
    got = levenshtein_distances(refs, preds)
    assert got.dtype == np.int64 and got.shape == (len(pairs),)
    assert got.tolist() == expected
    if sum(len(r) for r in refs) == 0:
        with pytest.raises(InputShapeError):
            normalized_levenshtein(refs, preds)
        return
    score, cer = reference_score(refs, preds)
    assert normalized_levenshtein(refs, preds) == pytest.approx(score, abs=1e-12)
    assert character_error_rate(refs, preds) == pytest.approx(cer, abs=1e-12)


def noisy_copy(rng: np.random.Generator, text: str, alphabet: str) -> str:
    """``text`` with a few random insertions, deletions and substitutions."""
    chars = list(text)
    for _ in range(int(rng.integers(0, 5))):
        op = rng.integers(0, 3)
        if op == 0 or not chars:
            chars.insert(
                int(rng.integers(0, len(chars) + 1)), alphabet[rng.integers(len(alphabet))]
            )
        elif op == 1:
            chars.pop(int(rng.integers(0, len(chars))))
        else:
            chars[int(rng.integers(0, len(chars)))] = alphabet[rng.integers(len(alphabet))]
    return "".join(chars)


@pytest.mark.parametrize("seed", range(60))
def test_matches_the_dp_on_near_misses(seed):
    """Predictions close to their references (scores near 1), sometimes over a tiny alphabet."""
    rng = np.random.default_rng(seed)
    alphabet = ALPHABET if seed % 3 else "ab "
    refs = [
        "".join(alphabet[i] for i in rng.integers(0, len(alphabet), int(rng.integers(0, 32))))
        for _ in range(int(rng.integers(1, 51)))
    ]
    refs[0] = refs[0] or "x"  # at least one character over the set
    preds = [noisy_copy(rng, r, alphabet) if rng.random() < 0.8 else "" for r in refs]
    score, cer = reference_score(refs, preds)
    assert normalized_levenshtein(refs, preds) == pytest.approx(score, abs=1e-12)
    assert character_error_rate(refs, preds) == pytest.approx(cer, abs=1e-12)
    assert normalized_levenshtein(refs, preds) + character_error_rate(refs, preds) == (
        pytest.approx(1.0)
    )


def test_known_values():
    assert levenshtein_distances(["kitten"], ["sitting"]).tolist() == [3]
    assert levenshtein_distances(["kitten", "", "abc"], ["sitting", "xy", ""]).tolist() == [3, 2, 3]
    assert normalized_levenshtein(["kitten"], ["sitting"]) == pytest.approx(3 / 6)
    assert normalized_levenshtein(["hello world"], ["hello world"]) == 1.0
    assert character_error_rate(["hello world"], ["hello world"]) == 0.0
    # Over the set, not a mean of per-phrase scores: N = 10, D = 1 + 5, so (10 - 6) / 10.
    assert normalized_levenshtein(["abcde", "fghij"], ["abcd", ""]) == pytest.approx(0.4)
    # An empty reference adds nothing to N, but its prediction's characters all count in D.
    assert normalized_levenshtein(["abcd", ""], ["abcd", "zz"]) == pytest.approx((4 - 2) / 4)
    # More edits than reference characters: below zero.
    assert normalized_levenshtein(["ab"], ["xyzuv"]) == pytest.approx((2 - 5) / 2)
    assert character_error_rate(["ab"], ["xyzuv"]) == pytest.approx(2.5)
    assert normalized_levenshtein(("1 main st",), ("1 main st.",)) == pytest.approx(8 / 9)


def test_errors():
    with pytest.raises(InputShapeError, match="2 references and 1 predictions"):
        normalized_levenshtein(["a", "b"], ["a"])
    with pytest.raises(InputShapeError, match="0 references and 1 predictions"):
        character_error_rate([], ["a"])
    with pytest.raises(InputShapeError, match="pair up"):
        levenshtein_distances(["a"], [])
    with pytest.raises(InputShapeError, match="single string"):
        normalized_levenshtein("abc", "abd")
    with pytest.raises(InputShapeError, match="item 1 is a NoneType"):
        normalized_levenshtein(["a", "b"], ["a", None])  # type: ignore[list-item]
    with pytest.raises(InputShapeError, match="no characters"):
        normalized_levenshtein(["", ""], ["a", ""])
    with pytest.raises(InputShapeError, match="no characters"):
        character_error_rate([], [])
    assert levenshtein_distances([], []).tolist() == []


def test_imports_without_rapidfuzz_and_says_how_to_get_it():
    code = (
        "import sys\n"
        "sys.modules['rapidfuzz'] = None\n"  # makes `import rapidfuzz...` raise ImportError
        "sys.modules['rapidfuzz.distance'] = None\n"
        "import aslsign.metrics as m\n"
        "try:\n"
        "    m.normalized_levenshtein(['a'], ['a'])\n"
        "except ImportError as e:\n"
        "    print('ImportError:', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "ImportError:" in out.stdout
    assert "pip install rapidfuzz" in out.stdout
