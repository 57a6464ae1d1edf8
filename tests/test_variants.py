"""Model variants: ``model.fp16.tflite`` / ``model.int8.tflite`` beside ``model.tflite``.

The bundled models ship both; ``from_pretrained(..., variant=...)`` loads one after checking
its sha256, and from a hub repo downloads only that file.
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
from hub_server import HubServer
from test_hub import assert_not_found, assert_ok, run_client

import aslsign
from aslsign import FingerspellingRecognizer, ModelConfig, SignRecognizer
from aslsign.errors import ConfigError, ModelFileError, ModelNotFoundError
from aslsign.registry import list_models, zoo_dir

DEFAULT = zoo_dir() / aslsign.DEFAULT_MODEL


@pytest.fixture(scope="module")
def files(gislr_mini) -> list[Path]:
    paths = pd.read_csv(gislr_mini / "train.csv")["path"].tolist()
    return [gislr_mini / p for p in paths[::4]]


@pytest.mark.parametrize("name", list_models())
def test_every_bundled_model_ships_fp16_and_int8(name):
    config = ModelConfig.load(zoo_dir() / name / "config.json")
    assert config.variant_names == ("fp32", "fp16", "int8")
    fp32 = (zoo_dir() / name / "model.tflite").stat().st_size
    for variant, limit in (("fp16", 0.55), ("int8", 0.40)):
        size = (zoo_dir() / name / f"model.{variant}.tflite").stat().st_size
        assert size <= limit * fp32, (variant, size, fp32)
        assert config.variants[variant]["size_bytes"] == size
        agreement = config.variants[variant]["agreement"]
        # the same label for signs; the very same transcription (stricter) for fingerspelling
        assert agreement["value"] >= (0.995 if config.task == "isolated_sign" else 0.95)


@pytest.mark.parametrize("variant", ["fp16", "int8"])
def test_variant_agrees_with_fp32_on_real_sequences(variant, files):
    with (
        SignRecognizer.from_pretrained() as base,
        SignRecognizer.from_pretrained(variant=variant) as rec,
    ):
        assert rec.variant == variant and base.variant == "fp32"
        assert f"variant='{variant}'" in repr(rec)
        ref, got = base.predict_batch(files), rec.predict_batch(files)
    agree = np.mean([a.label == b.label for a, b in zip(ref, got, strict=True)])
    assert agree >= 0.995
    diffs = [np.abs(a.probabilities - b.probabilities).max() for a, b in zip(ref, got, strict=True)]
    # another file: outputs differ a little, but not by much
    assert 0 < max(diffs) < (1e-3 if variant == "fp16" else 2e-2)


def test_fingerspelling_variant_transcribes(files):
    name = aslsign.DEFAULT_FINGERSPELLING_MODEL
    seqs = [aslsign.load_sequence(p) for p in files[:20]]
    with (
        FingerspellingRecognizer.from_pretrained(name) as base,
        FingerspellingRecognizer.from_pretrained(name, variant="fp16") as rec,
    ):
        assert rec.variant == "fp16" and Path(rec.source) == zoo_dir() / name
        ref, got = base.predict_batch(seqs), rec.predict_batch(seqs)
    # a different file (float16 weights), the same transcriptions of real landmark sequences
    assert [r.text for r in got] == [r.text for r in ref]
    assert any(r.text for r in ref)


def _copy(tmp_path: Path) -> Path:
    out = tmp_path / "artifact"
    shutil.copytree(DEFAULT, out)
    return out


def test_unknown_variant_names_the_ones_there_are(tmp_path):
    with pytest.raises(ModelNotFoundError, match=r"no variant 'int4'.*fp32, fp16, int8"):
        SignRecognizer.from_pretrained(variant="int4")


def test_a_corrupt_variant_file_is_refused(tmp_path):
    art = _copy(tmp_path)
    data = bytearray((art / "model.fp16.tflite").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (art / "model.fp16.tflite").write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="sha256"):
        SignRecognizer.from_pretrained(art, variant="fp16")
    SignRecognizer.from_pretrained(art, variant="int8").close()  # the others still load
    (art / "model.int8.tflite").unlink()
    with pytest.raises(ModelFileError, match=r"no model\.int8\.tflite"):
        SignRecognizer.from_pretrained(art, variant="int8")


@pytest.mark.parametrize(
    "variants, message",
    [
        ({"fp16": {"file": "../model.tflite", "sha256": "0"}}, "file must be 'model.fp16.tflite'"),
        ({"x/../y": {"sha256": "0"}}, "not a variant name"),
        ({"fp32": {"sha256": "0"}}, "not a variant name"),
        ({"fp16": {"file": "model.fp16.tflite"}}, "sha256"),
        (["fp16"], "must be an object"),
    ],
)
def test_config_variants_are_validated(variants, message):
    d = json.loads((DEFAULT / "config.json").read_text())
    with pytest.raises(ConfigError, match=message):
        ModelConfig.from_dict({**d, "variants": variants})


def test_kaggle_models_have_no_variants(tmp_path):
    (tmp_path / "model.tflite").write_bytes((DEFAULT / "model.tflite").read_bytes())
    with pytest.raises(ModelNotFoundError, match="no variants"):
        SignRecognizer.from_pretrained(tmp_path / "model.tflite", variant="fp16")


def test_cli_runs_and_describes_a_variant():
    cmd = [sys.executable, "-m", "aslsign.cli"]
    out = subprocess.run(
        [*cmd, "predict", "--example", "--variant", "int8", "--json", "--quiet"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    assert {r["label"] for r in rows} == {"hello", "thankyou"}
    info = subprocess.run(
        [*cmd, "info", "--variant", "fp16"], capture_output=True, text=True, check=True
    ).stdout
    line = next(line for line in info.splitlines() if "variants:" in line)
    assert "fp16" in line and "(loaded)" in line.split("fp16")[1].split(";")[0]


def test_hub_download_fetches_only_the_requested_variant(gislr_mini, tmp_path):
    sequence = gislr_mini / pd.read_csv(gislr_mini / "train.csv")["path"].iloc[0]
    with SignRecognizer.from_pretrained(variant="fp16") as rec:
        local = rec.predict(sequence).probabilities
    repo = tmp_path / "repo"
    shutil.copytree(DEFAULT, repo)
    with HubServer() as hub:
        hub.add_repo("acme/variants", {"main": repo})
        cache = tmp_path / "cache"
        kw = {"cache_dir": str(cache)}
        ok, missing = run_client(
            hub,
            tmp_path / "hf",
            sequence,
            [
                {"name": "acme/variants", "kwargs": {**kw, "variant": "fp16"}},
                {"name": "acme/variants", "kwargs": {**kw, "variant": "int4"}},
            ],
        )
        log = hub.log()
    assert_ok(ok)
    np.testing.assert_array_equal(ok["probabilities"], local)
    assert_not_found(missing)
    fetched = {p.name for p in Path(ok["source"]).iterdir()}
    assert "model.fp16.tflite" in fetched
    assert not fetched & {"model.tflite", "model.int8.tflite"}, fetched
    assert "resolve/main/model.tflite" not in log and "model.int8.tflite" not in log


CLI_ARGS = ("--json", "--quiet", "--model", "acme/variants", "--variant", "int8")


def test_load_recognizer_and_the_cli_fetch_only_the_variant_from_a_hub(gislr_mini, tmp_path):
    from hub_server import client_env

    sequence = gislr_mini / pd.read_csv(gislr_mini / "train.csv")["path"].iloc[0]
    repo = tmp_path / "repo"
    shutil.copytree(DEFAULT, repo)
    with HubServer() as hub:
        hub.add_repo("acme/variants", {"main": repo})
        env = client_env(hub, tmp_path / "hf")
        code = (
            "import sys, aslsign; rec = aslsign.load_recognizer('acme/variants', variant='int8');"
            "print(rec.variant, rec.predict(sys.argv[1]).label)"
        )
        auto = subprocess.run(
            [sys.executable, "-c", code, str(sequence)], env=env, capture_output=True, text=True
        )
        cli = subprocess.run(
            [sys.executable, "-m", "aslsign.cli", "predict", str(sequence), *CLI_ARGS],
            env=env,
            capture_output=True,
            text=True,
        )
        log = hub.log()
    assert auto.returncode == 0, auto.stderr[-2000:] + log
    assert auto.stdout.split()[0] == "int8"
    assert cli.returncode == 0, cli.stderr[-2000:] + log
    assert json.loads(cli.stdout.splitlines()[0])["label"] == auto.stdout.split()[1]
    assert "model.int8.tflite" in log and "resolve/main/model.tflite" not in log, log
