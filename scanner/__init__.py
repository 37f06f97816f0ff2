"""Catalogue Parquet files (a directory tree, an object-store prefix) into pandas and a Parquet index.

Data flows one way::

  sources/        paths ──► local.walk_root (C listing, no GIL)         ──┐ FileEntry: path, size,
  (entries.py:    URLs  ──► objectstore.list_url (fsspec, paged)        ──┤ mtime_ns, partitions,
   Selection)     skipped: hidden, sidecars, globs, the index (counted)  │ etag; discovery order
                                                                         ▼
  engine/local/   coordinator ── load_tails (C, no GIL): a batch of tails per shm block; remote
                       │         tails from objectstore.Fetcher threads; small scans: here
                       │ (batch id, block name, spans)       ▲ the pool is started while the
                       ▼                                     │ walk still runs
                  workers ×N ── long-lived, forked: map each block once (read-only), one
                       │         C call per batch (rugo._footer.parse_batch): footers -> rows
                       │ one batch: Arrow-layout buffers (bounds: kind, text, typed copies);
                       │ failures are rows
                       ▼
  engine/         results.Results ── each batch -> Arrow on arrival (from_buffers, few-valued
                       │             text dictionary-encoded); tables chunked in file order
                       ▼
  catalogue/      Catalogue ── Arrow parts; DataFrames (fixed dtypes, fields.py) made when
                       │       asked for; write -> one Parquet index, in slices (index.py)
                       ▼
  incremental.py  rescans: entries split into reused (rows from the earlier catalogue) and
                  to scan, merged in discovery order; an unchanged lake answered from the
                  index's digest and summary before pyarrow is imported
  query/          answers: partitions(), health() (HealthRules), prune(filters), where.py (SQL),
                  expression.py (pyarrow Expressions as DNF),
                  drift.py (schema versions, changes, unified schema; arrow_types.py)
  report/         the HTML report: page.py gathers the answers and aggregates, figures.py
                  draws them (matplotlib, inline SVG), groups.py the partition/time axis

Imports point down only: ``entries`` and ``fields`` at the bottom, then ``sources``,
``engine``, ``query`` (Arrow in, DataFrames out), ``catalogue``, ``report`` (a catalogue
in, a page out; ``Catalogue.report`` imports it when called), ``scan`` (the entry points)
and ``__main__`` at the top.

Public API: :func:`build_catalogue`, :func:`scan_file`, :class:`Catalogue`,
:class:`HealthRules`, :class:`ScanError`, :class:`SchemaConflict`. ``python -m scanner --help`` is the command line.

The names are loaded on first use: every worker process imports this package (for
``scanner.engine.local.worker``), and must not pay for pandas and pyarrow, which only the
coordinator needs.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, List

from scanner.errors import ScanError, SchemaConflict

if TYPE_CHECKING:  # pragma: no cover
    from scanner.catalogue import Catalogue
    from scanner.query.health import HealthRules
    from scanner.scan import build_catalogue, scan_file

__all__ = ["build_catalogue", "scan_file", "Catalogue", "HealthRules", "ScanError", "SchemaConflict"]

_LAZY = {"build_catalogue": "scanner.scan", "scan_file": "scanner.scan", "Catalogue": "scanner.catalogue",
         "HealthRules": "scanner.query.health"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'scanner' has no attribute {name!r}")


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))
