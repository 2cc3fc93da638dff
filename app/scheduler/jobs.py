"""Job bodies: each runs inside an app context, calls services, and commits per unit of work."""

from __future__ import annotations

from datetime import datetime

from app.extensions import db
from app.services.timers import due_timer_case_ids, fire_case_timers, mark_case_error


def fire_timers(now: datetime) -> str:
    """Fire due BPMN timers; each case in its own transaction so one failure does not block the others."""
    session = db.session()
    case_ids = due_timer_case_ids(session, now)
    session.commit()
    fired = failed = 0
    for case_id in case_ids:
        try:
            fired += int(fire_case_timers(session, case_id, now))
            session.commit()
        except Exception as error:  # any failure parks that one case; the others still run
            session.rollback()
            message = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
            mark_case_error(session, case_id, message, now)
            session.commit()
            failed += 1
    return f"due={len(case_ids)} fired={fired} failed={failed}"
