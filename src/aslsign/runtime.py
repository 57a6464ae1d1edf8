"""A thin, thread-safe wrapper around a LiteRT (TFLite) interpreter's signature runner.

Backends, tried in this order unless one is asked for (argument ``backend`` or the
``ASLSIGN_BACKEND`` environment variable):

``ai_edge_litert``  the maintained LiteRT wheel (works with numpy 2),
``tflite_runtime``  the legacy wheel (last release 2.14: Python <= 3.11 and numpy < 2 only),
``tensorflow``      ``tf.lite.Interpreter`` from a full TensorFlow install.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._util import check_count, quiet_native_stderr
from .errors import BackendNotAvailableError, ModelFileError, SignatureMismatchError

__all__ = ["BACKENDS", "LiteRTModel", "TensorInfo", "available_backends"]

BACKENDS = ("ai_edge_litert", "tflite_runtime", "tensorflow")


def _import_interpreter(backend: str) -> Any:
    if backend == "ai_edge_litert":
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter
    if backend == "tflite_runtime":
        if int(np.__version__.split(".")[0]) >= 2:
            raise BackendNotAvailableError(
                "tflite_runtime (last release 2.14) is built against numpy 1.x and crashes with "
                f"numpy {np.__version__}. Use ai-edge-litert (pip install ai-edge-litert), or "
                "install numpy<2 to use tflite_runtime."
            )
        from tflite_runtime.interpreter import Interpreter

        return Interpreter
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.lite.Interpreter
    raise BackendNotAvailableError(f"Unknown backend {backend!r}; choose one of {BACKENDS}.")


def default_num_threads() -> int:
    """Interpreter threads when none are asked for: the machine's cores, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


def available_backends() -> list[str]:
    """The backends that import on this machine, in preference order."""
    found = []
    for name in BACKENDS:
        try:
            _import_interpreter(name)
        except ImportError:
            continue
        found.append(name)
    return found


def _resolve_backend(backend: str | None) -> tuple[str, Any]:
    backend = backend or os.environ.get("ASLSIGN_BACKEND") or "auto"
    if backend != "auto":
        try:
            return backend, _import_interpreter(backend)
        except BackendNotAvailableError:
            raise
        except ImportError as exc:
            raise BackendNotAvailableError(
                f"Backend {backend!r} is not installed ({exc}). Installed backends: "
                f"{available_backends() or 'none'}."
            ) from exc
    errors = []
    for name in BACKENDS:
        try:
            return name, _import_interpreter(name)
        except ImportError as exc:
            errors.append(f"{name}: {exc}")
    raise BackendNotAvailableError(
        "No TFLite interpreter is installed. Install one with `pip install ai-edge-litert`. "
        "Tried: " + "; ".join(errors)
    )


@dataclass(frozen=True)
class TensorInfo:
    """A signature tensor as the interpreter reports it; -1 marks a dynamic axis."""

    name: str
    dtype: np.dtype
    shape: tuple[int, ...]


class LiteRTModel:
    """One ``.tflite`` model and one of its signatures, callable with keyword numpy inputs.

    Calls are serialised with a lock, so one instance may be shared between threads.

    A LiteRT interpreter re-plans its memory (and XNNPACK its kernels) whenever an input shape
    changes. To not pay that on every call when shapes alternate (a stream's fixed window between
    other calls, batches of a few lengths), the model keeps up to ``max_interpreters``
    interpreters (default 2; each holds its own memory plan, so more cost memory), each with the
    shapes of its last call, and runs a call on the one that already has its shapes (else on
    the least recently used one). The same graph on the same shapes computes the same result,
    so this never changes an output.
    """

    _invoked = False  # has any interpreter of this process run yet

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        signature: str = "serving_default",
        num_threads: int | None = None,
        backend: str | None = None,
        max_interpreters: int = 2,
    ) -> None:
        self.path = Path(model_path)
        if not self.path.is_file():
            raise ModelFileError(f"Model file not found: {self.path}")
        if isinstance(max_interpreters, bool) or not isinstance(max_interpreters, int):
            raise TypeError(f"max_interpreters must be an integer, got {max_interpreters!r}")
        if max_interpreters < 1:
            raise ValueError(f"max_interpreters must be >= 1, got {max_interpreters}")
        self.backend, self._interpreter_cls = _resolve_backend(backend)
        check_count("num_threads", num_threads, optional=True)
        if num_threads is None:
            num_threads = default_num_threads()
        self.num_threads = num_threads
        self.max_interpreters = max_interpreters
        self.signature = signature
        self._interpreter = self._new_interpreter()
        try:
            signatures = self._interpreter.get_signature_list()
        except (ValueError, RuntimeError) as exc:
            raise ModelFileError(f"{self.path}: cannot read its signatures ({exc}).") from exc
        if signature not in signatures:
            raise SignatureMismatchError(
                f"{self.path} has no signature {signature!r}; it has "
                f"{sorted(signatures) or 'none'}. "
                "Export with a serving_default signature (model.export(..., format='litert'))."
            )
        try:
            self._runner = self._interpreter.get_signature_runner(signature)
            self.inputs = _infos(self._runner.get_input_details())
            self.outputs = _infos(self._runner.get_output_details())
        except (ValueError, RuntimeError, KeyError) as exc:
            raise ModelFileError(
                f"{self.path}: its {signature!r} signature cannot be read ({exc}). The file is "
                "corrupt: re-download or re-export it."
            ) from exc
        # (interpreter, runner, shapes of its last call), least recently used first
        self._slots: list[tuple[Any, Any, tuple[Any, ...] | None]] = [
            (self._interpreter, self._runner, None)
        ]
        self._lock = threading.Lock()

    def _new_interpreter(self) -> Any:
        try:
            return self._interpreter_cls(model_path=str(self.path), num_threads=self.num_threads)
        except (ValueError, RuntimeError) as exc:
            raise ModelFileError(
                f"{self.path} is not a loadable TFLite model ({exc}). Re-download or re-export it."
            ) from exc

    def _slot(self, shapes: tuple[Any, ...]) -> tuple[Any, Any]:
        """The interpreter and runner for a call with these input shapes (lock held)."""
        held = [slot[2] for slot in self._slots]
        if shapes in held:
            i = held.index(shapes)
        elif len(self._slots) < self.max_interpreters:
            interpreter = self._new_interpreter()
            self._slots.append(
                (interpreter, interpreter.get_signature_runner(self.signature), None)
            )
            i = len(self._slots) - 1
        else:
            i = 0  # the least recently used
        interpreter, runner, _ = self._slots[i]
        del self._slots[i]
        self._slots.append((interpreter, runner, shapes))
        return interpreter, runner

    def __call__(self, **inputs: np.ndarray) -> dict[str, np.ndarray]:
        unknown = set(inputs) - set(self.inputs)
        if unknown or len(inputs) != len(self.inputs):
            raise SignatureMismatchError(
                f"Signature {self.signature!r} takes inputs {sorted(self.inputs)}; "
                f"got {sorted(inputs)}."
            )
        shapes = tuple((k, np.shape(v)) for k, v in sorted(inputs.items()))
        with self._lock:
            interpreter, runner = self._slot(shapes)
            try:
                if LiteRTModel._invoked:
                    out = runner(**inputs)
                else:  # LiteRT logs its XNNPACK line once per process, on the first call
                    with quiet_native_stderr():
                        out = runner(**inputs)
                    LiteRTModel._invoked = True
            except ValueError as exc:
                if "Invalid tensor size" not in str(exc):
                    given = {k: list(np.shape(v)) for k, v in inputs.items()}
                    raise SignatureMismatchError(
                        f"{self.path} does not take inputs of shape {given} ({exc})."
                    ) from exc
                out = _read_outputs(interpreter, runner)  # an output with no elements
            except RuntimeError as exc:  # e.g. a corrupt graph only fails when it is prepared
                raise ModelFileError(
                    f"{self.path} failed to run ({exc}). The file may be corrupt: re-download or "
                    "re-export it (an artifact's config.json sha256 catches that at load)."
                ) from exc
            return {k: np.array(v, copy=True) for k, v in out.items()}

    def __repr__(self) -> str:
        return f"LiteRTModel({str(self.path)!r}, backend={self.backend!r})"


def _read_outputs(interpreter: Any, runner: Any) -> dict[str, np.ndarray]:
    """Outputs after an invocation, empty ones as empty arrays (LiteRT refuses to read a tensor
    with no elements, e.g. a transcription without characters)."""
    out = {}
    for name, d in runner.get_output_details().items():
        shape = tuple(int(s) for s in d["shape"])
        if 0 in shape:
            out[name] = np.zeros(shape, np.dtype(d["dtype"]))
        else:
            out[name] = interpreter.get_tensor(d["index"], runner._subgraph_index)
    return out


def _infos(details: dict[str, dict[str, Any]]) -> dict[str, TensorInfo]:
    return {
        name: TensorInfo(
            name=name,
            dtype=np.dtype(d["dtype"]),
            shape=tuple(int(s) for s in d.get("shape_signature", d["shape"])),
        )
        for name, d in details.items()
    }
