"""Turn HTML form strings into typed values, following the schema."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from app.forms_schema._walk import Schema, deref, enum_options, schema_type

_MISSING = object()
_TRUE = frozenset({"on", "true", "1", "yes", "y", "是"})
_FALSE = frozenset({"off", "false", "0", "no", "n", "否"})
_INTEGER = re.compile(r"[+-]?\d+")
# Index segments ("materials.3.name") above this are ignored: lists are compacted, but keep them small.
MAX_INDEX = 999


def coerce_data(
    root: Schema, raw: Mapping[str, str | Sequence[str]], ui: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Typed data from form strings; dotted keys ("applicant.name", "materials.0.name") fill nested values."""
    tree: dict[Any, Any] = {}
    for key, value in raw.items():
        found = _schema_at(root, key.split("."))
        if found is None:
            continue
        node, path = found
        values = _values(raw, key, value)
        converted = _convert(root, node, values)
        if converted is not _MISSING:
            _put(tree, path, converted)
    for name, subschema in _properties(deref(root, root)).items():
        node = deref(root, subschema)
        if name not in tree and schema_type(node) == "boolean" and _widget(ui, name) in (None, "checkbox"):
            tree[name] = False  # an unticked checkbox is not submitted at all
    result = _compact(tree)
    return result if isinstance(result, dict) else {}


def _values(raw: Mapping[str, str | Sequence[str]], key: str, value: str | Sequence[str]) -> list[str]:
    """All submitted values of a key; a werkzeug MultiDict's `items()` would give only the first one."""
    getlist = getattr(raw, "getlist", None)
    if callable(getlist):
        return [str(v) for v in getlist(key)]
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _properties(node: Schema) -> dict[str, Any]:
    properties = node.get("properties")
    return properties if isinstance(properties, dict) else {}


def _widget(ui: Mapping[str, Any] | None, name: str) -> str | None:
    field_ui = ui.get(name) if ui else None
    widget = field_ui.get("ui:widget") if isinstance(field_ui, dict) else None
    return widget if isinstance(widget, str) else None


def _schema_at(root: Schema, parts: list[str]) -> tuple[Schema, list[str | int]] | None:
    """The schema a dotted form key addresses and the typed path to it, or None for unknown keys."""
    node = deref(root, root)
    path: list[str | int] = []
    for part in parts:
        kind = schema_type(node)
        if kind == "object" and part in _properties(node):
            node = deref(root, _properties(node)[part])
            path.append(part)
        elif kind == "array" and part.isdigit() and int(part) <= MAX_INDEX:
            node = deref(root, node.get("items", {}))
            path.append(int(part))
        else:
            return None
    return node, path


def _convert(root: Schema, node: Schema, values: list[str]) -> Any:
    if schema_type(node) == "array":
        items = deref(root, node.get("items", {}))
        converted = [_scalar(items, v) for v in values]
        return [v for v in converted if v is not _MISSING]
    if schema_type(node) == "object" or not values:
        return _MISSING
    return _scalar(node, values[-1])  # the last value wins (hidden "false" + checkbox "true")


def _scalar(node: Schema, raw: str) -> Any:
    text = raw.strip()
    if not text:
        return _MISSING
    options = [(node["const"], "")] if "const" in node else enum_options(node)
    for value, _label in options:
        if _form_text(value) == text:
            return value
    kind = schema_type(node)
    if kind == "integer":
        return _integer(text)
    if kind == "number":
        return _number(text)
    if kind == "boolean":
        lowered = text.lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else text
    if kind == "null":
        return None
    return text


def _form_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _integer(text: str) -> int | str:
    cleaned = text.replace(",", "").replace("，", "")
    if not _INTEGER.fullmatch(cleaned):
        return text
    try:
        return int(cleaned)
    except ValueError:  # more digits than Python converts
        return text


def _number(text: str) -> int | float | str:
    as_int = _integer(text)
    if isinstance(as_int, int):
        return as_int
    try:
        value = float(text.replace(",", "").replace("，", ""))
    except ValueError:
        return text
    return value if math.isfinite(value) else text


def _put(tree: dict[Any, Any], parts: list[str | int], value: Any) -> None:
    if not parts:
        return
    node = tree
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def _compact(node: Any) -> Any:
    """Dicts keyed by list indices become lists in index order."""
    if not isinstance(node, dict):
        return node
    if node and all(isinstance(k, int) for k in node):
        return [_compact(node[k]) for k in sorted(node)]
    return {k: _compact(v) for k, v in node.items()}
