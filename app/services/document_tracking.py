"""传阅 tracking: the documents in progress a user may see, where each one is and who holds it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.models import Case, HumanTask, Material, ProcessVersion, User
from app.services.case_views import may_view
from app.services.directory import display_names, role_holders
from app.services.document_intake import INCOMING, OUTGOING, URGENCIES
from app.services.errors import NotFound, PermissionDenied
from app.services.secrecy import is_classified

PAGE_SIZE = 50
SCAN_BATCH = 500  # candidates read per query while filling a page (密级 and urgency filter in Python)
MAX_NAMED_CANDIDATES = 3
DIRECTIONS = {"incoming": INCOMING, "outgoing": OUTGOING}


@dataclass(frozen=True)
class Holder:
    """One open step of a document: who holds it (a person, or the candidates) since when."""

    step: str
    assignee: str | None
    candidates: list[str]
    candidate_role: str | None
    candidate_department: str | None
    since: datetime
    due_at: datetime | None


@dataclass(frozen=True)
class DocumentRow:
    """A document in progress with its current steps."""

    case: Case
    direction: str  # incoming / outgoing
    classified: bool
    holders: list[Holder]


@dataclass(frozen=True)
class DocumentPage:
    """One page of the documents list; `has_next` when more visible documents follow."""

    rows: list[DocumentRow]
    page: int
    has_next: bool


@dataclass(frozen=True)
class DocumentFilters:
    """List filters: incoming/outgoing and urgency."""

    direction: str | None = None
    urgency: str | None = None


def _query(filters: DocumentFilters, before_id: int | None) -> object:
    query = (
        select(Case)
        .join(ProcessVersion, ProcessVersion.id == Case.process_version_id)
        .where(Case.kind == "document", Case.status == "open")
        .options(selectinload(Case.process_version))
        .order_by(Case.id.desc())
        .limit(SCAN_BATCH)
    )
    if before_id is not None:
        query = query.where(Case.id < before_id)
    if filters.direction in DIRECTIONS:
        query = query.where(ProcessVersion.process_id == DIRECTIONS[filters.direction])
    return query


def _visible(session: Session, actor: User, filters: DocumentFilters, skip: int, take: int) -> list[Case]:
    """Up to `take` documents the actor may see after skipping `skip` of them, newest first."""
    wanted = filters.urgency if filters.urgency in URGENCIES else None
    found: list[Case] = []
    before_id: int | None = None
    while len(found) < take:
        batch = list(session.scalars(_query(filters, before_id)))  # type: ignore[call-overload]
        for case in batch:
            if wanted is not None and (case.data or {}).get("urgency") != wanted:
                continue
            if not may_view(session, actor, case):
                continue
            if skip:
                skip -= 1
                continue
            found.append(case)
            if len(found) == take:
                break
        if len(batch) < SCAN_BATCH:
            break
        before_id = batch[-1].id
    return found


def _holders(session: Session, tasks: list[HumanTask]) -> list[Holder]:
    named: dict[tuple[str | None, str | None], list[int]] = {}
    for task in tasks:
        key = (task.candidate_role, task.candidate_department)
        if task.assignee_id is None and task.candidate_role and key not in named:
            named[key] = role_holders(session, task.candidate_role, task.candidate_department)
    people = display_names(
        session,
        {i for ids in named.values() for i in ids}
        | {t.assignee_id for t in tasks if t.assignee_id is not None},
    )
    holders = []
    for task in tasks:
        ids = (
            []
            if task.assignee_id is not None
            else named.get((task.candidate_role, task.candidate_department), [])
        )
        holders.append(
            Holder(
                step=task.name,
                assignee=people.get(task.assignee_id) if task.assignee_id is not None else None,
                candidates=[people[i] for i in ids[:MAX_NAMED_CANDIDATES] if i in people],
                candidate_role=task.candidate_role,
                candidate_department=task.candidate_department,
                since=task.created_at,
                due_at=task.due_at,
            )
        )
    return holders


def list_documents(session: Session, actor: User, filters: DocumentFilters, page: int = 1) -> DocumentPage:
    """Open documents the actor may see (密级 enforced by case_views.may_view), newest first, paged."""
    page = max(page, 1)
    cases = _visible(session, actor, filters, (page - 1) * PAGE_SIZE, PAGE_SIZE + 1)
    visible = cases[:PAGE_SIZE]
    open_by_case: dict[int, list[HumanTask]] = defaultdict(list)
    if visible:
        query = (
            select(HumanTask)
            .where(HumanTask.case_id.in_([c.id for c in visible]), HumanTask.state == "open")
            .order_by(HumanTask.id)
        )
        for task in session.scalars(query):
            open_by_case[task.case_id].append(task)
    rows = [
        DocumentRow(
            case,
            "incoming" if case.process_version.process_id == INCOMING else "outgoing",
            is_classified(case),
            _holders(session, open_by_case[case.id]),
        )
        for case in visible
    ]
    return DocumentPage(rows, page, len(cases) > PAGE_SIZE)


def case_files(session: Session, case: Case) -> list[Material]:
    """The uploaded files of a case (scan, attachments), oldest first."""
    query = select(Material).where(Material.case_id == case.id).order_by(Material.id)
    return list(session.scalars(query))


def file_for_viewer(session: Session, material_id: int, actor: User) -> Material:
    """A case file the actor may download: NotFound, or PermissionDenied like the case page."""
    material = session.get(Material, material_id)
    case = session.get(Case, material.case_id) if material and material.case_id else None
    if material is None or case is None:
        raise NotFound("文件不存在 (no such file)")
    if not may_view(session, actor, case):
        raise PermissionDenied("您无权查看此公文 (not on the document's route)")
    return material
