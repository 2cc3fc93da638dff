"""The PostgreSQL step statement: exactly the columns each part names, and cacheable in every shape."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql

from app.models import AuditEvent, HumanTask, Opinion
from app.services.case_writes import (
    _CASE_COLUMNS,
    _FINISHED_COLUMNS,
    FinishedTask,
    _step_statement,
    step_parameters,
)

NOW = datetime(2026, 11, 23, 1, 30)


def _row(model: type[Any]) -> dict[str, Any]:
    return {c.key: None for c in model.__table__.columns if not c.primary_key}


def _executed_sql(new_tasks: int) -> str:
    """The statement as write_case executes it: Core adds to an UPDATE's SET every column its parameters
    name, so it is compiled with exactly the parameters write_case passes."""
    finished = FinishedTask(7, dict.fromkeys(_FINISHED_COLUMNS))
    tasks = [_row(HumanTask) | {"task_uuid": f"u{i}"} for i in range(new_tasks)]
    params = {"case_pk": 1, "seen_version": 1, "new_version": 2, **dict.fromkeys(_CASE_COLUMNS)}
    params |= step_parameters(_row(Opinion), _row(AuditEvent), finished, tasks)
    statement = _step_statement(True, new_tasks, True, True)
    return str(statement.compile(dialect=postgresql.dialect(), column_keys=list(params)))


def _set_columns(sql: str, table: str) -> list[str]:
    match = re.search(rf"UPDATE {table} SET (.*?) WHERE", sql, re.S)
    assert match, sql
    return sorted(part.split("=")[0].strip() for part in match.group(1).split(", "))


def test_each_part_writes_only_its_own_columns() -> None:
    sql = _executed_sql(new_tasks=2)
    assert _set_columns(sql, "human_task") == sorted(_FINISHED_COLUMNS)
    assert _set_columns(sql, "case_record") == sorted([*_CASE_COLUMNS, "version"])
    assert "case_record.id = %(case_pk)s" in sql and "case_record.version = %(seen_version)s" in sql
    assert sql.count("INSERT INTO human_task") == 2 and "SELECT new_task1.id" in sql


def test_every_shape_is_cacheable() -> None:
    """A statement SQLAlchemy cannot cache is compiled again on every completion (a multi-row VALUES)."""
    for shape in [
        (True, 0, True, True),
        (True, 4, True, True),
        (False, 2, False, True),
        (True, 0, False, False),
    ]:
        assert _step_statement(*shape)._generate_cache_key() is not None, shape
