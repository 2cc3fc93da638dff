"""Data objects and data stores of imported diagrams are documentation: removed before parsing.

In a diagram drawn for another engine (not a govflow diagram, see `Doc.govflow`) data objects, data
object references, data inputs/outputs (`ioSpecification`, and the `dataInput`/`dataOutput`/`inputSet`/
`outputSet` of throw and catch events) and their `dataInputAssociation`/`dataOutputAssociation` only
describe what a step reads or writes; Camunda 7 ignores them too. Data stores (`dataStore`,
`dataStoreReference`) stand for systems outside the process. SpiffWorkflow would execute the former
(copying task data into data objects, failing on missing keys) and refuses the latter, so the importer
removes all of them from executable processes and reports each data object, data store and task
input/output set as a located warning. Process data lives in the task data (form fields, variables).

govflow diagrams keep their data objects: there they are meant, and `app.workflow.lint.data` checks them.

Removal keeps the line of everything else, in the tree (`sourceline`) and in the re-serialized bytes: the
newlines of a removed element and its tail move to the previous sibling's tail (or the parent's text).
"""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

from app.workflow.lint.model import NS, Doc, Element, bpmn, line_of, local, text_of
from app.workflow.messages import Severity

__all__ = ["DATA_ELEMENTS", "OBJECT_WARNING", "STORE_WARNING", "remove_data"]

DATA_ELEMENTS = ("dataObject", "dataObjectReference", "dataStore", "dataStoreReference")
ASSOCIATIONS = ("dataInputAssociation", "dataOutputAssociation")
# data inputs/outputs of activities (ioSpecification) and of throw/catch events (direct children)
IO_ELEMENTS = ("ioSpecification", "dataInput", "dataOutput", "inputSet", "outputSet")
OBJECT_WARNING = "数据对象仅作说明，govflow 不执行 (data objects are documentation only)"
STORE_WARNING = "数据存储由外部系统负责 (data stores are outside the process)"
OBJECT_HINT = "需要的数据请放在表单字段或流程变量中 (keep process data in form fields or variables)"
STORE_HINT = "读写外部系统请建模为任务 (model access to the external system as a task)"

Say = Callable[[Element, Severity, str, str], None]


def remove_element(el: Element) -> None:
    """Remove `el` from the tree, keeping its newlines (and tail) so later elements stay on their lines."""
    parent = el.getparent()
    if parent is None:
        return
    inner = etree.tostring(el, with_tail=False, encoding="unicode").count("\n")
    keep = "\n" * inner + (el.tail or "")
    prev = el.getprevious()
    if prev is not None:
        prev.tail = (prev.tail or "") + keep
    else:
        parent.text = (parent.text or "") + keep
    parent.remove(el)


def _label(el: Element) -> str:
    """A data element as designers see it: its name, else its id."""
    return " ".join((el.get("name") or "").split()) or el.get("id", "")


def _associations(scope: list[Element]) -> list[Element]:
    """Every data input/output association inside the executable processes."""
    return [a for proc in scope for tag in ASSOCIATIONS for a in proc.iter(bpmn(tag))]


def _ends(assoc: Element) -> set[str]:
    """The ids an association reads from or writes to."""
    return {text_of(r) for tag in ("sourceRef", "targetRef") for r in assoc.iterfind(f"bpmn:{tag}", NS)}


def remove_data(root: Element, say: Say) -> None:
    """Remove data objects, data stores, data inputs/outputs and their associations of an imported diagram.

    Does nothing for govflow diagrams and for files without an executable process (the linter rejects
    those). Idempotent: a cleaned tree has nothing left to remove.
    """
    doc = Doc("", root)
    scope = doc.executable()
    if doc.govflow or not scope:
        return
    stores = list(root.iterfind("bpmn:dataStore", NS))
    data = [el for proc in scope for tag in DATA_ELEMENTS for el in proc.iter(bpmn(tag))]
    owner = {el.get("id", ""): el for el in [*stores, *data] if local(el) in ("dataObject", "dataStore")}
    for ref in data:  # references point at their data object / data store
        target = owner.get(ref.get("dataObjectRef") or ref.get("dataStoreRef") or "")
        if local(ref).endswith("Reference"):
            owner[ref.get("id", "")] = target if target is not None else ref
    counts: dict[int, int] = {}
    for assoc in _associations(scope):
        for end in _ends(assoc):
            if end in owner:
                counts[id(owner[end])] = counts.get(id(owner[end]), 0) + 1
    for el in [*stores, *data]:
        if owner.get(el.get("id", "")) is el:
            _report(el, counts.get(id(el), 0), say)
    io_owners = {
        parent
        for proc in scope
        for tag in IO_ELEMENTS
        for io in proc.iter(bpmn(tag))
        if (parent := io.getparent()) is not None and local(parent) != "ioSpecification"
    }
    for task in sorted(io_owners, key=lambda e: line_of(e) or 0):
        say(
            task,
            "warning",
            f"{OBJECT_WARNING}: 已删除“{_label(task)}”的数据输入/输出 (data inputs/outputs removed)",
            OBJECT_HINT,
        )
    doomed = [*stores, *data, *_associations(scope)]
    doomed += [io for proc in scope for tag in IO_ELEMENTS for io in proc.iter(bpmn(tag))]
    for el in doomed:
        if el.getparent() is not None and _attached(el, root):
            remove_element(el)


def _attached(el: Element, root: Element) -> bool:
    """Whether `el` is still in the tree (an ancestor may have been removed already)."""
    node: Element | None = el
    while node is not None and node is not root:
        node = node.getparent()
    return node is root


def _report(el: Element, associations: int, say: Say) -> None:
    """One warning per data object or data store, with the number of associations removed with it."""
    store = local(el).startswith("dataStore")
    plural = "association" if associations == 1 else "associations"
    extra = f"，连同 {associations} 条数据关联 (with {associations} data {plural})" if associations else ""
    say(
        el,
        "warning",
        f"{STORE_WARNING if store else OBJECT_WARNING}: 已删除“{_label(el)}”{extra}",
        STORE_HINT if store else OBJECT_HINT,
    )
