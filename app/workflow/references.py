"""What a BPMN file refers to outside itself: the form files its tasks name."""

from __future__ import annotations

from collections.abc import Mapping

from app.workflow.messages import ProcessInvalid
from app.workflow.xmlsafe import parse_xml

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
FORM_TAGS = ("formJsonSchemaFilename", "formUiSchemaFilename")


def referenced_forms(files: Mapping[str, bytes]) -> set[str]:
    """Names of every form file referenced by `spiffworkflow:form*SchemaFilename` in the given BPMN files."""
    names: set[str] = set()
    for filename, data in files.items():
        try:
            tree = parse_xml(data, filename)
        except ProcessInvalid:
            continue  # the linter reports unreadable files with their location
        for tag in FORM_TAGS:
            for element in tree.iter(f"{{{SPIFF_NS}}}{tag}"):
                if element.text and element.text.strip():
                    names.add(element.text.strip())
    return names
