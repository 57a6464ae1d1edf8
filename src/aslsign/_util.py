"""Small helpers shared inside the package."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .errors import AslSignError


def read_json(path: str | os.PathLike[str], error: type[AslSignError], what: str) -> Any:
    """Parse a JSON file, raising ``error`` that names ``what`` when it is missing or broken."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise error(f"No {what} at {path}.") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{what} {path} is not valid JSON: {exc}") from exc
