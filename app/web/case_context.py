"""What the task page and the case page share: the acting user, opinions, timeline, diagram ids."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from flask_babel import gettext as _
from flask_login import current_user

from app.extensions import db
from app.models import AuditEvent, Case, HumanTask, Opinion, User
from app.services.case_views import (
    case_events,
    case_opinions,
    case_tasks,
    data_labels,
    department_names,
    opinion_decision_labels,
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
    """Opinions (with their decisions labelled by the form of the step that wrote them), timeline,
    department names and the diagram's done/current step ids."""
    session = db.session()
    tasks = tasks if tasks is not None else case_tasks(session, case)
    done, current = step_ids(tasks)
    names = step_names(case)
    departments = department_names(session)
    opinions = case_opinions(session, case)
    return {
        "opinions": opinions,
        "events": timeline(case_events(session, case), tasks, names, departments),
        "departments": departments,
        "steps": names,
        "done_steps": done,
        "current_steps": current,
        "all_tasks": tasks,
        "opinion_labels": opinion_labels(case, opinions, tasks),
    }


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the timeline: when, what (naming whom or where it went), on which step, by whom."""

    at: datetime
    action: str
    step: str
    actor: str


# Audit actions whose detail "to" names people (user ids); task.returned: a step; case.migrated: a version.
PERSON_TARGETS = frozenset(
    {"case.copied", "task.transferred", "task.delegated", "task.urged", "task.proxied", "task.proxy_returned"}
)


def timeline(
    events: list[AuditEvent],
    tasks: list[HumanTask],
    steps: dict[str, str],
    departments: Mapping[str, str] | None = None,
) -> list[TimelineEntry]:
    """Audit events as readable lines (steps, people and departments by name)."""
    by_id = {task.id: task.name for task in tasks}
    people: set[int] = set()
    for event in events:
        detail = event.detail or {}
        to = detail.get("to") if event.action in PERSON_TARGETS else detail.get("signer")
        people.update(i for i in (to if isinstance(to, list) else [to]) if isinstance(i, int))
    names: dict[Any, str] = {**(departments or {}), **display_names(db.session(), sorted(people))}
    return [_entry(event, by_id, steps, names) for event in events]


def _target(event: AuditEvent, steps: dict[str, str], names: dict[Any, str]) -> str:
    """Whom or where the action went: people (ids) and departments (codes) by name, a step by its name,
    a version as v2."""
    detail = event.detail or {}
    to = detail.get("to")
    if event.action == "case.migrated":
        return f"v{to}" if isinstance(to, int) else ""
    if event.action == "task.signer_added":
        signer = detail.get("signer")
        if isinstance(signer, int):
            return names.get(signer, "")
        return names.get(signer, signer) if isinstance(signer, str) else ""
    if event.action == "task.returned":
        return steps.get(to, to) if isinstance(to, str) else ""
    if event.action not in PERSON_TARGETS:
        return ""
    ids = to if isinstance(to, list) else [to]
    return "、".join(name for name in (names.get(i, "") for i in ids if isinstance(i, int)) if name)


def _entry(
    event: AuditEvent, by_id: dict[int, str], steps: dict[str, str], names: dict[Any, str]
) -> TimelineEntry:
    detail = event.detail or {}
    task, task_id = detail.get("task"), detail.get("task_id")
    step = (
        steps.get(task, task)
        if isinstance(task, str)
        else by_id.get(task_id, "")
        if isinstance(task_id, int)
        else ""
    )
    actor = event.actor.display_name if event.actor else _("系统")
    text = action_label(event.action, _target(event, steps, names))
    return TimelineEntry(event.created_at, text, str(step), actor)


def opinion_labels(case: Case, opinions: list[Opinion], tasks: list[HumanTask]) -> dict[int, str]:
    """Opinion id -> how its decision reads: by the form of the step that wrote it, else from the whole
    version (operations such as 退回 and 转办, steps without a form), else the stored value.
    The opinions panel of the pages and the API's opinion log both show these."""
    own = opinion_decision_labels(case, opinions, tasks)
    version_wide = decision_labels(case)
    return {o.id: own.get(o.id) or version_wide.get(o.decision, o.decision) for o in opinions if o.decision}


def decision_labels(case: Case) -> dict[str, str]:
    """Decision value -> label from the version's forms (decision fields first), plus 退回: for the opinions
    whose own step's form does not label their decision (`opinion_labels` combines the two)."""
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
