"""The task API's answers to what users get wrong: each operation's refusals, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.models import AuditEvent, Case, HumanTask
from app.services import cases as cases_service
from tests.conftest import AuthActions, csrf_token_from
from tests.web.test_api_tasks import _open, _start


def _accept_intake(client: FlaskClient, session: Session, h: dict[str, Any], number: str) -> HumanTask:
    intake = _open(session, number, "intake")
    done = {"data": {"decision": "accept"}}
    assert (
        client.post(f"/api/v1/tasks/{intake.id}/complete", json=done, headers=h["clerk"]).status_code == 200
    )
    return intake


def test_someone_elses_task_is_403_for_every_operation(
    session: Session, client: FlaskClient, api: dict[str, Any]
) -> None:
    h, users = api["h"], api["users"]
    number = _start(client, h["clerk"])
    _accept_intake(client, session, h, number)
    review = _open(session, number, "review")
    assert client.post(f"/api/v1/tasks/{review.id}/claim", headers=h["market"]).status_code == 200
    before = session.scalar(select(func.count(AuditEvent.id)))
    attempts = {
        "complete": {"data": {"review_decision": "accept"}},
        "unclaim": None,
        "return": {"target": "intake", "reason": "补件"},
        "transfer": {"user_id": users["leader"].id, "reason": "r"},
        "delegate": {"user_id": users["leader"].id},
        "add-signer": {"user_id": users["leader"].id},
        "copy": {"user_ids": [users["leader"].id]},
    }
    for operation, body in attempts.items():
        answer = client.post(f"/api/v1/tasks/{review.id}/{operation}", json=body, headers=h["market2"])
        assert answer.status_code == 403, (operation, answer.get_json())
        assert answer.get_json()["error"], operation
    session.expire_all()
    assert session.scalar(select(func.count(AuditEvent.id))) == before  # nothing recorded, nothing changed
    assert _open(session, number, "review").assignee_id == users["market"].id


def test_missing_reasons_and_unknown_people_are_400_field_errors(
    session: Session, client: FlaskClient, api: dict[str, Any]
) -> None:
    h = api["h"]
    number = _start(client, h["clerk"])
    _accept_intake(client, session, h, number)
    review = _open(session, number, "review")
    client.post(f"/api/v1/tasks/{review.id}/claim", headers=h["market"])
    cases = {
        "return": {"target": "intake", "reason": "  "},
        "transfer": {"user_id": 987654, "reason": "请假"},
        "delegate": {"user_id": None},
        "add-signer": {"user_id": "abc"},
        "copy": {"user_ids": []},
    }
    for operation, body in cases.items():
        answer = client.post(f"/api/v1/tasks/{review.id}/{operation}", json=body, headers=h["market"])
        assert answer.status_code in (400, 404), (operation, answer.status_code, answer.get_json())
        assert answer.get_json()["error"] in ("invalid_input", "not_found"), operation
    session.expire_all()
    assert _open(session, number, "review").assignee_id == api["users"]["market"].id


def test_bodies_that_are_not_json_objects_are_400(
    session: Session, client: FlaskClient, api: dict[str, Any]
) -> None:
    h = api["h"]
    number = _start(client, h["clerk"])
    intake = _open(session, number, "intake")
    for body in ("{not json", "[1, 2]", '"text"'):
        answer = client.post(
            f"/api/v1/tasks/{intake.id}/complete",
            data=body,
            headers={**h["clerk"], "Content-Type": "application/json"},
        )
        assert answer.status_code == 400, (body, answer.status_code)
        assert answer.get_json()["error"]
    session.expire_all()
    assert _open(session, number, "intake").state == "open"


def test_session_callers_need_the_csrf_header(
    session: Session, client: FlaskClient, api: dict[str, Any], auth: AuthActions
) -> None:
    number = _start(client, api["h"]["clerk"])
    intake = _open(session, number, "intake")
    auth.login("api_clerk")
    url = f"/api/v1/tasks/{intake.id}/claim"
    assert client.post(url).status_code == 400
    assert client.post(url, headers={"X-CSRFToken": "forged"}).status_code == 400
    session.expire_all()
    assert _open(session, number, "intake").assignee_id is None
    token = csrf_token_from(client.get("/tasks").get_data(as_text=True))
    assert client.post(url, headers={"X-CSRFToken": token}).status_code == 200


def test_withdraw_of_a_task_i_did_not_complete_is_refused(
    session: Session, client: FlaskClient, api: dict[str, Any]
) -> None:
    h = api["h"]
    number = _start(client, h["clerk"])
    intake = _accept_intake(client, session, h, number)
    answer = client.post(f"/api/v1/tasks/{intake.id}/withdraw", headers=h["clerk2"])
    assert answer.status_code in (403, 409) and answer.get_json()["error"]
    session.expire_all()
    assert _open(session, number, "review").state == "open"


def test_a_case_changed_under_a_completion_is_409_and_nothing_is_written(
    session: Session, client: FlaskClient, api: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    h = api["h"]
    number = _start(client, h["clerk"])
    intake = _open(session, number, "intake")
    planned = cases_service.project_result

    def changed_meanwhile(*args: Any, **kwargs: Any) -> Any:  # another writer got in after the lock
        bump = update(Case).where(Case.number == number).values(version=Case.version + 1)
        session.execute(bump.execution_options(synchronize_session=False))
        return planned(*args, **kwargs)

    monkeypatch.setattr(cases_service, "project_result", changed_meanwhile)
    done = {"data": {"decision": "accept"}}
    answer = client.post(f"/api/v1/tasks/{intake.id}/complete", json=done, headers=h["clerk"])
    assert answer.status_code == 409 and answer.get_json()["error"] == "conflict"
    session.expire_all()
    assert _open(session, number, "intake").state == "open"
