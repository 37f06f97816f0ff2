"""Incremental rescans: read only the files that changed since an earlier catalogue.

A rescan walks (or lists) the roots as a full scan does, then sorts each file found:

* **reused**: the earlier catalogue has an ok row for its path with the same identity.
  A local file's identity is its size, ``mtime_ns``, ``ctime_ns`` and inode: a rewrite
  that puts back the size and mtime (``touch -d``, ``os.utime``) still moves the inode's
  change time, and a file replaced by another (rename, new hard link) has another inode
  or a new change time. A remote object's identity is its ETag when the listing gives
  one (and its size), else its size and last-modified time; an HTTP(S) URL, which no
  listing describes, is always read again.
* **added**: a path the earlier catalogue does not have;
* **changed**: a path whose identity differs;
* **retried**: a path that failed before and has the same identity (failures are read
  again: a permission fixed, a worker that died, a larger ``shm_bytes``);

and files of the earlier catalogue no longer found are **removed**. Only added, changed
and retried files are read; the rows of reused files are taken from the earlier
catalogue. The result equals a full scan's, field for field, in the same order.

What it cannot catch: a file rewritten in place with the same size, mtime, ctime and
inode (only possible by setting the clock back, or on a file system whose ctime does not
move); a remote object rewritten with the same size and last-modified time where the
store gives no ETag.

An earlier catalogue is used only when it can stand in for a scan (:func:`plan`): the same
roots, the same or a deeper detail, and an index format that records ``ctime_ns`` and
``inode`` (format 3 on). Otherwise the rescan is a full scan, and
:attr:`Rescan.reason` says why in one line.

**Nothing changed.** An index of local files that all read fine also records a digest of
its listing (:func:`catalogue_digest`: every path, size, mtime, ctime and inode in order,
the skipped counts and the detail) and its summary. The command line walks the roots,
digests what it finds the same way (:func:`listing_digest`) and, when the two agree, prints
that summary without importing pyarrow or pandas or reading the index's rows
(:func:`unchanged_summary`): a rescan of an unchanged lake costs about a walk.

This module imports neither numpy nor pyarrow at import time (only :func:`merge` uses them).
"""
from __future__ import annotations

import hashlib
import json
import os
from array import array
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from rugo.remote import is_url
from scanner.entries import FileEntry
from scanner.fields import DETAILS, FILES, parsed, stored
from scanner.index_format import INDEX_FORMAT, INDEX_METADATA_KEY, MANIFEST

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

__all__ = ["Rescan", "Split", "plan", "merge", "normalized_roots", "listing_digest", "catalogue_digest",
           "unchanged_summary", "truncated", "REUSE_FORMAT", "SUMMARY_TOP"]

#: The first index format whose rows a rescan can reuse (it records ctime_ns and inode).
REUSE_FORMAT = 3
#: Rows of each list of the summary kept in the index (``--top`` up to this is served
#: from it when nothing changed).
SUMMARY_TOP = 100


@dataclass
class Rescan:
    """What a rescan did: counts of files by what happened to them, and why it was a full
    scan when it was one (``reason``; ``None`` for an incremental one)."""

    previous: Optional[str] = None
    reason: Optional[str] = None
    added: int = 0
    changed: int = 0
    removed: int = 0
    reused: int = 0
    retried: int = 0
    seconds: float = 0.0
    seconds_saved: Optional[float] = None
    #: nothing differs from the earlier catalogue (its index need not be written again)
    unchanged: bool = False
    changes: List[Tuple[str, str]] = field(default_factory=list)  # (path, added | changed | removed)

    def estimate_saving(self, seconds_per_file: Optional[float], files: int) -> None:
        """``seconds_saved``: what a full scan of ``files`` would have taken at the earlier
        full scan's ``seconds_per_file``, less this scan's time (None: unknown)."""
        if seconds_per_file is not None:
            self.seconds_saved = max(0.0, seconds_per_file * files - self.seconds)

    def as_dict(self) -> Dict[str, Any]:
        """The summary's ``rescan`` section."""
        return {"previous": self.previous, "full": self.reason is not None, "reason": self.reason,
                "added": self.added, "changed": self.changed, "removed": self.removed, "reused": self.reused,
                "retried": self.retried, "unchanged": self.unchanged, "seconds": round(self.seconds, 3),
                "seconds_saved": None if self.seconds_saved is None else round(self.seconds_saved, 3)}


def normalized_roots(paths: Iterable[Any]) -> List[str]:
    """The roots as a catalogue records them: absolute local paths, URLs as given."""
    out = []
    for path in paths:
        name = os.fspath(path)
        out.append(name if is_url(name) else os.path.abspath(name))
    return out


def plan(index_format: Optional[int], previous_roots: Sequence[str], previous_detail: str, roots: Sequence[str],
         detail: str) -> Optional[str]:
    """Why an earlier catalogue (of ``index_format``, None when made by a scan, and of
    ``previous_roots`` and ``previous_detail``) cannot stand in for a scan of ``roots`` at
    ``detail``, in one line; ``None`` when it can."""
    if index_format is not None and index_format < REUSE_FORMAT:
        return f"the earlier index is of format {index_format}, which has no ctime_ns and inode to compare: full scan"
    if list(previous_roots) != list(roots):  # the order of the roots is the order of the files
        was = ", ".join(previous_roots) or "unknown roots"
        return f"the earlier index is of other roots ({was}): full scan"
    if DETAILS.index(previous_detail) < DETAILS.index(detail):
        return f"the earlier index has detail {previous_detail!r}, less than {detail!r}: full scan"
    return None


class Split:
    """Sorts entries into reused and to-scan against an earlier catalogue's ``files`` part
    (its :data:`IDENTITY` columns are enough; see the module docstring); :meth:`filter`
    runs on the walk's thread."""

    def __init__(self, previous_files: "pa.Table") -> None:
        names = previous_files.column("file_name").to_pylist()
        self._row = dict(zip(names, range(len(names))))
        self._identity = {name: previous_files.column(name).to_pylist() for name in IDENTITY[1:]}
        #: every entry found, in discovery order
        self.entries: List[FileEntry] = []
        #: per entry: its row in the earlier catalogue when reused, else -1
        self.reused_rows: List[int] = []
        self.seen = bytearray(len(names))
        self.added = self.changed = self.retried = 0
        self.changes: List[Tuple[str, str]] = []

    def filter(self, entries: Iterable[FileEntry]) -> Iterator[FileEntry]:
        """The entries to scan, in order; every entry is recorded in :attr:`entries`."""
        for entry in entries:
            row = self._row.get(entry.path, -1)
            self.entries.append(entry)
            if row < 0:
                self.added += 1
                self.changes.append((entry.path, "added"))
            else:
                self.seen[row] = 1
                if self._same(entry, row):
                    if self._identity["status"][row] == "ok":
                        self.reused_rows.append(row)
                        continue
                    self.retried += 1
                else:
                    self.changed += 1
                    self.changes.append((entry.path, "changed"))
            self.reused_rows.append(-1)
            yield entry

    def _same(self, entry: FileEntry, row: int) -> bool:
        if entry.error_type is not None:
            return False  # cannot even be listed now
        ident = self._identity
        if entry.inode != -1:  # a local file (-1: unknown; a wrapped inode may be negative)
            return (entry.size, entry.mtime_ns, entry.ctime_ns, entry.inode) == (
                ident["file_size_bytes"][row], ident["mtime_ns"][row], ident["ctime_ns"][row], ident["inode"][row])
        if entry.etag is not None and ident["etag"][row] is not None:
            return entry.etag == ident["etag"][row] and entry.size == ident["file_size_bytes"][row]
        return entry.size >= 0 and entry.mtime_ns >= 0 and (entry.size, entry.mtime_ns) == (
            ident["file_size_bytes"][row], ident["mtime_ns"][row])

    def removed(self, names: "pa.ChunkedArray") -> List[str]:
        """Paths of the earlier catalogue not found this time (``names``: its file names)."""
        return [names[i].as_py() for i, seen in enumerate(self.seen) if not seen]


#: The ``files`` columns a rescan compares (:class:`Split`).
IDENTITY = ["file_name", "file_size_bytes", "mtime_ns", "ctime_ns", "inode", "etag", "status"]
#: The ``files`` columns a footer fills (the rest come from the listing).
PARSED_FILES = [name for name, _ in stored(parsed(FILES))]


def merge(split: Split, previous: Dict[str, "pa.Table"], scanned: Dict[str, "pa.Table"], detail: str,
          whole_files: bool = False) -> Tuple["pa.Table", "pa.Table", "pa.Table"]:
    """The parsed ``files`` columns (``whole_files``: every column; one row per entry of
    ``split``, in order) and the ``columns`` and ``row_groups`` parts (``file_id``: the
    entry's position) of a rescan, from the earlier catalogue's parts (reused files) and
    those of the files scanned now.

    Entries come in runs (reused files that were neighbours before, files scanned one
    after the other): each run is one slice of a part, so the rows are not copied.
    """
    import numpy as np
    import pyarrow as pa

    runs = _runs(split.reused_rows)
    names = previous["files"].column_names if whole_files else PARSED_FILES
    files = _spliced(runs, previous["files"].select(names), scanned["files"].select(names), None)
    nested = []
    for name in ("columns", "row_groups"):
        if DETAILS.index(detail) < DETAILS.index(name):
            nested.append(scanned[name].slice(0, 0))
            continue
        old = previous[name]
        owners = old.column("file_id").to_numpy()
        if len(owners) > 1 and (np.diff(owners) < 0).any():  # a part made from a DataFrame
            old = old.take(pa.array(np.argsort(owners, kind="stable")))
        nested.append(_spliced(runs, old, scanned[name], "file_id"))
    return files, nested[0], nested[1]


def _runs(reused_rows: Sequence[int]) -> List[Tuple[bool, int, int, int]]:
    """``(reused, first row in its source, rows, first entry position)`` per run of entries
    that are consecutive rows of one source (the earlier catalogue, or the scan)."""
    import numpy as np

    rows = np.asarray(reused_rows, dtype=np.int64)
    if not len(rows):
        return []
    reused = rows >= 0
    source = np.where(reused, rows, np.cumsum(~reused) - 1)  # a scanned file's row in the scan
    starts = np.flatnonzero(np.concatenate([[True], (reused[1:] != reused[:-1]) | (source[1:] != source[:-1] + 1)]))
    counts = np.diff(np.append(starts, len(rows)))
    return list(zip(reused[starts].tolist(), source[starts].tolist(), counts.tolist(), starts.tolist()))


def _spliced(runs: List[Tuple[bool, int, int, int]], old: "pa.Table", new: "pa.Table",
             owner: Optional[str]) -> "pa.Table":
    """The rows of ``runs`` from ``old`` (reused) and ``new`` (scanned), in entry order. A
    ``files`` part has one row per file (``owner`` None); a nested part is sorted by its
    ``owner`` column (the file's row), which becomes the entry's position.

    One ``take`` over both tables, by row numbers made with numpy: a run of rows costs no
    Python object (thousands of runs, 1 % of a lake changed, would make thousands of slices
    to concatenate), and the result is contiguous.
    """
    import numpy as np
    import pyarrow as pa

    # in old's types: an index reads back plain strings where a scan has dictionaries
    new = new.select(old.column_names).cast(old.schema)
    if not runs:
        return new.slice(0, 0)
    reused, first, count, position = (np.asarray(values, dtype=np.int64) for values in zip(*runs))
    reused = reused.astype(bool)
    if owner is None:
        low, length = first, count
    else:  # a file's rows: those of its owner value, in a part sorted by owner
        low, high = np.empty_like(first), np.empty_like(first)
        for source, table in ((True, old), (False, new)):
            pick = reused == source
            owners = table.column(owner).to_numpy()
            low[pick] = np.searchsorted(owners, first[pick])
            high[pick] = np.searchsorted(owners, first[pick] + count[pick])
        length = high - low
    starts = np.where(reused, 0, old.num_rows) + low  # row numbers in old + new
    rows = np.repeat(starts - (np.cumsum(length) - length), length) + np.arange(int(length.sum()))
    table = pa.concat_tables([old, new]).take(pa.array(rows))
    if owner is not None:  # each run's rows move from their source's file rows to the entries'
        index = table.column_names.index(owner)
        moved = table.column(index).to_numpy() + np.repeat(position - first, length)
        table = table.set_column(index, owner, pa.array(moved, pa.int64()))
    return table


# ----------------------------------------------------------------------------- nothing changed


def listing_digest(paths: List[str], numbers: Sequence[Sequence[int]], skipped: Dict[str, int], detail: str) -> str:
    """A digest of a listing: the paths in order, then their sizes, ``mtime_ns``,
    ``ctime_ns`` and inodes (``numbers``: those four lists), the skipped counts and the
    detail."""
    return _digest("\0".join(paths).encode("utf-8", "surrogatepass"),
                   [array("q", column).tobytes() for column in numbers], len(paths), skipped, detail)


def _digest(paths: Any, numbers: List[bytes], count: int, skipped: Dict[str, int], detail: str) -> str:
    digest = hashlib.blake2b(digest_size=16)
    digest.update(paths)
    for column in numbers:
        digest.update(column)
    digest.update(json.dumps([count, sorted(skipped.items()), detail]).encode())
    return digest.hexdigest()


def catalogue_digest(files: "pa.Table", skipped: Dict[str, int], detail: str) -> Optional[str]:
    """:func:`listing_digest` of a catalogue's ``files`` part; None unless every file is a
    local file that read fine (anything else is read again by a rescan anyway)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    numbers = [files.column(name) for name in ("file_size_bytes", "mtime_ns", "ctime_ns", "inode")]
    if pc.all(pc.equal(files.column("status"), "ok")).as_py() is False or any(c.null_count for c in numbers):
        return None
    # the bytes listing_digest hashes, made by Arrow: the paths joined, the numbers as int64
    names = files.column("file_name").combine_chunks().cast(pa.string())
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(names)], pa.int32()), names), "\0")[0]
    return _digest(joined.as_buffer() if joined.is_valid else b"",
                   [column.to_numpy().astype("int64").tobytes() for column in numbers], len(names), skipped, detail)


def truncated(summary: Dict[str, Any], top: int) -> Dict[str, Any]:
    """A catalogue's summary made with a larger ``top`` as ``summary(top)`` makes it."""
    out = dict(summary)
    for name in ("schemas", "largest_footers", "errors"):
        out[name] = out[name][:top]
    out["more_errors"] = max(0, out["failed"] - top)
    return out


def unchanged_summary(index: str, roots: Sequence[str], detail: str, selection: Any,
                      top: int) -> Optional[Dict[str, Any]]:
    """The summary the index at ``index`` keeps, with the report (``rescan``) of a rescan
    that found nothing to do, when a walk of ``roots`` (with ``selection``) digests as the
    index's listing did; None when anything differs or cannot be told (then: scan).

    Reads the index's footer with ``rugo`` (a partitioned index's manifest as JSON) and
    walks with :mod:`scanner.sources.local`: no pyarrow, no pandas, no row of the index.
    """
    import time

    from rugo import parquet
    from scanner.sources import iter_entries
    from scanner.sources.local import file_columns

    started = time.perf_counter()
    if any(is_url(root) for root in roots) or top > SUMMARY_TOP:
        return None
    try:
        if os.path.isdir(index):
            with open(os.path.join(index, MANIFEST), "rb") as f:
                meta = json.loads(f.read())
        else:
            meta = json.loads(parquet.read_metadata(index)["key_value_metadata"][INDEX_METADATA_KEY])
    except Exception:  # not there, not an index, not ours: the scan will say
        return None
    if (meta.get("format"), meta.get("roots"), meta.get("detail")) != (INDEX_FORMAT, list(roots), detail) or \
            not meta.get("listing_digest") or not meta.get("summary"):
        return None
    if len(roots) == 1:  # a directory: its listings as columns, no object per file
        found = file_columns(roots[0], selection)
        if found is None:
            return None
        paths, numbers = found
    else:
        entries = list(iter_entries(roots, None, selection, missing_ok=True))
        if any(entry.error_type is not None or entry.inode == -1 for entry in entries):
            return None
        paths = [e.path for e in entries]
        numbers = [[e.size for e in entries], [e.mtime_ns for e in entries], [e.ctime_ns for e in entries],
                   [e.inode for e in entries]]
    if listing_digest(paths, numbers, selection.skipped, detail) != meta["listing_digest"]:
        return None
    summary = truncated(meta["summary"], top)
    rescan = Rescan(index, None, reused=len(paths), seconds=time.perf_counter() - started, unchanged=True)
    rescan.estimate_saving(meta.get("seconds_per_file"), len(paths))
    summary["rescan"] = rescan.as_dict()
    return summary
