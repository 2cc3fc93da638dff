"""Gap-free counters: case numbers, 发文字号. Allocated inside the caller's transaction under a row lock."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import NumberSequence


def next_in_sequence(session: Session, name: str, year: int) -> int:
    """Return the next value of (name, year); concurrent callers are serialized by the row lock."""
    query = (
        select(NumberSequence)
        .where(NumberSequence.name == name, NumberSequence.year == year)
        .with_for_update()
    )
    row = session.scalar(query)
    if row is None:
        try:
            with session.begin_nested():
                session.add(NumberSequence(name=name, year=year, value=0))
        except IntegrityError:
            pass  # another transaction created it first; lock the existing row below
        row = session.scalar(query.execution_options(populate_existing=True))
        assert row is not None
    row.value += 1
    session.flush()
    return row.value


def case_number(session: Session, year: int) -> str:
    """Allocate `GF-YYYY-NNNNNN`."""
    return f"GF-{year}-{next_in_sequence(session, 'case', year):06d}"
