"""The applicant portal through the Flask client: catalogue, guide, apply, receipt, my cases, progress."""

from __future__ import annotations

import io
import re
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Case, Material
from tests.conftest import AuthActions, csrf_token_from
from tests.services.portal_data import FAKE_PDF, FIELDS, PDF, World, portal_world

KEY_RE = re.compile(r'name="idempotency_key" value="([^"]+)"')


@pytest.fixture
def world(session: Session, now: datetime) -> World:
    return portal_world(session, now)


def _form(
    client: FlaskClient, code: str, files: dict[str, bytes] | None = None, **extra: Any
) -> dict[str, Any]:
    html = client.get(f"/services/{code}/apply").get_data(as_text=True)
    key = KEY_RE.search(html)
    assert key
    data: dict[str, Any] = {**FIELDS, "csrf_token": csrf_token_from(html), "idempotency_key": key.group(1)}
    data["action"] = "submit"
    for material, content in (files or {}).items():
        data[f"file-{material}"] = (io.BytesIO(content), f"{material}.pdf")
    data.update(extra)
    return data


def _all_files(world: World) -> dict[str, bytes]:
    return {m["code"]: PDF for m in world.parallel.materials}


def _post(client: FlaskClient, code: str, data: dict[str, Any]) -> Any:
    return client.post(f"/services/{code}/apply", data=data, content_type="multipart/form-data")


def _cases(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Case)) or 0


def test_catalogue_is_public_with_filters_and_search(client: FlaskClient, world: World) -> None:
    html = client.get("/services").get_data(as_text=True)
    assert "企业设立登记" in html and "食品经营许可" in html and "市场监管局" in html
    found = client.get("/services?q=食品").get_data(as_text=True)
    assert "食品经营许可" in found and "企业设立登记" not in found
    by_dept = client.get("/services?department=nature").get_data(as_text=True)
    assert "建设工程规划许可证核发" in by_dept and "企业设立登记" not in by_dept
    assert client.get("/services?theme=企业开办").status_code == 200


def test_item_guide_shows_materials_limits_and_faq(client: FlaskClient, world: World) -> None:
    html = client.get("/services/GXQ-XK-0101").get_data(as_text=True)
    for text in (
        "公司章程",
        "主要材料",
        "可用电子证照：居民身份证",
        "法定时限",
        "承诺时限",
        "常见问题",
        "公司法",
    ):
        assert text in html
    assert client.get("/services/NOPE").status_code == 404


def test_apply_needs_an_applicant(client: FlaskClient, world: World, auth: AuthActions, session: Session,
                                  now: datetime) -> None:  # fmt: skip
    assert client.get("/services/GXQ-XK-0101/apply").status_code == 302
    from tests.factories import create_user

    create_user(session, now, username="clerk1", roles=[("clerk", "approval")])
    auth.login("clerk1")
    assert client.get("/services/GXQ-XK-0101/apply").status_code == 403


def test_apply_submit_receipt_and_double_submit(
    client: FlaskClient, world: World, auth: AuthActions, session: Session
) -> None:
    auth.login("alice")
    data = _form(client, "GXQ-XK-0101", _all_files(world))
    response = _post(client, "GXQ-XK-0101", data)
    assert response.status_code == 302 and "/receipt" in response.location
    receipt = client.get(response.location).get_data(as_text=True)
    case = session.scalars(select(Case)).one()
    assert (
        case.number in receipt
        and "电子申请回执" in receipt
        and "公司章程" in receipt
        and "M02.pdf" in receipt
    )
    again = dict(data, **{f"file-{c}": (io.BytesIO(PDF), "x.pdf") for c in _all_files(world)})
    second = _post(client, "GXQ-XK-0101", again)
    assert second.status_code == 302 and second.location == response.location and _cases(session) == 1
    mine = client.get("/my/cases").get_data(as_text=True)
    assert case.number in mine and "窗口受理中" in mine and "accept_application" not in mine


def test_a_fake_pdf_is_rejected_with_the_reason(client: FlaskClient, world: World, auth: AuthActions,
                                                session: Session) -> None:  # fmt: skip
    auth.login("alice")
    files = dict(_all_files(world), M01=FAKE_PDF)
    response = _post(client, "GXQ-XK-0101", _form(client, "GXQ-XK-0101", files))
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "不是 PDF、JPEG、PNG" in html and "<script>alert" not in html
    assert _cases(session) == 0 and session.scalar(select(func.count()).select_from(Material)) == 0


def test_over_the_limit_clear_message_nothing_stored(
    app: Flask, client: FlaskClient, world: World, auth: AuthActions, session: Session
) -> None:
    auth.login("alice")
    files = dict(_all_files(world), M01=PDF + b"0" * (1024 * 1024 + 10))
    app.config["GOVFLOW_UPLOAD_MAX_MB"] = 1
    try:
        response = _post(client, "GXQ-XK-0101", _form(client, "GXQ-XK-0101", files))
    finally:
        app.config["GOVFLOW_UPLOAD_MAX_MB"] = 20
    response.request.environ["wsgi.input"].close()  # the test client spools a large body to a temp file
    assert response.status_code == 400 and "超过大小上限 1 MB" in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Material)) == 0


def test_tolerance_for_a_critical_material_is_refused(
    client: FlaskClient, world: World, auth: AuthActions, session: Session
) -> None:
    auth.login("alice")
    files = {m["code"]: PDF for m in world.tolerant.materials if m["code"] != "M01"}
    response = _post(client, "GXQ-XK-0301", _form(client, "GXQ-XK-0301", files, tolerate="M01"))
    html = response.get_data(as_text=True)
    assert (
        response.status_code == 400 and "主要材料" in html and "一次性告知" in html and _cases(session) == 0
    )


def test_save_draft_then_continue(
    client: FlaskClient, world: World, auth: AuthActions, session: Session
) -> None:
    auth.login("alice")
    data = _form(client, "GXQ-XK-0101", {"M01": PDF}, action="save")
    response = _post(client, "GXQ-XK-0101", data)
    assert response.status_code == 302 and "draft=" in response.location
    html = client.get(response.location).get_data(as_text=True)
    assert "星辰科技有限公司" in html and "已保存：M01.pdf" in html and _cases(session) == 0


def test_other_applicants_see_nothing(
    client: FlaskClient, world: World, auth: AuthActions, session: Session
) -> None:
    auth.login("alice")
    _post(client, "GXQ-XK-0101", _form(client, "GXQ-XK-0101", _all_files(world)))
    case = session.scalars(select(Case)).one()
    material = session.scalars(select(Material)).first()
    assert material is not None
    download = client.get(f"/my/materials/{material.id}")
    assert download.status_code == 200 and download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff" and download.data == PDF
    download.close()
    auth.logout()
    auth.login("bob")
    urls = [f"/my/cases/{case.number}", f"/my/cases/{case.number}/receipt", f"/my/materials/{material.id}"]
    for url in [*urls, "/my/cases/GF-2099-999999"]:
        assert client.get(url).status_code == 404
    assert case.number not in client.get("/my/cases").get_data(as_text=True)


def test_my_case_page_and_withdraw(
    client: FlaskClient, world: World, auth: AuthActions, session: Session
) -> None:
    auth.login("alice")
    _post(client, "GXQ-XK-0101", _form(client, "GXQ-XK-0101", _all_files(world)))
    case = session.scalars(select(Case)).one()
    page = client.get(f"/my/cases/{case.number}").get_data(as_text=True)
    assert "窗口受理中" in page and "剩余时限" in page and "提交申请" in page
    token = csrf_token_from(page)
    response = client.post(f"/my/cases/{case.number}/withdraw", data={"csrf_token": token})
    assert response.status_code == 302
    session.refresh(case)
    assert case.status == "withdrawn" and "已撤回" in client.get("/my/cases").get_data(as_text=True)


def test_progress_query_no_enumeration_and_rate_limited(
    client: FlaskClient, world: World, auth: AuthActions, session: Session
) -> None:
    auth.login("alice")
    _post(client, "GXQ-XK-0101", _form(client, "GXQ-XK-0101", _all_files(world)))
    case = session.scalars(select(Case)).one()
    auth.logout()
    token = csrf_token_from(client.get("/progress").get_data(as_text=True))

    def ask(number: str, digits: str) -> Any:
        return client.post("/progress", data={"number": number, "phone_last4": digits, "csrf_token": token})

    ok = ask(case.number, "5678").get_data(as_text=True)
    assert "窗口受理中" in ok and "星辰" not in ok
    wrong_digits = ask(case.number, "1111").get_data(as_text=True)
    wrong_number = ask("GXQ2026-999999", "5678").get_data(as_text=True)
    strip = re.compile(r'name="(number|csrf_token)"[^>]*>')
    assert strip.sub("", wrong_digits).replace(case.number, "N") == strip.sub("", wrong_number).replace(
        "GXQ2026-999999", "N"
    )
    statuses = [ask(case.number, "0000").status_code for _ in range(10)]
    assert 429 in statuses
