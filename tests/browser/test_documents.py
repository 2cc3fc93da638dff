"""公文 and 12345 in Chromium: the office registers a 特急 来文 with its scan, the leader tracks it on
/documents (also on a 390 px phone), an operator opens a work order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect

from app.services.demo import DEMO_PASSWORD
from tests.browser.conftest import screenshot

ROOT = Path(__file__).resolve().parents[2]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
TITLE = "关于做好寒潮天气防范应对工作的紧急通知"


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        context.close()


def _tab(
    browser: Browser, contexts: list[BrowserContext], base: str, username: str, **options: object
) -> Page:
    settings: dict[str, object] = {"locale": "zh-CN", "viewport": {"width": 1280, "height": 900}, **options}
    context = browser.new_context(**settings)  # type: ignore[arg-type]
    contexts.append(context)
    page = context.new_page()
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("button", name="退出")).to_be_visible()
    return page


def _register(office: Page, base: str) -> str:
    office.goto(f"{base}/documents")
    office.get_by_role("link", name="收文登记").click()
    office.get_by_label("扫描件（PDF/JPEG/PNG）").set_input_files(
        {"name": "寒潮通知.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    office.get_by_label("文件标题").fill(TITLE)
    office.get_by_label("来文单位").fill("市人民政府办公室")
    office.get_by_label("来文字号").fill("市政办明电〔2026〕12号")
    office.get_by_label("紧急程度").select_option("特急")
    office.get_by_role("button", name="登记并开始流转").click()
    expect(office.locator(".flash-success")).to_contain_text("已登记收文")
    expect(office.get_by_role("link", name="寒潮通知.pdf")).to_be_visible()
    return office.locator(".flash-success").inner_text().split()[-1].rstrip("。")


def test_incoming_document_tracked_and_work_order_opened(
    deployed: Flask, live_url: str, browser: Browser, contexts: list[BrowserContext]
) -> None:
    office = _tab(browser, contexts, live_url, "office")
    number = _register(office, live_url)

    leader = _tab(browser, contexts, live_url, "leader")
    leader.goto(f"{live_url}/documents")
    row = leader.locator("tr", has_text=number)
    expect(row).to_contain_text(TITLE)
    expect(row).to_contain_text("签收")
    expect(row).to_contain_text("办公室秘书 林晓")  # who holds it: the office's candidates, by name
    expect(row.locator(".badge")).to_have_text("特急")
    screenshot(leader, "documents-list")

    phone = _tab(browser, contexts, live_url, "leader", **PHONE)
    phone.goto(f"{live_url}/documents")
    expect(phone.locator("tr", has_text=number)).to_be_visible()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"/documents scrolls sideways on a phone ({width} px)"
    screenshot(phone, "documents-list-phone")

    operator = _tab(browser, contexts, live_url, "operator")
    operator.goto(f"{live_url}/work-orders")
    operator.get_by_role("link", name="登记工单").click()
    operator.get_by_label("来电人").fill("王先生")
    operator.get_by_label("联系电话").fill("13912345678")
    operator.get_by_label("诉求类别").select_option("投诉")
    operator.get_by_label("诉求内容").fill("科技路 88 号工地夜间施工噪音扰民，已持续一周。")
    operator.get_by_label("事发地点").fill("高新区科技路 88 号")
    operator.get_by_label("建议承办单位").select_option("eco")
    screenshot(operator, "work-order-new")
    operator.get_by_label("联系电话").fill("1391234")
    operator.get_by_role("button", name="受理").click()
    expect(operator.locator(".has-error")).to_contain_text("请输入有效的手机号")
    operator.get_by_label("联系电话").fill("13912345678")
    operator.get_by_role("button", name="受理").click()
    expect(operator.locator(".flash-success")).to_contain_text("已登记工单")
    operator.goto(f"{live_url}/work-orders")
    expect(operator.locator("tr", has_text="噪音扰民")).to_contain_text("签收后 13 个工作日")
