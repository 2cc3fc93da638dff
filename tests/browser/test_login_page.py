"""Logging in through the real page in Chromium, on a desk and on a phone."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from app.services.demo import DEMO_PASSWORD
from tests.browser.conftest import screenshot


def _log_in(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def test_demo_user_logs_in_and_sees_home(page: Page, live_url: str) -> None:
    page.goto(f"{live_url}/")
    expect(page).to_have_url(f"{live_url}/login?next=%2F")
    screenshot(page, "login")
    _log_in(page, live_url, "clerk", DEMO_PASSWORD)
    expect(page.get_by_role("heading", name="您好，窗口受理员 王敏")).to_be_visible()
    expect(page.locator(".tag")).to_contain_text("窗口受理员 · 行政审批局")
    screenshot(page, "home")
    page.get_by_role("button", name="退出").click()
    expect(page).to_have_url(f"{live_url}/login")


def test_wrong_password_shows_the_field_error(page: Page, live_url: str) -> None:
    _log_in(page, live_url, "clerk", "wrong-password")
    expect(page.locator(".error")).to_have_text("用户名或密码错误")


def test_login_page_fits_a_phone(browser: Browser, live_url: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone = context.new_page()
    phone.goto(f"{live_url}/login")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page is {width}px wide on a 390px phone"
    button = phone.get_by_role("button", name="登录").bounding_box()
    assert button is not None and button["height"] >= 44  # a thumb-sized touch target
    screenshot(phone, "login-phone")
    context.close()


def test_english_switch(page: Page, live_url: str) -> None:
    page.goto(f"{live_url}/login")
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
