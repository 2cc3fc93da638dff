"""Limits, whitelists and run-time guards shared by the sandbox checker and its environment."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Final

MAX_STR_CONST: Final = 10_000
MAX_INT_CONST: Final = 10**12
MAX_REPEAT: Final = 10_000
MAX_POW_EXPONENT: Final = 100
MAX_LEN: Final = 100_000
MAX_INT_BITS: Final = 4096
MAX_ITERATIONS: Final = 100_000
MAX_SECONDS: Final = 1.0
MAX_SOURCE: Final = 50_000

SAFE_FUNCTION_NAMES: Final = frozenset(
    {
        "len", "min", "max", "sum", "any", "all", "sorted", "str", "int", "float", "bool", "round",
        "abs", "list", "dict", "set", "tuple", "range", "enumerate", "zip", "isinstance",
    }
)  # fmt: skip
# Helpers app.services registers (app.services.runtime.HELPERS); publish-time checks accept them.
GOVFLOW_HELPER_NAMES: Final = frozenset({"add_working_days", "working_deadline"})
SAFE_METHOD_NAMES: Final = frozenset(
    {
        "get", "keys", "values", "items", "append", "extend", "count", "index", "lower", "upper", "strip",
        "lstrip", "rstrip", "split", "join", "startswith", "endswith", "replace", "isoformat", "strftime",
        "date", "weekday", "isdigit", "add", "pop", "insert", "remove", "copy", "update", "setdefault",
    }
)  # fmt: skip
SAFE_DATA_ATTRIBUTES: Final = frozenset(
    {"year", "month", "day", "hour", "minute", "second", "days", "seconds"}
)
DENIED_NAMES: Final = frozenset(
    {
        "eval", "exec", "open", "compile", "getattr", "setattr", "delattr", "hasattr", "vars", "globals",
        "locals", "type", "dir", "input", "breakpoint", "help", "memoryview", "object", "super",
        "classmethod", "staticmethod", "property", "exit", "quit", "print", "id", "hash", "format",
    }
)  # fmt: skip
_MUTATORS: Final = frozenset({"append", "extend", "insert", "add", "update", "setdefault"})
SEQUENCE_TYPES: Final = (str, bytes, list, tuple)
SIZED_TYPES: Final = (str, bytes, list, tuple, dict, set, frozenset)


class UnsafeExpression(Exception):
    """An expression or script that the sandbox refuses to compile or to finish."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def checked_size(value: Any) -> Any:
    """Return `value` unless it is a container or integer beyond the run-time bounds."""
    if isinstance(value, SIZED_TYPES) and len(value) > MAX_LEN:
        raise UnsafeExpression(f"结果过大：{len(value)} 个元素 (result too large: more than {MAX_LEN} items)")
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise UnsafeExpression(f"整数过大 (integer larger than {MAX_INT_BITS} bits)")
    return value


def _repeat_guard(seq: Any, times: Any) -> None:
    if isinstance(seq, SEQUENCE_TYPES) and isinstance(times, int) and len(seq) * max(times, 0) > MAX_LEN:
        raise UnsafeExpression(f"重复次数过大 (sequence repetition beyond {MAX_LEN} items)")


def guarded_mul(left: Any, right: Any) -> Any:
    """`left * right` with sequence repetition and integer size bounded."""
    _repeat_guard(left, right)
    _repeat_guard(right, left)
    both_int = isinstance(left, int) and isinstance(right, int)
    if both_int and left.bit_length() + right.bit_length() > MAX_INT_BITS + 1:
        raise UnsafeExpression(f"整数过大 (integer larger than {MAX_INT_BITS} bits)")
    return checked_size(left * right)


def guarded_pow(base: Any, exponent: Any) -> Any:
    """`base ** exponent` with the exponent and the integer result bounded."""
    if isinstance(base, int) and isinstance(exponent, int):
        if abs(exponent) > MAX_POW_EXPONENT and abs(base) > 1:
            raise UnsafeExpression(f"指数过大 (exponent larger than {MAX_POW_EXPONENT})")
        if exponent > 0 and base.bit_length() * exponent > MAX_INT_BITS:
            raise UnsafeExpression(f"整数过大 (integer larger than {MAX_INT_BITS} bits)")
    if isinstance(exponent, float) and not math.isfinite(exponent):
        raise UnsafeExpression("指数无效 (invalid exponent)")
    return checked_size(base**exponent)


def guarded_add(left: Any, right: Any) -> Any:
    """`left + right` with concatenation bounded."""
    both_seq = isinstance(left, SEQUENCE_TYPES) and isinstance(right, SEQUENCE_TYPES)
    if both_seq and len(left) + len(right) > MAX_LEN:
        raise UnsafeExpression(f"结果过大 (concatenation beyond {MAX_LEN} items)")
    return checked_size(left + right)


def guarded_lshift(left: Any, right: Any) -> Any:
    """`left << right` with the integer result bounded."""
    if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right > MAX_INT_BITS:
        raise UnsafeExpression(f"整数过大 (integer larger than {MAX_INT_BITS} bits)")
    return left << right


def guarded_mod(left: Any, right: Any) -> Any:
    """`left % right`, refusing printf-style string formatting."""
    if isinstance(left, (str, bytes)):
        raise UnsafeExpression("不允许 % 字符串格式化 (printf-style formatting is not allowed)")
    return left % right


def _method_precheck(obj: Any, name: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
    if isinstance(obj, type):
        raise UnsafeExpression(f"不允许调用类型的方法 '{name}' (methods of types cannot be called)")
    if name == "replace" and isinstance(obj, str) and len(args) >= 2:
        old, new = args[0], args[1]
        if isinstance(old, str) and isinstance(new, str):
            hits = len(obj) + 1 if old == "" else obj.count(old)
            if len(obj) + hits * max(len(new) - len(old), 0) > MAX_LEN:
                raise UnsafeExpression(f"结果过大 (replace result beyond {MAX_LEN} characters)")
    if name == "join" and isinstance(obj, str) and len(args) == 1:
        items = list(args[0]) if not isinstance(args[0], list) else args[0]
        if len(obj) * len(items) > MAX_LEN:
            raise UnsafeExpression(f"结果过大 (join result beyond {MAX_LEN} characters)")
        return (items,)
    return args


def guarded_method(obj: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    """Call a whitelisted method on a value, bounding the result."""
    if name not in SAFE_METHOD_NAMES:
        raise UnsafeExpression(f"不允许调用的方法 '{name}' (method is not whitelisted)")
    args = _method_precheck(obj, name, args)
    result = checked_size(getattr(obj, name)(*args, **kwargs))
    if name in _MUTATORS:
        checked_size(obj)
    return result


def safe_range(*args: int) -> range:
    """`range` limited to MAX_LEN items."""
    result = range(*args)
    if len(result) > MAX_LEN:
        raise UnsafeExpression(f"range 过大 (range longer than {MAX_LEN})")
    return result


def safe_sum(items: Iterable[Any], start: int | float = 0) -> Any:
    """`sum` over numbers only (no list or string concatenation)."""
    if not isinstance(start, (int, float)) or isinstance(start, bool):
        raise UnsafeExpression("sum 只能用于数字 (sum works on numbers only)")
    return checked_size(sum(items, start))


class IterationBudget:
    """Counts loop and comprehension iterations of one evaluation, and the time they take."""

    __slots__ = ("deadline", "left")

    def __init__(self, limit: int = MAX_ITERATIONS, seconds: float = MAX_SECONDS) -> None:
        self.left = limit
        self.deadline = time.monotonic() + seconds

    def iterate(self, iterable: Iterable[Any]) -> Iterator[Any]:
        """Yield from `iterable`, failing once the iteration or time budget is spent."""
        for item in iterable:
            self.left -= 1
            if self.left < 0:
                raise UnsafeExpression(f"循环次数过多 (more than {MAX_ITERATIONS} loop iterations)")
            if not self.left % 256 and time.monotonic() > self.deadline:
                raise UnsafeExpression(f"循环耗时过长 (loops ran longer than {MAX_SECONDS} s)")
            yield item


SAFE_BUILTINS: Final[dict[str, Any]] = {
    "len": len, "min": min, "max": max, "sum": safe_sum, "any": any, "all": all, "sorted": sorted,
    "str": str, "int": int, "float": float, "bool": bool, "round": round, "abs": abs, "list": list,
    "dict": dict, "set": set, "tuple": tuple, "range": safe_range, "enumerate": enumerate, "zip": zip,
    "isinstance": isinstance, "True": True, "False": False, "None": None,
}  # fmt: skip

STATIC_GUARDS: Final[dict[str, Callable[..., Any]]] = {
    "__gf_mul": guarded_mul,
    "__gf_pow": guarded_pow,
    "__gf_add": guarded_add,
    "__gf_lshift": guarded_lshift,
    "__gf_mod": guarded_mod,
    "__gf_meth": guarded_method,
    "__gf_size": checked_size,
}
