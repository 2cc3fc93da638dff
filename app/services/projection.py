"""Project engine results onto the query tables: open human tasks, case status, timers, pending events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from app.models import Case, HumanTask, OutboxEvent, User
from app.services.permissions import candidates_for
from app.services.proxies import ON_BEHALF, ActiveRule, active_rules, route_new_task
from app.services.runtime import working_calendar
from app.services.step_events import plan_step_events
from app.workflow import HumanTaskInfo, Result

CLOSED_STATUSES = frozenset({"completed", "terminated"})
COUNTERSIGN_FOR = "countersignFor"  # property of a 加签 row: the task_uuid of the task it belongs to
# built once; executed with a list of rows (one multi-row statement), the new ids returned
_INSERT_TASKS_RETURNING = insert(HumanTask).returning(HumanTask.id, HumanTask.task_uuid)


def time_limit_days(properties: dict[str, str] | Any, data: Any) -> int | None:
    """Working-day limit of a step: `timeLimitWorkingDays`, or by urgency/category from the task data."""
    raw = properties.get("timeLimitWorkingDays")
    if raw not in (None, ""):
        try:
            return int(str(raw))
        except ValueError:
            return None
    for prop, key in (("timeLimitByUrgency", "urgency"), ("timeLimitByCategory", "category")):
        table = properties.get(prop)
        if table:
            limits = dict(part.split(":", 1) for part in str(table).split(",") if ":" in part)
            value = limits.get(str(data.get(key, "")), limits.get("default"))
            if value is not None and value.strip().isdigit():
                return int(value)
    return None


def deadline_from_field(properties: dict[str, str] | Any, data: Any) -> datetime | None:
    """`deadlineField`: the step is due at the close of the date a form field holds (e.g. 核查期限).

    The date is read from the task data (a `YYYY-MM-DD` string, or an ISO date-time whose local date
    counts); a missing or malformed value gives None and the working-day limit, if any, applies.
    """
    field = properties.get("deadlineField")
    raw = data.get(field) if field and hasattr(data, "get") else None
    if not isinstance(raw, str) or not raw.strip():
        return None
    calendar = working_calendar()
    try:
        day = date.fromisoformat(raw.strip()[:10])
    except ValueError:
        return None
    return datetime.combine(day, time(23, 59, 59), tzinfo=calendar.tz)


def _new_task(
    session: Session, case: Case, info: HumanTaskInfo, now: datetime, rules: list[ActiveRule]
) -> dict[str, Any]:
    properties = dict(info.properties)
    lane = info.effective_lane or info.lane
    candidates = candidates_for(lane, properties, info.data)
    assignee_id = case.originator_id if candidates.applicant else None
    if properties.get("assignee"):
        assignee_id = session.scalar(select(User.id).where(User.username == properties["assignee"]))
    process_id = case.process_version.process_id
    assignee_id, principal_id = route_new_task(session, rules, process_id, candidates, assignee_id)
    if principal_id is not None:  # 代理: the substitute works it on behalf of the principal
        properties[ON_BEHALF] = str(principal_id)
    limit = time_limit_days(properties, info.data)
    due_at = working_calendar().due_at(now, limit) if limit is not None else None
    due_at = deadline_from_field(properties, info.data) or due_at
    return {
        "case_id": case.id,
        "task_uuid": info.task_id,
        "bpmn_id": info.bpmn_id,
        "name": info.name or info.bpmn_id,
        "lane": lane,
        "candidate_role": candidates.role,
        "candidate_department": candidates.department,
        "assignee_id": assignee_id,
        "form": info.form,
        "properties": properties,
        "state": "open",
        "created_at": now,
        "due_at": due_at,
        "completed_by_id": None,
        "completed_at": None,
        "decision": None,
    }


def cancel_countersigns(session: Session, case_id: int, parent_uuids: set[str], now: datetime) -> None:
    """Cancel the open 加签 rows of tasks that left the flow (returned, withdrawn, cancelled)."""
    session.execute(
        update(HumanTask)
        .where(
            HumanTask.case_id == case_id,
            HumanTask.state == "open",
            HumanTask.properties[COUNTERSIGN_FOR].as_string().in_(sorted(parent_uuids)),
        )
        .values(state="cancelled", completed_at=now)
        .execution_options(synchronize_session="fetch")
    )


def project_result(
    session: Session,
    case: Case,
    result: Result,
    now: datetime,
    completed_uuid: str | None = None,
    *,
    finished: HumanTask | None = None,
    proxies_active: bool | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Plan the step's writes: the new human_task rows and the case's new values; cancel tasks that left.

    `proxies_active=False` (known from the lock query) skips the proxy-rule lookup for new tasks.
    The rows and values (state, status, timers, pending events…) are for the caller to write:
    `apply_result` through the ORM, `write_case` in as few statements as the database allows.
    """
    before = set(case.open_task_uuids or [])
    ready_ids = [info.task_id for info in result.ready]
    gone = before - set(ready_ids) - ({completed_uuid} if completed_uuid else set())
    if gone:
        session.execute(
            update(HumanTask)
            .where(HumanTask.case_id == case.id, HumanTask.state == "open", HumanTask.task_uuid.in_(gone))
            .values(state="cancelled", completed_at=now)
        )
        cancel_countersigns(session, case.id, gone, now)
    fresh = [info for info in result.ready if info.task_id not in before or info.task_id == completed_uuid]
    rules = active_rules(session, now) if fresh and proxies_active is not False else []
    created = [_new_task(session, case, info, now, rules) for info in fresh]
    starting, closing = not case.state, result.status in CLOSED_STATUSES and case.closed_at is None  # events
    for index, event in enumerate(result.events):
        session.add(
            OutboxEvent(
                case=case,
                channel="bpmn",
                kind=event.name,
                payload={"case": case.number, "name": event.name, "payload": event.payload},
                idempotency_key=f"{case.number}:{case.version}:{index}:{event.name}"[:80],
                created_at=now,
                next_attempt_at=now,
            )
        )
    # supervision-platform events (docs/events.md): pending lines on the case row, published afterwards
    lines = plan_step_events(
        session,
        case,
        result,
        created,
        now,
        completed_uuid=completed_uuid,
        starting=starting,
        closing=closing,
        finished=finished,
    )
    values = {
        "state": result.state,
        "status": result.status,
        "open_task_uuids": ready_ids,
        "next_timer_at": result.next_timer_at,
        "updated_at": now,
        "error_message": result.error,
        "closed_at": now if closing else case.closed_at,
        "pending_events": (case.pending_events or "") + lines if lines else case.pending_events,
    }
    return created, values


def insert_tasks(session: Session, rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Insert new human_task rows (one multi-row statement); return their ids by task uuid."""
    if not rows:
        return {}
    returned = session.connection().execute(_INSERT_TASKS_RETURNING, list(rows))
    return {uuid: task_id for task_id, uuid in returned}


def apply_result(
    session: Session, case: Case, result: Result, now: datetime, completed_uuid: str | None = None
) -> list[str]:
    """Write the new state, keep human_task in step with the READY tasks; return the new task uuids."""
    created, values = project_result(session, case, result, now, completed_uuid)
    insert_tasks(session, created)
    for name, value in values.items():
        setattr(case, name, value)
    return [row["task_uuid"] for row in created]
