"""Pick the recogniser a model needs: ``aslsign.load_recognizer(name)``.

aslsign artifacts say their task in config.json; a bare Kaggle submission model is told by its
input: ``[frames, 543, 3]`` is a GISLR (isolated sign) model, ``[frames, columns]`` an ASLFR
(fingerspelling) one.
"""

from __future__ import annotations

import os
from typing import Any

from .artifact import open_artifact
from .base import Recognizer
from .fingerspelling import FingerspellingRecognizer
from .recognizer import SignRecognizer
from .runtime import LiteRTModel

__all__ = ["load_recognizer", "recognizer_class"]

_BY_TASK: dict[str, type[Recognizer[Any]]] = {
    SignRecognizer.task: SignRecognizer,
    FingerspellingRecognizer.task: FingerspellingRecognizer,
}
_HUB_OPTIONS = ("revision", "cache_dir", "local_files_only", "token", "variant")


def recognizer_class(name_or_path: str | os.PathLike[str], **hub: Any) -> type[Recognizer[Any]]:
    """:class:`SignRecognizer` or :class:`FingerspellingRecognizer`, whichever runs the model."""
    artifact = open_artifact(name_or_path, verify=False, **hub)
    if artifact.config is not None:
        return _BY_TASK[artifact.config.task]
    tin = LiteRTModel(artifact.model_file, num_threads=1).inputs.get("inputs")
    if tin is not None and len(tin.shape) == 2:
        return FingerspellingRecognizer
    return SignRecognizer


def load_recognizer(name_or_path: str | os.PathLike[str], **options: Any) -> Recognizer[Any]:
    """Load any model with the recogniser of its task.

    ``options`` go to that recogniser's ``from_pretrained`` (e.g. ``top_k`` for sign models,
    ``beam_width`` for fingerspelling models, ``revision`` for hub repos).
    """
    hub = {k: options[k] for k in _HUB_OPTIONS if k in options}
    cls = recognizer_class(name_or_path, **hub)
    return cls.from_pretrained(name_or_path, **options)  # type: ignore[attr-defined, no-any-return]
