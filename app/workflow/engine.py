"""WorkflowEngine: state in, state out. Loads a case onto a cached spec, runs it sandboxed, dumps it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from copy import deepcopy
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.exceptions import TaskNotFoundException, WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from app.workflow import outcome
from app.workflow.clock import clock_at, require_aware
from app.workflow.datacheck import check_plain_data
from app.workflow.sandbox import SafeScriptEngine
from app.workflow.serializer import SpecBundle, dump_state, load_spec, load_state, new_workflow
from app.workflow.steps import index_steps
from app.workflow.types import InvalidTaskData, Result, SpecRef, TaskNotReady

__all__ = ["MessageNotExpected", "WorkflowEngine"]


class MessageNotExpected(Exception):
    """The case is not waiting for a message of that name."""


_CALLER_ERRORS = (TaskNotReady, MessageNotExpected, InvalidTaskData)


def describe_error(err: BaseException) -> str:
    """`<element id>: <message>` for an exception raised while running the process."""
    task = getattr(err, "task", None)
    spec = task.task_spec if task is not None else getattr(err, "task_spec", None)
    element = getattr(spec, "bpmn_id", None) or getattr(spec, "name", None) or "-"
    return f"{element}: {str(err).strip()}"


class WorkflowEngine:
    """The facade over SpiffWorkflow used by app.services (see docs/architecture.md)."""

    def __init__(self, helpers: Mapping[str, Callable[..., Any]] | None = None) -> None:
        self.script_engine = SafeScriptEngine(helpers or {})

    def _bundle(self, spec: SpecRef) -> SpecBundle:
        return load_spec(spec, index_steps)

    def _load(self, bundle: SpecBundle, state: str) -> Any:
        return load_state(bundle, state, self.script_engine)

    def _result(self, bundle: SpecBundle, workflow: Any, before: set[Any]) -> Result:
        events = outcome.outbound_events(workflow)  # drained before dumping: never stored
        return Result(
            state=dump_state(workflow),
            status=outcome.status_of(workflow),
            ready=outcome.ready_human_tasks(workflow, bundle.step_index),
            next_timer_at=outcome.next_timer_at(workflow),
            events=events,
            data=outcome.case_data(workflow),
            error=None,
            completed_steps=outcome.newly_completed(workflow, before),
        )

    def _error(self, bundle: SpecBundle, state: str, err: BaseException) -> Result:
        workflow = self._load(bundle, state)
        return Result(
            state=state,
            status="error",
            ready=outcome.ready_human_tasks(workflow, bundle.step_index),
            next_timer_at=outcome.next_timer_at(workflow),
            events=(),
            data=outcome.case_data(workflow),
            error=describe_error(err),
            completed_steps=(),
        )

    def _run(self, bundle: SpecBundle, state: str, now: datetime, step: Callable[[Any], None]) -> Result:
        """Load, apply `step`, run engine tasks; on a process error return the unchanged state."""
        return self._run_loaded(bundle, self._load(bundle, state), lambda: state, now, step)

    def _run_loaded(
        self,
        bundle: SpecBundle,
        workflow: Any,
        state_before: Callable[[], str],
        now: datetime,
        step: Callable[[Any], None],
    ) -> Result:
        """`_run` on a workflow already in memory; `state_before` gives its state as it was (errors)."""
        require_aware(now)
        before = outcome.completed_ids(workflow)
        try:
            with clock_at(now):
                step(workflow)
                workflow.do_engine_steps()
        except _CALLER_ERRORS:
            raise
        except Exception as err:  # scripts, conditions, timers: report, keep the case as it was
            return self._error(bundle, state_before(), err)
        return self._result(bundle, workflow, before)

    def start(self, spec: SpecRef, data: dict[str, Any], now: datetime) -> Result:
        """Create a case: run until the first human tasks or timers (no dump and load in between)."""
        check_plain_data(data)
        bundle = self._bundle(spec)

        def fresh() -> Any:
            workflow = new_workflow(bundle, self.script_engine)
            workflow.task_tree.data.update(deepcopy(data))  # each its own copy, as a dump + load gave
            for child in workflow.task_tree.children:
                child.data.update(deepcopy(data))
            return workflow

        return self._run_loaded(bundle, fresh(), lambda: dump_state(fresh()), now, lambda wf: None)

    def complete(
        self, spec: SpecRef, state: str, task_id: str, data: dict[str, Any], now: datetime
    ) -> Result:
        """Merge `data` into a READY user/manual task, complete it and run the engine."""
        check_plain_data(data)
        bundle = self._bundle(spec)

        def finish(workflow: Any) -> None:
            task = _human_task(workflow, task_id, bundle, TaskState.READY)
            task.set_data(**data)
            task.run()

        return self._run(bundle, state, now, finish)

    def fire_timers(self, spec: SpecRef, state: str, now: datetime) -> Result:
        """Fire every timer due at `now` (controlled clock) and run the engine."""
        return self._run(self._bundle(spec), state, now, lambda wf: wf.refresh_timers())

    def deliver_message(
        self, spec: SpecRef, state: str, name: str, payload: dict[str, Any], now: datetime
    ) -> Result:
        """Deliver an inbound message; raise MessageNotExpected when nothing waits for it."""
        check_plain_data(payload)

        def send(workflow: Any) -> None:
            try:
                workflow.send_event(BpmnEvent(MessageEventDefinition(name), payload=payload))
            except WorkflowException as err:
                raise MessageNotExpected(
                    f"流程未在等待消息 '{name}' (the case is not waiting for it)"
                ) from err

        return self._run(self._bundle(spec), state, now, send)

    def reset_to(self, spec: SpecRef, state: str, task_id: str, now: datetime) -> Result:
        """退回: reset to a completed human task (task id, or BPMN id for its latest run); a multi-instance
        step is reset as a whole."""
        bundle = self._bundle(spec)

        def reset(workflow: Any) -> None:
            task = _human_task(workflow, task_id, bundle, TaskState.COMPLETED, by_bpmn_id=True)
            parent = task.parent
            if parent is not None and isinstance(parent.task_spec, MultiInstanceTask):
                task = parent  # returning to a countersign step restarts every instance, not just one
            workflow.reset_from_task_id(task.id)

        return self._run(bundle, state, now, reset)

    def inspect(self, spec: SpecRef, state: str) -> Result:
        """Describe a case without changing it."""
        bundle = self._bundle(spec)
        workflow = self._load(bundle, state)
        return Result(
            state=state,
            status=outcome.status_of(workflow),
            ready=outcome.ready_human_tasks(workflow, bundle.step_index),
            next_timer_at=outcome.next_timer_at(workflow),
            events=(),
            data=outcome.case_data(workflow),
            error=None,
            completed_steps=(),
        )


def _find_task(workflow: Any, task_id: str, bundle: SpecBundle, state: int, by_bpmn_id: bool) -> Any:
    try:
        return workflow.get_task_from_id(UUID(task_id))
    except ValueError:
        if not by_bpmn_id:
            return None
    except TaskNotFoundException:
        return None
    matches = [
        t
        for t in workflow.get_tasks(state=state)
        if getattr(t.task_spec, "bpmn_id", None) == task_id
        and (t.workflow.spec.name, t.task_spec.name) in bundle.step_index
    ]
    return max(matches, key=lambda t: t.last_state_change) if matches else None


def _human_task(workflow: Any, task_id: str, bundle: SpecBundle, state: int, by_bpmn_id: bool = False) -> Any:
    """The user/manual task `task_id` (or, if allowed, the latest one of that BPMN id) in `state`."""
    task = _find_task(workflow, task_id, bundle, state, by_bpmn_id)
    if task is None:
        raise TaskNotReady(task_id, "找不到任务 (no such task)")
    if (task.workflow.spec.name, task.task_spec.name) not in bundle.step_index:
        raise TaskNotReady(task_id, "不是人工任务 (not a user or manual task)")
    if task.state != state:
        actual, wanted = TaskState.get_name(task.state), TaskState.get_name(state)
        raise TaskNotReady(
            task_id, f"任务状态为 {actual}，应为 {wanted} (state is {actual}, expected {wanted})"
        )
    return task
