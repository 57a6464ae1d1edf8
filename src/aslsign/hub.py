"""Publishing a model artifact to the Hugging Face hub, and the model-card metadata the hub reads.

:func:`push_to_hub` (``aslsign push DIR owner/name``) checks that a directory is an aslsign
artifact (:func:`aslsign.artifact.open_artifact`: ``config.json`` and ``model.tflite`` against
its sha256), copies the artifact's files to a temporary staging directory, adds YAML front
matter (:func:`card_metadata`) to a ``README.md`` that has none, and uploads them with
``huggingface_hub``'s own API: ``HfApi.create_repo(exist_ok=True)``, ``create_branch`` for a
revision other than ``main``, and one ``upload_folder`` commit. The directory itself is never
modified.

:func:`card_metadata` is also what the training recipes' model cards start with
(``training_recipes/card.py``), so a card written by a recipe and a card pushed later carry the
same metadata: ``library_name: aslsign``, the license, tags (sign language, the task, the
architecture, TFLite, MediaPipe), the dataset the recipe recorded, and a ``model-index`` with the
figures config.json measured on data the model did not train on (participant-grouped
cross-validation and held-out participants; never the training-set figures).

There is no ``pipeline_tag``: the hub has no task for sign language, and its nearest one
(``video-classification``) would promise a video input and widget, while these models take
MediaPipe Holistic landmark sequences. The task is a tag (``isolated-sign-recognition`` or
``fingerspelling``) instead.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .artifact import open_artifact
from .config import ModelConfig, sha256_file
from .errors import ConfigError, HubError, ModelFileError, ModelNotFoundError, RepoIdError

if TYPE_CHECKING:
    from huggingface_hub import ModelCardData

__all__ = [
    "PushResult",
    "add_card_metadata",
    "artifact_upload_files",
    "card_metadata",
    "has_card_metadata",
    "push_to_hub",
]

PathLike = str | os.PathLike[str]

#: Files of an artifact uploaded whenever present (``model.tflite``, ``config.json`` and
#: ``README.md`` always are: a missing card is written from config.json).
OPTIONAL_UPLOAD_FILES = ("examples.json",)
#: Artifact files an upload replaces: those the new artifact lacks are deleted from the branch,
#: so a stale variant or example file never sits next to a model it does not belong to.
REPLACED_PATTERNS = ("model.*.tflite", "examples.json")
_REPO_ID = re.compile(r"^[\w.-]+/[\w.-]+$")
_FRONT_MATTER = re.compile(r"^\s*---[ \t]*\r?\n(.*?\r?\n)?---[ \t]*(\r?\n|$)", re.DOTALL)

#: Hub license ids that SPDX-style names in config.json map to (lower-cased); anything else
#: becomes ``license: other`` with ``license_name``.
_LICENSE_IDS = """apache-2.0 mit bsd bsd-2-clause bsd-3-clause bsd-3-clause-clear isc unlicense
zlib wtfpl cc0-1.0 cc-by-2.0 cc-by-2.5 cc-by-3.0 cc-by-4.0 cc-by-sa-3.0 cc-by-sa-4.0 cc-by-nc-2.0
cc-by-nc-3.0 cc-by-nc-4.0 cc-by-nd-4.0 cc-by-nc-nd-3.0 cc-by-nc-nd-4.0 cc-by-nc-sa-2.0
cc-by-nc-sa-3.0 cc-by-nc-sa-4.0 gpl gpl-2.0 gpl-3.0 lgpl lgpl-2.1 lgpl-3.0 agpl-3.0 mpl-2.0 epl-1.0
epl-2.0 eupl-1.1 eupl-1.2 afl-3.0 artistic-2.0 bsl-1.0 ecl-2.0 osl-3.0 ofl-1.1 odc-by odbl pddl
openrail openrail++ unknown other"""
HUB_LICENSES = frozenset(_LICENSE_IDS.split())
_TASK_TAGS = {"isolated_sign": "isolated-sign-recognition", "fingerspelling": "fingerspelling"}
_TASK_NAMES = {
    "isolated_sign": "Isolated ASL sign recognition",
    "fingerspelling": "ASL fingerspelling to text",
}


# ----------------------------------------------------------------------------- model card


def _dataset(config: ModelConfig) -> str | None:
    """The name the recipe recorded for its training data (``training.dataset``, else the
    folder name of ``training.args.data``): a name, not necessarily a hub dataset id."""
    t = config.training
    if t.get("dataset"):
        return str(t["dataset"])
    args = t.get("args")
    data = args.get("data") if isinstance(args, dict) else None
    return (Path(str(data)).name or None) if data else None


def _synthetic(config: ModelConfig) -> bool:
    text = f"{config.training.get('data_description', '')} {config.metrics.get('data', '')}"
    return "synthetic" in text.lower()


def _license(config: ModelConfig) -> tuple[str | None, str | None]:
    """``(license, license_name)``: a hub license id, or ``other`` and the name."""
    if not config.license:
        return None, None
    lic = config.license.strip().lower().replace(" ", "-")
    return (lic, None) if lic in HUB_LICENSES else ("other", lic)


def _eval_results(config: ModelConfig, dataset: str) -> list[Any]:
    """Figures measured on data the model never trained on, as ``EvalResult`` s."""
    from huggingface_hub import EvalResult

    m = config.metrics
    task_type, task_name = _TASK_TAGS[config.task], _TASK_NAMES[config.task]
    data = dataset + (" (synthetic)" if _synthetic(config) else "")
    results = []

    def add(dataset_name: str, split: str, metric: str, value: Any, name: str) -> None:
        results.append(
            EvalResult(
                task_type=task_type,
                task_name=task_name,
                dataset_type=dataset,
                dataset_name=dataset_name,
                dataset_split=split,
                metric_type=metric,
                metric_value=round(float(value), 4),
                metric_name=name,
            )
        )

    if config.task == "isolated_sign":
        cv, val = m.get("cv"), m.get("validation")
        if isinstance(cv, dict) and "top1" in cv:
            folds = len(cv.get("folds", []))
            add(
                f"{data}, {folds}-fold cross-validation by participant",
                "cross-validation (held-out participants)",
                "accuracy",
                cv["top1"],
                "top-1 accuracy",
            )
        if isinstance(val, dict) and "top1" in val:
            add(
                data,
                "validation (held-out participants)",
                "accuracy",
                val["top1"],
                "top-1 accuracy",
            )
    else:
        for key in ("validation", "validation_beam"):
            s = m.get(key)
            if not isinstance(s, dict) or "normalized_levenshtein" not in s:
                continue
            width = s.get("beam_width", 1)
            decoding = "greedy" if width == 1 else f"beam {width}"
            for metric, name in (
                ("normalized_levenshtein", "normalised Levenshtein"),
                ("exact_match", "exact match"),
            ):
                if metric in s:
                    add(
                        data,
                        "validation (held-out signers and phrases)",
                        metric,
                        s[metric],
                        f"{name} ({decoding} decoding)",
                    )
    return results


def card_metadata(config: ModelConfig) -> ModelCardData:
    """The hub metadata (YAML front matter) of an artifact's model card, from its config.json.

    ``library_name`` aslsign, the license (hub id, lower-case), tags, ``datasets`` (the name the
    recipe recorded), ``metrics`` and a ``model-index`` of the held-out figures in
    ``config.metrics`` (see the module docstring). No ``pipeline_tag``: no hub task fits.
    """
    from huggingface_hub import ModelCardData

    tags = ["aslsign", "sign-language", "asl", "american-sign-language", _TASK_TAGS[config.task]]
    tags += [config.architecture.lower().replace("_", "-"), "tflite", "mediapipe", "landmarks"]
    if _synthetic(config):
        tags.append("synthetic-data")
    dataset = _dataset(config)
    results = _eval_results(config, dataset or "unnamed") if config.metrics else []
    metric_names = list(dict.fromkeys(r.metric_type for r in results))
    license_id, license_name = _license(config)
    return ModelCardData(
        library_name="aslsign",
        tags=list(dict.fromkeys(tags)),
        datasets=[dataset] if dataset else None,
        metrics=metric_names or None,
        model_name=(config.name or "aslsign-model") if results else None,
        eval_results=results or None,
        license=license_id,
        license_name=license_name,
    )


def has_card_metadata(text: str) -> bool:
    """Whether a model card starts with a YAML front matter block (``---`` ... ``---``)."""
    return _FRONT_MATTER.match(text) is not None


def add_card_metadata(text: str, config: ModelConfig) -> str:
    """``text`` with :func:`card_metadata` as front matter; unchanged if it already has one."""
    if has_card_metadata(text):
        return text
    from huggingface_hub import ModelCard

    card = ModelCard(f"---\n{card_metadata(config).to_yaml()}\n---\n{text}")
    return str(card)


def _default_card(config: ModelConfig) -> str:
    labels = ", ".join(config.labels[:20]) + (", ..." if len(config.labels) > 20 else "")
    return (
        f"# {config.name or 'aslsign model'}\n\n"
        f"An aslsign {config.task.replace('_', ' ')} model (`{config.architecture}`, "
        f"{config.num_classes} outputs: {labels}). This artifact had no model card; see its "
        "config.json for how it was trained and measured.\n"
    )


# ----------------------------------------------------------------------------- push


def artifact_upload_files(directory: PathLike) -> list[str]:
    """The files of the artifact in ``directory`` that a push uploads, validated.

    ``config.json``, ``README.md`` (written from config.json when missing), ``model.tflite``,
    ``examples.json`` when present, and the file of every variant config.json lists
    (``model.<variant>.tflite``; each must exist and match the sha256 recorded for it). Other
    files are not part of the artifact and are left out.

    Raises:
        ModelNotFoundError: ``directory`` is no directory.
        ModelFileError: no ``model.tflite``, one that does not match config.json's sha256, or a
            variant config.json names that is missing or does not match.
        ConfigError: no (valid) ``config.json``: not an aslsign artifact (a Kaggle submission
            model has none).
    """
    path = Path(directory).expanduser()
    if not path.is_dir():
        raise ModelNotFoundError(
            f"{path} is no directory. Publishing takes a model artifact directory "
            "(model.tflite, config.json and a README.md model card), as the recipes write."
        )
    artifact = open_artifact(path)
    if artifact.config is None:
        raise ConfigError(
            f"{path} has a model.tflite but no config.json: a Kaggle submission model, not an "
            "aslsign artifact. Publish artifacts written by the training recipes (or write a "
            "config.json, see docs/artifact-format.md)."
        )
    config = artifact.config
    files = ["config.json", "README.md", "model.tflite"]
    files += [f for f in OPTIONAL_UPLOAD_FILES if (path / f).is_file()]
    for variant in sorted(config.variants):
        name, sha256 = config.variant_file(variant)
        if not (path / name).is_file():
            raise ModelFileError(
                f"{path / 'config.json'} lists the variant {variant!r}, but {name} is not in "
                f"{path}."
            )
        if sha256 and sha256_file(path / name) != sha256:
            raise ModelFileError(
                f"{path / name} does not match the sha256 its config.json records: the file is "
                "corrupt or was replaced. Re-export the artifact."
            )
        files.append(name)
    return files


@dataclass(frozen=True)
class PushResult:
    """What :func:`push_to_hub` made: the commit on ``revision`` of ``repo_id``.

    ``commit_sha`` is the head of the branch after the push: when nothing changed since the last
    push, the hub makes no empty commit and this is the existing head.
    """

    repo_id: str
    revision: str
    commit_sha: str
    commit_url: str
    files: tuple[str, ...]

    def __str__(self) -> str:
        return self.commit_url


def _publish_errors() -> tuple[type[Exception], ...]:
    """What a failing hub raises through huggingface_hub: ``HfHubHTTPError`` (an ``OSError``),
    ``ValueError`` for a rejected card, and the connection-level errors of the HTTP client
    huggingface_hub uses (which depends on its version)."""
    errors: list[type[Exception]] = [OSError, ValueError]
    for module, name in (
        ("httpx2", "TransportError"),
        ("httpx", "TransportError"),
        ("requests", "RequestException"),
    ):
        with contextlib.suppress(ImportError, AttributeError):
            errors.append(getattr(__import__(module), name))
    return tuple(errors)


def _hub_error(exc: BaseException, repo_id: str, endpoint: str) -> HubError:
    from huggingface_hub.errors import HfHubHTTPError

    if isinstance(exc, HfHubHTTPError):
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
        reason = getattr(exc, "server_message", None) or str(exc).splitlines()[0]
        hint = ""
        if status in (401, 403):
            hint = (
                " Pass a token with write access to the namespace (token= / --token, or the "
                "HF_TOKEN environment variable, or log in with `hf auth login`)."
            )
        return HubError(
            f"The hub at {endpoint} refused to publish {repo_id} ({status}): {reason}.{hint}"
        )
    if isinstance(exc, ValueError):  # the hub answered, but rejected what was sent (e.g. the card)
        return HubError(f"The hub at {endpoint} rejected the upload to {repo_id}: {exc}")
    return HubError(
        f"Cannot reach the hub at {endpoint} to publish {repo_id}: {exc}. Check the network "
        "(and HF_ENDPOINT)."
    )


def push_to_hub(
    artifact_dir: PathLike,
    repo_id: str,
    *,
    revision: str | None = None,
    private: bool = False,
    token: str | None = None,
    commit_message: str | None = None,
) -> PushResult:
    """Publish the aslsign artifact in ``artifact_dir`` to the hub model repo ``repo_id``.

    The repo is created if needed (``private`` applies only then), the branch ``revision`` too
    (from the head of ``main``); then one commit uploads :func:`artifact_upload_files`, with
    front matter added to a README.md without any (:func:`add_card_metadata`), and removes
    artifact files of an earlier push that this artifact lacks (e.g. a variant). The
    directory is not modified. ``token`` defaults to huggingface_hub's (``HF_TOKEN``, or the one
    saved by ``hf auth login``). Load it back with ``SignRecognizer.from_pretrained(repo_id)``.

    Raises:
        RepoIdError: ``repo_id`` is not ``owner/name``.
        ModelNotFoundError, ModelFileError, ConfigError: not an aslsign artifact (see
            :func:`artifact_upload_files`); raised before any request.
        HubError: the hub refused a request (e.g. no or a read-only token) or is unreachable.
    """
    if not _REPO_ID.match(repo_id) or ".." in repo_id:
        raise RepoIdError(f"{repo_id!r} is not a hub repo id: expected 'owner/name'.")
    source = Path(artifact_dir).expanduser()
    files = artifact_upload_files(source)
    config = ModelConfig.load(source / "config.json")
    from huggingface_hub import HfApi, constants

    api = HfApi(token=token)
    branch = revision or constants.DEFAULT_REVISION
    message = commit_message or f"Upload {config.name or source.name} with aslsign"
    with tempfile.TemporaryDirectory(prefix="aslsign-push-") as tmp:
        staging = Path(tmp)
        for name in files:
            if name != "README.md":
                shutil.copyfile(source / name, staging / name)
        card = source / "README.md"
        try:
            text = card.read_bytes().decode("utf-8") if card.is_file() else _default_card(config)
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{card} is not UTF-8 text, as a model card must be: {exc}") from exc
        (staging / "README.md").write_bytes(add_card_metadata(text, config).encode("utf-8"))
        try:
            api.create_repo(repo_id, private=True if private else None, exist_ok=True)
            if branch != constants.DEFAULT_REVISION:
                api.create_branch(repo_id, branch=branch, exist_ok=True)
            info = api.upload_folder(
                folder_path=staging,
                repo_id=repo_id,
                revision=branch,
                commit_message=message,
                allow_patterns=files,
                delete_patterns=list(REPLACED_PATTERNS),
            )
        except _publish_errors() as exc:
            raise _hub_error(exc, repo_id, api.endpoint) from exc
    return PushResult(repo_id, branch, str(info.oid), str(info.commit_url), tuple(files))
