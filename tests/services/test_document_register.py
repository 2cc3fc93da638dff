"""发文字号 register and gap check; 收文/发文 intake services; 密级 visibility in case_views.may_view."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from app.models import Case, User
from app.services.case_views import may_view
from app.services.document_intake import (
    Classification,
    IncomingDocument,
    OutgoingDocument,
    check_classification,
    draft_outgoing,
    register_incoming,
)
from app.services.document_register import document_register, find_gaps, issuers_and_years, parse_number
from app.services.documents import allocate_document_number
from app.services.errors import InvalidInput, PermissionDenied
from app.services.uploads import Upload, UploadPolicy, sniff_type
from app.services.work_orders import limit_days, normalize_phone
from tests.factories import create_user
from tests.processes.scenario import deploy

PDF = b"%PDF-1.7\n%%EOF"


@pytest.fixture
def policy(tmp_path: Path) -> UploadPolicy:
    return UploadPolicy(str(tmp_path), 1024 * 1024)


def _numbered(session: Session, user: User, now: datetime, number: str, issuer: str = "office") -> Case:
    deploy(session, "document_outgoing", now)
    document = OutgoingDocument(
        "标题", "notice", "各部门", "", "正文", Classification("平件", "none", None), ["eco"]
    )
    case = draft_outgoing(session, document, UploadPolicy("/nonexistent", 1), user, now)
    case.data = {**case.data, "document_number": number, "issuer": issuer}
    session.flush()
    return case


def test_parse_and_gaps() -> None:
    assert parse_number("高新管发〔2026〕7号") == (2026, 7)
    assert parse_number("没有文号") is None
    assert find_gaps([1, 2, 4, 4], 5) == ([3, 5], [4])
    assert find_gaps([], 0) == ([], [])


def test_register_lists_numbers_per_issuer_and_year_with_gaps(session: Session, now: datetime) -> None:
    drafter = create_user(session, now, roles=[("approver", "market")])
    first = allocate_document_number(session, "office", 2026, "高新管发")
    second = allocate_document_number(session, "office", 2026, "高新管发")
    allocate_document_number(session, "office", 2026, "高新管发")  # allocated, never recorded: a gap
    _numbered(session, drafter, now, first)
    _numbered(session, drafter, now, second)
    _numbered(session, drafter, now, "高新管发〔2025〕9号")
    _numbered(session, drafter, now, "高新党发〔2026〕1号", issuer="party")
    book = document_register(session, "office", 2026)
    assert [e.serial for e in book.entries] == [1, 2] and book.allocated == 3
    assert book.missing == [3] and not book.duplicates and not book.complete
    assert ("office", 2026) in issuers_and_years(session)
    party = document_register(session, "party", 2026)
    assert [e.number for e in party.entries] == ["高新党发〔2026〕1号"] and party.complete


def test_classification_rules() -> None:
    assert check_classification(Classification("特急", "none", None)) == {}
    assert "secrecy_period" in check_classification(Classification("特急", "secret", None))
    assert set(check_classification(Classification("急", "top", None))) == {"urgency", "secrecy_level"}


def test_upload_types_by_content() -> None:
    assert sniff_type(PDF) == "application/pdf"
    assert sniff_type(b"\xff\xd8\xff\xe0") == "image/jpeg"
    assert sniff_type(b"<svg onload=alert(1)>") is None


def test_register_incoming_checks_role_and_input(
    session: Session, now: datetime, policy: UploadPolicy, tmp_path: Path
) -> None:
    deploy(session, "document_incoming", now)
    office = create_user(session, now, roles=[("office", "office")])
    other = create_user(session, now, roles=[("approver", "market")])
    document = IncomingDocument(
        "标题", "来文单位", "", Classification("平件", "none", None), Upload("a.pdf", PDF)
    )
    with pytest.raises(PermissionDenied):
        register_incoming(session, document, policy, other, now)
    bad = IncomingDocument("标题", "", "", Classification("平件", "none", None), Upload("a.pdf", b"nope"))
    with pytest.raises(InvalidInput) as error:
        register_incoming(session, bad, policy, office, now)
    assert "sender" in (error.value.details or {})
    assert list(tmp_path.iterdir()) == []
    case = register_incoming(session, document, policy, office, now)
    assert (
        case.kind == "document"
        and case.data["secrecy_level"] == "none"
        and len(list(tmp_path.iterdir())) == 1
    )


def test_classified_document_visibility(session: Session, now: datetime, policy: UploadPolicy) -> None:
    deploy(session, "document_incoming", now)
    office = create_user(session, now, roles=[("office", "office")])
    supervisor = create_user(session, now, roles=[("supervisor", "supervision")])
    head = create_user(session, now, roles=[("dept_head", "office")])
    admin = create_user(session, now, roles=[("admin", None)])
    secret = Classification("加急", "confidential", date(2036, 1, 1))
    case = register_incoming(
        session, IncomingDocument("机密件", "市委", "", secret, Upload("a.pdf", PDF)), policy, office, now
    )
    assert may_view(session, office, case) and may_view(session, admin, case)
    assert not may_view(session, supervisor, case) and not may_view(session, head, case)
    case.data = {**case.data, "secrecy_level": "none"}
    assert may_view(session, supervisor, case)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("138 0013 8000", "13800138000"),
        ("+8613800138000", "13800138000"),
        ("0571-87654321", "0571-87654321"),
        ("010-12345678-123", "010-12345678-123"),
        ("12345", None),
        ("1001234567", None),
    ],
)
def test_phone_numbers(raw: str, expected: str | None) -> None:
    assert normalize_phone(raw) == expected


def test_category_limits() -> None:
    assert (limit_days("咨询"), limit_days("投诉"), limit_days("求助"), limit_days(None)) == (3, 13, 7, 7)
