"""The ``wijkhuizen`` pipeline: hand choice, mirroring, frame filter, pooling, index, statistics."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import aslsign
from aslsign import landmarks as lm
from aslsign.errors import ConfigError, InputShapeError
from aslsign.preprocessing import WijkhuizenPreprocessor, from_config
from aslsign.preprocessing.wijkhuizen import CHANNELS, dominant_hand, pool_weights

LEFT_ROWS = list(lm.LIPS + lm.LEFT_HAND + lm.LEFT_ARM_POSE)


def clip(frames: int, left: list[int], right: list[int], seed: int = 0) -> np.ndarray:
    """Random landmarks with the left/right hand detected only in the listed frames."""
    x = np.random.default_rng(seed).uniform(0.1, 0.9, (frames, 543, 3)).astype(np.float32)
    x[[f for f in range(frames) if f not in left], 468:489] = np.nan
    x[[f for f in range(frames) if f not in right], 522:543] = np.nan
    return x


def literal_pool(values: np.ndarray, total: int, frames: int = 64) -> np.ndarray:
    """The original's downsampling, step by step: repeat, pad with edge frames, nan-mean."""
    if len(values) < frames * frames:
        values = np.repeat(values, (frames * frames) // total, axis=0)
    length = len(values)
    pool = length // frames + (1 if length % frames else 0)
    padding = pool * frames - length if pool == 1 else (pool * frames) % length
    before = padding // 2 + frames // 2
    after = padding // 2 + frames // 2 + padding % 2
    values = np.concatenate(
        [np.repeat(values[:1], before, 0), values, np.repeat(values[-1:], after, 0)]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # windows with nothing detected
        return np.nanmean(values.reshape(frames, -1, *values.shape[1:]), axis=1)


@pytest.fixture(scope="module")
def real(gislr_mini):
    ds = aslsign.GislrDataset(gislr_mini)
    return [r.load() for r in ds.records[:80]]


# ---------------------------------------------------------------------------- hand and frames
def test_dominant_hand_and_tie():
    assert dominant_hand(clip(8, left=[0, 1, 2], right=[3, 4, 5, 6])) == "right"
    assert dominant_hand(clip(8, left=[0, 1, 2, 3], right=[5, 6])) == "left"
    tie = clip(8, left=[0, 1, 2], right=[4, 5, 6])
    assert dominant_hand(tie) == "left"  # the left hand wins a tie
    coords, _ = WijkhuizenPreprocessor().select(tie)
    # the left hand's frames are kept and its points read as they are (no mirroring)
    np.testing.assert_array_equal(coords, tie[[0, 1, 2]][:, LEFT_ROWS, :2])
    # counted per value: a right hand seen in as many frames but missing one coordinate loses
    x = clip(6, left=[0, 1, 2], right=[3, 4, 5])
    x[3, 530, 2] = np.nan
    assert dominant_hand(x) == "left"
    x[0, 470, :] = np.nan
    assert dominant_hand(x) == "right"


def test_keeps_only_frames_with_the_dominant_hand():
    x = clip(10, left=[1, 2, 4, 7, 8], right=[0, 3])
    x[4, 468:478] = np.nan  # half the hand missing: the frame still counts
    pre = WijkhuizenPreprocessor()
    coords, index = pre.select(x)
    np.testing.assert_array_equal(coords, x[[1, 2, 4, 7, 8]][:, LEFT_ROWS, :2])
    # positions since the first kept frame (0, 1, 3, 6, 7), divided by the largest
    np.testing.assert_allclose(index, np.array([0, 1, 3, 6, 7]) / 7, rtol=1e-6)
    out = pre(x)
    assert out.shape == (64, 133) and out.dtype == np.float32
    np.testing.assert_allclose(out[:5, 0], np.array([0, 1, 3, 6, 7]) / 7, rtol=1e-6)
    # padding: index -1, coordinates 0
    assert (out[5:, 0] == -1).all() and (out[5:, 1:] == 0).all()
    features, lengths = pre.batch([x])
    assert lengths.tolist() == [5]
    np.testing.assert_array_equal(features[0], out)


def test_nothing_usable_gives_no_frames():
    pre = WijkhuizenPreprocessor()
    face_only = clip(7, left=[], right=[])
    assert pre(face_only).shape == (0, 133)
    assert pre(np.full((3, 543, 3), np.nan, np.float32)).shape == (0, 133)
    features, lengths = pre.batch([face_only, clip(7, left=[2], right=[])])
    assert lengths.tolist() == [0, 1] and features.shape == (2, 64, 133)
    assert (features[0, :, 0] == -1).all() and (features[0, :, 1:] == 0).all()
    assert features[1, 0, 0] == 0.0  # one frame: index 0 (not 0 / 0)
    with pytest.raises(InputShapeError, match=r"\(frames, 543, 3\)"):
        pre(np.zeros((4, 543, 2), np.float32))
    with pytest.raises(InputShapeError):
        pre.batch([])


# ---------------------------------------------------------------------------- mirroring
def test_right_dominant_clip_is_mirrored():
    x = clip(6, left=[0], right=[0, 1, 2, 3, 4])
    pre = WijkhuizenPreprocessor()
    coords, _ = pre.select(x)
    rows = lm.MIRROR[LEFT_ROWS]
    assert list(rows[40:61]) == list(lm.RIGHT_HAND) and list(rows[61:]) == list(lm.RIGHT_ARM_POSE)
    expected = x[:5][:, rows, :2].copy()
    expected[..., 0] = 1.0 - expected[..., 0]
    np.testing.assert_array_equal(coords, expected)
    # the original's quirk: lips neither flipped nor swapped
    quirk, _ = WijkhuizenPreprocessor(mirror_lips=False).select(x)
    np.testing.assert_array_equal(quirk[:, :40], x[:5][:, list(lm.LIPS), :2])
    np.testing.assert_array_equal(quirk[:, 40:], expected[:, 40:])


def test_a_clip_and_its_mirror_give_equal_features(real):
    pre = WijkhuizenPreprocessor().fit(real[:40])
    quirk = WijkhuizenPreprocessor(mirror_lips=False).fit(real[:40])
    sides = set()
    for x in real[:12]:
        counts = [np.count_nonzero(~np.isnan(x[:, h])) for h in (lm.LEFT_HAND, lm.RIGHT_HAND)]
        if counts[0] == counts[1]:
            continue  # a tie is not symmetric: the left hand wins both ways
        sides.add(dominant_hand(x))
        m = lm.mirror(x)
        assert dominant_hand(m) != dominant_hand(x)
        np.testing.assert_allclose(pre(m), pre(x), atol=1e-4)
        np.testing.assert_allclose(
            WijkhuizenPreprocessor()(m), WijkhuizenPreprocessor()(x), atol=1e-6
        )
        # without mirror_lips only the hand and arm channels agree
        a, b = quirk(m), quirk(x)
        np.testing.assert_allclose(a[:, CHANNELS["hand"]], b[:, CHANNELS["hand"]], atol=1e-4)
        np.testing.assert_allclose(a[:, CHANNELS["pose"]], b[:, CHANNELS["pose"]], atol=1e-4)
        assert np.abs(a[:, CHANNELS["lips"]] - b[:, CHANNELS["lips"]]).max() > 0.1
    assert sides == {"left", "right"}, "want clips of both dominant hands"


# ---------------------------------------------------------------------------- length
@pytest.mark.parametrize(
    ("kept", "total"), [(64, 64), (64, 3000), (65, 65), (100, 100), (100, 150), (700, 900)]
)
def test_pool_weights_match_the_literal_scheme(kept, total):
    frames = np.arange(kept, dtype=np.float64)[:, None]  # value = frame number
    weights = pool_weights(kept, total, 64)
    assert weights.shape == (64, kept)
    assert len(set(weights.sum(axis=1))) == 1  # equal windows
    pooled = weights @ frames / weights.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(pooled, literal_pool(frames, total))


def test_pool_weights_for_long_clips_and_odd_frames():
    for kept, frames in ((4096, 64), (5000, 64), (200, 7), (9, 3)):
        weights = pool_weights(kept, kept, frames)
        assert weights.shape == (frames, kept)
        assert (weights.sum(axis=0) > 0).all()  # every frame is used
        assert len(set(weights.sum(axis=1))) == 1
    np.testing.assert_allclose(
        pool_weights(5000, 5000, 64) @ np.arange(5000.0)[:, None] / 80,
        literal_pool(np.arange(5000.0)[:, None], 5000),
    )
    with pytest.raises(ValueError):
        pool_weights(10, 10, 64)


def test_pooled_window_by_hand():
    """100 kept frames of 100: each is repeated 4096 // 100 = 40 times (4000 frames); 4032 is the
    next multiple of 64, so 32 + 64 edge frames are added, 48 before and 48 after, and windows are
    64 long. Window 0 is frame 0 only; window 1 is 24 copies of frame 0 and 40 of frame 1."""
    n = 100
    x = clip(n, left=list(range(n)), right=[])
    x[:, 468:489, 0] = (np.arange(n, dtype=np.float32) / 1000)[:, None]
    x[1, 470, :] = np.nan  # hand point 2 missing in frame 1
    pre = WijkhuizenPreprocessor()
    coords, index = pre.select(x)
    assert coords.shape == (64, 66, 2)
    hand_x = coords[:, 40:61, 0]
    assert np.allclose(hand_x[0], 0.0)
    np.testing.assert_allclose(hand_x[1, 0], (24 * 0.000 + 40 * 0.001) / 64, rtol=1e-5)
    np.testing.assert_allclose(hand_x[1, 2], 0.0, atol=1e-7)  # nan-mean: only frame 0 left
    np.testing.assert_allclose(hand_x[-1], 0.099, rtol=1e-5)  # the last window: last frame
    # the frame index is pooled the same way, then divided by its largest value
    raw = np.array([0.0, (24 * 0 + 40 * 1) / 64])
    np.testing.assert_allclose(index[:2], raw / 99, rtol=1e-5)
    assert index[-1] == 1.0 and (np.diff(index) >= 0).all()
    out = pre(x)
    assert out.shape == (64, 133) and (out[:, 0] >= 0).all()  # no padding after pooling
    assert pre.batch([x])[1].tolist() == [64]


def test_pooling_counts_the_frames_before_filtering():
    """The repeat count is 4096 // (all frames of the clip), as in the original."""
    x = clip(150, left=list(range(100)), right=[])
    coords, _ = WijkhuizenPreprocessor().select(x)
    kept = x[:100][:, LEFT_ROWS, :2].reshape(100, -1).astype(np.float64)
    np.testing.assert_allclose(
        coords.reshape(64, -1), literal_pool(kept, total=150), rtol=1e-5, atol=1e-6
    )


# ---------------------------------------------------------------------------- normalisation
def test_fitted_statistics_standardise_the_training_sequences(real):
    base = WijkhuizenPreprocessor()
    fitted = base.fit(real)
    assert fitted.fitted and not base.fitted
    assert fitted.frames == base.frames and fitted.mirror_lips == base.mirror_lips
    detected = []
    for x in real:
        coords, _ = base.select(x)
        detected.append(~np.isnan(coords.reshape(len(coords), -1)))
    features, lengths = fitted.batch(real)
    values = np.concatenate([f[:n, 1:] for f, n in zip(features, lengths, strict=True)])
    mask = np.concatenate(detected)
    assert mask.shape == values.shape and mask.mean() > 0.5
    for c in range(132):
        v = values[mask[:, c], c].astype(np.float64)
        assert len(v) > 100
        assert abs(v.mean()) < 1e-3 and abs(v.std() - 1) < 1e-3, c
    # undetected values are 0 after normalisation, not -mean / std
    assert (values[~mask] == 0).all() and np.abs(np.array(fitted.mean)).min() > 0.05
    # and the statistics are those of the selected coordinates
    sel = np.concatenate([base.select(x)[0].reshape(-1, 132) for x in real]).astype(np.float64)
    np.testing.assert_allclose(fitted.mean, np.nanmean(sel, axis=0), rtol=1e-6)
    np.testing.assert_allclose(fitted.std, np.nanstd(sel, axis=0), rtol=1e-6)


def test_nan_becomes_zero_after_normalisation():
    x = clip(12, left=list(range(12)), right=[])
    x[:, 472] = np.nan  # hand point 4 never detected
    mean = tuple(float(v) for v in np.linspace(0.3, 0.7, 132))
    pre = WijkhuizenPreprocessor(mean=mean, std=(0.1,) * 132)
    out = pre(x)
    hand = out[:12, CHANNELS["hand"]].reshape(12, 21, 2)
    assert (hand[:, 4] == 0).all()
    expected = (x[:12, 468, :2] - np.array(mean[80:82], np.float32)) / np.float32(0.1)
    np.testing.assert_allclose(hand[:, 0], expected, rtol=1e-5, atol=1e-5)
    assert np.isfinite(out).all()


def test_fit_defaults_for_coordinates_never_seen_or_constant():
    x = clip(5, left=list(range(5)), right=[])
    x[:, lm.LEFT_ARM_POSE[0]] = np.nan  # never seen
    x[:, lm.LIPS[0], :2] = 0.25  # never varies
    fitted = WijkhuizenPreprocessor().fit([x])
    assert fitted.mean[122:124] == (0.0, 0.0) and fitted.std[122:124] == (1.0, 1.0)
    assert fitted.mean[0] == pytest.approx(0.25) and fitted.std[0] == 1.0


# ---------------------------------------------------------------------------- batch and config
def test_batch_equals_one_at_a_time(real):
    pre = WijkhuizenPreprocessor().fit(real[:20])
    seqs = [*real[:12], np.full((4, 543, 3), np.nan, np.float32)]
    seqs.append(clip(300, left=list(range(0, 300, 2)), right=[1, 3], seed=1))
    features, lengths = pre.batch(seqs)
    singles = [pre(s) for s in seqs]
    assert lengths.tolist() == [int((s[:, 0] >= 0).sum()) for s in singles]
    assert lengths[-2] == 0 and lengths[-1] == 64 and (lengths[:-2] > 0).all()
    np.testing.assert_array_equal(features, pre.pad_batch(singles))
    assert features.shape == (len(seqs), 64, 133)
    padded = pre.pad_batch([np.zeros((0, 133), np.float32), singles[0]])
    assert padded.shape == (2, 64, 133) and (padded[0, :, 0] == -1).all()


def test_config_round_trip(real):
    for pre in (
        WijkhuizenPreprocessor(),
        WijkhuizenPreprocessor(frames=32, mirror_lips=False),
        WijkhuizenPreprocessor().fit(real[:10]),
    ):
        cfg = json.loads(json.dumps(pre.to_config()))
        assert cfg["name"] == "wijkhuizen"
        again = from_config(cfg)
        assert again == pre and again.num_features == (133,)
        x = real[0]
        np.testing.assert_array_equal(again(x), pre(x))
    assert WijkhuizenPreprocessor(frames=32)(real[0]).shape[0] in (0, 32)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"frames": 0}, "frames must be an integer >= 1"),
        ({"frames": "64"}, "frames must be an integer"),
        ({"frames": True}, "frames must be an integer"),
        ({"mirror_lips": "yes"}, "mirror_lips must be true or false"),
        ({"mean": [0.0] * 131}, "must hold 132 numbers"),
        ({"std": [1.0] * 133}, "must hold 132 numbers"),
        ({"std": [1.0] * 131 + [0.0]}, r"std must be > 0"),
        ({"std": [-1.0] * 132}, r"std must be > 0"),
        ({"mean": [float("nan")] * 132}, "finite"),
        ({"mean": "zeros"}, "must be a list of 132 numbers"),
        ({"window": 3}, "Bad parameters"),
    ],
)
def test_bad_config(params, match):
    with pytest.raises(ConfigError, match=match):
        from_config({"name": "wijkhuizen", **params})
