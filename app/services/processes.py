"""Process definitions: deploy versions (one per content hash), list them, read their files."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Case, ProcessVersion, User
from app.services.errors import NotFound, UnprocessableProcess
from app.services.runtime import version_form
from app.workflow import CompiledProcess, ProcessInvalid, compile_process
from app.workflow.messages import LintMessage
from app.workflow.references import referenced_forms


@dataclass(frozen=True)
class ProcessSource:
    """The files of one diagram: its BPMN file(s) and the form files they reference (name -> bytes)."""

    files: Mapping[str, bytes]
    forms: Mapping[str, bytes]


@dataclass(frozen=True)
class Deployment:
    """The outcome of deploying a source: the version, whether it is new, and the linter's notes."""

    version: ProcessVersion
    created: bool
    notes: tuple[LintMessage, ...]


@dataclass(frozen=True)
class VersionSummary:
    """One version of a process (its name from the BPMN process `name`) with the open cases pinned to it."""

    version: int
    content_hash: str
    deployed_at: datetime
    open_cases: int
    name: str = ""


def count_deployed_processes(session: Session) -> int:
    """Number of distinct process ids with at least one deployed version."""
    return int(session.scalar(select(func.count(func.distinct(ProcessVersion.process_id)))) or 0)


def read_process_source(bpmn_paths: list[Path], form_dir: Path) -> ProcessSource:
    """Read BPMN files and every form file they reference from `form_dir` (missing forms are left out)."""
    files = {path.name: path.read_bytes() for path in bpmn_paths}
    forms: dict[str, bytes] = {}
    for name in sorted(referenced_forms(files)):
        path = form_dir / name
        if path.name == name and path.is_file():
            forms[name] = path.read_bytes()
    return ProcessSource(files=files, forms=forms)


def compile_source(source: ProcessSource) -> CompiledProcess:
    """Compile (dialect, lint, parse) or raise UnprocessableProcess with every located message."""
    try:
        return compile_process(source.files, source.forms)
    except ProcessInvalid as invalid:
        details = [m.format() for m in invalid.messages]
        raise UnprocessableProcess(
            "流程定义有错误，无法发布 (the process definition has errors)", details
        ) from invalid


def deploy_process(session: Session, source: ProcessSource, actor: User | None, now: datetime) -> Deployment:
    """Store a new version unless one with the same content hash exists (deploying is idempotent)."""
    compiled = compile_source(source)
    existing = session.scalar(
        select(ProcessVersion).where(ProcessVersion.content_hash == compiled.content_hash)
    )
    if existing is not None:
        return Deployment(existing, created=False, notes=compiled.notes)
    latest = session.scalar(
        select(func.max(ProcessVersion.version)).where(ProcessVersion.process_id == compiled.process_id)
    )
    sources = {f"processes/{name}": data.decode("utf-8") for name, data in source.files.items()}
    sources.update({f"forms/{name}": data.decode("utf-8") for name, data in source.forms.items()})
    version = ProcessVersion(
        process_id=compiled.process_id,
        version=(latest or 0) + 1,
        name=compiled.name,
        content_hash=compiled.content_hash,
        spec_json=compiled.spec_json,
        source_files=sources,
        steps=[_step_dict(step) for step in compiled.steps],
        notes=[m.format() for m in compiled.notes],
        deployed_by=actor,
        deployed_at=now,
    )
    session.add(version)
    session.flush()
    for step in compiled.steps:  # validates every form once and primes the per-version form cache
        if step.form:
            version_form(version, step.form)
    return Deployment(version, created=True, notes=compiled.notes)


def _step_dict(step: object) -> dict[str, object]:
    fields = ("bpmn_id", "name", "lane", "form", "ui_form", "instructions", "process_id", "multi_instance")
    data: dict[str, object] = {name: getattr(step, name) for name in fields}
    data["properties"] = dict(getattr(step, "properties", {}))
    return data


def latest_version(session: Session, process_id: str) -> ProcessVersion:
    """The newest deployed version of a process, or NotFound."""
    version = session.scalar(
        select(ProcessVersion)
        .where(ProcessVersion.process_id == process_id)
        .order_by(ProcessVersion.version.desc())
        .limit(1)
    )
    if version is None:
        raise NotFound(f"流程 {process_id} 尚未发布 (process not deployed)")
    return version


def get_version(session: Session, process_id: str, number: int) -> ProcessVersion:
    """A given version of a process, or NotFound."""
    version = session.scalar(
        select(ProcessVersion).where(
            ProcessVersion.process_id == process_id, ProcessVersion.version == number
        )
    )
    if version is None:
        raise NotFound(f"流程 {process_id} 没有版本 {number}")
    return version


def list_processes(session: Session) -> dict[str, list[VersionSummary]]:
    """Every process id with its versions (newest first) and open cases per version."""
    counted = session.execute(
        select(Case.process_version_id, func.count())
        .where(Case.status.in_(("open", "error")))
        .group_by(Case.process_version_id)
    ).tuples()
    open_counts = {version_id: count for version_id, count in counted}
    result: dict[str, list[VersionSummary]] = {}
    rows = session.scalars(
        select(ProcessVersion).order_by(ProcessVersion.process_id, ProcessVersion.version.desc())
    )
    for row in rows:
        summary = VersionSummary(
            row.version, row.content_hash, row.deployed_at, int(open_counts.get(row.id, 0)), row.name
        )
        result.setdefault(row.process_id, []).append(summary)
    return result
