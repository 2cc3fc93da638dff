"""Every condition, script, timer and multi-instance expression must pass govflow's sandbox."""

from __future__ import annotations

import re
from collections.abc import Iterator

from app.workflow.lint.model import FLOW_NODES, NS, SPIFF_NS, Doc, Element, local, text_of
from app.workflow.sandbox import UnsafeExpression, check_expression

ISO_LITERAL = re.compile(
    r"^(R\d*/)?(P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?"
    r"|\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?)(/.*)?$"
)
PYTHON_FORMATS = ("", "python", "text/python", "text/x-python")

Finding = tuple[Element, Element, str, str]  # (element at fault, expression element, label, mode)


def _owner(el: Element) -> Element:
    """The nearest enclosing flow node or sequence flow (the element a designer can find in the modeler)."""
    node: Element | None = el
    while node is not None and local(node) not in FLOW_NODES | {"sequenceFlow", "process"}:
        node = node.getparent()
    return node if node is not None else el


def _expressions(doc: Doc) -> Iterator[Finding]:
    """Every expression-bearing element of the executable processes, with its label and mode."""
    for flow in doc.in_executable("sequenceFlow"):
        for cond in flow.iterfind("bpmn:conditionExpression", NS):
            yield flow, cond, "条件 (condition)", "eval"
    for cond in doc.in_executable("conditionalEventDefinition"):
        for expr in cond.iterfind("bpmn:condition", NS):
            yield _owner(cond), expr, "条件事件 (conditional event)", "eval"
    for task in doc.in_executable("scriptTask"):
        if task.get("scriptFormat", "").strip().lower() in PYTHON_FORMATS:
            for script in task.iterfind("bpmn:script", NS):
                yield task, script, "脚本 (script)", "exec"
    for tag in ("preScript", "postScript"):
        for script in doc.root.iter(f"{{{SPIFF_NS}}}{tag}"):
            yield _owner(script), script, f"{tag}", "exec"
    for loop in doc.in_executable("multiInstanceLoopCharacteristics"):
        for tag in ("loopCardinality", "completionCondition"):
            for expr in loop.iterfind(f"bpmn:{tag}", NS):
                yield _owner(loop), expr, f"多实例 {tag} (multi-instance {tag})", "eval"
    for loop in doc.in_executable("standardLoopCharacteristics"):
        for expr in loop.iterfind("bpmn:loopCondition", NS):
            yield _owner(loop), expr, "循环条件 (loopCondition)", "eval"


def check_expressions(doc: Doc) -> None:
    """Conditions, scripts and loop expressions must be valid Python accepted by the sandbox."""
    for owner, expr, label, mode in _expressions(doc):
        if owner.get("id") in doc.refused:
            continue
        source = text_of(expr)
        if not source:
            if mode == "eval" and local(expr) == "conditionExpression":
                doc.add(
                    owner, "error", "条件为空 (empty condition expression)", "写一个条件或删除条件元素", expr
                )
            continue
        try:
            check_expression(source, "exec" if mode == "exec" else "eval")
        except UnsafeExpression as exc:
            doc.add(
                owner,
                "error",
                f"{label}未通过沙箱检查 (rejected by the sandbox): {exc.reason}",
                "只用比较、布尔运算和白名单函数 (use comparisons, and/or/not and whitelisted functions)",
                expr,
            )
    _check_loop_inputs(doc)
    _check_standard_loops(doc)
    _check_scripts_formats(doc)


def _check_loop_inputs(doc: Doc) -> None:
    """A multi-instance loopDataInputRef names a process variable."""
    for loop in doc.in_executable("multiInstanceLoopCharacteristics"):
        ref = text_of(loop.find("bpmn:loopDataInputRef", NS))
        if not ref and not text_of(loop.find("bpmn:loopCardinality", NS)):
            doc.add(
                _owner(loop),
                "error",
                "多实例任务没有实例数或集合 (multi-instance without loopCardinality or loopDataInputRef)",
                "填写实例数，或保存列表的流程变量名 (give a cardinality or the list variable)",
                loop,
            )
            continue
        if ref and not ref.isidentifier() and _owner(loop).get("id") not in doc.refused:
            doc.add(
                _owner(loop),
                "error",
                f"多实例集合必须是变量名 (loopDataInputRef '{ref}' is not a variable name)",
                "填写保存列表的流程变量名，如 departments (name the list variable)",
            )


def _check_standard_loops(doc: Doc) -> None:
    """A loop task needs a loopCondition or loopMaximum (SpiffWorkflow refuses an open-ended loop)."""
    for loop in doc.in_executable("standardLoopCharacteristics"):
        if _owner(loop).get("id") in doc.refused:
            continue
        if not text_of(loop.find("bpmn:loopCondition", NS)) and not loop.get("loopMaximum", "").strip():
            doc.add(
                _owner(loop),
                "error",
                "循环任务没有循环条件或最大次数 (loop task without loopCondition or loopMaximum)",
                "写循环条件或 loopMaximum；若只做一次请去掉循环标记 (add a condition or maximum, or drop the "
                "loop marker)",
                loop,
            )


def _check_scripts_formats(doc: Doc) -> None:
    """Script tasks must be Python."""
    for task in doc.in_executable("scriptTask"):
        fmt = task.get("scriptFormat", "").strip()
        if fmt.lower() not in PYTHON_FORMATS and task.get("id") not in doc.refused:
            doc.add(
                task,
                "error",
                f"不支持的脚本语言 (scriptFormat '{fmt}' is not supported)",
                "用 Python 重写脚本，或改成用户任务 (rewrite in Python or replace with a user task)",
            )


def check_timers(doc: Doc) -> None:
    """Timer expressions are quoted ISO 8601 strings or sandbox expressions."""
    for timer in doc.in_executable("timerEventDefinition"):
        owner = _owner(timer)
        if owner.get("id") in doc.refused:
            continue
        for tag in ("timeDuration", "timeDate", "timeCycle"):
            for expr in timer.iterfind(f"bpmn:{tag}", NS):
                _check_timer(doc, owner, expr)
        if not any(
            timer.find(f"bpmn:{t}", NS) is not None for t in ("timeDuration", "timeDate", "timeCycle")
        ):
            doc.add(owner, "error", "定时器没有时间设置 (timer without timeDuration/timeDate/timeCycle)")


def _check_timer(doc: Doc, owner: Element, expr: Element) -> None:
    """One timer expression."""
    tag, source = local(expr), text_of(expr)
    if not source:
        doc.add(owner, "error", f"定时器 {tag} 为空 (empty timer expression)", 'e.g. "P3D"', expr)
        return
    if ISO_LITERAL.match(source):
        doc.add(
            owner,
            "error",
            f"定时器 {tag} 是未加引号的 ISO 8601 值 (unquoted ISO 8601 literal {source})",
            f'加上引号："{source}" (quote it: the engine evaluates timer text as an expression)',
            expr,
        )
        return
    try:
        check_expression(source, "eval")
    except UnsafeExpression as exc:
        doc.add(
            owner,
            "error",
            f"定时器 {tag} 未通过沙箱检查 (rejected by the sandbox): {exc.reason}",
            'e.g. "P3D"',
            expr,
        )
