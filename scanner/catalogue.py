"""Catalogue: the scan's results as pandas DataFrames with fixed dtypes, and the Parquet index.

Three tables, named after duckdb's ``parquet_file_metadata`` / ``parquet_metadata`` where
the concept is the same (see :data:`FILES`, :data:`COLUMNS`, :data:`ROW_GROUPS`):

* ``files``: one row per discovered file, ok or not, plus one column per hive partition key;
* ``columns``: one row per file and leaf column, aggregated over row groups;
* ``row_groups``: one row per column chunk (only with ``detail="row_groups"``).

The index is one Parquet file: one row per file (the ``files`` columns) with the file's
``columns`` and, at ``row_groups`` detail, ``row_groups`` as ``list<struct>`` columns.
Statistics bounds have no single Parquet type (ints, strings, dates, decimals ... in one
column), so each bound is stored as canonical text plus the kind of value it was
(``stats_kind``), which :meth:`Catalogue.read` turns back into the same Python values,
and as typed ``*_int`` / ``*_float`` copies that other tools can filter on directly.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import uuid
from decimal import Decimal
from operator import itemgetter
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from scanner.coordinator import ScanResults, scan
from scanner.discover import discover
from scanner.entries import SKIP_INDEX, FileEntry, Selection
from scanner.errors import ScanError
from scanner.remote import DEFAULT_CONCURRENCY, Failed, fetch_one, footer_hints, is_remote
from scanner.shm import DEFAULT_CAP_BYTES, TAIL_BYTES, load_file
from scanner.worker import parse_batch

__all__ = ["Catalogue", "Field", "FILES", "COLUMNS", "ROW_GROUPS", "build_catalogue", "scan_file",
           "INDEX_METADATA_KEY", "encode_bound", "decode_bound", "is_index"]

PathLike = Union[str, "os.PathLike[str]"]


class Field(NamedTuple):
    """A catalogue column: ``kind`` is ``int``, ``str``, ``bool``, ``strs`` (list of str)
    or ``value`` (a statistics bound: any Python value)."""

    name: str
    kind: str
    doc: str


FILES = (
    Field("file_name", "str", "absolute path of the file, or the object's URL"),
    Field("file_size_bytes", "int", "size in bytes when listed"),
    Field("mtime_ns", "int", "modification time, ns since the epoch (remote: `LastModified` / `Last-Modified`)"),
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
    Field("encryption_algorithm", "str", "`AES_GCM_V1` / `AES_GCM_CTR_V1` for plaintext-footer encrypted files"),
    Field("key_value_keys", "strs", "keys of the file's key/value metadata, in file order"),
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

#: Key of the index file's key/value metadata that describes the index (JSON).
INDEX_METADATA_KEY = "rugo.scanner"
_INDEX_FORMAT = 1
_ARROW_TYPES = {"int": pa.int64(), "str": pa.string(), "bool": pa.bool_(),
                "strs": pa.list_(pa.string()), "value": pa.string()}
_PANDAS_TYPES = {pa.int64(): pd.Int64Dtype(), pa.string(): pd.StringDtype(),
                 pa.large_string(): pd.StringDtype(), pa.bool_(): pd.BooleanDtype()}
_OBJECT_KINDS = ("strs", "value")


# --------------------------------------------------------------------------- bounds


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


def _encode_bounds(frame: pd.DataFrame) -> Dict[str, pa.Array]:
    """Index fields for a frame's ``stats_min`` / ``stats_max``: text, kind, typed copies."""
    lows = [encode_bound(v) for v in frame["stats_min"]]
    highs = [encode_bound(v) for v in frame["stats_max"]]
    kinds = []
    for (_, low), (_, high) in zip(lows, highs):
        if low and high and low != high:
            raise ValueError(f"a row's stats_min is a {low} but its stats_max a {high}")
        kinds.append(low or high)
    out: Dict[str, pa.Array] = {"stats_kind": pa.array(kinds, pa.string())}
    for name, encoded in (("stats_min", lows), ("stats_max", highs)):
        values = frame[name]
        out[name] = pa.array([text for text, _ in encoded], pa.string())
        out[f"{name}_int"] = pa.array(
            [v if k == "int" and _INT64[0] <= v <= _INT64[1] else None
             for v, (_, k) in zip(values, encoded)], pa.int64())
        out[f"{name}_float"] = pa.array(
            [v if k == "float" else None for v, (_, k) in zip(values, encoded)], pa.float64())
    return out


def _decode_bounds(table: pa.Table) -> Dict[str, List[Any]]:
    """The Python values of the index's ``stats_min`` / ``stats_max`` texts."""
    kinds = table.column("stats_kind").to_pylist()
    return {name: [decode_bound(t, k) for t, k in zip(table.column(name).to_pylist(), kinds)]
            for name in ("stats_min", "stats_max")}


# --------------------------------------------------------------------------- frames


def _frame(data: Dict[str, Sequence[Any]], fields: Sequence[Field]) -> pd.DataFrame:
    """A DataFrame with the fixed dtypes of ``fields`` from a list per field."""
    plain = pa.table({f.name: pa.array(data[f.name], _ARROW_TYPES[f.kind])
                      for f in fields if f.kind not in _OBJECT_KINDS})
    return _assemble(plain, {f.name: data[f.name] for f in fields if f.kind in _OBJECT_KINDS}, fields)


def _assemble(plain: pa.Table, objects: Dict[str, Sequence[Any]], fields: Sequence[Field]) -> pd.DataFrame:
    """Typed columns from Arrow (nullable pandas dtypes) and object columns, in field order."""
    frame = plain.to_pandas(types_mapper=_PANDAS_TYPES.get)
    for name, values in objects.items():
        # fromiter takes each value as it is: lists stay lists instead of becoming a dimension
        frame[name] = pd.Series(np.fromiter(values, dtype=object, count=len(values)), dtype=object)
    return frame[[f.name for f in fields]]


def _frame_to_arrow(frame: pd.DataFrame, fields: Sequence[Field]) -> Dict[str, pa.Array]:
    """Index columns of a frame: typed arrays, bounds expanded (see :func:`_encode_bounds`)."""
    out: Dict[str, pa.Array] = {}
    for f in fields:
        if f.kind == "value":
            if f.name == "stats_min":
                out.update(_encode_bounds(frame))
        else:
            values = frame[f.name].to_numpy(dtype=object, na_value=None)
            out[f.name] = pa.array(values, _ARROW_TYPES[f.kind])
    return out


def _arrow_to_frame(table: pa.Table, fields: Sequence[Field]) -> pd.DataFrame:
    """Inverse of :func:`_frame_to_arrow` (``file_name`` must already be in ``table``)."""
    objects = {f.name: table.column(f.name).to_pylist() for f in fields if f.kind == "strs"}
    if any(f.kind == "value" for f in fields):
        objects.update(_decode_bounds(table))
    plain = table.select([f.name for f in fields if f.kind not in _OBJECT_KINDS])
    return _assemble(plain, objects, fields)


def _rows_by_file(data: Dict[str, List[Any]], paths: Sequence[str]) -> Dict[str, Sequence[Any]]:
    """Rows of a results table sorted by file (stable), with ``file_name`` instead of ``file_id``.

    Results arrive batch by batch from several workers, mostly but not always in order.
    """
    file_ids = np.asarray(data["file_id"], dtype=np.int64)
    rows: Dict[str, Sequence[Any]] = {name: values for name, values in data.items() if name != "file_id"}
    if len(file_ids) > 1 and (np.diff(file_ids) < 0).any():
        pick = itemgetter(*np.argsort(file_ids, kind="stable").tolist())
        rows = {name: pick(values) for name, values in rows.items()}
        file_ids = np.sort(file_ids, kind="stable")
    rows["file_name"] = [paths[i] for i in file_ids.tolist()]
    return rows


# --------------------------------------------------------------------------- catalogue


class Catalogue:
    """The result of a scan: ``files``, ``columns`` and ``row_groups`` DataFrames.

    Parameters
    ----------
    files, columns, row_groups : pandas.DataFrame
        Tables with the columns of :data:`FILES` (plus ``partition_columns``),
        :data:`COLUMNS` and :data:`ROW_GROUPS`.
    detail : {"files", "columns", "row_groups"}
        Which tables were filled; the others have no rows.
    partition_columns : sequence of str
        Names of the ``files`` columns that hold hive partition values.
    """

    def __init__(self, files: pd.DataFrame, columns: pd.DataFrame, row_groups: pd.DataFrame,
                 detail: str = "columns", partition_columns: Sequence[str] = (),
                 skipped: Optional[Dict[str, int]] = None, retried: int = 0) -> None:
        self.files = files
        self.columns = columns
        self.row_groups = row_groups
        self.detail = detail
        self.partition_columns = list(partition_columns)
        #: reason -> files not scanned (hidden names, sidecars, globs, the index itself)
        self.skipped: Dict[str, int] = dict(skipped or {})
        #: files parsed again because a worker died while parsing them
        self.retried = retried

    def __repr__(self) -> str:
        return (f"<Catalogue {len(self.files)} files, {len(self.columns)} columns, "
                f"{len(self.row_groups)} row groups, detail={self.detail!r}>")

    @classmethod
    def from_results(cls, entries: Sequence[FileEntry], results: ScanResults, detail: str = "columns",
                     skipped: Optional[Dict[str, int]] = None) -> "Catalogue":
        """Build the DataFrames from discovered entries and the workers' results."""
        entries = results.completed(entries)
        paths = [e.path for e in entries]
        data: Dict[str, List[Any]] = dict(results.files)
        data["file_name"] = paths
        data["file_size_bytes"] = [e.size if e.size >= 0 else None for e in entries]
        data["mtime_ns"] = [e.mtime_ns if e.mtime_ns >= 0 else None for e in entries]
        data["etag"] = [e.etag for e in entries]
        data["status"] = ["ok" if t is None else "error" for t in data["error_type"]]
        partitions = _partition_columns(entries)
        data.update(partitions)
        return cls(_frame(data, _files_fields(partitions)),
                   _frame(_rows_by_file(results.columns, paths), COLUMNS),
                   _frame(_rows_by_file(results.row_groups, paths), ROW_GROUPS),
                   detail, list(partitions), skipped, results.retried)

    def to_arrow(self) -> pa.Table:
        """The index as an Arrow table: one row per file, ``columns`` / ``row_groups`` nested."""
        arrays = _frame_to_arrow(self.files, _files_fields(self.partition_columns))
        nested = [("columns", self.columns, COLUMNS)]
        if self.detail == "row_groups":
            nested.append(("row_groups", self.row_groups, ROW_GROUPS))
        for name, frame, fields in nested:
            arrays[name] = _nest(frame, fields, self.files["file_name"])
        meta = {"format": _INDEX_FORMAT, "detail": self.detail,
                "partition_columns": self.partition_columns, "skipped": self.skipped}
        table = pa.table(arrays)
        return table.replace_schema_metadata({INDEX_METADATA_KEY: json.dumps(meta)})

    def write(self, path: PathLike) -> None:
        """Write the Parquet index to ``path`` atomically (temporary file, fsync, rename).

        Readers of ``path`` see the old index or the new one, never a part of one.
        """
        path = os.fspath(path)
        table = self.to_arrow()
        temporary = f"{path}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            with open(temporary, "wb") as f:
                pq.write_table(table, f, compression="zstd")
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, path)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise

    @classmethod
    def read(cls, path: PathLike) -> "Catalogue":
        """Load an index written by :meth:`write`.

        Raises
        ------
        ScanError
            The file is Parquet but not a scanner index.
        """
        table = pq.read_table(os.fspath(path))
        raw = (table.schema.metadata or {}).get(INDEX_METADATA_KEY.encode())
        if raw is None:
            raise ScanError(f"{os.fspath(path)}: not a scanner index (no {INDEX_METADATA_KEY} metadata)")
        meta = json.loads(raw)
        parts = meta["partition_columns"]
        if "etag" not in table.column_names:  # written before remote sources had ETags
            table = table.append_column("etag", pa.nulls(len(table), pa.string()))
        files = _arrow_to_frame(table, _files_fields(parts))
        nested = {name: _unnest(table, name, fields) for name, fields in
                  (("columns", COLUMNS), ("row_groups", ROW_GROUPS))}
        return cls(files, nested["columns"], nested["row_groups"], meta["detail"], parts,
                   meta.get("skipped"))

    def _without_indexes(self) -> "Catalogue":
        """Drop the files that are scanner indexes (counted as skipped): never data."""
        is_index = [isinstance(keys, list) and INDEX_METADATA_KEY in keys for keys in self.files["key_value_keys"]]
        if not any(is_index):
            return self
        names = set(self.files["file_name"][is_index])
        self.files = self.files[~np.array(is_index)].reset_index(drop=True)
        self.columns = self.columns[~self.columns["file_name"].isin(names)].reset_index(drop=True)
        self.row_groups = self.row_groups[~self.row_groups["file_name"].isin(names)].reset_index(drop=True)
        self.skipped[SKIP_INDEX] = self.skipped.get(SKIP_INDEX, 0) + len(names)
        return self

    def summary(self, top: int = 5) -> Dict[str, Any]:
        """Totals, schemas, largest footers and errors, as plain Python values."""
        files = self.files
        ok = files[files["status"] == "ok"]
        errors = files[files["status"] == "error"]
        schemas = (ok.groupby("schema_fingerprint", sort=False)
                   .agg(files=("file_name", "size"), columns=("num_columns", "first"),
                        example=("file_name", "first"))
                   .sort_values("files", ascending=False, kind="stable"))
        largest = ok.nlargest(top, "footer_size")[["file_name", "footer_size"]]
        return {
            "files": len(files), "ok": len(ok), "failed": len(errors),
            "rows": int(ok["num_rows"].sum()), "row_groups": int(ok["num_row_groups"].sum()),
            "file_bytes": int(files["file_size_bytes"].sum()),
            "compressed_bytes": int(ok["total_compressed_size"].sum()),
            "uncompressed_bytes": int(ok["total_uncompressed_size"].sum()),
            "footer_bytes": int(ok["footer_size"].sum()),
            "distinct_schemas": len(schemas),
            "schemas": [{"fingerprint": fp, "files": int(r.files), "columns": int(r.columns),
                         "example": r.example} for fp, r in schemas.head(top).iterrows()],
            "largest_footers": [{"file_name": r.file_name, "footer_size": int(r.footer_size)}
                                for r in largest.itertuples()],
            "errors_by_type": {str(k): int(v) for k, v in errors["error_type"].value_counts().items()},
            "errors": [{"file_name": r.file_name, "error_type": r.error_type, "error": r.error}
                       for r in errors.head(top).itertuples()],
            "more_errors": max(0, len(errors) - top),
            "skipped": dict(sorted(self.skipped.items(), key=lambda item: (-item[1], item[0]))),
            "retried": self.retried,
            "partition_columns": self.partition_columns,
        }


def is_index(path: PathLike) -> bool:
    """Whether ``path`` is a Parquet index written by :meth:`Catalogue.write` (False if unreadable)."""
    try:
        metadata = pq.read_schema(os.fspath(path)).metadata or {}
    except Exception:  # not Parquet, not readable: not an index
        return False
    return INDEX_METADATA_KEY.encode() in metadata


def _files_fields(partition_columns: Sequence[str]) -> Tuple[Field, ...]:
    """The ``files`` columns: :data:`FILES`, then the partition columns."""
    return FILES + tuple(Field(name, "str", "hive partition value") for name in partition_columns)


def _partition_columns(entries: Sequence[FileEntry]) -> Dict[str, List[Optional[str]]]:
    """One list of values per partition key, keys in first-seen order.

    A key named like a fixed ``files`` column becomes ``partition_<key>``.
    """
    partitions = [dict(e.partitions) for e in entries]
    keys = dict.fromkeys(key for p in partitions for key in p)
    fixed = {f.name for f in FILES}
    return {f"partition_{key}" if key in fixed else key: [p.get(key) for p in partitions] for key in keys}


def _nest(frame: pd.DataFrame, fields: Sequence[Field], file_names: pd.Series) -> pa.Array:
    """``frame``'s rows as a ``list<struct>`` per file of ``file_names`` (in that order)."""
    owner = pd.Index(file_names).get_indexer(frame["file_name"])
    if (owner < 0).any():
        raise ValueError("a row names a file that is not in the files table")
    order = np.argsort(owner, kind="stable")
    arrays = _frame_to_arrow(frame.iloc[order].reset_index(drop=True),
                             [f for f in fields if f.name != "file_name"])
    structs = pa.StructArray.from_arrays(list(arrays.values()), names=list(arrays))
    counts = np.bincount(owner, minlength=len(file_names))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), structs)


def _unnest(table: pa.Table, name: str, fields: Sequence[Field]) -> pd.DataFrame:
    """Inverse of :func:`_nest`: a frame with ``file_name`` repeated per nested row."""
    if name not in table.column_names:
        return _frame({f.name: [] for f in fields}, fields)
    lists = table.column(name).combine_chunks()
    flat = lists.flatten()
    columns = {child.name: array for child, array in zip(flat.type, flat.flatten())}
    columns["file_name"] = table.column("file_name").combine_chunks().take(
        pc.list_parent_indices(lists))
    return _arrow_to_frame(pa.table(columns), fields)


# --------------------------------------------------------------------------- entry points


def build_catalogue(paths: Union[PathLike, Sequence[PathLike]], *, workers: Optional[int] = None,
                    mode: str = "tail", detail: str = "columns", progress: Optional[bool] = None,
                    shm_bytes: int = DEFAULT_CAP_BYTES, storage_options: Optional[Dict[str, Any]] = None,
                    concurrency: int = DEFAULT_CONCURRENCY,
                    index_hints: Union[PathLike, "Catalogue", None] = None,
                    include: Sequence[str] = (), exclude: Sequence[str] = (),
                    ignore: Sequence[PathLike] = (), missing_ok: bool = False) -> Catalogue:
    """Catalogue every file below ``paths``.

    Parameters
    ----------
    paths : path, URL or sequence of them
        Directories (walked recursively) and files; prefixes of object stores
        (``s3://bucket/prefix/``, ``gs://...``: listed with fsspec) and HTTP(S) URLs of
        objects.
    workers : int, optional
        Worker processes; default: the cores this process may use.
    mode : {"tail", "full"}
        Copy each file's tail into shared memory (default), or whole files that fit.
    detail : {"files", "columns", "row_groups"}
        ``files`` skips statistics; ``row_groups`` adds one row per column chunk.
    progress : bool, optional
        tqdm bar on stderr; ``None`` shows it only on a terminal.
    shm_bytes : int
        Byte cap of the shared memory slab (default 64 MiB).
    storage_options : dict, optional
        For the fsspec filesystems of URLs: credentials, ``endpoint_url``, ``anon``...
    concurrency : int
        Remote requests in flight at once (default 64).
    index_hints : path or Catalogue, optional
        An earlier index of the same objects: each footer length it recorded (for an
        object whose ETag, else size, still matches) makes that object's fetch one exact
        request.
    include, exclude : sequence of str
        Globs selecting the files below a root (see :mod:`scanner.entries`): with
        ``include`` only matching files are scanned; ``exclude`` wins. Without
        ``include``, table-format sidecars (:data:`~scanner.entries.DEFAULT_EXCLUDES`)
        are skipped.
    ignore : sequence of path
        Files never scanned, e.g. the index about to be written inside the tree.
        Files that are scanner indexes (their footer says so) are skipped too.
    missing_ok : bool
        A path that does not exist is an error row instead of a :class:`ScanError`.

    Returns
    -------
    Catalogue
        With ``skipped``: the number of files not scanned, by reason.

    Raises
    ------
    ScanError
        A path does not exist, ``/dev/shm`` has no room, or workers cannot start; a
        prefix cannot be listed (wrong endpoint, denied credentials, missing bucket), a
        host cannot be reached, or ``index_hints`` is not an index.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    selection = Selection(include, exclude, ignore=[os.path.abspath(os.fspath(p)) for p in ignore])
    entries = discover(paths, storage_options, selection, missing_ok)
    hints = None
    if index_hints is not None and any(is_remote(e.path) for e in entries):
        hints = footer_hints(entries, index_hints)
    results = scan(entries, workers=workers, mode=mode, detail=detail, shm_bytes=shm_bytes,
                   progress=progress, storage_options=storage_options, concurrency=concurrency, hints=hints)
    return Catalogue.from_results(entries, results, detail, selection.skipped)._without_indexes()


def scan_file(path: PathLike, *, mode: str = "tail", detail: str = "columns",
              storage_options: Optional[Dict[str, Any]] = None) -> Catalogue:
    """Catalogue one file in this process (no workers, no shared memory).

    Parameters
    ----------
    path : path or URL
        A file or one remote object (a directory or prefix is an error: use
        :func:`build_catalogue`).
    mode, detail
        As for :func:`build_catalogue`; ``full`` reads the whole file (local files only).
    storage_options : dict, optional
        For the fsspec filesystem of a URL.

    Returns
    -------
    Catalogue
        With one ``files`` row.
    """
    entries = discover([path], storage_options)
    name = os.fspath(path)
    if len(entries) != 1 or entries[0].path != (name if is_remote(name) else os.path.abspath(name)):
        raise ScanError(f"{name}: not a file (use build_catalogue for directories)")
    entry = entries[0]
    results = ScanResults(1)
    if entry.error_type is not None:
        results.add_error(0, entry.error_type, entry.error or "")
    elif is_remote(entry.path):
        outcome = fetch_one(entry, storage_options)
        if isinstance(outcome, Failed):
            results.add_error(0, outcome.error_type, outcome.error)
        else:
            results.add_object(0, outcome)
            results.add_batch([0], parse_batch(outcome.tail, [(0, len(outcome.tail))], detail))
    else:
        buffer = memoryview(bytearray(TAIL_BYTES))
        load = load_file(entry.path, entry.size, buffer, mode=mode, full_limit=entry.size)
        if load.need:
            buffer = memoryview(bytearray(load.need))
            load = load_file(entry.path, entry.size, buffer, mode=mode, first_read=load.need)
        if load.error_type is not None:
            results.add_error(0, load.error_type, load.error or "")
        else:
            results.add_batch([0], parse_batch(buffer, [(0, load.length)], detail))
    return Catalogue.from_results(entries, results, detail)
