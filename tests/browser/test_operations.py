"""The workspace operations in Chromium: 撤回, 转办, 委派, 加签 and 抄送 on a 并联审批 case."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.services.accounts import create_user
from app.services.demo import DEMO_PASSWORD
from tests.browser.conftest import screenshot
from tests.browser.test_workspace import _open_task, _start, _submit, users  # noqa: F401

SECOND = "市场监管局审批员 吴敏"


def _second_market_approver(app: Flask) -> None:
    """A colleague of approver_market, so that 转办 has someone to go to."""
    with app.app_context():
        if db.session.scalar(select(User).where(User.username == "approver_market2")) is None:
            create_user(
                db.session(), username="approver_market2", display_name=SECOND, password=DEMO_PASSWORD,
                now=datetime.now(UTC), roles=[("approver", "market")],
            )  # fmt: skip
            db.session.commit()
        db.session.remove()


def _flash(page: Page, text: str) -> None:
    expect(page.locator(".flash-success")).to_contain_text(text)


def test_withdraw_transfer_delegate_countersign_and_copy(
    deployed: Flask,
    live_url: str,
    users: dict[str, Page],  # noqa: F811
) -> None:
    _second_market_approver(deployed)
    number = _start(deployed, "操作测试：明远科技有限公司设立登记")
    clerk = users["clerk"]
    _open_task(clerk, live_url, number, "窗口受理")
    _submit(clerk, ["受理"], {"受理意见": "材料齐全"})
    clerk.goto(f"{live_url}/tasks?view=done&q={number}")  # 撤回: nobody has touched the next step yet
    clerk.locator("tr", has_text=number).get_by_role("button", name="撤回").click()
    _flash(clerk, "已撤回")
    _open_task(clerk, live_url, number, "窗口受理", view="todo")
    _submit(clerk, ["受理"], {"受理意见": "材料齐全，予以受理"})

    lead = users["approver_market"]  # 转办 to a colleague of the same role and department
    _open_task(lead, live_url, number, "牵头部门审查")
    lead.get_by_role("button", name="认领").click()
    lead.locator("summary", has_text="转办").click()
    lead.get_by_label("转办给").select_option(label=SECOND)
    lead.get_by_label("转办理由").fill("本人出差，转同事办理")
    lead.get_by_role("button", name="确认转办").click()
    _flash(lead, "已转办")

    second = users["approver_market2"]  # 委派 to the department head, who answers
    _open_task(second, live_url, number, "牵头部门审查", view="todo")
    second.locator("summary", has_text="委派").click()
    second.get_by_label("委派给").select_option(label="市场监管局局长 黄海")
    second.get_by_role("button", name="确认委派").click()
    _flash(second, "已委派")
    head = users["head_market"]
    _open_task(head, live_url, number, "牵头部门审查", view="todo")
    _submit(head, ["材料完整，分送会审"], {"审查意见": "经核，材料完整"})

    _open_task(second, live_url, number, "牵头部门审查", view="todo")  # back with me: 加签, 抄送
    expect(second.locator(".opinion-text", has_text="经核，材料完整")).to_be_visible()
    second.locator("summary", has_text="加签").click()
    second.get_by_label("加签人或部门").select_option(label="税务局")
    second.get_by_label("加签说明").fill("请税务局先行出具意见")
    second.get_by_role("button", name="确认加签").click()
    _flash(second, "已加签")
    second.locator("summary", has_text="抄送").click()
    second.locator(".choice", has_text="纪工委监察室").locator("input").check()
    second.get_by_role("button", name="确认抄送").click()
    _flash(second, "已抄送")
    screenshot(second, "workspace-operations")

    tax = users["approver_tax"]  # the countersigning department answers first
    _open_task(tax, live_url, number, "牵头部门审查（加签）", view="claimable")
    _submit(tax, [], {"办理意见": "税务意见：同意"})
    _open_task(second, live_url, number, "牵头部门审查", view="todo")
    _submit(second, ["材料完整，分送会审"], {"审查意见": "分送税务、公安会审"})

    supervisor = users["supervisor"]  # the copy arrived
    supervisor.goto(f"{live_url}/tasks?view=cc")
    expect(supervisor.locator("tr", has_text=number)).to_be_visible()
