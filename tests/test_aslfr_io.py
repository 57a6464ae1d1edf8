"""ASLFR (fingerspelling) wide parquet files: reading one sequence, writing, datasets.

Files are written here in the Kaggle layout by pandas (an independent writer) and by
``aslsign.write_fingerspelling``; every sequence must come back with exactly its stored values.
"""

from __future__ import annotations

import csv
import io as pyio

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import aslsign
from aslsign.errors import (
    AslSignError,
    EmptySequenceError,
    InputShapeError,
    LandmarkFileError,
    SequenceNotFoundError,
)
from aslsign.io import aslfr, load_landmarks, read_fingerspelling_file
from aslsign.landmarks import ASLFR_COLUMNS


def random_sequence(rng: np.random.Generator, frames: int) -> np.ndarray:
    x = rng.random((frames, 543, 3), dtype=np.float32)
    x[:, :468][rng.random((frames, 468)) < 0.9] = np.nan  # mostly undetected face points
    x[rng.random(frames) < 0.3, 468:489] = np.nan  # left hand missing in some frames
    return x


def kaggle_frame(sequences: dict[int, np.ndarray]) -> pd.DataFrame:
    """The Kaggle layout built with pandas: index sequence_id, frame, 1,629 float32 columns."""
    parts = []
    for sid, x in sequences.items():
        flat = x.transpose(0, 2, 1).reshape(len(x), -1)  # (frames, xyz * 543) in column order
        df = pd.DataFrame(flat, columns=list(ASLFR_COLUMNS))
        df.insert(0, "frame", np.arange(len(x), dtype=np.int16))
        df.index = pd.Index([sid] * len(x), name="sequence_id")
        parts.append(df)
    return pd.concat(parts)


def reference(df: pd.DataFrame, sid: int) -> np.ndarray:
    """Independent reading: pandas .loc, sorted by frame, columns reshaped to (frames, 543, 3)."""
    rows = df.loc[[sid]].sort_values("frame")
    values = rows[list(ASLFR_COLUMNS)].to_numpy(np.float32)
    return values.reshape(len(rows), 3, 543).transpose(0, 2, 1)


def same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


@pytest.fixture(scope="module")
def sequences() -> dict[int, np.ndarray]:
    rng = np.random.default_rng(0)
    ids = rng.choice(10**9, 60, replace=False)
    return {int(s): random_sequence(rng, int(rng.integers(1, 40))) for s in ids}


@pytest.mark.parametrize("row_group_size", [None, 97, 1000])
def test_every_sequence_of_a_pandas_written_file(tmp_path, sequences, row_group_size):
    path = tmp_path / "5414471.parquet"
    kaggle_frame(sequences).to_parquet(path, row_group_size=row_group_size)
    df = pd.read_parquet(path)
    for sid in sequences:
        got = aslsign.load_fingerspelling(path, sid)
        assert same(got, reference(df, sid)), sid
        assert same(got, sequences[sid])
    assert aslsign.list_sequence_ids(path) == list(sequences)


def test_shuffled_rows_come_back_in_frame_order(tmp_path, sequences):
    df = kaggle_frame(sequences).sample(frac=1.0, random_state=1)  # interleaved sequences
    path = tmp_path / "shuffled.parquet"
    df.to_parquet(path, row_group_size=200)
    for sid in list(sequences)[:10]:
        assert same(aslsign.load_fingerspelling(path, sid), sequences[sid])


def test_float64_columns_and_sequence_id_as_a_column(tmp_path, sequences):
    df = kaggle_frame(sequences).reset_index()
    df[list(ASLFR_COLUMNS)] = df[list(ASLFR_COLUMNS)].astype(np.float64)
    path = tmp_path / "f64.parquet"
    df.to_parquet(path, index=False)
    sid = next(iter(sequences))
    assert same(aslsign.load_fingerspelling(path, sid), sequences[sid])


def test_write_fingerspelling_round_trip_and_pandas_view(tmp_path, sequences):
    path = aslsign.write_fingerspelling(
        tmp_path / "ours.parquet", sequences, sequences_per_row_group=7
    )
    assert pq.ParquetFile(path).metadata.num_row_groups == -(-len(sequences) // 7)
    df = pd.read_parquet(path)
    assert df.index.name == "sequence_id" and list(df.columns[:2]) == ["frame", "x_face_0"]
    assert len(df.columns) == 1 + len(ASLFR_COLUMNS)
    for sid, x in sequences.items():
        assert same(reference(df, sid), x)
        assert same(aslsign.load_fingerspelling(path, sid), x)
    ids = [sid for sid, _ in read_fingerspelling_file(path)]
    assert ids == list(sequences)
    with pytest.raises(ValueError, match="twice"):
        aslsign.write_fingerspelling(tmp_path / "dup.parquet", [(1, x), (1, x)])


class CountingFile(pyio.BytesIO):
    """An in-memory file that counts the bytes read from it."""

    read_bytes = 0

    def read(self, n: int | None = -1) -> bytes:
        data = super().read(n)
        self.read_bytes += len(data)
        return data


def test_reads_only_the_row_group_holding_the_sequence(tmp_path, sequences):
    path = aslsign.write_fingerspelling(
        tmp_path / "groups.parquet", sequences, sequences_per_row_group=4
    )
    counting = CountingFile(path.read_bytes())
    opened = pq.ParquetFile(pa.PythonFile(counting, mode="r"))
    footer = counting.read_bytes
    f = aslfr._AslfrFile(path, opened)
    sid = list(sequences)[30]
    before = counting.read_bytes
    assert same(f.read(sid), sequences[sid])
    data = path.stat().st_size - footer
    assert counting.read_bytes - before < data / 5, "more than the sequence's row group was read"


def test_unknown_sequence_and_bad_files(tmp_path, sequences, gislr_mini):
    path = aslsign.write_fingerspelling(tmp_path / "a.parquet", sequences)
    with pytest.raises(SequenceNotFoundError, match="holds no sequence_id 12") as info:
        aslsign.load_fingerspelling(path, 12)
    assert isinstance(info.value, LookupError) and isinstance(info.value, AslSignError)
    with pytest.raises(InputShapeError, match="pass sequence_id"):
        aslsign.load_fingerspelling(path)
    with pytest.raises(InputShapeError, match="integer"):
        aslsign.load_fingerspelling(path, "abc")
    gislr_file = next(gislr_mini.glob("**/*.parquet"))
    with pytest.raises(LandmarkFileError, match="load_sequence"):
        aslsign.load_fingerspelling(gislr_file, 1)
    partial = tmp_path / "partial.parquet"
    kaggle_frame(sequences).drop(columns=["x_right_hand_3", "z_pose_0"]).to_parquet(partial)
    with pytest.raises(LandmarkFileError, match="missing 2 of the 1629"):
        aslsign.load_fingerspelling(partial, next(iter(sequences)))
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"not parquet at all" * 10)
    with pytest.raises(LandmarkFileError, match="not a readable parquet"):
        aslsign.load_fingerspelling(junk, 1)
    with pytest.raises(LandmarkFileError, match="not found"):
        aslsign.load_fingerspelling(tmp_path / "missing.parquet", 1)


def test_a_file_of_one_sequence_needs_no_id(tmp_path, sequences):
    sid, x = next(iter(sequences.items()))
    path = aslsign.write_fingerspelling(tmp_path / "one.parquet", {sid: x})
    assert same(aslsign.load_fingerspelling(path), x)


def test_tables_and_dataframes(sequences):
    df = kaggle_frame(sequences)
    sid, x = list(sequences.items())[3]
    assert same(aslsign.load_fingerspelling(df.loc[[sid]]), x)  # one sequence, index kept
    assert same(aslsign.load_fingerspelling(df, sid), x)
    table = pa.Table.from_pandas(df.reset_index())
    assert same(aslsign.load_fingerspelling(table, sid), x)
    one = df.loc[[sid]].reset_index(drop=True)  # no sequence_id at all
    assert same(aslsign.load_fingerspelling(one), x)
    with pytest.raises(InputShapeError, match="holds 60 sequences"):
        aslsign.load_fingerspelling(df)
    with pytest.raises(SequenceNotFoundError):
        aslsign.load_fingerspelling(df, 5)
    with pytest.raises(EmptySequenceError):
        aslsign.load_fingerspelling(df.iloc[:0])
    bad = df.loc[[sid]].astype({"x_face_0": str})
    with pytest.raises(InputShapeError, match="x_face_0"):
        aslsign.load_fingerspelling(bad)
    assert same(aslsign.load_fingerspelling(x), x)  # arrays pass through


def test_load_landmarks_tells_the_formats_apart(tmp_path, sequences, gislr_mini):
    path = aslsign.write_fingerspelling(tmp_path / "a.parquet", sequences)
    sid = list(sequences)[5]
    assert same(load_landmarks(path, sid), sequences[sid])
    gislr_file = next(gislr_mini.glob("**/*.parquet"))
    assert same(load_landmarks(gislr_file), aslsign.load_sequence(gislr_file))
    with pytest.raises(InputShapeError, match="GISLR"):
        load_landmarks(gislr_file, 3)


def write_dataset(root, sequences, supplemental: bool):
    ids = list(sequences)
    files = {"train_landmarks/1.parquet": ids[:25], "train_landmarks/2.parquet": ids[25:50]}
    if supplemental:
        files["supplemental_landmarks/3.parquet"] = ids[50:]
    rows = {"train.csv": [], "supplemental_metadata.csv": []}
    for i, (rel, members) in enumerate(files.items()):
        aslsign.write_fingerspelling(root / rel, {s: sequences[s] for s in members})
        target = "supplemental_metadata.csv" if rel.startswith("supp") else "train.csv"
        for j, sid in enumerate(members):
            rows[target].append([rel, i + 1, sid, 100 + j % 3, f"phrase {j % 5}"])
    for name, body in rows.items():
        if body:
            with (root / name).open("w", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(["path", "file_id", "sequence_id", "participant_id", "phrase"])
                w.writerows(body)


def test_fingerspelling_dataset(tmp_path, sequences):
    write_dataset(tmp_path, sequences, supplemental=True)
    ds = aslsign.FingerspellingDataset(tmp_path)
    assert len(ds) == 60 and len(ds.files) == 3
    assert ds.participants == [100, 101, 102]
    assert sum(r.supplemental for r in ds) == 10
    assert len(aslsign.FingerspellingDataset(tmp_path, supplemental=False)) == 50
    sub = ds.subset(participants=[101], supplemental=False)
    assert {r.participant_id for r in sub} == {101} and not any(r.supplemental for r in sub)
    assert len(ds.subset(phrases=["phrase 0"])) == sum(r.phrase == "phrase 0" for r in ds)
    seen = []
    for record, landmarks in sub.iter_sequences(progress=True):
        assert same(landmarks, sequences[record.sequence_id])
        seen.append(record.sequence_id)
    assert sorted(seen) == sorted(r.sequence_id for r in sub)
    assert same(sub[0].load(), sequences[sub[0].sequence_id])
    assert "sequences=60" in repr(ds)


def test_dataset_errors(tmp_path):
    with pytest.raises(LandmarkFileError, match=r"No train\.csv"):
        aslsign.FingerspellingDataset(tmp_path)
    (tmp_path / "train.csv").write_text("path,sequence_id\nx.parquet,1\n")
    with pytest.raises(LandmarkFileError, match="missing column"):
        aslsign.FingerspellingDataset(tmp_path)
    (tmp_path / "train.csv").write_text(
        "path,file_id,sequence_id,participant_id,phrase\nx.parquet,1,abc,2,hi\n"
    )
    with pytest.raises(LandmarkFileError, match="line"):
        aslsign.FingerspellingDataset(tmp_path)
