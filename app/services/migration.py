"""Move running cases to another version of their process (SpiffWorkflow diff/migrate), with a dry run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Case, ProcessVersion, User
from app.services.audit import record_event
from app.services.processes import get_version
from app.services.projection import apply_result
from app.services.runtime import spec_ref, workflow_engine
from app.workflow import migrate


@dataclass(frozen=True)
class MigrationLine:
    """What happened (or would happen) to one case."""

    case_number: str
    from_version: int
    migrated: bool
    reasons: tuple[str, ...]


def migrate_cases(
    session: Session, process_id: str, to_version: int, actor: User | None, now: datetime, *, dry_run: bool
) -> list[MigrationLine]:
    """Migrate every open case of `process_id` on another version whose started steps are unchanged."""
    target = get_version(session, process_id, to_version)
    query = (
        select(Case)
        .join(Case.process_version)
        .where(ProcessVersion.process_id == process_id, ProcessVersion.id != target.id, Case.status == "open")
        .order_by(Case.id)
        .with_for_update(of=Case)
    )
    lines: list[MigrationLine] = []
    for case in session.scalars(query):
        lines.append(_migrate_one(session, case, target, actor, now, dry_run))
    session.flush()
    return lines


def _migrate_one(
    session: Session, case: Case, target: ProcessVersion, actor: User | None, now: datetime, dry_run: bool
) -> MigrationLine:
    source = case.process_version
    outcome = migrate(spec_ref(source), spec_ref(target), case.state)
    line = MigrationLine(case.number, source.version, outcome.ok, outcome.reasons)
    if not outcome.ok or outcome.state is None or dry_run:
        return line
    result = workflow_engine().inspect(spec_ref(target), outcome.state)
    case.process_version = target
    apply_result(session, case, result, now)
    detail = {"from": source.version, "to": target.version}
    record_event(session, case, actor, "case.migrated", detail, now)
    return line
