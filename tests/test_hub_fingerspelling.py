"""``FingerspellingRecognizer.from_pretrained("owner/name")`` through the loopback hub.

The repo is a Kaggle ASLFR submission (model.tflite + inference_args.json, no config.json): the
optional files of an artifact must be downloaded too, and the model must transcribe as it does
locally.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from conftest import requires_tf
from hub_server import HubServer, client_env

import aslsign

pytestmark = requires_tf
REPO_ID = "acme/aslfr-kaggle"

CLIENT = r"""
import json, sys
import numpy as np
from aslsign import FingerspellingRecognizer
spec = json.loads(sys.argv[1])
with FingerspellingRecognizer.from_pretrained(spec["name"], cache_dir=spec["cache"]) as rec:
    x = np.load(spec["sequence"])
    print("RESULT " + json.dumps({"text": rec.predict(x).text, "source": rec.source}))
"""


def test_kaggle_aslfr_model_from_the_hub(tmp_path):
    from kaggle_model import aslfr_columns, make_kaggle_aslfr_submission

    repo = tmp_path / "repo"
    columns = aslfr_columns(seed=7)
    make_kaggle_aslfr_submission(repo / "model.tflite", columns)
    (repo / "inference_args.json").write_text(json.dumps({"selected_columns": columns}))
    (repo / "README.md").write_text("# a Kaggle ASLFR model\n")
    x = np.random.default_rng(0).random((45, 543, 3), dtype=np.float32)
    np.save(tmp_path / "seq.npy", x)
    with aslsign.FingerspellingRecognizer.from_pretrained(repo) as rec:
        local = rec.predict(x).text
    assert local, "the test model should spell something"
    with HubServer() as hub:
        hub.add_repo(REPO_ID, {"main": repo})
        spec = {
            "name": REPO_ID,
            "cache": str(tmp_path / "cache"),
            "sequence": str(tmp_path / "seq.npy"),
        }
        proc = subprocess.run(
            [sys.executable, "-c", CLIENT, json.dumps(spec)],
            env=client_env(hub, tmp_path / "hf"),
            capture_output=True,
            text=True,
            timeout=120,
        )
        log = hub.log()
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"{proc.stderr[-3000:]}\n{log}"
    result = json.loads(lines[0][len("RESULT ") :])
    assert result["text"] == local
    assert "inference_args.json" in log and result["source"].startswith(str(tmp_path / "cache"))
