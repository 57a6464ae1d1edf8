"""Tests for aslsign.load_sequence and aslsign.GislrDataset (real GISLR files + synthetic ones)."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import aslsign
from aslsign import GislrDataset, load_sequence
from aslsign.errors import EmptySequenceError, InputShapeError, LandmarkFileError
from aslsign.landmarks import NUM_LANDMARKS

MINI_PARTICIPANTS = [2044, 16069, 22343, 26734, 27610, 29302, 30680, 34503, 37055, 37779, 53618]
MINI_PARTICIPANTS.append(61333)

# --------------------------------------------------------------------------------------------
# Helpers: GISLR long-format tables
# --------------------------------------------------------------------------------------------


def kaggle_reference(path: str | Path) -> np.ndarray:
    """Kaggle's reference loader (GISLR competition `load_relevant_data_subset`)."""
    data = pd.read_parquet(path, columns=["x", "y", "z"])
    n_frames = int(len(data) / NUM_LANDMARKS)
    return data.values.reshape(n_frames, NUM_LANDMARKS, 3).astype(np.float32)


def gislr_table(arr: np.ndarray, frames: np.ndarray | None = None) -> pa.Table:
    """A GISLR long-format table (frame, row_id, type, landmark_index, x, y, z) from an array.

    Frame i gets number ``frames[i]`` and is stored i-th, so the frames can be stored out of
    order (which ``aslsign.io.sequence_table`` itself does not write).
    """
    if frames is None:
        return aslsign.io.sequence_table(arr)
    frames = np.asarray(frames)
    order = np.argsort(frames, kind="stable")
    table = aslsign.io.sequence_table(np.asarray(arr)[order], frames[order])
    rank = np.argsort(order)  # where frame i sits in the sorted table
    return table.take((rank[:, None] * NUM_LANDMARKS + np.arange(NUM_LANDMARKS)).ravel())


def write_gislr(path: Path, arr: np.ndarray, frames: np.ndarray | None = None) -> Path:
    pq.write_table(gislr_table(arr, frames), path)
    return path


def random_sequence(n_frames: int, seed: int = 0, nan_frac: float = 0.1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    arr = rng.random((n_frames, NUM_LANDMARKS, 3)).astype(np.float32)
    arr[rng.random((n_frames, NUM_LANDMARKS)) < nan_frac] = np.nan
    return arr


def parquet_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.parquet"))


# --------------------------------------------------------------------------------------------
# Real data: equality with the Kaggle reference loader on every file
# --------------------------------------------------------------------------------------------


def _assert_all_match_reference(files: list[Path]) -> None:
    for path in files:
        expected = kaggle_reference(path)
        got = load_sequence(path)
        assert got.dtype == np.float32, path
        assert got.shape == expected.shape, path
        np.testing.assert_array_equal(got, expected, err_msg=str(path))


def test_matches_reference_on_every_gislr_mini_file(gislr_mini: Path) -> None:
    files = parquet_files(gislr_mini)
    assert len(files) == 439
    _assert_all_match_reference(files)


def test_matches_reference_on_every_gislr_gallery_file(gislr_gallery: Path) -> None:
    files = parquet_files(gislr_gallery)
    assert len(files) == 186
    _assert_all_match_reference(files)


def test_accepts_str_path(gislr_mini: Path) -> None:
    path = parquet_files(gislr_mini)[0]
    np.testing.assert_array_equal(load_sequence(str(path)), load_sequence(path))


def test_dataframe_and_table_inputs_match_path(gislr_mini: Path) -> None:
    path = parquet_files(gislr_mini)[0]
    expected = load_sequence(path)
    assert np.isnan(expected).any()  # the NaN handling is exercised too
    df = pd.read_parquet(path)
    np.testing.assert_array_equal(load_sequence(df), expected)
    np.testing.assert_array_equal(load_sequence(pq.read_table(path)), expected)
    # Only x, y, z (the reference loader's columns) is enough too.
    np.testing.assert_array_equal(load_sequence(df[["x", "y", "z"]]), expected)
    xyz_table = pq.read_table(path, columns=["x", "y", "z"])
    np.testing.assert_array_equal(load_sequence(xyz_table), expected)


def test_array_input_roundtrip() -> None:
    arr = random_sequence(4, seed=1)
    out = load_sequence(arr)
    assert out.dtype == np.float32 and out.shape == (4, NUM_LANDMARKS, 3)
    np.testing.assert_array_equal(out, arr)
    out64 = load_sequence(arr.astype(np.float64))
    np.testing.assert_array_equal(out64, arr)
    np.testing.assert_array_equal(load_sequence(arr.tolist()), arr)


# --------------------------------------------------------------------------------------------
# Row order, frame order, nulls
# --------------------------------------------------------------------------------------------


def test_write_sequence_reproduces_real_files_column_for_column(
    gislr_gallery: Path, tmp_path: Path
) -> None:
    """write_sequence(load_sequence(f), frames=f's frame numbers) rewrites every column of f."""
    for path in parquet_files(gislr_gallery)[:12]:
        original = pq.read_table(path)
        frames = np.unique(original.column("frame").to_numpy())
        out = aslsign.write_sequence(load_sequence(path), tmp_path / path.name, frames=frames)
        written = pq.read_table(out)
        for name in ("frame", "row_id", "type", "landmark_index"):
            assert written.column(name).to_pylist() == original.column(name).to_pylist(), name
        for name in ("x", "y", "z"):  # float64 of the file's float32-exact values
            np.testing.assert_array_equal(
                written.column(name).to_numpy().astype(np.float32),
                original.column(name).to_numpy().astype(np.float32),
            )
        np.testing.assert_array_equal(load_sequence(out), load_sequence(path))


def test_write_sequence_keeps_nan_and_float64(tmp_path: Path) -> None:
    x = random_sequence(3, seed=4).astype(np.float64) + 1e-12
    out = aslsign.write_sequence(x, tmp_path / "s.parquet")
    table = pq.read_table(out)
    assert table.schema.field("x").type == pa.float64()
    np.testing.assert_array_equal(table.column("x").to_numpy(), x[..., 0].ravel())
    assert table.column("row_id")[543].as_py() == "1-face-0"
    assert table.column("row_id")[542].as_py() == "0-right_hand-20"
    np.testing.assert_array_equal(load_sequence(out), x.astype(np.float32))


@pytest.mark.parametrize(
    ("frames", "match"),
    [([0, 1], "3 integers"), ([0, 2, 2], "strictly increasing"), ([0, 1, 40000], "0..32767")],
)
def test_write_sequence_rejects_bad_frame_numbers(
    tmp_path: Path, frames: list[int], match: str
) -> None:
    with pytest.raises(InputShapeError, match=match):
        aslsign.write_sequence(random_sequence(3), tmp_path / "s.parquet", frames=frames)


def test_write_sequence_rejects_bad_array_and_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(InputShapeError):
        aslsign.write_sequence(np.zeros((2, 500, 3)), tmp_path / "s.parquet")
    with pytest.raises(LandmarkFileError, match="does not exist"):
        aslsign.write_sequence(random_sequence(2), tmp_path / "no" / "s.parquet")


def test_shuffled_rows_of_real_file_give_same_array(gislr_mini: Path, tmp_path: Path) -> None:
    path = parquet_files(gislr_mini)[0]
    table = pq.read_table(path)
    perm = np.random.default_rng(0).permutation(table.num_rows)
    shuffled = tmp_path / "shuffled.parquet"
    pq.write_table(table.take(pa.array(perm)), shuffled)
    assert pq.read_schema(shuffled).names == table.column_names  # all columns kept
    expected = load_sequence(path)
    np.testing.assert_array_equal(load_sequence(shuffled), expected)
    # Same for the in-memory inputs, which carry the type column.
    np.testing.assert_array_equal(load_sequence(pq.read_table(shuffled)), expected)
    np.testing.assert_array_equal(load_sequence(pd.read_parquet(shuffled)), expected)


def test_shuffled_rows_synthetic(tmp_path: Path) -> None:
    arr = random_sequence(7, seed=2)
    table = gislr_table(arr, frames=np.arange(100, 107))
    perm = np.random.default_rng(1).permutation(table.num_rows)
    path = tmp_path / "shuffled.parquet"
    pq.write_table(table.take(pa.array(perm)), path)
    np.testing.assert_array_equal(load_sequence(path), arr)


def test_rows_shuffled_within_each_frame_only(tmp_path: Path) -> None:
    arr = random_sequence(3, seed=3)
    table = gislr_table(arr)
    rng = np.random.default_rng(2)
    perm = np.concatenate([f * NUM_LANDMARKS + rng.permutation(NUM_LANDMARKS) for f in range(3)])
    path = tmp_path / "within.parquet"
    pq.write_table(table.take(pa.array(perm)), path)
    np.testing.assert_array_equal(load_sequence(path), arr)


def test_frames_stored_out_of_order_come_out_ascending(tmp_path: Path) -> None:
    arr = random_sequence(5, seed=4)
    frame_numbers = np.array([30, 10, 50, 20, 40])
    path = write_gislr(tmp_path / "frames.parquet", arr, frames=frame_numbers)
    got = load_sequence(path)
    np.testing.assert_array_equal(got, arr[np.argsort(frame_numbers)])


def test_frames_out_of_order_without_landmark_index(tmp_path: Path) -> None:
    arr = random_sequence(4, seed=5)
    frame_numbers = np.array([3, 1, 2, 0])
    table = gislr_table(arr, frames=frame_numbers).select(["frame", "x", "y", "z"])
    np.testing.assert_array_equal(load_sequence(table), arr[np.argsort(frame_numbers)])


def test_non_contiguous_frame_numbers_in_order(tmp_path: Path) -> None:
    arr = random_sequence(3, seed=6)
    path = write_gislr(tmp_path / "gaps.parquet", arr, frames=np.array([5, 9, 200]))
    np.testing.assert_array_equal(load_sequence(path), arr)


def test_parquet_nulls_become_nan(tmp_path: Path) -> None:
    arr = random_sequence(2, seed=7, nan_frac=0.0)
    table = gislr_table(arr)
    mask = np.zeros(table.num_rows, dtype=bool)
    mask[[0, 5, 600, 1085]] = True
    cols = {}
    for i, c in enumerate(("x", "y", "z")):
        values = arr.reshape(-1, 3)[:, i].astype(np.float64)
        cols[c] = pa.array(values, pa.float64(), mask=mask if c != "y" else mask & False)
    for c, col in cols.items():
        table = table.set_column(table.column_names.index(c), c, col)
    assert table.column("x").null_count == 4
    path = tmp_path / "nulls.parquet"
    pq.write_table(table, path)
    got = load_sequence(path)
    expected = arr.copy()
    flat = expected.reshape(-1, 3)
    flat[mask, 0] = np.nan
    flat[mask, 2] = np.nan
    np.testing.assert_array_equal(got, expected)
    assert np.isnan(got.reshape(-1, 3)[mask][:, [0, 2]]).all()
    assert not np.isnan(got.reshape(-1, 3)[:, 1]).any()
    np.testing.assert_array_equal(got, kaggle_reference(path))
    np.testing.assert_array_equal(load_sequence(table), expected)


def test_multi_chunk_table() -> None:
    arr = random_sequence(4, seed=8)
    table = gislr_table(arr)
    chunked = pa.concat_tables([table.slice(0, 1000), table.slice(1000)])
    assert chunked.column("x").num_chunks == 2
    np.testing.assert_array_equal(load_sequence(chunked), arr)


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [LandmarkFileError, InputShapeError, EmptySequenceError])
def test_errors_subclass_valueerror(cls: type) -> None:
    assert issubclass(cls, ValueError)
    assert issubclass(cls, aslsign.AslSignError)


def test_empty_sequence_is_an_input_shape_error() -> None:
    assert issubclass(EmptySequenceError, InputShapeError)


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.parquet"
    with pytest.raises(LandmarkFileError, match="not found") as info:
        load_sequence(missing)
    assert "nope.parquet" in str(info.value)


def test_random_bytes_file(tmp_path: Path) -> None:
    path = tmp_path / "garbage.parquet"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(LandmarkFileError, match="not a readable parquet file") as info:
        load_sequence(path)
    assert "garbage.parquet" in str(info.value)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(LandmarkFileError, match="is a directory"):
        load_sequence(tmp_path)


def test_zero_rows_parquet(tmp_path: Path) -> None:
    empty = gislr_table(np.zeros((1, NUM_LANDMARKS, 3))).slice(0, 0)
    assert empty.num_rows == 0 and empty.num_columns == 7
    path = tmp_path / "empty.parquet"
    pq.write_table(empty, path)
    with pytest.raises(EmptySequenceError, match="no rows") as info:
        load_sequence(path)
    assert "empty.parquet" in str(info.value)
    with pytest.raises(EmptySequenceError):
        load_sequence(empty)


def test_missing_z_column(tmp_path: Path) -> None:
    table = gislr_table(random_sequence(2)).drop_columns(["z"])
    path = tmp_path / "noz.parquet"
    pq.write_table(table, path)
    with pytest.raises(LandmarkFileError, match="missing column") as info:
        load_sequence(path)
    assert "'z'" in str(info.value)
    assert "'x'" not in str(info.value).split("found")[0]  # only z is reported missing
    with pytest.raises(LandmarkFileError, match="'z'"):
        load_sequence(table)
    with pytest.raises(LandmarkFileError, match="'z'"):
        load_sequence(table.to_pandas())


def _drop_row(table: pa.Table, row: int) -> pa.Table:
    keep = np.ones(table.num_rows, dtype=bool)
    keep[row] = False
    return table.filter(pa.array(keep))


def test_frame_with_542_rows(tmp_path: Path) -> None:
    frames = np.array([10, 11, 12, 13])
    table = gislr_table(random_sequence(4), frames=frames)
    # Drop one row of frame 12 (the third frame).
    table = _drop_row(table, 2 * NUM_LANDMARKS + 100)
    path = tmp_path / "short.parquet"
    pq.write_table(table, path)
    with pytest.raises(InputShapeError) as info:
        load_sequence(path)
    msg = str(info.value).lower()
    assert "frame 12" in msg
    assert "542" in msg and "543" in msg


def test_frame_with_542_rows_and_another_with_544(tmp_path: Path) -> None:
    """Row count divisible by 543, but frames are still not 543 rows each."""
    table = gislr_table(random_sequence(3), frames=np.array([0, 1, 2]))
    table = _drop_row(table, NUM_LANDMARKS + 7)  # frame 1 -> 542 rows
    extra = gislr_table(random_sequence(1, seed=9), frames=np.array([2])).slice(0, 1)
    table = pa.concat_tables([table, extra])  # frame 2 -> 544 rows
    assert table.num_rows % NUM_LANDMARKS == 0
    path = tmp_path / "uneven.parquet"
    pq.write_table(table, path)
    with pytest.raises(InputShapeError) as info:
        load_sequence(path)
    msg = str(info.value).lower()
    assert "frame 1 " in msg and "542" in msg and "543" in msg


def test_duplicate_landmark_in_frame(tmp_path: Path) -> None:
    table = gislr_table(random_sequence(2))
    index = table.column("landmark_index").to_numpy().copy()
    index[5] = 4  # face landmark 4 twice, 5 missing
    table = table.set_column(3, "landmark_index", pa.array(index, pa.int16()))
    with pytest.raises(InputShapeError, match="exactly once"):
        load_sequence(table)


@pytest.mark.parametrize("shape", [(543, 3), (5, 500, 3), (5, 543, 2), (5, 543, 3, 1), (543,)])
def test_wrong_array_shape(shape: tuple[int, ...]) -> None:
    with pytest.raises(InputShapeError, match="543") as info:
        load_sequence(np.zeros(shape, dtype=np.float32))
    assert f"got shape {shape}" in str(info.value)


def test_single_frame_hint() -> None:
    with pytest.raises(InputShapeError, match=r"arr\[None\]"):
        load_sequence(np.zeros((543, 3)))


def test_string_array() -> None:
    with pytest.raises(InputShapeError, match="numeric") as info:
        load_sequence(np.full((2, NUM_LANDMARKS, 3), "a"))
    assert "dtype" in str(info.value)


def test_object_array() -> None:
    arr = np.empty((2, NUM_LANDMARKS, 3), dtype=object)
    with pytest.raises(InputShapeError, match="numeric"):
        load_sequence(arr)


def test_zero_frame_array() -> None:
    with pytest.raises(EmptySequenceError, match="zero frames"):
        load_sequence(np.zeros((0, NUM_LANDMARKS, 3), dtype=np.float32))


# --------------------------------------------------------------------------------------------
# Property test: any (frames, 543, 3) array survives a GISLR parquet round trip
# --------------------------------------------------------------------------------------------

# Any float64 in the accepted range (rounded to float32 on load) and any float32 in it; NaN is
# added by the mask below. Values beyond MAX_ABS_COORDINATE are refused (the test after these).
_LIMIT = aslsign.landmarks.MAX_ABS_COORDINATE
_floats = st.floats(-_LIMIT, _LIMIT) | st.floats(-_LIMIT, _LIMIT, width=32)


@st.composite
def _sequences(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(1, 12))
    values = draw(
        hnp.arrays(
            np.float64,
            (n, NUM_LANDMARKS, 3),
            elements=_floats,
            fill=_floats,
        )
    )
    nan_mask = draw(hnp.arrays(np.bool_, (n, NUM_LANDMARKS), elements=st.booleans()))
    values[nan_mask] = np.nan
    frames = draw(st.permutations(list(range(n))))
    return values, np.asarray(frames)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_sequences())
def test_property_parquet_roundtrip(data: tuple[np.ndarray, np.ndarray]) -> None:
    values, _ = data
    with tempfile.TemporaryDirectory() as tmp:
        path = write_gislr(Path(tmp) / "seq.parquet", values)
        got = load_sequence(path)
        expected = values.astype(np.float32)
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(got, kaggle_reference(path))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_sequences())
def test_property_parquet_roundtrip_frames_permuted(data: tuple[np.ndarray, np.ndarray]) -> None:
    """Frame i stored with frame number frames[i] comes out at position frames[i]."""
    values, frames = data
    with tempfile.TemporaryDirectory() as tmp:
        path = write_gislr(Path(tmp) / "seq.parquet", values, frames=frames)
        got = load_sequence(path)
    expected = np.empty_like(values, dtype=np.float32)
    expected[frames] = values.astype(np.float32)
    np.testing.assert_array_equal(got, expected)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=_sequences(),
    bad=st.sampled_from([np.inf, -np.inf, 1e30, -1e300, _LIMIT * 1.01, 2e4]),
    where=st.tuples(st.integers(0, 11), st.integers(0, NUM_LANDMARKS - 1), st.integers(0, 2)),
)
def test_property_parquet_out_of_range_refused(
    data: tuple[np.ndarray, np.ndarray], bad: float, where: tuple[int, int, int]
) -> None:
    """One value beyond MAX_ABS_COORDINATE anywhere in a file: InputValueError naming its frame,
    landmark and coordinate, without a numpy warning."""
    values, _ = data
    frame, row, axis = where[0] % len(values), where[1], where[2]
    table = gislr_table(values)  # sequence_table refuses the bad value itself: put it in after
    column = table.column("xyz"[axis]).to_numpy().copy()
    column[frame * NUM_LANDMARKS + row] = bad
    table = table.set_column(4 + axis, "xyz"[axis], pa.array(column, pa.float64()))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "seq.parquet"
        pq.write_table(table, path)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(aslsign.InputValueError) as info:
                load_sequence(path)
    name = aslsign.landmarks.landmark_name(row)
    assert f"frame {frame}, landmark {name} (row {row}) has {'xyz'[axis]} = " in str(info.value)


# --------------------------------------------------------------------------------------------
# GislrDataset
# --------------------------------------------------------------------------------------------


def test_dataset_gislr_mini(gislr_mini: Path) -> None:
    ds = GislrDataset(gislr_mini)
    assert len(ds) == 439
    assert ds.signs == ["hello", "thankyou"]
    assert ds.participants == MINI_PARTICIPANTS
    assert len(ds.participants) == 12
    assert "sequences=439" in repr(ds)
    record = ds[0]
    assert isinstance(record, aslsign.GislrRecord)
    assert record.path.is_file()
    assert record.path.parent.name == str(record.participant_id)
    assert record.path.stem == str(record.sequence_id)
    assert sum(1 for _ in ds) == 439


def test_dataset_subset(gislr_mini: Path) -> None:
    ds = GislrDataset(gislr_mini)
    chosen = [2044, 61333]
    sub = ds.subset(participants=chosen)
    assert 0 < len(sub) < len(ds)
    assert sub.participants == chosen
    assert len(sub) == sum(r.participant_id in chosen for r in ds)
    hello = ds.subset(signs=["hello"])
    assert hello.signs == ["hello"]
    both = ds.subset(participants=chosen, signs=["thankyou"])
    assert all(r.participant_id in chosen and r.sign == "thankyou" for r in both)
    assert len(both) == len(sub) - len(sub.subset(signs=["hello"]))
    assert len(ds.subset(participants=[123456789])) == 0


def test_dataset_iter_sequences(gislr_mini: Path) -> None:
    sub = GislrDataset(gislr_mini).subset(participants=[2044])
    pairs = list(sub.iter_sequences())
    assert len(pairs) == len(sub) > 0
    for record, arr in pairs:
        assert isinstance(record, aslsign.GislrRecord)
        assert arr.dtype == np.float32
        assert arr.ndim == 3 and arr.shape[0] >= 1 and arr.shape[1:] == (NUM_LANDMARKS, 3)
        np.testing.assert_array_equal(arr, kaggle_reference(record.path))


def test_dataset_gallery(gislr_gallery: Path) -> None:
    ds = GislrDataset(gislr_gallery)
    assert len(ds) == 186
    assert len(ds.signs) == 186
    assert ds.participants == [-1]


def test_dataset_without_train_csv(tmp_path: Path) -> None:
    with pytest.raises(LandmarkFileError, match=r"train\.csv") as info:
        GislrDataset(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_dataset_csv_missing_columns(tmp_path: Path) -> None:
    (tmp_path / "train.csv").write_text("path,sign\na.parquet,hello\n")
    with pytest.raises(LandmarkFileError, match="participant_id"):
        GislrDataset(tmp_path)


def test_dataset_on_synthetic_folder(tmp_path: Path) -> None:
    arr = random_sequence(3, seed=10)
    (tmp_path / "files").mkdir()
    write_gislr(tmp_path / "files" / "1.parquet", arr)
    (tmp_path / "train.csv").write_text(
        "path,participant_id,sequence_id,sign\nfiles/1.parquet,7,1,hello\n"
    )
    ds = GislrDataset(tmp_path)
    [(record, got)] = list(ds.iter_sequences())
    assert record.participant_id == 7 and record.sign == "hello"
    np.testing.assert_array_equal(got, arr)


def test_all_null_coordinate_column_is_nan() -> None:
    n = 2 * NUM_LANDMARKS
    table = pa.table(
        {
            "frame": np.repeat([3, 4], NUM_LANDMARKS).astype(np.int16),
            "x": pa.nulls(n),
            "y": np.zeros(n),
            "z": np.ones(n),
        }
    )
    out = load_sequence(table)
    assert out.shape == (2, NUM_LANDMARKS, 3)
    assert np.isnan(out[..., 0]).all() and (out[..., 1] == 0).all() and (out[..., 2] == 1).all()
