"""Statistics bounds in the index: canonical text plus the kind of value, and typed copies.

Bounds have no single Parquet type (ints, strings, dates, decimals ... in one column), so
each is stored as text plus its kind (``stats_kind``), which :func:`decode_bound` turns
back into the same Python value, and as typed ``*_int`` / ``*_float`` copies that other
tools can filter on directly.
"""
from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from operator import itemgetter
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["encode_bound", "decode_bound", "encode_bounds", "decode_bounds"]


_KINDS: Tuple[Tuple[type, str, Callable[[Any], str]], ...] = (
    # order matters: bool is an int, datetime is a date
    (bool, "bool", lambda v: "true" if v else "false"),
    (int, "int", str),
    (float, "float", repr),
    (str, "str", str),
    (bytes, "bytes", bytes.hex),
    (Decimal, "decimal", str),
    (dt.datetime, "datetime", dt.datetime.isoformat),
    (dt.date, "date", dt.date.isoformat),
    (dt.time, "time", dt.time.isoformat),
    (uuid.UUID, "uuid", str),
)
_DECODERS: Dict[str, Callable[[str], Any]] = {
    "bool": lambda s: s == "true", "int": int, "float": float, "str": str,
    "bytes": bytes.fromhex, "decimal": Decimal, "datetime": dt.datetime.fromisoformat,
    "date": dt.date.fromisoformat, "time": dt.time.fromisoformat, "uuid": uuid.UUID,
    "repr": str,
}
_INT64 = (-(2**63), 2**63 - 1)


#: type -> (kind, to_text), filled on first sight of a type (subclasses such as
#: pandas.Timestamp resolve through ``_KINDS`` like ``isinstance`` would).
_BY_TYPE: Dict[type, Tuple[Optional[str], Callable[[Any], Optional[str]]]] = {type(None): (None, lambda v: None)}


def _kind_of(cls: type) -> Tuple[Optional[str], Callable[[Any], Optional[str]]]:
    entry = _BY_TYPE.get(cls)
    if entry is None:
        entry = next(((kind, to_text) for base, kind, to_text in _KINDS if issubclass(cls, base)), ("repr", repr))
        _BY_TYPE[cls] = entry
    return entry


def encode_bound(value: Any) -> Tuple[Optional[str], Optional[str]]:
    """``(text, kind)`` of a statistics bound; :func:`decode_bound` inverts it exactly.

    Floats use ``repr`` (shortest text that reads back bit for bit), bytes hex, dates and
    times ISO 8601, decimals their exact string. An unknown type is kept as ``repr``
    with kind ``repr`` (it reads back as that string).
    """
    kind, to_text = _kind_of(type(value))
    return to_text(value), kind


def decode_bound(text: Optional[str], kind: Optional[str]) -> Any:
    """The Python value :func:`encode_bound` made ``(text, kind)`` of."""
    return None if text is None or kind is None else _DECODERS[kind](text)


def encode_bounds(minimums: List[Any], maximums: List[Any]) -> Dict[str, pa.Array]:
    """Index fields for the ``stats_min`` / ``stats_max`` values: text, kind, typed copies.

    Values are grouped by type and each group converted at once (ints to text by Arrow's
    cast, strings as they are, the rest by their text function), then put back in row
    order: a lake's million bounds take a fraction of a second, not one Python call each.
    """
    out: Dict[str, pa.Array] = {}
    kinds = []
    for name, values in (("stats_min", minimums), ("stats_max", maximums)):
        text, kind, as_int, as_float = _encode_column(values)
        out[name], out[f"{name}_int"], out[f"{name}_float"] = text, as_int, as_float
        kinds.append(kind)
    low, high = kinds
    clash = pc.and_(pc.and_(pc.is_valid(low), pc.is_valid(high)), pc.not_equal(low, high))
    if pc.any(clash).as_py():
        row = pc.index(clash, True).as_py()
        raise ValueError(f"a row's stats_min is a {low[row]} but its stats_max a {high[row]}")
    return {"stats_kind": pc.coalesce(low, high), **out}


def _encode_column(values: List[Any]) -> Tuple[pa.Array, pa.Array, pa.Array, pa.Array]:
    """Text, kind, int64 copy and float64 copy of one list of bounds (nulls where none)."""
    count = len(values)
    types = list(map(type, values))
    entries: List[Tuple[Optional[str], Callable[[Any], Optional[str]]]] = []  # one per kind, first seen first
    code_of: Dict[type, int] = {}
    for cls in dict.fromkeys(types):
        entry = _kind_of(cls)
        if entry not in entries:
            entries.append(entry)
        code_of[cls] = entries.index(entry)
    groups = np.fromiter(map(code_of.__getitem__, types), dtype=np.int64, count=count)
    order = np.argsort(groups, kind="stable")
    bounds = np.searchsorted(groups[order], np.arange(len(entries) + 1))  # each group's rows in ``order``
    texts, kinds, ints, floats = [], [], [], []
    for code, (kind, to_text) in enumerate(entries):
        rows = order[bounds[code]:bounds[code + 1]].tolist()
        group = list(itemgetter(*rows)(values)) if len(rows) > 1 else [values[rows[0]]]
        size = len(group)
        text, as_int = _texts(kind, to_text, group)
        texts.append(text)
        kinds.append(pa.nulls(size, pa.string()) if kind is None else pa.array([kind] * size, pa.string()))
        ints.append(as_int if as_int is not None else pa.nulls(size, pa.int64()))
        floats.append(pa.array(group, pa.float64()) if kind == "float" else pa.nulls(size, pa.float64()))
    if not texts:
        return (pa.array([], pa.string()), pa.array([], pa.string()), pa.array([], pa.int64()),
                pa.array([], pa.float64()))
    back = pa.array(np.argsort(order, kind="stable"))  # row order from group order
    return tuple(pa.concat_arrays(parts).take(back) for parts in (texts, kinds, ints, floats))  # type: ignore


def _texts(kind: Optional[str], to_text: Callable[[Any], Optional[str]],
           group: List[Any]) -> Tuple[pa.Array, Optional[pa.Array]]:
    """A group's texts, and its int64 copy for ints that fit."""
    if kind is None:
        return pa.nulls(len(group), pa.string()), None
    if kind == "str":
        return pa.array(group, pa.string()), None
    if kind == "int":
        try:
            as_int = pa.array(group, pa.int64())
        except (OverflowError, pa.ArrowInvalid):  # uint64 above 2**63 - 1: no int64 copy
            return pa.array([str(v) for v in group], pa.string()), pa.array(
                [v if _INT64[0] <= v <= _INT64[1] else None for v in group], pa.int64())
        return as_int.cast(pa.string()), as_int
    return pa.array([to_text(v) for v in group], pa.string()), None


def decode_bounds(table: pa.Table) -> Dict[str, List[Any]]:
    """The Python values of the index's ``stats_min`` / ``stats_max`` texts."""
    kinds = table.column("stats_kind").to_pylist()
    return {name: [decode_bound(t, k) for t, k in zip(table.column(name).to_pylist(), kinds)]
            for name in ("stats_min", "stats_max")}
