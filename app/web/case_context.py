"""What the task page and the case page share: the acting user, opinions, timeline, diagram ids."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from flask_babel import gettext as _
from flask_login import current_user

from app.extensions import db
from app.models import AuditEvent, Case, HumanTask, User
from app.services.case_views import (
    case_events,
    case_opinions,
    case_tasks,
    data_labels,
    department_names,
    step_ids,
)
from app.services.directory import display_names
from app.services.errors import TaskAlreadyHandled
from app.web.display import action_label


def actor() -> User:
    """The signed-in user as a model instance (services take the real object, not the proxy)."""
    return cast(User, current_user._get_current_object())


def handled_error(task: HumanTask) -> TaskAlreadyHandled:
    """The 409 raised when a task is no longer open."""
    return TaskAlreadyHandled("此任务已被处理 (this task was already handled)", {"case": task.case.number})


def step_names(case: Case) -> dict[str, str]:
    """BPMN id -> step name, from the version the case runs on."""
    return {str(s["bpmn_id"]): str(s.get("name") or s["bpmn_id"]) for s in case.process_version.steps}


def history_context(case: Case, tasks: list[HumanTask] | None = None) -> dict[str, Any]:
    """Opinions, timeline, department names and the diagram's done/current step ids."""
    session = db.session()
    tasks = tasks if tasks is not None else case_tasks(session, case)
    done, current = step_ids(tasks)
    names = step_names(case)
    return {
        "opinions": case_opinions(session, case),
        "events": timeline(case_events(session, case), tasks, names),
        "departments": department_names(session),
        "steps": names,
        "done_steps": done,
        "current_steps": current,
        "all_tasks": tasks,
        "decisions": decision_labels(case),
    }


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the timeline: when, what, on which step, towards whom or where, by whom."""

    at: datetime
    action: str
    step: str
    target: str
    actor: str


def timeline(events: list[AuditEvent], tasks: list[HumanTask], steps: dict[str, str]) -> list[TimelineEntry]:
    """Audit events as readable lines (step names for BPMN ids and task ids, people by name)."""
    by_id = {task.id: task.name for task in tasks}
    people: set[int] = set()
    for event in events:
        to = event.detail.get("to")
        people.update(to if isinstance(to, list) else [to] if isinstance(to, int) else [])
    names = display_names(db.session(), [p for p in people if isinstance(p, int)])
    return [_entry(event, by_id, steps, names) for event in events]


def _entry(
    event: AuditEvent, by_id: dict[int, str], steps: dict[str, str], names: dict[int, str]
) -> TimelineEntry:
    detail = event.detail or {}
    task, task_id, to = detail.get("task"), detail.get("task_id"), detail.get("to")
    step = (
        steps.get(task, task)
        if isinstance(task, str)
        else by_id.get(task_id, "")
        if isinstance(task_id, int)
        else ""
    )
    if isinstance(to, str):
        target = steps.get(to, to)
    elif isinstance(to, int):
        target = names.get(to, "")
    elif isinstance(to, list):
        target = "、".join(names.get(i, "") for i in to if isinstance(i, int))
    else:
        target = ""
    actor = event.actor.display_name if event.actor else _("系统")
    return TimelineEntry(event.created_at, action_label(event.action), str(step), target, actor)


def decision_labels(case: Case) -> dict[str, str]:
    """Decision value -> label from the version's forms (decision fields first), plus 退回."""
    values = data_labels(case).values
    ordered = sorted(values, key=lambda name: "decision" not in name)
    labels: dict[str, str] = {
        "return": _("退回"),
        "transfer": _("转办"),
        "delegated": _("委派回复"),
        "removed": _("减签"),
        "withdrawn": _("撤回"),
    }
    for name in ordered:
        for value, label in values[name].items():
            labels.setdefault(value, label)
    return labels
