"""Loading form files: size and depth limits, JSON parsing, 2020-12 checks, local-only `$ref`s."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from app.forms_schema._walk import depth_exceeds, deref, iter_nodes, resolve_pointer, schema_type
from app.forms_schema.errors import FormError, FormInvalid, FormNotFound
from app.forms_schema.schema import FormSchema

MAX_FORM_BYTES = 256 * 1024
MAX_SCHEMA_DEPTH = 64
SCHEMA_SUFFIX = ".schema.json"
UI_SUFFIX = ".uischema.json"
DIALECTS_2020_12 = frozenset(
    {"https://json-schema.org/draft/2020-12/schema", "https://json-schema.org/draft/2020-12/schema#"}
)


def ui_name_for(name: str) -> str:
    """The UI schema file paired with a form file: "intake.schema.json" -> "intake.uischema.json"."""
    return name.removesuffix(SCHEMA_SUFFIX) + UI_SUFFIX


def _refuse_constant(token: str) -> Any:
    raise ValueError(f"{token} is not valid JSON")


def parse_json(name: str, data: bytes) -> Any:
    """Parse one JSON file within the size and nesting limits, or raise FormInvalid naming the file."""
    if len(data) > MAX_FORM_BYTES:
        raise FormInvalid(
            name, f"文件超过 {MAX_FORM_BYTES // 1024} KB", f"larger than {MAX_FORM_BYTES} bytes"
        )
    try:
        document = json.loads(data.decode("utf-8-sig"), parse_constant=_refuse_constant)
    except UnicodeDecodeError as exc:
        raise FormInvalid(name, "文件不是 UTF-8 编码", "not UTF-8 encoded") from exc
    except json.JSONDecodeError as exc:
        where_zh = f"第 {exc.lineno} 行第 {exc.colno} 列"
        raise FormInvalid(
            name,
            f"JSON 格式错误（{where_zh}：{exc.msg}）",
            f"bad JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
        ) from exc
    except (ValueError, RecursionError) as exc:
        raise FormInvalid(name, f"JSON 内容无效（{exc}）", f"invalid JSON ({exc})") from exc
    if depth_exceeds(document, MAX_SCHEMA_DEPTH):
        raise FormInvalid(name, "嵌套层级过深", f"nested deeper than {MAX_SCHEMA_DEPTH} levels")
    return document


def _check_schema(name: str, schema: Any) -> dict[str, Any]:
    if not isinstance(schema, dict):
        raise FormInvalid(name, "根节点必须是 JSON 对象", "the top level must be a JSON object")
    dialect = schema.get("$schema")
    if dialect is not None and dialect not in DIALECTS_2020_12:
        raise FormInvalid(
            name,
            f"只支持 JSON Schema 2020-12（$schema 为 {dialect}）",
            f"only JSON Schema 2020-12 is supported, got {dialect}",
        )
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "(根)"
        raise FormInvalid(
            name,
            f"不是有效的 JSON Schema 2020-12（{where}：{exc.message}）",
            f"not a valid 2020-12 schema at {where}: {exc.message}",
        ) from exc
    if schema_type(deref(schema, schema)) != "object":
        raise FormInvalid(name, '表单的根类型必须是 "object"', 'the root schema must have "type": "object"')
    _check_refs(name, schema)
    return schema


def _check_refs(name: str, schema: dict[str, Any]) -> None:
    for node in iter_nodes(schema):
        if not isinstance(node, dict):
            continue
        for keyword in ("$ref", "$dynamicRef"):
            ref = node.get(keyword)
            if not isinstance(ref, str):
                continue
            if not ref.startswith("#"):
                raise FormInvalid(
                    name, f"不允许引用外部定义：{ref}", f"remote or file $ref not allowed: {ref}"
                )
            if ref.startswith("#/") and resolve_pointer(schema, ref) is None:
                raise FormInvalid(name, f"引用无法解析：{ref}", f"unresolvable $ref: {ref}")


def load_form_bytes(name: str, data: bytes, ui_data: bytes | None = None) -> FormSchema:
    """Check and load one form from bytes (deploy-time checks of uploaded forms); raises FormInvalid."""
    schema = _check_schema(name, parse_json(name, data))
    ui_schema = None
    if ui_data is not None:
        ui_schema = parse_json(ui_name_for(name), ui_data)
        if not isinstance(ui_schema, dict):
            raise FormInvalid(
                ui_name_for(name), "根节点必须是 JSON 对象", "the top level must be a JSON object"
            )
    form = FormSchema(name, schema, ui_schema)
    try:
        form.validator.is_valid({})
        form.validator.is_valid(form.default_data())
    except RecursionError as exc:
        raise FormInvalid(name, "存在循环引用", "the schema references itself endlessly") from exc
    return form


class FormRegistry:
    """The forms in one directory, loaded lazily and cached by file name and modification time."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[tuple[int, ...], FormSchema]] = {}

    def names(self) -> list[str]:
        """File names of every form ("*.schema.json"), sorted."""
        if not self.directory.is_dir():
            return []
        return sorted(p.name for p in self.directory.glob("*" + SCHEMA_SUFFIX) if p.is_file())

    def get(self, name: str) -> FormSchema:
        """The form called `name` ("intake.schema.json" or "intake"); raises FormNotFound or FormInvalid."""
        name = name if name.endswith(".json") else name + SCHEMA_SUFFIX
        if not name.endswith(SCHEMA_SUFFIX) or "/" in name or "\\" in name or name.startswith("."):
            raise FormNotFound(name)
        path = self.directory / name
        ui_path = self.directory / ui_name_for(name)
        if not path.is_file():
            raise FormNotFound(name)
        has_ui = ui_path.is_file()
        stamp = (*_stamp(path), *(_stamp(ui_path) if has_ui else ()))
        with self._lock:
            cached = self._cache.get(name)
            if cached is not None and cached[0] == stamp:
                return cached[1]
        ui_data = _read(ui_path.name, ui_path) if has_ui else None
        form = load_form_bytes(name, _read(name, path), ui_data)
        with self._lock:
            self._cache[name] = (stamp, form)
        return form

    def problems(self) -> list[FormError]:
        """Every form file that fails to load, with its error (empty when all load)."""
        found: list[FormError] = []
        for name in self.names():
            try:
                self.get(name)
            except FormError as exc:
                found.append(exc)
        return found


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


def _read(name: str, path: Path) -> bytes:
    if path.stat().st_size > MAX_FORM_BYTES:
        raise FormInvalid(
            name, f"文件超过 {MAX_FORM_BYTES // 1024} KB", f"larger than {MAX_FORM_BYTES} bytes"
        )
    return path.read_bytes()
