"""The 撤回 rule — may the person who completed a step take the completion back? — decided for any number of
completed tasks in a bounded number of queries. One rule for `operations.withdraw_completion`, which
enforces it, and for the 已办 list, which shows the 撤回 button only where it holds.

A completion may be withdrawn by the person who made it while the task is still `completed`, its case is
open, its latest completion opened at least one step, and nobody has acted on those steps since: none of
them was completed or returned, carries an opinion, or had a non-passive action (claimed, transferred,
delegated…) recorded on it. The engine's own check (resetting must not reset another parallel branch)
stays with the withdrawal itself: it needs the workflow state.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AuditEvent, Case, HumanTask, Opinion, User

# What others do to a step without handling it: it does not stop a withdrawal.
PASSIVE_ACTIONS = frozenset({"task.urged", "task.proxied", "task.proxy_returned", "task.signer_removed"})
_TASK_ID = AuditEvent.detail["task_id"].as_integer()

Refusal = Literal["not_mine", "moved_on", "acted"]


@dataclass(frozen=True)
class CompletedStep:
    """What the rule reads of a completed task and its case."""

    task_id: int
    case_id: int
    state: str
    completed_by_id: int | None
    case_status: str


@dataclass(frozen=True)
class WithdrawCheck:
    """The rule's answer for one task: `refusal` None = may withdraw; the steps its completion opened (uuids
    and rows) and who acted on them."""

    refusal: Refusal | None
    next_uuids: frozenset[str] = frozenset()
    next_tasks: tuple[HumanTask, ...] = ()
    acted_by: frozenset[int] = frozenset()


def completed_step(task: HumanTask) -> CompletedStep:
    """The rule's view of a loaded task (with its case)."""
    return CompletedStep(task.id, task.case_id, task.state, task.completed_by_id, task.case.status)


def check_withdrawals(
    session: Session, steps: Sequence[CompletedStep], actor: User
) -> dict[int, WithdrawCheck]:
    """The 撤回 rule for each step (by task id), in at most four queries whatever the number of steps."""
    checks: dict[int, WithdrawCheck] = {}
    pending: list[CompletedStep] = []
    for step in steps:
        if step.completed_by_id != actor.id:
            checks[step.task_id] = WithdrawCheck("not_mine")
        elif step.state != "completed" or step.case_status != "open":
            checks[step.task_id] = WithdrawCheck("moved_on")
        else:
            pending.append(step)
    events = _latest_completions(session, pending)
    opened = {s.task_id: frozenset(events[s.task_id][1]) for s in pending if s.task_id in events}
    live = [s for s in pending if opened.get(s.task_id)]
    checks |= {s.task_id: WithdrawCheck("moved_on") for s in pending if not opened.get(s.task_id)}
    following = _next_tasks(session, live, opened)
    acted = _who_acted(session, live, {s.task_id: events[s.task_id][0] for s in live}, following)
    for step in live:
        who = frozenset(acted[step.task_id])
        next_tasks = tuple(following[step.task_id])
        checks[step.task_id] = WithdrawCheck("acted" if who else None, opened[step.task_id], next_tasks, who)
    return checks


def withdrawable_ids(session: Session, task_ids: Iterable[int], actor: User) -> set[int]:
    """The tasks among `task_ids` whose completion `actor` may withdraw now (at most five queries)."""
    ids = sorted(set(task_ids))
    if not ids:
        return set()
    facts = session.execute(
        select(HumanTask.id, HumanTask.case_id, HumanTask.state, HumanTask.completed_by_id, Case.status)
        .join(Case, Case.id == HumanTask.case_id)
        .where(HumanTask.id.in_(ids))
    )
    checks = check_withdrawals(session, [CompletedStep(*row) for row in facts], actor)
    return {task_id for task_id, check in checks.items() if check.refusal is None}


def _latest_completions(session: Session, steps: Sequence[CompletedStep]) -> dict[int, tuple[int, list[str]]]:
    """Task id -> (audit event id, uuids of the steps it opened) of each task's latest completion."""
    if not steps:
        return {}
    query = (
        select(AuditEvent.id, _TASK_ID, AuditEvent.detail)
        .where(
            AuditEvent.case_id.in_(sorted({s.case_id for s in steps})),
            AuditEvent.action == "task.completed",
            _TASK_ID.in_([s.task_id for s in steps]),
        )
        .order_by(AuditEvent.id)
    )
    return {
        task_id: (event_id, list(detail.get("next") or ()))
        for event_id, task_id, detail in session.execute(query)
    }


def _next_tasks(
    session: Session, steps: Sequence[CompletedStep], opened: dict[int, frozenset[str]]
) -> dict[int, list[HumanTask]]:
    """Task id -> the human tasks its completion opened (created after it, in its case)."""
    found: dict[int, list[HumanTask]] = defaultdict(list)
    if not steps:
        return found
    uuids = set().union(*(opened[s.task_id] for s in steps))
    rows = session.scalars(
        select(HumanTask)
        .where(
            HumanTask.case_id.in_(sorted({s.case_id for s in steps})), HumanTask.task_uuid.in_(sorted(uuids))
        )
        .order_by(HumanTask.id)
    ).all()
    for step in steps:
        found[step.task_id] = [
            t
            for t in rows
            if t.case_id == step.case_id and t.task_uuid in opened[step.task_id] and t.id > step.task_id
        ]
    return found


def _who_acted(
    session: Session,
    steps: Sequence[CompletedStep],
    event_ids: dict[int, int],
    following: dict[int, list[HumanTask]],
) -> dict[int, set[int]]:
    """Task id -> the people who acted on the steps its completion opened (two queries for all)."""
    acted: dict[int, set[int]] = defaultdict(set)
    next_ids = {t.id for tasks in following.values() for t in tasks}
    if not next_ids:
        return acted
    cases = sorted({s.case_id for s in steps})
    authors: dict[int, set[int]] = defaultdict(set)
    opinions = select(Opinion.human_task_id, Opinion.author_id).where(
        Opinion.case_id.in_(cases), Opinion.human_task_id.in_(sorted(next_ids))
    )
    for human_task_id, author_id in session.execute(opinions):
        authors[human_task_id].add(author_id)
    later: list[Any] = list(
        session.execute(
            select(AuditEvent.id, AuditEvent.case_id, AuditEvent.actor_id, _TASK_ID).where(
                AuditEvent.case_id.in_(cases),
                AuditEvent.id > min(event_ids.values()),
                AuditEvent.action.not_in(PASSIVE_ACTIONS),
                AuditEvent.actor_id.is_not(None),
                _TASK_ID.in_(sorted(next_ids)),
            )
        )
    )
    for step in steps:
        tasks = following[step.task_id]
        ids = {t.id for t in tasks}
        who = acted[step.task_id]
        who |= {t.completed_by_id for t in tasks if t.state != "open" and t.completed_by_id}
        who |= {a for i in ids for a in authors.get(i, ())}
        who |= {
            e.actor_id
            for e in later
            if e.case_id == step.case_id and e.id > event_ids[step.task_id] and e[3] in ids
        }
    return acted
