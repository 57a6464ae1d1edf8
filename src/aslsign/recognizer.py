"""``SignRecognizer``: isolated-sign recognition from landmark sequences with a LiteRT model."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from ._util import check_count, check_probability, read_index_map
from .base import Recognizer
from .config import BASE_VARIANT, ModelConfig, TensorSpec
from .errors import ConfigError, SignatureMismatchError, WrongTaskError
from .io import LandmarkInput, load_sequence
from .landmarks import NUM_LANDMARKS
from .registry import DEFAULT_MODEL
from .results import Category, SignResult
from .runtime import LiteRTModel

__all__ = [
    "KAGGLE_OUTPUT_KINDS",
    "SignRecognizer",
    "detect_output_kind",
    "kaggle_config",
    "probe_sequence",
    "read_label_map",
]

PathLike = str | os.PathLike[str]


class SignRecognizer(Recognizer[SignResult]):
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

    task = "isolated_sign"
    #: a stream recognises the last 64 frames (about 2 s at 30 fps) every 8
    stream_defaults = (64, 8)
    stream_options = MappingProxyType({"top_k": check_count, "score_threshold": check_probability})

    def __init__(
        self,
        model: LiteRTModel,
        config: ModelConfig,
        *,
        top_k: int = 5,
        score_threshold: float | None = None,
        source: str | None = None,
        variant: str = BASE_VARIANT,
    ) -> None:
        check_count("top_k", top_k)
        check_probability("score_threshold", score_threshold, optional=True)
        self.top_k = int(top_k)
        super().__init__(model, config, source=source, variant=variant)
        #: a winning sign with a lower probability is rejected (``label`` None); from
        #: ``from_pretrained(score_threshold=)``, else config.json's, else None (never)
        self.score_threshold: float | None = (
            config.score_threshold if score_threshold is None else float(score_threshold)
        )

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_pretrained(
        cls,
        name_or_path: PathLike = DEFAULT_MODEL,
        *,
        top_k: int = 5,
        score_threshold: float | None = None,
        num_threads: int | None = None,
        backend: str | None = None,
        label_map: PathLike | dict[str, int] | None = None,
        output_kind: str = "auto",
        revision: str | None = None,
        cache_dir: PathLike | None = None,
        local_files_only: bool = False,
        token: str | bool | None = None,
        verify: bool = True,
        variant: str | None = None,
    ) -> SignRecognizer:
        """Load a model artifact by bundled name, local path or hub repo id.

        Args:
            name_or_path: a bundled zoo name (default: :data:`aslsign.DEFAULT_MODEL`), a
                directory with ``model.tflite`` + ``config.json``, a Kaggle submission
                ``.tflite`` (or a directory holding one without ``config.json``), or a hub repo
                id ``owner/name``.
            top_k: how many classes each result lists (an integer >= 1; a larger value than
                the number of labels lists them all).
            score_threshold: reject a sign whose probability is below this (``label`` None,
                ``rejected`` True); None: the model's own (config.json ``score_threshold``,
                calibrated by its recipe; none for Kaggle models); 0.0: never reject. Without
                any threshold, a model with a background class rejects when that class wins.
            num_threads: interpreter threads (None: the backend's default).
            backend: ``ai_edge_litert``, ``tflite_runtime`` or ``tensorflow`` (default: the first
                that imports; env ``ASLSIGN_BACKEND`` overrides).
            label_map: for Kaggle models only, ``{sign: output index}`` or a path to such a JSON
                file (default: ``sign_to_prediction_index_map.json`` beside the model).
            output_kind: for Kaggle models only, ``"auto"``, ``"probabilities"`` or
                ``"logits"`` (see :meth:`from_kaggle`).
            revision, cache_dir, local_files_only, token: passed to ``huggingface_hub`` for repos.
            verify: check the model file against the sha256 in ``config.json``.
            variant: which of the artifact's models to load: ``None`` or ``"fp32"`` (the
                default ``model.tflite``), ``"fp16"`` (``model.fp16.tflite``: half the size,
                float16 weights), ``"int8"`` (``model.int8.tflite``: int8 weights); see
                ``config.variant_names``. From a hub repo only that file is downloaded.

        Raises:
            WrongTaskError: the model is not an isolated-sign model (it names the recogniser
                that loads it).
        """
        check_count("top_k", top_k)
        check_count("num_threads", num_threads, optional=True)
        check_probability("score_threshold", score_threshold, optional=True)
        check_output_kind(output_kind)
        return cls._pretrained(
            name_or_path,
            num_threads=num_threads,
            backend=backend,
            revision=revision,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            token=token,
            verify=verify,
            variant=variant,
            kaggle=lambda artifact: cls.from_kaggle(
                artifact.model_file,
                label_map,
                top_k=top_k,
                score_threshold=score_threshold,
                num_threads=num_threads,
                backend=backend,
                output_kind=output_kind,
            ),
            top_k=top_k,
            score_threshold=score_threshold,
        )

    @classmethod
    def from_kaggle(
        cls,
        model_path: PathLike,
        label_map: PathLike | dict[str, int] | None = None,
        *,
        top_k: int = 5,
        score_threshold: float | None = None,
        num_threads: int | None = None,
        backend: str | None = None,
        output_kind: str = "auto",
    ) -> SignRecognizer:
        """Load a Kaggle GISLR submission model with its label map.

        Such a model's ``serving_default`` signature takes ``inputs`` float32 ``[frames, 543,
        3]`` (raw landmarks, NaN where not detected) and returns ``outputs`` with one score per
        sign in label-map order; all preprocessing is inside the graph. What the competition
        accepted is accepted here: an output whose shape is only known after a call (shape
        signature ``[-1]``, or ``[1, 250]``), and scores that are logits or probabilities (it
        scored the argmax).

        Args:
            model_path: the submission ``.tflite``.
            label_map: ``{sign: output index}`` or a path to such a JSON file (default:
                ``sign_to_prediction_index_map.json`` beside the model).
            top_k: how many classes each result lists.
            score_threshold: reject a sign whose probability is below this (default None:
                every sign gets its label, as the competition scored them).
            num_threads: interpreter threads (None: the backend's default).
            backend: the interpreter backend (see :meth:`from_pretrained`).
            output_kind: ``"auto"`` runs the model once at load on a fixed made-up sequence
                and calls its output probabilities when they are finite, non-negative and sum
                to 1 (within 0.01), else logits; ``"probabilities"`` or ``"logits"`` say it.
                Logits go through a softmax, so ``score``, ``top_k`` and ``probabilities`` are
                always probabilities and ``label`` is the argmax of the model's own output.
                The choice is ``config.output_kind`` (``aslsign info`` shows it).

        Raises:
            SignatureMismatchError: the model does not take ``inputs`` [frames, 543, 3], or
                gives a number of scores that is not the number of signs of the label map.
        """
        check_count("top_k", top_k)
        check_output_kind(output_kind)
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
        config = kaggle_config(labels, model, output_kind=output_kind)
        return cls(
            model, config, top_k=top_k, score_threshold=score_threshold, source=str(model_path)
        )

    # ------------------------------------------------------------------ inference
    @property
    def labels(self) -> tuple[str, ...]:
        """Class names in model output order (the background class included, if any)."""
        return self.config.labels

    @property
    def vocabulary(self) -> tuple[str, ...]:
        """The signs this model can answer: :attr:`labels` without its background class."""
        return self.config.vocabulary

    def predict(
        self,
        landmarks: LandmarkInput,
        *,
        top_k: int | None = None,
        score_threshold: float | None = None,
    ) -> SignResult:
        """Recognise the sign in one sequence (a parquet path, table or (frames, 543, 3) array).

        **Nothing to recognise:** a sequence with no hand detected in any frame (or in fewer
        than config.json's ``min_hand_frames``) is valid input: its result has ``label`` None,
        ``detected`` False, ``score`` 0.0, empty ``top_k`` and all-zero ``probabilities``; the
        model is not run on it. **Not a known sign:** when the best sign's probability is
        below ``score_threshold`` (or, with no threshold, when the model's background class
        wins: models trained with one, config.json ``background_label``), the result is
        ``rejected``: ``label`` None, with the candidates still in ``top_k``.

        ``top_k`` (default: the recogniser's) must be an integer >= 1; one larger than the
        number of labels lists them all. ``score_threshold`` in [0, 1] overrides the
        recogniser's for this call (0.0: no rejection).
        """
        check_count("top_k", top_k, optional=True)
        check_probability("score_threshold", score_threshold, optional=True)
        raw = load_sequence(landmarks)
        return self._predict_one(raw, top_k=top_k, score_threshold=score_threshold)

    def predict_batch(
        self,
        sequences: Iterable[LandmarkInput],
        *,
        top_k: int | None = None,
        score_threshold: float | None = None,
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
        check_count("top_k", top_k, optional=True)
        check_probability("score_threshold", score_threshold, optional=True)
        return self._predict_many(
            sequences,
            batch_size=batch_size,
            max_batch_frames=max_batch_frames,
            progress=progress,
            top_k=top_k,
            score_threshold=score_threshold,
        )

    # ------------------------------------------------------------------ Recognizer hooks
    def _load(self, source: LandmarkInput) -> np.ndarray:
        return load_sequence(source)

    def _transform(self, out: np.ndarray) -> np.ndarray:
        if self.config.output_kind == "logits":
            # a row that is all padding may be NaN / inf: it is never used (_check_output)
            with np.errstate(invalid="ignore", over="ignore"):
                out = out - out.max(axis=-1, keepdims=True)
                np.exp(out, out=out)
                out /= out.sum(axis=-1, keepdims=True)
        return out

    def _result(self, output: np.ndarray, raw: np.ndarray, used: int, **opts: Any) -> SignResult:
        self._check_output(output, used)
        probs = output.reshape(-1)
        if len(probs) != self.config.num_classes:  # an output shape only known after a call
            raise SignatureMismatchError(
                f"{self.source or 'The model'} gave {len(probs)} scores for a sequence, but it "
                f"has {self.config.num_classes} labels."
            )
        top_k = opts.get("top_k")
        background = self.config.background_index
        order = np.argsort(-probs, kind="stable")
        signs = order[order != background] if background is not None else order
        k = min(self.top_k if top_k is None else top_k, len(signs))
        cats = tuple(Category(int(i), self.labels[i], float(probs[i])) for i in signs[:k])
        threshold = opts.get("score_threshold")
        threshold = self.score_threshold if threshold is None else threshold
        if threshold is not None:  # the background's share is already out of probs
            rejected = bool(probs[signs[0]] < threshold)
        else:
            rejected = bool(background is not None and order[0] == background)
        return SignResult(cats, probs, len(raw), used, rejected=rejected)

    def _empty(self, raw: np.ndarray, **opts: Any) -> SignResult:
        probs = np.zeros(self.config.num_classes, np.float32)
        return SignResult((), probs, num_frames=len(raw), num_frames_used=0)


def read_label_map(label_map: PathLike | dict[str, int]) -> tuple[str, ...]:
    """Labels in output order from a ``{sign: index}`` mapping or its JSON file."""
    return read_index_map(label_map, ConfigError, "label map")


#: ``from_kaggle(output_kind=...)``: detect from a probe call, or say which
KAGGLE_OUTPUT_KINDS = ("auto", "probabilities", "logits")
# a probability vector sums to 1 within this (float16 / quantised softmax outputs drift a little)
_PROBABILITY_SUM_TOLERANCE = 1e-2


def check_output_kind(output_kind: object) -> None:
    if output_kind not in KAGGLE_OUTPUT_KINDS:
        raise ValueError(
            f"output_kind must be one of {list(KAGGLE_OUTPUT_KINDS)}, got {output_kind!r}."
        )


def detect_output_kind(scores: np.ndarray) -> str:
    """``"probabilities"`` when ``scores`` are finite, non-negative and sum to 1 (within
    0.01), else ``"logits"``."""
    s = np.asarray(scores, np.float64).reshape(-1)
    if np.isfinite(s).all() and (s >= 0).all() and abs(s.sum() - 1.0) <= _PROBABILITY_SUM_TOLERANCE:
        return "probabilities"
    return "logits"


def probe_sequence(frames: int = 32, seed: int = 0) -> np.ndarray:
    """A fixed made-up sequence, every landmark present: float32 (frames, 543, 3) around the
    middle of the image, for a model's first call (:meth:`SignRecognizer.from_kaggle`)."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.3, 0.7, (1, NUM_LANDMARKS, 3))
    drift = np.linspace(0.0, 0.05, frames)[:, None, None]
    noise = rng.normal(0.0, 0.01, (frames, NUM_LANDMARKS, 3))
    x = base + drift + noise
    x[..., 2] -= 0.5  # z about 0, as MediaPipe's
    return x.astype(np.float32)


def kaggle_config(
    labels: Sequence[str], model: LiteRTModel, *, output_kind: str = "auto"
) -> ModelConfig:
    """Config of a Kaggle GISLR submission model (``inputs`` [frames, 543, 3] -> ``outputs``).

    When the output's size is not in the signature (``[-1]``) or ``output_kind`` is ``"auto"``,
    the model is run once on :func:`probe_sequence`: the number of scores it gives must be the
    number of labels, and with ``"auto"`` they tell logits from probabilities
    (:func:`detect_output_kind`)."""
    check_output_kind(output_kind)
    tin = model.inputs.get("inputs")
    if tin is not None and len(tin.shape) == 2 and "outputs" in model.outputs:
        raise WrongTaskError(
            f"{model.path} looks like a Kaggle ASLFR fingerspelling model (input 'inputs' "
            f"{list(tin.shape)}: frames x selected columns): load it with "
            "aslsign.FingerspellingRecognizer.from_kaggle(...)."
        )
    if "inputs" not in model.inputs or "outputs" not in model.outputs:
        raise SignatureMismatchError(
            f"{model.path} is not a Kaggle GISLR submission model: its {model.signature!r} "
            f"signature has inputs {sorted(model.inputs)} and outputs {sorted(model.outputs)}, "
            "expected 'inputs' float32 [frames, 543, 3] and 'outputs' [num_signs]. Models made "
            "by aslsign carry a config.json; keep it beside model.tflite."
        )
    shape = model.outputs["outputs"].shape
    dynamic = any(s < 0 for s in shape)
    if dynamic or output_kind == "auto":
        scores = model(inputs=probe_sequence())["outputs"]
        size, where = scores.size, "on its first call"
        if output_kind == "auto":
            output_kind = detect_output_kind(scores)
    else:
        size, where = int(np.prod(shape)), "by its signature"
    if size != len(labels):
        raise SignatureMismatchError(
            f"{model.path} gives {size} scores ({where}: output 'outputs' shape "
            f"{list(shape)}, -1 = known only after a call), but its label map lists "
            f"{len(labels)} signs: pass the label map this model was trained with."
        )
    return ModelConfig(
        name=model.path.stem,
        task="isolated_sign",
        architecture="kaggle_submission",
        labels=tuple(labels),
        preprocessing={"name": "raw"},
        input=TensorSpec("inputs", "float32", (None, NUM_LANDMARKS, 3)),
        output=TensorSpec("outputs", "float32", (len(labels),)),
        output_kind=output_kind,
    )
