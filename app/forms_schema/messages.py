"""Chinese messages for jsonschema validation errors, one FieldError per offending field."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from jsonschema.exceptions import ValidationError

from app.forms_schema._walk import Schema, label_for
from app.forms_schema.errors import FieldError

REQUIRED = "此项为必填项"
CHOOSE_FROM_LIST = "请从列表中选择"
NOT_ALLOWED = "不允许填写此项"

_TYPE_NAMES = {
    "string": "文本",
    "integer": "整数",
    "number": "数字",
    "boolean": "是/否",
    "array": "列表",
    "object": "对象",
    "null": "空值",
}
_FORMAT_MESSAGES = {
    "date": "请输入有效日期（格式：年-月-日，如 2026-01-05）",
    "date-time": "请输入有效的日期时间（如 2026-01-05T09:00:00+08:00）",
    "email": "请输入有效的电子邮箱地址",
}


def _value(error: ValidationError) -> Any:
    return error.validator_value


def _type(error: ValidationError) -> str:
    expected = _value(error)
    names = [expected] if isinstance(expected, str) else list(expected)
    return "应填写" + "或".join(_TYPE_NAMES.get(str(n), str(n)) for n in names)


def _const(error: ValidationError) -> str:
    if _value(error) is True:
        return "请勾选此项"
    return f"取值必须为“{label_for(_schema(error), _value(error))}”"


def _min_items(error: ValidationError) -> str:
    return "请至少选择或填写一项" if error.validator_value == 1 else f"至少需要 {error.validator_value} 项"


def _one_of(error: ValidationError) -> str:
    branches = _value(error)
    if isinstance(branches, list) and all(isinstance(b, dict) and "const" in b for b in branches):
        return CHOOSE_FROM_LIST
    return "填写内容不符合任何一种允许的格式"


def _schema(error: ValidationError) -> Schema:
    return error.schema if isinstance(error.schema, dict) else {}


_SIMPLE: dict[str, Callable[[ValidationError], str]] = {
    "type": _type,
    "enum": lambda e: CHOOSE_FROM_LIST,
    "const": _const,
    "minLength": lambda e: f"至少需要 {e.validator_value} 个字符",
    "maxLength": lambda e: f"最多 {e.validator_value} 个字符",
    "minimum": lambda e: f"不能小于 {e.validator_value}",
    "maximum": lambda e: f"不能大于 {e.validator_value}",
    "exclusiveMinimum": lambda e: f"必须大于 {e.validator_value}",
    "exclusiveMaximum": lambda e: f"必须小于 {e.validator_value}",
    "multipleOf": lambda e: f"必须是 {e.validator_value} 的倍数",
    "pattern": lambda e: "格式不正确",
    "format": lambda e: _FORMAT_MESSAGES.get(str(e.validator_value), "格式不正确"),
    "minItems": _min_items,
    "maxItems": lambda e: f"最多 {e.validator_value} 项",
    "uniqueItems": lambda e: "不能有重复项",
    "minProperties": lambda e: f"至少需要填写 {e.validator_value} 项",
    "maxProperties": lambda e: f"最多填写 {e.validator_value} 项",
    "oneOf": _one_of,
    "anyOf": _one_of,
    "not": lambda e: "该取值不被允许",
    "contains": lambda e: "缺少必需的项",
}


def _path(parts: Any) -> str:
    return ".".join(str(p) for p in parts)


def _custom(error: ValidationError) -> str | None:
    """A designer-written message: `x-errorMessage` as text, or as {keyword: text}."""
    custom = _schema(error).get("x-errorMessage")
    if isinstance(custom, str):
        return custom
    if isinstance(custom, dict) and isinstance(custom.get(str(error.validator)), str):
        return str(custom[str(error.validator)])
    return None


def _child(base: str, name: str) -> str:
    return f"{base}.{name}" if base else name


def _extra_properties(error: ValidationError) -> list[str]:
    schema = _schema(error)
    known = schema.get("properties")
    known = known if isinstance(known, dict) else {}
    patterns = schema.get("patternProperties")
    patterns = patterns if isinstance(patterns, dict) else {}
    instance = error.instance if isinstance(error.instance, dict) else {}
    return [
        str(key) for key in instance if key not in known and not any(re.search(p, str(key)) for p in patterns)
    ]


def field_errors(error: ValidationError) -> Iterator[FieldError]:
    """The FieldErrors one jsonschema error stands for (a `required` error names each missing field)."""
    kind = str(error.validator)
    base = _path(error.absolute_path)
    if kind in ("required", "dependentRequired"):
        instance = error.instance if isinstance(error.instance, dict) else {}
        names = _value(error)
        if kind == "dependentRequired":
            names = [n for deps in names.values() for n in deps] if isinstance(names, dict) else []
        for name in names:
            if name not in instance:
                yield FieldError(_child(base, str(name)), _custom(error) or REQUIRED, "required")
        return
    if kind in ("additionalProperties", "unevaluatedProperties"):
        for name in _extra_properties(error):
            yield FieldError(_child(base, name), NOT_ALLOWED, kind)
        return
    translate = _SIMPLE.get(kind)
    message = _custom(error) or (translate(error) if translate else "填写内容不符合要求")
    yield FieldError(base, message, kind)


def translate_errors(errors: Iterator[ValidationError]) -> list[FieldError]:
    """Chinese FieldErrors for jsonschema errors, ordered by path, without duplicates."""
    result: dict[tuple[str, str], FieldError] = {}
    for error in sorted(errors, key=lambda e: (_path(e.absolute_path), str(e.validator))):
        for field_error in field_errors(error):
            result.setdefault((field_error.path, field_error.message), field_error)
    return sorted(result.values(), key=lambda e: e.path)
