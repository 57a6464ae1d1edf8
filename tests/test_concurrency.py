"""Eight threads sharing one recogniser (each task) over real sequences give exactly the serial
results: ``predict`` from arrays and from files (ASLFR files read by many threads at once),
``predict_batch`` and streams."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest

import aslsign
from aslsign import FingerspellingRecognizer, FingerspellingResult, SignRecognizer, SignResult

THREADS = 8
T = TypeVar("T")


@pytest.fixture(scope="module")
def records(gislr_mini: Path) -> list[aslsign.GislrRecord]:
    """40 real sequences of 12 signers (every 11th record of gislr-mini)."""
    return list(aslsign.GislrDataset(gislr_mini))[::11]


def in_threads(work: Callable[[int], T]) -> list[T]:
    """``work(i)`` for i = 0..7, each in its own thread, all started together."""
    start = threading.Barrier(THREADS)

    def run(i: int) -> T:
        start.wait()
        return work(i)

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(run, range(THREADS)))


def same_sign(a: SignResult, b: SignResult) -> bool:
    return (
        np.array_equal(a.probabilities, b.probabilities)
        and a.top_k == b.top_k
        and (a.num_frames, a.num_frames_used) == (b.num_frames, b.num_frames_used)
    )


def same_spelling(a: FingerspellingResult, b: FingerspellingResult) -> bool:
    return a == b  # text, per-character scores, log_prob and frame counts, exactly


def _rotated(items: list[Any], i: int) -> list[Any]:
    """Each thread walks the items from another start, so different sequences run at once."""
    k = i * len(items) // THREADS
    return items[k:] + items[:k]


def test_sign_predict_from_files_and_arrays(sign: SignRecognizer, records: list) -> None:
    paths = [r.path for r in records]
    arrays = [r.load() for r in records]
    serial = [sign.predict(p) for p in paths]
    assert {r.top_k[0].label for r in serial} == {"hello", "thankyou"}  # real, varied ones

    def work(i: int) -> list[tuple[int, SignResult]]:
        order = _rotated(list(range(len(paths))), i)
        source = paths if i % 2 else arrays  # half the threads read the files themselves
        return [(j, sign.predict(source[j])) for j in order]

    for results in in_threads(work):
        assert len(results) == len(paths)
        for j, result in results:
            assert same_sign(result, serial[j]), paths[j]


def test_sign_predict_batch_and_streams(sign: SignRecognizer, records: list) -> None:
    arrays = [r.load() for r in records]
    serial_batch = sign.predict_batch(arrays, batch_size=4)
    window = max(arrays, key=len)[:20]
    assert len(window) == 20

    def stream_results() -> list[SignResult]:
        with sign.stream(window_frames=8, stride=4, top_k=1) as stream:
            return [r for t, f in enumerate(window) if (r := stream.push(f, t)) is not None]

    serial_stream = stream_results()
    assert len(serial_stream) == 5

    def work(i: int) -> tuple[list[SignResult], list[SignResult]]:
        return sign.predict_batch(arrays, batch_size=4), stream_results()

    for batch, streamed in in_threads(work):
        assert all(same_sign(a, b) for a, b in zip(batch, serial_batch, strict=True))
        assert all(same_sign(a, b) for a, b in zip(streamed, serial_stream, strict=True))


@pytest.fixture(scope="module")
def aslfr_file(records: list, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 of the sequences as one ASLFR file of 4 row groups, ids 100, 101, ..."""
    path = tmp_path_factory.mktemp("concurrency") / "phrases.parquet"
    seqs = {100 + i: r.load() for i, r in enumerate(records[:8])}
    return aslsign.write_fingerspelling(path, seqs, sequences_per_row_group=2)


def test_fingerspelling_predict_reading_one_file(
    spell: FingerspellingRecognizer, aslfr_file: Path
) -> None:
    """Eight threads read sequences of the same ASLFR file (its footer and sequence index are
    shared) and transcribe them with one recogniser, greedy and with a beam."""
    ids = aslsign.list_sequence_ids(aslfr_file)
    assert len(ids) == 8
    width = {sid: 1 if k % 2 else 4 for k, sid in enumerate(ids)}  # greedy and beam search
    serial = {sid: spell.predict(aslfr_file, sequence_id=sid, beam_width=width[sid]) for sid in ids}
    assert len({r.text for r in serial.values()}) > 1  # the transcriptions differ

    def work(i: int) -> list[tuple[int, FingerspellingResult]]:
        return [
            (sid, spell.predict(aslfr_file, sequence_id=sid, beam_width=width[sid]))
            for sid in _rotated(ids, i)
        ]

    for results in in_threads(work):
        assert sorted(sid for sid, _ in results) == sorted(ids)
        for sid, result in results:
            assert same_spelling(result, serial[sid]), sid


def test_fingerspelling_batch_and_file_reads(
    spell: FingerspellingRecognizer, aslfr_file: Path
) -> None:
    arrays = [x for _, x in aslsign.io.read_fingerspelling_file(aslfr_file)]
    serial = spell.predict_batch(arrays, batch_size=4)

    def work(i: int) -> list[FingerspellingResult]:
        # each thread reads the whole file (row group by row group) and batches it
        return spell.predict_batch(
            (x for _, x in aslsign.io.read_fingerspelling_file(aslfr_file)), batch_size=4
        )

    for results in in_threads(work):
        assert all(same_spelling(a, b) for a, b in zip(results, serial, strict=True))


def test_closing_while_others_predict_is_an_error_not_a_crash(records: list) -> None:
    """close() from one thread while others predict: those calls either finish with the right
    result or raise RuntimeError('... is closed'); nothing else."""
    arrays = [r.load() for r in records[:10]]
    rec = SignRecognizer.from_pretrained()
    serial = [rec.predict(x) for x in arrays]

    def work(i: int) -> list[Any]:
        out: list[Any] = []
        for j, x in enumerate(arrays):
            if i == 0 and j == 3:
                rec.close()
            try:
                out.append((j, rec.predict(x)))
            except RuntimeError as exc:
                assert "is closed" in str(exc)
                out.append((j, None))
        return out

    for results in in_threads(work):
        for j, result in results:
            assert result is None or same_sign(result, serial[j])
    with pytest.raises(RuntimeError, match="is closed"):
        rec.predict(arrays[0])
