"""发文字号 register: the numbers allocated per issuer and year, with a gap and duplicate check."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Case, NumberSequence
from app.services.documents import DEFAULT_ISSUER

NUMBER_PATTERN = re.compile(r"〔(\d{4})〕(\d+)号$")
MAX_SCANNED = 20000


@dataclass(frozen=True)
class RegisterEntry:
    """One allocated 发文字号 and the case that carries it."""

    serial: int
    number: str
    case_number: str
    title: str
    status: str
    created_at: datetime


@dataclass(frozen=True)
class Register:
    """The register of one issuer and year: entries by serial, missing and duplicated serials."""

    issuer: str
    year: int
    entries: list[RegisterEntry]
    missing: list[int]
    duplicates: list[int]
    allocated: int  # the issuer's counter for the year (0 when nothing was allocated)

    @property
    def complete(self) -> bool:
        """No gap and no duplicate."""
        return not self.missing and not self.duplicates


def parse_number(number: str) -> tuple[int, int] | None:
    """(year, serial) of a 发文字号 like `高新管发〔2026〕7号`, or None."""
    match = NUMBER_PATTERN.search(number.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def find_gaps(serials: list[int], allocated: int) -> tuple[list[int], list[int]]:
    """(missing, duplicated) serials among 1..max(serials, allocated)."""
    seen: set[int] = set()
    duplicates: set[int] = set()
    for serial in serials:
        (duplicates if serial in seen else seen).add(serial)
    top = max([allocated, *serials]) if serials or allocated else 0
    return [n for n in range(1, top + 1) if n not in seen], sorted(duplicates)


def issuers_and_years(session: Session) -> list[tuple[str, int]]:
    """Every (issuer, year) that has a 发文字号 counter, newest year first."""
    rows = session.execute(
        select(NumberSequence.name, NumberSequence.year).where(NumberSequence.name.like("document:%"))
    ).tuples()
    return sorted(((name.split(":", 1)[1], year) for name, year in rows), key=lambda r: (-r[1], r[0]))


def document_register(session: Session, issuer: str | None, year: int) -> Register:
    """The numbers allocated to an issuer in a year (from `case.data['document_number']`), gap-checked."""
    issuer = (issuer or DEFAULT_ISSUER).strip() or DEFAULT_ISSUER
    query = select(Case).where(Case.kind == "document").order_by(Case.id).limit(MAX_SCANNED)
    entries: list[RegisterEntry] = []
    for case in session.scalars(query):
        meta = case.data or {}
        number = str(meta.get("document_number") or "")
        parsed = parse_number(number) if number else None
        if parsed is None or parsed[0] != year or str(meta.get("issuer") or DEFAULT_ISSUER) != issuer:
            continue
        entries.append(
            RegisterEntry(parsed[1], number, case.number, case.title, case.status, case.created_at)
        )
    entries.sort(key=lambda e: (e.serial, e.case_number))
    counter = session.scalar(
        select(NumberSequence.value).where(
            NumberSequence.name == f"document:{issuer}", NumberSequence.year == year
        )
    )
    missing, duplicates = find_gaps([e.serial for e in entries], counter or 0)
    return Register(issuer, year, entries, missing, duplicates, counter or 0)
