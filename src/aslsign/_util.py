"""Small helpers shared inside the package."""

from __future__ import annotations

import contextlib
import json
import numbers
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import AslSignError


def read_json(path: str | os.PathLike[str], error: type[AslSignError], what: str) -> Any:
    """Parse a JSON file, raising ``error`` that names ``what`` when it is missing or broken."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise error(f"No {what} at {path}.") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{what} {path} is not valid JSON: {exc}") from exc


def read_index_map(
    source: str | os.PathLike[str] | dict[str, int], error: type[AslSignError], what: str
) -> tuple[str, ...]:
    """Names in index order from a ``{name: index}`` mapping or its JSON file.

    The indices must be exactly ``0 .. len - 1``, each once (a Kaggle label or character map).
    """
    mapping = source if isinstance(source, dict) else read_json(source, error, what)
    if not isinstance(mapping, dict) or not mapping:
        raise error(f"A {what} must be a non-empty JSON object {{name: output index}}.")
    try:
        by_index = {int(v): str(k) for k, v in mapping.items()}
    except (TypeError, ValueError) as exc:
        raise error(f"A {what} maps names to integer indices; got {exc}.") from exc
    if sorted(by_index) != list(range(len(mapping))):
        indices = sorted(int(v) for v in mapping.values())
        raise error(
            f"{what.capitalize()} indices must be 0..{len(mapping) - 1}, each once; got "
            f"{indices[:10]}..."
        )
    return tuple(by_index[i] for i in range(len(by_index)))


def check_count(name: str, value: object, *, optional: bool = False) -> None:
    """Raise ValueError unless ``value`` is an integer >= 1 (or None when ``optional``).

    ``True``/``False`` are refused although Python counts them as integers: ``top_k=True`` is a
    mistake, not 1.
    """
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        allowed = "an integer >= 1" + (" or None" if optional else "")
        raise ValueError(f"{name} must be {allowed}; got {value!r}.")


def check_probability(name: str, value: object, *, optional: bool = False) -> None:
    """Raise ValueError unless ``value`` is a number in [0, 1] (or None when ``optional``)."""
    if value is None and optional:
        return
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not ok or not 0.0 <= float(value) <= 1.0:  # type: ignore[arg-type]
        allowed = "a number in [0, 1]" + (" or None" if optional else "")
        raise ValueError(f"{name} must be {allowed}; got {value!r}.")


_STDERR_LOCK = threading.Lock()


@contextlib.contextmanager
def quiet_native_stderr(enabled: bool = True) -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for a moment, for native libraries that log there
    past Python (LiteRT's "Created TensorFlow Lite XNNPACK delegate for CPU." on the first
    invocation in a process, MediaPipe's graph warnings). Uses are serialised, so two threads
    cannot leave fd 2 redirected. ``ASLSIGN_VERBOSE=1`` turns it off everywhere."""
    if not enabled or os.environ.get("ASLSIGN_VERBOSE", "") not in ("", "0"):
        yield
        return
    with _STDERR_LOCK, _fd2_to_devnull(keep_python_stderr=False):
        yield


@contextlib.contextmanager
def native_logs_silenced(enabled: bool = True) -> Iterator[None]:
    """Silence what native code writes to file descriptor 2 (MediaPipe's and LiteRT's C++ log
    lines) for a whole run, while Python's ``sys.stderr`` (errors, warnings, progress bars)
    still reaches the real stderr. ``aslsign extract`` and ``aslsign live`` run inside it
    unless ``--verbose``, as does the recipes' Kaggle export (TensorFlow's converter logs); a
    native crash message inside it is lost, so debug with verbose on.
    """
    if not enabled:
        yield
        return
    with _fd2_to_devnull(keep_python_stderr=True):
        yield


@contextlib.contextmanager
def _fd2_to_devnull(keep_python_stderr: bool) -> Iterator[None]:
    """fd 2 to /dev/null; with ``keep_python_stderr``, ``sys.stderr`` writes to the real one."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (e.g. some notebook kernels)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    python_stderr = sys.stderr
    if keep_python_stderr:
        sys.stderr = os.fdopen(os.dup(saved), "w", buffering=1, errors="backslashreplace")
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        if keep_python_stderr:
            sys.stderr.flush()
            sys.stderr.close()
            sys.stderr = python_stderr
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
