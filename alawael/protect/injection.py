"""Operator injection: user input must never smuggle MongoDB operators into a query.

GraphQL's typed inputs already stop `{"$ne": null}` where a String belongs, but JSON
scalars, REST bodies and query strings do not. Call `reject_operators(value, "field")` on
any such value before it reaches a filter, update or pipeline, and `require_scalar` where a
plain value (id, email, sku, ...) is expected.
"""

from __future__ import annotations

from typing import Any

from alawael.shared.errors import BadUserInput

MAX_DEPTH = 32  # deeper JSON is refused too: nobody sends it on purpose


def reject_operators(value: Any, field: str = "input") -> None:
    """Raise BadUserInput when `value` holds a `$`-prefixed key (or a key with a NUL byte or
    a dot path) at any depth. Lists and nested objects are walked."""
    _walk(value, field, 0)


def require_scalar(value: Any, field: str) -> None:
    """Raise BadUserInput unless `value` is a string, number, boolean or null."""
    if isinstance(value, dict | list | tuple | set):
        raise BadUserInput(f"`{field}` must be a single value, not an object or list.", field=field)


def _walk(value: Any, path: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise BadUserInput(f"`{path}` is nested too deeply.", field=path)
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise BadUserInput(f"`{path}` has a non-string key.", field=path)
            if key.startswith("$") or "\x00" in key or "." in key:
                raise BadUserInput(
                    f"`{path}` may not contain the key {key[:40]!r} (operators and dotted "
                    "paths are not accepted in input).",
                    field=path,
                )
            _walk(item, f"{path}.{key}", depth + 1)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _walk(item, f"{path}[{index}]", depth + 1)
