"""Safe XML parsing for BPMN and DMN uploads: no entities, no DTDs, no network, located errors."""

from __future__ import annotations

from lxml import etree

from app.workflow.messages import LintMessage, ProcessInvalid

__all__ = ["make_parser", "parse_xml"]


def make_parser() -> etree.XMLParser:
    """An lxml parser that never resolves entities, loads DTDs or touches the network."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        dtd_validation=False,
        load_dtd=False,
        huge_tree=False,
        remove_comments=False,
    )


def _error(filename: str, line: int | None, text: str, hint: str) -> ProcessInvalid:
    """A ProcessInvalid carrying one file-level error."""
    return ProcessInvalid([LintMessage(filename, line, None, None, "error", text, hint)])


def _doctype_line(data: bytes) -> int | None:
    """The 1-based line of a DOCTYPE or ENTITY declaration in ASCII-compatible or UTF-16 text, else None."""
    text = data
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        text = data.decode("utf-16", errors="replace").encode("utf-8")
    found = [at for at in (text.find(b"<!DOCTYPE"), text.find(b"<!ENTITY")) if at >= 0]
    return text.count(b"\n", 0, min(found)) + 1 if found else None


def _doctype_error(filename: str, line: int) -> ProcessInvalid:
    """The message for a refused DOCTYPE (XXE / billion laughs protection)."""
    return _error(
        filename,
        line,
        "不允许 DOCTYPE/DTD/实体声明 (DOCTYPE, DTD and entity declarations are not allowed)",
        "删除 <!DOCTYPE ...> 声明；BPMN 文件不需要它 (remove the DOCTYPE; BPMN does not use one)",
    )


def parse_xml(data: bytes, filename: str) -> etree._ElementTree:
    """Parse untrusted XML bytes; raise ProcessInvalid with a located message when unsafe or malformed."""
    if not data or not data.strip():
        raise _error(
            filename, 1, "文件为空 (empty XML document)", "上传一个 BPMN 2.0 XML 文件 (upload a BPMN file)"
        )
    doctype_line = _doctype_line(data)
    if doctype_line is not None:
        raise _doctype_error(filename, doctype_line)
    try:
        root = etree.fromstring(data, make_parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else 1
        raise _error(
            filename,
            line,
            f"XML 格式错误 (malformed XML): {exc.msg}",
            "用建模器重新保存文件，或修正该行的标签 (re-save from the modeler or fix the tag on this line)",
        ) from None
    tree = root.getroottree()
    info = tree.docinfo
    if info.internalDTD is not None or info.system_url or info.public_id:
        raise _doctype_error(filename, 1)
    return tree
