"""The sandbox blocks known escapes statically and at run time, as gateway condition and script task."""

from __future__ import annotations

from typing import Any

import pytest

from app.workflow import ProcessInvalid, UnsafeExpression, WorkflowEngine, check_expression, compile_process
from app.workflow.sandbox import SafeEnvironment
from app.workflow.sandbox_limits import IterationBudget
from tests.workflow.engine_kit import T0, forms, probe_bpmn, unchecked_probe_spec

PAYLOADS = [
    "__import__('os').system('id')",
    "open('/etc/passwd').read()",
    "().__class__.__base__.__subclasses__()",
    "(lambda: 0).__globals__",
    "getattr(x, '__class__')",
    "'a' * 10**9",
    "[1] * 10**9",
    "'{0.__class__}'.format(1)",
    "(x for x in [1]).gi_frame.f_back",
    "vars()",
    "[c for c in ().__class__.__mro__]",
]
SCRIPT_ONLY_PAYLOADS = [
    "import os",
    "from os import system",
    "def f():\n    return 1",
    "while True:\n    pass",
]


@pytest.mark.parametrize("source", PAYLOADS)
def test_check_expression_blocks_payload(source: str) -> None:
    with pytest.raises(UnsafeExpression) as info:
        check_expression(source, "eval")
    assert "(" in info.value.reason  # Chinese text with the English reason in parentheses


@pytest.mark.parametrize("source", SCRIPT_ONLY_PAYLOADS)
def test_check_expression_blocks_statements(source: str) -> None:
    with pytest.raises(UnsafeExpression):
        check_expression(source, "exec")


def test_reason_names_the_offending_name() -> None:
    with pytest.raises(UnsafeExpression) as info:
        check_expression("__import__('os').system('id')", "eval")
    assert info.value.reason == "不允许的名称 '__import__' (names starting with '_' are not allowed)"


ORDINARY: list[tuple[str, dict[str, Any], Any]] = [
    ("days >= 3 and result == '同意'", {"days": 3, "result": "同意"}, True),
    ("len(missing) == 0", {"missing": []}, True),
    ("[d for d in depts if d != 'tax']", {"depts": ["tax", "market"]}, ["market"]),
    ("amount * 2", {"amount": 21}, 42),
    ("form.get('decision', '退回')", {"form": {}}, "退回"),
    ("sorted(x.lower() for x in names)", {"names": ["B", "a"]}, ["a", "b"]),
    ("f'{n:>3}'", {"n": 7}, "  7"),
]


@pytest.mark.parametrize(("source", "data", "expected"), ORDINARY)
def test_ordinary_expressions_work(source: str, data: dict[str, Any], expected: Any) -> None:
    check_expression(source, "eval")
    assert SafeEnvironment().evaluate(source, data) == expected


def test_script_assignments_land_in_data_and_helpers_do_not() -> None:
    data: dict[str, Any] = {"x": 1, "gone": True}
    env = SafeEnvironment({"double": lambda v: v * 2})
    env.execute("y = double(x)\nfor i in range(3):\n    x += i\ndel gone", data)
    assert data == {"x": 4, "y": 2, "i": 2}


@pytest.mark.parametrize(
    ("source", "data"),
    [
        ("s * n", {"s": "a", "n": 10**9}),
        ("items * n", {"items": [1], "n": 10**9}),
        ("2 ** n", {"n": 10**6}),
        ("list(range(n))", {"n": 10**9}),
        ("sum(lists, [])", {"lists": [[1]]}),
        ("'%0999999999d' % n", {"n": 1}),
        ("sep.join(items)", {"sep": "x" * 5000, "items": ["a"] * 5000}),
        ("s.replace('a', s)", {"s": "a" * 5000}),
    ],
)
def test_runtime_bounds(source: str, data: dict[str, Any]) -> None:
    check_expression(source, "eval")  # statically fine: the sizes come from data
    with pytest.raises(UnsafeExpression):
        SafeEnvironment().evaluate(source, data)


@pytest.mark.parametrize(
    "script",
    [
        "items = [1]\nfor i in range(100):\n    items.extend(items)",
        "for i in range(1000):\n    for j in range(1000):\n        pass",
    ],
)
def test_runtime_bounds_in_scripts(script: str) -> None:
    with pytest.raises(UnsafeExpression):
        SafeEnvironment().execute(script, {})


def test_publish_refuses_payload_in_condition() -> None:
    with pytest.raises(ProcessInvalid):
        compile_process({"sandbox_probe.bpmn": probe_bpmn("ok = True", PAYLOADS[0])}, forms())


def _run_probe(script: str, condition: str) -> str | None:
    """Start the probe, complete its first task; return the engine's error text."""
    engine, spec = WorkflowEngine(), unchecked_probe_spec(script, condition)
    started = engine.start(spec, {"x": 1}, T0)
    (task,) = started.ready
    result = engine.complete(spec, started.state, task.task_id, {}, T0)
    if result.status == "error":
        assert result.state == started.state  # the case is kept as it was
        assert [t.bpmn_id for t in result.ready] == ["prepare"]
    return result.error


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payload_blocked_as_gateway_condition(payload: str) -> None:
    error = _run_probe("ok = True", payload)
    assert error is not None and error.startswith("gw: ")
    assert "表达式错误" in error


@pytest.mark.parametrize("payload", PAYLOADS + SCRIPT_ONLY_PAYLOADS)
def test_payload_blocked_as_script_task(payload: str) -> None:
    error = _run_probe(payload, "True")
    assert error is not None and error.startswith("run_script: ")


def test_probe_runs_ordinary_code() -> None:
    engine = WorkflowEngine({"double": lambda v: v * 2})
    spec = unchecked_probe_spec("y = double(x)\nnames = [d for d in ['tax', 'fire'] if d != 'tax']", "y == 2")
    started = engine.start(spec, {"x": 1}, T0)
    result = engine.complete(spec, started.state, started.ready[0].task_id, {}, T0)
    assert result.error is None
    assert [t.bpmn_id for t in result.ready] == ["yes"]
    assert result.ready[0].data["names"] == ["fire"]


def test_whitelisted_function_names_cannot_be_rebound() -> None:
    for script in ["len = str.join", "for sorted in [1]:\n    pass", "ok = (max := 1)"]:
        with pytest.raises(UnsafeExpression, match="rebound"):
            check_expression(script, "exec")


def test_loops_have_a_time_budget() -> None:
    budget = IterationBudget(seconds=0.0)
    with pytest.raises(UnsafeExpression, match="longer than"):
        for _ in budget.iterate(range(10_000)):
            pass
