"""Materials: type by content, size limit, random storage names + SHA-256, files follow the transaction."""

from __future__ import annotations

import hashlib
import io
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Case, Material
from app.services.applications import apply
from app.services.errors import InvalidInput, NotFound
from app.services.materials import add_case_material, owned_material, store_upload
from app.services.uploads import sniff_type
from tests.services.portal_data import FAKE_PDF, PDF, PNG, World, application, limits, portal_world


@pytest.fixture
def world(session: Session, now: datetime) -> World:
    return portal_world(session, now)


def _files(tmp_path: Path) -> list[Path]:
    directory = tmp_path / "uploads"
    return sorted(directory.iterdir()) if directory.exists() else []


def _materials(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Material)) or 0


def test_sniff_by_magic_bytes() -> None:
    assert sniff_type(PDF) == "application/pdf"
    assert sniff_type(PNG) == "image/png"
    assert sniff_type(b"\xff\xd8\xff\xe0JFIF") == "image/jpeg"
    assert sniff_type(FAKE_PDF) is None and sniff_type(b"PK\x03\x04") is None


def test_stored_under_a_random_name_with_its_hash(
    session: Session, world: World, now: datetime, tmp_path: Path
) -> None:
    material = store_upload(
        session,
        world.alice,
        world.parallel,
        "M01",
        "../../etc/申请书.png",
        io.BytesIO(PNG),
        limits(tmp_path),
        now,
    )
    assert (material.content_type, material.size) == ("image/png", len(PNG))
    assert material.sha256 == hashlib.sha256(PNG).hexdigest() and material.filename == "申请书.png"
    [stored] = _files(tmp_path)
    assert stored.name == material.storage_name and stored.read_bytes() == PNG and "申请书" not in stored.name


def test_a_file_claiming_to_be_pdf_is_rejected_with_the_reason(
    session: Session, world: World, now: datetime, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInput) as caught:
        store_upload(
            session, world.alice, world.parallel, "M01", "x.pdf", io.BytesIO(FAKE_PDF), limits(tmp_path), now
        )
    assert "不是 PDF、JPEG、PNG" in caught.value.message and "扩展名" in caught.value.message
    assert _files(tmp_path) == [] and _materials(session) == 0


def test_over_the_limit_nothing_is_stored(
    session: Session, world: World, now: datetime, tmp_path: Path
) -> None:
    big = PDF + b"0" * 2048
    with pytest.raises(InvalidInput) as caught:
        store_upload(
            session, world.alice, world.parallel, "M01", "a.pdf", io.BytesIO(big), limits(tmp_path, 1024), now
        )
    assert "超过大小上限" in caught.value.message and caught.value.details == {
        "file": "too_large",
        "max_bytes": 1024,
    }
    assert _files(tmp_path) == [] and _materials(session) == 0


def test_a_rolled_back_transaction_deletes_its_files(
    session: Session, world: World, now: datetime, tmp_path: Path
) -> None:
    store_upload(session, world.alice, world.parallel, "M01", "a.pdf", io.BytesIO(PDF), limits(tmp_path), now)
    assert len(_files(tmp_path)) == 1
    session.rollback()
    assert _files(tmp_path) == []


def test_a_failed_application_keeps_no_file(
    session: Session, world: World, now: datetime, tmp_path: Path
) -> None:
    posted = application(world.parallel)
    posted.fields["contact_phone"] = "bad"
    with pytest.raises(InvalidInput):
        apply(session, world.parallel, world.alice, posted, limits(tmp_path), now, submit=True)
    session.rollback()  # what the view does with a domain error
    assert _files(tmp_path) == []


def test_unknown_material_code_is_refused(
    session: Session, world: World, now: datetime, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInput):
        store_upload(
            session, world.alice, world.parallel, "M99", "a.pdf", io.BytesIO(PDF), limits(tmp_path), now
        )


def _case(session: Session, world: World, now: datetime, tmp_path: Path) -> Case:
    case = apply(session, world.parallel, world.alice, application(world.parallel), limits(tmp_path), now,
                 submit=True).case  # fmt: skip
    assert case is not None
    return case


def test_supplement_by_the_applicant_only(
    session: Session, world: World, now: datetime, tmp_path: Path
) -> None:
    case = _case(session, world, now, tmp_path)
    added = add_case_material(
        session, case, world.alice, "M02", "b.pdf", io.BytesIO(PDF), limits(tmp_path), now
    )
    assert added.case_id == case.id
    with pytest.raises(NotFound):
        add_case_material(session, case, world.bob, "M02", "b.pdf", io.BytesIO(PDF), limits(tmp_path), now)
    with pytest.raises(NotFound):
        owned_material(session, added.id, world.bob)
    assert owned_material(session, added.id, world.alice) is added
