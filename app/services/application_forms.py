"""The applicant-side start form of a catalogue item, per processing mode (JSON Schema, drawn by formrender).

Departments (牵头部门, 成员部门) come from the item, never from the applicant.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from app.forms_schema import FormSchema

CREDIT_CODE = "^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"
MOBILE = "^1[3-9][0-9]{9}$"

COMMON: dict[str, dict[str, Any]] = {
    "applicant_name": {"type": "string", "title": "申请人（单位）名称", "minLength": 2, "maxLength": 100},
    "credit_code": {
        "type": "string",
        "title": "统一社会信用代码",
        "pattern": CREDIT_CODE,
        "description": "18 位，营业执照上载明；新设立企业可填名称预先核准后的代码",
    },
    "contact_name": {"type": "string", "title": "联系人", "minLength": 2, "maxLength": 40},
    "contact_phone": {
        "type": "string",
        "title": "联系电话（手机）",
        "pattern": MOBILE,
        "description": "用于接收办理进度短信；查询进度时需输入后 4 位",
    },
    "address": {"type": "string", "title": "住所（经营场所）地址", "minLength": 4, "maxLength": 200},
}

EXTRA: dict[str, dict[str, dict[str, Any]]] = {
    "parallel": {
        "legal_representative": {"type": "string", "title": "法定代表人", "minLength": 2, "maxLength": 40},
        "business_scope": {"type": "string", "title": "经营范围", "maxLength": 1000},
    },
    "tolerant": {
        "business_scope": {"type": "string", "title": "经营项目", "maxLength": 1000},
    },
    "commitment": {},
}
REQUIRED = ["applicant_name", "credit_code", "contact_name", "contact_phone", "address"]
PARALLEL_REQUIRED = [*REQUIRED, "legal_representative"]
UI: dict[str, Any] = {
    "business_scope": {"ui:widget": "textarea", "ui:options": {"rows": 3}},
    "credit_code": {"ui:placeholder": "91320500MA1XYW0001"},
    "contact_phone": {"ui:placeholder": "13800000000"},
}
MODES = frozenset(EXTRA)


@cache
def start_form(mode: str) -> FormSchema:
    """The start form for items processed in `mode` (parallel / tolerant / commitment)."""
    properties = {**COMMON, **EXTRA.get(mode, {})}
    required = PARALLEL_REQUIRED if mode == "parallel" else REQUIRED
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "title": "申请信息",
        "properties": properties,
        "required": required,
    }
    return FormSchema(name=f"apply_{mode}.schema.json", schema=schema, ui_schema=UI)
