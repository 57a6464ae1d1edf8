"""Smaller copies of an artifact's model: ``model.fp16.tflite`` and ``model.int8.tflite``.

Each variant is made from the artifact's own ``model.tflite`` with Google's AI Edge Quantizer
(``ai-edge-quantizer``, which rewrites a ``.tflite`` file directly), so the same code serves a
recipe's fresh export and an artifact that was trained long ago (the bundled zoo models):

* ``fp16``: the weights of fully connected, convolution and embedding ops stored as float16
  (the ``FLOAT_CASTING`` algorithm, weight-only): about half the file; the interpreter widens
  them to float32 and computes in float32.
* ``int8``: the same weights as int8, symmetric per output channel, with dynamic-range
  kernels (``dynamic_wi8_afp32``): about a third of the file; activations are quantised on the
  fly by the kernels that support it.

:func:`add_variants` writes the files, measures each against ``model.tflite`` on the sequences
it is given (through the runtime, as a user would run them) and records file, sha256, size and
agreement in ``config.json`` ``variants``; the model card shows them (:mod:`training_recipes.card`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from aslsign.config import ModelConfig, sha256_file, variant_file_name

__all__ = ["VARIANTS", "add_variants", "quantize_tflite", "variant_list"]

#: The variants a recipe writes, and how each is made.
VARIANTS: dict[str, str] = {
    "fp16": "float16 weights (fully connected, convolution, embedding), computed in float32; "
    "AI Edge Quantizer FLOAT_CASTING, weight-only",
    "int8": "int8 weights per output channel with dynamic-range kernels; AI Edge Quantizer "
    "dynamic_wi8_afp32",
}

_WEIGHT_OPS = ("FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D", "EMBEDDING_LOOKUP")


def variant_list(text: str) -> list[str]:
    """``"fp16,int8"`` -> ``["fp16", "int8"]``, checked (the recipes' ``--variants``)."""
    names = [v.strip() for v in text.split(",") if v.strip()]
    unknown = [v for v in names if v not in VARIANTS]
    if unknown:
        raise SystemExit(f"--variants: unknown {unknown}; choose from {sorted(VARIANTS)}.")
    return names


def quantize_tflite(source: Path, dest: Path, variant: str) -> None:
    """Write the ``variant`` (a key of :data:`VARIANTS`) of the ``.tflite`` at ``source``."""
    from ai_edge_quantizer import qtyping, quantizer, recipe
    from ai_edge_quantizer.algorithm_manager import AlgorithmName

    if variant not in VARIANTS:
        raise ValueError(f"Unknown variant {variant!r}; choose from {sorted(VARIANTS)}.")
    q = quantizer.Quantizer(str(source))
    if variant == "fp16":
        for op in _WEIGHT_OPS:
            q.add_weight_only_config(
                ".*",
                getattr(qtyping.TFLOperationName, op),
                16,
                algorithm_key=AlgorithmName.FLOAT_CASTING,
            )
    else:
        q.load_quantization_recipe(recipe.dynamic_wi8_afp32())
    result = q.quantize()
    dest.write_bytes(bytes(result.quantized_model))


def _compare(artifact: Path, variant: str, sequences: Sequence[Any]) -> dict[str, Any]:
    """How often ``variant`` gives the fp32 model's answer on ``sequences``."""
    from aslsign import load_recognizer

    with load_recognizer(artifact) as base, load_recognizer(artifact, variant=variant) as rec:
        ref = base.predict_batch(sequences)
        got = rec.predict_batch(sequences)
    if base.config.task == "fingerspelling":
        same = [a.text == b.text for a, b in zip(ref, got, strict=True)]
        return {"metric": "same_text", "value": float(np.mean(same)), "count": len(same)}
    same = [a.label == b.label for a, b in zip(ref, got, strict=True)]
    pairs = zip(ref, got, strict=True)
    diff = max(
        (float(np.abs(a.probabilities - b.probabilities).max()) for a, b in pairs), default=0.0
    )
    return {
        "metric": "top1_agreement",
        "value": float(np.mean(same)),
        "count": len(same),
        "max_abs_prob_diff": float(f"{diff:.3g}"),
    }


def add_variants(
    artifact: Path,
    sequences: Sequence[Any],
    data: str,
    variants: Sequence[str] = tuple(VARIANTS),
    command: str | None = None,
) -> ModelConfig:
    """Write each variant beside ``artifact/model.tflite``, measure it on ``sequences`` (paths,
    arrays or tables the artifact's recogniser reads; ``data`` says what they are) and record
    it in ``config.json``; ``command`` (when the variants are added to an existing artifact)
    is recorded with them. Returns the updated config."""
    artifact = Path(artifact)
    config = ModelConfig.load(artifact / "config.json")
    fp32 = (artifact / "model.tflite").stat().st_size
    entries = dict(config.variants)
    for name in variants:
        path = artifact / variant_file_name(name)
        quantize_tflite(artifact / "model.tflite", path, name)
        size = path.stat().st_size
        entries[name] = {
            "file": path.name,
            "sha256": sha256_file(path),
            "size_bytes": size,
            "size_ratio": round(size / fp32, 4),
            "method": VARIANTS[name],
            **({"command": command} if command else {}),
        }
        config = ModelConfig.from_dict({**config.to_dict(), "variants": entries})
        config.save(artifact / "config.json")  # the recogniser below reads the variant from it
        entries[name]["agreement"] = {**_compare(artifact, name, sequences), "data": data}
    config = ModelConfig.from_dict({**config.to_dict(), "variants": entries})
    config.save(artifact / "config.json")
    return config
