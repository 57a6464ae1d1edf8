"""The runtime stays light: no pandas (or other heavy module) imported at run time, and the
Arrow column reader that replaces pyarrow's pandas-backed ``to_numpy``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from aslsign.errors import InputShapeError
from aslsign.io._common import column_values, fill_float_column

HEAVY = ("pandas", "tensorflow", "keras", "matplotlib", "scipy", "PIL", "imageio", "mediapipe")


def test_predict_on_real_files_imports_nothing_heavy(gislr_gallery: Path) -> None:
    files = sorted(gislr_gallery.rglob("*.parquet"))[:5]
    code = (
        "import sys, aslsign\n"
        "with aslsign.SignRecognizer.from_pretrained() as rec:\n"
        f"    rec.predict_batch({[str(f) for f in files]!r})\n"
        f"    rec.predict({str(files[0])!r})\n"
        "with aslsign.FingerspellingRecognizer.from_pretrained() as rec:\n"
        f"    rec.predict(aslsign.load_sequence({str(files[1])!r}))\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(
    "arrow_type",
    [pa.float64(), pa.float32(), pa.float16(), pa.int16(), pa.int64(), pa.uint8()],
)
def test_column_values_equal_pyarrow_with_nulls_slices_and_chunks(arrow_type: pa.DataType) -> None:
    rng = np.random.default_rng(0)
    values = [None if rng.random() < 0.3 else int(rng.integers(0, 100)) for _ in range(203)]
    if pa.types.is_floating(arrow_type):
        values = [None if v is None else v / 7 for v in values]
    arr = pa.array(values, arrow_type)
    chunked = pa.chunked_array([arr.slice(0, 50), arr.slice(50, 0), arr.slice(50, 100), arr[150:]])
    for column in (arr, arr.slice(17, 101), chunked, arr.slice(3, 0)):
        expected = column.to_numpy(zero_copy_only=False)
        got = column_values(column)
        if column.null_count:
            expected = np.asarray(expected, dtype=np.float64)  # pyarrow: object or float
        np.testing.assert_array_equal(got.astype(np.float64), np.asarray(expected, np.float64))
        filled = np.full((len(column), 2), 7.0, np.float32)
        fill_float_column(column, filled[:, 1])  # a strided float32 view, as the loaders use
        np.testing.assert_array_equal(
            filled[:, 1], np.asarray(expected, np.float64).astype(np.float32)
        )
        assert (filled[:, 0] == 7).all()
    no_nulls = pa.array(np.arange(10), arrow_type)
    assert column_values(no_nulls).dtype == no_nulls.to_numpy().dtype


def test_column_values_rejects_non_numbers() -> None:
    with pytest.raises(InputShapeError, match="not a number column"):
        column_values(pa.array(["a", "b"]))
    with pytest.raises(InputShapeError, match="not a number column"):
        fill_float_column(pa.array(["a", "b"]), np.empty(2, np.float32))
    out = np.zeros(3, np.float32)
    fill_float_column(pa.nulls(3), out)
    assert np.isnan(out).all()


def test_no_native_log_lines_unless_asked(tmp_path: Path) -> None:
    """LiteRT prints "Created TensorFlow Lite XNNPACK delegate" to fd 2 on the first call in a
    process: a user who did not ask for logs does not see it; ASLSIGN_VERBOSE=1 shows it."""
    code = (
        "import sys, numpy as np, aslsign\n"
        "rec = aslsign.SignRecognizer.from_pretrained()\n"
        "rec.predict(np.random.default_rng(0).random((9, 543, 3)))\n"
        "print('python stderr', file=sys.stderr)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "ASLSIGN_VERBOSE"}
    quiet = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert quiet.stderr.strip() == "python stderr"
    loud = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**env, "ASLSIGN_VERBOSE": "1"},
    )
    assert "XNNPACK" in loud.stderr and "python stderr" in loud.stderr
