"""Print one of the documented set-up commands, exactly as written: ``main`` (install and run
the main job) or ``tests`` (install and run the tests), the two ```bash blocks under README.md's
heading "Set up on a fresh machine", or ``video`` (the video extra's own environment, the first
```bash block of docs/video.md). .ci/run runs what this prints, so CI runs what the docs say."""

from __future__ import annotations

import re
import sys
from pathlib import Path

HEADING = "## Set up on a fresh machine"


def setup_commands(readme: Path) -> dict[str, str]:
    text = readme.read_text(encoding="utf-8")
    start = text.index(HEADING)
    end = text.find("\n## ", start + len(HEADING))
    section = text[start : end if end >= 0 else None]
    blocks = re.findall(r"^```bash\n(.*?)^```", section, re.S | re.M)
    if len(blocks) != 2:
        raise SystemExit(f"README.md: 2 bash blocks expected under {HEADING!r}, not {len(blocks)}")
    main, tests = (b.strip() for b in blocks)
    return {"main": main, "tests": tests}


def video_command(page: Path) -> str:
    """The first ```bash block of docs/video.md: the video extra's environment."""
    match = re.search(r"^```bash\n(.*?)^```", page.read_text(encoding="utf-8"), re.S | re.M)
    if match is None:
        raise SystemExit(f"{page}: no bash block")
    return match[1].strip()


if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    if sys.argv[1] == "video":
        print(video_command(root / "docs" / "video.md"))
    else:
        print(setup_commands(root / "README.md")[sys.argv[1]])
