"""Shared fixtures of the web tests: API users with tokens and the mini parallel process."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.factories import create_user
from tests.services.helpers import deploy_fixture
from tests.services.test_operations import RETURNABLE
from tests.services.workspace import BULK


def api_token(client: FlaskClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/tokens", json={"username": username, "password": "password-123"})
    assert response.status_code == 201
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


@pytest.fixture
def api(session: Session, client: FlaskClient, now: datetime) -> dict[str, Any]:
    roles: dict[str, list[tuple[str, str | None]]] = {
        "clerk": [("clerk", "approval")],
        "clerk2": [("clerk", "approval")],
        "market": [("approver", "market")],
        "market2": [("approver", "market")],
        "leader": [("leader", "gxq")],
        "applicant": [("applicant", None)],
    }
    users = {name: create_user(session, now, username=f"api_{name}", roles=r) for name, r in roles.items()}
    deploy_fixture(session, "mini_parallel", now, replace={**RETURNABLE, **BULK})
    return {"users": users, "h": {name: api_token(client, f"api_{name}") for name in roles}}
