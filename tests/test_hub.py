"""``SignRecognizer.from_pretrained("owner/name")`` against a loopback stand-in for the hub.

The served repo is a real aslsign artifact: the bundled default model when it is present, else
a small untrained hybrid exported here with TensorFlow. ``huggingface_hub`` reads
``HF_ENDPOINT`` when it is imported, so the client runs in a subprocess whose environment points
it at the loopback server (and ``HF_HOME`` at a temporary directory).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import HAS_TF
from hub_server import HubServer, client_env, run_client_script

import aslsign
from aslsign import SignRecognizer
from aslsign.registry import ARTIFACT_FILES, zoo_dir

REPO_ID = "acme/asl-hello"
EXTRA_FILE = "notes.txt"  # served but not part of an artifact: must not be downloaded

# Runs SignRecognizer.from_pretrained for each call in argv[1] and prints one JSON line.
CLIENT = r"""
import json, sys
spec = json.loads(sys.argv[1])
from aslsign import SignRecognizer
results = []
for call in spec["calls"]:
    try:
        with SignRecognizer.from_pretrained(call["name"], **call.get("kwargs", {})) as rec:
            res = rec.predict(spec["sequence"])
            results.append({"ok": True, "source": rec.source, "labels": list(rec.labels),
                            "probabilities": res.probabilities.tolist(), "label": res.label})
    except Exception as exc:
        results.append({"ok": False, "error": type(exc).__name__,
                        "mro": [c.__name__ for c in type(exc).__mro__], "message": str(exc)})
print("RESULTS " + json.dumps(results))
"""


# ----------------------------------------------------------------------------- fixtures


def _build_artifact(out: Path) -> Path:
    """A tiny untrained hybrid exported as a full aslsign artifact (needs TensorFlow)."""
    import keras

    from aslsign.preprocessing import Gislr1stPreprocessor
    from training_recipes.export import write_artifact
    from training_recipes.hybrid import ARCHITECTURE, build_model

    keras.utils.set_random_seed(0)
    pre = Gislr1stPreprocessor()
    args = {"dim": 32, "num_stages": 1}
    model = build_model(num_classes=2, channels=pre.num_features[0], dim=32, num_stages=1)
    write_artifact(
        out,
        model,
        name="asl-hello-test",
        architecture=ARCHITECTURE,
        architecture_args=args,
        labels=("hello", "thankyou"),
        preprocessor=pre,
        training={"recipe": "tests/test_hub.py (untrained, for hub tests only)"},
    )
    (out / "README.md").write_text("# asl-hello-test\n\nUntrained test artifact.\n")
    return out


@pytest.fixture(scope="module")
def artifact(tmp_path_factory) -> Path:
    """The bundled default model if it ships weights, else a freshly exported tiny artifact."""
    bundled = zoo_dir() / aslsign.DEFAULT_MODEL
    if all((bundled / f).is_file() for f in ("model.tflite", "config.json")):
        return bundled
    if not HAS_TF:
        pytest.skip(
            f"no bundled model at {bundled} and no TensorFlow to export a test artifact: "
            "pip install -e '.[train]'"
        )
    return _build_artifact(tmp_path_factory.mktemp("artifact"))


@pytest.fixture(scope="module")
def repo_dirs(artifact, tmp_path_factory) -> dict[str, Path]:
    """Two revisions of the served repo: main, and tag v1.0 (same weights, another card)."""
    root = tmp_path_factory.mktemp("hub-repo")
    dirs = {"main": root / "main", "v1.0": root / "v1.0"}
    for ref, d in dirs.items():
        d.mkdir()
        for name in ARTIFACT_FILES:
            if (artifact / name).is_file():
                shutil.copyfile(artifact / name, d / name)
        if not (d / "README.md").is_file():
            (d / "README.md").write_text("# model\n")
        with open(d / "README.md", "a") as fh:
            fh.write(f"\nrevision: {ref}\n")
        (d / EXTRA_FILE).write_text("not part of the artifact\n")
    return dirs


@pytest.fixture(scope="module")
def hub(repo_dirs):
    with HubServer() as server:
        server.shas = server.add_repo(REPO_ID, repo_dirs)
        yield server


@pytest.fixture(scope="module")
def sequence(gislr_mini) -> Path:
    path = pd.read_csv(gislr_mini / "train.csv")["path"].iloc[0]
    return gislr_mini / path


@pytest.fixture(scope="module")
def local_probs(artifact, sequence) -> np.ndarray:
    with SignRecognizer.from_pretrained(artifact) as rec:
        return rec.predict(sequence).probabilities


# ----------------------------------------------------------------------------- client


def run_client(
    server: HubServer, hf_home: Path, sequence: Path, calls: list[dict], **env_extra: str
) -> list[dict]:
    """Run the calls in a fresh interpreter pointed at ``server``; fail with its log."""
    spec = {"sequence": str(sequence), "calls": calls}
    results = run_client_script(
        server, CLIENT, spec, client_env(server, hf_home, **env_extra), timeout=120
    )
    for call, result in zip(calls, results, strict=True):
        result["context"] = f"call {call}: {result['context']}"
    return results


def assert_ok(result: dict) -> dict:
    assert result["ok"], result["context"]
    return result


def assert_not_found(result: dict) -> None:
    assert not result["ok"], result["context"]
    assert result["error"] == "ModelNotFoundError", result["context"]
    assert "LookupError" in result["mro"], result["context"]


# ----------------------------------------------------------------------------- tests


def test_download_through_the_hub_and_predict(hub, artifact, sequence, local_probs, tmp_path):
    cache = tmp_path / "cache"
    calls = [{"name": REPO_ID, "kwargs": {"cache_dir": str(cache)}}]
    (result,) = run_client(hub, tmp_path / "hf", sequence, calls)
    assert_ok(result)
    np.testing.assert_allclose(result["probabilities"], local_probs, rtol=1e-6, atol=1e-7)
    source = Path(result["source"])
    assert source.is_relative_to(cache), result["context"]
    assert source.name == hub.shas["main"]
    assert sorted(p.name for p in source.iterdir()) == sorted(
        f for f in ARTIFACT_FILES if (artifact / f).is_file() or f == "README.md"
    ), "only the artifact files are downloaded"
    assert (source / "README.md").read_text().endswith("revision: main\n")
    assert (source / "model.tflite").read_bytes() == (artifact / "model.tflite").read_bytes()
    log = hub.log()
    assert f"/api/models/{REPO_ID}/revision/main" in log
    assert EXTRA_FILE not in log


def test_revision_forms(hub, sequence, local_probs, tmp_path):
    cache = str(tmp_path / "cache")
    sha = hub.shas["v1.0"]
    calls = [
        {"name": f"{REPO_ID}@v1.0", "kwargs": {"cache_dir": cache}},
        {"name": REPO_ID, "kwargs": {"cache_dir": cache, "revision": "v1.0"}},
        {"name": f"{REPO_ID}@{sha}", "kwargs": {"cache_dir": cache}},
        {"name": f"{REPO_ID}@main", "kwargs": {"cache_dir": cache}},
    ]
    results = [assert_ok(r) for r in run_client(hub, tmp_path / "hf", sequence, calls)]
    for result in results:
        np.testing.assert_allclose(result["probabilities"], local_probs, rtol=1e-6, atol=1e-7)
    for result in results[:3]:
        source = Path(result["source"])
        assert source.name == sha, result["context"]
        assert (source / "README.md").read_text().endswith("revision: v1.0\n")
    assert Path(results[3]["source"]).name == hub.shas["main"]


def test_unknown_repo_revision_or_uncached(hub, sequence, tmp_path):
    cache = str(tmp_path / "cache")
    calls = [
        {"name": "acme/no-such-model", "kwargs": {"cache_dir": cache}},
        {"name": f"{REPO_ID}@no-such-tag", "kwargs": {"cache_dir": cache}},
        {"name": REPO_ID, "kwargs": {"cache_dir": cache, "local_files_only": True}},
    ]
    start = len(hub.requests)
    results = run_client(hub, tmp_path / "hf", sequence, calls)
    for result in results:
        assert_not_found(result)
    assert "acme/no-such-model" in results[0]["message"], results[0]["context"]
    log = hub.log(start)
    assert "/api/models/acme/no-such-model/revision/main -> 404" in log
    assert "no-such-tag -> 404" in log
    assert "local_files_only" in results[2]["message"] or "cache" in results[2]["message"]


def test_cached_model_loads_with_the_server_stopped(repo_dirs, sequence, local_probs, tmp_path):
    cache = str(tmp_path / "cache")
    hf_home = tmp_path / "hf"
    with HubServer() as server:
        shas = server.add_repo(REPO_ID, repo_dirs)
        (first,) = run_client(
            server, hf_home, sequence, [{"name": REPO_ID, "kwargs": {"cache_dir": cache}}]
        )
        assert_ok(first)
    assert not server.running
    served = len(server.requests)
    calls = [
        {"name": REPO_ID, "kwargs": {"cache_dir": cache, "local_files_only": True}},
        {"name": f"{REPO_ID}@main", "kwargs": {"cache_dir": cache, "local_files_only": True}},
        {"name": REPO_ID, "kwargs": {"cache_dir": cache}},  # server down: falls back to cache
    ]
    for result in run_client(server, hf_home, sequence, calls):
        assert_ok(result)
        assert result["source"] == first["source"]
        assert Path(result["source"]).name == shas["main"]
        np.testing.assert_allclose(result["probabilities"], local_probs, rtol=1e-6, atol=1e-7)
    # offline mode from the environment, as users set it
    (offline,) = run_client(
        server,
        hf_home,
        sequence,
        [{"name": REPO_ID, "kwargs": {"cache_dir": cache}}],
        HF_HUB_OFFLINE="1",
    )
    assert_ok(offline)
    assert offline["source"] == first["source"]
    assert len(server.requests) == served
