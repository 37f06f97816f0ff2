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
from typing import Any, Callable, Dict, List, Optional, Tuple

import pyarrow as pa

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


def encode_bound(value: Any) -> Tuple[Optional[str], Optional[str]]:
    """``(text, kind)`` of a statistics bound; :func:`decode_bound` inverts it exactly.

    Floats use ``repr`` (shortest text that reads back bit for bit), bytes hex, dates and
    times ISO 8601, decimals their exact string. An unknown type is kept as ``repr``
    with kind ``repr`` (it reads back as that string).
    """
    if value is None:
        return None, None
    for cls, kind, to_text in _KINDS:
        if isinstance(value, cls):
            return to_text(value), kind
    return repr(value), "repr"


def decode_bound(text: Optional[str], kind: Optional[str]) -> Any:
    """The Python value :func:`encode_bound` made ``(text, kind)`` of."""
    return None if text is None or kind is None else _DECODERS[kind](text)


def encode_bounds(minimums: List[Any], maximums: List[Any]) -> Dict[str, pa.Array]:
    """Index fields for the ``stats_min`` / ``stats_max`` values: text, kind, typed copies."""
    lows = [encode_bound(v) for v in minimums]
    highs = [encode_bound(v) for v in maximums]
    kinds = []
    for (_, low), (_, high) in zip(lows, highs):
        if low and high and low != high:
            raise ValueError(f"a row's stats_min is a {low} but its stats_max a {high}")
        kinds.append(low or high)
    out: Dict[str, pa.Array] = {"stats_kind": pa.array(kinds, pa.string())}
    for name, encoded, values in (("stats_min", lows, minimums), ("stats_max", highs, maximums)):
        out[name] = pa.array([text for text, _ in encoded], pa.string())
        out[f"{name}_int"] = pa.array(
            [v if k == "int" and _INT64[0] <= v <= _INT64[1] else None
             for v, (_, k) in zip(values, encoded)], pa.int64())
        out[f"{name}_float"] = pa.array(
            [v if k == "float" else None for v, (_, k) in zip(values, encoded)], pa.float64())
    return out


def decode_bounds(table: pa.Table) -> Dict[str, List[Any]]:
    """The Python values of the index's ``stats_min`` / ``stats_max`` texts."""
    kinds = table.column("stats_kind").to_pylist()
    return {name: [decode_bound(t, k) for t, k in zip(table.column(name).to_pylist(), kinds)]
            for name in ("stats_min", "stats_max")}
