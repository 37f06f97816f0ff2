"""Coordinator: fills shared memory blocks with file tails, feeds the workers, collects batches.

One process (the caller's) does all file I/O and owns every shared memory block. Filling
a block is one C call per batch (``rugo._footer.load_tails``: open, ``pread`` of the
tail, an exact second read for a larger footer, all without the GIL); each worker gets
up to :data:`DEPTH` batches (one parsing, one waiting, so a worker never idles while the
coordinator reads); what comes back is one columnar batch per block
(:mod:`scanner.engine.batches`), kept as it is until the end, when
:class:`~scanner.engine.results.Results` makes Arrow tables of all of them at once.

It recovers from dead workers:

* a worker that dies costs only its in-flight batches: the one it was parsing is retried
  one file at a time, the ones it had not started go back to the queue;
* a file that kills a worker twice becomes an error row (``WorkerCrashed``);
* a dead worker is replaced, and the scan goes on.

Remote objects (URLs) are fetched by a :class:`~scanner.sources.objectstore.Fetcher` on
threads of this process, a bounded window ahead; the coordinator waits on it as on the
worker pipes, copies each fetched tail into a block like a local file's tail, and keeps
it until the batch is parsed (a batch lost with a dead worker is retried without
fetching again).

A small scan is parsed in this process (:func:`scan_inline`): the same tail loader and
the same C parser, on a private buffer, with no worker to start.
"""
from __future__ import annotations

import math
import os
import sys
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice, takewhile
from multiprocessing.connection import wait
from typing import Any, Deque, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
from tqdm import tqdm

from rugo import _footer
from scanner.engine.batches import Batch, parse
from scanner.engine.local.pool import Pool, Worker, describe_exit, reap
from scanner.engine.local.shm import DEFAULT_CAP_BYTES, MODES, TAIL_BYTES, Block, Slab, first_read_size
from scanner.engine.results import Results
from scanner.entries import FileEntry
from scanner.errors import TOO_LARGE, WORKER_CRASHED, ScanError
from scanner.fields import DETAILS
from scanner.sources.feed import Feed
from scanner.sources.objectstore import DEFAULT_CONCURRENCY, Failed, Fetcher, Job, is_remote

__all__ = ["scan", "scan_inline", "default_workers", "inline_suits", "check_options", "progress_bar", "DEPTH",
           "MAX_BATCH_FILES", "INLINE_TAIL_BYTES"]

#: Batches in flight per worker.
DEPTH = 2
#: Most files in one batch.
MAX_BATCH_FILES = 256
#: A scan whose first reads add up to at most this many bytes is parsed in this process when
#: the number of workers is left to the scanner: about 200 small files or 16 files with
#: footers of 64 KiB or more. Starting worker processes costs 0.1 to 0.2 s; parsing costs
#: about 10 us per KiB of footer, and a file's footer can be far larger than its first read
#: (a wide file's is megabytes), so the bound is kept low.
INLINE_TAIL_BYTES = 2**20
#: The same bound when every file is whole in its first read (under 64 KiB: its footer is
#: no larger than what was counted): about 40 ms of parsing, less than starting workers.
INLINE_WHOLE_BYTES = 4 * 2**20
#: Batches per worker to aim for, so that workers finish close together.
_BATCHES_PER_WORKER = 8
#: Workers that may die before saying "ready" before the scan gives up.
_MAX_FAILED_STARTS = 3


def default_workers() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _default_count(average_tail: int) -> int:
    """Workers when the caller leaves it to the scanner: one per core, but one core is left
    to the coordinator when files are small (first reads under 32 KiB on average).

    For a small file the coordinator's own work (walk, read, collect: about 10 us) is as
    large as a worker's parse (about 6 us), so on two cores a second worker only competes
    with it (measured: 10,000 small files in 0.30 s with one worker, 0.50 s with two).
    """
    cores = default_workers()
    return max(1, cores - 1) if average_tail < TAIL_BYTES // 2 else cores


def tail_bytes(entry: FileEntry) -> int:
    """Bytes the first read of ``entry`` takes (its whole size when under 64 KiB)."""
    return TAIL_BYTES if entry.size < 0 else min(entry.size, TAIL_BYTES)


def inline_suits(tail_total: int, workers: Optional[int], whole: bool = False) -> bool:
    """Whether a scan is parsed in this process: workers left to the scanner, few bytes
    (:data:`INLINE_TAIL_BYTES`, or :data:`INLINE_WHOLE_BYTES` when every file is
    ``whole``: smaller than its first read, so its footer is counted in full)."""
    return workers is None and tail_total <= (INLINE_WHOLE_BYTES if whole else INLINE_TAIL_BYTES)


@dataclass
class _Batch:
    batch_id: int
    block: Block
    file_ids: List[int]
    spans: List[Tuple[int, int]]
    single: bool  # a retry of one file after a worker died


class _Loader:
    """Copies the queued files' tails into blocks: local files by batch in C, fetched
    remote tails one by one; records the files that fail before any parse."""

    def __init__(self, entries: Sequence[FileEntry], results: Results, mode: str, cap_bytes: int,
                 bar: Any) -> None:
        self.entries = entries
        self.results = results
        self.mode = mode
        self.cap_bytes = cap_bytes
        self.bar = bar
        #: file id -> bytes its first read must take (set when a footer turned out larger)
        self.first_read: Dict[int, int] = {}
        #: file id -> fetched tail of a remote object, kept until its batch is parsed
        self.tails: Dict[int, bytes] = {}
        #: the first read of the files not read yet, fitted to the footers parsed so far
        #: (0: TAIL_BYTES, until a batch has been parsed)
        self.fitted = 0

    def first_read_size(self, file_id: int, full_limit: int) -> int:
        """Bytes the first read of file ``file_id`` needs in a block of ``full_limit`` bytes."""
        tail = self.tails.get(file_id)
        if tail is not None:  # fetched: copied whole
            return first_read_size(len(tail), first_read=self.first_read.get(file_id, 0))
        return first_read_size(self.entries[file_id].size, mode=self.mode, full_limit=full_limit,
                               first_read=self.first_read.get(file_id, self.fitted))

    def learn(self, batch: Batch) -> None:
        """Fit the first reads to the footers of a parsed batch.

        Files of one lake mostly have footers of like size: a typical one of 30 columns and
        8 row groups needs 27 KiB, and reading 64 KiB of it copies more than twice that.
        The first read becomes the largest footer seen (with its 8-byte trailer) plus a
        quarter, in whole 4 KiB pages, never more than :data:`TAIL_BYTES`; a file whose
        footer is larger still costs one exact second read, as before.
        """
        footers = np.frombuffer(batch["files"]["footer_size"][0], dtype=np.int64)  # 0 where null
        if len(footers):
            need = (int(footers.max()) + 8) * 5 // 4
            self.fitted = min(TAIL_BYTES, max(self.fitted, -(-need // 4096) * 4096))

    def fill(self, buf: memoryview, source: Deque[int], limit: int) -> Tuple[List[int], List[Tuple[int, int]], int]:
        """Copy files from the head of ``source`` into ``buf`` until it or ``limit`` is full.

        Returns the files copied, their spans, and the bytes the file now at the head of
        ``source`` needs when it did not fit (0 otherwise).
        """
        file_ids: List[int] = []
        spans: List[Tuple[int, int]] = []
        offset = 0
        while source and len(file_ids) < limit:
            if source[0] in self.tails:
                need = self._copy_fetched(buf, offset, source, file_ids, spans)
            else:
                need = self._load_local(buf, offset, source, limit - len(file_ids), file_ids, spans)
            offset = spans[-1][1] if spans else 0
            if need:
                return file_ids, spans, need
        return file_ids, spans, 0

    def _copy_fetched(self, buf: memoryview, offset: int, source: Deque[int], file_ids: List[int],
                      spans: List[Tuple[int, int]]) -> int:
        file_id = source[0]
        tail = self.tails[file_id]
        if offset + len(tail) > len(buf):
            return self._does_not_fit(source, len(tail))
        buf[offset:offset + len(tail)] = tail
        source.popleft()
        file_ids.append(file_id)
        spans.append((offset, offset + len(tail)))
        return 0

    def _load_local(self, buf: memoryview, offset: int, source: Deque[int], room: int, file_ids: List[int],
                    spans: List[Tuple[int, int]]) -> int:
        """One ``load_tails`` call for the run of local files at the head of ``source``."""
        if self.tails:  # the run ends at the first fetched remote tail
            run = list(takewhile(lambda file_id: file_id not in self.tails, islice(source, room)))
        else:
            run = list(islice(source, room))
        entries = [self.entries[i] for i in run]
        if self.mode == "tail" and not self.first_read:  # one first read for all (capped at each size)
            first_reads = [self.fitted] * len(run) if self.fitted else None  # None: 64 KiB
        else:
            first_reads = [self.first_read_size(i, len(buf)) for i in run]
        with buf[offset:] as region:
            consumed, need, loaded, status, errors = _footer.load_tails(
                [e.path for e in entries], [e.size for e in entries], region, first_reads)
        for _ in range(consumed):
            source.popleft()
        if errors or offset:
            for position in range(consumed):
                if status[position] == _footer.LOAD_ERROR:
                    self.fail(run[position], *errors[position])
                else:
                    start, end = loaded[position]
                    file_ids.append(run[position])
                    spans.append((offset + start, offset + end))
        else:  # the common case: every file loaded, from the start of the block
            file_ids.extend(run[:consumed])
            spans.extend(loaded)
        return self._does_not_fit(source, need) if consumed < len(run) else 0

    def _does_not_fit(self, source: Deque[int], need: int) -> int:
        """The head of ``source`` needs ``need`` bytes: a fresh block, or an error row."""
        if need > self.cap_bytes:
            self.fail(source.popleft(), TOO_LARGE, f"footer and trailer need {need} bytes of shared memory, "
                      f"more than the cap of {self.cap_bytes} (--shm-bytes)")
            return 0
        self.first_read[source[0]] = max(need, self.first_read.get(source[0], 0))
        return need

    def fail(self, file_id: int, error_type: str, error: str) -> None:
        self.results.add_error(file_id, error_type, error)
        self.tails.pop(file_id, None)
        self.bar.update(1)


class _Scan:
    """State of one running scan with workers: queues, slab, pool, and the loader."""

    def __init__(self, loader: _Loader, slab: Slab, pool: Pool, batch_files: int,
                 fetcher: Optional[Fetcher] = None, intake: Optional["_Intake"] = None) -> None:
        self.loader = loader
        self.results = loader.results
        self.bar = loader.bar
        self.slab = slab
        self.pool = pool
        self.batch_files = batch_files
        self.todo: Deque[int] = deque()
        self.retry: Deque[int] = deque()
        self.attempts: Dict[int, int] = {}
        self.failed_starts = 0
        self._batch_ids = iter(range(sys.maxsize))
        self.fetcher = fetcher
        self.intake = intake

    def run(self) -> None:
        """Scan until every file (including those the walk still finds) has a result."""
        walking = self.intake is not None and not self.intake.feed.exhausted
        while self.results.remaining or walking:
            if walking:
                self.todo.extend(self.intake.take())
                walking = not self.intake.feed.exhausted
            self._collect_fetched()
            self._dispatch(partial=not walking)
            if not (self.results.remaining or walking):
                break
            fetching = self.fetcher is not None and self.fetcher.pending > 0
            if not (walking or any(w.in_flight for w in self.pool.workers) or self.todo or self.retry or fetching):
                raise RuntimeError(f"scanner bug: {self.results.remaining} files have no result "
                                   "and none is queued")
            waitables = (self.pool.waitables() + ([self.fetcher] if fetching else [])
                         + ([self.intake.feed] if walking else []))
            for worker in self._ready_workers(wait(waitables, timeout=1.0)):
                self._service(worker)

    def _collect_fetched(self) -> None:
        """Queue the remote tails fetched meanwhile; failed fetches become error rows."""
        if self.fetcher is None:
            return
        for file_id, outcome in self.fetcher.take():
            if isinstance(outcome, Failed):
                self.loader.fail(file_id, outcome.error_type, outcome.error)
            else:
                self.loader.tails[file_id] = outcome.tail
                self.results.add_object(file_id, outcome.size, outcome.mtime_ns, outcome.etag)
                self.todo.append(file_id)

    # -- sending

    def _dispatch(self, partial: bool = True) -> None:
        """Send batches to workers with room; while the walk goes on, full batches only."""
        for worker in list(self.pool.workers):
            while len(worker.in_flight) < DEPTH:
                if not partial and not self.retry and len(self.todo) < self.batch_files:
                    return
                batch = self._next_batch()
                if batch is None:
                    return
                self._send(worker, batch)

    def _send(self, worker: Worker, batch: _Batch) -> None:
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
            block = self.slab.acquire(self.loader.first_read_size(source[0], self.slab.block_bytes))
            if block is None:
                return None
            file_ids, spans, need = self.loader.fill(block.buf, source, limit)
            if need:
                self._grow_blocks(need)
            if file_ids:
                if self.fetcher is not None:
                    for file_id in file_ids:
                        self.fetcher.consumed(file_id)  # in shared memory now: the fetcher may go on
                return _Batch(next(self._batch_ids), block, file_ids, spans, single=limit == 1)
            self.slab.release(block)
        return None

    def _grow_blocks(self, need: int) -> None:
        """Make new blocks large enough for a batch of footers like this one.

        Blocks start sized for 64 KiB tails; in a lake of wide files every footer is larger,
        and without growing each batch would hold a single file.
        """
        largest = self.slab.cap_bytes // (DEPTH * len(self.pool.workers) or 1)
        self.slab.block_bytes = max(self.slab.block_bytes, min(largest, need * self.batch_files))

    # -- receiving

    def _ready_workers(self, ready: List[Any]) -> List[Worker]:
        return [w for w in self.pool.workers if w.conn in ready or w.process.sentinel in ready]

    def _service(self, worker: Worker) -> None:
        """Take every message a worker has sent; handle its death if it died."""
        try:
            while worker.conn.poll():
                self._on_message(worker, worker.conn.recv())
        except (EOFError, OSError):  # its end of the pipe is closed: it is dying
            reap(worker.process)
        if not worker.process.is_alive():
            self._on_death(worker)

    def _on_message(self, worker: Worker, message: Tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "ready":
            worker.ready = True
        elif kind == "done":
            batch = worker.in_flight.popleft()
            if batch.batch_id != message[1]:
                raise RuntimeError(f"scanner bug: batch {message[1]} answered, {batch.batch_id} expected")
            self.results.add_batch(batch.file_ids, message[2])
            self.loader.learn(message[2])
            self.slab.release(batch.block)
            if self.loader.tails:
                for file_id in batch.file_ids:
                    self.loader.tails.pop(file_id, None)
            self.bar.update(len(batch.file_ids))
        elif kind == "fatal":
            raise ScanError(f"a worker could not start: {message[1]}")

    def _on_death(self, worker: Worker) -> None:
        """Requeue what a dead worker held, blame the batch it was parsing, replace it."""
        if worker not in self.pool.workers:
            return
        self.pool.remove(worker)
        cause = describe_exit(worker.process.exitcode)
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
                self.loader.fail(file_id, WORKER_CRASHED, f"worker crashed twice while parsing this file ({cause})")
            else:
                self.retry.append(file_id)
                self.results.retried += 1


def scan(entries: Union[Sequence[FileEntry], Feed], *, workers: Optional[int] = None, mode: str = "tail",
         detail: str = "columns", shm_bytes: int = DEFAULT_CAP_BYTES,
         progress: Optional[bool] = None, storage_options: Optional[Mapping[str, Any]] = None,
         concurrency: int = DEFAULT_CONCURRENCY, hints: Optional[Mapping[str, int]] = None) -> Results:
    """Parse the footer of every discovered file, in worker processes or (small scans) here.

    Parameters
    ----------
    entries : sequence of FileEntry, or Feed
        From :func:`scanner.sources.discover`, or a :class:`~scanner.sources.feed.Feed`
        still walking (files are read and parsed while it finds more); entries that
        already carry an error are recorded as error rows without being read. Entries
        whose path is a URL are fetched (always their tail, whatever ``mode`` says).
    workers : int, optional
        Worker processes; default: the cores this process may use, or none at all for a
        small scan (:data:`INLINE_TAIL_BYTES`). Fewer are started when there are too few
        files to keep them busy.
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
    feed = entries if isinstance(entries, Feed) else Feed.of(entries)
    try:
        check_options(workers, mode, detail, shm_bytes, concurrency)
        return _scan(feed, workers, mode, detail, shm_bytes, progress, storage_options, concurrency, hints)
    finally:
        if feed is not entries:
            feed.close()


class _Intake:
    """Takes the feed's new entries: errors to rows, remote objects to fetch jobs, local
    files to the queue; counts them into the results and the progress bar."""

    def __init__(self, feed: Feed, results: Results, bar: Any, hints: Optional[Mapping[str, int]]) -> None:
        self.feed = feed
        self.results = results
        self.bar = bar
        self.hints = hints or {}
        self.remote: List[Job] = []
        #: bytes of the local files' first reads, counted until the scan is planned
        self.tail_total = 0
        #: every local file so far is smaller than its first read (whole in it)
        self.whole = True
        self.planned = False

    def take(self) -> List[int]:
        """The new local files to read (the rest are handled here)."""
        new = self.feed.take()
        entries = self.feed.entries
        if self.feed.done and self.bar.total != len(entries):
            self.bar.total = len(entries)
            self.bar.refresh()
        if not new:
            return []
        self.results.expect(len(new))
        local = []
        for i in new:
            entry = entries[i]
            if entry.error_type is not None:
                self.results.add_error(i, entry.error_type, entry.error or "")
                self.bar.update(1)
            elif "://" in entry.path and is_remote(entry.path):
                self.remote.append(Job(i, entry.path, entry.size, self.hints.get(entry.path)))
            else:
                local.append(i)
        if not self.planned:
            self.tail_total += sum(tail_bytes(entries[i]) for i in local)
            self.whole = self.whole and all(0 <= entries[i].size < TAIL_BYTES for i in local)
        return local


def _scan(feed: Feed, workers: Optional[int], mode: str, detail: str, shm_bytes: int,
          progress: Optional[bool], storage_options: Optional[Mapping[str, Any]], concurrency: int,
          hints: Optional[Mapping[str, int]]) -> Results:
    results = Results(0)
    pool = Pool(detail)  # no process yet: started once the scan proves too large to parse here
    graceful = False
    try:
        with progress_bar(None, progress) as bar:
            _scan_with(feed, workers, mode, detail, shm_bytes, storage_options, concurrency, hints, pool, results,
                       bar)
        graceful = True
    finally:
        pool.close(graceful)
    return results


def _scan_with(feed: Feed, workers: Optional[int], mode: str, detail: str, shm_bytes: int,
               storage_options: Optional[Mapping[str, Any]], concurrency: int, hints: Optional[Mapping[str, int]],
               pool: Pool, results: Results, bar: Any) -> None:
    intake = _Intake(feed, results, bar, hints)
    local = intake.take()
    count = workers or default_workers()
    # Workers are started the moment the scan cannot be parsed here, so that they import
    # while the walk goes on; the plan (batch size) waits until the walk ends or shows a
    # scan large enough for full batches.
    large = count * _BATCHES_PER_WORKER * MAX_BATCH_FILES
    while True:
        if not pool.workers and not inline_suits(intake.tail_total, workers, intake.whole):
            count = workers or _default_count(intake.tail_total // max(1, len(local)))
            while len(pool.workers) < count:
                pool.spawn()
        if feed.done or len(local) >= large and pool.workers:
            break
        wait([feed], timeout=1.0)
        local += intake.take()
    local += intake.take()
    loader = _Loader(feed.entries, results, mode, shm_bytes, bar)
    if feed.done and not intake.remote and not pool.workers and inline_suits(intake.tail_total, workers,
                                                                             intake.whole):
        _parse_here(loader, local, detail)
        return
    if feed.done and not local and not intake.remote:
        return  # nothing to read: every entry was an error row
    files = len(local) + len(intake.remote) if feed.done else sys.maxsize  # still walking: many
    average_tail = intake.tail_total // max(1, len(local))
    intake.planned = True
    count, batch_files, block_bytes = _plan(files, count, mode, shm_bytes, average_tail)
    with Slab(shm_bytes, block_bytes) as slab, _fetcher(intake.remote, storage_options, concurrency) as fetcher:
        finished = False
        try:
            while len(pool.workers) < count:
                pool.spawn()
            run = _Scan(loader, slab, pool, batch_files, fetcher, intake)
            run.todo.extend(local)
            run.run()
            finished = True
        finally:
            pool.close(graceful=finished)  # before the slab: no worker maps a block once it is unlinked


def scan_inline(entries: Sequence[FileEntry], detail: str = "columns", mode: str = "tail") -> Results:
    """Parse local ``entries`` in this process: no worker, no shared memory.

    The same tail loader and C parser as the workers use, on a private buffer.
    """
    results = Results(len(entries))
    with progress_bar(len(entries), False) as bar:
        loader = _Loader(entries, results, mode, 2**62, bar)
        todo = []
        for i, entry in enumerate(entries):
            if entry.error_type is not None:
                results.add_error(i, entry.error_type, entry.error or "")
            else:
                todo.append(i)
        _parse_here(loader, todo, detail)
    return results


def _parse_here(loader: _Loader, file_ids: List[int], detail: str) -> None:
    """Load and parse ``file_ids`` batch by batch in this process, in one reused buffer."""
    queue: Deque[int] = deque(file_ids)
    buf = bytearray(max(TAIL_BYTES, sum(tail_bytes(loader.entries[i]) for i in file_ids[:MAX_BATCH_FILES])))
    while queue:
        with memoryview(buf) as view:
            batch_ids, spans, need = loader.fill(view, queue, MAX_BATCH_FILES)
            if batch_ids:
                batch = parse(view, spans, detail)
                loader.results.add_batch(batch_ids, batch)
                loader.learn(batch)
                loader.bar.update(len(batch_ids))
        if need > len(buf):
            buf = bytearray(need)


def _plan(files: int, workers: int, mode: str, shm_bytes: int, average_tail: int = TAIL_BYTES) -> Tuple[int, int, int]:
    """Workers to start, files per batch and bytes per block for ``files`` files.

    No more workers than files; about :data:`_BATCHES_PER_WORKER` batches per worker, so
    that they finish close together; blocks that share the slab's cap among the
    :data:`DEPTH` batches in flight per worker, and in ``tail`` mode no larger than a
    batch of the tails seen so far needs (they grow when footers turn out larger).
    """
    workers = max(1, min(workers, files))
    batch_files = max(1, min(MAX_BATCH_FILES, math.ceil(files / (workers * _BATCHES_PER_WORKER))))
    block_bytes = shm_bytes // (DEPTH * workers)
    if mode == "tail":
        block_bytes = min(block_bytes, max(batch_files * average_tail * 5 // 4, 2**20))
    return workers, batch_files, block_bytes


def check_options(workers: Optional[int], mode: str, detail: str, shm_bytes: int, concurrency: int) -> None:
    """Raise ``ValueError`` for an option out of range."""
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


class _NoBar:
    """What the scan calls on a progress bar, doing nothing (no tqdm object at all: its
    ``__del__`` is one more place for a late Ctrl-C to land)."""

    total: Optional[int] = None

    def update(self, n: int = 1) -> None:
        pass

    def refresh(self) -> None:
        pass


@contextmanager
def progress_bar(total: Optional[int], progress: Optional[bool]) -> Iterator[Any]:
    """A tqdm bar on stderr (``progress=None``: only when stderr is a terminal), or none."""
    if not (progress if progress is not None else sys.stderr.isatty()):
        yield _NoBar()
        return
    bar = tqdm(total=total, unit="file", file=sys.stderr, dynamic_ncols=True)
    try:
        yield bar
    finally:
        bar.close()
