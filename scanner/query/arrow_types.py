"""The catalogue's type strings as Arrow types.

``rugo`` names a column's type with a short string (README "Type strings"): the logical
type when the file annotates one (``varchar``, ``timestamp[us,UTC]``, ``decimal(9,2)``,
``array<int64>``, ``struct<a:int32,b:varchar>``, ``map<varchar,double>``), else the
physical type (``int64``, ``byte_array``). :func:`arrow_type` reads one back as the Arrow
type pyarrow gives such a column, so that schemas can be compared and unified
(:mod:`scanner.query.drift`). Only this package's own grammar is read here.

Where the string does not say enough, the nearest Arrow type is taken and documented:
``fixed_len_byte_array`` (its length is not in the string) and ``bson``, ``geometry``,
``geography``, ``variant``, ``interval`` are ``binary``; ``enum`` and ``json`` are
``string``; ``int96`` is ``timestamp[ns]``, as pyarrow reads it; times carry no time zone
in Arrow, so ``time64[us,UTC]`` is ``time64[us]``.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import List, Tuple

import pyarrow as pa

__all__ = ["arrow_type"]

_SIMPLE = {
    "boolean": pa.bool_(), "int32": pa.int32(), "int64": pa.int64(), "int96": pa.timestamp("ns"),
    "float": pa.float32(), "double": pa.float64(), "byte_array": pa.binary(), "fixed_len_byte_array": pa.binary(),
    "int8": pa.int8(), "int16": pa.int16(), "uint8": pa.uint8(), "uint16": pa.uint16(), "uint32": pa.uint32(),
    "uint64": pa.uint64(), "varchar": pa.string(), "enum": pa.string(), "json": pa.string(), "bson": pa.binary(),
    "uuid": pa.uuid() if hasattr(pa, "uuid") else pa.binary(16), "float16": pa.float16(), "null": pa.null(),
    "date32[day]": pa.date32(), "interval": pa.binary(), "geometry": pa.binary(), "geography": pa.binary(),
    "variant": pa.binary(),
}
_TEMPORAL = re.compile(r"^(timestamp|time32|time64)\[(ms|us|ns)(,UTC)?\]$")
_DECIMAL = re.compile(r"^decimal\((\d+),(-?\d+)\)$")
_OPEN, _CLOSE = "<([", ">)]"


@lru_cache(maxsize=4096)
def arrow_type(text: str) -> pa.DataType:
    """The Arrow type of a catalogue type string (see the module docstring).

    Raises
    ------
    ValueError
        A string this grammar cannot read (a struct field name holding ``<``, ``,`` or
        ``>`` makes nesting ambiguous).
    """
    if text in _SIMPLE:
        return _SIMPLE[text]
    temporal = _TEMPORAL.match(text)
    if temporal:
        kind, unit, utc = temporal.groups()
        if kind == "timestamp":
            return pa.timestamp(unit, tz="UTC" if utc else None)
        return pa.time32(unit) if kind == "time32" else pa.time64(unit)
    decimal = _DECIMAL.match(text)
    if decimal:
        precision, scale = map(int, decimal.groups())
        if 1 <= precision <= 38:
            return pa.decimal128(precision, scale)
        if 38 < precision <= 76:
            return pa.decimal256(precision, scale)
        raise ValueError(f"type {text!r}: a decimal of precision {precision}")
    for name in ("array", "map", "struct"):
        if text.startswith(name + "<") and text.endswith(">"):
            args = _split(text[len(name) + 1:-1], text)
            if name == "array" and len(args) == 1:
                return pa.list_(arrow_type(args[0]))
            if name == "map" and len(args) == 2:
                return pa.map_(arrow_type(args[0]), arrow_type(args[1]))
            if name == "struct":
                return pa.struct([_struct_field(arg, text) for arg in args])
    raise ValueError(f"type {text!r} is not a type string rugo writes")


def _split(inner: str, text: str) -> List[str]:
    """``inner`` split at its commas outside brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(inner):
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth -= 1
            if depth < 0:
                raise ValueError(f"type {text!r}: unbalanced brackets")
        elif ch == "," and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
    if depth:
        raise ValueError(f"type {text!r}: unbalanced brackets")
    return parts + [inner[start:]] if inner else []


def _struct_field(arg: str, text: str) -> Tuple[str, pa.DataType]:
    """``name:type`` of a struct (the type part has no colon outside brackets, the name may)."""
    depth, colon = 0, -1
    for i, ch in enumerate(arg):
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth -= 1
        elif ch == ":" and depth == 0:
            colon = i
    if colon < 0:
        raise ValueError(f"type {text!r}: struct field {arg!r} has no type")
    return arg[:colon], arrow_type(arg[colon + 1:])
