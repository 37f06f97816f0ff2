"""Sources: where the files to scan come from.

:func:`discover` turns roots into :class:`~scanner.entries.FileEntry` items in a
deterministic order: local directories are walked (:mod:`scanner.sources.local`), object
store prefixes listed and HTTP(S) URLs taken as objects
(:mod:`scanner.sources.objectstore`, which also fetches remote tails). The same
:class:`~scanner.entries.Selection` rules and hive partitions apply to both.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Iterable, Iterator, List, Mapping, Optional, Set, Union

from scanner.entries import FileEntry, Selection
from scanner.sources.local import walk_root

__all__ = ["discover", "iter_entries"]


#: Lists a prefix or object URL: ``(url, storage_options, selection) -> entries``.
Lister = Callable[[str, Optional[Mapping[str, Any]], Selection], List[FileEntry]]


def discover(paths: Iterable[Union[str, "os.PathLike[str]"]],
             storage_options: Optional[Mapping[str, Any]] = None, selection: Optional[Selection] = None,
             missing_ok: bool = False, list_remote: Optional[Lister] = None) -> List[FileEntry]:
    """All of :func:`iter_entries` as a list (same arguments)."""
    return list(iter_entries(paths, storage_options, selection, missing_ok, list_remote))


def iter_entries(paths: Iterable[Union[str, "os.PathLike[str]"]],
                 storage_options: Optional[Mapping[str, Any]] = None, selection: Optional[Selection] = None,
                 missing_ok: bool = False, list_remote: Optional[Lister] = None) -> Iterator[FileEntry]:
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
    list_remote : callable, optional
        Lists a URL instead of :func:`~scanner.sources.objectstore.list_url` (same
        arguments and result): a distributed listing.

    Yields
    ------
    FileEntry
        In a deterministic order: the roots in the order given, each walked as above.

    Raises
    ------
    ScanError
        A root does not exist or cannot be examined; a prefix cannot be listed (wrong
        endpoint, denied credentials, missing bucket) or holds nothing.
    """
    selection = selection if selection is not None else Selection()
    paths = list(paths)
    seen: Set[str] = set()
    for path in paths:
        path = os.fspath(path)
        if isinstance(path, str) and path.startswith("file://"):
            path = path[len("file://"):]
        if isinstance(path, str) and "://" in path:
            from scanner.sources.objectstore import list_url  # fsspec only when a URL is scanned

            listed: Iterable[FileEntry] = (list_remote or list_url)(path, storage_options, selection)
        else:
            listed = walk_root(os.path.abspath(path), selection, missing_ok)
        if len(paths) == 1:  # a walk of one root names each file once
            yield from listed
            continue
        for entry in listed:
            if entry.path not in seen:
                seen.add(entry.path)
                yield entry
