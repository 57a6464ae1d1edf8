"""MkDocs hooks: the pages that are made from the code and the zoo, so they cannot drift.

* ``zoo/index.md`` and ``zoo/<name>.md``: the zoo's ``README.md`` and one page per model card
  ``zoo/<name>/README.md``, read from the repository's ``zoo/`` (outside ``docs/``) when the site
  is built; nothing is copied into ``docs/``. A card's YAML front matter (the Hugging Face hub's
  metadata) is shown in a folded block under its title instead of as text.
* ``cli.md``: the marker :data:`CLI_MARKER` becomes the help of every verb of the real
  ``aslsign`` parser (``aslsign.cli._parser()``).

mkdocs.yml loads this file (``hooks: [docs/hooks.py]``). The generators are plain functions
that need no MkDocs, so ``tests/test_docs.py`` checks them directly.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import os
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ZOO = ROOT / "zoo"
CLI_MARKER = "<!-- cli-reference: generated from aslsign.cli._parser() by docs/hooks.py -->"
ZOO_SECTION = "Model zoo"
HELP_WIDTH = "100"

# Where a verb is explained at length (pages of docs/).
SEE_ALSO = {
    "predict": [("Isolated signs", "signs.md"), ("Fingerspelling", "fingerspelling.md")],
    "info": [("Artifacts and variants", "artifact-format.md")],
    "models": [("Model zoo", "zoo/index.md")],
    "stats": [("Dataset statistics", "data-formats.md#dataset-statistics")],
    "push": [("Publishing to the hub", "publishing.md")],
    "render": [("Drawing a sequence", "landmarks.md#drawing-a-sequence")],
    "extract": [("From video", "video.md#extract")],
    "live": [("Live recognition", "video.md#live"), ("Streaming and spotting", "streaming.md")],
    "spot": [("Spotting signs and phrases", "streaming.md#spotting-signs-and-phrases")],
}


# ---------------------------------------------------------------------------------- the package


def import_tree() -> Any:
    """``aslsign`` from this repository's ``src/`` (and its zoo from ``zoo/``), not from wherever
    an installed copy points; returns the ``aslsign.cli`` module."""
    src = str(ROOT / "src")
    if src not in sys.path:
        sys.path.insert(0, src)
    import aslsign

    zoo = sys.modules.get("aslsign.zoo")
    if zoo is None or Path(next(iter(zoo.__path__))).resolve() != ZOO:
        spec = importlib.util.spec_from_file_location(
            "aslsign.zoo", ZOO / "__init__.py", submodule_search_locations=[str(ZOO)]
        )
        assert spec is not None and spec.loader is not None
        zoo = importlib.util.module_from_spec(spec)
        sys.modules["aslsign.zoo"] = zoo
        spec.loader.exec_module(zoo)
        aslsign.zoo = zoo  # type: ignore[attr-defined]
    import aslsign.cli

    return aslsign.cli


# ------------------------------------------------------------------------------- CLI reference


def subcommands(parser: argparse.ArgumentParser) -> dict[str, tuple[str, argparse.ArgumentParser]]:
    """``{verb: (one-line help, its parser)}`` of a parser's subcommands, in their order."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            return {name: (helps.get(name, ""), p) for name, p in action.choices.items()}
    return {}


@contextlib.contextmanager
def _help_environment() -> Any:
    """The same help on every machine: a fixed width, no colour."""
    saved = {k: os.environ.get(k) for k in ("COLUMNS", "NO_COLOR", "FORCE_COLOR")}
    os.environ.update(COLUMNS=HELP_WIDTH, NO_COLOR="1")
    os.environ.pop("FORCE_COLOR", None)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def cli_reference(parser: argparse.ArgumentParser | None = None) -> str:
    """Markdown: the top-level help, then a section per verb with its ``--help``."""
    if parser is None:
        parser = import_tree()._parser()
    with _help_environment():
        parts = ["### `aslsign`", "", _fence(parser.format_help())]
        for verb, (summary, sub) in subcommands(parser).items():
            parts += ["", f"### `aslsign {verb}`", ""]
            if summary:
                parts += [summary[0].upper() + summary[1:] + ".", ""]
            parts.append(_fence(sub.format_help()))
            if verb in SEE_ALSO:
                links = ", ".join(f"[{title}]({page})" for title, page in SEE_ALSO[verb])
                parts += ["", f"See also: {links}."]
    return "\n".join(parts) + "\n"


def _fence(text: str) -> str:
    return "```text\n" + text.rstrip() + "\n```"


# ------------------------------------------------------------------------------------- the zoo


def zoo_cards() -> list[Path]:
    """Every model card of the zoo, ``zoo/<name>/README.md``, by name."""
    return sorted(p for p in ZOO.glob("*/README.md") if not p.parent.name.startswith(("_", ".")))


def split_front_matter(text: str) -> tuple[str | None, str]:
    """``(YAML front matter or None, the rest)`` of a model card."""
    match = re.match(r"^---\n(.*?\n)---\n", text, re.S)
    if match is None:
        return None, text
    return match[1], text[match.end() :]


def card_page(card: Path) -> str:
    """The page of one model card: the card, its front matter folded away under its title."""
    front, body = split_front_matter(card.read_text(encoding="utf-8"))
    body = body.lstrip("\n")
    source = f"*This page is the model card `zoo/{card.parent.name}/README.md`.*\n"
    title, _, rest = body.partition("\n")
    if not title.startswith("# "):
        title, rest = f"# {card.parent.name}", body
    parts = [title, "", source]
    if front is not None:
        yaml = "\n".join("    " + line if line else "" for line in front.rstrip().split("\n"))
        parts += [
            '??? info "Hugging Face hub metadata (the card\'s YAML front matter)"',
            "",
            "    ```yaml",
            yaml,
            "    ```",
            "",
        ]
    return "\n".join(parts) + rest.lstrip("\n")


def zoo_index(models_output: str | None = None) -> str:
    """The zoo's page: ``zoo/README.md`` with each model's name linked to its card, and what
    ``aslsign models`` prints."""
    names = {card.parent.name for card in zoo_cards()}
    text = (ZOO / "README.md").read_text(encoding="utf-8")

    def link(match: re.Match[str]) -> str:
        name = match[1]
        return f"| [`{name}`]({name}.md)" if name in names else match[0]

    text = re.sub(r"^\| `([^`]+)`", link, text, flags=re.M)
    text = re.sub(r"`docs/([\w-]+\.md)`", r"[`docs/\1`](../\1)", text)
    if models_output is None:
        cli = import_tree()
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            cli.main(["models"])
        models_output = out.getvalue()
    cards = "\n".join(f"- [`{name}`]({name}.md)" for name in sorted(names))
    return (
        text.rstrip("\n")
        + "\n\n## `aslsign models`\n\n"
        + "The same list from the command line (as printed when this site was built):\n\n"
        + _fence(models_output)
        + "\n\n## Model cards\n\n"
        + cards
        + "\n"
    )


def zoo_pages() -> dict[str, str]:
    """``{page path in the site: Markdown}`` of every zoo page."""
    pages = {"zoo/index.md": zoo_index()}
    for card in zoo_cards():
        pages[f"zoo/{card.parent.name}.md"] = card_page(card)
    return pages


# ------------------------------------------------------------------------------- MkDocs events


def on_config(config: Any) -> Any:
    """Append a nav entry per model card to the "Model zoo" section."""
    for item in config.nav or []:
        if isinstance(item, dict) and ZOO_SECTION in item:
            section = item[ZOO_SECTION]
            section += [{card.parent.name: f"zoo/{card.parent.name}.md"} for card in zoo_cards()]
            return config
    from mkdocs.exceptions import PluginError

    raise PluginError(f"docs/hooks.py: mkdocs.yml's nav has no {ZOO_SECTION!r} section.")


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    for path, content in zoo_pages().items():
        files.append(File.generated(config, path, content=content))
    return files


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    if page.file.src_uri != "cli.md":
        return markdown
    if CLI_MARKER not in markdown:
        from mkdocs.exceptions import PluginError

        raise PluginError(f"docs/cli.md lost its marker {CLI_MARKER}")
    return markdown.replace(CLI_MARKER, cli_reference())
