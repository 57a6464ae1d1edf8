"""Shared fixtures. Real data is read in place from ASLSIGN_DATA (default: ../shared/data)."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import aslsign

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("ASLSIGN_DATA", REPO.parent / "shared" / "data")).resolve()
HAS_TF = importlib.util.find_spec("tensorflow") is not None

requires_tf = pytest.mark.skipif(not HAS_TF, reason="needs TensorFlow: pip install -e '.[train]'")


def _data_dir(name: str) -> Path:
    path = DATA / name
    if not path.is_dir():
        pytest.skip(
            f"real data folder {path} not found: set ASLSIGN_DATA to the shared data directory"
        )
    return path


@pytest.fixture(scope="session")
def gislr_mini() -> Path:
    """The GISLR mini folder (train.csv + 439 parquet files of hello/thankyou, 12 signers)."""
    return _data_dir("gislr-mini")


@pytest.fixture(scope="session")
def gislr_gallery() -> Path:
    """One GISLR sequence for each of 186 signs (train.csv + parquet/)."""
    return _data_dir("gislr-gallery")


@pytest.fixture(scope="session")
def label_maps() -> Path:
    return _data_dir("label_maps")


@pytest.fixture(scope="session")
def letters() -> Path:
    """One signer's fingerspelled letter and digit recordings (JSON; the synthetic ASLFR source)."""
    return _data_dir("fingerspelling-letters")


@pytest.fixture(scope="session")
def gislr_small(gislr_mini: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A GISLR folder of 4 signers x 12 sequences of gislr-mini (the files read in place), for
    recipe runs that must stay quick."""
    import csv

    root = tmp_path_factory.mktemp("gislr_small")
    with open(gislr_mini / "train.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    people = sorted({r["participant_id"] for r in rows})[:4]
    chosen = [r for p in people for r in [r for r in rows if r["participant_id"] == p][:12]]
    (root / "train_landmark_files").symlink_to(gislr_mini / "train_landmark_files")
    with open(root / "train.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(chosen)
    return root


@pytest.fixture(scope="module")
def sign() -> Iterator[aslsign.SignRecognizer]:
    """The bundled default sign model, one per test module."""
    with aslsign.SignRecognizer.from_pretrained() as rec:
        yield rec


@pytest.fixture(scope="module")
def spell() -> Iterator[aslsign.FingerspellingRecognizer]:
    """The bundled default fingerspelling model, one per test module."""
    with aslsign.FingerspellingRecognizer.from_pretrained() as rec:
        yield rec
