"""The supervision dashboard in Chromium: charts drawn by ECharts, an alert acknowledged, a screenshot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from app.extensions import db
from app.models import Alert, Case, Evaluation, User
from app.services.alerts import scan_deadlines
from app.services.demo import DEMO_PASSWORD
from app.services.runtime import working_calendar
from tests.browser.conftest import screenshot
from tests.services import supervision_data as data


@pytest.fixture
def overdue_case(live_app: Flask) -> str:
    """A market case whose step is two days overdue, a closed and evaluated case, then a deadline scan."""
    with live_app.app_context():
        session, now = db.session(), datetime.now(UTC)
        applicant = session.query(User).filter_by(username="enterprise").one()
        pv = data.version(session, now)
        item = data.item(session, promised=3)
        created = now - timedelta(days=10)
        case = data.case(session, pv, created, service_item=item)
        data.task(session, case, created, now - timedelta(days=2), name="部门审查", department="market")
        done = data.case(
            session, pv, created, service_item=item, status="completed", closed=now - timedelta(hours=2)
        )
        session.add(
            Evaluation(
                case_id=done.id, user_id=applicant.id, overall=5, scores={}, comment="", created_at=now
            )
        )
        scan_deadlines(session, now)
        session.commit()
        number = case.number
        db.session.remove()
    return number


# The texts ECharts drew in the alert donut (its labels and legend), as zrender holds them.
DONUT_TEXTS = """() => {
  const chart = window.echarts.getInstanceByDom(document.getElementById('chart-alerts'));
  const texts = [];
  chart.getZr().storage.getDisplayList().forEach(el => {
    const style = el.style || {};
    if (typeof style.text === 'string' && style.text) { texts.push(style.text); }
  });
  return texts;
}"""


def _donut_texts(page: Page) -> list[str]:
    page.wait_for_selector("#chart-alerts canvas")
    page.wait_for_timeout(1200)  # the donut's opening animation lays out its labels
    return list(page.evaluate(DONUT_TEXTS))


@pytest.fixture
def three_levels(live_app: Flask, overdue_case: str) -> str:
    """Besides the scan's 黄牌, a red card and a warning on the same case: the donut gets three slices."""
    with live_app.app_context():
        session, now = db.session(), datetime.now(UTC)
        case = session.query(Case).filter_by(number=overdue_case).one()
        for level in ("red", "warning"):
            session.add(
                Alert(dedupe_key=f"{case.id}:donut:{level}", case_id=case.id, department_code="market",
                      level=level, rule="step_limit", explanation="界面检查：三种级别", raised_at=now)
            )  # fmt: skip
        session.commit()
        db.session.remove()
    return overdue_case


def _cut_short(texts: list[str]) -> list[str]:
    return [text for text in texts if "…" in text or "..." in text]


def _log_in(page: Page, base: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill("supervisor")
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("button", name="退出")).to_be_visible()


def test_dashboard_charts_and_acknowledge(page: Page, live_url: str, three_levels: str) -> None:
    overdue_case = three_levels
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}") if r.status >= 400 and "favicon" not in r.url else None
        ),
    )
    _log_in(page, live_url)
    today = working_calendar().local_date(datetime.now(UTC))
    start = (today - timedelta(days=30)).isoformat()
    page.goto(f"{live_url}/supervision?from={start}&to={today.isoformat()}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("电子监察")
    page.wait_for_selector("#chart-dept canvas")
    assert page.evaluate("document.querySelector('#chart-dept canvas') !== null")
    assert page.evaluate(
        "window.echarts.getInstanceByDom(document.getElementById('chart-dept')) !== undefined"
    )
    assert page.evaluate("document.querySelector('#chart-rate canvas') !== null")
    assert page.evaluate("document.documentElement.dataset.chartsReady") == "3"
    texts = _donut_texts(page)
    assert {"红牌", "黄牌", "预警"} <= set(texts), texts  # name over count beside each slice
    assert not _cut_short(texts), texts  # the donut's labels are not cut short
    row = page.locator("tr.alert-row", has_text=overdue_case).filter(has_text="部门审查")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("黄牌")
    screenshot(page, "supervision-dashboard")
    row.get_by_role("button", name="确认").click()
    expect(page.locator(".flash")).to_contain_text("已确认预警")
    row = page.locator("tr.alert-row", has_text=overdue_case).filter(has_text="部门审查")
    expect(row).to_contain_text("已确认")
    page.wait_for_selector("#chart-dept canvas")
    screenshot(page, "supervision-dashboard-acknowledged")
    assert errors == []


def test_dashboard_on_a_phone(browser: object, live_url: str, three_levels: str) -> None:
    context = browser.new_context(  # type: ignore[attr-defined]
        locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    try:
        _log_in(page, live_url)
        page.goto(f"{live_url}/supervision")
        page.wait_for_selector("#chart-dept canvas")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390 + 1, f"page is {width}px wide on a 390px phone"
        texts = _donut_texts(page)
        assert {"红牌", "黄牌", "预警"} <= set(texts) and not _cut_short(texts), texts
        screenshot(page, "supervision-dashboard-phone")
        page.goto(f"{live_url}/lang/en?next=/supervision")
        texts = _donut_texts(page)
        assert {"Red card", "Yellow card", "Warning"} <= set(texts) and not _cut_short(texts), texts
        screenshot(page, "supervision-dashboard-phone-en")
    finally:
        context.close()
