"""CTC decoding in NumPy: greedy and prefix beam search.

A CTC model emits, per output step, scores over a vocabulary of ``V`` classes, one of which is
the blank. A labelling is read off a path of per-step classes by merging repeats and dropping
blanks (``a a - b b`` -> ``ab``; ``a - a`` -> ``aa``), and its probability is the sum over every
path that reads as it (Graves et al., 2006, "Connectionist temporal classification").

* :func:`greedy_decode` takes the most probable class at each step (the best *path*): fast,
  and what most CTC systems ship.
* :func:`beam_search_decode` is the CTC prefix beam search (Hannun et al., 2014, "First-pass
  large vocabulary continuous speech recognition using bi-directional recurrent DNNs"): it keeps
  the ``beam_width`` most probable *labellings* (summed over their paths), tracking for each the
  probability of ending in a blank and in a character, so that ``aa`` (two letters) and ``a``
  (one held letter) are told apart correctly. Each step only tries the ``beam_width`` most
  probable characters of that step (and, with ``prune``, only those within ``prune`` nats of the
  step's best), which keeps it linear in the vocabulary size.

All functions take log-probabilities (use :func:`log_softmax` on logits).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

from .errors import InputShapeError

__all__ = [
    "Decoded",
    "beam_search_decode",
    "greedy_decode",
    "greedy_decode_batch",
    "log_softmax",
]


@dataclass(frozen=True)
class Decoded:
    """One decoded sequence.

    Attributes:
        tokens: the class indices of the labelling, blanks removed and repeats merged.
        confidences: one per token, in [0, 1]: the highest probability the token's class had at
            any of the steps that emitted it (greedy: its run of steps; beam search: the steps
            at which the winning labelling emitted or held it).
        log_prob: the labelling's log-probability: of the best path (greedy), or summed over
            the paths the beam kept (beam search). 0.0 for an empty input.
    """

    tokens: tuple[int, ...]
    confidences: tuple[float, ...]
    log_prob: float


def log_softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable log-softmax (float32 in, float32 out)."""
    x = np.asarray(logits, dtype=np.float32)
    shifted = x - x.max(axis=axis, keepdims=True)
    out: np.ndarray = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return out


def _check(log_probs: np.ndarray, blank: int, length: int | None, ndim: int = 2) -> np.ndarray:
    x = np.asarray(log_probs)
    if x.ndim != ndim or not np.issubdtype(x.dtype, np.floating):
        shape = "(steps, classes)" if ndim == 2 else "(batch, steps, classes)"
        raise InputShapeError(
            f"CTC decoding expects float log-probabilities of shape {shape}; got "
            f"{x.dtype} {x.shape}."
        )
    if not 0 <= blank < x.shape[-1]:
        raise InputShapeError(f"blank index {blank} is outside the {x.shape[-1]} classes.")
    if length is not None and not 0 <= length <= x.shape[-2]:
        raise InputShapeError(f"length {length} is outside 0..{x.shape[-2]} steps.")
    return x


def _collapse(best: np.ndarray, probs: np.ndarray, blank: int) -> Decoded:
    """Greedy decoding of one row given its per-step argmax and that argmax's log-probability."""
    if not len(best):
        return Decoded((), (), 0.0)
    starts = np.flatnonzero(np.concatenate(([True], best[1:] != best[:-1])))  # run starts
    run_max = np.maximum.reduceat(probs, starts)
    keep = best[starts] != blank
    tokens = tuple(int(t) for t in best[starts][keep])
    confidences = tuple(float(c) for c in np.exp(run_max[keep]))
    return Decoded(tokens, confidences, float(probs.sum(dtype=np.float64)))


def greedy_decode(log_probs: np.ndarray, blank: int, length: int | None = None) -> Decoded:
    """Best-path decoding of ``log_probs`` (steps, classes): argmax per step, merge, drop blanks.

    ``length`` limits decoding to the first ``length`` steps (the rest is padding).
    """
    x = _check(log_probs, blank, length)
    if length is not None:
        x = x[:length]
    best = x.argmax(axis=-1)
    return _collapse(best, np.take_along_axis(x, best[:, None], -1)[:, 0], blank)


def greedy_decode_batch(log_probs: np.ndarray, lengths: np.ndarray, blank: int) -> list[Decoded]:
    """:func:`greedy_decode` of every row of a padded batch (batch, steps, classes).

    One vectorised argmax over the whole batch; only merging the runs is done per row.
    """
    x = _check(log_probs, blank, None, ndim=3)
    lengths = np.asarray(lengths, dtype=np.int64).reshape(-1)
    if len(lengths) != len(x) or (lengths < 0).any() or (lengths > x.shape[1]).any():
        raise InputShapeError(
            f"lengths must give 0..{x.shape[1]} steps for each of the {len(x)} rows; got "
            f"{lengths.tolist()[:10]}."
        )
    best = x.argmax(axis=-1)
    probs = np.take_along_axis(x, best[..., None], -1)[..., 0]
    return [_collapse(best[i, :n], probs[i, :n], blank) for i, n in enumerate(lengths)]


def beam_search_decode(
    log_probs: np.ndarray,
    blank: int,
    beam_width: int = 8,
    length: int | None = None,
    prune: float | None = None,
) -> Decoded:
    """CTC prefix beam search over ``log_probs`` (steps, classes); see the module docstring.

    Args:
        log_probs: per-step log-probabilities (rows sum to 1 in probability).
        blank: the blank's class index.
        beam_width: labellings kept after each step, and characters tried per step.
        length: decode only the first ``length`` steps.
        prune: also skip characters more than ``prune`` nats below the step's best class.
    """
    x = _check(log_probs, blank, length)
    if not isinstance(beam_width, (int, np.integer)) or beam_width < 1:
        raise InputShapeError(f"beam_width must be an integer >= 1; got {beam_width!r}.")
    if length is not None:
        x = x[:length]
    neg = -math.inf
    # prefix -> [log P(ends in blank), log P(ends in a character), confidences]
    beams: dict[tuple[int, ...], list] = {(): [0.0, neg, ()]}
    chars = np.array([c for c in range(x.shape[1]) if c != blank])
    k = min(int(beam_width), len(chars))
    for step in x.astype(np.float64):
        cand = chars[np.argpartition(-step[chars], k - 1)[:k]] if k < len(chars) else chars
        if prune is not None:
            cand = cand[step[cand] >= step.max() - prune]
        row = step.tolist()  # Python floats: scalar math is much faster than NumPy scalars
        cands = cand.tolist()
        p_blank = row[blank]
        nxt: dict[tuple[int, ...], list] = {}
        for prefix, (pb, pnb, conf) in beams.items():
            total = _logaddexp(pb, pnb)
            _add(nxt, prefix, total + p_blank, neg, conf)  # a blank: now ends in blank
            if prefix:  # the last character held: still one character
                last = prefix[-1]
                held = (*conf[:-1], max(conf[-1], math.exp(row[last])))
                _add(nxt, prefix, neg, pnb + row[last], held)
            for c in cands:
                # repeating the last character needs a blank between (only from pb)
                base = pb if prefix and c == prefix[-1] else total
                if base != neg:
                    _add(nxt, (*prefix, c), neg, base + row[c], (*conf, math.exp(row[c])))
        ranked = heapq.nlargest(beam_width, nxt.items(), key=lambda kv: _logaddexp(*kv[1][:2]))
        beams = dict(ranked)
    best, (pb, pnb, conf) = max(beams.items(), key=lambda kv: _logaddexp(kv[1][0], kv[1][1]))
    return Decoded(best, tuple(conf), _logaddexp(pb, pnb))


def _logaddexp(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    hi, lo = (a, b) if a > b else (b, a)
    return hi + math.log1p(math.exp(lo - hi))


def _add(
    beams: dict[tuple[int, ...], list],
    prefix: tuple[int, ...],
    pb: float,
    pnb: float,
    conf: tuple[float, ...],
) -> None:
    """Merge a path's mass into the entry of ``prefix`` (confidences: the likelier path's)."""
    entry = beams.get(prefix)
    if entry is None:
        beams[prefix] = [pb, pnb, conf]
        return
    entry[0] = _logaddexp(entry[0], pb)
    entry[1] = _logaddexp(entry[1], pnb)
    if conf and (not entry[2] or conf[-1] > entry[2][-1]):
        entry[2] = conf
