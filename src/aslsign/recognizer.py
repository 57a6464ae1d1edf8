"""``SignRecognizer``: isolated-sign recognition from landmark sequences with a LiteRT model."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from . import preprocessing
from ._util import read_json
from .config import ModelConfig, TensorSpec, sha256_file
from .errors import ConfigError, ModelFileError, SignatureMismatchError
from .io import LandmarkInput, load_sequence
from .landmarks import NUM_LANDMARKS
from .registry import DEFAULT_MODEL, resolve_artifact
from .results import Category, SignResult
from .runtime import LiteRTModel

__all__ = ["SignRecognizer", "kaggle_config", "read_label_map"]

PathLike = str | os.PathLike[str]


class SignRecognizer:
    """Recognise one isolated sign per landmark sequence.

    Build it with :meth:`from_pretrained` (a bundled model name, a local artifact directory, or a
    hub repo) or :meth:`from_kaggle` (a Kaggle GISLR submission ``.tflite`` + label map), then
    call :meth:`predict` / :meth:`predict_batch`. It is a context manager; :meth:`close` is
    idempotent. One recogniser may be shared between threads (calls into the interpreter are
    serialised).

    >>> with SignRecognizer.from_pretrained() as rec:       # doctest: +SKIP
    ...     result = rec.predict("hello.parquet")
    ...     print(result.label, result.score)
    """

    def __init__(
        self,
        model: LiteRTModel,
        config: ModelConfig,
        *,
        top_k: int = 5,
        source: str | None = None,
    ) -> None:
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}.")
        self.config = config
        self.preprocessor = preprocessing.from_config(config.preprocessing)
        self.top_k = top_k
        self.source = source
        self._model: LiteRTModel | None = model
        self._batched = _check_signature(model, config, self.preprocessor.num_features)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_pretrained(
        cls,
        name_or_path: PathLike = DEFAULT_MODEL,
        *,
        top_k: int = 5,
        num_threads: int | None = None,
        backend: str | None = None,
        label_map: PathLike | dict[str, int] | None = None,
        revision: str | None = None,
        cache_dir: PathLike | None = None,
        local_files_only: bool = False,
        token: str | bool | None = None,
        verify: bool = True,
    ) -> SignRecognizer:
        """Load a model artifact by bundled name, local path or hub repo id.

        Args:
            name_or_path: a bundled zoo name (default: :data:`aslsign.DEFAULT_MODEL`), a
                directory with ``model.tflite`` + ``config.json``, a Kaggle submission
                ``.tflite`` (or a directory holding one without ``config.json``), or a hub repo
                id ``owner/name``.
            top_k: how many classes each result lists.
            num_threads: interpreter threads (None: the backend's default).
            backend: ``ai_edge_litert``, ``tflite_runtime`` or ``tensorflow`` (default: the first
                that imports; env ``ASLSIGN_BACKEND`` overrides).
            label_map: for Kaggle models only, ``{sign: output index}`` or a path to such a JSON
                file (default: ``sign_to_prediction_index_map.json`` beside the model).
            revision, cache_dir, local_files_only, token: passed to ``huggingface_hub`` for repos.
            verify: check ``model.tflite`` against the sha256 in ``config.json``.
        """
        path = resolve_artifact(
            name_or_path,
            revision=revision,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            token=token,
        )
        if path.is_dir() and not (path / "model.tflite").is_file():
            raise ModelFileError(
                f"{path} holds no model.tflite. A model artifact directory has model.tflite and "
                "config.json (a Kaggle submission: model.tflite and its label map)."
            )
        if path.is_file() or not (path / "config.json").is_file():
            model_file = path if path.is_file() else path / "model.tflite"
            return cls.from_kaggle(
                model_file, label_map, top_k=top_k, num_threads=num_threads, backend=backend
            )
        config = ModelConfig.load(path / "config.json")
        model_file = path / "model.tflite"
        if not model_file.is_file():
            raise ModelFileError(f"{path} has a config.json but no model.tflite.")
        if verify and config.model_sha256 and sha256_file(model_file) != config.model_sha256:
            raise ModelFileError(
                f"{model_file} does not match the sha256 in its config.json: the file is corrupt "
                "or was replaced. Re-download or re-export the artifact (or pass verify=False)."
            )
        model = LiteRTModel(
            model_file, signature=config.signature, num_threads=num_threads, backend=backend
        )
        return cls(model, config, top_k=top_k, source=str(path))

    @classmethod
    def from_kaggle(
        cls,
        model_path: PathLike,
        label_map: PathLike | dict[str, int] | None = None,
        *,
        top_k: int = 5,
        num_threads: int | None = None,
        backend: str | None = None,
    ) -> SignRecognizer:
        """Load a Kaggle GISLR submission model with its label map.

        Such a model's ``serving_default`` signature takes ``inputs`` float32 ``[frames, 543,
        3]`` (raw landmarks, NaN where not detected) and returns ``outputs`` ``[250]``; all
        preprocessing is inside the graph. Its outputs are reported as they come (as
        probabilities), in label-map order.
        """
        model_path = Path(model_path)
        if label_map is None:
            label_map = model_path.parent / "sign_to_prediction_index_map.json"
            if not label_map.is_file():
                raise ConfigError(
                    f"{model_path} has no config.json, so it is treated as a Kaggle submission "
                    "model, which needs a label map: pass label_map= (a {sign: index} dict or "
                    "the path of sign_to_prediction_index_map.json), or put that file beside it."
                )
        labels = read_label_map(label_map)
        model = LiteRTModel(model_path, num_threads=num_threads, backend=backend)
        config = kaggle_config(labels, model)
        return cls(model, config, top_k=top_k, source=str(model_path))

    # ------------------------------------------------------------------ inference
    @property
    def labels(self) -> tuple[str, ...]:
        """Class names in model output order."""
        return self.config.labels

    @property
    def backend(self) -> str | None:
        """The interpreter backend in use (None once closed)."""
        return self._model.backend if self._model is not None else None

    def predict(self, landmarks: LandmarkInput, *, top_k: int | None = None) -> SignResult:
        """Recognise the sign in one sequence (a parquet path, table or (frames, 543, 3) array).

        A sequence in which no landmark was detected in any frame is valid input: its result
        has ``label None``, ``score 0.0``, empty ``top_k`` and all-zero ``probabilities``; the
        model is not run on it.
        """
        return self._predict_raw(load_sequence(landmarks), top_k)

    def _predict_raw(self, raw: np.ndarray, top_k: int | None) -> SignResult:
        features = self.preprocessor(raw)
        if not _has_signal(raw, len(features)):
            return self._empty(raw)
        x = features[None] if self._batched else features
        probs = self._run(x).reshape(-1)
        return self._result(probs, raw, len(features), top_k)

    def predict_batch(
        self,
        sequences: Iterable[LandmarkInput],
        *,
        top_k: int | None = None,
        batch_size: int = 32,
        max_batch_frames: int = 512,
        progress: bool = False,
    ) -> list[SignResult]:
        """Recognise many sequences; results come in input order.

        Sequences are taken a window of ``8 * batch_size`` at a time and sorted by length; each
        interpreter call gets up to ``batch_size`` of them and at most ``max_batch_frames``
        padded frames (long sequences go in small batches: attention memory grows with
        frames squared). Padded frames are masked by the model, so results equal
        :meth:`predict`'s. The next batch is preprocessed while the interpreter runs the current
        one. Models without a batch axis (Kaggle submissions) run one sequence per call.
        """
        if batch_size < 1 or max_batch_frames < 1:
            raise ValueError(
                f"batch_size and max_batch_frames must be >= 1, got {batch_size} and "
                f"{max_batch_frames}."
            )
        results: list[SignResult] = []
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(desc="predicting", unit="seq")
        window: list[np.ndarray] = []
        for s in sequences:
            window.append(load_sequence(s))
            if len(window) == 8 * batch_size:
                results += self._predict_window(window, top_k, batch_size, max_batch_frames)
                window = []
                if bar is not None:
                    bar.update(8 * batch_size)
        if window:
            results += self._predict_window(window, top_k, batch_size, max_batch_frames)
        if bar is not None:
            bar.update(len(window))
            bar.close()
        return results

    def _predict_window(
        self, raws: list[np.ndarray], top_k: int | None, batch_size: int, max_batch_frames: int
    ) -> list[SignResult]:
        if not self._batched:
            return [self._predict_raw(raw, top_k) for raw in raws]
        results: list[SignResult | None] = [None] * len(raws)
        max_len = getattr(self.preprocessor, "max_len", None) or 1 << 30
        length = [min(len(r), max_len) for r in raws]
        order = sorted(range(len(raws)), key=length.__getitem__)
        chunks: list[list[int]] = [[]]
        for i in order:  # at most batch_size sequences and max_batch_frames padded frames
            if (
                len(chunks[-1]) == batch_size
                or (len(chunks[-1]) + 1) * length[i] > max_batch_frames
            ):
                chunks.append([])
            chunks[-1].append(i)
        chunks = [c for c in chunks if c]

        def collect(chunk: list[int], lengths: np.ndarray, probs: Future | None) -> None:
            out = probs.result().reshape(len(chunk), -1) if probs is not None else None
            for row, (i, n) in enumerate(zip(chunk, lengths, strict=True)):
                raw = raws[i]
                if out is None or not _has_signal(raw, n):
                    results[i] = self._empty(raw)
                else:
                    results[i] = self._result(out[row], raw, int(n), top_k)

        # inference (which releases the GIL) overlaps with preprocessing the next chunk
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = None
            for chunk in chunks:
                features, lengths = self.preprocessor.batch([raws[i] for i in chunk])
                future = pool.submit(self._run, features) if lengths.any() else None
                if pending is not None:
                    collect(*pending)
                pending = (chunk, lengths, future)
            if pending is not None:
                collect(*pending)
        return [r for r in results if r is not None]

    def _run(self, x: np.ndarray) -> np.ndarray:
        if self._model is None:
            raise RuntimeError("This SignRecognizer is closed.")
        out = self._model(**{self.config.input.name: x})[self.config.output.name]
        out = out.astype(np.float32, copy=False)
        if self.config.output_kind == "logits":
            out = out - out.max(axis=-1, keepdims=True)
            np.exp(out, out=out)
            out /= out.sum(axis=-1, keepdims=True)
        return out

    def _result(
        self, probs: np.ndarray, raw: np.ndarray, used: int, top_k: int | None
    ) -> SignResult:
        k = min(top_k or self.top_k, len(probs))
        order = np.argsort(-probs, kind="stable")[:k]
        cats = tuple(Category(int(i), self.labels[i], float(probs[i])) for i in order)
        return SignResult(cats, probs, num_frames=len(raw), num_frames_used=used)

    def _empty(self, raw: np.ndarray) -> SignResult:
        probs = np.zeros(self.config.num_classes, np.float32)
        return SignResult((), probs, num_frames=len(raw), num_frames_used=0)

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Release the interpreter. Safe to call more than once."""
        self._model = None

    def __enter__(self) -> SignRecognizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"SignRecognizer(name={self.config.name!r}, classes={self.config.num_classes}, "
            f"source={self.source!r})"
        )


def _has_signal(raw: np.ndarray, frames_used: int) -> bool:
    """False for input in which no landmark was detected (or nothing is left to classify)."""
    return frames_used > 0 and not bool(np.isnan(raw).all())


def _check_signature(model: LiteRTModel, config: ModelConfig, features: tuple[int, ...]) -> bool:
    """Check the model fits its config; return whether its input has a batch axis."""
    spec_in, spec_out = config.input, config.output
    if spec_in.name not in model.inputs or spec_out.name not in model.outputs:
        raise SignatureMismatchError(
            f"config.json promises input {spec_in.name!r} and output {spec_out.name!r}; the "
            f"model's {model.signature!r} signature has inputs {sorted(model.inputs)} and "
            f"outputs {sorted(model.outputs)}."
        )
    tin, tout = model.inputs[spec_in.name], model.outputs[spec_out.name]
    if len(model.inputs) != 1:
        raise SignatureMismatchError(
            f"The model takes {len(model.inputs)} inputs {sorted(model.inputs)}; aslsign "
            "recognisers feed exactly one."
        )
    batched = len(tin.shape) == len(features) + 2
    if tin.shape[-len(features) :] != features or len(tin.shape) not in (
        len(features) + 1,
        len(features) + 2,
    ):
        raise SignatureMismatchError(
            f"Model input {spec_in.name!r} has shape {list(tin.shape)} (-1 = dynamic); the "
            f"preprocessing {config.preprocessing.get('name')!r} makes frames of shape "
            f"{list(features)}, so the input must be [batch, frames, *{list(features)}] or "
            f"[frames, *{list(features)}]."
        )
    if tout.shape[-1] != config.num_classes:
        raise SignatureMismatchError(
            f"Model output {spec_out.name!r} has {tout.shape[-1]} classes but the config lists "
            f"{config.num_classes} labels."
        )
    return batched


def read_label_map(label_map: PathLike | dict[str, int]) -> tuple[str, ...]:
    """Labels in output order from a ``{sign: index}`` mapping or its JSON file."""
    if not isinstance(label_map, dict):
        label_map = read_json(label_map, ConfigError, "label map")
    if not isinstance(label_map, dict) or not label_map:
        raise ConfigError("A label map must be a non-empty JSON object {sign: output index}.")
    indices = sorted(label_map.values())
    if indices != list(range(len(label_map))):
        raise ConfigError(
            f"Label map indices must be 0..{len(label_map) - 1}, each once; got {indices[:10]}..."
        )
    by_index = {int(v): str(k) for k, v in label_map.items()}
    return tuple(by_index[i] for i in range(len(by_index)))


def kaggle_config(labels: Sequence[str], model: LiteRTModel) -> ModelConfig:
    """Config of a Kaggle GISLR submission model (``inputs`` [frames, 543, 3] -> ``outputs``)."""
    if "inputs" not in model.inputs or "outputs" not in model.outputs:
        raise SignatureMismatchError(
            f"{model.path} is not a Kaggle GISLR submission model: its {model.signature!r} "
            f"signature has inputs {sorted(model.inputs)} and outputs {sorted(model.outputs)}, "
            "expected 'inputs' float32 [frames, 543, 3] and 'outputs' [num_signs]. Models made "
            "by aslsign carry a config.json; keep it beside model.tflite."
        )
    return ModelConfig(
        name=model.path.stem,
        task="isolated_sign",
        architecture="kaggle_submission",
        labels=tuple(labels),
        preprocessing={"name": "raw"},
        input=TensorSpec("inputs", "float32", (None, NUM_LANDMARKS, 3)),
        output=TensorSpec("outputs", "float32", (len(labels),)),
        output_kind="probabilities",
    )
