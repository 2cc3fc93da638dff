"""Gap-free counters: case numbers, 发文字号. Allocated inside the caller's transaction under a row lock."""

from __future__ import annotations

from sqlalchemy import bindparam, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import NumberSequence

# One statement takes the row lock, advances the counter and returns it (no SELECT … FOR UPDATE first).
_ADVANCE = (
    update(NumberSequence)
    .where(NumberSequence.name == bindparam("seq_name"), NumberSequence.year == bindparam("seq_year"))
    .values(value=NumberSequence.value + 1)
    .returning(NumberSequence.value)
)
_CREATE = insert(NumberSequence).values(name=bindparam("seq_name"), year=bindparam("seq_year"), value=0)


def next_in_sequence(session: Session, name: str, year: int) -> int:
    """Return the next value of (name, year); concurrent callers are serialized by the row lock."""
    connection = session.connection()
    params = {"seq_name": name, "seq_year": year}
    value = connection.execute(_ADVANCE, params).scalar_one_or_none()
    if value is None:
        try:
            with session.begin_nested():
                session.connection().execute(_CREATE, params)
        except IntegrityError:
            pass  # another transaction created it first; its row is locked and advanced below
        value = connection.execute(_ADVANCE, params).scalar_one()
    return int(value)


def case_number(session: Session, year: int) -> str:
    """Allocate `GF-YYYY-NNNNNN`."""
    return f"GF-{year}-{next_in_sequence(session, 'case', year):06d}"
