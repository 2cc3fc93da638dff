"""Step events that ride on the case row: planned with the step, published to the outbox afterwards.

The projection hook `plan_step_events` turns a step's effect (step.finished, case.accepted, step.started,
case.closed) into compact JSON lines appended to `case_record.pending_events` by the UPDATE of the case
the step makes anyway, and fires the side effects of new steps (特急 document SMS, the applicant's inbox).
`publish_case_events` — run by every claim of the delivery job and before any other webhook row of the
same case is written — reads those lines, builds the envelopes, writes them to the outbox in order and
clears the lines, guarded by the case's version. Ordering and publishing rules: docs/events.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from app.models import Case, Department, HumanTask, ServiceItem, User
from app.services.event_envelope import (
    CaseRef,
    build_event,
    insert_ignoring_duplicates,
    local_iso,
    next_sequences,
)
from app.services.notifications import notify
from app.workflow import Result

ONCE = "1"  # the sequence of kinds that happen once per case (case.accepted, case.closed)
ACCEPT_DECISIONS = frozenset({"accept", "accepted"})
STARTS_ACCEPTED = frozenset({"document", "work_order"})  # 公文 and 12345 orders: accepted when started


def _finished_task(session: Session, case: Case, task_uuid: str) -> HumanTask | None:
    """The just-completed task from the identity map (read without triggering any load)."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, HumanTask):
            row = vars(obj)
            same = row.get("case_id") == case.id and row.get("task_uuid") == task_uuid
            if same and row.get("state") not in (None, "open"):
                return obj
    return None


def _step_line(row: Mapping[str, Any]) -> list[Any]:
    due = row.get("due_at")
    return [
        row.get("bpmn_id"),
        row.get("name"),
        row.get("task_uuid"),
        row.get("candidate_role"),
        row.get("candidate_department"),
        due.isoformat() if due is not None else None,
    ]


def plan_step_events(
    session: Session,
    case: Case,
    result: Result,
    created: Sequence[Mapping[str, Any]],
    now: datetime,
    *,
    completed_uuid: str | None,
    starting: bool,
    closing: bool,
    finished: HumanTask | None = None,
) -> str:
    """Projection hook: step.finished, case.accepted, step.started, case.closed — as pending-event lines.

    Returns JSON lines to append to `case.pending_events` (written by the UPDATE of the case row the step
    makes anyway); `publish_case_events` turns them into outbox rows, payloads built only then.
    """
    if finished is None and completed_uuid:
        finished = _finished_task(session, case, completed_uuid)
    planned: list[tuple[str, dict[str, Any], list[Any] | None, int | None]] = []
    if finished is not None:
        row = vars(finished)
        actor = row.get("completed_by_id") or getattr(row.get("completed_by"), "id", None)
        data = {"decision": finished.decision, "outcome": finished.state}
        planned.append(("step.finished", data, _step_line(row), actor))
        if finished.decision in ACCEPT_DECISIONS:
            planned.append(("case.accepted", {"by_step": finished.bpmn_id}, None, actor))
    if starting and case.kind in STARTS_ACCEPTED:
        planned.append(("case.accepted", {"by_step": None}, None, case.originator_id))
    planned.extend(("step.started", {}, _step_line(row), None) for row in created)
    if closing:
        planned.append(("case.closed", {"status": result.status}, None, None))
    _notify_urgent(session, case, result, created, now)
    _notify_applicant(session, case, created, now)
    if not planned:
        return ""
    sequences = iter(next_sequences(session, case, len(planned)))
    moment = now.isoformat()
    lines = [
        [
            kind,
            ONCE if kind in ("case.accepted", "case.closed") else next(sequences),
            moment,
            data,
            step,
            actor,
        ]
        for kind, data, step, actor in planned
    ]
    return "".join(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n" for line in lines)


class _Pending(NamedTuple):
    id: int
    version: int
    number: str
    kind: str
    service_item_id: int | None
    pending_events: str


_PENDING_COLUMNS = (
    Case.id,
    Case.version,
    Case.number,
    Case.kind,
    Case.service_item_id,
    Case.pending_events,
)
_CLEAR_PENDING = (
    update(Case)
    .where(Case.id == bindparam("case_id"), Case.version == bindparam("seen_version"))
    .values(pending_events=None)
    .execution_options(synchronize_session=False)
)
PUBLISH_BATCH = 500


def _published_rows(session: Session, cases: Sequence[_Pending], now: datetime) -> list[dict[str, Any]]:
    """Outbox rows of the pending-event lines of `cases`, in case and line order (payloads built here)."""
    parsed = [
        (case, [json.loads(line) for line in case.pending_events.splitlines() if line]) for case in cases
    ]
    actor_ids = {line[5] for _, lines in parsed for line in lines if line[5] is not None}
    actors = (
        {
            user.id: {"id": user.id, "username": user.username, "name": user.display_name}
            for user in session.execute(
                select(User.id, User.username, User.display_name).where(User.id.in_(sorted(actor_ids)))
            )
        }
        if actor_ids
        else {}
    )
    contexts = _item_contexts(session, {c.service_item_id for c in cases if c.service_item_id is not None})
    rows = []
    for case, lines in parsed:
        ref = CaseRef(case.id, case.number, case.kind)
        context = contexts.get(case.service_item_id or 0, (None, None))
        for kind, sequence, moment, data, step, actor_id in lines:
            occurred = datetime.fromisoformat(moment)
            row = build_event(
                ref, kind, sequence, data, occurred, context, _step_of(step), actors.get(actor_id)
            )
            row["next_attempt_at"] = now
            rows.append(row)
    return rows


def _step_of(line: list[Any] | None) -> dict[str, Any] | None:
    if line is None:
        return None
    bpmn_id, name, task_uuid, role, department, due = line
    return {
        "id": bpmn_id,
        "name": name,
        "task": task_uuid,
        "role": role,
        "department": department,
        "due_at": local_iso(datetime.fromisoformat(due)) if due is not None else None,
    }


def _item_contexts(session: Session, item_ids: set[int]) -> dict[int, tuple[str | None, str | None]]:
    if not item_ids:
        return {}
    query = (
        select(ServiceItem.id, ServiceItem.code, Department.code)
        .join(Department, Department.id == ServiceItem.department_id)
        .where(ServiceItem.id.in_(sorted(item_ids)))
    )
    return {item_id: (code, department) for item_id, code, department in session.execute(query)}


def _pending_query(case_ids: Sequence[int] | None, skip_locked: bool) -> Any:
    query = select(*_PENDING_COLUMNS).where(Case.pending_events.is_not(None)).order_by(Case.id)
    query = query.where(Case.id.in_(case_ids)) if case_ids is not None else query.limit(PUBLISH_BATCH)
    return query.with_for_update(of=Case, skip_locked=skip_locked)  # PostgreSQL; SQLite: the write lock


def _read_pending(session: Session, case_ids: Sequence[int] | None, skip_locked: bool) -> list[_Pending]:
    return [_Pending(*row) for row in session.execute(_pending_query(case_ids, skip_locked))]


def _take_pending(session: Session, cases: Sequence[_Pending], now: datetime) -> list[dict[str, Any]]:
    """Outbox rows for the pending events of `cases`; their lines cleared unless the case changed since."""
    if not cases:
        return []
    rows = _published_rows(session, cases, now)
    session.connection().execute(
        _CLEAR_PENDING, [{"case_id": c.id, "seen_version": c.version} for c in cases]
    )
    for case in cases:  # keep loaded Case objects in step without a reload
        obj = session.identity_map.get(identity_key(Case, case.id))
        if obj is not None and vars(obj).get("version") == case.version:
            set_committed_value(obj, "pending_events", None)
    return rows


def publish_case_events(session: Session, now: datetime, case_ids: Iterable[int] | None = None) -> int:
    """Move pending case events (`case_record.pending_events`) to the outbox, in order; return how many rows.

    Without `case_ids`: the next PUBLISH_BATCH cases with pending events, skipping cases locked by a change
    in progress (their events come with the next run). With `case_ids`: those cases, waiting for their lock
    — what a writer of other webhook rows of those cases calls first, so that the order stays the order
    in which things happened. A case changed meanwhile keeps its lines and is published again later
    (already written keys are skipped).
    """
    ids = None if case_ids is None else sorted(set(case_ids))
    if ids is not None and not ids:
        return 0
    session.flush()
    rows: list[dict[str, Any]] = []
    for start in range(0, len(ids), PUBLISH_BATCH) if ids is not None else [0]:
        chunk = ids[start : start + PUBLISH_BATCH] if ids is not None else None
        rows.extend(_take_pending(session, _read_pending(session, chunk, skip_locked=chunk is None), now))
    if rows:
        session.connection().execute(insert_ignoring_duplicates(session), rows)
    return len(rows)


def _notify_urgent(
    session: Session, case: Case, result: Result, created: Sequence[Mapping[str, Any]], now: datetime
) -> None:
    """特急 documents: SMS the handlers of each new step (docs/events.md, routing)."""
    urgent = {info.task_id for info in result.ready if str(info.data.get("urgency", "")) == "特急"}
    rows = [row for row in created if row["task_uuid"] in urgent]
    if rows and case.kind == "document":
        from app.services.delivery.routing import route_urgent_document

        route_urgent_document(session, case, rows, now)


def _notify_applicant(
    session: Session, case: Case, created: Sequence[Mapping[str, Any]], now: datetime
) -> None:
    """A step waiting for the applicant (补正, 容缺 promise, 告知承诺 signature): tell them in the inbox."""
    steps = [
        str(row.get("name") or row.get("bpmn_id"))
        for row in created
        if row.get("candidate_role") == "applicant" and row.get("assignee_id") == case.originator_id
    ]
    if not steps or case.originator_id is None:
        return
    title = f"办件 {case.number} 需要您办理：{'、'.join(steps)}"
    notify(
        session,
        case.originator_id,
        "case.applicant_step",
        title,
        case.title or "",
        f"/my/cases/{case.number}",
        case.id,
        now,
    )
