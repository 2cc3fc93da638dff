"""Display helpers for the workspace templates: local times, due badges, Chinese labels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _t

from app.models import HumanTask
from app.models.accounts import ROLE_CODES
from app.services.diagrams import LaneWording
from app.services.runtime import working_calendar
from app.services.task_rows import due_badge


@dataclass(frozen=True)
class Badge:
    """A due-date badge: level green / yellow / red and its text."""

    level: str
    text: str


# Timeline wording of every audit action the services record (grep `record_event(` in app/services): its
# own translation context, so the English timeline reads "Claimed", "Copied to …" and not the button words.
ACTIONS = {
    "case.started": _t("timeline", "启动办件"),
    "case.withdrawn": _t("timeline", "申请人撤回"),
    "case.error": _t("timeline", "流程异常"),
    "case.resumed": _t("timeline", "恢复办理"),
    "case.migrated": _t("timeline", "已迁移流程版本"),
    "case.copied": _t("timeline", "抄送"),
    "application.submitted": _t("timeline", "提交申请"),
    "task.completed": _t("timeline", "办理"),
    "task.returned": _t("timeline", "退回"),
    "task.claimed": _t("timeline", "认领"),
    "task.unclaimed": _t("timeline", "取消认领"),
    "task.transferred": _t("timeline", "转办"),
    "task.delegated": _t("timeline", "委派"),
    "task.delegation_answered": _t("timeline", "委派回复"),
    "task.delegation_recalled": _t("timeline", "收回委派"),
    "task.withdrawn": _t("timeline", "撤回"),
    "task.urged": _t("timeline", "催办"),
    "task.signer_added": _t("timeline", "加签"),
    "task.signer_removed": _t("timeline", "减签"),
    "task.countersigned": _t("timeline", "加签办理"),
    "task.proxied": _t("timeline", "代理转交"),
    "task.proxy_returned": _t("timeline", "代理结束归还"),
    "timer.fired": _t("timeline", "定时触发"),
    "message.delivered": _t("timeline", "收到消息"),
    "clock.paused": _t("timeline", "暂停计时"),
    "clock.resumed": _t("timeline", "恢复计时"),
    "clock.extension_requested": _t("timeline", "申请延期"),
    "clock.extension_approved": _t("timeline", "批准延期"),
    "supervision.order_issued": _t("timeline", "督办单已下达"),
    "supervision.order_replied": _t("timeline", "督办单已答复"),
    "supervision.order_closed": _t("timeline", "督办单已办结"),
    "supervision.order_escalated": _t("timeline", "督办单已升级"),
    "alert.acknowledged": _t("timeline", "预警已确认"),
    "licence.issued": _t("timeline", "证照已发放"),
    "licence.revoked": _t("timeline", "证照已注销"),
    "evaluation.rated": _t("timeline", "收到评价"),
    "evaluation.rerated": _t("timeline", "评价已修改"),
    "evaluation.no_department": _t("timeline", "差评未找到责任部门"),
    "evaluation.rectification": _t("timeline", "差评整改已立案"),
    "evaluation.appealed": _t("timeline", "差评申诉"),
    "evaluation.appeal_decided": _t("timeline", "申诉已处理"),
    "complaint.filed": _t("timeline", "投诉已登记"),
    "complaint.handled": _t("timeline", "投诉已处理"),
    "credit.recorded": _t("timeline", "已记入信用记录"),
    "credit.repaired": _t("timeline", "信用修复"),
    # recorded without a case: never on a case timeline, named for completeness
    "proxy.set": _t("timeline", "设置代理"),
    "proxy.started": _t("timeline", "代理开始"),
    "proxy.ended": _t("timeline", "代理结束"),
    "proxy.cancelled": _t("timeline", "代理已取消"),
    "calendar.override_added": _t("timeline", "添加日历调整"),
    "calendar.override_removed": _t("timeline", "删除日历调整"),
    "outbox.replayed": _t("timeline", "事件重放"),
}
# The wording when the timeline names whom or where an action went: "抄送给 李四" / "Copied to 李四".
ACTIONS_TO = {
    "case.copied": _t("timeline", "抄送给 %(to)s"),
    "case.migrated": _t("timeline", "迁移至流程版本 %(to)s"),
    "task.returned": _t("timeline", "退回至 %(to)s"),
    "task.transferred": _t("timeline", "转办给 %(to)s"),
    "task.delegated": _t("timeline", "委派给 %(to)s"),
    "task.urged": _t("timeline", "催办 %(to)s"),
    "task.signer_added": _t("timeline", "加签 %(to)s"),
    "task.proxied": _t("timeline", "代理转交给 %(to)s"),
    "task.proxy_returned": _t("timeline", "代理结束归还 %(to)s"),
}
STATUSES = {
    "open": _l("办理中"),
    "completed": _l("已办结"),
    "terminated": _l("已终止"),
    "error": _l("异常"),
    "suspended": _l("已暂停"),
}
DECISIONS = {
    "accept": _l("受理"),
    "refuse": _l("不予受理"),
    "supplement": _l("需补正"),
    "pass": _l("审查通过"),
    "agree": _l("同意"),
    "disagree": _l("不同意"),
    "approve": _l("准予许可"),
    "deny": _l("不予许可"),
    "return": _l("退回"),
    "transfer": _l("转办"),
    "delegate": _l("委派"),
}
# 12345 诉求类别 (app.services.work_orders.CATEGORIES): the stored value stays Chinese, the label translates.
WORK_ORDER_CATEGORIES = {
    "咨询": _l("咨询"),
    "求助": _l("求助"),
    "投诉": _l("投诉"),
    "建议": _l("建议"),
    "表扬": _l("表扬"),
}
URGENCIES = {"extra_urgent": _l("特急"), "urgent": _l("加急"), "normal": _l("平件")}
# Role names in the UI language: the Chinese ones are app.models.accounts.ROLE_CODES (the roles table's).
ROLES = {
    "applicant": _l("申请人"),
    "clerk": _l("窗口受理员"),
    "approver": _l("审批人员"),
    "dept_head": _l("部门负责人"),
    "leader": _l("分管领导"),
    "office": _l("办公室"),
    "supervisor": _l("监察人员"),
    "designer": _l("流程设计员"),
    "admin": _l("系统管理员"),
    "inspector": _l("核查人员"),
    "operator": _l("热线话务员"),
    "arbiter": _l("派单仲裁员"),
}


def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An aware datetime in the local time zone ("" for None)."""
    if value is None:
        return ""
    return value.astimezone(working_calendar().tz).strftime(fmt)


def badge(level: str, left: int | None) -> Badge:
    """The badge of a list row: its colour (services.task_rows.due_badge) and working days left."""
    if left is None:
        return Badge(level, "")
    if level == "red":
        return Badge("red", _("已超期 %(n)s 个工作日", n=-left) if left < 0 else _("已超期"))
    if left <= 0:
        return Badge(level, _("今日到期"))
    return Badge(level, _("剩 %(n)s 个工作日", n=left))


def task_badge(task: HumanTask, now: datetime) -> Badge | None:
    """Green with time to spare, yellow at 80 % used or on the last working day, red when overdue."""
    if task.due_at is None:
        return None
    return badge(*due_badge(task.created_at, task.due_at, now))


def role_label(code: str | None) -> str:
    """The name of a role code in the UI language."""
    label = ROLES.get(code or "")
    return str(label) if label is not None else ROLE_CODES.get(code or "", code or "")


def lane_wording() -> LaneWording:
    """How the diagram's lane labels read in the UI language (in Chinese: the roles table's names)."""
    chinese = str(get_locale()) != "en"
    return LaneWording(
        role_names={} if chinese else {code: str(label) for code, label in ROLES.items()},
        one_department=_("%(role)s · %(department)s"),
        each_department=_("%(role)s（各%(group)s）"),
        any_group=_("相关部门"),
        department_pending=_("%(role)s（部门待定）"),
    )


def action_label(action: str, to: str = "") -> str:
    """The timeline wording of an audit action, naming `to` (a person, a step, a version) when given.

    An action no one has named yet shows as 其他操作, never as its code."""
    if to and action in ACTIONS_TO:
        return str(ACTIONS_TO[action]) % {"to": to}
    label = ACTIONS.get(action)
    text = str(label) if label is not None else str(_t("timeline", "其他操作"))
    return f"{text} → {to}" if to else text


def status_label(status: str) -> str:
    """The label of a case status."""
    label = STATUSES.get(status)
    return str(label) if label is not None else status


def decision_label(value: str | None) -> str:
    """The label of a common decision value (the value itself when unknown)."""
    label = DECISIONS.get(value or "")
    return str(label) if label is not None else (value or "")


def urgency_label(value: Any) -> str:
    """The label of an urgency (公文 紧急程度) value ("" when none)."""
    label = URGENCIES.get(str(value)) if value else None
    return str(label) if label is not None else str(value or "")


def category_label(value: Any) -> str:
    """The label of a 12345 诉求类别 ("" when none)."""
    label = WORK_ORDER_CATEGORIES.get(str(value)) if value else None
    return str(label) if label is not None else str(value or "")


def register(bp: Blueprint) -> None:
    """Make the helpers available to every template."""
    bp.add_app_template_filter(localtime, "localtime")
    bp.add_app_template_global(badge, "badge")
    bp.add_app_template_global(task_badge, "task_badge")
    bp.add_app_template_global(role_label, "role_label")
    bp.add_app_template_global(action_label, "action_label")
    bp.add_app_template_global(status_label, "status_label")
    bp.add_app_template_global(urgency_label, "urgency_label")
    bp.add_app_template_global(category_label, "category_label")
    bp.add_app_template_global(decision_label, "decision_label")
