"""A corpus of corrupt inputs: truncated and bit-flipped GISLR and ASLFR parquet files, tables and
files of the wrong schema, corrupt model artifacts (config.json, model.tflite, sha256, variants,
examples.json). Every one must end in an :class:`aslsign.errors.AslSignError` or a valid result:
never another exception, a numpy warning, or a crash.

Corrupt ``.tflite`` files without a sha256 to catch them are loaded and run in a subprocess
(tests/corrupt_worker.py), so that a crash of the native interpreter fails this test with the
file that caused it instead of killing pytest.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_cli import run as run_cli
from test_fuzz import check_sign, check_spelling, outcome

import aslsign
from aslsign import FingerspellingRecognizer, FingerspellingResult, SignRecognizer, SignResult
from aslsign.config import ModelConfig
from aslsign.errors import (
    AslSignError,
    ConfigError,
    EmptySequenceError,
    InputShapeError,
    LandmarkFileError,
    ModelFileError,
    SequenceNotFoundError,
    SignatureMismatchError,
)
from aslsign.io import list_sequence_ids, read_examples, read_fingerspelling_file
from aslsign.landmarks import ASLFR_COLUMNS, NUM_LANDMARKS
from aslsign.registry import DEFAULT_FINGERSPELLING_MODEL, DEFAULT_MODEL, zoo_dir

REPO = Path(__file__).resolve().parents[1]
SIGN_DIR = zoo_dir() / DEFAULT_MODEL
SPELL_DIR = zoo_dir() / DEFAULT_FINGERSPELLING_MODEL
SIGN_LABELS = ModelConfig.load(SIGN_DIR / "config.json").labels
CHARACTERS = tuple(c for c in ModelConfig.load(SPELL_DIR / "config.json").labels if len(c) == 1)


def truncations(data: bytes) -> list[bytes]:
    """Every cut in the first and last 16 bytes, and 40 evenly spaced ones."""
    cuts = set(range(16)) | {len(data) - k for k in range(1, 17)}
    cuts |= set(np.linspace(0, len(data) - 1, 40).astype(int).tolist())
    return [data[:n] for n in sorted(cuts)]


def bit_flips(data: bytes, count: int, seed: int) -> list[bytes]:
    """``count`` copies with 1 to 64 flipped bits; a third of them in the last 2 KB (the parquet
    footer / schema), the rest anywhere."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(count):
        b = bytearray(data)
        for _ in range(int(rng.choice([1, 1, 2, 8, 64]))):
            if k % 3 == 0:
                pos = len(b) - 1 - int(rng.integers(0, min(len(b), 2048)))
            else:
                pos = int(rng.integers(0, len(b)))
            b[pos] ^= 1 << int(rng.integers(0, 8))
        out.append(bytes(b))
    return out


def expect_valid(got: Any) -> str:
    """Check a result of the corpus: an AslSignError, or a result that is valid. Returns what it
    was, for the counts."""
    if isinstance(got, AslSignError):
        return type(got).__name__
    if isinstance(got, SignResult):
        check_sign(got, got.num_frames, SIGN_LABELS)
    elif isinstance(got, FingerspellingResult):
        check_spelling(got, got.num_frames, CHARACTERS)
    elif isinstance(got, np.ndarray):
        assert got.dtype == np.float32 and got.ndim == 3 and got.shape[1:] == (NUM_LANDMARKS, 3)
    else:
        assert isinstance(got, list), got
    return "valid"


# ------------------------------------------------------------------------- GISLR parquet


@pytest.fixture(scope="module")
def gislr_file(gislr_mini: Path) -> Path:
    """The smallest real file of gislr-mini (about 20 KB)."""
    return min(gislr_mini.rglob("*.parquet"), key=lambda p: p.stat().st_size)


def _gislr_calls(
    path: Path, sign: SignRecognizer, spell: FingerspellingRecognizer
) -> list[Callable[[], Any]]:
    return [
        lambda: aslsign.load_sequence(path),
        lambda: aslsign.load_landmarks(path),
        lambda: sign.predict(path),
        lambda: spell.predict(path),
    ]


def test_truncated_gislr_files(tmp_path, gislr_file, sign, spell):
    data = gislr_file.read_bytes()
    for i, blob in enumerate(truncations(data)):
        path = tmp_path / f"cut{i}.parquet"
        path.write_bytes(blob)
        for call in _gislr_calls(path, sign, spell):
            got = outcome(call)
            assert isinstance(got, LandmarkFileError), (len(blob), got)
            assert str(path) in str(got)


def test_bit_flipped_gislr_files(tmp_path, gislr_file, sign, spell):
    data = gislr_file.read_bytes()
    reference = aslsign.load_sequence(gislr_file)
    seen: Counter[str] = Counter()
    for i, blob in enumerate(bit_flips(data, 120, seed=1)):
        path = tmp_path / f"flip{i}.parquet"
        path.write_bytes(blob)
        loaded = outcome(lambda path=path: aslsign.load_sequence(path))
        for call in _gislr_calls(path, sign, spell):
            got = outcome(call)
            seen[expect_valid(got)] += 1
            if isinstance(loaded, AslSignError):
                assert type(got) is type(loaded)  # the same error whichever way it is read
        if isinstance(loaded, np.ndarray):
            assert loaded.dtype == np.float32 and loaded.shape[1:] == (NUM_LANDMARKS, 3)
            assert loaded.shape[0] == reference.shape[0]  # frame numbers are not in the data
    assert seen["LandmarkFileError"] > 0 and seen["valid"] > 0, seen


# ------------------------------------------------------------------------- ASLFR parquet


@pytest.fixture(scope="module")
def aslfr_file(gislr_mini: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four real sequences (the shortest files) as an ASLFR file of two row groups."""
    records = sorted(aslsign.GislrDataset(gislr_mini), key=lambda r: r.path.stat().st_size)[:4]
    seqs = {i + 1: r.load() for i, r in enumerate(records)}
    path = tmp_path_factory.mktemp("aslfr") / "phrases.parquet"
    return aslsign.write_fingerspelling(path, seqs, sequences_per_row_group=2)


def _aslfr_calls(path: Path, spell: FingerspellingRecognizer) -> list[Callable[[], Any]]:
    return [
        lambda: list_sequence_ids(path),
        lambda: aslsign.load_fingerspelling(path, 1),
        lambda: aslsign.load_landmarks(path, 4),
        lambda: spell.predict(path, sequence_id=2),
        lambda: spell.predict_batch(x for _, x in read_fingerspelling_file(path)),
    ]


def test_truncated_aslfr_files(tmp_path, aslfr_file, spell):
    for i, blob in enumerate(truncations(aslfr_file.read_bytes())):
        path = tmp_path / f"cut{i}.parquet"  # a new name each time: opened files are cached
        path.write_bytes(blob)
        for call in _aslfr_calls(path, spell):
            got = outcome(call)
            assert isinstance(got, LandmarkFileError), (len(blob), got)


def test_bit_flipped_aslfr_files(tmp_path, aslfr_file, spell):
    seen: Counter[str] = Counter()
    for i, blob in enumerate(bit_flips(aslfr_file.read_bytes(), 30, seed=2)):
        path = tmp_path / f"flip{i}.parquet"
        path.write_bytes(blob)
        for call in _aslfr_calls(path, spell):
            seen[expect_valid(outcome(call))] += 1
    assert seen["LandmarkFileError"] > 0 and seen["valid"] > 0, seen


# ------------------------------------------------------------------------- wrong schemas


def _gislr_table(gislr_file: Path) -> pa.Table:
    return pq.read_table(gislr_file)


def _replace(table: pa.Table, name: str, column: Any) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, column)


def gislr_schemas(t: pa.Table) -> dict[str, tuple[pa.Table, type[Exception] | None]]:
    """Name -> (table, the error it must give, or None for a valid result)."""
    n = t.num_rows
    x = t.column("x").to_numpy()
    shuffled = t.take(np.random.default_rng(0).permutation(n))
    nested = pa.array([{"a": 1.0, "b": [1, 2]}] * n)
    return {
        "x as text": (_replace(t, "x", pa.array(x.astype(str))), InputShapeError),
        "x as list": (_replace(t, "x", pa.array([[v] for v in x])), InputShapeError),
        "x as struct": (_replace(t, "x", nested), InputShapeError),
        "x as bool": (_replace(t, "x", pa.array(x > 0.5)), InputShapeError),
        "x as timestamp": (
            _replace(t, "x", pa.array(np.zeros(n, "datetime64[ms]"))),
            InputShapeError,
        ),
        "x as decimal": (
            _replace(t, "x", pa.array([None] * n, pa.decimal128(10, 3))),
            InputShapeError,
        ),
        "x as float16": (_replace(t, "x", pa.array(x.astype(np.float16))), None),
        "x all null": (_replace(t, "x", pa.nulls(n)), None),
        "x with nulls": (
            _replace(t, "x", pa.array(np.where(x > 0.5, x, np.nan), from_pandas=True)),
            None,
        ),
        "frame as text": (
            _replace(t, "frame", t.column("frame").cast(pa.string())),
            InputShapeError,
        ),
        "frame as float": (_replace(t, "frame", t.column("frame").cast(pa.float64())), None),
        "frame with NaN": (_replace(t, "frame", pa.array(np.full(n, np.nan))), InputShapeError),
        "frame as fractions": (
            _replace(t, "frame", pa.array(t.column("frame").to_numpy() + 0.5)),
            InputShapeError,
        ),
        "landmark_index with NaN": (
            _replace(shuffled, "landmark_index", pa.array(np.full(n, np.nan))),
            InputShapeError,
        ),
        "frame with nulls": (
            _replace(t, "frame", pa.array([None, *t.column("frame").to_pylist()[1:]], pa.int16())),
            InputShapeError,
        ),
        "landmark_index as text": (
            _replace(t, "landmark_index", t.column("landmark_index").cast(pa.string())),
            InputShapeError,
        ),
        "type as int, rows shuffled": (
            _replace(shuffled, "type", pa.array(np.zeros(n, np.int8))),
            InputShapeError,
        ),
        "unknown type, rows shuffled": (
            _replace(shuffled, "type", pa.array(["tail"] * n)),
            InputShapeError,
        ),
        "no type column, rows shuffled": (shuffled.drop_columns(["type"]), InputShapeError),
        "rows shuffled": (shuffled, None),
        "no x": (t.drop_columns(["x"]), LandmarkFileError),
        "no y, no z": (t.drop_columns(["y", "z"]), LandmarkFileError),
        "only x, y, z": (t.select(["x", "y", "z"]), None),
        "extra nested columns": (
            t.append_column("extra", nested).append_column("tags", pa.array([["a"]] * n)),
            None,
        ),
        "a nested column first": (
            pa.Table.from_arrays([nested, *t.columns], names=["meta", *t.column_names]),
            None,
        ),
        "x twice": (
            pa.Table.from_arrays([*t.columns, t.column("x")], names=[*t.column_names, "x"]),
            InputShapeError,
        ),
        "zero rows": (t.slice(0, 0), EmptySequenceError),
        "one row too many": (pa.concat_tables([t, t.slice(0, 1)]), InputShapeError),
        "a frame twice": (pa.concat_tables([t, t.slice(0, NUM_LANDMARKS)]), InputShapeError),
        "543 rows, no frame": (t.slice(0, NUM_LANDMARKS).drop_columns(["frame"]), None),
    }


def test_gislr_tables_and_files_of_wrong_schemas(tmp_path, gislr_file, sign, spell):
    cases = gislr_schemas(_gislr_table(gislr_file))
    for name, (table, error) in cases.items():
        path = tmp_path / f"{name.replace(' ', '_').replace(',', '')}.parquet"
        sources: list[Any] = [table]
        try:
            pq.write_table(table, path)
            sources.append(path)
        except pa.ArrowException:  # not every table can be stored (e.g. a null-typed decimal)
            pass
        for source in sources:
            for call in (
                lambda s=source: aslsign.load_sequence(s),
                lambda s=source: sign.predict(s),
                lambda s=source: spell.predict(s),
            ):
                got = outcome(call)
                if error is None:
                    assert not isinstance(got, AslSignError), (name, source, got)
                    expect_valid(got)
                else:
                    assert isinstance(got, error), (name, type(source).__name__, got)
                    assert "got" in str(got) or str(got), name


def test_nested_columns_do_not_shift_the_coordinates(tmp_path, gislr_file):
    """Parquet counts leaf columns: a struct before x, y, z must not make the loader read the
    wrong columns (it used to report 'missing column z' for this valid file)."""
    t = _gislr_table(gislr_file)
    nested = pa.array([{"a": 1.0, "b": [1, 2]}] * t.num_rows)
    for position in (0, t.schema.get_field_index("y")):
        columns, names = list(t.columns), list(t.column_names)
        columns.insert(position, nested)
        names.insert(position, "meta")
        path = tmp_path / f"nested{position}.parquet"
        pq.write_table(pa.Table.from_arrays(columns, names=names), path)
        np.testing.assert_array_equal(
            aslsign.load_sequence(path), aslsign.load_sequence(gislr_file)
        )


def test_aslfr_tables_and_files_of_wrong_schemas(tmp_path, aslfr_file, spell):
    t = pq.read_table(aslfr_file)
    n = t.num_rows
    nested = pa.array([{"a": [1.0]}] * n)
    cases: dict[str, tuple[pa.Table, Any]] = {
        "sequence_id as text": (
            _replace(t, "sequence_id", t.column("sequence_id").cast(pa.string())),
            InputShapeError,
        ),
        "sequence_id with nulls": (
            _replace(t, "sequence_id", pa.array([None] * n, pa.int64())),
            InputShapeError,
        ),
        "no sequence_id": (
            t.drop_columns(["sequence_id"]),
            (LandmarkFileError, SequenceNotFoundError),  # a file, or a table
        ),
        "sequence_id with NaN": (
            _replace(t, "sequence_id", pa.array(np.full(n, np.nan))),
            InputShapeError,
        ),
        "sequence_id as fractions": (
            _replace(t, "sequence_id", pa.array(t.column("sequence_id").to_numpy() + 0.5)),
            InputShapeError,
        ),
        "frame with NaN": (_replace(t, "frame", pa.array(np.full(n, np.nan))), InputShapeError),
        "frame as text": (
            _replace(t, "frame", t.column("frame").cast(pa.string())),
            InputShapeError,
        ),
        "a coordinate as text": (
            _replace(t, ASLFR_COLUMNS[7], t.column(ASLFR_COLUMNS[7]).cast(pa.string())),
            InputShapeError,
        ),
        "a coordinate as list": (
            _replace(t, ASLFR_COLUMNS[9], pa.array([[1.0]] * n)),
            InputShapeError,
        ),
        "a coordinate missing": (t.drop_columns([ASLFR_COLUMNS[100]]), LandmarkFileError),
        "extra nested column": (t.append_column("extra", nested), None),
        "a GISLR table": (_gislr_table_like(), (LandmarkFileError, InputShapeError)),
    }
    for name, (table, error) in cases.items():
        path = tmp_path / f"{name.replace(' ', '_')}.parquet"
        pq.write_table(table, path)
        for source in (table, path):
            got = outcome(lambda source=source: spell.predict(source, sequence_id=2))
            if error is None:
                assert isinstance(got, FingerspellingResult), (name, got)
            else:
                assert isinstance(got, error), (name, type(source).__name__, got)


def _gislr_table_like() -> pa.Table:
    return aslsign.io.sequence_table(np.full((2, NUM_LANDMARKS, 3), 0.5, np.float32))


# ------------------------------------------------------------------------- corrupt artifacts


def _artifact(tmp_path: Path, source: Path, name: str = "artifact") -> Path:
    root = tmp_path / name
    shutil.copytree(source, root)
    return root


@pytest.mark.parametrize("source", [SIGN_DIR, SPELL_DIR], ids=["sign", "spell"])
def test_corrupt_config_json(tmp_path, source):
    cls = SignRecognizer if source == SIGN_DIR else FingerspellingRecognizer
    text = (source / "config.json").read_text().rstrip()  # a cut of trailing space is no cut
    blobs = [text[:n].encode() for n in (0, 1, 2, 10, len(text) // 2, len(text) - 1)]
    blobs += [b"[]", b'"config"', b"3", b"null", b"true", b"\xff\xfe\x00garbage", b"{}"]
    blobs += [json.dumps({**json.loads(text), "labels": "abc"}).encode()]
    blobs += [json.dumps({**json.loads(text), "format_version": "1"}).encode()]
    for i, blob in enumerate(blobs):
        root = _artifact(tmp_path, source, f"a{i}")
        (root / "config.json").write_bytes(blob)
        got = outcome(lambda root=root: cls.from_pretrained(root))
        assert isinstance(got, ConfigError), (blob[:40], got)
        assert str(root / "config.json") in str(got) or "config.json" in str(got)


def test_config_json_that_is_a_directory(tmp_path):
    root = _artifact(tmp_path, SIGN_DIR)
    (root / "config.json").unlink()
    (root / "config.json").mkdir()
    got = outcome(lambda: SignRecognizer.from_pretrained(root))
    assert isinstance(got, AslSignError), got


@pytest.mark.parametrize("source", [SIGN_DIR, SPELL_DIR], ids=["sign", "spell"])
def test_model_tflite_replaced(tmp_path, source, gislr_file):
    cls = SignRecognizer if source == SIGN_DIR else FingerspellingRecognizer
    other = SPELL_DIR if source == SIGN_DIR else SIGN_DIR
    rng = np.random.default_rng(3)
    replacements = {
        "empty": b"",
        "random bytes": rng.integers(0, 256, 50_000, dtype=np.uint8).tobytes(),
        "zeros": bytes(100_000),
        "json": (source / "config.json").read_bytes(),
        "parquet": gislr_file.read_bytes(),
        "flatbuffer header only": (source / "model.tflite").read_bytes()[:64],
        "the other task's model": (other / "model.tflite").read_bytes(),
    }
    for i, (name, blob) in enumerate(replacements.items()):
        root = _artifact(tmp_path, source, f"a{i}")
        (root / "model.tflite").write_bytes(blob)
        got = outcome(lambda root=root: cls.from_pretrained(root))
        assert isinstance(got, ModelFileError) and "sha256" in str(got), (name, got)
        unchecked = outcome(lambda root=root: cls.from_pretrained(root, verify=False))
        expected = SignatureMismatchError if name == "the other task's model" else ModelFileError
        assert isinstance(unchecked, expected), (name, unchecked)


def test_model_tflite_missing_or_a_directory(tmp_path):
    root = _artifact(tmp_path, SIGN_DIR)
    (root / "model.tflite").unlink()
    assert isinstance(outcome(lambda: SignRecognizer.from_pretrained(root)), ModelFileError)
    (root / "model.tflite").mkdir()
    assert isinstance(outcome(lambda: SignRecognizer.from_pretrained(root)), ModelFileError)


@pytest.mark.parametrize("source", [SIGN_DIR, SPELL_DIR], ids=["sign", "spell"])
def test_bit_flipped_models_with_a_sha256_never_load(tmp_path, source):
    """The sha256 in config.json catches every modified byte before the interpreter sees it."""
    cls = SignRecognizer if source == SIGN_DIR else FingerspellingRecognizer
    data = (source / "model.tflite").read_bytes()
    root = _artifact(tmp_path, source)
    for blob in bit_flips(data, 40, seed=4) + truncations(data)[:-1]:
        (root / "model.tflite").write_bytes(blob)
        got = outcome(lambda: cls.from_pretrained(root))
        assert isinstance(got, ModelFileError) and "does not match the sha256" in str(got)


@pytest.mark.parametrize("variant", ["fp16", "int8"])
def test_corrupt_variant_file(tmp_path, variant):
    root = _artifact(tmp_path, SIGN_DIR)
    path = root / f"model.{variant}.tflite"
    path.write_bytes(path.read_bytes()[:-100])
    got = outcome(lambda: SignRecognizer.from_pretrained(root, variant=variant))
    assert isinstance(got, ModelFileError) and "sha256" in str(got), got
    path.unlink()
    got = outcome(lambda: SignRecognizer.from_pretrained(root, variant=variant))
    assert isinstance(got, ModelFileError) and f"no model.{variant}.tflite" in str(got), got


def test_corrupt_examples_json(tmp_path):
    root = _artifact(tmp_path, SIGN_DIR)
    examples = root / "examples.json"
    text = examples.read_text()
    for blob in (text[: len(text) // 2], "[1, 2]", '{"a": "x"}', '{"a": [[[1, 2]]]}', "\xff"):
        examples.write_bytes(blob.encode("latin-1"))
        got = outcome(lambda: read_examples(examples))
        assert isinstance(got, (LandmarkFileError, InputShapeError)), (blob[:20], got)
    examples.write_text('{"a": [[[1e30, 0, 0]]]}')
    assert isinstance(outcome(lambda: read_examples(examples)), AslSignError)
    proc = run_cli("predict", "--example", "--model", str(root), check=False)
    assert proc.returncode == 2 and "aslsign: error:" in proc.stderr


# ------------------------------------------------------------------------- unverified models


def _run_workers(jobs: list[list[str]], tmp_path: Path) -> dict[int, dict[str, Any]]:
    """Run the jobs in tests/corrupt_worker.py, starting again after any job that crashes the
    interpreter process (recorded as outcome ``crash`` with its exit status and stderr)."""
    jobs_file = tmp_path / "jobs.json"
    jobs_file.write_text(json.dumps(jobs))
    results: dict[int, dict[str, Any]] = {}
    start = 0
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    while start < len(jobs):
        proc = subprocess.run(
            [sys.executable, str(REPO / "tests" / "corrupt_worker.py"), str(jobs_file), str(start)],
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
        )
        lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
        results.update({line["i"]: line for line in lines})
        done = lines[-1]["i"] if lines else start - 1
        if proc.returncode != 0 and done + 1 < len(jobs):
            results[done + 1] = {
                "i": done + 1,
                "outcome": "crash",
                "type": f"exit status {proc.returncode}",
                "message": proc.stderr[-2000:],
            }
        start = done + 2 if proc.returncode != 0 else len(jobs)
    return results


def test_corrupt_models_without_a_sha256(tmp_path):
    """Bit-flipped, overwritten and truncated models that nothing checks (an artifact whose
    config.json has no sha256; a bare .tflite loaded as a Kaggle submission) are loaded and run:
    each must give an AslSignError or a valid result. A crash of the native interpreter fails
    this test, naming the file (it is not hidden: LiteRT verifies the flatbuffer, and none was
    seen in several thousand corrupt models)."""
    jobs: list[list[str]] = []
    for task, source in (("sign", SIGN_DIR), ("spell", SPELL_DIR)):
        data = (source / "model.tflite").read_bytes()
        config = json.loads((source / "config.json").read_text())
        config["model_sha256"] = None
        config["variants"] = {}
        rng = np.random.default_rng(5)
        blobs = bit_flips(data, 90, seed=6) + truncations(data)[::4]
        for _ in range(30):  # a 32-bit word (an offset, a size, a tensor index) set to an extreme
            b = bytearray(data)
            pos = int(rng.integers(0, len(b) - 4)) & ~3
            b[pos : pos + 4] = int(rng.choice([0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0])).to_bytes(
                4, "little"
            )
            blobs.append(bytes(b))
        for i, blob in enumerate(blobs):
            root = tmp_path / f"{task}{i}"
            root.mkdir()
            (root / "model.tflite").write_bytes(blob)
            (root / "config.json").write_text(json.dumps(config))
            bare = tmp_path / f"{task}{i}.tflite"
            bare.write_bytes(blob)
            jobs += [["artifact", task, str(root)], ["kaggle", task, str(bare)]]
    results = _run_workers(jobs, tmp_path)
    assert len(results) == len(jobs)
    bad = {jobs[i][2]: r for i, r in results.items() if r["outcome"] not in ("ok", "aslsign")}
    assert not bad, f"corrupt models that crashed or raised a bare exception: {bad}"
    counts = Counter((jobs[i][0], r["outcome"]) for i, r in results.items())
    assert counts[("artifact", "aslsign")] > 0 and counts[("artifact", "ok")] > 0, counts
