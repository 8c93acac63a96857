"""Reading config dataclasses from JSON or TOML (model files, config files): only the settings
they have, each of the type it declares, so a typo or a wrong value is one clear error, not a
traceback or a silent default."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Literal, Union

from hwr.errors import ConfigError


def checked_fields(cls: type, data: dict[str, Any], what: str) -> dict[str, Any]:
    """A copy of ``data`` with each list made the tuple its field declares (JSON and TOML have only
    lists); a :class:`ConfigError` names any key that is not a field of the dataclass ``cls``, or
    whose value is not of the field's type."""
    if not isinstance(data, dict):
        raise ConfigError(f"{what} settings must be a table of settings, got {data!r}")
    unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
    if unknown:
        raise ConfigError(f"unknown {what} settings: {', '.join(sorted(unknown))}")
    hints = typing.get_type_hints(cls)
    for name, value in data.items():
        if not _matches(value, hints[name]):
            raise ConfigError(f"{what} setting {name} must be {_describe(hints[name])}, got {value!r}")
    return {name: _as_declared(value, hints[name]) for name, value in data.items()}


def _as_declared(value: Any, hint: Any) -> Any:
    """``value``, which matches ``hint``, with its lists turned into the tuples ``hint`` declares."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        return next(_as_declared(value, arg) for arg in args if _matches(value, arg))
    if (origin is tuple or hint is tuple) and isinstance(value, (list, tuple)):
        if not args:
            return tuple(value)
        items = args[:1] * len(value) if len(args) == 2 and args[1] is Ellipsis else args
        return tuple(_as_declared(v, a) for v, a in zip(value, items))
    return value


def _matches(value: Any, hint: Any) -> bool:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if origin in (Union, types.UnionType):
        return any(_matches(value, arg) for arg in args)
    if hint is type(None):
        return value is None
    if origin is Literal:
        return value in args
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_matches(v, args[0]) for v in value)
        return len(value) == len(args) and all(_matches(v, a) for v, a in zip(value, args))
    if origin is dict or hint is dict or dataclasses.is_dataclass(hint):
        return isinstance(value, dict) or (dataclasses.is_dataclass(hint) and isinstance(value, hint))
    return True


def _describe(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(arg) for arg in args)
    if hint is type(None):
        return "none"
    if origin is Literal:
        return " or ".join(repr(a) for a in args)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of ({_describe(args[0])})"
        return f"a list of {len(args)} ({', '.join(_describe(a) for a in args)})"
    if dataclasses.is_dataclass(hint) or origin is dict or hint is dict:
        return "a table of settings"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(hint, str(hint))
