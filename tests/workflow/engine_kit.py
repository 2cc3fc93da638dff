"""Helpers for the engine tests: compiled fixtures and a case driver that saves/restores at every step."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from lxml import etree
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from app.workflow import HumanTaskInfo, Result, SpecRef, WorkflowEngine, compile_process
from app.workflow.serializer import spec_to_json

BPMN = Path(__file__).parent / "bpmn"
CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 5, 6, 9, 0, tzinfo=CST)


def forms() -> dict[str, bytes]:
    """Every form fixture."""
    return {p.name: p.read_bytes() for p in sorted((BPMN / "forms").iterdir())}


@functools.cache
def spec_for(*names: str) -> SpecRef:
    """Compile the named BPMN fixtures (first one is the main process) into a SpecRef."""
    files = {f"{n}.bpmn": (BPMN / f"{n}.bpmn").read_bytes() for n in names}
    compiled = compile_process(files, forms(), process_id=names[0])
    return SpecRef(compiled.content_hash, compiled.spec_json)


def probe_bpmn(script: str, condition: str) -> bytes:
    """The sandbox probe: a script task then a gateway condition, both given verbatim."""
    template = (BPMN / "sandbox_template.bpmn").read_text(encoding="utf-8")
    return template.replace("__SCRIPT__", _xml(script)).replace("__CONDITION__", _xml(condition)).encode()


@functools.cache
def unchecked_probe_spec(script: str, condition: str) -> SpecRef:
    """The probe compiled WITHOUT govflow's linter (as a tampered or legacy stored version would be)."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_xml(etree.fromstring(probe_bpmn(script, condition)), filename="sandbox_probe.bpmn")
    spec_json = spec_to_json(parser.get_spec("sandbox_probe"), {})
    return SpecRef(hashlib.sha256(spec_json.encode()).hexdigest(), spec_json)


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def save_restore(state: str) -> str:
    """What the database does to a state: store the text, read it back (re-encoded)."""
    assert "spec" not in json.loads(state)
    return json.dumps(json.loads(state), ensure_ascii=False)


@dataclass
class Case:
    """Drives one case through the engine, restoring the state from text before every call."""

    engine: WorkflowEngine
    spec: SpecRef
    now: datetime = T0
    result: Result | None = None
    history: list[Result] = field(default_factory=list)

    def start(self, data: Mapping[str, Any]) -> Result:
        """Start the case."""
        return self._keep(self.engine.start(self.spec, dict(data), self.now))

    @property
    def state(self) -> str:
        """The current saved state."""
        assert self.result is not None
        return save_restore(self.result.state)

    def ready(self, bpmn_id: str) -> list[HumanTaskInfo]:
        """READY tasks of one step, as seen after restoring the state."""
        restored = self.engine.inspect(self.spec, self.state)
        return [t for t in restored.ready if t.bpmn_id == bpmn_id]

    def complete(self, bpmn_id: str, data: Mapping[str, Any] | None = None, index: int = 0) -> Result:
        """Restore the state, then complete the index-th READY task of `bpmn_id`."""
        task = self.ready(bpmn_id)[index]
        return self._keep(
            self.engine.complete(self.spec, self.state, task.task_id, dict(data or {}), self.now)
        )

    def fire(self, at: datetime) -> Result:
        """Fire the timers due at `at`."""
        self.now = at
        return self._keep(self.engine.fire_timers(self.spec, self.state, at))

    def message(self, name: str, payload: Mapping[str, Any]) -> Result:
        """Deliver a message."""
        return self._keep(self.engine.deliver_message(self.spec, self.state, name, dict(payload), self.now))

    def _keep(self, result: Result) -> Result:
        assert result.error is None, result.error
        self.result = result
        self.history.append(result)
        return result

    def ready_ids(self) -> list[str]:
        """BPMN ids of the READY human tasks."""
        assert self.result is not None
        return sorted(t.bpmn_id for t in self.result.ready)
