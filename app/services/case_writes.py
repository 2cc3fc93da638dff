"""Writing a step: the finished task, the new tasks, the opinion, the audit row and the case, in one go.

On PostgreSQL the whole step is ONE statement — the case UPDATE (with its version check) carrying the
other writes as data-modifying CTEs, the new tasks' ids coming back in its RETURNING — so a completion
costs one round trip for its writes, whatever it creates. Elsewhere (SQLite) the same rows are written by
one plain statement each, the new tasks' ids by INSERT … RETURNING. Either way no unit-of-work flush is
needed: the loaded objects are brought in step with `set_committed_value`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, Update, bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from app.models import AuditEvent, Case, HumanTask, Opinion
from app.services.projection import insert_tasks

_CASE_COLUMNS = (
    "state",
    "status",
    "open_task_uuids",
    "next_timer_at",
    "updated_at",
    "error_message",
    "closed_at",
    "pending_events",
)
_UPDATE_CASE = (
    update(Case)
    # "case_pk", not "case_id": Core adds to an UPDATE's SET every column its parameters name, and
    # human_task (updated in a CTE of the same statement) has a case_id column
    .where(Case.id == bindparam("case_pk"), Case.version == bindparam("seen_version"))
    .values(version=bindparam("new_version"), **{name: bindparam(name) for name in _CASE_COLUMNS})
    .execution_options(synchronize_session=False)
)
_FINISHED_COLUMNS = ("state", "completed_by_id", "completed_at", "decision", "assignee_id")
_FINISH_TASK = (
    update(HumanTask)
    .where(HumanTask.id == bindparam("task_id"))
    .values(**{name: bindparam(name) for name in _FINISHED_COLUMNS})
    .execution_options(synchronize_session=False)
)
_INSERT_OPINION, _INSERT_EVENT = insert(Opinion), insert(AuditEvent)
_OPINION, _EVENT, _FINISHED = "opinion_", "event_", "finished_"
_TASK_COLUMNS = tuple(column.key for column in HumanTask.__table__.columns if not column.primary_key)


class FinishedTask(NamedTuple):
    """The completed task's row id and the columns its completion sets (see `_FINISHED_COLUMNS`)."""

    task_id: int
    values: Mapping[str, Any]


def _table(model: type[Any]) -> Table:
    """The model's Core table: the CTEs use tables, so no ORM compile plugin runs inside them."""
    return cast(Table, model.__table__)


def _columns(model: type[Any]) -> list[Any]:
    return [column for column in _table(model).columns if not column.primary_key]


def _insert_cte(model: type[Opinion | AuditEvent], prefix: str) -> Any:
    """INSERT of one `model` row as a data-modifying CTE, its values bound as `<prefix><column>`."""
    values = {c.key: bindparam(prefix + c.key, type_=c.type) for c in _columns(model)}
    return insert(_table(model)).values(values).cte(prefix + "row")


@lru_cache(maxsize=256)
def _step_statement(finished: bool, new_tasks: int, opinion: bool, event: bool) -> Update:
    """PostgreSQL: the case UPDATE with the step's other rows as CTEs (built once per shape)."""
    ctes: list[Any] = []
    if finished:
        values: dict[str, Any] = {name: bindparam(_FINISHED + name) for name in _FINISHED_COLUMNS}
        tasks = _table(HumanTask)
        task_update = update(tasks).where(tasks.c.id == bindparam(_FINISHED + "task_id"))
        ctes.append(task_update.values(**values).cte("finished_task"))
    if opinion:
        ctes.append(_insert_cte(Opinion, _OPINION))
    if event:
        ctes.append(_insert_cte(AuditEvent, _EVENT))
    statement = _UPDATE_CASE.add_cte(*ctes) if ctes else _UPDATE_CASE
    if not new_tasks:
        return statement.returning(Case.id)
    # one single-row INSERT CTE per new task (a multi-row VALUES list would not be cacheable by
    # SQLAlchemy and be compiled again on every execution); each new id comes back in its own column
    table = _table(HumanTask)
    inserts = [
        insert(table)
        .values({c.key: bindparam(f"task{i}_{c.key}", type_=c.type) for c in _columns(HumanTask)})
        .returning(table.c.id)
        .cte(f"new_task{i}")
        for i in range(new_tasks)
    ]
    new_ids = [select(cte.c.id).scalar_subquery() for cte in inserts]
    return statement.add_cte(*inserts).returning(Case.id, *new_ids)


def step_parameters(
    opinion: Mapping[str, Any] | None,
    event: Mapping[str, Any] | None,
    finished: FinishedTask | None,
    new_tasks: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """The CTEs' parameters of `_step_statement`, each prefixed by its part (no bare column names: Core
    would add any it recognises to the SET of the CTE's UPDATE)."""
    params: dict[str, Any] = {}
    for prefix, row in ((_OPINION, opinion), (_EVENT, event)):
        params.update({prefix + name: value for name, value in (row or {}).items()})
    if finished is not None:
        params[_FINISHED + "task_id"] = finished.task_id
        params.update({_FINISHED + name: value for name, value in finished.values.items()})
    for i, task in enumerate(new_tasks):
        params.update({f"task{i}_{name}": task.get(name) for name in _TASK_COLUMNS})
    return params


def write_case(
    session: Session,
    case: Case,
    values: dict[str, Any],
    *,
    opinion: dict[str, Any] | None = None,
    event: dict[str, Any] | None = None,
    finished: FinishedTask | None = None,
    new_tasks: Sequence[Mapping[str, Any]] = (),
) -> dict[str, int]:
    """Write a step (see the module docstring); return the new tasks' ids by task uuid.

    `values` are the case's new values (from `project_result`), checked against the version the case was
    loaded at (StaleDataError when someone else changed it); `opinion` and `event` are rows from
    `locking.opinion_row` and `audit.event_row`; `new_tasks` the rows `project_result` planned.
    """
    connection = session.connection()
    version = case.version
    params = {"case_pk": case.id, "seen_version": version, "new_version": version + 1, **values}
    if connection.dialect.name == "postgresql":
        statement = _step_statement(
            finished is not None, len(new_tasks), opinion is not None, event is not None
        )
        params |= step_parameters(opinion, event, finished, new_tasks)
        returned = connection.execute(statement, params).first()
        if returned is None:
            raise StaleDataError(f"case {case.id} was changed by someone else (version {version})")
        new_ids = {str(task["task_uuid"]): int(i) for task, i in zip(new_tasks, returned[1:], strict=True)}
    else:
        if finished is not None:
            connection.execute(_FINISH_TASK, {"task_id": finished.task_id, **finished.values})
        new_ids = insert_tasks(session, new_tasks)
        for insert_row, row in ((_INSERT_OPINION, opinion), (_INSERT_EVENT, event)):
            if row is not None:
                connection.execute(insert_row, row)
        if connection.execute(_UPDATE_CASE, params).rowcount != 1:
            raise StaleDataError(f"case {case.id} was changed by someone else (version {version})")
    for name, value in values.items():
        set_committed_value(case, name, value)
    set_committed_value(case, "version", version + 1)
    return new_ids
