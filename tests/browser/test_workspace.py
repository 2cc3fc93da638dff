"""The approver workspace in Chromium: a 并联审批 case walked through the pages, 退回, badges, phone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from app.extensions import db
from app.models import Case, HumanTask, User
from app.services.cases import start_case
from app.services.demo import DEMO_PASSWORD
from tests.browser.conftest import screenshot

ROOT = Path(__file__).resolve().parents[2]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def _start(app: Flask, title: str) -> str:
    with app.app_context():
        applicant = db.session.scalars(select(User).where(User.username == "enterprise")).one()
        data = {"lead_dept": "market", "member_departments": ["tax", "police"]}
        case = start_case(db.session(), "parallel_approval", data, applicant, datetime.now(UTC), title=title)
        db.session.commit()
        number = case.number
        db.session.remove()
    return number


@pytest.fixture
def users(browser: Browser, live_url: str) -> Iterator[dict[str, Page]]:
    """One logged-in desktop tab per demo user, opened on first use."""
    contexts: list[BrowserContext] = []

    class Tabs(dict[str, Page]):
        def __missing__(self, username: str) -> Page:
            context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
            contexts.append(context)
            page = context.new_page()
            _log_in(page, live_url, username)
            self[username] = page
            return page

    tabs = Tabs()
    yield tabs
    for context in contexts:
        context.close()


def _log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("button", name="退出")).to_be_visible()


def _open_task(page: Page, base: str, number: str, step: str, view: str = "claimable") -> None:
    page.goto(f"{base}/tasks?view={view}&q={number}")
    row = page.locator("tr", has_text=step).filter(has_text=number)
    row.get_by_role("link", name=number).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(step)


def _submit(page: Page, radios: list[str], fields: dict[str, str]) -> None:
    form = page.locator("form.taskform")
    for label in radios:
        form.get_by_label(label, exact=True).check()
    for label, value in fields.items():
        form.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="提交").click()
    expect(page.locator(".flash-success")).to_contain_text("已提交")


def test_parallel_approval_walked_through_the_pages(
    deployed: Flask, live_url: str, users: dict[str, Page]
) -> None:
    number = _start(deployed, "星辰科技有限公司设立登记")
    clerk = users["clerk"]
    _open_task(clerk, live_url, number, "窗口受理")
    expect(clerk.locator(".instructions")).to_contain_text("核对申请材料是否齐全")
    clerk.get_by_label("不予受理", exact=True).check()
    clerk.get_by_role("button", name="提交").click()  # 不予受理 needs reasons and a legal basis
    expect(clerk.locator('[data-field="refuse_reasons"] .error')).to_be_visible()
    expect(clerk.locator('[data-field="legal_basis"] .error')).to_be_visible()
    screenshot(clerk, "workspace-task-errors")
    _submit(
        clerk, ["受理"], {"已收材料": "设立登记申请书.pdf\n公司章程.pdf", "受理意见": "材料齐全，予以受理"}
    )
    _lead_returns_then_passes(users, live_url, number)
    for username in ("approver_tax", "approver_police"):
        page = users[username]
        _open_task(page, live_url, number, "成员部门并联审查")
        _submit(page, ["同意"], {"审查意见": f"{username} 审查同意"})
    lead = users["approver_market"]
    _open_task(lead, live_url, number, "牵头部门决定")
    expect(lead.locator(".opinion")).to_have_count(6)
    expect(lead.locator(".diagram.is-loaded")).to_be_visible(timeout=15000)
    screenshot(lead, "workspace-task-page")
    _submit(lead, ["准予许可"], {"审批意见": "准予设立登记"})
    _open_task(clerk, live_url, number, "统一出件")
    _submit(
        clerk,
        ["电子送达"],
        {"证照编号": "91320500MA1XYZ0001", "结果文书": "营业执照.pdf", "送达日期": "2026-11-23"},
    )
    _leader_sees_the_closed_case(users["leader"], live_url, number)


def _lead_returns_then_passes(users: dict[str, Page], base: str, number: str) -> None:
    lead = users["approver_market"]
    _open_task(lead, base, number, "牵头部门审查")
    lead.locator("summary", has_text="退回").click()
    lead.get_by_role("button", name="确认退回").click()
    expect(lead.get_by_text("请填写退回理由")).to_be_visible()
    lead.get_by_label("退回理由").fill("申请书缺少法定代表人签字")
    lead.get_by_role("button", name="确认退回").click()
    expect(lead.locator(".flash-success")).to_contain_text("已退回")
    clerk = users["clerk"]
    _open_task(clerk, base, number, "窗口受理")
    expect(clerk.locator(".opinion-text", has_text="缺少法定代表人签字")).to_be_visible()
    _submit(clerk, ["受理"], {"受理意见": "已补签，重新受理"})
    _open_task(lead, base, number, "牵头部门审查")
    _submit(lead, ["材料完整，分送会审"], {"审查意见": "材料完整，分送税务、公安会审"})


def _leader_sees_the_closed_case(leader: Page, base: str, number: str) -> None:
    leader.goto(f"{base}/cases/{number}")
    expect(leader.locator(".status")).to_have_text("已办结")
    expect(leader.locator(".opinion")).to_have_count(7)
    expect(leader.locator(".diagram.is-loaded")).to_be_visible(timeout=15000)
    assert leader.locator(".gf-done").count() >= 5  # done steps marked on the diagram
    lanes = {
        lane: leader.locator(f'.djs-element[data-element-id="{lane}"] text')
        for lane in ("lane_lead", "lane_member")
    }
    expect(lanes["lane_lead"]).to_have_text("审批人员 · 市场监管局")  # not approver@{lead_dept}
    expect(lanes["lane_member"]).to_have_text("审批人员（各成员部门）")
    screenshot(leader, "workspace-case-page")


def test_overdue_task_is_red_and_lists_fit_a_phone(
    deployed: Flask, browser: Browser, live_url: str, users: dict[str, Page]
) -> None:
    number = _start(deployed, "逾期测试：餐饮服务许可")
    with deployed.app_context():
        task = db.session.scalars(
            select(HumanTask).join(HumanTask.case).where(Case.number == number, HumanTask.state == "open")
        ).one()
        task.due_at = datetime.now(UTC) - timedelta(days=4)
        db.session.commit()
        db.session.remove()
    clerk = users["clerk"]
    clerk.goto(f"{live_url}/tasks?view=claimable")
    row = clerk.locator("tr", has_text=number)
    expect(row.locator(".badge-red")).to_contain_text("已超期")
    expect(clerk.locator("tbody tr").first).to_contain_text(number)  # most urgent first
    screenshot(clerk, "workspace-list")
    phone = browser.new_context(locale="zh-CN", **PHONE).new_page()  # type: ignore[arg-type]
    _log_in(phone, live_url, "clerk")
    phone.goto(f"{live_url}/tasks?view=claimable")
    _assert_fits_a_phone(phone)
    screenshot(phone, "workspace-list-phone")
    phone.locator("tr", has_text=number).get_by_role("link", name=number).click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("窗口受理")
    _assert_fits_a_phone(phone)
    for name in ("提交", "认领"):
        box = phone.get_by_role("button", name=name).bounding_box()
        assert box is not None and box["height"] >= 44, name
    for choice in phone.locator(".choice").all():
        box = choice.bounding_box()
        assert box is not None and box["height"] >= 44
    screenshot(phone, "workspace-task-phone")
    phone.context.close()


def _assert_fits_a_phone(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{page.url} is {width}px wide on a 390px phone"
    for link in page.locator(".rowlink, .topnav a, .tab").all():
        box = link.bounding_box()
        assert box is not None and box["height"] >= 44, link.inner_text()
