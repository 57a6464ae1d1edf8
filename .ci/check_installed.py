"""Check that an installed aslsign (or a wheel) holds every subpackage and every zoo file of the
source tree it was built from.

    python .ci/check_installed.py SOURCE_TREE            # the aslsign this interpreter imports
    python .ci/check_installed.py SOURCE_TREE WHEEL.whl  # the files of a wheel

Run the first form from outside the tree, with the interpreter of the environment to check.
"""

from __future__ import annotations

import importlib
import sys
import zipfile
from pathlib import Path


def expected_files(tree: Path) -> set[str]:
    """Paths relative to the installed ``aslsign/`` that the source tree says must be there:
    every file of ``src/aslsign`` and ``zoo/`` (but caches)."""
    files: set[str] = set()
    for base, prefix in ((tree / "src" / "aslsign", ""), (tree / "zoo", "zoo/")):
        for path in base.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                files.add(prefix + path.relative_to(base).as_posix())
    return files


def installed_files() -> tuple[str, set[str]]:
    module = importlib.import_module("aslsign")
    root = Path(module.__file__ or "").resolve().parent
    files = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    return str(root), files


def wheel_files(wheel: Path) -> tuple[str, set[str]]:
    names = zipfile.ZipFile(wheel).namelist()
    return str(wheel), {n[len("aslsign/") :] for n in names if n.startswith("aslsign/")}


def main(argv: list[str]) -> int:
    tree = Path(argv[0]).resolve()
    where, found = wheel_files(Path(argv[1])) if len(argv) > 1 else installed_files()
    if len(argv) == 1 and Path(where).is_relative_to(tree):
        print(f"check_installed: {where} is the source tree, not an installed copy")
        return 1
    expected = expected_files(tree)
    missing = sorted(expected - found)
    packages = sorted({f.rsplit("/", 1)[0] for f in expected if f.endswith("/__init__.py")})
    if missing:
        print(f"check_installed: {where} lacks {len(missing)} file(s) of the source tree:")
        for name in missing:
            print(f"  aslsign/{name}")
        return 1
    print(
        f"check_installed: {where} holds all {len(expected)} files "
        f"(packages: aslsign, {', '.join('aslsign.' + p.replace('/', '.') for p in packages)})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
