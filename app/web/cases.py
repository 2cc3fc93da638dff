"""Case pages: everything about one case for whoever may see it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template
from flask_babel import gettext as _
from flask_login import login_required

from app.extensions import db
from app.models import Case, HumanTask, User
from app.services.case_views import case_data, data_labels, may_view
from app.services.cases import get_case
from app.services.diagrams import case_diagram
from app.services.errors import NotFound, PermissionDenied
from app.services.permissions import OVERSIGHT_ROLES, may_act
from app.web.case_context import actor, history_context
from app.web.clock import now
from app.web.display import lane_wording

bp = Blueprint("cases", __name__)


def visible_case(number: str) -> Case:
    """The case if the signed-in user may see it: 404 for no such case, 403 for everyone not involved."""
    case = get_case(db.session(), number)
    if not may_view(db.session(), actor(), case):
        raise PermissionDenied(_("您无权查看此办件"))
    return case


@bp.get("/cases/<number>")
@login_required
def case_page(number: str) -> Any:
    """Data summary, open tasks, opinions, timeline and the diagram with the current position."""
    case = visible_case(number)
    context = history_context(case)
    user = actor()
    open_tasks = [task for task in context["all_tasks"] if task.state == "open"]
    return render_template(
        "cases/case.html",
        case=case,
        data=case_data(case),
        labels=data_labels(case, context["departments"], context["all_tasks"]),
        open_tasks=open_tasks,
        my_task_ids={task.id for task in open_tasks if may_act(user, task)},
        can_urge=_may_urge(user, case, context["all_tasks"]),
        now=now(),
        **context,
    )


def _may_urge(user: User, case: Case, tasks: list[HumanTask]) -> bool:
    """Show 催办 to the originator, leaders and oversight, and whoever handled a step of the case."""
    if case.originator_id == user.id or user.role_codes() & (OVERSIGHT_ROLES | {"leader"}):
        return True
    return any(task.completed_by_id == user.id for task in tasks)


@bp.get("/cases/<number>/diagram.bpmn")
@login_required
def diagram(number: str) -> Any:
    """The BPMN XML the case runs on, for the diagram viewer (same permission as the case page); its lanes
    read as roles and departments (the file's role codes are for routing)."""
    case = visible_case(number)
    xml = case_diagram(db.session(), case, lane_wording())
    if xml is None:
        raise NotFound(_("此办件没有流程图"))
    response = Response(xml, mimetype="application/xml")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response
