"""What every recogniser shares: loading, the signature check, batching, and the model's life.

A recogniser is a model artifact (:mod:`aslsign.artifact`) + the preprocessing its config names
+ a LiteRT interpreter + a way to turn the model's output into a typed result. Subclasses
(:class:`aslsign.SignRecognizer`, :class:`aslsign.FingerspellingRecognizer`) name their task,
how to read an input file, how to build a config for a Kaggle submission model, and how to turn
one output row into a result; loading, checking, batching and closing live here, once.
"""

from __future__ import annotations

import itertools
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import numpy as np

from . import preprocessing
from ._util import check_count
from .artifact import Artifact, open_artifact
from .config import BASE_VARIANT, ModelConfig
from .errors import ModelFileError, SignatureMismatchError, WrongTaskError
from .io import LandmarkInput
from .landmarks import hand_present
from .runtime import LiteRTModel

if TYPE_CHECKING:
    from .streaming import RecognitionStream

__all__ = ["RECOGNIZERS", "Recognizer"]

PathLike = str | os.PathLike[str]
ResultT = TypeVar("ResultT")
Self = TypeVar("Self", bound="Recognizer[Any]")
# Threads reading files ahead of inference in predict_batch (see Recognizer._loaded).
_LOAD_WORKERS = 2

#: Which recogniser loads the models of each task (config.json ``task``).
RECOGNIZERS: dict[str, str] = {
    "isolated_sign": "SignRecognizer",
    "fingerspelling": "FingerspellingRecognizer",
}


class Recognizer(Generic[ResultT]):
    """Base of the recognisers; see the module docstring. Not used directly."""

    #: the config.json ``task`` this recogniser runs
    task: ClassVar[str]
    #: ``(window_frames, stride)`` of :meth:`stream` when not given
    stream_defaults: ClassVar[tuple[int, int]] = (64, 8)
    #: the options of ``predict`` a stream may pass on, each with its check
    stream_options: ClassVar[Mapping[str, Callable[..., None]]] = MappingProxyType({})

    def __init__(
        self,
        model: LiteRTModel,
        config: ModelConfig,
        *,
        source: str | None,
        variant: str = BASE_VARIANT,
    ) -> None:
        check_task(type(self), config)
        self.config = config
        self.preprocessor = preprocessing.from_config(config.preprocessing)
        self.source = source
        #: which of the artifact's models runs (``fp32``: ``model.tflite``; ``fp16``, ``int8``)
        self.variant = variant
        self._model: LiteRTModel | None = model
        self._batched = check_signature(model, config, self.preprocessor.num_features)

    # ------------------------------------------------------------------ construction
    @classmethod
    def _pretrained(
        cls: type[Self],
        name_or_path: PathLike,
        *,
        num_threads: int | None,
        backend: str | None,
        revision: str | None,
        cache_dir: PathLike | None,
        local_files_only: bool,
        token: str | bool | None,
        verify: bool,
        variant: str | None,
        kaggle: Callable[[Artifact], Self],
        **init: Any,
    ) -> Self:
        """Open an artifact by name; Kaggle submission models go to ``kaggle``."""
        artifact = open_artifact(
            name_or_path,
            revision=revision,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            token=token,
            verify=verify,
            variant=variant,
        )
        if artifact.config is None:
            return kaggle(artifact)
        check_task(cls, artifact.config)  # before the interpreter is built
        model = LiteRTModel(
            artifact.model_file,
            signature=artifact.config.signature,
            num_threads=num_threads,
            backend=backend,
        )
        return cls(model, artifact.config, source=artifact.source, variant=artifact.variant, **init)

    # ------------------------------------------------------------------ what subclasses define
    def _load(self, source: LandmarkInput) -> np.ndarray:
        """One input (path, table, array) -> float32 (frames, 543, 3)."""
        raise NotImplementedError

    def _transform(self, out: np.ndarray) -> np.ndarray:
        """The raw model output of one call, whole batch at once (e.g. a softmax)."""
        return out

    def _row(self, out: np.ndarray, row: int, used: int) -> np.ndarray:
        """The part of a batched output that belongs to sequence ``row`` of ``used`` frames."""
        return out[row]

    def _result(self, output: np.ndarray, raw: np.ndarray, used: int, **opts: Any) -> ResultT:
        """One sequence's (transformed) output -> its result."""
        raise NotImplementedError

    def _empty(self, raw: np.ndarray, **opts: Any) -> ResultT:
        """The result of a sequence in which nothing was detected (the model is not run)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ inference
    def has_signal(self, raw: np.ndarray, frames_used: int) -> bool:
        """Is there something to recognise: a hand detected in at least ``min_hand_frames``
        frames (config.json; default 1) and frames left after preprocessing? Input without it
        gets the empty result (``detected`` False, no label) and the model is not run: a sign,
        and a spelled letter, need a hand."""
        return frames_used > 0 and self._enough_hands(raw)

    def _enough_hands(self, raw: np.ndarray) -> bool:
        return int(hand_present(raw).sum()) >= self.config.min_hand_frames

    @property
    def backend(self) -> str | None:
        """The interpreter backend in use (None once closed)."""
        return self._model.backend if self._model is not None else None

    def _predict_one(self, raw: np.ndarray, **opts: Any) -> ResultT:
        if not self._enough_hands(raw):  # nothing to recognise: not even preprocessed
            return self._empty(raw, **opts)
        # batch() also says how many frames are real (a fixed-length pipeline pads to its size)
        features, lengths = self.preprocessor.batch([raw])
        used = int(lengths[0])
        if not self.has_signal(raw, used):
            return self._empty(raw, **opts)
        x = features if self._batched else features[0, :used]
        out = self._transform(self._run(x))
        out = self._row(out, 0, used) if self._batched else out
        return self._result(out, raw, used, **opts)

    def _predict_many(
        self,
        sequences: Iterable[LandmarkInput],
        *,
        batch_size: int,
        max_batch_frames: int,
        progress: bool,
        **opts: Any,
    ) -> list[ResultT]:
        """Results of many sequences in input order (see ``predict_batch`` of the subclasses)."""
        check_count("batch_size", batch_size)
        check_count("max_batch_frames", max_batch_frames)
        results: list[ResultT] = []
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(desc="predicting", unit="seq")
        window: list[np.ndarray] = []
        for raw in self._loaded(sequences, ahead=8 * batch_size):
            window.append(raw)
            if len(window) == 8 * batch_size:
                results += self._predict_window(window, batch_size, max_batch_frames, opts)
                window = []
                if bar is not None:
                    bar.update(8 * batch_size)
        if window:
            results += self._predict_window(window, batch_size, max_batch_frames, opts)
        if bar is not None:
            bar.update(len(window))
            bar.close()
        return results

    def _loaded(self, sequences: Iterable[LandmarkInput], ahead: int) -> Iterator[np.ndarray]:
        """``self._load`` of each input, in order. Files are read by a few threads up to
        ``ahead`` inputs in advance (pyarrow releases the GIL while it reads and decodes), so
        reading overlaps with preprocessing and inference; a loading error surfaces at its
        place in the order, as a serial loop would raise it."""
        items = iter(sequences)
        first = list(itertools.islice(items, 1))
        if not first:
            return
        if not isinstance(first[0], (str, os.PathLike)):  # arrays / tables: nothing to read
            yield self._load(first[0])
            yield from map(self._load, items)
            return
        with ThreadPoolExecutor(max_workers=_LOAD_WORKERS) as pool:
            pending: deque[Future[np.ndarray]] = deque(
                pool.submit(self._load, s)
                for s in itertools.chain(first, itertools.islice(items, ahead - 1))
            )
            try:
                while pending:
                    raw = pending.popleft().result()
                    pending.extend(pool.submit(self._load, s) for s in itertools.islice(items, 1))
                    yield raw
            finally:
                for future in pending:
                    future.cancel()

    def _predict_window(
        self,
        raws: list[np.ndarray],
        batch_size: int,
        max_batch_frames: int,
        opts: dict[str, Any],
    ) -> list[ResultT]:
        """Sort by length, cut into batches within the frame budget, overlap CPU and model."""
        if not self._batched:
            return [self._predict_one(raw, **opts) for raw in raws]
        results: list[ResultT | None] = [None] * len(raws)
        max_len = getattr(self.preprocessor, "max_len", None) or 1 << 30
        length = [min(len(r), max_len) for r in raws]
        runs = []  # the sequences with something to recognise go to the model
        for i, raw in enumerate(raws):
            if self._enough_hands(raw):
                runs.append(i)
            else:
                results[i] = self._empty(raw, **opts)
        order = sorted(runs, key=length.__getitem__)
        chunks: list[list[int]] = [[]]
        for i in order:  # at most batch_size sequences and max_batch_frames padded frames
            if (
                len(chunks[-1]) == batch_size
                or (len(chunks[-1]) + 1) * length[i] > max_batch_frames
            ):
                chunks.append([])
            chunks[-1].append(i)
        chunks = [c for c in chunks if c]

        def collect(chunk: list[int], lengths: np.ndarray, pending: Future | None) -> None:
            out = self._transform(pending.result()) if pending is not None else None
            for row, (i, n) in enumerate(zip(chunk, lengths, strict=True)):
                raw = raws[i]
                if out is None or not self.has_signal(raw, int(n)):
                    results[i] = self._empty(raw, **opts)
                else:
                    results[i] = self._result(self._row(out, row, int(n)), raw, int(n), **opts)

        # inference (which releases the GIL) overlaps with preprocessing the next chunk
        with ThreadPoolExecutor(max_workers=1) as pool:
            previous = None
            for chunk in chunks:
                features, lengths = self.preprocessor.batch([raws[i] for i in chunk])
                future = pool.submit(self._run, features) if lengths.any() else None
                if previous is not None:
                    collect(*previous)
                previous = (chunk, lengths, future)
            if previous is not None:
                collect(*previous)
        return [r for r in results if r is not None]

    def stream(
        self,
        window_frames: int | None = None,
        stride: int | None = None,
        callback: Callable[[ResultT, int], None] | None = None,
        **options: Any,
    ) -> RecognitionStream[ResultT]:
        """Recognise a live stream of frames (:class:`aslsign.streaming.RecognitionStream`):
        ``push(frame, timestamp_ms)`` each frame; every ``stride`` frames the last
        ``window_frames`` are recognised as :meth:`predict` would (default: the recogniser's
        :attr:`stream_defaults`). ``options`` go to ``predict`` (``top_k``, ``beam_width``)."""
        from .streaming import RecognitionStream

        self._check_predict_options(options, "stream")
        default_window, default_stride = self.stream_defaults
        return RecognitionStream(
            self,
            default_window if window_frames is None else window_frames,
            default_stride if stride is None else stride,
            callback,
            **options,
        )

    def spot(
        self,
        landmarks: LandmarkInput,
        fps: float = 30.0,
        *,
        sequence_id: int | None = None,
        **options: Any,
    ) -> list[Any]:
        """The signs (or spelled phrases) of a long sequence, each with where it starts and
        ends: a list of :class:`aslsign.spotting.SignSpan` (``label``, ``score``) or
        :class:`aslsign.spotting.FingerspellingSpan` (``text``, ``confidence``), in time order,
        never overlapping (:mod:`aslsign.spotting` says how). Idle stretches (no hands, hands
        at rest) and unknown signs give no span.

        ``landmarks``: a ``(frames, 543, 3)`` array, a GISLR file or table, or an ASLFR file
        (``sequence_id`` picks the sequence). ``fps``: the recording's frame rate, for the
        times. ``options``: the segmentation's (``hold_s``, ``gap_s``, ``min_s``, ``max_s``,
        ``motion``, ``keep_unknown``) and ``predict``'s. Equals :meth:`spotter` fed the same
        frames and flushed.
        """
        from .io import load_landmarks
        from .spotting import spot_timestamps

        spotter = self.spotter(fps, **options)
        if isinstance(landmarks, np.ndarray) and landmarks.ndim == 3 and not len(landmarks):
            return []  # nothing recorded: nothing found
        raw = load_landmarks(landmarks, sequence_id)
        spans: list[Any] = []
        for frame, ms in zip(raw, spot_timestamps(len(raw), fps), strict=True):
            spans += spotter.push(frame, ms)
        return spans + spotter.flush()

    def spotter(self, fps: float = 30.0, **options: Any) -> Any:
        """Spotting online (:class:`aslsign.spotting.Spotter`): ``push(frame, timestamp_ms)``
        returns the spans that have just ended, ``flush()`` the rest, ``partial`` the phrase
        being spelled now. Pushed the same frames, it gives exactly :meth:`spot`'s spans."""
        from .spotting import Spotter

        return Spotter(self, fps, **options)

    def _check_predict_options(self, options: dict[str, Any], where: str = "spotter") -> None:
        """Options passed on to ``predict``: known names, valid values."""
        for name, value in options.items():
            if name not in self.stream_options:
                raise TypeError(
                    f"{type(self).__name__}.{where}() got the unknown option {name!r}; "
                    f"options go to predict(), which takes {list(self.stream_options)}."
                )
            self.stream_options[name](name, value, optional=True)

    def _run(self, x: np.ndarray) -> np.ndarray:
        if self._model is None:
            raise RuntimeError(f"This {type(self).__name__} is closed.")
        out = self._model(**{self.config.input.name: x})[self.config.output.name]
        return out.astype(np.float32, copy=False)

    def _check_output(self, output: np.ndarray, used: int) -> None:
        """Raise ModelFileError when one sequence's (transformed) output holds NaN or +inf.

        Only the rows of sequences with a signal are checked: a batch row that is all padding
        (nothing detected) may well be NaN, and its result is the empty one. -inf is a
        log-probability of 0 (CTC models that output probabilities)."""
        if np.isnan(output).any() or np.isposinf(output).any():
            raise ModelFileError(
                f"{self.source or 'The model'} gave NaN or infinite outputs for a sequence of "
                f"{used} frames (after preprocessing): its weights may be corrupt (load it with "
                "verify=True to check its sha256), or it cannot handle this input."
            )

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Release the interpreter. Safe to call more than once."""
        self._model = None

    def __enter__(self: Self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        variant = "" if self.variant == BASE_VARIANT else f", variant={self.variant!r}"
        return (
            f"{type(self).__name__}(name={self.config.name!r}, "
            f"classes={self.config.num_classes}, source={self.source!r}{variant})"
        )


def check_task(cls: type[Recognizer[Any]], config: ModelConfig) -> None:
    """Raise :class:`WrongTaskError` naming the right recogniser when the task does not fit."""
    if config.task == cls.task:
        return
    right = RECOGNIZERS.get(config.task, "another recogniser")
    raise WrongTaskError(
        f"Model {config.name!r} is a {config.task!r} model, but {cls.__name__} runs "
        f"{cls.task!r} models: load it with aslsign.{right}.from_pretrained(...)."
    )


def check_signature(model: LiteRTModel, config: ModelConfig, features: tuple[int, ...]) -> bool:
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
    if tout.shape[-1] not in (-1, config.num_classes):  # -1: known after a call, checked then
        raise SignatureMismatchError(
            f"Model output {spec_out.name!r} has {tout.shape[-1]} classes but the config lists "
            f"{config.num_classes} labels."
        )
    return batched
