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
import math
import types
import typing
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from typing import Any

import numpy as np
import orjson

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


def _late(c: type) -> Callable[[Any], dict]:
    """The encoder of ``c`` looked up on each call (for a class whose encoder is still being compiled)."""
    return lambda v: _ENCODERS[c](v)


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
                ns[ename] = _late(c) if c in _COMPILING else encoder(c)
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
            items = ", ".join(f"{name!r}: {'x_' + name if expr != 'v' else 'o.' + name}"
                              for name, expr in exprs.items())
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
_ORJSON_OPTS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_PASSTHROUGH_DATACLASS
_JSON_SCALARS = (str, int, bool, type(None))


def _finite(x: Any) -> bool:
    """False when ``x`` holds a NaN or an infinity anywhere (orjson would write it as null)."""
    t = type(x)
    if t is float:
        return x - x == 0.0
    if t is dict:
        return all(_finite(v) for v in x.values())
    if t is list or t is tuple:
        return all(_finite(v) for v in x)
    if t in _JSON_SCALARS:
        return True
    if isinstance(x, (float, np.floating)):
        return math.isfinite(x)
    if isinstance(x, np.ndarray):
        return x.dtype.kind not in "fc" or bool(np.isfinite(x).all())
    if is_dataclass(x) and not isinstance(x, type):
        return _finite(encoder(type(x))(x))
    return True  # anything else goes through _default, which the fallback handles alike


def _free_form(t: type) -> tuple[str, ...]:
    """Fields of record class ``t`` that may hold arbitrary values (typed ``Any``)."""
    out = _FREE.get(t)
    if out is None:
        try:
            hints = typing.get_type_hints(t)
        except Exception:  # noqa: BLE001
            hints = {}
        out = _FREE[t] = tuple(f.name for f in fields(t) if "Any" in str(hints.get(f.name, "Any")))
    return out


_FREE: dict[type, tuple[str, ...]] = {}


_PLANS: dict[type, tuple[Callable[[Any], dict], tuple[str, ...]]] = {}


def _plan(t: type) -> tuple[Callable[[Any], dict], tuple[str, ...]]:
    plan = _PLANS[t] = (encoder(t), _free_form(t))
    return plan


def dumps(record: Any) -> str:
    """The record's ``to_dict()`` as compact ASCII JSON.

    Written by orjson when the result is plain ASCII and every free-form value (``attrs``,
    ``evidence``, ...) is finite; otherwise by the standard library's encoder, which escapes
    non-ASCII text and lone surrogates and writes NaN and infinity -- the same JSON in meaning."""
    t = type(record)
    plan = _PLANS.get(t)
    if plan is None and is_dataclass(record) and not isinstance(record, type):
        plan = _plan(t)
    if plan is not None:
        d = plan[0](record)
        ok = True
        for f in plan[1]:
            v = getattr(record, f)
            if v and not _finite(v):
                ok = False
                break
    else:
        d, ok = record, _finite(record)
    if ok:
        try:
            b = orjson.dumps(d, default=_default, option=_ORJSON_OPTS)
        except (orjson.JSONEncodeError, TypeError):
            b = b""
        if b and b.isascii():
            return b.decode("ascii")
    return _encode(d)
