"""Read a live workflow into facade values: ready human tasks, status, next timer, outbound events."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.simple import TerminateEventDefinition
from SpiffWorkflow.util.task import TaskState

from app.workflow.clock import due_at
from app.workflow.steps import StepKey
from app.workflow.types import HumanTaskInfo, OutboundEvent, StepDef

_PLACEHOLDER = re.compile(r"\{([A-Za-z][A-Za-z0-9_]*)\}")


def caller_lane(task: Any) -> str | None:
    """The lane of the task, or of the nearest calling task when it sits in a called process."""
    current = task
    while current is not None:
        lane: str | None = current.task_spec.lane
        if lane:
            return lane
        parent_id = current.workflow.parent_task_id
        current = None if parent_id is None else current.workflow.top_workflow.get_task_from_id(parent_id)
    return None


def resolve_lane(lane: str | None, data: Mapping[str, Any]) -> str | None:
    """Fill `{key}` placeholders (e.g. `approver@{dept}`) from task data; unknown keys stay as written."""
    if lane is None or "{" not in lane:
        return lane

    def fill(match: re.Match[str]) -> str:
        value = data.get(match.group(1))
        return value if isinstance(value, str) and value else match.group(0)

    return _PLACEHOLDER.sub(fill, lane)


def _multi_instance_index(task: Any) -> int | None:
    for key in ("key_or_index", "item"):
        value = task.internal_data.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def human_task_info(task: Any, step: StepDef) -> HumanTaskInfo:
    """Describe one READY user/manual task."""
    effective = resolve_lane(caller_lane(task), task.data)
    return HumanTaskInfo(
        task_id=str(task.id),
        bpmn_id=step.bpmn_id,
        name=step.name,
        lane=step.lane,
        effective_lane=effective,
        form=step.form,
        ui_form=step.ui_form,
        properties=step.properties,
        instructions=step.instructions,
        multi_instance_index=_multi_instance_index(task) if step.multi_instance else None,
        data=MappingProxyType(task.data),
    )


def all_tasks(workflow: Any) -> Iterator[Any]:
    """Every task of the workflow and its subprocesses (plain dict walks: cheaper than the tree iterator)."""
    yield from workflow.tasks.values()
    for subprocess in workflow.subprocesses.values():
        yield from subprocess.tasks.values()


def ready_human_tasks(workflow: Any, index: Mapping[StepKey, StepDef]) -> tuple[HumanTaskInfo, ...]:
    """Every READY user/manual task, including those inside called processes."""
    found = []
    for task in all_tasks(workflow):
        if task.state != TaskState.READY:
            continue
        step = index.get((task.workflow.spec.name, task.task_spec.name))
        if step is not None:
            found.append(human_task_info(task, step))
    return tuple(found)


def status_of(workflow: Any) -> Literal["open", "completed", "terminated"]:
    """'open', 'completed' or 'terminated'."""
    if not workflow.completed:
        return "open"
    for task in all_tasks(workflow):
        if task.state != TaskState.COMPLETED:
            continue
        definition = getattr(task.task_spec, "event_definition", None)
        if isinstance(definition, TerminateEventDefinition):
            return "terminated"
    return "completed"


def next_timer_at(workflow: Any) -> datetime | None:
    """The earliest due time of the waiting timers (aware UTC)."""
    times = [due_at(t) for t in workflow.event_manager.tasks.values() if t.state == TaskState.WAITING]
    due = [t for t in times if t is not None]
    return min(due) if due else None


def outbound_events(workflow: Any) -> tuple[OutboundEvent, ...]:
    """Drain the events the process threw that nothing in it caught."""
    events = workflow.get_events()
    return tuple(
        OutboundEvent(e.event_definition.name, e.payload)
        for e in events
        if isinstance(e.event_definition, (MessageEventDefinition, SignalEventDefinition))
    )


def completed_ids(workflow: Any) -> set[Any]:
    """Ids of every completed task (to diff before/after an engine call)."""
    return {t.id for t in all_tasks(workflow) if t.state == TaskState.COMPLETED}


def newly_completed(workflow: Any, before: Iterable[Any]) -> tuple[str, ...]:
    """BPMN ids of tasks completed since `before`, in completion order."""
    seen = set(before)
    fresh = [t for t in all_tasks(workflow) if t.state == TaskState.COMPLETED and t.id not in seen]
    fresh.sort(key=lambda t: t.last_state_change)
    return tuple(t.task_spec.bpmn_id for t in fresh if getattr(t.task_spec, "bpmn_id", None))


def case_data(workflow: Any) -> Mapping[str, Any]:
    """Process-level data: the workflow data once finished, else the data of the last completed task."""
    if workflow.completed or workflow.last_task is None:
        return MappingProxyType(workflow.data)
    return MappingProxyType(workflow.last_task.data)
