"""Small helpers over parsed JSON Schema documents: local `$ref` resolution, types, enum options."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

Schema = dict[str, Any]

# Local references are followed at most this deep (guards against `$ref` cycles in helpers).
MAX_REF_HOPS = 16


def resolve_pointer(root: Schema, ref: str) -> Any:
    """The value a local reference ("#" or "#/a/b") points at, or None if it does not resolve."""
    if ref == "#":
        return root
    if not ref.startswith("#/"):
        return None
    node: Any = root
    for raw in ref[2:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def deref(root: Schema, schema: Any) -> Schema:
    """Follow local `$ref`s until a schema without one (merging sibling keywords); {} if unresolvable."""
    current: Any = schema
    merged: Schema = {}
    for _ in range(MAX_REF_HOPS):
        if not isinstance(current, dict):
            return merged
        ref = current.get("$ref")
        merged = {**{k: v for k, v in current.items() if k != "$ref"}, **merged}
        if not isinstance(ref, str):
            return merged
        current = resolve_pointer(root, ref)
    return merged


def schema_type(schema: Schema) -> str | None:
    """The (first non-null) JSON type a schema declares, inferred from const/enum when absent."""
    declared = schema.get("type")
    if isinstance(declared, list):
        declared = next((t for t in declared if t != "null"), None)
    if isinstance(declared, str):
        return declared
    if "const" in schema:
        return _json_type(schema["const"])
    options = enum_options(schema)
    if options:
        return _json_type(options[0][0])
    if "properties" in schema:
        return "object"
    return None


def _json_type(value: Any) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return None


def enum_options(schema: Schema, ui: Any = None) -> list[tuple[Any, str]]:
    """(value, label) pairs from `enum` (+ `x-enumLabels` / `ui:enumNames`) or from `oneOf`/`anyOf` consts."""
    if isinstance(schema.get("enum"), list):
        values: list[Any] = list(schema["enum"])
        labels = schema.get("x-enumLabels")
        if isinstance(ui, dict) and isinstance(ui.get("ui:enumNames"), list):
            labels = ui["ui:enumNames"]
        if not isinstance(labels, list) or len(labels) != len(values):
            labels = [_label(v) for v in values]
        return [(v, str(label)) for v, label in zip(values, labels, strict=True)]
    for keyword in ("oneOf", "anyOf"):
        branches = schema.get(keyword)
        if isinstance(branches, list) and branches and all(_is_const(b) for b in branches):
            return [(b["const"], str(b.get("title", _label(b["const"])))) for b in branches]
    return []


def _is_const(branch: Any) -> bool:
    return isinstance(branch, dict) and "const" in branch


def _label(value: Any) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def label_for(schema: Schema, value: Any) -> str:
    """The display label of one enum value, or the value itself."""
    for option, label in enum_options(schema):
        if option == value and type(option) is type(value):
            return label
    return _label(value)


def iter_nodes(document: Any) -> Iterator[Any]:
    """Every value inside a parsed JSON document, depth first, without recursion."""
    stack = [document]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def depth_exceeds(document: Any, limit: int) -> bool:
    """Whether containers in a parsed JSON document nest deeper than `limit` (checked without recursion)."""
    stack: list[tuple[Any, int]] = [(document, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
    return False
