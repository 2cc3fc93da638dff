"""The workflow engine facade: the only package that imports SpiffWorkflow (see docs/architecture.md)."""

from app.workflow.compiler import compile_process
from app.workflow.engine import MessageNotExpected, WorkflowEngine
from app.workflow.messages import LintMessage, ProcessInvalid
from app.workflow.migration import migrate
from app.workflow.sandbox import SAFE_FUNCTION_NAMES, SafeScriptEngine, UnsafeExpression, check_expression
from app.workflow.types import (
    CompiledProcess,
    HumanTaskInfo,
    InvalidTaskData,
    MigrationOutcome,
    OutboundEvent,
    Result,
    SpecRef,
    StepDef,
    TaskNotReady,
)

__all__ = [
    "SAFE_FUNCTION_NAMES",
    "CompiledProcess",
    "HumanTaskInfo",
    "InvalidTaskData",
    "LintMessage",
    "MessageNotExpected",
    "MigrationOutcome",
    "OutboundEvent",
    "ProcessInvalid",
    "Result",
    "SafeScriptEngine",
    "SpecRef",
    "StepDef",
    "TaskNotReady",
    "UnsafeExpression",
    "WorkflowEngine",
    "check_expression",
    "compile_process",
    "migrate",
]
