"""Display helpers for the workspace templates: local times, due badges, Chinese labels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.models import HumanTask
from app.models.accounts import ROLE_CODES
from app.services.runtime import working_calendar
from app.services.task_lists import due_badge


@dataclass(frozen=True)
class Badge:
    """A due-date badge: level green / yellow / red and its text."""

    level: str
    text: str


ACTIONS = {
    "case.started": _l("启动办件"),
    "task.completed": _l("办理"),
    "task.returned": _l("退回"),
    "task.claimed": _l("认领"),
    "task.unclaimed": _l("取消认领"),
    "task.transferred": _l("转办"),
    "task.delegated": _l("委派"),
    "task.withdrawn": _l("撤回"),
    "task.urged": _l("催办"),
    "case.copied": _l("抄送"),
    "case.withdrawn": _l("申请人撤回"),
    "case.error": _l("流程异常"),
    "case.resumed": _l("恢复办理"),
    "timer.fired": _l("定时触发"),
    "message.delivered": _l("收到消息"),
    "clock.paused": _l("暂停计时"),
    "clock.resumed": _l("恢复计时"),
    "task.delegation_answered": _l("委派回复"),
    "task.delegation_recalled": _l("收回委派"),
    "task.countersigned": _l("加签办理"),
    "task.signer_added": _l("加签"),
    "task.signer_removed": _l("减签"),
    "task.proxied": _l("代理转交"),
    "task.proxy_returned": _l("代理结束归还"),
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
URGENCIES = {"extra_urgent": _l("特急"), "urgent": _l("加急"), "normal": _l("平件")}


def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An aware datetime in the local time zone ("" for None)."""
    if value is None:
        return ""
    return value.astimezone(working_calendar().tz).strftime(fmt)


def badge(level: str, left: int | None) -> Badge:
    """The badge of a list row: its colour (services.task_lists.due_badge) and working days left."""
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
    """The Chinese name of a role code."""
    return ROLE_CODES.get(code or "", code or "")


def action_label(action: str) -> str:
    """The timeline label of an audit action."""
    label = ACTIONS.get(action)
    return str(label) if label is not None else action


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


def register(bp: Blueprint) -> None:
    """Make the helpers available to every template."""
    bp.add_app_template_filter(localtime, "localtime")
    bp.add_app_template_global(badge, "badge")
    bp.add_app_template_global(task_badge, "task_badge")
    bp.add_app_template_global(role_label, "role_label")
    bp.add_app_template_global(action_label, "action_label")
    bp.add_app_template_global(status_label, "status_label")
    bp.add_app_template_global(urgency_label, "urgency_label")
    bp.add_app_template_global(decision_label, "decision_label")
