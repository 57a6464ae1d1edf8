"""``aslsign predict`` over many files with bad ones among them: each bad file is reported, the
others are predicted, and the run ends with a summary on stderr and exit status 1."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_cli import run

import aslsign


@pytest.fixture(scope="module")
def files(gislr_mini: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Eight real GISLR files, a file that is no parquet, and one holding an infinite x."""
    root = tmp_path_factory.mktemp("cli_errors")
    good = [r.path for r in list(aslsign.GislrDataset(gislr_mini))[:8]]
    broken = root / "broken.parquet"
    broken.write_bytes(good[0].read_bytes()[:300])  # truncated: no footer
    table = pq.read_table(good[1])
    x = table.column("x").to_numpy().copy()
    x[543 * 2 + 500] = np.inf  # frame 2, pose 11
    infinite = root / "infinite.parquet"
    pq.write_table(table.set_column(table.schema.get_field_index("x"), "x", pa.array(x)), infinite)
    return {**{f"good{i}": p for i, p in enumerate(good)}, "broken": broken, "infinite": infinite}


def test_bad_files_among_many_are_reported_and_summarised(files: dict[str, Path]) -> None:
    order = ["good0", "broken", *[f"good{i}" for i in range(1, 5)], "infinite"]
    order += [f"good{i}" for i in range(5, 8)]
    paths = [str(files[k]) for k in order]
    proc = run("predict", *paths, "--json", "--quiet", check=False)
    assert proc.returncode == 1
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["file"] for r in rows] == paths  # every file, in order
    errors = {r["file"]: r for r in rows if "error" in r}
    assert set(errors) == {str(files["broken"]), str(files["infinite"])}
    assert errors[str(files["broken"])]["type"] == "LandmarkFileError"
    bad_value = errors[str(files["infinite"])]
    assert bad_value["type"] == "InputValueError"
    assert "frame 2, landmark pose 11 (row 500) has x = inf" in bad_value["error"]
    assert all(r["label"] in ("hello", "thankyou") for r in rows if "error" not in r)
    summary = proc.stderr.strip().splitlines()[-1]
    assert summary.startswith("aslsign predict: 2 of 10 files could not be read (")
    assert str(files["broken"]) in summary and str(files["infinite"]) in summary
    # the good files got exactly the answers the Python API gives
    with aslsign.SignRecognizer.from_pretrained() as rec:
        for row in rows:
            if "error" not in row:
                assert row["label"] == rec.predict(row["file"]).label


def test_table_output_goes_on_after_a_bad_file(files: dict[str, Path]) -> None:
    paths = [str(files["broken"]), str(files["good0"]), str(files["good1"])]
    proc = run("predict", *paths, "--quiet", check=False)
    assert proc.returncode == 1
    lines = proc.stdout.strip().splitlines()
    assert lines[0].split()[:2] == ["file", "label"]
    assert [line.split()[0] for line in lines[1:]] == paths[1:]
    err = proc.stderr.strip().splitlines()
    errors = [line for line in err if line.startswith("aslsign: error: ")]
    assert len(errors) == 1 and errors[0].startswith(f"aslsign: error: {files['broken']}")
    assert err[-1] == (
        f"aslsign predict: 1 of 3 files could not be read ({files['broken']}); the others were "
        "predicted."
    )


def test_a_single_bad_file(files: dict[str, Path]) -> None:
    proc = run("predict", str(files["infinite"]), "--quiet", check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        f"aslsign predict: 1 of 1 file could not be read ({files['infinite']})."
    )


def test_no_summary_when_every_file_is_read(files: dict[str, Path]) -> None:
    proc = run("predict", str(files["good0"]), str(files["good1"]), "--json", "--quiet")
    assert proc.returncode == 0 and "could not be read" not in proc.stderr


def test_fingerspelling_files_with_a_truncated_one(files: dict[str, Path], tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    seqs = {s: rng.random((12, 543, 3), dtype=np.float32) for s in (5, 6)}
    aslfr = aslsign.write_fingerspelling(tmp_path / "phrases.parquet", seqs)
    truncated = tmp_path / "truncated.parquet"
    truncated.write_bytes(aslfr.read_bytes()[: aslfr.stat().st_size // 2])
    paths = [str(aslfr), str(truncated), str(files["good0"])]
    model = aslsign.DEFAULT_FINGERSPELLING_MODEL
    proc = run("predict", "--model", model, *paths, "--json", "--quiet", check=False)
    assert proc.returncode == 1
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(r["file"], r.get("sequence_id")) for r in rows] == [
        (str(aslfr), 5),
        (str(aslfr), 6),
        (str(truncated), None),
        (str(files["good0"]), None),
    ]
    assert rows[2]["type"] == "LandmarkFileError"
    assert (
        proc.stderr.strip()
        .splitlines()[-1]
        .startswith(f"aslsign predict: 1 of 3 files could not be read ({truncated})")
    )
