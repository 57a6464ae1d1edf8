"""aslsign: American Sign Language recognition from MediaPipe Holistic landmarks.

>>> import aslsign
>>> with aslsign.SignRecognizer.from_pretrained() as rec:    # doctest: +SKIP
...     print(rec.predict("sequence.parquet").label)
>>> with aslsign.FingerspellingRecognizer.from_pretrained() as rec:    # doctest: +SKIP
...     print(rec.predict("phrases.parquet", sequence_id=1234).text)

Core imports pull in numpy, pyarrow and (when a model is loaded) a LiteRT interpreter only.
"""

from __future__ import annotations

from . import errors, landmarks, metrics, preprocessing
from .auto import load_recognizer
from .characters import CHARACTERS
from .config import ModelConfig, TensorSpec
from .errors import (
    AslSignError,
    BackendNotAvailableError,
    ConfigError,
    EmptySequenceError,
    HubError,
    InputShapeError,
    InputValueError,
    LandmarkFileError,
    ModelFileError,
    ModelNotFoundError,
    RepoIdError,
    SequenceNotFoundError,
    SignatureMismatchError,
    TimestampError,
    VideoSourceError,
    WrongTaskError,
)
from .fingerspelling import FingerspellingRecognizer
from .hub import PushResult, card_metadata, push_to_hub
from .io import (
    FingerspellingDataset,
    FingerspellingRecord,
    GislrDataset,
    GislrRecord,
    list_sequence_ids,
    load_fingerspelling,
    load_landmarks,
    load_sequence,
    write_fingerspelling,
    write_sequence,
)
from .recognizer import SignRecognizer, read_label_map
from .registry import DEFAULT_FINGERSPELLING_MODEL, DEFAULT_MODEL, is_model, list_models
from .results import Category, FingerspellingResult, SignResult
from .streaming import RecognitionStream

__version__ = "0.1.0"

__all__ = [
    "CHARACTERS",
    "DEFAULT_FINGERSPELLING_MODEL",
    "DEFAULT_MODEL",
    "AslSignError",
    "BackendNotAvailableError",
    "Category",
    "ConfigError",
    "EmptySequenceError",
    "FingerspellingDataset",
    "FingerspellingRecognizer",
    "FingerspellingRecord",
    "FingerspellingResult",
    "GislrDataset",
    "GislrRecord",
    "HubError",
    "InputShapeError",
    "InputValueError",
    "LandmarkFileError",
    "ModelConfig",
    "ModelFileError",
    "ModelNotFoundError",
    "PushResult",
    "RecognitionStream",
    "RepoIdError",
    "SequenceNotFoundError",
    "SignRecognizer",
    "SignResult",
    "SignatureMismatchError",
    "TensorSpec",
    "TimestampError",
    "VideoSourceError",
    "WrongTaskError",
    "__version__",
    "card_metadata",
    "errors",
    "is_model",
    "landmarks",
    "list_models",
    "list_sequence_ids",
    "load_fingerspelling",
    "load_landmarks",
    "load_recognizer",
    "load_sequence",
    "metrics",
    "preprocessing",
    "push_to_hub",
    "read_label_map",
    "write_fingerspelling",
    "write_sequence",
]
