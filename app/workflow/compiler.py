"""compile_process: safe parsing, dialect and linter (app.workflow.lint.prepare), then SpiffBpmnParser."""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Mapping
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from app.workflow.lint import prepare
from app.workflow.messages import LintMessage, ProcessInvalid
from app.workflow.serializer import spec_to_json
from app.workflow.steps import extract_steps
from app.workflow.types import CompiledProcess
from app.workflow.xmlsafe import parse_xml

__all__ = ["compile_process", "content_hash"]

Trees = dict[str, etree._ElementTree]


def content_hash(files: Mapping[str, bytes], forms: Mapping[str, bytes]) -> str:
    """sha256 over the sorted (kind, name, bytes) of every BPMN and form file."""
    digest = hashlib.sha256()
    for kind, group in (("bpmn", files), ("form", forms)):
        for name in sorted(group):
            data = group[name]
            for part in (kind.encode(), name.encode("utf-8"), str(len(data)).encode(), data):
                digest.update(len(part).to_bytes(8, "big"))
                digest.update(part)
    return digest.hexdigest()


def _locate(err: ValidationException, trees: Trees) -> LintMessage:
    file = err.file_name or next(iter(trees), "")
    line = err.line_number if isinstance(err.line_number, int) and err.line_number else None
    tree = trees.get(file)
    if line is None and err.id and tree is not None:
        found = [el for el in tree.getroot().iter() if el.get("id") == err.id]
        source_line = found[0].sourceline if found else None
        line = source_line if isinstance(source_line, int) else None
    text = f"流程解析错误 (parser error): {err}"
    return LintMessage(file, line, err.id or None, err.name or None, "error", text)


def _parse(trees: Trees) -> SpiffBpmnParser:
    parser = SpiffBpmnParser()
    for name, tree in trees.items():
        parser.add_bpmn_xml(tree, filename=name)
    return parser


def _called(parser: SpiffBpmnParser, ids: list[str]) -> set[str]:
    called: set[str] = set()
    for pid in ids:
        called.update(parser.get_subprocess_specs(pid))
    return called


def _pick_process(parser: SpiffBpmnParser, process_id: str | None, trees: Trees) -> str:
    ids: list[str] = list(parser.get_process_ids())
    if process_id is not None:
        if process_id not in ids:
            raise _file_error(trees, f"找不到可执行流程 '{process_id}' (no executable process; found {ids})")
        return process_id
    top = [pid for pid in ids if pid not in _called(parser, ids)]
    if len(top) != 1:
        raise ProcessInvalid([_several_processes(trees, top or ids)])
    return top[0]


def _several_processes(trees: Trees, ids: list[str]) -> LintMessage:
    """Located error for a definition with several startable executable processes (e.g. a collaboration)."""
    for file, tree in trees.items():
        found = [el for el in tree.getroot().iter() if isinstance(el.tag, str) and el.get("id") in ids[1:]]
        if found:
            el = found[0]
            line = el.sourceline if isinstance(el.sourceline, int) else None
            return LintMessage(
                file,
                line,
                el.get("id"),
                el.get("name"),
                "error",
                f"有多个可执行流程 ({', '.join(ids)})，govflow 的一个案件只运行其中一个 "
                "(several executable processes; a case runs one)",
                "把不由本流程发起的池设为不可执行，或分开发布并用调用活动/消息连接 "
                "(mark the other pools non-executable, or deploy them separately)",
            )
    return _file_error(trees, f"需要指定流程 id (choose one executable process among {ids})").messages[0]


def _file_error(trees: Trees, text: str) -> ProcessInvalid:
    return ProcessInvalid([LintMessage(next(iter(trees), ""), None, None, None, "error", text)])


def _warning_notes(caught: list[warnings.WarningMessage], trees: Trees) -> list[LintMessage]:
    file = next(iter(trees), "")
    return [LintMessage(file, None, None, None, "warning", str(w.message)) for w in caught]


def _build(trees: Trees, process_id: str | None) -> tuple[str, Any, dict[str, Any], list[LintMessage]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            parser = _parse(trees)
            pid = _pick_process(parser, process_id, trees)
            spec = parser.get_spec(pid)
            subs = parser.get_subprocess_specs(pid)
        except ValidationException as err:
            raise ProcessInvalid([_locate(err, trees)]) from None
        except ProcessInvalid:
            raise
        except Exception as err:  # the parser raises bare KeyError/AttributeError on odd input
            raise _file_error(trees, f"流程解析错误 (parser error): {type(err).__name__}: {err}") from None
    return pid, spec, subs, _warning_notes(caught, trees)


def compile_process(
    files: Mapping[str, bytes], forms: Mapping[str, bytes], process_id: str | None = None
) -> CompiledProcess:
    """Validate and compile BPMN files into a storable spec; raise ProcessInvalid with located messages."""
    if not files:
        raise ProcessInvalid([LintMessage("", None, None, None, "error", "没有 BPMN 文件 (no BPMN file)")])
    prepared = prepare(files, forms)  # safe parse + dialect translation + publish-time linter
    if prepared.errors:
        raise ProcessInvalid(prepared.messages)
    notes = list(prepared.messages)
    trees: Trees = {name: parse_xml(data, name) for name, data in prepared.files.items()}
    pid, spec, subs, warned = _build(trees, process_id)
    notes.extend(warned)
    return CompiledProcess(
        process_id=pid,
        name=spec.description or pid,
        content_hash=content_hash(files, forms),
        spec_json=spec_to_json(spec, subs),
        notes=tuple(notes),
        steps=extract_steps(spec, subs),
    )
