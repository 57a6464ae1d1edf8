"""Finding model artifacts: local directories, the bundled zoo, and Hugging Face hub repos.

Every file of a model goes through :func:`resolve_artifact`, which returns a local directory
holding ``model.tflite`` and ``config.json`` (and usually ``README.md``). Names are tried as

1. a local path: an artifact directory, or a bare ``.tflite`` file (a Kaggle submission model);
2. a bundled zoo model (:func:`list_models`), shipped inside the package;
3. a hub repo id ``owner/name`` (optionally ``owner/name@revision``), downloaded with
   ``huggingface_hub`` into its cache (honours ``HF_ENDPOINT``, ``HF_HOME``, ``HF_HUB_OFFLINE``).
"""

from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path

from .errors import ModelNotFoundError

__all__ = [
    "ARTIFACT_FILES",
    "DEFAULT_FINGERSPELLING_MODEL",
    "DEFAULT_MODEL",
    "is_model",
    "list_models",
    "model_task",
    "resolve_artifact",
    "zoo_dir",
]

#: The bundled isolated-sign model (``SignRecognizer.from_pretrained()``, ``aslsign predict``).
DEFAULT_MODEL = "hybrid_tiny.gislr_mini"
#: The bundled fingerspelling model (``FingerspellingRecognizer.from_pretrained()``).
DEFAULT_FINGERSPELLING_MODEL = "ctc_tiny.synth_letters"
ARTIFACT_FILES = ("config.json", "model.tflite", "README.md")
# also fetched from hub repos when present: example sequences, a Kaggle model's label map,
# a Kaggle ASLFR model's inference args and character map
_OPTIONAL_FILES = (
    "examples.json",
    "sign_to_prediction_index_map.json",
    "inference_args.json",
    "character_to_prediction_index.json",
)
_REPO_ID = re.compile(r"^[\w.-]+/[\w.-]+(@[\w./-]+)?$")


def zoo_dir() -> Path:
    """Directory of the bundled zoo (top-level ``zoo/`` of the source tree)."""
    return Path(str(resources.files("aslsign.zoo")))


def list_models(task: str | None = None) -> list[str]:
    """Names of the bundled zoo models that ship weights (of one ``task`` when given:
    ``isolated_sign`` or ``fingerspelling``)."""
    root = zoo_dir()
    names = sorted(
        p.name
        for p in root.iterdir()
        if (p / "config.json").is_file() and (p / "model.tflite").is_file()
    )
    return names if task is None else [n for n in names if model_task(n) == task]


def model_task(name: str) -> str:
    """The ``task`` of a bundled model, read from its config.json."""
    from .config import ModelConfig

    return ModelConfig.load(zoo_dir() / name / "config.json").task


def is_model(name: str) -> bool:
    """Whether ``name`` is a bundled zoo model."""
    return name in list_models()


def resolve_artifact(
    name_or_path: str | os.PathLike[str],
    *,
    revision: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    local_files_only: bool = False,
    token: str | bool | None = None,
) -> Path:
    """Local path of a model artifact (a directory, or a bare ``.tflite`` file)."""
    path = Path(name_or_path).expanduser()
    if path.exists():
        return path
    name = str(name_or_path)
    if is_model(name):
        return zoo_dir() / name
    if _REPO_ID.match(name) and not name.startswith((".", "/")):
        return _download(name, revision, cache_dir, local_files_only, token)
    raise ModelNotFoundError(
        f"Cannot find model {name!r}. Give a local artifact directory (model.tflite + "
        f"config.json), a .tflite file, a bundled model name ({', '.join(list_models())}), or a "
        "Hugging Face repo id such as 'owner/model'."
    )


def _download(
    repo: str,
    revision: str | None,
    cache_dir: str | os.PathLike[str] | None,
    local_files_only: bool,
    token: str | bool | None,
) -> Path:
    if "@" in repo:
        repo, pinned = repo.split("@", 1)
        if revision not in (None, pinned):
            raise ValueError(
                f"Two revisions given for {repo!r}: {pinned!r} in the name and {revision!r} as "
                "revision=. Give one."
            )
        revision = pinned
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        local = snapshot_download(
            repo,
            revision=revision,
            cache_dir=None if cache_dir is None else Path(cache_dir),
            local_files_only=local_files_only,
            token=token,
            allow_patterns=[*ARTIFACT_FILES, *_OPTIONAL_FILES],
        )
    except (LocalEntryNotFoundError, HfHubHTTPError) as exc:
        raise ModelNotFoundError(
            f"Cannot find model {repo!r}: it is no local path and no bundled model "
            f"({', '.join(list_models())}), so it was taken as a Hugging Face repo id, which "
            f"could not be fetched{' (offline: local_files_only)' if local_files_only else ''}: "
            f"{str(exc).splitlines()[0]}"
        ) from exc
    return Path(local)
