"""The timeline's words: every audit action the services record has one, worded as something that happened."""

from __future__ import annotations

import ast
from pathlib import Path

from flask import Flask
from flask_babel import force_locale

from app.models.accounts import ROLE_CODES
from app.web.display import ACTIONS, ACTIONS_TO, ROLES, action_label, role_label

SERVICES = Path(__file__).resolve().parents[2] / "app" / "services"
RECORDERS = {"record_event", "_audit"}  # _audit: supervision_orders' wrapper of record_event


def _recorded_actions() -> set[str]:
    """The action argument of every record_event(session, case, actor, action, …) call in app/services."""
    found: set[str] = set()
    for path in SERVICES.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in RECORDERS:
                action = node.args[3] if len(node.args) > 3 else None
                if isinstance(action, ast.Constant) and isinstance(action.value, str):
                    found.add(action.value)
    return found


def test_every_recorded_action_has_a_timeline_label() -> None:
    recorded = _recorded_actions()
    assert {"task.claimed", "supervision.order_issued", "licence.revoked"} <= recorded  # the scan works
    assert sorted(recorded - ACTIONS.keys()) == []
    assert set(ACTIONS_TO) <= set(ACTIONS)


def test_the_english_timeline_says_what_happened(app: Flask) -> None:
    with app.test_request_context(), force_locale("en"):
        assert action_label("task.claimed") == "Claimed"  # not the button's "Claim"
        assert action_label("case.copied") == "Copied"  # not the tab's "Copies"
        assert action_label("case.copied", "李四、王五") == "Copied to 李四、王五"
        assert action_label("task.returned", "窗口受理") == "Returned to 窗口受理"
        assert action_label("case.migrated", "v2") == "Moved to process version v2"
        assert action_label("supervision.order_issued") == "Supervision order issued"
        assert action_label("no.such_action") == "Other action"  # never the code
    with app.test_request_context(), force_locale("zh_CN"):
        assert action_label("task.claimed") == "认领"
        assert action_label("task.transferred", "刘二") == "转办给 刘二"


def test_every_role_has_a_label_in_both_languages(app: Flask) -> None:
    with app.test_request_context(), force_locale("zh_CN"):
        assert {code: role_label(code) for code in ROLES} == ROLE_CODES  # the roles table's names
    with app.test_request_context(), force_locale("en"):
        english = {code: role_label(code) for code in ROLE_CODES}
        assert english["approver"] == "Approver" and english["clerk"] == "Window clerk"
        assert not [name for name in english.values() if not name.isascii()]
        assert role_label("no_such_role") == "no_such_role"
