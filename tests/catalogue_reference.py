"""The catalogue rows of a footer, computed in Python from ``rugo.parquet``'s dicts.

A test oracle, not product code: this is how the scanner's workers built their rows before
``rugo._footer.parse_batch`` did it in C, kept so that the C path can be compared with an
independent implementation built on the single-file reader (``read_metadata*``), field by
field (tests/test_batch_parse.py, tests/test_scanner_engine.py).
"""
from __future__ import annotations

import hashlib
import pickle
from functools import partial
from itertools import chain
from operator import itemgetter
import json
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import pyarrow as pa

from scanner.fields import DETAILS

#: A table in transit: field name -> one value per row.
Columns = Dict[str, List[Any]]

#: Per-file fields a worker fills (the coordinator adds path, size, mtime, partitions).
FILE_FIELDS = (
    "error_type", "error", "num_rows", "num_row_groups", "num_columns", "created_by",
    "format_version", "footer_size", "total_compressed_size", "total_uncompressed_size",
    "schema_fingerprint", "schema_columns", "encryption_algorithm", "key_value_keys",
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
        "schema_columns": [json.dumps(meta["schema_columns"], separators=(",", ":"), ensure_ascii=False)],
        "encryption_algorithm": [encryption["name"] if encryption else None],
        "key_value_keys": [[_text(key) for key in meta["key_value_metadata"]]],
    }
    return rows


def _text(key: Union[str, bytes]) -> str:
    """A key/value metadata key as a catalogue keeps it: bytes that are not UTF-8 decoded
    with U+FFFD for each bad byte (as ``created_by`` and string bounds)."""
    return key.decode("utf-8", "replace") if isinstance(key, bytes) else key


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





# --------------------------------------------------------------------------- as Arrow tables
# The C batch and the Python rows above as comparable pyarrow Tables: bounds and
# key_value_keys, Python values of any type, are stored pickled (a test-only extension type).

#: Fields whose values are Python objects of any type (pickled in the Arrow tables).
_OBJECT_FIELDS = frozenset({"stats_min", "stats_max", "key_value_keys"})
_BOOL_FIELDS = frozenset({"has_bloom_filter", "has_page_index", "min_is_exact", "max_is_exact"})
_STR_FIELDS = frozenset({"error_type", "error", "created_by", "schema_fingerprint", "schema_columns", "encryption_algorithm",
                         "path_in_schema", "type", "logical_type", "encodings", "compression"})


class PyObjectType(pa.ExtensionType):
    """Python objects, one pickle each (storage ``large_binary``); null is ``None``."""

    def __init__(self) -> None:
        super().__init__(pa.large_binary(), "rugo.pyobject")

    def __arrow_ext_serialize__(self) -> bytes:
        return b""

    @classmethod
    def __arrow_ext_deserialize__(cls, storage_type: pa.DataType, serialized: bytes) -> "PyObjectType":
        return cls()

    def __arrow_ext_scalar_class__(self) -> type:
        return PyObjectScalar


class PyObjectScalar(pa.ExtensionScalar):
    """A :class:`PyObjectType` value: ``as_py()`` unpickles it."""

    def as_py(self, **kwargs: Any) -> Any:
        data = self.value
        return None if data is None else pickle.loads(data.as_py())


PYOBJECT = PyObjectType()
try:
    pa.register_extension_type(PYOBJECT)   # so the tables survive IPC
except pa.ArrowKeyError:
    pass   # registered by an earlier import (e.g. a reload)


def _arrow_type(field: str) -> pa.DataType:
    if field in _OBJECT_FIELDS:
        return PYOBJECT
    if field in _BOOL_FIELDS:
        return pa.bool_()
    return pa.large_string() if field in _STR_FIELDS else pa.int64()


#: table name -> its Arrow schema, fields in the worker's order.
TABLE_TYPES: Dict[str, pa.Schema] = {
    name: pa.schema([(f, _arrow_type(f)) for f in fields])
    for name, fields in (("files", FILE_FIELDS), ("columns", COLUMN_FIELDS), ("row_groups", ROW_GROUP_FIELDS))
}


def _objects(values: List[Any]) -> pa.Array:
    storage = pa.array([None if v is None else pickle.dumps(v, protocol=5) for v in values], pa.large_binary())
    return pa.ExtensionArray.from_storage(PYOBJECT, storage)


def parse_batch_arrow(buf: Buffer, spans: Sequence[Tuple[int, int]],
                      detail: Union[str, int] = "columns") -> Dict[str, pa.Table]:
    """Parse the files at ``spans`` of ``buf`` with ``rugo._footer.parse_batch`` and turn the
    batch into the tables :func:`tables_from_columns` makes, the product's way: buffers
    wrapped as Arrow (:mod:`scanner.engine.results`), bounds decoded to Python values
    (:func:`scanner.catalogue.bounds.decode_bounds`), key lists as lists.

    Returns
    -------
    dict
        ``{"files": Table, "columns": Table, "row_groups": Table}`` with the fields and
        rows of :func:`parse_batch` (:data:`TABLE_TYPES`).
    """
    from rugo import _footer
    from scanner.catalogue.bounds import decode_bounds
    from scanner.engine.batches import TABLE_FIELDS
    from scanner.engine.results import _wrap

    level = DETAILS.index(detail) if isinstance(detail, str) else detail
    raw = _footer.parse_batch(buf, spans, level)
    out = {}
    for name, schema in TABLE_TYPES.items():
        table = raw[name]
        length = len(table["file_pos" if "file_pos" in table else "num_rows"][0]) // 8
        kinds = dict(TABLE_FIELDS[name])
        assert set(table) == set(kinds), f"{name}: the C columns are not TABLE_FIELDS"
        arrays = pa.table({field: _wrap(kind, length, table[field]) for field, kind in TABLE_FIELDS[name]})
        objects: Dict[str, List[Any]] = {}
        if "stats_kind" in arrays.column_names:
            objects.update((k, list(v)) for k, v in decode_bounds(arrays).items())
        if "key_value_keys" in arrays.column_names:
            objects["key_value_keys"] = arrays.column("key_value_keys").to_pylist()
        out[name] = pa.Table.from_arrays(
            [_objects(objects[f.name]) if f.type == PYOBJECT else arrays.column(f.name) for f in schema],
            schema=schema)
    return out


def tables_from_columns(tables: Dict[str, Columns]) -> Dict[str, pa.Table]:
    """:func:`scanner.worker.parse_batch`'s lists as the Tables :func:`parse_batch_arrow` gives."""
    out = {}
    for name, schema in TABLE_TYPES.items():
        arrays = [_objects(tables[name][f.name]) if f.type == PYOBJECT else pa.array(tables[name][f.name], f.type)
                  for f in schema]
        out[name] = pa.Table.from_arrays(arrays, schema=schema)
    return out
