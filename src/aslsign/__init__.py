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
    SignatureMismatchError,
)
from .io import GislrDataset, GislrRecord, load_sequence
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
    "GislrDataset",
    "GislrRecord",
    "InputShapeError",
    "LandmarkFileError",
    "ModelConfig",
    "ModelFileError",
    "ModelNotFoundError",
    "SignRecognizer",
    "SignResult",
    "SignatureMismatchError",
    "TensorSpec",
    "__version__",
    "errors",
    "is_model",
    "landmarks",
    "list_models",
    "load_sequence",
    "preprocessing",
    "read_label_map",
]
