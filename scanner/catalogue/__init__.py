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

The tables are kept as Arrow (:class:`~scanner.catalogue.frames.Part`); pandas is imported
only when a DataFrame is asked for, so writing an index and printing the summary (the
command line) never pay for it.
"""
from __future__ import annotations

import json
import os
import secrets
from collections import Counter
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from scanner.catalogue.bounds import decode_bound, encode_bound
from scanner.catalogue.frames import (ARROW_TYPES, Part, files_fields, from_frame, from_index, index_arrays, nest,
                                      partition_columns, sorted_by_file, to_frame, unnest)
from scanner.catalogue.index import (INDEX_FORMAT, INDEX_METADATA_KEY, MANIFEST, READABLE_FORMATS, index_metadata,
                                     is_dataset_path, is_index, metadata_of, part_name, remove_parts,
                                     write_manifest, write_atomically)
from scanner.engine.results import Results, Tables
from scanner.entries import SKIP_INDEX, FileEntry
from scanner.errors import ScanError
from scanner.fields import COLUMNS, FILES, ROW_GROUPS, Field
from scanner.incremental import SUMMARY_TOP, catalogue_digest
from scanner.query.diff import diff
from scanner.query.drift import schema_drift, schema_versions, unified_schema, version_count
from scanner.query.health import HealthRules, health, health_counts, partition_labels
from scanner.query.partitions import partitions
from scanner.query.prune import prune

__all__ = ["Catalogue", "Field", "FILES", "COLUMNS", "ROW_GROUPS", "INDEX_METADATA_KEY", "encode_bound",
           "decode_bound", "is_index"]

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

PathLike = Union[str, "os.PathLike[str]"]

#: Files per slice of the index as it is written (a row group each): a slice of a lake of
#: small files holds about a hundred thousand nested rows, a few MiB. Each slice is encoded
#: on a thread while the next is made; slices of 16,384 overlapped best (100,000 small
#: files: 0.35-0.44 s, against 0.41-0.62 s with 65,536 and 0.47-0.54 s with 8,192).
INDEX_SLICE_FILES = 16_384


class Catalogue:
    """The result of a scan: ``files``, ``columns`` and ``row_groups`` DataFrames.

    The DataFrames are made on first access, from Arrow. Changing one in place does not
    change the catalogue (its summary and index come from the Arrow tables); assigning a
    new DataFrame (``cat.columns = frame``) does.

    Parameters
    ----------
    files, columns, row_groups : pandas.DataFrame
        Tables with the columns of :data:`FILES` (plus ``partition_columns``),
        :data:`COLUMNS` and :data:`ROW_GROUPS`.
    detail : {"files", "columns", "row_groups"}
        Which tables were filled; the others have no rows.
    partition_columns : sequence of str
        Names of the ``files`` columns that hold hive partition values.
    skipped : dict, optional
        Reason -> number of files not scanned.
    retried : int
        Files parsed again because a worker died while parsing them.
    """

    def __init__(self, files: "pd.DataFrame", columns: "pd.DataFrame", row_groups: "pd.DataFrame",
                 detail: str = "columns", partition_columns: Sequence[str] = (),
                 skipped: Optional[Dict[str, int]] = None, retried: int = 0) -> None:
        self._init(None, None, None, detail, partition_columns, skipped, retried)  # type: ignore[arg-type]
        self._frames = {"files": files, "columns": columns, "row_groups": row_groups}

    def _init(self, files: Optional[Part], columns: Optional[Part], row_groups: Optional[Part], detail: str,
              partition_columns: Sequence[str], skipped: Optional[Dict[str, int]], retried: int) -> None:
        self._parts = {"files": files, "columns": columns, "row_groups": row_groups}
        self._frames: Dict[str, "pd.DataFrame"] = {}
        self.detail = detail
        self.partition_columns = list(partition_columns)
        #: reason -> files not scanned (hidden names, sidecars, globs, the index itself)
        self.skipped: Dict[str, int] = dict(skipped or {})
        #: files parsed again because a worker died while parsing them
        self.retried = retried
        #: the roots scanned (absolute paths, URLs), as build_catalogue was given them
        self.roots: List[str] = []
        #: the index file this catalogue was read from, and its format (None: made by a scan)
        self.path: Optional[str] = None
        self.index_format: Optional[int] = None
        #: seconds a full scan took per file (an incremental rescan passes it on)
        self.seconds_per_file: Optional[float] = None
        #: what an incremental rescan did (:class:`scanner.incremental.Rescan`), else None
        self.rescan: Any = None
        #: ``(directory, part names)``: the parts of a partitioned index the scan's tasks
        #: wrote; :meth:`write` to that directory then writes only the manifest
        self.written_parts: Optional[Tuple[str, List[str]]] = None

    @classmethod
    def _of_parts(cls, files: Part, columns: Part, row_groups: Part, detail: str,
                  partition_columns: Sequence[str], skipped: Optional[Dict[str, int]] = None,
                  retried: int = 0) -> "Catalogue":
        catalogue = cls.__new__(cls)
        catalogue._init(files, columns, row_groups, detail, partition_columns, skipped, retried)
        return catalogue

    def _frame(self, name: str) -> "pd.DataFrame":
        frame = self._frames.get(name)
        if frame is None:  # a nested part's file_id is a row of the files part made with it
            file_names = None if name == "files" else _file_names(self._parts["files"])
            frame = self._frames[name] = to_frame(self._parts[name], self._fields(name), file_names)
        return frame

    def _fields(self, name: str) -> Sequence[Field]:
        return {"files": files_fields(self.partition_columns), "columns": COLUMNS, "row_groups": ROW_GROUPS}[name]

    def _part(self, name: str, file_names: Optional[pa.Array] = None) -> Part:
        """A table as Arrow: from its DataFrame once one was handed out (it may have been
        changed in place), else as the scan made it. A nested table from a DataFrame needs
        the ``file_names`` of the files part it goes with."""
        frame = self._frames.get(name)
        return self._parts[name] if frame is None else from_frame(frame, self._fields(name), file_names)

    def _current(self) -> Dict[str, Part]:
        """Every table as Arrow (see :meth:`_part`), the files part made once."""
        files = self._part("files")
        names = _file_names(files)
        return {"files": files, "columns": self._part("columns", names),
                "row_groups": self._part("row_groups", names)}

    @property
    def files(self) -> "pd.DataFrame":
        """One row per discovered file, ok or not (:data:`FILES`, then partition columns)."""
        return self._frame("files")

    @files.setter
    def files(self, frame: "pd.DataFrame") -> None:
        self._frames["files"] = frame

    @property
    def columns(self) -> "pd.DataFrame":
        """One row per file and leaf column, aggregated over row groups (:data:`COLUMNS`)."""
        return self._frame("columns")

    @columns.setter
    def columns(self, frame: "pd.DataFrame") -> None:
        self._frames["columns"] = frame

    @property
    def row_groups(self) -> "pd.DataFrame":
        """One row per column chunk, at ``row_groups`` detail (:data:`ROW_GROUPS`)."""
        return self._frame("row_groups")

    @row_groups.setter
    def row_groups(self, frame: "pd.DataFrame") -> None:
        self._frames["row_groups"] = frame

    def __repr__(self) -> str:
        sizes = {name: len(self._frames[name]) if name in self._frames else len(self._parts[name])
                 for name in ("files", "columns", "row_groups")}
        return (f"<Catalogue {sizes['files']} files, {sizes['columns']} columns, {sizes['row_groups']} row groups, "
                f"detail={self.detail!r}>")

    @classmethod
    def from_results(cls, entries: Sequence[FileEntry], results: Results, detail: str = "columns",
                     skipped: Optional[Dict[str, int]] = None) -> "Catalogue":
        """The catalogue of the discovered entries and an engine's :class:`Results`."""
        return cls.from_tables(results.completed(entries), results.tables(), detail, skipped, results.retried)

    @classmethod
    def from_tables(cls, entries: Sequence[FileEntry], tables: Tables, detail: str = "columns",
                    skipped: Optional[Dict[str, int]] = None, retried: int = 0,
                    keys: Optional[Sequence[str]] = None) -> "Catalogue":
        """The catalogue of the discovered entries and an engine's Arrow tables (``keys``:
        the hive partition keys, in order, when they are those of a larger listing)."""
        plain = tables.files.drop_columns(["file_id"])
        error_type = plain.column("error_type")
        # a column at a time, by attribute (-1: unknown, null here); not zip(*entries), whose
        # iterator per entry woke the cyclic GC: 3x slower at 100,000 files
        def field(name: str) -> Iterator[Any]:
            return map(attrgetter(name), entries)

        def known(name: str, unknown: Any = lambda v: v < 0) -> pa.Array:
            numbers = np.fromiter(field(name), dtype=np.int64, count=len(entries))
            return pa.array(numbers, pa.int64(), mask=unknown(numbers))

        listed = {
            "file_name": pa.array(list(field("path")), pa.string()),
            "file_size_bytes": known("size"),
            "mtime_ns": known("mtime_ns"),
            "ctime_ns": known("ctime_ns"),
            "inode": known("inode", lambda v: v == -1),  # an inode above 2**63 is negative here
            "etag": pa.array(list(field("etag")), pa.string()),
            "status": pc.if_else(pc.is_null(error_type), "ok", "error").cast(pa.string()),
        }
        partitions = partition_columns(entries, keys)
        for name, values in {**listed, **{k: pa.array(v, pa.string()) for k, v in partitions.items()}}.items():
            plain = plain.append_column(name, values)
        return cls._of_parts(plain, tables.columns, tables.row_groups, detail, list(partitions), skipped, retried)

    def to_arrow(self) -> pa.Table:
        """The index as an Arrow table: one row per file, ``columns`` / ``row_groups`` nested."""
        return pa.concat_tables(self._index_slices(None, self._index_meta(None)))

    def write(self, path: PathLike, summary: Optional[Dict[str, Any]] = None) -> None:
        """Write the Parquet index to ``path`` atomically (temporary file, fsync, rename).

        Readers of ``path`` see the old index or the new one, never a part of one. The
        index is made and written :data:`INDEX_SLICE_FILES` files at a time, so that
        writing a large lake's index holds one slice of it in memory, not a copy of all.
        ``summary``: this catalogue's ``summary(SUMMARY_TOP)``, when the caller made it
        already (the index keeps it; see :mod:`scanner.incremental`).
        """
        if is_dataset_path(path):
            self._write_partitioned(os.fspath(path), summary)
        else:
            write_atomically(self._index_slices(INDEX_SLICE_FILES, self._index_meta(summary)), path)

    def _write_partitioned(self, directory: str, summary: Optional[Dict[str, Any]]) -> None:
        """A partitioned index: part files of :data:`INDEX_SLICE_FILES` files each (or the
        parts the scan's tasks wrote there: :attr:`written_parts`), then the manifest."""
        os.makedirs(directory, exist_ok=True)
        meta = self._index_meta(summary)
        written = self.written_parts
        if written is not None and os.path.realpath(written[0]) == os.path.realpath(directory):
            names = list(written[1])
            write_manifest(directory, meta, names)
            return
        run, names = secrets.token_hex(4), []
        try:
            for number, table in enumerate(self._index_slices(INDEX_SLICE_FILES, self.part_meta())):
                names.append(part_name(run, number))
                write_atomically([table], os.path.join(directory, names[-1]))
        except BaseException:  # no manifest will list them: the index stays as it was
            remove_parts(directory, run)
            raise
        write_manifest(directory, meta, names)

    def _index_meta(self, summary: Optional[Dict[str, Any]]) -> Dict[str, Any]:
        """The index's own metadata (:data:`INDEX_METADATA_KEY`): format, detail, roots, the
        listing digest and the summary of an unchanged rescan (:mod:`scanner.incremental`)."""
        digest = catalogue_digest(self._current()["files"], self.skipped, self.detail) if self.roots else None
        return {**self.part_meta(), "skipped": self.skipped, "seconds_per_file": self.seconds_per_file,
                "listing_digest": digest, "summary": (summary or self.summary(SUMMARY_TOP)) if digest else None}

    def part_meta(self) -> Dict[str, Any]:
        """The metadata of a part of a partitioned index: enough to read it alone."""
        return {"format": INDEX_FORMAT, "detail": self.detail, "partition_columns": self.partition_columns,
                "roots": self.roots}

    def write_part(self, directory: PathLike, name: str) -> None:
        """Write this catalogue as one part of a partitioned index (a scan's task does)."""
        write_atomically(self._index_slices(INDEX_SLICE_FILES, self.part_meta()), os.path.join(directory, name))

    def _index_slices(self, files_per_slice: Optional[int], meta: Dict[str, Any]) -> Iterator[pa.Table]:
        """The index as tables of ``files_per_slice`` files each (``None``: one table), with
        ``meta`` as their :data:`INDEX_METADATA_KEY` metadata."""
        parts = self._current()
        files = parts["files"]
        count = len(files)
        fields = files_fields(self.partition_columns)
        nested = [("columns", COLUMNS)] + ([("row_groups", ROW_GROUPS)] if self.detail == "row_groups" else [])
        rows = {name: sorted_by_file(parts[name]) for name, _ in nested}
        owners = {name: part.column("file_id").to_numpy() for name, part in rows.items()}
        meta = {INDEX_METADATA_KEY: json.dumps(meta)}
        step = files_per_slice or max(count, 1)
        for first in range(0, max(count, 1), step):
            size = min(step, count - first)
            arrays = index_arrays(files.slice(first, size), fields)
            for name, nested_fields in nested:
                low, high = np.searchsorted(owners[name], [first, first + size])
                arrays[name] = nest(rows[name].slice(low, high - low), name, nested_fields, size, first)
            yield pa.table(arrays).replace_schema_metadata(meta)

    @classmethod
    def read(cls, path: PathLike) -> "Catalogue":
        """Load an index written by :meth:`write`.

        Indexes of every format in :data:`~scanner.catalogue.index.READABLE_FORMATS` are
        read (format 1 named the nested fields without their prefix).

        The file is opened once, and everything is read through that one handle: a scan
        replacing the index meanwhile (a rename) cannot mix two versions of it.

        Raises
        ------
        ScanError
            The file is Parquet but not a scanner index, or an index of a format this
            version does not know (written by a newer one).
        """
        path = os.fspath(path)
        if os.path.isdir(path):
            return cls._read_partitioned(path)
        with pa.OSFile(path) as source:
            return cls.read_parquet(pq.ParquetFile(source), path)

    @classmethod
    def _read_partitioned(cls, directory: str) -> "Catalogue":
        """:meth:`read` of a partitioned index: its manifest's parts, in order, as one."""
        meta = index_metadata(directory)
        if meta is None:
            raise ScanError(f"{directory}: not a scanner index (a directory without a readable {MANIFEST})")
        cls._check_format(meta, directory)
        if not meta["parts"]:
            raise ScanError(f"{directory}: a partitioned index without parts")
        tables = [pq.read_table(os.path.join(directory, name), use_threads=False) for name in meta["parts"]]
        return cls._from_index_table(pa.concat_tables(tables, promote_options="permissive"), meta, directory)

    @classmethod
    def read_parquet(cls, parquet: pq.ParquetFile, path: str) -> "Catalogue":
        """:meth:`read` of an index already opened as ``parquet`` (from ``path``)."""
        meta = metadata_of(parquet.schema_arrow)
        if meta is None:
            raise ScanError(f"{path}: not a scanner index (no {INDEX_METADATA_KEY} metadata)")
        cls._check_format(meta, path)
        # one nested column holds most: threads only add contention
        return cls._from_index_table(parquet.read(use_threads=False), meta, path)

    @staticmethod
    def _check_format(meta: Dict[str, Any], path: str) -> None:
        version = meta.get("format")
        if version not in READABLE_FORMATS:
            raise ScanError(f"{path}: a scanner index of format {version!r}, which this version of rugo cannot read "
                            f"(it reads formats {', '.join(map(str, READABLE_FORMATS))}): upgrade rugo, or scan "
                            "the lake again")

    @classmethod
    def _from_index_table(cls, table: pa.Table, meta: Dict[str, Any], path: str) -> "Catalogue":
        """The catalogue of an index's rows (one file's, or a partitioned index's parts)."""
        version = meta["format"]
        partitions = meta["partition_columns"]
        for added, kind in (("etag", "str"), ("schema_columns", "category"), ("ctime_ns", "int"),
                            ("inode", "int")):  # not in older indexes
            if added not in table.column_names:
                table = table.append_column(added, pa.nulls(len(table), ARROW_TYPES[kind]))
        catalogue = cls._of_parts(from_index(table, files_fields(partitions)),
                                  unnest(table, "columns", COLUMNS, version),
                                  unnest(table, "row_groups", ROW_GROUPS, version), meta["detail"], partitions,
                                  meta.get("skipped"))
        catalogue.roots, catalogue.path, catalogue.index_format = list(meta.get("roots") or []), path, version
        catalogue.seconds_per_file = meta.get("seconds_per_file")
        return catalogue

    def _without_indexes(self) -> "Catalogue":
        """Drop the files that are scanner indexes (counted as skipped): never data."""
        parts = self._current()
        files = parts["files"]
        keys = files.column("key_value_keys").combine_chunks()
        marked = pc.equal(pc.list_flatten(keys), INDEX_METADATA_KEY).to_numpy(zero_copy_only=False)
        if not marked.any():
            return self
        keep = np.ones(len(files), dtype=bool)
        keep[pc.list_parent_indices(keys).to_numpy()[marked]] = False
        renumber = np.cumsum(keep) - 1  # a kept file's new row
        nested = {name: parts[name] for name in ("columns", "row_groups")}
        self._parts["files"] = files.take(pa.array(np.flatnonzero(keep)))
        for name, part in nested.items():
            file_id = part.column("file_id").to_numpy()
            part = part.take(pa.array(np.flatnonzero(keep[file_id])))
            renumbered = pa.array(renumber[part.column("file_id").to_numpy()])
            self._parts[name] = part.set_column(part.column_names.index("file_id"), "file_id", renumbered)
        self._frames.clear()
        self.skipped[SKIP_INDEX] = self.skipped.get(SKIP_INDEX, 0) + int((~keep).sum())
        return self

    def partitions(self) -> "pd.DataFrame":
        """What each hive partition holds: files, ok / failed, rows, bytes, schema versions,
        first and last modification time; partition values typed (int, then date, then
        string: :mod:`scanner.query.partitions`). No rows when the lake has no partitions."""
        return partitions(self._part("files"), self.partition_columns)

    def health(self, rules: Optional[HealthRules] = None) -> "pd.DataFrame":
        """Health flags (small files, row group sizes, large footers, columns without
        statistics, mixed codecs or writers per partition) by ``rules``
        (:class:`~scanner.query.health.HealthRules`; see :mod:`scanner.query.health`)."""
        parts = self._current()
        return health(parts["files"], parts["columns"], self.partition_columns, rules)

    def prune(self, filters: Any, level: str = "files") -> "pd.DataFrame":
        """The files (``level="files"``: rows of :attr:`files`) or row groups
        (``level="row_groups"``: ``file_name``, ``row_group_id``; needs ``row_groups``
        detail) that may hold rows matching ``filters``, soundly: a file or row group
        holding a matching row is never left out (:mod:`scanner.query.prune`).

        ``filters`` is pyarrow's DNF form: ``[("ts", ">=", t), ("country", "in", ["DE"])]``,
        or a list of such lists for OR, or a ``pyarrow.compute.Expression``
        (:mod:`scanner.query.expression`).

        Raises
        ------
        ValueError
            A malformed filter, or ``level="row_groups"`` on a catalogue scanned with less
            detail.
        """
        if level == "row_groups" and self.detail != "row_groups":
            raise ValueError(f"level='row_groups' needs a catalogue scanned with detail='row_groups', "
                             f"not {self.detail!r}")
        stats = self.row_groups if level == "row_groups" else self.columns if self.detail != "files" else None
        return prune(self.files, stats, self.partition_columns, filters, level)

    def schema_versions(self) -> "pd.DataFrame":
        """The canonical schema versions of the ok files, in order of appearance (by hive
        partition, then ``mtime_ns``, then path): where each appears first, how many files
        have it, its columns (:mod:`scanner.query.drift`)."""
        return schema_versions(self._part("files"), self.partition_columns)

    def schema_drift(self) -> "pd.DataFrame":
        """One row per column change between schema versions, in order of appearance:
        ``added``, ``removed``, ``type_changed`` (``widening`` or not),
        ``nullability_changed``, and ``renamed`` (a labelled guess); with the first file and
        hive partition of each new form and how many files have each form
        (:mod:`scanner.query.drift`)."""
        return schema_drift(self._part("files"), self.partition_columns)

    def unified_schema(self) -> pa.Schema:
        """One Arrow schema holding every ok file's top-level columns
        (``pyarrow.unify_schemas``, permissive promotion).

        Raises
        ------
        SchemaConflict
            No such schema: names the column, its two types and a file with each.
        """
        return unified_schema(self._part("files"), self.partition_columns)

    def diff(self, earlier: "Catalogue") -> "pd.DataFrame":
        """The files added, changed and removed since ``earlier`` (a catalogue of the same
        lake), and for each changed file what differs and how its schema changed
        (:mod:`scanner.query.diff`)."""
        return diff(self._part("files"), earlier._part("files"))

    def report(self, path: PathLike, rules: Optional[HealthRules] = None, title: Optional[str] = None,
               force: bool = False) -> str:
        """Write an HTML report of the catalogue to ``path``: one self-contained file of
        summary cards, plots (file sizes, growth by partition or time, row group sizes,
        codecs and writers, schema versions, footer sizes) and tables (errors, schema
        changes, health flags by ``rules``, largest files); see :mod:`scanner.report`.
        Returns its absolute path.

        Raises
        ------
        ScanError
            ``path`` exists and is not a report (unless ``force``), or is a directory.
        """
        from scanner.report import write_report

        return write_report(self, path, rules, title, force)

    def summary(self, top: int = 5, rules: Optional[HealthRules] = None) -> Dict[str, Any]:
        """Totals, schemas (distinct fingerprints, and canonical versions:
        :meth:`schema_versions`), largest footers, errors, partitions and health flags
        (counted by ``rules``), as plain Python values."""
        parts = self._current()
        files = parts["files"].select(_SUMMARY_FIELDS)
        is_ok = pc.equal(files.column("status"), "ok")
        if pc.all(is_ok).as_py() is not False:  # no failed file (or no file at all)
            ok, errors = files, files.slice(0, 0)
        else:
            ok, errors = files.filter(is_ok), files.filter(pc.invert(is_ok))
        schemas = _first_seen_counts(ok.column("schema_fingerprint"))
        names, columns = ok.column("file_name"), ok.column("num_columns")
        footers = ok.column("footer_size").to_numpy(zero_copy_only=False)
        largest = np.argsort(-footers, kind="stable")[:top].tolist() if len(footers) else []
        error_rows = errors.slice(0, top).select(["file_name", "error_type", "error"]).to_pylist()
        return {
            "files": files.num_rows, "ok": ok.num_rows, "failed": errors.num_rows,
            "rows": _total(ok, "num_rows"), "row_groups": _total(ok, "num_row_groups"),
            "file_bytes": _total(files, "file_size_bytes"),
            "compressed_bytes": _total(ok, "total_compressed_size"),
            "uncompressed_bytes": _total(ok, "total_uncompressed_size"),
            "footer_bytes": _total(ok, "footer_size"),
            "distinct_schemas": len(schemas),
            "schema_versions": _version_count(parts["files"]),
            "schemas": [{"fingerprint": fp, "files": count, "columns": columns[first].as_py(),
                         "example": names[first].as_py()} for fp, count, first in schemas[:top]],
            "largest_footers": [{"file_name": names[i].as_py(), "footer_size": int(footers[i])} for i in largest],
            "errors_by_type": dict(Counter(errors.column("error_type").to_pylist()).most_common()),
            "errors": error_rows,
            "more_errors": max(0, errors.num_rows - top),
            "skipped": dict(sorted(self.skipped.items(), key=lambda item: (-item[1], item[0]))),
            "retried": self.retried,
            "partition_columns": self.partition_columns,
            "partitions": len(partition_labels(parts["files"], self.partition_columns).dictionary)
            if self.partition_columns else 0,
            "health": health_counts(parts["files"], parts["columns"], self.partition_columns, rules),
            "rescan": self.rescan.as_dict() if self.rescan is not None else None,
        }


def _file_names(files: Part) -> pa.Array:
    return files.column("file_name").combine_chunks()


#: The ``files`` columns :meth:`Catalogue.summary` reads.
_SUMMARY_FIELDS = ["file_name", "status", "schema_fingerprint", "num_columns", "footer_size", "num_rows",
                   "num_row_groups", "file_size_bytes", "total_compressed_size", "total_uncompressed_size",
                   "error_type", "error"]


def _first_seen_counts(values: pa.ChunkedArray) -> List[Tuple[Any, int, int]]:
    """``(value, count, first row)`` per distinct value, most frequent first (ties: first seen first)."""
    plain = values.combine_chunks()
    if pa.types.is_dictionary(plain.type):  # chunks have dictionaries of their own: one for all
        plain = plain.cast(plain.type.value_type)
    encoded = plain.dictionary_encode()
    codes = encoded.indices.fill_null(len(encoded.dictionary)).to_numpy()  # null: one past the dictionary
    found, first, counts = np.unique(codes, return_index=True, return_counts=True)
    dictionary = encoded.dictionary.to_pylist() + [None]
    order = sorted(range(len(found)), key=lambda i: (-counts[i], first[i]))
    return [(dictionary[found[i]], int(counts[i]), int(first[i])) for i in order]


def _version_count(files: Part) -> Optional[int]:
    """Canonical schema versions of the ok files (None: an index without schema_columns)."""
    try:
        return version_count(files)
    except ScanError:
        return None


def _total(table: pa.Table, name: str) -> int:
    """Sum of a column, nulls skipped (0 for none)."""
    return int(pc.sum(table.column(name)).as_py() or 0)
