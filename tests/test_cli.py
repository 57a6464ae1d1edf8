"""The ``aslsign`` command line, run as the installed console script."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

import aslsign

EXE = shutil.which("aslsign")


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = [EXE, *args] if EXE else [sys.executable, "-m", "aslsign.cli", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"{cmd} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def test_predict_bundled_examples():
    out = run("predict", "--example").stdout
    lines = out.strip().splitlines()
    assert lines[0].split()[:3] == ["file", "label", "score"]
    rows = {line.split()[0]: line.split()[1] for line in lines[1:]}
    assert rows == {"example:hello": "hello", "example:thankyou": "thankyou"}


def test_predict_files_json_lines(gislr_mini):
    records = list(aslsign.GislrDataset(gislr_mini))[:40]
    proc = run("predict", *[str(r.path) for r in records], "--json", "--top-k", "2")
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [row["file"] for row in rows] == [str(r.path) for r in records]
    assert all(len(row["top_k"]) == 2 for row in rows)
    correct = sum(row["label"] == r.sign for row, r in zip(rows, records, strict=True))
    assert correct / len(records) >= 0.95
    assert "predicting" not in proc.stderr  # stderr is a pipe, not a terminal: no bar
    # and the same answers as the Python API
    with aslsign.SignRecognizer.from_pretrained() as rec:
        for row, r in zip(rows[:5], records[:5], strict=True):
            assert row["score"] == pytest.approx(rec.predict(r.path).score, abs=1e-6)


def test_progress_bar_on_a_terminal_comes_before_the_table(gislr_mini):
    """On a terminal the bar runs on stderr while predicting and the table is printed after
    it, not through it."""
    import fcntl
    import os
    import pty
    import struct
    import termios

    files = [str(r.path) for r in list(aslsign.GislrDataset(gislr_mini))[:30]]
    cmd = (
        [EXE, "predict", *files]
        if EXE
        else [sys.executable, "-m", "aslsign.cli", "predict", *files]
    )
    leader, follower = pty.openpty()
    # a terminal of 40 x 160 (a fresh pty is 0 x 0, where tqdm draws nothing)
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    proc = subprocess.Popen(cmd, stdout=follower, stderr=follower, stdin=subprocess.DEVNULL)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert proc.wait(timeout=300) == 0
    text = b"".join(chunks).decode(errors="replace")
    assert "predicting" in text
    header = text.index("file ")
    assert header > text.rindex("predicting")  # the whole table after the bar
    rows = text[header:].strip().splitlines()
    assert len(rows) == 1 + len(files)
    assert all(f in t for f, t in zip(files, rows[1:], strict=True))


def test_predict_reports_bad_files_and_goes_on(tmp_path, gislr_mini):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not a parquet file")
    good = next(iter(aslsign.GislrDataset(gislr_mini))).path
    proc = run("predict", str(bad), str(good), "--json", "--quiet", check=False)
    assert proc.returncode == 1
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert rows[0]["file"] == str(bad) and rows[0]["type"] == "LandmarkFileError"
    assert rows[1]["label"] in ("hello", "thankyou")


def test_predict_all_nan_file(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 3 * 543
    table = pa.table(
        {
            "frame": np.repeat(np.arange(3), 543).astype(np.int16),
            "x": np.full(n, np.nan),
            "y": np.full(n, np.nan),
            "z": np.full(n, np.nan),
        }
    )
    path = tmp_path / "empty_hands.parquet"
    pq.write_table(table, path)
    row = json.loads(run("predict", str(path), "--json").stdout)
    assert row["label"] is None and row["detected"] is False and row["num_frames"] == 3


def test_info_and_models():
    out = run("info").stdout
    assert aslsign.DEFAULT_MODEL in out and "hello, thankyou" in out and "top-1" in out
    config = json.loads(run("info", "--json").stdout)
    assert config["labels"] == ["hello", "thankyou", "<other>"]
    assert config["background_label"] == "<other>"
    assert aslsign.DEFAULT_MODEL in run("models").stdout


def test_errors_exit_non_zero():
    proc = run("predict", "--model", "nope_model", "x.parquet", check=False)
    assert proc.returncode == 2 and "Cannot find model 'nope_model'" in proc.stderr
    assert run("predict", check=False).returncode == 2
