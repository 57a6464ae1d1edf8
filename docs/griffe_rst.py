"""A griffe extension for the API reference: the reST habits of aslsign's docstrings as Markdown.

The docstrings are written for reading in the source and with ``help()``: Google-style sections
(``Args:``, ``Returns:``, ``Raises:``), which mkdocstrings parses, plus a few reStructuredText
habits that Markdown would show literally or mangle. Before mkdocstrings renders them, this
extension rewrites, in the docstring text only (the source is not touched):

* roles (``:func:`load_sequence```, ``:class:`~aslsign.SignRecognizer```, ``:meth:``,
  ``:mod:``, ``:data:``, ``:attr:``, ``:exc:``) -> a code span that links to the object when the
  site renders it (an *optional* autorefs reference: resolved or plain, never a warning);
* doctest lines (``>>> ...`` and their ``...`` continuations) -> a ``pycon`` code block (a line
  starting with ``>`` would otherwise be a Markdown block quote), without ``# doctest:`` flags;
* a paragraph ending in ``::`` -> ending in ``:`` (the indented block after it is already a
  Markdown code block);
* simple reST tables (``====  ====`` rules) -> Markdown tables;
* definition lists (a term line, its definition indented below it) -> the ``def_list``
  extension's ``term`` / ``:   definition`` form;
* ``#:`` comments above a module or class attribute -> that attribute's docstring, when it has
  none (the Sphinx convention the code uses for constants such as ``aslsign.landmarks.GROUPS``).

mkdocs.yml loads it with ``extensions: [docs/griffe_rst.py]`` (a path from the repository root).
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(func|class|meth|mod|data|attr|exc|obj):`~?([\w.]+?)(\(\))?`")
_DOCTEST_FLAG = re.compile(r"\s*# doctest:.*$")
_SECTION = re.compile(r"^[A-Z][A-Za-z ]*:\s*$")  # a Google-style section header, e.g. "Args:"


class RstToMarkdown(griffe.Extension):
    """Rewrite every docstring of the loaded package once, after the whole package is loaded."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        for obj in _walk(pkg):
            if obj.docstring is None and obj.is_attribute:
                obj.docstring = _comment_docstring(obj)
            if obj.docstring is not None:
                obj.docstring.value = convert(
                    obj.docstring.value, lambda name, o=obj: _find(o, name)
                )


def _walk(obj: griffe.Object) -> list[griffe.Object]:
    found = [obj]
    for member in obj.members.values():
        if not member.is_alias:
            found += _walk(member)  # type: ignore[arg-type]
    return found


def _comment_docstring(attr: griffe.Object) -> griffe.Docstring | None:
    """The ``#:`` comment lines right above an attribute, as its docstring."""
    if attr.lineno is None or attr.parent is None:
        return None
    try:
        lines = attr.parent.module.lines
    except (ValueError, AttributeError):
        return None
    text: list[str] = []
    i = attr.lineno - 2
    while i >= 0 and lines[i].strip().startswith("#:"):
        text.insert(0, lines[i].strip()[2:].strip())
        i -= 1
    if not text:
        return None
    return griffe.Docstring(" ".join(text), lineno=i + 2, parent=attr)


def _find(obj: griffe.Object, name: str) -> str | None:
    """The full path of ``name`` as seen from ``obj``, or None when it is not in the package."""
    head, _, rest = name.partition(".")
    candidates = []
    scope: griffe.Object | None = obj
    while scope is not None:
        try:
            resolved = scope.resolve(head)
        except (griffe.NameResolutionError, AttributeError, KeyError, ValueError):
            resolved = None
        if resolved:
            candidates.append(f"{resolved}.{rest}" if rest else resolved)
            break
        scope = scope.parent
    package = obj.package
    candidates += [name, f"{package.path}.{name}"]
    for path in candidates:
        try:
            found = package.modules_collection.get_member(path)
        except (KeyError, ValueError, AttributeError):
            continue
        if found is not None:
            return str(found.path)
    return None


def convert(text: str, find: Any = lambda name: None) -> str:
    """The Markdown form of a docstring; ``find(name)`` gives a role target's path, or None."""

    def role(match: re.Match[str]) -> str:
        name = match[2]
        shown = name.rsplit(".", 1)[-1] if match[0].startswith(f":{match[1]}:`~") else name
        if match[3] or match[1] in ("func", "meth"):
            shown += "()"
        code = f"<code>{html.escape(shown)}</code>"
        target = find(name)
        if target is None:
            return code
        return f'<autoref identifier="{html.escape(target)}" optional>{code}</autoref>'

    lines = _grouped_parameters(text.splitlines())
    lines = _doctests(lines)
    lines = _tables(lines)
    lines = _definitions(lines)
    out: list[str] = []
    fenced = False
    for line in lines:
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            line = _ROLE.sub(role, line)
            if line.rstrip().endswith("::") and not line.lstrip().startswith(("-", "*")):
                line = line.rstrip()[:-1]
                line = line[:-1] if line.endswith(" :") else line
        out.append(line)
    return "\n".join(out)


_PARAMETER_SECTIONS = ("Args:", "Arguments:", "Parameters:", "Params:", "Keyword Args:")
_GROUPED = re.compile(r"^(\s+)(\*{0,2}\w+(?:\s*,\s*\*{0,2}\w+)+)\s*:\s?(.*)$")


def _grouped_parameters(lines: list[str]) -> list[str]:
    """``a, b, c: text`` in an ``Args:`` section -> one entry per name with the same text, so
    that each parameter is matched to the signature (its type and default shown) instead of
    one unknown parameter "a, b, c" that the table calls *required*."""
    out: list[str] = []
    section: int | None = None  # the indent of the Args: header we are in
    i = 0
    while i < len(lines):
        line = lines[i]
        indent = len(line) - len(line.lstrip())
        if line.strip() in _PARAMETER_SECTIONS:
            section = indent
        elif line.strip() and section is not None and indent <= section:
            section = None
        match = _GROUPED.match(line) if section is not None else None
        if match is None or len(match[1]) <= (section or 0):
            out.append(line)
            i += 1
            continue
        body = [match[3]]
        i += 1
        while i < len(lines) and (
            not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > len(match[1])
        ):
            if not lines[i].strip() and (
                i + 1 >= len(lines)
                or len(lines[i + 1]) - len(lines[i + 1].lstrip()) <= len(match[1])
            ):
                break
            body.append(lines[i].strip())
            i += 1
        for name in (n.strip() for n in match[2].split(",")):
            out.append(f"{match[1]}{name}: {body[0]}")
            out += [f"{match[1]}    {b}" if b else "" for b in body[1:]]
    return out


def _doctests(lines: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(lines):
        if lines[i].lstrip().startswith(">>>"):
            indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
            block = []
            while i < len(lines) and lines[i].strip() and lines[i].startswith(indent):
                block.append(_DOCTEST_FLAG.sub("", lines[i][len(indent) :]))
                i += 1
            if out and out[-1].strip():
                out.append("")
            out += [f"{indent}```pycon", *(f"{indent}{b}" for b in block), f"{indent}```"]
            if i < len(lines) and lines[i].strip():
                out.append("")
        else:
            out.append(lines[i])
            i += 1
    return out


def _tables(lines: list[str]) -> list[str]:
    """Simple reST tables (rule, header, rule, rows, rule) -> Markdown tables."""
    rule = re.compile(r"^\s*=+(\s+=+)+\s*$")
    out: list[str] = []
    i = 0
    while i < len(lines):
        if not rule.match(lines[i]):
            out.append(lines[i])
            i += 1
            continue
        spans = [(m.start(), m.end()) for m in re.finditer(r"=+", lines[i])]
        end = i + 1
        while end < len(lines) and not (rule.match(lines[end]) and end > i + 2):
            end += 1
        body = [ln for ln in lines[i + 1 : end] if not rule.match(ln)]
        rows: list[list[str]] = []
        for ln in body:
            starts = [a for a, _ in spans]
            cells = [ln[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
            if rows and not cells[0]:  # a continuation line: join it to the row above
                rows[-1] = [f"{p} {c}".strip() for p, c in zip(rows[-1], cells, strict=True)]
            else:
                rows.append(cells)
        if rows:
            out.append("| " + " | ".join(rows[0]) + " |")
            out.append("|" + "---|" * len(spans))
            out += ["| " + " | ".join(r) + " |" for r in rows[1:]]
        i = end + 1
    return out


def _definitions(lines: list[str]) -> list[str]:
    """``term`` then an indented definition (no blank line between) -> ``term`` / ``:   def``."""
    out: list[str] = []
    for k, line in enumerate(lines):
        prev = lines[k - 1] if k else ""
        starts = (
            line.startswith("    ")
            and line.strip()
            and prev.strip()
            and not prev.startswith(" ")
            and not _SECTION.match(prev)
            and not prev.rstrip().endswith(("::", ":"))
            and not prev.lstrip().startswith(("|", "```", "-", "*"))
            and not re.match(r"^\d+\.", prev)
        )
        if starts:
            if k >= 2 and lines[k - 2].strip():
                out.insert(len(out) - 1, "")  # a term needs a blank line before it
            out.append(":   " + line.strip())
        elif out and out[-1].startswith(":   ") and line.startswith("    ") and line.strip():
            out.append("    " + line.strip())
        else:
            out.append(line)
    return out
