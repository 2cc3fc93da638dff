"""The supervision JSON API: alerts, 督办 orders and statistics — every route, every error."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.web.supervision_world import World, build_world

USERS = ("sv", "adm", "hm", "ht", "ld", "ap")


@pytest.fixture
def world(session: Session, now: datetime) -> World:
    return build_world(session, now)


@pytest.fixture
def h(client: FlaskClient, world: World) -> dict[str, dict[str, str]]:
    headers = {}
    for username in USERS:
        response = client.post("/api/v1/auth/tokens", json={"username": username, "password": "password-123"})
        headers[username] = {"Authorization": f"Bearer {response.get_json()['token']}"}
    return headers


def _error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    assert set(body) >= {"error", "message"}
    if code is not None:
        assert body["error"] == code
    return body


def test_alerts_list_and_scope(client: FlaskClient, world: World, h: dict[str, dict[str, str]]) -> None:
    everything = client.get("/api/v1/alerts", headers=h["sv"]).get_json()["items"]
    numbers = {a["case_number"] for a in everything}
    assert {world.market_case.number, world.tax_case.number} <= numbers
    mine = client.get("/api/v1/alerts?department=tax", headers=h["hm"]).get_json()["items"]
    assert {a["department"] for a in mine} == {"market"}  # the head's own department wins
    tax = client.get("/api/v1/alerts?department=tax&level=yellow", headers=h["sv"]).get_json()["items"]
    assert {a["case_number"] for a in tax} == {world.tax_case.number}
    assert client.get("/api/v1/alerts?acknowledged=true", headers=h["sv"]).get_json()["items"] == []


@pytest.mark.parametrize(
    ("query", "field"), [("level=purple", "level"), ("acknowledged=maybe", "acknowledged")]
)
def test_alerts_bad_filters(
    client: FlaskClient, h: dict[str, dict[str, str]], query: str, field: str
) -> None:
    assert field in _error(client.get(f"/api/v1/alerts?{query}", headers=h["sv"]), 400)["details"]


def test_alerts_need_authentication_and_role(client: FlaskClient, h: dict[str, dict[str, str]]) -> None:
    _error(client.get("/api/v1/alerts"), 401)
    _error(client.get("/api/v1/alerts", headers=h["ap"]), 403)


def test_acknowledge(client: FlaskClient, world: World, h: dict[str, dict[str, str]]) -> None:
    url = f"/api/v1/alerts/{world.tax_alert.id}/acknowledge"
    _error(client.post(url, headers=h["hm"]), 403)
    body = client.post(url, headers=h["ht"]).get_json()
    assert body["acknowledged_at"] is not None and body["case_number"] == world.tax_case.number
    assert client.post(url, headers=h["sv"]).status_code == 200  # twice is a no-op
    _error(client.post("/api/v1/alerts/999999/acknowledge", headers=h["sv"]), 404)
    acknowledged = client.get("/api/v1/alerts?acknowledged=true", headers=h["sv"]).get_json()["items"]
    assert [a["id"] for a in acknowledged] == [world.tax_alert.id]


def test_orders_list_scope(client: FlaskClient, world: World, h: dict[str, dict[str, str]]) -> None:
    items = client.get("/api/v1/supervision-orders", headers=h["sv"]).get_json()["items"]
    assert [(o["id"], o["case_number"], o["status"]) for o in items] == [
        (world.order.id, world.market_case.number, "open")
    ]
    assert len(client.get("/api/v1/supervision-orders", headers=h["hm"]).get_json()["items"]) == 1
    assert client.get("/api/v1/supervision-orders", headers=h["ht"]).get_json()["items"] == []
    assert client.get("/api/v1/supervision-orders?status=closed", headers=h["sv"]).get_json()["items"] == []
    _error(client.get("/api/v1/supervision-orders?status=weird", headers=h["sv"]), 400)
    _error(client.get("/api/v1/supervision-orders", headers=h["ap"]), 403)


def test_issue_order(client: FlaskClient, world: World, h: dict[str, dict[str, str]]) -> None:
    body = {
        "department": "tax",
        "instruction": "限期整改",
        "deadline": "2026-11-30",
        "case_number": world.tax_case.number,
    }
    response = client.post("/api/v1/supervision-orders", json=body, headers=h["sv"])
    assert response.status_code == 201
    order = response.get_json()
    assert (order["department"], order["level"], order["status"], order["case_number"]) == (
        "tax",
        "blue",
        "open",
        world.tax_case.number,
    )
    assert order["deadline"].startswith("2026-11-30T15:59:59")  # 23:59:59 Shanghai in UTC
    iso = {"department": "tax", "instruction": "x", "deadline": "2026-11-30T17:00:00+08:00"}
    assert client.post("/api/v1/supervision-orders", json=iso, headers=h["sv"]).status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"instruction": "x", "deadline": "2026-11-30"}, "department"),
        ({"department": "tax", "instruction": "", "deadline": "2026-11-30"}, "instruction"),
        ({"department": "tax", "instruction": "x"}, "deadline"),
        ({"department": "tax", "instruction": "x", "deadline": "soon"}, "deadline"),
        ({"department": "tax", "instruction": "x", "deadline": "2026-11-30T17:00:00"}, "deadline"),
        ({"department": "tax", "instruction": "x", "deadline": "2020-01-01"}, "deadline"),
        ({"department": "nowhere", "instruction": "x", "deadline": "2026-11-30"}, "department_code"),
        (
            {"department": "tax", "instruction": "x", "deadline": "2026-11-30", "case_number": 5},
            "case_number",
        ),
        (
            {"department": "tax", "instruction": "x", "deadline": "2026-11-30", "case_number": "GF-X"},
            "case_number",
        ),
    ],
)
def test_issue_order_errors(
    client: FlaskClient, h: dict[str, dict[str, str]], body: dict[str, Any], field: str
) -> None:
    assert (
        field in _error(client.post("/api/v1/supervision-orders", json=body, headers=h["sv"]), 400)["details"]
    )


def test_issue_order_needs_json_and_supervisor(client: FlaskClient, h: dict[str, dict[str, str]]) -> None:
    _error(client.post("/api/v1/supervision-orders", data="x", headers=h["sv"]), 400)
    body = {"department": "market", "instruction": "x", "deadline": "2026-11-30"}
    _error(client.post("/api/v1/supervision-orders", json=body, headers=h["hm"]), 403)


def test_reply_close_escalate(client: FlaskClient, world: World, h: dict[str, dict[str, str]]) -> None:
    base = f"/api/v1/supervision-orders/{world.order.id}"
    _error(client.post(f"{base}/reply", json={"reply": "x"}, headers=h["ht"]), 404)  # not their department
    _error(client.post(f"{base}/reply", json={"reply": "x"}, headers=h["sv"]), 403)  # not the department head
    _error(client.post(f"{base}/reply", json={}, headers=h["hm"]), 400)
    _error(client.post(f"{base}/reply", json={"reply": "  "}, headers=h["hm"]), 400)
    _error(client.post(f"{base}/escalate", headers=h["hm"]), 403)
    assert client.post(f"{base}/escalate", headers=h["sv"]).get_json()["level"] == "orange"
    replied = client.post(f"{base}/reply", json={"reply": "已说明"}, headers=h["hm"]).get_json()
    assert (replied["status"], replied["reply"]) == ("replied", "已说明")
    _error(client.post(f"{base}/reply", json={"reply": "again"}, headers=h["hm"]), 409)
    _error(client.post(f"{base}/close", headers=h["hm"]), 403)
    assert client.post(f"{base}/close", headers=h["sv"]).get_json()["status"] == "closed"
    _error(client.post(f"{base}/close", headers=h["sv"]), 409)
    _error(client.post(f"{base}/escalate", headers=h["sv"]), 409)
    for action in ("close", "escalate"):
        _error(client.post(f"/api/v1/supervision-orders/999999/{action}", headers=h["sv"]), 404)


def test_escalate_stops_at_red(client: FlaskClient, world: World, h: dict[str, dict[str, str]]) -> None:
    url = f"/api/v1/supervision-orders/{world.order.id}/escalate"
    levels = [client.post(url, headers=h["sv"]).get_json()["level"] for _ in range(2)]
    assert levels == ["orange", "red"]
    _error(client.post(url, headers=h["sv"]), 409)


def test_stats(client: FlaskClient, world: World, h: dict[str, dict[str, str]]) -> None:
    body = client.get("/api/v1/stats?from=2026-11-01&to=2026-11-23", headers=h["sv"]).get_json()
    assert {d["code"] for d in body["departments"]} == {"market", "tax"}
    assert body["totals"]["received"] == 2 and body["totals"]["on_time_rate"] is None
    tax = client.get("/api/v1/stats?from=2026-11-01&to=2026-11-23&department=tax", headers=h["sv"]).get_json()
    assert [d["code"] for d in tax["departments"]] == ["tax"]
    scoped = client.get(
        "/api/v1/stats?from=2026-11-01&to=2026-11-23&department=tax", headers=h["hm"]
    ).get_json()
    assert [d["code"] for d in scoped["departments"]] == ["market"]


@pytest.mark.parametrize(
    "query", ["", "from=2026-11-01", "from=2026-11-01&to=nope", "from=2026-11-20&to=2026-11-01"]
)
def test_stats_errors(client: FlaskClient, h: dict[str, dict[str, str]], query: str) -> None:
    _error(client.get(f"/api/v1/stats?{query}", headers=h["sv"]), 400)


def test_stats_forbidden(client: FlaskClient, h: dict[str, dict[str, str]]) -> None:
    _error(client.get("/api/v1/stats?from=2026-11-01&to=2026-11-23", headers=h["ap"]), 403)


def test_openapi_lists_the_routes(client: FlaskClient) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/alerts", "/alerts/{alert_id}/acknowledge", "/supervision-orders", "/stats"):
        assert path in paths
    assert "post" in paths["/supervision-orders/{order_id}/reply"]
