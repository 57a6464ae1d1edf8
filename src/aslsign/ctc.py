"""CTC decoding in NumPy: greedy (best path) and prefix beam search.

A CTC model emits, per output step, scores over ``V`` classes, one of which is the *blank*
(aslsign models put it last, at ``V - 1``; every function here takes its index explicitly). A
path (one class per step) reads as a labelling once repeats are merged and blanks dropped:
``a a - b b`` reads ``ab`` and ``a - a`` reads ``aa``. A labelling's probability is the sum over
every path that reads as it (Graves et al., 2006, "Connectionist temporal classification").

* :func:`greedy_decode` / :func:`greedy_decode_batch` read the single most probable *path*
  (argmax per step): fast, and what most CTC systems ship.
* :func:`beam_search_decode` is the CTC prefix beam search (Hannun et al., 2014, "First-pass
  large vocabulary continuous speech recognition using bi-directional recurrent DNNs"). It keeps
  the ``beam_width`` most probable *labellings* (prefixes), each with the log-probability of its
  paths so far that end in a blank and of those that end in its last character, so that a held
  letter (``a a`` -> ``a``) and a doubled one (``a - a`` -> ``aa``) are told apart.

Every function takes log-probabilities: pass logits through :func:`log_softmax` first.
"""

from __future__ import annotations

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

_NEG_INF = -np.inf


@dataclass(frozen=True)
class Decoded:
    """One decoded sequence.

    Attributes:
        tokens: the labelling as class indices, repeats merged and blanks removed.
        confidences: one number in [0, 1] per token. Greedy: the highest probability the token's
            class had over the run of steps that emitted it. Beam search: the highest probability
            the token's class had from the step at which the returned prefix appended the token
            up to (not including) the step at which it appended the next one, or to the end.
            Where a prefix is reached both by staying and by a shorter prefix appending its last
            token, the step's larger contribution decides which history (and so which append
            step) is followed.
        log_prob: the sequence score, a natural-log probability. Greedy: the log-probability of
            the best *path* (the sum of each step's largest log-probability). Beam search: the
            log-probability of the returned *labelling*, summed over the paths the beam kept
            (exact when no prefix or candidate was dropped). 0.0 when there are no steps.
    """

    tokens: tuple[int, ...]
    confidences: tuple[float, ...]
    log_prob: float


def log_softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable log-softmax of ``logits`` along ``axis``.

    The largest value is subtracted before exponentiating, so huge logits do not overflow.
    Float32 (or anything that is not float64) comes back as float32; float64 stays float64.
    """
    x = np.asarray(logits)
    dtype = np.float64 if x.dtype == np.float64 else np.float32
    x = x.astype(dtype, copy=False)
    peak = np.max(x, axis=axis, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0).astype(dtype)  # an all -inf row stays -inf
    shifted = x - peak
    with np.errstate(divide="ignore"):
        norm = np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
    out: np.ndarray = (shifted - norm).astype(dtype, copy=False)
    return out


# ----------------------------------------------------------------------------- validation


def _as_log_probs(log_probs: np.ndarray, ndim: int) -> np.ndarray:
    x = np.asarray(log_probs)
    layout = "(steps, classes)" if ndim == 2 else "(batch, steps, classes)"
    if x.ndim != ndim or not np.issubdtype(x.dtype, np.floating):
        raise InputShapeError(
            f"CTC decoding expects a {ndim}-D float array of log-probabilities shaped {layout}; "
            f"got a {x.ndim}-D {x.dtype} array of shape {x.shape}."
        )
    if x.shape[-1] == 0:
        raise InputShapeError(f"CTC decoding needs at least one class (the blank); got {x.shape}.")
    if np.isnan(x).any() or np.isposinf(x).any():
        raise InputShapeError(
            "CTC decoding expects finite log-probabilities (or -inf for probability 0); got NaN "
            "or +inf values: pass logits through log_softmax first."
        )
    return x


def _check_blank(blank: int, classes: int) -> int:
    if isinstance(blank, bool) or not isinstance(blank, (int, np.integer)):
        raise InputShapeError(f"blank must be an integer class index; got {blank!r}.")
    if not 0 <= blank < classes:
        raise InputShapeError(
            f"blank index must be in 0..{classes - 1} (there are {classes} classes); got {blank}."
        )
    return int(blank)


def _check_length(length: int | None, steps: int) -> int:
    if length is None:
        return steps
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)):
        raise InputShapeError(f"length must be an integer number of steps; got {length!r}.")
    if not 0 <= length <= steps:
        raise InputShapeError(f"length must be in 0..{steps} (the steps given); got {length}.")
    return int(length)


# ----------------------------------------------------------------------------- greedy


def _collapse_run(best: np.ndarray, best_lp: np.ndarray, blank: int) -> Decoded:
    """Merge the runs of one row's per-step argmax ``best`` (log-probabilities ``best_lp``)."""
    if best.size == 0:
        return Decoded((), (), 0.0)
    is_start = np.empty(best.size, dtype=bool)
    is_start[0] = True
    np.not_equal(best[1:], best[:-1], out=is_start[1:])
    starts = np.flatnonzero(is_start)
    run_class = best[starts]
    run_peak = np.maximum.reduceat(best_lp, starts)  # the best step of every run
    emitted = run_class != blank
    return Decoded(
        tokens=tuple(run_class[emitted].tolist()),
        confidences=tuple(np.exp(run_peak[emitted].astype(np.float64)).tolist()),
        log_prob=float(np.sum(best_lp, dtype=np.float64)),
    )


def greedy_decode(log_probs: np.ndarray, blank: int, length: int | None = None) -> Decoded:
    """Best-path decoding: argmax per step, merge repeated classes, drop blanks.

    Args:
        log_probs: (steps, classes) float log-probabilities (e.g. :func:`log_softmax` output).
        blank: the blank's class index.
        length: decode only the first ``length`` steps (the rest is padding); all by default.

    Returns:
        The :class:`Decoded` labelling; confidences are the best probability of each token's run.

    Raises:
        InputShapeError: ``log_probs`` is not a 2-D float array, or ``blank`` / ``length`` are
            out of range.
    """
    x = _as_log_probs(log_probs, 2)
    blank = _check_blank(blank, x.shape[1])
    x = x[: _check_length(length, x.shape[0])]
    best = np.argmax(x, axis=1)
    best_lp = np.take_along_axis(x, best[:, None], axis=1)[:, 0]
    return _collapse_run(best, best_lp, blank)


def greedy_decode_batch(log_probs: np.ndarray, lengths: np.ndarray, blank: int) -> list[Decoded]:
    """:func:`greedy_decode` of every row of a padded batch.

    Args:
        log_probs: (batch, steps, classes) float log-probabilities, padded along ``steps``.
        lengths: (batch,) integer valid steps per row, each in 0..steps.
        blank: the blank's class index.

    Returns:
        One :class:`Decoded` per row, equal to ``greedy_decode(log_probs[i], blank, lengths[i])``.
        The argmax runs once over the whole batch; only merging the runs is done per row.
    """
    x = _as_log_probs(log_probs, 3)
    blank = _check_blank(blank, x.shape[2])
    raw = np.asarray(lengths)
    if raw.shape != (x.shape[0],) or not np.issubdtype(raw.dtype, np.integer):
        raise InputShapeError(
            f"lengths must be an integer array of shape ({x.shape[0]},), one per row; got a "
            f"{raw.dtype} array of shape {raw.shape}."
        )
    n = raw.astype(np.int64)
    if ((n < 0) | (n > x.shape[1])).any():
        raise InputShapeError(
            f"lengths must each be in 0..{x.shape[1]} (the padded steps); got {n.tolist()[:10]}."
        )
    best = np.argmax(x, axis=2)
    best_lp = np.take_along_axis(x, best[..., None], axis=2)[..., 0]
    return [_collapse_run(best[i, :k], best_lp[i, :k], blank) for i, k in enumerate(n.tolist())]


# ----------------------------------------------------------------------------- beam search


class _Linked:
    """Append-only store of immutable linked lists of (parent, value) cells; cell 0 is empty.

    The search keeps two: the prefixes (value: a class; a prefix is canonical, so beams are
    compared by cell id) and the frozen confidences of each beam's tokens before its last one.
    Adding a cell is O(1), so no per-step copy of a long prefix is ever made.
    """

    def __init__(self) -> None:
        self.parent: list[int] = [-1]
        self.value: list[float] = [0.0]

    def add(self, parent: int, value: float) -> int:
        self.parent.append(parent)
        self.value.append(value)
        return len(self.parent) - 1

    def unroll(self, cell: int) -> list[float]:
        out: list[float] = []
        while cell > 0:
            out.append(self.value[cell])
            cell = self.parent[cell]
        out.reverse()
        return out


def beam_search_decode(
    log_probs: np.ndarray,
    blank: int,
    beam_width: int = 8,
    length: int | None = None,
    prune: float | None = None,
) -> Decoded:
    """CTC prefix beam search: the most probable labelling among those the beam keeps.

    Each step extends every kept prefix by a blank (the prefix stays), by its own last character
    (the character is held: the prefix stays), or by a new character (a longer prefix; repeating
    the last character is only allowed from the paths that end in a blank). All mass arriving at
    the same prefix is summed with ``logaddexp``; then the ``beam_width`` prefixes with the most
    mass are kept. The work of a step is a handful of NumPy operations on a
    (beams, candidates) array; Python only loops over the at most ``beam_width`` kept prefixes.

    Candidate characters (the pruning rule): at each step only the ``beam_width`` non-blank
    classes with the highest log-probability at that step can *start* a new token, and with
    ``prune`` only those among them within ``prune`` nats of the step's highest log-probability
    (blank included). Blanks, held characters and mass flowing into a prefix already in the beam
    are never pruned. A labelling that needs a character outside the top ``beam_width`` at some
    step is unreachable, which for ``beam_width`` >= classes - 1 never happens.

    With ``beam_width=1`` the result is the greedy one whenever every step's most probable class
    has probability > 1/sqrt(2) (~0.71); with less peaked steps the one kept prefix may stay put
    where greedy starts a new token, because it sums the blank and held-character mass.

    Args:
        log_probs: (steps, classes) float log-probabilities (e.g. :func:`log_softmax` output).
        blank: the blank's class index.
        beam_width: prefixes kept after each step (and new characters tried per step), >= 1.
        length: decode only the first ``length`` steps; all by default.
        prune: if given (>= 0), skip new characters more than ``prune`` nats below the step's
            best class.

    Returns:
        The best :class:`Decoded` labelling; its ``log_prob`` is summed over the kept paths.

    Raises:
        InputShapeError: bad array shape or dtype, or ``blank``, ``beam_width``, ``length`` or
            ``prune`` out of range.
    """
    x = _as_log_probs(log_probs, 2)
    steps, classes = x.shape
    blank = _check_blank(blank, classes)
    steps = _check_length(length, steps)
    if isinstance(beam_width, bool) or not isinstance(beam_width, (int, np.integer)):
        raise InputShapeError(f"beam_width must be an integer >= 1; got {beam_width!r}.")
    if beam_width < 1:
        raise InputShapeError(f"beam_width must be an integer >= 1; got {beam_width}.")
    if prune is not None and not prune >= 0:
        raise InputShapeError(f"prune must be a number of nats >= 0 (or None); got {prune!r}.")
    width = int(beam_width)
    lp = x[:steps].astype(np.float64)
    if steps == 0:
        return Decoded((), (), 0.0)

    # Candidate new characters of every step, chosen for all steps at once.
    k = min(width, classes - 1)
    no_blank = lp.copy()
    no_blank[:, blank] = _NEG_INF
    if k == 0:
        cand_all = np.empty((steps, 0), dtype=np.int64)
    elif k < classes - 1:
        cand_all = np.argpartition(-no_blank, k - 1, axis=1)[:, :k]
    else:
        cand_all = np.broadcast_to(np.delete(np.arange(classes), blank), (steps, k))
    cand_lp_all = np.take_along_axis(lp, cand_all, axis=1)
    if prune is not None:
        floor = lp.max(axis=1, keepdims=True) - float(prune)
        cand_lp_all = np.where(cand_lp_all >= floor, cand_lp_all, _NEG_INF)
    slot_of = np.full(classes, -1, dtype=np.int64)  # class -> column among this step's cand

    prefixes = _Linked()  # cell values: classes
    child_of: dict[tuple[int, int], int] = {}  # (prefix cell, class) -> cell: canonical ids
    frozen = _Linked()  # cell values: confidences of tokens that are no longer last

    # The beams, as parallel arrays:
    nodes = np.zeros(1, dtype=np.int64)  # prefix cell (0: the empty prefix)
    last = np.full(1, -1, dtype=np.int64)  # its last class (-1: empty prefix)
    p_b = np.zeros(1)  # log P(paths so far that read as the prefix and end in a blank)
    p_nb = np.full(1, _NEG_INF)  # ... and that end in the prefix's last class
    last_conf = np.zeros(1)  # confidence so far of the prefix's last token
    head = np.zeros(1, dtype=np.int64)  # frozen cell: the confidences of the other tokens

    for t in range(steps):
        row = lp[t]
        cand = cand_all[t]
        total = np.logaddexp(p_b, p_nb)
        lp_last = np.where(last >= 0, row[np.maximum(last, 0)], _NEG_INF)
        stay_b = total + row[blank]
        stay_nb = p_nb + lp_last
        conf_now = np.maximum(last_conf, np.exp(lp_last))  # the last token's, if it stays
        head_now = head.copy()
        # New characters: from all the mass, or only the blank-ending mass for a repeat.
        base = np.where(cand[None, :] == last[:, None], p_b[:, None], total[:, None])
        ext = base + cand_lp_all[t][None, :]

        # A beam whose parent is also a beam receives that parent's extension by its last
        # class; that extension is then not a new candidate of its own. Where that flow
        # outweighs staying, the beam takes its confidences from the parent (see Decoded).
        node_list = nodes.tolist()
        beam_of = {node: i for i, node in enumerate(node_list)}
        pairs = [
            (i, beam_of[prefixes.parent[node]])
            for i, node in enumerate(node_list)
            if node > 0 and prefixes.parent[node] in beam_of
        ]
        if pairs:
            child, par = (np.array(v, dtype=np.int64) for v in zip(*pairs, strict=True))
            c = last[child]
            flow = np.where(last[par] == c, p_b[par], total[par]) + row[c]
            rebase = flow > np.logaddexp(stay_b[child], stay_nb[child])
            for i, j in zip(child[rebase].tolist(), par[rebase].tolist(), strict=True):
                head_now[i] = frozen.add(int(head[j]), float(last_conf[j])) if last[j] >= 0 else 0
            conf_now[child[rebase]] = np.exp(row[c[rebase]])
            stay_nb[child] = np.logaddexp(stay_nb[child], flow)
            slot_of[cand] = np.arange(cand.size)
            col = slot_of[c]
            slot_of[cand] = -1
            hit = col >= 0
            ext[par[hit], col[hit]] = _NEG_INF

        # Keep the `width` best of (every beam staying) + (every beam x candidate).
        n = nodes.size
        scores = np.concatenate((np.logaddexp(stay_b, stay_nb), ext.ravel()))
        if scores.size > width:
            keep = np.argpartition(-scores, width - 1)[:width]
        else:
            keep = np.arange(scores.size)
        finite = keep[np.isfinite(scores[keep])]
        keep = finite if finite.size else keep[np.argmax(scores[keep])][None]
        stay = keep[keep < n]
        new = keep[keep >= n] - n
        src, col = np.divmod(new, max(k, 1))
        new_char = cand[col]

        new_nodes: list[int] = []
        new_heads: list[int] = []
        for j, ch in zip(src.tolist(), new_char.tolist(), strict=True):
            key = (node_list[j], ch)
            cell = child_of.get(key)
            if cell is None:
                cell = child_of[key] = prefixes.add(node_list[j], ch)
            new_nodes.append(cell)
            new_heads.append(frozen.add(int(head[j]), float(last_conf[j])) if last[j] >= 0 else 0)
        nodes = np.concatenate((nodes[stay], np.array(new_nodes, dtype=np.int64)))
        head = np.concatenate((head_now[stay], np.array(new_heads, dtype=np.int64)))
        last = np.concatenate((last[stay], new_char))
        p_b = np.concatenate((stay_b[stay], np.full(new.size, _NEG_INF)))
        p_nb = np.concatenate((stay_nb[stay], ext[src, col]))
        last_conf = np.concatenate((conf_now[stay], np.exp(row[new_char])))

    total = np.logaddexp(p_b, p_nb)
    best = int(np.argmax(total))
    tokens = tuple(int(c) for c in prefixes.unroll(int(nodes[best])))
    confidences = (*frozen.unroll(int(head[best])), float(last_conf[best])) if tokens else ()
    return Decoded(tokens, confidences, float(total[best]))
