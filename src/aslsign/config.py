"""``config.json``: everything needed to use a model artifact, versioned by ``format_version``.

A model artifact is a directory (bundled zoo entry, recipe output, or hub repo) holding
``model.tflite``, ``config.json`` and a ``README.md`` model card. The config carries the task,
the architecture, the model signature, the full preprocessing spec, the labels in output order
(for fingerspelling models: the characters, with the CTC blank, and ``decoding`` saying how to
turn outputs into text), measured metrics with the data they came from, the training recipe and
its arguments, the license and the sha256 of ``model.tflite``; ``variants`` lists the smaller
copies of the model beside it (``model.fp16.tflite``, ``model.int8.tflite``) with their sha256.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ._util import read_json
from .errors import ConfigError, ModelNotFoundError

__all__ = ["BASE_VARIANT", "FORMAT_VERSION", "ModelConfig", "TensorSpec", "sha256_file"]

FORMAT_VERSION = 1
TASKS = ("isolated_sign", "fingerspelling")
OUTPUT_KINDS = ("logits", "probabilities")
#: the variant held in ``model.tflite`` itself
BASE_VARIANT = "fp32"
_VARIANT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class TensorSpec:
    """Name, dtype and shape of one signature tensor; ``None`` marks a dynamic axis."""

    name: str
    dtype: str
    shape: tuple[int | None, ...]

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str) -> TensorSpec:
        try:
            return cls(str(d["name"]), str(d["dtype"]), tuple(d["shape"]))
        except (KeyError, TypeError) as exc:
            raise ConfigError(
                f"config.json {where}: expected an object with name, dtype and shape; got {d!r}."
            ) from exc

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape)}


@dataclass(frozen=True)
class ModelConfig:
    """The parsed ``config.json`` of a model artifact."""

    task: str
    architecture: str
    labels: tuple[str, ...]
    preprocessing: dict[str, Any]
    input: TensorSpec
    output: TensorSpec
    output_kind: str = "logits"
    decoding: dict[str, Any] = field(default_factory=dict)
    signature: str = "serving_default"
    name: str | None = None
    architecture_args: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    license: str | None = None
    model_sha256: str | None = None
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    _REQUIRED = ("task", "architecture", "labels", "preprocessing", "input", "output")

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ConfigError(f"config.json task must be one of {TASKS}; got {self.task!r}.")
        if self.output_kind not in OUTPUT_KINDS:
            raise ConfigError(
                f"config.json output_kind must be one of {OUTPUT_KINDS}; got {self.output_kind!r}."
            )
        if not self.labels:
            raise ConfigError("config.json labels must be a non-empty list of label names.")
        _check_variants(self.variants)

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    @property
    def variant_names(self) -> tuple[str, ...]:
        """The variants this artifact holds: ``fp32`` (``model.tflite``) and those listed in
        ``variants``."""
        return (BASE_VARIANT, *sorted(self.variants))

    def variant_file(self, variant: str | None) -> tuple[str, str | None]:
        """``(file name, sha256)`` of a variant (``None`` or ``"fp32"``: ``model.tflite``).

        Raises:
            ModelNotFoundError: the artifact does not hold that variant.
        """
        if variant in (None, BASE_VARIANT):
            return "model.tflite", self.model_sha256
        entry = self.variants.get(str(variant))
        if entry is None:
            raise ModelNotFoundError(
                f"Model {self.name!r} has no variant {variant!r}; it has "
                f"{', '.join(self.variant_names)}."
            )
        return variant_file_name(str(variant)), entry["sha256"]

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "config.json") -> ModelConfig:
        if not isinstance(d, dict):
            raise ConfigError(f"{source}: expected a JSON object, got {type(d).__name__}.")
        missing = [k for k in cls._REQUIRED if k not in d]
        if missing:
            raise ConfigError(
                f"{source}: missing required field(s) {missing}. A model config needs "
                f"{list(cls._REQUIRED)}."
            )
        version = d.get("format_version", FORMAT_VERSION)
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise ConfigError(
                f"{source}: format_version {version!r} is newer than this aslsign understands "
                f"({FORMAT_VERSION}); upgrade aslsign."
            )
        known = {f for f in cls.__dataclass_fields__ if not f.startswith("_")}
        kwargs = {k: v for k, v in d.items() if k in known}
        kwargs["labels"] = tuple(str(x) for x in d["labels"])
        kwargs["input"] = TensorSpec.from_dict(d["input"], "input")
        kwargs["output"] = TensorSpec.from_dict(d["output"], "output")
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise ConfigError(f"{source}: {exc}") from exc

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ModelConfig:
        data = read_json(path, ConfigError, "config.json")
        return cls.from_dict(data, source=str(path))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["labels"] = list(self.labels)
        d["input"] = self.input.to_dict()
        d["output"] = self.output.to_dict()
        return d

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write as JSON with sorted keys (stable diffs)."""
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True)
        Path(path).write_text(text + "\n", encoding="utf-8")


def variant_file_name(variant: str) -> str:
    """``model.<variant>.tflite``: the only file name a variant may have (nothing in a config
    can point outside its artifact directory)."""
    return f"model.{variant}.tflite"


def _check_variants(variants: Any) -> None:
    if not isinstance(variants, dict):
        raise ConfigError(
            f"config.json variants must be an object {{name: {{file, sha256, ...}}}}; got "
            f"{type(variants).__name__}."
        )
    for name, entry in variants.items():
        if name == BASE_VARIANT or not _VARIANT_NAME.match(str(name)):
            raise ConfigError(
                f"config.json variants: {name!r} is not a variant name (lower-case letters, "
                f"digits, '_' or '-'; {BASE_VARIANT!r} is model.tflite itself)."
            )
        if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
            raise ConfigError(f"config.json variants.{name}: expected an object with a sha256.")
        if entry.get("file", variant_file_name(name)) != variant_file_name(name):
            raise ConfigError(
                f"config.json variants.{name}: file must be {variant_file_name(name)!r}; got "
                f"{entry.get('file')!r}."
            )


def sha256_file(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
