"""A loaded form: its JSON Schema, optional UI schema, validation, coercion and field descriptions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.exceptions import Unresolvable

from app.forms_schema._walk import Schema, depth_exceeds, deref, enum_options, schema_type
from app.forms_schema.coerce import coerce_data
from app.forms_schema.defaults import sample_value
from app.forms_schema.errors import FieldError
from app.forms_schema.formats import FORMAT_CHECKER
from app.forms_schema.messages import translate_errors

# Submitted data nested deeper than this is refused before validation (recursion safety).
MAX_DATA_DEPTH = 32
BROKEN_SCHEMA = "表单定义有误，请联系管理员"


# An empty referencing registry refuses to retrieve anything (network or disk). Passing it explicitly
# replaces jsonschema's default, which would fetch remote `$ref`s with only a deprecation warning.
NO_RETRIEVAL_REGISTRY: Registry[Any] = Registry()


@dataclass(frozen=True)
class FieldSpec:
    """What the web layer needs to render one top-level field."""

    name: str
    title: str
    type: str | None
    required: bool
    enum: tuple[Any, ...] = ()
    enum_labels: tuple[str, ...] = ()
    format: str | None = None
    description: str = ""
    widget: str | None = None
    multiple: bool = False  # an array of enum values (multi-select / checkbox group)
    placeholder: str = ""
    read_only: bool = False
    default: Any = None
    schema: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class FormSchema:
    """One form definition (`name` like "intake.schema.json"), already checked against JSON Schema 2020-12."""

    name: str
    schema: Schema
    ui_schema: Schema | None = None

    @property
    def title(self) -> str:
        """The schema's title, or the file name."""
        title = self.schema.get("title")
        return title if isinstance(title, str) and title else self.name

    @property
    def description(self) -> str:
        """The schema's description ("" when absent)."""
        description = self.schema.get("description")
        return description if isinstance(description, str) else ""

    @cached_property
    def validator(self) -> Draft202012Validator:
        """A 2020-12 validator with govflow's format checks and no remote `$ref` retrieval."""
        return Draft202012Validator(
            self.schema, registry=NO_RETRIEVAL_REGISTRY, format_checker=FORMAT_CHECKER
        )

    def validate(self, data: Mapping[str, Any]) -> list[FieldError]:
        """Every problem with `data`, as Chinese FieldErrors on the offending fields ([] when valid)."""
        if depth_exceeds(data, MAX_DATA_DEPTH):
            return [FieldError("", "提交的数据嵌套层级过深", "depth")]
        try:
            return translate_errors(self.validator.iter_errors(dict(data)))
        except (RecursionError, Unresolvable):
            return [FieldError("", BROKEN_SCHEMA, "schema")]

    def is_valid(self, data: Mapping[str, Any]) -> bool:
        """Whether `data` passes validation."""
        return not self.validate(data)

    def coerce(self, raw: Mapping[str, str | Sequence[str]]) -> dict[str, Any]:
        """Typed values from form strings (dict of str/list, or a MultiDict); unknown keys are left out."""
        return coerce_data(self.schema, raw, self.ui_schema)

    def default_data(self) -> dict[str, Any]:
        """Plausible valid data derived from the schema (used by the simulator and tests)."""
        value = sample_value(self.schema, self.schema)
        return value if isinstance(value, dict) else {}

    def fields(self) -> list[FieldSpec]:
        """The top-level fields in display order (`ui:order` first, then schema order)."""
        root = deref(self.schema, self.schema)
        properties = root.get("properties")
        if not isinstance(properties, dict):
            return []
        required = root.get("required")
        required = required if isinstance(required, list) else []
        return [self._field(name, properties[name], name in required) for name in self._order(properties)]

    def _order(self, properties: Mapping[str, Any]) -> list[str]:
        order = (self.ui_schema or {}).get("ui:order")
        if not isinstance(order, list):
            return list(properties)
        listed = [name for name in order if name in properties]
        rest = [name for name in properties if name not in listed]
        if "*" in order:
            star = order.index("*")
            before = [n for n in order[:star] if n in properties]
            return before + rest + [n for n in listed if n not in before]
        return listed + rest

    def _field(self, name: str, subschema: Any, required: bool) -> FieldSpec:
        node = deref(self.schema, subschema)
        ui = (self.ui_schema or {}).get(name)
        ui = ui if isinstance(ui, dict) else {}
        kind = schema_type(node)
        options = enum_options(node, ui)
        multiple = False
        if kind == "array" and not options:
            items = deref(self.schema, node.get("items", {}))
            options = enum_options(items, ui.get("items") if isinstance(ui.get("items"), dict) else ui)
            multiple = bool(options)
        return FieldSpec(
            name=name,
            title=str(node.get("title") or ui.get("ui:title") or name),
            type=kind,
            required=required,
            enum=tuple(value for value, _ in options),
            enum_labels=tuple(label for _, label in options),
            format=node.get("format") if isinstance(node.get("format"), str) else None,
            description=str(node.get("description") or ui.get("ui:help") or ""),
            widget=ui.get("ui:widget") if isinstance(ui.get("ui:widget"), str) else None,
            multiple=multiple,
            placeholder=str(ui.get("ui:placeholder") or ""),
            read_only=bool(node.get("readOnly") or ui.get("ui:readonly")),
            default=node.get("default"),
            schema=node,
        )
