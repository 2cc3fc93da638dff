"""People and organisation: users, departments, roles, memberships, API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base

ROLE_CODES: dict[str, str] = {
    "applicant": "申请人",
    "clerk": "窗口受理员",
    "approver": "审批人员",
    "dept_head": "部门负责人",
    "leader": "分管领导",
    "office": "办公室",
    "supervisor": "监察人员",
    "designer": "流程设计员",
    "admin": "系统管理员",
    "inspector": "核查人员",
    "operator": "热线话务员",
    "arbiter": "派单仲裁员",
}


class Department(Base):
    """An organisational unit (委办局, 科室); may have a parent."""

    __tablename__ = "department"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))

    parent: Mapped[Department | None] = relationship(remote_side=[id])


class Role(Base):
    """A role code from ROLE_CODES with its Chinese name."""

    __tablename__ = "role"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(80))


class User(Base):
    """A person who logs in: applicant, staff member or administrator."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime]

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def is_active(self) -> bool:
        """Flask-Login: inactive users cannot log in."""
        return self.active

    @property
    def is_authenticated(self) -> bool:
        """Flask-Login: a loaded user is authenticated."""
        return True

    @property
    def is_anonymous(self) -> bool:
        """Flask-Login: never anonymous."""
        return False

    def get_id(self) -> str:
        """Flask-Login: the session key."""
        return str(self.id)

    def role_codes(self) -> set[str]:
        """Every role this user holds, in any department."""
        return {m.role.code for m in self.memberships}

    def has_role(self, code: str, department_code: str | None = None) -> bool:
        """Whether the user holds `code`, optionally in a given department."""
        return any(
            m.role.code == code and (department_code is None or m.department_code == department_code)
            for m in self.memberships
        )

    def department_codes(self) -> set[str]:
        """Every department the user belongs to."""
        return {m.department_code for m in self.memberships if m.department_code}


class Membership(Base):
    """User holds a role, optionally within a department."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "role_id", "department_id", name="uq_membership"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("role.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)

    user: Mapped[User] = relationship(back_populates="memberships")
    role: Mapped[Role] = relationship(lazy="joined")
    department: Mapped[Department | None] = relationship(lazy="joined")

    @property
    def department_code(self) -> str | None:
        """The department's code, if any."""
        return self.department.code if self.department else None


class ApiToken(Base):
    """A bearer token for /api/v1; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()
