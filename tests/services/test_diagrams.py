"""The case diagram's lanes read as roles and departments, resolved from the case's data like the routing."""

from __future__ import annotations

from datetime import datetime

from lxml import etree
from sqlalchemy.orm import Session

from app.services.accounts import ensure_roles
from app.services.cases import start_case
from app.services.diagrams import LaneNames, LaneWording, case_diagram, lane_label
from app.workflow.lanes import Lane
from tests.factories import DEPARTMENT_NAMES, create_user
from tests.processes.scenario import deploy

BPMN_LANE = "{http://www.omg.org/spec/BPMN/20100524/MODEL}lane"
NAMES = LaneNames(
    roles={"approver": "审批人员", "leader": "分管领导"},
    departments={"market": "市场监管局"},
    titles={"member_departments": "成员部门"},
)


def _label(name: str, data: dict[str, object], variables: dict[str, str] | None = None) -> str | None:
    return lane_label(Lane("lane", name, variables or {}), data, NAMES, LaneWording())


def test_a_lane_reads_as_its_role_and_the_department_the_data_decides() -> None:
    assert _label("leader", {}) == "分管领导"
    assert _label("approver@market", {}) == "审批人员 · 市场监管局"
    assert _label("approver@{lead_dept}", {"lead_dept": "market"}) == "审批人员 · 市场监管局"
    assert _label("approver@{lead_dept}", {"lead_dept": "fire"}) == "审批人员 · fire"  # unknown code as is
    assert _label("approver@{lead_dept}", {}) == "审批人员（部门待定）"  # not decided yet
    each = {"dept": "member_departments"}
    assert _label("approver@{dept}", {"dept": "market"}, each) == "审批人员（各成员部门）"  # one per instance
    assert _label("approver@{dept}", {}, {"dept": "handling"}) == "审批人员（各相关部门）"  # untitled list
    assert _label("Sales", {}) is None and _label("nobody@market", {}) is None  # not a role: kept
    english = LaneWording(
        role_names={"approver": "Approver"}, department_pending="%(role)s (department to be decided)"
    )
    lane = Lane("lane", "approver@{lead_dept}", {})
    assert lane_label(lane, {}, NAMES, english) == "审批人员 (department to be decided)"  # NAMES: as given


def test_the_served_document_diagram_names_its_lanes(session: Session, now: datetime) -> None:
    ensure_roles(session)["office"].name = "综合办公室"  # renamed locally: the table's name is shown
    drafter = create_user(session, now, roles=[("approver", "market")])
    deploy(session, "document_outgoing", now)
    case = start_case(
        session,
        "document_outgoing",
        {"drafting_dept": "market"},
        drafter,
        now,
        kind="document",
        meta={"issuer": "office", "issuer_prefix": "高新管发"},
    )
    served = case_diagram(session, case)
    assert served is not None
    lanes = {lane.get("id"): lane.get("name") for lane in etree.fromstring(served).iter(BPMN_LANE)}
    market = DEPARTMENT_NAMES["market"]
    assert lanes == {
        "lane_drafter": f"审批人员 · {market}",
        "lane_dept_head": f"部门负责人 · {market}",
        "lane_cosign": "部门负责人（各会签部门）",  # the draft form's title of cosign_departments
        "lane_leader": "分管领导",
        "lane_office": "综合办公室",  # the roles table's name
    }
