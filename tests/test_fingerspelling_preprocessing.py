"""The ``fingerspelling`` and ``aslfr_columns`` pipelines of aslsign.preprocessing."""

from __future__ import annotations

import math

import numpy as np
import pytest

import aslsign
from aslsign import landmarks as lm
from aslsign.errors import ConfigError
from aslsign.preprocessing import ColumnsPreprocessor, FingerspellingPreprocessor, from_config
from aslsign.preprocessing.fingerspelling import resample_indices

PRE = FingerspellingPreprocessor()


def fake_sequence(rng: np.random.Generator, frames: int, hand: str = "right") -> np.ndarray:
    """A body with shoulders, face points and one moving hand; other points undetected."""
    x = np.full((frames, 543, 3), np.nan, np.float32)
    x[:, lm.POSE] = rng.random((33, 3)) * 0.2 + 0.4
    x[:, lm.POSE[11], :2] = (0.6, 0.6)  # the subject's left shoulder, on the image right
    x[:, lm.POSE[12], :2] = (0.4, 0.6)
    x[:, lm.LIPS] = rng.random((40, 3)) * 0.05 + 0.5
    rows = lm.RIGHT_HAND if hand == "right" else lm.LEFT_HAND
    x[:, rows] = rng.random((frames, 21, 3)) * 0.1 + 0.3
    return x


def test_feature_layout():
    points = 21 + 21 + 40 + 4 + 10
    assert PRE.num_points == points
    assert PRE.num_features == (points * 2 * 2 + 63,)
    assert FingerspellingPreprocessor(lags=(), hand_shape=False).num_features == (points * 2,)


def test_batch_equals_one_at_a_time(gislr_mini):
    seqs = [r.load() for r in list(aslsign.GislrDataset(gislr_mini))[:24]]
    features, lengths = PRE.batch(seqs)
    assert features.shape == (24, lengths.max(), *PRE.num_features)
    for x, f, n in zip(seqs, features, lengths, strict=True):
        single = PRE(x)
        assert len(single) == n
        np.testing.assert_allclose(single, f[:n], atol=1e-5)
        assert (f[n:] == PRE.pad_value).all()
        assert np.isfinite(single).all()


def test_left_handed_signing_is_mirrored_to_the_right(gislr_mini):
    for record in list(aslsign.GislrDataset(gislr_mini))[:10]:
        x = record.load()
        np.testing.assert_allclose(PRE(x), PRE(lm.mirror(x)), atol=1e-5)
    rng = np.random.default_rng(0)
    right = fake_sequence(rng, 12)
    left = lm.mirror(right)
    np.testing.assert_allclose(PRE(left), PRE(right), rtol=1e-4, atol=1e-5)
    plain = FingerspellingPreprocessor(mirror_dominant=False)
    assert np.abs(plain(left) - plain(right)).max() > 0.1


def test_invariant_to_position_and_size():
    x = fake_sequence(np.random.default_rng(1), 15)
    moved = x.copy()
    moved[..., :2] = (x[..., :2] - 0.5) * 0.7 + 0.5 + np.array([0.1, -0.05], np.float32)
    moved[..., 2] = x[..., 2] * 0.7  # a smaller signer: depth offsets shrink as well
    np.testing.assert_allclose(PRE(moved), PRE(x), atol=1e-4)
    # the "std" fallback (no shoulders) is invariant too
    no_shoulders = x.copy()
    no_shoulders[:, lm.POSE] = np.nan
    moved[:, lm.POSE] = np.nan
    np.testing.assert_allclose(PRE(moved), PRE(no_shoulders), atol=1e-4)


def test_hand_shape_block_is_the_hand_relative_to_its_wrist():
    x = fake_sequence(np.random.default_rng(2), 6)
    f = PRE(x)
    hand = x[:, lm.RIGHT_HAND]
    rel = hand - hand[:, :1]
    size = np.linalg.norm(rel[:, 9, :2], axis=-1)[:, None, None]
    np.testing.assert_allclose(f[:, -63:], (rel / size).reshape(6, -1), rtol=1e-5, atol=1e-6)


def test_frame_filter_and_length_limit():
    rng = np.random.default_rng(3)
    x = fake_sequence(rng, 40)
    x[5:10, lm.HANDS] = np.nan  # no hand in five frames
    x[20] = np.nan  # nothing at all in one frame
    assert len(PRE(x)) == 34
    assert len(FingerspellingPreprocessor(frame_filter="landmarks")(x)) == 39
    assert len(FingerspellingPreprocessor(frame_filter="none")(x)) == 40
    short = FingerspellingPreprocessor(max_len=10)
    kept = PRE.select(x)
    np.testing.assert_array_equal(short.select(x), kept[resample_indices(len(kept), 10)])
    truncated = FingerspellingPreprocessor(max_len=10, overflow="truncate")
    np.testing.assert_array_equal(truncated.select(x), kept[:10])
    assert PRE(np.full((7, 543, 3), np.nan, np.float32)).shape == (0, *PRE.num_features)


@pytest.mark.parametrize(("n", "m"), [(10, 5), (1000, 512), (513, 512), (7, 1), (100, 3), (9, 9)])
def test_resample_indices_round_evenly_spaced_positions(n, m):
    got = resample_indices(n, m)
    want = [math.floor(i * (n - 1) / max(m - 1, 1) + 0.5) for i in range(m)]
    assert got.tolist() == want
    assert got[0] == 0 and (m == 1 or got[-1] == n - 1)


def test_config_round_trip_and_errors():
    pre = FingerspellingPreprocessor(groups=("right_hand", "lips"), lags=(1, 3), max_len=64)
    again = from_config(pre.to_config())
    assert again == pre and again.num_features == pre.num_features
    for bad in ({"groups": ["paws"]}, {"normalize": "l2"}, {"max_len": 0}, {"frame_filter": "x"}):
        with pytest.raises(ConfigError):
            from_config({"name": "fingerspelling", **bad})
    with pytest.raises(ConfigError, match="Bad parameters"):
        from_config({"name": "fingerspelling", "colour": 1})


def test_columns_pipeline_takes_named_columns():
    x = np.random.default_rng(4).random((5, 543, 3)).astype(np.float32)
    x[0, 522] = np.nan
    pre = ColumnsPreprocessor(("x_right_hand_0", "z_face_10", "y_pose_3"))
    got = pre(x)
    np.testing.assert_array_equal(got[:, 0], x[:, 522, 0])
    np.testing.assert_array_equal(got[:, 1], x[:, 10, 2])
    np.testing.assert_array_equal(got[:, 2], x[:, 489 + 3, 1])
    assert np.isnan(got[0, 0])
    assert from_config(pre.to_config()) == pre
    with pytest.raises(ConfigError, match="unknown column"):
        ColumnsPreprocessor(("x_tail_0",))
