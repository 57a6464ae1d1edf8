"""aslsign.ctc against hand-made cases and a brute-force sum over every alignment."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from aslsign.ctc import (
    Decoded,
    beam_search_decode,
    greedy_decode,
    greedy_decode_batch,
    log_softmax,
)
from aslsign.errors import InputShapeError

B = 3  # the blank in the hand-made cases: classes 0, 1, 2, then the blank (last, as in aslsign)


def path_log_probs(path: list[int], classes: int = 4, p: float = 0.9) -> np.ndarray:
    """Log-probabilities whose step ``t`` puts ``p`` on ``path[t]`` and spreads the rest evenly."""
    probs = np.full((len(path), classes), (1 - p) / (classes - 1))
    probs[np.arange(len(path)), path] = p
    return np.log(probs).astype(np.float32)


def random_log_probs(rng: np.random.Generator, steps: int, classes: int) -> np.ndarray:
    """Random distributions, from nearly flat to sharply peaked."""
    scale = rng.uniform(0.3, 4.0)
    return log_softmax(rng.normal(size=(steps, classes)).astype(np.float32) * scale)


def peaked_log_probs(rng: np.random.Generator, steps: int, classes: int) -> np.ndarray:
    """Every step gives one random class a probability in [0.75, 0.99], the rest at random."""
    top_p = rng.uniform(0.75, 0.99, steps)
    probs = rng.dirichlet(np.ones(classes), steps) * (1 - top_p)[:, None]
    probs[np.arange(steps), rng.integers(0, classes, steps)] += top_p
    return np.log(probs)


# ----------------------------------------------------------------------------- log_softmax


def test_log_softmax_is_stable_and_normalised():
    x = np.array([[1000.0, 1001.0, 999.0], [0.0, 0.0, 0.0], [-1e4, 0.0, 1e4]], np.float32)
    out = log_softmax(x)
    assert out.dtype == np.float32
    assert np.isfinite(out[:2]).all()
    np.testing.assert_allclose(np.exp(out).sum(axis=-1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(out[1], np.log(1 / 3), rtol=1e-6)
    np.testing.assert_allclose(out[0], [-1.4076059, -0.4076059, -2.4076059], rtol=1e-6)


def test_log_softmax_matches_the_naive_formula_and_takes_an_axis():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 5, 6)).astype(np.float32)
    for axis in (0, 1, -1):
        naive = np.log(np.exp(x) / np.exp(x).sum(axis=axis, keepdims=True))
        np.testing.assert_allclose(log_softmax(x, axis=axis), naive, atol=1e-5)
    assert log_softmax(x.astype(np.float64)).dtype == np.float64


# ----------------------------------------------------------------------------- greedy


@pytest.mark.parametrize(
    ("path", "tokens"),
    [
        ([0, 0, B, 0], (0, 0)),  # a blank between repeats: two tokens
        ([0, 0, 0], (0,)),  # repeats without a blank: one (held) token
        ([B, B, B], ()),  # all blank: nothing
        ([1, B, 2, 2, B, B, 1], (1, 2, 1)),
        ([2, 1, 2], (2, 1, 2)),
        ([B, 0, 1, B], (0, 1)),
    ],
)
def test_greedy_hand_made(path, tokens):
    d = greedy_decode(path_log_probs(path), blank=B)
    assert isinstance(d, Decoded)
    assert d.tokens == tokens
    assert d.confidences == pytest.approx([0.9] * len(tokens))
    assert d.log_prob == pytest.approx(len(path) * math.log(0.9), rel=1e-5)


def test_greedy_confidence_is_the_best_step_of_each_run():
    probs = np.array(
        [
            [0.6, 0.2, 0.1, 0.1],  # 0
            [0.8, 0.1, 0.05, 0.05],  # 0 (same run: confidence 0.8)
            [0.1, 0.1, 0.1, 0.7],  # blank
            [0.1, 0.5, 0.2, 0.2],  # 1
            [0.45, 0.3, 0.2, 0.05],  # 0 again: a new run
        ]
    )
    d = greedy_decode(np.log(probs), blank=B)
    assert d.tokens == (0, 1, 0)
    assert d.confidences == pytest.approx((0.8, 0.5, 0.45))
    assert d.log_prob == pytest.approx(math.log(0.6 * 0.8 * 0.7 * 0.5 * 0.45))


def test_greedy_blank_need_not_be_last():
    d = greedy_decode(path_log_probs([0, 0, 1, 1, 0, 2]), blank=0)
    assert d.tokens == (1, 2)


def test_greedy_empty_input_and_length():
    lp = path_log_probs([0, B, 1, 2])
    for d in (greedy_decode(lp[:0], blank=B), greedy_decode(lp, blank=B, length=0)):
        assert d == Decoded((), (), 0.0)
    assert greedy_decode(lp, blank=B, length=3).tokens == (0, 1)
    assert greedy_decode(np.zeros((5, 1), np.float32), blank=0).tokens == ()  # blank only


@pytest.mark.parametrize("seed", range(10))
def test_greedy_batch_equals_greedy_per_row(seed):
    rng = np.random.default_rng(seed)
    batch, steps, classes = int(rng.integers(1, 9)), int(rng.integers(0, 40)), 7
    blank = int(rng.integers(0, classes))
    lp = random_log_probs(rng, batch * steps, classes).reshape(batch, steps, classes)
    lengths = rng.integers(0, steps + 1, batch)
    if batch > 1:
        lengths[0] = steps  # one full row and, where possible, one empty row
        lengths[1] = 0
    got = greedy_decode_batch(lp, lengths, blank=blank)
    assert len(got) == batch
    for row, n, d in zip(lp, lengths, got, strict=True):
        assert d == greedy_decode(row, blank=blank, length=int(n))
        assert d == greedy_decode(row[:n].copy(), blank=blank)  # the padding is ignored


# ----------------------------------------------------------------------------- beam search


def brute_force(log_probs: np.ndarray, blank: int) -> tuple[tuple[int, ...], float]:
    """The most probable labelling and its log-probability, summed over all V**T alignments."""
    steps, classes = log_probs.shape
    totals: dict[tuple[int, ...], float] = {}
    for path in itertools.product(range(classes), repeat=steps):
        label = tuple(c for t, c in enumerate(path) if c != blank and (t == 0 or c != path[t - 1]))
        score = math.fsum(float(log_probs[t, c]) for t, c in enumerate(path))
        totals[label] = float(np.logaddexp(totals.get(label, -math.inf), score))
    best = max(totals, key=totals.__getitem__)
    return best, totals[best]


@pytest.mark.parametrize("seed", range(150))
def test_beam_search_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    steps, classes = int(rng.integers(1, 7)), int(rng.integers(2, 5))
    blank = int(rng.integers(0, classes))
    lp = random_log_probs(rng, steps, classes)
    want, want_lp = brute_force(lp.astype(np.float64), blank)
    got = beam_search_decode(lp, blank=blank, beam_width=classes**steps)
    assert got.tokens == want
    assert got.log_prob == pytest.approx(want_lp, abs=1e-5)
    assert len(got.confidences) == len(got.tokens)
    assert all(0.0 <= c <= 1.0 for c in got.confidences)


@pytest.mark.parametrize("seed", range(20))
def test_beam_search_equals_brute_force_with_zero_probabilities(seed):
    rng = np.random.default_rng(1000 + seed)
    steps, classes, blank = int(rng.integers(2, 7)), 4, 3
    probs = np.exp(random_log_probs(rng, steps, classes).astype(np.float64))
    probs[rng.random((steps, classes)) < 0.3] = 0.0  # impossible classes
    probs[np.arange(steps), rng.integers(0, classes, steps)] += 0.1  # no row entirely zero
    with np.errstate(divide="ignore"):
        lp = np.log(probs / probs.sum(axis=1, keepdims=True))
    want, want_lp = brute_force(lp, blank)
    got = beam_search_decode(lp, blank=blank, beam_width=64)
    assert got.tokens == want
    assert got.log_prob == pytest.approx(want_lp, abs=1e-9)


def test_beam_search_sums_the_paths_greedy_splits():
    # Best path: blank, blank, blank (0.4^3 = 0.064); but "a" (class 0) collects 0.3 * 0.7^2 ...
    probs = np.array([[0.3, 0.3, 0.4]] * 3)
    lp = np.log(probs)
    assert greedy_decode(lp, blank=2).tokens == ()
    got = beam_search_decode(lp, blank=2, beam_width=8)
    assert got.tokens in ((0,), (1,))
    # P("a") = P(no b anywhere) - P(all blank) - P(two a-runs split by a blank: a - a)
    assert got.log_prob == pytest.approx(math.log(0.7**3 - 0.4**3 - 0.3 * 0.4 * 0.3))


def test_beam_search_tells_held_and_doubled_letters_apart():
    assert beam_search_decode(path_log_probs([0, 0, B, 0]), blank=B).tokens == (0, 0)
    assert beam_search_decode(path_log_probs([0, 0, 0, 0]), blank=B).tokens == (0,)
    assert beam_search_decode(path_log_probs([B, 1, B, 1, 1, B]), blank=B).tokens == (1, 1)


@pytest.mark.parametrize("seed", range(30))
def test_beam_width_one_is_greedy_on_peaked_steps(seed):
    """Every step's top class above 1/sqrt(2): one kept prefix must follow the best path.

    With p the top probability: a new character c wins over staying when p_c > 1 - p_c; a
    repeat after a blank step wins over staying because the held mass is at most (1 - p) / p of
    the blank-ending mass; a held character beats a repeat because the held mass stays at least
    (2p - 1) / (1 - p) >= 1 times the blank-ending mass. All need p > 1/sqrt(2).
    """
    rng = np.random.default_rng(seed)
    steps, classes = int(rng.integers(1, 80)), int(rng.integers(2, 12))
    blank = int(rng.integers(0, classes))
    lp = peaked_log_probs(rng, steps, classes)
    beam = beam_search_decode(lp, blank=blank, beam_width=1)
    greedy = greedy_decode(lp, blank=blank)
    assert beam.tokens == greedy.tokens
    assert beam.log_prob >= greedy.log_prob - 1e-9  # the labelling's mass includes the path


def test_beam_width_one_may_stay_where_greedy_moves_on():
    # Step 2's best class is 1 (0.4), but staying on "0" (blank 0.3 + held 0.3) has more mass.
    probs = np.array([[0.9, 0.05, 0.05], [0.3, 0.4, 0.3]])
    lp = np.log(probs)
    assert greedy_decode(lp, blank=2).tokens == (0, 1)
    assert beam_search_decode(lp, blank=2, beam_width=1).tokens == (0,)


@pytest.mark.parametrize("seed", range(10))
def test_wider_beams_find_labellings_at_least_as_probable(seed):
    rng = np.random.default_rng(seed)
    lp = random_log_probs(rng, 40, 8)
    scores = [beam_search_decode(lp, blank=7, beam_width=w).log_prob for w in (1, 4, 16, 64)]
    assert scores[-1] >= max(scores) - 1e-9
    assert beam_search_decode(lp, blank=7, beam_width=4, length=25) == beam_search_decode(
        lp[:25], blank=7, beam_width=4
    )


def test_beam_search_confidences():
    probs = np.array(
        [
            [0.6, 0.1, 0.1, 0.2],  # "0" appended (0.6)
            [0.9, 0.02, 0.03, 0.05],  # held: 0.9
            [0.1, 0.05, 0.05, 0.8],  # blank
            [0.05, 0.7, 0.05, 0.2],  # "1" appended (0.7)
            [0.05, 0.2, 0.05, 0.7],  # blank: 1's probability 0.2 < 0.7
        ]
    )
    d = beam_search_decode(np.log(probs), blank=B, beam_width=8)
    assert d.tokens == (0, 1)
    assert d.confidences == pytest.approx((0.9, 0.7))


def test_prune_and_candidate_limit():
    lp = path_log_probs([0, B, 1, 1, B, 2])
    assert beam_search_decode(lp, blank=B, prune=1.0).tokens == (0, 1, 2)
    assert beam_search_decode(lp, blank=B, prune=0.0).tokens == (0, 1, 2)
    assert beam_search_decode(lp, blank=B, length=3).tokens == (0, 1)
    # Blank is each step's best (0.55), but "0" collects 0.9^2 - 0.55^2 = 0.5075 > 0.55^2.
    # Class 0 is log(0.55 / 0.35) = 0.45 nats below the best: prune=0.2 stops it.
    lp = np.log(np.array([[0.35, 0.05, 0.05, 0.55]] * 2))
    assert greedy_decode(lp, blank=B).tokens == ()
    assert beam_search_decode(lp, blank=B).tokens == (0,)
    assert beam_search_decode(lp, blank=B).log_prob == pytest.approx(math.log(0.9**2 - 0.55**2))
    assert beam_search_decode(lp, blank=B, prune=0.5).tokens == (0,)
    assert beam_search_decode(lp, blank=B, prune=0.2).tokens == ()
    # Only the beam_width most probable characters of a step can start a token.
    lp = np.log(np.array([[0.3, 0.28, 0.27, 0.15]]))
    assert beam_search_decode(lp, blank=B, beam_width=1).tokens == (0,)
    assert beam_search_decode(lp[:, [1, 0, 2, 3]], blank=B, beam_width=1).tokens == (1,)


def test_beam_search_empty_input():
    lp = path_log_probs([0, 1])
    assert beam_search_decode(lp[:0], blank=B) == Decoded((), (), 0.0)
    assert beam_search_decode(lp, blank=B, length=0) == Decoded((), (), 0.0)
    only_blank = beam_search_decode(np.zeros((4, 1)), blank=0)
    assert only_blank.tokens == () and only_blank.log_prob == 0.0


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: greedy_decode(np.zeros(5, np.float32), blank=0), r"\(steps, classes\)"),
        (lambda: greedy_decode(np.zeros((3, 4), np.int64), blank=0), "float"),
        (lambda: greedy_decode(np.zeros((3, 0), np.float32), blank=0), "at least one class"),
        (lambda: greedy_decode(np.zeros((3, 4), np.float32), blank=4), r"0\.\.3.*got 4"),
        (lambda: greedy_decode(np.zeros((3, 4), np.float32), blank=-1), "got -1"),
        (lambda: greedy_decode(np.zeros((3, 4), np.float32), blank=0, length=9), r"0\.\.3.*9"),
        (lambda: greedy_decode(np.full((3, 4), np.nan), blank=0), "NaN"),
        (lambda: beam_search_decode(np.zeros((3, 4)), blank=0, beam_width=0), "beam_width"),
        (lambda: beam_search_decode(np.zeros((3, 4)), blank=0, beam_width=2.5), "beam_width"),
        (lambda: beam_search_decode(np.zeros((3, 4)), blank=0, prune=-1.0), "prune"),
        (lambda: beam_search_decode(np.zeros((3, 4)), blank=0, length=-1), "length"),
        (lambda: beam_search_decode(np.zeros((2, 3, 4)), blank=0), r"\(steps, classes\)"),
        (lambda: greedy_decode_batch(np.zeros((3, 4)), np.array([1]), blank=0), "batch"),
        (lambda: greedy_decode_batch(np.zeros((2, 3, 4)), np.array([1]), blank=0), r"\(2,\)"),
        (lambda: greedy_decode_batch(np.zeros((2, 3, 4)), np.array([1, 4]), blank=0), "0..3"),
        (lambda: greedy_decode_batch(np.zeros((2, 3, 4)), np.array([1.0, 2.0]), blank=0), "int"),
    ],
)
def test_bad_input(call, message):
    with pytest.raises(InputShapeError, match=message) as info:
        call()
    assert isinstance(info.value, ValueError)
