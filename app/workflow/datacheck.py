"""Incoming task data must be plain JSON: no objects, no serializer type tags revived on load."""

from __future__ import annotations

from typing import Any

from app.workflow.types import InvalidTaskData

MAX_DEPTH = 32
_SCALARS = (str, int, float, bool, type(None))


def check_plain_data(data: Any, depth: int = 0, path: str = "$") -> None:
    """Raise InvalidTaskData unless `data` is JSON-like (dict/list/scalars) without `typename` keys."""
    if depth > MAX_DEPTH:
        raise InvalidTaskData(f"数据嵌套过深 (data nested deeper than {MAX_DEPTH} at {path})")
    if isinstance(data, _SCALARS):
        return
    if isinstance(data, dict):
        if "typename" in data:
            raise InvalidTaskData(f"数据不能包含 'typename' 键 (reserved key 'typename' at {path})")
        for key, value in data.items():
            if not isinstance(key, str):
                raise InvalidTaskData(f"键必须是字符串 (non-string key {key!r} at {path})")
            check_plain_data(value, depth + 1, f"{path}.{key}")
        return
    if isinstance(data, (list, tuple)):
        for i, value in enumerate(data):
            check_plain_data(value, depth + 1, f"{path}[{i}]")
        return
    raise InvalidTaskData(f"不支持的数据类型 (unsupported value of type {type(data).__name__} at {path})")
