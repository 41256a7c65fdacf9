"""Records as JSON, fast: ``dumps(record)`` is ``json.dumps(record.to_dict())`` in meaning.

``dataclasses.asdict`` walks and deep-copies every record generically; on the write path that is
most of the store's time. Instead, for each record class (the first time one is written) a small
function is generated from the class's fields and type hints that builds the same dict with plain
attribute reads, nested records (``GeoPosition``, ``Velocity``, ...) built inline. The generated
code follows the model, whatever its fields are; anything else (a record inside ``attrs``, numpy
values) goes through :func:`_default`.

Output is ASCII JSON: any text, NUL characters and lone surrogates included, is escaped and comes
back exactly; NaN and infinity are written the way Python's ``json`` reads them back.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from typing import Any

import numpy as np

from lookout.model import Observation

#: classes whose ``to_dict`` drops top-level fields that are None or ``{}``
PRUNED: frozenset[type] = frozenset({Observation})

_ENCODERS: dict[type, Callable[[Any], dict]] = {}
_COMPILING: set[type] = set()


def _dataclass_types(hint: Any) -> list[type]:
    args = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    return [a for a in args if isinstance(a, type) and is_dataclass(a)]


def encoder(t: type) -> Callable[[Any], dict]:
    """The function turning a ``t`` record into its ``to_dict()`` form (generated once per class)."""
    fn = _ENCODERS.get(t)
    if fn is None:
        fn = _ENCODERS[t] = _compile(t)
    return fn


def _compile(t: type) -> Callable[[Any], dict]:
    _COMPILING.add(t)
    try:
        try:
            hints = typing.get_type_hints(t)
        except Exception:  # noqa: BLE001 - unresolvable hints: nested records go through _default
            hints = {}
        ns: dict[str, Any] = {}
        exprs: dict[str, str] = {}
        for i, f in enumerate(fields(t)):
            expr = "v"
            for j, c in enumerate(reversed(_dataclass_types(hints.get(f.name)))):
                cname, ename = f"C{i}_{j}", f"E{i}_{j}"
                ns[cname] = c
                # a class being compiled (a record nesting its own kind) is looked up late
                ns[ename] = (lambda c=c: lambda v: _ENCODERS[c](v))() if c in _COMPILING else encoder(c)
                expr = f"{ename}(v) if tv is {cname} else {expr}"
            exprs[f.name] = expr
        lines = ["def enc(o):"]
        if t in PRUNED:
            lines.append("    d = {}")
            for name, expr in exprs.items():
                lines.append(f"    v = o.{name}")
                lines.append("    if v is not None and v != {}:")
                if expr != "v":
                    lines.append("        tv = type(v)")
                lines.append(f"        d[{name!r}] = {expr}")
            lines.append("    return d")
        else:
            for name, expr in exprs.items():
                if expr != "v":
                    lines.append(f"    v = o.{name}")
                    lines.append("    tv = type(v)")
                    lines.append(f"    x_{name} = {expr}")
            items = ", ".join(f"{name!r}: {'x_' + name if expr != 'v' else 'o.' + name}" for name, expr in exprs.items())
            lines.append(f"    return {{{items}}}")
        exec("\n".join(lines), ns)  # noqa: S102 - generated from the dataclass's own field names
        return ns["enc"]
    finally:
        _COMPILING.discard(t)


def _default(o: Any) -> Any:
    if is_dataclass(o) and not isinstance(o, type):
        return encoder(type(o))(o)
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    raise TypeError(f"cannot store a value of type {type(o).__name__} in a record: {o!r}")


_encode = json.JSONEncoder(default=_default, ensure_ascii=True, separators=(",", ":"), check_circular=False).encode


def dumps(record: Any) -> str:
    """The record's ``to_dict()`` as compact ASCII JSON."""
    return _encode(encoder(type(record))(record) if is_dataclass(record) else record)
