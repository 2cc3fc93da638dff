"""发文字号: format, per issuer and year, validation; simultaneous 编号 completions get consecutive numbers
(real threads, real commits)."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import pytest
from flask import Flask
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import Case, NumberSequence, ProcessVersion, User
from app.services.cases import complete_task, open_tasks, start_case
from app.services.documents import allocate_document_number
from app.services.errors import InvalidInput
from tests.cleanup import delete_cases
from tests.factories import create_user
from tests.processes.scenario import deploy

WORKERS = 10
DRAFT: dict[str, object] = {
    "title": "关于做好冬季安全生产工作的通知",
    "doc_type": "notice",
    "main_recipients": "区各部门",
    "urgency": "平件",
    "secrecy_level": "none",
    "cosign_departments": [],
    "body": ["正文.docx"],
}
STEPS: list[tuple[str, dict[str, object]]] = [
    ("drafter", DRAFT),
    ("head", {"decision": "pass", "opinion": "同意"}),
    ("leader", {"sign_opinion": "同意", "signed_on": "2026-11-23", "opinion": "同意"}),
]
NUMBER = re.compile(r"^并发测发〔2026〕(\d+)号$")


def test_numbers_per_issuer_and_year(session: Session) -> None:
    assert allocate_document_number(session, "office", 2026, "高新管发") == "高新管发〔2026〕1号"
    assert allocate_document_number(session, "office", 2026, "高新管发") == "高新管发〔2026〕2号"
    assert allocate_document_number(session, "office", 2027, "高新管发") == "高新管发〔2027〕1号"
    assert allocate_document_number(session, "market", 2026, "高新市监发") == "高新市监发〔2026〕1号"
    assert allocate_document_number(session, " office ", 2026, " 高新管发 ") == "高新管发〔2026〕3号"


@pytest.mark.parametrize(
    ("issuer", "prefix", "field"), [("", "高新管发", "issuer"), ("office", " ", "issuer_prefix")]
)
def test_issuer_and_prefix_are_required(session: Session, issuer: str, prefix: str, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        allocate_document_number(session, issuer, 2026, prefix)
    assert field in (caught.value.details or {})


@dataclass(frozen=True)
class Prepared:
    """Committed cases waiting at 编号, the office user, and what to clean up."""

    case_ids: list[int]
    task_ids: list[int]
    office_id: int
    user_ids: list[int]
    version_id: int | None
    issuer: str


def _prepare(now: datetime, issuer: str) -> Prepared:
    session = db.session()
    users = {
        "drafter": create_user(session, now, roles=[("approver", "market")]),
        "head": create_user(session, now, roles=[("dept_head", "market")]),
        "leader": create_user(session, now, roles=[("leader", "gxq")]),
        "office": create_user(session, now, roles=[("office", "office")]),
    }
    deployed = session.scalar(
        select(ProcessVersion.id).where(ProcessVersion.process_id == "document_outgoing")
    )
    version = deploy(session, "document_outgoing", now)
    meta = {"issuer": issuer, "issuer_prefix": "并发测发"}
    case_ids, task_ids = [], []
    for _ in range(WORKERS):
        case = start_case(
            session, "document_outgoing", {"drafting_dept": "market"}, users["drafter"], now, meta=meta
        )
        for who, data in STEPS:
            [task] = open_tasks(session, case)
            complete_task(session, task.id, data, users[who], now)
        [numbering] = open_tasks(session, case)
        assert numbering.bpmn_id == "assign_number"
        case_ids.append(case.id)
        task_ids.append(numbering.id)
    session.commit()
    user_ids = [user.id for user in users.values()]
    created = None if deployed else version.id
    return Prepared(case_ids, task_ids, users["office"].id, user_ids, created, issuer)


@pytest.fixture
def prepared(app: Flask, now: datetime) -> Iterator[Prepared]:
    """Ten committed outgoing documents at 编号 for a fresh issuer; all removed again after the test."""
    issuer = f"t{uuid.uuid4().hex[:12]}"
    with app.app_context():
        try:
            ready = _prepare(now, issuer)
        finally:
            db.session.remove()
    yield ready
    with app.app_context():
        delete_cases(db.session(), ready.case_ids)
        if ready.version_id is not None:
            db.session.execute(delete(ProcessVersion).where(ProcessVersion.id == ready.version_id))
        db.session.execute(delete(User).where(User.id.in_(ready.user_ids)))
        db.session.execute(delete(NumberSequence).where(NumberSequence.name == f"document:{issuer}"))
        db.session.commit()
        db.session.remove()


def test_simultaneous_numbering_is_gap_free(app: Flask, prepared: Prepared, now: datetime) -> None:
    barrier = threading.Barrier(WORKERS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(task_id: int) -> None:
        with app.app_context():
            session = db.session()
            actor = session.get_one(User, prepared.office_id)
            session.rollback()  # hold no transaction (nor SQLite's write lock) while waiting for the others
            barrier.wait()
            try:
                complete_task(session, task_id, {"issue_date": "2026-11-24"}, actor, now)
                session.commit()
                outcome = "ok"
            except Exception as error:  # any failure fails the test
                session.rollback()
                outcome = repr(error)
            finally:
                db.session.remove()
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=worker, args=(task_id,)) for task_id in prepared.task_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert outcomes == ["ok"] * WORKERS, outcomes
    with app.app_context():
        cases = db.session.scalars(select(Case).where(Case.id.in_(prepared.case_ids))).all()
        numbers = [str(case.data["document_number"]) for case in cases]
        serials = sorted(int(match.group(1)) for match in map(NUMBER.match, numbers) if match)
        assert serials == list(range(1, WORKERS + 1)), numbers  # distinct, consecutive, no gap
        assert {task.bpmn_id for case in cases for task in open_tasks(db.session(), case)} == {
            "seal_document"
        }
        sequence = db.session.scalar(
            select(NumberSequence.value).where(NumberSequence.name == f"document:{prepared.issuer}")
        )
        assert sequence == WORKERS
        db.session.remove()
