"""Translate XPath data-object conditions (`bpmn:getDataObject('x')`) to Python.

BPMN's default expression language is XPath, and MIWG/Signavio diagrams test data objects with it:
`bpmn:getDataObject('approved')`, `not(bpmn:getDataObject('approved'))`,
`getDataObject("clarified") = 'yes'`. govflow keeps process data in the task data (data objects of imported
diagrams are removed, `app.workflow.dialect_data`), so `getDataObject('x')` reads the variable `x`.

Supported: `[bpmn:]getDataObject('name')`, string and number literals, `true()`/`false()`, comparisons
`= != < <= > >=`, `and`, `or`, `not(...)` and parentheses. A data object used as a condition by itself is
`x == True` (and `not(...)` of it `not (x == True)`, so a yes/no pair of exits always picks exactly one).
Anything else (paths, other functions, arithmetic) raises XPathError with the reason.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

from app.workflow.lint.tokens import Tok, TokenCursor

__all__ = ["XPathError", "is_data_object_xpath", "xpath_to_python"]

TOKEN = re.compile(
    r"""\s*(?:
    (?P<obj>(?:bpmn:)?getDataObject\s*\(\s*(?:'[^']*'|"[^"]*")\s*\))
  | (?P<bool>(?:true|false)\s*\(\s*\))
  | (?P<num>\d+(?:\.\d+)?)
  | (?P<str>'[^']*'|"[^"]*")
  | (?P<op>!=|<=|>=|=|<|>|\(|\))
  | (?P<word>and\b|or\b|not(?=\s*\())
    )""",
    re.VERBOSE,
)
COMPARISONS = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
MARKER = re.compile(r"(?:bpmn:)?getDataObject\s*\(")


class XPathError(ValueError):
    """The XPath expression is outside the supported data-object subset."""


@dataclass(frozen=True)
class Node:
    """A translated sub-expression; `value` marks a bare data object or literal (not yet a condition)."""

    src: str
    value: bool

    def condition(self) -> str:
        """The sub-expression as a condition: a bare data object tests `== True`."""
        return f"{self.src} == True" if self.value else self.src


def is_data_object_xpath(text: str) -> bool:
    """Whether the text calls XPath `getDataObject(...)`."""
    return MARKER.search(text) is not None


def _tokenize(text: str) -> list[Tok]:
    """Split the expression into tokens; raise XPathError on anything outside the subset."""
    tokens: list[Tok] = []
    pos = 0
    while text[pos:].strip():
        match = TOKEN.match(text, pos)
        if match is None:
            rest = text[pos:].strip()
            raise XPathError(f"不支持的 XPath 内容 (unsupported XPath at {rest[:20]!r})")
        kind = match.lastgroup or ""
        tokens.append(Tok(kind, match.group(kind)))
        pos = match.end()
    return tokens


def _variable(call: str) -> str:
    """The Python variable for `getDataObject('name')`."""
    match = re.search(r"\(\s*(['\"])(.*)\1\s*\)", call)
    name = match.group(2) if match else ""
    if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_"):
        raise XPathError(f"数据对象名无法作为变量名 (data object name {name!r} is not a usable variable)")
    return name


class _Parser(TokenCursor):
    """Recursive descent over or/and/comparison/operand."""

    error = XPathError
    operator_kinds = ("op", "word")

    def parse(self) -> str:
        """The whole expression as a Python condition."""
        out = self.disjunction().condition()
        if self.peek() is not None:
            raise XPathError(f"多余的内容 (unexpected {self.take().text!r})")
        return out

    def disjunction(self) -> Node:
        """a or b."""
        parts = [self.conjunction()]
        while self.at("or"):
            self.take()
            parts.append(self.conjunction())
        if len(parts) == 1:
            return parts[0]
        return Node(" or ".join(p.condition() for p in parts), False)

    def conjunction(self) -> Node:
        """a and b (or binds looser, so its operands need no parentheses here)."""
        parts = [self.comparison()]
        while self.at("and"):
            self.take()
            parts.append(self.comparison())
        if len(parts) == 1:
            return parts[0]
        return Node(" and ".join(p.condition() for p in parts), False)

    def comparison(self) -> Node:
        """a = b and the other comparisons (at most one, as in a condition)."""
        left = self.operand()
        if not self.at(*COMPARISONS):
            return left
        op = COMPARISONS[self.take().text]
        right = self.operand()
        return Node(f"{_atom(left)} {op} {_atom(right)}", False)

    def operand(self) -> Node:
        """A data object, a literal, not(...) or a parenthesised expression."""
        tok = self.take()
        if tok.kind == "obj":
            return Node(_variable(tok.text), True)
        if tok.kind == "bool":
            return Node("True" if tok.text.startswith("true") else "False", True)
        if tok.kind == "num":
            return Node(tok.text, True)
        if tok.kind == "str":
            return Node(repr(tok.text[1:-1]), True)
        if tok.text == "not":
            self.take("(")
            inner = self.disjunction()
            self.take(")")
            return Node(f"not ({inner.condition()})", False)
        if tok.text == "(":
            inner = self.disjunction()
            self.take(")")
            return Node(f"({inner.condition()})", False)
        raise XPathError(f"意外的符号 (unexpected {tok.text!r})")


def _atom(node: Node) -> str:
    """An operand of a comparison, parenthesised unless it is a single value or group."""
    return node.src if node.value or node.src.startswith("(") else f"({node.src})"


def xpath_to_python(text: str) -> str:
    """Translate one XPath data-object condition to Python; raise XPathError when unsupported."""
    tokens = _tokenize(text)
    if not tokens:
        raise XPathError("表达式为空 (empty expression)")
    if not any(t.kind == "obj" for t in tokens):
        raise XPathError("没有 getDataObject(...) (no data object in the expression)")
    return _Parser(tokens).parse()
