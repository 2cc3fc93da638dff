"""The value types crossing the workflow facade: nothing from SpiffWorkflow appears here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from app.workflow.messages import LintMessage

Status = Literal["open", "completed", "terminated", "error"]


class TaskNotReady(Exception):
    """The task does not exist, is not READY, or is not a human (user/manual) task."""

    def __init__(self, task_id: str, reason: str) -> None:
        self.task_id = task_id
        self.reason = reason
        super().__init__(f"任务不可办理 (task {task_id} cannot be completed): {reason}")


class InvalidTaskData(ValueError):
    """Data handed to the engine is not plain JSON (or smuggles serializer type tags)."""


@dataclass(frozen=True)
class StepDef:
    """A human step of a process, as designed: where it sits and what form it shows."""

    bpmn_id: str
    name: str | None
    lane: str | None
    form: str | None
    ui_form: str | None
    properties: Mapping[str, str]
    instructions: str | None
    process_id: str = ""
    multi_instance: bool = False


@dataclass(frozen=True)
class CompiledProcess:
    """A validated process ready to be stored once per content hash."""

    process_id: str
    name: str
    content_hash: str
    spec_json: str
    notes: tuple[LintMessage, ...]
    steps: tuple[StepDef, ...]


@dataclass(frozen=True)
class SpecRef:
    """A stored process version: `key` (the content hash) names the cached deserialized spec."""

    key: str
    spec_json: str = field(repr=False)


@dataclass(frozen=True)
class HumanTaskInfo:
    """A READY user or manual task."""

    task_id: str
    bpmn_id: str
    name: str | None
    lane: str | None
    effective_lane: str | None
    form: str | None
    ui_form: str | None
    properties: Mapping[str, str]
    instructions: str | None
    multi_instance_index: int | None
    data: Mapping[str, Any]


@dataclass(frozen=True)
class OutboundEvent:
    """A message or signal the process threw that nothing inside it caught."""

    name: str
    payload: Any


@dataclass(frozen=True)
class Result:
    """The outcome of one engine call: new state plus what the application needs to project."""

    state: str
    status: Status
    ready: tuple[HumanTaskInfo, ...]
    next_timer_at: datetime | None
    events: tuple[OutboundEvent, ...]
    data: Mapping[str, Any]
    error: str | None
    completed_steps: tuple[str, ...]


@dataclass(frozen=True)
class MigrationOutcome:
    """Whether a running case can move to a new process version, and its new state if so."""

    ok: bool
    state: str | None
    reasons: tuple[str, ...]
