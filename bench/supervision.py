"""Supervision benchmark: the deadline scan and the anomaly rules over 100 000 open tasks on PostgreSQL.

Generates cases and open human tasks directly with multi-row INSERTs (no engine), due dates spread over
the weeks around `NOW`, then times `scan_deadlines` (first run raises, second run must raise nothing) and
`run_anomaly_rules`. Target: a scan in ≤ 2 s. Run alone with `python -m bench.supervision [TASKS]`.
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text

from app.extensions import db
from app.models import Case, HumanTask, OutboxEvent, ServiceItem
from app.services.accounts import ensure_department, ensure_roles
from app.services.alerts import scan_deadlines
from app.services.anomalies import run_anomaly_rules
from app.services.processes import deploy_process, read_process_source
from app.services.runtime import load_calendar
from bench.common import bench_app, pg_available

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "services" / "fixtures"
NOW = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)  # Monday 09:30 Shanghai
TASKS_PER_CASE = 2
ITEMS = 10
BATCH = 5000


def _setup() -> tuple[int, list[tuple[int, int]]]:
    """A deployed process version and ITEMS catalogue items: (version id, [(item id, promised days)])."""
    session = db.session()
    ensure_roles(session)
    department = ensure_department(session, "market", "市场监管局")
    source = read_process_source([FIXTURE / "mini_timer.bpmn"], FIXTURE / "forms")
    version = deploy_process(session, source, None, NOW).version
    items = []
    for n in range(ITEMS):
        item = ServiceItem(
            code=f"B-{n}", name=f"基准事项{n}", department=department, item_type="行政许可", materials=[],
            statutory_limit_days=20, promised_limit_days=5 + n, special_steps=[], process_id="mini_timer",
            mode="tolerant", member_departments=[], settings={}, faq=[],
        )  # fmt: skip
        session.add(item)
        session.flush()
        items.append((item.id, item.promised_limit_days))
    session.commit()
    return version.id, items


def _generate(tasks: int) -> float:
    """Insert tasks / TASKS_PER_CASE cases and their open tasks; return seconds taken."""
    t0 = time.perf_counter()
    version_id, items = _setup()
    calendar = load_calendar(db.session())
    rng = random.Random(20261123)
    due_cache: dict[tuple[Any, int], datetime] = {}

    def due(created: datetime, limit: int) -> datetime:
        key = (calendar.local_date(created), limit)
        if key not in due_cache:
            due_cache[key] = calendar.due_at(created, limit)
        return due_cache[key]

    conn = db.session().connection()
    case_id = 0
    for start in range(0, tasks // TASKS_PER_CASE, BATCH):
        cases, rows = [], []
        for _ in range(min(BATCH, tasks // TASKS_PER_CASE - start)):
            case_id += 1
            created = NOW - timedelta(days=rng.randint(0, 30), minutes=rng.randint(0, 600))
            item_id, promised = items[rng.randrange(ITEMS)]
            cases.append(
                _case_row(case_id, version_id, item_id, created, due(created, promised), due(created, 20))
            )
            for _ in range(TASKS_PER_CASE):
                step_created = created + timedelta(hours=rng.randint(0, 72))
                limit = rng.choice((1, 3, 5, 10, 15))
                rows.append(_task_row(case_id, step_created, due(step_created, limit), limit))
        conn.execute(insert(Case), cases)
        conn.execute(insert(HumanTask), rows)
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    return time.perf_counter() - t0


def _case_row(
    n: int, version_id: int, item_id: int, created: datetime, promised: datetime, statutory: datetime
) -> dict[str, Any]:
    return {
        "id": n, "number": f"GF-B-{n:07d}", "kind": "application", "title": "基准办件",
        "process_version_id": version_id, "status": "open", "state": "{}", "data": {}, "open_task_uuids": [],
        "service_item_id": item_id, "version": 1, "created_at": created, "updated_at": created,
        "promised_due_at": promised, "statutory_due_at": statutory,
    }  # fmt: skip


def _task_row(case_id: int, created: datetime, due: datetime, limit: int) -> dict[str, Any]:
    return {
        "case_id": case_id, "task_uuid": f"{case_id:012d}-{created.timestamp():.0f}-{limit}",
        "bpmn_id": "review",
        "name": "部门审查", "lane": "approver@market", "candidate_role": "approver",
        "candidate_department": "market", "properties": {"timeLimitWorkingDays": str(limit)}, "state": "open",
        "created_at": created, "due_at": due,
    }  # fmt: skip


def _timed(run: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = run()
    db.session.commit()
    return time.perf_counter() - t0, result


def _outbox_rows() -> int:
    return int(db.session.scalar(select(func.count()).select_from(OutboxEvent)) or 0)


def run(tasks: int) -> list[tuple[str, float, int, int]]:
    """Generate the data on PostgreSQL and time the scans; rows of (run, seconds, raised, outbox rows
    written — the alert.raised events and e-mail/SMS, counted outside the timing)."""
    results: list[tuple[str, float, int, int]] = []
    with bench_app("postgresql") as (_app, _counter):
        generated = _generate(tasks)
        print(f"generated {tasks} open tasks in {generated:.1f} s", flush=True)
        session = db.session()
        # Every scan raises at most ALERT_BUDGET alerts (most urgent first); a first scan over a backlog
        # is followed by the runs that clear it, then by a run with nothing new (the steady state).
        scan, deferred = 1, True
        while deferred:
            before = _outbox_rows()
            seconds, report = _timed(lambda: scan_deadlines(session, NOW))
            deferred = report.deferred
            label = f"scan_deadlines run {scan}" + (" (budget reached)" if deferred else "")
            results.append((label, seconds, report.raised, _outbox_rows() - before))
            scan += 1
        before = _outbox_rows()
        seconds, report = _timed(lambda: scan_deadlines(session, NOW))
        results.append(
            (f"scan_deadlines run {scan} (nothing new)", seconds, report.raised, _outbox_rows() - before)
        )
        for label in ("run_anomaly_rules (first run)", "run_anomaly_rules (second run)"):
            before = _outbox_rows()
            seconds, found = _timed(lambda: run_anomaly_rules(session, NOW))
            results.append((label, seconds, len(found), _outbox_rows() - before))
    return results


def main(argv: list[str]) -> None:
    """Print the supervision table."""
    tasks = int(argv[0]) if argv else 100_000
    if not pg_available():
        print("PostgreSQL not reachable: supervision benchmark skipped")
        return
    results = run(tasks)
    print(
        f"\nsupervision benchmark — {tasks} open tasks in {tasks // TASKS_PER_CASE} open cases (PostgreSQL)\n"
    )
    print("| run | seconds | raised | outbox rows written |")
    print("|---|---|---|---|")
    for label, seconds, raised, written in results:
        print(f"| {label} | {seconds:.2f} | {raised} | {written} |", flush=True)
    Path("bench/.last-supervision.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
