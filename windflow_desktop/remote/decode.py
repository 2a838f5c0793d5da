"""``decode(cls, data)``: a server's JSON back into the domain's value types — the inverse
of ``server/serialize.plain``. Dataclasses field by field (fields the server leaves out
take their defaults; keys the client does not know are ignored, so an older desktop reads
a newer server), UUIDs, datetimes, enums, optionals, tuples, lists, sets and dicts."""

from __future__ import annotations

import dataclasses
import functools
import operator
import sys
import types
import typing
import uuid
from collections import abc
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

from ..domain.errors import WindFlowError

T = TypeVar("T")


class DecodeError(WindFlowError):
    """The server answered something this desktop cannot read."""

    code = "BAD_ANSWER"


def decode(cls: type[T] | Any, data: Any) -> T:
    """``data`` (parsed JSON) as a ``cls`` (a type or a type annotation)."""
    try:
        return typing.cast(T, _decode(cls, data))
    except (TypeError, ValueError, KeyError) as exc:
        name = getattr(cls, "__name__", str(cls))
        raise DecodeError(f"the server's answer is not a {name} this version can read "
                          f"({exc}): update WindFlow Desktop or the server") from exc


def _decode(tp: Any, data: Any) -> Any:
    if tp is Any or tp is object:
        return data
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(tp)
        if data is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _decode(option, data)
            except (TypeError, ValueError, KeyError) as exc:
                errors.append(exc)
        raise ValueError(f"{data!r} fits none of {tp}: {errors}")
    if origin is typing.Literal:
        if data not in typing.get_args(tp):
            raise ValueError(f"{data!r} is not one of {typing.get_args(tp)}")
        return data
    fixed = origin is tuple  # tuple[A, B] is fixed-length; Sequence[A] never is
    if origin in (abc.Sequence, abc.Iterable, abc.Collection):
        origin = tuple
    if origin in (tuple, list, set, frozenset):
        args = typing.get_args(tp)
        if not isinstance(data, list | tuple):
            raise TypeError(f"expected a list, got {type(data).__name__}")
        if fixed and args and args[-1] is not Ellipsis:
            return tuple(_decode(a, v) for a, v in zip(args, data, strict=True))
        item = args[0] if args else Any
        return origin(_decode(item, v) for v in data)
    if origin in (dict, abc.Mapping) or tp is dict:
        args = typing.get_args(tp) or (str, Any)
        if not isinstance(data, dict):
            raise TypeError(f"expected an object, got {type(data).__name__}")
        return {_decode(args[0], k): _decode(args[1], v) for k, v in data.items()}
    if origin is not None and dataclasses.is_dataclass(origin):  # Page[Stack]
        params = getattr(origin, "__parameters__", ())
        return _dataclass(typing.cast(type, origin), data,
                          dict(zip(params, typing.get_args(tp), strict=False)))
    if origin is not None:  # another generic (Sequence[...]): its base
        return _decode(origin, data) if isinstance(origin, type) else data
    if isinstance(tp, type):
        if dataclasses.is_dataclass(tp):
            return _dataclass(tp, data)
        if issubclass(tp, Enum):
            return tp(data)
        if tp is uuid.UUID:
            return uuid.UUID(str(data))
        if tp is datetime:
            return datetime.fromisoformat(str(data))
        if tp is bool:
            if not isinstance(data, bool):
                raise TypeError(f"expected true or false, got {data!r}")
            return data
        if tp is float and isinstance(data, int):
            return float(data)
        if tp in (str, int, float) and not isinstance(data, tp):
            raise TypeError(f"expected {tp.__name__}, got {type(data).__name__}")
        return data
    return data


def _dataclass(cls: type, data: Any, typevars: dict[Any, Any] | None = None) -> Any:
    if not isinstance(data, dict):
        raise TypeError(f"expected an object for {cls.__name__}, got {type(data).__name__}")
    hints = _hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        if f.name in data:
            hint = hints.get(f.name, Any)
            values[f.name] = _decode(_bind(hint, typevars) if typevars else hint, data[f.name])
        elif (f.default is dataclasses.MISSING
              and f.default_factory is dataclasses.MISSING):
            raise KeyError(f"{cls.__name__}.{f.name} is missing")
    return cls(**values)


def _bind(tp: Any, typevars: dict[Any, Any]) -> Any:
    """``tp`` with its type variables replaced (``tuple[T, ...]`` → ``tuple[Stack, ...]``)."""
    if isinstance(tp, typing.TypeVar):
        return typevars.get(tp, Any)
    args = typing.get_args(tp)
    if not args:
        return tp
    bound = tuple(a if a is Ellipsis else _bind(a, typevars) for a in args)
    if isinstance(tp, types.UnionType):
        return functools.reduce(operator.or_, bound)
    if isinstance(tp, types.GenericAlias):
        return types.GenericAlias(typing.get_origin(tp), bound)
    return tp.copy_with(bound)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    module = sys.modules.get(cls.__module__)
    return typing.get_type_hints(cls, vars(module) if module else None)
