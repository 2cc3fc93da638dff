"""Coercion of HTML form input, generated default data, and field descriptions."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from app.forms_schema import FieldSpec, FormSchema, load_form_bytes

SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "审批意见",
    "required": ["decision", "opinion", "days", "fee", "materials", "received_on", "channels"],
    "properties": {
        "decision": {
            "title": "审批结论",
            "oneOf": [{"const": "approve", "title": "同意"}, {"const": "reject", "title": "不同意"}],
        },
        "opinion": {"type": "string", "title": "审批意见", "minLength": 5, "maxLength": 200},
        "days": {"type": "integer", "title": "承诺时限", "minimum": 1, "maximum": 45},
        "fee": {"type": "number", "minimum": 0.5, "multipleOf": 0.5},
        "level": {"type": "integer", "enum": [1, 2, 3], "x-enumLabels": ["一级", "二级", "三级"]},
        "urgent": {"type": "boolean", "title": "加急"},
        "notify": {"type": "boolean", "default": True},
        "received_on": {"type": "string", "format": "date"},
        "email": {"type": "string", "format": "email"},
        "phone": {"type": "string", "pattern": "^1[3-9][0-9]{9}$"},
        "code": {"type": "string", "pattern": "^[0-9A-Z]{18}$"},
        "channels": {
            "type": "array",
            "minItems": 2,
            "uniqueItems": True,
            "items": {"type": "string", "enum": ["window", "online", "mail"]},
        },
        "applicant": {
            "type": "object",
            "required": ["name", "age"],
            "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 18}},
        },
        "materials": {
            "type": "array",
            "minItems": 1,
            "items": {"$ref": "#/$defs/material"},
        },
        "agree": {"const": True, "title": "我承诺所填信息真实"},
    },
    "$defs": {
        "material": {
            "type": "object",
            "required": ["name", "copies"],
            "properties": {"name": {"type": "string"}, "copies": {"type": "integer", "minimum": 1}},
        }
    },
}
UI: dict[str, Any] = {
    "ui:order": ["opinion", "decision", "*"],
    "opinion": {"ui:widget": "textarea", "ui:placeholder": "请填写意见"},
    "channels": {"ui:enumNames": ["窗口", "网上", "邮寄"]},
    "urgent": {"ui:widget": "radio"},
}
FORM = FormSchema("opinion.schema.json", SCHEMA, UI)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"days": "20"}, {"days": 20}),
        ({"days": " 1,000 "}, {"days": 1000}),
        ({"days": "2.5"}, {"days": "2.5"}),  # left for validation to report
        ({"days": "9" * 5000}, {"days": "9" * 5000}),  # too many digits: not converted
        ({"fee": "1.5"}, {"fee": 1.5}),
        ({"fee": "2"}, {"fee": 2}),
        ({"fee": "nan"}, {"fee": "nan"}),
        ({"level": "2"}, {"level": 2}),
        ({"decision": "approve"}, {"decision": "approve"}),
        ({"urgent": "true", "notify": "on"}, {"urgent": True, "notify": True}),
        ({"urgent": "false", "notify": ["false", "on"]}, {"urgent": False, "notify": True}),
        ({"notify": "off", "agree": "on"}, {"notify": False, "agree": True}),
        ({"received_on": "2026-01-05"}, {"received_on": "2026-01-05"}),
        ({"opinion": "  同意办理  "}, {"opinion": "同意办理"}),
        ({"opinion": "   ", "days": ""}, {}),  # empty inputs are left out
        ({"channels": ["window", "mail"]}, {"channels": ["window", "mail"]}),
        ({"channels": "online"}, {"channels": ["online"]}),
        ({"channels": [""]}, {"channels": []}),
        ({"csrf_token": "abc", "submit": "提交"}, {}),  # unknown keys left out
        ({"applicant.name": "张三", "applicant.age": "30"}, {"applicant": {"name": "张三", "age": 30}}),
        (
            {"materials.1.name": "营业执照", "materials.0.name": "身份证", "materials.0.copies": "2"},
            {"materials": [{"name": "身份证", "copies": 2}, {"name": "营业执照"}]},
        ),
        ({"materials.x.name": "?", "applicant.nope": "?"}, {}),
        ({"agree": "true"}, {"agree": True}),
    ],
)
def test_coerce(raw: dict[str, str | Sequence[str]], expected: dict[str, Any]) -> None:
    # Unticked checkboxes are not submitted: absent "notify"/"agree" -> False; radio "urgent" -> left out.
    assert FORM.coerce(raw) == {"notify": False, "agree": False, **expected}


def test_coerce_then_validate_reports_left_out_required_fields() -> None:
    errors = FORM.validate(FORM.coerce({"opinion": "", "days": "abc"}))
    by_path = {e.path: e.message for e in errors}
    assert by_path["opinion"] == "此项为必填项"
    assert by_path["days"] == "应填写整数"


def test_default_data_validates_and_uses_the_schema() -> None:
    data = FORM.default_data()
    assert FORM.validate(data) == []
    assert data == {
        "decision": "approve",
        "opinion": "示例示例示",
        "days": 1,
        "fee": 0.5,
        "notify": True,
        "received_on": "2026-01-05",
        "channels": ["window", "online"],
        "materials": [{"name": "示例", "copies": 1}],
        "agree": True,
    }


@pytest.mark.parametrize(
    ("prop", "expected"),
    [
        ({"type": "string", "pattern": "^1[3-9][0-9]{9}$"}, "13800138000"),
        ({"type": "string", "pattern": "^[0-9]{17}[0-9X]$"}, "110101199003074514"),
        ({"type": "string", "pattern": "^[A-Z]+[0-9]+$"}, "A001"),
        ({"type": "string", "minLength": 3, "maxLength": 3}, "示例示"),
        ({"type": "string", "maxLength": 1}, "示"),
        ({"type": "string", "format": "email"}, "zhangsan@example.gov.cn"),
        ({"type": "string", "format": "date-time"}, "2026-01-05T09:00:00+08:00"),
        ({"type": "integer", "exclusiveMinimum": 3}, 4),
        ({"type": "integer", "maximum": -2}, -2),
        ({"type": "integer", "minimum": 1, "multipleOf": 7}, 7),
        ({"type": "number", "minimum": 0.25}, 0.25),
        ({"type": ["string", "null"], "minLength": 1}, "示例"),
        ({"type": "boolean"}, False),
        ({"enum": ["甲", "乙"]}, "甲"),
        ({"type": "string", "examples": ["县市场监管局"]}, "县市场监管局"),
        ({"anyOf": [{"type": "integer", "minimum": 3}, {"type": "string"}]}, 3),
        ({"type": "array", "items": {"type": "string"}}, []),
        ({"type": "array", "minItems": 2, "items": {"type": "integer", "minimum": 1}}, [1, 1]),
        (
            {
                "type": "object",
                "required": ["a"],
                "properties": {"a": {"type": "integer"}, "b": {"type": "string"}},
            },
            {"a": 0},
        ),
    ],
)
def test_default_data_per_type(prop: dict[str, Any], expected: Any) -> None:
    form = FormSchema("t.schema.json", {"type": "object", "required": ["x"], "properties": {"x": prop}})
    data = form.default_data()
    assert data == {"x": expected}
    assert form.validate(data) == []


def test_default_data_of_a_recursive_schema_terminates() -> None:
    schema = {
        "type": "object",
        "required": ["child"],
        "properties": {"child": {"$ref": "#"}, "name": {"type": "string"}},
    }
    form = load_form_bytes("tree.schema.json", json.dumps(schema).encode())
    data = form.default_data()
    depth = 0
    node: Any = data
    while isinstance(node, dict) and "child" in node:
        node, depth = node["child"], depth + 1
    assert 1 <= depth <= 20  # cut off; such a schema has no finite valid instance anyway


def test_fields_follow_ui_order_and_carry_labels() -> None:
    fields = FORM.fields()
    names = [f.name for f in fields]
    assert names[:2] == ["opinion", "decision"]
    assert sorted(names) == sorted(SCHEMA["properties"])
    by_name = {f.name: f for f in fields}
    assert by_name["decision"] == FieldSpec(
        name="decision",
        title="审批结论",
        type="string",
        required=True,
        enum=("approve", "reject"),
        enum_labels=("同意", "不同意"),
        schema=SCHEMA["properties"]["decision"],
    )
    opinion = by_name["opinion"]
    assert (opinion.widget, opinion.placeholder, opinion.type, opinion.required) == (
        "textarea",
        "请填写意见",
        "string",
        True,
    )
    channels = by_name["channels"]
    assert (channels.multiple, channels.enum, channels.enum_labels) == (
        True,
        ("window", "online", "mail"),
        ("窗口", "网上", "邮寄"),
    )
    assert (by_name["level"].enum, by_name["level"].enum_labels) == ((1, 2, 3), ("一级", "二级", "三级"))
    assert (by_name["received_on"].format, by_name["received_on"].required) == ("date", True)
    assert (by_name["urgent"].type, by_name["urgent"].required, by_name["urgent"].widget) == (
        "boolean",
        False,
        "radio",
    )
    assert by_name["materials"].title == "materials"
    assert by_name["notify"].default is True


def test_fields_without_ui_schema_keep_schema_order() -> None:
    form = FormSchema("t.schema.json", {"type": "object", "properties": {"b": {}, "a": {}}})
    assert [f.name for f in form.fields()] == ["b", "a"]


class MultiValues(dict[str, str]):
    """Behaves like werkzeug's MultiDict: items() gives the first value, getlist() all of them."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        super().__init__()
        self.pairs = pairs
        for key, value in pairs:
            self.setdefault(key, value)

    def getlist(self, key: str) -> list[str]:
        return [value for k, value in self.pairs if k == key]


def test_coerce_reads_every_value_of_a_multidict() -> None:
    raw = MultiValues([("channels", "window"), ("channels", "online"), ("days", "3")])
    assert FORM.coerce(raw) == {"channels": ["window", "online"], "days": 3, "notify": False, "agree": False}
