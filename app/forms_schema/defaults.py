"""Plausible valid data derived from a schema, for the simulator and for tests that complete tasks."""

from __future__ import annotations

import math
import re
from typing import Any

from app.forms_schema._walk import Schema, deref, enum_options, schema_type

SAMPLE_DATE = "2026-01-05"
_MAX_DEPTH = 12
_FORMAT_SAMPLES = {
    "date": SAMPLE_DATE,
    "date-time": "2026-01-05T09:00:00+08:00",
    "time": "09:00:00",
    "email": "zhangsan@example.gov.cn",
    "uri": "https://example.gov.cn/",
}
# Tried in order against `pattern` and the length limits when a string has a pattern.
_STRING_CANDIDATES = (
    "示例",
    "示例文本",
    "A001",
    "1",
    "0",
    "a",
    "abc",
    "ABC123",
    "13800138000",  # mobile phone
    "0571-12345678",  # landline
    "310000",  # postcode
    "110101199003074514",  # 居民身份证号码
    "91350100M000100Y43",  # 统一社会信用代码
    SAMPLE_DATE,
)


def sample_value(root: Schema, schema: Any, depth: int = 0) -> Any:
    """A value that satisfies `schema` in the common cases (const, default, enum, type limits)."""
    node = deref(root, schema)
    if "const" in node:
        return node["const"]
    if "default" in node:
        return node["default"]
    options = enum_options(node)
    if options:
        return options[0][0]
    if "examples" in node and isinstance(node["examples"], list) and node["examples"]:
        return node["examples"][0]
    if depth >= _MAX_DEPTH:
        return None
    for keyword in ("oneOf", "anyOf"):
        if isinstance(node.get(keyword), list) and node[keyword]:
            return sample_value(root, node[keyword][0], depth + 1)
    kind = schema_type(node)
    if kind == "object":
        return _sample_object(root, node, depth)
    if kind == "array":
        return _sample_array(root, node, depth)
    if kind in ("integer", "number"):
        return _sample_number(node, integer=kind == "integer")
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return _sample_string(node)


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _sample_object(root: Schema, node: Schema, depth: int) -> dict[str, Any]:
    required = _as_list(node.get("required"))
    result: dict[str, Any] = {}
    for branch in _as_list(node.get("allOf")):
        result.update(_as_dict(sample_value(root, branch, depth + 1)))
    for name, subschema in _as_dict(node.get("properties")).items():
        sub = deref(root, subschema)
        if name in required or "default" in sub or "const" in sub:
            result[name] = sample_value(root, sub, depth + 1)
    for name in required:
        if name not in result:
            result[name] = "示例"
    return result


def _sample_array(root: Schema, node: Schema, depth: int) -> list[Any]:
    count = node.get("minItems", 0)
    count = count if isinstance(count, int) else 0
    items = deref(root, node.get("items", {}))
    options = enum_options(items)
    if options and node.get("uniqueItems"):
        return [value for value, _ in options[:count]]
    return [sample_value(root, items, depth + 1) for _ in range(count)]


def _sample_number(node: Schema, *, integer: bool) -> int | float:
    value: float = 0
    if isinstance(node.get("minimum"), int | float):
        value = node["minimum"]
    elif isinstance(node.get("exclusiveMinimum"), int | float):
        value = node["exclusiveMinimum"] + 1
    elif isinstance(node.get("maximum"), int | float) and node["maximum"] < 0:
        value = node["maximum"]
    elif isinstance(node.get("exclusiveMaximum"), int | float) and node["exclusiveMaximum"] <= 0:
        value = node["exclusiveMaximum"] - 1
    step = node.get("multipleOf")
    if isinstance(step, int | float) and step > 0:
        value = math.ceil(value / step) * step
    if integer or float(value).is_integer():
        return math.ceil(value)
    return value


def _fits(node: Schema, text: str) -> bool:
    minimum, maximum = node.get("minLength", 0), node.get("maxLength")
    if isinstance(minimum, int) and len(text) < minimum:
        return False
    if isinstance(maximum, int) and len(text) > maximum:
        return False
    pattern = node.get("pattern")
    return not isinstance(pattern, str) or re.search(pattern, text) is not None


def _sample_string(node: Schema) -> str:
    fmt = node.get("format")
    if isinstance(fmt, str) and fmt in _FORMAT_SAMPLES:
        return _FORMAT_SAMPLES[fmt]
    if "pattern" not in node:
        minimum = node.get("minLength", 0)
        minimum = minimum if isinstance(minimum, int) else 0
        maximum = node.get("maxLength")
        text = ("示例" * (minimum // 2 + 1))[: max(minimum, 2)]
        return text[:maximum] if isinstance(maximum, int) else text
    return next((text for text in _STRING_CANDIDATES if _fits(node, text)), "示例")
