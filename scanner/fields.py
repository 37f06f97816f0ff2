"""One declaration of each catalogue table's fields: name, kind and meaning.

The engine (what the parser fills, in :mod:`scanner.engine`), the catalogue (DataFrame
dtypes, the index's Arrow types) and the README's tables all come from here. A leaf
module: it imports nothing of the scanner.
"""
from __future__ import annotations

from typing import NamedTuple, Tuple

__all__ = ["Field", "FILES", "COLUMNS", "ROW_GROUPS", "DETAILS", "LISTED", "BOUND_KINDS", "parsed", "stored"]

#: Levels of detail, each including the previous ones: which tables a scan fills.
DETAILS = ("files", "columns", "row_groups")


class Field(NamedTuple):
    """A catalogue column: ``kind`` is ``int``, ``str``, ``bool``, ``strs`` (list of str),
    ``category`` (text with few distinct values that may be long: dictionary-encoded
    everywhere, ``dictionary<values=string, indices=int32, ordered=0>[pyarrow]`` in
    DataFrames) or ``value`` (a statistics bound: a Python value of the column's type; kept as the
    columns :func:`stored` names)."""

    name: str
    kind: str
    doc: str


FILES = (
    Field("file_name", "str", "absolute path of the file, or the object's URL"),
    Field("file_size_bytes", "int", "size in bytes when listed"),
    Field("mtime_ns", "int", "modification time, ns since the epoch (remote: `LastModified` / `Last-Modified`)"),
    Field("ctime_ns", "int", "local files: inode change time, ns since the epoch (a rescan compares it)"),
    Field("inode", "int", "local files: the inode number (a rescan compares it)"),
    Field("etag", "str", "the object's ETag (remote objects whose listing or answer gives one; null for local files)"),
    Field("status", "str", "`ok` or `error`"),
    Field("error_type", "str", "exception class (`NotParquetError`, `PermissionError`, `WorkerCrashed`, ...)"),
    Field("error", "str", "what is wrong, with the numbers"),
    Field("num_rows", "int", "rows in the file"),
    Field("num_row_groups", "int", "row groups in the file"),
    Field("num_columns", "int", "leaf columns in the schema"),
    Field("created_by", "str", "writer string"),
    Field("format_version", "int", "`FileMetaData.version` (1 or 2)"),
    Field("footer_size", "int", "bytes of the Thrift footer (the tail needs footer_size + 8)"),
    Field("total_compressed_size", "int", "sum of the column chunks' compressed sizes"),
    Field("total_uncompressed_size", "int", "sum of the column chunks' uncompressed sizes"),
    Field("schema_fingerprint", "str", "16 hex digits; same schema, same value"),
    Field("schema_columns", "category",
          "the top-level fields as compact JSON, as `read_metadata` gives them: "
          "`[{\"name\":\"id\",\"physical_type\":\"int64\",\"logical_type\":null,\"nullable\":true},...]`"),
    Field("encryption_algorithm", "str", "`AES_GCM_V1` / `AES_GCM_CTR_V1` for plaintext-footer encrypted files"),
    Field("key_value_keys", "strs",
          "keys of the file's key/value metadata, in file order (bytes that are not UTF-8 read as U+FFFD)"),
)
COLUMNS = (
    Field("file_name", "str", "the file"),
    Field("column_id", "int", "leaf column index, 0-based, schema order"),
    Field("path_in_schema", "str", "dotted path, as pyarrow prints it (`a.list.element`)"),
    Field("type", "str", "physical type (`int64`, `byte_array`, ...)"),
    Field("logical_type", "str", "logical type string (`varchar`, `timestamp[us,UTC]`, `decimal(9,2)`, ...)"),
    Field("num_values", "int", "sum over row groups"),
    Field("stats_null_count", "int", "sum over row groups; null if any row group lacks it"),
    Field("total_compressed_size", "int", "sum over row groups"),
    Field("total_uncompressed_size", "int", "sum over row groups"),
    Field("stats_min", "value", "min of the row groups' minimums; null if any row group lacks one"),
    Field("stats_max", "value", "max of the row groups' maximums; null if any row group lacks one"),
    Field("encodings", "str", "distinct encodings, first seen first: `PLAIN, RLE, RLE_DICTIONARY`"),
    Field("compression", "str", "distinct codecs: `SNAPPY`"),
    Field("has_bloom_filter", "bool", "some row group has a bloom filter for the column"),
    Field("has_page_index", "bool", "some row group has a column index (page min/max) for the column"),
)
ROW_GROUPS = (
    Field("file_name", "str", "the file"),
    Field("row_group_id", "int", "row group index, 0-based"),
    Field("row_group_num_rows", "int", "rows in the row group"),
    Field("row_group_num_columns", "int", "column chunks in the row group"),
    Field("row_group_bytes", "int", "`RowGroup.total_byte_size` (uncompressed)"),
    Field("row_group_compressed_bytes", "int", "`RowGroup.total_compressed_size` (optional in the footer)"),
    Field("column_id", "int", "leaf column index"),
    Field("path_in_schema", "str", "dotted path"),
    Field("type", "str", "physical type"),
    Field("logical_type", "str", "logical type string"),
    Field("num_values", "int", "values in the chunk"),
    Field("stats_min", "value", "the chunk's minimum"),
    Field("stats_max", "value", "the chunk's maximum"),
    Field("stats_null_count", "int", "nulls in the chunk"),
    Field("stats_distinct_count", "int", "distinct values, when the writer says"),
    Field("min_is_exact", "bool", "the minimum is exact (not truncated)"),
    Field("max_is_exact", "bool", "the maximum is exact"),
    Field("compression", "str", "codec"),
    Field("encodings", "str", "encodings, file order"),
    Field("index_page_offset", "int", "byte offset of the index page"),
    Field("dictionary_page_offset", "int", "byte offset of the dictionary page"),
    Field("data_page_offset", "int", "byte offset of the first data page"),
    Field("total_compressed_size", "int", "bytes of the chunk, compressed"),
    Field("total_uncompressed_size", "int", "bytes of the chunk, uncompressed"),
    Field("bloom_filter_offset", "int", "byte offset of the bloom filter"),
    Field("bloom_filter_length", "int", "bytes of the bloom filter"),
    Field("column_index_offset", "int", "byte offset of the column index (page min/max)"),
    Field("column_index_length", "int", "bytes of the column index"),
    Field("offset_index_offset", "int", "byte offset of the offset index (page locations)"),
    Field("offset_index_length", "int", "bytes of the offset index"),
)


#: ``files`` fields the listing gives (the rest come from parsing the footer).
LISTED = ("file_name", "file_size_bytes", "mtime_ns", "ctime_ns", "inode", "etag", "status")


def parsed(fields: Tuple[Field, ...]) -> Tuple[Field, ...]:
    """The fields of a table that parsing a footer fills (not the file's name or listing)."""
    return tuple(f for f in fields if f.name not in LISTED)

#: A statistics bound's kind (``stats_kind``), in the order of the C parser's codes
#: (``rugo/_ext/bounds.h``): see :mod:`scanner.catalogue.bounds`.
BOUND_KINDS = ("bool", "int", "float", "str", "bytes", "decimal", "datetime", "date", "time", "uuid", "repr",
               "timestamp")


def stored(fields: Tuple[Field, ...]) -> Tuple[Tuple[str, str], ...]:
    """The Arrow columns a table's fields are kept as: ``(name, kind)``, in order.

    A field is one column of its kind, but the ``value`` fields (``stats_min``,
    ``stats_max``, adjacent) become the table's ``stats_kind`` (kind ``kind``) followed by
    each bound's text (``str``), int64 copy (``int``, ``<name>_int``) and float64 copy
    (``float``, ``<name>_float``): see :mod:`scanner.catalogue.bounds`.
    """
    out = []
    for f in fields:
        if f.kind != "value":
            out.append((f.name, f.kind))
            continue
        if ("stats_kind", "kind") not in out:
            out.append(("stats_kind", "kind"))
        out += [(f.name, "str"), (f"{f.name}_int", "int"), (f"{f.name}_float", "float")]
    return tuple(out)
