"""Job bodies: each runs inside an app context, calls services, and commits per unit of work."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy.orm import Session

from app.extensions import db
from app.services.delivery import (
    Claimed,
    DeliveryError,
    DeliverySettings,
    claim_due_events,
    endpoint_of,
    mark_unconfigured,
    record_delivered,
    record_failed,
    release_claims,
    send,
)
from app.services.delivery.outbox import CHANNELS
from app.services.proxy_handover import due_proxy_rule_ids, run_proxy_rule
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


MAX_DELIVERIES_PER_RUN = 500
CLAIM_BATCH = 50  # rows claimed per round (one per case and channel: the head of its queue)


def deliver_outbox(now: datetime) -> str:
    """Send due outbox rows in order per case and channel; each outcome committed as soon as known."""
    settings = DeliverySettings.from_config(current_app.config)
    session = db.session()
    channels = [channel for channel in CHANNELS if settings.configured(channel)]
    waiting = mark_unconfigured(session, [c for c in CHANNELS if c not in channels], now)
    session.commit()
    sent = failed = 0
    while sent + failed < MAX_DELIVERIES_PER_RUN:
        claims = claim_due_events(session, channels, now, CLAIM_BATCH)
        session.commit()  # the attempt is counted (and the row leased) before anything is sent
        if not claims:
            break
        done, errors = _send_claims(session, claims, settings, now)
        sent, failed = sent + done, failed + errors
    return f"sent={sent} failed={failed} unconfigured={waiting}"


def _send_claims(
    session: Session, claims: list[Claimed], settings: DeliverySettings, now: datetime
) -> tuple[int, int]:
    """Send each claim, then record it; an endpoint that is down sends the channel's other claims back."""
    sent = failed = 0
    down: dict[str, datetime] = {}
    untried: list[Claimed] = []
    for claimed in claims:
        endpoint = endpoint_of(claimed.channel)
        if endpoint in down:
            untried.append(claimed)
            continue
        try:
            send(claimed, settings)
        except Exception as error:  # every failure is recorded on the row and retried with backoff
            retry_at = record_failed(session, claimed, _describe(error), now)
            if not isinstance(error, DeliveryError) or error.endpoint_down:
                down[endpoint] = retry_at
            failed += 1
        else:
            record_delivered(session, claimed.id, now)
            sent += 1
        session.commit()
    for endpoint, retry_at in down.items():
        release_claims(session, [c for c in untried if endpoint_of(c.channel) == endpoint], retry_at)
    session.commit()
    return sent, failed


def _describe(error: Exception) -> str:
    return str(error) if isinstance(error, DeliveryError) else f"{type(error).__name__}: {error}"


def deadline_scan(now: datetime) -> str:
    """Raise and resolve deadline alerts in one transaction, on one node at a time (advisory lock)."""
    from app.services.alerts import scan_deadlines
    from app.services.job_locks import DEADLINE_SCAN_LOCK, SKIPPED, try_job_lock
    from app.services.runtime import load_calendar

    session = db.session()
    if not try_job_lock(session, DEADLINE_SCAN_LOCK):
        session.rollback()
        return SKIPPED
    report = scan_deadlines(session, now, load_calendar(session))
    session.commit()
    levels = " ".join(f"{level}={count}" for level, count in sorted(report.by_level.items()))
    more = " more=next-run" if report.deferred else ""
    return f"raised={report.raised} resolved={report.resolved}" + (f" ({levels})" if levels else "") + more


def anomaly_rules(now: datetime) -> str:
    """Run the anomaly rules in one transaction, on one node at a time (advisory lock)."""
    from app.services.anomalies import run_anomaly_rules
    from app.services.job_locks import ANOMALY_RULES_LOCK, SKIPPED, try_job_lock

    session = db.session()
    if not try_job_lock(session, ANOMALY_RULES_LOCK):
        session.rollback()
        return SKIPPED
    found = run_anomaly_rules(session, now)
    session.commit()
    return f"anomalies={len(found)}"


def evaluation_invitations(now: datetime) -> str:
    """Invite a rating for cases closed three days ago and still unrated (idempotent; advisory lock)."""
    from app.services.evaluations import INVITATIONS_LOCK, invite_unrated
    from app.services.job_locks import SKIPPED, try_job_lock

    session = db.session()
    if not try_job_lock(session, INVITATIONS_LOCK):
        session.rollback()
        return SKIPPED
    invited = invite_unrated(session, now)
    session.commit()
    return f"invited={invited}"


def proxy_rules(now: datetime) -> str:
    """Vacation proxies (代理) whose start or end has come: move the principal's open tasks to the
    substitute, or give them back. Each rule in its own transaction, claimed with FOR UPDATE SKIP LOCKED
    (two nodes never handle the same rule); a rule with a task locked by someone else is finished next run."""
    session = db.session()
    rule_ids = due_proxy_rule_ids(session, now)
    session.commit()
    started = ended = moved = returned = unfinished = failed = 0
    for rule_id in rule_ids:
        try:
            run = run_proxy_rule(session, rule_id, now)
            session.commit()
        except Exception:  # one broken rule does not stop the others; it is tried again next run
            session.rollback()
            current_app.logger.exception("proxy rule %s failed", rule_id)
            failed += 1
            continue
        if run is None:  # another node has it, or it is no longer due
            continue
        started += int(run.kind == "start" and run.complete)
        ended += int(run.kind == "end" and run.complete)
        unfinished += int(not run.complete)
        moved, returned = moved + run.moved, returned + run.returned
    return (
        f"started={started} ended={ended} moved={moved} returned={returned} "
        f"unfinished={unfinished} failed={failed}"
    )
