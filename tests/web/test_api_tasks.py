"""JSON API for tasks and cases: every operation and its errors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Case, HumanTask, Opinion
from tests.conftest import FIXED_NOW
from tests.factories import create_user
from tests.services import supervision_data as data
from tests.web.conftest import api_token


def _start(client: FlaskClient, headers: dict[str, str], title: str = "测试办件") -> str:
    response = client.post(
        "/api/v1/cases",
        json={"process_id": "mini_parallel", "data": {"departments": ["market"]}, "title": title},
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()
    number: str = response.get_json()["number"]
    return number


def _open(session: Session, number: str, bpmn_id: str) -> HumanTask:
    return session.scalars(
        select(HumanTask)
        .join(Case)
        .where(Case.number == number, HumanTask.bpmn_id == bpmn_id, HumanTask.state == "open")
    ).one()


def test_lists_claim_complete_and_detail(session: Session, client: FlaskClient, api: dict[str, Any]) -> None:
    h = api["h"]
    number = _start(client, h["clerk"])
    listed = client.get("/api/v1/tasks?view=claimable", headers=h["clerk"]).get_json()
    assert listed["total"] == 1 and listed["items"][0]["case_number"] == number
    assert listed["counts"] == {"todo": 0, "claimable": 1, "done": 0, "cc": 0}
    task_id = listed["items"][0]["task_id"]
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=h["clerk"]).status_code == 200
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=h["clerk2"]).status_code == 403
    assert (
        client.post(f"/api/v1/tasks/{task_id}/unclaim", headers=h["clerk"]).get_json()["assignee_id"] is None
    )
    assert client.get(f"/api/v1/tasks/{task_id}", headers=h["market"]).status_code == 403
    detail = client.get(f"/api/v1/tasks/{task_id}", headers=h["clerk"]).get_json()
    assert detail["name"] == "窗口受理" and detail["bulk_approve"] is True
    done = client.post(
        f"/api/v1/tasks/{task_id}/complete", json={"data": {"decision": "accept"}}, headers=h["clerk"]
    )
    assert done.status_code == 200 and done.get_json()["new_tasks"] == 1
    again = client.post(
        f"/api/v1/tasks/{task_id}/complete", json={"data": {"decision": "accept"}}, headers=h["clerk"]
    )
    assert again.status_code == 409 and again.get_json()["error"] == "task_already_handled"
    assert client.get("/api/v1/tasks?view=done", headers=h["clerk"]).get_json()["total"] == 1
    assert client.get("/api/v1/tasks?view=everything", headers=h["clerk"]).status_code == 400
    assert client.get("/api/v1/tasks?page=x", headers=h["clerk"]).status_code == 400
    assert client.get("/api/v1/tasks/999999", headers=h["clerk"]).status_code == 404
    assert client.get("/api/v1/tasks").status_code == 401


def test_done_list_says_which_completions_may_be_withdrawn(
    session: Session, client: FlaskClient, api: dict[str, Any]
) -> None:
    h = api["h"]
    first, second = _start(client, h["clerk"], "甲"), _start(client, h["clerk"], "乙")
    intakes = {number: _open(session, number, "intake").id for number in (first, second)}
    for task_id in intakes.values():
        client.post(
            f"/api/v1/tasks/{task_id}/complete", json={"data": {"decision": "accept"}}, headers=h["clerk"]
        )
    client.post(f"/api/v1/tasks/{_open(session, second, 'review').id}/claim", headers=h["market"])
    listed = client.get("/api/v1/tasks?view=done", headers=h["clerk"]).get_json()["items"]
    assert {row["case_number"]: row["withdrawable"] for row in listed} == {first: True, second: False}
    refused = client.post(f"/api/v1/tasks/{intakes[second]}/withdraw", headers=h["clerk"])
    assert refused.status_code == 409 and refused.get_json()["error"] == "conflict"
    withdrawn = client.post(f"/api/v1/tasks/{intakes[first]}/withdraw", headers=h["clerk"])
    assert withdrawn.status_code == 200 and withdrawn.get_json()["state"] == "open"
    todo = client.get("/api/v1/tasks?view=todo", headers=h["clerk"]).get_json()["items"]
    assert [row["withdrawable"] for row in todo] == [False]  # only 已办 rows carry it


def test_invalid_form_is_400_with_field_errors_and_nothing_saved(
    session: Session, client: FlaskClient, api: dict[str, Any]
) -> None:
    h = api["h"]
    number = _start(client, h["clerk"])
    task = _open(session, number, "intake")
    bad = client.post(
        f"/api/v1/tasks/{task.id}/complete", json={"data": {"decision": "maybe"}}, headers=h["clerk"]
    )
    body = bad.get_json()
    assert bad.status_code == 400 and body["error"] == "invalid_input" and "decision" in body["details"]
    assert (
        client.post(f"/api/v1/tasks/{task.id}/complete", json={"nodata": 1}, headers=h["clerk"]).status_code
        == 400
    )
    session.expire_all()
    assert _open(session, number, "intake").state == "open"
    assert session.scalar(select(func.count(Opinion.id))) == 0


def test_return_transfer_delegate_withdraw(
    session: Session, client: FlaskClient, api: dict[str, Any]
) -> None:
    h, users = api["h"], api["users"]
    number = _start(client, h["clerk"])
    intake = _open(session, number, "intake")
    client.post(
        f"/api/v1/tasks/{intake.id}/complete", json={"data": {"decision": "accept"}}, headers=h["clerk"]
    )
    review = _open(session, number, "review")
    withdrawn = client.post(f"/api/v1/tasks/{intake.id}/withdraw", headers=h["clerk"])
    assert withdrawn.status_code == 200 and withdrawn.get_json()["state"] == "open"
    reopened = withdrawn.get_json()["id"]
    client.post(
        f"/api/v1/tasks/{reopened}/complete", json={"data": {"decision": "accept"}}, headers=h["clerk"]
    )
    review = _open(session, number, "review")
    client.post(f"/api/v1/tasks/{review.id}/claim", headers=h["market"])
    late = client.post(f"/api/v1/tasks/{reopened}/withdraw", headers=h["clerk"])
    assert late.status_code == 409 and late.get_json()["details"]["acted_by"] == [
        users["market"].display_name
    ]
    moved = client.post(
        f"/api/v1/tasks/{review.id}/transfer",
        json={"user_id": users["market2"].id, "reason": "请假"},
        headers=h["market"],
    )
    assert moved.status_code == 200 and moved.get_json()["assignee_id"] == users["market2"].id
    wrong = client.post(
        f"/api/v1/tasks/{review.id}/transfer", json={"user_id": "x", "reason": "r"}, headers=h["market2"]
    )
    assert wrong.status_code == 400
    delegated = client.post(
        f"/api/v1/tasks/{review.id}/delegate", json={"user_id": users["leader"].id}, headers=h["market2"]
    )
    assert delegated.status_code == 200 and delegated.get_json()["owner_id"] == users["market2"].id
    answer = {"data": {"opinion": "<script>alert(1)</script>同意"}}
    assert (
        client.post(f"/api/v1/tasks/{review.id}/complete", json=answer, headers=h["leader"]).status_code
        == 200
    )
    stored = session.scalars(
        select(Opinion.text).where(Opinion.human_task_id == review.id, Opinion.decision == "delegated")
    ).one()
    assert stored == "<script>alert(1)</script>同意"
    done = {"data": {"review_decision": "accept"}}
    assert (
        client.post(f"/api/v1/tasks/{review.id}/complete", json=done, headers=h["market2"]).status_code == 200
    )
    decide = _open(session, number, "decide")
    bad = client.post(
        f"/api/v1/tasks/{decide.id}/return", json={"target": "issue", "reason": "x"}, headers=h["leader"]
    )
    assert bad.status_code == 400 and bad.get_json()["details"] == {"allowed": ["intake", "review"]}
    ok = client.post(
        f"/api/v1/tasks/{decide.id}/return", json={"target": "intake", "reason": "补件"}, headers=h["leader"]
    )
    assert ok.status_code == 200 and ok.get_json()["state"] == "returned"
    case = client.get(f"/api/v1/cases/{number}", headers=h["clerk"]).get_json()
    assert any(o["text"] == "<script>alert(1)</script>同意" for o in case["opinions"])
    # each decision labelled as the case page labels it: by its step's form, operations by their name
    labels = {(o["step"], o["decision"]): o["decision_label"] for o in case["opinions"]}
    assert labels[("部门审查", "accept")] == "同意" and labels[("领导决定", "return")] == "退回"
    assert labels[("部门审查", "delegated")] == "委派回复"
    detail = client.get(f"/api/v1/tasks/{decide.id}", headers=h["leader"]).get_json()
    assert detail["opinions"] == case["opinions"]


def test_signers_copy_urge_bulk(session: Session, client: FlaskClient, api: dict[str, Any]) -> None:
    h, users = api["h"], api["users"]
    number = _start(client, h["clerk"])
    intake = _open(session, number, "intake")
    client.post(
        f"/api/v1/tasks/{intake.id}/complete", json={"data": {"decision": "accept"}}, headers=h["clerk"]
    )
    review = _open(session, number, "review")
    client.post(f"/api/v1/tasks/{review.id}/claim", headers=h["market"])
    added = client.post(
        f"/api/v1/tasks/{review.id}/add-signer", json={"user_id": users["leader"].id}, headers=h["market"]
    )
    assert added.status_code == 201
    blocked = client.post(
        f"/api/v1/tasks/{review.id}/complete",
        json={"data": {"review_decision": "accept"}},
        headers=h["market"],
    )
    assert blocked.status_code == 409 and "等待加签人意见" in blocked.get_json()["message"]
    removed = client.post(
        f"/api/v1/tasks/{added.get_json()['id']}/remove-signer",
        json={"reason": "不需要"},
        headers=h["market"],
    )
    assert removed.status_code == 200 and removed.get_json()["state"] == "cancelled"
    copied = client.post(
        f"/api/v1/tasks/{review.id}/copy",
        json={"user_ids": [users["leader"].id], "note": "阅"},
        headers=h["market"],
    )
    assert copied.status_code == 201
    cc = client.get("/api/v1/tasks?view=cc", headers=h["leader"]).get_json()
    assert cc["items"][0]["read"] is False
    assert (
        client.post(f"/api/v1/copies/{cc['items'][0]['copy_id']}/read", headers=h["leader"]).status_code
        == 200
    )
    assert (
        client.post(f"/api/v1/copies/{cc['items'][0]['copy_id']}/read", headers=h["market"]).status_code
        == 403
    )
    assert client.post(
        f"/api/v1/tasks/{review.id}/urge", json={"note": "快"}, headers=h["clerk"]
    ).get_json() == {"notified": 1}
    assert client.post(f"/api/v1/tasks/{review.id}/urge", headers=h["clerk"]).status_code == 409
    other = _start(client, h["clerk"])
    first = _open(session, other, "intake")
    result = client.post(
        "/api/v1/tasks/bulk-complete",
        json={"task_ids": [first.id, review.id], "data": {"decision": "accept"}},
        headers=h["clerk"],
    )
    assert [r["ok"] for r in result.get_json()["results"]] == [True, False]
    assert (
        client.post("/api/v1/tasks/bulk-complete", json={"task_ids": "x"}, headers=h["clerk"]).status_code
        == 400
    )


def test_cases_start_list_detail_and_withdraw(
    session: Session, client: FlaskClient, api: dict[str, Any]
) -> None:
    h = api["h"]
    number = _start(client, h["applicant"], title="我的申请")
    assert client.get("/api/v1/cases", headers=h["applicant"]).get_json()["total"] == 1
    assert client.get(f"/api/v1/cases/{number}", headers=h["applicant"]).status_code == 200
    other_applicant = create_user(session, FIXED_NOW, username="api_other", roles=[("applicant", None)])
    assert other_applicant.id
    assert client.get(f"/api/v1/cases/{number}", headers=api_token(client, "api_other")).status_code == 404
    assert (
        client.post("/api/v1/cases", json={"process_id": "nope"}, headers=h["applicant"]).status_code == 404
    )
    assert client.post("/api/v1/cases", json={"data": []}, headers=h["applicant"]).status_code == 400
    second = _start(client, h["applicant"])
    client.post(f"/api/v1/tasks/{_open(session, second, 'intake').id}/claim", headers=h["clerk"])
    refused = client.post(f"/api/v1/cases/{second}/withdraw", headers=h["applicant"])
    assert refused.status_code == 409 and refused.get_json()["details"]["acted_by"]
    assert client.post(f"/api/v1/cases/{number}/withdraw", headers=h["clerk"]).status_code in (403, 404)
    ok = client.post(f"/api/v1/cases/{number}/withdraw", headers=h["applicant"])
    assert ok.status_code == 200 and ok.get_json()["status"] == "withdrawn"
    assert client.post(f"/api/v1/cases/{number}/withdraw", headers=h["applicant"]).status_code == 409
    assert (
        session.scalar(
            select(func.count(HumanTask.id))
            .join(Case)
            .where(Case.number == number, HumanTask.state == "open")
        )
        == 0
    )


def test_start_and_complete_responses_name_the_next_open_tasks(
    session: Session, client: FlaskClient, api: dict[str, Any]
) -> None:
    h = api["h"]
    response = client.post(
        "/api/v1/cases",
        json={"process_id": "mini_parallel", "data": {"departments": ["market"]}},
        headers=h["clerk"],
    )
    assert response.status_code == 201
    started = response.get_json()
    [intake] = started["open_tasks"]
    assert intake == {
        "id": _open(session, started["number"], "intake").id,
        "bpmn_id": "intake",
        "name": "窗口受理",
        "candidate_role": "clerk",
        "candidate_department": intake["candidate_department"],
        "assignee_id": None,
    }
    done = client.post(
        f"/api/v1/tasks/{intake['id']}/complete", json={"data": {"decision": "accept"}}, headers=h["clerk"]
    ).get_json()
    [review] = done["next_tasks"]
    assert done["new_tasks"] == 1 and done["case_status"] == "open"
    assert review["id"] == _open(session, started["number"], "review").id
    assert (review["bpmn_id"], review["candidate_role"], review["candidate_department"]) == (
        "review",
        "approver",
        "market",
    )
    done = client.post(
        f"/api/v1/tasks/{review['id']}/complete",
        json={"data": {"review_decision": "accept"}},
        headers=h["market"],
    ).get_json()
    [decide] = done["next_tasks"]
    assert decide["bpmn_id"] == "decide" and decide["candidate_role"] == "leader"
    done = client.post(
        f"/api/v1/tasks/{decide['id']}/complete",
        json={"data": {"decision": "accept", "opinion": "同意"}},
        headers=h["leader"],
    ).get_json()
    assert done["case_status"] == "completed" and done["next_tasks"] == [] and done["new_tasks"] == 0


def test_list_total_is_the_count_without_filters_and_counted_again_with_them(
    session: Session, client: FlaskClient, api: dict[str, Any]
) -> None:
    h = api["h"]
    first = _start(client, h["clerk"], title="食品经营许可")
    _start(client, h["clerk"], title="建设工程规划")
    listed = client.get("/api/v1/tasks?view=claimable", headers=h["clerk"]).get_json()
    assert listed["total"] == listed["counts"]["claimable"] == 2 and len(listed["items"]) == 2
    for query, total in ((f"&q={first}", 1), ("&q=没有这个", 0), ("&department=market", 0), ("&page=2", 2)):
        listed = client.get(f"/api/v1/tasks?view=claimable{query}", headers=h["clerk"]).get_json()
        assert listed["total"] == total and listed["counts"]["claimable"] == 2, query
    assert listed["items"] == []  # page 2 of 2 rows
    cc = client.get("/api/v1/tasks?view=cc", headers=h["clerk"]).get_json()
    assert cc["total"] == 0 and cc["counts"]["cc"] == 0
    assert client.get("/api/v1/tasks?view=claimable&due_state=soon", headers=h["clerk"]).status_code == 400


def test_processes_with_their_own_intake_are_not_started_generically(
    session: Session, client: FlaskClient, api: dict[str, Any], now: datetime
) -> None:
    h = api["h"]
    item = data.item(session, process_id="mini_parallel")  # now a catalogue item's process
    refused = client.post(
        "/api/v1/cases",
        json={"process_id": "mini_parallel", "data": {"departments": ["market"]}},
        headers=h["clerk"],
    )
    body = refused.get_json()
    assert (
        refused.status_code == 409 and f"/api/v1/items/{item.code}/applications" in body["details"]["entry"]
    )
    for process_id in (
        "document_incoming",
        "document_outgoing",
        "hotline_work_order",
        "evaluation_rectification",
    ):
        answer = client.post("/api/v1/cases", json={"process_id": process_id, "data": {}}, headers=h["clerk"])
        assert answer.status_code == 409 and answer.get_json()["details"]["process_id"] == process_id
    assert session.scalar(select(func.count(Case.id))) == 0
