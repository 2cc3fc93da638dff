"""The staff side read as its users see it: no codes or UTC timestamps on the page, yellow badges that are
yellow and legible, visible keyboard focus on the red bar, inbox cards as wide as the page, and English
buttons that say what they do."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import Anomaly, Case, HumanTask, User
from app.services.cases import complete_task, start_case
from app.services.demo import DEMO_PASSWORD
from app.services.notifications import notify
from app.services.operations import claim_task
from app.services.supervision_orders import issue_order
from tests.browser.conftest import screenshot

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
CODE = re.compile(r"\b[a-z_]+\.[a-z_]+\b")  # an audit action code such as supervision.order_issued
CONTRAST = """el => {
  const rgb = s => s.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number);
  const channel = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const lum = c => { const [r, g, b] = c.map(channel); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const style = getComputedStyle(el);
  const [a, b] = [lum(rgb(style.color)), lum(rgb(style.backgroundColor))];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""
LINES = (
    "el => { const r = document.createRange(); r.selectNodeContents(el); return r.getClientRects().length; }"
)
FOCUS_RING = """() => { const s = getComputedStyle(document.activeElement);
  return [s.outlineStyle, s.outlineColor, s.outlineWidth]; }"""


def _user(session: Session, username: str) -> User:
    return session.scalars(select(User).where(User.username == username)).one()


def _first_task(session: Session, case: Case) -> HumanTask:
    return session.scalars(select(HumanTask).where(HumanTask.case_id == case.id)).one()


@pytest.fixture(scope="module")
def work(live_app: Flask) -> dict[str, str]:
    """A case due today (yellow), a case the clerk accepted with a 督办单 and an anomaly, a clerk notice."""
    with live_app.app_context():
        session, now = db.session(), datetime.now(UTC)
        enterprise, clerk = _user(session, "enterprise"), _user(session, "clerk")
        data = {"lead_dept": "market", "member_departments": ["tax"]}
        due_today = start_case(
            session, "parallel_approval", data, enterprise, now, title="界面检查：今日到期"
        )
        accepted = start_case(session, "parallel_approval", data, enterprise, now, title="界面检查：已受理")
        session.flush()
        _first_task(session, due_today).due_at = now + timedelta(hours=2)
        task = _first_task(session, accepted)
        claim_task(session, task.id, clerk, now)
        done = {"decision": "accept", "received_materials": ["申请书.pdf"], "opinion": "材料齐全"}
        complete_task(session, task.id, done, clerk, now)
        supervisor, deadline = _user(session, "supervisor"), now + timedelta(days=3)
        issue_order(session, accepted.id, "market", "请说明办理进度", deadline, supervisor, now)
        facts = {"task": task.id, "step": "窗口受理", "due_at": "2026-11-20T15:59:59+00:00"}
        session.add(
            Anomaly(case_id=accepted.id, rule_code="step_overdue", severity="normal",
                    explanation="界面检查：步骤超时", facts=facts, detected_at=now)
        )  # fmt: skip
        notify(session, clerk.id, "ui_check", "界面检查通知", "一条用于检查消息页排版的通知", None, None, now)
        session.commit()
        numbers = {"yellow": due_today.number, "accepted": accepted.number}
        db.session.remove()
    return numbers


def _log_in(browser: Browser, base: str, username: str, lang: str = "zh_CN", **options: object) -> Page:
    settings: dict[str, object] = {"locale": "zh-CN", "viewport": {"width": 1280, "height": 900}, **options}
    page = browser.new_context(**settings).new_page()  # type: ignore[arg-type]
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("button", name="退出")).to_be_visible()
    if lang != "zh_CN":
        page.goto(f"{base}/lang/{lang}?next=/")
    return page


@pytest.fixture
def pages(browser: Browser) -> Iterator[list[Page]]:
    opened: list[Page] = []
    yield opened
    for page in opened:
        page.context.close()


def test_clerk_lists_badges_focus_and_inbox(
    browser: Browser, live_url: str, work: dict[str, str], pages: list[Page]
) -> None:
    clerk = _log_in(browser, live_url, "clerk")
    pages.append(clerk)
    clerk.goto(f"{live_url}/tasks?view=claimable&q={work['yellow']}")
    badge = clerk.locator("tr", has_text=work["yellow"]).locator(".badge-yellow")
    expect(badge).to_be_visible()  # due within hours: at most one working day left
    assert badge.evaluate(CONTRAST) >= 4.5  # small text on the yellow badge is legible (WCAG AA)
    link = clerk.get_by_role("link", name=work["yellow"])
    assert link.evaluate(LINES) == 1, "the case number breaks over two lines"
    clerk.keyboard.press("Tab")  # the first stop is the brand link on the red bar
    ring = clerk.evaluate(FOCUS_RING)
    assert ring == ["solid", "rgb(255, 255, 255)", "3px"], ring
    clerk.get_by_role("link", name="代理设置").click()
    expect(clerk.get_by_role("heading", level=1)).to_have_text("代理设置")
    clerk.goto(f"{live_url}/inbox")
    notice = clerk.locator(".inbox .notice", has_text="界面检查通知")
    inbox_width = clerk.locator(".inbox").bounding_box()["width"]  # type: ignore[index]
    assert notice.bounding_box()["width"] >= inbox_width - 1  # type: ignore[index]
    assert notice.locator(".notice-title").evaluate("el => getComputedStyle(el).letterSpacing") == "normal"
    screenshot(clerk, "staff-inbox")


def test_case_timeline_and_anomalies_show_no_codes(
    browser: Browser, live_url: str, work: dict[str, str], pages: list[Page]
) -> None:
    supervisor = _log_in(browser, live_url, "supervisor")
    pages.append(supervisor)
    supervisor.goto(f"{live_url}/cases/{work['accepted']}")
    events = supervisor.locator(".timeline .event").all_inner_texts()
    assert "督办单已下达" in events
    assert not [e for e in events if CODE.search(e)], events
    supervisor.goto(f"{live_url}/supervision")
    row = supervisor.locator("#anomalies tr", has_text=work["accepted"])
    facts = row.locator(".facts-inline")
    expect(facts).to_contain_text("环节")
    expect(facts).to_contain_text("窗口受理")
    assert "due_at" not in row.inner_text() and "+00:00" not in row.inner_text()


def test_english_buttons_and_phone(
    browser: Browser, live_url: str, work: dict[str, str], pages: list[Page]
) -> None:
    clerk = _log_in(browser, live_url, "clerk", "en", **PHONE)
    pages.append(clerk)
    clerk.goto(f"{live_url}/tasks?view=done&q={work['accepted']}")
    row = clerk.locator("tr", has_text=work["accepted"])
    expect(row.get_by_role("button", name="Withdraw", exact=True)).to_be_visible()
    tabs = [box["y"] for box in (tab.bounding_box() for tab in clerk.locator(".tabs .tab").all()) if box]
    assert len(tabs) == 4 and max(tabs) - min(tabs) < 1, "the four list tabs fit on one row of a phone"
    assert clerk.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(clerk, "staff-done-phone-en")
    clerk.goto(f"{live_url}/cases/{work['accepted']}")
    expect(clerk.locator(".timeline")).to_contain_text("Supervision order issued")
