"""The gislr_1st pipeline against a slow, literal re-statement of its definition."""

from __future__ import annotations

import math

import numpy as np
import pytest

import aslsign
from aslsign import landmarks as lm
from aslsign.errors import ConfigError, InputShapeError
from aslsign.preprocessing import Gislr1stPreprocessor, RawPreprocessor, from_config

POINTS = list(lm.LIPS + lm.LEFT_HAND + lm.RIGHT_HAND + lm.NOSE + lm.RIGHT_EYE + lm.LEFT_EYE)


def reference(seq: np.ndarray, max_len: int = 384) -> np.ndarray:
    """Element-by-element statement of the 1st-place feature definition (float64)."""
    frames = [f for f in seq.astype(np.float64) if not np.isnan(f).all()]
    if not frames:
        return np.zeros((0, 708))
    center, std = [], []
    for c in range(3):
        vals = [f[17, c] for f in frames if not math.isnan(f[17, c])]
        center.append(sum(vals) / len(vals) if vals else 0.5)
        sq = [(f[p, c] - center[c]) ** 2 for f in frames for p in POINTS if not math.isnan(f[p, c])]
        std.append(math.sqrt(sum(sq) / len(sq)) if sq else math.nan)
    pos = np.array(
        [[[(f[p, c] - center[c]) / std[c] for c in range(2)] for p in POINTS] for f in frames]
    )[:max_len]
    t = len(pos)
    out = np.zeros((t, 708))
    for i in range(t):
        out[i, :236] = pos[i].reshape(-1)
        if i + 1 < t:
            out[i, 236:472] = (pos[i + 1] - pos[i]).reshape(-1)
        if i + 2 < t:
            out[i, 472:] = (pos[i + 2] - pos[i]).reshape(-1)
    return np.nan_to_num(out, nan=0.0)


def random_sequence(rng: np.random.Generator, frames: int, nan_rate: float = 0.2) -> np.ndarray:
    x = rng.uniform(0.1, 0.9, (frames, 543, 3)).astype(np.float32)
    x[rng.random((frames, 543)) < nan_rate] = np.nan
    return x


@pytest.mark.parametrize("frames", [1, 2, 3, 17, 50])
def test_matches_reference_on_synthetic(frames):
    x = random_sequence(np.random.default_rng(frames), frames)
    x[frames // 2, lm.LEFT_HAND] = np.nan  # a missing hand in one frame
    got = Gislr1stPreprocessor()(x)
    assert got.shape == (frames, 708) and got.dtype == np.float32
    np.testing.assert_allclose(got, reference(x), rtol=1e-4, atol=1e-4)


def test_matches_reference_on_real_sequences(gislr_mini):
    ds = aslsign.GislrDataset(gislr_mini)
    pre = Gislr1stPreprocessor()
    for record in ds.records[:12]:
        x = record.load()
        np.testing.assert_allclose(pre(x), reference(x), rtol=1e-4, atol=1e-4)


def test_drops_empty_frames_and_truncates():
    rng = np.random.default_rng(0)
    x = random_sequence(rng, 30, nan_rate=0.0)
    x[[0, 5, 6]] = np.nan
    pre = Gislr1stPreprocessor(max_len=10)
    out = pre(x)
    assert out.shape == (10, 708)
    np.testing.assert_allclose(out, reference(x, max_len=10), rtol=1e-4, atol=1e-4)
    # normalisation statistics come from the whole clip, not the first max_len frames
    np.testing.assert_allclose(out[:, :236], Gislr1stPreprocessor()(x)[:10, :236], atol=1e-6)


def test_lag_channels_are_forward_differences():
    out = Gislr1stPreprocessor()(random_sequence(np.random.default_rng(1), 6, nan_rate=0.0))
    pos, d1, d2 = out[:, :236], out[:, 236:472], out[:, 472:]
    np.testing.assert_allclose(d1[:-1], pos[1:] - pos[:-1], atol=1e-6)
    np.testing.assert_allclose(d2[:-2], pos[2:] - pos[:-2], atol=1e-6)
    assert not d1[-1].any() and not d2[-2:].any()


def test_invariant_to_shift_and_scale():
    x = random_sequence(np.random.default_rng(2), 12)
    moved = x.copy()
    moved[..., :2] = moved[..., :2] * 1.7 + np.array([0.3, -0.2], np.float32)
    pre = Gislr1stPreprocessor()
    np.testing.assert_allclose(pre(moved), pre(x), atol=1e-4)


def test_all_nan_gives_no_frames():
    out = Gislr1stPreprocessor()(np.full((5, 543, 3), np.nan, np.float32))
    assert out.shape == (0, 708)


def test_missing_center_landmark_uses_fallback_and_no_nan_leaks():
    x = random_sequence(np.random.default_rng(3), 8, nan_rate=0.0)
    x[:, 17] = np.nan  # centre landmark never seen -> centre 0.5
    out = Gislr1stPreprocessor()(x)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, reference(x), rtol=1e-4, atol=1e-4)


def test_pad_batch():
    pre = Gislr1stPreprocessor()
    a, b = np.ones((3, 708), np.float32), np.ones((5, 708), np.float32)
    batch = pre.pad_batch([a, b])
    assert batch.shape == (2, 5, 708)
    assert (batch[0, 3:] == -100).all() and (batch[1] == 1).all()
    with pytest.raises(InputShapeError):
        pre.pad_batch([])


def test_config_round_trip_and_errors():
    pre = Gislr1stPreprocessor(max_len=64, lags=(1,))
    cfg = pre.to_config()
    assert cfg["name"] == "gislr_1st" and cfg["max_len"] == 64
    again = from_config(cfg)
    assert again == pre and again.num_features == (118 * 2 * 2,)
    assert isinstance(from_config({"name": "raw"}), RawPreprocessor)
    with pytest.raises(ConfigError, match="known pipelines"):
        from_config({"name": "nope"})
    with pytest.raises(ConfigError, match="unknown landmark group"):
        from_config({"name": "gislr_1st", "groups": ["lips", "tail"]})
    with pytest.raises(ConfigError, match="Bad parameters"):
        from_config({"name": "gislr_1st", "window": 3})
    with pytest.raises(ConfigError, match="'name'"):
        from_config({"max_len": 3})


def test_rejects_wrong_shape():
    with pytest.raises(InputShapeError, match=r"\(frames, 543, 3\)"):
        Gislr1stPreprocessor()(np.zeros((4, 543, 2), np.float32))


def test_batch_equals_one_at_a_time(gislr_mini):
    ds = aslsign.GislrDataset(gislr_mini)
    seqs = [r.load() for r in ds.records[:10]]
    seqs.append(np.full((4, 543, 3), np.nan, np.float32))  # nothing detected
    seqs.append(random_sequence(np.random.default_rng(5), 500))  # longer than max_len
    pre = Gislr1stPreprocessor()
    features, lengths = pre.batch(seqs)
    singles = [pre(s) for s in seqs]
    assert list(lengths) == [len(s) for s in singles] and lengths[-2] == 0 and lengths[-1] == 384
    np.testing.assert_allclose(features, pre.pad_batch(singles), rtol=1e-5, atol=1e-5)
    with pytest.raises(InputShapeError):
        pre.batch([])
