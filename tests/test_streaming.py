"""Streaming recognition: frames pushed one by one give what ``predict`` gives on the window."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import aslsign
from aslsign import FingerspellingRecognizer, SignRecognizer, load_sequence
from aslsign.errors import EmptySequenceError, InputShapeError, TimestampError


@pytest.fixture(scope="module")
def rec():
    with SignRecognizer.from_pretrained() as r:
        yield r


@pytest.fixture(scope="module")
def sequences(gislr_mini) -> list[np.ndarray]:
    """Real sequences, the longest ones first (they slide the window the most)."""
    paths = pd.read_csv(gislr_mini / "train.csv")["path"].tolist()
    seqs = [load_sequence(gislr_mini / p) for p in paths[::10]]
    return sorted(seqs, key=len, reverse=True)[:8]


def test_every_result_is_predict_on_its_window(rec, sequences):
    calls = []
    x = sequences[0]
    assert len(x) > 40
    with rec.stream(window_frames=24, stride=5, callback=lambda r, t: calls.append((r, t))) as s:
        results = {}
        for i, frame in enumerate(x):
            out = s.push(frame, timestamp_ms=1000 + 33 * i)
            if out is not None:
                results[i] = out
        last = s.flush()
    assert sorted(results) == list(range(4, len(x), 5))
    assert [t for _, t in calls] == [1000 + 33 * i for i in sorted(results)]
    assert [r for r, _ in calls] == [results[i] for i in sorted(results)]
    for i, got in results.items():
        ref = rec.predict(x[max(0, i + 1 - 24) : i + 1])
        assert got.label == ref.label
        np.testing.assert_allclose(got.probabilities, ref.probabilities, rtol=0, atol=1e-5)
        assert got.num_frames == min(i + 1, 24)
    ref = rec.predict(x[-24:])
    assert last.label == ref.label
    np.testing.assert_allclose(last.probabilities, ref.probabilities, rtol=0, atol=1e-5)


@pytest.mark.parametrize("window", [8, 64, 400])
def test_flush_equals_predict_on_the_last_window(rec, sequences, window):
    for x in sequences:
        with rec.stream(window_frames=window, stride=1000) as s:
            for i, frame in enumerate(x):
                assert s.push(frame, i) is None  # stride longer than the sequence
            got = s.flush()
            np.testing.assert_array_equal(s.window, x[-window:])
        ref = rec.predict(x[-window:])
        assert got.label == ref.label and got.num_frames == len(x[-window:])
        np.testing.assert_allclose(got.probabilities, ref.probabilities, rtol=0, atol=1e-5)


def test_timestamps_must_increase(rec, sequences):
    frame = sequences[0][0]
    with rec.stream() as s:
        s.push(frame, 100)
        for bad in (100, 99):
            with pytest.raises(TimestampError, match="must increase"):
                s.push(frame, bad)
        assert s.frames_pushed == 1  # a refused frame is not added
        s.push(frame, 101)
        s.reset()
        s.push(frame, 0)  # a new stream after reset may start again
    assert issubclass(TimestampError, ValueError)


@pytest.mark.parametrize(
    "frame",
    [np.zeros((543, 2)), np.zeros((1, 543, 3)), np.zeros(3), np.array([["a"] * 3] * 543)],
)
def test_bad_frames_are_refused(rec, frame):
    with rec.stream() as s, pytest.raises(InputShapeError, match=r"\(543, 3\)"):
        s.push(frame, 0)


def test_flush_without_frames_and_after_close(rec, sequences):
    s = rec.stream(window_frames=4, stride=2)
    with pytest.raises(EmptySequenceError):
        s.flush()
    with s:
        s.push(sequences[0][0], 0)
    with pytest.raises(RuntimeError, match="closed"):
        s.push(sequences[0][1], 1)
    s.close()  # idempotent
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="window_frames"):
            rec.stream(window_frames=bad)
        with pytest.raises(ValueError, match="stride"):
            rec.stream(stride=bad)


def test_defaults_and_options(rec, sequences):
    s = rec.stream(top_k=1)
    assert (s.window_frames, s.stride) == SignRecognizer.stream_defaults
    for i, frame in enumerate(sequences[0][: s.stride]):
        out = s.push(frame, i)
    assert out is not None and len(out.top_k) == 1
    assert isinstance(s, aslsign.RecognitionStream)


def test_fingerspelling_stream(sequences):
    x = sequences[0]
    with FingerspellingRecognizer.from_pretrained() as rec:
        with rec.stream(window_frames=32, stride=7, beam_width=4) as s:
            assert FingerspellingRecognizer.stream_defaults != SignRecognizer.stream_defaults
            outs = [s.push(frame, i) for i, frame in enumerate(x)]
            got = s.flush()
        ref = rec.predict(x[-32:], beam_width=4)
        mid = rec.predict(x[max(0, 14 - 32) : 14], beam_width=4)  # the 2nd result's window
    assert sum(o is not None for o in outs) == len(x) // 7
    assert got.text == ref.text
    np.testing.assert_allclose(got.confidence, ref.confidence, atol=1e-5)
    assert outs[13] is not None and outs[13].text == mid.text
