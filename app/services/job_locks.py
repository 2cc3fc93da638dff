"""Cluster-wide mutual exclusion for scheduled jobs (the scheduler runs on every node)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

# pg_try_advisory_xact_lock keys, one per job (arbitrary constants; keep them unique across govflow)
DEADLINE_SCAN_LOCK = 7_310_001
ANOMALY_RULES_LOCK = 7_310_002
SKIPPED = "skipped: another node holds the lock"


def try_job_lock(session: Session, key: int) -> bool:
    """Take the job's lock for the current transaction; False if another node holds it.

    PostgreSQL: `pg_try_advisory_xact_lock(key)`, released at commit or rollback. SQLite: the engine opens
    every transaction with BEGIN IMMEDIATE, so the write lock taken here serializes the runs (True).
    """
    if session.get_bind().dialect.name == "postgresql":
        return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": key}))
    session.execute(text("SELECT 1"))  # starts the transaction (BEGIN IMMEDIATE on govflow's SQLite engine)
    return True
