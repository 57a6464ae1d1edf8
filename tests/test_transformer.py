"""The Wijkhuizen Transformer recipe: published size, masking, fp16 safety and TFLite parity."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import requires_tf

import aslsign
from aslsign.preprocessing import WijkhuizenPreprocessor

pytestmark = [
    pytest.mark.train,
    requires_tf,
    # a one-frame sequence fed alone: attention over one key is legitimate
    pytest.mark.filterwarnings("ignore:You are using a softmax over axis -1:UserWarning"),
]

#: fp16 TFLite stores every weight rounded to 11 significant bits (relative error <= 2^-11, about
#: 5e-4) and computes in fp32; over a few layers that moves logits by a few 1e-3 at a logit
#: scale of about 5 (measured). Allowed: 1 % of the logit scale.
FP16_TOLERANCE = 0.01


@pytest.fixture(scope="module")
def recipe():
    from training_recipes import transformer

    return transformer


@pytest.fixture(scope="module")
def real(gislr_mini):
    """A fitted pipeline, 40 real sequences and their features; rows chosen by length."""
    ds = aslsign.GislrDataset(gislr_mini)
    raws = [r.load() for r in ds.records[:40]]
    pre = WijkhuizenPreprocessor().fit(raws)
    features, lengths = pre.batch(raws)
    order = np.argsort(lengths, kind="stable")
    picks = [int(order[0]), int(order[len(order) // 2]), int(order[-1])]
    assert [int(lengths[i]) for i in picks] == sorted({int(lengths[i]) for i in picks})
    assert lengths[picks[0]] < 64 and lengths[picks[-1]] == 64, "want short and pooled clips"
    return pre, raws, features, lengths, picks


def small_model(recipe, num_classes: int = 2, **kwargs):
    """A small model whose zero-initialised weights (empty embeddings, part weights, positions)
    are set to random values, so that parity checks exercise them."""
    import keras

    keras.utils.set_random_seed(0)
    model = recipe.build_model(
        num_classes=num_classes, units=64, embedding_units=48, num_heads=4, **kwargs
    )
    rng = np.random.default_rng(1)
    for w in model.weights:
        if not np.asarray(w).any():
            w.assign(rng.normal(0.0, 0.5, w.shape).astype(np.float32))
    return model


def convert(model, path, fp16: bool = False):
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if fp16:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    path.write_bytes(converter.convert())
    return path


def logits(model, x):
    return np.asarray(model(x, training=False))


# ---------------------------------------------------------------------------- size
def test_published_configuration_has_5315965_parameters(recipe):
    units, emb, classes, frames, ratio, blocks = 512, 384, 250, 64, 2, 2

    def part(points: int) -> int:  # Dense(2 * points -> emb) + Dense(emb -> emb), no bias; empty
        return 2 * points * emb + emb * emb + emb

    embedding = (
        part(40)  # lips: 178,560
        + part(21)  # dominant hand: 163,968
        + part(5)  # dominant arm pose: 151,680
        + 3  # softmax weights of the three parts
        + emb * units  # fully connected 1, no bias: 196,608
        + units * units  # fully connected 2, no bias: 262,144
        + (frames + 1) * units  # positional embedding: 33,280
    )
    attention = units * 3 * units + 3 * units + units * units + units  # q/k/v + output: 1,050,624
    mlp = units * ratio * units + ratio * units + ratio * units * units + units  # 1,050,112
    classifier = units * classes + classes  # 128,250
    expected = embedding + blocks * (attention + mlp) + classifier
    assert embedding == 986_243 and attention + mlp == 2_100_736
    assert expected == 5_315_965  # "about 5.3 M" in the design notes
    model = recipe.build_model()
    assert model.count_params() == expected
    assert model.get_layer("embedding").count_params() == embedding
    assert model.get_layer("block_0").count_params() == attention + mlp
    assert model.get_layer("classifier").count_params() == classifier


# ---------------------------------------------------------------------------- masking
def test_padded_batch_gives_each_sequence_its_own_logits(recipe, real):
    _, _, features, lengths, _ = real
    model = small_model(recipe)
    short = [int(i) for i in np.argsort(lengths) if 0 < lengths[i] < 64][:3]
    rows = [*short, int(np.argmax(lengths))]
    batch = features[rows].copy()
    together = logits(model, batch)
    for k, i in enumerate(rows):
        n = int(lengths[i])
        alone = logits(model, features[i : i + 1, :n])  # its real frames only, no padding
        np.testing.assert_allclose(together[k], alone[0], atol=1e-5)
    # whatever the padding frames hold, they are not looked at
    noisy = batch.copy()
    pad = noisy[..., 0] < 0
    assert pad.any()
    noisy[..., 1:][pad] = np.random.default_rng(2).normal(0, 50, (int(pad.sum()), 132))
    np.testing.assert_allclose(logits(model, noisy), together, atol=1e-5)


def test_frame_mask_hides_a_quarter_of_the_real_frames_in_training(recipe):
    layer = recipe.FrameMask(0.25, seed=3)
    x = np.zeros((64, 64, 133), np.float32)
    x[:, 40:, 0] = -1.0  # 40 real frames each
    x[0, 1:, 0] = -1.0  # a one-frame sequence
    at_test = np.asarray(layer(x, training=False))
    assert (at_test == (x[..., 0] >= 0)).all()
    hidden = np.asarray(layer(x, training=True))
    assert (hidden[:, 40:] == 0).all()  # padding is never shown
    assert (hidden.sum(axis=1) >= 1).all()  # no sequence is left without a frame
    assert 0.2 < 1 - hidden[1:, :40].mean() < 0.3


def test_empty_parts_and_positions(recipe):
    """A part that is all zeros in a frame gets the learned empty embedding; the frame index
    becomes the position floor(index * frames), padding (-1) the last row."""
    layer = recipe.LandmarkEmbedding(4)
    x = np.zeros((1, 2, 10), np.float32)
    x[0, 1, 3] = 0.5
    layer.build(x.shape)
    layer.empty_embedding.assign(np.arange(4, dtype=np.float32) + 7)
    out = np.asarray(layer(x))
    np.testing.assert_array_equal(out[0, 0], [7, 8, 9, 10])
    expected = np.asarray(layer.dense_2(layer.dense_1(x[:, 1:])))[0, 0]
    np.testing.assert_allclose(out[0, 1], expected, rtol=1e-6)

    frames = 4
    embed = recipe.FrameEmbedding(units=3, embedding_units=2, frames=frames)
    rows = np.zeros((1, 6, 133), np.float32)
    rows[0, :, 0] = [0.0, 0.24, 0.25, 0.99, 1.0, -1.0]
    embed(rows)
    embed.fc_2.kernel.assign(np.zeros(embed.fc_2.kernel.shape, np.float32))  # positions only
    table = np.arange((frames + 1) * 3, dtype=np.float32).reshape(frames + 1, 3)
    embed.positions.embeddings.assign(table)
    np.testing.assert_array_equal(np.asarray(embed(rows))[0], table[[0, 0, 1, 3, 4, 4]])


# ---------------------------------------------------------------------------- fp16 and export
def test_tflite_fp32_and_fp16_match_keras_on_real_sequences(recipe, real, tmp_path):
    """Through aslsign.runtime.LiteRTModel: one padded batch and each sequence alone (padded to
    64 frames and cut to its real frames), lengths 1 to 64 (pooled)."""
    from aslsign.runtime import LiteRTModel

    _, _, features, lengths, picks = real
    inputs = [features[picks]]
    inputs += [features[[i]] for i in picks]
    inputs += [features[[i], : lengths[i]] for i in picks]
    model = small_model(recipe)
    for fp16 in (False, True):
        runner = LiteRTModel(convert(model, tmp_path / f"m{int(fp16)}.tflite", fp16))
        (name_in,), (name_out,) = runner.inputs, runner.outputs
        for x in inputs:
            ref = logits(model, x)
            got = runner(**{name_in: x})[name_out]
            assert got.shape == ref.shape and np.isfinite(got).all()
            limit = FP16_TOLERANCE * max(1.0, float(np.abs(ref).max())) if fp16 else 1e-4
            assert np.abs(got - ref).max() <= limit, (fp16, x.shape)
    # the fp16 file really holds fp16 weights, and every one of them is finite
    details = runner._interpreter.get_tensor_details()
    halves = [d for d in details if d["dtype"] == np.float16]
    assert len(halves) > 10
    for d in halves:
        try:
            value = runner._interpreter.get_tensor(d["index"])
        except ValueError:
            continue  # not a constant
        assert np.isfinite(value).all(), d["name"]


def test_published_configuration_fp16_export(recipe, real, tmp_path):
    from aslsign.runtime import LiteRTModel

    _, _, features, _, picks = real
    model = recipe.build_model(num_classes=250)
    runner = LiteRTModel(convert(model, tmp_path / "full16.tflite", fp16=True))
    (name_in,), (name_out,) = runner.inputs, runner.outputs
    x = features[picks]
    ref, got = logits(model, x), runner(**{name_in: x})[name_out]
    assert got.shape == (3, 250) and np.isfinite(got).all()
    assert np.abs(got - ref).max() <= FP16_TOLERANCE * max(1.0, float(np.abs(ref).max()))


def test_fp16_arithmetic_stays_finite(recipe, real):
    """The whole model computed in float16 (Keras float16 policy) on a padded batch: masked
    scores are replaced by -30000, which float16 holds, so nothing overflows to -inf / NaN."""
    import keras

    _, _, features, _, picks = real
    with np.errstate(over="ignore"):
        assert float(np.float16(recipe.MASK_VALUE)) == recipe.MASK_VALUE  # held exactly
        assert float(np.float16(-1e9)) == -np.inf  # the original's mask constant is not
    reference = small_model(recipe)
    previous = keras.config.dtype_policy()
    try:
        keras.config.set_dtype_policy("float16")
        half = small_model(recipe)
    finally:
        keras.config.set_dtype_policy(previous)
    half.set_weights(reference.get_weights())
    x = features[picks]
    assert (x[..., 0] < 0).any(), "want padding frames in the batch"
    out = logits(half, x).astype(np.float32)
    assert np.isfinite(out).all()
    ref = logits(reference, x)
    assert np.abs(out - ref).max() <= 0.05 * max(1.0, float(np.abs(ref).max()))


def test_serialisation_round_trip(recipe, real, tmp_path):
    import keras

    _, _, features, _, picks = real
    model = small_model(recipe, frame_mask_rate=0.1, mlp_dropout=0.2)
    path = tmp_path / "model.keras"
    model.save(path)
    again = keras.saving.load_model(path)
    np.testing.assert_allclose(logits(again, features[picks]), logits(model, features[picks]))
    assert again.get_layer("frame_mask").rate == 0.1
    assert again.get_layer("block_1").get_config()["mlp_dropout"] == 0.2


def test_runs_in_the_sign_recognizer(recipe, real, tmp_path):
    """An artifact with the wijkhuizen config: the runtime preprocesses and runs it; its
    probabilities are the softmax of the Keras logits; a clip without hands gets no result."""
    from training_recipes.export import write_artifact

    pre, raws, features, _, picks = real
    model = small_model(recipe)
    config = write_artifact(
        tmp_path,
        model,
        name="wijkhuizen-parity",
        architecture=recipe.ARCHITECTURE,
        architecture_args={"units": 64},
        labels=["hello", "thankyou"],
        preprocessor=pre,
        training={},
    )
    assert config.input.shape == (None, None, 133)
    assert config.preprocessing["name"] == "wijkhuizen" and len(config.preprocessing["mean"]) == 132
    empty = np.full((5, 543, 3), np.nan, np.float32)
    with aslsign.SignRecognizer.from_pretrained(tmp_path) as rec:
        batch = rec.predict_batch([raws[i] for i in picks] + [empty])
        for result, i in zip(batch, picks, strict=False):
            z = logits(model, features[i : i + 1])[0]
            expected = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
            np.testing.assert_allclose(result.probabilities, expected, atol=1e-5)
            np.testing.assert_allclose(rec.predict(raws[i]).probabilities, expected, atol=1e-5)
        assert not batch[-1].detected


# ---------------------------------------------------------------------------- options
def test_options_and_their_published_defaults(recipe, capsys):
    args = recipe.parse_args(["--data", "d", "--out", "o"])
    published = {
        "units": 512,
        "embedding_units": 384,
        "num_blocks": 2,
        "num_heads": 8,
        "mlp_ratio": 2,
        "frames": 64,
        "mlp_dropout": 0.3,
        "classifier_dropout": 0.1,
        "frame_mask_rate": 0.25,
        "epochs": 100,
        "per_class": 4,
        "lr": 1e-3,
        "weight_decay_ratio": 0.05,
        "clipnorm": 1.0,
        "label_smoothing": 0.25,
        "warmup_epochs": 0,
        "mirror_lips": True,
    }
    assert {k: getattr(args, k) for k in published} == published
    assert recipe.parse_args(["--data", "d", "--out", "o", "--no-mirror-lips"]).mirror_lips is False
    actions = [a for a in recipe.build_parser()._actions if a.dest != "help"]
    assert all(a.help for a in actions), [a.dest for a in actions if not a.help]
    capsys.readouterr()
    with pytest.raises(SystemExit):
        recipe.parse_args(["--help"])
    text = capsys.readouterr().out
    for option in (
        "--data",
        "--out",
        "--name",
        "--label-map",
        "--val-participants",
        "--val-ids",
        "--frames",
        "--mirror-lips",
        "--units",
        "--embedding-units",
        "--num-blocks",
        "--num-heads",
        "--mlp-ratio",
        "--mlp-dropout",
        "--classifier-dropout",
        "--frame-mask-rate",
        "--epochs",
        "--per-class",
        "--lr",
        "--warmup-epochs",
        "--weight-decay-ratio",
        "--clipnorm",
        "--label-smoothing",
        "--seed",
        "--checkpoint-dir",
        "--resume",
        "--prototypes",
    ):
        assert option in text, option


def test_recipe_trains_and_exports_an_artifact(gislr_small, tmp_path):
    """The recipe end to end on 4 signers: statistics fitted on the training split only,
    class-balanced batches, the artifact measured through SignRecognizer."""
    import aslsign
    from training_recipes import transformer

    out = tmp_path / "tf"
    argv = ["--data", str(gislr_small), "--out", str(out), "--units", "32"]
    argv += ["--embedding-units", "16", "--num-blocks", "1", "--num-heads", "2", "--epochs", "2"]
    argv += ["--per-class", "6", "--val-participants", "1", "--seed", "3"]
    metrics = transformer.main(argv)
    config = json.loads((out / "config.json").read_text())
    pre = config["preprocessing"]
    assert pre["name"] == "wijkhuizen" and len(pre["mean"]) == len(pre["std"]) == 132
    train_ids = config["training"]["train_participants"]
    ds = aslsign.GislrDataset(gislr_small)
    fitted = WijkhuizenPreprocessor().fit([r.load() for r in ds if r.participant_id in train_ids])
    np.testing.assert_allclose(pre["mean"], fitted.mean, rtol=1e-5)  # not the held-out signer
    assert metrics["validation"]["count"] == 12 and 0 <= metrics["validation"]["top1"] <= 1
    assert metrics["export_max_abs_diff"] <= 1e-4
    assert config["architecture_args"]["units"] == 32
    card = (out / "README.md").read_text()
    assert "class-balanced batches of 6" in card and f"{metrics['validation']['top1']:.4f}" in card
    with aslsign.SignRecognizer.from_pretrained(out) as rec:
        assert rec.predict(next(iter(ds)).path).label in ("hello", "thankyou")
