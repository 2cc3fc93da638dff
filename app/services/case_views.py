"""Read-only views of one case for its pages: who may see it, opinions, timeline, steps, data labels."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.models import AuditEvent, Case, Department, HumanTask, Opinion, TaskCopy, User
from app.services.application_forms import MODES as START_MODES
from app.services.application_forms import start_form
from app.services.errors import PermissionDenied
from app.services.permissions import may_act, may_view_case
from app.services.proxies import acting_for
from app.services.runtime import spec_ref, version_form, workflow_engine
from app.services.secrecy import is_classified

HEAD_ROLES = frozenset({"dept_head", "leader"})
# Start data and engine variables that no form names (titles for the case page's data summary).
DATA_TITLES = {
    "lead_dept": "牵头部门",
    "member_departments": "成员部门",
    "member_decisions": "成员部门审查结论",
    "handling_departments": "分办部门",
    "dept": "部门",
    "next_step": "下一步",
    "body_text": "正文",
}
VALUE_ALIASES = {"member_decisions": "review_decision"}


@dataclass(frozen=True)
class DataLabels:
    """Titles of the form fields of a version and the labels of their enumerated values."""

    titles: Mapping[str, str]
    values: Mapping[str, Mapping[str, str]]
    departments: Mapping[str, str]

    def title(self, key: str) -> str:
        """The field's title, or the key itself."""
        return self.titles.get(key) or DATA_TITLES.get(key, key)

    def value(self, key: str, value: Any) -> str:
        """A value as the forms label it (lists joined with 、; department codes by name)."""
        if isinstance(value, list):
            return "、".join(self.value(key, item) for item in value)
        if isinstance(value, bool):
            return "是" if value else "否"
        text = "" if value is None else str(value)
        labels = self.values.get(key) or self.values.get(VALUE_ALIASES.get(key, ""), {})
        if text in labels:
            return labels[text]
        if "dept" in key or "department" in key:
            return self.departments.get(text, text)
        return text


def case_tasks(session: Session, case: Case) -> list[HumanTask]:
    """Every human task of the case (open, done, returned, cancelled), oldest first."""
    query = (
        select(HumanTask)
        .where(HumanTask.case_id == case.id)
        .options(selectinload(HumanTask.assignee), selectinload(HumanTask.completed_by))
        .order_by(HumanTask.id)
    )
    return list(session.scalars(query))


def _participant_ids(session: Session, case: Case, tasks: Iterable[HumanTask]) -> set[int]:
    ids: set[int] = set()
    for task in tasks:
        ids.update(i for i in (task.assignee_id, task.completed_by_id, task.owner_id) if i is not None)
    ids.update(session.scalars(select(Opinion.author_id).where(Opinion.case_id == case.id)))
    ids.update(session.scalars(select(TaskCopy.user_id).where(TaskCopy.case_id == case.id)))
    return ids


def _involved_departments(session: Session, tasks: Iterable[HumanTask], people: set[int]) -> set[str]:
    """Departments of the case's tasks and participants, with every parent department above them."""
    codes = {task.candidate_department for task in tasks if task.candidate_department}
    if people:
        for user in session.scalars(select(User).where(User.id.in_(people))):
            codes |= user.department_codes()
    departments = {d.code: d for d in session.scalars(select(Department))}
    found: set[str] = set()
    for code in codes:
        node = departments.get(code)
        while node is not None and node.code not in found:
            found.add(node.code)
            node = node.parent
    return found


def may_view(session: Session, user: User, case: Case) -> bool:
    """Participants, candidates of open tasks, their department heads and leaders, oversight roles.

    A 秘密 / 机密 document is visible only to the people on its route (originator, anyone who held or
    holds one of its tasks, opinion authors, copies) and administrators — not to oversight roles or heads.
    """
    tasks = case_tasks(session, case)
    people = _participant_ids(session, case, tasks)
    on_route = any(task.state == "open" and may_act(user, task) for task in tasks)
    if is_classified(case):
        return on_route or user.id in people or case.originator_id == user.id or user.has_role("admin")
    if on_route or may_view_case(user, case, people):
        return True
    if case.originator_id is not None:
        people.add(case.originator_id)
    involved = _involved_departments(session, tasks, people)
    return any(m.role.code in HEAD_ROLES and m.department_code in involved for m in user.memberships)


def case_opinions(session: Session, case: Case) -> list[Opinion]:
    """The opinion log, in the order written."""
    query = (
        select(Opinion)
        .where(Opinion.case_id == case.id)
        .options(selectinload(Opinion.author), selectinload(Opinion.on_behalf_of))
        .order_by(Opinion.created_at, Opinion.id)
    )
    return list(session.scalars(query))


def case_events(session: Session, case: Case) -> list[AuditEvent]:
    """The audit trail of the case, oldest first."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.case_id == case.id)
        .options(selectinload(AuditEvent.actor))
        .order_by(AuditEvent.created_at, AuditEvent.id)
    )
    return list(session.scalars(query))


def department_names(session: Session) -> dict[str, str]:
    """Department code -> name."""
    return {code: name for code, name in session.execute(select(Department.code, Department.name)).tuples()}


def step_ids(tasks: Iterable[HumanTask]) -> tuple[list[str], list[str]]:
    """(done, current) BPMN ids for the diagram: completed steps and the open ones."""
    done: list[str] = []
    current: list[str] = []
    for task in tasks:
        bucket = current if task.state == "open" else done if task.state == "completed" else None
        if bucket is not None and task.bpmn_id not in bucket:
            bucket.append(task.bpmn_id)
    return [step for step in done if step not in current], current


def next_task_for(session: Session, case: Case, user: User, now: datetime) -> HumanTask | None:
    """The first open task of the case the user may act on now (to continue after a submission)."""
    query = (
        select(HumanTask)
        .where(HumanTask.case_id == case.id, HumanTask.state == "open")
        .order_by(HumanTask.id)
    )
    for task in session.scalars(query):
        try:
            acting_for(session, user, task, now)
        except PermissionDenied:
            continue
        return task
    return None


def case_data(case: Case) -> dict[str, Any]:
    """The case's current workflow data (read from its state; nothing is changed)."""
    if not case.state:
        return {}
    result = workflow_engine().inspect(spec_ref(case.process_version), case.state)
    return dict(result.data)


def data_labels(
    case: Case, departments: Mapping[str, str] | None = None, tasks: Iterable[HumanTask] = ()
) -> DataLabels:
    """Field titles and value labels from every form of the case's version and, for an application,
    its item's start form (+ department names).

    A key that the forms of several steps define (`decision`, `opinion`, `legal_basis`…) holds what the
    last of those steps wrote: among the completed `tasks`, the one completed last whose form defines it
    gives its title — prefixed with the step's name, "牵头部门审查 · 审查结论" — and its value labels.
    Without such a task the first form defining the key names it, as for any other key.
    """
    titles: dict[str, str] = {}
    values: dict[str, dict[str, str]] = {}
    defined_by: dict[str, int] = {}
    version = case.process_version
    for step in version.steps:
        form = version_form(version, step["form"]) if step.get("form") else None
        for spec in form.fields() if form else []:
            defined_by[spec.name] = defined_by.get(spec.name, 0) + 1
            titles.setdefault(spec.name, spec.title)
            labels = values.setdefault(spec.name, {})
            for value, label in zip(spec.enum, spec.enum_labels, strict=False):
                labels.setdefault(str(value), label)
    item = case.service_item  # an application's own fields (申请人, 统一社会信用代码…) from its start form
    if item is not None and item.mode in START_MODES:
        for spec in start_form(item.mode).fields():
            titles.setdefault(spec.name, spec.title)
    done = [t for t in tasks if t.state == "completed" and t.form and t.completed_at is not None]
    for task in sorted(done, key=lambda t: (t.completed_at, t.id)):
        form = version_form(version, task.form) if task.form else None
        for spec in form.fields() if form else []:
            if defined_by.get(spec.name, 0) > 1:
                titles[spec.name] = f"{task.name} · {spec.title}"
                values[spec.name] = {
                    str(v): label for v, label in zip(spec.enum, spec.enum_labels, strict=False)
                }
    return DataLabels(titles, values, departments or {})


def opinion_decision_labels(
    case: Case, opinions: Iterable[Opinion], tasks: Iterable[HumanTask]
) -> dict[int, str]:
    """Opinion id -> its decision as labelled by the form of the step that wrote it (that form's decision
    field, `decisionField` or `decision`): the same value reads 受理 at the window and 签收 or 同意 elsewhere.

    Opinions of a step without a form (加签 rows, no step) or whose form does not list the value (退回,
    转办…) are left out: the caller labels them from the whole version.
    """
    by_id = {task.id: task for task in tasks}
    version = case.process_version
    forms: dict[tuple[str, str], dict[str, str]] = {}
    labels: dict[int, str] = {}
    for opinion in opinions:
        task = by_id.get(opinion.human_task_id) if opinion.human_task_id is not None else None
        if opinion.decision is None or task is None or not task.form:
            continue
        if opinion.decision == "return" and task.state == "returned":
            continue  # the 退回 operation, not a value of the form
        key = (task.form, task.properties.get("decisionField", "decision"))
        if key not in forms:
            form = version_form(version, key[0])
            spec = next((f for f in form.fields() if f.name == key[1]), None) if form else None
            forms[key] = (
                {str(v): label for v, label in zip(spec.enum, spec.enum_labels, strict=False)} if spec else {}
            )
        label = forms[key].get(opinion.decision)
        if label is not None:
            labels[opinion.id] = label
    return labels


def diagram_xml(case: Case) -> str | None:
    """The BPMN XML the case runs on (the version's file named after the process, else the first)."""
    files = case.process_version.source_files
    named = files.get(f"processes/{case.process_version.process_id}.bpmn")
    if named is not None:
        return named
    return next((text for name, text in sorted(files.items()) if name.startswith("processes/")), None)
