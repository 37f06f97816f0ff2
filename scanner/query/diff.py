"""What changed between two catalogues of a lake: files added, changed and removed, and for a
changed file, how its schema changed.

A file is matched by path. It is *changed* when what the listing says of it differs (size,
``mtime_ns``, ``ctime_ns``, inode, ETag) or what its footer says does (status, error, rows,
row groups, footer size, schema fingerprint). Its schema change is given column by column,
as :mod:`scanner.query.drift` compares versions (``+score double``, ``-name``,
``id int32 -> int64``, ``user_name -> customer_name``, ``tags nullable``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, Optional

import pyarrow as pa

from scanner.query.drift import Version, canonical_columns, changes

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["diff", "DIFF_FIELDS", "COMPARED"]

#: ``files`` columns whose difference makes a file changed.
COMPARED = ("file_size_bytes", "mtime_ns", "ctime_ns", "inode", "etag", "status", "error", "num_rows",
            "num_row_groups", "footer_size", "schema_fingerprint")
#: The columns of :func:`diff`: name -> meaning.
DIFF_FIELDS: Dict[str, str] = {
    "file_name": "the file",
    "change": "added, changed or removed",
    "status_before": "ok / error in the earlier catalogue (null when added)",
    "status_after": "ok / error now (null when removed)",
    "rows_before": "rows before",
    "rows_after": "rows now",
    "differs": "changed: the compared fields that differ, comma-separated",
    "schema_changes": "changed: the column changes, `; `-separated (`+score double`, `id int32 -> int64`)",
}


def diff(new: pa.Table, old: pa.Table) -> "pd.DataFrame":
    """The files added, changed and removed from ``old`` to ``new`` (two ``files`` parts):
    added and changed in ``new``'s order, then removed in ``old``'s (:data:`DIFF_FIELDS`)."""
    import pandas as pd

    before = {name: old.column(name).to_pylist() for name in ("file_name",) + COMPARED + ("schema_columns",)}
    after = {name: new.column(name).to_pylist() for name in ("file_name",) + COMPARED + ("schema_columns",)}
    row_of = {name: i for i, name in enumerate(before["file_name"])}
    rows: List[Dict[str, object]] = []
    found = set()
    for j, name in enumerate(after["file_name"]):
        i = row_of.get(name)
        if i is None:
            rows.append(_row(name, "added", None, (after, j)))
            continue
        found.add(i)
        differs = [field for field in COMPARED if before[field][i] != after[field][j]]
        if differs:
            row = _row(name, "changed", (before, i), (after, j))
            row["differs"] = ", ".join(differs)
            row["schema_changes"] = _schema_changes(before["schema_columns"][i], after["schema_columns"][j])
            rows.append(row)
    rows += [_row(name, "removed", (before, i), None) for i, name in enumerate(before["file_name"]) if i not in found]
    frame = pd.DataFrame(rows, columns=list(DIFF_FIELDS))
    return frame.astype({"file_name": "string", "change": "string", "status_before": "string",
                         "status_after": "string", "rows_before": "Int64", "rows_after": "Int64", "differs": "string",
                         "schema_changes": "string"})


def _row(name: str, change: str, before: Optional[tuple], after: Optional[tuple]) -> Dict[str, object]:
    def get(side: Optional[tuple], field: str) -> object:
        return None if side is None else side[0][field][side[1]]

    return {"file_name": name, "change": change, "status_before": get(before, "status"),
            "status_after": get(after, "status"), "rows_before": get(before, "num_rows"),
            "rows_after": get(after, "num_rows"), "differs": None, "schema_changes": None}


def _schema_changes(old: Optional[str], new: Optional[str]) -> Optional[str]:
    """The column changes between two ``schema_columns`` texts (None: the same, or one
    of the two files failed)."""
    if old is None or new is None or old == new:
        return None
    parts = []
    for c in changes(Version("", canonical_columns(old)), Version("", canonical_columns(new))):
        kind = c["change"]
        if kind == "added":
            parts.append(f"+{c['column']} {c['to_type']}")
        elif kind == "removed":
            parts.append(f"-{c['column']}")
        elif kind == "renamed":
            parts.append(f"{c['from_column']} -> {c['column']} (a guess)")
        elif kind == "type_changed":
            parts.append(f"{c['column']} {c['from_type']} -> {c['to_type']}")
        else:
            parts.append(f"{c['column']} {'nullable' if c['to_nullable'] else 'required'}")
    return "; ".join(parts) or None
