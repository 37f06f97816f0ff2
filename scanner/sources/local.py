"""Local sources: walk directory trees into a deterministic list of files to scan.

The walk lists each directory with ``rugo._footer.list_directory`` (``readdir``, a sort by
name and one ``stat`` per entry for size and ``mtime_ns``, all in C without the GIL, so
that a walk on a thread leaves the coordinator its interpreter), visits each directory's
files in name order and then its subdirectories in name order, follows
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
from typing import Iterator, List, NamedTuple, Optional, Tuple

from rugo._footer import list_directory
from scanner.entries import IGNORED_PREFIXES, FileEntry, Partitions, Selection, partition_of, signed_inode
from scanner.errors import ScanError

__all__ = ["walk_root", "listings", "Listing", "file_columns"]


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


class Listing(NamedTuple):
    """One directory of a walk: its entries in ``str`` order of their names, stat'ed, and
    which of its files (and special files) the selection keeps; ``error`` when the
    directory itself could not be listed."""

    directory: str
    partitions: Partitions
    names: List[str]
    kinds: bytes
    sizes: List[int]
    mtimes: List[int]
    ctimes: List[int]
    inodes: List[int]
    kept: List[bool]
    error: Optional[OSError] = None


def listings(root: str, root_stat: os.stat_result, selection: Selection) -> Iterator[Listing]:
    """Depth first from the directory ``root``: each directory's listing, then its
    subdirectories by name (each directory once, whatever links lead to it)."""
    visited = {(root_stat.st_dev, root_stat.st_ino)}
    stack: List[Tuple[str, str, Partitions]] = [(root, "", ())]  # (directory, relative to the root, partitions)
    while stack:
        directory, relative, partitions = stack.pop()
        try:
            names, kinds, sizes, mtimes, ctimes, inodes, ids, hidden, ascii = list_directory(directory, _HIDDEN_FIRST)
        except OSError as exc:
            yield Listing(directory, partitions, [], b"", [], [], [], [], [], exc)
            continue
        selection.count_hidden(hidden)
        if not ascii:  # put the names in str order, as sorted(os.scandir(...)) would
            order = sorted(range(len(names)), key=names.__getitem__)
            names, sizes, mtimes, ctimes, inodes, ids = ([column[i] for i in order]
                                                         for column in (names, sizes, mtimes, ctimes, inodes, ids))
            kinds = bytes(kinds[i] for i in order)
        # the selection's answers, in name order, for the files and special files
        answers = iter(selection.keep_names(directory, relative, [name for name, kind in zip(names, kinds)
                                                                  if kind == _FILE or kind == _OTHER]))
        kept = [(kind == _FILE or kind == _OTHER) and next(answers) for kind in kinds]
        yield Listing(directory, partitions, names, kinds, sizes, mtimes, ctimes, inodes, kept)
        prefix = directory.rstrip(os.sep) + os.sep
        relative_prefix = relative + "/" if relative else ""
        subdirectories = []
        for i, kind in enumerate(kinds):
            if kind == _DIRECTORY and ids[i] not in visited:
                visited.add(ids[i])
                name = names[i]
                subdirectories.append((prefix + name, relative_prefix + name, partitions + partition_of(name)))
        stack.extend(reversed(subdirectories))


def _walk(root: str, root_stat: os.stat_result, selection: Selection) -> Iterator[FileEntry]:
    """The files of :func:`listings`, each directory's by name."""
    for listing in listings(root, root_stat, selection):
        partitions = listing.partitions
        if listing.error is not None:
            yield _error_entry(listing.directory, listing.error, partitions)
            continue
        prefix = listing.directory.rstrip(os.sep) + os.sep
        names, sizes, mtimes, kept = listing.names, listing.sizes, listing.mtimes, listing.kept
        for i, kind in enumerate(listing.kinds):
            if kind == _FILE:
                if kept[i]:
                    yield _new_entry(FileEntry, (prefix + names[i], sizes[i], mtimes[i], partitions, None, None, None,
                                                 listing.ctimes[i], listing.inodes[i]))
            elif kind == _OTHER:  # a FIFO would block the reader forever
                if kept[i]:
                    yield FileEntry(prefix + names[i], -1, mtimes[i], partitions, *_NOT_REGULAR)
            elif kind != _DIRECTORY:  # the stat failed: a broken link, or a name gone since the listing
                yield _error_entry(prefix + names[i], _os_error(sizes[i]), partitions)


def file_columns(root: str, selection: Selection) -> Optional[Tuple[List[str], List[List[int]]]]:
    """The files below the directory ``root`` as a walk finds them, as columns: their paths,
    and their sizes, ``mtime_ns``, ``ctime_ns`` and inodes; None when the walk meets
    anything but regular files (an error, a FIFO) or ``root`` is not a directory. The same
    files in the same order as :func:`walk_root`, without an object per file."""
    try:
        st = os.stat(root)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode):
        return None
    paths: List[str] = []
    numbers: List[List[int]] = [[], [], [], []]
    for listing in listings(root, st, selection):
        if listing.error is not None or any(kind != _FILE and kind != _DIRECTORY for kind in listing.kinds):
            return None
        keep = [i for i, (kind, kept) in enumerate(zip(listing.kinds, listing.kept)) if kept and kind == _FILE]
        prefix = listing.directory.rstrip(os.sep) + os.sep
        if len(keep) == len(listing.names):  # every name a kept file: whole columns
            paths += [prefix + name for name in listing.names]
            for column, values in zip(numbers, (listing.sizes, listing.mtimes, listing.ctimes, listing.inodes)):
                column += values
        else:
            paths += [prefix + listing.names[i] for i in keep]
            for column, values in zip(numbers, (listing.sizes, listing.mtimes, listing.ctimes, listing.inodes)):
                column += [values[i] for i in keep]
    return paths, numbers


#: list_directory's kinds of entries
_FILE, _DIRECTORY, _OTHER = b"f"[0], b"d"[0], b"o"[0]
#: first characters of hidden names (entries.IGNORED_PREFIXES are single characters)
_HIDDEN_FIRST = "".join(IGNORED_PREFIXES)
_NOT_REGULAR = ("NotARegularFile", "not a regular file (FIFO, socket or device)")
#: FileEntry without its Python-level ``__new__`` (a walk makes one per file)
_new_entry = tuple.__new__


def _os_error(errno: int) -> OSError:
    """The OSError subclass of ``errno`` (as the failed call would have raised)."""
    return OSError(errno, os.strerror(errno))


def _file_entry(path: str, st: os.stat_result, partitions: Partitions) -> FileEntry:
    if not stat.S_ISREG(st.st_mode):  # a FIFO would block the reader forever
        return FileEntry(path, -1, st.st_mtime_ns, partitions, *_NOT_REGULAR)
    return FileEntry(path, st.st_size, st.st_mtime_ns, partitions, ctime_ns=st.st_ctime_ns,
                     inode=signed_inode(st.st_ino))


def _error_entry(path: str, exc: OSError, partitions: Partitions) -> FileEntry:
    return FileEntry(path, partitions=partitions, error_type=type(exc).__name__,
                     error=exc.strerror or str(exc))
