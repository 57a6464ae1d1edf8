"""``aslsign predict / info / models`` with fingerspelling models (run as the console script)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import requires_tf
from test_cli import run

import aslsign


@pytest.fixture(scope="module")
def kaggle_dir(tmp_path_factory):
    pytest.importorskip("tensorflow", reason="needs TensorFlow to build the test model")
    from kaggle_model import aslfr_columns, make_kaggle_aslfr_submission

    root = tmp_path_factory.mktemp("cli_kaggle")
    columns = aslfr_columns(seed=5)
    make_kaggle_aslfr_submission(root / "model.tflite", columns)
    (root / "inference_args.json").write_text(json.dumps({"selected_columns": columns}))
    return root


@pytest.fixture(scope="module")
def aslfr_file(tmp_path_factory):
    rng = np.random.default_rng(0)
    seqs = {
        int(s): rng.random((int(rng.integers(6, 40)), 543, 3), dtype=np.float32) for s in (7, 3, 11)
    }
    path = tmp_path_factory.mktemp("cli_aslfr") / "1234.parquet"
    return aslsign.write_fingerspelling(path, seqs), seqs


@requires_tf
def test_predict_every_sequence_of_an_aslfr_file(kaggle_dir, aslfr_file, gislr_mini):
    path, seqs = aslfr_file
    gislr = next(iter(aslsign.GislrDataset(gislr_mini))).path
    proc = run("predict", "--model", str(kaggle_dir), str(path), str(gislr), "--json")
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(r["file"], r["sequence_id"]) for r in rows] == [
        (str(path), 7),
        (str(path), 3),
        (str(path), 11),
        (str(gislr), None),
    ]
    with aslsign.FingerspellingRecognizer.from_pretrained(kaggle_dir) as rec:
        for row in rows[:3]:
            assert row["text"] == rec.predict(seqs[row["sequence_id"]]).text
        assert rows[3]["text"] == rec.predict(gislr).text
    assert all({"text", "confidence", "confidences", "detected"} <= set(r) for r in rows)
    one = run("predict", "--model", str(kaggle_dir), str(path), "--sequence-id", "3", "--json")
    assert [json.loads(line)["sequence_id"] for line in one.stdout.splitlines()] == [3]
    table = run("predict", "--model", str(kaggle_dir), str(path), "--quiet").stdout.splitlines()
    assert table[0].split() == ["file", "sequence_id", "conf", "text"] and len(table) == 4


@requires_tf
def test_unknown_sequence_id_is_reported(kaggle_dir, aslfr_file):
    path, _ = aslfr_file
    proc = run(
        "predict", "--model", str(kaggle_dir), str(path), "--sequence-id", "99", "--json",
        check=False,
    )  # fmt: skip
    assert proc.returncode == 1
    row = json.loads(proc.stdout)
    assert row["type"] == "SequenceNotFoundError" and "99" in row["error"]


@requires_tf
def test_info_shows_the_task(kaggle_dir):
    out = run("info", str(kaggle_dir)).stdout
    assert "fingerspelling" in out and "argmax" in out
    config = json.loads(run("info", str(kaggle_dir), "--json").stdout)
    assert config["task"] == "fingerspelling" and len(config["labels"]) == 59


def test_models_lists_tasks():
    lines = run("models").stdout.splitlines()
    tasks = {line.split()[0]: line.split()[1] for line in lines}
    assert tasks[aslsign.DEFAULT_MODEL] == "isolated_sign"
    for name in aslsign.list_models(task="fingerspelling"):
        assert tasks[name] == "fingerspelling"
