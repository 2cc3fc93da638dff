"""Shared benchmark plumbing: a throwaway app on SQLite or PostgreSQL, statement counting, percentiles."""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import event, text

from app import create_app
from app.extensions import db
from config import TestingConfig

PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/govflow_bench")
IGNORED_PREFIXES = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def percentile(values: list[float], pct: float) -> float:
    """The pct-th percentile (nearest rank) of a list of numbers."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def median(values: list[float]) -> float:
    """The median."""
    return statistics.median(values)


@dataclass
class StatementCounter:
    """Counts SQL statements (not transaction control) sent through an engine."""

    count: int = 0
    statements: list[str] = field(default_factory=list)
    active: bool = False

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self.active and not statement.lstrip().upper().startswith(IGNORED_PREFIXES):
            self.count += 1
            self.statements.append(statement.split("\n")[0][:90])

    @contextmanager
    def measure(self) -> Iterator[StatementCounter]:
        """Count statements inside the block."""
        self.count, self.statements, self.active = 0, [], True
        try:
            yield self
        finally:
            self.active = False


def psycopg_url(url: str = PG_URL) -> str:
    """A SQLAlchemy PostgreSQL URL as plain psycopg takes it."""
    return url.replace("postgresql+psycopg://", "postgresql://")


def machine_line() -> str:
    """How fast this machine is right now, to read the other figures by: a pure-Python loop, an app-like
    workload, and (when PostgreSQL answers) a SELECT 1 round trip and a transaction that must flush its
    commit to disk.

    The VMs this runs on swing by up to 2x within an hour (shared hosts); figures from different runs
    compare only next to these.
    """
    loop_ns = _python_loop_ns()
    workload_ms = _mixed_workload_ms()
    line = f"machine: Python loop {loop_ns:.1f} ns/iteration, mixed workload {workload_ms:.1f} ms"
    try:
        import psycopg

        with psycopg.connect(psycopg_url().rsplit("/", 1)[0] + "/postgres", connect_timeout=3) as conn:
            trips, commits = [], []
            for _ in range(300):
                t0 = time.perf_counter()
                conn.execute("SELECT 1").fetchone()
                trips.append(time.perf_counter() - t0)
            for _ in range(300):
                t0 = time.perf_counter()
                conn.execute("SELECT txid_current()")  # an xid: the COMMIT writes and flushes its WAL record
                conn.commit()
                commits.append(time.perf_counter() - t0)
        trip, commit = median(trips) * 1000, median(commits) * 1000
        line += f"; PostgreSQL SELECT 1 {trip:.3f} ms, a writing transaction's BEGIN … COMMIT {commit:.3f} ms"
    except Exception as error:  # no server: the loop alone
        line += f" (PostgreSQL not measured: {type(error).__name__})"
    return line


def _python_loop_ns() -> float:
    started = time.perf_counter()
    total = 0
    for n in range(2_000_000):
        total += n
    return (time.perf_counter() - started) / 2_000_000 * 1e9


def _mixed_workload_ms() -> float:
    """Median of 7 runs of an app-like workload (dicts, JSON, strings, sorting over ~5 000 objects):
    unlike the tight loop, it feels a host whose caches and memory are shared with busy neighbours."""
    runs = []
    for _ in range(7):
        started = time.perf_counter()
        rows = [
            {"id": n, "uuid": f"{n:032x}", "name": f"步骤{n % 97}", "data": {"k": list(range(n % 13))}}
            for n in range(5_000)
        ]
        decoded = json.loads(json.dumps(rows, ensure_ascii=False))
        decoded.sort(key=lambda row: (row["name"], -row["id"]))
        _ = {row["uuid"]: row for row in decoded if "7" in row["uuid"]}
        runs.append(time.perf_counter() - started)
    return median(runs) * 1000


def pg_available() -> bool:
    """Whether the local PostgreSQL answers (and the bench database could be recreated)."""
    from tests.pg_database import main as recreate

    return recreate(PG_URL) == 0


@contextmanager
def bench_app(backend: str) -> Iterator[tuple[Flask, StatementCounter]]:
    """A migrated app on a fresh database of the given backend, with a statement counter attached."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}" if backend == "sqlite" else PG_URL

        class Config(TestingConfig):
            SQLALCHEMY_DATABASE_URI = url
            GOVFLOW_UPLOAD_DIR = str(Path(tmp) / "uploads")

        app = create_app(Config)
        counter = StatementCounter()
        with app.app_context():
            if backend == "postgresql":
                with db.engine.begin() as conn:
                    conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            upgrade()
            event.listen(db.engine, "before_cursor_execute", counter)
            yield app, counter
            db.session.remove()
            db.engine.dispose()
