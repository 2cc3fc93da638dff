"""Results pages through the Flask client: verification, licence and notice PDFs, 好差评, complaints."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Case, Complaint, Evaluation, Licence, User
from tests.conftest import AuthActions, csrf_token_from
from tests.processes.scenario import deploy
from tests.services.results_data import approve_parallel, people, service_item, start_parallel


@pytest.fixture
def users(session: Session, now: datetime) -> dict[str, User]:
    return people(session, now)


@pytest.fixture
def closed(session: Session, users: dict[str, User], now: datetime) -> Case:
    deploy(session, "evaluation_rectification", now)
    case = approve_parallel(session, start_parallel(session, users, now, service_item(session)), users, now)
    session.commit()
    return case


def _licence(session: Session, case: Case) -> Licence:
    return session.scalars(select(Licence).where(Licence.case_id == case.id)).one()


def _login(client: FlaskClient, user: User) -> None:
    AuthActions(client).login(user.username)


def test_verify_page_is_public_and_masks_the_holder(
    session: Session, client: FlaskClient, closed: Case
) -> None:
    licence = _licence(session, closed)
    page = client.get(f"/verify/{licence.verification_code}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert licence.number in html and "有效" in html and "市场监管局" in html and "星辰***司" in html
    assert "星辰科技有限公司" not in html and closed.number not in html
    assert client.get("/verify/not-a-code").status_code == 404


def test_licence_pdf_only_for_the_holder(
    session: Session, client: FlaskClient, users: dict[str, User], closed: Case, tmp_path: Path
) -> None:
    licence = _licence(session, closed)
    assert client.get(f"/licences/{licence.id}.pdf").status_code == 302  # login first
    _login(client, users["other"])
    assert client.get(f"/licences/{licence.id}.pdf").status_code == 404
    AuthActions(client).logout()
    _login(client, users["applicant"])
    response = client.get(f"/licences/{licence.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert licence.number in client.get("/licences").get_data(as_text=True)
    assert shutil.which("pdftoppm"), "poppler-utils missing: tests/system-deps.sh installs it"
    (tmp_path / "l.pdf").write_bytes(response.data)
    out = tmp_path / "page"
    subprocess.run(
        ["pdftoppm", "-png", "-r", "50", "-singlefile", str(tmp_path / "l.pdf"), str(out)], check=True
    )
    assert (tmp_path / "page.png").stat().st_size > 1000


def test_notices_for_applicant_and_staff_404_for_others(
    client: FlaskClient, users: dict[str, User], closed: Case
) -> None:
    url = f"/cases/{closed.number}/notices/acceptance"
    _login(client, users["other"])
    assert client.get(url).status_code == 404
    assert client.get(url + ".pdf").status_code == 404
    AuthActions(client).logout()
    _login(client, users["applicant"])
    html = client.get(url).get_data(as_text=True)
    assert "受理通知书" in html and "章程.pdf" in html
    pdf = client.get(url + ".pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert client.get(f"/cases/{closed.number}/notices/refusal").status_code == 404
    AuthActions(client).logout()
    _login(client, users["clerk"])
    assert client.get(url).status_code == 200


def test_rating_page_rules_and_bad_rating_follow_up(
    session: Session, client: FlaskClient, users: dict[str, User], closed: Case
) -> None:
    url = f"/cases/{closed.number}/evaluation"
    _login(client, users["other"])
    assert client.get(url).status_code == 403
    token = csrf_token_from(client.get("/").get_data(as_text=True))
    assert client.post(url, data={"overall": "5", "csrf_token": token}).status_code == 403
    AuthActions(client).logout()
    _login(client, users["applicant"])
    page = client.get(url).get_data(as_text=True)
    assert "非常不满意" in page and "平台操作性" in page
    token = csrf_token_from(page)
    partial = client.post(url, data={"overall": "1", "csrf_token": token})
    assert partial.status_code == 400 and "请为" in partial.get_data(as_text=True)
    form = {k: "1" for k in ("overall", "efficiency", "guide_accuracy", "convenience", "usability")}
    done = client.post(
        url, data={**form, "comment": "<b>太慢</b>", "csrf_token": token}, follow_redirects=True
    )
    html = done.get_data(as_text=True)
    assert "已启动整改" in html and "&lt;b&gt;太慢&lt;/b&gt;" in html
    evaluation = session.scalars(select(Evaluation).where(Evaluation.case_id == closed.id)).one()
    assert evaluation.overall == 1 and evaluation.rectification_case_id is not None
    assert client.post(url, data={**form, "csrf_token": token}).status_code == 409


def test_api_evaluation(client: FlaskClient, users: dict[str, User], closed: Case) -> None:
    response = client.post(
        "/api/v1/auth/tokens", json={"username": users["applicant"].username, "password": "password-123"}
    )
    headers = {"Authorization": f"Bearer {response.get_json()['token']}"}
    url = f"/api/v1/cases/{closed.number}/evaluation"
    scores = {"efficiency": 5, "guide_accuracy": 5, "convenience": 4, "usability": 5}
    bad = client.post(url, json={"overall": 9, "scores": scores}, headers=headers)
    assert bad.status_code == 400 and bad.get_json()["details"]["overall"]
    ok = client.post(url, json={"overall": 5, "scores": scores, "comment": "好"}, headers=headers)
    assert ok.status_code == 201 and ok.get_json()["rectification_started"] is False
    assert client.post(url, json={"overall": 5, "scores": scores}, headers=headers).status_code == 409


def test_complaint_filed_listed_and_handled(
    session: Session, client: FlaskClient, users: dict[str, User], closed: Case
) -> None:
    _login(client, users["applicant"])
    page = client.get("/complaints/new").get_data(as_text=True)
    assert closed.number in page
    token = csrf_token_from(page)
    empty = client.post("/complaints/new", data={"content": "", "csrf_token": token})
    assert empty.status_code == 400
    data = {"case_number": closed.number, "content": "窗口推诿", "csrf_token": token}
    assert client.post("/complaints/new", data=data).status_code == 302
    assert client.get("/complaints").status_code == 403
    AuthActions(client).logout()
    _login(client, users["supervisor"])
    listing = client.get("/complaints").get_data(as_text=True)
    assert "窗口推诿" in listing
    complaint = session.scalars(select(Complaint)).one()
    token = csrf_token_from(listing)
    response = client.post(
        f"/complaints/{complaint.id}/handled", data={"note": "已处理", "csrf_token": token}
    )
    assert response.status_code == 302
    session.refresh(complaint)
    assert complaint.status == "handled"
