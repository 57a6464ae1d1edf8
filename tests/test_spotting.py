"""Spotting signs and spelled phrases in long streams (aslsign.spotting, issue 15)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO
from test_cli import run

import aslsign
from aslsign.metrics import event_scores, normalized_levenshtein, temporal_iou
from aslsign.spotting import FingerspellingSpan, SignSpan, join_sequences

GAP_FRAMES = round(aslsign.spotting.SPOT_DEFAULTS["isolated_sign"]["gap_s"] * 30)


@pytest.fixture(scope="module")
def sign_stream(gislr_mini: Path):
    """16 real gislr-mini sequences (3 signers) joined by idle gaps, and the truth."""
    ds = aslsign.GislrDataset(gislr_mini)
    records = [r for r in ds if r.participant_id in (2044, 27610, 61333)]
    rng = np.random.default_rng(5)
    chosen = [records[int(i)] for i in rng.choice(len(records), 16, replace=False)]
    items = [(r.sign, r.load()) for r in chosen]
    return join_sequences(items, seed=5)


@pytest.fixture(scope="module")
def phrases(letters: Path):
    """Three SYNTHETIC spelled phrases of 40-60 characters (the recipe's generator)."""
    import sys

    sys.path.insert(0, str(REPO))
    from training_recipes.synth_fingerspelling import long_phrases

    return long_phrases(letters, 3, seed=8)


def test_join_sequences_puts_each_item_where_the_truth_says(gislr_mini: Path) -> None:
    ds = list(aslsign.GislrDataset(gislr_mini))[:4]
    items = [(r.sign, r.load()) for r in ds] + [(None, ds[0].load())]
    stream, truth = join_sequences(items, seed=1, gap_s=(0.2, 0.4))
    assert [t[0] for t in truth] == [r.sign for r in ds] + [None]
    for (_label, a, b), (_, x) in zip(truth, items, strict=True):
        np.testing.assert_array_equal(stream[a:b], x)
    gaps = [truth[0][1]] + [b2[1] - b1[2] for b1, b2 in itertools.pairwise(truth)]
    assert all(6 <= g <= 12 for g in gaps)  # 0.2-0.4 s at 30 fps
    idle = np.concatenate([stream[: truth[0][1]], stream[truth[-1][2] :]])
    assert len(idle) >= 12


def test_event_scores() -> None:
    assert temporal_iou((0, 10), (5, 15)) == pytest.approx(5 / 15)
    assert temporal_iou((0, 10), (10, 20)) == 0.0
    truth = [("a", 0, 10), ("b", 20, 30), (None, 40, 50)]
    perfect = event_scores([("a", 1, 10), ("b", 20, 28)], truth)
    assert perfect["f1"] == 1.0 and perfect["signs"] == 2
    over_unknown = event_scores([("a", 1, 10), ("b", 20, 28), ("a", 40, 50)], truth)
    assert over_unknown["precision"] == pytest.approx(2 / 3) and over_unknown["recall"] == 1.0
    wrong = event_scores([("b", 0, 10), ("b", 25, 60)], truth)  # wrong label; IoU 5/40 < 0.3
    assert wrong["f1"] == 0.0
    twice = event_scores([("a", 0, 10), ("a", 1, 9)], truth)  # one true sign, matched once
    assert twice["matches"] == 1 and twice["precision"] == 0.5


def test_spot_finds_the_signs_of_a_stream(sign_stream) -> None:
    stream, truth = sign_stream
    with aslsign.SignRecognizer.from_pretrained() as rec:
        spans = rec.spot(stream)
    assert spans and all(isinstance(s, SignSpan) for s in spans)
    for a, b in itertools.pairwise(spans):  # in order, never overlapping
        assert a.end_frame <= b.start_frame
    for s in spans:
        assert s.start_s == pytest.approx(round(s.start_frame * 1000 / 30) / 1000)
        assert s.end_s > s.start_s and s.label == s.result.label
    scores = event_scores([(s.label, s.start_frame, s.end_frame) for s in spans], truth)
    assert scores["f1"] >= 0.8, scores


def test_spotter_gives_exactly_the_spans_of_spot(sign_stream) -> None:
    stream, _ = sign_stream
    with aslsign.SignRecognizer.from_pretrained() as rec:
        offline = rec.spot(stream, fps=25.0)
        spotter = rec.spotter(fps=25.0)
        online, reported_at = [], []
        for t, frame in enumerate(stream):
            ended = spotter.push(frame, round(t * 1000 / 25.0))
            online += ended
            reported_at += [t] * len(ended)
        tail = spotter.flush()
    online += tail
    assert [s.to_dict() for s in online] == [s.to_dict() for s in offline]
    # a span is reported once gap_s has passed after its last active frame (and the span
    # ends pad_s after that frame): that is the delay
    settings = aslsign.spotting.SPOT_DEFAULTS["isolated_sign"]
    gap, pad = round(settings["gap_s"] * 25), round(settings["pad_s"] * 25)
    delays = [t + 1 - s.end_frame for s, t in zip(online, reported_at, strict=False)]
    assert delays and all(d == gap - pad for d in delays), delays


def test_idle_streams_give_no_span(gislr_mini: Path) -> None:
    x = next(iter(aslsign.GislrDataset(gislr_mini))).load()
    with aslsign.SignRecognizer.from_pretrained() as rec:
        no_hands = x.copy()
        no_hands[:, 468:543] = np.nan
        assert rec.spot(np.concatenate([no_hands] * 20)) == []
        hand_frame = x[np.flatnonzero(aslsign.landmarks.hand_present(x))[0]]
        still = np.repeat(hand_frame[None], 300, axis=0)  # a hand held still for 10 s
        still[..., :2] += np.random.default_rng(0).normal(0, 0.001, still[..., :2].shape)
        assert len(rec.spot(still)) <= 1  # at most its appearance, never one per second
        assert rec.spot(np.zeros((0, 543, 3), np.float32)) == []


def test_spot_options_are_checked(sign, gislr_mini: Path) -> None:
    with pytest.raises(TypeError, match="beam_width"):
        sign.spotter(beam_width=3)
    for bad in ({"gap_s": -1}, {"hold_s": "1"}):
        with pytest.raises(ValueError):
            sign.spotter(**bad)
    for fps in (0, -5, float("nan"), 5000, True):
        with pytest.raises(ValueError, match="fps"):
            sign.spotter(fps)
    with pytest.raises(ValueError, match="score_threshold"):
        sign.spotter(score_threshold=2)
    spotter = sign.spotter()
    spotter.push(np.full((543, 3), np.nan), 10)
    with pytest.raises(aslsign.TimestampError):
        spotter.push(np.full((543, 3), np.nan), 10)
    with pytest.raises(aslsign.InputShapeError):
        spotter.push(np.zeros((3, 3)), 20)


def test_keep_unknown_gives_spans_without_label(sign_stream) -> None:
    stream, _ = sign_stream
    with aslsign.SignRecognizer.from_pretrained() as rec:
        plain = rec.spot(stream, score_threshold=0.999)
        kept = rec.spot(stream, score_threshold=0.999, keep_unknown=True)
    assert len(kept) > len(plain)
    assert all(s.label is not None for s in plain)
    assert any(s.label is None and s.result.rejected for s in kept)


def test_transcribe_reads_phrases_longer_than_the_model_window(spell, phrases) -> None:
    max_len = spell.preprocessor.max_len
    short = phrases[0][1][:max_len]
    assert spell.transcribe(short).text == spell.predict(short).text
    long = [(t, x) for t, x in phrases if aslsign.landmarks.hand_present(x).sum() > max_len]
    assert long, "the synthetic phrases should be longer than the window"
    texts = [spell.transcribe(x).text for _, x in long]
    assert normalized_levenshtein([t for t, _ in long], texts) >= 0.8  # SYNTHETIC data


def test_spotting_spelled_phrases(spell, phrases) -> None:
    stream, truth = join_sequences(phrases, seed=3, gap_s=(3.0, 4.0), idle=("no_hands",))
    spans = spell.spot(stream)
    assert spans and all(isinstance(s, FingerspellingSpan) for s in spans)
    joined = " ".join(s.text for s in spans)
    reference = " ".join(t for t, _, _ in truth)
    assert normalized_levenshtein([reference], [joined]) >= 0.85  # SYNTHETIC phrases
    spotter = spell.spotter()
    online, partials = [], []
    for t, frame in enumerate(stream):
        online += spotter.push(frame, round(t * 1000 / 30))
        if spotter.in_span and t % 200 == 0:
            partials.append(spotter.partial)
    online += spotter.flush()
    assert [s.to_dict() for s in online] == [s.to_dict() for s in spans]
    assert any(partials) and spotter.partial is None


def test_cli_spot(sign_stream, tmp_path: Path) -> None:
    stream, _truth = sign_stream
    path = aslsign.write_sequence(stream, tmp_path / "stream.parquet")
    lines = run("spot", str(path), "--json").stdout.splitlines()
    spans = [json.loads(line) for line in lines]
    with aslsign.SignRecognizer.from_pretrained() as rec:
        expected = rec.spot(stream)
    assert [(s["label"], s["start_frame"], s["end_frame"]) for s in spans] == [
        (s.label, s.start_frame, s.end_frame) for s in expected
    ]
    table = run("spot", str(path), "--fps", "15").stdout.splitlines()
    with aslsign.SignRecognizer.from_pretrained() as rec:
        at_15 = rec.spot(stream, fps=15)
    assert len(table) == len(at_15) + 1 and "start" in table[0]
    first = table[1].split()
    assert first[0] == f"{at_15[0].start_s:.2f}s" and first[3] == at_15[0].label
    assert run("spot", str(tmp_path / "missing.parquet"), check=False).returncode == 2
