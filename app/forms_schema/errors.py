"""Errors raised by the form registry, and the per-field error reported to users."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One problem with submitted data: `path` like "materials.0.name" ("" = whole form), Chinese text."""

    path: str
    message: str
    kind: str = ""  # the JSON Schema keyword that failed, e.g. "required"


class FormError(Exception):
    """Base class for form definition problems; `str()` gives Chinese and English text."""

    def __init__(self, name: str, message_zh: str, message_en: str) -> None:
        self.name = name
        self.message_zh = message_zh
        self.message_en = message_en
        super().__init__(f"{message_zh} / {message_en}")


class FormNotFound(FormError, LookupError):
    """No form file of that name exists in the forms directory."""

    def __init__(self, name: str) -> None:
        super().__init__(name, f"表单文件 {name} 不存在", f"form file {name} not found")


class FormInvalid(FormError, ValueError):
    """A form file exists but cannot be used (bad JSON, not a 2020-12 object schema, too large...)."""

    def __init__(self, name: str, reason_zh: str, reason_en: str) -> None:
        self.reason_zh = reason_zh
        self.reason_en = reason_en
        message_en = f"form file {name} is invalid: {reason_en}"
        super().__init__(name, f"表单文件 {name} 无效：{reason_zh}", message_en)
