"""Blueprint-wide access rules: signed in, and holding one of the given roles (403 otherwise)."""

from __future__ import annotations

from flask import Blueprint, abort
from flask_login import current_user, login_required


def restrict_to(bp: Blueprint, *roles: str) -> None:
    """Every view of `bp` needs a signed-in user holding one of `roles`."""

    @bp.before_request
    @login_required
    def _check_roles() -> None:
        if not any(current_user.has_role(role) for role in roles):
            abort(403)
