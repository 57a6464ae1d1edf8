"""Non-finite and absurd coordinates: InputValueError wherever landmarks enter, for both tasks,
naming the first bad frame, landmark and coordinate; and no numpy warning from any input."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import aslsign
from aslsign.errors import InputValueError
from aslsign.io import read_examples, read_fingerspelling_file, sequence_table
from aslsign.landmarks import ASLFR_COLUMNS, MAX_ABS_COORDINATE, NUM_LANDMARKS
from aslsign.preprocessing import (
    FingerspellingPreprocessor,
    Gislr1stPreprocessor,
    RawPreprocessor,
    WijkhuizenPreprocessor,
)

FRAME, ROW, AXIS = 2, 530, 1  # frame 2, right_hand 8, y
WHERE = "frame 2, landmark right_hand 8 (row 530) has y = "
BAD = [np.inf, -np.inf, 1e30, -2e4, MAX_ABS_COORDINATE * 1.001, 1e300]


@pytest.fixture(scope="module")
def real(gislr_mini: Path) -> np.ndarray:
    """A real sequence of at least 5 frames."""
    return next(r.load() for r in aslsign.GislrDataset(gislr_mini) if len(r.load()) >= 5)


def refused(call: Callable[[], Any], where: str = WHERE) -> InputValueError:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InputValueError) as info:
            call()
    assert where in str(info.value), str(info.value)
    assert "NaN" in str(info.value)  # says what to write instead
    return info.value


def _with(x: np.ndarray, value: float) -> np.ndarray:
    out = np.asarray(x, np.float64).copy()
    out[FRAME, ROW, AXIS] = value
    return out


@pytest.mark.parametrize("value", BAD)
def test_arrays(real, sign, spell, value):
    x = _with(real, value)
    for call in (
        lambda: aslsign.load_sequence(x),
        lambda: aslsign.load_landmarks(x),
        lambda: aslsign.load_fingerspelling(x),
        lambda: sign.predict(x),
        lambda: spell.predict(x),
        lambda: sign.predict_batch([real, x]),
        lambda: spell.predict_batch([real, x]),
    ):
        error = refused(call)
        if np.isfinite(value) and abs(value) < 1e38:
            assert f"{np.float32(value):.7g}" in str(error)
    assert "landmark array" in str(refused(lambda: sign.predict(x)))
    with np.errstate(over="ignore"):
        x32 = _with(real, value).astype(np.float32)  # 1e300 is inf in float32: refused too
    refused(lambda: sign.predict(x32))


@pytest.mark.parametrize("value", [np.inf, 1e30, -2e4])
def test_gislr_tables_dataframes_and_files(real, sign, spell, tmp_path, value):
    table = sequence_table(real)
    y = table.column("y").to_numpy().copy()
    y[FRAME * NUM_LANDMARKS + ROW] = value
    table = table.set_column(table.schema.get_field_index("y"), "y", pa.array(y))
    path = tmp_path / "seq.parquet"
    pq.write_table(table, path)
    for source in (table, table.to_pandas(), path):
        for call in (
            lambda s=source: aslsign.load_sequence(s),
            lambda s=source: sign.predict(s),
            lambda s=source: spell.predict(s),
        ):
            refused(call)
    assert str(path) in str(refused(lambda: aslsign.load_sequence(path)))


def test_aslfr_tables_and_files(real, spell, tmp_path):
    good = aslsign.write_fingerspelling(tmp_path / "good.parquet", {7: real, 8: real})
    table = pq.read_table(good)
    column = ASLFR_COLUMNS[NUM_LANDMARKS * AXIS + ROW]  # y_right_hand_8
    assert column == "y_right_hand_8"
    values = table.column(column).to_numpy().copy()
    values[len(real) + FRAME] = np.inf  # sequence 8, frame 2
    table = table.set_column(table.schema.get_field_index(column), column, pa.array(values))
    path = tmp_path / "bad.parquet"
    pq.write_table(table, path)
    assert aslsign.load_fingerspelling(path, 7).shape == real.shape  # the other is fine
    for call in (
        lambda: aslsign.load_fingerspelling(path, 8),
        lambda: aslsign.load_landmarks(path, 8),
        lambda: spell.predict(path, sequence_id=8),
        lambda: aslsign.load_fingerspelling(table, 8),
        lambda: spell.predict(table.to_pandas(), sequence_id=8),
        lambda: list(read_fingerspelling_file(path)),
    ):
        error = refused(call)
        assert "sequence 8" in str(error) or "table" in str(error) or "DataFrame" in str(error)


@pytest.mark.parametrize("rec_name", ["sign", "spell"])
def test_stream_push(real, rec_name, request):
    rec = request.getfixturevalue(rec_name)
    with rec.stream(window_frames=4, stride=1) as stream:
        stream.push(real[0], 0)
        stream.push(real[1], 1)
        bad = real[FRAME].astype(np.float64)
        bad[ROW, AXIS] = -np.inf
        error = refused(lambda: stream.push(bad, 2), "landmark right_hand 8 (row 530) has y = -inf")
        assert "stream.push (frame 2, 2 ms)" in str(error)
        assert stream.frames_pushed == 2 and len(stream.window) == 2  # not added
        stream.push(real[FRAME], 2)  # the same timestamp again: the refused frame took none
        assert stream.frames_pushed == 3


@pytest.mark.parametrize(
    "pipeline",
    [
        Gislr1stPreprocessor(),
        FingerspellingPreprocessor(),
        WijkhuizenPreprocessor(),
        RawPreprocessor(),
    ],
    ids=lambda p: p.name,
)
def test_preprocessing_pipelines(real, pipeline):
    x = _with(real, np.nan)  # NaN is fine
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pipeline(x)
    refused(lambda: pipeline(_with(real, np.inf)), "preprocessing input: " + WHERE)
    refused(lambda: pipeline.batch([real, _with(real, 1e5)]))


def test_writers_refuse_what_readers_would(real, tmp_path):
    bad = _with(real, np.inf)
    refused(lambda: aslsign.write_sequence(bad, tmp_path / "a.parquet"))
    refused(lambda: aslsign.write_fingerspelling(tmp_path / "b.parquet", {3: bad}), "sequence 3")
    examples = tmp_path / "examples.json"
    frames = np.where(np.isnan(real[:3]), None, real[:3]).tolist()
    frames[FRAME][ROW][AXIS] = 1e30
    examples.write_text(json.dumps({"hello": frames}))
    error = refused(lambda: read_examples(examples))
    assert "example 'hello'" in str(error)


def test_limit_is_inclusive(real, sign):
    """Exactly MAX_ABS_COORDINATE is accepted; the next float32 above it is not."""
    x = _with(real, MAX_ABS_COORDINATE).astype(np.float32)
    assert sign.predict(x).detected
    x[FRAME, ROW, AXIS] = np.nextafter(np.float32(MAX_ABS_COORDINATE), np.float32(np.inf))
    refused(lambda: sign.predict(x))


def test_no_warning_on_real_data(gislr_mini, sign, spell):
    """Real sequences, and the same with every other frame and whole parts missing, with
    warnings as errors."""
    records = list(aslsign.GislrDataset(gislr_mini))[::9]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for r in records:
            x = r.load()
            holes = x.copy()
            holes[::2] = np.nan
            holes[:, 468:543] = np.nan  # no hands, no pose
            for y in (x, holes, x[:1]):
                assert np.isfinite(sign.predict(y).probabilities).all()
                spell.predict(y)
        sign.predict_batch([r.path for r in records])
        spell.predict_batch([r.path for r in records])
