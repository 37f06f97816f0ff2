"""Catalogue Parquet files (a directory tree, an object-store prefix) into pandas and a Parquet index.

Data flows one way::

    paths ──► discover ──► FileEntry list (path, size, mtime_ns, partitions), in walk order
    URLs  ──► remote.list_url (fsspec listing; HTTP URLs are objects) ──► FileEntry (url, ..., etag)
                 │
                 ▼
            coordinator ── reads each file's tail (one pread of the last 64 KiB, a second
                 │          exact read for a larger footer); remote tails come from a
                 │          remote.Fetcher (threads of fetch_tail, bounded concurrency,
                 │          retries) ... into a free block of ...
                 ▼
            shm (slab)  ── bounded set of /dev/shm blocks owned by the coordinator
                 │          (byte cap, space checked, names carry the owner's PID)
                 │ (batch id, block name, spans)
                 ▼
            workers ×N  ── long-lived spawned processes: attach each block once, parse every
                 │          span with rugo.parquet.read_metadata_from_memoryview, drop the view
                 │ columnar batches (a list per field; failures are rows, not exceptions)
                 ▼
            coordinator ── collects results, progress bar, Ctrl-C, retries after a worker dies
                 │
                 ▼
            catalogue   ── pandas DataFrames ``files`` / ``columns`` / ``row_groups`` with
                            fixed dtypes; ``Catalogue.write`` → one Parquet index file

Public API: :func:`build_catalogue`, :func:`scan_file`, :class:`Catalogue`,
:class:`ScanError`. ``python -m scanner --help`` is the command line.

The names are loaded on first use: every worker process imports this package (for
``scanner.worker``), and must not pay for pandas and pyarrow, which only the coordinator
needs.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, List

from scanner.errors import ScanError

if TYPE_CHECKING:  # pragma: no cover
    from scanner.catalogue import Catalogue, build_catalogue, scan_file

__all__ = ["build_catalogue", "scan_file", "Catalogue", "ScanError"]

_LAZY = {"build_catalogue": "scanner.catalogue", "scan_file": "scanner.catalogue",
         "Catalogue": "scanner.catalogue"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'scanner' has no attribute {name!r}")


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))
