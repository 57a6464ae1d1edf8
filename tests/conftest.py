"""Shared fixtures. Real data is read in place from ASLSIGN_DATA (default: ../shared/data)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

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
