"""Every bundled zoo model, checked the same way (a new entry is tested for free)."""

from __future__ import annotations

import pytest
from conftest import HAS_TF

import aslsign
from aslsign.config import sha256_file
from aslsign.io import read_examples
from aslsign.registry import zoo_dir


@pytest.mark.parametrize("name", aslsign.list_models())
def test_zoo_entry(name):
    root = zoo_dir() / name
    config = aslsign.ModelConfig.load(root / "config.json")
    assert config.name == name
    assert config.model_sha256 == sha256_file(root / "model.tflite")
    assert (root / "model.tflite").stat().st_size < 5 * 2**20
    card = (root / "README.md").read_text()
    assert config.license and config.training.get("recipe")
    # what the card must show: the cross-validated figure, else the held-out one
    validation = config.metrics.get("cv") or config.metrics["validation"]
    with aslsign.load_recognizer(name) as rec:
        assert rec.config == config
        if config.task == "isolated_sign":
            assert all(label in card for label in config.labels), "the card must list the labels"
            assert f"{validation['top1']:.4f}" in card, "the card must show the measured accuracy"
            assert rec.labels == config.labels
            if (root / "examples.json").is_file():
                for label, seq in read_examples(root / "examples.json").items():
                    assert rec.predict(seq).label == label
        else:
            assert config.task == "fingerspelling"
            score = f"{validation['normalized_levenshtein']:.4f}"
            assert score in card, "the card must show the measured score"
            assert "SYNTHETIC" in card or "synthetic" in config.metrics["data"].lower()
            assert set(rec.characters) <= set(aslsign.CHARACTERS)


def test_registry_lists_only_complete_entries():
    assert aslsign.DEFAULT_MODEL in aslsign.list_models()
    assert not aslsign.is_model("zoo")
    for name in aslsign.list_models():
        assert aslsign.is_model(name)


def test_registry_filters_by_task():
    signs = aslsign.list_models(task="isolated_sign")
    spelling = aslsign.list_models(task="fingerspelling")
    assert aslsign.DEFAULT_MODEL in signs and not set(signs) & set(spelling)
    assert sorted(signs + spelling) == aslsign.list_models()


# ----------------------------------------------------------------------------- entries to build

UNBUILT = [e for e in aslsign.registry.zoo_entries() if not e.has_weights]


def test_the_zoo_documents_the_published_size_models():
    names = {e.name for e in UNBUILT}
    assert {"hybrid.gislr", "transformer.gislr"} <= names


@pytest.mark.parametrize("entry", UNBUILT, ids=lambda e: e.name)
def test_unbuilt_entry_says_how_to_build_it(entry, capsys):
    import json
    import shlex

    from aslsign.cli import main

    config = json.loads((entry.directory / "config.json").read_text())
    command = config["training"]["command"]
    assert config["weights"] is None and config["name"] == entry.name
    card = (entry.directory / "README.md").read_text()
    assert command in card and "no published weights" in card.lower()
    with pytest.raises(aslsign.ModelNotFoundError, match="without published weights") as err:
        aslsign.load_recognizer(entry.name)
    assert command in str(err.value)
    assert entry.name not in aslsign.list_models()
    # the command is a valid invocation of its recipe, at the documented size
    argv = shlex.split(command)
    assert argv[:2] == ["python", config["training"]["recipe"]]
    if not HAS_TF:  # the recipe imports Keras; the rest was checked above
        return
    import importlib

    recipe = importlib.import_module(config["training"]["recipe"][:-3].replace("/", "."))
    args = recipe.parse_args(argv[2:])
    for key, value in config["architecture_args"].items():
        assert getattr(args, key) == value, key
    assert main(["models"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith(entry.name))
    assert "no published weights" in line and config["task"] in line
