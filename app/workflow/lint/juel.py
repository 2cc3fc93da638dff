"""Translate the simple JUEL subset (`${...}` / `#{...}`) of Camunda/Flowable/Activiti conditions to Python.

Supported: literals (numbers, 'strings', "strings", true/false/null), variables, dotted access (`a.b` ->
`a["b"]`), `a[...]`, comparisons (`== != < > <= >=` and `eq ne lt gt le ge`), `&& || !`, `and or not`,
`empty x`, `+ - * / % div mod`, `c ? a : b`, `execution.getVariable('x')` -> `x`,
`x.equals(y)` -> `x == y` and Camunda Spin JSON access ending in a value accessor:
`x.prop("a").prop("b").stringValue()` / `.numberValue()` / `.boolValue()` and `S(x).prop("a")...`
-> `x['a']['b']` (a JSON variable is a dict in govflow).
Anything else raises JuelError with the reason.
"""

from __future__ import annotations

import keyword
import re

from app.workflow.lint.tokens import Tok, TokenCursor

TOKEN = re.compile(
    r"""\s*(?:
    (?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<op>==|!=|<=|>=|&&|\|\||[<>!()\[\].,?:+\-*/%=])
  | (?P<name>[^\W\d]\w*)
    )""",
    re.VERBOSE,
)
WORD_OPS = {"eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=", "ge": ">=", "and": "&&", "or": "||"}
WORD_OPS |= {"not": "!", "div": "/", "mod": "%"}
LITERALS = {"true": "True", "false": "False", "null": "None"}
BINARY_LEVELS: tuple[tuple[str, ...], ...] = (
    ("||",),
    ("&&",),
    ("==", "!="),
    ("<", ">", "<=", ">="),
    ("+", "-"),
    ("*", "/", "%"),
)
PY_OPS = {"||": "or", "&&": "and"}
SPIN_VALUES = ("stringValue", "numberValue", "boolValue")
DELIMITED = re.compile(r"^\s*[$#]\{(.*)\}\s*$", re.DOTALL)


class JuelError(ValueError):
    """The expression is outside the supported JUEL subset."""


def is_juel(text: str) -> bool:
    """Whether the text is a single `${...}` or `#{...}` expression."""
    return DELIMITED.match(text) is not None


def tokenize(src: str, feel: bool = False) -> list[Tok]:
    """Split a JUEL (or, with feel, a simple FEEL) body into tokens."""
    tokens: list[Tok] = []
    pos = 0
    while pos < len(src):
        if src[pos:].strip() == "":
            break
        match = TOKEN.match(src, pos)
        if match is None or match.end() == pos:
            raise JuelError(f"无法识别的字符 (unexpected character {src[pos:].strip()[:1]!r})")
        kind = match.lastgroup or ""
        text = match.group(kind)
        if kind == "name" and text in WORD_OPS:
            kind, text = "op", WORD_OPS[text]
        if text == "=":
            if not feel:
                raise JuelError("单个 '=' 不是比较 (single '=' is not a comparison; use ==)")
            text = "=="
        tokens.append(Tok(kind, text))
        pos = match.end()
    return tokens


class Parser(TokenCursor):
    """Recursive-descent parser producing Python source."""

    error = JuelError

    def parse(self) -> str:
        """Parse the whole token list."""
        out = self.ternary()
        if self.peek() is not None:
            raise JuelError(f"多余的内容 (unexpected {self.take().text!r})")
        return out

    def ternary(self) -> str:
        """c ? a : b"""
        cond = self.binary(0)
        if not self.at("?"):
            return cond
        self.take("?")
        yes = self.ternary()
        self.take(":")
        no = self.ternary()
        return f"({yes} if {cond} else {no})"

    def binary(self, level: int) -> str:
        """Left-associative binary operators by precedence level."""
        if level == len(BINARY_LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.at(*BINARY_LEVELS[level]):
            op = self.take().text
            right = self.binary(level + 1)
            if op in ("==", "!=") and "None" in (left, right):
                op = "is" if op == "==" else "is not"
            left = f"{_wrap(left)} {PY_OPS.get(op, op)} {_wrap(right)}"
        return left

    def unary(self) -> str:
        """! x, - x, empty x."""
        if self.at("!"):
            self.take()
            return f"not {_wrap(self.unary())}"
        if self.at("-"):
            self.take()
            return f"-{_wrap(self.unary())}"
        tok = self.peek()
        if tok is not None and tok.kind == "name" and tok.text == "empty":
            self.take()
            return f"{_wrap(self.unary())} in (None, '', [], {{}})"
        return self.postfix(self.primary())

    def primary(self) -> str:
        """Literals, parenthesised expressions and names."""
        tok = self.take()
        if tok.kind == "num":
            return tok.text
        if tok.kind == "str":
            return repr(_unescape(tok.text))
        if tok.text == "(":
            inner = self.ternary()
            self.take(")")
            return f"({inner})"
        if tok.kind == "name":
            if tok.text in LITERALS:
                return LITERALS[tok.text]
            return self.name(tok.text)
        raise JuelError(f"意外的符号 (unexpected {tok.text!r})")

    def name(self, text: str) -> str:
        """A variable; execution.getVariable('x') becomes x; Spin `S(x)....Value()` becomes x[...]."""
        if text == "S" and self.at("("):
            self.take("(")
            node = self.take()
            self.take(")")
            if node.kind != "name":
                raise JuelError("S(...) 只接受变量名 (S(...) takes a variable name)")
            return self.spin(_variable(node.text))
        if text == "execution" and self.at("."):
            self.take(".")
            method = self.take()
            if method.text != "getVariable":
                raise JuelError(f"不支持 execution.{method.text} (only execution.getVariable('name'))")
            self.take("(")
            arg = self.take()
            self.take(")")
            var = _unescape(arg.text) if arg.kind == "str" else ""
            return _variable(var)
        return _variable(text)

    def postfix(self, base: str) -> str:
        """a.b, a[b] and x.equals(y)."""
        while self.at(".", "["):
            if self.take().text == "[":
                base = f"{base}[{self.ternary()}]"
                self.take("]")
                continue
            attr = self.take()
            if attr.kind != "name":
                raise JuelError(f"属性名无效 (bad property name {attr.text!r})")
            base = self.call(base, attr.text) if self.at("(") else f"{base}[{attr.text!r}]"
        return base

    def call(self, base: str, method: str) -> str:
        """x.equals(y), and Camunda Spin `x.prop('a')....Value()` (see `spin`)."""
        if method == "prop":
            return self.spin(f"{base}[{self.spin_key()!r}]")
        if method != "equals":
            raise JuelError(f"不支持方法调用 (method call .{method}() is not supported)")
        self.take("(")
        arg = self.ternary()
        self.take(")")
        return f"{_wrap(base)} == {_wrap(arg)}"

    def spin_key(self) -> str:
        """The quoted property name of a Spin `.prop('name')` call."""
        self.take("(")
        key = self.take()
        self.take(")")
        if key.kind != "str":
            raise JuelError("prop(...) 只接受字符串常量 (prop(...) takes a quoted property name)")
        return _unescape(key.text)

    def spin(self, base: str) -> str:
        """The rest of a Spin JSON chain: more `.prop('k')`, then a value accessor (`.stringValue()`, ...).

        A Spin node is only comparable once turned into a value, so a chain without an accessor is refused.
        """
        while self.at("."):
            self.take(".")
            method = self.take()
            if method.text == "prop":
                base = f"{base}[{self.spin_key()!r}]"
                continue
            if method.text not in SPIN_VALUES:
                raise JuelError(f"不支持 Spin 方法 .{method.text}() (only prop/{'/'.join(SPIN_VALUES)})")
            self.take("(")
            self.take(")")
            return base
        raise JuelError(
            "Spin 节点要以 .stringValue()/.numberValue()/.boolValue() 结尾 "
            "(end a Spin JSON chain with a value accessor)"
        )


def _variable(name: str) -> str:
    """A JUEL identifier as a Python name."""
    if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_"):
        raise JuelError(f"变量名无法在 Python 中使用 (variable name {name!r} is not usable)")
    return name


def _unescape(literal: str) -> str:
    """The value of a quoted JUEL string."""
    return re.sub(r"\\(.)", r"\1", literal[1:-1])


def _wrap(src: str) -> str:
    """Parenthesise a sub-expression unless it is atomic."""
    atomic = re.fullmatch(r"[\w.\[\]'\"]+|\(.*\)", src) is not None and " " not in src
    return src if atomic else f"({src})"


def feel_to_python(text: str) -> str:
    """Translate a simple Zeebe FEEL condition (`= a > 3`, `=approved`) to Python, else raise JuelError."""
    body = text.strip()
    if not body.startswith("="):
        raise JuelError("不是 FEEL 表达式 (not a '=...' FEEL expression)")
    tokens = tokenize(body[1:], feel=True)
    if not tokens:
        raise JuelError("表达式为空 (empty expression)")
    return Parser(tokens).parse()


def juel_to_python(text: str) -> str:
    """Translate one `${...}` / `#{...}` expression to Python; raise JuelError when unsupported."""
    match = DELIMITED.match(text)
    if match is None:
        raise JuelError("不是 ${...} 表达式 (not a ${...} expression)")
    body = match.group(1)
    if "${" in body or "#{" in body:
        raise JuelError("不支持复合表达式 (composite ${...}${...} expressions are not supported)")
    tokens = tokenize(body)
    if not tokens:
        raise JuelError("表达式为空 (empty expression)")
    return Parser(tokens).parse()
