"""What each hive partition holds: files, failures, rows, bytes, schema versions, times.

Works on the catalogue's Arrow ``files`` part (:class:`scanner.catalogue.Catalogue`
calls it), so a lake of millions of files is grouped by Arrow, not by Python.

Partition values are strings in the lake's paths; here each key gets a type, as pyarrow's
hive partitioning infers one, tried in this order: **int** (``Int64``) when every value of
the key is a whole number (``-3``, ``007``), then **date** (``date32[pyarrow]``) when every
value is an ISO date (``2024-01-31``), else **string**. A null value
(``__HIVE_DEFAULT_PARTITION__``) is null whatever the type.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Dict, List, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["partitions", "PARTITION_STATS", "typed_partition_values"]

#: The columns :func:`partitions` gives after the partition keys: name -> meaning.
PARTITION_STATS: Dict[str, str] = {
    "files": "files in the partition, ok or not",
    "ok": "files whose footer was read",
    "failed": "files that are error rows",
    "rows": "rows in its ok files",
    "file_bytes": "bytes of its files on disk",
    "compressed_bytes": "compressed column data of its ok files",
    "schema_versions": "distinct schema fingerprints among its ok files",
    "first_mtime": "oldest file modification time (UTC)",
    "last_mtime": "newest file modification time (UTC)",
}

_INT = re.compile(r"^[+-]?\d+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def partitions(files: pa.Table, keys: Sequence[str]) -> "pd.DataFrame":
    """One row per hive partition (distinct combination of ``keys`` values) of ``files``.

    Parameters
    ----------
    files : pyarrow.Table
        The catalogue's ``files`` part (``status``, ``num_rows``, ``file_size_bytes``,
        ``total_compressed_size``, ``schema_fingerprint``, ``mtime_ns`` and the keys).
    keys : sequence of str
        The partition columns, outermost first.

    Returns
    -------
    pandas.DataFrame
        The keys (typed: see the module docstring), then :data:`PARTITION_STATS`; sorted by
        the typed keys, nulls last. No rows when the lake has no partition keys.
    """
    import pandas as pd

    keys = list(keys)
    if not keys:
        return pd.DataFrame({name: pd.Series([], dtype=_STAT_DTYPES.get(name, "Int64")) for name in PARTITION_STATS})
    ok = pc.equal(files.column("status"), "ok")
    table = pa.table({
        **{key: files.column(key) for key in keys},
        "ok": pc.cast(ok, pa.int64()),
        "failed": pc.cast(pc.invert(ok), pa.int64()),
        "rows": pc.if_else(ok, files.column("num_rows"), None),
        "file_bytes": files.column("file_size_bytes"),
        "compressed_bytes": pc.if_else(ok, files.column("total_compressed_size"), None),
        "schema_versions": pc.if_else(ok, files.column("schema_fingerprint").cast(pa.string()), None),
        "mtime_ns": files.column("mtime_ns"),
    })
    grouped = table.group_by(keys, use_threads=False).aggregate([
        ([], "count_all"), ("ok", "sum"), ("failed", "sum"), ("rows", "sum"), ("file_bytes", "sum"),
        ("compressed_bytes", "sum"), ("schema_versions", "count_distinct"), ("mtime_ns", "min"),
        ("mtime_ns", "max")])
    frame = pd.DataFrame({key: typed_partition_values(grouped.column(key).to_pylist()) for key in keys})
    stats = {"files": "count_all", "ok": "ok_sum", "failed": "failed_sum", "rows": "rows_sum",
             "file_bytes": "file_bytes_sum", "compressed_bytes": "compressed_bytes_sum",
             "schema_versions": "schema_versions_count_distinct"}
    for name, column in stats.items():
        frame[name] = pd.array(grouped.column(column).to_pylist(), dtype="Int64")
    for name, column in (("first_mtime", "mtime_ns_min"), ("last_mtime", "mtime_ns_max")):
        frame[name] = pd.to_datetime(pd.array(grouped.column(column).to_pylist(), dtype="Int64"), unit="ns", utc=True)
    return frame.sort_values(keys, na_position="last", kind="stable", ignore_index=True)


_STAT_DTYPES = {"first_mtime": "datetime64[ns, UTC]", "last_mtime": "datetime64[ns, UTC]"}


def typed_partition_values(values: Sequence[object]) -> "pd.Series":
    """Partition values (strings, ``None`` for null) as the type they all parse as. Each
    distinct value is parsed once (a lake repeats a few values over many files)."""
    import pandas as pd

    codes, distinct = pd.factorize(np.asarray(values, dtype=object))  # None: code -1
    typed = _typed(distinct.tolist())
    return pd.Series(typed.array.take(codes, allow_fill=True))


def _typed(values: List[str]) -> "pd.Series":
    """Distinct partition strings as int, else date, else string (see the module docstring)."""
    import pandas as pd

    if values and all(_INT.match(v) for v in values):
        return pd.Series([int(v) for v in values], dtype="Int64")
    if values and all(_DATE.match(v) for v in values):
        try:
            dates = pa.array(values, pa.string()).cast(pa.date32())
        except (pa.ArrowInvalid, ValueError):  # 2024-02-30 looks like a date and is not
            pass
        else:
            return pd.Series(dates, dtype=pd.ArrowDtype(pa.date32()))
    return pd.Series(values, dtype="string")
