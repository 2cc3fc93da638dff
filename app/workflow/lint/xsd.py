"""Light schema check against the OMG BPMN 2.0 XSD shipped inside the SpiffWorkflow package (warnings)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import SpiffWorkflow.bpmn.parser as spiff_parser
from lxml import etree

from app.workflow.lint.model import Doc
from app.workflow.messages import LintMessage

MAX_XSD_WARNINGS = 5


@functools.cache
def _schema() -> etree.XMLSchema | None:
    """The BPMN 2.0 schema, or None when the package does not carry it."""
    path = Path(spiff_parser.__file__).parent / "schema" / "BPMN20.xsd"
    if not path.is_file():
        return None
    return etree.XMLSchema(etree.parse(str(path)))


def check_xsd(doc: Doc) -> None:
    """Report the first few BPMN 2.0 schema violations as warnings (modelers export slightly-off XML)."""
    schema = _schema()
    if schema is None or schema.validate(doc.root):
        return
    log: Any = schema.error_log  # lxml-stubs declare _ErrorLog without its iteration protocol
    errors = list(log)
    for err in errors[:MAX_XSD_WARNINGS]:
        doc.messages.append(
            LintMessage(
                doc.file,
                err.line,
                None,
                None,
                "warning",
                f"不符合 BPMN 2.0 XSD (schema: {err.message})",
                "通常无害；如部署失败请在建模器中重新保存 (usually harmless; re-save if deployment fails)",
            )
        )
    if len(errors) > MAX_XSD_WARNINGS:
        more = len(errors) - MAX_XSD_WARNINGS
        doc.messages.append(
            LintMessage(doc.file, 1, None, None, "warning", f"另有 {more} 处 XSD 警告 (more XSD warnings)")
        )
