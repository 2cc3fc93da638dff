"""Shared data for the applicant-portal tests: the seeded catalogue, deployed diagrams, applicants, files."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app.models import CreditRecord, Licence, ServiceItem, User
from app.services.applications import ApplicationInput, Upload, new_key
from app.services.catalogue import get_item, seed_catalogue
from app.services.materials import UploadLimits
from tests.factories import create_user
from tests.processes.scenario import deploy

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n" \
    b"trailer<</Root 1 0 R>>\n%%EOF\n"  # fmt: skip
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
FAKE_PDF = b"<html><script>alert(1)</script></html>"
PARALLEL = "GXQ-XK-0101"  # 企业设立登记（企业开办一件事）: parallel, members tax + police
TOLERANT = "GXQ-XK-0301"  # 食品经营许可: 容缺, M05 健康证明 is secondary
COMMITMENT = "GXQ-XK-0401"  # 告知承诺
FIELDS: dict[str, Any] = {
    "applicant_name": "星辰科技有限公司",
    "credit_code": "91320500MA1XYW0001",
    "contact_name": "李娜",
    "contact_phone": "13812345678",
    "address": "高新区科技大道 88 号",
    "legal_representative": "李娜",
}


@dataclass
class World:
    """The applicants and items of a portal test."""

    alice: User
    bob: User
    parallel: ServiceItem
    tolerant: ServiceItem
    commitment: ServiceItem


def portal_world(session: Session, now: datetime) -> World:
    """Seed the catalogue, deploy the three application diagrams, create two applicants."""
    seed_catalogue(session)
    for process in ("parallel_approval", "tolerant_prereview", "commitment_approval"):
        deploy(session, process, now)
    alice = create_user(session, now, username="alice", roles=[("applicant", None)], display_name="李娜")
    bob = create_user(session, now, username="bob", roles=[("applicant", None)], display_name="王强")
    session.commit()
    return World(
        alice, bob, get_item(session, PARALLEL), get_item(session, TOLERANT), get_item(session, COMMITMENT)
    )


def uploads_for(item: ServiceItem, content: bytes = PDF, skip: tuple[str, ...] = ()) -> list[Upload]:
    """One file per material of the item (minus `skip`)."""
    return [
        Upload(m["code"], f"{m['code']}.pdf", io.BytesIO(content))
        for m in item.materials
        if m["code"] not in skip
    ]


def application(item: ServiceItem, key: str | None = None, **changes: Any) -> ApplicationInput:
    """A complete application for the item (every material uploaded) unless `changes` say otherwise."""
    posted = ApplicationInput(key=key or new_key(), fields=dict(FIELDS), uploads=uploads_for(item))
    for name, value in changes.items():
        setattr(posted, name, value)
    return posted


def limits(tmp_path: Path, max_bytes: int = 1024 * 1024) -> UploadLimits:
    """Uploads into a test directory."""
    return UploadLimits(tmp_path / "uploads", max_bytes)


def licence(session: Session, holder: User, licence_type: str, now: datetime, number: str) -> Licence:
    """A valid e-licence held by `holder`."""
    row = Licence(
        holder_id=holder.id, holder_name=holder.display_name, licence_type=licence_type, number=number,
        issued_at=now, status="valid", verification_code=f"V{number}",
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def credit_record(session: Session, subject: User, now: datetime) -> CreditRecord:
    """An unrepaired 容缺逾期 record."""
    row = CreditRecord(
        subject_id=subject.id, kind="missed_supplement", reason="GXQ2026-000001 逾期未补正", created_at=now
    )
    session.add(row)
    session.flush()
    return row
