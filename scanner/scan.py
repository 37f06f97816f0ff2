"""The entry points: discover, scan with an engine, build the catalogue.

:func:`build_catalogue` runs the whole data flow (see the package docstring);
:func:`scan_file` catalogues one file or object in this process.
"""
from __future__ import annotations

import os
import secrets
import time
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import pyarrow as pa
import pyarrow.parquet as pq

from rugo.remote import is_url
from scanner.catalogue import Catalogue
from scanner.catalogue.frames import partition_columns
from scanner.catalogue.index import index_metadata, metadata_of, part_name, remove_parts
from scanner.engine.batches import parse
from scanner.engine.executor import TaskOptions, distributed_lister, executor_shape, scan_on
from scanner.engine.local.coordinator import check_options, scan, scan_inline
from scanner.engine.local.shm import DEFAULT_CAP_BYTES
from scanner.engine.results import Results, Tables
from scanner.entries import FileEntry, Selection
from scanner.errors import ScanError
from scanner.incremental import IDENTITY, Rescan, Split, merge, normalized_roots, plan
from scanner.sources import discover, iter_entries
from scanner.sources.feed import Feed
from scanner.sources.objectstore import DEFAULT_CONCURRENCY, Failed, fetch_one, footer_hints, is_remote

__all__ = ["build_catalogue", "scan_file"]

PathLike = Union[str, "os.PathLike[str]"]


def build_catalogue(paths: Union[PathLike, Sequence[PathLike]], *, workers: Optional[int] = None,
                    mode: str = "tail", detail: str = "columns", progress: Optional[bool] = None,
                    shm_bytes: int = DEFAULT_CAP_BYTES, storage_options: Optional[Dict[str, Any]] = None,
                    concurrency: int = DEFAULT_CONCURRENCY,
                    index_hints: Union[PathLike, "Catalogue", None] = None,
                    include: Sequence[str] = (), exclude: Sequence[str] = (),
                    ignore: Sequence[PathLike] = (), missing_ok: bool = False,
                    previous: Union[PathLike, "Catalogue", None] = None,
                    executor: Optional[Executor] = None, parts_dir: Optional[PathLike] = None) -> Catalogue:
    """Catalogue every file below ``paths``.

    Parameters
    ----------
    paths : path, URL or sequence of them
        Directories (walked recursively) and files; prefixes of object stores
        (``s3://bucket/prefix/``, ``gs://...``: listed with fsspec) and HTTP(S) URLs of
        objects.
    workers : int, optional
        Worker processes; default: the cores this process may use, or none for a small
        scan (at most 1 MiB of first reads: parsed in this process; see the README).
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
    previous : path or Catalogue, optional
        An earlier catalogue (or its index) of the same roots: an incremental rescan reads
        only the files added or changed since (and those that failed), and takes the rows
        of the others from it (:mod:`scanner.incremental`). An index of other roots, of a
        lesser detail or of an older format, or a path that is not there, makes it a full
        scan; ``rescan.reason`` says why.

    executor : concurrent.futures.Executor, optional
        Scan in tasks on it (a stdlib pool, or ``dask.distributed.Client(...).get_executor()``
        for a cluster; :mod:`scanner.engine.executor`): the entries are cut into tasks by
        work, each task runs this engine on its machine (``workers``: the worker processes
        each task may start there; default: that machine's cores over its task slots), and
        object-store prefixes are listed in tasks too. Local paths must be readable by the
        executor's workers at the same path. The catalogue equals a local scan's.
    parts_dir : path, optional
        With ``executor``: each task also writes its rows as one part of a partitioned
        index in this directory (a full scan; a rescan leaves the writing to
        :meth:`Catalogue.write`), and ``catalogue.write(parts_dir)`` then only writes the
        manifest that makes them the index.

    Returns
    -------
    Catalogue
        With ``skipped``: the number of files not scanned, by reason; ``rescan``: what a
        rescan against ``previous`` did (:class:`scanner.incremental.Rescan`).

    Raises
    ------
    ScanError
        A path does not exist, ``/dev/shm`` has no room, or workers cannot start; a
        prefix cannot be listed (wrong endpoint, denied credentials, missing bucket), a
        host cannot be reached, or ``index_hints`` is not an index.
    """
    started = time.perf_counter()
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    check_options(workers, mode, detail, shm_bytes, concurrency)
    roots = normalized_roots(paths)
    earlier, identity, rescan = _previous(previous, roots, detail)
    split = Split(identity) if identity is not None else None
    selection = Selection(include, exclude, ignore=[os.path.abspath(os.fspath(p)) for p in ignore])
    parts: Optional[Tuple[str, List[str]]] = None
    writer: Optional[_PartWriter] = None
    try:
        if executor is not None:
            writer = _PartWriter(os.fspath(parts_dir), detail, roots, run=secrets.token_hex(4)) \
                if parts_dir is not None and split is None else None
            entries, tables, retried, parts = _scan_on(executor, paths, workers, mode, detail, shm_bytes, progress,
                                                       storage_options, concurrency, index_hints, selection,
                                                       missing_ok, split, writer)
        else:
            entries, tables, retried = _scan_here(paths, workers, mode, detail, shm_bytes, progress,
                                                  storage_options, concurrency, index_hints, selection, missing_ok,
                                                  split)
        if isinstance(earlier, Future):  # read on a thread while the lake was walked and scanned
            earlier = earlier.result()
    except BaseException:
        if writer is not None:  # the parts the tasks wrote: no manifest will list them
            remove_parts(writer.directory, writer.run)
        raise
    finally:
        if isinstance(earlier, Future):
            earlier.cancel()
    if split is None:
        catalogue = Catalogue.from_tables(entries, tables, detail, selection.skipped, retried)
    else:
        catalogue = _merged(split, entries, earlier, tables, retried, detail, selection.skipped)
    catalogue = catalogue._without_indexes()
    catalogue.roots = roots
    catalogue.written_parts = parts
    seconds = time.perf_counter() - started
    if split is None:
        catalogue.seconds_per_file = seconds / max(1, len(entries))
    else:
        _account(rescan, split, identity, earlier, catalogue, len(entries))
    if rescan is not None:
        rescan.seconds = seconds
        if split is not None:
            rescan.estimate_saving(earlier.seconds_per_file, len(split.entries))
    catalogue.rescan = rescan
    return catalogue


def _scan_here(paths: Sequence[PathLike], workers: Optional[int], mode: str, detail: str, shm_bytes: int,
               progress: Optional[bool], storage_options: Optional[Dict[str, Any]], concurrency: int,
               index_hints: Union[PathLike, Catalogue, None], selection: Selection, missing_ok: bool,
               split: Optional[Split]) -> Tuple[List[FileEntry], Tables, int]:
    """The local engine: the entries as scanned, the rows and the files retried."""
    if any(is_url(os.fspath(p)) for p in paths):
        # listings come whole (paged by fsspec); the hints of an earlier index need them all
        listed = discover(paths, storage_options, selection, missing_ok)
        feed = Feed.of(split.filter(listed) if split is not None else listed)
        hints = footer_hints(feed.entries, index_hints) if index_hints is not None else None
    else:  # the walk goes on on a thread while the first files are read and parsed
        walk = iter_entries(paths, storage_options, selection, missing_ok)
        feed, hints = Feed(split.filter(walk) if split is not None else walk), None
    try:
        results = scan(feed, workers=workers, mode=mode, detail=detail, shm_bytes=shm_bytes, progress=progress,
                       storage_options=storage_options, concurrency=concurrency, hints=hints)
        return results.completed(feed.wait()), results.tables(), results.retried
    finally:
        feed.close()


def _scan_on(executor: Executor, paths: Sequence[PathLike], workers: Optional[int], mode: str, detail: str,
             shm_bytes: int, progress: Optional[bool], storage_options: Optional[Dict[str, Any]], concurrency: int,
             index_hints: Union[PathLike, Catalogue, None], selection: Selection, missing_ok: bool,
             split: Optional[Split], writer: Optional["_PartWriter"]
             ) -> Tuple[List[FileEntry], Tables, int, Optional[Tuple[str, List[str]]]]:
    """:func:`_scan_here` in tasks on ``executor`` (:mod:`scanner.engine.executor`): local
    trees walked here, object-store prefixes listed in tasks; with ``writer``, the parts
    of a partitioned index the tasks wrote too."""
    slots, processes = executor_shape(executor, workers)
    if any(is_url(os.fspath(p)) for p in paths):  # listed in tasks, whole: then cut by work, with hints
        listed = discover(paths, storage_options, selection, missing_ok, list_remote=distributed_lister(executor))
        entries: Any = list(split.filter(listed)) if split is not None else listed
        hints = footer_hints(entries, index_hints) if index_hints is not None else None
    else:  # walked here, tasks submitted as the walk goes on
        walk = iter_entries(paths, storage_options, selection, missing_ok)
        entries, hints = split.filter(walk) if split is not None else walk, None
    if writer is not None:
        if not isinstance(entries, list):  # every part holds every partition key: the keys first
            entries = list(entries)
        os.makedirs(writer.directory, exist_ok=True)
        writer = writer._replace(keys=tuple(partition_columns(entries)))
    options = TaskOptions(mode, detail, shm_bytes, storage_options, concurrency, processes, writer)
    completed, tables, retried, parts = scan_on(executor, entries, options, slots, hints, progress)
    if not completed:  # nothing to scan: the local engine's empty tables
        return (*_scan_here([], workers, mode, detail, shm_bytes, progress, storage_options, concurrency, None,
                            selection, missing_ok, None), None)
    return completed, tables, retried, (writer.directory, parts) if writer is not None else None


class _PartWriter(NamedTuple):
    """Writes a task's rows as a part of a partitioned index (picklable: runs in the task)."""

    directory: str
    detail: str
    roots: Sequence[str]
    keys: Tuple[str, ...] = ()
    run: str = ""

    def __call__(self, entries: List[FileEntry], tables: Tables, number: int) -> str:
        catalogue = Catalogue.from_tables(entries, tables, self.detail, keys=self.keys)._without_indexes()
        catalogue.roots = list(self.roots)
        name = part_name(self.run, number)
        catalogue.write_part(self.directory, name)
        return name


def _account(rescan: Rescan, split: Split, identity: pa.Table, earlier: Catalogue, catalogue: Catalogue,
             scanned: int) -> None:
    """Fill in what a rescan did (counts, the files added, changed and removed)."""
    rescan.added, rescan.changed, rescan.retried = split.added, split.changed, split.retried
    removed = split.removed(identity.column("file_name"))
    rescan.removed, rescan.reused = len(removed), len(split.entries) - scanned
    rescan.changes = split.changes + [(name, "removed") for name in removed]
    rescan.unchanged = not (rescan.added or rescan.changed or rescan.removed or rescan.retried) and \
        (catalogue.detail, catalogue.skipped) == (earlier.detail, earlier.skipped)
    catalogue.seconds_per_file = earlier.seconds_per_file  # a full scan's, passed on


def _previous(previous: Union[PathLike, Catalogue, None], roots: Sequence[str], detail: str
              ) -> Tuple[Union[Catalogue, "Future[Catalogue]", None], Optional[pa.Table], Optional[Rescan]]:
    """The earlier catalogue a rescan may reuse (None: a full scan; from a path, a future:
    the index is read on a thread while the lake is walked and scanned), the identity of
    its files (:data:`~scanner.incremental.IDENTITY`), and the rescan's report."""
    if previous is None:
        return None, None, None
    if isinstance(previous, Catalogue):
        reason = plan(previous.index_format, previous.roots, previous.detail, roots, detail)
        if reason:
            return None, None, Rescan(previous.path, reason)
        return previous, previous._current()["files"], Rescan(previous.path)
    name = os.fspath(previous)
    missing = Rescan(name, f"no earlier index at {name}: full scan")
    if os.path.isdir(name):  # a partitioned index: read whole, then as a catalogue
        meta = index_metadata(name)
        if meta is None:
            return None, None, missing
        reason = plan(meta.get("format"), meta.get("roots") or [], meta["detail"], roots, detail)
        if reason:
            return None, None, Rescan(name, reason)
        earlier = Catalogue.read(name)
        return earlier, earlier._current()["files"], Rescan(name)
    try:  # one handle for every read: a scan replacing the index meanwhile cannot mix two of them
        source = pa.OSFile(name)
    except OSError:
        return None, None, missing
    try:
        parquet = pq.ParquetFile(source)
        meta = metadata_of(parquet.schema_arrow)
    except Exception:  # not Parquet, or its index metadata is not JSON
        meta = None
    if meta is None:
        source.close()
        return None, None, missing
    reason = plan(meta.get("format"), meta.get("roots") or [], meta["detail"], roots, detail)
    if reason:
        source.close()
        return None, None, Rescan(name, reason)
    identity = parquet.read(columns=IDENTITY, use_threads=False)

    def read_all() -> Catalogue:
        with source:
            return Catalogue.read_parquet(parquet, name)

    reader = ThreadPoolExecutor(1, thread_name_prefix="rugo-earlier-index")
    future = reader.submit(read_all)
    reader.shutdown(wait=False)
    return future, identity, Rescan(name)


def _merged(split: Split, scanned_entries: Sequence[Any], earlier: Catalogue, tables: Tables, retried: int,
            detail: str, skipped: Dict[str, int]) -> Catalogue:
    """The catalogue of a rescan: the earlier rows of reused files, new rows of the rest.

    A reused file's listed columns (path, size, times, partitions) are those of its earlier
    row (it is reused because they match), so whole ``files`` rows are spliced and only the
    scanned files' are made from their entries; unless a scanned file brings a partition
    key the earlier catalogue does not have: then every row is made from the entries.
    """
    keys = earlier.partition_columns
    if set(partition_columns(scanned_entries)) <= set(keys):
        scanned = Catalogue.from_tables(scanned_entries, tables, detail, keys=keys)._current()
        files, columns, row_groups = merge(split, earlier._current(), scanned, detail, whole_files=True)
        return Catalogue._of_parts(files, columns, row_groups, detail, keys, skipped, retried)
    entries = list(split.entries)
    for position, entry in zip((i for i, row in enumerate(split.reused_rows) if row < 0), scanned_entries):
        entries[position] = entry  # as fetching completed it (HTTP objects' sizes)
    files, columns, row_groups = merge(split, earlier._current(), tables._asdict(), detail)
    files = files.add_column(0, "file_id", pa.array(range(len(entries)), pa.int64()))
    return Catalogue.from_tables(entries, Tables(files, columns, row_groups), detail, skipped, retried)


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
    if entry.error_type is None and is_remote(entry.path):
        results = Results(1)
        outcome = fetch_one(entry, storage_options)
        if isinstance(outcome, Failed):
            results.add_error(0, outcome.error_type, outcome.error)
        else:
            results.add_object(0, outcome.size, outcome.mtime_ns, outcome.etag)
            results.add_batch([0], parse(outcome.tail, [(0, len(outcome.tail))], detail))
    else:
        results = scan_inline(entries, detail, mode)
    return Catalogue.from_results(entries, results, detail)
