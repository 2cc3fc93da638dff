"""Loading form files: the registry, bad files, size and depth limits, no remote `$ref`."""

from __future__ import annotations

import json
import os
import re
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from app.forms_schema import (
    MAX_FORM_BYTES,
    FieldError,
    FormInvalid,
    FormNotFound,
    FormRegistry,
    FormSchema,
    load_form_bytes,
)

INTAKE: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "受理登记",
    "description": "窗口受理员填写",
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string", "title": "申请人"}},
}


def write(directory: Path, name: str, content: Any) -> Path:
    path = directory / name
    path.write_text(content if isinstance(content, str) else json.dumps(content, ensure_ascii=False), "utf-8")
    return path


def test_registry_lists_and_loads(tmp_path: Path) -> None:
    write(tmp_path, "intake.schema.json", INTAKE)
    write(tmp_path, "intake.uischema.json", {"name": {"ui:widget": "textarea"}})
    write(tmp_path, "approve.schema.json", {"type": "object"})
    write(tmp_path, "notes.txt", "not a form")
    registry = FormRegistry(tmp_path)
    assert registry.names() == ["approve.schema.json", "intake.schema.json"]
    form = registry.get("intake.schema.json")
    assert (form.name, form.title, form.description) == ("intake.schema.json", "受理登记", "窗口受理员填写")
    assert form.ui_schema == {"name": {"ui:widget": "textarea"}}
    assert registry.get("intake") is form  # short name, and cached
    assert registry.get("approve.schema.json").title == "approve.schema.json"
    assert registry.get("approve.schema.json").ui_schema is None
    assert registry.problems() == []


def test_registry_reloads_when_the_file_changes(tmp_path: Path) -> None:
    path = write(tmp_path, "intake.schema.json", INTAKE)
    registry = FormRegistry(tmp_path)
    first = registry.get("intake.schema.json")
    write(tmp_path, "intake.schema.json", {**INTAKE, "title": "受理登记（新）"})
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = registry.get("intake.schema.json")
    assert second is not first
    assert second.title == "受理登记（新）"


@pytest.mark.parametrize(
    "name", ["missing.schema.json", "../intake.schema.json", "sub/intake.schema.json", "x.json"]
)
def test_not_found(tmp_path: Path, name: str) -> None:
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub", "intake.schema.json", INTAKE)
    write(tmp_path, "x.json", INTAKE)
    registry = FormRegistry(tmp_path / "sub" if name.startswith("..") else tmp_path)
    with pytest.raises(FormNotFound) as info:
        registry.get(name)
    assert "不存在" in str(info.value)
    assert "not found" in str(info.value)


def test_missing_directory_has_no_names(tmp_path: Path) -> None:
    assert FormRegistry(tmp_path / "nope").names() == []


def test_bad_json_names_the_file_and_position(tmp_path: Path) -> None:
    write(tmp_path, "broken.schema.json", '{\n  "type": "object",\n  "properties": {,}\n}')
    with pytest.raises(FormInvalid) as info:
        FormRegistry(tmp_path).get("broken.schema.json")
    message = str(info.value)
    assert "broken.schema.json" in message
    assert "第 3 行第 18 列" in message
    assert "bad JSON at line 3 column 18" in message
    assert info.value.name == "broken.schema.json"


def test_problems_lists_every_broken_form(tmp_path: Path) -> None:
    write(tmp_path, "good.schema.json", INTAKE)
    write(tmp_path, "broken.schema.json", "{")
    write(tmp_path, "list.schema.json", [])
    problems = FormRegistry(tmp_path).problems()
    assert sorted(p.name for p in problems) == ["broken.schema.json", "list.schema.json"]


def test_bad_ui_schema_names_the_ui_file(tmp_path: Path) -> None:
    write(tmp_path, "intake.schema.json", INTAKE)
    write(tmp_path, "intake.uischema.json", "[1,")
    with pytest.raises(FormInvalid, match=re.escape("intake.uischema.json")):
        FormRegistry(tmp_path).get("intake.schema.json")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"\xff\xfe{}", "UTF-8"),
        (b'{"type": "object", "maximum": NaN}', "NaN"),
        (b"[]", "根节点必须是 JSON 对象"),
        (b'{"type": "array"}', '根类型必须是 "object"'),
        (b'{"type": "object", "properties": {"a": {"type": "strin"}}}', "properties/a/type"),
        (b'{"type": "object", "properties": {"a": {"pattern": "("}}}', "不是有效的 JSON Schema 2020-12"),
        (b'{"type": "object", "properties": {"a": {"minLength": -1}}}', "properties/a/minLength"),
        (b'{"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}', "2020-12"),
        (b'{"type": "object", "properties": {"a": {"$ref": "#/$defs/none"}}}', "引用无法解析"),
        (b'{"type": "object", "properties": {"a": {"$ref": "other.schema.json"}}}', "不允许引用外部定义"),
        (b'{"type": "object", "$ref": "#"}', "循环引用"),
        (b"[" * 100_000 + b"]" * 100_000, "JSON"),
    ],
)
def test_invalid_forms(content: bytes, fragment: str) -> None:
    with pytest.raises(FormInvalid) as info:
        load_form_bytes("upload.schema.json", content)
    assert fragment in str(info.value)
    assert str(info.value).startswith("表单文件 upload.schema.json 无效：")


def test_deep_but_small_schema_is_refused() -> None:
    schema: dict[str, Any] = {"type": "object"}
    for _ in range(70):
        schema = {"type": "object", "properties": {"a": schema}}
    with pytest.raises(FormInvalid, match="嵌套层级过深"):
        load_form_bytes("deep.schema.json", json.dumps(schema).encode())


def test_size_limit(tmp_path: Path) -> None:
    padding = "x" * MAX_FORM_BYTES
    big = json.dumps({**INTAKE, "description": padding}).encode()
    with pytest.raises(FormInvalid, match="256 KB"):
        load_form_bytes("big.schema.json", big)
    (tmp_path / "big.schema.json").write_bytes(big)
    with pytest.raises(FormInvalid, match=re.escape("big.schema.json")):
        FormRegistry(tmp_path).get("big.schema.json")


def test_local_refs_and_bom_are_fine() -> None:
    schema = {
        "type": "object",
        "$defs": {"name": {"type": "string", "minLength": 2}},
        "properties": {"name": {"$ref": "#/$defs/name"}},
    }
    form = load_form_bytes("refs.schema.json", b"\xef\xbb\xbf" + json.dumps(schema).encode())
    assert form.validate({"name": "张"}) == [FieldError("name", "至少需要 2 个字符", "minLength")]


def test_remote_ref_is_never_fetched(monkeypatch: pytest.MonkeyPatch) -> None:
    fetched: list[object] = []

    def fake_urlopen(*args: object, **kwargs: object) -> None:
        fetched.append(args)
        raise AssertionError("network access")

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    schema = {"type": "object", "properties": {"a": {"$ref": "https://example.com/evil.json"}}}
    with pytest.raises(FormInvalid, match=re.escape("https://example.com/evil.json")):
        load_form_bytes("remote.schema.json", json.dumps(schema).encode())
    # Even a FormSchema built without the loader's check does not fetch: it reports a broken form.
    form = FormSchema("remote.schema.json", schema)
    assert form.validate({"a": 1}) == [FieldError("", "表单定义有误，请联系管理员", "schema")]
    assert fetched == []
