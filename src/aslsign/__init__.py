"""aslsign: American Sign Language recognition from MediaPipe Holistic landmarks.

>>> import aslsign
>>> with aslsign.SignRecognizer.from_pretrained() as rec:    # doctest: +SKIP
...     print(rec.predict("sequence.parquet").label)

Core imports pull in numpy, pyarrow and (when a model is loaded) a LiteRT interpreter only.
"""

from __future__ import annotations

from . import errors, landmarks, preprocessing
from .config import ModelConfig, TensorSpec
from .errors import (
    AslSignError,
    BackendNotAvailableError,
    ConfigError,
    EmptySequenceError,
    InputShapeError,
    LandmarkFileError,
    ModelFileError,
    ModelNotFoundError,
    SequenceNotFoundError,
    SignatureMismatchError,
    WrongTaskError,
)
from .io import (
    FingerspellingDataset,
    FingerspellingRecord,
    GislrDataset,
    GislrRecord,
    list_sequence_ids,
    load_fingerspelling,
    load_sequence,
    write_fingerspelling,
)
from .recognizer import SignRecognizer, read_label_map
from .registry import DEFAULT_MODEL, is_model, list_models
from .results import Category, SignResult

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MODEL",
    "AslSignError",
    "BackendNotAvailableError",
    "Category",
    "ConfigError",
    "EmptySequenceError",
    "FingerspellingDataset",
    "FingerspellingRecord",
    "GislrDataset",
    "GislrRecord",
    "InputShapeError",
    "LandmarkFileError",
    "ModelConfig",
    "ModelFileError",
    "ModelNotFoundError",
    "SequenceNotFoundError",
    "SignRecognizer",
    "SignResult",
    "SignatureMismatchError",
    "TensorSpec",
    "WrongTaskError",
    "__version__",
    "errors",
    "is_model",
    "landmarks",
    "list_models",
    "list_sequence_ids",
    "load_fingerspelling",
    "load_sequence",
    "preprocessing",
    "read_label_map",
    "write_fingerspelling",
]
