"""The workspace pages through the Flask client: lists, task page, errors, escaping, case page, diagram."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from flask.testing import FlaskClient
from flask_babel import refresh
from sqlalchemy.orm import Session

from app.models import Case, HumanTask, User
from app.services.case_views import case_tasks
from app.services.cases import complete_task, open_tasks, start_case
from app.services.copies import copy_case
from app.services.delegation import transfer_task
from app.services.operations import claim_task
from tests.conftest import FIXED_NOW, AuthActions, csrf_token_from
from tests.factories import DEPARTMENT_NAMES, create_user
from tests.processes.scenario import deploy

MEMBERS = ["tax", "police"]


@pytest.fixture
def people(session: Session, now: datetime) -> dict[str, User]:
    users = {
        "applicant": create_user(session, now, username="zhangsan", roles=[("applicant", None)]),
        "clerk": create_user(session, now, username="wangmin", roles=[("clerk", "approval")]),
        "market": create_user(session, now, username="liuyang", roles=[("approver", "market")]),
        "head": create_user(session, now, username="huanghai", roles=[("dept_head", "market")]),
        "outsider": create_user(session, now, username="nobody", roles=[("approver", "eco")]),
        "supervisor": create_user(session, now, username="mazheng", roles=[("supervisor", "supervision")]),
    }
    for dept in MEMBERS:
        users[dept] = create_user(session, now, username=f"approver_{dept}", roles=[("approver", dept)])
    return users


@pytest.fixture
def case(session: Session, people: dict[str, User], now: datetime) -> Case:
    deploy(session, "parallel_approval", now)
    data = {"lead_dept": "market", "member_departments": MEMBERS}
    started = start_case(session, "parallel_approval", data, people["applicant"], now, title="企业设立登记")
    session.commit()
    return started


def _task(session: Session, case: Case, bpmn_id: str) -> HumanTask:
    return next(t for t in open_tasks(session, case) if t.bpmn_id == bpmn_id)


def _at_lead_check(session: Session, case: Case, people: dict[str, User], now: datetime) -> HumanTask:
    intake = _task(session, case, "accept_application")
    complete_task(session, intake.id, {"decision": "accept"}, people["clerk"], now)
    session.commit()
    return _task(session, case, "lead_check")


def _post(client: FlaskClient, page_url: str, url: str, data: dict[str, object]) -> object:
    token = csrf_token_from(client.get(page_url).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token})


def test_todo_list_shows_the_task_with_its_badge(
    session: Session, case: Case, people: dict[str, User], auth: AuthActions, client: FlaskClient
) -> None:
    auth.login("wangmin")
    html = client.get("/tasks?view=claimable").get_data(as_text=True)
    assert case.number in html and "窗口受理" in html and "企业设立登记" in html
    assert "badge-green" in html and people["applicant"].display_name in html
    assert case.number not in client.get("/tasks").get_data(as_text=True)  # 待办: nothing claimed yet
    assert client.get("/tasks?view=done").status_code == 200
    assert client.get("/tasks?view=cc").status_code == 200
    searched = client.get(f"/tasks?view=claimable&q={case.number}&due=ok&from=2020-01-01")
    assert case.number in searched.get_data(as_text=True)
    assert case.number not in client.get("/tasks?view=claimable&q=no-such").get_data(as_text=True)
    assert client.get("/tasks?view=bogus&due=bogus&from=not-a-date&page=-3").status_code == 200


def test_overdue_task_shows_red(
    session: Session, case: Case, people: dict[str, User], auth: AuthActions, client: FlaskClient
) -> None:
    task = _task(session, case, "accept_application")
    task.due_at = FIXED_NOW - timedelta(days=3)
    session.commit()
    auth.login("wangmin")
    html = client.get("/tasks?view=claimable").get_data(as_text=True)
    assert "badge-red" in html and "已超期" in html
    assert case.number in client.get("/tasks?view=claimable&due=overdue").get_data(as_text=True)
    assert case.number not in client.get("/tasks?view=claimable&due=ok").get_data(as_text=True)


def test_task_page_renders_form_instructions_and_diagram_hooks(
    session: Session, case: Case, people: dict[str, User], auth: AuthActions, client: FlaskClient
) -> None:
    task = _task(session, case, "accept_application")
    auth.login("wangmin")
    response = client.get(f"/tasks/{task.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "核对申请材料是否齐全" in html  # instructionsForEndUser
    assert 'type="radio" name="decision" value="accept"' in html and "不予受理" in html
    assert 'name="received_materials"' in html and "每行一个文件名" in html
    assert f'data-diagram-url="/cases/{case.number}/diagram.bpmn"' in html
    assert 'data-current="accept_application"' in html
    assert "<script>" not in html  # CSP: scripts only from files


def test_invalid_submission_rerenders_every_error_and_keeps_input(
    session: Session, case: Case, people: dict[str, User], auth: AuthActions, client: FlaskClient
) -> None:
    task = _task(session, case, "accept_application")
    auth.login("wangmin")
    url = f"/tasks/{task.id}"
    response = _post(client, url, url, {"decision": "refuse", "opinion": "材料不全，依法不予受理"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert html.count('class="error"') >= 2  # refuse_reasons and legal_basis, each at its field
    assert 'data-field="refuse_reasons"' in html and "材料不全，依法不予受理" in html
    assert re.search(r'value="refuse"\s+checked', html)  # the user's choice is kept
    assert session.get(HumanTask, task.id).state == "open"  # nothing saved


def test_submission_completes_and_goes_to_the_list(
    session: Session, case: Case, people: dict[str, User], auth: AuthActions, client: FlaskClient
) -> None:
    task = _task(session, case, "accept_application")
    auth.login("wangmin")
    url = f"/tasks/{task.id}"
    data = {"decision": "accept", "received_materials": "营业执照申请书.pdf\n章程.pdf", "opinion": "受理"}
    response = _post(client, url, url, data)
    assert response.status_code == 302 and response.headers["Location"] == "/tasks"
    session.expire_all()
    assert session.get(HumanTask, task.id).state == "completed"
    again = _post(client, "/tasks", url, data)
    assert again.status_code == 409
    html = again.get_data(as_text=True)
    assert "此任务已被处理" in html and f"/cases/{case.number}" in html


def test_not_my_task_is_403(
    session: Session, case: Case, people: dict[str, User], auth: AuthActions, client: FlaskClient
) -> None:
    task = _task(session, case, "accept_application")
    auth.login("liuyang")
    assert client.get(f"/tasks/{task.id}").status_code == 403
    assert _post(client, "/tasks", f"/tasks/{task.id}", {"decision": "accept"}).status_code == 403
    assert client.get("/tasks/999999").status_code == 404


def test_forged_csrf_is_400(
    session: Session, case: Case, people: dict[str, User], auth: AuthActions, client: FlaskClient
) -> None:
    task = _task(session, case, "accept_application")
    auth.login("wangmin")
    response = client.post(f"/tasks/{task.id}", data={"decision": "accept", "csrf_token": "forged"})
    assert response.status_code == 400
    assert session.get(HumanTask, task.id).state == "open"


def test_script_in_an_opinion_is_shown_as_text(
    session: Session,
    case: Case,
    people: dict[str, User],
    auth: AuthActions,
    client: FlaskClient,
    now: datetime,
) -> None:
    lead = _at_lead_check(session, case, people, now)
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    complete_task(session, lead.id, {"decision": "pass", "opinion": evil}, people["market"], now)
    session.commit()
    auth.login("liuyang")
    html = client.get(f"/cases/{case.number}").get_data(as_text=True)
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<script>alert" not in html and "<img src=x" not in html


def test_return_needs_a_reason_then_goes_back(
    session: Session,
    case: Case,
    people: dict[str, User],
    auth: AuthActions,
    client: FlaskClient,
    now: datetime,
) -> None:
    lead = _at_lead_check(session, case, people, now)
    auth.login("liuyang")
    url = f"/tasks/{lead.id}"
    empty = _post(client, url, f"{url}/return", {"target": "accept_application", "reason": " "})
    assert empty.status_code == 400 and "请填写退回理由" in empty.get_data(as_text=True)
    wrong = _post(client, url, f"{url}/return", {"target": "issue_licence", "reason": "x"})
    assert wrong.status_code == 400 and "请选择退回到哪一步" in wrong.get_data(as_text=True)
    done = _post(client, url, f"{url}/return", {"target": "accept_application", "reason": "申请书缺少签字"})
    assert done.status_code == 302
    session.expire_all()
    assert [t.bpmn_id for t in open_tasks(session, case)] == ["accept_application"]


def test_claim_and_unclaim(
    session: Session, case: Case, people: dict[str, User], auth: AuthActions, client: FlaskClient
) -> None:
    task = _task(session, case, "accept_application")
    auth.login("wangmin")
    url = f"/tasks/{task.id}"
    assert _post(client, url, f"{url}/claim", {}).status_code == 302
    session.expire_all()
    assert session.get(HumanTask, task.id).assignee_id == people["clerk"].id
    assert "取消认领" in client.get(url).get_data(as_text=True)
    assert case.number in client.get("/tasks").get_data(as_text=True)  # now in 待办
    assert _post(client, url, f"{url}/unclaim", {}).status_code == 302
    session.expire_all()
    assert session.get(HumanTask, task.id).assignee_id is None


@pytest.mark.parametrize(
    ("username", "status"),
    [("zhangsan", 200), ("wangmin", 200), ("huanghai", 200), ("mazheng", 200), ("nobody", 403)],
)
def test_case_page_permissions(
    session: Session,
    case: Case,
    people: dict[str, User],
    auth: AuthActions,
    client: FlaskClient,
    now: datetime,
    username: str,
    status: int,
) -> None:
    _at_lead_check(session, case, people, now)
    auth.login(username)
    assert client.get(f"/cases/{case.number}").status_code == status
    diagram = client.get(f"/cases/{case.number}/diagram.bpmn")
    assert diagram.status_code == status
    if status == 200:
        assert diagram.mimetype == "application/xml" and b"<bpmn:definitions" in diagram.data


def test_case_page_shows_summary_opinions_and_timeline(
    session: Session,
    case: Case,
    people: dict[str, User],
    auth: AuthActions,
    client: FlaskClient,
    now: datetime,
) -> None:
    _at_lead_check(session, case, people, now)
    auth.login("wangmin")
    html = client.get(f"/cases/{case.number}").get_data(as_text=True)
    assert "受理决定" in html and "受理" in html  # data with form labels
    assert "启动办件" in html and "办理 · 窗口受理" in html  # timeline
    assert "牵头部门审查" in html  # the open step
    assert 'data-done="accept_application"' in html and 'data-current="lead_check"' in html
    assert client.get("/cases/NO-SUCH").status_code == 404


def test_withdraw_from_the_done_list_reopens_my_task(
    session: Session,
    case: Case,
    people: dict[str, User],
    auth: AuthActions,
    client: FlaskClient,
    now: datetime,
) -> None:
    intake = _task(session, case, "accept_application")
    auth.login("wangmin")
    url = f"/tasks/{intake.id}"
    _post(client, url, url, {"decision": "accept", "opinion": "受理"})
    done = client.get("/tasks?view=done").get_data(as_text=True)
    assert case.number in done and f"/tasks/{intake.id}/withdraw" in done
    response = _post(client, "/tasks?view=done", f"{url}/withdraw", {})
    assert response.status_code == 302
    session.expire_all()
    [reopened] = open_tasks(session, case)
    assert reopened.bpmn_id == "accept_application" and reopened.assignee_id == people["clerk"].id
    assert response.headers["Location"] == f"/tasks/{reopened.id}"


def test_no_withdraw_button_once_the_next_step_was_taken(
    session: Session,
    case: Case,
    people: dict[str, User],
    auth: AuthActions,
    client: FlaskClient,
    now: datetime,
) -> None:
    lead = _at_lead_check(session, case, people, now)
    intake = next(t for t in case_tasks(session, case) if t.bpmn_id == "accept_application")
    auth.login("wangmin")
    assert f"/tasks/{intake.id}/withdraw" in client.get("/tasks?view=done").get_data(as_text=True)
    claim_task(session, lead.id, people["market"], now)  # the lead department opened the next step
    session.commit()
    done = client.get("/tasks?view=done").get_data(as_text=True)
    assert case.number in done and f"/tasks/{intake.id}/withdraw" not in done
    assert ">撤回</button>" not in done
    response = _post(client, "/tasks?view=done", f"/tasks/{intake.id}/withdraw", {})  # posted anyway
    assert response.status_code == 302 and response.headers["Location"] == "/tasks?view=done"
    assert "后续办理人已处理，无法撤回" in client.get("/tasks?view=done").get_data(as_text=True)
    session.expire_all()
    assert _task(session, case, "lead_check").assignee_id == people["market"].id


def test_transfer_copy_and_urge(
    session: Session,
    case: Case,
    people: dict[str, User],
    auth: AuthActions,
    client: FlaskClient,
    now: datetime,
) -> None:
    other = create_user(session, now, username="market2", roles=[("approver", "market")], display_name="刘二")
    lead = _at_lead_check(session, case, people, now)
    auth.login("liuyang")
    url = f"/tasks/{lead.id}"
    page = client.get(url).get_data(as_text=True)
    assert f'<option value="{other.id}">刘二</option>' in page  # a transfer choice
    assert "确认抄送" not in page  # 抄送 once the task is mine (a participant of the case)
    _post(client, url, f"{url}/claim", {})
    copied = _post(client, url, f"{url}/copy", {"departments": ["eco"], "note": "请知悉"})
    assert copied.status_code == 302
    refused = _post(client, url, f"{url}/transfer", {"to_user_id": str(other.id), "reason": ""})
    assert refused.status_code == 302 and refused.headers["Location"] == url  # reason required: flashed
    assert "请填写理由" in client.get(url).get_data(as_text=True)
    moved = _post(client, url, f"{url}/transfer", {"to_user_id": str(other.id), "reason": "本人出差"})
    assert moved.status_code == 302
    session.expire_all()
    assert session.get(HumanTask, lead.id).assignee_id == other.id
    auth.logout()
    auth.login("nobody")  # the eco approver received the copy
    cc = client.get("/tasks?view=cc").get_data(as_text=True)
    assert case.number in cc and "请知悉" in cc and "未读" in cc
    link = re.search(r'href="(/tasks/copies/\d+)"', cc)
    assert link is not None
    opened = client.get(link.group(1))
    assert opened.status_code == 302 and opened.headers["Location"] == f"/cases/{case.number}"
    assert client.get(opened.headers["Location"]).status_code == 200
    auth.logout()
    auth.login("wangmin")  # handled 受理, so may urge the open step
    urged = _post(client, f"/cases/{case.number}", f"/tasks/{lead.id}/urge", {"note": ""})
    assert urged.status_code == 302
    assert "已催办 1 人" in client.get(f"/cases/{case.number}").get_data(as_text=True)


def test_case_timeline_names_whom_an_action_went_to_in_both_languages(
    session: Session,
    case: Case,
    people: dict[str, User],
    auth: AuthActions,
    client: FlaskClient,
    now: datetime,
) -> None:
    other = create_user(session, now, username="market2", roles=[("approver", "market")], display_name="刘二")
    lead = _at_lead_check(session, case, people, now)
    claim_task(session, lead.id, people["market"], now)
    copy_case(session, case.id, [people["head"].id], [], "请知悉", people["market"], now, lead.id)
    transfer_task(session, lead.id, other.id, "本人出差", people["market"], now)
    session.commit()
    auth.login("wangmin")
    events = re.findall(
        r'<span class="event">([^<]*)</span>', client.get(f"/cases/{case.number}").get_data(as_text=True)
    )
    head = people["head"].display_name
    assert events[-3:] == [
        "认领 · 牵头部门审查",
        f"抄送给 {head} · 牵头部门审查",
        "转办给 刘二 · 牵头部门审查",
    ]
    client.get("/lang/en")
    refresh()  # the tests' app context keeps the locale of the requests above
    html = client.get(f"/cases/{case.number}").get_data(as_text=True)
    events = re.findall(r'<span class="event">([^<]*)</span>', html)
    assert events[0] == "Case started" and events[1] == "Completed · 窗口受理"
    assert events[-3:] == [
        "Claimed · 牵头部门审查",
        f"Copied to {head} · 牵头部门审查",
        "Transferred to 刘二 · 牵头部门审查",
    ]


def test_case_data_labels_a_shared_field_by_the_step_that_wrote_it(
    session: Session,
    case: Case,
    people: dict[str, User],
    auth: AuthActions,
    client: FlaskClient,
    now: datetime,
) -> None:
    lead = _at_lead_check(session, case, people, now)
    auth.login("wangmin")
    data = re.findall(
        r"<dt>([^<]*)</dt><dd>([^<]*)</dd>", client.get(f"/cases/{case.number}").get_data(as_text=True)
    )
    assert ("窗口受理 · 受理决定", "受理") in data  # `decision`, written by 窗口受理 so far
    complete_task(session, lead.id, {"decision": "pass", "opinion": "材料齐全"}, people["market"], now)
    session.commit()
    data = re.findall(
        r"<dt>([^<]*)</dt><dd>([^<]*)</dd>", client.get(f"/cases/{case.number}").get_data(as_text=True)
    )
    assert ("牵头部门审查 · 审查结论", "材料完整，分送会审") in data  # not "受理决定: 材料完整，分送会审"
    assert ("牵头部门审查 · 审查意见", "材料齐全") in data
    assert not [title for title, _value in data if "受理决定" in title or "受理意见" in title]
    assert ("牵头部门", DEPARTMENT_NAMES["market"]) in data  # a key one form (or none) defines: as before


def _opinion_labels(html: str) -> list[tuple[str, str]]:
    """(step, decision label) of every opinion in the opinions panel, in order."""
    return re.findall(r'<span class="tag">([^<]*)</span>\s*<span class="decision[^"]*">([^<]*)</span>', html)


def test_each_opinion_decision_is_labelled_by_its_own_steps_form(
    session: Session,
    case: Case,
    people: dict[str, User],
    auth: AuthActions,
    client: FlaskClient,
    now: datetime,
) -> None:
    intake = _task(session, case, "accept_application")
    notice = {"decision": "supplement", "supplement_items": ["公司章程"], "opinion": "缺章程"}
    complete_task(session, intake.id, notice, people["clerk"], now)  # 窗口受理: supplement = 一次性告知补正
    supplement = _task(session, case, "supplement_materials")
    complete_task(session, supplement.id, {"materials": ["章程.pdf"]}, people["applicant"], now)
    lead = _at_lead_check(session, case, people, now)
    lacking = {"decision": "supplement", "supplement_items": ["股东证明"], "opinion": "缺股东证明"}
    complete_task(session, lead.id, lacking, people["market"], now)  # 牵头部门审查: supplement = 需补正
    session.commit()
    expected = [("窗口受理", "一次性告知补正"), ("窗口受理", "受理"), ("牵头部门审查", "需补正")]
    auth.login("huanghai")  # the market department head sees the case
    assert _opinion_labels(client.get(f"/cases/{case.number}").get_data(as_text=True)) == expected
    auth.login("zhangsan")
    again = _task(session, case, "supplement_materials")
    page = client.get(f"/tasks/{again.id}").get_data(as_text=True)
    assert _opinion_labels(page) == expected
