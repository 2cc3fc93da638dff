"""The case diagram as served to the viewer: lanes named for people, the file otherwise as deployed."""

from __future__ import annotations

from datetime import datetime

import pytest
from flask.testing import FlaskClient
from flask_babel import refresh
from lxml import etree
from sqlalchemy.orm import Session

from app.models import Case
from app.services.cases import start_case
from tests.conftest import AuthActions
from tests.factories import DEPARTMENT_NAMES, create_user
from tests.processes.scenario import deploy

BPMN_LANE = "{http://www.omg.org/spec/BPMN/20100524/MODEL}lane"
MARKET = DEPARTMENT_NAMES["market"]


@pytest.fixture
def case(session: Session, now: datetime) -> Case:
    applicant = create_user(session, now, username="zhangsan", roles=[("applicant", None)])
    create_user(session, now, username="wangmin", roles=[("clerk", "approval")])
    create_user(session, now, username="liuyang", roles=[("approver", "market")])  # and the department
    deploy(session, "parallel_approval", now)
    data = {"lead_dept": "market", "member_departments": ["tax", "police"]}
    started = start_case(session, "parallel_approval", data, applicant, now, title="企业设立登记")
    session.commit()
    return started


def _lanes(xml: bytes) -> dict[str, str]:
    return {str(lane.get("id")): str(lane.get("name")) for lane in etree.fromstring(xml).iter(BPMN_LANE)}


def test_lanes_read_as_roles_and_departments_and_nothing_else_changes(
    case: Case, auth: AuthActions, client: FlaskClient
) -> None:
    auth.login("wangmin")
    served = client.get(f"/cases/{case.number}/diagram.bpmn")
    assert served.status_code == 200 and served.mimetype == "application/xml"
    assert _lanes(served.data) == {
        "lane_applicant": "申请人",
        "lane_clerk": "窗口受理员",
        "lane_lead": f"审批人员 · {MARKET}",  # approver@{lead_dept}, lead_dept = market
        "lane_member": "审批人员（各成员部门）",  # approver@{dept}: one department per instance
    }
    assert b'name="approver@' not in served.data and b'name="clerk"' not in served.data  # no raw lane names
    deployed = case.process_version.source_files["processes/parallel_approval.bpmn"].encode()
    original = etree.fromstring(deployed)
    labels = _lanes(served.data)
    for lane in original.iter(BPMN_LANE):  # the deployed file with the served names: the same document
        lane.set("name", labels[str(lane.get("id"))])
    assert etree.tostring(original, method="c14n") == etree.tostring(
        etree.fromstring(served.data), method="c14n"
    )
    assert b"approver@{lead_dept}" in deployed  # the stored version keeps its routing names


def test_english_pages_ask_for_english_lane_labels(
    case: Case, auth: AuthActions, client: FlaskClient
) -> None:
    auth.login("wangmin")
    client.get("/lang/en")
    refresh()  # the tests' app context keeps the locale of the requests above
    page = client.get(f"/cases/{case.number}").get_data(as_text=True)
    url = f"/cases/{case.number}/diagram.bpmn?lang=en"
    assert f'data-diagram-url="{url}"' in page  # its own URL: a cached Chinese copy is not reused
    assert _lanes(client.get(url).data) == {
        "lane_applicant": "Applicant",
        "lane_clerk": "Window clerk",
        "lane_lead": f"Approver · {MARKET}",
        "lane_member": "Approver (each department concerned)",
    }


def test_people_who_may_not_see_the_case_get_no_diagram(
    session: Session, case: Case, auth: AuthActions, client: FlaskClient, now: datetime
) -> None:
    create_user(session, now, username="nobody", roles=[("approver", "eco")])
    session.commit()
    auth.login("nobody")
    assert client.get(f"/cases/{case.number}/diagram.bpmn").status_code == 403
