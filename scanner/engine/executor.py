"""Scans spread over any ``concurrent.futures.Executor``: a stdlib pool, or a dask cluster
(``dask.distributed.Client(...).get_executor()``).

The same contract as the local engine: entries in, Arrow tables out, in discovery order.

**Tasks.** The entries (a local walk made here, or object-store listings made by listing
tasks, one per top-level sub-prefix: :func:`list_shards`) are cut into contiguous runs of
about equal *work* (:func:`plan_tasks`): a file costs :data:`FILE_COST` plus the bytes of
its first read (its tail, or its recorded footer), an object :data:`OBJECT_COST` (a
request's latency). There are at least :data:`TASKS_PER_SLOT` tasks per executor slot
(stragglers and retries then cost little), none smaller than :data:`MIN_TASK_COST`.

**On a worker**, a task (:func:`scan_task`) runs the local engine on its entries: with
``processes > 1``, worker processes fed through shared memory (the dask worker's own
process is the coordinator); with 1, the in-process path (one C call per batch of tails,
no shared memory). It returns its rows as Arrow tables: pickled as Arrow IPC buffers, not
as Python objects. A dask worker is a daemonic process, which Python forbids to start
children; the local engine's workers watch their parent and sweep its shared memory when
it dies (:mod:`scanner.engine.local.shm`), which is what the rule protects, so a task
lifts it while its processes start (:func:`_children_allowed`).

**Faults.** A task whose worker dies is run again (dask does so by itself; here, up to
:data:`TASK_ATTEMPTS` submissions in all): its rows are taken from the one run that
finished, so none is lost or doubled. A file that fails is an error row, never a failed
task. A task failing every attempt ends the scan with one :class:`ScanError` naming its
files. Shared memory left by a killed worker is swept by the next scan on that machine.
"""
from __future__ import annotations

import multiprocessing
import pickle
import threading
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from scanner.engine.local.coordinator import default_workers, scan, scan_inline
from scanner.engine.local.shm import TAIL_BYTES
from scanner.engine.results import Tables, completed
from scanner.entries import FileEntry, Selection
from scanner.errors import ScanError

__all__ = ["TaskOptions", "TaskResult", "scan_on", "scan_task", "encode_entries", "decode_entries", "plan_tasks",
           "run_tasks", "executor_shape", "distributed_lister", "list_shards", "list_task", "concat_tables",
           "FILE_COST", "OBJECT_COST", "MIN_TASK_COST", "TASKS_PER_SLOT", "TASK_ATTEMPTS"]

#: A local file's fixed cost, in bytes of reading (open, fstat, pread, close, parse setup).
FILE_COST = 16 * 1024
#: A remote object's cost, in the same unit: a request's round trip (tens of ms) shared by
#: the requests a task keeps in flight (``concurrency``): about 0.5 ms, 50 small local files.
OBJECT_COST = 2**20
#: No task smaller than this (about 3,500 small local files): a task costs a round trip.
MIN_TASK_COST = 64 * 2**20
#: At least this many tasks per slot when the work allows it.
TASKS_PER_SLOT = 4
#: Submissions of a task before the scan gives up on it.
TASK_ATTEMPTS = 3


@dataclass(frozen=True)
class TaskOptions:
    """What every task of a scan is given (picklable)."""

    mode: str
    detail: str
    shm_bytes: int
    storage_options: Optional[Mapping[str, Any]]
    concurrency: int
    processes: int  # worker processes a task may start on its machine (1: parse in the task's process)
    #: writes a task's rows as a part of a partitioned index: (entries, tables, task number) -> part name
    part_writer: Optional[Callable[[List[FileEntry], Tables, int], str]] = None


class TaskResult(NamedTuple):
    """A task's rows (``file_id``: the entry's index within the task), and what fetching
    told of its objects that the listing did not (:func:`scanner.engine.results.completed`)."""

    objects: Dict[int, Tuple[int, int, Optional[str]]]
    tables: Tables
    retried: int
    part: Optional[str]  # the part of a partitioned index it wrote (TaskOptions.part_writer)


_daemon_lock = threading.Lock()
_daemon_users = 0


@contextmanager
def _children_allowed() -> Iterator[None]:
    """Let this process start worker processes even when it is daemonic (a dask worker).

    Python refuses children to daemonic processes because nothing would clean up after
    them when the daemon is killed. The local engine's workers clean up themselves: each
    watches its parent, and sweeps the parent's shared memory when it is gone. Counted,
    so that concurrent tasks in one process restore the flag once, after the last.
    """
    global _daemon_users
    process = multiprocessing.current_process()
    if not process.daemon:
        yield
        return
    with _daemon_lock:
        _daemon_users += 1
        process._config["daemon"] = False  # type: ignore[attr-defined]
    try:
        yield
    finally:
        with _daemon_lock:
            _daemon_users -= 1
            if not _daemon_users:
                process._config["daemon"] = True  # type: ignore[attr-defined]


def scan_task(payload: bytes, options: TaskOptions, hints: Optional[Mapping[str, int]] = None, number: int = 0,
              attempt: int = 1) -> TaskResult:
    """Scan the entries pickled in ``payload`` on this machine (runs on an executor's
    worker; see the module docstring). Never raises for a file: failures are error rows.

    The entries travel as one bytes object (:func:`encode_entries`: cheap for dask to
    hash into the task's key, where a list of tuples is walked item by item); ``attempt``
    numbers a resubmission, so that dask, which names a task after its arguments, runs it
    anew. ``number``: the task's place in the scan (its part's name, when it writes one).
    """
    entries = decode_entries(payload)
    local_only = not any("://" in e.path for e in entries)
    if options.processes <= 1 and local_only:
        results = scan_inline(entries, options.detail, options.mode)
    else:
        with _children_allowed():
            results = scan(entries, workers=options.processes, mode=options.mode, detail=options.detail,
                           shm_bytes=options.shm_bytes, progress=False, storage_options=options.storage_options,
                           concurrency=options.concurrency, hints=hints)
    tables = results.tables()
    part = options.part_writer(results.completed(entries), tables, number) if options.part_writer is not None \
        else None
    return TaskResult(results.objects, tables, results.retried, part)


def encode_entries(entries: Sequence[FileEntry], whole: bool) -> bytes:
    """A task's entries as one bytes object: columns, not tuples (a third of the bytes and
    of the time). What the engine reads (path, size, error) unless ``whole`` (a task that
    writes its part builds catalogue rows from every field)."""
    if whole:
        return pickle.dumps(("whole", list(entries)), protocol=pickle.HIGHEST_PROTOCOL)
    paths = [e.path for e in entries]
    sizes = np.fromiter((e.size for e in entries), dtype=np.int64, count=len(entries))
    errors = {i: (e.error_type, e.error) for i, e in enumerate(entries) if e.error_type is not None}
    return pickle.dumps(("columns", paths, sizes, errors), protocol=pickle.HIGHEST_PROTOCOL)


def decode_entries(payload: bytes) -> List[FileEntry]:
    """:func:`encode_entries`'s entries (fields it left out are unknown: -1, empty)."""
    kind, *parts = pickle.loads(payload)
    if kind == "whole":
        return parts[0]
    paths, sizes, errors = parts
    entries = [FileEntry(path, size) for path, size in zip(paths, sizes.tolist())]
    for i, (error_type, error) in errors.items():
        entries[i] = entries[i]._replace(error_type=error_type, error=error)
    return entries


def _costs(entries: Sequence[FileEntry], hints: Mapping[str, int]) -> np.ndarray:
    """Each entry's work (see the module docstring)."""
    sizes = np.fromiter((e.size for e in entries), dtype=np.int64, count=len(entries))
    costs = FILE_COST + np.minimum(np.maximum(sizes, 0), TAIL_BYTES)
    for i, entry in enumerate(entries):
        if "://" in entry.path:
            costs[i] = OBJECT_COST
        elif hints and entry.path in hints:
            costs[i] = FILE_COST + hints[entry.path] + 8
    return costs


def plan_tasks(entries: Sequence[FileEntry], slots: int, hints: Optional[Mapping[str, int]] = None
               ) -> List[Tuple[int, int]]:
    """Cut ``entries`` into contiguous ``(start, stop)`` runs of about equal work (see the
    module docstring): at least ``TASKS_PER_SLOT * slots`` runs when each still holds
    :data:`MIN_TASK_COST`, else as many as hold it (at least one)."""
    if not entries:
        return []
    costs = _costs(entries, hints or {})
    total = int(costs.sum())
    tasks = max(1, min(TASKS_PER_SLOT * max(1, slots), total // MIN_TASK_COST, len(entries)))
    if tasks == 1:
        return [(0, len(entries))]
    ends = np.cumsum(costs)
    cuts = np.searchsorted(ends, np.arange(1, tasks) * (total / tasks), side="left") + 1
    bounds = [0] + sorted(set(int(c) for c in cuts if 0 < c < len(entries))) + [len(entries)]
    return list(zip(bounds[:-1], bounds[1:]))


def executor_shape(executor: Executor, workers: Optional[int]) -> Tuple[int, int]:
    """``(slots, processes per task)`` of ``executor``: how many tasks run at once, and how
    many worker processes each may start on its machine (``workers`` when given).

    A dask ``ClientExecutor`` is asked for its workers' threads and cores (its per-task
    share: a machine's cores over the task slots on it, the smallest over machines); a
    stdlib pool has ``_max_workers`` slots on this machine; any other executor is taken to
    have one slot per core here.
    """
    client = getattr(executor, "_client", None)
    if client is not None and hasattr(client, "scheduler_info"):
        info = client.scheduler_info(n_workers=-1)["workers"] if _takes_n_workers(client) else \
            client.scheduler_info()["workers"]
        slots = sum(int(w.get("nthreads", 1)) for w in info.values()) or 1
        if workers is not None:
            return slots, workers
        cores = client.run(default_workers)  # address -> cores its process may use
        per_host: Dict[str, int] = {}
        for address, worker in info.items():
            host = worker.get("host", address)
            per_host[host] = per_host.get(host, 0) + int(worker.get("nthreads", 1))
        shares = [max(1, cores.get(address, 1) // per_host[worker.get("host", address)])
                  for address, worker in info.items()]
        return slots, min(shares) if shares else 1
    slots = int(getattr(executor, "_max_workers", 0) or default_workers())
    return slots, workers if workers is not None else max(1, default_workers() // slots)


def _takes_n_workers(client: Any) -> bool:
    import inspect

    try:
        return "n_workers" in inspect.signature(client.scheduler_info).parameters
    except (TypeError, ValueError):  # pragma: no cover
        return False


def run_tasks(executor: Executor, function: Callable[..., Any], arguments: Iterable[Tuple[Any, ...]],
              describe: Callable[[int], str], on_done: Optional[Callable[[int, Any], None]] = None) -> List[Any]:
    """``function(*arguments[i], attempt)`` for every ``i`` on ``executor``; the results
    in order (``attempt``: 1, then 2... for a resubmission).

    ``arguments`` may be a generator (a walk still going on): each task is submitted as
    its arguments come. A task that raises is submitted again, up to
    :data:`TASK_ATTEMPTS` times in all; the scan then stops with a :class:`ScanError`
    naming ``describe(i)`` and the last error. ``on_done(i, result)`` is called as each
    task completes (progress). On any exception (Ctrl-C included) the tasks not yet
    started are cancelled.
    """
    from concurrent.futures import FIRST_COMPLETED, wait

    submitted: List[Tuple[Any, ...]] = []
    attempts: List[int] = []
    pending: Dict[Future, int] = {}
    results: List[Any] = []

    def settle(future: Future) -> None:
        i = pending.pop(future)
        try:
            results[i] = future.result()
        except Exception as exc:  # the task failed as a whole (its worker died...)
            if attempts[i] >= TASK_ATTEMPTS:
                raise ScanError(f"task {i + 1} of {len(submitted)} ({describe(i)}) failed {attempts[i]} times; "
                                f"last: {type(exc).__name__}: {exc}") from None
            attempts[i] += 1
            pending[executor.submit(function, *submitted[i], attempts[i])] = i
            return
        if on_done is not None:
            on_done(i, results[i])

    try:
        for args in arguments:
            pending[executor.submit(function, *args, 1)] = len(submitted)
            submitted.append(args)
            attempts.append(1)
            results.append(None)
            for future in [f for f in pending if f.done()]:
                settle(future)
        while pending:
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for future in done:
                settle(future)
    finally:
        for future in pending:
            future.cancel()
    return results


def concat_tables(parts: Sequence[Tables], counts: Sequence[int]) -> Tables:
    """Tasks' tables as one, ``file_id`` made global (task ``k``'s ids offset by the files
    of the tasks before it)."""
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64) if counts else []
    out = []
    for name in Tables._fields:
        tables = []
        for offset, part in zip(offsets, parts):
            table = getattr(part, name)
            position = table.column_names.index("file_id")
            shifted = pc.add(table.column("file_id"), pa.scalar(int(offset), pa.int64()))
            tables.append(table.set_column(position, "file_id", shifted))
        out.append(pa.concat_tables(tables, promote_options="permissive") if tables else None)
    return Tables(*out)


def list_shards(url: str, storage_options: Optional[Mapping[str, Any]]) -> Tuple[List[str], bool]:
    """The top level of an object-store prefix: its sub-prefixes (each listed by a task:
    :func:`list_task`), in key order, and whether objects lie directly in it."""
    from scanner.sources.objectstore import filesystem_for

    fs, root = filesystem_for(url, storage_options)
    root = root.rstrip("/")
    try:
        top = fs.ls(root, detail=True)
    except Exception:  # the listing's own error, with its message, comes from list_url
        return [], True
    shards = sorted(info["name"].rstrip("/")[len(root) + 1:] for info in top
                    if info.get("type") == "directory" and info["name"].rstrip("/") != root)
    return shards, any(info.get("type", "file") == "file" for info in top)


def list_task(url: str, shard: str, storage_options: Optional[Mapping[str, Any]], selection: Selection,
              top_only: bool, attempt: int = 1) -> Tuple[List[FileEntry], Dict[str, int]]:
    """The entries of one shard of ``url`` (a sub-prefix, or with ``top_only`` the objects
    directly in it), and the files its selection skipped."""
    from scanner.sources.objectstore import list_url

    selection = Selection(selection.include, selection.exclude, ignore=selection.ignore)
    entries = list_url(url, storage_options, selection, shard=shard, top_only=top_only)
    return entries, dict(selection.skipped)


def distributed_lister(executor: Executor) -> Callable[[str, Optional[Mapping[str, Any]], Selection], List[FileEntry]]:
    """A lister (:func:`scanner.sources.iter_entries`'s ``list_remote``) that lists an
    object-store prefix on ``executor``: one task per top-level sub-prefix, one for the
    objects directly in it; the entries merged in key order, as one listing gives them."""
    from scanner.sources.objectstore import list_url

    def list_remote(url: str, storage_options: Optional[Mapping[str, Any]], selection: Selection) -> List[FileEntry]:
        if url.startswith(("http://", "https://")):
            return list_url(url, storage_options, selection)
        shards, objects_on_top = list_shards(url, storage_options)
        if not shards:  # nothing to spread (or the listing fails: list_url says why)
            return list_url(url, storage_options, selection)
        units = [(url, shard, storage_options, selection, False) for shard in shards] + \
            ([(url, "", storage_options, selection, True)] if objects_on_top else [])
        listed = run_tasks(executor, list_task, units, lambda i: f"listing {url} {units[i][1] or '(top level)'}")
        entries: List[FileEntry] = []
        for found, skipped in listed:
            entries += found
            for reason, count in skipped.items():
                selection.skipped[reason] = selection.skipped.get(reason, 0) + count
        return sorted(entries, key=lambda entry: entry.path)

    return list_remote


def scan_on(executor: Executor, entries: Iterable[FileEntry], options: TaskOptions, slots: int,
            hints: Optional[Mapping[str, int]] = None, progress: Optional[bool] = None
            ) -> Tuple[List[FileEntry], Tables, int, List[str]]:
    """Scan ``entries`` in tasks on ``executor`` (``slots`` at once); the entries as
    completed, the rows (``file_id``: the entry's index), the files retried and the parts
    the tasks wrote (``options.part_writer``), in order.

    ``entries`` as a list are cut by :func:`plan_tasks`; as an iterator (a local walk still
    going on) into tasks of :data:`MIN_TASK_COST` as they come, each submitted at once, so
    that the workers parse while the walk goes on.
    """
    from scanner.engine.local.coordinator import progress_bar

    seen: List[FileEntry] = []
    bounds: List[Tuple[int, int]] = []
    whole = options.part_writer is not None

    def tasks() -> Iterator[Tuple[Any, ...]]:
        for chunk in _chunks(entries, slots, hints):
            start = len(seen)
            seen.extend(chunk)
            bounds.append((start, len(seen)))
            bar.total = max(bar.total or 0, len(seen))
            yield encode_entries(chunk, whole), options, _hints_of(chunk, hints), len(bounds) - 1

    def describe(i: int) -> str:
        start, stop = bounds[i]
        return f"{stop - start:,} files, {seen[start].path} to {seen[stop - 1].path}"

    with progress_bar(len(entries) if isinstance(entries, list) else None, progress) as bar:
        done = run_tasks(executor, scan_task, tasks(), describe,
                         lambda i, result: bar.update(bounds[i][1] - bounds[i][0]))
    objects = {start + file_id: told for (start, _), result in zip(bounds, done) for file_id, told in
               result.objects.items()}
    tables = concat_tables([result.tables for result in done], [stop - start for start, stop in bounds])
    return completed(seen, objects), tables, sum(result.retried for result in done), \
        [r.part for r in done if r.part]


def _chunks(entries: Iterable[FileEntry], slots: int, hints: Optional[Mapping[str, int]]
            ) -> Iterator[List[FileEntry]]:
    """The entries of each task (see :func:`scan_on`)."""
    if isinstance(entries, list):
        for start, stop in plan_tasks(entries, slots, hints):
            yield entries[start:stop]
        return
    chunk: List[FileEntry] = []
    cost = 0
    for entry in entries:
        chunk.append(entry)
        cost += FILE_COST + min(max(entry.size, 0), TAIL_BYTES)
        if cost >= MIN_TASK_COST:
            yield chunk
            chunk, cost = [], 0
    if chunk:
        yield chunk


def _hints_of(entries: Sequence[FileEntry], hints: Optional[Mapping[str, int]]) -> Optional[Dict[str, int]]:
    """The hints of a task's own objects (a task carries only those)."""
    if not hints:
        return None
    return {e.path: hints[e.path] for e in entries if e.path in hints}
