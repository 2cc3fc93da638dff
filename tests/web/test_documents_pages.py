"""公文 and 12345 pages through the Flask client: registration with uploads, 密级, lists, downloads."""

from __future__ import annotations

import gc
import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import refresh
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Case, Material, OutboxEvent, User
from app.services.cases import open_tasks
from tests.conftest import AuthActions, csrf_token_from
from tests.factories import create_user
from tests.processes.scenario import deploy

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def people(session: Session, now: datetime) -> dict[str, User]:
    users = {
        "office": create_user(session, now, username="wenshu", roles=[("office", "office")]),
        "leader": create_user(session, now, username="lingdao", roles=[("leader", "gxq")]),
        "drafter": create_user(session, now, username="nigao", roles=[("approver", "market")]),
        "outsider": create_user(session, now, username="waibu", roles=[("approver", "eco")]),
        "head": create_user(session, now, username="kezhang", roles=[("dept_head", "office")]),
        "supervisor": create_user(session, now, username="jiancha", roles=[("supervisor", "supervision")]),
        "operator": create_user(session, now, username="huawu", roles=[("operator", "hotline")]),
        "admin": create_user(session, now, username="guanli", roles=[("admin", None)]),
    }
    users["office"].phone = "13800138000"
    session.commit()
    for process in ("document_incoming", "document_outgoing", "hotline_work_order"):
        deploy(session, process, now)
    return users


@pytest.fixture
def upload_dir(app: Flask) -> Iterator[Path]:
    path = Path(app.config["GOVFLOW_UPLOAD_DIR"])
    yield path


def _files(path: Path) -> set[str]:
    return {p.name for p in path.glob("*")} if path.exists() else set()


def _incoming(client: FlaskClient, **overrides: object) -> object:
    token = csrf_token_from(client.get("/documents/incoming/new").get_data(as_text=True))
    data: dict[str, object] = {
        "csrf_token": token,
        "title": "关于开展安全生产大检查的通知",
        "sender": "市人民政府办公室",
        "source_doc_number": "市政办发〔2026〕45号",
        "urgency": "特急",
        "secrecy_level": "none",
        "secrecy_period": "",
        "scan": (io.BytesIO(PDF), "来文.pdf"),
    }
    data.update(overrides)
    return client.post("/documents/incoming/new", data=data, content_type="multipart/form-data")


def _document(session: Session) -> Case:
    return session.scalars(select(Case).where(Case.kind == "document").order_by(Case.id.desc())).first()  # type: ignore[return-value]


def test_office_registers_an_urgent_incoming_document(
    session: Session, people: dict[str, User], auth: AuthActions, client: FlaskClient, upload_dir: Path
) -> None:
    auth.login("wenshu")
    response = _incoming(client)
    assert response.status_code == 302  # type: ignore[attr-defined]
    case = _document(session)
    assert case.data["urgency"] == "特急" and case.data["sender"] == "市人民政府办公室"
    assert case.data["source_doc_number"] == "市政办发〔2026〕45号" and case.title.startswith("关于开展")
    [material] = session.scalars(select(Material).where(Material.case_id == case.id))
    assert (material.material_code, material.content_type, material.filename) == (
        "scan",
        "application/pdf",
        "来文.pdf",
    )
    assert (upload_dir / str(material.storage_name)).read_bytes() == PDF and len(material.sha256) == 64
    assert [t.bpmn_id for t in open_tasks(session, case)] == ["sign_in_document"]
    sms = session.scalars(select(OutboxEvent).where(OutboxEvent.case_id == case.id)).all()
    assert any("13800138000" in str(row.payload) for row in sms), "特急: the 签收 handler gets an SMS"
    page = client.get(f"/cases/{case.number}").get_data(as_text=True)
    assert "来文.pdf" in page
    download = client.get(f"/documents/files/{material.id}")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    download.close()


@pytest.mark.parametrize(
    ("scan", "field_text"),
    [
        ((io.BytesIO(b"MZ\x90\x00 this is an exe"), "scan.pdf"), "只接受 PDF"),
        ((io.BytesIO(b"<html><script>alert(1)</script>"), "scan.png"), "只接受 PDF"),
        ((io.BytesIO(b""), ""), "请上传扫描件"),
    ],
)
def test_bad_scan_is_a_field_error_and_nothing_is_stored(
    session: Session,
    people: dict[str, User],
    auth: AuthActions,
    client: FlaskClient,
    upload_dir: Path,
    scan: object,
    field_text: str,
) -> None:
    before = _files(upload_dir)
    auth.login("wenshu")
    response = _incoming(client, scan=scan)
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert field_text in response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert session.scalar(select(func.count(Material.id))) == 0
    assert session.scalar(select(func.count(Case.id)).where(Case.kind == "document")) == 0
    assert _files(upload_dir) == before


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_oversize_scan_is_refused(
    app: Flask, session: Session, people: dict[str, User], auth: AuthActions, client: FlaskClient
) -> None:
    auth.login("wenshu")
    app.config["GOVFLOW_UPLOAD_MAX_MB"] = 1
    try:
        response = _incoming(client, scan=(io.BytesIO(PDF + b"0" * (1024 * 1024)), "big.pdf"))
    finally:
        app.config["GOVFLOW_UPLOAD_MAX_MB"] = 20
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "文件不能超过 1 MB" in response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert session.scalar(select(func.count(Material.id))) == 0
    del response
    gc.collect()  # the test client's spooled request body (> 500 KB) is closed here, inside this test


def test_secrecy_period_is_required_unless_unclassified(
    session: Session, people: dict[str, User], auth: AuthActions, client: FlaskClient
) -> None:
    auth.login("wenshu")
    response = _incoming(client, secrecy_level="secret", secrecy_period="")
    assert response.status_code == 400 and "必须填写保密期限" in response.get_data(as_text=True)  # type: ignore[attr-defined]
    bad = _incoming(client, urgency="很急", title="")
    assert bad.status_code == 400  # type: ignore[attr-defined]


def test_only_the_office_registers_incoming_documents(
    people: dict[str, User], auth: AuthActions, client: FlaskClient
) -> None:
    auth.login("nigao")
    assert client.get("/documents/incoming/new").status_code == 403
    auth.logout()
    auth.login("huawu")
    assert client.get("/documents").status_code == 403


def test_classified_document_is_visible_only_on_its_route(
    session: Session, people: dict[str, User], auth: AuthActions, client: FlaskClient
) -> None:
    auth.login("wenshu")
    assert _incoming(client, secrecy_level="secret", secrecy_period="2036-11-23").status_code == 302  # type: ignore[attr-defined]
    case = _document(session)
    [material] = session.scalars(select(Material).where(Material.case_id == case.id))
    assert case.number in client.get("/documents").get_data(as_text=True)
    assert client.get(f"/cases/{case.number}").status_code == 200
    for username in ("jiancha", "waibu", "kezhang", "lingdao"):  # supervisor, non-route approver, head
        auth.logout()
        auth.login(username)
        assert client.get(f"/cases/{case.number}").status_code == 403, username
        assert client.get(f"/documents/files/{material.id}").status_code == 403, username
        if username != "waibu":
            assert case.number not in client.get("/documents").get_data(as_text=True), username
    auth.logout()
    auth.login("guanli")
    assert client.get(f"/cases/{case.number}").status_code == 200


def test_document_list_shows_where_each_document_is(
    session: Session, people: dict[str, User], auth: AuthActions, client: FlaskClient
) -> None:
    auth.login("wenshu")
    _incoming(client)
    case = _document(session)
    auth.logout()
    auth.login("jiancha")  # an unclassified document: oversight sees it
    html = client.get("/documents").get_data(as_text=True)
    assert case.number in html and "签收" in people["office"].display_name + html
    assert people["office"].display_name in html  # the candidates of 签收, by name
    assert case.number in client.get("/documents?direction=incoming&urgency=特急").get_data(as_text=True)
    assert case.number not in client.get("/documents?direction=outgoing").get_data(as_text=True)
    assert case.number not in client.get("/documents?urgency=平件").get_data(as_text=True)


def test_drafter_submits_an_outgoing_document(
    session: Session, people: dict[str, User], auth: AuthActions, client: FlaskClient
) -> None:
    auth.login("nigao")
    token = csrf_token_from(client.get("/documents/outgoing/new").get_data(as_text=True))
    data = {
        "csrf_token": token,
        "title": "关于印发优化营商环境若干措施的通知",
        "doc_type": "notice",
        "main_recipients": "各部门",
        "cc_recipients": "市政府办公室",
        "body_text": "为进一步优化营商环境……",
        "urgency": "平件",
        "secrecy_level": "none",
        "cosign_departments": ["eco"],
        "attachments": [(io.BytesIO(PNG), "附件1.png")],
    }
    response = client.post("/documents/outgoing/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    case = _document(session)
    assert case.data["drafting_dept"] == "market"
    assert [t.bpmn_id for t in open_tasks(session, case)] == ["check_draft"]
    [material] = session.scalars(select(Material).where(Material.case_id == case.id))
    assert material.material_code == "attachment" and material.content_type == "image/png"
    data["attachments"] = [(io.BytesIO(b"GIF89a..."), "x.gif")]
    data["csrf_token"] = csrf_token_from(client.get("/documents/outgoing/new").get_data(as_text=True))
    refused = client.post("/documents/outgoing/new", data=data, content_type="multipart/form-data")
    assert refused.status_code == 400 and "只接受 PDF" in refused.get_data(as_text=True)


def test_register_page_shows_the_gap_check(
    session: Session, people: dict[str, User], auth: AuthActions, client: FlaskClient
) -> None:
    auth.login("wenshu")
    html = client.get("/documents/register?issuer=office&year=2026").get_data(as_text=True)
    assert "发文字号登记簿" in html and "连续" in html
    # the 发文机关 filter lists departments by name, not their codes
    assert '<select id="issuer" name="issuer">' in html
    assert '<option value="office" selected>管委会办公室</option>' in html
    assert client.get("/documents/register?year=bogus&issuer=").status_code == 200
    auth.logout()
    auth.login("nigao")
    assert client.get("/documents/register").status_code == 403


def _work_order(client: FlaskClient, **overrides: str) -> object:
    token = csrf_token_from(client.get("/work-orders/new").get_data(as_text=True))
    data = {
        "csrf_token": token,
        "caller_name": "王先生",
        "phone": "13912345678",
        "category": "投诉",
        "content": "小区门口夜间施工噪音扰民",
        "location": "高新区科技路 88 号",
        "suggested_dept": "eco",
    }
    data.update(overrides)
    return client.post("/work-orders/new", data=data)


def test_operator_opens_a_work_order(
    session: Session, people: dict[str, User], auth: AuthActions, client: FlaskClient
) -> None:
    auth.login("huawu")
    assert _work_order(client).status_code == 302  # type: ignore[attr-defined]
    case = session.scalars(select(Case).where(Case.kind == "work_order")).one()
    assert case.data["phone"] == "13912345678" and case.data["category"] == "投诉"
    html = client.get("/work-orders").get_data(as_text=True)
    assert case.number in html and "签收后 13 个工作日" in html and "受理登记" in html
    assert _work_order(client, phone="0571-87654321", category="咨询").status_code == 302  # type: ignore[attr-defined]
    client.get("/lang/en")
    refresh()  # the tests' app context keeps the locale of the requests above
    form = client.get("/work-orders/new").get_data(as_text=True)  # English labels, Chinese values
    assert '<option value="咨询">Enquiry</option>' in form
    assert '<option value="表扬">Praise</option>' in form and ">咨询<" not in form
    assert "Complaint" in client.get("/work-orders").get_data(as_text=True)


@pytest.mark.parametrize("phone", ["12345", "1381234567", "23800138000", "abc", "0571-123"])
def test_invalid_phone_is_a_field_error(
    session: Session, people: dict[str, User], auth: AuthActions, client: FlaskClient, phone: str
) -> None:
    auth.login("huawu")
    response = _work_order(client, phone=phone)
    assert response.status_code == 400 and "请输入有效的手机号" in response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert session.scalar(select(func.count(Case.id)).where(Case.kind == "work_order")) == 0


def test_work_order_form_is_for_operators_only(
    people: dict[str, User], auth: AuthActions, client: FlaskClient
) -> None:
    auth.login("nigao")
    assert client.get("/work-orders/new").status_code == 403
    assert client.get("/work-orders").status_code == 200
    auth.logout()
    auth.login("wenshu")
    assert client.get("/work-orders").status_code == 403


def test_document_list_pages_through_every_visible_document(
    session: Session,
    people: dict[str, User],
    auth: AuthActions,
    client: FlaskClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.services import document_tracking

    monkeypatch.setattr(document_tracking, "PAGE_SIZE", 2)
    monkeypatch.setattr(document_tracking, "SCAN_BATCH", 3)  # pages span several candidate batches
    auth.login("wenshu")
    numbers = []
    for i in range(6):
        secret = {"secrecy_level": "secret", "secrecy_period": "2036-11-23"} if i == 2 else {}
        assert _incoming(client, title=f"通知{i}", **secret).status_code == 302  # type: ignore[attr-defined]
        numbers.append((_document(session).number, bool(secret)))
    auth.logout()
    auth.login("jiancha")  # oversight: sees the unclassified ones only
    expected = [number for number, secret in reversed(numbers) if not secret]
    seen: list[str] = []
    for page in (1, 2, 3):
        html = client.get(f"/documents?page={page}").get_data(as_text=True)
        seen += sorted((n for n, _ in numbers if n in html), key=html.index)
        assert ("下一页" in html) == (page < 3), page
    assert seen == expected
    assert numbers[2][0] not in seen
