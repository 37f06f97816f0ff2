"""Statistics bounds: canonical text plus the kind of value, and typed copies.

Bounds have no single Parquet type (ints, strings, dates, decimals ... in one column), so
each is kept as text plus its kind (``stats_kind``), which :func:`decode_bound` turns
back into the same Python value, and as typed ``*_int`` / ``*_float`` copies that other
tools can filter on directly. The scan's parser writes these columns itself (the C
``bounds.c`` follows :func:`encode_bound`); Python values are made only for DataFrames
(:func:`decode_bounds`).

In memory (a catalogue part) ``stats_kind`` is a dictionary array over :data:`KINDS`,
whose ``timestamp`` (a pandas ``Timestamp``, nanoseconds) keeps its nanoseconds in the
int copy. The index (:func:`index_bounds`) has the same kind names, and an int copy for
ints and timestamps only (index format 1 called a timestamp a ``datetime`` and kept no
nanoseconds: read back, its bounds are microseconds).
"""
from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from operator import itemgetter
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from scanner.engine.results import KIND_NAMES as _KIND_NAMES
from scanner.engine.results import arrow_type
from scanner.fields import BOUND_KINDS

__all__ = ["encode_bound", "decode_bound", "encode_bounds", "decode_bounds", "index_bounds",
           "from_index_bounds", "typed_bounds", "object_array", "BOUND_FIELDS", "KINDS", "KIND_TYPE", "TYPED_BOUNDS"]


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

#: A bound's kind in memory: the C parser's codes (``bounds.h``), in this order.
KINDS = BOUND_KINDS
#: The in-memory ``stats_kind`` type: int8 codes into :data:`KINDS`.
KIND_TYPE = arrow_type("kind")
_INDEX_KIND_NAMES = pa.array(KINDS, pa.string())
#: The columns a table's bounds are kept as, in order: the kind, then text, int and float
#: copies of the minimum and of the maximum.
BOUND_FIELDS = ("stats_kind", "stats_min", "stats_min_int", "stats_min_float",
                "stats_max", "stats_max_int", "stats_max_float")


#: type -> (kind, to_text), filled on first sight of a type (subclasses such as
#: pandas.Timestamp resolve through ``_KINDS`` like ``isinstance`` would).
_BY_TYPE: Dict[type, Tuple[Optional[str], Callable[[Any], Optional[str]]]] = {type(None): (None, lambda v: None)}


def _kind_of(cls: type) -> Tuple[Optional[str], Callable[[Any], Optional[str]]]:
    """The index's kind of values of type ``cls``, and their text function."""
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


def _is_timestamp(cls: type) -> bool:
    """A pandas ``Timestamp`` (nanoseconds), told apart without importing pandas."""
    return issubclass(cls, dt.datetime) and cls.__module__.startswith("pandas")


def encode_bounds(minimums: Sequence[Any], maximums: Sequence[Any]) -> Dict[str, pa.Array]:
    """The in-memory bound columns (:data:`BOUND_FIELDS`) of ``stats_min`` / ``stats_max`` values.

    Values are grouped by type and each group converted at once (ints to text by Arrow's
    cast, strings as they are, the rest by their text function), then put back in row
    order. The parser makes these columns itself; this is for bounds that come as Python
    values (a DataFrame handed back to the catalogue).

    Raises
    ------
    ValueError
        A row's minimum and maximum are of different kinds.
    """
    out: Dict[str, pa.Array] = {}
    kinds = []
    for name, values in (("stats_min", minimums), ("stats_max", maximums)):
        text, kind, as_int, as_float = _encode_column(list(values))
        out[name], out[f"{name}_int"], out[f"{name}_float"] = text, as_int, as_float
        kinds.append(kind)
    low, high = kinds
    clash = pc.and_(pc.and_(pc.is_valid(low), pc.is_valid(high)), pc.not_equal(low, high))
    if pc.any(clash).as_py():
        row = pc.index(clash, True).as_py()
        raise ValueError(f"a row's stats_min is a {low[row]} but its stats_max a {high[row]}")
    codes = pc.index_in(pc.coalesce(low, high), value_set=_KIND_NAMES).cast(pa.int8())
    return {"stats_kind": pa.DictionaryArray.from_arrays(codes, _KIND_NAMES), **out}


def _encode_column(values: List[Any]) -> Tuple[pa.Array, pa.Array, pa.Array, pa.Array]:
    """Text, kind name, int64 copy and float64 copy of one list of bounds (nulls where none)."""
    count = len(values)
    types = list(map(type, values))
    entries: List[Tuple[Optional[str], Callable[[Any], Optional[str]]]] = []  # one per kind, first seen first
    code_of: Dict[type, int] = {}
    for cls in dict.fromkeys(types):
        kind, to_text = _kind_of(cls)
        entry = ("timestamp" if kind == "datetime" and _is_timestamp(cls) else kind, to_text)
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
    """A group's texts, and its int64 copy: ints that fit, a timestamp's nanoseconds."""
    if kind is None:
        return pa.nulls(len(group), pa.string()), None
    if kind == "str":
        return pa.array(group, pa.string()), None
    if kind == "timestamp":
        return pa.array([to_text(v) for v in group], pa.string()), pa.array([v.value for v in group], pa.int64())
    if kind == "int":
        try:
            as_int = pa.array(group, pa.int64())
        except (OverflowError, pa.ArrowInvalid):  # uint64 above 2**63 - 1: no int64 copy
            return pa.array([str(v) for v in group], pa.string()), pa.array(
                [v if _INT64[0] <= v <= _INT64[1] else None for v in group], pa.int64())
        return as_int.cast(pa.string()), as_int
    return pa.array([to_text(v) for v in group], pa.string()), None


def _kind_codes(table: pa.Table) -> np.ndarray:
    """The ``stats_kind`` codes of a table's rows (-1: no bound)."""
    kind = table.column("stats_kind").combine_chunks()
    return pc.fill_null(kind.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def index_bounds(table: pa.Table) -> Dict[str, pa.Array]:
    """The index's bound columns of a part's (:data:`BOUND_FIELDS`, ``stats_kind`` as kind
    names, ``*_int`` for ints and for a ``timestamp``'s nanoseconds only)."""
    kind = table.column("stats_kind").combine_chunks()
    is_int = pc.fill_null(pc.is_in(kind.indices, value_set=pa.array([KINDS.index("int"), KINDS.index("timestamp")],
                                                                      kind.indices.type)), False)
    out = {"stats_kind": pa.DictionaryArray.from_arrays(kind.indices, _INDEX_KIND_NAMES).cast(pa.string())}
    for name in ("stats_min", "stats_max"):
        out[name] = table.column(name).combine_chunks().cast(pa.string())
        ints = table.column(f"{name}_int").combine_chunks()
        out[f"{name}_int"] = pc.if_else(is_int, ints, pa.scalar(None, pa.int64()))
        out[f"{name}_float"] = table.column(f"{name}_float").combine_chunks()
    return out


def from_index_bounds(table: pa.Table) -> Dict[str, Any]:
    """Inverse of :func:`index_bounds`: the in-memory bound columns of an index's.

    Raises
    ------
    ValueError
        A kind this version does not know.
    """
    names = table.column("stats_kind").combine_chunks()
    codes = pc.index_in(names, value_set=_KIND_NAMES)
    if codes.null_count != names.null_count:
        unknown = pc.filter(names, pc.and_(pc.is_valid(names), pc.is_null(codes)))[0].as_py()
        raise ValueError(f"unknown statistics kind {unknown!r} in the index")
    out = {"stats_kind": pa.DictionaryArray.from_arrays(codes.cast(pa.int8()), _KIND_NAMES)}
    out.update((name, table.column(name)) for name in BOUND_FIELDS[1:])
    return out


def decode_bounds(table: pa.Table) -> Dict[str, np.ndarray]:
    """The Python values of a part's bounds: ``stats_min`` / ``stats_max`` as object arrays.

    Each kind is decoded at once from the column that holds it exactly: ints and floats
    from their copies, strings as they are, a ``timestamp`` from its nanoseconds, the rest
    from their text (:func:`decode_bound`).
    """
    codes = _kind_codes(table)
    out = {}
    for name in ("stats_min", "stats_max"):
        values = np.full(len(codes), None, dtype=object)
        text, ints = table.column(name), table.column(f"{name}_int")
        floats = table.column(f"{name}_float")
        for code in np.unique(codes[codes >= 0]).tolist():
            rows = np.flatnonzero(codes == code)
            picked = pa.array(rows)
            kind = KINDS[code]
            if kind == "float":
                values[rows] = object_array(floats.take(picked).to_pylist())
                continue
            got = text.take(picked).to_pylist()
            if kind == "int":  # the int64 copy, else (uint64 above it) the text
                got = [t if t is None else (i if i is not None else int(t))
                       for t, i in zip(got, ints.take(picked).to_pylist())]
            elif kind == "timestamp":
                got = [t if t is None else _timestamp(t, ns) for t, ns in zip(got, ints.take(picked).to_pylist())]
            elif kind != "str":
                decoder = _DECODERS[kind]
                got = [t if t is None else decoder(t) for t in got]
            values[rows] = object_array(got)
        out[name] = values
    return out


#: The typed columns each bound gets in DataFrames, after the declared fields, for
#: ``stats_min`` and ``stats_max`` in turn: ``<bound>_<suffix>`` holds the bounds of one
#: kind and is null elsewhere, so that it compares safely with values of that kind.
TYPED_BOUNDS = ("int", "float", "str", "bool", "date", "timestamp", "timestamp_local")
_CODE = {kind: KINDS.index(kind) for kind in KINDS}


def typed_bounds(table: pa.Table) -> Dict[str, Any]:
    """The typed bound columns (:data:`TYPED_BOUNDS`) of a part, as pandas arrays.

    Per bound: ``_int`` (``Int64``: int bounds that fit int64), ``_float`` (``Float64``),
    ``_str`` (``string``), ``_bool`` (``boolean``), ``_date`` (``date32[pyarrow]``),
    ``_timestamp`` (``datetime64[us, UTC]``: timestamps adjusted to UTC) and
    ``_timestamp_local`` (``datetime64[us]``: wall-clock timestamps, not adjusted).
    Nanosecond bounds are rounded outward to microseconds (a minimum down, a maximum up),
    so that a range test on them stays sound. Decimals, bytes, times and UUIDs stay in the
    object column only. Made by Arrow from the kind, text and typed copies: no Python
    object per row.
    """
    import pandas as pd

    codes = _kind_codes(table)
    columns: Dict[str, pa.Array] = {}
    for name in ("stats_min", "stats_max"):
        def where(kind: str, column: Any) -> pa.Array:
            mask = codes == _CODE[kind]
            if not mask.any():  # no bound of this kind: no work
                return pa.nulls(len(codes), column.type)
            if isinstance(column, pa.ChunkedArray):
                column = column.combine_chunks()
            return pc.if_else(pa.array(mask), column, None)

        text = table.column(name).combine_chunks().cast(pa.string())
        columns[f"{name}_int"] = where("int", table.column(f"{name}_int"))
        columns[f"{name}_float"] = where("float", table.column(f"{name}_float"))
        columns[f"{name}_str"] = where("str", text)
        columns[f"{name}_bool"] = pc.equal(where("bool", text), "true").cast(pa.bool_())
        columns[f"{name}_date"] = where("date", text).cast(pa.date32())
        utc, local = _timestamps(text, table.column(f"{name}_int").combine_chunks(), codes, up=name == "stats_max")
        columns[f"{name}_timestamp"], columns[f"{name}_timestamp_local"] = utc, local
    ordered = {f"{name}_{suffix}": columns[f"{name}_{suffix}"]
               for suffix in TYPED_BOUNDS for name in ("stats_min", "stats_max")}
    mapping = {pa.int64(): pd.Int64Dtype(), pa.float64(): pd.Float64Dtype(), pa.string(): pd.StringDtype(),
               pa.bool_(): pd.BooleanDtype(), pa.date32(): pd.ArrowDtype(pa.date32())}
    frame = pa.table(ordered).to_pandas(types_mapper=mapping.get)
    return {name: frame[name].array for name in ordered}


def _timestamps(text: pa.Array, ints: pa.Array, codes: np.ndarray, up: bool) -> Tuple[pa.Array, pa.Array]:
    """The timestamp bounds as ``timestamp[us, UTC]`` (those written with a zone) and
    ``timestamp[us]`` (those without). A ``datetime`` bound is parsed from its ISO text
    (microseconds, exact); a ``timestamp`` bound (pandas, nanoseconds) comes from its
    nanosecond copy, rounded ``up`` or down to microseconds."""
    n = len(codes)
    kinds = (codes == _CODE["datetime"]) | (codes == _CODE["timestamp"])
    if not kinds.any():
        return pa.nulls(n, pa.timestamp("us", tz="UTC")), pa.nulls(n, pa.timestamp("us"))
    micros = np.zeros(n, np.int64)
    found = np.zeros(n, bool)
    aware = np.zeros(n, bool)
    rows = np.flatnonzero(kinds)
    zoned = pc.match_substring_regex(text.take(pa.array(rows)), r"(Z|[+-]\d\d:\d\d)$")
    aware[rows] = pc.fill_null(zoned, False).to_numpy(zero_copy_only=False)
    present = pc.is_valid(text).to_numpy(zero_copy_only=False)
    datetimes = present & (codes == _CODE["datetime"])
    for zone, unit in ((True, pa.timestamp("us", tz="UTC")), (False, pa.timestamp("us"))):
        rows = np.flatnonzero(datetimes & (aware == zone))
        if len(rows):
            micros[rows] = text.take(pa.array(rows)).cast(unit).cast(pa.int64()).to_numpy()
            found[rows] = True
    stamps = np.flatnonzero(present & (codes == _CODE["timestamp"]) & pc.is_valid(ints).to_numpy(zero_copy_only=False))
    if len(stamps):
        nanos = ints.take(pa.array(stamps)).to_numpy()
        micros[stamps] = -(-nanos // 1000) if up else nanos // 1000
        found[stamps] = True
    utc = pa.array(micros, pa.int64()).cast(pa.timestamp("us", tz="UTC"))
    local = pa.array(micros, pa.int64()).cast(pa.timestamp("us"))
    return (pc.if_else(pa.array(found & aware), utc, None), pc.if_else(pa.array(found & ~aware), local, None))


def object_array(values: List[Any]) -> np.ndarray:
    """``values`` as a 1-d object array, each value as it is (lists stay lists instead of
    becoming a dimension)."""
    return np.fromiter(values, dtype=object, count=len(values))


def _timestamp(text: str, ns: Optional[int]) -> Any:
    """The pandas ``Timestamp`` of ``ns`` nanoseconds in the zone ``text`` (its isoformat) has."""
    import pandas as pd

    value = dt.datetime.fromisoformat(text)
    if ns is None:  # from an index: microseconds only
        return pd.Timestamp(value)
    return pd.Timestamp(ns, tz=value.tzinfo) if value.tzinfo is not None else pd.Timestamp(ns)
