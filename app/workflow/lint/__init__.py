"""govflow's publish-time linter: everything SpiffBpmnParser does not check, each message located.

`lint_process` parses the files safely, applies the dialect importer (`app.workflow.dialect`) and lints the
result; `prepare` does the same and also returns the translated trees (and bytes) for the parser.
The user-task form rule is documented in `app.workflow.lint.tasks`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from lxml import etree

from app.workflow.lint.data import check_called_processes, check_data, check_startable_processes
from app.workflow.lint.expressions import check_expressions, check_timers
from app.workflow.lint.flows import check_flows
from app.workflow.lint.model import Doc, line_of
from app.workflow.lint.structure import (
    check_diagram,
    check_document,
    check_ids,
    check_references,
    check_supported,
)
from app.workflow.lint.tasks import check_forms, check_lanes
from app.workflow.lint.xsd import check_xsd
from app.workflow.messages import LintMessage, ProcessInvalid

__all__ = ["Prepared", "lint_process", "lint_tree", "prepare"]

SEVERITY_ORDER = {"error": 0, "warning": 1, "note": 2}


@dataclass(frozen=True)
class Prepared:
    """Translated trees (source lines intact) and bytes for SpiffBpmnParser, and every message about them.

    Prefer `trees`: re-serialized `files` put multi-line start tags on one line, shifting later lines.
    """

    files: dict[str, bytes]
    messages: tuple[LintMessage, ...]
    trees: dict[str, etree._ElementTree]

    @property
    def errors(self) -> tuple[LintMessage, ...]:
        """The messages that block deployment."""
        return tuple(m for m in self.messages if m.severity == "error")


def lint_tree(
    filename: str,
    tree: etree._ElementTree,
    forms: Mapping[str, bytes],
    known_lanes: Callable[[str], bool] | None = None,
    refused: frozenset[str] = frozenset(),
) -> list[LintMessage]:
    """Lint one parsed (already translated) BPMN tree; `refused` ids were already reported by the importer."""
    doc = Doc(filename, tree.getroot(), refused=refused)
    if not check_document(doc):
        return doc.messages
    check_xsd(doc)
    check_ids(doc)
    check_references(doc)
    check_supported(doc)
    check_flows(doc)
    check_expressions(doc)
    check_timers(doc)
    check_forms(doc, forms)
    check_data(doc, forms)
    check_lanes(doc, known_lanes)
    check_diagram(doc)
    return doc.messages


def _serialize(tree: etree._ElementTree) -> bytes:
    """UTF-8 bytes that keep every element on its original line."""
    declaration = line_of(tree.getroot()) not in (None, 1)
    return etree.tostring(tree, encoding="UTF-8", xml_declaration=declaration)


def prepare(
    files: Mapping[str, bytes],
    forms: Mapping[str, bytes],
    known_lanes: Callable[[str], bool] | None = None,
) -> Prepared:
    """Safe-parse, translate dialects and lint every BPMN file; never raises for bad input."""
    from app.workflow.dialect import translate
    from app.workflow.xmlsafe import parse_xml

    out: dict[str, bytes] = {}
    trees: dict[str, etree._ElementTree] = {}
    messages: list[LintMessage] = []
    for name, data in files.items():
        try:
            tree = parse_xml(data, name)
        except ProcessInvalid as exc:
            messages.extend(exc.messages)
            continue
        result = translate(tree, name)  # in place
        refused = frozenset(m.element_id for m in result.errors if m.element_id)
        messages.extend(result.errors)
        messages.extend(result.notes)
        messages.extend(lint_tree(name, result.tree, forms, known_lanes, refused))
        out[name] = _serialize(result.tree)
        trees[name] = result.tree
    if not files:
        messages.append(LintMessage("-", None, None, None, "error", "没有 BPMN 文件 (no BPMN file given)"))
    messages.extend(check_called_processes(trees))
    messages.extend(check_startable_processes(trees))
    messages.sort(key=lambda m: (m.file, SEVERITY_ORDER[m.severity], m.line or 0))
    return Prepared(out, tuple(messages), trees)


def lint_process(
    files: Mapping[str, bytes] | Mapping[str, etree._ElementTree],
    forms: Mapping[str, bytes],
    known_lanes: Callable[[str], bool] | None = None,
) -> list[LintMessage]:
    """Every located message about a process definition.

    Bytes are parsed, translated and linted (importer messages included); parsed trees are taken as
    already translated by `app.workflow.dialect.translate` and only linted.
    """
    from app.workflow.dialect import translate

    raw = {name: value for name, value in files.items() if isinstance(value, bytes)}
    messages = list(prepare(raw, forms, known_lanes).messages) if raw or not files else []
    for name, value in files.items():
        if isinstance(value, etree._ElementTree):
            refused = translate(copy.deepcopy(value), name).errors
            ids = frozenset(m.element_id for m in refused if m.element_id)
            messages.extend(lint_tree(name, value, forms, known_lanes, ids))
    return messages
