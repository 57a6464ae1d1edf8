"""The training loop of the recipes: a Keras 3 trainer with AWP, optimizers whose weight decay
follows the learning rate, cosine schedules, and checkpoints that ``--resume`` continues from.

**AWP** (adversarial weight perturbation) as the GISLR 1st-place solution used it (hoyso48's
public ``AWP`` Keras model): from a start step on, each step takes the gradient ``g`` of the clean
loss, adds ``lambda * g / (||g|| + eps)`` to every trainable tensor (each tensor normalised by its
own gradient norm; BatchNorm and biases included), runs a second forward and backward pass on the
perturbed weights, removes the perturbation, and applies only the second gradient. Layers that
count their calls (``LateDropout``) advance twice on such steps, as in the original.

**Weight decay tied to the learning rate.** Both originals set the decay from the current
learning rate rather than keeping it fixed:

* hoyso48 (tensorflow-addons RectifiedAdam, ``weight_decay = 0.1 * lr`` schedule) applied
  ``var -= lr_t * wd_t * var`` with ``wd_t = ratio * lr_t``: :class:`AdamWTiedDecay`.
* Wijkhuizen (tensorflow-addons AdamW with ``weight_decay = 0.05 * lr`` set each epoch) applied
  ``var -= wd_t * var`` = ``ratio * lr_t * var``, which is exactly Keras 3 ``AdamW(weight_decay=
  ratio)`` (Keras multiplies its decay by the learning rate).
"""

from __future__ import annotations

import argparse
import json
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import ops

__all__ = [
    "AWPSwitch",
    "AdamWTiedDecay",
    "Checkpoint",
    "Trainer",
    "cosine_schedule",
    "fit",
]


class Trainer(keras.Model):
    """Trains ``model`` with ``loss_fn(y, y_pred, x)``, optionally with AWP.

    The exported artifact is ``trainer.model``; the trainer only adds the training step.
    ``awp_lambda`` 0 trains normally; otherwise AWP switches on when :class:`AWPSwitch` (added
    by :func:`fit`) reaches the start epoch.
    """

    def __init__(
        self,
        model: keras.Model,
        loss_fn: Callable[[Any, Any, Any], Any],
        *,
        awp_lambda: float = 0.0,
        awp_eps: float = 1e-4,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model, self.loss_fn = model, loss_fn
        self.awp_lambda, self.awp_eps = awp_lambda, awp_eps
        self.awp_active = False  # read when the train function is traced
        self.example_batch: tuple[Any, Any] | None = None  # see _maybe_symbolic_build

    def _maybe_symbolic_build(self, iterator: Any = None, data_batch: Any = None) -> None:
        # Under a tf.distribute strategy Keras builds the metrics and the optimizer before
        # training from the first batch of the iterator: it takes that batch out of the data
        # (shifting every epoch by one batch) and averages it over the replicas (which fails
        # under MultiWorkerMirroredStrategy). With ``example_batch`` (one local batch) set, the
        # build uses that instead and the data stay untouched.
        if getattr(self, "_distribute_strategy", None) is None or self.example_batch is None:
            super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)  # type: ignore[misc]
            return
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=self.example_batch)

    def call(self, inputs: Any, training: bool = False) -> Any:
        return self.model(inputs, training=training)

    def compute_loss(
        self,
        x: Any = None,
        y: Any = None,
        y_pred: Any = None,
        sample_weight: Any = None,
        training: bool = True,
    ) -> Any:
        loss = self.loss_fn(y, y_pred, x)
        return loss + ops.sum(self.losses) if self.losses else loss

    vector_logs = False  # see _sign_run (MultiWorkerMirroredStrategy)

    def train_step(self, data: Any) -> Any:
        logs = self._train_step(data)
        if self.vector_logs:
            logs = {k: ops.reshape(v, (1,)) for k, v in logs.items()}
        return logs

    def _train_step(self, data: Any) -> Any:
        if not (self.awp_active and self.awp_lambda > 0):
            return super().train_step(data)
        import tensorflow as tf
        from keras.src.losses.loss import unscale_loss_for_distribution

        x, y = data[0], data[1]
        variables = self.trainable_variables
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self._compute_loss(x=x, y=y, y_pred=y_pred, training=True)
            scaled = self.optimizer.scale_loss(loss)  # mixed precision: the loss scale
        grads = _awp_gradients(tape.gradient(scaled, variables), self.optimizer)
        deltas: list[Any] = []
        for g in grads:
            if g is None:
                deltas.append(None)
                continue
            norm = tf.norm(g)
            d = self.awp_lambda * g / (norm + self.awp_eps)
            deltas.append(tf.where(tf.math.is_finite(norm), d, tf.zeros_like(d)))
        _assign_add(variables, deltas, sign=1.0)
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self._compute_loss(x=x, y=y, y_pred=y_pred, training=True)
            self._loss_tracker.update_state(
                unscale_loss_for_distribution(loss), sample_weight=tf.shape(x)[0]
            )
            scaled = self.optimizer.scale_loss(loss)
        grads = tape.gradient(scaled, variables)
        _assign_add(variables, deltas, sign=-1.0)
        self.optimizer.apply_gradients(zip(grads, variables, strict=True))
        return self.compute_metrics(x, y, y_pred, sample_weight=None)


def _awp_gradients(grads: list[Any], optimizer: Any) -> list[Any]:
    """The clean-pass gradients AWP perturbs along: dense, divided by the loss scale (mixed
    precision), and summed over the replicas of a ``tf.distribute`` strategy (each replica's
    loss is already divided by the replica count, so the sum is the gradient of the global
    batch's loss and every replica perturbs its copy of the weights identically)."""
    import tensorflow as tf

    dense = [None if g is None else tf.convert_to_tensor(g) for g in grads]
    scale = getattr(optimizer, "dynamic_scale", None)  # keras LossScaleOptimizer
    if scale is not None:
        dense = [None if g is None else g / tf.cast(scale, g.dtype) for g in dense]
    ctx = tf.distribute.get_replica_context()
    if ctx is not None and ctx.num_replicas_in_sync > 1:
        present = [g for g in dense if g is not None]
        reduced = iter(ctx.all_reduce(tf.distribute.ReduceOp.SUM, present) if present else [])
        dense = [None if g is None else next(reduced) for g in dense]
    return dense


def _assign_add(variables: list[Any], deltas: list[Any], sign: float) -> None:
    """``v += sign * d`` for each pair, as an update of every replica's copy (a merge call
    under a strategy; the deltas are equal on all replicas)."""
    import tensorflow as tf

    pairs = [(v, d) for v, d in zip(variables, deltas, strict=True) if d is not None]

    def update(strategy: Any, pairs: list[tuple[Any, Any]]) -> None:
        for v, d in pairs:
            var = v.value if isinstance(v, keras.Variable) else v
            strategy.extended.update(
                var,
                lambda t, dd: t.assign_add(tf.cast(sign * dd, t.dtype)),
                args=(d,),
                group=False,
            )

    tf.__internal__.distribute.interim.maybe_merge_call(update, tf.distribute.get_strategy(), pairs)


class AWPSwitch(keras.callbacks.Callback):
    """Turns AWP on at ``start_epoch`` (0-based) by re-tracing the train function."""

    def __init__(self, start_epoch: int) -> None:
        super().__init__()
        self.start_epoch = start_epoch

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        trainer = self.model
        if isinstance(trainer, Trainer) and trainer.awp_lambda > 0:
            want = epoch >= self.start_epoch
            if want != trainer.awp_active:
                trainer.awp_active = want
                trainer.make_train_function(force=True)


@keras.saving.register_keras_serializable("aslsign")
class AdamWTiedDecay(keras.optimizers.AdamW):
    """AdamW whose decoupled weight decay is ``ratio`` times the current learning rate,
    applied as ``var -= lr_t * (ratio * lr_t) * var`` (tensorflow-addons RectifiedAdam with a
    ``ratio * lr`` weight-decay schedule, as the GISLR 1st place trained)."""

    def __init__(self, learning_rate: Any = 1e-3, weight_decay_ratio: float = 0.1, **kwargs: Any):
        kwargs.pop("weight_decay", None)
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay_ratio, **kwargs)
        self.weight_decay_ratio = weight_decay_ratio

    def _apply_weight_decay(self, variables: list[Any]) -> None:
        if not self.weight_decay_ratio:
            return
        import tensorflow as tf

        def decay(distribution: Any, variables: list[Any]) -> None:
            def step(variable: Any) -> None:
                lr = tf.cast(self.learning_rate, variable.dtype)
                wd = tf.cast(self.weight_decay_ratio, variable.dtype) * lr
                variable.assign(variable - variable * wd * lr)

            for variable in variables:
                if self._use_weight_decay(variable):
                    var = variable.value if isinstance(variable, keras.Variable) else variable
                    distribution.extended.update(var, step, group=False)

        # as Keras' own AdamW does: a merge call, so that it also runs under a strategy
        tf.__internal__.distribute.interim.maybe_merge_call(
            decay, self._distribution_strategy, variables
        )

    def get_config(self) -> dict[str, Any]:
        cfg = super().get_config()
        cfg.pop("weight_decay", None)
        return {**cfg, "weight_decay_ratio": self.weight_decay_ratio}


@keras.saving.register_keras_serializable("aslsign")
class CosineSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Cosine decay from ``lr`` to ``final_lr`` over ``total_steps`` after a linear warm-up of
    ``warmup_steps``; with ``steps_per_epoch`` the cosine moves once per epoch (a staircase)."""

    def __init__(
        self,
        lr: float,
        total_steps: int,
        final_lr: float = 1e-6,
        warmup_steps: int = 0,
        steps_per_epoch: int | None = None,
    ) -> None:
        self.lr, self.total_steps, self.final_lr = lr, max(1, total_steps), final_lr
        self.warmup_steps, self.steps_per_epoch = warmup_steps, steps_per_epoch

    def __call__(self, step: Any) -> Any:
        step = ops.cast(step, "float32")
        decay_steps = float(max(1, self.total_steps - self.warmup_steps))
        t = ops.maximum(step - self.warmup_steps, 0.0)
        if self.steps_per_epoch:
            t = ops.floor(t / self.steps_per_epoch) * self.steps_per_epoch
        t = ops.minimum(t, decay_steps)
        cosine = 0.5 * (1.0 + ops.cos(math.pi * t / decay_steps))
        lr = self.final_lr + (self.lr - self.final_lr) * cosine
        if self.warmup_steps:
            warm = self.lr * step / self.warmup_steps  # as Keras CosineDecay warms up
            lr = ops.where(step < self.warmup_steps, warm, lr)
        return lr

    def get_config(self) -> dict[str, Any]:
        return {
            "lr": self.lr,
            "total_steps": self.total_steps,
            "final_lr": self.final_lr,
            "warmup_steps": self.warmup_steps,
            "steps_per_epoch": self.steps_per_epoch,
        }


def cosine_schedule(
    lr: float,
    total_steps: int,
    final_lr: float = 1e-6,
    warmup_steps: int = 0,
    steps_per_epoch: int | None = None,
) -> CosineSchedule:
    """See :class:`CosineSchedule`."""
    return CosineSchedule(lr, total_steps, final_lr, warmup_steps, steps_per_epoch)


# ----------------------------------------------------------------------------- checkpoints


class Checkpoint(keras.callbacks.Callback):
    """After every epoch: the trainer's weights *and* optimizer state, and the epoch count, in
    ``directory`` (``latest.weights.h5``, ``state.json``); :meth:`restore` loads them."""

    def __init__(self, directory: Path, write: bool = True) -> None:
        super().__init__()
        self.directory = Path(directory)
        self.write = write  # False on the non-chief workers of a cluster: they only restore

    @property
    def weights_path(self) -> Path:
        return self.directory / "latest.weights.h5"

    @property
    def state_path(self) -> Path:
        return self.directory / "state.json"

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if not self.write:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.directory / "partial.weights.h5"
        self.model.save_weights(tmp)
        tmp.replace(self.weights_path)
        self.state_path.write_text(json.dumps({"epoch": epoch + 1}))

    def saved_epoch(self) -> int:
        """Epochs completed by the checkpoint (0 when there is none)."""
        if not self.state_path.is_file() or not self.weights_path.is_file():
            return 0
        return int(json.loads(self.state_path.read_text())["epoch"])

    def restore(self, trainer: keras.Model) -> int:
        """Load the checkpoint into ``trainer`` (compiled, built); return its epoch count."""
        epoch = self.saved_epoch()
        if epoch:
            trainer.optimizer.build(trainer.trainable_variables)
            trainer.load_weights(self.weights_path)
        return epoch


def fit(
    trainer: Trainer,
    source: Any,
    dataset: Any,
    *,
    epochs: int,
    checkpoint_dir: Path | None = None,
    resume: bool = False,
    awp_start_epoch: int | None = None,
    callbacks: list[keras.callbacks.Callback] | None = None,
    verbose: int = 2,
    write_checkpoints: bool = True,
) -> keras.callbacks.History | None:
    """Train ``trainer`` on ``dataset`` (built from ``source``, a :class:`data.Batches`).

    With ``checkpoint_dir`` every epoch is saved there; ``resume`` continues from it (the data
    order of the following epochs is the one an uninterrupted run would have had). Without
    ``resume`` an existing checkpoint is an error, so that a run never silently continues
    another one. ``write_checkpoints`` False (a non-chief worker) restores but never writes.
    """
    callbacks = list(callbacks or [])
    initial_epoch = 0
    if checkpoint_dir is not None:
        ckpt = Checkpoint(checkpoint_dir, write=write_checkpoints)
        if ckpt.saved_epoch() and not resume:
            raise SystemExit(
                f"{checkpoint_dir} holds a checkpoint of an earlier run: pass --resume to "
                "continue it, or remove the directory."
            )
        if resume:
            initial_epoch = ckpt.restore(trainer)
            print(f"resumed from {checkpoint_dir} after epoch {initial_epoch}", flush=True)
        callbacks.append(ckpt)
    if awp_start_epoch is not None:
        callbacks.insert(0, AWPSwitch(awp_start_epoch))
    if initial_epoch >= epochs:
        return None
    source.epoch_index = initial_epoch
    return trainer.fit(
        dataset,
        epochs=epochs,
        initial_epoch=initial_epoch,
        steps_per_epoch=len(source),
        callbacks=callbacks,
        shuffle=False,  # the Batches source shuffles
        verbose=verbose,
    )


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and the backend (Keras' own generators)."""
    keras.utils.set_random_seed(seed)
    np.random.seed(seed % 2**32)


# ----------------------------------------------------------------------------- isolated signs


class SignRecipe:
    """What an isolated-sign recipe defines; :func:`train_signs` does the rest.

    Subclasses (one per recipe file) hold the parsed ``args`` and implement the hooks.
    """

    script: str  # e.g. "training_recipes/hybrid.py"
    architecture: str

    def __init__(self, args: Any) -> None:
        self.args = args

    def architecture_args(self) -> dict[str, Any]:
        raise NotImplementedError

    def preprocessor(self, train_raws: list[np.ndarray]) -> Any:
        """The :mod:`aslsign.preprocessing` pipeline (fitted on the training split if needed)."""
        raise NotImplementedError

    def features(self, pre: Any, raw: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        """One sample's model input; ``rng`` given = training (augment)."""
        return np.asarray(pre(raw))

    def build(self, num_classes: int, pre: Any, steps_per_epoch: int) -> keras.Model:
        raise NotImplementedError

    def optimizer(self, steps_per_epoch: int) -> keras.optimizers.Optimizer:
        raise NotImplementedError

    def batching(self) -> dict[str, Any]:
        """``batch_size`` or ``per_class`` (class-balanced batches) for :class:`data.Batches`."""
        return {"batch_size": self.args.batch_size}

    def landmark_view(self) -> Any:
        """The part of the raw sequences :meth:`features` reads, as a
        :class:`training_recipes.cache.LandmarkView`: what the disk cache keeps (default: every
        frame and row)."""
        from training_recipes.cache import LandmarkView

        return LandmarkView(config={"recipe": self.script})

    label_smoothing: float = 0.0
    awp_lambda: float = 0.0
    awp_start_epoch: int | None = None
    replicas: int = 1  # set by the driver: replicas of the tf.distribute strategy

    def summary(self) -> str:
        """One line of the training options for the model card."""
        return ""


def _sign_run(
    recipe: SignRecipe,
    raws: Sequence[np.ndarray],
    ys: np.ndarray,
    labels: list[str],
    checkpoint_dir: Path | None,
) -> tuple[keras.Model, Any, float]:
    """Train one model on ``raws``; return (model, preprocessor, seconds).

    Under ``--strategy`` the model and optimizer are built in the strategy's scope and the
    batches of ``--batch-size`` / ``--per-class`` are per replica; with ``--mixed-precision``
    the returned model is a float32 copy of the trained one (for export).
    """
    import time
    from concurrent.futures import ThreadPoolExecutor

    import tensorflow as tf

    from training_recipes import data, distribute

    args = recipe.args
    strategy = distribute.get_strategy(getattr(args, "strategy", "default"), _opt(args, "tpu"))
    recipe.replicas = int(strategy.num_replicas_in_sync)
    policy = distribute.precision_policy(
        bool(_opt(args, "mixed_precision")), getattr(args, "strategy", "default")
    )
    workers = _opt(args, "input_workers")
    pre = recipe.preprocessor(raws)

    def plain(i: int) -> np.ndarray:
        return recipe.features(pre, raws[i], None)

    with ThreadPoolExecutor(workers or min(8, os.cpu_count() or 1)) as pool:
        lengths = list(pool.map(lambda i: len(plain(i)), range(len(raws))))
    keep = [i for i, n in enumerate(lengths) if n]
    if len(keep) < len(raws):
        print(f"  {len(raws) - len(keep)} training sequences have no usable frame: left out")
    num_classes = len(labels)

    def prepare(i: int, rng: np.random.Generator | None) -> np.ndarray:
        if rng is None:
            return plain(i)
        f = recipe.features(pre, raws[i], rng)
        return f if len(f) else plain(i)

    batching = {k: v * recipe.replicas for k, v in recipe.batching().items()}  # global batch
    source = data.Batches(
        keep,
        ys[keep],
        prepare=prepare,
        pad=pre.pad_batch,
        collate=data.one_hot(num_classes),
        lengths=[lengths[i] for i in keep],
        num_classes=num_classes,
        seed=args.seed,
        augment=not getattr(args, "no_augment", False),
        **batching,
    )
    steps = len(source)
    keras.mixed_precision.set_global_policy(policy)
    try:
        with strategy.scope():
            model = recipe.build(num_classes, pre, steps)
            cce = keras.losses.CategoricalCrossentropy(
                from_logits=True, label_smoothing=recipe.label_smoothing
            )
            trainer = Trainer(model, lambda y, p, x: cce(y, p), awp_lambda=recipe.awp_lambda)
            metrics: list[Any] = [keras.metrics.CategoricalAccuracy(name="acc")]
            metrics += [
                keras.metrics.TopKCategoricalAccuracy(k, name=f"top{k}")
                for k in (5, 10)
                if k < num_classes
            ]
            trainer.compile(
                optimizer=recipe.optimizer(steps),
                metrics=metrics,
                jit_compile=True if _opt(args, "jit_compile") else "auto",
            )
            # Keras 3.15 reduces the step's logs with a mean over axis 0 under this strategy,
            # which fails on scalars: the trainer returns them as 1-vectors there
            trainer.vector_logs = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            example = pre.pad_batch([plain(keep[0])])
            trainer(example, training=False)  # build before a restore
            trainer.example_batch = (example, data.one_hot(num_classes)([int(ys[keep[0]])]))
        spec = (
            tf.TensorSpec((None, None, *pre.num_features), tf.float32),
            tf.TensorSpec((None, num_classes), tf.float32),
        )
        scale = f", {recipe.replicas} replicas" if recipe.replicas > 1 else ""
        print(
            f"  model: {model.count_params():,} parameters; {steps} steps x {args.epochs} epochs"
            f"{scale}{', ' + policy if policy != 'float32' else ''}",
            flush=True,
        )
        start = time.perf_counter()
        fit(
            trainer,
            source,
            data.tf_dataset(
                source, *spec, parallel=workers, strategy=strategy if recipe.replicas > 1 else None
            ),
            epochs=args.epochs,
            checkpoint_dir=checkpoint_dir,
            resume=args.resume,
            awp_start_epoch=recipe.awp_start_epoch if recipe.awp_lambda else None,
            verbose=2 if not _tty() else 1,
            write_checkpoints=distribute.is_chief(strategy),
        )
        seconds = round(time.perf_counter() - start, 1)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    if policy != "float32" or strategy is not tf.distribute.get_strategy():
        model = _float32_copy(recipe, model, num_classes, pre, steps)
    return model, pre, seconds


def _opt(args: Any, name: str) -> Any:
    """An option the recipe may not have (scale-out options): None when absent."""
    return getattr(args, name, None)


def _float32_copy(
    recipe: SignRecipe, model: keras.Model, num_classes: int, pre: Any, steps: int
) -> keras.Model:
    """A float32 build of ``model`` outside any strategy scope, holding its trained weights
    (what the export converts)."""
    keras.mixed_precision.set_global_policy("float32")
    fresh = recipe.build(num_classes, pre, steps)
    fresh.set_weights(model.get_weights())
    return fresh


def _tty() -> bool:
    import sys

    return sys.stdout.isatty()


def train_signs(recipe: SignRecipe, argv: list[str]) -> dict[str, Any]:
    """Train, cross-validate, export and measure an isolated-sign artifact.

    Reads ``recipe.args``: data, out, name, label_map, val_participants / val_ids, cv_folds,
    epochs, seed, resume, checkpoint_dir, no_augment, prototypes. With ``cv_folds`` K the
    participants are split into K groups; K models are trained with the same options, each
    scored on the group it never saw (through its exported TFLite), and the pooled accuracy goes
    into the card; then the artifact itself is trained on the ``val_*`` split (all participants
    with ``--val-participants 0``).
    """
    import shlex
    import shutil
    import tempfile

    from aslsign.io import GislrDataset
    from aslsign.recognizer import read_label_map
    from training_recipes import card, data, distribute, export
    from training_recipes.cache import take
    from training_recipes.evaluate import evaluate_signs
    from training_recipes.negatives import OpenSet
    from training_recipes.variants import add_variants, variant_list

    args = recipe.args
    # first: a multi-worker strategy must exist before TensorFlow runs anything
    strategy = distribute.get_strategy(getattr(args, "strategy", "default"), _opt(args, "tpu"))
    chief = distribute.is_chief(strategy)
    out = Path(args.out)
    cache_dir = Path(_opt(args, "cache_dir") or out.parent / (out.name + ".cache"))
    ckpt_root = (
        Path(args.checkpoint_dir) if args.checkpoint_dir else out.parent / (out.name + ".ckpt")
    )
    if not chief:  # train alike, restore from the chief's checkpoints, write into a temp dir
        out = Path(tempfile.mkdtemp(prefix="aslsign-worker-")) / out.name
    out.parent.mkdir(parents=True, exist_ok=True)
    if not args.resume and any(ckpt_root.glob("*/state.json")):
        raise SystemExit(
            f"{ckpt_root} holds checkpoints of an earlier run: pass --resume to continue it, "
            "or remove the directory."
        )
    set_seed(args.seed)
    ds = GislrDataset(args.data)
    vocabulary = list(read_label_map(args.label_map)) if args.label_map else ds.signs
    missing = set(ds.signs) - set(vocabulary)
    if missing:
        raise SystemExit(f"Signs {sorted(missing)} are not in --label-map.")
    raws, ys = data.load_sequences(
        ds, vocabulary, recipe.landmark_view(), cache_dir, _opt(args, "input_workers")
    )
    open_set = OpenSet.from_args(args, vocabulary, recipe.landmark_view())
    labels = open_set.labels
    who = np.array([r.participant_id for r in ds.records])
    val_ids = [int(v) for v in args.val_ids.split(",")] if args.val_ids else None
    train_ids, val_ids = data.split_participants(
        ds.participants, args.val_participants, args.seed, val_ids
    )
    top_k = [k for k in (1, 5, 10) if k == 1 or k < len(labels)] or [1]

    def pick(ids: list[int]) -> np.ndarray:
        return np.flatnonzero(np.isin(who, ids))

    metrics: dict[str, Any] = {}
    cv_seconds = 0.0
    if args.cv_folds:
        folds = data.participant_folds(ds.participants, args.cv_folds, args.seed)
        held_signs = open_set.folds(args.cv_folds, args.seed)
        fold_root = Path(tempfile.mkdtemp(prefix=".cv-", dir=out.parent))  # kept for streams
        results = []
        for i, fold in enumerate(folds):
            print(f"cross-validation fold {i + 1}/{len(folds)}: holding out {fold}", flush=True)
            tr = pick([p for p in ds.participants if p not in fold])
            te = pick(fold)
            set_seed(args.seed + 1 + i)
            fold_raws, fold_ys = open_set.training_set(
                take(raws, tr), ys[tr], held_signs[i], seed=args.seed + 1 + i
            )
            model, pre, secs = _sign_run(recipe, fold_raws, fold_ys, labels, ckpt_root / f"fold{i}")
            cv_seconds += secs
            d = fold_root / f"fold{i}"
            export.write_artifact(
                d,
                model,
                name=f"fold{i}",
                architecture=recipe.architecture,
                architecture_args={},
                labels=labels,
                preprocessor=pre,
                training={},
                **open_set.config_fields(None),
            )
            r = evaluate_signs(d, take(raws, te), ys[te], top_k=(1,))
            r.update(open_set.evaluate_fold(d, take(raws, te), ys[te], held_signs[i]))
            results.append({"participants": fold, **r})
            print(f"  fold {i}: top-1 {r['top1']:.4f} on {r['count']} sequences", flush=True)
        correct = sum(round(f["top1"] * f["count"]) for f in results)
        count = sum(f["count"] for f in results)
        metrics["cv"] = {
            "folds": results,
            "top1": correct / count,
            "correct": correct,
            "count": count,
            "min_top1": min(f["top1"] for f in results),
            "max_top1": max(f["top1"] for f in results),
        }
        print(f"cross-validation: pooled top-1 {correct}/{count} = {correct / count:.4f}")
        if open_set.enabled:
            metrics["open_set"] = open_set.calibrate(args.threshold_target)
            print(f"open set: {json.dumps(metrics['open_set'])}", flush=True)
            metrics["streams"] = open_set.evaluate_streams(
                metrics["open_set"]["score_threshold"], seed=args.seed
            )
            print(f"streams: {json.dumps(metrics['streams'])}", flush=True)
        shutil.rmtree(fold_root, ignore_errors=True)

    print(f"data: {ds}; train participants {train_ids}, held out {val_ids}", flush=True)
    set_seed(args.seed)
    tr = pick(train_ids)
    train_raw, train_y = take(raws, tr), ys[tr]
    final_raws, final_ys = open_set.training_set(train_raw, train_y, set(), seed=args.seed)
    model, pre, seconds = _sign_run(recipe, final_raws, final_ys, labels, ckpt_root / "final")
    threshold = metrics.get("open_set", {}).get("score_threshold")
    name = args.name or out.name
    with export.staged_dir(out) as tmp:
        training = {
            "recipe": recipe.script,
            **export.run_info(args, seconds),
            "data_description": f"{Path(args.data).name} ({len(ds)} sequences, "
            f"{len(ds.signs)} signs, {len(ds.participants)} participants)",
            "train_participants": train_ids,
            "val_participants": val_ids,
            "summary": recipe.summary(),
        }
        if cv_seconds:
            training["cv_seconds"] = round(cv_seconds, 1)
        if open_set.enabled:
            training["negatives"] = (
                f"background class {open_set.background!r}: {len(open_set.raws)} sequences of "
                f"{len(set(open_set.groups))} other signs and letters ({open_set.sources}) and "
                f"{open_set.idle} of held or drifting hands"
            )
        config = export.write_artifact(
            tmp,
            model,
            name=name,
            architecture=recipe.architecture,
            architecture_args=recipe.architecture_args(),
            labels=labels,
            preprocessor=pre,
            training=training,
            **open_set.config_fields(threshold),
        )
        probe = [f for f in (recipe.features(pre, r, None) for r in train_raw[:8]) if len(f)]
        if val_ids:
            te = pick(val_ids)
            val_raw, val_y = take(raws, te), ys[te]
            probe = [
                f for f in (recipe.features(pre, r, None) for r in val_raw[:8]) if len(f)
            ] or probe
        diff = export.keras_vs_tflite(
            model, tmp / "model.tflite", [p[None] for p in probe] + [pre.pad_batch(probe)]
        )
        metrics["export_max_abs_diff"] = float(f"{diff:.3g}")
        metrics["train"] = evaluate_signs(tmp, train_raw, train_y, top_k=top_k)
        if val_ids:
            metrics["validation"] = evaluate_signs(tmp, val_raw, val_y, top_k=top_k)
            metrics["data"] = (
                f"{len(val_y)} sequences of {len(val_ids)} held-out participants {val_ids} of "
                f"{Path(args.data).name} (never seen in training)"
            )
        if args.kaggle:
            from training_recipes.kaggle_gislr import export_and_compare

            probe_raw = (val_raw if val_ids else train_raw)[:200]
            metrics["kaggle"] = export_and_compare(tmp, args.kaggle, probe_raw)
        config = config.from_dict({**config.to_dict(), "metrics": metrics})
        config.save(tmp / "config.json")
        if args.variants:
            held = bool(val_ids)
            config = add_variants(
                tmp,
                val_raw if held else train_raw,
                f"the {'held-out' if held else 'training'} sequences of {Path(args.data).name}",
                variant_list(args.variants),
            )
        command = f"python {recipe.script} {shlex.join(argv)}"
        (tmp / "README.md").write_text(card.sign_card(config, command))
        if getattr(args, "prototypes", False):
            protos = {}
            for i, sign in enumerate(vocabulary):  # all 543 landmarks: read from the files
                members = [ds.records[j].load() for j, y in zip(tr, train_y, strict=True) if y == i]
                if members:
                    protos[sign] = export.sign_prototype(members)
            export.write_examples(tmp / "examples.json", protos)
    if chief:
        shutil.rmtree(ckpt_root, ignore_errors=True)  # the run finished: nothing to resume
    else:
        shutil.rmtree(out.parent, ignore_errors=True)
    print(json.dumps({"out": str(out), **metrics}, indent=2))
    export.publish(out, getattr(args, "push_to_hub", None))  # the artifact is in place
    return metrics


# ----------------------------------------------------------------------------- command line


def sign_parser(description: str, val_help: str) -> argparse.ArgumentParser:
    """The options every isolated-sign recipe has (data, split, cross-validation, output); the
    recipe adds its model and training options. ``val_help`` explains its hold-out default."""
    p = argparse.ArgumentParser(
        description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    g = p.add_argument_group("data and output")
    g.add_argument("--data", required=True, type=Path, help="GISLR folder (train.csv + files)")
    g.add_argument("--out", required=True, type=Path, help="artifact directory to write")
    g.add_argument("--name", default=None, help="model name in config.json (default: out dir)")
    g.add_argument(
        "--label-map",
        type=Path,
        default=None,
        help="{sign: index} JSON fixing the output order (default: the signs sorted)",
    )
    g.add_argument("--val-participants", type=int, default=3, help=val_help)
    g.add_argument(
        "--val-ids",
        default=None,
        help="comma-separated participant ids to hold out (overrides --val-participants)",
    )
    g.add_argument(
        "--cv-folds",
        type=int,
        default=0,
        help="before training the artifact, cross-validate: this many participant-grouped "
        "folds, each trained with the same options and scored on its unseen participants; the "
        "pooled accuracy goes into the model card (0: no cross-validation)",
    )
    add_variants_option(g)
    o = p.add_argument_group(
        "unknown signs",
        "a background class trained on negatives: the model answers 'none of these' for signs "
        "it does not know (aslsign: label None, rejected True)",
    )
    o.add_argument(
        "--negatives",
        type=Path,
        nargs="+",
        default=None,
        help="GISLR-style folders whose sequences of signs outside the vocabulary are "
        "negatives (e.g. ../shared/data/gislr-gallery)",
    )
    o.add_argument(
        "--letters",
        type=Path,
        default=None,
        help="fingerspelling-letters folder: its recordings are negatives too",
    )
    o.add_argument("--background-label", default="<other>", help="name of the background class")
    o.add_argument(
        "--idle-negatives",
        type=int,
        default=120,
        help="negatives made of hands held still or drifting between two places, per run",
    )
    o.add_argument(
        "--threshold-target",
        type=float,
        default=0.98,
        help="with --cv-folds: the score threshold is the highest that keeps this share of "
        "the in-vocabulary accuracy of the cross-validation folds (written to config.json)",
    )
    g.add_argument(
        "--kaggle",
        type=Path,
        default=None,
        help="also write a Kaggle GISLR submission (model.tflite with the preprocessing inside, "
        "label map) to this directory, checked to give the artifact's probabilities",
    )
    g.add_argument(
        "--prototypes",
        action="store_true",
        help="also write examples.json: one averaged prototype sequence per sign",
    )
    from training_recipes.distribute import add_scale_options

    add_scale_options(p)
    return p


def add_variants_option(g: Any) -> None:
    """``--variants``: the smaller model files written beside ``model.tflite``."""
    g.add_argument(
        "--variants",
        default="fp16,int8",
        help="comma-separated variants to write beside model.tflite (fp16, int8), each measured "
        "against fp32 in the model card; '' for none",
    )


def add_run_options(g: Any) -> None:
    """``--seed``, ``--checkpoint-dir``, ``--resume`` and ``--push-to-hub`` (every recipe)."""
    g.add_argument("--seed", type=int, default=42, help="seed of everything random")
    g.add_argument(
        "--checkpoint-dir",
        type=Path,
        default=None,
        help="where each epoch is saved (default: OUT.ckpt beside the artifact; removed when "
        "the run finishes)",
    )
    g.add_argument(
        "--resume", action="store_true", help="continue an interrupted run from its checkpoints"
    )
    g.add_argument(
        "--push-to-hub",
        default=None,
        metavar="OWNER/NAME",
        help="when the artifact is written, publish it to this Hugging Face hub model repo "
        "(aslsign push; token from HF_TOKEN or `hf auth login`)",
    )
