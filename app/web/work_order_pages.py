"""12345 work orders on the documents blueprint: the list and the operator's intake form."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from app.extensions import db
from app.services.case_views import department_names
from app.services.errors import InvalidInput
from app.services.work_orders import CATEGORIES, WorkOrderCall, list_work_orders, open_work_order
from app.web import display
from app.web.case_context import actor
from app.web.clock import now
from app.web.documents import REQUIRED, _require, attach_errors, bp

WORK_ORDER_ROLES = frozenset({"operator", "arbiter", "approver", "dept_head", "supervisor", "admin"})


class WorkOrderForm(FlaskForm):
    """受理登记 of a 12345 call."""

    caller_name = StringField(_l("来电人"), validators=[Length(max=100)])
    phone = StringField(_l("联系电话"), validators=[DataRequired(REQUIRED), Length(max=32)])
    category = SelectField(
        _l("诉求类别"), choices=[SelectChoice(c, display.WORK_ORDER_CATEGORIES.get(c, c)) for c in CATEGORIES]
    )
    content = TextAreaField(_l("诉求内容"), validators=[DataRequired(REQUIRED), Length(max=2000)])
    location = StringField(_l("事发地点"), validators=[Length(max=200)])
    suggested_dept = SelectField(_l("建议承办单位"), choices=[], validate_choice=True)


@bp.get("/work-orders")
@login_required
def work_orders() -> Any:
    """12345 工单: status, department, due date (limit by category), 退单 count."""
    _require(WORK_ORDER_ROLES)
    status = request.args.get("status") or None
    rows = list_work_orders(db.session(), actor(), status)
    return render_template(
        "documents/work_orders.html", rows=rows, status=status, departments=department_names(db.session())
    )


@bp.route("/work-orders/new", methods=["GET", "POST"])
@login_required
def work_order_new() -> Any:
    """受理: caller, phone, category, content, location, suggested department → hotline_work_order."""
    _require(frozenset({"operator"}))
    form = WorkOrderForm()
    departments = sorted(department_names(db.session()).items())
    form.suggested_dept.choices = [
        SelectChoice("", _("（由派单确定）")),
        *(SelectChoice(c, n) for c, n in departments),
    ]
    if form.validate_on_submit():
        call = WorkOrderCall(
            form.caller_name.data or "",
            form.phone.data or "",
            form.category.data or "",
            form.content.data or "",
            form.location.data or "",
            form.suggested_dept.data or None,
        )
        try:
            case = open_work_order(db.session(), call, actor(), now())
        except InvalidInput as invalid:
            db.session.rollback()
            attach_errors(form, invalid.details)
        else:
            db.session.commit()
            flash(_("已登记工单 %(case)s。", case=case.number), "success")
            return redirect(url_for("cases.case_page", number=case.number))
    status = 400 if request.method == "POST" else 200
    return render_template("documents/work_order_new.html", form=form), status
