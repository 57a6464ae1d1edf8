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
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .errors import ConfigError, ModelNotFoundError

__all__ = [
    "ARTIFACT_FILES",
    "DEFAULT_FINGERSPELLING_MODEL",
    "DEFAULT_MODEL",
    "ZooEntry",
    "is_model",
    "list_models",
    "model_task",
    "resolve_artifact",
    "zoo_dir",
    "zoo_entries",
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
    """The ``task`` of a zoo entry (with or without weights), read from its config.json."""
    from ._util import read_json
    from .config import ModelConfig

    path = zoo_dir() / name / "config.json"
    if not (zoo_dir() / name / "model.tflite").is_file():
        return str(read_json(path, ConfigError, "config.json").get("task"))
    return ModelConfig.load(path).task


@dataclass(frozen=True)
class ZooEntry:
    """One zoo entry: a bundled model, or a published-size model the zoo documents but cannot
    ship (no weights: only the full Kaggle data trains it; its card has the command)."""

    name: str
    task: str
    has_weights: bool
    directory: Path

    @property
    def status(self) -> str:
        return "bundled" if self.has_weights else "no published weights (build it: see its card)"


def zoo_entries() -> list[ZooEntry]:
    """Every zoo entry, bundled or not (:func:`list_models` lists only those with weights)."""
    root = zoo_dir()
    return [
        ZooEntry(p.name, model_task(p.name), (p / "model.tflite").is_file(), p)
        for p in sorted(root.iterdir())
        if (p / "config.json").is_file()
    ]


def _unbuilt(name: str) -> ModelNotFoundError:
    from ._util import read_json

    cfg = read_json(zoo_dir() / name / "config.json", ConfigError, "config.json")
    training = cfg.get("training", {}) if isinstance(cfg, dict) else {}
    return ModelNotFoundError(
        f"{name!r} is a zoo entry without published weights: only the full "
        f"{training.get('data', 'Kaggle data')} trains it, and none is shipped. Build it with\n"
        f"    {training.get('command', '(see its model card)')}\n"
        f"and load the directory that writes (model card: {zoo_dir() / name / 'README.md'})."
    )


def _model_files(variant: str | None) -> list[str]:
    """The artifact files to fetch: model.tflite, or only the variant's file in its place."""
    from .config import BASE_VARIANT, variant_file_name

    if variant in (None, BASE_VARIANT):
        return list(ARTIFACT_FILES)
    return [variant_file_name(str(variant)) if f == "model.tflite" else f for f in ARTIFACT_FILES]


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
    variant: str | None = None,
) -> Path:
    """Local path of a model artifact (a directory, or a bare ``.tflite`` file).

    From a hub repo only ``model.tflite`` is downloaded, or with ``variant`` (other than
    ``fp32``) only ``model.<variant>.tflite``, beside config.json and the card."""
    path = Path(name_or_path).expanduser()
    if path.exists():
        return path
    name = str(name_or_path)
    if is_model(name):
        return zoo_dir() / name
    if "/" not in name and (zoo_dir() / name / "config.json").is_file():
        raise _unbuilt(name)
    if _REPO_ID.match(name) and not name.startswith((".", "/")):
        return _download(name, revision, cache_dir, local_files_only, token, variant)
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
    variant: str | None = None,
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
            allow_patterns=[*_model_files(variant), *_OPTIONAL_FILES],
        )
    except (LocalEntryNotFoundError, HfHubHTTPError) as exc:
        raise ModelNotFoundError(
            f"Cannot find model {repo!r}: it is no local path and no bundled model "
            f"({', '.join(list_models())}), so it was taken as a Hugging Face repo id, which "
            f"could not be fetched{' (offline: local_files_only)' if local_files_only else ''}: "
            f"{str(exc).splitlines()[0]}"
        ) from exc
    return Path(local)
