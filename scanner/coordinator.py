"""Coordinator: batches files into shared memory, feeds the workers, collects their results.

One process (the caller's) does all file I/O and owns every shared memory block. It keeps
each worker busy with up to :data:`DEPTH` batches (one parsing, one waiting, so a worker
never idles while the coordinator reads), collects the columnar results into
:class:`ScanResults`, shows progress, and recovers from dead workers:

* a worker that dies costs only its in-flight batches: the one it was parsing is retried
  one file at a time, the ones it had not started go back to the queue;
* a file that kills a worker twice becomes an error row (``WorkerCrashed``);
* a dead worker is replaced, and the scan goes on.

Remote objects (URLs) are fetched by a :class:`~scanner.remote.Fetcher` on threads of
this process, a bounded window ahead; the coordinator waits on it as on the worker pipes,
copies each fetched tail into a block like a local file's tail, and keeps it until the
batch is parsed (a batch lost with a dead worker is retried without fetching again).

Workers are started with ``spawn``, deliberately: ``fork`` would copy the caller's whole
heap and its threads' locks (pyarrow's and duckdb's thread pools, tqdm's monitor), which
can deadlock the child; ``forkserver`` would keep an extra server process around. Spawned
workers start clean, the same way on every platform, and only once per scan, since they
are long-lived.
"""
from __future__ import annotations

import math
import multiprocessing
import os
import signal
import sys
import threading
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from typing import Any, Deque, Dict, Iterator, List, Mapping, Optional, Sequence, Set, Tuple

from tqdm import tqdm

from scanner.entries import FileEntry
from scanner.errors import TOO_LARGE, WORKER_CRASHED, ScanError
from scanner.remote import DEFAULT_CONCURRENCY, Failed, Fetched, Fetcher, Job, is_remote
from scanner.shm import (DEFAULT_CAP_BYTES, MODES, TAIL_BYTES, Block, Load, Slab, first_read_size, load_bytes,
                         load_file, run_uninterrupted, signals_deferred)
from scanner.worker import COLUMN_FIELDS, DETAILS, FILE_FIELDS, ROW_GROUP_FIELDS, Columns, worker_main

__all__ = ["ScanResults", "scan", "default_workers", "DEPTH", "MAX_BATCH_FILES"]

#: Batches in flight per worker.
DEPTH = 2
#: Most files in one batch.
MAX_BATCH_FILES = 256
#: Batches per worker to aim for, so that workers finish close together.
_BATCHES_PER_WORKER = 8
#: Workers that may die before saying "ready" before the scan gives up.
_MAX_FAILED_STARTS = 3
#: Seconds to wait for workers to stop.
_STOP_TIMEOUT = 5.0


def default_workers() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class ScanResults:
    """Columnar results of a scan, in discovery order for ``files``.

    ``files`` has one slot per discovered file (:data:`~scanner.worker.FILE_FIELDS`);
    ``columns`` and ``row_groups`` grow in arrival order, each row naming its file by
    ``file_id`` (the index into the discovered files).
    """

    def __init__(self, count: int) -> None:
        self.files: Columns = {f: [None] * count for f in FILE_FIELDS}
        self.columns: Columns = _rows_table(COLUMN_FIELDS)
        self.row_groups: Columns = _rows_table(ROW_GROUP_FIELDS)
        self.remaining = count
        #: files parsed again because a worker died while parsing them
        self.retried = 0
        #: file id -> (size, mtime_ns, etag) a remote answer told (HTTP has no listing)
        self.objects: Dict[int, Tuple[int, int, Optional[str]]] = {}

    def add_batch(self, file_ids: Sequence[int], tables: Dict[str, Columns]) -> None:
        """Store a worker's tables for the files ``file_ids`` (in batch order)."""
        for name, values in tables["files"].items():
            column = self.files[name]
            for file_id, value in zip(file_ids, values):
                column[file_id] = value
        for target, rows in ((self.columns, tables["columns"]), (self.row_groups, tables["row_groups"])):
            target["file_id"].extend(file_ids[pos] for pos in rows["file_pos"])
            for name, values in rows.items():
                if name != "file_pos":
                    target[name].extend(values)
        self.remaining -= len(file_ids)

    def add_error(self, file_id: int, error_type: str, error: str) -> None:
        """Record that file ``file_id`` failed before any worker saw it."""
        self.files["error_type"][file_id] = error_type
        self.files["error"][file_id] = error
        self.remaining -= 1

    def add_object(self, file_id: int, fetched: Fetched) -> None:
        """Record what fetching a remote object's tail told about it (size, mtime, ETag)."""
        if fetched.size >= 0 or fetched.mtime_ns >= 0 or fetched.etag is not None:
            self.objects[file_id] = (fetched.size, fetched.mtime_ns, fetched.etag)

    def completed(self, entries: Sequence[FileEntry]) -> List[FileEntry]:
        """``entries`` with what the fetches told where the listing did not say."""
        done = list(entries)
        for file_id, (size, mtime_ns, etag) in self.objects.items():
            entry = done[file_id]
            done[file_id] = entry._replace(size=entry.size if entry.size >= 0 else size,
                                           mtime_ns=entry.mtime_ns if entry.mtime_ns >= 0 else mtime_ns,
                                           etag=entry.etag if entry.etag is not None else etag)
        return done


def _rows_table(fields: Sequence[str]) -> Columns:
    return {"file_id": [], **{f: [] for f in fields if f != "file_pos"}}


@dataclass
class _Batch:
    batch_id: int
    block: Block
    file_ids: List[int]
    spans: List[Tuple[int, int]]
    single: bool  # a retry of one file after a worker died


@dataclass
class _Worker:
    process: Any
    conn: Any
    in_flight: Deque[_Batch] = field(default_factory=deque)
    attached: Set[str] = field(default_factory=set)
    ready: bool = False


class _Pool:
    """Long-lived spawned workers, each on its own pipe so the coordinator knows exactly
    which batches a dead worker took with it."""

    def __init__(self, detail: str) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._detail = detail
        self.workers: List[_Worker] = []

    def spawn(self) -> _Worker:
        """Start one more worker.

        It is in :attr:`workers` before it starts, so that :meth:`close` stops it whatever
        interrupts us; SIGTERM is held back while it starts (SIGINT is ignored then: see
        :func:`_sigint_ignored`).
        """
        parent, child = self._context.Pipe()
        process = self._context.Process(target=worker_main, args=(child, self._detail),
                                        name="rugo-scanner-worker", daemon=True)
        worker = _Worker(process, parent)
        self.workers.append(worker)
        with signals_deferred(), _sigint_ignored(), _main_module_hidden():
            process.start()
        child.close()
        return worker
    def remove(self, worker: _Worker) -> None:
        """Forget a dead worker and reap its process."""
        self.workers.remove(worker)
        worker.conn.close()
        worker.process.join(_STOP_TIMEOUT)

    def waitables(self) -> List[Any]:
        """Pipes and process sentinels to wait on."""
        return [w.conn for w in self.workers] + [w.process.sentinel for w in self.workers]

    def close(self, graceful: bool) -> None:
        """Stop every worker: ask politely after a finished scan, terminate otherwise.

        Ctrl-C or SIGTERM arriving meanwhile waits until every worker is reaped.
        """
        run_uninterrupted(lambda: self._stop_all(graceful))

    def _stop_all(self, graceful: bool) -> None:
        # idempotent: a worker leaves the list only once it is reaped and its pipe closed
        started = [w for w in self.workers if w.process.pid is not None]
        for worker in started:
            if graceful:
                try:
                    worker.conn.send(None)
                except OSError:
                    pass
            else:
                worker.process.terminate()
        for worker in started:
            _reap(worker.process)
        while self.workers:
            self.workers[-1].conn.close()
            self.workers.pop()


def _reap(process: Any) -> None:
    """Wait for a worker that should be ending; kill it if it does not."""
    process.join(_STOP_TIMEOUT)
    if process.is_alive():
        process.kill()
        process.join()


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Start children with SIGINT ignored (kept across exec) until they ignore it themselves.

    A Ctrl-C reaches every process of the terminal's process group; a worker that is still
    importing would die of it with a traceback. Only the main thread may change handlers.
    A Ctrl-C in these few milliseconds is lost for the parent too; one more press works.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Start children without telling them the caller's ``__main__``.

    ``spawn`` re-runs the parent's main script in every child (as ``__mp_main__``) so
    that functions defined there can be unpickled. Workers need nothing from it: their
    target lives in :mod:`scanner.worker`. Hiding it saves each worker the script's
    imports (pandas, duckdb, ... half a second or more) and lets scripts without an
    ``if __name__ == "__main__"`` guard, and notebooks, call the scanner.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    saved = {name: main.__dict__[name] for name in ("__spec__", "__file__") if name in main.__dict__}
    main.__spec__ = None
    main.__dict__.pop("__file__", None)
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)


def _describe_exit(code: Optional[int]) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class _Scan:
    """State of one running scan: queues, slab, pool, progress bar and results."""

    def __init__(self, entries: Sequence[FileEntry], results: ScanResults, slab: Slab, pool: _Pool,
                 bar: Any, mode: str, batch_files: int, fetcher: Optional[Fetcher] = None) -> None:
        self.entries = entries
        self.results = results
        self.slab = slab
        self.pool = pool
        self.bar = bar
        self.mode = mode
        self.batch_files = batch_files
        self.todo: Deque[int] = deque()
        self.retry: Deque[int] = deque()
        self.attempts: Dict[int, int] = {}
        self.first_read: Dict[int, int] = {}
        self.failed_starts = 0
        self._batch_ids = iter(range(sys.maxsize))
        self.fetcher = fetcher
        #: file id -> fetched tail of a remote object, kept until its batch is parsed
        self.tails: Dict[int, bytes] = {}

    def run(self) -> None:
        """Scan until every file has a result."""
        while self.results.remaining:
            self._collect_fetched()
            self._dispatch()
            if not self.results.remaining:
                break
            fetching = self.fetcher is not None and self.fetcher.pending > 0
            if not any(w.in_flight for w in self.pool.workers) and not (self.todo or self.retry or fetching):
                raise RuntimeError(f"scanner bug: {self.results.remaining} files have no result "
                                   "and none is queued")
            waitables = self.pool.waitables() + ([self.fetcher] if fetching else [])
            for worker in self._ready_workers(wait(waitables, timeout=1.0)):
                self._service(worker)

    def _collect_fetched(self) -> None:
        """Queue the remote tails fetched meanwhile; failed fetches become error rows."""
        if self.fetcher is None:
            return
        for file_id, outcome in self.fetcher.take():
            if isinstance(outcome, Failed):
                self._fail(file_id, outcome.error_type, outcome.error)
            else:
                self.tails[file_id] = outcome.tail
                self.results.add_object(file_id, outcome)
                self.todo.append(file_id)

    # -- sending

    def _dispatch(self) -> None:
        for worker in list(self.pool.workers):
            while len(worker.in_flight) < DEPTH:
                batch = self._next_batch()
                if batch is None:
                    return
                self._send(worker, batch)

    def _send(self, worker: _Worker, batch: _Batch) -> None:
        drop = sorted(worker.attached - self.slab.live_names())
        worker.attached.difference_update(drop)
        worker.attached.add(batch.block.name)
        worker.in_flight.append(batch)
        try:
            worker.conn.send((batch.batch_id, batch.block.name, batch.spans, drop))
        except OSError:
            self._on_death(worker)

    def _next_batch(self) -> Optional[_Batch]:
        """Fill a block with the next files; ``None`` when nothing is queued or no block is free."""
        source, limit = (self.retry, 1) if self.retry else (self.todo, self.batch_files)
        while source:
            block = self.slab.acquire(self._first_read(source[0]))
            if block is None:
                return None
            file_ids, spans = self._fill(block, source, limit)
            if file_ids:
                return _Batch(next(self._batch_ids), block, file_ids, spans, single=limit == 1)
            self.slab.release(block)
        return None

    def _first_read(self, file_id: int) -> int:
        tail = self.tails.get(file_id)
        if tail is not None:
            return first_read_size(len(tail), first_read=self.first_read.get(file_id, 0))
        return first_read_size(self.entries[file_id].size, mode=self.mode,
                               full_limit=self.slab.block_bytes,
                               first_read=self.first_read.get(file_id, 0))

    def _load(self, file_id: int, region: memoryview) -> Load:
        """Copy a file's tail (read now, or a remote object's fetched earlier) into ``region``."""
        tail = self.tails.get(file_id)
        if tail is not None:
            return load_bytes(tail, region)
        entry = self.entries[file_id]
        return load_file(entry.path, entry.size, region, mode=self.mode, full_limit=self.slab.block_bytes,
                         first_read=self.first_read.get(file_id, 0))

    def _fill(self, block: Block, source: Deque[int], limit: int) -> Tuple[List[int], List[Tuple[int, int]]]:
        """Copy files from the head of ``source`` into ``block`` until it or ``limit`` is full."""
        file_ids: List[int] = []
        spans: List[Tuple[int, int]] = []
        offset = 0
        while source and len(file_ids) < limit:
            file_id = source[0]
            with block.buf[offset:] as region:
                load = self._load(file_id, region)
            if load.need and load.need <= self.slab.cap_bytes:
                self.first_read[file_id] = load.need
                self._grow_blocks(load.need)
                break  # stays at the head of the queue, for a block with room
            source.popleft()
            if self.fetcher is not None:
                self.fetcher.consumed(file_id)  # in shared memory now: the fetcher may go on
            if load.need:
                self._fail(file_id, TOO_LARGE, f"footer and trailer need {load.need} bytes of "
                           f"shared memory, more than the cap of {self.slab.cap_bytes} (--shm-bytes)")
            elif load.error_type:
                self._fail(file_id, load.error_type, load.error or "")
            else:
                file_ids.append(file_id)
                spans.append((offset, offset + load.length))
                offset += load.length
        return file_ids, spans

    def _grow_blocks(self, need: int) -> None:
        """Make new blocks large enough for a batch of footers like this one.

        Blocks start sized for 64 KiB tails; in a lake of wide files every footer is larger,
        and without growing each batch would hold a single file.
        """
        largest = self.slab.cap_bytes // (DEPTH * len(self.pool.workers) or 1)
        self.slab.block_bytes = max(self.slab.block_bytes, min(largest, need * self.batch_files))

    def _fail(self, file_id: int, error_type: str, error: str) -> None:
        self.results.add_error(file_id, error_type, error)
        self.tails.pop(file_id, None)
        self.bar.update(1)

    # -- receiving

    def _ready_workers(self, ready: List[Any]) -> List[_Worker]:
        return [w for w in self.pool.workers if w.conn in ready or w.process.sentinel in ready]

    def _service(self, worker: _Worker) -> None:
        """Take every message a worker has sent; handle its death if it died."""
        try:
            while worker.conn.poll():
                self._on_message(worker, worker.conn.recv())
        except (EOFError, OSError):  # its end of the pipe is closed: it is dying
            _reap(worker.process)
        if not worker.process.is_alive():
            self._on_death(worker)

    def _on_message(self, worker: _Worker, message: Tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "ready":
            worker.ready = True
        elif kind == "done":
            batch = worker.in_flight.popleft()
            if batch.batch_id != message[1]:
                raise RuntimeError(f"scanner bug: batch {message[1]} answered, {batch.batch_id} expected")
            self.results.add_batch(batch.file_ids, message[2])
            self.slab.release(batch.block)
            if self.tails:
                for file_id in batch.file_ids:
                    self.tails.pop(file_id, None)
            self.bar.update(len(batch.file_ids))
        elif kind == "fatal":
            raise ScanError(f"a worker could not start: {message[1]}")

    def _on_death(self, worker: _Worker) -> None:
        """Requeue what a dead worker held, blame the batch it was parsing, replace it."""
        if worker not in self.pool.workers:
            return
        self.pool.remove(worker)
        cause = _describe_exit(worker.process.exitcode)
        if not worker.ready:
            self.failed_starts += 1
            if self.failed_starts >= _MAX_FAILED_STARTS:
                raise ScanError(f"workers keep dying before they start ({cause})")
        for index, batch in enumerate(worker.in_flight):
            self.slab.release(batch.block)
            if index == 0 and worker.ready:
                self._blame(batch, cause)
            else:  # never started: back to where it came from
                (self.retry if batch.single else self.todo).extendleft(reversed(batch.file_ids))
        self.pool.spawn()

    def _blame(self, batch: _Batch, cause: str) -> None:
        for file_id in batch.file_ids:
            self.attempts[file_id] = self.attempts.get(file_id, 0) + 1
            if self.attempts[file_id] >= 2:
                self._fail(file_id, WORKER_CRASHED,
                           f"worker crashed twice while parsing this file ({cause})")
            else:
                self.retry.append(file_id)
                self.results.retried += 1


def scan(entries: Sequence[FileEntry], *, workers: Optional[int] = None, mode: str = "tail",
         detail: str = "columns", shm_bytes: int = DEFAULT_CAP_BYTES,
         progress: Optional[bool] = None, storage_options: Optional[Mapping[str, Any]] = None,
         concurrency: int = DEFAULT_CONCURRENCY, hints: Optional[Mapping[str, int]] = None) -> ScanResults:
    """Parse the footer of every discovered file in worker processes.

    Parameters
    ----------
    entries : sequence of FileEntry
        From :func:`scanner.discover.discover`; entries that already carry an error are
        recorded as error rows without being read. Entries whose path is a URL are
        fetched (always their tail, whatever ``mode`` says).
    workers : int, optional
        Worker processes; default: the cores this process may use. Fewer are started
        when there are too few files to keep them busy.
    mode : {"tail", "full"}
        Copy each file's tail (default) or whole files that fit in a block.
    detail : {"files", "columns", "row_groups"}
        Which tables to fill besides ``files``.
    shm_bytes : int
        Byte cap of the shared memory slab (at least 1 MiB).
    progress : bool, optional
        Show a tqdm bar on stderr; ``None``: only when stderr is a terminal.
    storage_options : mapping, optional
        For the fsspec filesystems of URLs.
    concurrency : int
        Remote requests in flight at once.
    hints : mapping, optional
        URL -> footer length from an earlier index: one exact request for that object.

    Raises
    ------
    ScanError
        No room in ``/dev/shm``, workers that cannot start, or a remote host that cannot
        be reached at all.
    KeyboardInterrupt
        After stopping the workers and unlinking every block.
    """
    _check_options(workers, mode, detail, shm_bytes, concurrency)
    results = ScanResults(len(entries))
    todo = [i for i, e in enumerate(entries) if e.error_type is None]
    remote = [Job(i, entries[i].path, entries[i].size, (hints or {}).get(entries[i].path))
              for i in todo if is_remote(entries[i].path)]
    workers, batch_files, block_bytes = _plan(len(todo), workers or default_workers(), mode, shm_bytes)
    with _progress_bar(len(entries), progress) as bar:
        for i, entry in enumerate(entries):
            if entry.error_type is not None:
                results.add_error(i, entry.error_type, entry.error or "")
                bar.update(1)
        if not todo:
            return results
        with Slab(shm_bytes, block_bytes) as slab, _fetcher(remote, storage_options, concurrency) as fetcher:
            pool = _Pool(detail)
            graceful = False
            try:
                for _ in range(workers):
                    pool.spawn()
                run = _Scan(entries, results, slab, pool, bar, mode, batch_files, fetcher)
                run.todo.extend(i for i in todo if not is_remote(entries[i].path))
                run.run()
                graceful = True
            finally:
                pool.close(graceful)  # before the slab: no worker maps a block once it is unlinked
    return results


def _plan(files: int, workers: int, mode: str, shm_bytes: int) -> Tuple[int, int, int]:
    """Workers to start, files per batch and bytes per block for ``files`` files.

    No more workers than files; about :data:`_BATCHES_PER_WORKER` batches per worker, so
    that they finish close together; blocks that share the slab's cap among the
    :data:`DEPTH` batches in flight per worker, and in ``tail`` mode no larger than the
    batch's tails need (they grow when footers turn out larger).
    """
    workers = max(1, min(workers, files))
    batch_files = max(1, min(MAX_BATCH_FILES, math.ceil(files / (workers * _BATCHES_PER_WORKER))))
    block_bytes = shm_bytes // (DEPTH * workers)
    if mode == "tail":
        block_bytes = min(block_bytes, max(batch_files * TAIL_BYTES, 2**20))
    return workers, batch_files, block_bytes


def _check_options(workers: Optional[int], mode: str, detail: str, shm_bytes: int, concurrency: int) -> None:
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, not {concurrency}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    if detail not in DETAILS:
        raise ValueError(f"detail must be one of {DETAILS}, not {detail!r}")
    if shm_bytes < 2**20:
        raise ValueError(f"shm_bytes must be at least 1 MiB, not {shm_bytes}")


@contextmanager
def _fetcher(jobs: Sequence[Job], storage_options: Optional[Mapping[str, Any]],
             concurrency: int) -> Iterator[Optional[Fetcher]]:
    """A :class:`Fetcher` for the remote objects (fetching starts at once), or ``None``."""
    if not jobs:
        yield None
        return
    fetcher = Fetcher(jobs, storage_options, concurrency)
    try:
        yield fetcher
    finally:
        fetcher.close()


@contextmanager
def _progress_bar(total: int, progress: Optional[bool]) -> Iterator[Any]:
    bar = tqdm(total=total, unit="file", file=sys.stderr, dynamic_ncols=True,
               disable=None if progress is None else not progress)
    try:
        yield bar
    finally:
        bar.close()
