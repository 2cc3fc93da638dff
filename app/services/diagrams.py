"""The diagram a case's viewer shows: the BPMN file the case runs on with each lane named for people.

Lane names are role codes that route the tasks (`clerk`, `approver@{lead_dept}`, `dept_head@{dept}`);
the file keeps them. The viewer gets the role's name from the roles table, with the department when the
lane resolves to one from the case's data as the routing does (`permissions.candidates_for`):
"审批人员 · 市场监管局"; a multi-instance lane's department differs per instance: "审批人员（各成员部门）";
a department the case has not decided yet: "审批人员（部门待定）". Lanes that name no known role keep
their name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Case, Role
from app.services.case_views import case_data, data_labels, department_names, diagram_xml
from app.services.permissions import candidates_for, data_key, split_lane
from app.workflow.lanes import Lane, relabel_lanes


@dataclass(frozen=True)
class LaneWording:
    """How lane labels read; Chinese by default, the web layer passes its translations. Formats take
    %(role)s, %(department)s (one department) and %(group)s (what a multi-instance lane runs over)."""

    role_names: Mapping[str, str] = field(default_factory=dict)  # over the roles table's names
    one_department: str = "%(role)s · %(department)s"
    each_department: str = "%(role)s（各%(group)s）"
    any_group: str = "相关部门"
    department_pending: str = "%(role)s（部门待定）"


@dataclass(frozen=True)
class LaneNames:
    """What lane labels name: roles and departments by code, and the titles of the collections
    multi-instance lanes run over (`member_departments` -> 成员部门) where a form or the case page has one."""

    roles: Mapping[str, str]
    departments: Mapping[str, str]
    titles: Mapping[str, str] = field(default_factory=dict)


def case_diagram(session: Session, case: Case, wording: LaneWording | None = None) -> bytes | None:
    """The BPMN XML the case runs on, its lanes labelled for the viewer (None without a diagram)."""
    xml = diagram_xml(case)
    if xml is None:
        return None
    wording = wording or LaneWording()
    roles = dict(session.execute(select(Role.code, Role.name)).tuples().all()) | dict(wording.role_names)
    departments = department_names(session)
    labels = data_labels(case, departments)
    data = case_data(case)

    def label(lane: Lane) -> str | None:
        titles = {key: labels.title(key) for key in lane.element_variables.values() if key}
        return lane_label(lane, data, LaneNames(roles, departments, titles), wording)

    return relabel_lanes(xml.encode(), label, f"{case.process_version.process_id}.bpmn")


def lane_label(lane: Lane, data: Mapping[str, Any], names: LaneNames, wording: LaneWording) -> str | None:
    """The label of one lane, or None to keep its name (it names no known role)."""
    who = candidates_for(lane.name, {}, data)
    role = names.roles.get(who.role or "")
    if role is None:
        return None
    department_part = split_lane(lane.name)[1]
    key = data_key(department_part)
    if key is not None and key in lane.element_variables:  # one department per instance
        collection = lane.element_variables[key]
        title = names.titles.get(collection, collection)
        group = title if title and title != collection else wording.any_group
        return wording.each_department % {"role": role, "group": group}
    if who.department is not None:
        department = names.departments.get(who.department, who.department)
        return wording.one_department % {"role": role, "department": department}
    if department_part is not None:
        return wording.department_pending % {"role": role}
    return role
