"""To-do list queries at volume (PostgreSQL): 100 000 open and 1 000 000 closed tasks.

Rows are generated in SQL (INSERT … SELECT generate_series) on a database of its own (the bench URL's
name + `_todo`): 2 000 staff in 20 departments (one of them, dept00, takes 30 % of the department work),
110 000 cases, open tasks 35 % assigned / 40 % claimable by approver@dept / 15 % clerk / 10 % leader, and
closed tasks over two years. Three measured actors (approver in dept00, clerk, leader) each hold about 1 %
of the assigned and closed work. Then `list_tasks` (page 1, 20 rows, no filter) is timed for
todo / claimable / done, `count_tasks` (the navigation counts), and `tasks_with_counts` for claimable
(what GET /api/v1/tasks?view=claimable asks of the database: the counts and the page), 100 runs each.
The actor is loaded before each timed call, as a request's actor is by its token lookup.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask_migrate import upgrade
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app import create_app
from app.extensions import db
from app.models import User
from app.services.accounts import create_user, ensure_department, ensure_roles
from app.services.processes import deploy_process
from app.services.task_counts import count_tasks
from app.services.task_lists import list_tasks, tasks_with_counts
from app.services.task_rows import TaskFilters
from bench.common import PG_URL, median, percentile, pg_available
from bench.engine import NOW, _source
from config import TestingConfig

RUNS = 100
TARGET_MS = 20.0
OPEN_TASKS, CLOSED_TASKS, CASES, STAFF = 100_000, 1_000_000, 110_000, 2_000
ACTORS = {
    "approver (dept00)": ("approver", "dept00"),
    "clerk": ("clerk", "approval"),
    "leader": ("leader", "gxq"),
}
VOLUME_URL = make_url(PG_URL).set(database=f"{make_url(PG_URL).database}_todo").render_as_string(False)

SQL_STAFF = """
INSERT INTO user_account (username, display_name, password_hash, active, created_at)
SELECT 'staff' || i, '员工' || i, 'x', true, :now FROM generate_series(1, :staff) i;
INSERT INTO membership (user_id, role_id, department_id)
SELECT u.id, (SELECT id FROM role WHERE code = 'approver'),
       (SELECT id FROM department WHERE code = 'dept' || lpad((CASE WHEN u.id % 10 < 3 THEN 0
                                                           ELSE 1 + u.id % 19 END)::text, 2, '0'))
FROM user_account u WHERE u.username LIKE 'staff%';
INSERT INTO case_record (number, kind, title, process_version_id, status, state, data, open_task_uuids,
                         originator_id, version, created_at, updated_at)
SELECT 'V' || lpad(i::text, 8, '0'), 'application', '批量案件 ' || i, :pv,
       CASE WHEN i <= :open THEN 'open' ELSE 'completed' END, '', '{}'::jsonb, '[]'::jsonb,
       :first_staff + i % :staff, 1, :now - make_interval(days => i % 730), :now
FROM generate_series(1, :cases) i;
"""
# t.k: 0..99 decides the kind of open task; who: one of the measured actors for ~1 % each, else staff
SQL_OPEN = """
INSERT INTO human_task (case_id, task_uuid, bpmn_id, name, lane, candidate_role, candidate_department,
                        assignee_id, properties, state, created_at, due_at)
SELECT :first_case + i - 1, md5(i::text)::uuid::text,
       CASE WHEN k < 75 THEN 'review' WHEN k < 90 THEN 'intake' ELSE 'decide' END, '步骤',
       NULL,
       CASE WHEN k < 75 THEN 'approver' WHEN k < 90 THEN 'clerk' ELSE 'leader' END,
       CASE WHEN k < 75 THEN 'dept' || lpad((CASE WHEN i % 10 < 3 THEN 0 ELSE 1 + i % 19 END)::text, 2, '0')
       END,
       CASE WHEN k < 35 THEN (CASE i % 97 WHEN 0 THEN :a_approver WHEN 1 THEN :a_clerk WHEN 2 THEN :a_leader
                              ELSE :first_staff + ((i::bigint * 7919) % :staff)::int END) END,
       '{}'::jsonb, 'open',
       :now - make_interval(days => i % 60, mins => i % 1440),
       CASE WHEN i % 20 = 0 THEN NULL
            ELSE :now - make_interval(days => i % 60) + make_interval(days => 1 + i % 20) END
FROM (SELECT i, (i * 37) % 100 AS k FROM generate_series(1, :open) i) t;
"""
SQL_CLOSED = """
INSERT INTO human_task (case_id, task_uuid, bpmn_id, name, lane, candidate_role, candidate_department,
                        assignee_id, properties, state, created_at, due_at, completed_by_id, completed_at,
                        decision)
SELECT :first_case + i % :cases, md5('c' || i)::uuid::text, 'review', '步骤', NULL, 'approver',
       'dept' || lpad((1 + i % 19)::text, 2, '0'), w, '{}'::jsonb,
       CASE WHEN i % 20 = 0 THEN 'cancelled' ELSE 'completed' END,
       done - interval '2 days', done + interval '3 days', w, done, 'accept'
FROM (SELECT i,
             CASE i % 97 WHEN 0 THEN :a_approver WHEN 1 THEN :a_clerk WHEN 2 THEN :a_leader
                  ELSE :first_staff + ((i::bigint * 7919) % :staff)::int END AS w,
             :now - make_interval(days => i % 730, mins => i % 1440) AS done
      FROM generate_series(1, :closed) i) t;
"""


@contextmanager
def volume_app(reuse: bool = False) -> Iterator[Session]:
    """A migrated app on a freshly recreated PostgreSQL database of its own (or the last one, `reuse`)."""
    from tests.pg_database import main as recreate

    if not reuse and recreate(VOLUME_URL) != 0:
        raise RuntimeError("PostgreSQL not reachable")
    with tempfile.TemporaryDirectory() as tmp:

        class Config(TestingConfig):
            SQLALCHEMY_DATABASE_URI = VOLUME_URL
            GOVFLOW_UPLOAD_DIR = str(Path(tmp) / "uploads")

        app = create_app(Config)
        with app.app_context():
            if not reuse:
                upgrade()
            yield db.session()
            db.session.remove()
            db.engine.dispose()


def generate(session: Session) -> dict[str, User]:
    """The actors, the staff, the cases and 1.1 M tasks; returns the measured actors."""
    ensure_roles(session)
    for dept in ["approval", "gxq", *(f"dept{n:02d}" for n in range(20))]:
        ensure_department(session, dept, dept)
    version = deploy_process(session, _source(), None, NOW)
    actors = {
        label: create_user(
            session,
            username=f"vol_{role}",
            display_name=label,
            password="bench-password",
            now=NOW,
            roles=[(role, dept)],
        )
        for label, (role, dept) in ACTORS.items()
    }
    session.flush()
    naive_now = NOW.replace(tzinfo=None)
    ids = {f"a_{role}": actors[label].id for label, (role, _) in ACTORS.items()}
    params: dict[str, Any] = {"now": naive_now, "staff": STAFF, "open": OPEN_TASKS, "cases": CASES}
    params |= {"pv": getattr(version, "id", None) or _version_id(session), **ids}
    for statement in SQL_STAFF.split(";\n"):
        if statement.strip():
            first = session.scalar(text("SELECT coalesce(max(id), 0) + 1 FROM user_account"))
            params.setdefault("first_staff", first)
            session.execute(text(statement), params)
    params["first_case"] = session.scalar(text("SELECT min(id) FROM case_record WHERE number LIKE 'V%'"))
    session.execute(text(SQL_OPEN), params)
    session.execute(text(SQL_CLOSED), params | {"closed": CLOSED_TASKS})
    session.commit()
    session.commit()
    _vacuum_analyze()
    return actors


def _vacuum_analyze() -> None:
    """VACUUM ANALYZE (outside a transaction): statistics and the visibility map autovacuum would keep."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def _existing_actors(session: Session) -> dict[str, User]:
    users = {u.username: u for u in session.scalars(select(User).where(User.username.like("vol_%")))}
    return {label: users[f"vol_{role}"] for label, (role, _) in ACTORS.items()}


def _version_id(session: Session) -> int:
    return int(session.scalar(text("SELECT max(id) FROM process_version")) or 0)


def time_lists(session: Session, actors: dict[str, User]) -> list[tuple[str, str, int, float, float]]:
    """(actor, view, total, p50 ms, p95 ms) over RUNS calls each, plus the navigation counts."""
    now, results = NOW + timedelta(days=1), []
    for label, actor in actors.items():
        for view in ("todo", "claimable", "done", "counts", "JSON list (claimable + counts)"):
            samples, total = [], 0
            for _ in range(RUNS):
                session.commit()  # a request's read-only transaction ends so (prepared statements kept)
                _ = actor.id, [m.role.code for m in actor.memberships]  # loaded untimed, like a request's
                t0 = time.perf_counter()
                if view == "counts":
                    total = sum(count_tasks(session, actor, now).values())
                elif view.startswith("JSON"):
                    total = tasks_with_counts(session, actor, "claimable", TaskFilters(), 1, 20, now)[0].total
                else:
                    total = list_tasks(session, actor, view, TaskFilters(), 1, 20, now).total
                samples.append(time.perf_counter() - t0)
            results.append((label, view, total, median(samples) * 1000, percentile(samples, 95) * 1000))
    return results


def main(argv: list[str]) -> None:
    """Generate, ANALYZE, time and print the table (PostgreSQL only)."""
    global OPEN_TASKS, CLOSED_TASKS, CASES, STAFF  # `small`: a quick check of the SQL
    if argv[:1] == ["small"]:
        OPEN_TASKS, CLOSED_TASKS, CASES, STAFF = 1_000, 10_000, 1_100, 200
    reuse = argv[:1] == ["reuse"]  # time the queries again on the rows of the last run
    if not reuse and not pg_available():
        print("PostgreSQL not reachable: to-do volume benchmark skipped")
        return
    with volume_app(reuse) as session:
        t0 = time.perf_counter()
        actors = _existing_actors(session) if reuse else generate(session)
        print(
            f"\ngenerated {OPEN_TASKS:,} open + {CLOSED_TASKS:,} closed tasks"
            f" in {time.perf_counter() - t0:.0f} s"
        )
        rows = time_lists(session, actors)
    print(
        f"\nto-do lists at volume (PostgreSQL) — list_tasks page 1 × 20 rows, {RUNS} runs,"
        f" target p95 ≤ {TARGET_MS:g} ms\n"
    )
    print("| actor | view | rows in view | p50 ms | p95 ms |")
    print("|---|---|---|---|---|")
    for label, view, total, p50, p95 in rows:
        print(f"| {label} | {view} | {total:,} | {p50:.2f} | {p95:.2f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
