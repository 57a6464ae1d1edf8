"""Data for the recipes: participant splits and folds, loading, and padded batches for Keras.

Batches are built in NumPy by the runtime's own preprocessing (:mod:`aslsign.preprocessing`) and
fed to Keras through ``tf.data``: a generator yields each batch's members, and a parallel
``map`` (``tf.numpy_function``, several batches at once in threads) augments, preprocesses and
pads them. Each epoch draws its order from ``numpy.random.default_rng([seed, epoch])`` and each
sample's augmentation from ``default_rng([seed, epoch, batch, position])``, so a run is
reproducible whatever the parallelism or the number of replicas, and a resumed run
(``--resume``) continues with the epoch it would have had. The samples themselves come from the
disk cache of :mod:`training_recipes.cache` (:func:`load_sequences`).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from aslsign.io import GislrDataset

__all__ = [
    "Batches",
    "balanced_batches",
    "bucketed_batches",
    "load_raw",
    "load_sequences",
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


def load_sequences(
    ds: GislrDataset,
    labels: Sequence[str],
    view: Any,
    cache_dir: Path,
    workers: int | None = None,
) -> tuple[Any, np.ndarray]:
    """Like :func:`load_raw`, but the sequences come lazily from a
    :class:`training_recipes.cache.LandmarkCache` of ``view`` in ``cache_dir`` (built on first
    use: every file read once, in ``workers`` threads)."""
    from training_recipes.cache import LandmarkCache

    index = {s: i for i, s in enumerate(labels)}
    ys = np.asarray([index[r.sign] for r in ds.records], np.int64)
    start = time.perf_counter()
    cache = LandmarkCache.open_or_build(
        [r.path for r in ds.records],
        ds.root,
        view,
        cache_dir,
        workers=workers,
        progress=sys.stderr.isatty(),
    )
    took = time.perf_counter() - start
    print(
        f"landmark cache {cache.directory}: {len(cache)} sequences, {int(cache.offsets[-1])} "
        f"frames, {cache.nbytes / 2**20:.1f} MiB ({took:.1f} s)",
        flush=True,
    )
    return cache, ys


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
        seed: epoch ``e`` draws its order from ``default_rng([seed, e])``, the sample at
            ``position`` of its batch ``b`` its augmentation from
            ``default_rng([seed, e, b, position])``.
        augment: False passes ``rng=None`` to ``prepare`` (no augmentation).
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

    def plan(self) -> Iterator[tuple[int, int, list[int]]]:
        """The next epoch's ``(epoch, batch number, members)``; advances ``epoch_index``."""
        epoch = self.epoch_index
        self.epoch_index += 1
        rng = np.random.default_rng([self.seed, epoch])
        for b, members in enumerate(self.order(rng)):
            yield epoch, b, members

    def make(
        self, epoch: int, batch: int, members: Sequence[int], start: int = 0
    ) -> tuple[np.ndarray, Any]:
        """The padded batch of ``members`` of batch ``batch`` of ``epoch``; ``start`` is the
        position of ``members[0]`` in that batch (a replica's share of a global batch)."""
        feats = []
        for k, j in enumerate(members):
            rng = (
                np.random.default_rng([self.seed, epoch, batch, start + k])
                if self.augment
                else None
            )
            feats.append(self.prepare(self.items[int(j)], rng))
        return self.pad(feats), self.collate([self.targets[int(j)] for j in members])

    def epoch(self) -> Iterator[tuple[np.ndarray, Any]]:
        """The next epoch's batches, built one after the other (:func:`tf_dataset` builds
        them in parallel)."""
        for epoch, b, members in self.plan():
            yield self.make(epoch, b, members)


def one_hot(num_classes: int) -> Callable[[list[int]], np.ndarray]:
    """A ``collate`` for class targets: one-hot float32 rows."""
    eye = np.eye(num_classes, dtype=np.float32)
    return lambda ys: eye[np.asarray(ys, np.int64)]


def replica_bounds(size: int, replicas: int) -> np.ndarray:
    """Where a batch of ``size`` samples is cut into ``replicas`` consecutive, near-equal
    shares (``replicas + 1`` offsets)."""
    return np.linspace(0, size, replicas + 1).round().astype(np.int64)


def tf_dataset(
    source: Batches,
    x_spec: Any,
    y_spec: Any,
    *,
    parallel: int | None = None,
    strategy: Any = None,
) -> Any:
    """``source``'s epochs as a repeating, prefetching ``tf.data.Dataset``.

    A generator yields each batch's members; ``parallel`` batches (default: tf.data's
    autotuning) are built at once by ``source.make`` in ``tf.numpy_function``, in order.

    With a ``strategy`` of several replicas the batches of ``source`` are global batches and the
    result is a distributed dataset (``strategy.distribute_datasets_from_function``): each worker
    builds the whole global batch (a batch smaller than the replica count is cycled), padded to
    one length, and hands its replicas their consecutive shares. All replicas must see tensors
    of one shape (Keras and the collective ops require it), which is why a worker builds the
    samples of the other workers too: on N machines the input work is done N times.
    """
    import tensorflow as tf

    replicas = int(getattr(strategy, "num_replicas_in_sync", 1))
    autotune = tf.data.AUTOTUNE if parallel is None else parallel

    def pipeline(worker: int, workers: int) -> Any:
        local = replicas // workers
        first = worker * local

        def plan() -> Iterator[tuple[int, int, np.ndarray]]:
            for epoch, b, members in source.plan():
                if len(members) < replicas:
                    members = [members[k % len(members)] for k in range(replicas)]
                yield epoch, b, np.asarray(members, np.int64)

        x_flat, y_flat = tf.nest.flatten(x_spec), tf.nest.flatten(y_spec)
        specs = x_flat + y_flat

        def make(epoch: Any, b: Any, members: Any) -> list[np.ndarray]:
            x, y = source.make(int(epoch), int(b), members.tolist())
            arrays = tf.nest.flatten(x) + tf.nest.flatten(y)
            bounds = replica_bounds(len(members), replicas)[first : first + local + 1]
            out = [
                np.asarray(a, spec.dtype.as_numpy_dtype)[bounds[0] : bounds[-1]]
                for a, spec in zip(arrays, specs, strict=True)
            ]
            return [*out, bounds - bounds[0]]

        def call(epoch: Any, b: Any, members: Any) -> tuple[Any, Any, Any]:
            outs = tf.numpy_function(
                make, [epoch, b, members], [t.dtype for t in specs] + [tf.int64], stateful=False
            )
            for t, spec in zip(outs, specs, strict=False):
                t.set_shape(spec.shape)
            x = tf.nest.pack_sequence_as(x_spec, outs[: len(x_flat)])
            y = tf.nest.pack_sequence_as(y_spec, outs[len(x_flat) : len(specs)])
            return x, y, outs[-1]

        def shares(x: Any, y: Any, bounds: Any) -> Any:
            def share(r: Any) -> Any:
                return tf.nest.map_structure(lambda t: t[bounds[r] : bounds[r + 1]], (x, y))

            return tf.data.Dataset.range(local).map(share)

        scalar = tf.TensorSpec((), tf.int64)
        ds = tf.data.Dataset.from_generator(
            plan, output_signature=(scalar, scalar, tf.TensorSpec((None,), tf.int64))
        )
        ds = ds.map(call, num_parallel_calls=autotune, deterministic=True)
        ds = ds.flat_map(shares) if replicas > 1 else ds.map(lambda x, y, _: (x, y))
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
        return ds.repeat().with_options(options).prefetch(2)

    if replicas <= 1:
        return pipeline(0, 1)
    return strategy.distribute_datasets_from_function(
        lambda ctx: pipeline(ctx.input_pipeline_id, ctx.num_input_pipelines)
    )
