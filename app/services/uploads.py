"""Uploaded files (申请材料, 扫描件, 附件): the one place files are checked and stored.

The type is proved by the first bytes (PDF, JPEG, PNG) — never by the name or the declared type. A file
is streamed to `<dir>/<random>.part` (size capped, SHA-256 computed on the way), renamed to its final
random name, and remembered in `session.info`; a listener deletes it when the caller's transaction
rolls back and forgets it on commit, so files and rows commit together. A crash between the rename and
the commit can leave an unreferenced file (never a row without its file); such orphans are harmless and
can be swept by comparing the directory with `material.storage_name`.
OFD (a ZIP package) is not accepted: no maintained library validates it, and a bare ZIP signature would
let any archive through.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Literal

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.models import Material, User
from app.services.errors import InvalidInput

# (magic prefix, content type, label)
SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "application/pdf", "PDF"),
    (b"\xff\xd8\xff", "image/jpeg", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "PNG"),
)
ACCEPTED = "PDF、JPEG、PNG"
CHUNK = 64 * 1024
PENDING_KEY = "govflow_pending_files"
MAX_FILENAME = 200


def sniff_type(head: bytes) -> str | None:
    """The content type the first bytes prove (PDF, JPEG, PNG), or None."""
    return next((kind for magic, kind, _label in SIGNATURES if head.startswith(magic)), None)


def safe_filename(name: str, default: str = "file") -> str:
    """The last path component of a user-given name, printable and short (shown, never used on disk)."""
    base = os.path.basename((name or "").replace("\\", "/")).strip()
    cleaned = "".join(ch for ch in base if ch.isprintable() and ch not in '<>:"|?*')
    return cleaned[:MAX_FILENAME] or default


class FileRejected(Exception):
    """A file that is empty, too large or not of an accepted type; nothing was kept."""

    def __init__(self, reason: Literal["empty", "too_large", "type"], max_bytes: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.max_bytes = max_bytes


@dataclass(frozen=True)
class StoredFile:
    """A file written under its random name, pending the caller's commit."""

    storage_name: str
    content_type: str
    size: int
    sha256: str


def _stream_to(part: Path, stream: IO[bytes], max_bytes: int) -> tuple[str, int, str]:
    digest, size, content_type = hashlib.sha256(), 0, None
    with part.open("xb") as out:
        while chunk := stream.read(CHUNK):
            if content_type is None:
                content_type = sniff_type(chunk)
                if content_type is None:
                    raise FileRejected("type", max_bytes)
            size += len(chunk)
            if size > max_bytes:
                raise FileRejected("too_large", max_bytes)
            digest.update(chunk)
            out.write(chunk)
    if content_type is None:
        raise FileRejected("empty", max_bytes)
    return content_type, size, digest.hexdigest()


def write_file(session: Session, directory: Path, stream: IO[bytes], max_bytes: int) -> StoredFile:
    """Check and write one file under a random name; kept only if the session's transaction commits."""
    directory.mkdir(parents=True, exist_ok=True)
    storage_name = secrets.token_hex(20)
    part = directory / f"{storage_name}.part"
    try:
        content_type, size, sha256 = _stream_to(part, stream, max_bytes)
        final = directory / storage_name
        os.replace(part, final)
    finally:
        part.unlink(missing_ok=True)
    session.info.setdefault(PENDING_KEY, []).append(str(final))
    return StoredFile(storage_name, content_type, size, sha256)


@event.listens_for(Session, "after_commit")
def _keep_files(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)


@event.listens_for(Session, "after_soft_rollback")
def _drop_files(session: Session, previous: Any) -> None:
    if previous.parent is not None:  # a savepoint: the outer transaction may still commit its files
        return
    for path in session.info.pop(PENDING_KEY, []):
        Path(path).unlink(missing_ok=True)


# --- whole-file uploads (documents): the bytes are in memory, errors name the form field -------------


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


def _field_error(rejected: FileRejected, field: str) -> InvalidInput:
    if rejected.reason == "empty":
        return InvalidInput("文件为空", {field: "文件为空 (empty file)"})
    if rejected.reason == "too_large":
        return InvalidInput("文件过大", {field: f"文件不能超过 {rejected.max_bytes // (1024 * 1024)} MB"})
    return InvalidInput("文件类型不支持", {field: f"只接受 {ACCEPTED} 文件（按文件内容判断）"})


def check_upload(upload: Upload, policy: UploadPolicy, field: str) -> str:
    """Raise InvalidInput (naming `field`) for an empty, over-size or unsupported file; return its type."""
    if not upload.content:
        raise _field_error(FileRejected("empty", policy.max_bytes), field)
    if len(upload.content) > policy.max_bytes:
        raise _field_error(FileRejected("too_large", policy.max_bytes), field)
    kind = sniff_type(upload.content)
    if kind is None:
        raise _field_error(FileRejected("type", policy.max_bytes), field)
    return kind


def store_upload(
    session: Session,
    upload: Upload,
    policy: UploadPolicy,
    material_code: str,
    case_id: int | None,
    actor: User,
    now: datetime,
) -> Material:
    """Check and store one file (outside the web root); record it as a Material."""
    try:
        stored = write_file(session, Path(policy.directory), io.BytesIO(upload.content), policy.max_bytes)
    except FileRejected as rejected:
        raise _field_error(rejected, material_code) from rejected
    material = Material(
        owner_id=actor.id,
        case_id=case_id,
        material_code=material_code,
        filename=safe_filename(upload.filename),
        content_type=stored.content_type,
        size=stored.size,
        sha256=stored.sha256,
        storage_name=stored.storage_name,
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
