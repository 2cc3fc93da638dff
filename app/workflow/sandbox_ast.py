"""Static AST whitelist check and the rewrite that routes risky operations through run-time guards."""

from __future__ import annotations

import ast
import copy
import re
from collections.abc import Collection
from typing import Final, Literal

from app.workflow.sandbox_limits import (
    DENIED_NAMES,
    MAX_INT_CONST,
    MAX_POW_EXPONENT,
    MAX_REPEAT,
    MAX_SOURCE,
    MAX_STR_CONST,
    SAFE_DATA_ATTRIBUTES,
    SAFE_METHOD_NAMES,
    UnsafeExpression,
)

_ALLOWED_NODES: Final = (
    ast.Module, ast.Expression, ast.Expr, ast.Assign, ast.AugAssign, ast.For, ast.If, ast.Break,
    ast.Continue, ast.Pass, ast.Delete, ast.BoolOp, ast.And, ast.Or, ast.BinOp, ast.Add, ast.Sub,
    ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.LShift, ast.RShift, ast.BitOr, ast.BitXor,
    ast.BitAnd, ast.UnaryOp, ast.UAdd, ast.USub, ast.Not, ast.Invert, ast.Compare, ast.Eq, ast.NotEq,
    ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Is, ast.IsNot, ast.In, ast.NotIn, ast.IfExp, ast.Dict, ast.Set,
    ast.List, ast.Tuple, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.comprehension,
    ast.Name, ast.Load, ast.Store, ast.Del, ast.Constant, ast.Attribute, ast.Subscript, ast.Slice,
    ast.Starred, ast.Call, ast.keyword, ast.JoinedStr, ast.FormattedValue, ast.NamedExpr,
)  # fmt: skip
_SEQUENCE_NODES: Final = (ast.List, ast.Tuple, ast.ListComp, ast.JoinedStr)
_GUARDED_OPS: Final[dict[type[ast.operator], str]] = {
    ast.Mult: "__gf_mul",
    ast.Pow: "__gf_pow",
    ast.Add: "__gf_add",
    ast.LShift: "__gf_lshift",
    ast.Mod: "__gf_mod",
}
_FORMAT_SPEC: Final = re.compile(r"^(.?[<>^=])?[+\- ]?z?#?0?\d{0,3}[,_]?(\.\d{1,2})?[bcdeEfFgGnosxX%]?$")


def _fold_int(node: ast.expr) -> int | None:
    """The value of a small constant integer expression, if it is one."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _fold_int(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ast.BinOp):
        left, right = _fold_int(node.left), _fold_int(node.right)
        if left is None or right is None:
            return None
        if isinstance(node.op, ast.Pow):
            return left**right if 0 <= right <= MAX_POW_EXPONENT and abs(left) <= MAX_INT_CONST else None
        if isinstance(node.op, (ast.Add, ast.Sub, ast.Mult)):
            return {ast.Add: left + right, ast.Sub: left - right, ast.Mult: left * right}[type(node.op)]
    return None


def _is_sequence(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (str, bytes))
    return isinstance(node, _SEQUENCE_NODES)


def _check_constant(node: ast.Constant) -> None:
    value = node.value
    if isinstance(value, (str, bytes)) and len(value) > MAX_STR_CONST:
        raise UnsafeExpression(f"字符串常量过长 (string constant longer than {MAX_STR_CONST})")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT_CONST:
        raise UnsafeExpression(f"整数常量过大 (integer constant beyond {MAX_INT_CONST})")


def _check_binop(node: ast.BinOp) -> None:
    if isinstance(node.op, ast.Pow):
        exponent = _fold_int(node.right)
        if exponent is not None and abs(exponent) > MAX_POW_EXPONENT:
            raise UnsafeExpression(f"指数过大 (exponent larger than {MAX_POW_EXPONENT})")
    if isinstance(node.op, ast.Mult):
        for seq, times in ((node.left, node.right), (node.right, node.left)):
            count = _fold_int(times)
            if _is_sequence(seq) and count is not None and count > MAX_REPEAT:
                raise UnsafeExpression(f"序列重复次数过大 (sequence repeated more than {MAX_REPEAT} times)")
    if isinstance(node.op, ast.MatMult):
        raise UnsafeExpression("不允许的运算 '@' (matrix multiplication is not allowed)")


def _check_name(name: str, what: str) -> None:
    if name.startswith("_"):
        raise UnsafeExpression(f"不允许的{what} '{name}' (names starting with '_' are not allowed)")
    if name in DENIED_NAMES:
        raise UnsafeExpression(f"不允许的{what} '{name}' ('{name}' is not allowed)")


def _check_call(node: ast.Call, functions: Collection[str]) -> None:
    func = node.func
    if isinstance(func, ast.Name):
        _check_name(func.id, "名称")
        if func.id not in functions:
            raise UnsafeExpression(f"不允许调用的函数 '{func.id}' (function is not whitelisted)")
    elif isinstance(func, ast.Attribute):
        if func.attr not in SAFE_METHOD_NAMES:
            raise UnsafeExpression(f"不允许调用的方法 '{func.attr}' (method is not whitelisted)")
    else:
        raise UnsafeExpression("只能调用具名函数或方法 (only named functions and methods may be called)")
    for kw in node.keywords:
        if kw.arg is not None:
            _check_name(kw.arg, "参数名")


def _check_attribute(node: ast.Attribute) -> None:
    _check_name(node.attr, "属性")
    if not isinstance(node.ctx, ast.Load):
        raise UnsafeExpression(f"不允许给属性赋值 '{node.attr}' (attributes cannot be assigned)")
    if node.attr not in SAFE_METHOD_NAMES and node.attr not in SAFE_DATA_ATTRIBUTES:
        raise UnsafeExpression(f"不允许的属性 '{node.attr}' (attribute is not whitelisted)")


def _check_formatted(node: ast.FormattedValue) -> None:
    spec = node.format_spec
    if spec is None:
        return
    parts = spec.values if isinstance(spec, ast.JoinedStr) else [spec]
    text = ""
    for part in parts:
        if not isinstance(part, ast.Constant) or not isinstance(part.value, str):
            raise UnsafeExpression("格式说明只能是常量 (format specs must be constant)")
        text += part.value
    if not _FORMAT_SPEC.match(text):
        raise UnsafeExpression(f"不允许的格式说明 '{text}' (format spec not allowed)")


def _check_node(node: ast.AST, functions: Collection[str]) -> None:
    if not isinstance(node, _ALLOWED_NODES):
        raise UnsafeExpression(f"不允许的语法 {type(node).__name__} (syntax not allowed)")
    if isinstance(node, ast.Name):
        _check_name(node.id, "名称")
        if not isinstance(node.ctx, ast.Load) and node.id in functions:
            raise UnsafeExpression(
                f"不能给函数名赋值 '{node.id}' (whitelisted function names cannot be rebound)"
            )
    elif isinstance(node, ast.Attribute):
        _check_attribute(node)
    elif isinstance(node, ast.Call):
        _check_call(node, functions)
    elif isinstance(node, ast.Constant):
        _check_constant(node)
    elif isinstance(node, ast.BinOp):
        _check_binop(node)
    elif isinstance(node, ast.FormattedValue):
        _check_formatted(node)
    elif isinstance(node, ast.comprehension) and node.is_async:
        raise UnsafeExpression("不允许异步推导 (async comprehensions are not allowed)")


def parse_checked(source: str, mode: Literal["eval", "exec"], functions: Collection[str]) -> ast.AST:
    """Parse `source` and verify every node against the whitelist; return the tree."""
    if len(source) > MAX_SOURCE:
        raise UnsafeExpression(f"表达式过长 (source longer than {MAX_SOURCE} characters)")
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as err:
        raise UnsafeExpression(f"语法错误 (syntax error): {err.msg} (line {err.lineno})") from None
    except (RecursionError, MemoryError):
        raise UnsafeExpression("表达式嵌套过深 (expression nested too deeply)") from None
    nodes = list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.Name):
            _check_name(node.id, "名称")
        elif isinstance(node, ast.Attribute):
            _check_name(node.attr, "属性")
    for node in nodes:
        _check_node(node, functions)
    return tree


class _GuardRewriter(ast.NodeTransformer):
    """Route multiplication, powers, concatenation, method calls and loops through run-time guards."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        guard = _GUARDED_OPS.get(type(node.op))
        if guard is None:
            return node
        return ast.Call(func=ast.Name(id=guard, ctx=ast.Load()), args=[node.left, node.right], keywords=[])

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        guard = _GUARDED_OPS.get(type(node.op))
        if guard is None:
            return node
        load = copy.deepcopy(node.target)
        for sub in ast.walk(load):
            if hasattr(sub, "ctx"):
                sub.ctx = ast.Load()
        call = ast.Call(func=ast.Name(id=guard, ctx=ast.Load()), args=[load, node.value], keywords=[])
        return ast.Assign(targets=[node.target], value=call)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.func, ast.Attribute):
            args = [node.func.value, ast.Constant(value=node.func.attr), *node.args]
            return ast.Call(func=ast.Name(id="__gf_meth", ctx=ast.Load()), args=args, keywords=node.keywords)
        return ast.Call(func=ast.Name(id="__gf_size", ctx=ast.Load()), args=[node], keywords=[])

    def _wrap_iter(self, node: ast.expr) -> ast.expr:
        return ast.Call(func=ast.Name(id="__gf_iter", ctx=ast.Load()), args=[node], keywords=[])

    def visit_For(self, node: ast.For) -> ast.AST:
        self.generic_visit(node)
        node.iter = self._wrap_iter(node.iter)
        return node

    def visit_comprehension(self, node: ast.comprehension) -> ast.AST:
        self.generic_visit(node)
        node.iter = self._wrap_iter(node.iter)
        return node


def rewrite_guarded(tree: ast.AST) -> ast.AST:
    """Return the tree with guards inserted (names the checker forbids, so user code cannot reach them)."""
    rewritten: ast.AST = _GuardRewriter().visit(tree)
    return ast.fix_missing_locations(rewritten)
