"""The supervision dashboard through the Flask client: permissions, department scope, actions, exports."""

from __future__ import annotations

import io
import json
import re
from datetime import datetime

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from app.models import Alert, SupervisionOrder
from tests.conftest import AuthActions, csrf_token_from
from tests.web.supervision_world import World, build_world


@pytest.fixture
def world(session: Session, now: datetime) -> World:
    return build_world(session, now)


def _page(client: FlaskClient, url: str = "/supervision") -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def _post(client: FlaskClient, url: str, data: dict[str, str] | None = None) -> object:
    token = csrf_token_from(_page(client))
    return client.post(url, data={**(data or {}), "csrf_token": token})


@pytest.mark.parametrize("username", ["ap", "app"])
def test_others_are_forbidden(client: FlaskClient, auth: AuthActions, world: World, username: str) -> None:
    auth.login(username)
    for url in ("/supervision", "/supervision/stats.csv", "/supervision/stats.xlsx"):
        assert client.get(url).status_code == 403


def test_anonymous_is_sent_to_login(client: FlaskClient, world: World) -> None:
    response = client.get("/supervision")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("username", ["sv", "adm"])
def test_supervisors_and_admins_see_everything(
    client: FlaskClient, auth: AuthActions, world: World, username: str
) -> None:
    auth.login(username)
    html = _page(client)
    assert world.market_case.number in html and world.tax_case.number in html
    assert 'id="chart-dept"' in html and "请说明超期原因" in html


@pytest.mark.parametrize("username", ["hm", "ld"])
def test_department_heads_and_leaders_see_their_department(
    client: FlaskClient, auth: AuthActions, world: World, username: str
) -> None:
    auth.login(username)
    html = _page(client)
    assert world.market_case.number in html
    assert world.tax_case.number not in html
    data = json.loads(re.search(r'id="stats-data">(.*?)</script>', html, re.S).group(1))  # type: ignore[union-attr]
    assert [d["code"] for d in data["stats"]["departments"]] == ["market"]
    # a department filter in the URL cannot widen the scope
    assert world.tax_case.number not in _page(client, "/supervision?department=tax")


def test_no_inline_executable_script(client: FlaskClient, auth: AuthActions, world: World) -> None:
    auth.login("sv")
    html = _page(client)
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    data = json.loads(re.search(r'id="stats-data">(.*?)</script>', html, re.S).group(1))  # type: ignore[union-attr]
    assert data["alerts"]["yellow"] >= 2 and "labels" in data


def _alerts_section(client: FlaskClient, url: str) -> str:
    return _page(client, url).split('id="alerts"')[1].split('id="anomalies"')[0]


def test_alert_filters(client: FlaskClient, auth: AuthActions, world: World) -> None:
    auth.login("sv")
    assert world.market_case.number in _alerts_section(client, "/supervision?level=yellow")
    assert world.market_case.number not in _alerts_section(client, "/supervision?level=red")
    html = _alerts_section(client, "/supervision?level=yellow&department=tax")
    assert world.tax_case.number in html and world.market_case.number not in html
    assert world.tax_case.number not in _alerts_section(client, "/supervision?ack=yes")
    assert world.tax_case.number in _alerts_section(client, "/supervision?ack=no")


def test_supervisor_acknowledges(
    client: FlaskClient, auth: AuthActions, world: World, session: Session
) -> None:
    auth.login("sv")
    response = _post(
        client, f"/supervision/alerts/{world.tax_alert.id}/acknowledge", {"next": "/supervision?ack=no"}
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/supervision?ack=no")  # type: ignore[attr-defined]
    session.expire_all()
    assert session.get(Alert, world.tax_alert.id).acknowledged_at is not None  # type: ignore[union-attr]


def test_acknowledge_needs_csrf_and_permission(client: FlaskClient, auth: AuthActions, world: World) -> None:
    auth.login("hm")
    assert client.post(f"/supervision/alerts/{world.market_alert.id}/acknowledge").status_code == 400
    assert _post(client, f"/supervision/alerts/{world.tax_alert.id}/acknowledge").status_code == 403  # type: ignore[attr-defined]
    assert _post(client, f"/supervision/alerts/{world.market_alert.id}/acknowledge").status_code == 302  # type: ignore[attr-defined]
    assert _post(client, "/supervision/alerts/999999/acknowledge").status_code == 404  # type: ignore[attr-defined]


def test_issue_order(client: FlaskClient, auth: AuthActions, world: World, session: Session) -> None:
    auth.login("sv")
    form = {
        "case_number": world.tax_case.number,
        "department": "tax",
        "instruction": "限期答复",
        "deadline": "2026-11-30",
    }
    assert _post(client, "/supervision/orders", form).status_code == 302  # type: ignore[attr-defined]
    order = session.query(SupervisionOrder).filter_by(instruction="限期答复").one()
    assert order.case_id == world.tax_case.id and order.deadline.date().isoformat() == "2026-11-30"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("instruction", "", "请填写督办要求"),
        ("deadline", "", "请填写办理期限"),
        ("deadline", "2020-01-01", "办理期限须晚于当前时间"),
        ("case_number", "GF-NOPE", "办件不存在"),
        ("department", "nowhere", "请选择被督办部门"),
    ],
)
def test_issue_order_errors(
    client: FlaskClient, auth: AuthActions, world: World, field: str, value: str, message: str
) -> None:
    auth.login("sv")
    form = {"case_number": "", "department": "market", "instruction": "说明", "deadline": "2026-11-30"}
    response = _post(client, "/supervision/orders", {**form, field: value})
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert message in response.get_data(as_text=True)  # type: ignore[attr-defined]


def test_head_cannot_issue_but_replies(
    client: FlaskClient, auth: AuthActions, world: World, session: Session
) -> None:
    auth.login("hm")
    form = {"department": "market", "instruction": "x", "deadline": "2026-11-30"}
    assert _post(client, "/supervision/orders", form).status_code == 403  # type: ignore[attr-defined]
    html = _page(client)
    assert f"/supervision/orders/{world.order.id}/reply" in html and "下达督办单" not in html
    assert (
        _post(client, f"/supervision/orders/{world.order.id}/reply", {"reply": "已处理"}).status_code == 302
    )  # type: ignore[attr-defined]
    session.expire_all()
    assert session.get(SupervisionOrder, world.order.id).status == "replied"  # type: ignore[union-attr]


def test_other_head_cannot_reply(client: FlaskClient, auth: AuthActions, world: World) -> None:
    auth.login("ht")
    assert f"/supervision/orders/{world.order.id}" not in _page(client)
    assert _post(client, f"/supervision/orders/{world.order.id}/reply", {"reply": "x"}).status_code == 403  # type: ignore[attr-defined]


def test_escalate_and_close(client: FlaskClient, auth: AuthActions, world: World, session: Session) -> None:
    auth.login("sv")
    assert _post(client, f"/supervision/orders/{world.order.id}/escalate").status_code == 302  # type: ignore[attr-defined]
    assert _post(client, f"/supervision/orders/{world.order.id}/close").status_code == 302  # type: ignore[attr-defined]
    assert _post(client, f"/supervision/orders/{world.order.id}/close").status_code == 409  # type: ignore[attr-defined]
    session.expire_all()
    order = session.get(SupervisionOrder, world.order.id)
    assert order is not None and (order.level, order.status) == ("orange", "closed")


def test_bad_period_is_400(client: FlaskClient, auth: AuthActions, world: World) -> None:
    auth.login("sv")
    assert client.get("/supervision?from=2026-13-01").status_code == 400
    assert client.get("/supervision?from=2026-11-20&to=2026-11-01").status_code == 400


def test_csv_export(client: FlaskClient, auth: AuthActions, world: World) -> None:
    auth.login("sv")
    response = client.get("/supervision/stats.csv?from=2026-11-01&to=2026-11-23")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf")
    lines = response.data.decode("utf-8-sig").splitlines()
    assert lines[0] == "统计期间 2026-11-01 至 2026-11-23" and lines[2].startswith(
        "编码,名称,所属部门,受理量,办结量"
    )
    assert any(line.startswith("market,") for line in lines) and any(
        line.startswith("tax,") for line in lines
    )


def test_xlsx_export_is_scoped(client: FlaskClient, auth: AuthActions, world: World) -> None:
    auth.login("ht")
    response = client.get("/supervision/stats.xlsx?from=2026-11-01&to=2026-11-23&stats_department=market")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data))["按部门"]
    assert sheet["A1"].value == "统计期间 2026-11-01 至 2026-11-23" and sheet["D2"].value == "受理量"
    rows = [r for r in sheet.iter_rows(min_row=3, values_only=True)]
    assert [r[0] for r in rows] == ["tax", "total"] and rows[0][3] == 1
