"""The synthetic ASLFR generator (training_recipes/synth_fingerspelling.py), on the real letters."""

from __future__ import annotations

import csv
import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO

import aslsign
from aslsign import landmarks as lm
from aslsign.characters import CHARACTERS


@pytest.fixture(scope="module")
def synth():
    from training_recipes import synth_fingerspelling

    return synth_fingerspelling


@pytest.fixture(scope="module")
def clips(synth, letters):
    return synth.load_letter_clips(letters)


@pytest.fixture(scope="module")
def dataset(synth, letters, tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    synth.generate(letters, out, 40, seed=3, n_signers=6, sequences_per_file=15)
    return out


def test_clips_cover_letters_and_digits(clips):
    assert set(clips) == set("abcdefghijklmnopqrstuvwxyz0123456789")
    for clip in clips.values():
        assert clip.dtype == np.float32 and clip.shape[1:] == (543, 3) and len(clip) >= 20
        assert not np.isnan(clip[:, lm.RIGHT_HAND]).all()  # the recorded hand
        assert np.isnan(clip[:, lm.LEFT_HAND]).all()


def test_dataset_is_in_the_aslfr_format(dataset, synth):
    with (dataset / "train.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["path", "file_id", "sequence_id", "participant_id", "phrase"]
    assert len(rows) == 40 and len({r["path"] for r in rows}) == 3
    assert len({r["sequence_id"] for r in rows}) == 40
    ds = aslsign.FingerspellingDataset(dataset)
    for record, x in ds.iter_sequences():
        assert x.shape[1:] == (543, 3) and len(x) > 0
        assert set(record.phrase) <= synth.RENDERABLE <= set(CHARACTERS)
        assert 0 < len(record.phrase) <= 31
    info = json.loads((dataset / "synth_info.json").read_text())
    assert info["synthetic"] is True and len(info["signers"]) == 6
    assert json.loads((dataset / "character_to_prediction_index.json").read_text())[" "] == 0


def test_same_seed_same_data_other_seed_other_data(synth, letters, dataset, tmp_path):
    again = synth.generate(letters, tmp_path / "a", 40, seed=3, n_signers=6, sequences_per_file=15)
    assert (again / "train.csv").read_text() == (dataset / "train.csv").read_text()
    first = aslsign.FingerspellingDataset(dataset)[7]
    np.testing.assert_array_equal(aslsign.FingerspellingDataset(again)[7].load(), first.load())
    other = synth.generate(letters, tmp_path / "b", 40, seed=4, n_signers=6, sequences_per_file=15)
    assert (other / "train.csv").read_text() != (dataset / "train.csv").read_text()


def test_left_handed_signers_sign_with_the_left_hand(synth, clips):
    rng = np.random.default_rng(0)
    signer = dataclasses.replace(synth.make_signer(1, rng), drop_prob=0.0)
    for left in (False, True):
        x = synth.render_phrase(
            "hello 42", clips, dataclasses.replace(signer, left_handed=left), rng
        )
        seen_left = (~np.isnan(x[:, lm.LEFT_HAND, 0])).all(axis=1).mean()
        seen_right = (~np.isnan(x[:, lm.RIGHT_HAND, 0])).all(axis=1).mean()
        assert (
            (seen_left > 0.9 and seen_right == 0) if left else (seen_right > 0.9 and seen_left == 0)
        )


def test_double_letters_are_visible(synth, clips):
    signer = dataclasses.replace(
        synth.make_signer(1, np.random.default_rng(0)), noise=0.0, drop_prob=0.0
    )
    single = synth.render_phrase("l", clips, signer, np.random.default_rng(5))
    double = synth.render_phrase("ll", clips, signer, np.random.default_rng(5))
    assert len(double) > len(single) + 4
    wrist = double[:, lm.RIGHT_HAND[0], 0]
    n = len(single)
    between = np.abs(wrist[n - 2 : n + 6] - wrist[n - 3]).max()
    assert between > 0.005, "no hand movement between the two letters"


def test_unrenderable_characters_are_refused(synth, clips):
    signer = synth.make_signer(1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="Cannot render"):
        synth.render_phrase("a?b", clips, signer, np.random.default_rng(0))


def test_phrases_look_like_the_competitions(synth):
    rng = np.random.default_rng(0)
    phrases = [synth.make_phrase(rng) for _ in range(400)]
    assert all(0 < len(p) <= 31 and set(p) <= synth.RENDERABLE for p in phrases)
    assert any("@" in p for p in phrases) and any(".com" in p for p in phrases)
    assert any(p.replace("-", "").isdigit() and len(p) >= 10 for p in phrases)  # phone numbers
    assert len(set(phrases)) > 380


def test_cli(letters, tmp_path):
    out = tmp_path / "cli"
    cmd = [sys.executable, str(REPO / "training_recipes" / "synth_fingerspelling.py")]
    args = ["--letters", str(letters), "--out", str(out), "--phrases", "5", "--seed", "1"]
    proc = subprocess.run(cmd + args, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "SYNTHETIC" in proc.stdout
    assert len(aslsign.FingerspellingDataset(out)) == 5
