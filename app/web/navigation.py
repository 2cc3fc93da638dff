"""Helpers for redirects: only same-site relative targets are followed."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l


def safe_next(target: str | None) -> str | None:
    """Return `target` if it is a local path, else None (no open redirects)."""
    if not target:
        return None
    target = target.strip()
    if "\\" in target or any(ord(c) < 32 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


# (endpoint, label, roles that see it; None = every signed-in user). Links whose endpoint is not
# registered are left out, so a page appears in the navigation as soon as it exists.
NAV_LINKS: tuple[tuple[str, LazyString, frozenset[str] | None], ...] = (
    ("portal.catalogue", _l("办事大厅"), frozenset({"applicant"})),
    ("portal.my_cases", _l("我的办件"), frozenset({"applicant"})),
    ("documents.document_list", _l("公文"), frozenset({"office", "leader", "dept_head", "approver"})),
    ("documents.work_orders", _l("12345 工单"), frozenset({"operator", "arbiter", "approver", "dept_head"})),
    ("supervision.dashboard", _l("电子监察"), frozenset({"supervisor", "admin", "dept_head", "leader"})),
    ("designer.processes", _l("流程设计"), frozenset({"designer", "admin"})),
    ("admin.calendar", _l("工作日历"), frozenset({"admin"})),
    ("deliveries.index", _l("消息投递"), frozenset({"admin"})),
    ("inbox.index", _l("消息"), None),
)


def nav_links(view_functions: Mapping[str, object], roles: set[str]) -> list[tuple[str, LazyString]]:
    """The (endpoint, label) links a user with `roles` sees, for endpoints that exist."""
    return [
        (endpoint, label)
        for endpoint, label, allowed in NAV_LINKS
        if endpoint in view_functions and (allowed is None or roles & allowed)
    ]
