"""Workers: parse footers out of shared memory and send back columnar batches.

A worker is a long-lived process. It attaches each block once, by name, and for every
file of a batch calls ``rugo.parquet.read_metadata_from_memoryview`` on a view of the
block, turns the result into rows of the catalogue, and drops the view. What goes back to
the coordinator is one :data:`Columns` per table (a list per field): pickling one dict per
file would cost more than parsing it. A file that fails is a row with ``error_type`` and
``error``, never an exception that stops the batch.

This module must stay light (no pandas, no pyarrow): every worker imports it at start.
"""
from __future__ import annotations

import gc
import hashlib
import os
import signal
import time
from functools import partial
from itertools import chain
from operator import itemgetter
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

__all__ = [
    "DETAILS", "FILE_FIELDS", "COLUMN_FIELDS", "ROW_GROUP_FIELDS", "Columns",
    "parse_batch", "worker_main", "TEST_HOOKS_ENV", "TEST_HOOK_KEY",
]

#: Levels of detail, each including the previous ones.
DETAILS = ("files", "columns", "row_groups")

#: A table in transit: field name -> one value per row.
Columns = Dict[str, List[Any]]

#: Per-file fields a worker fills (the coordinator adds path, size, mtime, partitions).
FILE_FIELDS = (
    "error_type", "error", "num_rows", "num_row_groups", "num_columns", "created_by",
    "format_version", "footer_size", "total_compressed_size", "total_uncompressed_size",
    "schema_fingerprint", "encryption_algorithm", "key_value_keys",
)
#: One row per file and leaf column; ``file_pos`` is the file's position in its batch.
COLUMN_FIELDS = (
    "file_pos", "column_id", "path_in_schema", "type", "logical_type", "num_values",
    "stats_null_count", "total_compressed_size", "total_uncompressed_size", "stats_min",
    "stats_max", "encodings", "compression", "has_bloom_filter", "has_page_index",
)
#: Row-group fields of a ``row_groups`` row, from the row group itself.
_RG_FIELDS = (("row_group_num_rows", "num_rows"), ("row_group_bytes", "total_byte_size"),
              ("row_group_compressed_bytes", "total_compressed_size"))
#: Column-chunk fields of a ``row_groups`` row, copied from the chunk as they are.
_CHUNK_FIELDS = (
    ("num_values", "num_values"), ("path_in_schema", "path_in_schema"), ("type", "physical_type"),
    ("logical_type", "logical_type"), ("stats_min", "min"), ("stats_max", "max"),
    ("stats_null_count", "null_count"), ("stats_distinct_count", "distinct_count"),
    ("index_page_offset", "index_page_offset"),
    ("dictionary_page_offset", "dictionary_page_offset"), ("data_page_offset", "data_page_offset"),
    ("total_compressed_size", "total_compressed_size"),
    ("total_uncompressed_size", "total_uncompressed_size"),
    ("bloom_filter_offset", "bloom_offset"), ("bloom_filter_length", "bloom_length"),
    ("min_is_exact", "is_min_exact"), ("max_is_exact", "is_max_exact"),
    ("column_index_offset", "column_index_offset"), ("column_index_length", "column_index_length"),
    ("offset_index_offset", "offset_index_offset"), ("offset_index_length", "offset_index_length"),
)
#: One row per column chunk (``--detail row_groups``).
ROW_GROUP_FIELDS = (("file_pos", "row_group_id", "row_group_num_columns", "column_id", "encodings",
                     "compression")
                    + tuple(out for out, _ in _RG_FIELDS) + tuple(out for out, _ in _CHUNK_FIELDS))

#: Set to ``1`` to let files ask a worker to misbehave (tests only, never by default).
TEST_HOOKS_ENV = "RUGO_SCANNER_TEST_HOOKS"
#: Key/value metadata key of a file that asks for a hook: ``crash`` or ``sleep:SECONDS``.
TEST_HOOK_KEY = "rugo.scanner.test"
_HOOKS_ENABLED = os.environ.get(TEST_HOOKS_ENV) == "1"

Buffer = Union[memoryview, bytes, bytearray]
#: The rows of one file, table name -> field -> values: all appended, or none.
Rows = Dict[str, Columns]
#: One field of every column chunk: ``per_rg[r][j]`` is column j's value in row group r.
PerRowGroup = List[List[Any]]

# Getters for map(): the aggregation runs field by field in C loops, not column by column.
_NUM_VALUES = itemgetter("num_values")
_NULL_COUNT = itemgetter("null_count")
_COMPRESSED = itemgetter("total_compressed_size")
_UNCOMPRESSED = itemgetter("total_uncompressed_size")
_MIN = itemgetter("min")
_MAX = itemgetter("max")
_ENCODINGS = itemgetter("encodings")
_CODEC = itemgetter("compression_codec")
_BLOOM = itemgetter("bloom_offset")
_COLUMN_INDEX = itemgetter("column_index_offset")
_COLUMNS = itemgetter("columns")
_PATH = itemgetter("path")
_PHYSICAL = itemgetter("physical_type")
_LOGICAL = itemgetter("logical_type")
_CHUNK_GETTERS = tuple((field, itemgetter(key)) for field, key in _CHUNK_FIELDS)
_SCHEMA_VALUES = itemgetter("name", "physical_type", "logical_type", "converted_type", "repetition_type",
                            "num_children", "type_length", "precision", "scale", "field_id")
#: Schema (as a tuple of tuples) -> fingerprint; files of a lake share few schemas.
_FINGERPRINTS: Dict[Tuple[Any, ...], str] = {}
#: Encodings or codecs -> their joined text.
_JOINED: Dict[Tuple[Any, ...], str] = {}
#: Batches a worker serves between two (precautionary) cycle collections.
_COLLECT_EVERY = 64
#: Entries a cache holds before it starts over.
_CACHE_MAX = 4096


def parse_batch(buf: Buffer, spans: Sequence[Tuple[int, int]], detail: str = "columns",
                read: Optional[Callable[..., dict]] = None) -> Dict[str, Columns]:
    """Parse the files laid out at ``spans`` of ``buf`` into columnar tables.

    Parameters
    ----------
    buf : buffer
        A shared memory block (or any buffer) holding each file's tail or whole file.
    spans : sequence of (start, end)
        Where each file's bytes are.
    detail : {"files", "columns", "row_groups"}
        Which tables to fill besides ``files``.
    read : callable, optional
        The footer reader; ``rugo.parquet.read_metadata_from_memoryview`` by default.

    Returns
    -------
    dict
        ``{"files": Columns, "columns": Columns, "row_groups": Columns}``; a table the
        detail does not ask for has no rows.
    """
    if read is None:
        from rugo.parquet import read_metadata_from_memoryview as read
    tables = {"files": {f: [] for f in FILE_FIELDS}, "columns": {f: [] for f in COLUMN_FIELDS},
              "row_groups": {f: [] for f in ROW_GROUP_FIELDS}}
    with_stats = detail != "files"
    with memoryview(buf) as whole:
        for pos, (start, end) in enumerate(spans):
            with whole[start:end] as view:
                try:
                    meta = read(view, include_statistics=with_stats)
                    rows = _file_rows(pos, meta, detail)
                except Exception as exc:  # any failure is data about this file
                    rows = {"files": dict.fromkeys(FILE_FIELDS, [None])}
                    rows["files"].update(error_type=[type(exc).__name__], error=[str(exc)])
            for name, table in rows.items():
                target = tables[name]
                for field, values in table.items():
                    target[field].extend(values)
    return tables


def _file_rows(pos: int, meta: dict, detail: str) -> Rows:
    """The rows of every table asked for, for one parsed file."""
    if _HOOKS_ENABLED:
        _run_test_hook(meta)
    leaves = [e for e in meta["schema"][1:] if e["num_children"] is None]
    per_rg = list(map(_COLUMNS, meta["row_groups"]))  # per_rg[r][j]: chunk of column j in row group r
    for index, chunks in enumerate(per_rg):
        if len(chunks) != len(leaves):
            raise ValueError(f"row group {index} has {len(chunks)} column chunks "
                             f"but the schema has {len(leaves)} leaf columns")
    rows: Rows = {}
    if detail != "files":
        rows["columns"] = _column_rows(pos, leaves, per_rg)
        compressed = rows["columns"]["total_compressed_size"]
        uncompressed = rows["columns"]["total_uncompressed_size"]
    else:
        every_chunk = list(chain.from_iterable(per_rg))
        compressed, uncompressed = map(_COMPRESSED, every_chunk), map(_UNCOMPRESSED, every_chunk)
    if detail == "row_groups":
        rows["row_groups"] = _row_group_rows(pos, meta["row_groups"])
    encryption = meta["encryption_algorithm"]
    rows["files"] = {
        "error_type": [None], "error": [None], "num_rows": [meta["num_rows"]],
        "num_row_groups": [meta["num_row_groups"]], "num_columns": [len(leaves)],
        "created_by": [meta["created_by"]], "format_version": [meta["format_version"]],
        "footer_size": [meta["footer_size"]], "total_compressed_size": [sum(compressed)],
        "total_uncompressed_size": [sum(uncompressed)],
        "schema_fingerprint": [schema_fingerprint(meta["schema"])],
        "encryption_algorithm": [encryption["name"] if encryption else None],
        "key_value_keys": [list(meta["key_value_metadata"])],
    }
    return rows


def schema_fingerprint(schema: List[dict]) -> str:
    """A 16-hex-digit digest of a footer's schema: same schema, same fingerprint.

    Every schema element counts (names, types, repetition, nesting, field ids) except
    the root's name, which writers choose freely (``schema``, ``spark_schema``).
    """
    key = (schema[0]["num_children"],) + tuple(map(_SCHEMA_VALUES, schema[1:]))
    fingerprint = _FINGERPRINTS.get(key)
    if fingerprint is None:
        fingerprint = hashlib.blake2b(repr(key).encode(), digest_size=8).hexdigest()
        if len(_FINGERPRINTS) >= _CACHE_MAX:
            _FINGERPRINTS.clear()
        _FINGERPRINTS[key] = fingerprint
    return fingerprint


def _column_rows(pos: int, leaves: List[dict], per_rg: List[List[dict]]) -> Columns:
    """One row per leaf column (:data:`COLUMN_FIELDS`), aggregated over row groups as
    Iceberg does: sizes and counts summed, min of minimums, max of maximums."""
    count = len(leaves)
    table = {"file_pos": [pos] * count, "column_id": list(range(count)),
             "path_in_schema": list(map(_PATH, leaves)), "type": list(map(_PHYSICAL, leaves)),
             "logical_type": list(map(_LOGICAL, leaves))}
    for field, getter, aggregate, empty in _AGGREGATES:
        # field by field, row group by row group: C loops instead of one Python loop per column
        per_column = [list(map(getter, chunks)) for chunks in per_rg]
        table[field] = aggregate(per_column) if per_rg else [empty] * count
    return table


def _sums(values: PerRowGroup) -> List[Optional[int]]:
    """Per column, the sum over row groups; ``None`` where a row group lacks the value."""
    if len(values) == 1:  # the common small file: nothing to add up
        return values[0]
    if any(None in rg for rg in values):
        return [None if None in column else sum(column) for column in zip(*values)]
    return list(map(sum, zip(*values)))


def _bounds(pick: Callable[[Iterable[Any]], Any], values: PerRowGroup) -> List[Any]:
    """Per column, ``pick`` (min or max) of the row groups' bounds.

    A bound is dropped (``None``) unless every row group has one, as Iceberg does: a bound
    over only some row groups would wrongly prune the others. Bounds of different types
    have no order to trust and are dropped too.
    """
    if len(values) == 1:
        return values[0]
    if not any(None in rg for rg in values):
        try:
            return list(map(pick, zip(*values)))
        except TypeError:
            pass
    return [_bound(pick, column) for column in zip(*values)]


def _bound(pick: Callable[[Iterable[Any]], Any], column: Tuple[Any, ...]) -> Any:
    if None in column:
        return None
    try:
        return pick(column)
    except TypeError:
        return None


def _present(offsets: PerRowGroup) -> List[bool]:
    """Per column, whether some row group has the structure at these offsets.

    Offsets are positive (a file starts with PAR1): truth means "there is one".
    """
    return list(map(any, zip(*offsets))) if len(offsets) > 1 else list(map(bool, offsets[0]))


def _joined_encodings(values: PerRowGroup) -> List[str]:
    """Per column, the distinct encodings over row groups, joined like duckdb."""
    if len(values) == 1 or all(rg == values[0] for rg in values):  # row groups written alike
        return list(map(_join_distinct, values[0]))
    return [_join_distinct(chain.from_iterable(column)) for column in zip(*values)]


def _joined_codecs(values: PerRowGroup) -> List[str]:
    """Per column, the distinct codecs over row groups, joined like duckdb."""
    if len(values) == 1 or all(rg == values[0] for rg in values):
        return list(map(str, values[0]))  # an unknown codec is an int
    return list(map(_join_distinct, zip(*values)))


#: (field, chunk getter, aggregation over row groups, value for a file without row groups)
_AGGREGATES: Tuple[Tuple[str, Callable[[dict], Any], Callable[[PerRowGroup], List[Any]], Any], ...] = (
    ("num_values", _NUM_VALUES, _sums, 0),
    ("stats_null_count", _NULL_COUNT, _sums, 0),
    ("total_compressed_size", _COMPRESSED, _sums, 0),
    ("total_uncompressed_size", _UNCOMPRESSED, _sums, 0),
    ("stats_min", _MIN, partial(_bounds, min), None),
    ("stats_max", _MAX, partial(_bounds, max), None),
    ("encodings", _ENCODINGS, _joined_encodings, ""),
    ("compression", _CODEC, _joined_codecs, ""),
    ("has_bloom_filter", _BLOOM, _present, False),
    ("has_page_index", _COLUMN_INDEX, _present, False),
)


def _row_group_rows(pos: int, row_groups: List[dict]) -> Columns:
    """One row per column chunk (:data:`ROW_GROUP_FIELDS`), named like duckdb's ``parquet_metadata``."""
    table: Columns = {f: [] for f in ROW_GROUP_FIELDS}
    for rg_id, rg in enumerate(row_groups):
        chunks = rg["columns"]
        count = len(chunks)
        columns = {"file_pos": [pos] * count, "row_group_id": [rg_id] * count,
                   "row_group_num_columns": [count] * count, "column_id": list(range(count)),
                   "encodings": list(map(_join_distinct, map(_ENCODINGS, chunks))),
                   "compression": list(map(str, map(_CODEC, chunks)))}  # an unknown codec is an int
        columns.update((field, [rg[key]] * count) for field, key in _RG_FIELDS)
        columns.update((field, list(map(getter, chunks))) for field, getter in _CHUNK_GETTERS)
        for field, values in columns.items():
            table[field].extend(values)
    return table


def _join_distinct(names: Iterable[Any]) -> str:
    """Distinct names in first-seen order, joined like duckdb: ``"PLAIN, RLE"``.

    An encoding or codec newer than rugo comes as an int: it is shown as its number.
    The same few lists recur in every file, so their joined forms are cached.
    """
    key = tuple(names)
    joined = _JOINED.get(key)
    if joined is None:
        joined = ", ".join(map(str, dict.fromkeys(key)))
        if len(_JOINED) >= _CACHE_MAX:
            _JOINED.clear()
        _JOINED[key] = joined
    return joined


def _run_test_hook(meta: dict) -> None:
    """Misbehave as a file's metadata asks (only with :data:`TEST_HOOKS_ENV` set to 1)."""
    hook = (meta["key_value_metadata"] or {}).get(TEST_HOOK_KEY) or ""
    if hook == "crash":
        os._exit(70)
    if hook.startswith("sleep:"):
        time.sleep(float(hook.split(":", 1)[1]))


# --------------------------------------------------------------------------- process


def worker_main(conn: Any, detail: str) -> None:
    """Body of a worker process: serve batches from ``conn`` until told to stop.

    Messages in: ``(batch_id, block_name, spans, drop_names)``, or ``None`` to stop.
    Messages out: ``("ready", pid)`` once started, then ``("done", batch_id, tables)``
    per batch; ``("fatal", message)`` if the worker cannot start.
    """
    # Ctrl-C reaches the whole process group; only the coordinator decides what it means.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        from rugo.parquet import read_metadata_from_memoryview as read

        from scanner.shm import attach, sweep_orphans
    except Exception as exc:  # a broken install: say so instead of dying silently
        conn.send(("fatal", f"{type(exc).__name__}: {exc}"))
        return
    # A wide footer is a million acyclic objects: collecting cycles while rugo builds them
    # costs about 15% of the parse. What a batch builds is dropped before the next one.
    gc.disable()
    blocks: Dict[str, Any] = {}
    try:
        conn.send(("ready", os.getpid()))
        for served, (batch_id, name, spans, drop) in enumerate(iter(conn.recv, None), 1):
            for old in drop:
                blocks.pop(old).close()  # retired by the coordinator
            if name not in blocks:
                blocks[name] = attach(name)
            conn.send(("done", batch_id, parse_batch(blocks[name].buf, spans, detail, read)))
            if served % _COLLECT_EVERY == 0:
                gc.collect()  # a safety net: no cycles are expected
    except (EOFError, OSError):
        # The coordinator is gone (the pipe broke, or it unlinked a block we were sent):
        # nobody is left to tell. If it died (SIGKILL, a crash), nobody is left to unlink
        # its blocks either: sweep them (the blocks of live owners stay).
        for shm in blocks.values():
            shm.close()
        blocks.clear()
        sweep_orphans()
    finally:
        for shm in blocks.values():
            shm.close()
