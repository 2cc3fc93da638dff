"""Token and cursor shared by the small expression translators (JUEL, XPath)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tok:
    """One token: its kind (num, str, op, name, word …) and its text."""

    kind: str
    text: str


class TokenCursor:
    """Walks a token list for a recursive-descent parser; raises `error` on unexpected input."""

    error: type[ValueError] = ValueError
    operator_kinds: tuple[str, ...] = ("op",)

    def __init__(self, tokens: list[Tok]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> Tok | None:
        """The next token without consuming it."""
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, text: str | None = None) -> Tok:
        """Consume the next token (which must be `text` when given)."""
        tok = self.peek()
        if tok is None or (text is not None and tok.text != text):
            raise self.error(f"表达式不完整 (expected {text or 'more input'})")
        self.pos += 1
        return tok

    def at(self, *texts: str) -> bool:
        """Whether the next token is an operator among `texts`."""
        tok = self.peek()
        return tok is not None and tok.kind in self.operator_kinds and tok.text in texts
