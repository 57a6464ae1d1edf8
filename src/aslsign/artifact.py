"""The one place that knows the files of a model artifact and how to open them.

:func:`open_artifact` resolves a name (bundled zoo model, local directory or ``.tflite`` file, hub
repo; see :mod:`aslsign.registry`), reads and validates ``config.json``, checks ``model.tflite``
(or the variant asked for, e.g. ``model.fp16.tflite``) against the sha256 the config records,
and tells a Kaggle submission model (a ``.tflite`` without
``config.json``) from an aslsign artifact. Every recogniser builds on it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .config import BASE_VARIANT, ModelConfig, sha256_file
from .errors import ModelFileError, ModelNotFoundError
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
        variant: which of the artifact's models ``model_file`` is (``fp32``: ``model.tflite``).
    """

    model_file: Path
    directory: Path
    config: ModelConfig | None
    source: str
    variant: str = BASE_VARIANT

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
    variant: str | None = None,
) -> Artifact:
    """Resolve ``name_or_path`` to local files and validate them (see the module docstring).

    ``variant`` picks one of the artifact's models: ``None`` / ``"fp32"`` is ``model.tflite``,
    ``"fp16"`` ``model.fp16.tflite`` and so on, as ``config.json`` ``variants`` lists them (from
    a hub repo only that file is downloaded).

    Raises:
        ModelNotFoundError: the name is no path, bundled model or reachable hub repo; or the
            artifact has no such variant.
        ModelFileError: the model file is missing, or does not match its config's sha256.
        ConfigError: ``config.json`` is broken or lacks a field.
    """
    path = resolve_artifact(
        name_or_path,
        revision=revision,
        cache_dir=cache_dir,
        local_files_only=local_files_only,
        token=token,
        variant=variant,
    )
    plain = variant in (None, BASE_VARIANT)
    has_config = path.is_dir() and (path / "config.json").is_file()
    if not has_config and not plain:
        raise ModelNotFoundError(
            f"{path} is a Kaggle submission model (no config.json): it has no variants, so "
            f"variant={variant!r} cannot be loaded."
        )
    if path.is_file():
        return Artifact(path, path.parent, None, str(path))
    if not has_config:
        if not (path / "model.tflite").is_file():
            raise ModelFileError(
                f"{path} holds no model.tflite. A model artifact directory has model.tflite and "
                "config.json (a Kaggle submission: model.tflite and its label or character map)."
            )
        return Artifact(path / "model.tflite", path, None, str(path))
    config = ModelConfig.load(path / "config.json")
    name, sha256 = config.variant_file(variant)
    model_file = path / name
    if not model_file.is_file():
        raise ModelFileError(f"{path} has a config.json but no {name}.")
    if verify and sha256 and sha256_file(model_file) != sha256:
        raise ModelFileError(
            f"{model_file} does not match the sha256 in its config.json: the file is corrupt "
            "or was replaced. Re-download or re-export the artifact (or pass verify=False)."
        )
    return Artifact(model_file, path, config, str(path), variant or BASE_VARIANT)
