"""Validation: one Chinese message per failing keyword, on the offending field's path."""

from __future__ import annotations

from typing import Any

import pytest

from app.forms_schema import FieldError, FormSchema

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "title": "行政许可申请",
    "required": ["applicant", "count", "decision"],
    "additionalProperties": False,
    "properties": {
        "applicant": {"type": "string", "title": "申请人", "minLength": 2, "maxLength": 10},
        "count": {"type": "integer", "minimum": 1, "maximum": 5},
        "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        "step": {"type": "integer", "multipleOf": 5},
        "kind": {"enum": ["new", "renew"], "x-enumLabels": ["新办", "延续"]},
        "decision": {
            "oneOf": [{"const": "approve", "title": "同意"}, {"const": "reject", "title": "不同意"}]
        },
        "agree": {"const": True},
        "version": {"const": "v2"},
        "phone": {"type": "string", "pattern": "^1[3-9][0-9]{9}$"},
        "idcard": {
            "type": "string",
            "pattern": "^[0-9]{17}[0-9X]$",
            "x-errorMessage": "请输入18位身份证号码",
        },
        "start": {"type": "string", "format": "date"},
        "mail": {"type": "string", "format": "email"},
        "urgent": {"type": "boolean"},
        "tags": {
            "type": "array",
            "items": {"type": "string"},
            "minItems": 2,
            "maxItems": 3,
            "uniqueItems": True,
        },
        "materials": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string"}, "pages": {"type": "integer"}},
            },
        },
    },
}
VALID: dict[str, Any] = {"applicant": "张三", "count": 2, "decision": "approve"}
FORM = FormSchema("apply.schema.json", SCHEMA)


def test_valid_data_has_no_errors() -> None:
    assert FORM.validate(VALID) == []
    assert FORM.is_valid(VALID)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"applicant": "张"}, FieldError("applicant", "至少需要 2 个字符", "minLength")),
        ({"applicant": "张" * 11}, FieldError("applicant", "最多 10 个字符", "maxLength")),
        ({"applicant": 12}, FieldError("applicant", "应填写文本", "type")),
        ({"count": "2"}, FieldError("count", "应填写整数", "type")),
        ({"count": 0}, FieldError("count", "不能小于 1", "minimum")),
        ({"count": 6}, FieldError("count", "不能大于 5", "maximum")),
        ({"ratio": 0}, FieldError("ratio", "必须大于 0", "exclusiveMinimum")),
        ({"ratio": 1}, FieldError("ratio", "必须小于 1", "exclusiveMaximum")),
        ({"step": 7}, FieldError("step", "必须是 5 的倍数", "multipleOf")),
        ({"kind": "other"}, FieldError("kind", "请从列表中选择", "enum")),
        ({"decision": "maybe"}, FieldError("decision", "请从列表中选择", "oneOf")),
        ({"agree": False}, FieldError("agree", "请勾选此项", "const")),
        ({"version": "v1"}, FieldError("version", "取值必须为“v2”", "const")),
        ({"phone": "12345"}, FieldError("phone", "格式不正确", "pattern")),
        ({"idcard": "123"}, FieldError("idcard", "请输入18位身份证号码", "pattern")),
        (
            {"start": "2026-02-30"},
            FieldError("start", "请输入有效日期（格式：年-月-日，如 2026-01-05）", "format"),
        ),
        (
            {"start": "2026/01/05"},
            FieldError("start", "请输入有效日期（格式：年-月-日，如 2026-01-05）", "format"),
        ),
        ({"mail": "zhangsan@"}, FieldError("mail", "请输入有效的电子邮箱地址", "format")),
        ({"urgent": "yes"}, FieldError("urgent", "应填写是/否", "type")),
        ({"tags": ["a"]}, FieldError("tags", "至少需要 2 项", "minItems")),
        ({"tags": ["a", "b", "c", "d"]}, FieldError("tags", "最多 3 项", "maxItems")),
        ({"tags": ["a", "a"]}, FieldError("tags", "不能有重复项", "uniqueItems")),
        ({"materials": []}, FieldError("materials", "请至少选择或填写一项", "minItems")),
        ({"materials": [{"name": "身份证"}, {}]}, FieldError("materials.1.name", "此项为必填项", "required")),
        ({"materials": [{"name": "x", "pages": "3"}]}, FieldError("materials.0.pages", "应填写整数", "type")),
        ({"unknown": 1}, FieldError("unknown", "不允许填写此项", "additionalProperties")),
    ],
)
def test_message_kinds(change: dict[str, Any], expected: FieldError) -> None:
    assert FORM.validate({**VALID, **change}) == [expected]


def test_required_is_reported_on_each_missing_field() -> None:
    assert FORM.validate({"count": 1}) == [
        FieldError("applicant", "此项为必填项", "required"),
        FieldError("decision", "此项为必填项", "required"),
    ]


def test_valid_formats_pass() -> None:
    data = {**VALID, "start": "2028-02-29", "mail": "li.si@example.gov.cn", "phone": "13800138000"}
    assert FORM.validate(data) == []


def test_several_errors_sorted_by_path() -> None:
    errors = FORM.validate({"applicant": "张", "count": 9, "decision": "approve", "zz": 1})
    assert [e.path for e in errors] == ["applicant", "count", "zz"]


def test_too_deep_data_is_refused() -> None:
    deep: Any = "x"
    for _ in range(40):
        deep = [deep]
    assert FORM.validate({**VALID, "tags": deep}) == [FieldError("", "提交的数据嵌套层级过深", "depth")]


def test_root_type_error_has_empty_path() -> None:
    form = FormSchema("x.schema.json", {"type": "object", "minProperties": 1})
    assert form.validate({}) == [FieldError("", "至少需要填写 1 项", "minProperties")]
