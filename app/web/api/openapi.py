"""`/api/v1/openapi.json`, generated from the registered API routes so it cannot drift."""

from __future__ import annotations

import re
from typing import Any

from flask import current_app, jsonify

from app.web.api import bp

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}, "details": {}},
}


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-zA-Z_]+)>", r"{\1}", rule)


def _operation(endpoint: str, method: str, params: list[str]) -> dict[str, Any]:
    view = current_app.view_functions[endpoint]
    summary = (view.__doc__ or endpoint).strip().splitlines()[0]
    errors = {
        str(code): {
            "description": text,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for code, text in [
            ("400", "invalid input"),
            ("401", "not authenticated"),
            ("403", "forbidden"),
            ("404", "not found"),
            ("409", "conflict"),
        ]
    }
    operation: dict[str, Any] = {
        "operationId": f"{endpoint.removeprefix('api.')}_{method.lower()}",
        "summary": summary,
        "responses": {"200": {"description": "OK"}, **errors},
        "parameters": [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in params
        ],
    }
    if endpoint in {"api.create_token", "api.openapi"}:
        operation["security"] = []
    return operation


@bp.get("/openapi.json")
def openapi() -> Any:
    """The OpenAPI 3.1 description of this API."""
    paths: dict[str, dict[str, Any]] = {}
    for rule in current_app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        path = _openapi_path(rule.rule.removeprefix("/api/v1"))
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(
                rule.endpoint, method, list(rule.arguments)
            )
    document = {
        "openapi": "3.1.0",
        "info": {"title": "govflow API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": ERROR_SCHEMA},
        },
    }
    return jsonify(document)
