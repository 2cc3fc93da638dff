"""Located messages about a process definition: what the linter, the dialect importer and the parser say."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning", "note"]


@dataclass(frozen=True)
class LintMessage:
    """One finding about a BPMN or form file, located as precisely as the source allows."""

    file: str
    line: int | None
    element_id: str | None
    element_name: str | None
    severity: Severity
    text: str
    hint: str = ""

    def format(self) -> str:
        """Render as `file:line: element-id (name): text — hint`."""
        where = f"{self.file}:{self.line if self.line is not None else 0}"
        element = self.element_id or "-"
        if self.element_name:
            element = f"{element} ({self.element_name})"
        tail = f" — {self.hint}" if self.hint else ""
        prefix = "" if self.severity == "error" else f"{self.severity}: "
        return f"{where}: {element}: {prefix}{self.text}{tail}"


class ProcessInvalid(Exception):
    """A process definition cannot be deployed; carries every located error and warning."""

    def __init__(self, messages: list[LintMessage] | tuple[LintMessage, ...]) -> None:
        self.messages = tuple(messages)
        errors = [m for m in self.messages if m.severity == "error"]
        super().__init__("; ".join(m.format() for m in errors) or "invalid process")

    @property
    def errors(self) -> tuple[LintMessage, ...]:
        """Only the messages that block deployment."""
        return tuple(m for m in self.messages if m.severity == "error")
