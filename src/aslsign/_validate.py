"""Type and range checks of config values, each raising :class:`ConfigError` that names the
field, what was expected and what came.

``where`` is the field as a user finds it in ``config.json`` (``labels``, ``preprocessing.lags``,
``variants.fp16.sha256``). JSON gives ``int``, ``float``, ``str``, ``bool``, ``list``, ``dict``
and ``None``; NumPy scalars pass as the numbers they are, so configs built in Python (the
training recipes) are checked by the same rules. ``bool`` is never taken for a number.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Collection, Sequence
from typing import Any

from .errors import ConfigError

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def describe(value: Any) -> str:
    """``'lips' (a string)``: a value as a config reader should see it, shortened."""
    kinds = {
        bool: "true/false",
        str: "a string",
        list: "a list",
        tuple: "a list",
        dict: "an object",
        type(None): "null",
    }
    kind = kinds.get(type(value))
    if kind is None:
        if isinstance(value, numbers.Integral):
            kind = "an integer"
        elif isinstance(value, numbers.Real):
            kind = "a number"
        else:
            kind = type(value).__name__
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} ({kind})"


def fail(where: str, expected: str, value: Any) -> ConfigError:
    return ConfigError(f"{where} must be {expected}; got {describe(value)}.")


def is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def integer(value: Any, where: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer in ``minimum..maximum`` (either end open when None)."""
    ok = is_int(value) and (minimum is None or value >= minimum)
    ok = ok and (maximum is None or value <= maximum)
    if not ok:
        raise fail(where, _range("an integer", minimum, maximum), value)
    return int(value)


def number(
    value: Any, where: str, minimum: float | None = None, maximum: float | None = None
) -> float:
    """A finite number in ``minimum..maximum`` (either end open when None)."""
    ok = is_number(value) and math.isfinite(value)
    ok = ok and (minimum is None or value >= minimum) and (maximum is None or value <= maximum)
    if not ok:
        raise fail(where, _range("a finite number", minimum, maximum), value)
    return float(value)


def boolean(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise fail(where, "true or false", value)
    return value


def string(
    value: Any, where: str, choices: Collection[str] | None = None, empty: bool = False
) -> str:
    """A string (non-empty unless ``empty``), one of ``choices`` when given."""
    if choices is not None:
        if not isinstance(value, str) or value not in choices:
            raise fail(where, f"one of {sorted(choices)}", value)
        return value
    if not isinstance(value, str) or (not value and not empty):
        raise fail(where, "a string" if empty else "a non-empty string", value)
    return value


def optional_string(value: Any, where: str) -> str | None:
    return None if value is None else string(value, where, empty=True)


def obj(value: Any, where: str, null_ok: bool = False) -> dict[str, Any]:
    """An object (``null`` gives ``{}`` when ``null_ok``)."""
    if value is None and null_ok:
        return {}
    if not isinstance(value, dict):
        raise fail(where, "an object {...}" + (" or null" if null_ok else ""), value)
    return value


def sequence(value: Any, where: str, what: str) -> Sequence[Any]:
    """A list (or tuple, from Python); a string is refused, not split into characters."""
    if not isinstance(value, (list, tuple)):
        raise fail(where, f"a list of {what}", value)
    return value


def string_list(
    value: Any,
    where: str,
    what: str = "strings",
    choices: Collection[str] | None = None,
    nonempty: bool = True,
    unique: bool = False,
    empty_items: bool = False,
) -> tuple[str, ...]:
    items = sequence(value, where, what)
    if nonempty and not items:
        raise fail(where, f"a non-empty list of {what}", value)
    for i, item in enumerate(items):
        if not isinstance(item, str) or (not item and not empty_items):
            raise fail(
                f"{where}[{i}]", "a non-empty string" if not empty_items else "a string", item
            )
        if choices is not None and item not in choices:
            raise fail(f"{where}[{i}]", f"one of {sorted(choices)}", item)
    if unique:
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            if item in seen:
                raise ConfigError(
                    f"{where} must not repeat an entry: {item!r} is at positions {seen[item]} "
                    f"and {i}."
                )
            seen[item] = i
    return tuple(items)


def integer_list(
    value: Any,
    where: str,
    minimum: int | None = None,
    maximum: int | None = None,
    nonempty: bool = False,
) -> tuple[int, ...]:
    items = sequence(value, where, _range("integers", minimum, maximum))
    if nonempty and not items:
        raise fail(where, "a non-empty list of integers", value)
    return tuple(integer(v, f"{where}[{i}]", minimum, maximum) for i, v in enumerate(items))


def sha256(value: Any, where: str, null_ok: bool = False) -> str | None:
    if value is None and null_ok:
        return None
    if not isinstance(value, str) or not _SHA256.match(value):
        raise fail(
            where, "a sha256: 64 lower-case hex digits" + (" or null" if null_ok else ""), value
        )
    return value


def _range(what: str, minimum: float | None, maximum: float | None) -> str:
    if minimum is not None and maximum is not None:
        return f"{what} in {minimum:g}..{maximum:g}"
    if minimum is not None:
        return f"{what} >= {minimum:g}"
    if maximum is not None:
        return f"{what} <= {maximum:g}"
    return what
