"""The index file: one Parquet file per catalogue, written atomically, with its format.

Key/value metadata :data:`INDEX_METADATA_KEY` holds ``{"format": ..., "detail": ...,
"partition_columns": [...], "skipped": {...}, "roots": [...], "seconds_per_file": ...}``
as JSON; :func:`is_index` tells an index
from any other file (``--output`` never overwrites a file that is not one).
"""
from __future__ import annotations

import json
import os
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Iterable, Optional, Union

import pyarrow as pa
import pyarrow.parquet as pq

from scanner.atomic import replacing
from scanner.index_format import INDEX_FORMAT, INDEX_METADATA_KEY, READABLE_FORMATS

__all__ = ["INDEX_METADATA_KEY", "INDEX_FORMAT", "READABLE_FORMATS", "NESTED_PREFIXES", "nested_name", "is_index",
           "index_metadata",
           "metadata_of", "write_atomically"]

PathLike = Union[str, "os.PathLike[str]"]

#: The prefix of a nested table's fields in the index (format 2).
NESTED_PREFIXES = {"columns": "column_", "row_groups": "chunk_"}


def nested_name(table: str, name: str, format: int = INDEX_FORMAT) -> str:
    """The index's name of field ``name`` of the nested ``table`` (``columns`` or ``row_groups``).

    Format 2 prefixes it (``column_``, ``chunk_``; a name that already starts with the
    prefix, ``column_id``, keeps it), so that no nested name is also a top-level name
    (``total_compressed_size``) or one of the other nested table: unnesting both in polars
    or duckdb gives unique columns. Format 1 used the bare names.
    """
    prefix = NESTED_PREFIXES[table] if format >= 2 else ""
    return name if name.startswith(prefix) else prefix + name


def is_index(path: PathLike) -> bool:
    """Whether ``path`` is a Parquet index written by :meth:`Catalogue.write` (False if unreadable)."""
    return index_metadata(path) is not None


def index_metadata(path: PathLike) -> Optional[dict]:
    """The index's own metadata (format, detail, roots...) as written by
    :meth:`Catalogue.write`; None when ``path`` is not an index (or cannot be read)."""
    try:
        return metadata_of(pq.read_schema(os.fspath(path)))
    except Exception:  # not Parquet, not readable, not JSON: not an index
        return None


def metadata_of(schema: pa.Schema) -> Optional[dict]:
    """:func:`index_metadata` of an index's Arrow schema (None: not an index)."""
    raw = (schema.metadata or {}).get(INDEX_METADATA_KEY.encode())
    return None if raw is None else json.loads(raw)


def write_atomically(tables: Iterable[pa.Table], path: PathLike) -> None:
    """Write ``tables`` (of one schema, the first's) as one Parquet file (zstd), a row
    group or more each, to ``path``: temporary file, fsync, rename.

    Each table is encoded on a thread while the caller's iterator makes the next one
    (encoding releases the GIL), so making and writing a large index overlap.

    Readers of ``path`` see the old file or the new one, never a part of one; a failed
    write leaves nothing behind.
    """
    with replacing(path) as f:
        writer = None
        pending: Optional[Future] = None
        try:
            with ThreadPoolExecutor(1, thread_name_prefix="rugo-index-writer") as encoder:
                for table in tables:
                    if pending is not None:
                        pending.result()  # one table in the writer at a time; its error raised here
                    if writer is None:
                        writer = pq.ParquetWriter(f, table.schema, compression="zstd")
                    pending = encoder.submit(writer.write_table, table)
                if pending is not None:
                    pending.result()
        finally:
            # the encoder has finished (the with block waited for it), unless a second
            # Ctrl-C cut that wait short: then the writer is left to the encoder's thread,
            # and the temporary file is removed by replacing()
            if writer is not None and (pending is None or pending.done()):
                writer.close()
