"""Uploaded files (扫描件, 附件): type by content (magic bytes), size limit, random storage name, SHA-256."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from app.models import Material, User
from app.services.errors import InvalidInput

# content type -> (magic prefix, extension); the declared type and the file name are never trusted
SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
)
MAX_FILENAME = 255


@dataclass(frozen=True)
class Upload:
    """A file as received: the name the user gave it and its bytes."""

    filename: str
    content: bytes


@dataclass(frozen=True)
class UploadPolicy:
    """Where files go and how large they may be."""

    directory: str
    max_bytes: int


def sniff_type(content: bytes) -> str | None:
    """The content type recognised from the first bytes (PDF, JPEG, PNG), else None."""
    return next((kind for magic, kind, _ext in SIGNATURES if content.startswith(magic)), None)


def check_upload(upload: Upload, policy: UploadPolicy, field: str) -> str:
    """Raise InvalidInput (naming `field`) for an empty, over-size or unsupported file; return its type."""
    if not upload.content:
        raise InvalidInput("文件为空", {field: "文件为空 (empty file)"})
    if len(upload.content) > policy.max_bytes:
        limit = policy.max_bytes // (1024 * 1024)
        raise InvalidInput("文件过大", {field: f"文件不能超过 {limit} MB"})
    kind = sniff_type(upload.content)
    if kind is None:
        raise InvalidInput("文件类型不支持", {field: "只接受 PDF、JPEG、PNG 文件（按文件内容判断）"})
    return kind


def _safe_name(filename: str) -> str:
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = "".join(ch for ch in name if ch.isprintable())
    return name[:MAX_FILENAME] or "file"


def store_upload(
    session: Session,
    upload: Upload,
    policy: UploadPolicy,
    material_code: str,
    case_id: int | None,
    actor: User,
    now: datetime,
) -> Material:
    """Check and write one file under a random name (outside the web root); record it as a Material."""
    kind = check_upload(upload, policy, material_code)
    extension = next(ext for _magic, known, ext in SIGNATURES if known == kind)
    storage_name = secrets.token_hex(16) + extension
    directory = Path(policy.directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / storage_name).write_bytes(upload.content)
    material = Material(
        owner_id=actor.id,
        case_id=case_id,
        material_code=material_code,
        filename=_safe_name(upload.filename),
        content_type=kind,
        size=len(upload.content),
        sha256=hashlib.sha256(upload.content).hexdigest(),
        storage_name=storage_name,
        source="upload",
        uploaded_at=now,
    )
    session.add(material)
    session.flush()
    return material


def stored_path(policy: UploadPolicy, material: Material) -> Path | None:
    """The file on disk for a stored upload (None for a reused licence or a missing file)."""
    if not material.storage_name:
        return None
    path = Path(policy.directory) / material.storage_name
    return path if path.is_file() else None
