"""Every error aslsign raises on purpose.

Each error subclasses :class:`AslSignError` *and* the builtin it behaves like, so
``except ValueError`` keeps working for callers that do not know about aslsign.
Every message says what was expected, what came, and where it helps, what to do.
"""

from __future__ import annotations

__all__ = [
    "AslSignError",
    "BackendNotAvailableError",
    "ConfigError",
    "EmptySequenceError",
    "HubError",
    "InputShapeError",
    "InputValueError",
    "LandmarkFileError",
    "ModelFileError",
    "ModelNotFoundError",
    "RepoIdError",
    "SequenceNotFoundError",
    "SignatureMismatchError",
    "TimestampError",
    "VideoSourceError",
    "WrongTaskError",
]


class AslSignError(Exception):
    """Base class of every aslsign error."""


class InputShapeError(AslSignError, ValueError):
    """An array, table or frame does not have the shape or dtype that was expected."""


class InputValueError(AslSignError, ValueError):
    """A landmark coordinate is not usable: +-inf, or larger in magnitude than
    :data:`aslsign.landmarks.MAX_ABS_COORDINATE` (NaN is fine: it marks a landmark that was not
    detected). The message names the first bad frame, landmark and coordinate."""


class EmptySequenceError(InputShapeError):
    """A landmark sequence has no frames at all (an empty file, table or array)."""


class LandmarkFileError(AslSignError, ValueError):
    """A landmark file cannot be read: missing, corrupt, or missing required columns."""


class ConfigError(AslSignError, ValueError):
    """A model ``config.json`` is missing, malformed, or lacks a required field."""


class ModelFileError(AslSignError, ValueError):
    """A ``.tflite`` model file is missing, cannot be loaded by the interpreter, does not match
    its sha256, or gives NaN / infinite outputs."""


class SignatureMismatchError(AslSignError, ValueError):
    """A model's signature does not fit what its config (or the Kaggle format) promises."""


class ModelNotFoundError(AslSignError, LookupError):
    """A model name is neither a local artifact directory nor a bundled zoo model."""


class BackendNotAvailableError(AslSignError, ImportError):
    """No usable LiteRT / TFLite interpreter is installed (or the one asked for is not)."""


class SequenceNotFoundError(AslSignError, LookupError):
    """A ``sequence_id`` is not in the landmark file or table it was looked for in."""


class WrongTaskError(ConfigError):
    """A model was loaded into the recogniser of another task (the message names the right one)."""


class RepoIdError(AslSignError, ValueError):
    """A Hugging Face hub repo id is not of the form ``owner/name``."""


class HubError(AslSignError, OSError):
    """The Hugging Face hub refused a request (the message has its status and reason) or could
    not be reached, e.g. while publishing with :func:`aslsign.push_to_hub`."""


class TimestampError(AslSignError, ValueError):
    """A frame pushed to a stream does not come after the one before it (timestamps must
    increase)."""


class VideoSourceError(AslSignError, ValueError):
    """A video, image, image folder or camera cannot be opened or decoded (``aslsign.video``)."""
