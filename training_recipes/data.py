"""Data for the recipes: participant splits and folds, loading, and padded batches for Keras.

Batches are built in NumPy by the runtime's own preprocessing (:mod:`aslsign.preprocessing`) and
fed to Keras through ``tf.data.Dataset.from_generator``. Each epoch draws its order and its
augmentations from ``numpy.random.default_rng([seed, epoch])``, so a run is reproducible and a
resumed run (``--resume``) continues with the epoch it would have had.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from aslsign.io import GislrDataset

__all__ = [
    "Batches",
    "balanced_batches",
    "bucketed_batches",
    "load_raw",
    "participant_folds",
    "split_participants",
    "tf_dataset",
]


# ----------------------------------------------------------------------------- splits


def split_participants(
    people: Sequence[int], n_val: int, seed: int, val_ids: Sequence[int] | None = None
) -> tuple[list[int], list[int]]:
    """(train, validation) participant ids. ``val_ids`` when given, else ``n_val`` drawn with
    ``seed``; ``n_val`` 0 and no ``val_ids`` trains on everyone."""
    people = sorted(people)
    if val_ids is not None:
        unknown = set(val_ids) - set(people)
        if unknown:
            raise SystemExit(f"--val-ids {sorted(unknown)} are not in the data ({people}).")
        val = sorted(val_ids)
    elif n_val == 0:
        val = []
    else:
        if n_val >= len(people):
            raise SystemExit(f"Cannot hold out {n_val} of {len(people)} participants.")
        val = sorted(np.random.default_rng(seed).choice(people, n_val, replace=False).tolist())
    return [p for p in people if p not in val], val


def participant_folds(people: Sequence[int], k: int, seed: int) -> list[list[int]]:
    """``k`` disjoint groups of participants (shuffled with ``seed``, sizes differing by <= 1)."""
    if not 2 <= k <= len(people):
        raise SystemExit(f"--cv-folds must be between 2 and the {len(people)} participants.")
    order = np.random.default_rng(seed).permutation(sorted(people)).tolist()
    return [sorted(order[i::k]) for i in range(k)]


def load_raw(ds: GislrDataset, labels: Sequence[str]) -> tuple[list[np.ndarray], np.ndarray]:
    """All sequences of ``ds`` (raw landmarks) and their label indices in ``labels``."""
    index = {s: i for i, s in enumerate(labels)}
    raws, ys = [], []
    for record, seq in ds.iter_sequences(progress=sys.stderr.isatty()):
        raws.append(seq)
        ys.append(index[record.sign])
    return raws, np.asarray(ys, np.int64)


# ----------------------------------------------------------------------------- batch order


def bucketed_batches(
    lengths: Sequence[int], batch_size: int, rng: np.random.Generator
) -> list[list[int]]:
    """Shuffled batches of indices, each cut from a length-sorted window of 8 batches (so a
    batch pads little), in shuffled order."""
    order = rng.permutation(len(lengths))
    window = batch_size * 8
    batches: list[list[int]] = []
    for w in range(0, len(order), window):
        part = sorted(order[w : w + window].tolist(), key=lambda j: lengths[j])
        batches += [part[b : b + batch_size] for b in range(0, len(part), batch_size)]
    return [batches[c] for c in rng.permutation(len(batches))]


def balanced_batches(
    ys: np.ndarray, per_class: int, num_classes: int, rng: np.random.Generator
) -> list[list[int]]:
    """Class-balanced batches: ``per_class`` samples of every class in each batch, as many
    batches as fill one pass over the data (``len(ys) // (per_class * classes)``, at least 1).
    Each class's samples are cycled in shuffled order, so every sample is seen before any is
    repeated; a class with no sample is left out."""
    classes = [np.flatnonzero(ys == c) for c in range(num_classes)]
    classes = [c for c in classes if len(c)]
    n = max(1, len(ys) // (per_class * len(classes)))
    streams = []
    for members in classes:
        need = n * per_class
        reps = math.ceil(need / len(members))
        streams.append(np.concatenate([rng.permutation(members) for _ in range(reps)])[:need])
    return [
        [int(s[b * per_class + i]) for s in streams for i in range(per_class)] for b in range(n)
    ]


# ----------------------------------------------------------------------------- batches


class Batches:
    """Epochs of padded ``(features, targets)`` batches.

    Args:
        items: the samples (raw landmarks, or whatever ``prepare`` takes).
        targets: per-sample targets; ``collate`` turns a batch of them into arrays.
        prepare: ``(item, rng, training) -> features`` of one sample (augmentation and
            preprocessing); ``rng`` is None when not training.
        pad: stacks a list of features into one padded batch.
        collate: ``list of targets -> target arrays``.
        batch_size: samples per batch (length-bucketed batches; not used with ``per_class``).
        lengths: per-sample length, for length-bucketed batches.
        per_class: class-balanced batches of this many samples of every class (targets must
            then be class indices).
        seed: epoch ``e`` draws from ``default_rng([seed, e])``.
    """

    def __init__(
        self,
        items: Sequence[Any],
        targets: Sequence[Any],
        *,
        prepare: Callable[[Any, np.random.Generator | None], np.ndarray],
        pad: Callable[[list[np.ndarray]], np.ndarray],
        collate: Callable[[list[Any]], Any],
        batch_size: int | None = None,
        lengths: Sequence[int] | None = None,
        per_class: int | None = None,
        num_classes: int | None = None,
        seed: int = 0,
        augment: bool = True,
    ) -> None:
        self.items, self.targets = items, targets
        self.prepare, self.pad, self.collate = prepare, pad, collate
        self.batch_size, self.per_class, self.num_classes = batch_size, per_class, num_classes
        self.lengths = lengths if lengths is not None else [len(i) for i in items]
        self.seed, self.augment = seed, augment
        if not (per_class or batch_size):
            raise ValueError("Batches needs batch_size or per_class.")
        self.epoch_index = 0  # the next epoch to generate; set it to resume

    def __len__(self) -> int:
        if self.per_class:
            classes = len(set(np.asarray(self.targets).tolist()))
            return max(1, len(self.items) // (self.per_class * classes))
        return math.ceil(len(self.items) / (self.batch_size or 1))

    def order(self, rng: np.random.Generator) -> list[list[int]]:
        if self.per_class:
            return balanced_batches(
                np.asarray(self.targets), self.per_class, self.num_classes or 0, rng
            )
        return bucketed_batches(self.lengths, self.batch_size or 1, rng)

    def epoch(self) -> Iterator[tuple[np.ndarray, Any]]:
        rng = np.random.default_rng([self.seed, self.epoch_index])
        self.epoch_index += 1
        for members in self.order(rng):
            feats = [self.prepare(self.items[j], rng if self.augment else None) for j in members]
            yield self.pad(feats), self.collate([self.targets[j] for j in members])


def one_hot(num_classes: int) -> Callable[[list[int]], np.ndarray]:
    """A ``collate`` for class targets: one-hot float32 rows."""
    eye = np.eye(num_classes, dtype=np.float32)
    return lambda ys: eye[np.asarray(ys, np.int64)]


def tf_dataset(source: Batches, x_spec: Any, y_spec: Any) -> Any:
    """``source``'s epochs as a repeating, prefetching ``tf.data.Dataset``."""
    import tensorflow as tf

    return (
        tf.data.Dataset.from_generator(source.epoch, output_signature=(x_spec, y_spec))
        .repeat()
        .prefetch(2)
    )
