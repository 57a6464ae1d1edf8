"""Subprocess side of tests/test_corrupt.py: load (and run) corrupt ``.tflite`` models in an
interpreter of their own, so that a crash of the native interpreter is seen (and reported by the
test) instead of killing pytest.

    python tests/corrupt_worker.py JOBS_JSON START

JOBS_JSON is a list of ``[how, task, path]``: ``how`` is ``artifact`` (an artifact directory whose
config.json has no sha256, loaded and run on the bundled example) or ``kaggle`` (a bare
``.tflite``, loaded as a Kaggle submission); ``task`` is ``sign`` or ``spell``. From job START on,
one JSON line per job is printed (and flushed) as it finishes: ``{"i", "outcome", "type",
"message"}`` with ``outcome`` ``ok`` (a valid result), ``aslsign`` (an AslSignError) or ``bare``
(any other exception: a bug). A job that crashes the process prints nothing; the parent sees the
exit status and starts again after it.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src")]

import numpy as np  # noqa: E402

import aslsign  # noqa: E402
from aslsign.io import read_examples  # noqa: E402
from aslsign.registry import DEFAULT_MODEL, zoo_dir  # noqa: E402


def run(how: str, task: str, path: str, example: np.ndarray) -> None:
    cls = aslsign.SignRecognizer if task == "sign" else aslsign.FingerspellingRecognizer
    if how == "artifact":
        with cls.from_pretrained(path) as rec:
            result = rec.predict(example)
        if isinstance(result, aslsign.SignResult) and result.detected:
            assert np.isfinite(result.probabilities).all()
            assert abs(float(result.probabilities.sum()) - 1) < 1e-4
    elif task == "sign":
        with aslsign.SignRecognizer.from_kaggle(path, {"hello": 0, "thankyou": 1}) as rec:
            rec.predict(example)
    else:
        with aslsign.FingerspellingRecognizer.from_kaggle(
            path, {"selected_columns": ["x_right_hand_0"]}
        ) as rec:
            rec.predict(example)


def main() -> None:
    jobs = json.loads(Path(sys.argv[1]).read_text())
    example = next(iter(read_examples(zoo_dir() / DEFAULT_MODEL / "examples.json").values()))
    for i in range(int(sys.argv[2]), len(jobs)):
        how, task, path = jobs[i]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                run(how, task, path, example)
            line = {"i": i, "outcome": "ok"}
        except aslsign.AslSignError as exc:
            line = {"i": i, "outcome": "aslsign", "type": type(exc).__name__}
        except BaseException as exc:
            line = {"i": i, "outcome": "bare", "type": type(exc).__name__, "message": str(exc)}
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
