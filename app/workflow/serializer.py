"""Serialization: one spec per version, instance state without the spec, deserialized specs cached."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from copy import deepcopy
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnWorkflowConverter,
    TaskConverter,
    WorkflowConverter,
)
from SpiffWorkflow.bpmn.serializer.workflow import VERSION, BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from app.workflow import clock
from app.workflow.types import SpecRef, StepDef

__all__ = ["SpecBundle", "dump_state", "load_spec", "load_state", "new_workflow", "spec_to_json"]

SPEC_CACHE_SIZE = 128


_UUIDS: dict[str, UUID] = {}
_TEXTS: dict[UUID, str] = {}
_UUID_CACHE_SIZE = 200_000


def _uuid(text: str) -> UUID:
    """UUID parsing is a visible share of load time: reuse the (immutable) objects across loads."""
    found = _UUIDS.get(text)
    if found is None:
        if len(_UUIDS) > _UUID_CACHE_SIZE:
            _UUIDS.clear()
        found = _UUIDS[text] = UUID(text)
        _TEXTS[found] = text
    return found


def _text(value: UUID) -> str:
    """str(UUID), cached (dumping formats every id three times)."""
    found = _TEXTS.get(value)
    if found is None:
        if len(_TEXTS) > _UUID_CACHE_SIZE:
            _TEXTS.clear()
        found = _TEXTS[value] = str(value)
    return found


class _TaskConverter(TaskConverter):  # type: ignore[misc]
    """Same JSON as SpiffWorkflow's TaskConverter, with cached UUIDs and no work on empty parts."""

    def to_dict(self, task: Any) -> dict[str, Any]:
        parent_id = task._parent
        parent = task.workflow.tasks.get(parent_id) if parent_id is not None else None
        if parent is None:
            data, delta = task.data, {}
        else:
            data = {}
            delta = {
                "updates": DeepMerge.get_updated_keys(parent.data, task.data),
                "deletions": DeepMerge.get_deleted_keys(parent.data, task.data),
            }
        internal = task.internal_data
        return {
            "id": _text(task.id),
            "parent": _text(parent_id) if parent is not None else None,
            "children": [_text(child) for child in task._children],
            "last_state_change": task.last_state_change,
            "state": task.state,
            "task_spec": task.task_spec.name,
            "triggered": task.triggered,
            "internal_data": self.registry.convert(internal) if internal else {},
            "data": data,
            "delta": delta,
        }

    def from_dict(self, dct: dict[str, Any], workflow: Any) -> Any:
        task_spec = workflow.spec.task_specs.get(dct["task_spec"])
        task = self.target_class(workflow, task_spec, state=dct["state"], id=_uuid(dct["id"]))
        parent = dct["parent"]
        task._parent = _uuid(parent) if parent is not None else None
        task._children = [_uuid(child) for child in dct["children"]]
        task.last_state_change = dct["last_state_change"]
        task.triggered = dct["triggered"]
        internal = dct["internal_data"]
        task.internal_data = self.registry.restore(internal) if internal else {}
        if isinstance(task_spec, CatchingEvent) and task.has_state(TaskState.WAITING):
            workflow.top_workflow.event_manager.add_task(task)
        delta = dct.get("delta")
        if delta and parent is not None:
            data = DeepMerge.merge({}, task.parent.data)
            updates = delta.get("updates")
            if updates:
                data.update(self.registry.restore(updates))
            for key in delta.get("deletions", ()):
                data.pop(key, None)
        else:
            data = self.registry.restore(dct["data"])
        task.data = data
        return task


def _config() -> dict[Any, Any]:
    config: dict[Any, Any] = deepcopy(SPIFF_CONFIG)
    for stock, ours in (
        (spiff_timer.TimeDateEventDefinition, clock.TimeDateEventDefinition),
        (spiff_timer.DurationTimerEventDefinition, clock.DurationTimerEventDefinition),
        (spiff_timer.CycleTimerEventDefinition, clock.CycleTimerEventDefinition),
    ):
        config[ours] = config[stock]  # registered last: restoring yields our clock-aware class
    del config[BpmnWorkflow]
    config[Task] = _TaskConverter
    return config


class _StateConverter(BpmnWorkflowConverter):  # type: ignore[misc]
    """Writes a workflow without its spec; restores it onto an already deserialized (cached) spec."""

    def to_dict(self, workflow: Any) -> dict[str, Any]:
        dct: dict[str, Any] = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def mapping_to_dict(self, mapping: Mapping[Any, Any], **kwargs: Any) -> dict[str, Any]:
        """Like the base, with cached UUID text for task ids."""
        convert = self.registry.convert
        return {_text(k) if isinstance(k, UUID) else str(k): convert(v, **kwargs) for k, v in mapping.items()}

    def restore_onto(self, dct: dict[str, Any], spec: Any, subprocess_specs: dict[str, Any]) -> Any:
        """Rebuild the task tree of `dct` on top of the given spec objects."""
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        restore = self.registry.restore
        workflow.tasks = {_uuid(k): restore(v, workflow=workflow) for k, v in dct["tasks"].items()}
        workflow.task_tree = workflow.tasks.get(_uuid(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = restore(dct.pop("bpmn_events", []))
        return workflow


REGISTRY = BpmnWorkflowSerializer.configure(_config())
_STATE_CONVERTER = _StateConverter(BpmnWorkflow, REGISTRY)
SERIALIZER = BpmnWorkflowSerializer(registry=REGISTRY)


@dataclass(frozen=True)
class SpecBundle:
    """A deserialized process spec with its call-activity specs (shared, never mutated)."""

    spec: Any
    subprocess_specs: Mapping[str, Any]
    step_index: Mapping[tuple[str, str], StepDef]


def spec_to_json(spec: Any, subprocess_specs: Mapping[str, Any]) -> str:
    """Serialize a parsed spec (and its call-activity specs) for storage once per version."""
    dct = {
        "serializer_version": VERSION,
        "spec": REGISTRY.convert(spec),
        "subprocess_specs": {name: REGISTRY.convert(sp) for name, sp in subprocess_specs.items()},
    }
    return json.dumps(dct, ensure_ascii=False, sort_keys=True)


class _SpecCache:
    """A small thread-safe LRU of deserialized specs keyed by content hash."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[str, SpecBundle] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, ref: SpecRef, build: Callable[[str], SpecBundle]) -> SpecBundle:
        with self.lock:
            bundle = self.items.get(ref.key)
            if bundle is not None:
                self.items.move_to_end(ref.key)
                return bundle
        bundle = build(ref.spec_json)
        with self.lock:
            self.items[ref.key] = bundle
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return bundle


_CACHE = _SpecCache(SPEC_CACHE_SIZE)
StepIndexer = Callable[[Any, Mapping[str, Any]], Mapping[tuple[str, str], StepDef]]


def load_spec(ref: SpecRef, index_steps: StepIndexer) -> SpecBundle:
    """The deserialized spec for `ref`, from the cache when possible."""

    def build(spec_json: str) -> SpecBundle:
        dct = json.loads(spec_json)
        spec = REGISTRY.restore(dct["spec"])
        subs = {name: REGISTRY.restore(sp) for name, sp in dct.get("subprocess_specs", {}).items()}
        return SpecBundle(spec, subs, index_steps(spec, subs))

    return _CACHE.get(ref, build)


def new_workflow(bundle: SpecBundle, script_engine: Any) -> Any:
    """A fresh workflow instance on a cached spec."""
    return BpmnWorkflow(bundle.spec, dict(bundle.subprocess_specs), script_engine=script_engine)


def dump_state(workflow: Any) -> str:
    """The workflow as JSON without spec and subprocess specs."""
    state: str = SERIALIZER.serialize_json(workflow)
    return state


def load_state(bundle: SpecBundle, state: str, script_engine: Any) -> Any:
    """Restore a workflow from spec-less state onto the cached spec and attach the script engine."""
    dct = json.loads(state)
    version = dct.pop(SERIALIZER.VERSION_KEY, None)
    if version != VERSION:
        raise ValueError(f"unsupported workflow state version {version!r} (expected {VERSION})")
    workflow = _STATE_CONVERTER.restore_onto(dct, bundle.spec, dict(bundle.subprocess_specs))
    workflow.script_engine = script_engine
    return workflow
