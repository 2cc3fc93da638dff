"""好差评 endpoint of the JSON API."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from app.extensions import db
from app.services.cases import get_case
from app.services.errors import InvalidInput
from app.services.evaluations import evaluate_case
from app.web.api import bp
from app.web.api.auth import api_user, json_body
from app.web.clock import now


@bp.post("/cases/<number>/evaluation")
def case_evaluation(number: str) -> Any:
    """Rate a closed case: `overall` and `scores` (1–5 each), optional `comment` (403 / 409 / 400)."""
    body = json_body()
    scores = body.get("scores") or {}
    comment = body.get("comment") or ""
    if not isinstance(scores, dict) or not isinstance(comment, str):
        raise InvalidInput("scores must be an object and comment a string")
    case = get_case(db.session(), number)
    evaluation = evaluate_case(db.session(), case, api_user(), body.get("overall"), scores, comment, now())
    db.session.commit()
    rectification = evaluation.rectification_case_id
    return jsonify(
        {
            "case": number,
            "overall": evaluation.overall,
            "scores": evaluation.scores,
            "comment": evaluation.comment,
            "rectification_started": rectification is not None,
        }
    ), 201
