"""Nothing to recognise, and signs a model does not know (issue 15): the no-hand rule of every
recogniser, rejection by the background class and by ``score_threshold``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from test_cli import run

import aslsign
from aslsign.landmarks import SLICES, hand_present

HANDS = np.r_[SLICES["left_hand"], SLICES["right_hand"]]


@pytest.fixture(scope="module")
def records(gislr_mini: Path) -> dict[str, list[aslsign.GislrRecord]]:
    ds = aslsign.GislrDataset(gislr_mini)
    return {sign: [r for r in ds if r.sign == sign][:12] for sign in ds.signs}


def without_hands(x: np.ndarray, keep: int = 0) -> np.ndarray:
    """The sequence with both hands removed (NaN) but in its first ``keep`` frames with a hand."""
    y = x.copy()
    seen = np.flatnonzero(hand_present(y))
    y[seen[keep:][:, None], HANDS] = np.nan
    return y


def copy_artifact(tmp_path: Path, **config: object) -> Path:
    """The bundled default model with config.json fields changed."""
    art = tmp_path / "artifact"
    shutil.copytree(aslsign.registry.zoo_dir() / aslsign.DEFAULT_MODEL, art)
    data = json.loads((art / "config.json").read_text())
    (art / "config.json").write_text(json.dumps({**data, **config}))
    return art


def test_hand_present(records) -> None:
    x = records["hello"][0].load()
    present = hand_present(x)
    assert present.shape == (len(x),) and present.dtype == bool and present.any()
    assert not hand_present(without_hands(x)).any()
    assert hand_present(without_hands(x, keep=2)).sum() == 2


def test_no_hand_no_label_and_the_model_is_not_run(sign, spell, records) -> None:
    x = without_hands(records["hello"][0].load())
    assert np.isfinite(x).any()  # face and pose are there
    for rec in (sign, spell):
        real = rec._run
        rec._run = lambda *a: pytest.fail("the model ran on input without hands")
        try:
            r = rec.predict(x)
            batch = rec.predict_batch([x, x[:3]])
        finally:
            rec._run = real
        assert not r.detected and all(not b.detected for b in batch)
    r = sign.predict(x)
    assert r.label is None and r.top_k == () and not r.probabilities.any()
    assert repr(r) == f"SignResult(label=None, detected=False, num_frames={len(x)})"
    assert aslsign.results.result_text(r) == "(no hands)"
    assert spell.predict(x).text == ""


def test_min_hand_frames_from_the_config(records, tmp_path: Path) -> None:
    x = records["thankyou"][0].load()
    with aslsign.SignRecognizer.from_pretrained(copy_artifact(tmp_path, min_hand_frames=3)) as rec:
        assert not rec.predict(without_hands(x, keep=2)).detected
        assert rec.predict(without_hands(x, keep=3)).detected
    with pytest.raises(aslsign.ConfigError, match="min_hand_frames"):
        aslsign.SignRecognizer.from_pretrained(copy_artifact(tmp_path / "b", min_hand_frames=0))


def test_score_threshold_rejects_and_keeps_the_candidates(sign, records) -> None:
    path = records["hello"][0].path
    assert sign.score_threshold == sign.config.score_threshold  # the model's own by default
    plain = sign.predict(path, score_threshold=0.0)
    assert plain.label == "hello" and not plain.rejected
    strict = sign.predict(path, score_threshold=1.0)  # no probability reaches 1.0 here
    assert strict.rejected and strict.label is None and strict.index is None and strict.detected
    assert strict.top_k == plain.top_k and strict.score == plain.score  # the candidates stay
    np.testing.assert_array_equal(strict.probabilities, plain.probabilities)
    assert "rejected=True" in repr(strict) and "'hello'" in repr(strict)
    assert strict.to_dict()["label"] is None and strict.to_dict()["rejected"] is True
    assert aslsign.results.result_text(strict).startswith("(unknown sign; hello")
    assert not sign.predict(path, score_threshold=0.0).rejected
    at_score = sign.predict(path, score_threshold=plain.score)  # >= threshold: accepted
    assert at_score.label == "hello"
    batch = sign.predict_batch([path] * 3, score_threshold=1.0)
    assert all(b.rejected for b in batch)
    for bad in (-0.1, 1.5, True, "0.5", float("nan")):
        with pytest.raises(ValueError, match="score_threshold"):
            sign.predict(path, score_threshold=bad)


def test_score_threshold_from_pretrained_and_from_the_config(records, tmp_path: Path) -> None:
    paths = [r.path for sign in records for r in records[sign]]
    with aslsign.SignRecognizer.from_pretrained() as rec:
        scores = [r.score for r in rec.predict_batch(paths)]
    cut = float(np.median(scores))
    with aslsign.SignRecognizer.from_pretrained(score_threshold=cut) as rec:
        rejected = [r.rejected for r in rec.predict_batch(paths)]
        assert rejected == [s < cut for s in scores] and any(rejected) and not all(rejected)
        assert not rec.predict(paths[0], score_threshold=0.0).rejected  # per call wins
    art = copy_artifact(tmp_path, score_threshold=cut)
    with aslsign.SignRecognizer.from_pretrained(art) as rec:
        assert rec.score_threshold == cut
        assert [r.rejected for r in rec.predict_batch(paths)] == rejected
    with pytest.raises(aslsign.ConfigError, match="score_threshold"):
        aslsign.SignRecognizer.from_pretrained(copy_artifact(tmp_path / "b", score_threshold=2))


@pytest.fixture(scope="module")
def mixed(records, gislr_gallery: Path) -> list[Path]:
    """In-vocabulary sequences and other signs of the gallery."""
    others = [r.path for r in aslsign.GislrDataset(gislr_gallery) if r.sign not in records][:12]
    return [r.path for sign in records for r in records[sign][:4]] + others


def test_background_class_wins_means_rejected(mixed, tmp_path: Path) -> None:
    """With no threshold, a model with a background class rejects when that class wins, and
    the class is never a candidate."""
    art = copy_artifact(tmp_path, score_threshold=None)
    with aslsign.SignRecognizer.from_pretrained(art) as rec:
        assert rec.score_threshold is None and rec.config.background_label == "<other>"
        results = rec.predict_batch(mixed)
    wins = [int(np.argmax(r.probabilities)) == 2 for r in results]
    assert any(wins) and not all(wins)
    for r, won in zip(results, wins, strict=True):
        assert r.rejected == won and (r.label is None) == won
        assert {c.label for c in r.top_k} <= {"hello", "thankyou"}
    for i, bad in enumerate(("goodbye", 3)):
        with pytest.raises(aslsign.ConfigError, match="background_label"):
            aslsign.SignRecognizer.from_pretrained(
                copy_artifact(tmp_path / str(i), background_label=bad)
            )


def test_a_threshold_decides_whatever_class_won(mixed) -> None:
    """With a score threshold, only the best sign's probability decides (the background's share
    is already out of it)."""
    with aslsign.SignRecognizer.from_pretrained() as rec:
        results = rec.predict_batch(mixed, score_threshold=0.0)
        won = [p for p, r in zip(mixed, results, strict=True) if np.argmax(r.probabilities) == 2]
        assert won and not any(r.rejected for r in results)
        best = [r.score for r in rec.predict_batch(won, score_threshold=0.0)]
        low = rec.predict_batch(won, score_threshold=min(best))
        assert not any(r.rejected for r in low)  # the background won, yet accepted
        high = rec.predict_batch(won, score_threshold=max(best) + 1e-6)
        assert all(r.rejected for r in high)


def test_stream_takes_the_score_threshold(sign, records) -> None:
    x = records["hello"][0].load()
    with sign.stream(window_frames=len(x), stride=len(x), score_threshold=1.0) as stream:
        results = [stream.push(f, t + 1) for t, f in enumerate(x)]
    assert results[-1] is not None and results[-1].rejected
    with pytest.raises(ValueError, match="score_threshold"):
        sign.stream(score_threshold=3)


def test_cli_score_threshold(records) -> None:
    path = str(records["hello"][0].path)
    table = run("predict", path, "--score-threshold", "1").stdout.splitlines()
    assert table[1].split()[1] == "(unknown)"
    row = json.loads(run("predict", path, "--score-threshold", "1", "--json").stdout)
    assert row["label"] is None and row["rejected"] is True and row["top_k"][0]["label"] == "hello"
    proc = run("predict", path, "--score-threshold", "1.5", check=False)
    assert proc.returncode == 2 and "must be a number in [0, 1]" in proc.stderr
