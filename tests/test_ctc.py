"""CTC decoding (aslsign.ctc) against hand-made cases and a brute-force enumeration."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from aslsign.ctc import (
    beam_search_decode,
    greedy_decode,
    greedy_decode_batch,
    log_softmax,
)
from aslsign.errors import InputShapeError

B = 3  # blank index in the hand-made cases (classes 0, 1, 2 and the blank)


def one_hot_path(path: list[int], classes: int = 4, p: float = 0.9) -> np.ndarray:
    """Log-probabilities where each step puts ``p`` on the given class."""
    probs = np.full((len(path), classes), (1 - p) / (classes - 1))
    probs[np.arange(len(path)), path] = p
    return np.log(probs).astype(np.float32)


@pytest.mark.parametrize(
    ("path", "tokens"),
    [
        ([0, 0, B, 0], (0, 0)),  # a blank separates a repeated character
        ([0, 0, 0], (0,)),  # held: one character
        ([B, B, B], ()),
        ([1, B, 2, 2, B, B, 1], (1, 2, 1)),
        ([2, 1, 2], (2, 1, 2)),
    ],
)
def test_greedy_hand_made(path, tokens):
    d = greedy_decode(one_hot_path(path), blank=B)
    assert d.tokens == tokens
    assert len(d.confidences) == len(tokens)
    assert d.log_prob == pytest.approx(len(path) * math.log(0.9), rel=1e-5)


def test_greedy_confidence_is_the_best_step_of_the_run():
    probs = np.array(
        [[0.6, 0.2, 0.1, 0.1], [0.8, 0.1, 0.05, 0.05], [0.1, 0.1, 0.1, 0.7], [0.1, 0.5, 0.2, 0.2]]
    )
    d = greedy_decode(np.log(probs), blank=B)
    assert d.tokens == (0, 1)
    assert d.confidences == pytest.approx((0.8, 0.5))


def test_greedy_length_and_batch():
    rng = np.random.default_rng(0)
    lp = log_softmax(rng.normal(size=(6, 30, 7)) * 2)
    lengths = np.array([30, 0, 1, 17, 29, 5])
    batch = greedy_decode_batch(lp, lengths, blank=6)
    for row, n, d in zip(lp, lengths, batch, strict=True):
        assert d == greedy_decode(row, blank=6, length=int(n))
        assert d == greedy_decode(row[:n], blank=6)
    assert batch[1].tokens == () and batch[1].log_prob == 0.0


def brute_force(log_probs: np.ndarray, blank: int) -> tuple[tuple[int, ...], float]:
    """The most probable labelling and its log-probability, summing every path."""
    steps, classes = log_probs.shape
    totals: dict[tuple[int, ...], float] = {}
    for path in itertools.product(range(classes), repeat=steps):
        merged = [c for i, c in enumerate(path) if i == 0 or c != path[i - 1]]
        label = tuple(c for c in merged if c != blank)
        lp = float(sum(log_probs[t, c] for t, c in enumerate(path)))
        totals[label] = float(np.logaddexp(totals.get(label, -np.inf), lp))
    best = max(totals, key=totals.__getitem__)
    return best, totals[best]


@pytest.mark.parametrize("seed", range(25))
def test_beam_search_finds_the_most_probable_labelling(seed):
    rng = np.random.default_rng(seed)
    steps, classes = int(rng.integers(1, 7)), int(rng.integers(2, 5))
    blank = int(rng.integers(0, classes))
    lp = log_softmax(rng.normal(size=(steps, classes)) * rng.uniform(0.5, 3.0))
    want, want_lp = brute_force(lp.astype(np.float64), blank)
    got = beam_search_decode(lp, blank=blank, beam_width=classes**steps)
    assert got.tokens == want
    assert got.log_prob == pytest.approx(want_lp, abs=1e-5)
    assert len(got.confidences) == len(got.tokens)
    assert all(0.0 <= c <= 1.0 for c in got.confidences)


def test_beam_search_beats_greedy_where_paths_add_up():
    # greedy path: blank, blank, blank (p = .4^3); but "a" collects many paths
    probs = np.array([[0.3, 0.3, 0.4], [0.3, 0.3, 0.4], [0.3, 0.3, 0.4]])
    lp = np.log(probs)
    assert greedy_decode(lp, blank=2).tokens == ()
    assert beam_search_decode(lp, blank=2, beam_width=8).tokens in ((0,), (1,))


def test_beam_width_one_follows_confident_paths():
    rng = np.random.default_rng(1)
    for _ in range(20):
        path = rng.integers(0, 4, 12).tolist()
        lp = one_hot_path(path, p=0.97)
        assert beam_search_decode(lp, blank=B, beam_width=1).tokens == greedy_decode(lp, B).tokens


def test_prune_and_length():
    lp = one_hot_path([0, B, 1, 1, B, 2])
    assert beam_search_decode(lp, blank=B, prune=1.0).tokens == (0, 1, 2)
    assert beam_search_decode(lp, blank=B, length=3).tokens == (0, 1)
    assert beam_search_decode(lp[:0], blank=B).tokens == ()


def test_log_softmax():
    x = np.array([[1000.0, 1001.0, 999.0], [0.0, 0.0, 0.0]], np.float32)
    out = log_softmax(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(np.exp(out).sum(-1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(out[1], np.log(1 / 3), rtol=1e-6)


def test_bad_input():
    with pytest.raises(InputShapeError, match="steps, classes"):
        greedy_decode(np.zeros(5, np.float32), blank=0)
    with pytest.raises(InputShapeError, match="blank index 7"):
        greedy_decode(np.zeros((3, 4), np.float32), blank=7)
    with pytest.raises(InputShapeError, match="length 9"):
        greedy_decode(np.zeros((3, 4), np.float32), blank=0, length=9)
    with pytest.raises(InputShapeError, match="beam_width"):
        beam_search_decode(np.zeros((3, 4), np.float32), blank=0, beam_width=0)
    with pytest.raises(InputShapeError, match="lengths"):
        greedy_decode_batch(np.zeros((2, 3, 4), np.float32), np.array([1]), blank=0)
