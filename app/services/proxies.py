"""代理 (vacation proxies): while a rule lasts, the principal's tasks go to the substitute.

This module holds the rules as they are read: which are active, where new tasks go, who may act for whom.
Setting and cancelling a rule: `proxy_settings.py`; moving tasks at its start and end (and the job):
`proxy_handover.py`.

Decisions (see docs/architecture.md, "Approver workspace"):
- A rule is active while `starts_at <= now < ends_at` and not cancelled; `process_id` None = every process.
- New tasks that would go to the principal personally (applicant tasks, an `assignee` property) go to the
  substitute. Role-candidate tasks go to the substitute only when the principal is the *only* active holder
  of that role (in that department): otherwise the other holders can still claim them.
- The start: the principal's open tasks (assigned to them, not out on 委派, of the rule's process) move to
  the substitute — when the rule is created if it is active then, else when the `proxy_rules` job runs
  after `starts_at` (`applied_at` records it). Each move: property `onBehalfOf`, a `task.proxied` audit
  event; the substitute is notified. Until the job has run, the substitute may already see and act on the
  tasks assigned to the principal (`acting_for`).
- A moved task is marked with the property `onBehalfOf` = principal id: opinions get `on_behalf_of`, the
  principal's to-do list still shows it ("张三 (代 李四)"), also after the rule ended if it stays.
- The end: when the job runs after `ends_at`, or at `cancel_proxy` (`reverted_at` records it), every task
  the rule gave the substitute (moved at the start or routed while it lasted: `onBehalfOf` = principal)
  that is still open, assigned to the substitute and not handed on goes back to the principal (`onBehalfOf`
  removed, `task.proxy_returned` event; the principal and the substitute are notified). Tasks that stay:
  转办 by the substitute (another assignee, no `onBehalfOf`); out on 委派 (`owner_id` set: they come back to
  the substitute, who finishes them); and 委派 answered (an opinion on behalf of the substitute: the
  answer was given to them). A task a following rule of the principal (already active) covers goes to
  that rule's substitute instead, or simply stays when it is the same one.
- Both ends lock what they change: the job claims each rule row with FOR UPDATE SKIP LOCKED (two nodes
  never handle the same rule), every task row the same way (a task being worked on is left alone);
  `cancel_proxy` waits for the rule row. When a task was skipped, `applied_at` / `reverted_at` stay empty
  and the next run finishes the rule; the job run again on a finished rule changes nothing.
- No chains: a substitute's own rule is not followed, and a rule whose substitute delegates back is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from app.models import HumanTask, ProxyRule, User
from app.services.directory import role_holders
from app.services.errors import PermissionDenied
from app.services.permissions import Candidates, may_act

ON_BEHALF = "onBehalfOf"


@dataclass(frozen=True)
class ActiveRule:
    """The parts of an active rule that routing needs."""

    principal_id: int
    substitute_id: int
    process_id: str | None


def active_condition(now: datetime) -> ColumnElement[bool]:
    """Rules active at `now`: started, not ended, not cancelled."""
    return and_(ProxyRule.cancelled_at.is_(None), ProxyRule.starts_at <= now, ProxyRule.ends_at > now)


def active_rules(session: Session, now: datetime, principal_id: int | None = None) -> list[ActiveRule]:
    """Every rule active at `now` (optionally of one principal), in one query."""
    query = select(ProxyRule.principal_id, ProxyRule.substitute_id, ProxyRule.process_id).where(
        active_condition(now)
    )
    if principal_id is not None:
        query = query.where(ProxyRule.principal_id == principal_id)
    return [ActiveRule(r.principal_id, r.substitute_id, r.process_id) for r in session.execute(query)]


def substitute_in(rules: list[ActiveRule], user_id: int, process_id: str) -> int | None:
    """The substitute of `user_id` for `process_id` among `rules` (a process-specific rule wins)."""
    matches = [r for r in rules if r.principal_id == user_id and r.process_id in (None, process_id)]
    matches.sort(key=lambda r: r.process_id is None)
    return matches[0].substitute_id if matches else None


def route_new_task(
    session: Session,
    rules: list[ActiveRule],
    process_id: str,
    candidates: Candidates,
    assignee_id: int | None,
) -> tuple[int | None, int | None]:
    """(assignee, on behalf of) for a new task, given the active rules."""
    if not rules:
        return assignee_id, None
    if assignee_id is not None:
        substitute = substitute_in(rules, assignee_id, process_id)
        return (substitute, assignee_id) if substitute is not None else (assignee_id, None)
    if candidates.role is None or candidates.applicant:
        return None, None
    principals = {r.principal_id for r in rules}
    holders = role_holders(session, candidates.role, candidates.department, limit=2)
    if len(holders) == 1 and holders[0] in principals:
        substitute = substitute_in(rules, holders[0], process_id)
        if substitute is not None:
            return substitute, holders[0]
    return None, None


def acting_for(session: Session, actor: User, task: HumanTask, now: datetime) -> int | None:
    """Check that `actor` may act on `task`; return the principal they act for (or None). PermissionDenied."""
    if may_act(actor, task):
        if task.assignee_id == actor.id and task.properties.get(ON_BEHALF):
            return int(task.properties[ON_BEHALF])
        return None
    if task.assignee_id is not None:
        process_id = task.case.process_version.process_id
        if (
            substitute_in(active_rules(session, now, task.assignee_id), task.assignee_id, process_id)
            == actor.id
        ):
            return task.assignee_id
    raise PermissionDenied("您不是此任务的办理人 (you may not act on this task)")


def list_proxies(session: Session, actor: User) -> list[ProxyRule]:
    """The rules where the actor is principal or substitute, newest first."""
    query = (
        select(ProxyRule)
        .where(or_(ProxyRule.principal_id == actor.id, ProxyRule.substitute_id == actor.id))
        .order_by(ProxyRule.starts_at.desc())
    )
    return list(session.scalars(query))


def behalf_label(author: str, principal: str | None) -> str:
    """`张三 (代 李四)` for an opinion written on behalf of someone."""
    return f"{author} (代 {principal})" if principal else author
