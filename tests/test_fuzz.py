"""Property-based fuzzing of the whole input path, for both tasks.

Arrays of arbitrary shape, dtype and values (NaN, +-inf, huge, tiny, integers, booleans,
complex, objects, strings, empty, 0-d), and other objects, go through ``load_sequence`` /
``load_landmarks``, the preprocessing the model's config names and ``predict`` /
``predict_batch`` / ``stream.push`` of the bundled default models. Every call must end in
either an :class:`aslsign.errors.AslSignError` or a valid result, and no warning (numpy's
RuntimeWarnings included) may reach the caller. Bounded for CI: the whole file runs in well under
a minute.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from hypothesis.extra import numpy as hnp

import aslsign
from aslsign import (
    FingerspellingRecognizer,
    FingerspellingResult,
    SignRecognizer,
    SignResult,
    load_landmarks,
    load_sequence,
)
from aslsign.errors import AslSignError, EmptySequenceError, InputShapeError, InputValueError
from aslsign.io import read_examples
from aslsign.landmarks import MAX_ABS_COORDINATE, NUM_LANDMARKS, SLICES
from aslsign.registry import DEFAULT_MODEL, zoo_dir

T = TypeVar("T")
FUZZ = settings(
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# Real sequences to perturb: the bundled model's examples (always present, also in CI).
EXAMPLES = list(read_examples(zoo_dir() / DEFAULT_MODEL / "examples.json").values())

SPECIAL = [
    np.nan,
    np.inf,
    -np.inf,
    1e30,
    -1e30,
    1e300,
    MAX_ABS_COORDINATE,
    -MAX_ABS_COORDINATE,
    MAX_ABS_COORDINATE * (1 + 1e-6),
    np.nextafter(MAX_ABS_COORDINATE, np.inf),
    0.0,
    -0.0,
    5e-324,
    1e-38,
    1e-30,
    0.5,
    1.0,
    -3.0,
    9999.0,
    65504.0,
    np.finfo(np.float32).max,
]
DTYPES = [
    np.float64,
    np.float32,
    np.float16,
    np.longdouble,
    np.int64,
    np.int32,
    np.int8,
    np.uint8,
    np.uint64,
    np.bool_,
    np.complex64,
    object,
    np.str_,
]


def _cast(values: np.ndarray, dtype: Any) -> np.ndarray:
    """``values`` as ``dtype``, however lossy (the test's own casts may warn: not the SDK's)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if dtype is object:
            return values.astype(object)
        return values.astype(dtype)


@st.composite
def landmark_arrays(
    draw: st.DrawFn, min_frames: int = 0, max_frames: int = 40, only_floats: bool = False
) -> np.ndarray:
    """``(frames, 543, 3)``-shaped arrays (0 frames too): a real or random sequence, with whole
    parts missing (NaN), patches of special values, in any dtype."""
    frames = draw(st.integers(min_frames, max_frames))
    if draw(st.booleans()) and frames:
        base = EXAMPLES[draw(st.integers(0, len(EXAMPLES) - 1))].astype(np.float64)
        base = np.resize(base, (frames, NUM_LANDMARKS, 3))
    else:
        seed = draw(st.integers(0, 2**32 - 1))
        scale = draw(st.sampled_from([1.0, 1e-30, 1e-6, 1e3, MAX_ABS_COORDINATE]))
        offset = draw(st.sampled_from([0.0, 0.5, -1.0, 9000.0]))
        rng = np.random.default_rng(seed)
        base = offset + scale * rng.standard_normal((frames, NUM_LANDMARKS, 3))
        base = np.clip(base, -MAX_ABS_COORDINATE, MAX_ABS_COORDINATE)
    for part in draw(st.lists(st.sampled_from(sorted(SLICES)), max_size=4)):
        rows = np.zeros(frames, bool)
        rows[draw(st.integers(0, max(frames, 1))) :] = True
        base[rows, SLICES[part]] = np.nan
    if draw(st.booleans()):
        base[:] = draw(st.sampled_from([np.nan, 0.0, 0.5, MAX_ABS_COORDINATE]))
    for _ in range(draw(st.sampled_from([0, 0, 1, 2, 3]))):
        if not frames:
            break
        f = draw(st.integers(0, frames - 1))
        r = draw(st.integers(0, NUM_LANDMARKS - 1))
        width = draw(st.integers(1, 30))
        axis = draw(st.integers(0, 2))
        base[f, r : r + width, axis] = draw(st.sampled_from(SPECIAL))
    float_types = st.sampled_from([np.float32, np.float64])  # half the arrays: what loaders give
    if only_floats:
        return _cast(base, draw(float_types))
    return _cast(base, draw(st.one_of(float_types, st.sampled_from(DTYPES))))


def other_arrays() -> st.SearchStrategy[Any]:
    """Arrays of any other shape (0-d, empty, one frame, a wrong axis), and non-arrays."""
    shapes = st.one_of(
        hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4),
        st.sampled_from(
            [
                (NUM_LANDMARKS, 3),
                (2, NUM_LANDMARKS, 2),
                (2, NUM_LANDMARKS - 1, 3),
                (2, NUM_LANDMARKS, 3, 1),
                (1, 3, NUM_LANDMARKS),
                (0, NUM_LANDMARKS, 3),
                (2, 0, 3),
            ]
        ),
    )
    arrays = st.builds(
        lambda shape, dtype, value: _cast(np.full(shape, value), dtype),
        shapes,
        st.sampled_from(DTYPES),
        st.sampled_from(SPECIAL),
    )
    others = st.one_of(
        st.none(),
        st.integers(),
        st.floats(allow_nan=True),
        st.text(max_size=5),  # a path that does not exist
        st.lists(st.floats(allow_nan=True), max_size=3),
        st.just([[[0.5] * 3] * NUM_LANDMARKS, [[0.5] * 3] * (NUM_LANDMARKS - 1)]),  # ragged
        st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
        st.just(object()),
    )
    return st.one_of(arrays, others)


def outcome(call: Callable[[], T]) -> T | AslSignError:
    """The result of ``call``, or the AslSignError it raised. Anything else (another exception,
    any warning) fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            got = call()
        except AslSignError as exc:
            _event(f"error: {type(exc).__name__}")
            return exc
    detected = getattr(got, "detected", None)
    _event(f"{type(got).__name__}" + ("" if detected is None else f" detected={detected}"))
    return got


def _event(text: str) -> None:
    """Count outcomes (pytest --hypothesis-show-statistics shows how many were valid)."""
    if currently_in_test_context():
        event(text)


def _bounded(x: Any) -> bool:
    """Whether ``x`` is a (frames >= 1, 543, 3) array of real numbers within the bound."""
    arr = np.asarray(x) if isinstance(x, np.ndarray) else None
    if arr is None or arr.shape[1:] != (NUM_LANDMARKS, 3) or arr.ndim != 3 or not len(arr):
        return False
    if arr.dtype.kind not in "fiu":
        return False
    with np.errstate(all="ignore"):
        as32 = arr.astype(np.float32)
    return not bool((np.abs(as32) > MAX_ABS_COORDINATE).any())


def check_sign(result: SignResult, frames: int, labels: tuple[str, ...]) -> None:
    probs = result.probabilities
    assert probs.shape == (len(labels),) and probs.dtype == np.float32
    assert np.isfinite(probs).all()
    assert result.num_frames == frames and 0 <= result.num_frames_used <= frames
    if result.detected:
        assert abs(float(probs.sum()) - 1.0) < 1e-4
        assert (probs >= 0).all()
        scores = [c.score for c in result.top_k]
        assert scores == sorted(scores, reverse=True)
        assert result.label in labels if not result.rejected else result.label is None
        assert all(0.0 <= s <= 1.0 for s in scores)
    else:
        assert not probs.any() and result.label is None and result.score == 0.0


def check_spelling(result: FingerspellingResult, frames: int, chars: tuple[str, ...]) -> None:
    assert isinstance(result.text, str) and set(result.text) <= set(chars)
    assert result.text == "".join(c.label for c in result.characters)
    assert all(np.isfinite(c.score) and 0.0 <= c.score <= 1.0 for c in result.characters)
    assert result.num_frames == frames and 0 <= result.num_frames_used <= frames
    if result.detected:
        assert np.isfinite(result.log_prob) and result.log_prob <= 1e-6
    else:
        assert result.text == "" and result.log_prob == float("-inf")
    assert 0.0 <= result.confidence <= 1.0


def _expect_error_kind(x: Any, got: AslSignError) -> None:
    """An array of the right shape and numeric dtype fails only for a value beyond the bound
    (InputValueError) or for having no frames; the rest is InputShapeError."""
    if _bounded(x):
        raise AssertionError(f"valid input refused: {got!r}")
    if isinstance(x, np.ndarray) and x.ndim == 3 and x.shape[1:] == (NUM_LANDMARKS, 3):
        if x.dtype.kind in "fiu":
            assert isinstance(got, (InputValueError, EmptySequenceError)), got
        else:
            assert isinstance(got, InputShapeError), got


# two of three inputs are landmark-shaped (most of them valid), one of three anything else
INPUTS = st.one_of(landmark_arrays(), landmark_arrays(), other_arrays())


@FUZZ
@given(x=INPUTS)
def test_sign_predict_any_array(sign: SignRecognizer, x: Any) -> None:
    loaded = outcome(lambda: load_sequence(x))
    direct = outcome(lambda: sign.predict(x))
    if isinstance(loaded, AslSignError):
        assert isinstance(direct, AslSignError) and type(direct) is type(loaded)
        _expect_error_kind(x, loaded)
        return
    assert _bounded(x), "an array beyond the bound (or not numeric) was accepted"
    assert loaded.dtype == np.float32 and loaded.shape == np.shape(x)
    assert isinstance(direct, SignResult), direct
    check_sign(direct, len(loaded), sign.labels)
    again = outcome(lambda: sign.predict(loaded))
    assert isinstance(again, SignResult)
    np.testing.assert_array_equal(again.probabilities, direct.probabilities)


@FUZZ
@given(x=INPUTS)
def test_fingerspelling_predict_any_array(spell: FingerspellingRecognizer, x: Any) -> None:
    loaded = outcome(lambda: load_landmarks(x))
    direct = outcome(lambda: spell.predict(x))
    if isinstance(loaded, AslSignError):
        assert isinstance(direct, AslSignError) and type(direct) is type(loaded)
        _expect_error_kind(x, loaded)
        return
    assert _bounded(x)
    assert isinstance(direct, FingerspellingResult), direct
    check_spelling(direct, len(loaded), spell.characters)
    beam = outcome(lambda: spell.predict(loaded, beam_width=3))
    assert isinstance(beam, FingerspellingResult)
    check_spelling(beam, len(loaded), spell.characters)


@settings(FUZZ, max_examples=150)
@given(xs=st.lists(landmark_arrays(), min_size=1, max_size=4))
def test_predict_batch_any_arrays(
    sign: SignRecognizer, spell: FingerspellingRecognizer, xs: list[np.ndarray]
) -> None:
    """A batch fails with the error of its first bad sequence, or equals predict one by one."""
    for rec in (sign, spell):
        batch = outcome(lambda rec=rec: rec.predict_batch(xs, batch_size=2))  # type: ignore[misc]
        singles = [outcome(lambda x=x, rec=rec: rec.predict(x)) for x in xs]  # type: ignore[misc]
        errors = [s for s in singles if isinstance(s, AslSignError)]
        if errors:
            assert isinstance(batch, AslSignError) and type(batch) is type(errors[0])
            continue
        assert isinstance(batch, list) and len(batch) == len(xs)
        for got, single, x in zip(batch, singles, xs, strict=True):
            if isinstance(got, SignResult):
                check_sign(got, len(x), sign.labels)
                assert isinstance(single, SignResult)
                np.testing.assert_allclose(got.probabilities, single.probabilities, atol=1e-5)
            else:
                check_spelling(got, len(x), spell.characters)
                assert isinstance(single, FingerspellingResult) and got.text == single.text


@settings(FUZZ, max_examples=200)
@given(
    frames=st.lists(
        st.one_of(
            landmark_arrays().map(lambda a: a[0] if len(a) else a),  # one frame (543, 3)
            landmark_arrays().map(lambda a: a[-1] if len(a) else a),
            other_arrays(),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_stream_push_any_frame(
    sign: SignRecognizer, spell: FingerspellingRecognizer, frames: list[Any]
) -> None:
    """A bad frame is refused with an AslSignError and not added; the stream goes on."""
    for rec in (sign, spell):
        stream = rec.stream(window_frames=4, stride=1)
        pushed = 0
        for t, frame in enumerate(frames):
            push = stream.push
            got = outcome(lambda push=push, frame=frame, t=t: push(frame, timestamp_ms=t))  # type: ignore[misc]
            if isinstance(got, AslSignError):
                assert stream.frames_pushed == pushed  # refused frames are not kept
                continue
            pushed += 1
            assert stream.frames_pushed == pushed
            if isinstance(got, SignResult):
                check_sign(got, min(pushed, 4), sign.labels)
            else:
                assert isinstance(got, FingerspellingResult)
                check_spelling(got, min(pushed, 4), spell.characters)


def test_every_special_value_alone(sign: SignRecognizer, spell: FingerspellingRecognizer) -> None:
    """Each special value at one landmark of a real sequence, deterministically (the examples
    above are random): +-inf and magnitudes beyond the bound are InputValueError naming frame,
    landmark and coordinate; the rest give valid results."""
    base = EXAMPLES[0]
    for value in SPECIAL:
        x = base.astype(np.float64)
        x[3, 530, 1] = value
        for rec in (sign, spell):
            got = outcome(lambda rec=rec, x=x: rec.predict(x))  # type: ignore[misc]
            # the bound applies to the float32 value (1e4 + 2e-12 rounds to 1e4); NaN is fine
            with np.errstate(over="ignore"):
                beyond = abs(np.float32(value)) > MAX_ABS_COORDINATE
            if beyond:
                assert isinstance(got, InputValueError), (value, got)
                assert "frame 3, landmark right_hand 8 (row 530) has y = " in str(got)
            elif isinstance(got, SignResult):
                check_sign(got, len(x), sign.labels)
            else:
                assert isinstance(got, FingerspellingResult), (value, got)
                check_spelling(got, len(x), spell.characters)


def test_the_limit_is_exported() -> None:
    assert aslsign.landmarks.MAX_ABS_COORDINATE == MAX_ABS_COORDINATE == 1e4


ARROW_TYPES = [
    pa.float64(),
    pa.float32(),
    pa.float16(),
    pa.int64(),
    pa.int16(),
    pa.uint8(),
    pa.bool_(),
    pa.string(),
    pa.null(),
    pa.list_(pa.float32()),
]


def _arrow_column(values: np.ndarray, kind: pa.DataType) -> pa.Array:
    """``values`` (float64) as an Arrow column of ``kind``, however lossy."""
    if pa.types.is_null(kind):
        return pa.nulls(len(values))
    if pa.types.is_string(kind):
        return pa.array([str(v) for v in values], pa.string())
    if pa.types.is_list(kind):
        return pa.array([[float(v)] for v in values], kind)
    with np.errstate(all="ignore"):
        if pa.types.is_floating(kind):
            return pa.array(values, pa.float64()).cast(kind, safe=False)
        finite = np.where(np.isfinite(values), values, 0)
        return pa.array(finite.astype(np.int64), pa.int64()).cast(kind, safe=False)


@settings(FUZZ, max_examples=80)
@given(
    x=landmark_arrays(min_frames=1, max_frames=8, only_floats=True),
    kinds=st.lists(st.sampled_from(ARROW_TYPES), min_size=3, max_size=3),
    drop=st.sets(st.sampled_from(["frame", "type", "landmark_index", "x", "z"]), max_size=1),
    frames=st.sampled_from(["keep", "shuffle", "duplicate"]),
)
def test_gislr_tables_of_any_column_types(
    sign: SignRecognizer,
    spell: FingerspellingRecognizer,
    x: np.ndarray,
    kinds: list[pa.DataType],
    drop: set[str],
    frames: str,
) -> None:
    """GISLR long tables (and DataFrames of them) whose x, y, z columns have any Arrow type, with
    a column missing, frames shuffled or repeated: an AslSignError or a valid result."""
    n = len(x)
    values = np.asarray(x, np.float64).reshape(-1, 3)
    frame = np.repeat(np.arange(n), NUM_LANDMARKS)
    columns: dict[str, Any] = {
        "frame": pa.array(frame, pa.int16()),
        "type": pa.array(np.tile(aslsign.io.gislr._STANDARD_TYPE, n)),
        "landmark_index": pa.array(np.tile(aslsign.io.gislr._STANDARD_INDEX, n)),
    }
    for i, (axis, kind) in enumerate(zip("xyz", kinds, strict=True)):
        columns[axis] = _arrow_column(values[:, i], kind)
    table = pa.table({k: v for k, v in columns.items() if k not in drop})
    if frames == "shuffle":
        table = table.take(np.random.default_rng(n).permutation(table.num_rows))
    elif frames == "duplicate":
        table = pa.concat_tables([table, table.slice(0, NUM_LANDMARKS)])
    n = table.num_rows // NUM_LANDMARKS  # a repeated frame without frame numbers is a frame
    for source in (table, table.to_pandas()):
        for rec in (sign, spell):
            got = outcome(lambda rec=rec, source=source: rec.predict(source))  # type: ignore[misc]
            if isinstance(got, SignResult):
                check_sign(got, n, sign.labels)
            elif isinstance(got, FingerspellingResult):
                check_spelling(got, n, spell.characters)
            else:
                assert isinstance(got, AslSignError)


@settings(FUZZ, max_examples=40)
@given(
    xs=st.lists(
        landmark_arrays(min_frames=1, max_frames=6, only_floats=True),
        min_size=1,
        max_size=3,
    ),
    kind=st.sampled_from(ARROW_TYPES),
    column=st.integers(0, len(aslsign.landmarks.ASLFR_COLUMNS) - 1),
)
def test_aslfr_tables_of_any_column_types(
    spell: FingerspellingRecognizer,
    xs: list[np.ndarray],
    kind: pa.DataType,
    column: int,
) -> None:
    """ASLFR wide tables with one coordinate column of any Arrow type, several sequences:
    an AslSignError or a valid result for each sequence id."""
    stacked = np.concatenate([np.asarray(a, np.float64) for a in xs])
    coords = stacked.transpose(2, 1, 0).reshape(len(aslsign.landmarks.ASLFR_COLUMNS), -1)
    ids = np.repeat(np.arange(len(xs)), [len(a) for a in xs])
    data: dict[str, Any] = {"sequence_id": pa.array(ids), "frame": pa.array(np.arange(len(ids)))}
    for i, name in enumerate(aslsign.landmarks.ASLFR_COLUMNS):
        data[name] = _arrow_column(coords[i], kind if i == column else pa.float32())
    table = pa.table(data)
    for sid, a in enumerate(xs):
        got = outcome(lambda sid=sid: spell.predict(table, sequence_id=sid))  # type: ignore[misc]
        if isinstance(got, FingerspellingResult):
            check_spelling(got, len(a), spell.characters)
        else:
            assert isinstance(got, AslSignError)
