"""Pruning: which files, or row groups, may hold rows that match a filter.

Filters are pyarrow's and pandas' DNF form: a list of ``(column, op, value)`` tuples (all
must hold), or a list of such lists (any of them), or a ``pyarrow.compute.Expression``,
turned into that form by :mod:`scanner.query.expression`. Operators: ``==`` (or ``=``), ``!=``,
``<``, ``<=``, ``>``, ``>=``, ``in``, ``not in`` (with a collection of values),
``is_null`` and ``is_valid`` (value ignored). ``column`` is a leaf column's dotted path
(``path_in_schema``) or a hive partition key.

The answer is **sound**: a file or row group that holds a matching row is never dropped.
The rules, in the order they apply:

* a file that failed, or a bound that is missing, an unknown value or one that cannot be
  compared with the filter's value (a ``str`` against an ``int``, a ``date`` against a
  ``datetime``) keeps the file: nothing is known;
* a column missing from a file is all nulls there: only ``is_null`` can match (when the
  file has rows), as in pyarrow datasets;
* nulls match no comparison; a column whose values are all null (``num_values`` equal to
  its null count) matches only ``is_null``; ``is_null`` needs a null count that is not 0
  and ``is_valid`` a value that is not null;
* ``==``, ``<``, ``<=``, ``>``, ``>=`` and ``in`` test the filter's value against the
  ``[min, max]`` range, which holds every value even when a bound is truncated (a
  truncated minimum is a prefix, a truncated maximum is rounded up by the writer);
* ``!=`` and ``not in`` drop only a range of one value that the filter excludes, with
  exact bounds (``row_groups`` detail: ``min_is_exact``, ``max_is_exact``; at file level
  never for strings and bytes, which writers may truncate) and never for floating-point
  columns, whose statistics leave NaN out (NaN is not equal to anything);
* a NaN in a bound or in the filter's values keeps the file;
* timestamps: a bound without a zone (not adjusted to UTC) and a filter value with one
  (or the reverse) are compared as UTC wall clocks, the rule the typed ``_timestamp`` /
  ``_timestamp_local`` columns document;
* a string value against a date, timestamp or decimal bound is read as one (ISO 8601:
  ``"2024-01-01"``); one that does not parse keeps the file.

Hive partition values are compared as :func:`scanner.query.partitions.typed_partition_values`
types them (int, then date, then string); a null partition value matches only ``is_null``.
"""
from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Sequence, Tuple

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["prune", "normalize_filters", "OPERATORS"]

#: The operators a filter may use.
OPERATORS = ("==", "=", "!=", "<", "<=", ">", ">=", "in", "not in", "is_null", "is_valid")
Predicate = Tuple[str, str, Any]
_UNKNOWN = None  # a comparison that cannot be made: keep


def normalize_filters(filters: Any) -> List[List[Predicate]]:
    """``filters`` as a list of conjunctions (DNF), each checked.

    Raises
    ------
    ValueError
        An operator that is not one of :data:`OPERATORS`, or ``in`` / ``not in`` without a
        collection.
    """
    if filters is None or (isinstance(filters, (list, tuple)) and not filters):
        return [[]]
    if not isinstance(filters, (list, tuple)):
        raise ValueError(f"filters must be a list of (column, op, value) tuples, or a list of such lists, "
                         f"not {type(filters).__name__}")
    groups = [filters] if isinstance(filters[0], tuple) else filters
    out = []
    for group in groups:
        conjunction = []
        for item in group:
            if not isinstance(item, (list, tuple)) or len(item) not in (2, 3):
                raise ValueError(f"a filter is (column, op, value), not {item!r}")
            column, op = item[0], str(item[1]).lower()
            value = item[2] if len(item) == 3 else None
            if op not in OPERATORS:
                raise ValueError(f"unknown filter operator {item[1]!r} (use one of {', '.join(OPERATORS)})")
            if op in ("in", "not in"):
                if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
                    raise ValueError(f"{op!r} needs a collection of values, not {value!r}")
                value = list(value)
            conjunction.append((str(column), "==" if op == "=" else op, value))
        out.append(conjunction)
    return out


def prune(files: "pd.DataFrame", stats: Optional["pd.DataFrame"], partition_keys: Sequence[str], filters: Any,
          level: str = "files") -> "pd.DataFrame":
    """The candidates: ``files`` rows (level ``files``, with ``stats`` the ``columns``
    table), or ``(file_name, row_group_id)`` pairs (level ``row_groups``, with ``stats``
    the ``row_groups`` table; a failed file is one pair with a null ``row_group_id``: all
    of it may match). ``stats`` is ``None`` when the scan did not read the columns
    (``files`` detail): then only partition keys prune. See the module docstring."""
    import pandas as pd

    if level not in ("files", "row_groups"):
        raise ValueError(f"level must be 'files' or 'row_groups', not {level!r}")
    groups = _groups(filters, stats)
    keys = set(partition_keys)
    typed = {key: _typed(files[key]) for key in partition_keys}
    known = _column_stats(stats, per_row_group=level == "row_groups") if stats is not None else None

    def may(key: Any, file_row: int, rows: Any) -> bool:
        found = known.get(key, {}) if known is not None else None
        return any(all(_may(p, keys, typed, file_row, found.get(p[0]) if found is not None else _UNCOMPARED, rows)
                       for p in group) for group in groups)

    if level == "files":
        keep = [row.status != "ok" or may(row.file_name, i, row.num_rows)
                for i, row in enumerate(files.itertuples(index=False))]
        return files[pd.Series(keep, index=files.index, dtype=bool)]
    by_file = {name: i for i, name in enumerate(files.file_name)}
    pairs: List[Tuple[str, Any]] = [(row.file_name, None) for row in files.itertuples(index=False)
                                    if row.status != "ok"]
    chunks = stats.drop_duplicates(["file_name", "row_group_id"])
    pairs += [(name, group_id) for name, group_id, rows in
              zip(chunks.file_name, chunks.row_group_id, chunks.row_group_num_rows)
              if may((name, group_id), by_file[name], rows)]
    pairs.sort(key=lambda pair: (by_file[pair[0]], -1 if pair[1] is None else pair[1]))
    return pd.DataFrame({"file_name": pd.array([p[0] for p in pairs], dtype="string"),
                         "row_group_id": pd.array([p[1] for p in pairs], dtype="Int64")})


def _groups(filters: Any, stats: Optional["pd.DataFrame"]) -> List[List[Predicate]]:
    """The conjunctions of DNF ``filters`` or of a ``pyarrow.compute.Expression``
    (:mod:`scanner.query.expression`; ``[]``: never true)."""
    import pyarrow.compute as pc

    if not isinstance(filters, pc.Expression):
        return normalize_filters(filters)
    from scanner.query.expression import to_dnf

    floating = set() if stats is None else set(stats.path_in_schema[
        stats.type.isin(["float", "double"]) | (stats.logical_type == "float16").fillna(False)])
    dnf = to_dnf(filters, floating)
    return normalize_filters(dnf) if dnf else []


def _typed(values: "pd.Series") -> List[Any]:
    """A partition column's values, typed (nulls as ``None``)."""
    import pandas as pd

    from scanner.query.partitions import typed_partition_values

    strings = [None if pd.isna(x) else str(x) for x in values]
    return [None if pd.isna(v) else v for v in typed_partition_values(strings).tolist()]


class _Stats:
    """What is known of one column in one file or row group."""

    __slots__ = ("lo", "hi", "nulls", "values", "exact", "floating", "truncatable")

    def __init__(self, lo: Any, hi: Any, nulls: Optional[int], values: Optional[int], exact: bool,
                 floating: bool, truncatable: bool) -> None:
        self.lo, self.hi, self.nulls, self.values = lo, hi, nulls, values
        self.exact, self.floating, self.truncatable = exact, floating, truncatable


def _column_stats(table: "pd.DataFrame", per_row_group: bool) -> Dict[Any, Dict[str, _Stats]]:
    """(file, or (file, row group)) -> column path -> :class:`_Stats` (bounds exact only
    where the table says so: ``row_groups``' ``min_is_exact`` / ``max_is_exact``)."""
    out: Dict[Any, Dict[str, _Stats]] = {}
    if not len(table):
        return out
    names = table.file_name.tolist()
    groups = table.row_group_id.tolist() if per_row_group else [None] * len(table)
    exact_min = table.min_is_exact.tolist() if "min_is_exact" in table else [None] * len(table)
    exact_max = table.max_is_exact.tolist() if "max_is_exact" in table else [None] * len(table)
    for name, group, path, lo, hi, nulls, values, physical, e_lo, e_hi in zip(
            names, groups, table.path_in_schema.tolist(), table.stats_min.tolist(), table.stats_max.tolist(),
            table.stats_null_count.tolist(), table.num_values.tolist(), table.type.tolist(), exact_min, exact_max):
        key = (name, group) if per_row_group else name
        found = out.setdefault(key, {})
        parts = path.split(".")
        for depth in range(1, len(parts)):
            found.setdefault(".".join(parts[:depth]), _UNCOMPARED)
        found[path] = _Stats(
            lo, hi, _int(nulls), _int(values), exact=e_lo is True and e_hi is True,
            floating=physical in ("float", "double") or isinstance(lo, float) or isinstance(hi, float),
            truncatable=physical in ("byte_array", "fixed_len_byte_array"))
    return out


#: What a column finds when nothing is known to compare it with (keep): a nested group's
#: name (``point`` of ``point.x``), or any column of a catalogue scanned at ``files`` detail.
_UNCOMPARED: Any = object()


def _int(value: Any) -> Optional[int]:
    """An Int64 cell as an int (``None`` for NA or None)."""
    try:
        return int(value)
    except TypeError:  # pandas.NA, None
        return None


def _may(pred: Predicate, keys: set, typed: Dict[str, List[Any]], file_row: int, stats: Optional[_Stats],
         rows: Any) -> bool:
    """Whether rows of a file (or row group) may satisfy one predicate."""
    column, op, value = pred
    rows = _int(rows)
    if column in keys and stats is None:  # a partition value: one exact value for the whole file
        part = typed[column][file_row]
        if op == "is_null":
            return part is None
        if op == "is_valid":
            return part is not None
        if part is None:
            return False
        return _range_may(op, value, part, part, exact=True, floating=False) is not False
    if stats is _UNCOMPARED:
        return True
    if stats is None:  # the column is not in this file: all nulls
        return op == "is_null" and rows != 0
    if op == "is_null":
        return stats.nulls is None or stats.nulls > 0
    has_values = stats.values is None or stats.nulls is None or stats.values > stats.nulls
    if op == "is_valid":
        return has_values
    if not has_values:
        return False  # only nulls: no comparison holds
    if stats.lo is None or stats.hi is None or _is_nan(stats.lo) or _is_nan(stats.hi):
        return True
    exact = stats.exact or not stats.truncatable
    return _range_may(op, value, stats.lo, stats.hi, exact=exact, floating=stats.floating) is not False


def _range_may(op: str, value: Any, lo: Any, hi: Any, exact: bool, floating: bool) -> Optional[bool]:
    """Whether a value in ``[lo, hi]`` may satisfy ``op value``; ``None``: cannot tell."""
    try:
        if op in ("in", "not in"):
            values = list(value)
            if any(_is_nan(v) for v in values):
                return True
            if op == "in":
                return any(_between(v, lo, hi) for v in values)
            return not (exact and not floating and _eq(lo, hi) and any(_eq(lo, v) for v in values))
        if _is_nan(value):
            return True
        if op == "==":
            return _between(value, lo, hi)
        if op == "!=":
            return not (exact and not floating and _eq(lo, hi) and _eq(lo, value))
        if op == "<":
            return _lt(lo, value)
        if op == "<=":
            return not _lt(value, lo)
        if op == ">":
            return _lt(value, hi)
        if op == ">=":
            return not _lt(hi, value)
    except (TypeError, ValueError, ArithmeticError):  # incomparable, unparsable: cannot tell
        return _UNKNOWN
    return _UNKNOWN


def _between(value: Any, lo: Any, hi: Any) -> bool:
    return not _lt(value, lo) and not _lt(hi, value)


def _lt(a: Any, b: Any) -> bool:
    a, b = _comparable(a, b)
    return bool(a < b)


def _eq(a: Any, b: Any) -> bool:
    a, b = _comparable(a, b)
    return bool(a == b)


def _comparable(a: Any, b: Any) -> Tuple[Any, Any]:
    """Timestamps with and without a zone as UTC wall clocks; a string against a date,
    timestamp or decimal read as one (ISO 8601); bools never as ints; a date never as a
    datetime (``TypeError``: cannot tell)."""
    if isinstance(a, bool) != isinstance(b, bool):
        raise TypeError("bool against another type")
    if isinstance(a, str) != isinstance(b, str):
        if isinstance(a, str):
            a = _parsed(a, b)
        else:
            b = _parsed(b, a)
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        if (a.tzinfo is None) != (b.tzinfo is None):
            a, b = _wall_utc(a), _wall_utc(b)
    elif isinstance(a, dt.datetime) != isinstance(b, dt.datetime) and (isinstance(a, dt.date) and isinstance(b, dt.date)):
        raise TypeError("date against datetime")
    return a, b


def _parsed(text: str, like: Any) -> Any:
    """``text`` as a value of ``like``'s kind (``TypeError`` when it is not text-like)."""
    if isinstance(like, dt.datetime):
        import pandas as pd

        return pd.Timestamp(text)
    if isinstance(like, dt.date):
        return dt.date.fromisoformat(text)
    if isinstance(like, Decimal):
        return Decimal(text)
    raise TypeError(f"a string against a {type(like).__name__}")


def _wall_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        return value
    if hasattr(value, "tz_convert"):  # pandas Timestamp: keep its nanoseconds
        return value.tz_convert("UTC").tz_localize(None)
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None)


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)
