"""密级 (classification) of official documents: who may see a 秘密 / 机密 document."""

from __future__ import annotations

from app.models import Case

SECRECY_LEVELS = ("none", "secret", "confidential")  # 非密 / 秘密 / 机密 (the forms' codes)
CLASSIFIED = frozenset({"secret", "confidential", "秘密", "机密"})


def is_classified(case: Case) -> bool:
    """Whether a document case is 秘密 or 机密 (visible only to the people on its route and admins)."""
    return case.kind == "document" and str((case.data or {}).get("secrecy_level") or "") in CLASSIFIED
