"""JSON Schema (2020-12) forms: loading, Chinese validation messages, coercion of HTML input, sample data."""

from app.forms_schema.errors import FieldError, FormError, FormInvalid, FormNotFound
from app.forms_schema.loading import (
    MAX_FORM_BYTES,
    FormRegistry,
    load_form_bytes,
    parse_json,
    ui_name_for,
)
from app.forms_schema.schema import FieldSpec, FormSchema

__all__ = [
    "MAX_FORM_BYTES",
    "FieldError",
    "FieldSpec",
    "FormError",
    "FormInvalid",
    "FormNotFound",
    "FormRegistry",
    "FormSchema",
    "load_form_bytes",
    "parse_json",
    "ui_name_for",
]
