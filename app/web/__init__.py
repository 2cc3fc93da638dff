"""Web layer: extensions binding, blueprints, error handlers, security headers, locale."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, request, session
from flask_babel import get_locale

from app.extensions import babel, csrf, db, limiter, login_manager, migrate
from app.models import User
from app.services.accounts import get_user

MIGRATIONS_DIR = str(Path(__file__).resolve().parents[2] / "migrations")


def init_web(app: Flask) -> None:
    """Bind extensions and register every blueprint and handler."""
    db.init_app(app)
    from app.web import database

    database.register(app)  # first: its before-request hook picks the SQLite transaction mode
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录"
    login_manager.user_loader(_load_user)
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["nav_links"] = _nav_links

    from app.web import (
        admin,
        api,
        auth,
        cases,
        deliveries,
        designer,
        documents,
        errors,
        inbox,
        main,
        portal,
        results,
        security,
        supervision,
        tasks,
        workspace_settings,
    )

    blueprints = (
        auth.bp,
        main.bp,
        tasks.bp,
        cases.bp,
        admin.bp,
        deliveries.bp,
        designer.bp,
        documents.bp,
        inbox.bp,
        portal.bp,
        results.bp,
        supervision.bp,
        api.bp,
        workspace_settings.bp,
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    csrf.exempt(api.bp)
    errors.register(app)
    security.register(app)


def _select_locale() -> str:
    lang = request.args.get("lang") or session.get("lang")
    return lang if lang in {"zh_CN", "en"} else "zh_CN"


def _load_user(user_id: str) -> User | None:
    if not user_id.isdigit():
        return None
    return get_user(db.session(), int(user_id))


def _nav_links() -> list[tuple[str, object]]:
    from flask import current_app
    from flask_login import current_user

    from app.web.navigation import nav_links

    return nav_links(current_app.view_functions, current_user.role_codes())
