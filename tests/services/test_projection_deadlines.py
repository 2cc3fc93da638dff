"""Step due dates from a form field (`deadlineField`) and from working-day limits."""

from __future__ import annotations

from datetime import datetime

import pytest

from app.services.projection import deadline_from_field, time_limit_days


def test_deadline_field_gives_the_close_of_that_date() -> None:
    due = deadline_from_field(
        {"deadlineField": "verification_deadline"}, {"verification_deadline": "2026-12-18"}
    )
    assert due == datetime.fromisoformat("2026-12-18T23:59:59+08:00")
    stamped = {"verification_deadline": "2026-12-18T10:00:00+08:00"}
    assert deadline_from_field({"deadlineField": "verification_deadline"}, stamped) == due


@pytest.mark.parametrize("value", [None, "", "next week", 20261218, "2026-13-40"])
def test_missing_or_malformed_deadline_falls_back(value: object) -> None:
    assert deadline_from_field({"deadlineField": "d"}, {"d": value}) is None
    assert deadline_from_field({}, {"d": "2026-12-18"}) is None


def test_limits_by_category() -> None:
    props = {"timeLimitByCategory": "咨询:3,投诉:13,default:7"}
    assert [time_limit_days(props, {"category": c}) for c in ("咨询", "投诉", "其他")] == [3, 13, 7]
