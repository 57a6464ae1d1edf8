"""Scale-out options of the sign recipes: ``tf.distribute`` strategies, mixed precision, XLA.

``--strategy``
    ``default`` (one device, the behaviour before these options), ``mirrored`` (every local GPU,
    or the CPU, with ``MirroredStrategy``), ``multi-worker`` (``MultiWorkerMirroredStrategy``:
    the cluster comes from ``TF_CONFIG``), ``tpu`` (``TPUStrategy`` on the TPU named by
    ``--tpu``, e.g. ``local`` on a TPU VM).
``--batch-size`` / ``--per-class``
    are **per replica**, as the published GISLR 1st-place recipe counted them (batch 64 on each
    of the 8 cores of a TPU v2-8, 512 in all, with the learning rate 5e-4 per 64 samples, i.e.
    4e-3). A step consumes ``replicas x`` that many samples; the hybrid's default learning rate
    follows the global batch.
``--mixed-precision``
    Keras' ``mixed_float16`` policy (``mixed_bfloat16`` on a TPU) while training; the
    classifier computes in float32, and the trained weights are copied into a float32 build of
    the model before export, so the artifact is float32 whatever the training precision.
``--jit-compile``
    passed to ``compile`` (XLA). On the 2-core CPU used for development it made training about
    4x slower (/work/shared/DESIGN.md); it is meant for GPUs and TPUs.

Only the chief (``task 0``) writes the artifact and the checkpoints; other workers write into a
temporary directory and resume from the chief's checkpoints, which must therefore be on a
shared file system when a multi-worker run is resumed.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

__all__ = [
    "STRATEGIES",
    "add_scale_options",
    "get_strategy",
    "is_chief",
    "precision_policy",
]

STRATEGIES = ("default", "mirrored", "multi-worker", "tpu")

_STRATEGIES: dict[tuple[str, str | None], Any] = {}


def add_scale_options(p: argparse.ArgumentParser) -> None:
    """Add the ``scale-out`` option group (strategy, TPU address, precision, XLA, cache)."""
    g = p.add_argument_group("scale-out (docs/training.md)")
    g.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default="default",
        help="tf.distribute strategy: one device, all local GPUs (mirrored), the TF_CONFIG "
        "cluster (multi-worker) or a TPU; batch sizes are per replica",
    )
    g.add_argument(
        "--tpu",
        default=None,
        help="TPU name or grpc:// address for the TPU cluster resolver ('local' on a TPU VM)",
    )
    g.add_argument(
        "--mixed-precision",
        action="store_true",
        help="train with the mixed_float16 policy (mixed_bfloat16 on a TPU); the classifier "
        "and the exported model stay float32",
    )
    g.add_argument("--jit-compile", action="store_true", help="compile the training step with XLA")
    g.add_argument(
        "--cache-dir",
        default=None,
        help="landmark cache directory (default: OUT.cache beside the artifact); reused when "
        "the data, the file list and the preprocessing options match",
    )
    g.add_argument(
        "--input-workers",
        type=int,
        default=None,
        help="threads reading files into the cache and batches being built at once "
        "(default: tf.data autotuning; cache build: min(8, cores))",
    )


def get_strategy(name: str = "default", tpu: str | None = None) -> Any:
    """The ``tf.distribute`` strategy ``name`` (created once per process, as TensorFlow
    requires for the multi-worker and TPU strategies)."""
    import tensorflow as tf

    key = (name, tpu)
    if key in _STRATEGIES:
        return _STRATEGIES[key]
    if name == "default":
        strategy = tf.distribute.get_strategy()
    elif name == "mirrored":
        strategy = tf.distribute.MirroredStrategy()
    elif name == "multi-worker":
        if "TF_CONFIG" not in os.environ:
            raise SystemExit("--strategy multi-worker needs TF_CONFIG (docs/training.md).")
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    elif name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        strategy = tf.distribute.TPUStrategy(resolver)
    else:
        raise SystemExit(f"--strategy must be one of {STRATEGIES}, got {name!r}")
    _STRATEGIES[key] = strategy
    return strategy


def is_chief(strategy: Any = None) -> bool:
    """Whether this process writes the outputs: always, except on the non-chief workers of a
    multi-worker cluster (the ``chief`` task, or ``worker`` 0 when there is none)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    task_type = getattr(resolver, "task_type", None)
    if resolver is None or task_type in (None, "chief"):
        return True
    cluster = resolver.cluster_spec().as_dict()
    return task_type == "worker" and int(resolver.task_id or 0) == 0 and "chief" not in cluster


def precision_policy(mixed: bool, strategy_name: str) -> str:
    """The Keras dtype policy of a run."""
    if not mixed:
        return "float32"
    return "mixed_bfloat16" if strategy_name == "tpu" else "mixed_float16"
