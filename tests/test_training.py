"""The recipes' shared machinery: augmentations, batches, splits, AWP, decay, schedule, resume."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import requires_tf

from aslsign import landmarks as lm

# ----------------------------------------------------------------------------- augmentations


def _seq(frames: int = 30, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.2, 0.8, (frames, 543, 3)).astype(np.float32)
    x[:, lm.LEFT_HAND] = np.nan
    return x


def test_temporal_mask_masks_one_contiguous_span():
    from training_recipes.augment import temporal_mask

    x = _seq(50)
    for seed in range(20):
        y = temporal_mask(x, np.random.default_rng(seed), size=(0.2, 0.4))
        masked = np.flatnonzero(np.isnan(y).all(axis=(1, 2)))
        assert 10 <= len(masked) <= 20
        assert np.array_equal(masked, np.arange(masked[0], masked[0] + len(masked)))
        keep = np.setdiff1d(np.arange(50), masked)
        np.testing.assert_array_equal(y[keep], x[keep])
    assert not np.isnan(x[:, lm.RIGHT_HAND]).any(), "the input is not modified"


def test_cutout_removes_exactly_the_points_inside_a_square():
    from training_recipes.augment import spatial_cutout

    x = _seq(5)
    y = spatial_cutout(x, np.random.default_rng(3), size=(0.3, 0.3))
    gone = np.isnan(y[..., 0]) & ~np.isnan(x[..., 0])
    assert gone.any() and np.isnan(y[gone]).all()
    xs, ys = x[..., 0][gone], x[..., 1][gone]
    # every removed point lies in one square of side 0.3; every kept point lies outside it
    assert xs.max() - xs.min() < 0.3 and ys.max() - ys.min() < 0.3
    kept = ~np.isnan(y[..., 0])
    inside = (
        (x[..., 0] > xs.min())
        & (x[..., 0] < xs.max())
        & (x[..., 1] > ys.min())
        & (x[..., 1] < ys.max())
    )
    assert not (kept & inside).any()


def test_spatial_affine_is_the_identity_with_empty_ranges_and_keeps_nan():
    from training_recipes.augment import spatial_affine

    x = _seq(4)
    same = spatial_affine(
        x,
        np.random.default_rng(0),
        scale=(1, 1),
        shear=(0, 0),
        shift=(0, 0),
        degrees=(0, 0),
    )
    np.testing.assert_allclose(same, x, atol=1e-6, equal_nan=True)
    rot = spatial_affine(
        x, np.random.default_rng(0), scale=(1, 1), shear=(0, 0), shift=(0, 0), degrees=(90, 90)
    )
    # +90 degrees about (0.5, 0.5) with the published matrix [[c, s], [-s, c]]: (x, y) ->
    # (0.5 - (y - 0.5), 0.5 + (x - 0.5))
    np.testing.assert_allclose(rot[..., 0], 1.0 - x[..., 1], atol=1e-5, equal_nan=True)
    np.testing.assert_allclose(rot[..., 1], x[..., 0], atol=1e-5, equal_nan=True)
    assert np.isnan(rot[:, lm.LEFT_HAND]).all()


def test_temporal_crop_takes_a_window_of_max_len():
    from training_recipes.augment import temporal_crop

    x = np.arange(100, dtype=np.float32)[:, None, None] * np.ones((1, 543, 3), np.float32)
    starts = set()
    for seed in range(30):
        y = temporal_crop(x, np.random.default_rng(seed), 40)
        assert len(y) == 40 and np.all(np.diff(y[:, 0, 0]) == 1)
        starts.add(int(y[0, 0, 0]))
    assert len(starts) > 5 and max(starts) < 40
    short = temporal_crop(x[:30], np.random.default_rng(0), 40)
    np.testing.assert_array_equal(short, x[:30])


@requires_tf
@pytest.mark.parametrize("method", ["bilinear", "bicubic", "nearest"])
def test_resize_time(method):
    from training_recipes.augment import resize_time

    t = np.linspace(0, 1, 20, dtype=np.float32)
    x = np.broadcast_to(t[:, None, None], (20, 543, 3)).copy()
    y = resize_time(x, 31, method)
    assert y.shape == (31, 543, 3) and y.dtype == np.float32
    assert np.all(np.diff(y[:, 0, 0]) >= -1e-3), "a ramp stays (nearly) monotonic"
    assert abs(y[0, 0, 0]) < 0.05 and abs(y[-1, 0, 0] - 1) < 0.05


@requires_tf
def test_published_policy_never_mutates_and_is_seeded():
    from training_recipes.augment import PublishedAugment

    aug = PublishedAugment(max_len=16)
    x = _seq(40)
    before = x.copy()
    a = aug(x, np.random.default_rng(5))
    b = aug(x, np.random.default_rng(5))
    np.testing.assert_array_equal(x, before)
    np.testing.assert_array_equal(a, b)
    assert len(a) <= 16
    always = PublishedAugment(
        p_resample=0, p_flip=1, max_len=None, p_affine=0, p_temporal_mask=0, p_cutout=0
    )
    np.testing.assert_array_equal(always(x, np.random.default_rng(0)), lm.mirror(x))


# ----------------------------------------------------------------------------- batches


def test_balanced_batches_hold_per_class_samples_of_every_class():
    from training_recipes.data import balanced_batches

    ys = np.array([0] * 10 + [1] * 3 + [2] * 7)
    batches = balanced_batches(ys, 2, 3, np.random.default_rng(0))
    assert len(batches) == len(ys) // 6
    for b in batches:
        assert sorted(np.bincount(ys[b], minlength=3)) == [2, 2, 2]
    # the 3 samples of the small class are cycled: each used exactly twice in the 6 slots
    small = [i for b in batches for i in b if ys[i] == 1]
    assert sorted(small) == [10, 10, 11, 11, 12, 12]
    # a large class is not repeated before every one of its samples was used
    big = [i for b in batches for i in b if ys[i] == 0]
    assert len(big) == len(set(big)) == 6


def test_participant_folds_partition_the_participants():
    from training_recipes.data import participant_folds

    people = [5, 9, 1, 7, 3, 11, 2]
    folds = participant_folds(people, 3, seed=0)
    assert sorted(p for f in folds for p in f) == sorted(people)
    assert sorted(len(f) for f in folds) == [2, 2, 3]
    assert folds == participant_folds(people, 3, seed=0)


def test_batches_are_reproducible_per_epoch():
    from training_recipes.data import Batches, one_hot

    items = [np.full((n, 2), n, np.float32) for n in (3, 5, 2, 7, 4, 6)]

    def make():
        return Batches(
            items,
            [0, 1, 0, 1, 0, 1],
            prepare=lambda x, rng: x if rng is None else x + rng.normal(size=x.shape),
            pad=lambda xs: np.stack([np.pad(x, ((0, 7 - len(x)), (0, 0))) for x in xs]),
            collate=one_hot(2),
            batch_size=4,
            seed=1,
        )

    a, b = make(), make()
    first = [x for x, _ in a.epoch()]
    second = [x for x, _ in a.epoch()]
    b.epoch_index = 1  # as a resumed run would set it
    resumed = [x for x, _ in b.epoch()]
    assert len(first) == len(a) == 2
    assert all(np.array_equal(p, q) for p, q in zip(second, resumed, strict=True))
    assert not all(np.array_equal(p, q) for p, q in zip(first, second, strict=True))


# ----------------------------------------------------------------------------- training


def _toy(tf_seed: int = 0):
    import keras

    keras.utils.set_random_seed(tf_seed)
    inputs = keras.Input((4,))
    outputs = keras.layers.Dense(3)(keras.layers.Dense(5, activation="tanh")(inputs))
    return keras.Model(inputs, outputs)


@requires_tf
def test_awp_step_applies_the_gradient_at_the_perturbed_weights():
    import keras
    import tensorflow as tf

    from training_recipes.train import Trainer

    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 4)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 8)]
    cce = keras.losses.CategoricalCrossentropy(from_logits=True)
    model = _toy()
    trainer = Trainer(model, lambda yt, yp, xs: cce(yt, yp), awp_lambda=0.2)
    trainer.compile(optimizer=keras.optimizers.SGD(1.0))
    trainer(x)
    start = [v.numpy().copy() for v in trainer.trainable_variables]

    # expected: g = grad at w; w' = w + 0.2 g / (|g| + eps); update w -= grad at w'
    ref = _toy()
    ref.set_weights(model.get_weights())
    with tf.GradientTape() as tape:
        loss = cce(y, ref(x))
    grads = tape.gradient(loss, ref.trainable_variables)
    for v, g in zip(ref.trainable_variables, grads, strict=True):
        v.assign_add(0.2 * g / (tf.norm(g) + 1e-4))
    with tf.GradientTape() as tape:
        loss = cce(y, ref(x))
    adv = [g.numpy() for g in tape.gradient(loss, ref.trainable_variables)]

    trainer.awp_active = True
    trainer.train_on_batch(x, y)
    after = [v.numpy() for v in trainer.trainable_variables]
    for w0, w1, g in zip(start, after, adv, strict=True):
        np.testing.assert_allclose(w1, w0 - g, atol=1e-5)


@requires_tf
def test_tied_decay_follows_the_learning_rate():
    import keras

    from training_recipes.train import AdamWTiedDecay

    v = keras.Variable(np.full((3,), 2.0, np.float32))
    opt = AdamWTiedDecay(0.1, weight_decay_ratio=0.5)
    opt.apply_gradients([(np.zeros(3, np.float32), v)])  # a zero gradient: only the decay acts
    np.testing.assert_allclose(v.numpy(), 2.0 * (1 - 0.1 * (0.5 * 0.1)), rtol=1e-6)


@requires_tf
def test_cosine_schedule():
    from training_recipes.train import cosine_schedule

    s = cosine_schedule(1e-3, 100, final_lr=1e-6)
    assert float(s(0)) == pytest.approx(1e-3)
    assert float(s(50)) == pytest.approx((1e-3 + 1e-6) / 2, rel=1e-4)
    assert float(s(100)) == pytest.approx(1e-6, rel=1e-3)
    stairs = cosine_schedule(1e-3, 100, final_lr=0.0, steps_per_epoch=10)
    assert float(stairs(11)) == float(stairs(19)) == pytest.approx(float(s(10)), rel=1e-3)
    warm = cosine_schedule(1e-3, 100, warmup_steps=10)
    assert float(warm(5)) == pytest.approx(5e-4) and float(warm(10)) == pytest.approx(1e-3)


@requires_tf
def test_resumed_training_equals_an_uninterrupted_run(tmp_path):
    import keras
    import tensorflow as tf

    from training_recipes.data import Batches, one_hot, tf_dataset
    from training_recipes.train import AdamWTiedDecay, Trainer, cosine_schedule, fit

    rng = np.random.default_rng(0)
    xs = [rng.normal(size=(4,)).astype(np.float32) for _ in range(24)]
    ys = rng.integers(0, 3, 24)
    cce = keras.losses.CategoricalCrossentropy(from_logits=True)

    def run(epochs: int, ckpt, resume: bool):
        model = _toy()
        source = Batches(
            xs,
            ys,
            prepare=lambda x, r: x if r is None else x + r.normal(size=4).astype(np.float32),
            pad=np.stack,
            collate=one_hot(3),
            batch_size=8,
            lengths=[1] * 24,
            seed=3,
        )
        trainer = Trainer(model, lambda yt, yp, x: cce(yt, yp), awp_lambda=0.1)
        trainer.compile(AdamWTiedDecay(cosine_schedule(0.05, 3 * len(source)), 0.1))
        trainer(np.stack(xs[:2]))
        ds = tf_dataset(
            source, tf.TensorSpec((None, 4), tf.float32), tf.TensorSpec((None, 3), tf.float32)
        )
        fit(
            trainer,
            source,
            ds,
            epochs=epochs,
            checkpoint_dir=ckpt,
            resume=resume,
            awp_start_epoch=1,
            verbose=0,
        )
        return [w.copy() for w in model.get_weights()]

    straight = run(3, tmp_path / "a", False)
    run(2, tmp_path / "b", False)  # "interrupted" after 2 epochs
    assert json.loads((tmp_path / "b" / "state.json").read_text()) == {"epoch": 2}
    with pytest.raises(SystemExit, match="--resume"):
        run(3, tmp_path / "b", False)
    resumed = run(3, tmp_path / "b", True)
    for a, b in zip(straight, resumed, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
