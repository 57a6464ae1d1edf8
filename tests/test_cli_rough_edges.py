"""What a newcomer met on the way (issue 14): an ASLFR file given to a sign model, folders given
to ``aslsign predict``, the table's header, result reprs, a closed pipe, the Kaggle export's
logs and bad numbers on the command line."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, requires_tf
from test_cli import EXE, run

import aslsign


@pytest.fixture(scope="module")
def aslfr_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(3)
    seqs = {s: rng.random((15 + s, 543, 3), dtype=np.float32) for s in (11, 12, 13)}
    return aslsign.write_fingerspelling(tmp_path_factory.mktemp("aslfr") / "5414471.parquet", seqs)


def test_an_aslfr_file_given_to_a_sign_model_says_so_in_one_line(aslfr_file: Path) -> None:
    proc = run("predict", str(aslfr_file), "--quiet", check=False)
    assert proc.returncode == 1
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("aslsign: error:")]
    assert len(errors) == 1 and len(errors[0]) < 400, errors
    assert "ASLFR fingerspelling file" in errors[0]
    assert "FingerspellingRecognizer" in errors[0] and "ctc_tiny.synth_letters" in errors[0]
    assert "x_face_1" not in proc.stderr  # no list of 1,630 columns
    assert proc.stdout == ""  # every input failed: no table header either
    with pytest.raises(aslsign.LandmarkFileError, match="load_fingerspelling"):
        aslsign.load_sequence(aslfr_file)


def test_the_header_names_the_top_k_the_model_can_give(gislr_mini: Path) -> None:
    path = next(iter(aslsign.GislrDataset(gislr_mini))).path
    header = run("predict", str(path)).stdout.splitlines()[0]  # --top-k 3 by default
    assert header.split()[-1] == "top-2"  # the default model has 2 labels
    assert run("predict", str(path), "--top-k", "1").stdout.splitlines()[0].endswith("top-1")


def test_predict_a_gislr_folder_reads_its_train_csv(gislr_small: Path) -> None:
    with open(gislr_small / "train.csv", newline="") as fh:
        records = list(csv.DictReader(fh))
    proc = run("predict", str(gislr_small), "--json", "--quiet")
    import json

    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [row["file"] for row in rows] == [str(gislr_small / r["path"]) for r in records]
    correct = sum(row["label"] == r["sign"] for row, r in zip(rows, records, strict=True))
    assert correct >= 0.9 * len(records)


def test_predict_any_folder_reads_every_parquet_under_it(
    gislr_mini: Path, aslfr_file: Path, tmp_path: Path
) -> None:
    sources = [r.path for r in list(aslsign.GislrDataset(gislr_mini))[:5]]
    for i, src in enumerate(sources):  # nested folders, and a file that is not parquet
        target = tmp_path / "mine" / f"p{i % 2}" / f"{i}.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(src)
    (tmp_path / "mine" / "notes.txt").write_text("not landmarks")
    out = run("predict", str(tmp_path / "mine"), "--quiet").stdout.splitlines()
    assert len(out) == 1 + 5
    assert sorted(line.split()[0] for line in out[1:]) == sorted(
        str(p) for p in (tmp_path / "mine").rglob("*.parquet")
    )
    # a fingerspelling model on a folder: every sequence of every ASLFR file in it
    (tmp_path / "spell").mkdir()
    (tmp_path / "spell" / aslfr_file.name).symlink_to(aslfr_file)
    spelled = run(
        "predict", str(tmp_path / "spell"), "--model", "ctc_tiny.synth_letters", "--quiet"
    ).stdout.splitlines()
    assert [line.split()[1] for line in spelled[1:]] == ["11", "12", "13"]
    # an empty folder is an error, not an empty table
    (tmp_path / "empty").mkdir()
    proc = run("predict", str(tmp_path / "empty"), check=False)
    assert proc.returncode == 2 and "no .parquet file" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_stats_reads_a_folder_without_train_csv_too(gislr_mini: Path, tmp_path: Path) -> None:
    sources = [r.path for r in list(aslsign.GislrDataset(gislr_mini))[:3]]
    for i, src in enumerate(sources):
        (tmp_path / f"{i}.parquet").symlink_to(src)
    from aslsign.stats import dataset_stats

    stats = dataset_stats(tmp_path)
    assert stats["sequences"] == 3


def test_result_reprs_show_what_was_recognised(gislr_mini: Path) -> None:
    path = next(iter(aslsign.GislrDataset(gislr_mini))).path
    with aslsign.SignRecognizer.from_pretrained() as rec:
        r = rec.predict(path)
        text = repr(r)
        assert text.startswith(f"SignResult(label={r.label!r}, score={r.score:.3f}")
        assert "probabilities" not in text and "array(" not in text
        empty = repr(rec.predict(np.full((4, 543, 3), np.nan, np.float32)))
        assert empty == "SignResult(label=None, detected=False, num_frames=4)"
    x = np.random.default_rng(0).random((30, 543, 3), dtype=np.float32)
    with aslsign.FingerspellingRecognizer.from_pretrained() as spell:
        s = spell.predict(x)
    assert repr(s).startswith(
        f"FingerspellingResult(text={s.text!r}, confidence={s.confidence:.3f}, num_frames=30"
    )


def test_a_closed_pipe_ends_quietly(gislr_mini: Path) -> None:
    files = [str(r.path) for r in list(aslsign.GislrDataset(gislr_mini))[:300]]
    cmd = [EXE, "predict", *files] if EXE else [sys.executable, "-m", "aslsign.cli", "predict"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # as `| head -1` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in err and "BrokenPipe" not in err


@pytest.mark.parametrize("value", ["nan", "0", "-3", "inf", "fast"])
def test_bad_frame_rates_are_refused_by_the_parser(value: str, gislr_mini: Path) -> None:
    path = next(iter(aslsign.GislrDataset(gislr_mini))).path
    for verb in (["render", str(path), "-o", "x.gif"], ["extract", "x.mp4", "-o", "x.parquet"]):
        proc = run(*verb, "--fps", value, check=False)
        assert proc.returncode == 2, proc.stderr
        assert "--fps: must be a finite number > 0" in proc.stderr
        assert "Traceback" not in proc.stderr


@requires_tf
def test_the_kaggle_export_is_quiet_unless_verbose(tmp_path: Path) -> None:
    cmd = [
        sys.executable,
        str(REPO / "training_recipes" / "export.py"),
        "zoo/hybrid_tiny.gislr_mini",
    ]
    quiet = subprocess.run(
        [*cmd, "--format", "kaggle", "--out", str(tmp_path / "a")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        check=True,
    )
    assert quiet.stderr.strip() == "", quiet.stderr
    assert quiet.stdout.startswith("wrote ")
    loud = subprocess.run(
        [*cmd, "--format", "kaggle", "--out", str(tmp_path / "b"), "--verbose"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        check=True,
        env={k: v for k, v in __import__("os").environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"},
    )
    assert "W0000" in loud.stderr or "absl" in loud.stderr
