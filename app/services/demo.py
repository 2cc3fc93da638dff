"""Demo organisation for `flask seed demo`: a 高新区管委会 with its bureaus and one user per role."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import User
from app.services.accounts import create_user, ensure_department, ensure_roles
from app.services.catalogue import seed_catalogue

DEMO_PASSWORD = "govflow-demo-2026"  # noqa: S105  (demo only, printed by make run)

ROOT_DEPARTMENT = ("gxq", "高新区管委会")

DEPARTMENTS: list[tuple[str, str]] = [
    ("approval", "行政审批局"),
    ("market", "市场监管局"),
    ("nature", "自然资源和规划局"),
    ("eco", "生态环境局"),
    ("housing", "住房和城乡建设局"),
    ("fire", "消防救援大队"),
    ("tax", "税务局"),
    ("police", "公安分局"),
    ("office", "管委会办公室"),
    ("hotline", "12345 市民服务热线中心"),
    ("supervision", "纪工委监察室"),
]

# username, display name, [(role, department)]
DEMO_USERS: list[tuple[str, str, list[tuple[str, str | None]]]] = [
    ("admin", "系统管理员", [("admin", None)]),
    ("designer", "流程设计员 周工", [("designer", "approval")]),
    ("clerk", "窗口受理员 王敏", [("clerk", "approval")]),
    ("approver_approval", "审批局审批员 陈静", [("approver", "approval")]),
    ("approver_market", "市场监管局审批员 刘洋", [("approver", "market")]),
    ("approver_tax", "税务局审批员 赵磊", [("approver", "tax")]),
    ("approver_police", "公安分局审批员 孙强", [("approver", "police")]),
    ("approver_nature", "自然资源局审批员 吴芳", [("approver", "nature")]),
    ("approver_eco", "生态环境局审批员 郑涛", [("approver", "eco")]),
    ("approver_housing", "住建局审批员 冯雪", [("approver", "housing")]),
    ("approver_fire", "消防大队审批员 何军", [("approver", "fire")]),
    ("head_approval", "审批局局长 李建国", [("dept_head", "approval")]),
    ("head_market", "市场监管局局长 黄海", [("dept_head", "market")]),
    ("leader", "分管副主任 张立", [("leader", "gxq")]),
    ("office", "办公室秘书 林晓", [("office", "office")]),
    ("supervisor", "监察室主任 马正", [("supervisor", "supervision")]),
    ("inspector", "市场监管核查员 高峰", [("inspector", "market")]),
    ("operator", "12345 话务员 许可", [("operator", "hotline")]),
    ("arbiter", "12345 派单仲裁员 韩梅", [("arbiter", "hotline")]),
    ("applicant", "申请人 张三", [("applicant", None)]),
    ("enterprise", "企业申请人 李娜（星辰科技有限公司）", [("applicant", None)]),
]


def seed_demo(session: Session, now: datetime) -> list[str]:
    """Create the demo organisation, users and service catalogue that are missing; return new usernames."""
    ensure_roles(session)
    root = ensure_department(session, *ROOT_DEPARTMENT)
    for code, name in DEPARTMENTS:
        ensure_department(session, code, name, parent=root)
    seed_catalogue(session)
    existing = set(session.scalars(select(User.username)))
    created: list[str] = []
    for username, display_name, roles in DEMO_USERS:
        if username in existing:
            continue
        create_user(
            session,
            username=username,
            display_name=display_name,
            password=DEMO_PASSWORD,
            now=now,
            roles=roles,
        )
        created.append(username)
    return created
