"""Engine benchmark: the parallel-approval workload (intake → 4 parallel reviews → decision; 6 human tasks).

Measures, on SQLite and PostgreSQL, through the service layer (one transaction per completion):
cases/second, task-completion p50/p95, SQL statements per completion, the delivery job's cost of
publishing the case events (per completion, outside the timed completion), stored bytes per finished case,
and the cost of a step after 50 return (退回) loops relative to the first — next to the same workload on
the engine facade in memory and on raw SpiffWorkflow in memory.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from app.extensions import db
from app.models import User
from app.services.accounts import create_user, ensure_department, ensure_roles
from app.services.cases import complete_task, open_tasks, start_case
from app.services.operations import return_task
from app.services.processes import deploy_process, read_process_source
from app.services.step_events import publish_case_events
from app.workflow import SpecRef, WorkflowEngine, compile_process
from bench.common import bench_app, median, percentile, pg_available

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "services" / "fixtures"
DEPARTMENTS = ["market", "tax", "police", "fire"]
RETURNABLE = {
    '<spiffworkflow:property name="opinionRequired" value="true" />': (
        '<spiffworkflow:property name="opinionRequired" value="true" />'
        '<spiffworkflow:property name="returnTargets" value="intake" />'
    )
}
NOW = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
PUBLISH_EVERY = 10  # cases between two publications of the pending case events (the delivery job's work)


def _source(replace: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    source = read_process_source([FIXTURE / "mini_parallel.bpmn"], FIXTURE / "forms")
    text_ = source.files["mini_parallel.bpmn"].decode()
    for old, new in (replace or {}).items():
        text_ = text_.replace(old, new)
    return type(source)(files={"mini_parallel.bpmn": text_.encode()}, forms=source.forms)


def _people() -> dict[str, User]:
    session = db.session()
    ensure_roles(session)
    people = {"clerk": ("clerk", "approval"), "leader": ("leader", "gxq")}
    people.update({dept: ("approver", dept) for dept in DEPARTMENTS})
    users = {}
    for key, (role, dept) in people.items():
        ensure_department(session, dept, dept)
        users[key] = create_user(
            session,
            username=f"bench_{key}",
            display_name=key,
            password="bench-password",
            now=NOW,
            roles=[(role, dept)],
        )
    session.commit()
    return users


def _decision_for(task_bpmn_id: str) -> dict[str, str]:
    if task_bpmn_id == "review":
        return {"review_decision": "accept"}
    return {"decision": "accept", "opinion": "同意"}


def _actor(users: dict[str, User], task) -> User:  # type: ignore[no-untyped-def]
    user = users[task.candidate_department] if task.bpmn_id == "review" else users[task.candidate_role]
    _ = [m.role.code for m in user.memberships]  # loaded like a web request's current_user, outside the count
    return user


def run_service_workload(backend: str, cases: int) -> dict[str, float]:
    """The workload through the services on one backend."""
    with bench_app(backend) as (_app, counter):
        session = db.session()
        deploy_process(session, _source(), None, NOW)
        session.commit()
        users = _people()
        timings: list[float] = []
        statements: list[int] = []
        publishing = 0.0
        started = time.perf_counter()
        for index in range(cases):
            now = NOW + timedelta(seconds=index)
            case = start_case(session, "mini_parallel", {"departments": DEPARTMENTS}, users["clerk"], now)
            session.commit()
            while tasks := open_tasks(session, case):
                task_id, actor, data = tasks[0].id, _actor(users, tasks[0]), _decision_for(tasks[0].bpmn_id)
                with counter.measure():
                    t0 = time.perf_counter()
                    complete_task(session, task_id, data, actor, now)
                    session.commit()
                    timings.append(time.perf_counter() - t0)
                statements.append(counter.count)
            if index % PUBLISH_EVERY == PUBLISH_EVERY - 1 or index == cases - 1:
                publishing += _publish(session, now)  # what the delivery job does every 10 s
        elapsed = time.perf_counter() - started
        stored = _stored_bytes(backend, case.id, len(case.state))
        loops = _loop_cost(session, users, counter)
        return {
            "cases_per_s": cases / elapsed,
            "p50_ms": median(timings) * 1000,
            "p95_ms": percentile(timings, 95) * 1000,
            "stmts_max": max(statements),
            "publish_ms": publishing / len(timings) * 1000,
            "state_bytes": len(case.state),
            "stored_bytes": stored,
            **loops,
        }


def _publish(session, now: datetime) -> float:  # type: ignore[no-untyped-def]
    """Publish the pending case events to the outbox in one transaction; return the seconds it took."""
    t0 = time.perf_counter()
    publish_case_events(session, now)
    session.commit()
    return time.perf_counter() - t0


def _stored_bytes(backend: str, case_id: int, state_bytes: int) -> float:
    if backend != "postgresql":
        return float("nan")
    query = text(
        "SELECT (SELECT sum(pg_column_size(c.*)) FROM case_record c WHERE id = :id)"
        " + (SELECT coalesce(sum(pg_column_size(t.*)), 0) FROM human_task t WHERE case_id = :id)"
        " + (SELECT coalesce(sum(pg_column_size(o.*)), 0) FROM opinion o WHERE case_id = :id)"
        " + (SELECT coalesce(sum(pg_column_size(a.*)), 0) FROM audit_event a WHERE case_id = :id)"
    )
    return float(db.session.execute(query, {"id": case_id}).scalar_one())


def _loop_cost(session, users: dict[str, User], counter) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Time and statements of completing `intake` on the first pass and after 50 退回 loops."""
    deploy_process(session, _source(RETURNABLE | {"测试并联审批": "退回循环"}), None, NOW)
    session.commit()
    case = start_case(session, "mini_parallel", {"departments": ["market"]}, users["clerk"], NOW)
    session.commit()
    samples: list[tuple[float, int]] = []
    for loop in range(51):
        [intake] = open_tasks(session, case)
        actor = _actor(users, intake)
        with counter.measure():
            t0 = time.perf_counter()
            complete_task(session, intake.id, {"decision": "accept"}, actor, NOW)
            session.commit()
            samples.append((time.perf_counter() - t0, counter.count))
        [review] = open_tasks(session, case)
        complete_task(session, review.id, {"review_decision": "accept"}, _actor(users, review), NOW)
        session.commit()
        if loop < 50:
            [decide] = open_tasks(session, case)
            return_task(session, decide.id, "intake", "退回重审", _actor(users, decide), NOW)
            session.commit()
        if loop % PUBLISH_EVERY == PUBLISH_EVERY - 1:
            _publish(session, NOW)  # as the delivery job does between steps that are days apart
    first = median([s[0] for s in samples[:3]])
    last = median([s[0] for s in samples[-3:]])
    return {"loop_ratio": last / first, "loop_stmts_first": samples[0][1], "loop_stmts_last": samples[-1][1]}


def run_facade(cases: int) -> dict[str, float]:
    """The same workload on the engine facade in memory (load → run → dump per step, no database)."""
    source = _source()
    compiled = compile_process(source.files, source.forms)
    spec, engine = SpecRef(compiled.content_hash, compiled.spec_json), WorkflowEngine()
    timings: list[float] = []
    for _ in range(cases):
        result = engine.start(spec, {"departments": DEPARTMENTS}, NOW)
        while result.ready:
            task = result.ready[0]
            t0 = time.perf_counter()
            result = engine.complete(spec, result.state, task.task_id, _decision_for(task.bpmn_id), NOW)
            timings.append(time.perf_counter() - t0)
    return {"p50_ms": median(timings) * 1000, "p95_ms": percentile(timings, 95) * 1000}


def run_raw(cases: int) -> dict[str, float]:
    """The workload on plain SpiffWorkflow objects in memory (no serialization)."""
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
    from SpiffWorkflow.util.task import TaskState

    from app.workflow import SafeScriptEngine

    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(FIXTURE / "mini_parallel.bpmn"))
    spec = parser.get_spec("mini_parallel")
    script_engine = SafeScriptEngine({})
    timings: list[float] = []
    for _ in range(cases):
        workflow = BpmnWorkflow(spec, script_engine=script_engine)
        workflow.get_tasks(state=TaskState.READY)[0].data.update({"departments": DEPARTMENTS})
        workflow.do_engine_steps()
        while ready := workflow.get_tasks(state=TaskState.READY, manual=True):
            task = ready[0]
            t0 = time.perf_counter()
            task.set_data(**_decision_for(task.task_spec.bpmn_id))
            task.run()
            workflow.do_engine_steps()
            timings.append(time.perf_counter() - t0)
    return {"p50_ms": median(timings) * 1000, "p95_ms": percentile(timings, 95) * 1000}


def _row(label: str, figures: dict[str, float], keys: list[str]) -> str:
    def fmt(value: float) -> str:
        return "—" if value != value else (f"{value:.2f}" if isinstance(value, float) else str(value))

    return f"| {label} | " + " | ".join(fmt(figures.get(k, float("nan"))) for k in keys) + " |"


def main(argv: list[str]) -> None:
    """Print the engine table."""
    cases = int(argv[0]) if argv else 200
    runs: list[tuple[str, Callable[[], dict[str, float]]]] = [
        ("raw SpiffWorkflow (memory)", lambda: run_raw(cases)),
        ("engine facade (memory, load+run+dump)", lambda: run_facade(cases)),
        ("services + SQLite", lambda: run_service_workload("sqlite", cases)),
    ]
    if pg_available():
        runs.append(("services + PostgreSQL", lambda: run_service_workload("postgresql", cases)))
    else:
        print("PostgreSQL not reachable: PostgreSQL rows skipped")
    keys = [
        "cases_per_s",
        "p50_ms",
        "p95_ms",
        "stmts_max",
        "publish_ms",
        "state_bytes",
        "stored_bytes",
        "loop_ratio",
        "loop_stmts_first",
        "loop_stmts_last",
    ]
    print(f"\nengine benchmark — {cases} cases of intake → 4 parallel reviews → decision (6 human tasks)\n")
    print("| run | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    results = {}
    for label, run in runs:
        results[label] = run()
        print(_row(label, results[label], keys), flush=True)
    Path("bench/.last-engine.json").write_text(json.dumps(results, indent=1))
