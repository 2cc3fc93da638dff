"""Human steps of a spec: StepDef extraction and the per-spec index used to describe ready tasks."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

from app.workflow.types import StepDef

StepKey = tuple[str, str]


def _step_def(process_id: str, task_spec: Any) -> StepDef:
    ext: Mapping[str, Any] = getattr(task_spec, "extensions", None) or {}
    props = ext.get("properties") or {}
    return StepDef(
        bpmn_id=task_spec.bpmn_id,
        name=task_spec.bpmn_name,
        lane=task_spec.lane,
        form=ext.get("formJsonSchemaFilename"),
        ui_form=ext.get("formUiSchemaFilename"),
        properties=MappingProxyType({str(k): str(v) for k, v in props.items()}),
        instructions=ext.get("instructionsForEndUser"),
        process_id=process_id,
        multi_instance=task_spec.name != task_spec.bpmn_id,
    )


def _human_specs(spec: Any) -> Iterator[Any]:
    for task_spec in spec.task_specs.values():
        if getattr(task_spec, "manual", False) and getattr(task_spec, "bpmn_id", None):
            yield task_spec


def index_steps(spec: Any, subprocess_specs: Mapping[str, Any]) -> Mapping[StepKey, StepDef]:
    """Map (process spec name, task spec name) to the StepDef of every user/manual task."""
    index: dict[StepKey, StepDef] = {}
    for process in (spec, *subprocess_specs.values()):
        for task_spec in _human_specs(process):
            index[(process.name, task_spec.name)] = _step_def(process.name, task_spec)
    return MappingProxyType(index)


def extract_steps(spec: Any, subprocess_specs: Mapping[str, Any]) -> tuple[StepDef, ...]:
    """The StepDefs of a process and the processes it calls (spec order, caller first)."""
    return tuple(index_steps(spec, subprocess_specs).values())
