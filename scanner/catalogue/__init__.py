"""Catalogue: the scan's results as pandas DataFrames with fixed dtypes, and the Parquet index.

Three tables, named after duckdb's ``parquet_file_metadata`` / ``parquet_metadata`` where
the concept is the same (fields declared once in :mod:`scanner.fields`):

* ``files``: one row per discovered file, ok or not, plus one column per hive partition key;
* ``columns``: one row per file and leaf column, aggregated over row groups;
* ``row_groups``: one row per column chunk (only with ``detail="row_groups"``).

The index is one Parquet file (:mod:`scanner.catalogue.index`): one row per file (the
``files`` columns) with the file's ``columns`` and, at ``row_groups`` detail,
``row_groups`` as ``list<struct>`` columns; bounds as text, kind and typed copies
(:mod:`scanner.catalogue.bounds`).
"""
from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from scanner.catalogue.bounds import decode_bound, encode_bound
from scanner.catalogue.frames import (arrow_to_frame, assemble, files_fields, frame_to_arrow, nest,
                                      partition_columns, unnest)
from scanner.catalogue.index import INDEX_FORMAT, INDEX_METADATA_KEY, is_index, write_atomically
from scanner.engine.results import Results, Tables
from scanner.entries import SKIP_INDEX, FileEntry
from scanner.errors import ScanError
from scanner.fields import COLUMNS, FILES, ROW_GROUPS, Field

__all__ = ["Catalogue", "Field", "FILES", "COLUMNS", "ROW_GROUPS", "INDEX_METADATA_KEY", "encode_bound",
           "decode_bound", "is_index"]

PathLike = Union[str, "os.PathLike[str]"]


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
    def from_results(cls, entries: Sequence[FileEntry], results: Results, detail: str = "columns",
                     skipped: Optional[Dict[str, int]] = None) -> "Catalogue":
        """Build the DataFrames from the discovered entries and an engine's :class:`Results`."""
        return cls.from_tables(results.completed(entries), results.tables(), detail, skipped, results.retried)

    @classmethod
    def from_tables(cls, entries: Sequence[FileEntry], tables: Tables, detail: str = "columns",
                    skipped: Optional[Dict[str, int]] = None, retried: int = 0) -> "Catalogue":
        """Build the DataFrames from the discovered entries and an engine's tables."""
        paths = pa.array([e.path for e in entries], pa.string())
        plain = tables.files.drop_columns(["file_id"])
        error_type = plain.column("error_type")
        listed = {
            "file_name": paths,
            "file_size_bytes": pa.array([e.size if e.size >= 0 else None for e in entries], pa.int64()),
            "mtime_ns": pa.array([e.mtime_ns if e.mtime_ns >= 0 else None for e in entries], pa.int64()),
            "etag": pa.array([e.etag for e in entries], pa.string()),
            "status": pc.if_else(pc.is_null(error_type), "ok", "error").cast(pa.string()),
        }
        partitions = partition_columns(entries)
        for name, values in {**listed, **{k: pa.array(v, pa.string()) for k, v in partitions.items()}}.items():
            plain = plain.append_column(name, values)
        files = assemble(plain, tables.objects["files"], files_fields(partitions))
        nested = [_rows(table, tables.objects[name], paths, fields)
                  for name, table, fields in (("columns", tables.columns, COLUMNS),
                                              ("row_groups", tables.row_groups, ROW_GROUPS))]
        return cls(files, nested[0], nested[1], detail, list(partitions), skipped, retried)

    def to_arrow(self) -> pa.Table:
        """The index as an Arrow table: one row per file, ``columns`` / ``row_groups`` nested."""
        arrays = frame_to_arrow(self.files, files_fields(self.partition_columns))
        nested = [("columns", self.columns, COLUMNS)]
        if self.detail == "row_groups":
            nested.append(("row_groups", self.row_groups, ROW_GROUPS))
        for name, frame, fields in nested:
            arrays[name] = nest(frame, fields, self.files["file_name"])
        meta = {"format": INDEX_FORMAT, "detail": self.detail,
                "partition_columns": self.partition_columns, "skipped": self.skipped}
        table = pa.table(arrays)
        return table.replace_schema_metadata({INDEX_METADATA_KEY: json.dumps(meta)})

    def write(self, path: PathLike) -> None:
        """Write the Parquet index to ``path`` atomically (temporary file, fsync, rename).

        Readers of ``path`` see the old index or the new one, never a part of one.
        """
        write_atomically(self.to_arrow(), path)

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
        files = arrow_to_frame(table, files_fields(parts))
        nested = {name: unnest(table, name, fields) for name, fields in
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


def _rows(table: pa.Table, objects: Dict[str, List[Any]], paths: pa.Array, fields: Sequence[Field]) -> pd.DataFrame:
    """A ``columns`` / ``row_groups`` frame: the engine's rows with ``file_name`` for ``file_id``."""
    plain = table.drop_columns(["file_id"]).append_column("file_name", paths.take(table.column("file_id")))
    return assemble(plain, objects, fields)
