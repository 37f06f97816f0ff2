"""Results: an engine's batches as Arrow tables, in discovery order.

:class:`Results` turns each batch (:mod:`scanner.engine.batches`, tagged with the
discovery index of each file) into Arrow tables as it arrives: ``pa.Array.from_buffers``
over the batch's buffers (the few-valued text columns come dictionary-encoded from the
parser: :data:`~scanner.engine.batches.DICTIONARY_FIELDS`), which keeps a lake of
millions of column rows a fraction of its size. :meth:`Results.tables` puts the chunks in
file order without copying them (a copy only when batches interleave). Everything after
it is engine-agnostic.
"""
from __future__ import annotations

from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import pyarrow as pa

from scanner.engine.batches import TABLE_FIELDS, Batch
from scanner.fields import BOUND_KINDS

__all__ = ["Results", "Tables", "arrow_type", "KIND_NAMES"]

_ARROW = {"int": pa.int64(), "float": pa.float64(), "str": pa.large_string(), "bool": pa.bool_(),
          "kind": pa.dictionary(pa.int8(), pa.string()), "strs": pa.large_list(pa.large_string()),
          "dict": pa.dictionary(pa.int32(), pa.large_string())}
#: The dictionary of every ``stats_kind`` array: the kind names, in the parser's code order.
KIND_NAMES = pa.array(BOUND_KINDS, pa.string())


def arrow_type(kind: str) -> pa.DataType:
    """Arrow type of a column kind in a batch (see :func:`scanner.fields.stored`)."""
    return _ARROW[kind]



class Tables(NamedTuple):
    """A scan's rows as Arrow tables (``file_id``: the file's discovery index).

    ``files`` has one row per discovered file, in discovery order; ``columns`` and
    ``row_groups`` are sorted by ``file_id`` (stable: a file's rows keep their order).
    Columns are those of :data:`~scanner.engine.batches.TABLE_FIELDS`.
    """

    files: pa.Table
    columns: pa.Table
    row_groups: pa.Table


def completed(entries: Sequence[Any], objects: Dict[int, Tuple[int, int, Optional[str]]]) -> List[Any]:
    """``entries`` with the size, mtime and ETag fetches told (``objects``: file id ->
    them) where the listing did not say."""
    done = list(entries)
    for file_id, (size, mtime_ns, etag) in objects.items():
        entry = done[file_id]
        done[file_id] = entry._replace(size=entry.size if entry.size >= 0 else size,
                                       mtime_ns=entry.mtime_ns if entry.mtime_ns >= 0 else mtime_ns,
                                       etag=entry.etag if entry.etag is not None else etag)
    return done


class Results:
    """What an engine gathered for ``count`` discovered files.

    Engines call :meth:`add_batch` for parsed files and :meth:`add_error` for files that
    failed before parsing (I/O errors, vanished files, footers too large); every file gets
    exactly one of them.
    """

    def __init__(self, count: int) -> None:
        self.count = count
        self.remaining = count
        #: files parsed again because a worker died while parsing them
        self.retried = 0
        #: table -> (file ids of its rows, its rows) per batch
        self._chunks: Dict[str, List[Tuple[np.ndarray, pa.Table]]] = {name: [] for name in TABLE_FIELDS}
        self._errors: Dict[int, Tuple[str, str]] = {}
        self._tables: Optional[Tables] = None
        #: file id -> (size, mtime_ns, etag) a remote answer told (HTTP has no listing)
        self.objects: Dict[int, Tuple[int, int, Optional[str]]] = {}

    def expect(self, count: int) -> None:
        """``count`` more files were discovered (a walk still going on when the scan began)."""
        self.count += count
        self.remaining += count

    def add_batch(self, file_ids: Sequence[int], batch: Batch) -> None:
        """Store a parsed batch whose files are ``file_ids`` (in span order), as Arrow."""
        ids = np.asarray(file_ids, dtype=np.int64)
        for name, fields in TABLE_FIELDS.items():
            table = batch[name]
            length = _length(table, fields)
            if not length:
                continue
            position = table.get("file_pos")
            rows = ids if position is None else ids[np.frombuffer(position[0], dtype=np.int64)]
            self._chunks[name].append((rows, pa.table({field: _wrap(kind, length, table[field])
                                                       for field, kind in fields if field != "file_pos"})))
        self.remaining -= len(file_ids)

    def add_error(self, file_id: int, error_type: str, error: str) -> None:
        """Record that file ``file_id`` failed before any parser saw it."""
        self._errors[file_id] = (error_type, error)
        self.remaining -= 1

    def add_object(self, file_id: int, size: int, mtime_ns: int, etag: Optional[str]) -> None:
        """Record what fetching a remote object's tail told about it."""
        if size >= 0 or mtime_ns >= 0 or etag is not None:
            self.objects[file_id] = (size, mtime_ns, etag)

    def completed(self, entries: Sequence[Any]) -> List[Any]:
        """``entries`` (:class:`~scanner.entries.FileEntry`) with what fetches told where the
        listing did not say (size, mtime, ETag of HTTP objects)."""
        return completed(entries, self.objects)

    def tables(self) -> Tables:
        """The rows of every table, in discovery order (see :class:`Tables`).

        Made once; the tables hold the batches' memory (chunked, not copied).
        """
        if self._tables is None:
            if self._errors:  # files that failed before parsing
                error_ids = np.fromiter(self._errors, dtype=np.int64, count=len(self._errors))
                self._chunks["files"].append((error_ids, self._error_rows(error_ids)))
            self._tables = Tables(*(self._table(name) for name in ("files", "columns", "row_groups")))
            self._chunks = {name: [] for name in TABLE_FIELDS}
        return self._tables

    def _error_rows(self, error_ids: np.ndarray) -> pa.Table:
        """``files`` rows of the files that failed before parsing: error type and message."""
        columns = {}
        for field, kind in TABLE_FIELDS["files"]:
            values = ([self._errors[i][0] for i in error_ids.tolist()] if field == "error_type" else
                      [self._errors[i][1] for i in error_ids.tolist()] if field == "error" else None)
            columns[field] = (pa.nulls(len(error_ids), arrow_type(kind)) if values is None
                              else pa.array(values, arrow_type("str")).dictionary_encode() if kind == "dict"
                              else pa.array(values, arrow_type(kind)))
        return pa.table(columns)

    def _table(self, name: str) -> pa.Table:
        """One table's chunks in file order: by their first file, then (when batches
        interleave, as retries of single files do) one stable sort of the rows."""
        chunks = sorted(self._chunks[name], key=lambda chunk: chunk[0][0])
        schema = pa.schema([("file_id", pa.int64())] + [(field, arrow_type(kind))
                                                         for field, kind in TABLE_FIELDS[name] if field != "file_pos"])
        if not chunks:
            return schema.empty_table()
        file_id = np.concatenate([ids for ids, _ in chunks])
        table = pa.concat_tables([rows for _, rows in chunks])
        table = table.add_column(0, "file_id", pa.chunked_array([pa.array(ids) for ids, _ in chunks], pa.int64()))
        if len(file_id) > 1 and (np.diff(file_id) < 0).any():
            table = table.take(pa.array(np.argsort(file_id, kind="stable")))
        return table


def _length(table: Dict[str, Any], fields: Tuple[Tuple[str, str], ...]) -> int:
    """Rows of a batch's table: the length of its first int64 column."""
    field = next(f for f, kind in fields if kind == "int")
    return len(table[field][0]) // 8


def _wrap(kind: str, length: int, column: Tuple[Any, ...]) -> pa.Array:
    """One buffer column of a batch as an Arrow array over the same memory."""
    validity = None if column[-1] is None else pa.py_buffer(column[-1])
    data = [pa.py_buffer(b) for b in column[:-1]]
    if kind == "kind":  # int8 codes into BOUND_KINDS
        codes = pa.Array.from_buffers(pa.int8(), length, [validity, data[0]])
        return pa.DictionaryArray.from_arrays(codes, KIND_NAMES)
    if kind in ("dict", "strs"):  # per row an index or list offsets, then strings (offsets, bytes)
        strings = pa.Array.from_buffers(pa.large_string(), len(column[1]) // 8 - 1, [None, data[1], data[2]])
        if kind == "dict":
            return pa.DictionaryArray.from_arrays(pa.Array.from_buffers(pa.int32(), length, [validity, data[0]]),
                                                  strings)
        return pa.Array.from_buffers(arrow_type(kind), length, [validity, data[0]], children=[strings])
    return pa.Array.from_buffers(arrow_type(kind), length, [validity, *data])
