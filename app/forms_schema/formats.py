"""The `format` values govflow checks, using the standard library only."""

from __future__ import annotations

import re
from datetime import date, datetime

from jsonschema import FormatChecker

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})")

FORMAT_CHECKER = FormatChecker(formats=())


@FORMAT_CHECKER.checks("date")
def is_date(value: object) -> bool:
    """A calendar date written YYYY-MM-DD (non-strings pass; `type` reports them)."""
    if not isinstance(value, str):
        return True
    if not _DATE.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


@FORMAT_CHECKER.checks("email")
def is_email(value: object) -> bool:
    """A plain e-mail address such as zhang.san@example.gov.cn."""
    return not isinstance(value, str) or (len(value) <= 254 and _EMAIL.fullmatch(value) is not None)


@FORMAT_CHECKER.checks("date-time")
def is_date_time(value: object) -> bool:
    """An RFC 3339 timestamp with an explicit offset, e.g. 2026-01-05T09:00:00+08:00."""
    if not isinstance(value, str):
        return True
    if not _DATE_TIME.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        return False
    return True
