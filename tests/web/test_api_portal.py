"""Portal JSON API: apply (multipart, idempotent), add a material to my case, my cases; bad input."""

from __future__ import annotations

import io
import json
from datetime import datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Case, Material
from tests.services.portal_data import FAKE_PDF, FIELDS, PDF, World, licence, portal_world

KEY = "api-key-0123456789abcdef"


@pytest.fixture
def world(session: Session, now: datetime) -> World:
    return portal_world(session, now)


def _headers(client: FlaskClient, username: str) -> dict[str, str]:
    token = client.post("/api/v1/auth/tokens", json={"username": username, "password": "password-123"})
    return {"Authorization": f"Bearer {token.get_json()['token']}"}


def _apply(client: FlaskClient, world: World, user: str = "alice", key: str = KEY, **extra: Any) -> Any:
    data: dict[str, Any] = {"data": json.dumps(FIELDS), "idempotency_key": key}
    for material in world.parallel.materials:
        data[f"file-{material['code']}"] = (io.BytesIO(PDF), f"{material['code']}.pdf")
    data.update(extra)
    return client.post("/api/v1/items/GXQ-XK-0101/applications", data=data, headers=_headers(client, user),
                       content_type="multipart/form-data")  # fmt: skip


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_apply_returns_the_case_number_once_per_key(
    client: FlaskClient, world: World, session: Session
) -> None:
    first = _apply(client, world)
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["number"].startswith("GF-") and body["item_code"] == "GXQ-XK-0101"
    second = _apply(client, world)
    assert second.status_code == 200 and second.get_json()["number"] == body["number"]
    assert _count(session, Case) == 1
    mine = client.get("/api/v1/my/cases", headers=_headers(client, "alice")).get_json()
    assert [(c["number"], c["stage"]) for c in mine["items"]] == [(body["number"], "窗口受理中")]
    assert client.get("/api/v1/my/cases", headers=_headers(client, "bob")).get_json()["total"] == 0


def test_json_application_with_an_e_licence(client: FlaskClient, world: World, session: Session,
                                            now: datetime) -> None:  # fmt: skip
    held = licence(session, world.alice, "居民身份证", now, "ID-7")
    session.commit()
    body = {"data": FIELDS, "licences": {"M03": held.id}, "idempotency_key": KEY}
    response = client.post(
        "/api/v1/items/GXQ-XK-0101/applications", json=body, headers=_headers(client, "alice")
    )
    assert response.status_code == 400 and "请一并提交" in response.get_json()["message"]  # no files in JSON
    assert _count(session, Case) == 0


def test_fake_pdf_and_critical_tolerance_are_rejected(
    client: FlaskClient, world: World, session: Session
) -> None:
    fake = _apply(client, world, **{"file-M01": (io.BytesIO(FAKE_PDF), "M01.pdf")})
    assert fake.status_code == 400 and "不是 PDF" in fake.get_json()["message"]
    tolerated = client.post(
        "/api/v1/items/GXQ-XK-0301/applications",
        json={"data": FIELDS, "tolerated": ["M01"], "idempotency_key": KEY},
        headers=_headers(client, "alice"),
    )
    assert tolerated.status_code == 400 and "主要材料" in tolerated.get_json()["message"]
    assert tolerated.get_json()["details"]["rule"].startswith("容缺受理只适用于次要材料")
    assert _count(session, Case) == 0 and _count(session, Material) == 0


def test_materials_upload_to_my_case_only(client: FlaskClient, world: World, session: Session) -> None:
    number = _apply(client, world).get_json()["number"]

    def upload(user: str, case_number: str, content: bytes = PDF) -> Any:
        data = {"material_code": "M02", "file": (io.BytesIO(content), "new.pdf")}
        url = f"/api/v1/cases/{case_number}/materials"
        headers = _headers(client, user)
        return client.post(url, data=data, headers=headers, content_type="multipart/form-data")

    added = upload("alice", number)
    assert added.status_code == 201 and added.get_json()["source"] == "upload"
    assert "storage_name" not in added.get_json()
    assert upload("bob", number).status_code == 404
    assert upload("bob", "GXQ2099-999999").status_code == 404
    assert upload("alice", number, FAKE_PDF).status_code == 400


def test_another_applicants_licence_is_404(client: FlaskClient, world: World, session: Session,
                                           now: datetime) -> None:  # fmt: skip
    theirs = licence(session, world.bob, "居民身份证", now, "ID-8")
    session.commit()
    response = _apply(client, world, **{"licence-M03": str(theirs.id)})
    assert response.status_code == 404 and _count(session, Case) == 0


def test_bad_json_shapes_are_400(client: FlaskClient, world: World) -> None:
    headers = _headers(client, "alice")
    for body in ({"data": "x"}, {"data": {}, "tolerated": "M01"}, {"data": {}, "licences": {"M03": "abc"}}):
        response = client.post("/api/v1/items/GXQ-XK-0101/applications", json=body, headers=headers)
        assert response.status_code == 400, body
    assert client.post("/api/v1/items/NOPE/applications", json={}, headers=headers).status_code == 404
