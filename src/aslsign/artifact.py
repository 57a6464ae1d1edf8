"""The one place that knows the files of a model artifact and how to open them.

:func:`open_artifact` resolves a name (bundled zoo model, local directory or ``.tflite`` file, hub
repo; see :mod:`aslsign.registry`), reads and validates ``config.json``, checks ``model.tflite``
against the sha256 the config records, and tells a Kaggle submission model (a ``.tflite`` without
``config.json``) from an aslsign artifact. Every recogniser builds on it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .config import ModelConfig, sha256_file
from .errors import ModelFileError
from .registry import resolve_artifact

__all__ = ["Artifact", "open_artifact"]

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class Artifact:
    """A resolved model on local disk.

    Attributes:
        model_file: the ``.tflite`` file.
        directory: the folder holding it (and, for aslsign artifacts, ``config.json``).
        config: the parsed ``config.json``; None for a Kaggle submission model.
        source: where it came from, for messages and ``repr``.
    """

    model_file: Path
    directory: Path
    config: ModelConfig | None
    source: str

    @property
    def is_kaggle(self) -> bool:
        """True for a bare Kaggle submission model (no ``config.json``)."""
        return self.config is None


def open_artifact(
    name_or_path: PathLike,
    *,
    revision: str | None = None,
    cache_dir: PathLike | None = None,
    local_files_only: bool = False,
    token: str | bool | None = None,
    verify: bool = True,
) -> Artifact:
    """Resolve ``name_or_path`` to local files and validate them (see the module docstring).

    Raises:
        ModelNotFoundError: the name is no path, bundled model or reachable hub repo.
        ModelFileError: no ``model.tflite``, or one that does not match its config's sha256.
        ConfigError: ``config.json`` is broken or lacks a field.
    """
    path = resolve_artifact(
        name_or_path,
        revision=revision,
        cache_dir=cache_dir,
        local_files_only=local_files_only,
        token=token,
    )
    if path.is_file():
        return Artifact(path, path.parent, None, str(path))
    model_file = path / "model.tflite"
    has_config = (path / "config.json").is_file()
    if not model_file.is_file():
        raise ModelFileError(
            f"{path} has a config.json but no model.tflite."
            if has_config
            else f"{path} holds no model.tflite. A model artifact directory has model.tflite and "
            "config.json (a Kaggle submission: model.tflite and its label or character map)."
        )
    if not has_config:
        return Artifact(model_file, path, None, str(path))
    config = ModelConfig.load(path / "config.json")
    if verify and config.model_sha256 and sha256_file(model_file) != config.model_sha256:
        raise ModelFileError(
            f"{model_file} does not match the sha256 in its config.json: the file is corrupt "
            "or was replaced. Re-download or re-export the artifact (or pass verify=False)."
        )
    return Artifact(model_file, path, config, str(path))
