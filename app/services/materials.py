"""Application materials: uploads (through app.services.uploads) and reused e-licences."""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import ApplicationDraft, Case, Licence, Material, ServiceItem, User
from app.services.errors import Conflict, InvalidInput, NotFound
from app.services.licences import applicant_licences
from app.services.timers import deliver_message
from app.services.uploads import ACCEPTED, FileRejected, safe_filename, write_file


@dataclass(frozen=True)
class UploadLimits:
    """Where uploads go and how large one may be."""

    directory: Path
    max_bytes: int


def material_spec(item: ServiceItem, code: str) -> dict[str, Any]:
    """The item's material with this code, or InvalidInput."""
    for material in item.materials:
        if material.get("code") == code:
            return material
    raise InvalidInput(f"事项没有材料 {code} (unknown material)", {"material_code": code})


def _rejection(rejected: FileRejected, label: str) -> InvalidInput:
    if rejected.reason == "type":
        message = f"“{label}”的文件内容不是 {ACCEPTED}（按文件内容识别，不看扩展名）"
        return InvalidInput(message, {"file": "type", "accepted": ACCEPTED})
    if rejected.reason == "too_large":
        message = f"“{label}”超过大小上限 {rejected.max_bytes // (1024 * 1024)} MB，未保存"
        return InvalidInput(message, {"file": "too_large", "max_bytes": rejected.max_bytes})
    return InvalidInput(f"“{label}”是空文件", {"file": "empty"})


def store_upload(
    session: Session,
    owner: User,
    item: ServiceItem,
    material_code: str,
    filename: str,
    stream: IO[bytes],
    limits: UploadLimits,
    now: datetime,
    *,
    draft: ApplicationDraft | None = None,
    case: Case | None = None,
) -> Material:
    """Check and store one uploaded file for a material of the item; the row is flushed, the file kept
    only if the caller's transaction commits."""
    spec = material_spec(item, material_code)
    try:
        stored = write_file(session, limits.directory, stream, limits.max_bytes)
    except FileRejected as rejected:
        raise _rejection(rejected, str(spec["name"])) from rejected
    material = Material(
        owner_id=owner.id,
        case_id=case.id if case else None,
        draft_id=draft.id if draft else None,
        material_code=material_code,
        filename=safe_filename(filename, "upload"),
        content_type=stored.content_type,
        size=stored.size,
        sha256=stored.sha256,
        storage_name=stored.storage_name,
        source="upload",
        trust_level="C",
        uploaded_at=now,
    )
    session.add(material)
    session.flush()
    return material


def usable_licences(
    session: Session, owner: User, item: ServiceItem, now: datetime
) -> dict[str, list[Licence]]:
    """Material code -> the owner's valid e-licences of the type that material accepts (不再重复提交)."""
    types = {m["code"]: m["licence_type"] for m in item.materials if m.get("licence_type")}
    if not types:
        return {}
    held = [
        lic
        for lic in applicant_licences(session, owner, None)
        if lic.valid_until is None or lic.valid_until > now
    ]
    return {code: [lic for lic in held if lic.licence_type == kind] for code, kind in types.items()}


def reuse_licence(
    session: Session,
    owner: User,
    item: ServiceItem,
    material_code: str,
    licence_id: int,
    now: datetime,
    *,
    draft: ApplicationDraft | None = None,
    case: Case | None = None,
) -> Material:
    """Use one of the owner's valid e-licences as a material (不再重复提交); someone else's: NotFound."""
    spec = material_spec(item, material_code)
    licence = session.get(Licence, licence_id)
    if licence is None or licence.holder_id != owner.id:
        raise NotFound("电子证照不存在 (no such licence)")
    if licence.status != "valid" or (licence.valid_until is not None and licence.valid_until <= now):
        raise InvalidInput(f"电子证照 {licence.number} 已失效，不能作为材料", {"licence": licence.status})
    if licence.licence_type != spec.get("licence_type"):
        raise InvalidInput(
            f"“{spec['name']}”不接受{licence.licence_type}", {"licence_type": spec.get("licence_type")}
        )
    material = Material(
        owner_id=owner.id,
        case_id=case.id if case else None,
        draft_id=draft.id if draft else None,
        material_code=material_code,
        filename=f"{licence.licence_type} {licence.number}",
        content_type="application/x-govflow-licence",
        size=0,
        sha256=hashlib.sha256(licence.verification_code.encode()).hexdigest(),
        storage_name=None,
        source="licence",
        licence_id=licence.id,
        trust_level="A",
        uploaded_at=now,
    )
    session.add(material)
    session.flush()
    return material


def owned_material(session: Session, material_id: int, actor: User) -> Material:
    """A material of the actor's (NotFound for anyone else's: no existence leak)."""
    material = session.get(Material, material_id)
    if material is None or material.owner_id != actor.id:
        raise NotFound("材料不存在 (no such material)")
    return material


def material_path(material: Material, directory: Path) -> Path:
    """Where an uploaded material's bytes are (InvalidInput for an e-licence, which has no file)."""
    if material.storage_name is None:
        raise InvalidInput("电子证照材料没有文件 (an e-licence has no file)")
    return directory / material.storage_name


def materials_of(
    session: Session, *, case_id: int | None = None, draft_id: int | None = None
) -> list[Material]:
    """The materials attached to a case or a draft, by material code then upload time."""
    query = select(Material).order_by(Material.material_code, Material.id)
    if case_id is not None:
        query = query.where(Material.case_id == case_id)
    else:
        query = query.where(Material.draft_id == draft_id, Material.case_id.is_(None))
    return list(session.scalars(query))


def add_case_material(
    session: Session,
    case: Case,
    actor: User,
    upload_code: str,
    filename: str,
    stream: IO[bytes],
    limits: UploadLimits,
    now: datetime,
) -> Material:
    """补正 / 容缺补交: the applicant adds a file to their open case (another's case: NotFound).

    When every material tolerated at submission (容缺) is now on file, the case receives the
    `materials_supplemented` message if its diagram is waiting for it.
    """
    if case.originator_id != actor.id or case.service_item is None:
        raise NotFound("办件不存在 (no such case)")
    if case.status != "open":
        raise InvalidInput("办件已结束，不能再提交材料 (the case is closed)", {"status": case.status})
    material = store_upload(
        session, actor, case.service_item, upload_code, filename, stream, limits, now, case=case
    )
    tolerated = set((case.data or {}).get("tolerated") or [])
    on_file = {m.material_code for m in materials_of(session, case_id=case.id)}
    if upload_code in tolerated and tolerated <= on_file:
        # not waiting (yet or any more): the window verifies the file with the case. The engine refuses
        # before changing anything, so no savepoint is needed.
        with contextlib.suppress(Conflict):
            deliver_message(session, case.number, "materials_supplemented", {}, actor, now)
    return material
