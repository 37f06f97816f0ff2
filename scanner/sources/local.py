"""Local sources: walk directory trees into a deterministic list of files to scan.

The walk uses ``os.scandir`` (one ``stat`` per file for size and ``mtime_ns``), visits
each directory's files in name order and then its subdirectories in name order, follows
symbolic links (a directory reached twice is walked once), and skips what a pyarrow
dataset skips: any file or directory below a root whose name starts with ``.`` or ``_``
(``_SUCCESS``, ``_metadata``, ``.crc`` files, ``_temporary/``). Hive-style ``key=value``
directories become partition values of every file below them.

Problems with single entries (a broken link, a directory that cannot be listed, a FIFO)
become entries with an error, so that they show up as error rows; only a root that does
not exist stops the scan.
"""
from __future__ import annotations

import os
import stat
from operator import attrgetter
from typing import Iterator, List, Tuple

from scanner.entries import FileEntry, Partitions, Selection, partition_of
from scanner.errors import ScanError

__all__ = ["walk_root"]


def walk_root(root: str, selection: Selection, missing_ok: bool = False) -> Iterator[FileEntry]:
    """The files at or below ``root`` (an absolute path), as :class:`FileEntry` items.

    Raises
    ------
    ScanError
        ``root`` cannot be examined (does not exist, unless ``missing_ok``).
    """
    try:
        st = os.stat(root)
    except OSError as exc:
        if missing_ok and isinstance(exc, FileNotFoundError):
            yield _error_entry(root, exc, ())
            return
        raise ScanError(f"{root}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        yield from _walk(root, st, selection)
    elif selection.keep(root, ""):
        yield _file_entry(root, st, ())


_NAME = attrgetter("name")


def _walk(root: str, root_stat: os.stat_result, selection: Selection) -> Iterator[FileEntry]:
    """Depth first: a directory's files by name, then its subdirectories by name."""
    visited = {(root_stat.st_dev, root_stat.st_ino)}
    stack: List[Tuple[str, Partitions]] = [(root, ())]
    skip = len(root.rstrip(os.sep)) + 1  # entry.path[skip:] is the path relative to the root
    while stack:
        directory, partitions = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=_NAME)
        except OSError as exc:
            yield _error_entry(directory, exc, partitions)
            continue
        subdirectories = []
        for entry in entries:
            if selection.hidden(entry.name):
                continue
            try:
                st = entry.stat()  # follows links; a broken link raises
            except OSError as exc:
                yield _error_entry(entry.path, exc, partitions)
                continue
            if not stat.S_ISDIR(st.st_mode):
                relative = entry.path[skip:]
                if selection.keep(entry.path, relative if os.sep == "/" else relative.replace(os.sep, "/")):
                    yield _file_entry(entry.path, st, partitions)
            elif (st.st_dev, st.st_ino) not in visited:
                visited.add((st.st_dev, st.st_ino))
                subdirectories.append((entry.path, partitions + partition_of(entry.name)))
        stack.extend(reversed(subdirectories))


def _file_entry(path: str, st: os.stat_result, partitions: Partitions) -> FileEntry:
    if not stat.S_ISREG(st.st_mode):  # a FIFO would block the reader forever
        return FileEntry(path, -1, st.st_mtime_ns, partitions, "NotARegularFile",
                         "not a regular file (FIFO, socket or device)")
    return FileEntry(path, st.st_size, st.st_mtime_ns, partitions)


def _error_entry(path: str, exc: OSError, partitions: Partitions) -> FileEntry:
    return FileEntry(path, partitions=partitions, error_type=type(exc).__name__,
                     error=exc.strerror or str(exc))
