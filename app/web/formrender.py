"""Server-side rendering of a task's JSON Schema form: field view models, submitted data, field errors.

The templates (`tasks/_form.html`) draw what `form_fields` describes; this module decides the widget of
each field and turns the posted strings back into data the schema validates.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from app.forms_schema import FieldSpec, FormSchema
from app.models import HumanTask

ROUTE_FIELD = "next_step"
OPINION_FIELD = "opinion"
LINE_KINDS = frozenset({"lines", "materials"})
RADIO_MAX_OPTIONS = 5


@dataclass(frozen=True)
class Choice:
    """One option of a radio group, select or checkbox group."""

    value: str
    label: str


@dataclass
class FieldView:
    """One field as the template draws it: widget kind, current value(s), errors."""

    name: str
    title: str
    kind: str  # text textarea integer number date checkbox radio select checkboxes lines materials
    required: bool = False
    description: str = ""
    placeholder: str = ""
    read_only: bool = False
    rows: int = 3
    choices: tuple[Choice, ...] = ()
    value: str = ""
    values: tuple[str, ...] = ()
    errors: list[str] = field(default_factory=list)


def route_choices(task: HumanTask) -> tuple[Choice, ...]:
    """The `routeChoices` property (办理人选择下一步) as choices; () when absent or malformed."""
    raw = task.properties.get("routeChoices")
    if not raw:
        return ()
    try:
        items = json.loads(raw)
    except ValueError:
        return ()
    if not isinstance(items, list):
        return ()
    return tuple(
        Choice(str(item["value"]), str(item.get("label") or item["value"]))
        for item in items
        if isinstance(item, dict) and "value" in item
    )


def _kind(spec: FieldSpec) -> str:
    schema_widget = spec.schema.get("x-govflow-widget")
    if schema_widget == "materials" or spec.widget == "materials":
        return "materials"
    if spec.multiple:
        return "checkboxes"
    if spec.enum:
        if spec.widget == "select" or (spec.widget != "radio" and len(spec.enum) > RADIO_MAX_OPTIONS):
            return "select"
        return "radio"
    simple = {"boolean": "checkbox", "integer": "integer", "number": "number", "array": "lines"}
    if spec.type in simple:
        return simple[spec.type]
    if spec.format == "date":
        return "date"
    return "textarea" if spec.widget == "textarea" else "text"


def _form_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _rows(form: FormSchema, name: str) -> int:
    ui = (form.ui_schema or {}).get(name)
    options = ui.get("ui:options") if isinstance(ui, dict) else None
    rows = options.get("rows") if isinstance(options, dict) else None
    return rows if isinstance(rows, int) and 1 <= rows <= 20 else 4


def _view(form: FormSchema, spec: FieldSpec) -> FieldView:
    kind = _kind(spec)
    choices = tuple(
        Choice(_form_text(value), label) for value, label in zip(spec.enum, spec.enum_labels, strict=False)
    )
    view = FieldView(
        name=spec.name,
        title=spec.title,
        kind=kind,
        required=spec.required,
        description=spec.description,
        placeholder=spec.placeholder,
        read_only=spec.read_only,
        rows=_rows(form, spec.name),
        choices=choices,
    )
    _set_value(view, spec.default)
    return view


def _set_value(view: FieldView, value: Any) -> None:
    if value is None:
        return
    if view.kind in LINE_KINDS and isinstance(value, list):
        view.value = "\n".join(_form_text(v) for v in value)
    elif view.kind == "checkboxes" and isinstance(value, list):
        view.values = tuple(_form_text(v) for v in value)
    else:
        view.value = _form_text(value)


def form_fields(form: FormSchema | None, task: HumanTask) -> list[FieldView]:
    """Every field of the task's form, plus an opinion box when the step needs one, plus route choices."""
    views = [_view(form, spec) for spec in form.fields()] if form else []
    if not any(v.name == OPINION_FIELD for v in views):
        required = task.properties.get("opinionRequired") == "true"
        views.append(FieldView(OPINION_FIELD, _("办理意见"), "textarea", required=required))
    choices = route_choices(task)
    if choices:
        views.append(FieldView(ROUTE_FIELD, _("下一步"), "radio", required=True, choices=choices))
    return views


def fill_from_request(views: list[FieldView], posted: MultiDict[str, str]) -> None:
    """Show the user's own input again after a failed submission."""
    for view in views:
        if view.kind == "checkboxes":
            view.values = tuple(posted.getlist(view.name))
        elif view.kind == "checkbox":
            view.value = "true" if posted.get(view.name) else ""
        else:
            view.value = posted.get(view.name, "")


def submitted_data(
    form: FormSchema | None, views: Sequence[FieldView], posted: MultiDict[str, str]
) -> dict[str, Any]:
    """Typed data from the posted strings: one list item per line for line fields, schema coercion."""
    raw: MultiDict[str, str] = MultiDict()
    for view in views:
        if view.kind in LINE_KINDS:
            lines = [line.strip() for line in posted.get(view.name, "").splitlines()]
            values = [line for line in lines if line]
        else:
            values = posted.getlist(view.name)
        if values:
            raw.setlist(view.name, values)
    data = form.coerce(raw) if form else {}
    extras = {OPINION_FIELD, ROUTE_FIELD} - {spec.name for spec in form.fields()} if form else None
    for name in extras if extras is not None else (OPINION_FIELD, ROUTE_FIELD):
        value = posted.get(name, "").strip()
        if value:
            data[name] = value
    return data


def field_errors(
    form: FormSchema | None, task: HumanTask, views: Sequence[FieldView], data: Mapping[str, Any]
) -> dict[str, str]:
    """Every problem with `data`, keyed by top-level field name ("_form" for the rest)."""
    errors: dict[str, str] = {}
    for error in form.validate(data) if form else []:
        key = (error.path or "_form").split(".")[0].split("[")[0] or "_form"
        errors.setdefault(key, error.message)
    for view in views:
        if view.name in (OPINION_FIELD, ROUTE_FIELD) and view.required and not data.get(view.name):
            errors.setdefault(view.name, _("此项必须填写") if view.kind != "radio" else _("请选择一项"))
    choice = data.get(ROUTE_FIELD)
    allowed = {c.value for c in route_choices(task)}
    if allowed and choice and choice not in allowed:
        errors[ROUTE_FIELD] = _("请选择一项")
    return errors


def attach_errors(views: Sequence[FieldView], errors: Mapping[str, Any]) -> list[str]:
    """Put each error next to its field; return the ones that belong to no field."""
    names = {view.name for view in views}
    for view in views:
        if view.name in errors:
            view.errors.append(str(errors[view.name]))
    return [str(message) for key, message in errors.items() if key not in names]
