"""Import Camunda 7 / Flowable / Activiti / Zeebe idioms into what SpiffBpmnParser and govflow understand.

`translate` rewrites the tree in place (and returns it) and never adds or removes lines, so every
message, and every later linter message, points at a line of the original file. It translates what
has an exact meaning here (JUEL conditions, XPath `getDataObject` conditions, unquoted ISO timers,
candidate/assignee attributes, simple multi-instance collections), removes what is documentation for
the runtime in imported diagrams (data objects and data stores, `app.workflow.dialect_data`), runs a
service task without any implementation as a no-op script task, and refuses, with a located error, what
cannot run (Java delegates, external tasks, Groovy/JavaScript scripts, cron timers, complex FEEL, other
XPath). Non-executable processes are left alone: the linter rejects them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree

from app.workflow.dialect_data import DATA_ELEMENTS, remove_data
from app.workflow.dialect_routes import translate_open_loops, translate_routes
from app.workflow.dialect_tasks import (
    ENGINE_NS,
    ZEEBE_NS,
    Integration,
    add_property,
    integration_of,
    is_convertible,
    to_manual_task,
)
from app.workflow.lint.juel import JuelError, feel_to_python, is_juel, juel_to_python
from app.workflow.lint.model import BPMN_NS, FLOW_NODES, NS, Element, bpmn, line_of, local
from app.workflow.lint.xpath import XPathError, is_data_object_xpath, xpath_to_python
from app.workflow.messages import LintMessage, Severity

__all__ = ["ENGINE_NS", "DialectResult", "translate"]

EXPRESSION_TAGS = (
    "conditionExpression",
    "condition",
    "completionCondition",
    "loopCardinality",
    "loopCondition",
)
TIMER_TAGS = ("timeDuration", "timeDate", "timeCycle")
ISO_TIMER = re.compile(
    r"^(R\d*/)?((P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?)"
    r"|\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?)"
    r"(/(P\S+|\d{4}-\S+))?$"
)
CRON = re.compile(r"^[\d*?/,LW#A-Z-]+(\s+[\d*?/,LW#A-Z-]+){4,6}$")
ASSIGNMENT = ("assignee", "candidateGroups", "candidateUsers")
JAVA_ATTRS = ("class", "delegateExpression", "expression", "type", "topic", "decisionRef")
PYTHON_LANGS = ("", "python", "text/python", "juel", "http://www.omg.org/spec/bpmn/20100524/model")
XPATH_LANGS = ("http://www.w3.org/1999/xpath", "xpath")
NOOP_SCRIPT = "pass"
# elements a message may name (the nearest one at or above the element it is about)
LOCATABLE = (*FLOW_NODES, *DATA_ELEMENTS, "sequenceFlow", "process")
CODE_TASKS = ("serviceTask", "sendTask", "businessRuleTask", "receiveTask")


@dataclass
class DialectResult:
    """The translated tree with what was translated (notes, warnings) and what was refused (errors)."""

    tree: etree._ElementTree
    notes: list[LintMessage] = field(default_factory=list)
    errors: list[LintMessage] = field(default_factory=list)

    def __iter__(self) -> Iterator[LintMessage]:
        """Every message, errors first (so `messages.extend(translate(...))` works)."""
        return iter([*self.errors, *self.notes])


@dataclass
class _Ctx:
    """Translation state for one file."""

    filename: str
    result: DialectResult

    def say(self, el: Element, severity: Severity, text: str, hint: str = "") -> None:
        """Record a located message at the nearest element with an id."""
        node: Element | None = el
        while node is not None and local(node) not in LOCATABLE:
            node = node.getparent()
        at = node if node is not None else el
        name = " ".join((at.get("name") or "").split()) or None
        msg = LintMessage(self.filename, line_of(el), at.get("id"), name, severity, text, hint)
        (self.result.errors if severity == "error" else self.result.notes).append(msg)


def _engine_attr(el: Element, name: str) -> str | None:
    """The value of camunda:/flowable:/activiti: attribute `name`, if any."""
    for ns in ENGINE_NS.values():
        value = el.get(f"{{{ns}}}{name}")
        if value is not None:
            return value
    return None


def _drop_engine_attrs(el: Element, *names: str) -> None:
    """Remove translated camunda:/flowable:/activiti: attributes (keeps translate idempotent)."""
    for ns in ENGINE_NS.values():
        for name in names:
            el.attrib.pop(f"{{{ns}}}{name}", "")


def _set_text(el: Element, text: str) -> None:
    """Replace an element's text keeping its number of lines (messages stay on the original lines)."""
    old = el.text or ""
    el.text = text + "\n" * old.count("\n")


def translate(tree: etree._ElementTree, filename: str) -> DialectResult:
    """Rewrite third-party engine idioms in place; idempotent (a translated tree yields no notes)."""
    ctx = _Ctx(filename, DialectResult(tree))
    root = ctx.result.tree.getroot()
    if etree.QName(root).namespace != BPMN_NS:
        return ctx.result
    remove_data(root, ctx.say)
    for proc in root.iterfind("bpmn:process", NS):
        if proc.get("isExecutable", "true").strip() != "true":
            continue
        _translate_expressions(ctx, proc)
        _translate_timers(ctx, proc)
        _translate_tasks(ctx, proc)
        _translate_listeners(ctx, proc)
        translate_routes(proc, ctx.say)
        translate_open_loops(proc, ctx.say)
    return ctx.result


def _translate_expressions(ctx: _Ctx, proc: Element) -> None:
    """JUEL conditions and loop expressions to Python; other expression languages are refused."""
    for tag in EXPRESSION_TAGS:
        for el in proc.iter(bpmn(tag)):
            text = el.text or ""
            lang = (el.get("language") or "").strip().lower()
            if is_data_object_xpath(text) and lang in (*PYTHON_LANGS, *XPATH_LANGS):
                _xpath(ctx, el, text)
            elif text.strip() and lang not in PYTHON_LANGS:
                ctx.say(
                    el,
                    "error",
                    f"不支持的表达式语言 (expression language '{el.get('language')}' is not supported)",
                    "改写为 Python 表达式，如 days >= 3 (rewrite as a Python expression)",
                )
            elif is_juel(text) or (text.strip().startswith("=") and _zeebe(el)):
                _juel(ctx, el, text)
            elif "${" in text or "#{" in text:
                ctx.say(el, "error", "不支持复合 JUEL 表达式 (composite JUEL expression)", "写成单个 ${...}")


def _juel(ctx: _Ctx, el: Element, text: str) -> None:
    """Translate one JUEL expression element in place."""
    feel = text.strip().startswith("=")
    try:
        python = feel_to_python(text) if feel else juel_to_python(text)
    except JuelError as exc:
        ctx.say(
            el,
            "error",
            f"{'FEEL' if feel else 'JUEL'} 表达式无法转换 (expression not supported: {text.strip()}): {exc}",
            "改写为 Python 表达式，只用变量、比较和 and/or/not (rewrite it as a Python condition)",
        )
        return
    if local(el) in ("conditionExpression", "condition") and el.get("language"):
        del el.attrib["language"]
    _set_text(el, python)
    ctx.say(el, "note", f"已转换表达式 (translated {'FEEL' if feel else 'JUEL'}) {text.strip()} → {python}")


def _xpath(ctx: _Ctx, el: Element, text: str) -> None:
    """Translate one XPath `getDataObject` condition in place (app.workflow.lint.xpath)."""
    try:
        python = xpath_to_python(text)
    except XPathError as exc:
        ctx.say(
            el,
            "error",
            f"XPath 表达式无法转换 (expression not supported: {text.strip()}): {exc}",
            "改写为 Python 表达式，如 approved == True (rewrite it as a Python condition)",
        )
        return
    if el.get("language"):
        del el.attrib["language"]
    _set_text(el, python)
    ctx.say(el, "note", f"已转换表达式 (translated XPath) {text.strip()} → {python}")


def _zeebe(el: Element) -> bool:
    """Whether the document declares the Zeebe (Camunda 8) namespace, whose expressions are FEEL."""
    return ZEEBE_NS in el.getroottree().getroot().nsmap.values()


def _translate_timers(ctx: _Ctx, proc: Element) -> None:
    """Quote ISO 8601 literals; refuse cron; translate ${...}."""
    for tag in TIMER_TAGS:
        for el in proc.iter(bpmn(tag)):
            text = (el.text or "").strip()
            if is_juel(text):
                _juel(ctx, el, el.text or "")
            elif ISO_TIMER.match(text):
                _set_text(el, repr(text).replace("'", '"'))
                ctx.say(el, "note", f"已给 ISO 8601 定时器加引号 (quoted unquoted ISO 8601 timer {text})")
            elif CRON.match(text):
                ctx.say(
                    el,
                    "error",
                    f"不支持 cron 定时器 (cron timers not supported: {text})",
                    '改用 ISO 8601 周期，如 "R/P1D" (use an ISO 8601 cycle like R/P1D)',
                )


def _translate_tasks(ctx: _Ctx, proc: Element) -> None:
    """User-task assignment, multi-instance collections, code-backed tasks and scripts."""
    for el in list(proc.iter(f"{{{BPMN_NS}}}*")):
        kind = local(el)
        if kind == "userTask":
            _assignment(ctx, el)
        if kind in ("userTask", "startEvent"):
            _forms(ctx, el)
        if kind == "multiInstanceLoopCharacteristics":
            _collection(ctx, el)
        if kind in CODE_TASKS:
            _code_task(ctx, el)
        if kind == "scriptTask":
            _script_task(ctx, el)


def _assignment(ctx: _Ctx, task: Element) -> None:
    """camunda/flowable/activiti/zeebe assignee and candidates become spiffworkflow properties."""
    found = {name: _engine_attr(task, name) for name in ASSIGNMENT}
    zeebe = task.find(f"bpmn:extensionElements/{{{ZEEBE_NS}}}assignmentDefinition", NS)
    if zeebe is not None:
        found |= {name: zeebe.get(name) for name in ASSIGNMENT if zeebe.get(name)}
    for name, value in found.items():
        if value is None:
            continue
        add_property(task, name, value.strip())
        _drop_engine_attrs(task, name)
        ctx.say(task, "note", f"已转换 {name}='{value}' 为 spiffworkflow:property (translated {name})")


def _forms(ctx: _Ctx, el: Element) -> None:
    """Engine form keys and form properties are ignored with a note."""
    key = _engine_attr(el, "formKey")
    fields = [c for c in el.iter() if isinstance(c.tag, str) and local(c) in ("formProperty", "formField")]
    if key or fields:
        what = f"formKey '{key}'" if key else "formProperty/formField"
        ctx.say(
            el,
            "note",
            f"忽略引擎表单 {what} (engine form ignored)",
            "govflow 使用 JSON Schema 表单：设置 formJsonSchemaFilename (set formJsonSchemaFilename)",
        )


def _collection(ctx: _Ctx, loop: Element) -> None:
    """camunda:collection + elementVariable become loopDataInputRef + inputDataItem."""
    collection, item = _engine_attr(loop, "collection"), _engine_attr(loop, "elementVariable")
    zeebe = loop.find(f"bpmn:extensionElements/{{{ZEEBE_NS}}}loopCharacteristics", NS)
    if zeebe is not None:
        collection, item = (zeebe.get("inputCollection") or "").lstrip("= "), zeebe.get("inputElement")
    if collection is None:
        return
    name = collection.strip()
    match = re.fullmatch(r"[$#]\{\s*(\w+)\s*\}", name)
    name = match.group(1) if match else name
    if not name.isidentifier() or not (item or "").isidentifier():
        ctx.say(
            loop,
            "error",
            f"多实例集合无法转换 (multi-instance collection '{collection}' is not a simple variable)",
            "把集合先存到一个流程变量，再用变量名 (store the list in a variable and name it here)",
        )
        return
    _drop_engine_attrs(loop, "collection", "elementVariable")
    ref = etree.SubElement(loop, bpmn("loopDataInputRef"))
    ref.text = name
    etree.SubElement(loop, bpmn("inputDataItem"), id=item or "item", name=item or "item")
    ctx.say(loop, "note", f"已转换多实例集合 (translated collection {collection} / elementVariable {item})")


def _code_task(ctx: _Ctx, task: Element) -> None:
    """Integration steps become manual confirmation tasks; DMN/other engine code is refused; empty: no-op."""
    found = integration_of(task)
    if found is not None and is_convertible(task):
        to_manual_task(task, found)
        ctx.say(
            task,
            "warning",
            f"外部系统步骤 ({found.label}: {found.imported_from}) 已转为人工确认任务 "
            "(external system step became a manual confirmation task)",
            "接入接口后改回服务任务 (turn it back into a service task once the integration exists)",
        )
        return
    if found is None and _unbound_rule(task):
        to_manual_task(task, Integration("业务规则 business rule", ("businessRuleTask=##unspecified",)))
        ctx.say(
            task,
            "warning",
            "业务规则任务没有绑定决策表，已转为人工判断任务 "
            "(business rule task with no implementation became a manual task: a person applies the rule)",
            "需要自动判断时，绑定 DMN 决策 (spiffworkflow:calledDecisionId) 或改用带条件的网关 "
            "(bind a DMN decision or use a gateway with conditions)",
        )
        return
    impl = [f"{a}={_engine_attr(task, a)}" for a in JAVA_ATTRS if _engine_attr(task, a) is not None]
    if found is not None and not impl:
        impl = list(found.parts)
    if impl:
        ctx.say(
            task,
            "error",
            f"不支持：需要 Java/外部实现 (not supported: {', '.join(impl)})",
            "改为用户任务或 govflow 脚本任务 (replace with a user task or a govflow script)",
        )
    elif local(task) == "serviceTask":
        _to_noop(task)
        ctx.say(
            task,
            "warning",
            "没有实现的服务任务按空操作执行 (service task without implementation runs as a no-op)",
            "如需人工确认改为用户任务，如需计算改为脚本任务 (use a user or script task)",
        )


def _unbound_rule(task: Element) -> bool:
    """A businessRuleTask whose modeler bound nothing: no DMN reference, implementation unspecified.

    The rule is described for people (its name and documentation), so a person applies it, as for an
    integration step. An explicit other implementation (`implementation="other"`, a web service, a
    decisionRef) stays an error: something govflow does not have was meant to run it.
    """
    if local(task) != "businessRuleTask":
        return False
    if task.find("bpmn:extensionElements/spiffworkflow:calledDecisionId", NS) is not None:
        return False
    if any(_engine_attr(task, a) is not None for a in JAVA_ATTRS):
        return False
    return task.get("implementation", "##unspecified").strip() == "##unspecified"


def _to_noop(task: Element) -> None:
    """Rename a service task to a script task running `pass` (same id, name, flows, DI, same lines).

    A plain `bpmn:task` would be a manual step in SpiffWorkflow; a script task completes by itself.
    """
    task.tag = bpmn("scriptTask")
    for attr in ("implementation", "operationRef", "scriptFormat"):
        task.attrib.pop(attr, "")
    script = etree.SubElement(task, bpmn("script"))
    script.text = NOOP_SCRIPT


def _script_task(ctx: _Ctx, task: Element) -> None:
    """Only Python scripts run; external script resources never."""
    fmt = (task.get("scriptFormat") or "").strip()
    resource = _engine_attr(task, "resource")
    if fmt.lower() not in ("", "python", "text/python", "text/x-python") or resource:
        ctx.say(
            task,
            "error",
            f"不支持的脚本 (not supported: scriptFormat '{fmt}'"
            + (f" resource {resource})" if resource else ")"),
            "用 Python 重写脚本，或改成用户任务 (rewrite in Python or replace with a user task)",
        )


def _translate_listeners(ctx: _Ctx, proc: Element) -> None:
    """Execution/task listeners and I/O mappings are engine code govflow does not run: warn."""
    for el in proc.iter():
        if not isinstance(el.tag, str) or etree.QName(el).namespace not in (*ENGINE_NS.values(), ZEEBE_NS):
            continue
        if local(el) in ("executionListener", "taskListener", "inputOutput", "ioMapping"):
            ctx.say(
                el,
                "warning",
                f"忽略引擎扩展 {local(el)} (engine {local(el)} ignored: govflow does not run it)",
                "需要的计算写进 preScript/postScript (move the logic into a spiffworkflow pre/postScript)",
            )
