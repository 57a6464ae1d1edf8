"""The fingerspelling character vocabulary of the Kaggle ASLFR competition.

``character_to_prediction_index.json`` (shipped in the package) maps each of the 59 characters a
phrase may hold to its output index; space is 0, then punctuation, digits and the lower-case
letters a-z. Kaggle ASLFR submission models emit one row of 59 scores per output character in
this order. Models made by aslsign add a CTC blank after these (documented in their config.json:
``decoding.blank_index``).
"""

from __future__ import annotations

import os
from importlib import resources

from ._util import read_index_map
from .errors import ConfigError

__all__ = ["CHARACTERS", "CHARACTER_MAP_FILE", "character_map", "read_character_map"]

CHARACTER_MAP_FILE = "character_to_prediction_index.json"


def read_character_map(source: str | os.PathLike[str] | dict[str, int]) -> tuple[str, ...]:
    """Characters in output order from a ``{character: index}`` mapping or its JSON file."""
    chars = read_index_map(source, ConfigError, "character map")
    bad = [c for c in chars if len(c) != 1]
    if bad:
        raise ConfigError(f"A character map holds single characters; got {bad[:5]}.")
    return chars


#: The 59 characters in output order (index 0 is the space).
CHARACTERS: tuple[str, ...] = read_character_map(
    str(resources.files("aslsign").joinpath(CHARACTER_MAP_FILE))
)


def character_map() -> dict[str, int]:
    """``{character: index}`` for the 59 ASLFR characters (a new dict each call)."""
    return {c: i for i, c in enumerate(CHARACTERS)}
