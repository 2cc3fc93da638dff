"""Session login and logout (Chinese pages), rate-limited."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from app.extensions import db, limiter
from app.services.accounts import authenticate
from app.services.errors import AuthenticationFailed
from app.web.navigation import safe_next

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    """Username and password."""

    username = StringField(_l("用户名"), validators=[DataRequired(_l("请输入用户名")), Length(max=80)])
    password = PasswordField(_l("密码"), validators=[DataRequired(_l("请输入密码")), Length(max=200)])
    remember = BooleanField(_l("记住我"))


def _login_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], deduct_when=lambda response: response.status_code != 302)
def login() -> Any:
    """Show the login form; on success go to `next` if it is a local path."""
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = authenticate(db.session(), form.username.data or "", form.password.data or "")
        except AuthenticationFailed as error:
            form.password.errors = [error.message]
            return render_template("auth/login.html", form=form), 401
        login_user(user, remember=bool(form.remember.data))
        return redirect(safe_next(request.args.get("next")) or url_for("main.home"))
    status = 400 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout() -> Any:
    """End the session."""
    logout_user()
    flash(_("您已退出登录。"), "info")
    return redirect(url_for("auth.login"))
