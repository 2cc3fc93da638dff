"""Results in Chromium: the public verification page of a licence; a 非常不满意 rating and its follow-up."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.extensions import db
from app.models import Case, HumanTask, Licence, ServiceItem, User
from app.services.cases import complete_task, start_case
from app.services.demo import DEMO_PASSWORD
from app.services.errors import NotFound
from app.services.processes import deploy_process, latest_version, read_process_source
from tests.browser.conftest import screenshot

ROOT = Path(__file__).resolve().parents[2]
STEPS = {
    "accept_application": ("clerk", {"decision": "accept", "received_materials": ["公司章程.pdf"]}),
    "lead_check": ("approver_market", {"decision": "pass", "opinion": "材料完整"}),
    "member_review": ("", {"review_decision": "agree", "opinion": "同意"}),
    "lead_decision": ("approver_market", {"decision": "approve", "opinion": "准予设立"}),
    "issue_licence": (
        "clerk",
        {
            "licence_no": "X",
            "result_documents": ["营业执照.pdf"],
            "delivery_method": "electronic",
            "delivered_on": "2026-11-23",
        },
    ),
}


@pytest.fixture(scope="module")
def closed_case(live_app: Flask) -> tuple[str, str]:
    """A 并联审批 case of the demo enterprise walked to 办结 with its licence; (number, code)."""
    with live_app.app_context():
        session = db.session()
        now = datetime.now(UTC)
        for process in ("parallel_approval", "evaluation_rectification"):
            try:
                latest_version(session, process)
            except NotFound:
                path = ROOT / "processes" / f"{process}.bpmn"
                deploy_process(session, read_process_source([path], ROOT / "forms"), None, now)
        applicant = session.scalars(select(User).where(User.username == "enterprise")).one()
        item = session.scalars(
            select(ServiceItem).where(ServiceItem.process_id == "parallel_approval")
        ).first()
        data = {"lead_dept": "market", "member_departments": ["tax", "police"]}
        case = start_case(session, "parallel_approval", data, applicant, now, title="企业设立登记")
        case.service_item_id = item.id if item else None
        session.flush()
        while case.status == "open":
            task = session.scalars(
                select(HumanTask).where(HumanTask.case_id == case.id, HumanTask.state == "open")
            ).first()
            assert task is not None
            who, payload = STEPS[task.bpmn_id]
            username = who or f"approver_{task.candidate_department}"
            user = session.scalars(select(User).where(User.username == username)).one()
            complete_task(session, task.id, payload, user, now)
            session.refresh(case)
        licence = session.scalars(select(Licence).where(Licence.case_id == case.id)).one()
        session.commit()
        result = (case.number, licence.verification_code)
        db.session.remove()
    return result


def _log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()


def test_verify_page(page: Page, live_url: str, closed_case: tuple[str, str]) -> None:
    page.goto(f"{live_url}/verify/{closed_case[1]}")
    expect(page.locator(".status-pill")).to_have_text("有效")
    expect(page.locator("main")).to_contain_text("星辰***司")
    expect(page.locator("main")).not_to_contain_text("李娜")
    screenshot(page, "verify")


def test_bad_rating_starts_rectification(
    page: Page, live_url: str, live_app: Flask, closed_case: tuple[str, str]
) -> None:
    number = closed_case[0]
    _log_in(page, live_url, "enterprise")
    page.goto(f"{live_url}/cases/{number}/evaluation")
    for fieldset in page.locator("fieldset.rating").all():
        fieldset.get_by_label("非常不满意").check()
    page.get_by_label("评价内容（选填）").fill("材料被要求反复提交，等待时间过长")
    page.get_by_role("button", name="提交评价").click()
    expect(page.locator(".followup")).to_contain_text("已启动整改")
    expect(page.locator(".flash")).to_contain_text("5 个工作日")
    screenshot(page, "evaluation")
    with live_app.app_context():
        rectification = db.session.scalars(
            select(Case).where(Case.kind == "rectification").order_by(Case.id.desc())
        ).first()
        assert rectification is not None and rectification.data["evaluated_case"] == number
        db.session.remove()
