"""Negatives for an isolated-sign model's background class: what "none of the vocabulary" is.

A model trained only on its own signs answers one of them for anything (on the 184 other signs of
``gislr-gallery`` the two-sign default called 85 hello or thankyou with a score of 0.9 or more).
With ``--negatives`` the sign recipes add one more output, the background class
(``--background-label``, default ``<other>``), trained on:

* **other signs**: every sequence of the ``--negatives`` folders (GISLR layout, e.g.
  ``../shared/data/gislr-gallery``) whose sign is not in the vocabulary;
* **fingerspelled letters** (``--letters``, the ``fingerspelling-letters`` recordings);
* **motion that is not a sign**, made from the training sequences themselves
  (:func:`idle_negatives`): a hand held still (one frame of a sequence, held with a little
  tremor, for 0.3 to 1.5 s) and a hand moving from one place to another without a sign (a slow
  drift between two frames of different sequences). These are what a stream shows between signs.

Rejection is measured on signs a model never saw: with ``--cv-folds K`` the negative signs (and
letters) are split into K groups too, and fold ``i`` holds out participant group ``i`` *and*
negative group ``i`` (:func:`sign_folds`); its unseen-sign rejection is measured on that group.
The folds' out-of-fold scores then calibrate a ``score_threshold`` (:func:`calibrate`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from aslsign.io import GislrDataset
from aslsign.landmarks import LEFT_HAND, RIGHT_HAND, hand_present

__all__ = [
    "Joined",
    "calibrate",
    "idle_negatives",
    "load_negatives",
    "open_set_scores",
    "sign_folds",
]


def load_negatives(
    folders: Sequence[Path], letters: Path | None, vocabulary: Sequence[str], view: Any
) -> tuple[list[np.ndarray], list[str]]:
    """The negative sequences and the group each belongs to (``sign:after``, ``letter:a``):
    every sequence of the GISLR ``folders`` whose sign is not in ``vocabulary``, and the letter
    recordings, reduced to the frames the recipe reads (``view.keep_frames``)."""
    raws: list[np.ndarray] = []
    groups: list[str] = []
    keep = set(vocabulary)
    for folder in folders:
        for record in GislrDataset(folder):
            if record.sign not in keep:
                raws.append(record.load())
                groups.append(f"sign:{record.sign}")
    if letters is not None:
        from training_recipes.synth_fingerspelling import load_letter_clips

        for char, clip in load_letter_clips(letters).items():
            if char != "0":  # the 'o' clip again
                raws.append(clip)
                groups.append(f"letter:{char}")
    if view.keep_frames is not None:
        raws = [_kept(view, x) for x in raws]
    return raws, groups


def _kept(view: Any, x: np.ndarray) -> np.ndarray:
    kept = view.keep_frames(np.asarray(x, np.float32))
    return kept if len(kept) else x[:1] * np.nan


def idle_negatives(
    sources: Sequence[np.ndarray], count: int, seed: int, fps: float = 30.0
) -> list[np.ndarray]:
    """``count`` sequences of motion that is not a sign, from real ``sources``: half a frame
    held still (0.3-1.5 s, 2 % of a hand's size of tremor), half a slow drift from a frame of
    one source to a frame of another (0.5-1.5 s, linear, with the same tremor)."""
    rng = np.random.default_rng(seed)
    usable = [x for x in sources if hand_present(x).any()]
    if not usable:
        return []
    out = []
    for i in range(count):
        a = usable[int(rng.integers(len(usable)))]
        frame_a = a[_hand_frame(a, rng)]
        if i % 2 == 0:
            n = int(rng.uniform(0.3, 1.5) * fps)
            x = np.repeat(frame_a[None], n, axis=0)
        else:
            b = usable[int(rng.integers(len(usable)))]
            frame_b = b[_hand_frame(b, rng)]
            n = int(rng.uniform(0.5, 1.5) * fps)
            w = np.linspace(0.0, 1.0, n)[:, None, None]
            x = (1 - w) * frame_a[None] + w * frame_b[None]
        scale = _hand_size(frame_a)
        x = x + rng.normal(0.0, 0.02 * scale, x.shape)
        x[..., 2] = np.repeat(frame_a[None, :, 2], len(x), axis=0)  # depth as is
        out.append(x.astype(np.float32))
    return out


def _hand_frame(x: np.ndarray, rng: np.random.Generator) -> int:
    return int(rng.choice(np.flatnonzero(hand_present(x))))


def _hand_size(frame: np.ndarray) -> float:
    """The larger extent of the hands seen in a frame (0.05 of the image when none)."""
    sizes = []
    for rows in (LEFT_HAND, RIGHT_HAND):
        hand = frame[list(rows), :2]
        hand = hand[np.isfinite(hand).all(axis=1)]
        if len(hand) >= 2:
            sizes.append(float(np.ptp(hand, axis=0).max()))
    return max(sizes, default=0.05) or 0.05


def sign_folds(groups: Sequence[str], k: int, seed: int) -> list[set[str]]:
    """``k`` disjoint sets of the negative groups (shuffled with ``seed``)."""
    names = sorted(set(groups))
    order = np.random.default_rng([seed, 7]).permutation(len(names))
    return [{names[j] for j in order[i::k]} for i in range(k)]


class Joined(Sequence[np.ndarray]):
    """Two sequences of samples as one (the positives' cache, then the negatives in memory)."""

    def __init__(self, first: Sequence[np.ndarray], second: Sequence[np.ndarray]) -> None:
        self.first, self.second = first, second

    def __len__(self) -> int:
        return len(self.first) + len(self.second)

    def __getitem__(self, i: Any) -> Any:
        i = int(i)
        if i < 0:
            i += len(self)
        n = len(self.first)
        return self.first[i] if i < n else self.second[i - n]

    def __iter__(self) -> Iterator[np.ndarray]:
        yield from self.first
        yield from self.second


def open_set_scores(
    artifact: Path, raws: Sequence[np.ndarray], ys: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each sequence, through the exported model with no score threshold: the index of
    the best sign of the vocabulary, its probability, and whether the background class won
    (-1, 0.0, True for a sequence with nothing to recognise)."""
    from aslsign import SignRecognizer

    with SignRecognizer.from_pretrained(artifact, score_threshold=0.0, top_k=1) as rec:
        results = rec.predict_batch(raws)
        bg = rec.config.background_index
    best = np.array([r.top_k[0].index if r.detected else -1 for r in results])
    score = np.array([r.score for r in results], np.float64)
    # from the probabilities: with score_threshold 0.0 nothing is ever `rejected`
    background = np.array(
        [not r.detected or int(np.argmax(r.probabilities)) == bg for r in results]
    )
    return best, score, background


def calibrate(
    best: np.ndarray,
    score: np.ndarray,
    background: np.ndarray,
    ys: np.ndarray,
    negative: np.ndarray,
    target: float,
) -> dict[str, Any]:
    """The score threshold from out-of-fold predictions, and what the rules give.

    With a threshold, aslsign rejects a sign whose probability is below it, whatever class won
    (the softmax over the vocabulary *and* the background class has already taken the
    background's share out of that probability); without one, when the background class wins.
    The threshold is the highest that keeps ``target`` of the in-vocabulary accuracy with no
    rejection at all (the right sign, not rejected). ``negative`` marks the unseen-sign
    sequences, ``ys`` the true index of the others, ``background`` where the background won.
    """
    pos = ~negative
    right = best[pos] == ys[pos]

    def rates(accepted: np.ndarray) -> dict[str, float]:
        correct = float(np.mean(accepted[pos] & right)) if pos.any() else 0.0
        rejected = float(np.mean(~accepted[negative])) if negative.any() else 0.0
        return {
            "in_vocabulary_correct": round(correct, 4),
            "unseen_signs_rejected": round(rejected, 4),
        }

    plain = rates(np.ones(len(score), bool))
    chosen = 0.0
    for t in np.unique(np.round(score[pos], 4)):
        if rates(score >= t)["in_vocabulary_correct"] >= target * plain["in_vocabulary_correct"]:
            chosen = float(t)
    return {
        "score_threshold": round(chosen, 4),
        "target": target,
        **rates(score >= chosen),
        "without_rejection": plain,
        "background_wins": rates(~background),
    }


class OpenSet:
    """A recipe run's background class (see the module docstring); with no negatives given it
    does nothing, and the recipe trains the plain vocabulary as before.

    It also gathers the cross-validation folds' out-of-fold scores (:meth:`evaluate_fold`) for
    :meth:`calibrate`.
    """

    def __init__(
        self,
        vocabulary: Sequence[str],
        raws: list[np.ndarray] | None = None,
        groups: list[str] | None = None,
        background: str | None = None,
        idle: int = 0,
        sources: str = "",
    ) -> None:
        self.vocabulary = list(vocabulary)
        self.raws, self.groups = raws or [], groups or []
        self.background, self.idle, self.sources = background, idle, sources
        self._oof: list[tuple[np.ndarray, ...]] = []
        self._folds: list[tuple[Path, Sequence[np.ndarray], np.ndarray, list[np.ndarray]]] = []

    @classmethod
    def from_args(cls, args: Any, vocabulary: Sequence[str], view: Any) -> OpenSet:
        folders = list(getattr(args, "negatives", None) or [])
        letters = getattr(args, "letters", None)
        if not folders and letters is None:
            return cls(vocabulary)
        background = args.background_label
        if background in vocabulary:
            raise SystemExit(f"--background-label {background!r} is a sign of the vocabulary.")
        raws, groups = load_negatives(folders, letters, vocabulary, view)
        names = [Path(f).name for f in folders] + (["letter recordings"] if letters else [])
        print(
            f"background class {background!r}: {len(raws)} negative sequences "
            f"({len(set(groups))} signs/letters) from {', '.join(names)}, plus "
            f"{args.idle_negatives} made of held and drifting hands",
            flush=True,
        )
        return cls(vocabulary, raws, groups, background, args.idle_negatives, ", ".join(names))

    @property
    def enabled(self) -> bool:
        return self.background is not None

    @property
    def labels(self) -> list[str]:
        """The model's output classes: the vocabulary, then the background class if any."""
        return [*self.vocabulary, *([self.background] if self.background is not None else [])]

    def folds(self, k: int, seed: int) -> list[set[str]]:
        return sign_folds(self.groups, k, seed) if self.enabled else [set() for _ in range(k)]

    def training_set(
        self, raws: Sequence[np.ndarray], ys: np.ndarray, held: set[str], seed: int
    ) -> tuple[Sequence[np.ndarray], np.ndarray]:
        """The positives plus the negatives not in ``held`` and idle motion made from both."""
        if not self.enabled:
            return raws, ys
        negs = [x for x, g in zip(self.raws, self.groups, strict=True) if g not in held]
        picks = np.random.default_rng(seed).permutation(len(raws))[:200]
        negs += idle_negatives([raws[int(i)] for i in picks] + negs, self.idle, seed)
        targets = np.concatenate([ys, np.full(len(negs), len(self.vocabulary), ys.dtype)])
        return Joined(raws, negs), targets

    def config_fields(self, threshold: float | None) -> dict[str, Any]:
        """config.json's ``background_label`` and ``score_threshold`` of the artifact."""
        if not self.enabled:
            return {}
        return {"background_label": self.background, "score_threshold": threshold}

    def evaluate_fold(
        self, artifact: Path, raws: Sequence[np.ndarray], ys: np.ndarray, held: set[str]
    ) -> dict[str, Any]:
        """A fold's in-vocabulary accuracy with rejection (the right sign, not rejected) on its
        held-out participants and its rejection of the negative signs it never saw."""
        if not self.enabled:
            return {}
        unseen = [x for x, g in zip(self.raws, self.groups, strict=True) if g in held]
        everything: list[np.ndarray] = [*raws, *unseen]
        best, score, background = open_set_scores(artifact, everything, ys)
        negative = np.r_[np.zeros(len(raws), bool), np.ones(len(unseen), bool)]
        truth = np.r_[ys, np.full(len(unseen), -1)]
        self._oof.append((best, score, background, truth, negative))
        self._folds.append((artifact, raws, ys, unseen))
        correct = ~background[~negative] & (best[~negative] == ys)
        return {
            "in_vocabulary_correct": round(float(np.mean(correct)), 4) if len(ys) else 0.0,
            "unseen_signs": len(unseen),
            "unseen_signs_rejected": round(float(np.mean(background[negative])), 4)
            if unseen
            else 0.0,
        }

    def calibrate(self, target: float) -> dict[str, Any]:
        """:func:`calibrate` on the folds' out-of-fold scores, with the counts."""
        best, score, background, truth, negative = (
            np.concatenate(a) for a in zip(*self._oof, strict=True)
        )
        result = calibrate(best, score, background, truth, negative, target)
        result["count"] = int((~negative).sum())
        result["unseen_signs"] = int(negative.sum())
        result["sources"] = self.sources
        return result

    def evaluate_streams(
        self, threshold: float | None, seed: int, per_stream: int = 20
    ) -> dict[str, Any]:
        """Spotting, cross-validated: each fold's held-out participants' sequences and unseen
        negative signs, shuffled and joined by idle gaps (0.5-1.5 s without hands or with
        hands at rest: :func:`aslsign.spotting.join_sequences`) into streams of
        ``per_stream`` items, spotted by the fold's model with ``threshold``; event F1 pooled
        (IoU >= 0.3, same label; a span over an unknown sign is a false positive)."""
        from aslsign import SignRecognizer
        from aslsign.metrics import event_scores
        from aslsign.spotting import join_sequences

        found: list[tuple[str | None, int, int]] = []
        truth: list[tuple[str | None, int, int]] = []
        offset = 0
        for k, (artifact, raws, ys, unseen) in enumerate(self._folds):
            items = [
                (self.vocabulary[int(y)], np.asarray(x)) for x, y in zip(raws, ys, strict=True)
            ]
            items += [(None, x) for x in unseen]
            order = np.random.default_rng([seed, k, 11]).permutation(len(items))
            with SignRecognizer.from_pretrained(artifact, score_threshold=threshold) as rec:
                for s in range(0, len(order), per_stream):
                    chosen = [items[int(j)] for j in order[s : s + per_stream]]
                    stream, true = join_sequences(chosen, seed=seed + 1000 * k + s)
                    spans = rec.spot(stream)
                    found += [
                        (sp.label, sp.start_frame + offset, sp.end_frame + offset) for sp in spans
                    ]
                    truth += [(lab, a + offset, b + offset) for lab, a, b in true]
                    offset += len(stream)
        scores = event_scores(found, truth, iou=0.3)
        return {
            **{k: round(v, 4) if isinstance(v, float) else v for k, v in scores.items()},
            "unknown": sum(t[0] is None for t in truth),
            "score_threshold": threshold,
        }
