"""The catalogue through the API: the items `flask seed demo` loads."""

from __future__ import annotations

from datetime import datetime

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.services.catalogue import seed_catalogue
from tests.factories import create_user


def _headers(client: FlaskClient) -> dict[str, str]:
    token = client.post("/api/v1/auth/tokens", json={"username": "reader", "password": "password-123"})
    return {"Authorization": f"Bearer {token.get_json()['token']}"}


def test_items_list_filters_and_detail(session: Session, client: FlaskClient, now: datetime) -> None:
    seed_catalogue(session)
    create_user(session, now, username="reader", roles=[("applicant", None)])
    headers = _headers(client)
    everything = client.get("/api/v1/items", headers=headers).get_json()
    assert everything["count"] >= 8
    modes = {item["mode"] for item in everything["items"]}
    assert {"parallel", "tolerant", "commitment"} <= modes
    market = client.get("/api/v1/items", query_string={"department": "market"}, headers=headers).get_json()
    assert market["count"] >= 1 and all(i["department"]["code"] == "market" for i in market["items"])
    found = client.get("/api/v1/items", query_string={"q": "企业设立"}, headers=headers).get_json()
    [company] = found["items"]
    detail = client.get(f"/api/v1/items/{company['code']}", headers=headers).get_json()
    assert detail["process_id"] == "parallel_approval" and detail["materials"]
    assert detail["statutory_limit_working_days"] >= detail["promised_limit_working_days"]


def test_unknown_item_is_json_404(session: Session, client: FlaskClient, now: datetime) -> None:
    create_user(session, now, username="reader", roles=[("applicant", None)])
    response = client.get("/api/v1/items/NOPE", headers=_headers(client))
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"
