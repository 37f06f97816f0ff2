"""What a scan is made of: :class:`FileEntry`, hive partitions, and which files are skipped.

A leaf module: it imports nothing else of the scanner, so the local walk
(:mod:`scanner.sources.local`) and the object-store listing (:mod:`scanner.sources.objectstore`) share it
without importing each other.

Which files are scanned (:class:`Selection`), in this order:

1. a name below a root starting with ``.`` or ``_`` is skipped, file or directory, as a
   pyarrow dataset skips it (``_SUCCESS``, ``_delta_log/``, ``.part-0.crc``, ``_temporary/``);
2. a file matching an ``exclude`` glob is skipped;
3. with ``include`` globs, a file matching none of them is skipped; without, a file
   matching one of :data:`DEFAULT_EXCLUDES` (table-format sidecars: JSON and Avro
   metadata, checksums, text and Markdown files) is skipped;
4. ``ignore`` paths (the index being written) are skipped.

Everything else is scanned, whatever its name: Hive writes Parquet files without an
extension (``000000_0``), so a name is never required to end in ``.parquet``. A file
that is named directly as a root is always scanned (rules 1-3 apply below roots).

A glob is matched (``fnmatch``, case-sensitive) against the file's name and against its
path relative to the root, ``/``-separated; either match counts. So ``*.json`` matches at
any depth and ``metadata/*`` matches everything below a top-level ``metadata`` directory.
"""
from __future__ import annotations

import fnmatch
import os
import re
from collections import Counter
from typing import Iterable, List, NamedTuple, Optional, Sequence, Tuple
from urllib.parse import unquote

__all__ = ["FileEntry", "Partitions", "partition_of", "signed_inode", "Selection", "IGNORED_PREFIXES", "HIVE_NULL",
           "DEFAULT_EXCLUDES", "SKIP_HIDDEN", "SKIP_SIDECAR", "SKIP_EXCLUDED", "SKIP_NOT_INCLUDED",
           "SKIP_INDEX"]

#: Names below a root starting with these are skipped, as pyarrow datasets do.
IGNORED_PREFIXES = (".", "_")
#: The value Hive and pyarrow write for a null partition value.
HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
#: Sidecar files of table formats and lakes, skipped unless ``include`` globs are given:
#: Iceberg's ``metadata/*.metadata.json``, ``snap-*.avro``, manifests and
#: ``version-hint.text``; checksums; READMEs and notes. CSV is *not* here: a CSV file in a
#: Parquet table is more likely a mistake worth reporting than a sidecar.
DEFAULT_EXCLUDES = ("*.json", "*.avro", "*.crc", "*.md", "*.txt", "*.text", "*.log", "*.yaml", "*.yml")

#: Reasons a file is skipped, as the summary counts them.
SKIP_HIDDEN = "hidden name (starts with . or _)"
SKIP_SIDECAR = "sidecar (default excludes)"
SKIP_EXCLUDED = "matched --exclude"
SKIP_NOT_INCLUDED = "matched no --include"
SKIP_INDEX = "a scanner index (the --output file, or another index)"

Partitions = Tuple[Tuple[str, Optional[str]], ...]


class FileEntry(NamedTuple):
    """One file to scan, or one that could not even be listed (``error_type`` set).

    ``path`` is an absolute path, or the URL of a remote object; ``size`` and
    ``mtime_ns`` are -1 when unknown (HTTP objects before their tail is fetched);
    ``etag`` is the object's ETag when a listing gave one; ``ctime_ns`` and ``inode``
    are a local file's ``st_ctime_ns`` and ``st_ino`` (as int64: :func:`signed_inode`; -1
    otherwise), which an incremental rescan compares.
    """

    path: str
    size: int = -1
    mtime_ns: int = -1
    partitions: Partitions = ()
    error_type: Optional[str] = None
    error: Optional[str] = None
    etag: Optional[str] = None
    ctime_ns: int = -1
    inode: int = -1


def signed_inode(inode: int) -> int:
    """``st_ino`` as a signed 64-bit number, as the catalogue's int64 column holds it."""
    return inode - (1 << 64) if inode >= 1 << 63 else inode


def partition_of(name: str) -> Partitions:
    """The hive partition a directory name stands for: ``"year=2024"`` -> ``(("year", "2024"),)``.

    Values are URL-decoded as pyarrow does; :data:`HIVE_NULL` means a null value. A name
    that is not ``key=value`` (with a non-empty key) gives ``()``.
    """
    key, sep, value = name.partition("=")
    if not sep or not key:
        return ()
    value = unquote(value)
    return ((unquote(key), None if value == HIVE_NULL else value),)


class Selection:
    """Which files below a root are scanned (see the module docstring), counting the rest.

    Parameters
    ----------
    include : sequence of str
        Globs; when given, only files matching one are scanned (and the default excludes
        no longer apply).
    exclude : sequence of str
        Globs of files to skip; they win over ``include``.
    ignore : iterable of str
        Exact paths never scanned (the index file being written, and its temporary files).

    Attributes
    ----------
    skipped : collections.Counter
        Reason -> number of files (or hidden directories) skipped so far.
    """

    def __init__(self, include: Sequence[str] = (), exclude: Sequence[str] = (),
                 ignore: Iterable[str] = ()) -> None:
        self.include = tuple(include)
        self.exclude = tuple(exclude)
        self.ignore = frozenset(ignore)
        self.skipped: Counter = Counter()
        self._include = _Globs(self.include)
        self._exclude = _Globs(self.exclude)
        self._ignored_directories = frozenset(os.path.dirname(path) for path in self.ignore)

    def hidden(self, name: str) -> bool:
        """Whether a name below a root is skipped as hidden (counted when it is)."""
        if name.startswith(IGNORED_PREFIXES):
            self.skipped[SKIP_HIDDEN] += 1
            return True
        return False

    def count_hidden(self, count: int) -> None:
        """Count ``count`` names found hidden elsewhere (a directory listing that skipped them)."""
        if count:
            self.skipped[SKIP_HIDDEN] += count

    def keep_names(self, directory: str, relative: str, names: Sequence[str]) -> List[bool]:
        """:meth:`keep` for the files ``names`` of one ``directory`` below a root.

        ``relative`` is the directory's path relative to the root (``/``-separated, ``""``
        for the root itself). The same answers and counts as :meth:`keep` per file, in one
        pass: a directory of a lake holds thousands of files.
        """
        if self.include or self.exclude or directory in self._ignored_directories or _DEFAULT_EXCLUDES.pattern:
            prefix = directory.rstrip(os.sep) + os.sep
            relative_prefix = relative + "/" if relative else ""
            return [self.keep(prefix + name, relative_prefix + name) for name in names]
        suffixes = _DEFAULT_EXCLUDES.suffixes  # the default rules: a test of each name's suffix
        kept = [not name.endswith(suffixes) for name in names]
        sidecars = len(kept) - sum(kept)
        if sidecars:
            self.skipped[SKIP_SIDECAR] += sidecars
        return kept

    def keep(self, path: str, relative: str) -> bool:
        """Whether the file at ``path`` (``relative`` to its root, ``/``-separated) is scanned.

        A skipped file is counted under its reason.
        """
        reason = self._reason(path, relative)
        if reason is None:
            return True
        self.skipped[reason] += 1
        return False

    def _reason(self, path: str, relative: str) -> Optional[str]:
        if self.ignore and (path in self.ignore or _is_temporary_of(path, self.ignore)):
            return SKIP_INDEX
        if not relative:  # a root named directly
            return None
        name = relative.rsplit("/", 1)[-1]
        if self._exclude.match(name, relative):
            return SKIP_EXCLUDED
        if self.include:
            return None if self._include.match(name, relative) else SKIP_NOT_INCLUDED
        return SKIP_SIDECAR if _DEFAULT_EXCLUDES.match(name, relative) else None


class _Globs:
    """A set of globs matched at once: ``*.ext`` globs by suffix, the others by one regex.

    Walking a lake matches every file against them: one ``str.endswith`` and at most two
    regex matches per file, not one ``fnmatch`` per glob and name.
    """

    def __init__(self, globs: Sequence[str]) -> None:
        suffixes = [g[1:] for g in globs if g.startswith("*") and not any(c in g[1:] for c in "*?[")]
        others = [g for g in globs if not (g.startswith("*") and g[1:] in suffixes)]
        self.suffixes = tuple(suffixes)
        self.pattern = re.compile("|".join(map(fnmatch.translate, others))) if others else None

    def match(self, name: str, relative: str) -> bool:
        # a '*' crosses '/' in fnmatch: a '*.ext' glob matches the path exactly when the name matches
        if self.suffixes and name.endswith(self.suffixes):
            return True
        pattern = self.pattern
        return pattern is not None and (pattern.match(name) is not None or pattern.match(relative) is not None)


_DEFAULT_EXCLUDES = _Globs(DEFAULT_EXCLUDES)


def _is_temporary_of(path: str, ignored: frozenset) -> bool:
    """A temporary file ``INDEX.tmp-<pid>-<token>`` of an index being written."""
    base, sep, _ = path.rpartition(".tmp-")
    return bool(sep) and base in ignored
