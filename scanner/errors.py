"""Errors of the scanner itself (problems with a *file* become error rows, not exceptions)."""
from __future__ import annotations

__all__ = ["ScanError", "SchemaConflict", "WORKER_CRASHED", "FILE_CHANGED", "TOO_LARGE"]

#: ``error_type`` of a file whose parse killed a worker process twice.
WORKER_CRASHED = "WorkerCrashed"
#: ``error_type`` of a file that changed between its listing and its read, or during the read.
FILE_CHANGED = "FileChanged"
#: ``error_type`` of a file whose footer does not fit in the shared-memory byte cap.
TOO_LARGE = "FooterTooLarge"


class ScanError(Exception):
    """The scan as a whole cannot go on.

    Raised for a missing input path, a ``/dev/shm`` without room for the slab, or workers
    that cannot start. Anything wrong with a single file is reported as an error row of
    the catalogue instead.
    """


class SchemaConflict(ScanError):
    """No schema holds every file's: a column has types that do not promote to one
    (:meth:`scanner.Catalogue.unified_schema`). The message names the column, its two
    types and a file with each."""
