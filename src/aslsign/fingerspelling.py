"""``FingerspellingRecognizer``: fingerspelled phrases (ASLFR) to text with a LiteRT model.

Two kinds of model load:

* **aslsign CTC models** (config.json ``task: fingerspelling``, ``decoding.type: ctc``): the
  encoder runs in LiteRT on the ``fingerspelling`` features and emits, per output step, scores
  over the characters plus a CTC blank (``decoding.blank_index``); one output step covers
  ``decoding.output_stride`` input frames. Decoding is NumPy (:mod:`aslsign.ctc`): greedy by
  default, prefix beam search with ``beam_width > 1``. TensorFlow is never needed.
* **Kaggle ASLFR submission models** (a bare ``.tflite`` + ``inference_args.json``): the
  signature takes ``inputs`` float32 ``[frames, len(selected_columns)]`` and returns ``outputs``
  ``[characters, 59]``, decoding inside the graph; each output row's argmax is one character of
  the competition's character map (``decoding.type: argmax``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from ._util import check_count, read_json
from .base import Recognizer
from .characters import CHARACTER_MAP_FILE, CHARACTERS, read_character_map
from .config import BASE_VARIANT, DECODINGS, ModelConfig, TensorSpec, check_decoding
from .ctc import beam_search_decode, greedy_decode, log_softmax
from .errors import ConfigError, SignatureMismatchError, WrongTaskError
from .io import LandmarkInput, load_landmarks
from .landmarks import hand_present
from .registry import DEFAULT_FINGERSPELLING_MODEL
from .results import Category, FingerspellingResult
from .runtime import LiteRTModel

__all__ = [
    "DECODINGS",
    "FingerspellingRecognizer",
    "kaggle_fingerspelling_config",
    "read_inference_args",
]

PathLike = str | os.PathLike[str]
INFERENCE_ARGS = "inference_args.json"


class FingerspellingRecognizer(Recognizer[FingerspellingResult]):
    """Transcribe fingerspelled phrases from landmark sequences.

    Build it with :meth:`from_pretrained` (bundled name, local artifact directory, hub repo) or
    :meth:`from_kaggle` (a Kaggle ASLFR submission ``.tflite`` + ``inference_args.json``), then
    call :meth:`predict` / :meth:`predict_batch`. A context manager; :meth:`close` is idempotent;
    one recogniser may be shared between threads.

    >>> with FingerspellingRecognizer.from_pretrained() as rec:      # doctest: +SKIP
    ...     print(rec.predict("phrases.parquet", sequence_id=1816796431).text)
    """

    task = "fingerspelling"
    #: a stream recognises the last 256 frames (about 8.5 s at 30 fps) every 16
    stream_defaults = (256, 16)
    stream_options = MappingProxyType({"beam_width": check_count})

    def __init__(
        self,
        model: LiteRTModel,
        config: ModelConfig,
        *,
        beam_width: int = 1,
        source: str | None = None,
        variant: str = BASE_VARIANT,
    ) -> None:
        _check_beam_width(beam_width)
        self.beam_width = int(beam_width)
        self._decoding = _check_decoding(config)
        super().__init__(model, config, source=source, variant=variant)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_pretrained(
        cls,
        name_or_path: PathLike = DEFAULT_FINGERSPELLING_MODEL,
        *,
        beam_width: int = 1,
        num_threads: int | None = None,
        backend: str | None = None,
        inference_args: PathLike | dict[str, Any] | None = None,
        char_map: PathLike | dict[str, int] | None = None,
        revision: str | None = None,
        cache_dir: PathLike | None = None,
        local_files_only: bool = False,
        token: str | bool | None = None,
        verify: bool = True,
        variant: str | None = None,
    ) -> FingerspellingRecognizer:
        """Load a fingerspelling model by bundled name, local path or hub repo id.

        Args:
            name_or_path: a bundled zoo name (default:
                :data:`aslsign.DEFAULT_FINGERSPELLING_MODEL`), a directory with ``model.tflite``
                + ``config.json``, a Kaggle ASLFR submission ``.tflite`` (or a directory holding
                one and its ``inference_args.json`` without ``config.json``), or a hub repo id.
            beam_width: 1 decodes greedily; more runs a CTC prefix beam search of that width
                (CTC models only; Kaggle models decode inside their graph).
            num_threads, backend: as for :meth:`aslsign.SignRecognizer.from_pretrained`.
            inference_args, char_map: for Kaggle models only, see :meth:`from_kaggle`.
            revision, cache_dir, local_files_only, token: passed to ``huggingface_hub``.
            verify: check the model file against the sha256 in ``config.json``.
            variant: which of the artifact's models to load: ``None`` or ``"fp32"`` (the
                default ``model.tflite``), ``"fp16"`` (``model.fp16.tflite``: half the size,
                float16 weights), ``"int8"`` (``model.int8.tflite``: int8 weights); see
                ``config.variant_names``. From a hub repo only that file is downloaded.

        Raises:
            WrongTaskError: the model is not a fingerspelling model (it names the recogniser
                that loads it).
        """
        _check_beam_width(beam_width)
        check_count("num_threads", num_threads, optional=True)
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
                inference_args,
                char_map,
                num_threads=num_threads,
                backend=backend,
            ),
            beam_width=beam_width,
        )

    @classmethod
    def from_kaggle(
        cls,
        model_path: PathLike,
        inference_args: PathLike | dict[str, Any] | None = None,
        char_map: PathLike | dict[str, int] | None = None,
        *,
        num_threads: int | None = None,
        backend: str | None = None,
    ) -> FingerspellingRecognizer:
        """Load a Kaggle ASLFR submission model.

        Its ``serving_default`` signature takes ``inputs`` float32 ``[frames,
        len(selected_columns)]`` (the named columns of the landmarks, NaN kept) and returns
        ``outputs`` ``[characters, n]``; the argmax of each row, looked up in the character
        map, is one character of the text (rows whose argmax lies beyond the map, such as pad
        or end tokens some models append, are skipped).

        Args:
            model_path: the ``.tflite`` file.
            inference_args: ``{"selected_columns": [...]}`` or the path of that JSON file
                (default: ``inference_args.json`` beside the model).
            char_map: ``{character: index}`` or its JSON file (default:
                ``character_to_prediction_index.json`` beside the model, else the competition's
                59-character map shipped with aslsign).
        """
        model_path = Path(model_path)
        if inference_args is None:
            inference_args = model_path.parent / INFERENCE_ARGS
            if not inference_args.is_file():
                raise ConfigError(
                    f"{model_path} has no config.json, so it is treated as a Kaggle ASLFR "
                    "submission model, which needs its inference_args.json "
                    '({"selected_columns": [...]}): pass inference_args= (a dict or the file\'s '
                    "path), or put that file beside the model."
                )
        columns = read_inference_args(inference_args)
        if char_map is None and (model_path.parent / CHARACTER_MAP_FILE).is_file():
            char_map = model_path.parent / CHARACTER_MAP_FILE
        chars = CHARACTERS if char_map is None else read_character_map(char_map)
        model = LiteRTModel(model_path, num_threads=num_threads, backend=backend)
        config = kaggle_fingerspelling_config(columns, chars, model)
        return cls(model, config, source=str(model_path))

    # ------------------------------------------------------------------ inference
    @property
    def characters(self) -> tuple[str, ...]:
        """The characters the model can write, in output order (without blank or pad tokens)."""
        return tuple(c for i, c in enumerate(self.config.labels) if self._is_char(i))

    def predict(
        self,
        landmarks: LandmarkInput,
        *,
        sequence_id: int | None = None,
        beam_width: int | None = None,
    ) -> FingerspellingResult:
        """Transcribe one sequence.

        ``landmarks`` is an ASLFR parquet file (``sequence_id`` picks the sequence; it may be
        left out when the file holds one), a GISLR parquet file, a pyarrow Table / pandas
        DataFrame of either format, or a ``(frames, 543, 3)`` array. A sequence with no usable
        frame (for the bundled models: no frame in which a hand was detected; for every model:
        all NaN) gives ``text ""``, no characters, ``detected False``; the model is not run.
        """
        raw = load_landmarks(landmarks, sequence_id)
        return self._predict_one(raw, beam_width=self._beam(beam_width))

    def predict_batch(
        self,
        sequences: Iterable[LandmarkInput],
        *,
        beam_width: int | None = None,
        batch_size: int = 16,
        max_batch_frames: int = 4096,
        progress: bool = False,
    ) -> list[FingerspellingResult]:
        """Transcribe many sequences (arrays, tables or single-sequence files); input order.

        As :meth:`aslsign.SignRecognizer.predict_batch`: sorted by length, batched within
        ``batch_size`` sequences and ``max_batch_frames`` padded frames, preprocessing
        overlapped with inference. Padded frames are masked by the model, so the results equal
        :meth:`predict`'s. To read many sequences of an ASLFR file, pass
        ``(landmarks for _, landmarks in aslsign.io.read_fingerspelling_file(path))``.
        """
        return self._predict_many(
            sequences,
            batch_size=batch_size,
            max_batch_frames=max_batch_frames,
            progress=progress,
            beam_width=self._beam(beam_width),
        )

    def transcribe(
        self,
        landmarks: LandmarkInput,
        *,
        sequence_id: int | None = None,
        beam_width: int | None = None,
        overlap: int = 128,
    ) -> FingerspellingResult:
        """Transcribe a sequence however long: a phrase spelled for a minute, not squeezed into
        the model's ``max_len`` frames (which :meth:`predict` resamples to).

        Up to ``max_len`` frames with a hand, this is :meth:`predict`. Longer, the frames with
        a hand are cut into windows of ``max_len`` that overlap by ``overlap`` frames; the
        model runs on each, each window keeps the output steps of its middle (half the overlap
        is left to each neighbour), and the joined steps are decoded once (CTC greedy or beam),
        so a character on a window's edge is read once, from the window that sees it whole.
        Models without CTC outputs (Kaggle submissions) are :meth:`predict`.
        """
        if isinstance(overlap, bool) or not isinstance(overlap, int) or overlap < 0:
            raise ValueError(f"overlap must be an integer >= 0; got {overlap!r}.")
        raw = load_landmarks(landmarks, sequence_id)
        return self._transcribe(raw, self._beam(beam_width), overlap)

    def _transcribe(
        self,
        raw: np.ndarray,
        width: int,
        overlap: int = 128,
        cache: dict[tuple[int, int], np.ndarray] | None = None,
    ) -> FingerspellingResult:
        """:meth:`transcribe` of a checked array; ``cache`` keeps the outputs of full windows
        by ``(start, end)`` of the frames with a hand, so that a growing phrase (a spotter's
        partial transcript) runs the model only on its last window."""
        max_len = getattr(self.preprocessor, "max_len", None)
        kept = raw[hand_present(raw)]
        if self._decoding["type"] != "ctc" or not max_len or len(kept) <= max_len:
            return self._predict_one(raw, beam_width=width)
        stride = int(self._decoding.get("output_stride", 1))
        half = min(overlap, max_len // 2) // (2 * stride) * stride  # whole output steps
        step = max_len - 2 * half
        rows = []
        start = 0
        while True:
            end = min(start + max_len, len(kept))
            out = cache.get((start, end)) if cache is not None else None
            if out is None:
                features, lengths = self.preprocessor.batch([kept[start:end]])
                used = int(lengths[0])
                x = features if self._batched else features[0, :used]
                out = self._transform(self._run(x))
                out = self._row(out, 0, used) if self._batched else out
                if cache is not None and end - start == max_len:
                    cache[(start, end)] = out
            first = 0 if start == 0 else half // stride
            last = len(out) if end == len(kept) else (end - start - half) // stride
            rows.append(out[first:last])
            if end == len(kept):
                break
            start += step
        return self._result(np.concatenate(rows), raw, len(kept), beam_width=width)

    # ------------------------------------------------------------------ Recognizer hooks
    def _load(self, source: LandmarkInput) -> np.ndarray:
        return load_landmarks(source)

    def _transform(self, out: np.ndarray) -> np.ndarray:
        # a row that is all padding may be NaN / inf: it is never used (_check_output)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if self._decoding["type"] == "ctc" and self.config.output_kind == "logits":
                return log_softmax(out)
            if self._decoding["type"] == "ctc":  # probabilities
                return np.log(out)
        return out

    def _row(self, out: np.ndarray, row: int, used: int) -> np.ndarray:
        stride = self._decoding.get("output_stride", 1)
        return out[row, : -(-used // stride)]

    def _result(
        self, output: np.ndarray, raw: np.ndarray, used: int, **opts: Any
    ) -> FingerspellingResult:
        self._check_output(output, used)
        if self._decoding["type"] == "argmax":
            return self._argmax_result(output, raw, used)
        blank = self._decoding["blank_index"]
        width = opts.get("beam_width") or self.beam_width
        if width > 1:
            decoded = beam_search_decode(output, blank=blank, beam_width=width)
        else:
            decoded = greedy_decode(output, blank=blank)
        chars = tuple(
            Category(t, self.config.labels[t], float(c))
            for t, c in zip(decoded.tokens, decoded.confidences, strict=True)
        )
        return FingerspellingResult(
            text="".join(c.label for c in chars),
            characters=chars,
            log_prob=float(decoded.log_prob),
            num_frames=len(raw),
            num_frames_used=used,
        )

    def _argmax_result(self, rows: np.ndarray, raw: np.ndarray, used: int) -> FingerspellingResult:
        rows = rows.reshape(-1, rows.shape[-1]) if rows.size else rows.reshape(0, 1)
        probs = _as_probabilities(rows)
        best = rows.argmax(axis=-1) if len(rows) else np.zeros(0, np.intp)
        chars = tuple(
            Category(int(i), self.config.labels[i], float(probs[r, i]))
            for r, i in enumerate(best)
            if self._is_char(int(i))
        )
        with np.errstate(divide="ignore"):
            log_prob = float(np.log(probs[np.arange(len(best)), best]).sum())
        return FingerspellingResult(
            text="".join(c.label for c in chars),
            characters=chars,
            log_prob=log_prob,
            num_frames=len(raw),
            num_frames_used=used,
        )

    def _empty(self, raw: np.ndarray, **opts: Any) -> FingerspellingResult:
        return FingerspellingResult("", (), float("-inf"), num_frames=len(raw), num_frames_used=0)

    def _is_char(self, index: int) -> bool:
        return index < len(self.config.labels) and index not in self._decoding.get(
            "special_indices", ()
        )

    def _beam(self, beam_width: int | None) -> int:
        if beam_width is None:
            return self.beam_width
        _check_beam_width(beam_width)
        return beam_width


def _check_beam_width(beam_width: int) -> None:
    check_count("beam_width", beam_width)


def _as_probabilities(rows: np.ndarray) -> np.ndarray:
    """Rows that already are distributions as they are; anything else through a softmax."""
    if not rows.size:
        return rows
    sums = rows.sum(axis=-1)
    if rows.min() >= 0 and np.allclose(sums, 1.0, atol=1e-3):
        return rows
    return np.exp(log_softmax(rows))


def _check_decoding(config: ModelConfig) -> dict[str, Any]:
    """The validated ``decoding`` object of a fingerspelling config."""
    if config.task != FingerspellingRecognizer.task:
        return {"type": "argmax"}  # the task check in Recognizer raises the clear error
    d = dict(config.decoding)
    check_decoding(d, config.num_classes)  # ModelConfig checked it too; the same rules
    if d["type"] == "ctc":
        d["blank_index"] = int(d["blank_index"])
        d["output_stride"] = int(d.get("output_stride", 1))
        d["special_indices"] = (d["blank_index"],)
    else:
        d["special_indices"] = tuple(int(i) for i in d.get("special_indices", ()))
    return d


def read_inference_args(source: PathLike | dict[str, Any]) -> tuple[str, ...]:
    """``selected_columns`` from a Kaggle ASLFR ``inference_args.json`` (or its dict)."""
    data = source if isinstance(source, dict) else read_json(source, ConfigError, INFERENCE_ARGS)
    columns = data.get("selected_columns") if isinstance(data, dict) else None
    if not isinstance(columns, list) or not columns or not all(isinstance(c, str) for c in columns):
        raise ConfigError(
            f"{INFERENCE_ARGS} must be an object with 'selected_columns': a non-empty list of "
            f"ASLFR column names; got {str(data)[:120]}."
        )
    return tuple(columns)


def kaggle_fingerspelling_config(
    columns: tuple[str, ...], chars: tuple[str, ...], model: LiteRTModel
) -> ModelConfig:
    """Config of a Kaggle ASLFR submission model (``inputs`` [frames, columns] -> ``outputs``)."""
    tin, tout = model.inputs.get("inputs"), model.outputs.get("outputs")
    if tin is not None and len(tin.shape) == 3 and tin.shape[1:] == (543, 3):
        raise WrongTaskError(
            f"{model.path} looks like a Kaggle GISLR isolated-sign model (input [frames, 543, "
            "3]): load it with aslsign.SignRecognizer.from_kaggle(...)."
        )
    if tin is None or tout is None or len(tin.shape) != 2 or len(tout.shape) != 2:
        shapes = {n: list(t.shape) for n, t in {**model.inputs, **model.outputs}.items()}
        raise SignatureMismatchError(
            f"{model.path} is not a Kaggle ASLFR submission model: its {model.signature!r} "
            f"signature has {shapes}; expected 'inputs' float32 [frames, selected columns] and "
            "'outputs' [characters, 59]. Models made by aslsign carry a config.json; keep it "
            "beside model.tflite."
        )
    if tin.shape[1] not in (-1, len(columns)):
        raise SignatureMismatchError(
            f"{model.path} takes {tin.shape[1]} columns per frame, but its inference_args.json "
            f"selects {len(columns)}."
        )
    width = tout.shape[1]
    if width < len(chars):
        raise SignatureMismatchError(
            f"{model.path} scores {width} classes per output row, fewer than the {len(chars)} "
            "characters of its character map."
        )
    extra = tuple(f"<extra_{i}>" for i in range(len(chars), width))
    return ModelConfig(
        name=model.path.stem,
        task="fingerspelling",
        architecture="kaggle_submission",
        labels=chars + extra,
        preprocessing={"name": "aslfr_columns", "columns": list(columns)},
        input=TensorSpec("inputs", "float32", (None, len(columns))),
        output=TensorSpec("outputs", "float32", (None, width)),
        output_kind="probabilities",
        decoding={"type": "argmax", "special_indices": list(range(len(chars), width))},
    )
