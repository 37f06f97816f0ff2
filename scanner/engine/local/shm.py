"""Shared memory: the coordinator's bounded slab of blocks, and the file reads that fill it.

The coordinator is the only process that creates, reads files into, and unlinks blocks;
workers only map them by name, read-only (:func:`attach`). Each block is a POSIX shared
memory object (``shm_open`` + ``mmap``) whose name carries a prefix, the owner's PID and
the owner's start time, so a later scan can tell a block whose owner is dead (left
behind by a SIGKILLed coordinator) from one in use, and sweep it (:func:`sweep_orphans`);
workers that see their coordinator die sweep its blocks on their way out.

Blocks are deliberately kept away from ``multiprocessing``'s resource tracker (Python
3.11's ``SharedMemory`` registers every create *and* attach with it): the tracker cannot
tell an interrupted registration from a completed one, so cleaning up after an interrupt
either leaves a registration behind (a "leaked shared_memory objects" warning at exit) or
unregisters a name it never saw (a traceback from the tracker). Ownership here is plain:
the slab records a name before the object exists and unlinks every name it recorded.

Creating a block checks the free space of ``/dev/shm`` first and then reserves the pages
with ``posix_fallocate``: on Linux a block on a full tmpfs is created without complaint,
and the first write into a page that cannot be backed kills the process with SIGBUS.
Both checks turn that into a :class:`~scanner.errors.ScanError`.
"""
from __future__ import annotations

import mmap
import os
import re
import signal
import threading
import secrets
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, List, Optional, Set

import _posixshmem  # shm_open / shm_unlink, as multiprocessing.shared_memory uses them

from rugo import _footer
from scanner.errors import ScanError

__all__ = [
    "SHM_DIR", "NAME_PREFIX", "TAIL_BYTES", "DEFAULT_CAP_BYTES", "MODES",
    "Block", "Slab", "attach", "first_read_size", "free_bytes",
    "sweep_orphans",
]

#: Where POSIX shared memory objects live as files on Linux.
SHM_DIR = "/dev/shm"
#: Every block name starts with this, then ``-<pid>-<start ticks>-<token>-<seq>``.
NAME_PREFIX = "rugoscan"
#: Bytes of the first read at the end of a file (the footer of most files fits).
TAIL_BYTES = _footer.TAIL_READ_SIZE
#: Default byte cap of the whole slab.
DEFAULT_CAP_BYTES = 64 * 1024 * 1024
#: ``tail``: copy the last bytes holding the footer; ``full``: copy whole files that fit.
MODES = ("tail", "full")

_NAME_RE = re.compile(rf"^{NAME_PREFIX}-(\d+)-(\d+)-")


def process_start_ticks(pid: int) -> int:
    """Return the start time of process ``pid`` in clock ticks since boot, or 0.

    Together with the PID it names a process uniquely: a PID reused by a new process
    has another start time. 0 where ``/proc`` is not available or the process is gone.
    """
    stat = _proc_stat(pid)
    return int(stat[19]) if stat else 0


def _proc_stat(pid: int) -> List[bytes]:
    """Fields of ``/proc/PID/stat`` after the command name (state first); [] if unreadable."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return []
    # Field 2 (comm) may hold spaces and parentheses: count fields after the last ')'.
    return stat[stat.rindex(b")") + 2:].split()


def owner_alive(pid: int, start_ticks: int) -> bool:
    """Whether the process that created a block (``pid`` started at ``start_ticks``) runs.

    A zombie (killed, not yet reaped by its parent) counts as dead: it will never unlink
    its blocks.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by another user
    stat = _proc_stat(pid)
    if not stat:
        return True  # no /proc: trust the signal test
    if stat[0] in (b"Z", b"X"):
        return False
    return start_ticks == 0 or int(stat[19]) == start_ticks


def sweep_orphans(directory: str = SHM_DIR) -> List[str]:
    """Unlink the blocks whose owner process is dead; return their names.

    Parameters
    ----------
    directory : str
        Where shared memory objects show up as files (``/dev/shm`` on Linux). Where it
        cannot be listed nothing is swept.
    """
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    swept = []
    for name in names:
        match = _NAME_RE.match(name)
        if match and not owner_alive(int(match.group(1)), int(match.group(2))):
            try:
                os.unlink(os.path.join(directory, name))
            except OSError:
                continue  # another scan swept it first
            swept.append(name)
    return swept


def free_bytes(directory: str = SHM_DIR) -> Optional[int]:
    """Bytes an unprivileged process may still allocate in ``directory``, or ``None``."""
    try:
        st = os.statvfs(directory)
    except (OSError, AttributeError):
        return None
    return st.f_bavail * st.f_frsize


class Attached:
    """A worker's read-only mapping of a block (see :func:`attach`)."""

    def __init__(self, name: str) -> None:
        fd = _posixshmem.shm_open("/" + name, os.O_RDONLY, mode=0o600)
        try:
            self._mmap = mmap.mmap(fd, os.fstat(fd).st_size, access=mmap.ACCESS_READ)
        finally:
            os.close(fd)
        self.buf: memoryview = memoryview(self._mmap)

    def close(self) -> None:
        """Unmap; safe to call more than once (every view of ``buf`` must be released)."""
        self.buf.release()
        self._mmap.close()


def attach(name: str) -> Attached:
    """Map the block ``name`` read-only in a worker, without taking ownership of it."""
    return Attached(name)


class Block:
    """One shared memory block owned (created, and later unlinked) by this process.

    Ownership is by name, not by this object: the :class:`Slab` records a name before the
    object exists (:meth:`Slab._create`) and unlinks every name it recorded on close, so
    an exception landing anywhere in here (``KeyboardInterrupt``, ``SystemExit`` from a
    SIGTERM handler) cannot orphan a segment.
    """

    def __init__(self, name: str, size: int) -> None:
        self.name = name
        self.size = size
        self._mmap: Optional[mmap.mmap] = None
        self.buf: memoryview = memoryview(b"")
        fd = _posixshmem.shm_open("/" + name, os.O_CREAT | os.O_EXCL | os.O_RDWR, mode=0o600)
        try:
            os.ftruncate(fd, size)
            _reserve(fd, size)
            self._mmap = mmap.mmap(fd, size)
        except OSError as exc:
            unlink(name)
            raise ScanError(f"cannot reserve {_mib(size)} of shared memory for {name}: "
                            f"{exc.strerror or exc}; lower --shm-bytes or free space in "
                            f"{SHM_DIR}") from None
        finally:
            os.close(fd)
        self.buf = memoryview(self._mmap)

    def close(self) -> None:
        """Unmap and unlink the block; safe to call more than once."""
        mapping, self._mmap = self._mmap, None
        if mapping is None:
            return
        self.buf.release()  # our view of the mapping goes before the mapping
        self.buf = memoryview(b"")
        mapping.close()
        unlink(self.name)


def unlink(name: str) -> None:
    """Unlink the block ``name`` if it still exists (it may never have been created)."""
    try:
        _posixshmem.shm_unlink("/" + name)
    except FileNotFoundError:
        pass  # never created, or swept by someone who believed us dead


def _reserve(fd: int, size: int) -> None:
    """Back every page now, so a full tmpfs is ENOSPC here, not SIGBUS later."""
    if hasattr(os, "posix_fallocate"):
        os.posix_fallocate(fd, 0, size)


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


class Slab:
    """A bounded set of shared memory blocks, at most ``cap_bytes`` in all.

    Blocks are created on demand (``block_bytes`` each, or larger for a file that needs
    more), handed out by :meth:`acquire`, given back by :meth:`release` and reused.
    To make room for a larger block, free smaller ones are retired (unlinked).

    Parameters
    ----------
    cap_bytes : int
        Upper bound of the bytes of all blocks together.
    block_bytes : int
        Size of an ordinary block.
    directory : str
        Where blocks appear as files: checked for free space, swept for orphans.
    """

    def __init__(self, cap_bytes: int, block_bytes: int, directory: str = SHM_DIR) -> None:
        if block_bytes <= 0 or cap_bytes < block_bytes:
            raise ValueError(f"need 0 < block_bytes ({block_bytes}) <= cap_bytes ({cap_bytes})")
        self.cap_bytes = cap_bytes
        self.block_bytes = block_bytes
        self.directory = directory
        self._prefix = (f"{NAME_PREFIX}-{os.getpid()}-{process_start_ticks(os.getpid())}-"
                        f"{secrets.token_hex(3)}")
        self._seq = 0
        #: every name this slab may have created: recorded before the segment exists
        self._names: Set[str] = set()
        self._free: List[Block] = []
        self._busy: Dict[str, Block] = {}

    @property
    def total_bytes(self) -> int:
        """Bytes of all live blocks."""
        return sum(b.size for b in self._free) + sum(b.size for b in self._busy.values())

    def live_names(self) -> set:
        """Names of all live blocks (free or handed out)."""
        return {b.name for b in self._free} | set(self._busy)

    def acquire(self, need: int) -> Optional[Block]:
        """Hand out a block of at least ``need`` bytes, or ``None`` while none can be had.

        ``None`` means the blocks in use must come back first. A ``need`` above
        ``cap_bytes`` can never be met: the caller must check that first.

        Raises
        ------
        ScanError
            ``/dev/shm`` has no room for a new block.
        """
        fitting = [b for b in self._free if b.size >= need]
        if fitting:
            block = min(fitting, key=lambda b: b.size)
            self._free.remove(block)
        else:
            size = max(need, self.block_bytes)
            while self._free and self.total_bytes + size > self.cap_bytes:
                self._retire(self._free.pop(0))
            if self.total_bytes + size > self.cap_bytes:
                return None
            block = self._create(size)
        self._busy[block.name] = block
        return block

    def release(self, block: Block) -> None:
        """Give a block back for reuse."""
        self._free.append(self._busy.pop(block.name))

    def close(self) -> None:
        """Close and unlink every block; safe to call more than once.

        Ctrl-C or SIGTERM arriving meanwhile is held back until every block is gone.
        """
        run_uninterrupted(self._close_all)

    def _close_all(self) -> None:
        # pop one at a time: whatever an interrupt leaves is still listed for the next call
        while self._free:
            self._free.pop().close()
        while self._busy:
            self._busy.popitem()[1].close()
        while self._names:
            unlink(self._names.pop())

    def _retire(self, block: Block) -> None:
        def retire() -> None:
            block.close()
            self._names.discard(block.name)
        run_uninterrupted(retire)

    def __enter__(self) -> "Slab":
        sweep_orphans(self.directory)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _create(self, size: int) -> Block:
        available = free_bytes(self.directory)
        if available is not None and available < size:
            raise ScanError(f"{self.directory} has {_mib(available)} free but the scan needs a "
                            f"{_mib(size)} shared memory block; lower --shm-bytes or free space")
        self._seq += 1
        name = f"{self._prefix}-{self._seq}"
        self._names.add(name)  # owned from before it exists: close() unlinks it whatever happens next
        return Block(name, size)


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold back SIGINT and SIGTERM while cleanup runs; deliver them afterwards.

    A second Ctrl-C during cleanup would otherwise stop it half way and orphan the blocks
    not yet unlinked. Python runs signal handlers in the main thread only, so elsewhere
    (where no handler can interrupt us) this does nothing. A signal handled while the
    handlers are being swapped runs the handler installed at that instant: either the
    original one (before anything was changed) or the recorder (afterwards).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: List[int] = []
    previous: Dict[int, object] = {}
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            handler = signal.getsignal(signum)
            if handler is not None:  # None: installed outside Python, cannot be put back
                previous[signum] = signal.signal(signum, lambda n, frame: caught.append(n))
        yield
    finally:
        _restore(list(previous.items()))
    for signum in caught:
        handler = previous[signum]
        if callable(handler):
            handler(signum, None)
        elif handler == signal.SIG_DFL:
            signal.raise_signal(signum)


def run_uninterrupted(cleanup: Callable[[], None]) -> None:
    """Run an idempotent ``cleanup`` with signals held back (:func:`signals_deferred`).

    A signal handled in the instant before the deferral takes hold raises before the body
    could run: ``cleanup`` then runs anyway, and the exception goes on afterwards.
    """
    try:
        with signals_deferred():
            cleanup()
    except BaseException:
        cleanup()
        raise


def _restore(handlers: List[tuple]) -> None:
    """Put back every handler, even when one put back fires at once and raises."""
    if handlers:
        signum, handler = handlers[-1]
        try:
            signal.signal(signum, handler)
        finally:
            _restore(handlers[:-1])


def first_read_size(size: int, *, mode: str = "tail", full_limit: int = 0,
                    first_read: int = 0) -> int:
    """Bytes the first read of a file of ``size`` bytes takes (``rugo._footer.load_tails``).

    In ``tail`` mode the last :data:`TAIL_BYTES` (the whole file when smaller), or
    ``first_read`` when an earlier attempt learnt the exact need; in ``full`` mode the
    whole file when it is at most ``full_limit`` bytes.
    """
    if mode == "full" and size <= full_limit:
        return size
    return min(size, first_read or TAIL_BYTES)
