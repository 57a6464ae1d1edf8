"""``config.json``: everything needed to use a model artifact, versioned by ``format_version``.

A model artifact is a directory (bundled zoo entry, recipe output, or hub repo) holding
``model.tflite``, ``config.json`` and a ``README.md`` model card. The config carries the task,
the architecture, the model signature, the full preprocessing spec, the labels in output order
(for fingerspelling models: the characters, with the CTC blank, and ``decoding`` saying how to
turn outputs into text), measured metrics with the data they came from, the training recipe and
its arguments, the license and the sha256 of ``model.tflite``; ``variants`` lists the smaller
copies of the model beside it (``model.fp16.tflite``, ``model.int8.tflite``) with their sha256.

What counts as "nothing to recognise" is in the config too: ``min_hand_frames`` (a sequence with
fewer frames in which a hand was detected gets no label, and the model is not run: every model,
default 1), and for isolated-sign models ``background_label`` (an output class that means "not
a sign of the vocabulary", trained on other signs and motion) and ``score_threshold`` (a best
sign with a lower probability is rejected as unknown; without one, a model rejects when its
background class wins).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import _validate as v
from ._util import read_json
from .errors import ConfigError, ModelNotFoundError

__all__ = ["BASE_VARIANT", "FORMAT_VERSION", "ModelConfig", "TensorSpec", "sha256_file"]

FORMAT_VERSION = 1
TASKS = ("isolated_sign", "fingerspelling")
OUTPUT_KINDS = ("logits", "probabilities")
#: ``decoding.type`` of fingerspelling models
DECODINGS = ("ctc", "argmax")
#: tensor dtypes a signature may name
_DTYPES = ("float32", "float16", "float64", "int8", "uint8", "int16", "int32", "int64", "bool")
#: the variant held in ``model.tflite`` itself
BASE_VARIANT = "fp32"
_VARIANT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class TensorSpec:
    """Name, dtype and shape of one signature tensor; ``None`` marks a dynamic axis."""

    name: str
    dtype: str
    shape: tuple[int | None, ...]

    def __post_init__(self) -> None:
        check_tensor_spec(self.name, self.dtype, self.shape, "TensorSpec")
        object.__setattr__(self, "shape", tuple(self.shape))

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str) -> TensorSpec:
        d = v.obj(d, f"config.json {where}")
        missing = [k for k in ("name", "dtype", "shape") if k not in d]
        if missing:
            raise ConfigError(
                f"config.json {where} must be an object with name, dtype and shape; it lacks "
                f"{missing}."
            )
        check_tensor_spec(d["name"], d["dtype"], d["shape"], f"config.json {where}")
        return cls(d["name"], d["dtype"], tuple(d["shape"]))

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
    #: fewer frames with a detected hand than this: no label, the model is not run
    min_hand_frames: int = 1
    #: isolated signs: the output class meaning "none of the vocabulary" (None: no such class)
    background_label: str | None = None
    #: isolated signs: a winner with a lower probability is rejected (None: never)
    score_threshold: float | None = None
    format_version: int = FORMAT_VERSION

    _REQUIRED = ("task", "architecture", "labels", "preprocessing", "input", "output")

    def __post_init__(self) -> None:
        """Check the type and range of every field (ConfigError naming the field)."""
        check_format_version(self.format_version)
        v.string(self.task, "config.json task", TASKS)
        v.string(self.architecture, "config.json architecture")
        labels = v.string_list(self.labels, "config.json labels", "label names", unique=True)
        object.__setattr__(self, "labels", labels)
        for key in ("input", "output"):
            if not isinstance(getattr(self, key), TensorSpec):
                raise v.fail(
                    f"config.json {key}", "an object {name, dtype, shape}", getattr(self, key)
                )
        v.string(self.output_kind, "config.json output_kind", OUTPUT_KINDS)
        v.string(self.signature, "config.json signature")
        v.optional_string(self.name, "config.json name")
        v.optional_string(self.license, "config.json license")
        v.sha256(self.model_sha256, "config.json model_sha256", null_ok=True)
        for key in ("decoding", "architecture_args", "metrics", "training", "variants"):
            object.__setattr__(self, key, v.obj(getattr(self, key), f"config.json {key}", True))
        _check_preprocessing(self.preprocessing)
        if self.task == "fingerspelling":
            check_decoding(self.decoding, len(labels))
        _check_metrics(self.metrics)
        _check_training(self.training)
        _check_variants(self.variants)
        v.integer(self.min_hand_frames, "config.json min_hand_frames", 1)
        if self.score_threshold is not None:
            v.number(self.score_threshold, "config.json score_threshold", 0.0, 1.0)
        if self.background_label is not None:
            if self.task != "isolated_sign":
                raise ConfigError("config.json background_label applies to isolated-sign models.")
            v.string(self.background_label, "config.json background_label", labels)

    @property
    def background_index(self) -> int | None:
        """Output index of :attr:`background_label`, or None."""
        if self.background_label is None:
            return None
        return self.labels.index(self.background_label)

    @property
    def vocabulary(self) -> tuple[str, ...]:
        """The labels a model can answer: :attr:`labels` without the background class."""
        return tuple(label for label in self.labels if label != self.background_label)

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
        try:
            # the version first: a newer format may change what the other fields mean
            check_format_version(d.get("format_version", FORMAT_VERSION))
            known = {f for f in cls.__dataclass_fields__ if not f.startswith("_")}
            kwargs = {k: val for k, val in d.items() if k in known}
            labels = d["labels"]
            kwargs["labels"] = tuple(labels) if isinstance(labels, list) else labels
            kwargs["input"] = TensorSpec.from_dict(d["input"], "input")
            kwargs["output"] = TensorSpec.from_dict(d["output"], "output")
            return cls(**kwargs)
        except ConfigError as exc:
            raise ConfigError(f"{source}: {str(exc).removeprefix('config.json ')}") from exc

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


def check_format_version(version: Any) -> None:
    """``format_version``: an integer >= 1, not newer than :data:`FORMAT_VERSION`."""
    if not v.is_int(version) or version < 1:
        raise v.fail(
            "config.json format_version",
            f"an integer >= 1 ({FORMAT_VERSION} for this aslsign)",
            version,
        )
    if version > FORMAT_VERSION:
        raise ConfigError(
            f"config.json format_version {version} is newer than this aslsign understands "
            f"({FORMAT_VERSION}); upgrade aslsign."
        )


def check_tensor_spec(name: Any, dtype: Any, shape: Any, where: str) -> None:
    v.string(name, f"{where}.name" if where != "TensorSpec" else "TensorSpec name")
    v.string(dtype, f"{where}.dtype", _DTYPES)
    axes = v.sequence(shape, f"{where}.shape", "axis sizes (integers >= 1, or null)")
    for i, size in enumerate(axes):
        if size is not None:
            v.integer(size, f"{where}.shape[{i}]", 1)


def check_decoding(decoding: dict[str, Any], num_classes: int) -> None:
    """``decoding`` of a fingerspelling model: ``{"type": "ctc", "blank_index", "output_stride"}``
    or ``{"type": "argmax", "special_indices"}``; indices must be output classes."""
    kind = v.string(decoding.get("type"), "config.json decoding.type", DECODINGS)
    last = num_classes - 1
    if kind == "ctc":
        v.integer(decoding.get("blank_index"), "config.json decoding.blank_index", 0, last)
        if "output_stride" in decoding:
            v.integer(decoding["output_stride"], "config.json decoding.output_stride", 1)
    elif "special_indices" in decoding:
        v.integer_list(decoding["special_indices"], "config.json decoding.special_indices", 0, last)


def _check_preprocessing(config: Any) -> None:
    from .preprocessing import from_config

    from_config(v.obj(config, "config.json preprocessing"))  # each pipeline checks its fields


# metrics that aslsign itself reads (aslsign info, the hub card): numbers, counts
_SCORES = ("top1", "top5", "top10", "min_top1", "max_top1", "normalized_levenshtein", "exact_match")
_COUNTS = ("count", "correct")


def _check_metrics(metrics: dict[str, Any]) -> None:
    """``metrics`` is free-form, but the figures aslsign shows must be what they claim."""
    if "data" in metrics:
        v.string(metrics["data"], "config.json metrics.data", empty=True)
    for key, block in metrics.items():
        if not isinstance(block, dict):
            if key in ("cv", "train", "validation", "validation_beam"):
                raise v.fail(f"config.json metrics.{key}", "an object", block)
            continue
        for name in _SCORES:
            if name in block:
                v.number(block[name], f"config.json metrics.{key}.{name}")
        for name in _COUNTS:
            if name in block:
                v.integer(block[name], f"config.json metrics.{key}.{name}", 0)
        if "beam_width" in block:
            v.integer(block["beam_width"], f"config.json metrics.{key}.beam_width", 1)
        if "folds" in block:
            v.sequence(block["folds"], f"config.json metrics.{key}.folds", "folds")


def _check_training(training: dict[str, Any]) -> None:
    """``training`` is a record of the run; the fields aslsign shows must be text."""
    for key in ("dataset", "data", "data_description", "command", "recipe"):
        if key in training and training[key] is not None:
            v.string(training[key], f"config.json training.{key}", empty=True)
    if "args" in training:
        v.obj(training["args"], "config.json training.args", null_ok=True)


def _check_variants(variants: dict[str, Any]) -> None:
    for name, entry in variants.items():
        if name == BASE_VARIANT or not _VARIANT_NAME.match(str(name)):
            raise ConfigError(
                f"config.json variants: {name!r} is not a variant name (lower-case letters, "
                f"digits, '_' or '-'; {BASE_VARIANT!r} is model.tflite itself)."
            )
        where = f"config.json variants.{name}"
        if not isinstance(entry, dict) or "sha256" not in entry:
            raise ConfigError(
                f"{where}: expected an object with a sha256; got {v.describe(entry)}."
            )
        if entry.get("file", variant_file_name(name)) != variant_file_name(name):
            raise ConfigError(
                f"{where}: file must be {variant_file_name(name)!r}; got {entry.get('file')!r}."
            )
        v.sha256(entry["sha256"], f"{where}.sha256")
        if "size_bytes" in entry:
            v.integer(entry["size_bytes"], f"{where}.size_bytes", 0)
        if "size_ratio" in entry:
            v.number(entry["size_ratio"], f"{where}.size_ratio", 0)
        for key in ("method", "command"):
            if key in entry:
                v.string(entry[key], f"{where}.{key}", empty=True)
        if "agreement" in entry:
            agreement = v.obj(entry["agreement"], f"{where}.agreement")
            if "value" in agreement:
                v.number(agreement["value"], f"{where}.agreement.value")
            if "metric" in agreement:
                v.string(agreement["metric"], f"{where}.agreement.metric")


def sha256_file(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
