"""The admin calendar page: the year with overrides, adding and removing them, admins only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime

import pytest
from flask.testing import FlaskClient
from flask_babel import refresh
from sqlalchemy.orm import Session

from app.services.calendar_overrides import list_overrides
from app.services.runtime import invalidate_calendar
from tests.conftest import AuthActions, csrf_token_from
from tests.factories import create_user


@pytest.fixture(autouse=True)
def _fresh_calendar() -> Iterator[None]:
    invalidate_calendar()
    yield
    invalidate_calendar()


@pytest.fixture
def admin_client(session: Session, auth: AuthActions, client: FlaskClient, now: datetime) -> FlaskClient:
    create_user(session, now, username="admin1", roles=[("admin", None)])
    auth.login("admin1")
    return client


def test_the_year_page_shows_holidays_and_provisional_years(admin_client: FlaskClient) -> None:
    html = admin_client.get("/admin/calendar?year=2026").get_data(as_text=True)
    assert "工作日历" in html and "国庆节" in html and "暂定" not in html.split("<h1>")[1].split("</h1>")[0]
    future = admin_client.get("/admin/calendar?year=2099").get_data(as_text=True)
    assert "暂定" in future


def test_day_tooltips_follow_the_interface_language(admin_client: FlaskClient) -> None:
    admin_client.get("/lang/en")
    refresh()  # the tests' app context keeps the locale of the login above
    html = admin_client.get("/admin/calendar?year=2026").get_data(as_text=True)
    assert 'title="2026-10-01 National Day holiday · State Council holiday arrangement"' in html
    assert (
        'title="2026-10-10 Adjusted working day (National Day) · State Council holiday arrangement"' in html
    )
    assert 'title="2026-11-21 Weekend · Weekend"' in html
    titles = re.findall(r'title="(\d{4}-\d\d-\d\d [^"]*)"', html)
    assert len(titles) == 365 and not [t for t in titles if re.search("[\u4e00-\u9fff]", t)]
    future = admin_client.get("/admin/calendar?year=2030").get_data(as_text=True)
    assert 'title="2030-10-01 National Day holiday (provisional) · Statutory holiday (provisional)"' in future


def test_add_and_remove_an_override(admin_client: FlaskClient, session: Session) -> None:
    page = admin_client.get("/admin/calendar?year=2026")
    token = csrf_token_from(page.get_data(as_text=True))
    response = admin_client.post(
        "/admin/calendar?year=2026",
        data={"csrf_token": token, "day": "2026-12-05", "kind": "working", "name": "防汛应急上班"},
    )
    assert response.status_code == 302
    [override] = list_overrides(session, 2026)
    assert (override.day, override.is_working) == (date(2026, 12, 5), True)
    html = admin_client.get("/admin/calendar?year=2026").get_data(as_text=True)
    assert "防汛应急上班" in html and "day-override" in html
    again = admin_client.post(
        "/admin/calendar?year=2026",
        data={"csrf_token": token, "day": "2026-12-05", "kind": "holiday", "name": "重复"},
    )
    assert again.status_code == 400 and "该日期已有本地调整" in again.get_data(as_text=True)
    removed = admin_client.post(
        f"/admin/calendar/overrides/{override.id}/delete?year=2026", data={"csrf_token": token}
    )
    assert removed.status_code == 302 and list_overrides(session, 2026) == []


def test_invalid_form_and_missing_csrf(admin_client: FlaskClient) -> None:
    token = csrf_token_from(admin_client.get("/admin/calendar").get_data(as_text=True))
    bad = admin_client.post(
        "/admin/calendar", data={"csrf_token": token, "day": "2026-02-30", "kind": "working"}
    )
    assert bad.status_code == 400 and "请填写名称" in bad.get_data(as_text=True)
    no_csrf = admin_client.post("/admin/calendar", data={"day": "2026-06-01", "kind": "working", "name": "x"})
    assert no_csrf.status_code == 400


def test_admins_only(session: Session, auth: AuthActions, client: FlaskClient, now: datetime) -> None:
    assert client.get("/admin/calendar").status_code == 302  # to the login page
    create_user(session, now, username="clerk1", roles=[("clerk", "approval")])
    auth.login("clerk1")
    assert client.get("/admin/calendar").status_code == 403
