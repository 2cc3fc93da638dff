"""Move a running case to a new process version when nothing it already did has changed."""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.util.task import TaskState

from app.workflow.sandbox import SafeScriptEngine
from app.workflow.serializer import REGISTRY, SpecBundle, dump_state, load_spec, load_state
from app.workflow.steps import index_steps
from app.workflow.types import MigrationOutcome, SpecRef

__all__ = ["migrate"]

_DONE = TaskState.COMPLETED | TaskState.STARTED | TaskState.ERROR
_ENGINE = SafeScriptEngine()


def _label(task: Any) -> str:
    spec = task.task_spec
    return str(getattr(spec, "bpmn_id", None) or spec.name)


def _refusals(diff: Any, where: str) -> list[str]:
    reasons = []
    for task in diff.changed:
        if task.has_state(_DONE):
            state = TaskState.get_name(task.state)
            reasons.append(f"{where}{_label(task)}: 已{state}的任务定义已改变 ({state} task changed)")
    for task in diff.removed:
        if task.has_state(_DONE | TaskState.READY | TaskState.WAITING):
            reasons.append(f"{where}{_label(task)}: 任务在新版本中被删除 (task removed in the new version)")
    return reasons


def _diff(workflow: Any, new: SpecBundle) -> tuple[Any, dict[Any, Any], list[str]]:
    top, subs = diff_workflow(REGISTRY, workflow, new.spec, new.subprocess_specs)
    reasons = _refusals(top, "")
    for sp_id, sp_diff in subs.items():
        name = workflow.subprocesses[sp_id].spec.name
        if sp_diff is None:
            reasons.append(
                f"{name}: 被调用的流程在新版本中不存在 (called process missing in the new version)"
            )
        else:
            reasons.extend(_refusals(sp_diff, f"{name}/"))
    return top, subs, reasons


def migrate(old: SpecRef, new: SpecRef, state: str) -> MigrationOutcome:
    """Migrate `state` from `old` to `new`; refuse when a completed or started task's definition changed."""
    old_bundle, new_bundle = load_spec(old, index_steps), load_spec(new, index_steps)
    workflow = load_state(old_bundle, state, _ENGINE)
    top, subs, reasons = _diff(workflow, new_bundle)
    if reasons:
        return MigrationOutcome(False, None, tuple(reasons))
    migrate_workflow(top, workflow, new_bundle.spec)
    workflow.subprocess_specs = dict(new_bundle.subprocess_specs)
    for sp_id, sp_diff in subs.items():
        subprocess = workflow.subprocesses.get(sp_id)
        if subprocess is None:
            continue
        migrate_workflow(sp_diff, subprocess, new_bundle.subprocess_specs[subprocess.spec.name])
    migrated = dump_state(workflow)
    try:
        load_state(new_bundle, migrated, _ENGINE)
    except Exception as err:  # a state that does not load on the new spec must not be stored
        return MigrationOutcome(False, None, (f"迁移后的状态无法加载 (migrated state does not load): {err}",))
    return MigrationOutcome(True, migrated, ())
