"""Applications: submission into a case, idempotency, 容缺 / 告知承诺 rules, e-licence reuse, progress."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Case, Material
from app.services.applications import apply, new_key
from app.services.case_views import case_data, data_labels
from app.services.errors import InvalidInput, NotFound, PermissionDenied
from app.services.progress import my_applications, public_progress
from tests.factories import create_user
from tests.services.portal_data import (
    World,
    application,
    credit_record,
    licence,
    limits,
    portal_world,
    uploads_for,
)


@pytest.fixture
def world(session: Session, now: datetime) -> World:
    return portal_world(session, now)


def _cases(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Case)) or 0


def test_submit_opens_a_case_with_departments_from_the_item(
    session: Session, world: World, now: datetime, tmp_path: Path
) -> None:
    posted = application(world.parallel)
    posted.fields["lead_dept"] = "eco"  # not the applicant's to choose: ignored
    case = apply(session, world.parallel, world.alice, posted, limits(tmp_path), now, submit=True).case
    assert case is not None and case.kind == "application" and case.service_item_id == world.parallel.id
    data = case_data(case)
    assert data["lead_dept"] == "market" and data["member_departments"] == ["tax", "police"]
    assert data["applicant_name"] == "星辰科技有限公司"
    assert case.data["item_code"] == "GXQ-XK-0101" and case.data["phone"] == "13812345678"
    assert case.promised_due_at is not None and case.originator_id == world.alice.id
    materials = session.scalars(select(Material).where(Material.case_id == case.id)).all()
    assert sorted(m.material_code for m in materials) == ["M01", "M02", "M03", "M04", "M05", "M06"]


def test_the_same_key_submitted_twice_makes_one_case(
    session: Session, world: World, now: datetime, tmp_path: Path
) -> None:
    key = new_key()
    first = apply(session, world.parallel, world.alice, application(world.parallel, key), limits(tmp_path),
                  now, submit=True).case  # fmt: skip
    session.commit()
    before = _cases(session)
    again = apply(session, world.parallel, world.alice, application(world.parallel, key), limits(tmp_path),
                  now, submit=True).case  # fmt: skip
    assert again is not None and first is not None and again.id == first.id and _cases(session) == before


def test_another_applicants_key_is_not_found(
    session: Session, world: World, now: datetime, tmp_path: Path
) -> None:
    key = new_key()
    apply(
        session,
        world.parallel,
        world.alice,
        application(world.parallel, key),
        limits(tmp_path),
        now,
        submit=False,
    )
    with pytest.raises(NotFound):
        apply(
            session,
            world.parallel,
            world.bob,
            application(world.parallel, key),
            limits(tmp_path),
            now,
            submit=True,
        )


def test_draft_then_submit_keeps_the_uploads(
    session: Session, world: World, now: datetime, tmp_path: Path
) -> None:
    key = new_key()
    apply(
        session,
        world.parallel,
        world.alice,
        application(world.parallel, key),
        limits(tmp_path),
        now,
        submit=False,
    )
    later = application(world.parallel, key, uploads=[])
    case = apply(session, world.parallel, world.alice, later, limits(tmp_path), now, submit=True).case
    assert case is not None
    assert session.scalar(select(func.count()).select_from(Material).where(Material.case_id == case.id)) == 6


def test_missing_required_materials_are_listed_at_once(
    session: Session, world: World, now: datetime, tmp_path: Path
) -> None:
    posted = application(world.parallel, uploads=uploads_for(world.parallel, skip=("M01", "M02")))
    with pytest.raises(InvalidInput) as caught:
        apply(session, world.parallel, world.alice, posted, limits(tmp_path), now, submit=True)
    assert caught.value.details == {"materials": ["公司登记（备案）申请书", "公司章程"]}


def test_invalid_fields_are_reported_per_field(
    session: Session, world: World, now: datetime, tmp_path: Path
) -> None:
    posted = application(world.parallel)
    posted.fields.update(contact_phone="12", credit_code="abc")
    with pytest.raises(InvalidInput) as caught:
        apply(session, world.parallel, world.alice, posted, limits(tmp_path), now, submit=True)
    assert {"contact_phone", "credit_code"} <= set(caught.value.details or {})


def test_tolerance_for_a_critical_material_is_refused_with_the_rule(
    session: Session, world: World, now: datetime, tmp_path: Path
) -> None:
    posted = application(
        world.tolerant, tolerated=["M01"], uploads=uploads_for(world.tolerant, skip=("M01",))
    )
    with pytest.raises(InvalidInput) as caught:
        apply(session, world.tolerant, world.alice, posted, limits(tmp_path), now, submit=True)
    assert "主要材料" in caught.value.message and "一次性告知" in caught.value.message
    assert _cases(session) == 0


def test_tolerance_for_a_secondary_material_opens_the_case(
    session: Session, world: World, now: datetime, tmp_path: Path
) -> None:
    posted = application(
        world.tolerant, tolerated=["M05"], uploads=uploads_for(world.tolerant, skip=("M05",))
    )
    case = apply(session, world.tolerant, world.alice, posted, limits(tmp_path), now, submit=True).case
    assert case is not None and case.data["tolerated"] == ["M05"]
    assert case_data(case)["requested_tolerance"] == ["从业人员健康证明"]


def test_tolerance_only_for_tolerant_items(
    session: Session, world: World, now: datetime, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInput, match="不适用容缺"):
        apply(session, world.parallel, world.alice, application(world.parallel, tolerated=["M06"]),
              limits(tmp_path), now, submit=True)  # fmt: skip


def test_credit_record_blocks_tolerance_and_commitment_naming_it(
    session: Session, world: World, now: datetime, tmp_path: Path
) -> None:
    credit_record(session, world.alice, now)
    posted = application(
        world.tolerant, tolerated=["M05"], uploads=uploads_for(world.tolerant, skip=("M05",))
    )
    with pytest.raises(InvalidInput) as caught:
        apply(session, world.tolerant, world.alice, posted, limits(tmp_path), now, submit=True)
    assert "容缺受理逾期未补正" in caught.value.message and "GXQ2026-000001" in caught.value.message
    with pytest.raises(InvalidInput, match="告知承诺"):
        apply(session, world.commitment, world.alice, application(world.commitment), limits(tmp_path), now,
              submit=True)  # fmt: skip
    # the general procedure (no 容缺) is still open to them
    assert apply(session, world.tolerant, world.alice, application(world.tolerant), limits(tmp_path), now,
                 submit=True).case is not None  # fmt: skip


def test_credit_record_is_dated_in_local_time(
    session: Session, world: World, now: datetime, tmp_path: Path
) -> None:
    credit_record(session, world.alice, now.replace(hour=7))  # 2026-11-23 07:00 +08:00 is the 22nd in UTC
    session.expire_all()  # read back from the database (stored in UTC)
    posted = application(world.commitment)
    with pytest.raises(InvalidInput) as caught:
        apply(session, world.commitment, world.alice, posted, limits(tmp_path), now, submit=True)
    assert "（2026-11-23）" in caught.value.message, caught.value.message


def test_e_licence_replaces_an_upload_and_others_licences_are_not_found(
    session: Session, world: World, now: datetime, tmp_path: Path
) -> None:
    mine = licence(session, world.alice, "居民身份证", now, "ID-0001")
    theirs = licence(session, world.bob, "不动产权证书", now, "RE-0002")
    posted = application(
        world.parallel, uploads=uploads_for(world.parallel, skip=("M03",)), licences={"M03": mine.id}
    )
    case = apply(session, world.parallel, world.alice, posted, limits(tmp_path), now, submit=True).case
    assert case is not None
    reused = session.scalars(
        select(Material).where(Material.case_id == case.id, Material.material_code == "M03")
    ).one()
    assert (reused.source, reused.trust_level, reused.licence_id, reused.storage_name) == (
        "licence",
        "A",
        mine.id,
        None,
    )
    stolen = application(world.parallel, licences={"M04": theirs.id})
    with pytest.raises(NotFound):
        apply(session, world.parallel, world.alice, stolen, limits(tmp_path), now, submit=True)


def test_only_applicants_apply(session: Session, world: World, now: datetime, tmp_path: Path) -> None:
    clerk = create_user(session, now, roles=[("clerk", "approval")])
    with pytest.raises(PermissionDenied):
        apply(session, world.parallel, clerk, application(world.parallel), limits(tmp_path), now, submit=True)


def test_progress_in_plain_words_and_the_public_query(
    session: Session, world: World, now: datetime, tmp_path: Path
) -> None:
    case = apply(session, world.parallel, world.alice, application(world.parallel), limits(tmp_path), now,
                 submit=True).case  # fmt: skip
    assert case is not None
    page = my_applications(session, world.alice, 1, 20)
    assert [(s.case.number, s.stage, s.may_withdraw) for s in page.items] == [
        (case.number, "窗口受理中", True)
    ]
    assert my_applications(session, world.bob, 1, 20).total == 0
    found = public_progress(session, case.number, "5678")
    assert found is not None and found.stage == "窗口受理中"
    assert public_progress(session, case.number, "0000") is None
    assert public_progress(session, "GXQ0000-000000", "5678") is None
    assert public_progress(session, case.number, "678") is None


def test_an_applications_own_fields_are_titled_as_the_applicant_filled_them(
    session: Session, world: World, tmp_path: Path, now: datetime
) -> None:
    posted = application(world.parallel)
    case = apply(session, world.parallel, world.alice, posted, limits(tmp_path), now, submit=True).case
    assert case is not None
    labels = data_labels(case)
    assert labels.title("applicant_name") == "申请人（单位）名称"
    assert labels.title("credit_code") == "统一社会信用代码"
    assert labels.title("legal_representative") == "法定代表人"
    assert labels.title("lead_dept") == "牵头部门"  # the process's own keys keep their titles
