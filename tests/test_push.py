"""Publishing: ``aslsign.push_to_hub`` / ``aslsign push`` against the loopback hub.

The pushes run with the real ``huggingface_hub`` in client subprocesses whose environment points
``HF_ENDPOINT`` at :class:`hub_server.HubServer` (see ``tests/test_hub.py``); what they commit is
then downloaded by ``SignRecognizer.from_pretrained`` in another client and compared with the
local artifact on real gislr-mini sequences.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hub_server import WRITE_TOKEN, HubServer, client_env, run_client_script

import aslsign
from aslsign import SignRecognizer
from aslsign.config import ModelConfig, sha256_file
from aslsign.hub import card_metadata, has_card_metadata
from aslsign.registry import zoo_dir

# Runs each call of argv[1] in this process and prints one JSON line of results. A call is
# {"push": {...push_to_hub kwargs}} or {"load": {...from_pretrained kwargs}} (predicting
# spec["sequences"]) or {"card": {...ModelCard.load kwargs}}.
CLIENT = r"""
import json, sys
spec = json.loads(sys.argv[1])
import aslsign
from aslsign import SignRecognizer
results = []
for call in spec["calls"]:
    try:
        if "push" in call:
            r = aslsign.push_to_hub(**call["push"])
            results.append({"ok": True, "sha": r.commit_sha, "url": r.commit_url,
                            "revision": r.revision, "files": list(r.files), "str": str(r)})
        elif "load" in call:
            with SignRecognizer.from_pretrained(**call["load"]) as rec:
                probs = [rec.predict(s).probabilities.tolist() for s in spec["sequences"]]
                results.append({"ok": True, "source": rec.source, "probabilities": probs})
        else:
            from huggingface_hub import ModelCard
            card = ModelCard.load(**call["card"])
            results.append({"ok": True, "data": card.data.to_dict(), "text": card.text})
    except Exception as exc:
        results.append({"ok": False, "error": type(exc).__name__,
                        "mro": [c.__name__ for c in type(exc).__mro__], "message": str(exc)})
print("RESULTS " + json.dumps(results))
"""

REPO = "acme/pushed"


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def bundled() -> Path:
    path = zoo_dir() / aslsign.DEFAULT_MODEL
    if not (path / "model.tflite").is_file():
        pytest.skip(f"no bundled default model at {path}")
    return path


@pytest.fixture
def artifact(bundled, tmp_path) -> Path:
    """A copy of the bundled default model (the user's directory, which a push must not change)."""
    return Path(shutil.copytree(bundled, tmp_path / "artifact"))


@pytest.fixture(scope="module")
def sequences(gislr_mini) -> list[str]:
    """Real sequences: the first of each sign in gislr-mini."""
    df = pd.read_csv(gislr_mini / "train.csv")
    return [str(gislr_mini / df[df.sign == s]["path"].iloc[0]) for s in sorted(set(df.sign))]


@pytest.fixture(scope="module")
def local_probs(bundled, sequences) -> list[list[float]]:
    with SignRecognizer.from_pretrained(bundled) as rec:
        return [rec.predict(s).probabilities.tolist() for s in sequences]


@pytest.fixture
def hub():
    with HubServer() as server:
        yield server


def run(server: HubServer, tmp: Path, calls: list[dict], sequences=(), **env: str) -> list[dict]:
    """Run the calls in a fresh client process pointed at ``server``; fail with its log."""
    spec = {"calls": calls, "sequences": list(sequences)}
    return run_client_script(server, CLIENT, spec, client_env(server, tmp / "hf", **env))


def ok(result: dict) -> dict:
    assert result["ok"], result["context"]
    return result


def push(path: Path, repo: str = REPO, **kwargs) -> dict:
    return {"push": {"artifact_dir": str(path), "repo_id": repo, "token": WRITE_TOKEN, **kwargs}}


def load(repo: str, cache: Path, **kwargs) -> dict:
    return {"load": {"name_or_path": repo, "cache_dir": str(cache), **kwargs}}


def snapshot(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


# ----------------------------------------------------------------------------- tests


def test_push_and_load_back_bit_exact(hub, artifact, sequences, local_probs, tmp_path):
    before = snapshot(artifact)
    (pushed,) = run(hub, tmp_path, [push(artifact)])
    ok(pushed)
    assert snapshot(artifact) == before, "the artifact directory must not be modified"
    files = hub.files(REPO)
    config = ModelConfig.load(artifact / "config.json")
    expected = {"config.json", "model.tflite", "README.md", "examples.json"}
    assert expected <= set(pushed["files"]) == set(files) - {".gitattributes"}
    for name in set(pushed["files"]) - {"README.md"}:
        assert files[name] == before[name], name
    assert pushed["sha"] == hub.repos[REPO].refs["main"]
    assert pushed["url"] == f"{hub.url}/{REPO}/commit/{pushed['sha']}" == pushed["str"]
    [commit, initial] = hub.history(REPO)
    assert commit.message == f"Upload {config.name} with aslsign" and initial.parent is None
    log = hub.log()
    for request in (
        "POST /api/repos/create -> 200",
        f"POST /api/models/{REPO}/preupload/main -> 200",
        f"POST /{REPO}.git/info/lfs/objects/batch -> 200",
        f"PUT /lfs-upload/{sha256_file(artifact / 'model.tflite')}",
        f"POST /api/models/{REPO}/commit/main -> 200",
    ):
        assert request in log, f"{request} not in\n{log}"
    assert "branch" not in log, "pushing to main creates no branch"

    # a client downloads it through from_pretrained and predicts exactly as the local artifact
    (loaded,) = run(hub, tmp_path, [load(REPO, tmp_path / "cache")], sequences)
    ok(loaded)
    assert loaded["probabilities"] == local_probs, "bit-exact predictions after the round trip"
    source = Path(loaded["source"])
    assert source.name == pushed["sha"]
    assert (source / "model.tflite").read_bytes() == before["model.tflite"]


def test_pushed_card_has_hub_metadata(hub, artifact, tmp_path):
    text = (artifact / "README.md").read_text()
    assert has_card_metadata(text), "bundled cards start with their hub metadata"
    original = text[text.index("\n---\n") + 5 :]  # a card without it: push adds it
    assert original.startswith("# ") and not has_card_metadata(original)
    (artifact / "README.md").write_text(original)
    config = ModelConfig.load(artifact / "config.json")
    pushed, card = run(hub, tmp_path, [push(artifact), {"card": {"repo_id_or_path": REPO}}])
    ok(pushed)
    data = ok(card)["data"]
    assert data["library_name"] == "aslsign"
    assert data["license"] == config.license.lower() == "apache-2.0"
    assert {"aslsign", "sign-language", "asl", "tflite", "mediapipe"} <= set(data["tags"])
    assert "isolated-sign-recognition" in data["tags"]
    assert config.architecture.replace("_", "-") in data["tags"]
    assert "pipeline_tag" not in data
    # the card's text is the user's card, unchanged, after the front matter
    assert card["text"] == original
    served = hub.files(REPO)["README.md"].decode()
    assert served.startswith("---\n") and served.endswith(original)
    # the model-index holds the cross-validated accuracy of config.json, not the training one
    (entry,) = data["model-index"]
    assert entry["name"] == config.name
    values = [m["value"] for r in entry["results"] for m in r["metrics"]]
    assert round(config.metrics["cv"]["top1"], 4) in values
    assert round(config.metrics["train"]["top1"], 4) not in values


def test_card_that_has_front_matter_is_uploaded_as_is(hub, artifact, tmp_path):
    own = "---\nlicense: mit\ntags:\n- mine\n---\n# my card\n"
    (artifact / "README.md").write_text(own)
    ok(run(hub, tmp_path, [push(artifact)])[0])
    assert hub.files(REPO)["README.md"].decode() == own


def test_artifact_without_a_card_gets_one(hub, artifact, tmp_path):
    from huggingface_hub import ModelCard

    (artifact / "README.md").unlink()
    (pushed,) = run(hub, tmp_path, [push(artifact)])
    assert "README.md" in ok(pushed)["files"]
    card = ModelCard(hub.files(REPO)["README.md"].decode())
    config = ModelConfig.load(artifact / "config.json")
    assert card.data.library_name == "aslsign"
    assert card.text.startswith(f"# {config.name}\n") and "hello" in card.text
    assert not (artifact / "README.md").exists()


def test_push_to_a_new_branch(hub, artifact, sequences, local_probs, tmp_path):
    (first,) = run(hub, tmp_path, [push(artifact)])
    main_sha = ok(first)["sha"]
    with open(artifact / "README.md", "a") as fh:
        fh.write("\ndev build\n")
    cache = tmp_path / "cache"
    dev, from_dev, from_main = run(
        hub,
        tmp_path,
        [push(artifact, revision="dev"), load(REPO, cache, revision="dev"), load(REPO, cache)],
        sequences,
    )
    ok(dev)
    assert dev["revision"] == "dev" and dev["sha"] != main_sha
    assert f"POST /api/models/{REPO}/branch/dev -> 200" in hub.log()
    assert hub.repos[REPO].refs["main"] == main_sha, "main is unchanged"
    assert hub.history(REPO, "dev")[1].sha == main_sha, "dev starts at main's head"
    assert hub.files(REPO, "dev")["README.md"].decode().endswith("dev build\n")
    assert b"dev build" not in hub.files(REPO, "main")["README.md"]
    for result, sha in ((from_dev, dev["sha"]), (from_main, main_sha)):
        ok(result)
        assert Path(result["source"]).name == sha
        assert result["probabilities"] == local_probs
    assert "dev build" in (Path(from_dev["source"]) / "README.md").read_text()
    # pushing to the existing branch again is a plain commit on it (409 from create_branch)
    (artifact / "README.md").write_text("# dev 2\n")
    (again,) = run(hub, tmp_path, [push(artifact, revision="dev")])
    assert ok(again)["sha"] == hub.repos[REPO].refs["dev"] != dev["sha"]
    assert f"POST /api/models/{REPO}/branch/dev -> 409" in hub.log()


def test_pushing_twice_makes_a_second_commit(hub, artifact, tmp_path):
    (first,) = run(hub, tmp_path, [push(artifact)])
    ok(first)
    (artifact / "README.md").write_text("# second version of the card\n")
    second, unchanged = run(
        hub, tmp_path, [push(artifact, commit_message="Second card"), push(artifact)]
    )
    ok(second)
    assert second["sha"] != first["sha"]
    newest, older, _initial = hub.history(REPO)
    assert (newest.sha, newest.message, newest.parent) == (
        second["sha"],
        "Second card",
        first["sha"],
    )
    assert older.sha == first["sha"]
    assert b"second version" in hub.files(REPO)["README.md"]
    assert b"second version" not in hub.files(REPO, first["sha"])["README.md"]
    # the models did not change: their LFS objects were uploaded by the first push only
    lfs_files = [f for f in first["files"] if f.endswith(".tflite")]
    assert hub.log().count("PUT /lfs-upload/") == len(lfs_files)
    # the same files a third time: the hub makes no empty commit, the head stays
    assert ok(unchanged)["sha"] == second["sha"]
    assert len(hub.history(REPO)) == 3


def test_variants_config_names_are_pushed_and_stale_ones_removed(hub, artifact, tmp_path):
    raw = json.loads((artifact / "config.json").read_text())
    for f in artifact.glob("model.*.tflite"):
        f.unlink()
    shutil.copyfile(artifact / "model.tflite", artifact / "model.fp16.tflite")
    (artifact / "model.unlisted.tflite").write_bytes(b"not named by config.json")
    sha = sha256_file(artifact / "model.fp16.tflite")
    with_variant = {**raw, "variants": {"fp16": {"file": "model.fp16.tflite", "sha256": sha}}}
    (artifact / "config.json").write_text(json.dumps(with_variant))
    ok(run(hub, tmp_path, [push(artifact)])[0])
    assert {"model.tflite", "model.fp16.tflite"} <= set(hub.files(REPO))
    assert "model.unlisted.tflite" not in hub.files(REPO)

    # a corrupt variant is refused before any request
    (artifact / "model.fp16.tflite").write_bytes(b"corrupt")
    start = len(hub.requests)
    (bad,) = run(hub, tmp_path, [push(artifact)])
    assert not bad["ok"] and bad["error"] == "ModelFileError", bad["context"]
    assert len(hub.requests) == start

    # the next artifact has no variant: the old one is deleted from the branch
    (artifact / "model.fp16.tflite").unlink()
    (artifact / "config.json").write_text(
        json.dumps({k: v for k, v in raw.items() if k != "variants"})
    )
    ok(run(hub, tmp_path, [push(artifact)])[0])
    assert "model.fp16.tflite" not in hub.files(REPO)
    assert "model.tflite" in hub.files(REPO)


def test_not_an_artifact_fails_before_any_request(hub, artifact, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "notes.txt").write_text("hello\n")
    kaggle = tmp_path / "kaggle"
    kaggle.mkdir()
    shutil.copyfile(artifact / "model.tflite", kaggle / "model.tflite")
    corrupt = tmp_path / "corrupt"
    shutil.copytree(artifact, corrupt)
    with open(corrupt / "model.tflite", "ab") as fh:
        fh.write(b"\0")
    broken = tmp_path / "broken"
    shutil.copytree(artifact, broken)
    (broken / "config.json").write_text("{not json")
    cases = {
        "ModelNotFoundError": tmp_path / "no-such-dir",
        "ModelFileError": [empty, notes, corrupt],
        "ConfigError": [kaggle, broken],
    }
    calls, expected = [], []
    for error, paths in cases.items():
        for path in paths if isinstance(paths, list) else [paths]:
            calls.append(push(path))
            expected.append(error)
    calls.append(push(artifact, repo="not a repo id"))
    expected.append("RepoIdError")
    results = run(hub, tmp_path, calls)
    for result, error in zip(results, expected, strict=True):
        assert not result["ok"] and result["error"] == error, (error, result["context"])
        assert "AslSignError" in result["mro"], result["context"]
    assert "no config.json" in results[4]["message"] and "Kaggle" in results[4]["message"]
    assert hub.requests == [], hub.log()


def test_failing_hub_raises_hub_error(hub, artifact, tmp_path):
    no_token = {"push": {"artifact_dir": str(artifact), "repo_id": REPO}}
    wrong = push(artifact, token="hf_read_only")
    denied, refused = run(hub, tmp_path, [no_token, wrong])
    for result in (denied, refused):
        assert not result["ok"] and result["error"] == "HubError", result["context"]
        assert {"AslSignError", "OSError"} <= set(result["mro"])
        assert "401" in result["message"] and "token" in result["message"], result["message"]
    assert REPO not in hub.repos
    # no hub at all
    stopped = HubServer()
    (down,) = run(stopped, tmp_path, [push(artifact)])
    assert not down["ok"] and down["error"] == "HubError", down["context"]
    assert "Cannot reach the hub" in down["message"]


def test_private_repo(hub, artifact, sequences, local_probs, tmp_path):
    cache = tmp_path / "cache"
    pushed, anonymous, with_token = run(
        hub,
        tmp_path,
        [push(artifact, private=True), load(REPO, cache), load(REPO, cache, token=WRITE_TOKEN)],
        sequences,
    )
    ok(pushed)
    assert hub.repos[REPO].private
    assert not anonymous["ok"] and anonymous["error"] == "ModelNotFoundError"
    assert ok(with_token)["probabilities"] == local_probs


def test_cli_push(hub, artifact, sequences, local_probs, tmp_path):
    env = client_env(hub, tmp_path / "hf", HF_TOKEN=WRITE_TOKEN)
    env.pop("HF_HUB_DISABLE_IMPLICIT_TOKEN")  # the token comes from HF_TOKEN, as users set it
    cli = [sys.executable, "-m", "aslsign.cli", "push"]
    proc = subprocess.run(
        [*cli, str(artifact), REPO, "--revision", "v2", "--message", "From the CLI"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}\n{hub.log()}"
    sha = hub.repos[REPO].refs["v2"]
    assert f"commit {sha}: {hub.url}/{REPO}/commit/{sha}" in proc.stdout
    assert f"to {REPO}@v2" in proc.stdout and "model.tflite" in proc.stdout
    assert hub.history(REPO, "v2")[0].message == "From the CLI"
    (loaded,) = run(hub, tmp_path, [load(f"{REPO}@v2", tmp_path / "cache")], sequences)
    assert ok(loaded)["probabilities"] == local_probs
    # errors: exit code 2 and one line on stderr, no traceback
    for args in ([str(tmp_path / "nowhere"), REPO], [str(artifact), REPO, "--token", "bad"]):
        bad_env = {**env, "HF_TOKEN": ""}
        proc = subprocess.run(
            [*cli, *args], env=bad_env, capture_output=True, text=True, timeout=180
        )
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith("aslsign: error: ") and "Traceback" not in proc.stderr


# ----------------------------------------------------------------------------- metadata


@pytest.mark.parametrize("name", ["hybrid_tiny.gislr_mini", "ctc_tiny.synth_letters"])
def test_card_metadata_of_the_zoo_models(name):
    from huggingface_hub import ModelCard

    path = zoo_dir() / name
    if not (path / "model.tflite").is_file():
        pytest.skip(f"no bundled {name}")
    config = ModelConfig.load(path / "config.json")
    data = card_metadata(config)
    card = ModelCard(f"---\n{data.to_yaml()}\n---\n# x\n")
    assert card.data.library_name == "aslsign" and card.data.license == "apache-2.0"
    assert card.data.model_name == config.name
    results = card.data.eval_results
    if config.task == "fingerspelling":
        assert "fingerspelling" in card.data.tags and "synthetic-data" in card.data.tags
        lev = [r.metric_value for r in results if r.metric_type == "normalized_levenshtein"]
        assert round(config.metrics["validation"]["normalized_levenshtein"], 4) in lev
        assert all("synthetic" in r.dataset_name for r in results)
    else:
        assert [r.metric_value for r in results] == [round(config.metrics["cv"]["top1"], 4)]


def test_recipe_cards_start_with_the_metadata(tmp_path):
    from huggingface_hub import ModelCard

    from training_recipes import card

    for name, write in (
        ("hybrid_tiny.gislr_mini", card.sign_card),
        ("ctc_tiny.synth_letters", card.fingerspelling_card),
    ):
        config = ModelConfig.load(zoo_dir() / name / "config.json")
        text = write(config, "python training_recipes/x.py --out 'runs/x y' --push-to-hub a/b")
        assert text.startswith("---\n") and has_card_metadata(text)
        assert "Reproduce with `python training_recipes/x.py --out 'runs/x y'`" in text
        parsed = ModelCard(text)
        assert parsed.data.library_name == "aslsign"
        assert parsed.text.startswith(f"# {config.name}\n")


def test_recipe_push_to_hub_option(hub, artifact, tmp_path):
    """``--push-to-hub`` is an option of every recipe, and what it calls publishes the artifact."""
    from training_recipes import export, fingerspelling, hybrid, transformer

    for recipe in (hybrid, transformer, fingerspelling):
        args = recipe.parse_args(["--data", "d", "--out", "o", "--push-to-hub", REPO])
        assert args.push_to_hub == REPO, recipe
        assert recipe.parse_args(["--data", "d", "--out", "o"]).push_to_hub is None
    assert export.publish(artifact, None) is None
    code = (
        "import sys; from pathlib import Path; from training_recipes import export; "
        f"print('URL', export.publish(Path(sys.argv[1]), {REPO!r}))"
    )
    env = client_env(hub, tmp_path / "hf", HF_TOKEN=WRITE_TOKEN)
    env.pop("HF_HUB_DISABLE_IMPLICIT_TOKEN")
    proc = subprocess.run(
        [sys.executable, "-c", code, str(artifact)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, f"{proc.stderr}\n{hub.log()}"
    sha = hub.repos[REPO].refs["main"]
    assert f"URL {hub.url}/{REPO}/commit/{sha}" in proc.stdout
    assert np.array_equal(
        np.frombuffer(hub.files(REPO)["model.tflite"], np.uint8),
        np.frombuffer((artifact / "model.tflite").read_bytes(), np.uint8),
    )
