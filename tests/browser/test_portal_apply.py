"""The applicant portal in Chromium: guide → apply with uploads → receipt → my cases on a phone."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from playwright.sync_api import Browser, Page, expect

from app.services.demo import DEMO_PASSWORD
from tests.browser.conftest import screenshot

ROOT = Path(__file__).resolve().parents[2]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n" \
    b"trailer<</Root 1 0 R>>\n%%EOF\n"  # fmt: skip
FIELDS = {
    "申请人（单位）名称": "星辰科技有限公司",
    "统一社会信用代码": "91320500MA1XYW0001",
    "联系人": "李娜",
    "联系电话（手机）": "13812345678",
    "住所（经营场所）地址": "高新区科技大道 88 号",
    "法定代表人": "李娜",
}


def _log_in(page: Page, base: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill("enterprise")
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()


def test_enterprise_applies_and_follows_the_case(
    deployed: Flask, live_url: str, page: Page, browser: Browser
) -> None:
    page.goto(f"{live_url}/services")
    page.get_by_role("link", name="企业设立登记（企业开办一件事）").click()
    expect(page.get_by_role("heading", name="企业设立登记（企业开办一件事）")).to_be_visible()
    expect(page.get_by_text("可用电子证照：居民身份证")).to_be_visible()
    screenshot(page, "portal-item")

    _log_in(page, live_url)
    page.goto(f"{live_url}/services/GXQ-XK-0101/apply")
    for label, value in FIELDS.items():
        page.get_by_label(label, exact=True).fill(value)
    for row in page.locator("li.material").all():
        code = row.get_attribute("data-material")
        row.locator("input[type=file]").set_input_files(
            {"name": f"{code}.pdf", "mimeType": "application/pdf", "buffer": PDF}
        )
    screenshot(page, "portal-apply")
    page.get_by_role("button", name="提交申请").click()

    expect(page.get_by_role("heading", name="电子申请回执")).to_be_visible()
    number = page.locator(".case-number").inner_text().strip()
    assert number.startswith("GF-")
    expect(page.get_by_text("公司章程")).to_be_visible()
    screenshot(page, "portal-receipt")

    phone = browser.new_context(locale="zh-CN", **PHONE)  # type: ignore[arg-type]
    try:
        tab = phone.new_page()
        _log_in(tab, live_url)
        tab.goto(f"{live_url}/my/cases")
        card = tab.locator(".case-card", has_text=number)
        expect(card).to_be_visible()
        expect(card.get_by_text("窗口受理中")).to_be_visible()
        width = tab.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"horizontal scroll on a phone: {width}px"
        screenshot(tab, "portal-my-cases-phone")
    finally:
        phone.close()
