"""The scanner's walk written plainly with ``os.scandir``: the oracle for the C listing.

It states the walk's rules in the most obvious way (``sorted(os.scandir(...))`` by name,
``entry.stat()`` per entry, :meth:`Selection.hidden` and :meth:`Selection.keep` per
name), so that ``scanner.sources.local`` (``rugo._footer.list_directory`` plus a pass per
directory) can be held equal to it, entry for entry and count for count.
"""
from __future__ import annotations

import os
import stat
from typing import Iterator, List, Tuple

from scanner.entries import FileEntry, Partitions, Selection, partition_of, signed_inode


def reference_walk(root: str, selection: Selection) -> Iterator[FileEntry]:
    """The entries below the directory ``root`` (absolute), in the walk's order."""
    root_stat = os.stat(root)
    visited = {(root_stat.st_dev, root_stat.st_ino)}
    stack: List[Tuple[str, Partitions]] = [(root, ())]
    skip = len(root.rstrip(os.sep)) + 1
    while stack:
        directory, partitions = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda entry: entry.name)
        except OSError as exc:
            yield _error(directory, exc, partitions)
            continue
        subdirectories = []
        for entry in entries:
            if selection.hidden(entry.name):
                continue
            try:
                st = entry.stat()
            except OSError as exc:
                yield _error(entry.path, exc, partitions)
                continue
            if not stat.S_ISDIR(st.st_mode):
                if selection.keep(entry.path, entry.path[skip:].replace(os.sep, "/")):
                    if stat.S_ISREG(st.st_mode):
                        yield FileEntry(entry.path, st.st_size, st.st_mtime_ns, partitions,
                                        ctime_ns=st.st_ctime_ns, inode=signed_inode(st.st_ino))
                    else:
                        yield FileEntry(entry.path, -1, st.st_mtime_ns, partitions, "NotARegularFile",
                                        "not a regular file (FIFO, socket or device)")
            elif (st.st_dev, st.st_ino) not in visited:
                visited.add((st.st_dev, st.st_ino))
                subdirectories.append((entry.path, partitions + partition_of(entry.name)))
        stack.extend(reversed(subdirectories))


def _error(path: str, exc: OSError, partitions: Partitions) -> FileEntry:
    return FileEntry(path, partitions=partitions, error_type=type(exc).__name__, error=exc.strerror or str(exc))
