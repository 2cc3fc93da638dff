"""Designer pages: list, upload-validate, deploy, version view, diagram, migration dry run."""

from __future__ import annotations

import io
import re
from datetime import datetime

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.services.cases import start_case
from tests.conftest import AuthActions, csrf_token_from
from tests.factories import create_user
from tests.services.helpers import FIXTURES, deploy_fixture


@pytest.fixture
def designer(session: Session, auth: AuthActions, now: datetime) -> None:
    create_user(session, now, username="zhou", roles=[("designer", "approval")])
    auth.login("zhou")


def _upload(client: FlaskClient, data: bytes, action: str, forms: list[tuple[bytes, str]] = ()) -> object:  # type: ignore[assignment]
    token = csrf_token_from(client.get("/designer/processes").get_data(as_text=True))
    payload = {"csrf_token": token, "action": action, "bpmn": (io.BytesIO(data), "upload.bpmn")}
    if forms:
        payload["forms"] = [(io.BytesIO(body), name) for body, name in forms]
    return client.post("/designer/validate", data=payload, content_type="multipart/form-data")


def _fixture_forms() -> list[tuple[bytes, str]]:
    return [
        ((FIXTURES / "forms" / name).read_bytes(), name)
        for name in ("mini_decision.schema.json", "mini_review.schema.json")
    ]


def test_only_designers_and_admins(
    session: Session, client: FlaskClient, auth: AuthActions, now: datetime
) -> None:
    create_user(session, now, username="clerky", roles=[("clerk", "approval")])
    auth.login("clerky")
    assert client.get("/designer/processes").status_code == 403


def test_validate_then_deploy_an_upload(client: FlaskClient, designer: None) -> None:
    data = (FIXTURES / "mini_parallel.bpmn").read_bytes()
    checked = _upload(client, data, "validate", _fixture_forms())
    assert checked.status_code == 200 and "校验通过" in checked.get_data(as_text=True)
    deployed = _upload(client, data, "deploy", _fixture_forms())
    assert deployed.status_code == 302 and deployed.headers["Location"].endswith(
        "/designer/processes/mini_parallel/v1"
    )
    page = client.get("/designer/processes/mini_parallel/v1").get_data(as_text=True)
    assert "部门审查" in page and "approver@{dept}" in page
    xml = client.get("/designer/processes/mini_parallel/v1/diagram.bpmn")
    assert xml.mimetype == "application/xml" and b"mini_parallel" in xml.data
    listed = client.get("/designer/processes").get_data(as_text=True)  # the BPMN name, the id underneath
    assert re.search(r"<strong>测试并联审批</strong>\s*<br><small[^>]*>mini_parallel</small>", listed)


def test_a_broken_upload_lists_located_errors(client: FlaskClient, designer: None) -> None:
    broken = (
        (FIXTURES / "mini_parallel.bpmn").read_bytes().replace(b'sourceRef="review" targetRef="decide"', b"")
    )
    response = _upload(client, broken, "deploy", _fixture_forms())
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "校验未通过" in html
    assert "upload.bpmn:" in html  # file:line: element-id: message
    assert client.get("/designer/processes/mini_parallel/v1").status_code == 404  # nothing deployed


def test_xxe_upload_is_refused_without_reading_files(client: FlaskClient, designer: None) -> None:
    payload = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&x;</bpmn:definitions>'
    )
    response = _upload(client, payload, "validate")
    assert response.status_code == 422 and "root:" not in response.get_data(as_text=True)


def test_migration_dry_run_page(session: Session, client: FlaskClient, designer: None, now: datetime) -> None:
    clerk = create_user(session, now, roles=[("clerk", "approval")])
    deploy_fixture(session, "mini_parallel", now)
    number = start_case(session, "mini_parallel", {"departments": ["market"]}, clerk, now).number
    session.commit()
    deploy_fixture(session, "mini_parallel", now, replace={'name="领导决定"': 'name="分管领导决定"'})
    page = client.get("/designer/processes/mini_parallel/v2").get_data(as_text=True)
    response = client.post(
        "/designer/processes/mini_parallel/v2/migrate",
        data={"csrf_token": csrf_token_from(page), "action": "dry-run"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and number in html and "可迁移" in html
