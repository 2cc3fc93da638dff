"""Deploy the small fixture processes used by the service tests."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from app.models import ProcessVersion
from app.services.processes import deploy_process, read_process_source

FIXTURES = Path(__file__).parent / "fixtures"


def deploy_fixture(
    session: Session, name: str, now: datetime, replace: dict[str, str] | None = None
) -> ProcessVersion:
    """Deploy tests/services/fixtures/<name>.bpmn with its forms, optionally with text replaced."""
    source = read_process_source([FIXTURES / f"{name}.bpmn"], FIXTURES / "forms")
    if replace:
        text = source.files[f"{name}.bpmn"].decode()
        for old, new in replace.items():
            assert old in text, old
            text = text.replace(old, new)
        source = type(source)(files={f"{name}.bpmn": text.encode()}, forms=source.forms)
    version = deploy_process(session, source, None, now).version
    session.commit()
    return version
