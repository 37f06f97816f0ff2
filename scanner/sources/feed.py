"""A feed: discovery on a thread, so that the scan starts before the walk ends.

The walk (``os.scandir`` + ``stat`` per file, a few microseconds each) would otherwise
run before any footer is read; on a lake of small files it is a third of the work. A
:class:`Feed` walks on a thread while the coordinator already reads and dispatches the
files found so far; ``stat`` and ``scandir`` release the GIL, as do the coordinator's
batch reads and waits, so both make progress. The coordinator waits on the feed like on
a worker pipe (:meth:`Feed.fileno`).

Entries keep their discovery order: file ``i`` is ``feed.entries[i]``. An error of the
walk (a root that does not exist) is raised in the consumer by :meth:`Feed.take`.
"""
from __future__ import annotations

import socket
import threading
from typing import Iterable, Iterator, List, Optional

from scanner.entries import FileEntry

__all__ = ["Feed"]

#: Entries handed over at a time (one wake-up of the consumer).
CHUNK = 1024


class Feed:
    """Entries of ``source`` (an iterator of :class:`FileEntry`), produced on a thread.

    Parameters
    ----------
    source : iterable of FileEntry
        Iterated on the feed's thread; ``None`` with ``entries`` for a finished feed.
    entries : list of FileEntry, optional
        Entries already known (a feed that is done from the start).
    """

    def __init__(self, source: Optional[Iterable[FileEntry]] = None,
                 entries: Optional[List[FileEntry]] = None) -> None:
        self.entries: List[FileEntry] = list(entries or [])
        self._published = len(self.entries)
        self._taken = 0
        self._error: Optional[BaseException] = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_read.setblocking(False)
        self._wake_write.setblocking(False)
        self.done = source is None
        self._thread: Optional[threading.Thread] = None
        if source is not None:
            self._thread = threading.Thread(target=self._run, args=(iter(source),), name="rugo-scanner-walk",
                                            daemon=True)
            self._thread.start()

    @classmethod
    def of(cls, entries: Iterable[FileEntry]) -> "Feed":
        """A finished feed of known entries."""
        return cls(None, list(entries))

    def _run(self, source: Iterator[FileEntry]) -> None:
        try:
            for entry in source:
                self.entries.append(entry)  # the consumer reads only up to _published
                if len(self.entries) - self._published >= CHUNK:
                    self._publish()
                if self._stop.is_set():
                    return
        except BaseException as exc:  # handed to the consumer
            self._error = exc
        finally:
            with self._lock:
                self._published = len(self.entries)
                self.done = True
            self._wake()

    def _publish(self) -> None:
        with self._lock:
            self._published = len(self.entries)
        self._wake()

    def _wake(self) -> None:
        try:
            self._wake_write.send(b"!")
        except OSError:  # the buffer is full: the consumer has wake-ups pending anyway
            pass

    def fileno(self) -> int:
        """Readable when entries (or the end) are waiting (for ``multiprocessing.connection.wait``)."""
        return self._wake_read.fileno()

    def take(self) -> range:
        """The indexes of the entries found since the last call; raises the walk's error."""
        try:
            while self._wake_read.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        with self._lock:
            end = self._published
        start, self._taken = self._taken, end
        return range(start, end)

    @property
    def exhausted(self) -> bool:
        """Done, and every entry taken."""
        return self.done and self._taken == len(self.entries) and self._error is None

    def wait(self) -> List[FileEntry]:
        """Wait for the walk to end; every entry (raises the walk's error)."""
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        return self.entries

    def close(self) -> None:
        """Stop the walk (at its next entry) and release the wake-up sockets."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._wake_read.close()
        self._wake_write.close()
