"""The service catalogue: seeding is idempotent and names real diagrams; list filters; lookup by code."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import ServiceItem, User
from app.services.catalogue import INTERNAL_PROCESS_IDS, get_item, list_items, seed_catalogue
from app.services.demo import seed_demo
from app.services.errors import NotFound

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
MODES = {
    "parallel_approval": "parallel",
    "tolerant_prereview": "tolerant",
    "commitment_approval": "commitment",
    "document_incoming": "document",
    "document_outgoing": "document",
    "hotline_work_order": "work_order",
}
SECTION_45 = ("听证", "检验", "检测", "检疫", "鉴定", "专家评审", "公示", "信息公开")


@pytest.fixture
def seeded(session: Session) -> list[ServiceItem]:
    assert seed_catalogue(session) >= 8
    return list_items(session)


def test_seeding_is_idempotent(session: Session, seeded: list[ServiceItem]) -> None:
    count = session.scalar(select(func.count()).select_from(ServiceItem))
    assert seed_catalogue(session) == 0
    assert session.scalar(select(func.count()).select_from(ServiceItem)) == count == len(seeded)


def test_every_item_names_a_shipped_diagram_and_every_diagram_has_an_item(seeded: list[ServiceItem]) -> None:
    diagrams = {path.stem for path in PROCESSES.glob("*.bpmn")}  # 差评整改 is started by govflow itself
    assert {item.process_id for item in seeded} == diagrams - INTERNAL_PROCESS_IDS
    for item in seeded:
        assert item.mode == MODES[item.process_id], item.code


def test_parallel_items_have_a_lead_and_members(seeded: list[ServiceItem]) -> None:
    parallel = [item for item in seeded if item.mode == "parallel"]
    assert len(parallel) >= 3
    for item in parallel:
        assert item.lead_department and item.member_departments, item.code
        assert item.lead_department not in item.member_departments
    enterprise = next(item for item in parallel if item.name.startswith("企业设立登记"))
    assert (enterprise.lead_department, enterprise.member_departments) == ("market", ["tax", "police"])


def test_items_are_complete_and_lawful(seeded: list[ServiceItem]) -> None:
    for item in seeded:
        assert item.legal_basis.startswith("《") and item.conditions, item.code
        assert 0 <= item.promised_limit_days <= item.statutory_limit_days, item.code
        assert item.visits in (0, 1) and item.fee
        assert {m["kind"] for m in item.materials} <= {"required", "secondary"}
        assert any(m["kind"] == "required" for m in item.materials), item.code
        assert isinstance(item.settings, dict) and isinstance(item.faq, list)
        for step in item.special_steps:  # §45: these steps never count towards the limit
            if any(word in step["name"] for word in SECTION_45):
                assert step["counts"] is False, (item.code, step)
    kinds = {item.item_type for item in seeded}
    assert {"行政许可", "公文", "工单"} <= kinds
    licences = {m["licence_type"] for item in seeded for m in item.materials}
    assert "营业执照" in licences
    tolerant = [item for item in seeded if item.mode == "tolerant"]
    assert all(any(m["kind"] == "secondary" for m in item.materials) for item in tolerant)


def test_list_filters(seeded: list[ServiceItem]) -> None:
    session = Session.object_session(seeded[0])
    assert session is not None
    market = list_items(session, department="market")
    assert market and all(item.department.code == "market" for item in market)
    assert [i.code for i in list_items(session, theme="工程建设")] == ["GXQ-XK-0201", "GXQ-XK-0601"]
    assert [i.name for i in list_items(session, query="食品")] == ["食品经营许可"]
    assert [i.code for i in list_items(session, query="gxq-gw")] == ["GXQ-GW-0001", "GXQ-GW-0002"]
    assert list_items(session, query="100%_") == []
    assert list_items(session, department="market", theme="工程建设") == []
    hidden = get_item(session, "GXQ-XK-0701")
    hidden.active = False
    assert hidden not in list_items(session, department="market")


def test_get_item(session: Session, seeded: list[ServiceItem]) -> None:
    item = get_item(session, "GXQ-GW-0002")
    assert (item.name, item.process_id, item.department.code) == ("发文办理", "document_outgoing", "office")
    with pytest.raises(NotFound):
        get_item(session, "NO-SUCH-ITEM")


def test_seed_demo_seeds_the_catalogue(session: Session, now: datetime) -> None:
    created = seed_demo(session, now)
    assert "clerk" in created or session.scalar(select(User).where(User.username == "clerk"))
    assert get_item(session, "GXQ-XK-0101").department.name == "市场监管局"
    assert seed_catalogue(session) == 0
