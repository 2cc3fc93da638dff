"""代理设置, 加签/减签 on the task page and 批量审批 on the 待办 list, through the Flask client."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import HumanTask, ProxyRule, User
from app.services.cases import open_tasks
from app.services.projection import COUNTERSIGN_FOR
from tests.conftest import AuthActions, csrf_token_from
from tests.services.workspace import BULK, make_people, new_case


@pytest.fixture
def people(session: Session, now: datetime) -> dict[str, User]:
    return make_people(session, now)


def _post(client: FlaskClient, page: str, url: str, data: dict[str, object]) -> object:
    token = csrf_token_from(client.get(page).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token})


def test_set_list_and_cancel_a_proxy(
    app: Flask,
    session: Session,
    people: dict[str, User],
    auth: AuthActions,
    client: FlaskClient,
    now: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "GOVFLOW_FIXED_NOW", now)
    auth.login(people["market"].username)
    page = client.get("/settings/proxies").get_data(as_text=True)
    assert "代理设置" in page and people["market2"].display_name in page
    day = now.date()
    form = {
        "substitute_id": people["market2"].id,
        "starts_on": day.isoformat(),
        "ends_on": str(day + timedelta(2)),
    }
    response = _post(client, "/settings/proxies", "/settings/proxies", form)
    assert response.status_code == 302  # type: ignore[attr-defined]
    rule = session.scalars(select(ProxyRule)).one()
    assert rule.substitute_id == people["market2"].id
    html = client.get("/settings/proxies").get_data(as_text=True)
    assert "生效中" in html and people["market2"].display_name in html
    cancelled = _post(client, "/settings/proxies", f"/settings/proxies/{rule.id}/cancel", {})
    assert cancelled.status_code == 302  # type: ignore[attr-defined]
    assert "已取消" in client.get("/settings/proxies").get_data(as_text=True)
    again = _post(client, "/settings/proxies", f"/settings/proxies/{rule.id}/cancel", {})
    assert "代理已取消" in client.get(again.headers["Location"]).get_data(as_text=True)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"substitute_id": "0"}, "请选择代理人"),
        ({"ends_on": "2026-11-01"}, "必须晚于"),
        ({"starts_on": "not-a-date"}, "请输入有效日期"),
        ({"substitute_id": "999999"}, "不是有效的选择"),
    ],
)
def test_bad_proxy_input_is_shown_on_the_form(
    people: dict[str, User], auth: AuthActions, client: FlaskClient, overrides: dict[str, str], message: str
) -> None:
    auth.login(people["market"].username)
    form = {"substitute_id": str(people["market2"].id), "starts_on": "2026-11-23", "ends_on": "2026-11-25"}
    response = _post(client, "/settings/proxies", "/settings/proxies", {**form, **overrides})
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert message in response.get_data(as_text=True)  # type: ignore[attr-defined]


def test_add_and_remove_a_signer_from_the_task_page(
    session: Session, people: dict[str, User], auth: AuthActions, client: FlaskClient, now: datetime
) -> None:
    case = new_case(session, people, now)
    [intake] = open_tasks(session, case)
    intake.assignee_id = people["clerk"].id
    session.commit()
    auth.login(people["clerk"].username)
    page = f"/tasks/{intake.id}"
    assert "加签" in client.get(page).get_data(as_text=True)
    refused = _post(client, page, f"/tasks/{intake.id}/signers", {"signer": "x"})
    assert refused.status_code == 302  # type: ignore[attr-defined]
    assert "请选择加签人或部门" in client.get(page).get_data(as_text=True)
    added = _post(client, page, f"/tasks/{intake.id}/signers", {"signer": f"u:{people['clerk2'].id}"})
    assert added.status_code == 302  # type: ignore[attr-defined]
    [row] = [t for t in open_tasks(session, case) if t.properties.get(COUNTERSIGN_FOR)]
    html = client.get(page).get_data(as_text=True)
    assert "减签" in html and f"/signers/{row.id}/remove" in html
    removed = _post(client, page, f"/tasks/{intake.id}/signers/{row.id}/remove", {"reason": "不需要了"})
    assert removed.status_code == 302  # type: ignore[attr-defined]
    assert session.scalar(select(HumanTask.state).where(HumanTask.id == row.id)) == "cancelled"


def test_bulk_approve_from_the_todo_list(
    session: Session, people: dict[str, User], auth: AuthActions, client: FlaskClient, now: datetime
) -> None:
    cases = [new_case(session, people, now, replace=BULK) for _ in range(2)]
    plain = new_case(session, people, now)
    tasks = [open_tasks(session, case)[0] for case in [*cases, plain]]
    for task in tasks:
        task.assignee_id = people["clerk"].id
    session.commit()
    auth.login(people["clerk"].username)
    html = client.get("/tasks").get_data(as_text=True)
    assert html.count('name="task_ids"') == 2 and "批量同意所选任务" in html
    ids = [str(t.id) for t in tasks]
    response = _post(client, "/tasks", "/tasks/bulk", {"task_ids": ids, "opinion": "同意"})
    assert response.status_code == 302  # type: ignore[attr-defined]
    result = client.get("/tasks").get_data(as_text=True)
    assert "成功 2 件，失败 1 件" in result and plain.number in result
    assert [t.bpmn_id for t in open_tasks(session, cases[0])] == ["review"]
    empty = _post(client, "/tasks", "/tasks/bulk", {})
    assert "请先勾选" in client.get(empty.headers["Location"]).get_data(as_text=True)  # type: ignore[attr-defined]
