"""Error handlers: JSON under /api, a Chinese page elsewhere; never a traceback for user input."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from app.extensions import db
from app.services import errors as domain

STATUS_BY_ERROR: list[tuple[type[domain.DomainError], int]] = [
    (domain.TaskAlreadyHandled, 409),
    (domain.Conflict, 409),
    (domain.AuthenticationFailed, 401),
    (domain.PermissionDenied, 403),
    (domain.NotFound, 404),
    (domain.UnprocessableProcess, 422),
    (domain.WorkflowFailed, 422),
    (domain.InvalidInput, 400),
]


def status_for(error: domain.DomainError) -> int:
    """HTTP status for a domain error."""
    for kind, status in STATUS_BY_ERROR:
        if isinstance(error, kind):
            return status
    return 400


def wants_json() -> bool:
    """API paths, and clients that only accept JSON, get JSON errors."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def error_response(status: int, code: str, message: str, details: Any = None) -> Any:
    """Render an error as JSON `{"error", "message", "details"}` or as a page."""
    if wants_json():
        return jsonify({"error": code, "message": message, "details": details}), status
    return render_template("errors/error.html", status=status, code=code, message=message), status


def register(app: Flask) -> None:
    """Install the handlers."""

    @app.errorhandler(domain.DomainError)
    def _domain(error: domain.DomainError) -> Any:
        db.session.rollback()
        return error_response(status_for(error), error.code, error.message, error.details)

    @app.errorhandler(StaleDataError)
    def _stale(_error: StaleDataError) -> Any:  # the case changed under a write (its version check)
        db.session.rollback()
        return error_response(409, "conflict", _("此办件刚被他人更新，请刷新后重试。"))

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError) -> Any:
        db.session.rollback()
        return error_response(
            400, "csrf_failed", _("页面已过期或请求来源无效，请刷新后重试。"), error.description
        )

    @app.errorhandler(429)
    def _too_many(error: HTTPException) -> Any:
        return error_response(429, "too_many_requests", _("尝试次数过多，请稍后再试。"))

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Any:
        db.session.rollback()
        code = (error.name or "error").lower().replace(" ", "_")
        messages = {
            400: _("请求无效。"),
            401: _("请先登录。"),
            403: _("您无权执行此操作。"),
            404: _("页面或对象不存在。"),
            405: _("不支持此请求方法。"),
            413: _("上传的文件过大。"),
        }
        return error_response(
            error.code or 500, code, messages.get(error.code or 500, error.description or "")
        )

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Any:
        db.session.rollback()
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", _("系统内部错误，已记录。请稍后重试或联系管理员。"))
