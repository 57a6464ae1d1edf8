"""``aslsign stats``: dataset statistics, checked against an independent pandas computation on
the long-format files themselves."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aslsign import load_sequence, write_fingerspelling
from aslsign.errors import LandmarkFileError
from aslsign.stats import dataset_stats, format_table


def _independent(folder: Path) -> dict:
    """The statistics from train.csv and the parquet rows with pandas, not through aslsign."""
    meta = pd.read_csv(folder / "train.csv")
    lengths: list[int] = []
    missing = dict.fromkeys(("face", "left_hand", "pose", "right_hand"), 0)
    no_hands = frames_total = 0
    dominant = []
    for path in meta["path"]:
        df = pd.read_parquet(folder / path)
        seen = df.assign(seen=df[["x", "y", "z"]].notna().any(axis=1))
        per = seen.groupby(["frame", "type"])["seen"].any().unstack("type", fill_value=False)
        lengths.append(df["frame"].nunique())
        frames_total += len(per)
        for part in missing:
            missing[part] += int((~per[part]).sum())
        no_hands += int((~(per["left_hand"] | per["right_hand"])).sum())
        counts = df[df.type.isin(["left_hand", "right_hand"])].groupby("type")[["x", "y", "z"]]
        n = counts.count().sum(axis=1)
        left, right = int(n.get("left_hand", 0)), int(n.get("right_hand", 0))
        dominant.append("none" if left == right == 0 else "left" if left >= right else "right")
    q = np.percentile(lengths, [5, 25, 50, 75, 95])
    return {
        "sequences": len(meta),
        "frames": {
            "min": min(lengths),
            "p5": q[0],
            "p25": q[1],
            "median": q[2],
            "p75": q[3],
            "p95": q[4],
            "max": max(lengths),
            "mean": float(np.mean(lengths)),
        },
        "missing": {k: v / frames_total for k, v in missing.items()},
        "no_hands": no_hands / frames_total,
        "dominant_hand": {h: dominant.count(h) / len(dominant) for h in ("left", "right", "none")},
        "signs": meta["sign"].value_counts().to_dict(),
        "participants": {str(k): v for k, v in meta["participant_id"].value_counts().items()},
    }


def _close(got: dict, ref: dict) -> None:
    assert got.keys() >= ref.keys()
    for key, value in ref.items():
        if isinstance(value, dict):
            assert set(got[key]) == set(value), key
            for k, v in value.items():
                assert got[key][k] == pytest.approx(v, rel=1e-12, abs=1e-12), (key, k)
        else:
            assert got[key] == pytest.approx(value, rel=1e-12), key


def test_gislr_folder_equals_an_independent_computation(gislr_small):
    stats = dataset_stats(gislr_small, workers=2)
    _close(stats, _independent(gislr_small))
    assert 0 < stats["missing"]["left_hand"] < 1 and stats["no_hands"] > 0


def test_cli_json_table_and_plots(gislr_small, tmp_path):
    cmd = [sys.executable, "-m", "aslsign.cli", "stats", str(gislr_small)]
    out = subprocess.run([*cmd, "--json"], capture_output=True, text=True, check=True).stdout
    _close(json.loads(out), _independent(gislr_small))
    table = subprocess.run(
        [*cmd, "--plots", str(tmp_path / "plots"), "--workers", "1"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "sequences: 48" in table and "missing right_hand" in table
    for name in ("lengths.png", "missing_hands_by_sign.png"):
        data = (tmp_path / "plots" / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_files_and_an_aslfr_folder(gislr_small, tmp_path):
    meta = pd.read_csv(gislr_small / "train.csv")
    paths = [gislr_small / p for p in meta["path"][:10]]
    files = dataset_stats(paths)
    assert files["sequences"] == 10 and files["signs"] == {} and files["participants"] == {}
    assert files["frames"]["max"] == max(len(load_sequence(p)) for p in paths)
    # the same sequences as an ASLFR folder: two files, phrases, participants
    seqs = {1000 + i: load_sequence(p) for i, p in enumerate(paths)}
    root = tmp_path / "aslfr"
    (root / "landmarks").mkdir(parents=True)
    rows = []
    for f, ids in enumerate((list(seqs)[:6], list(seqs)[6:])):
        write_fingerspelling(root / "landmarks" / f"{f}.parquet", {i: seqs[i] for i in ids})
        rows += [
            {
                "path": f"landmarks/{f}.parquet",
                "file_id": f,
                "sequence_id": i,
                "participant_id": 7 + f,
                "phrase": "abc" * (1 + i % 3),
            }
            for i in ids
        ]
    with open(root / "train.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    spelled = dataset_stats(root)
    for key in ("sequences", "frames", "missing", "no_hands", "dominant_hand"):
        assert spelled[key] == pytest.approx(files[key]), key
    assert spelled["participants"] == {"7": 6, "8": 4} and spelled["signs"] == {}
    lengths = [len(r["phrase"]) for r in rows]
    assert spelled["phrase_length"]["mean"] == pytest.approx(np.mean(lengths))
    assert "phrase length" in format_table(spelled)
    # and the ASLFR files alone
    alone = dataset_stats(sorted((root / "landmarks").glob("*.parquet")))
    assert alone["sequences"] == 10 and alone["frames"] == files["frames"]


def test_bad_input(tmp_path):
    with pytest.raises(LandmarkFileError, match=r"train\.csv"):
        dataset_stats(tmp_path)
    (tmp_path / "train.csv").write_text("path,other\nx.parquet,1\n")
    with pytest.raises(LandmarkFileError, match="neither a sign column"):
        dataset_stats(tmp_path)
    with pytest.raises(LandmarkFileError):
        dataset_stats([])
