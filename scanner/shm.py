"""Shared memory: the coordinator's bounded slab of blocks, and the file reads that fill it.

The coordinator is the only process that creates, reads files into, and unlinks blocks;
workers only attach to them by name (:func:`attach`). Each block is a
``multiprocessing.shared_memory.SharedMemory`` whose name carries a prefix, the owner's
PID and the owner's start time, so a later scan can tell a block whose owner is dead
(left behind by a SIGKILLed coordinator) from one in use, and sweep it
(:func:`sweep_orphans`).

Creating a block checks the free space of ``/dev/shm`` first and then reserves the pages
with ``posix_fallocate``: on Linux a block on a full tmpfs is created without complaint,
and the first write into a page that cannot be backed kills the process with SIGBUS.
Both checks turn that into a :class:`~scanner.errors.ScanError`.
"""
from __future__ import annotations

import os
import re
import secrets
import sys
from multiprocessing import shared_memory
from typing import Dict, List, NamedTuple, Optional

from rugo import _footer
from scanner.errors import ScanError

__all__ = [
    "SHM_DIR", "NAME_PREFIX", "TAIL_BYTES", "DEFAULT_CAP_BYTES", "MODES",
    "Block", "Slab", "Load", "attach", "load_file", "load_bytes", "first_read_size", "free_bytes",
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
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return 0
    # Field 2 (comm) may hold spaces and parentheses: count fields after the last ')'.
    fields = stat[stat.rindex(b")") + 2:].split()
    return int(fields[19])


def owner_alive(pid: int, start_ticks: int) -> bool:
    """Whether the process that created a block (``pid`` started at ``start_ticks``) runs."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by another user
    return start_ticks == 0 or process_start_ticks(pid) in (0, start_ticks)


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


def attach(name: str) -> shared_memory.SharedMemory:
    """Attach a worker to the block ``name`` without taking ownership of it.

    Workers are started with ``spawn``, which hands them the coordinator's resource
    tracker. Before Python 3.13 attaching registers the name with that tracker a second
    time; its registry is a set, so the second entry is a no-op and the coordinator's
    ``unlink`` removes the only one. Unregistering here (the usual work-around) would
    remove the coordinator's entry too, and the tracker could no longer clean up after
    a coordinator that was killed.
    """
    if sys.version_info >= (3, 13):
        return shared_memory.SharedMemory(name, track=False)  # pragma: no cover
    return shared_memory.SharedMemory(name)


class Block:
    """One shared memory block owned (created, and later unlinked) by this process."""

    def __init__(self, name: str, size: int) -> None:
        self.name = name
        self.size = size
        self._shm: Optional[shared_memory.SharedMemory] = shared_memory.SharedMemory(
            name, create=True, size=size)
        try:
            _reserve(self._shm, size)
        except OSError as exc:
            self.close()
            raise ScanError(f"cannot reserve {_mib(size)} of shared memory for {name}: "
                            f"{exc.strerror or exc}; lower --shm-bytes or free space in "
                            f"{SHM_DIR}") from None
        self.buf: memoryview = self._shm.buf

    def close(self) -> None:
        """Unmap and unlink the block; safe to call more than once."""
        shm, self._shm = self._shm, None
        if shm is None:
            return
        self.buf = memoryview(b"")  # drop our reference to the mapping before closing it
        shm.close()
        try:
            shm.unlink()
        except FileNotFoundError:
            pass  # swept by someone who believed us dead


def _reserve(shm: shared_memory.SharedMemory, size: int) -> None:
    """Back every page of ``shm`` now, so a full tmpfs is ENOSPC here, not SIGBUS later."""
    fd = getattr(shm, "_fd", -1)
    if fd >= 0 and hasattr(os, "posix_fallocate"):
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
                self._free.pop(0).close()
            if self.total_bytes + size > self.cap_bytes:
                return None
            block = self._create(size)
        self._busy[block.name] = block
        return block

    def release(self, block: Block) -> None:
        """Give a block back for reuse."""
        self._free.append(self._busy.pop(block.name))

    def close(self) -> None:
        """Close and unlink every block; safe to call more than once."""
        blocks = self._free + list(self._busy.values())
        self._free, self._busy = [], {}
        for block in blocks:
            block.close()

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
        return Block(f"{self._prefix}-{self._seq}", size)


class Load(NamedTuple):
    """What :func:`load_file` did: copied ``length`` bytes, needs ``need`` bytes, or failed."""

    length: int = 0
    need: int = 0
    error_type: Optional[str] = None
    error: Optional[str] = None


def load_file(path: str, size: int, region: memoryview, *, mode: str = "tail",
              full_limit: int = 0, first_read: int = 0) -> Load:
    """Copy the bytes of ``path`` that the parser needs to the start of ``region``.

    One file through :func:`rugo._footer.load_tails` (the tail planner decides what to
    read). In ``tail`` mode that is one ``pread`` of the last :data:`TAIL_BYTES` (the whole
    file when smaller) and, when the trailer announces a larger footer, a second read of
    exactly footer + trailer. In ``full`` mode a file of at most ``full_limit`` bytes is
    copied whole; larger files are read as in ``tail`` mode. What is wrong with the bytes
    is left to the parser, except a truncated Parquet file (``NotParquetError``), which
    the bytes alone cannot show.

    Parameters
    ----------
    path : str
        The file (a regular file: anything else is a ``NotARegularFile`` error).
    size : int
        Its size when it was discovered.
    region : memoryview
        Writable space to copy into (a slice of a shared memory block).
    mode : {"tail", "full"}
        See above.
    full_limit : int
        Largest file copied whole in ``full`` mode.
    first_read : int
        Size of the first read; 0 for the default. A retry passes the ``need`` it was told.

    Returns
    -------
    Load
        ``length`` bytes copied; or ``need`` > ``len(region)`` bytes required (nothing
        usable copied); or ``error_type`` / ``error`` for a file that cannot be read.
    """
    first = first_read_size(size, mode=mode, full_limit=full_limit, first_read=first_read)
    consumed, need, spans, status, errors = _footer.load_tails([path], [size], region, [first])
    if not consumed:
        return Load(need=need)
    if status[0] == _footer.LOAD_ERROR:
        error_type, error = errors[0]
        return Load(error_type=error_type, error=error)
    return Load(length=spans[0][1])


def load_bytes(data: bytes, region: memoryview) -> Load:
    """Copy bytes fetched elsewhere (a remote object's tail) to the start of ``region``.

    Returns ``Load(length=len(data))``, or ``Load(need=len(data))`` when ``region`` is
    too small (nothing copied).
    """
    if len(data) > len(region):
        return Load(need=len(data))
    region[:len(data)] = data
    return Load(length=len(data))


def first_read_size(size: int, *, mode: str = "tail", full_limit: int = 0,
                    first_read: int = 0) -> int:
    """Bytes :func:`load_file` reads first from a file of ``size`` bytes (same arguments)."""
    if mode == "full" and size <= full_limit:
        return size
    return min(size, first_read or TAIL_BYTES)
