"""The safe script environment: every condition, script and timer expression runs through an AST whitelist."""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Collection, Mapping
from types import CodeType, ModuleType
from typing import Any, Literal

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import (
    BasePythonScriptEngineEnvironment,
)
from SpiffWorkflow.exceptions import SpiffWorkflowException

from app.workflow.sandbox_ast import parse_checked, rewrite_guarded
from app.workflow.sandbox_limits import (
    GOVFLOW_HELPER_NAMES,
    SAFE_BUILTINS,
    SAFE_FUNCTION_NAMES,
    STATIC_GUARDS,
    IterationBudget,
    UnsafeExpression,
)

__all__ = [
    "GOVFLOW_HELPER_NAMES",
    "SAFE_FUNCTION_NAMES",
    "SafeEnvironment",
    "SafeScriptEngine",
    "UnsafeExpression",
    "check_expression",
]

Mode = Literal["eval", "exec"]


def check_expression(source: str, mode: Mode, functions: Collection[str] | None = None) -> None:
    """Raise UnsafeExpression unless `source` passes the whitelist (default: builtins + govflow helpers)."""
    parse_checked(
        source, mode, SAFE_FUNCTION_NAMES | GOVFLOW_HELPER_NAMES if functions is None else functions
    )


@functools.lru_cache(maxsize=4096)
def compile_checked(source: str, mode: Mode, functions: frozenset[str]) -> CodeType:
    """Check, insert the run-time guards and compile; cached per source text."""
    tree = rewrite_guarded(parse_checked(source, mode, functions))
    assert isinstance(tree, (ast.Module, ast.Expression))
    return compile(tree, "<string>", mode)


class SafeEnvironment(BasePythonScriptEngineEnvironment):  # type: ignore[misc]
    """Evaluates vetted code with empty `__builtins__`, whitelisted callables and govflow helpers."""

    def __init__(self, helpers: Mapping[str, Callable[..., Any]] | None = None) -> None:
        helpers = dict(helpers or {})
        for name in helpers:
            if name.startswith("_"):
                raise ValueError(f"helper names must not start with '_': {name}")
        base: dict[str, Any] = {**SAFE_BUILTINS, **helpers}
        super().__init__(base)
        self.functions = frozenset(SAFE_FUNCTION_NAMES | set(helpers))

    def _globals(self, context: Mapping[str, Any], external: Mapping[str, Any] | None) -> dict[str, Any]:
        scope: dict[str, Any] = dict(self.globals)
        if external:
            scope.update(external)
        scope.update(context)
        scope.update(STATIC_GUARDS)
        scope["__gf_iter"] = IterationBudget().iterate
        scope["__builtins__"] = {}
        return scope

    def evaluate(
        self, expression: str, context: Mapping[str, Any], external_context: Mapping[str, Any] | None = None
    ) -> Any:
        """Evaluate an expression against task data."""
        code = compile_checked(expression, "eval", self.functions)
        return eval(code, self._globals(context, external_context))  # noqa: S307 - vetted AST, no builtins

    def execute(
        self, script: str, context: dict[str, Any], external_context: Mapping[str, Any] | None = None
    ) -> bool:
        """Execute a script; assignments land in the task data, injected names do not."""
        code = compile_checked(script, "exec", self.functions)
        scope = self._globals(context, external_context)
        injected = {**self.globals, **(external_context or {}), **STATIC_GUARDS}
        exec(code, scope)  # noqa: S102 - vetted AST, no builtins
        for key in [k for k in context if k not in scope]:
            del context[key]
        for key, value in scope.items():
            if key.startswith("__") or (key in injected and injected[key] is value):
                continue
            if callable(value) or isinstance(value, ModuleType):
                continue
            context[key] = value
        return True

    def call_service(self, context: Mapping[str, Any], **kwargs: Any) -> Any:
        """Service tasks are not supported in govflow processes."""
        raise UnsafeExpression("不支持服务任务 (service tasks are not supported)")


class SafeScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    """A SpiffWorkflow script engine that only runs whitelisted code and reports failures as task errors."""

    def __init__(self, helpers: Mapping[str, Callable[..., Any]] | None = None) -> None:
        super().__init__(environment=SafeEnvironment(helpers))

    def validate(self, expression: str) -> None:
        """Check an expression without running it (used by DMN)."""
        check_expression(expression, "eval", self.environment.functions)

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        """Evaluate within a task; any failure becomes a WorkflowTaskException naming the reason."""
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except SpiffWorkflowException as err:
            err.add_note(f"Error evaluating expression '{expression}'")
            raise
        except Exception as err:
            raise WorkflowTaskException(_describe(expression, err), task=task, exception=err) from err

    def execute(self, task: Any, script: str, external_context: Any = None) -> Any:
        """Execute a script within a task; any failure becomes a WorkflowTaskException."""
        try:
            return self.environment.execute(script, task.data, external_context or {})
        except SpiffWorkflowException:
            raise
        except Exception as err:
            raise WorkflowTaskException(_describe(script, err), task=task, exception=err) from err

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        """Service tasks are not supported."""
        raise WorkflowTaskException("不支持服务任务 (service tasks are not supported)", task=task)


def _describe(source: str, err: Exception) -> str:
    snippet = source if len(source) <= 200 else source[:200] + "…"
    reason = err.reason if isinstance(err, UnsafeExpression) else f"{type(err).__name__}: {err}"
    return f"表达式错误 (expression error) '{snippet}': {reason}"
