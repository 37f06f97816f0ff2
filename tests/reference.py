"""Reference adapter: the dict ``rugo.parquet.read_metadata`` must return, built independently.

:func:`expected_metadata` builds, for one Parquet file, the exact result dict README.md
specifies, from readers that are not rugo; :func:`compare` diffs rugo's dict against it.

Sources
-------
Every value comes from the first source below that represents it *faithfully*:

1. **pyarrow** (``pq.read_metadata``, ``ParquetFile.schema``): row and row-group counts,
   ``footer_size`` (``serialized_size``), leaf logical types (``ColumnSchema.logical_type``,
   which already folds the legacy ``converted_type`` in), ``path_in_schema``, chunk sizes,
   offsets, ``num_values``, bloom filter location and the decoded ``Statistics.min/max``,
   including pyarrow's verdict on which statistics are reliable (except under
   ``IEEE_754_TOTAL_ORDER``, which pyarrow 26 does not decode: see :func:`_ieee754_min_max`).
2. **The raw Thrift footer**, decoded here by a small generic compact-protocol decoder
   (:func:`decode_footer`: field ids to values, no Parquet knowledge), for what pyarrow does
   not expose or maps lossily:

   * not exposed by pyarrow: ``format_version`` as the integer, ``column_orders``,
     ``encryption_algorithm``, every group schema element, ``repetition_type``,
     ``field_id``, raw ``precision``/``scale``/``type_length``, row-group ``file_offset``,
     ``ordinal``, ``total_compressed_size``, ``index_page_offset``, ``is_min_exact``,
     ``is_max_exact``, page index locations, ``unencoded_byte_array_data_bytes``,
     ``geospatial_statistics`` as the spec nests it;
   * lossy in pyarrow: ``created_by`` (absent becomes ``''``), key/value values (absent
     becomes ``b''``), ``sorting_columns`` (absent and empty both ``()``), codec 5 ``LZ4``
     (pyarrow: ``'UNKNOWN'``), ``null_count``/``distinct_count`` (pyarrow hides the whole
     ``Statistics`` when min/max are unreliable, although counts do not depend on sort order).

3. **duckdb** (``parquet_metadata``, ``parquet_schema``, ``parquet_file_metadata``,
   ``parquet_kv_metadata``) exposes most raw-footer values as well; it is used to *verify*
   them: :func:`expected_metadata` raises :class:`ReferenceInconsistency` when duckdb and the raw
   decoder disagree, so a bug in the decoder above cannot silently become the expectation.
   duckdb 2.0 cannot read a few files (``map_no_value.parquet``); those are verified by pyarrow
   cross-checks only (:data:`DUCKDB_UNREADABLE` records them).

Columns encrypted with a column key in plaintext-footer files make pyarrow ``abort()`` the
process as soon as the chunk is touched; their chunk entries come from the raw footer only.

Not compared
------------
:data:`NOT_COMPARED` is the one explicit set of result paths no source can tell; besides it, a
value may be the :class:`NotCompared` sentinel, which names its reason (e.g. the type string of
a MAP group without a value field, for which README gives no rule and duckdb refuses the file).
"""
from __future__ import annotations

import datetime
import decimal
import fnmatch
import functools
import json
import math
import os
import struct
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional, Union

import pyarrow.parquet as pq

__all__ = [
    "NOT_COMPARED",
    "RAW_ONLY",
    "NotCompared",
    "ReferenceInconsistency",
    "DUCKDB_UNREADABLE",
    "decode_footer",
    "duckdb_problems",
    "apply_options",
    "expected_metadata",
    "compare",
    "format_diff",
    "corpus_root",
    "read_manifest",
]

PathLike = Union[str, "os.PathLike[str]"]

#: Result paths (``fnmatch`` patterns over :func:`compare`'s dotted paths) that no source can
#: tell, hence never compared. Empty: the raw footer decoder covers every README key. Keep any
#: future entry documented here with its reason.
NOT_COMPARED: frozenset = frozenset()

#: Result keys for which the raw footer decoder is the only witness (neither pyarrow nor
#: duckdb 2.0 exposes them); everything else is cross-checked by a second reader.
RAW_ONLY: frozenset = frozenset({
    "row_groups[*].file_offset", "row_groups[*].ordinal", "row_groups[*].total_compressed_size",
    "row_groups[*].columns[*].unencoded_byte_array_data_bytes", "encryption_algorithm",
    "column_orders[*] (duckdb only counts them)", "schema[*].logical_type of groups",
})

#: Files duckdb refused: path -> {table function: duckdb's message}, filled as
#: :func:`expected_metadata` runs (duckdb 2.0 refuses ``map_no_value.parquet`` and the
#: file-level table of plaintext-footer encrypted files).
DUCKDB_UNREADABLE: dict = {}


class ReferenceInconsistency(AssertionError):
    """Two reference sources disagree about a file: the adapter, not rugo, needs a look."""


@dataclass(frozen=True)
class NotCompared:
    """Expected value no reference source can tell; :func:`compare` skips it.

    Parameters
    ----------
    reason : str
        Why the value cannot be known.
    """

    reason: str

    def __repr__(self) -> str:
        return f"<not compared: {self.reason}>"


# --------------------------------------------------------------------------------------------
# Raw Thrift compact protocol
# --------------------------------------------------------------------------------------------

_T_BOOL_TRUE, _T_BOOL_FALSE, _T_BYTE, _T_I16, _T_I32, _T_I64 = 1, 2, 3, 4, 5, 6
_T_DOUBLE, _T_BINARY, _T_LIST, _T_SET, _T_MAP, _T_STRUCT = 7, 8, 9, 10, 11, 12


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _zigzag(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def _value(buf: bytes, pos: int, ttype: int) -> tuple[Any, int]:
    if ttype in (_T_BOOL_TRUE, _T_BOOL_FALSE):
        return ttype == _T_BOOL_TRUE, pos
    if ttype == _T_BYTE:
        return struct.unpack_from("<b", buf, pos)[0], pos + 1
    if ttype in (_T_I16, _T_I32, _T_I64):
        n, pos = _varint(buf, pos)
        return _zigzag(n), pos
    if ttype == _T_DOUBLE:
        return struct.unpack_from("<d", buf, pos)[0], pos + 8
    if ttype == _T_BINARY:
        n, pos = _varint(buf, pos)
        return bytes(buf[pos:pos + n]), pos + n
    if ttype in (_T_LIST, _T_SET):
        return _list(buf, pos)
    if ttype == _T_MAP:
        return _map(buf, pos)
    if ttype == _T_STRUCT:
        return _struct(buf, pos)
    raise ValueError(f"unknown compact type {ttype} at byte {pos}")


def _list(buf: bytes, pos: int) -> tuple[list, int]:
    header = buf[pos]
    pos += 1
    size, etype = header >> 4, header & 0x0F
    if size == 15:
        size, pos = _varint(buf, pos)
    out = []
    for _ in range(size):
        if etype in (_T_BOOL_TRUE, _T_BOOL_FALSE):  # list elements: one byte per bool
            out.append(buf[pos] == 1)
            pos += 1
        else:
            item, pos = _value(buf, pos, etype)
            out.append(item)
    return out, pos


def _map(buf: bytes, pos: int) -> tuple[dict, int]:
    size, pos = _varint(buf, pos)
    if size == 0:
        return {}, pos
    types = buf[pos]
    pos += 1
    out = {}
    for _ in range(size):
        key, pos = _value(buf, pos, types >> 4)
        out[key], pos = _value(buf, pos, types & 0x0F)
    return out, pos


def _struct(buf: bytes, pos: int) -> tuple[dict, int]:
    out: dict = {}
    field_id = 0
    while True:
        header = buf[pos]
        pos += 1
        if header == 0:
            return out, pos
        ttype, delta = header & 0x0F, header >> 4
        if delta:
            field_id += delta
        else:
            raw, pos = _varint(buf, pos)
            field_id = _zigzag(raw)
        out[field_id], pos = _value(buf, pos, ttype)


def decode_footer(data: bytes) -> tuple[dict, int]:
    """Decode the Thrift ``FileMetaData`` of a whole Parquet file held in ``data``.

    Parameters
    ----------
    data : bytes
        The file's bytes (at least its tail: footer plus 8-byte trailer).

    Returns
    -------
    tuple of (dict, int)
        The footer as nested dicts keyed by Thrift field id, and the number of bytes the
        ``FileMetaData`` struct occupies (excluding a plaintext-footer signature).
    """
    length = struct.unpack("<i", data[-8:-4])[0]
    start = len(data) - 8 - length
    footer, end = _struct(data, start)
    return footer, end - start


# --------------------------------------------------------------------------------------------
# Enum names (parquet.thrift)
# --------------------------------------------------------------------------------------------

PHYSICAL_TYPES = {0: "boolean", 1: "int32", 2: "int64", 3: "int96", 4: "float", 5: "double",
                  6: "byte_array", 7: "fixed_len_byte_array"}
CONVERTED_TYPES = {0: "UTF8", 1: "MAP", 2: "MAP_KEY_VALUE", 3: "LIST", 4: "ENUM", 5: "DECIMAL",
                   6: "DATE", 7: "TIME_MILLIS", 8: "TIME_MICROS", 9: "TIMESTAMP_MILLIS",
                   10: "TIMESTAMP_MICROS", 11: "UINT_8", 12: "UINT_16", 13: "UINT_32",
                   14: "UINT_64", 15: "INT_8", 16: "INT_16", 17: "INT_32", 18: "INT_64",
                   19: "JSON", 20: "BSON", 21: "INTERVAL"}
REPETITIONS = {0: "REQUIRED", 1: "OPTIONAL", 2: "REPEATED"}
CODECS = {0: "UNCOMPRESSED", 1: "SNAPPY", 2: "GZIP", 3: "LZO", 4: "BROTLI", 5: "LZ4", 6: "ZSTD",
          7: "LZ4_RAW"}
ENCODINGS = {0: "PLAIN", 2: "PLAIN_DICTIONARY", 3: "RLE", 4: "BIT_PACKED",
             5: "DELTA_BINARY_PACKED", 6: "DELTA_LENGTH_BYTE_ARRAY", 7: "DELTA_BYTE_ARRAY",
             8: "RLE_DICTIONARY", 9: "BYTE_STREAM_SPLIT"}
COLUMN_ORDERS = {1: "TYPE_DEFINED_ORDER", 2: "IEEE_754_TOTAL_ORDER"}
ENCRYPTION_ALGORITHMS = {1: "AES_GCM_V1", 2: "AES_GCM_CTR_V1"}
_TIME_UNITS = {1: "ms", 2: "us", 3: "ns"}
_PA_TIME_UNITS = {"milliseconds": "ms", "microseconds": "us", "nanoseconds": "ns"}


def _enum(table: dict, value: Any) -> Any:
    """Spec name of an enum value; unknown values stay ints (README), absent stays None."""
    if value is None:
        return None
    return table.get(value, value)


def _typed(struct_: Optional[dict], field: int, kind: type) -> Any:
    """Field ``field`` of a raw struct when its wire type matches ``kind`` (Thrift skips others)."""
    if not isinstance(struct_, dict):
        return None
    value = struct_.get(field)
    if kind is int and isinstance(value, bool):
        return None
    return value if isinstance(value, kind) else None


def _text(value: Optional[bytes]) -> Optional[str]:
    return None if value is None else value.decode("utf-8", "replace")


# --------------------------------------------------------------------------------------------
# Schema tree and type strings
# --------------------------------------------------------------------------------------------

@dataclass
class _Node:
    """One schema element with its tree links."""

    index: int
    raw: dict
    parent: Optional["_Node"]
    children: list
    path: str
    def_level: int
    rep_level: int
    leaf_index: Optional[int] = None
    leaf_logical: Optional[str] = None

    @property
    def name(self) -> str:
        return _text(_typed(self.raw, 4, bytes)) or ""

    @property
    def repetition(self) -> Optional[Any]:
        return _enum(REPETITIONS, _typed(self.raw, 3, int))

    @property
    def is_leaf(self) -> bool:
        return _typed(self.raw, 5, int) is None

    @property
    def physical(self) -> Optional[Any]:
        return _enum(PHYSICAL_TYPES, _typed(self.raw, 1, int))

    @property
    def converted(self) -> Optional[Any]:
        return _enum(CONVERTED_TYPES, _typed(self.raw, 6, int))

    @property
    def logical_raw(self) -> Optional[dict]:
        return _typed(self.raw, 10, dict)


def _build_tree(elements: list) -> list:
    """Link the flat, depth-first schema element list into :class:`_Node` objects."""
    nodes: list = []
    leaf_count = 0

    def visit(pos: int, parent: Optional[_Node]) -> tuple[int, _Node]:
        nonlocal leaf_count
        raw = elements[pos]
        name = _text(_typed(raw, 4, bytes)) or ""
        if parent is None:
            path, dl, rl = "", 0, 0
        else:
            path = name if parent.parent is None else f"{parent.path}.{name}"
            rep = _typed(raw, 3, int)
            dl = parent.def_level + (rep != 0)
            rl = parent.rep_level + (rep == 2)
        node = _Node(pos, raw, parent, [], path, dl, rl)
        nodes.append(node)
        pos += 1
        num_children = _typed(raw, 5, int)
        if num_children is None and parent is not None:
            node.leaf_index = leaf_count
            leaf_count += 1
        for _ in range(num_children or 0):
            pos, child = visit(pos, node)
            node.children.append(child)
        return pos, node

    if elements:
        visit(0, None)
    return nodes


def _leaf_type_from_pyarrow(column_schema: Any) -> Any:
    """Type string of a leaf's annotation from pyarrow's ``ColumnSchema.logical_type``."""
    info = json.loads(column_schema.logical_type.to_json())
    kind = info["Type"]
    simple = {"String": "varchar", "Enum": "enum", "JSON": "json", "BSON": "bson",
              "UUID": "uuid", "Float16": "float16", "Date": "date32[day]", "Null": "null",
              "Interval": "interval", "Geometry": "geometry", "Geography": "geography",
              "Variant": "variant", "None": None}
    if kind in simple:
        return simple[kind]
    if kind == "Decimal":
        return f"decimal({info['precision']},{info['scale']})"
    if kind == "Int":
        return f"{'' if info['isSigned'] else 'u'}int{info['bitWidth']}"
    if kind in ("Time", "Timestamp"):
        unit = _PA_TIME_UNITS[info["timeUnit"]]
        return _time_string(kind == "Time", unit, info["isAdjustedToUTC"])
    if kind == "Undefined":
        return NotCompared("LogicalType union member unknown to pyarrow; README gives no rule")
    raise ReferenceInconsistency(f"unmapped pyarrow logical type {info}")


def _time_string(is_time: bool, unit: str, utc: bool) -> str:
    if is_time:
        base = "time32" if unit == "ms" else "time64"
    else:
        base = "timestamp"
    return f"{base}[{unit}{',UTC' if utc else ''}]"


def _group_annotation(node: _Node) -> Optional[str]:
    """``LIST``, ``MAP`` or ``VARIANT`` for an annotated group, else None.

    ``MAP_KEY_VALUE`` follows LogicalTypes.md's backward-compatibility rule: a group so
    annotated that is not contained by a ``MAP``-annotated group is handled as ``MAP``
    (inside a MAP it only marks the repeated key_value group, which is a plain group).
    """
    if node.is_leaf:
        return None
    logical = node.logical_raw
    if logical is not None:
        for field, name in ((2, "MAP"), (3, "LIST"), (16, "VARIANT")):
            if field in logical:
                return name
    converted = node.converted
    if converted == "MAP_KEY_VALUE":
        parent = node.parent
        inside_map = parent is not None and parent.parent is not None and (
            _group_annotation(parent) == "MAP")
        return None if inside_map else "MAP"
    return {"LIST": "LIST", "MAP": "MAP"}.get(converted)


def _repeated_outside_collection(node: _Node) -> bool:
    """A REPEATED field whose parent is not a LIST/MAP group: README's ``array<T>`` rule."""
    if node.repetition != "REPEATED" or node.parent is None:
        return False
    return _group_annotation(node.parent) not in ("LIST", "MAP")


def _own_type(node: _Node) -> Any:
    """Type string of a node ignoring its own repetition (None for an unannotated leaf)."""
    if node.is_leaf:
        return node.leaf_logical
    annotation = _group_annotation(node)
    if annotation == "VARIANT":
        return "variant"
    children = node.children
    if annotation == "LIST" and len(children) == 1 and children[0].repetition == "REPEATED":
        return f"array<{_list_element(node)}>"
    if annotation == "MAP" and len(node.children) == 1 and not node.children[0].is_leaf:
        key_value = node.children[0]
        if len(key_value.children) != 2:
            return NotCompared("MAP group whose key_value group lacks a value (or key) field")
        key, value = key_value.children
        return f"map<{_nested(key)},{_nested(value)}>"
    fields = ",".join(f"{child.name}:{_nested(child)}" for child in node.children)
    return f"struct<{fields}>"


def _list_element(list_node: _Node) -> Any:
    """Element type of a LIST group, by the backward-compatibility rules of LogicalTypes.md."""
    repeated = list_node.children[0]
    if repeated.is_leaf or len(repeated.children) > 1:
        return _nested_own(repeated)
    if repeated.name == "array" or repeated.name == f"{list_node.name}_tuple":
        return _nested_own(repeated)
    return _nested(repeated.children[0])


def _nested_own(node: _Node) -> Any:
    own = _own_type(node)
    return node.physical if own is None else own


def _full_type(node: _Node) -> Any:
    """README type string of a schema element (``logical_type``)."""
    own = _own_type(node)
    if _repeated_outside_collection(node):
        inner = node.physical if own is None else own
        return _wrap("array<{}>", inner)
    return own


def _nested(node: _Node) -> Any:
    """``T`` inside a nested string: the child's type string, else its physical type."""
    full = _full_type(node)
    return node.physical if full is None else full


def _wrap(template: str, inner: Any) -> Any:
    return inner if isinstance(inner, NotCompared) else template.format(inner)


def _schema_element(node: _Node) -> dict:
    raw = node.raw
    return {
        "name": node.name,
        "path": node.path,
        "physical_type": node.physical,
        "logical_type": None if node.parent is None else _full_type(node),
        "converted_type": node.converted,
        "repetition_type": node.repetition,
        "num_children": _typed(raw, 5, int),
        "type_length": _typed(raw, 2, int),
        "precision": _typed(raw, 8, int),
        "scale": _typed(raw, 7, int),
        "field_id": _typed(raw, 9, int),
        "max_definition_level": node.def_level,
        "max_repetition_level": node.rep_level,
    }


def _schema_column(node: _Node) -> dict:
    logical = _full_type(node)
    if node.is_leaf:
        physical = node.physical
    elif isinstance(logical, NotCompared):
        physical = "map" if _group_annotation(node) == "MAP" else logical
    elif logical.startswith("array<"):
        physical = "list"
    elif logical.startswith("map<"):
        physical = "map"
    else:
        physical = "struct"
    return {"name": node.name, "physical_type": physical, "logical_type": logical,
            "nullable": node.repetition != "REQUIRED"}


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------

def _stat_value(value: Any, logical: Any) -> Any:
    """pyarrow ``Statistics.min``/``max`` converted to the Python type README promises."""
    if isinstance(value, bytes):
        if logical == "float16":
            return struct.unpack("<e", value)[0]
        if logical == "uuid":
            return uuid.UUID(bytes=value)
        if logical in ("json", "varchar", "enum"):
            return value.decode("utf-8")
    return value


def _ieee754_min_max(meta: dict, physical: Any, logical: Any) -> tuple[Any, Any]:
    """``min_value``/``max_value`` of a column in IEEE_754_TOTAL_ORDER, decoded per the spec.

    pyarrow 26 does not decode statistics under this column order; the spec defines them
    (every float bit pattern is ordered, NaN included), so they are decoded here from the raw
    footer: little-endian float, double or FLOAT16. The order is undefined for other types.
    """
    fmt = {"float": "<f", "double": "<d"}.get(physical)
    if fmt is None and logical == "float16" and physical == "fixed_len_byte_array":
        fmt = "<e"
    stats = _typed(meta, 12, dict)
    if fmt is None or stats is None:
        return None, None
    out = []
    for field in (6, 5):  # min_value, max_value
        value = _typed(stats, field, bytes)
        ok = value is not None and len(value) == struct.calcsize(fmt)
        out.append(struct.unpack(fmt, value)[0] if ok else None)
    return out[0], out[1]


def _pyarrow_min_max(chunk: Any, logical: Any) -> tuple[Any, Any]:
    stats = chunk.statistics
    if stats is None or not stats.has_min_max:
        return None, None
    out = []
    for attr in ("min", "max"):
        try:
            out.append(_stat_value(getattr(stats, attr), logical))
        except (ValueError, OverflowError, UnicodeDecodeError) as exc:
            out.append(NotCompared(f"pyarrow cannot decode {attr}: {exc!r}"))
    return out[0], out[1]


# --------------------------------------------------------------------------------------------
# Row groups and column chunks
# --------------------------------------------------------------------------------------------

def _kv_dict(entries: Optional[list]) -> Optional[dict]:
    if entries is None:
        return None
    return {_text(_typed(e, 1, bytes)): _text(_typed(e, 2, bytes)) for e in entries}


def _geo(meta: dict) -> Optional[dict]:
    geo = _typed(meta, 17, dict)
    if geo is None:
        return None
    bbox_raw = _typed(geo, 1, dict)
    bbox = None
    if bbox_raw is not None:
        names = ("xmin", "xmax", "ymin", "ymax", "zmin", "zmax", "mmin", "mmax")
        bbox = {name: _typed(bbox_raw, i + 1, float) for i, name in enumerate(names)}
    types = _typed(geo, 2, list)
    return {"bbox": bbox, "geospatial_types": list(types) if types is not None else []}


def _raw_chunk_fields(chunk: dict, meta: dict) -> dict:
    """Chunk keys taken from the raw footer whatever pyarrow says."""
    stats = _typed(meta, 12, dict) or {}
    size_stats = _typed(meta, 16, dict) or {}
    return {
        "compression_codec": _enum(CODECS, _typed(meta, 4, int)),
        "encodings": tuple(_enum(ENCODINGS, e) for e in (_typed(meta, 2, list) or [])),
        "index_page_offset": _typed(meta, 10, int),
        "null_count": _typed(stats, 3, int),
        "distinct_count": _typed(stats, 4, int),
        "is_min_exact": _typed(stats, 8, bool),
        "is_max_exact": _typed(stats, 7, bool),
        "offset_index_offset": _typed(chunk, 4, int),
        "offset_index_length": _typed(chunk, 5, int),
        "column_index_offset": _typed(chunk, 6, int),
        "column_index_length": _typed(chunk, 7, int),
        "unencoded_byte_array_data_bytes": _typed(size_stats, 1, int),
        "key_value_metadata": _kv_dict(_typed(meta, 8, list)),
        "geospatial_statistics": _geo(meta),
    }


def _chunk_from_pyarrow(pa_chunk: Any, logical: Any) -> dict:
    lo, hi = _pyarrow_min_max(pa_chunk, logical)
    return {
        "path_in_schema": pa_chunk.path_in_schema,
        "num_values": pa_chunk.num_values,
        "total_compressed_size": pa_chunk.total_compressed_size,
        "total_uncompressed_size": pa_chunk.total_uncompressed_size,
        "data_page_offset": pa_chunk.data_page_offset,
        "dictionary_page_offset": pa_chunk.dictionary_page_offset,
        "min": lo,
        "max": hi,
        "bloom_offset": pa_chunk.bloom_filter_offset,
        "bloom_length": pa_chunk.bloom_filter_length,
    }


def _chunk_from_raw(meta: dict) -> dict:
    """pyarrow-sourced keys of an encrypted chunk pyarrow cannot touch without aborting."""
    stats = _typed(meta, 12, dict)
    if stats and any(k in stats for k in (1, 2, 5, 6)):
        raise ReferenceInconsistency("min/max in an encrypted chunk: no reference decodes them")
    path = _typed(meta, 3, list) or []
    return {
        "path_in_schema": ".".join(p.decode("utf-8", "replace") for p in path),
        "num_values": _typed(meta, 5, int),
        "total_compressed_size": _typed(meta, 7, int),
        "total_uncompressed_size": _typed(meta, 6, int),
        "data_page_offset": _typed(meta, 9, int),
        "dictionary_page_offset": _typed(meta, 11, int),
        "min": None,
        "max": None,
        "bloom_offset": _typed(meta, 14, int),
        "bloom_length": _typed(meta, 15, int),
    }


_CHUNK_KEYS = ("name", "path_in_schema", "physical_type", "logical_type", "compression_codec",
               "encodings", "num_values", "total_compressed_size", "total_uncompressed_size",
               "data_page_offset", "index_page_offset", "dictionary_page_offset", "min", "max",
               "null_count", "distinct_count", "is_min_exact", "is_max_exact", "bloom_offset",
               "bloom_length", "offset_index_offset", "offset_index_length",
               "column_index_offset", "column_index_length", "unencoded_byte_array_data_bytes",
               "key_value_metadata", "geospatial_statistics")


def _is_encrypted_chunk(chunk: dict) -> bool:
    crypto = _typed(chunk, 8, dict)
    return crypto is not None and 2 in crypto


def _column_chunk(chunk: dict, pa_rg: Any, j: int, leaf: _Node, order: Any) -> dict:
    meta = _typed(chunk, 3, dict) or {}
    top = leaf
    while top.parent is not None and top.parent.parent is not None:
        top = top.parent
    out = {"name": top.name, "physical_type": leaf.physical, "logical_type": _full_type(leaf)}
    if _is_encrypted_chunk(chunk):
        out.update(_chunk_from_raw(meta))
    else:
        pa_chunk = pa_rg.column(j)
        out.update(_chunk_from_pyarrow(pa_chunk, leaf.leaf_logical))
        _check_chunk_against_pyarrow(pa_chunk, meta)
        if order == "IEEE_754_TOTAL_ORDER":
            if (out["min"], out["max"]) != (None, None):
                raise ReferenceInconsistency("pyarrow now decodes IEEE_754_TOTAL_ORDER stats")
            out["min"], out["max"] = _ieee754_min_max(meta, leaf.physical, leaf.leaf_logical)
    out.update(_raw_chunk_fields(chunk, meta))
    return {key: out[key] for key in _CHUNK_KEYS}


#: pyarrow's names for codecs it renames: LZ4_RAW is Arrow's LZ4, Hadoop LZ4 has no name.
_PYARROW_CODEC_NAMES = {"LZ4_RAW": "LZ4", "LZ4": "UNKNOWN"}


def _check_chunk_against_pyarrow(pa_chunk: Any, meta: dict) -> None:
    """Raw-footer values pyarrow also reports (lossily) must agree with it."""
    stats = pa_chunk.statistics
    raw_stats = _typed(meta, 12, dict) or {}
    problems = []
    if stats is not None and stats.has_null_count and stats.null_count != raw_stats.get(3):
        problems.append(f"null_count pyarrow={stats.null_count} raw={raw_stats.get(3)}")
    codec = _enum(CODECS, _typed(meta, 4, int))
    if pa_chunk.compression != _PYARROW_CODEC_NAMES.get(codec, codec):
        problems.append(f"codec pyarrow={pa_chunk.compression} raw={codec}")
    encodings = [_enum(ENCODINGS, e) for e in (_typed(meta, 2, list) or [])]
    if list(pa_chunk.encodings) != [str(e) for e in encodings]:
        problems.append(f"encodings pyarrow={pa_chunk.encodings} raw={encodings}")
    if problems:
        raise ReferenceInconsistency(f"{pa_chunk.path_in_schema}: " + "; ".join(problems))


def _sorting_columns(raw_rg: dict, pa_rg: Any) -> Optional[list]:
    raw = _typed(raw_rg, 4, list)
    if raw is None:
        return None
    out = [{"column_idx": _typed(s, 1, int), "descending": _typed(s, 2, bool),
            "nulls_first": _typed(s, 3, bool)} for s in raw]
    pa_view = [{"column_idx": s.column_index, "descending": s.descending,
                "nulls_first": s.nulls_first} for s in (pa_rg.sorting_columns or ())]
    if pa_view != out:
        raise ReferenceInconsistency(f"sorting_columns pyarrow={pa_view} raw={out}")
    return out


def _row_group(raw_rg: dict, pa_rg: Any, leaves: list, orders: Optional[list]) -> dict:
    chunks = _typed(raw_rg, 1, list) or []
    if len(chunks) != len(leaves):
        raise ReferenceInconsistency(f"{len(chunks)} chunks for {len(leaves)} leaf columns")
    return {
        "num_rows": pa_rg.num_rows,
        "total_byte_size": pa_rg.total_byte_size,
        "total_compressed_size": _typed(raw_rg, 6, int),
        "file_offset": _typed(raw_rg, 5, int),
        "ordinal": _typed(raw_rg, 7, int),
        "sorting_columns": _sorting_columns(raw_rg, pa_rg),
        "columns": [_column_chunk(chunk, pa_rg, j, leaf, orders[j] if orders else None)
                    for j, (chunk, leaf) in enumerate(zip(chunks, leaves))],
    }


# --------------------------------------------------------------------------------------------
# File level
# --------------------------------------------------------------------------------------------

def _encryption_algorithm(raw: dict) -> Optional[dict]:
    algo = _typed(raw, 8, dict)
    if algo is None:
        return None
    for field, name in ENCRYPTION_ALGORITHMS.items():
        if field in algo:
            body = _typed(algo, field, dict) or {}
            return {"name": name, "aad_prefix": _typed(body, 1, bytes),
                    "aad_file_unique": _typed(body, 2, bytes),
                    "supply_aad_prefix": _typed(body, 3, bool)}
    raise ReferenceInconsistency(f"unknown encryption algorithm {algo}")


def _column_orders(raw: dict) -> Optional[list]:
    orders = _typed(raw, 7, list)
    if orders is None:
        return None
    out = []
    for order in orders:
        fields = list(order) if isinstance(order, dict) else []
        out.append(_enum(COLUMN_ORDERS, fields[0]) if len(fields) == 1 else NotCompared(
            f"ColumnOrder union with {len(fields)} members set"))
    return out


def _attach_leaf_types(nodes: list, pa_schema: Any) -> list:
    leaves = [n for n in nodes if n.leaf_index is not None]
    if len(leaves) != len(pa_schema):
        raise ReferenceInconsistency(f"{len(leaves)} leaves, pyarrow has {len(pa_schema)}")
    for leaf in leaves:
        column = pa_schema.column(leaf.leaf_index)
        leaf.leaf_logical = _leaf_type_from_pyarrow(column)
        if (column.max_definition_level, column.max_repetition_level) != (leaf.def_level,
                                                                         leaf.rep_level):
            raise ReferenceInconsistency(f"levels of {leaf.path} differ from pyarrow's")
        if column.physical_type.lower() != leaf.physical:
            raise ReferenceInconsistency(f"physical type of {leaf.path} differs from pyarrow's")
    return leaves


def _build(path: str) -> dict:
    data = Path(path).read_bytes()
    raw, footer_len = decode_footer(data)
    md = pq.read_metadata(path)
    nodes = _build_tree(_typed(raw, 2, list) or [])
    leaves = _attach_leaf_types(nodes, md.schema)
    if md.serialized_size != footer_len:
        raise ReferenceInconsistency(f"serialized_size {md.serialized_size} != {footer_len}")
    raw_rgs = _typed(raw, 4, list) or []
    created_by = _text(_typed(raw, 6, bytes))
    if (created_by or "") != (md.created_by or ""):
        raise ReferenceInconsistency(f"created_by pyarrow={md.created_by!r} raw={created_by!r}")
    kv = _kv_dict(_typed(raw, 5, list))
    orders = _column_orders(raw)
    if orders is not None and len(orders) != len(leaves):
        raise ReferenceInconsistency(f"{len(orders)} column orders for {len(leaves)} leaves")
    return {
        "num_rows": md.num_rows,
        "num_row_groups": md.num_row_groups,
        "format_version": _typed(raw, 1, int),
        "created_by": created_by,
        "key_value_metadata": {} if kv is None else kv,
        "footer_size": md.serialized_size,
        "column_orders": orders,
        "encryption_algorithm": _encryption_algorithm(raw),
        "schema_columns": [_schema_column(child) for child in nodes[0].children],
        "schema": [_schema_element(node) for node in nodes],
        "row_groups": [_row_group(raw_rg, md.row_group(i), leaves, orders)
                       for i, raw_rg in enumerate(raw_rgs)],
    }


# --------------------------------------------------------------------------------------------
# duckdb verification
# --------------------------------------------------------------------------------------------

_GEO_KINDS = {"point": 1, "linestring": 2, "polygon": 3, "multipoint": 4, "multilinestring": 5,
              "multipolygon": 6, "geometrycollection": 7}
_GEO_DIMS = {"": 0, "_z": 1000, "_m": 2000, "_zm": 3000}


def _geo_code(name: str) -> int:
    base, _, dims = name.partition("_")
    return _GEO_KINDS[base] + _GEO_DIMS["_" + dims if dims else ""]


def _duckdb_rows(con: Any, function: str, path: str) -> list:
    cursor = con.execute(f"SELECT * FROM {function}(?)", [path])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _duck_kv(kv: Optional[dict]) -> dict:
    """A result key/value dict as duckdb shows it: absent values as ``""``, None as ``{}``."""
    return {k: v or "" for k, v in (kv or {}).items()}


def _from_duck_kv(pairs: Any) -> dict:
    """duckdb's bytes key/value pairs decoded the way :func:`_text` decodes the footer."""
    return {_text(k): _text(v) or "" for k, v in pairs}


def _duckdb_file_problems(rows: list, expected: dict, kv_rows: list) -> list:
    (row,) = rows
    problems = []
    for key in ("created_by", "num_rows", "num_row_groups", "format_version"):
        if row[key] != expected[key]:
            problems.append(f"{key}: duckdb {row[key]!r} != {expected[key]!r}")
    orders = row["column_orders"]
    mine = expected["column_orders"]
    if (orders is None) != (mine is None) or (orders and len(orders) != len(mine)):
        problems.append(f"column_orders: duckdb {orders!r} != {mine!r}")
    kv = _from_duck_kv((r["key"], r["value"]) for r in kv_rows)
    if kv != _duck_kv(expected["key_value_metadata"]):
        problems.append(f"key_value_metadata: duckdb {kv!r}")
    return problems


def _duckdb_schema_problems(rows: list, expected: dict) -> list:
    schema = expected["schema"]
    if len(rows) != len(schema):
        return [f"schema: duckdb has {len(rows)} elements, expected {len(schema)}"]
    problems = []
    for i, (row, mine) in enumerate(zip(rows, schema)):
        physical = mine["physical_type"]
        checks = {
            "name": mine["name"],
            "type": physical.upper() if isinstance(physical, str) else physical,
            "type_length": None if mine["type_length"] is None else str(mine["type_length"]),
            "repetition_type": mine["repetition_type"],
            "num_children": mine["num_children"],
            "converted_type": mine["converted_type"],
            "scale": mine["scale"],
            "precision": mine["precision"],
            "field_id": mine["field_id"],
        }
        for key, value in checks.items():
            if row[key] != value:
                problems.append(f"schema[{i}].{key}: duckdb {row[key]!r} != {value!r}")
    return problems


def _duckdb_chunk_checks(row: dict, column: dict) -> dict:
    geo = column["geospatial_statistics"]
    return {
        "path_in_schema": column["path_in_schema"].replace(".", ", "),
        "num_values": column["num_values"],
        "compression": column["compression_codec"],
        "encodings": ", ".join(str(e) for e in column["encodings"]),
        "index_page_offset": column["index_page_offset"],
        "dictionary_page_offset": column["dictionary_page_offset"],
        "data_page_offset": column["data_page_offset"],
        "total_compressed_size": column["total_compressed_size"],
        "total_uncompressed_size": column["total_uncompressed_size"],
        "stats_null_count": column["null_count"],
        "stats_distinct_count": column["distinct_count"],
        "bloom_filter_offset": column["bloom_offset"],
        "bloom_filter_length": column["bloom_length"],
        "min_is_exact": column["is_min_exact"],
        "max_is_exact": column["is_max_exact"],
        "column_index_offset": column["column_index_offset"],
        "column_index_length": column["column_index_length"],
        "offset_index_offset": column["offset_index_offset"],
        "offset_index_length": column["offset_index_length"],
        "key_value_metadata": _duck_kv(column["key_value_metadata"]),
        "geo_bbox": geo["bbox"] if geo else None,
        "geo_types": geo["geospatial_types"] if geo else None,
    }


def _duckdb_chunk_problems(rows: list, expected: dict) -> list:
    problems = []
    groups = expected["row_groups"]
    for row in rows:
        rg = groups[row["row_group_id"]]
        column = rg["columns"][row["column_id"]]
        where = f"row_groups[{row['row_group_id']}].columns[{row['column_id']}]"
        if row["geo_types"] is not None:
            row["geo_types"] = [_geo_code(name) for name in row["geo_types"]]
        row["key_value_metadata"] = _from_duck_kv((row["key_value_metadata"] or {}).items())
        for key, value in _duckdb_chunk_checks(row, column).items():
            if row[key] != value:
                problems.append(f"{where}.{key}: duckdb {row[key]!r} != {value!r}")
        for key, mine in (("row_group_num_rows", rg["num_rows"]),
                          ("row_group_bytes", rg["total_byte_size"])):
            if row[key] != mine:
                problems.append(f"{where}.{key}: duckdb {row[key]!r} != {mine!r}")
    expected_rows = sum(len(rg["columns"]) for rg in groups)
    if len(rows) != expected_rows:
        problems.append(f"parquet_metadata: duckdb {len(rows)} rows != {expected_rows}")
    return problems


def duckdb_problems(path: str, expected: dict) -> list:
    """Differences between duckdb's metadata table functions and a result dict.

    Parameters
    ----------
    path : str
        The Parquet file.
    expected : dict
        A result dict (the reference's, or rugo's own for files pyarrow refuses).

    Returns
    -------
    list of str
        One line per disagreement; empty when duckdb agrees or cannot read the file (then
        :data:`DUCKDB_UNREADABLE` says which table functions failed).
    """
    import duckdb

    con = duckdb.connect()
    tables = {}
    try:
        con.execute("SET enable_geoparquet_conversion = false")
        for name in ("parquet_file_metadata", "parquet_kv_metadata", "parquet_schema",
                     "parquet_metadata"):
            try:
                tables[name] = _duckdb_rows(con, name, path)
            except duckdb.Error as exc:
                DUCKDB_UNREADABLE.setdefault(path, {})[name] = str(exc)
    finally:
        con.close()
    problems = []
    if "parquet_file_metadata" in tables and "parquet_kv_metadata" in tables:
        problems += _duckdb_file_problems(tables["parquet_file_metadata"], expected,
                                          tables["parquet_kv_metadata"])
    if "parquet_schema" in tables:
        problems += _duckdb_schema_problems(tables["parquet_schema"], expected)
    if "parquet_metadata" in tables:
        problems += _duckdb_chunk_problems(tables["parquet_metadata"], expected)
    return problems



@functools.lru_cache(maxsize=256)
def _expected_cached(path: str) -> dict:
    expected = _build(path)
    problems = duckdb_problems(path, expected)
    if problems:
        raise ReferenceInconsistency(f"{path}: duckdb disagrees:\n" + format_diff(problems))
    return expected


def expected_metadata(path: PathLike) -> dict:
    """The dict ``rugo.parquet.read_metadata(path)`` must return, per README.md.

    Parameters
    ----------
    path : str or os.PathLike
        A Parquet file pyarrow can read.

    Returns
    -------
    dict
        The expected result (a fresh deep copy on every call; cached internally).

    Raises
    ------
    ReferenceInconsistency
        The reference sources disagree about this file.
    """
    import copy

    return copy.deepcopy(_expected_cached(os.fspath(path)))


def apply_options(expected: dict, *, schema_only: bool = False, include_statistics: bool = True,
                  max_row_groups: int = -1) -> dict:
    """Derive the expected dict for non-default options from the all-defaults one.

    Parameters
    ----------
    expected : dict
        :func:`expected_metadata` output (not modified).
    schema_only, include_statistics, max_row_groups
        As for ``rugo.parquet.read_metadata``.

    Returns
    -------
    dict
        README semantics: ``row_groups == []`` for ``schema_only``; statistics values ``None``
        without ``include_statistics``; the first ``max_row_groups`` row groups otherwise.
    """
    import copy

    out = copy.deepcopy(expected)
    if schema_only:
        out["row_groups"] = []
    elif max_row_groups >= 0:
        out["row_groups"] = out["row_groups"][:max_row_groups]
    if not include_statistics:
        for rg in out["row_groups"]:
            for column in rg["columns"]:
                column.update(min=None, max=None, null_count=None, distinct_count=None,
                              is_min_exact=None, is_max_exact=None)
    return out


# --------------------------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------------------------

def _same_scalar(actual: Any, expected: Any) -> bool:
    if isinstance(expected, float):
        if not isinstance(actual, float):
            return False
        if math.isnan(expected):
            return math.isnan(actual)
        return actual == expected and math.copysign(1, actual) == math.copysign(1, expected)
    if isinstance(expected, decimal.Decimal):
        return (isinstance(actual, decimal.Decimal) and actual == expected
                and actual.as_tuple().exponent == expected.as_tuple().exponent)
    if isinstance(expected, (datetime.datetime, datetime.time)):
        return _same_temporal(actual, expected)
    if type(actual) is not type(expected):
        return False
    return actual == expected


def _same_temporal(actual: Any, expected: Any) -> bool:
    """Equal instants/times of the same class; tz-aware iff expected is, any UTC tzinfo."""
    if type(actual) is not type(expected):
        return False
    if (actual.tzinfo is None) != (expected.tzinfo is None):
        return False
    if isinstance(expected, datetime.time):
        return (actual.replace(tzinfo=None) == expected.replace(tzinfo=None)
                and actual.utcoffset() == expected.utcoffset())
    return actual == expected and actual.utcoffset() == expected.utcoffset()


def _ignored(path: str) -> bool:
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in NOT_COMPARED)


def _walk(actual: Any, expected: Any, path: str, out: list) -> None:
    if _ignored(path) or isinstance(expected, NotCompared):
        return
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            out.append(f"{path}: {actual!r} != {expected!r} (expected a dict)")
            return
        _walk_dict(actual, expected, path, out)
    elif isinstance(expected, list):
        if not isinstance(actual, list):
            out.append(f"{path}: {type(actual).__name__} {actual!r} != list {expected!r}")
            return
        if len(actual) != len(expected):
            out.append(f"{path}: length {len(actual)} != {len(expected)}")
        for i, (a, e) in enumerate(zip(actual, expected)):
            _walk(a, e, f"{path}[{i}]", out)
    elif not _same_scalar(actual, expected):
        a_type, e_type = type(actual).__name__, type(expected).__name__
        types = f" ({a_type} vs {e_type})" if a_type != e_type else ""
        out.append(f"{path}: {actual!r} != {expected!r}{types}")


def _walk_dict(actual: dict, expected: dict, path: str, out: list) -> None:
    prefix = f"{path}." if path else ""
    for key in expected:
        if key not in actual:
            if not _ignored(prefix + str(key)):
                out.append(f"{prefix}{key}: missing")
            continue
        _walk(actual[key], expected[key], prefix + str(key), out)
    for key in actual:
        if key not in expected:
            out.append(f"{prefix}{key}: unexpected key ({actual[key]!r})")
    if list(actual) != list(expected) and set(actual) == set(expected) and _ordered(path):
        out.append(f"{path}: key order {list(actual)} != {list(expected)}")


def _ordered(path: str) -> bool:
    """Key/value metadata dicts must keep file order (README)."""
    return path.endswith("key_value_metadata")


def compare(actual: Any, expected: Any) -> list:
    """Readable differences between rugo's result and the expected one.

    Parameters
    ----------
    actual : Any
        What rugo returned.
    expected : Any
        What :func:`expected_metadata` (or :func:`apply_options`) says.

    Returns
    -------
    list of str
        One line per difference, ``path: actual != expected``, e.g.
        ``row_groups[0].columns[3].max: 5 != 6``; empty when equal. Floats compare with
        NaN equal to NaN and the sign of zero significant; types must match (``bool`` is not
        ``int``, ``datetime`` with any UTC tzinfo equals another with UTC).
    """
    out: list = []
    _walk(actual, expected, "", out)
    return out


def format_diff(problems: Iterable[str], limit: int = 40) -> str:
    """Join :func:`compare` output for an assertion message, truncated to ``limit`` lines."""
    problems = list(problems)
    shown = problems[:limit]
    more = len(problems) - len(shown)
    return "\n".join(shown + ([f"... and {more} more"] if more > 0 else []))


# --------------------------------------------------------------------------------------------
# Corpus helpers
# --------------------------------------------------------------------------------------------

def corpus_root() -> Path:
    """The shared corpus folder: ``$RUGO_CORPUS`` or ``<repo>/../shared/corpus``."""
    override = os.environ.get("RUGO_CORPUS")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


def read_manifest(root: Path) -> dict:
    """``MANIFEST.tsv`` rows keyed by path relative to ``root``."""
    import csv

    with open(root / "MANIFEST.tsv", newline="") as handle:
        return {row["path"]: row for row in csv.DictReader(handle, delimiter="\t")}
