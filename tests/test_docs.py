"""The documentation site's sources: generated pages, links, and the tables that mirror the code.

Cheap and without MkDocs: ``mkdocs build --strict`` itself runs in ``.ci/run``. The generators
are those of ``docs/hooks.py``, the file MkDocs loads.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import unicodedata
from pathlib import Path

import pytest

import aslsign
from aslsign import errors
from aslsign.cli import _parser
from aslsign.landmarks import GROUPS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
VERBS = {"predict", "spot", "info", "models", "stats", "render", "extract", "live", "push"}


def _load_hooks():
    spec = importlib.util.spec_from_file_location("aslsign_docs_hooks", DOCS / "hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hooks = _load_hooks()


# ---------------------------------------------------------------------------------- CLI reference


def test_cli_reference_covers_every_subcommand_and_option():
    parser = _parser()
    verbs = hooks.subcommands(parser)
    assert set(verbs) >= VERBS
    page = hooks.cli_reference(parser)
    for verb, (_, sub) in verbs.items():
        assert f"### `aslsign {verb}`" in page
        assert f"usage: aslsign {verb}" in page
        for action in sub._actions:
            for option in action.option_strings:
                assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", page), (verb, option)
            if not action.option_strings and action.dest != "help":
                assert action.dest in page, (verb, action.dest)
    assert set(hooks.SEE_ALSO) <= set(verbs)


def test_cli_reference_is_the_parsers_help():
    parser = _parser()
    page = hooks.cli_reference(parser)
    blocks = re.findall(r"```text\n(.*?)\n```", page, re.S)
    assert len(blocks) == 1 + len(hooks.subcommands(parser))
    assert blocks[0].startswith("usage: aslsign [-h]")
    with hooks._help_environment():
        expected = [p.format_help().rstrip() for _, p in hooks.subcommands(parser).values()]
    assert blocks[1:] == expected


def test_cli_page_holds_the_marker():
    assert hooks.CLI_MARKER in (DOCS / "cli.md").read_text()


def test_subcommands_of_a_parser_without_them():
    assert hooks.subcommands(argparse.ArgumentParser()) == {}


# ------------------------------------------------------------------------------------- zoo pages


def test_every_zoo_card_becomes_a_page():
    cards = hooks.zoo_cards()
    names = {c.parent.name for c in cards}
    assert names == {p.parent.name for p in (ROOT / "zoo").glob("*/config.json")}
    for card in cards:
        page = hooks.card_page(card)
        assert page.startswith(f"# {card.parent.name}\n"), card
        front, body = hooks.split_front_matter(card.read_text())
        assert body.strip().split("\n", 1)[1].strip() in page  # the whole card, after its title
        if front is not None:
            assert '??? info "Hugging Face hub metadata' in page
            assert "\n---\n" not in page.split("??? info", 1)[1].split("```", 2)[2][:10]
            for line in front.strip().splitlines():
                assert f"    {line}" in page


def test_front_matter():
    assert hooks.split_front_matter("---\na: 1\n---\n# t\n") == ("a: 1\n", "# t\n")
    assert hooks.split_front_matter("# t\n---\n") == (None, "# t\n---\n")


def test_zoo_index_links_every_card():
    page = hooks.zoo_index(models_output="(models)\n")
    for card in hooks.zoo_cards():
        assert f"[`{card.parent.name}`]({card.parent.name}.md)" in page
    assert "```text\n(models)\n```" in page
    assert "`docs/" not in page.replace("[`docs/", "")  # every docs/ path became a link


# ---------------------------------------------------------------------------------------- links


def _pages() -> dict[str, str]:
    """Every page of the site, by its path under docs/, generated ones included."""
    pages = {str(p.relative_to(DOCS)): p.read_text() for p in DOCS.rglob("*.md")}
    pages["cli.md"] = pages["cli.md"].replace(hooks.CLI_MARKER, hooks.cli_reference(_parser()))
    pages["zoo/index.md"] = hooks.zoo_index(models_output="")
    for card in hooks.zoo_cards():
        pages[f"zoo/{card.parent.name}.md"] = hooks.card_page(card)
    return pages


def _prose(markdown: str) -> str:
    """Markdown without fenced code blocks and code spans, where links are not links."""
    markdown = re.sub(r"^( *)```.*?^\1```", "", markdown, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", markdown)


def _slug(heading: str) -> str:
    """Python-Markdown's toc slug of a heading."""
    text = re.sub(r"`([^`]*)`", r"\1", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[*_]{2}([^*_]+)[*_]{2}", r"\1", text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def _anchors(markdown: str) -> set[str]:
    markdown = re.sub(r"^( *)```.*?^\1```", "", markdown, flags=re.S | re.M)
    return {_slug(h) for h in re.findall(r"^#{1,6} +(.+?) *$", markdown, re.M)}


def _links(markdown: str) -> list[str]:
    return re.findall(r"\]\(([^)\s]+)(?: \"[^\"]*\")?\)", _prose(markdown))


PAGES = _pages()


@pytest.mark.parametrize("page", sorted(PAGES))
def test_relative_links_and_images_resolve(page):
    for target in _links(PAGES[page]):
        if re.match(r"^[a-z]+:", target):
            continue  # http(s), mailto
        path, _, anchor = target.partition("#")
        if path:
            resolved = (DOCS / page).parent.joinpath(path).resolve()
            relative = resolved.relative_to(DOCS.resolve()).as_posix()
            assert relative in PAGES or resolved.is_file(), f"{page}: {target}"
        else:
            relative = page
        if anchor and relative in PAGES:
            assert anchor in _anchors(PAGES[relative]), f"{page}: {target}"


def test_readme_links_resolve():
    for target in _links((ROOT / "README.md").read_text()):
        if not re.match(r"^[a-z]+:", target):
            assert (ROOT / target.partition("#")[0]).is_file(), target


def test_nav_names_existing_pages():
    nav = re.findall(r"^ *- [^:\n]+: ([\w/.-]+\.md)$", (ROOT / "mkdocs.yml").read_text(), re.M)
    assert len(nav) > 10
    assert set(nav) <= set(PAGES)
    assert set(nav) | {f"zoo/{c.parent.name}.md" for c in hooks.zoo_cards()} == set(PAGES)


def test_slug():
    assert _slug("`aslsign predict`") == "aslsign-predict"
    assert _slug("GISLR: one long parquet file per sequence") == (
        "gislr-one-long-parquet-file-per-sequence"
    )
    assert _slug("`training_recipes/hybrid.py` — GISLR 1st-place 1D-CNN + Transformer") == (
        "training_recipeshybridpy-gislr-1st-place-1d-cnn-transformer"
    )


# ------------------------------------------------------------------ tables that mirror the code


def _table_rows(markdown: str, heading: str) -> list[list[str]]:
    section = markdown.split(heading, 1)[1].split("\n#", 1)[0]
    rows = [r.strip().strip("|").split("|") for r in section.splitlines() if r.startswith("|")]
    return [[c.strip() for c in r] for r in rows[2:]]


def test_errors_page_lists_every_error():
    rows = _table_rows((DOCS / "errors.md").read_text(), "# Errors")
    table = {r[0].strip("`"): r[1].strip("`") for r in rows}
    names = set(errors.__all__) - {"AslSignError"}
    assert set(table) == names
    for name, builtin in table.items():
        cls = getattr(errors, name)
        assert issubclass(cls, errors.AslSignError)
        assert builtin in {c.__name__ for c in cls.__mro__}, (name, builtin)
        assert getattr(aslsign, name) is cls


def test_landmark_groups_table():
    rows = _table_rows((DOCS / "landmarks.md").read_text(), "## Named groups")
    seen = set()
    for names, count, _ in rows:
        n = int(count.split()[0])
        for name in re.findall(r"`(\w+)`", names):
            assert len(GROUPS[name]) == n, name
            seen.add(name)
    assert seen == set(GROUPS)


# ----------------------------------------------------------- docstrings as Markdown (griffe_rst)


def test_rst_habits_become_markdown():
    pytest.importorskip("griffe")  # the docs extra
    spec = importlib.util.spec_from_file_location("aslsign_griffe_rst", DOCS / "griffe_rst.py")
    assert spec is not None and spec.loader is not None
    rst = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rst)
    known = {"load_sequence": "aslsign.io.gislr.load_sequence"}.get
    text = "\n".join(
        [
            "See :func:`load_sequence` and :class:`~aslsign.nowhere.Thing`.",
            "",
            "Rows::",
            "",
            "    face 0 - 467",
            "",
            ">>> x = 1  # doctest: +SKIP",
            "",
            "=====  =====",
            "name   what",
            "=====  =====",
            "``a``  first",
            "       more",
            "``b``  second",
            "=====  =====",
            "",
            "``term``",
            "    its definition",
            "    goes on",
        ]
    )
    out = rst.convert(text, known).split("\n")
    assert out[0] == (
        'See <autoref identifier="aslsign.io.gislr.load_sequence" optional>'
        "<code>load_sequence()</code></autoref> and <code>Thing</code>."
    )
    assert out[2] == "Rows:"
    assert out[4] == "    face 0 - 467"
    assert out[6:9] == ["```pycon", ">>> x = 1", "```"]
    assert out[10:14] == [
        "| name | what |",
        "|---|---|",
        "| ``a`` | first more |",
        "| ``b`` | second |",
    ]
    assert out[-4:] == ["", "``term``", ":   its definition", "    goes on"]


@pytest.mark.parametrize("cls", [aslsign.SignRecognizer, aslsign.FingerspellingRecognizer])
def test_api_page_lists_every_public_member_of_the_recognisers(cls):
    """docs/api/aslsign.md orders the recognisers' members by hand: none may be left out."""
    page = (DOCS / "api" / "aslsign.md").read_text()
    block = page.split(f"::: aslsign.{cls.__name__}\n", 1)[1].split(":::", 1)[0]
    listed = set(re.findall(r"^ +- (\w+)$", block, re.M))
    public = {
        name
        for klass in cls.__mro__
        if klass.__module__.startswith("aslsign")
        for name in vars(klass)
        if not name.startswith("_")
    }
    assert public <= listed


# ------------------------------------------------------------------ defaults in the API reference


def _real_object(path: str):
    """The Python object of a dotted path (module, then attributes)."""
    import importlib

    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for name in parts[i:]:
            obj = getattr(obj, name)
        return obj
    raise LookupError(path)


def _documented_parameters():
    """``(object path, module, documented name, griffe default)`` of every entry of every
    ``Args:`` section of the package, as mkdocstrings sees them (with docs/griffe_rst.py)."""
    griffe = pytest.importorskip("griffe", reason="the API reference needs the docs extra")
    extensions = griffe.load_extensions(str(DOCS / "griffe_rst.py"))
    package = griffe.load("aslsign", search_paths=[ROOT / "src"], extensions=extensions)

    def walk(obj):
        yield obj
        for member in obj.members.values():
            if not member.is_alias and not member.name.startswith("_"):
                yield from walk(member)

    found = []
    for obj in walk(package):
        if not (obj.is_function or obj.is_class) or obj.docstring is None:
            continue
        sections = obj.docstring.parse("google", warn_unknown_params=False)
        for section in sections:
            if section.kind.value == "parameters":
                found += [(obj.path, obj.module.path, p.name, p.default) for p in section.value]
    return found


def test_every_documented_default_is_the_signatures():
    """What the reference shows as a parameter's default is what ``inspect.signature`` has, and
    every documented name is a parameter (``a, b: text`` entries are split per name)."""
    import importlib
    import inspect

    documented = _documented_parameters()
    assert len(documented) > 60
    names = {(path, name) for path, _, name, _ in documented}
    assert ("aslsign.recognizer.SignRecognizer.from_pretrained", "revision") in names
    assert ("aslsign.video.HolisticExtractor", "min_tracking_confidence") in names
    wrong = []
    for path, module, name, default in documented:
        parameters = inspect.signature(_real_object(path)).parameters
        p = parameters.get(name.lstrip("*"))
        if p is None:
            wrong.append(f"{path}: documents {name!r}, which is not a parameter")
        elif p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        elif p.default is inspect.Parameter.empty:
            if default is not None:
                wrong.append(f"{path}({name}): shown with default {default}, has none")
        elif default is None:
            wrong.append(f"{path}({name}): shown as required, default {p.default!r}")
        elif eval(str(default), vars(importlib.import_module(module))) != p.default:
            wrong.append(f"{path}({name}): shown {default}, default {p.default!r}")
    assert not wrong, "\n".join(wrong)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site as ``mkdocs build --strict`` makes it (about 3 s)."""
    pytest.importorskip("mkdocs", reason="the site needs the docs extra")
    import subprocess

    out = tmp_path_factory.mktemp("site")
    subprocess.run(
        ["mkdocs", "build", "--strict", "--quiet", "--site-dir", str(out)],
        cwd=ROOT,
        check=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    return out


def test_no_parameter_with_a_default_is_shown_required(site: Path):
    """The rendered API reference: a row that says *required* is a parameter without default."""
    import inspect

    heading = re.compile(r'<h[2-6] id="(aslsign[\w.]*)" class="doc doc-heading"')
    row = re.compile(r'<tr class="doc-section-item">\s*<td>\s*<code>([^<]+)</code>(.*?)</tr>', re.S)
    required, wrong = 0, []
    for page in sorted((site / "api").rglob("index.html")):
        html = page.read_text(encoding="utf-8")
        marks = list(heading.finditer(html))
        for mark, end in zip(marks, [*marks[1:], None], strict=True):
            chunk = html[mark.end() : end.start() if end else None]
            for name, rest in row.findall(chunk):
                if "<em>required</em>" not in rest:
                    continue
                required += 1
                try:
                    parameters = inspect.signature(_real_object(mark[1])).parameters
                except (TypeError, ValueError):  # attributes, exceptions' rows
                    continue
                for each in name.split(","):  # an entry "a, b" names several
                    p = parameters.get(each.strip())
                    if p is not None and p.default is not inspect.Parameter.empty:
                        wrong.append(f"{page.parent.name}: {mark[1]}({each}) {p.default!r}")
    assert required > 5  # the check sees the rows it is about (model_path, landmarks, ...)
    assert not wrong, "\n".join(wrong)
