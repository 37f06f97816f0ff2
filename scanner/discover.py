"""Discover: walk directory trees into a deterministic list of files to scan.

The walk uses ``os.scandir`` (one ``stat`` per file for size and ``mtime_ns``), visits
each directory's files in name order and then its subdirectories in name order, follows
symbolic links (a directory reached twice is walked once), and skips what a pyarrow
dataset skips: any file or directory below a root whose name starts with ``.`` or ``_``
(``_SUCCESS``, ``_metadata``, ``.crc`` files, ``_temporary/``). Hive-style ``key=value``
directories become partition values of every file below them.

Problems with single entries (a broken link, a directory that cannot be listed, a FIFO)
become entries with an error, so that they show up as error rows; only a root that does
not exist stops the scan.

A root that is a URL (``s3://bucket/prefix/``, ``gs://...``, ``https://...``) is listed by
:func:`scanner.remote.list_url` with the same skip rules and partitions; its entries carry
the URL as ``path`` and, when the listing says, the object's ``etag``.
"""
from __future__ import annotations

import os
import stat
from typing import Any, Iterable, Iterator, List, Mapping, Optional, Set, Tuple, Union

from scanner.entries import FileEntry, Partitions, Selection, partition_of
from scanner.errors import ScanError

__all__ = ["discover"]


def discover(paths: Iterable[Union[str, "os.PathLike[str]"]],
             storage_options: Optional[Mapping[str, Any]] = None, selection: Optional[Selection] = None,
             missing_ok: bool = False) -> List[FileEntry]:
    """List the files below ``paths`` (directories are walked, files taken as they are).

    Parameters
    ----------
    paths : iterable of str or path-like
        Directories and files, or URLs: prefixes of an object store (listed with
        fsspec) and HTTP(S) objects. Each path appears once in the result, at its first
        place.
    storage_options : mapping, optional
        For the fsspec filesystems of URLs (credentials, ``endpoint_url``, ...).
    selection : Selection, optional
        Which files are scanned; it counts the skipped ones in ``selection.skipped``.
        Default: the default rules.
    missing_ok : bool
        A local path that does not exist becomes an error row (``FileNotFoundError``)
        instead of a :class:`ScanError` (paths read from a list, such as ``--from-file``).

    Returns
    -------
    list of FileEntry
        In a deterministic order: the roots in the order given, each walked as above.

    Raises
    ------
    ScanError
        A root does not exist or cannot be examined; a prefix cannot be listed (wrong
        endpoint, denied credentials, missing bucket) or holds nothing.
    """
    selection = selection if selection is not None else Selection()
    seen: Set[str] = set()
    found: List[FileEntry] = []
    for path in paths:
        path = os.fspath(path)
        if isinstance(path, str) and path.startswith("file://"):
            path = path[len("file://"):]
        if isinstance(path, str) and "://" in path:
            from scanner.remote import list_url  # fsspec only when a URL is scanned

            listed: Iterable[FileEntry] = list_url(path, storage_options, selection)
        else:
            listed = _discover_root(os.path.abspath(path), selection, missing_ok)
        for entry in listed:
            if entry.path not in seen:
                seen.add(entry.path)
                found.append(entry)
    return found


def _discover_root(root: str, selection: Selection, missing_ok: bool) -> Iterator[FileEntry]:
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


def _walk(root: str, root_stat: os.stat_result, selection: Selection) -> Iterator[FileEntry]:
    """Depth first: a directory's files by name, then its subdirectories by name."""
    visited = {(root_stat.st_dev, root_stat.st_ino)}
    stack: List[Tuple[str, Partitions]] = [(root, ())]
    skip = len(root.rstrip(os.sep)) + 1  # entry.path[skip:] is the path relative to the root
    while stack:
        directory, partitions = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
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
                if selection.keep(entry.path, entry.path[skip:].replace(os.sep, "/")):
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
