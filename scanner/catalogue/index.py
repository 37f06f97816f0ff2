"""The index file: one Parquet file per catalogue, written atomically, with its format; or
a partitioned index: a directory of such files (parts) and a manifest (:data:`MANIFEST`).

Key/value metadata :data:`INDEX_METADATA_KEY` holds ``{"format": ..., "detail": ...,
"partition_columns": [...], "skipped": {...}, "roots": [...], "seconds_per_file": ...}``
as JSON; :func:`is_index` tells an index
from any other file (``--output`` never overwrites a file that is not one).
"""
from __future__ import annotations

import json
import os
import re
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Iterable, List, Optional, Union

import pyarrow as pa
import pyarrow.parquet as pq

from scanner.atomic import replacing
from scanner.engine.local.shm import owner_alive
from scanner.index_format import INDEX_FORMAT, INDEX_METADATA_KEY, MANIFEST, READABLE_FORMATS, is_dataset_path

__all__ = ["INDEX_METADATA_KEY", "INDEX_FORMAT", "READABLE_FORMATS", "NESTED_PREFIXES", "MANIFEST", "nested_name",
           "is_index", "index_metadata", "is_dataset_path", "part_name", "remove_parts", "is_unfinished_dataset",
           "write_manifest", "metadata_of", "write_atomically"]

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
    """Whether ``path`` is an index written by :meth:`Catalogue.write`: a Parquet file, or a
    partitioned index's directory (False if unreadable)."""
    return index_metadata(path) is not None


def index_metadata(path: PathLike) -> Optional[dict]:
    """The index's own metadata (format, detail, roots...) as written by
    :meth:`Catalogue.write` (of a partitioned index: its manifest, with ``parts``); None
    when ``path`` is not an index (or cannot be read)."""
    try:
        if os.path.isdir(path):
            with open(os.path.join(path, MANIFEST), "rb") as f:
                meta = json.loads(f.read())
            return meta if isinstance(meta, dict) and isinstance(meta.get("parts"), list) else None
        return metadata_of(pq.read_schema(os.fspath(path)))
    except Exception:  # not Parquet, not readable, not JSON: not an index
        return None


def part_name(run: str, number: int) -> str:
    """The file name of a part of a partitioned index (``run``: one write's id)."""
    return f"part-{run}-{number:05d}.parquet"


def remove_parts(directory: PathLike, run: str) -> None:
    """Remove what the write ``run`` left in ``directory`` when it failed or was
    interrupted before its manifest: its parts, and the temporary files of parts being
    written. The manifest and the parts of earlier writes stay: the index is as it was."""
    directory = os.fspath(directory)
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return
    _unlink(directory, [name for name in names if name.startswith(f"part-{run}-")])


def is_unfinished_dataset(directory: PathLike) -> bool:
    """Whether ``directory`` holds parts of partitioned-index writes and nothing else, with
    no manifest: what a write killed before its manifest (SIGKILL, a crash) leaves. The
    next write into it removes them (:func:`write_manifest`)."""
    directory = os.fspath(directory)
    names = os.listdir(directory)
    return bool(names) and all(
        (found := _PART.fullmatch(name)) is not None
        and (found.group(1) is not None or is_index(os.path.join(directory, name)))
        for name in names)


#: A part's file name (:func:`part_name`), or the temporary file of one being written
#: (:func:`scanner.atomic.replacing`: ``.tmp-<writer's pid>-<token>``; group 1: the pid).
_PART = re.compile(r"part-[0-9a-f]+-\d+\.parquet(?:\.tmp-(\d+)-[0-9a-f]+)?")


def write_manifest(directory: PathLike, meta: dict, parts: List[str]) -> None:
    """Make ``parts`` (written already, in order) the partitioned index at ``directory``:
    its manifest replaced atomically, then the parts of earlier writes removed, and the
    temporary files of part writers that died (no process of that pid runs on this host).
    A reader of the manifest sees the old index or the new one; ``DIR/*.parquet`` globs
    (duckdb) see only the new parts once this returns."""
    directory = os.fspath(directory)
    with replacing(os.path.join(directory, MANIFEST)) as f:
        f.write(json.dumps({**meta, "parts": parts}).encode())
    keep = set(parts)
    # an earlier write's part, or the temporary file of a writer that died (a zombie too)
    _unlink(directory, [name for name in os.listdir(directory)
                        if (found := _PART.fullmatch(name)) and name not in keep
                        and (found.group(1) is None or not owner_alive(int(found.group(1)), 0))])


def _unlink(directory: str, names: List[str]) -> None:
    """Remove ``names`` from ``directory``; one already gone (removed by another writer, a
    temporary file renamed meanwhile) is no error."""
    for name in names:
        try:
            os.unlink(os.path.join(directory, name))
        except FileNotFoundError:
            pass


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
