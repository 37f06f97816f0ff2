"""Schema drift: the lake's schema versions, what changed between them, and one schema for all.

Built on the ``files`` part's ``schema_columns`` (each file's top-level fields as
``read_metadata`` gives them), so it works the same on a fresh scan and on an index.

**Canonical versions.** A file's schema is the set of its top-level columns, each a name, a
type and whether it is nullable. The type is the logical type string when the file
annotates one, else the physical type: an ``int64`` with or without the INTEGER annotation
is ``int64`` (polars writes none, duckdb does), and every LIST layout of LogicalTypes.md
(``a.list.element``, legacy ``a.array``, ``a.bag.array_item``) is ``array<...>``. Column
order and the writer's field ids and root name are not part of a version. Nullability is
that of the top-level field; nested fields are compared by type only.

**Order of appearance.** Files are ordered by hive partition (typed values, as
:func:`scanner.query.partitions.partitions` types them, nulls last), then ``mtime_ns``, then
path. A version *appears* at its first file in that order, and is compared with the
version of the file just before it.

**Changes.** One row per column that differs: ``added``, ``removed``, ``type_changed``,
``nullability_changed`` or ``renamed``. A rename is a guess, labelled ``guess=True``: a
column removed and another added at the same position, with the same type and
nullability. A type change is ``widening`` when every value of the old type is a value of
the new one (wider ints, unsigned into a wider signed int, ints of up to 32 bits into
double, float into double, decimals that keep their integer digits and scale, a coarser
timestamp or time unit into a finer one down to microseconds); making a column nullable is
widening too.

**Unified schema.** :func:`unified_schema` is ``pyarrow.unify_schemas`` over the versions in
order of appearance, with permissive promotion; where none exists it raises
:class:`~scanner.errors.SchemaConflict` naming the column and a file of each side.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from scanner.errors import ScanError, SchemaConflict
from scanner.query.arrow_types import arrow_type
from scanner.query.health import partition_labels
from scanner.query.partitions import typed_partition_values

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["Column", "Version", "CHANGES", "DRIFT_FIELDS", "VERSION_FIELDS", "versions",
           "schema_versions", "schema_drift", "unified_schema", "version_count", "changes", "canonical_columns",
           "is_widening"]

#: The kinds of change, in the order a version's rows come.
CHANGES = ("added", "removed", "renamed", "type_changed", "nullability_changed")

#: The columns of :func:`schema_versions`: name -> meaning.
VERSION_FIELDS: Dict[str, str] = {
    "version": "canonical schema version: 16 hex digits of its columns",
    "columns": "top-level columns",
    "files": "ok files of this version",
    "first_file": "where it appears first (order of appearance)",
    "first_partition": "the hive partition of that file (`key=value/...`; null without partitions)",
    "first_mtime": "that file's modification time (UTC)",
    "schema": "its columns, `name: type` (`?` after the type: nullable), in the first file's order",
}
#: The columns of :func:`schema_drift`: name -> meaning.
DRIFT_FIELDS: Dict[str, str] = {
    "column": "the column (its new name for a rename)",
    "change": "added, removed, renamed, type_changed or nullability_changed",
    "from_column": "renamed: the old name",
    "from_type": "type before (null when added)",
    "to_type": "type after (null when removed)",
    "from_nullable": "nullable before",
    "to_nullable": "nullable after",
    "widening": "type_changed / nullability_changed: every old value fits the new form",
    "guess": "true for a rename: inferred from position and type, not recorded in the files",
    "from_version": "the version before",
    "to_version": "the version where the change appears",
    "first_file": "the first file of the new version",
    "first_partition": "its hive partition",
    "files_before": "ok files with the column in the old form (added: without the column)",
    "files_after": "ok files with the column in the new form (removed: without the column)",
}


@dataclass(frozen=True)
class Column:
    """A top-level column of a canonical version."""

    name: str
    type: str
    nullable: bool


@dataclass
class Version:
    """A canonical schema version and where it appears."""

    key: str
    columns: Tuple[Column, ...]  # in the order of its first file
    files: int = 0
    first: int = -1  # row of its first file in ``files``

    def by_name(self) -> Dict[str, Column]:
        return {c.name: c for c in self.columns}


def canonical_columns(text: str) -> Tuple[Column, ...]:
    """The columns of a ``schema_columns`` JSON text, types made canonical."""
    return tuple(Column(c["name"], c["logical_type"] or c["physical_type"], bool(c["nullable"]))
                 for c in json.loads(text))


def _version_key(columns: Sequence[Column]) -> str:
    canonical = json.dumps(sorted((c.name, c.type, c.nullable) for c in columns), separators=(",", ":"))
    return hashlib.blake2b(canonical.encode(), digest_size=8).hexdigest()


@dataclass
class Drift:
    """The versions of a lake's ok files, with each file's version (``None``: not ok)."""

    versions: List[Version]  # in order of appearance
    order: np.ndarray  # rows of ``files`` (ok ones) in order of appearance
    version_of: np.ndarray  # per row of ``files``: index into ``versions``, -1 if not ok
    labels: List[Optional[str]]  # per version: hive partition of its first file


def versions(files: pa.Table, keys: Sequence[str]) -> Drift:
    """The canonical versions of the ok files of a ``files`` part, in order of appearance.

    Raises
    ------
    ScanError
        Ok files without ``schema_columns`` (an index written before rugo recorded them).
    """
    canonical, dictionary, codes, version_of = _canonical(files)
    order = _appearance_order(files, keys, version_of >= 0)
    found, position = np.unique(version_of[order], return_index=True)  # each version's first position
    counts = np.bincount(version_of[version_of >= 0], minlength=len(canonical))
    renumber = np.full(len(canonical) + 1, -1, dtype=np.int64)  # [-1] stays -1: not ok
    out = []
    for new, i in enumerate(np.argsort(position, kind="stable").tolist()):
        old, first = int(found[i]), int(order[position[i]])
        version = canonical[old]
        version.files, version.first = int(counts[old]), first
        # the first file's column order (texts of one version may order columns differently)
        version.columns = canonical_columns(dictionary[codes[first]])
        renumber[old] = new
        out.append(version)
    version_of = renumber[version_of]
    label_array = partition_labels(files, keys) if keys else None
    labels = [label_array[v.first].as_py() if label_array is not None else None for v in out]
    return Drift(out, order, version_of, labels)


def version_count(files: pa.Table) -> int:
    """How many canonical versions the ok files of a ``files`` part have (no ordering)."""
    version_of = _canonical(files)[3]
    return len(np.unique(version_of[version_of >= 0]))


def _canonical(files: pa.Table) -> Tuple[List[Version], List[str], np.ndarray, np.ndarray]:
    """The versions of the distinct ``schema_columns`` texts (first text first), the texts,
    each row's text code and each row's version (-1 for both: not ok)."""
    ok = pc.equal(files.column("status"), "ok").to_numpy(zero_copy_only=False)
    column = files.column("schema_columns")
    if (ok & pc.is_null(column).to_numpy(zero_copy_only=False)).any():
        raise ScanError("the catalogue has no schema_columns for its files (an index written by an older rugo): "
                        "scan the lake again to compare schemas")
    dictionary, codes = _encoded(column)
    codes = np.where(ok, codes, -1)
    by_key: Dict[str, int] = {}
    canonical: List[Version] = []
    text_version = np.full(len(dictionary) + 1, -1, dtype=np.int64)  # [-1]: not ok
    for i, text in enumerate(dictionary):
        columns = canonical_columns(text)
        key = _version_key(columns)
        if key not in by_key:
            by_key[key] = len(canonical)
            canonical.append(Version(key, columns))
        text_version[i] = by_key[key]
    return canonical, dictionary, codes, text_version[codes]


def _encoded(column: pa.ChunkedArray) -> Tuple[List[str], np.ndarray]:
    """The distinct texts of a (dictionary or plain) text column and each row's code (-1:
    null), without making a string per row: the texts are long and repeat."""
    if not pa.types.is_dictionary(column.type):
        column = column.dictionary_encode()
    column = column.unify_dictionaries()
    dictionary = column.chunk(0).dictionary.to_pylist() if column.num_chunks else []
    codes = [chunk.indices.fill_null(-1).to_numpy().astype(np.int64) for chunk in column.chunks]
    return dictionary, np.concatenate(codes) if codes else np.zeros(0, np.int64)


def _appearance_order(files: pa.Table, keys: Sequence[str], ok: np.ndarray) -> np.ndarray:
    """Rows of the ok files by (typed partition values, nulls last; mtime_ns; path)."""
    rows = np.flatnonzero(ok)
    if len(rows) < 2:
        return rows
    return rows[_sort(files.take(pa.array(rows)), keys)]


def _sort(files: pa.Table, keys: Sequence[str]) -> np.ndarray:
    columns = {}
    for key in keys:
        columns[key] = pa.array(typed_partition_values(files.column(key).to_pylist()))
    columns["mtime_ns"] = files.column("mtime_ns")
    columns["file_name"] = files.column("file_name")
    table = pa.table(columns)
    return pc.sort_indices(table, sort_keys=[(name, "ascending") for name in columns]).to_numpy()  # nulls last


def schema_versions(files: pa.Table, keys: Sequence[str], drift: Optional[Drift] = None) -> "pd.DataFrame":
    """One row per canonical version, in order of appearance (:data:`VERSION_FIELDS`);
    ``drift``: :func:`versions` of the same arguments, when made already."""
    import pandas as pd

    drift = drift or versions(files, keys)
    names, mtimes = files.column("file_name"), files.column("mtime_ns")
    rows = [{"version": v.key, "columns": len(v.columns), "files": v.files, "first_file": names[v.first].as_py(),
             "first_partition": label, "first_mtime": mtimes[v.first].as_py(),
             "schema": ", ".join(f"{c.name}: {c.type}{'?' if c.nullable else ''}" for c in v.columns)}
            for v, label in zip(drift.versions, drift.labels)]
    frame = pd.DataFrame(rows, columns=list(VERSION_FIELDS))
    frame = frame.astype({"version": "string", "columns": "Int64", "files": "Int64", "first_file": "string",
                          "first_partition": "string", "schema": "string"})
    frame["first_mtime"] = pd.to_datetime(pd.array(frame["first_mtime"], dtype="Int64"), unit="ns", utc=True)
    return frame


def schema_drift(files: pa.Table, keys: Sequence[str], drift: Optional[Drift] = None) -> "pd.DataFrame":
    """One row per column change, version by version in order of appearance
    (:data:`DRIFT_FIELDS`); no rows when every ok file has one version. ``drift``:
    :func:`versions` of the same arguments, when made already."""
    import pandas as pd

    drift = drift or versions(files, keys)
    forms: Counter = Counter()  # (name, type, nullable) -> files; name -> files having it
    for v in drift.versions:
        for c in v.columns:
            forms[(c.name, c.type, c.nullable)] += v.files
            forms[c.name] += v.files
    total = sum(v.files for v in drift.versions)
    names = files.column("file_name")
    rows: List[Dict[str, object]] = []
    for index, version in enumerate(drift.versions[1:], start=1):
        previous = _previous_version(drift, version)
        where = {"from_version": previous.key, "to_version": version.key,
                 "first_file": names[version.first].as_py(), "first_partition": drift.labels[index]}
        for change in changes(previous, version):
            before, after = change.pop("before"), change.pop("after")
            change["files_before"] = total - forms[change["column"]] if before is None else forms[before]
            change["files_after"] = total - forms[change["from_column"] or change["column"]] if after is None \
                else forms[after]
            rows.append({**change, **where})
    frame = pd.DataFrame(rows, columns=list(DRIFT_FIELDS))
    return frame.astype({"column": "string", "change": "string", "from_column": "string", "from_type": "string",
                         "to_type": "string", "from_nullable": "boolean", "to_nullable": "boolean",
                         "widening": "boolean", "guess": "boolean", "from_version": "string",
                         "to_version": "string", "first_file": "string", "first_partition": "string",
                         "files_before": "Int64", "files_after": "Int64"})


def _previous_version(drift: Drift, version: Version) -> Version:
    """The version of the file just before ``version``'s first, in order of appearance."""
    position = int(np.flatnonzero(drift.order == version.first)[0])
    return drift.versions[int(drift.version_of[drift.order[position - 1]])]


def changes(old: Version, new: Version) -> List[Dict[str, object]]:
    """The column changes from ``old`` to ``new`` (dicts of :data:`DRIFT_FIELDS`' column
    fields, plus each side's form as ``before`` / ``after``): renames paired up first."""
    before, after = old.by_name(), new.by_name()
    removed = [c for c in old.columns if c.name not in after]
    added = [c for c in new.columns if c.name not in before]
    old_at = {i: c for i, c in enumerate(old.columns)}
    renamed = {}
    for i, c in enumerate(new.columns):
        was = old_at.get(i)
        if c in added and was in removed and (was.type, was.nullable) == (c.type, c.nullable):
            renamed[c.name] = was
    out: List[Dict[str, object]] = []

    def row(change: str, column: str, was: Optional[Column], now: Optional[Column], widening: Optional[bool] = None,
            from_column: Optional[str] = None) -> None:
        out.append({"column": column, "change": change, "from_column": from_column,
                    "from_type": was.type if was else None, "to_type": now.type if now else None,
                    "from_nullable": was.nullable if was else None, "to_nullable": now.nullable if now else None,
                    "widening": widening, "guess": change == "renamed",
                    "before": (was.name, was.type, was.nullable) if was else None,
                    "after": (now.name, now.type, now.nullable) if now else None})

    for c in added:
        if c.name not in renamed:
            row("added", c.name, None, c)
    gone = {was.name for was in renamed.values()}
    for c in removed:
        if c.name not in gone:
            row("removed", c.name, c, None)
    for name, was in renamed.items():
        row("renamed", name, was, after[name], from_column=was.name)
    for c in new.columns:
        was = before.get(c.name)
        if was is None:
            continue
        if was.type != c.type:
            row("type_changed", c.name, was, c, is_widening(was.type, c.type))
        if was.nullable != c.nullable:
            row("nullability_changed", c.name, was, c, c.nullable)
    return out


_INT_BITS = {f"{sign}int{bits}": (sign == "", bits) for sign in ("", "u") for bits in (8, 16, 32, 64)}
_FLOAT_BITS = {"float16": 16, "float": 32, "double": 64}
_UNIT_RANK = {"ms": 0, "us": 1}


def is_widening(old: str, new: str) -> bool:
    """Whether every value of type string ``old`` is a value of type string ``new`` (see
    the module docstring for the rules)."""
    if old in _INT_BITS and new in _INT_BITS:
        (signed_old, bits_old), (signed_new, bits_new) = _INT_BITS[old], _INT_BITS[new]
        return bits_new > bits_old if signed_new != signed_old and signed_new else \
            signed_new == signed_old and bits_new > bits_old
    if old in _INT_BITS and new == "double":
        return _INT_BITS[old][1] <= 32
    if old in _FLOAT_BITS and new in _FLOAT_BITS:
        return _FLOAT_BITS[new] > _FLOAT_BITS[old]
    try:
        a, b = arrow_type(old), arrow_type(new)
    except ValueError:
        return False
    if pa.types.is_decimal(a) and pa.types.is_decimal(b):
        return b.scale >= a.scale and b.precision - b.scale >= a.precision - a.scale
    if pa.types.is_timestamp(a) and pa.types.is_timestamp(b):
        return a.tz == b.tz and _UNIT_RANK.get(a.unit, 9) < _UNIT_RANK.get(b.unit, -1)
    if pa.types.is_time(a) and pa.types.is_time(b):
        return _UNIT_RANK.get(a.unit, 9) < _UNIT_RANK.get(b.unit, -1)
    return False


def unified_schema(files: pa.Table, keys: Sequence[str]) -> pa.Schema:
    """One Arrow schema holding every ok file's (``pyarrow.unify_schemas``, permissive
    promotion, versions in order of appearance), its fields in order of appearance.

    Raises
    ------
    SchemaConflict
        A column whose types do not promote to one, naming both types and a file of each.
    """
    drift = versions(files, keys)
    names = files.column("file_name")
    unified: Optional[pa.Schema] = None
    origin: Dict[str, int] = {}  # column -> the first file of its current type
    for version in drift.versions:
        schema = pa.schema([pa.field(c.name, _arrow_type_of(c, names[version.first].as_py()), c.nullable)
                            for c in version.columns])
        if unified is None:
            unified, origin = schema, {c.name: version.first for c in version.columns}
            continue
        try:
            merged = pa.unify_schemas([unified, schema], promote_options="permissive")
        except (pa.ArrowInvalid, pa.ArrowTypeError, NotImplementedError) as exc:
            raise _conflict(unified, schema, origin, version, names, exc) from None
        for c in version.columns:
            if c.name not in origin or merged.field(c.name).type != unified.field(c.name).type:
                origin[c.name] = version.first
        unified = merged
    return unified if unified is not None else pa.schema([])


def _arrow_type_of(column: Column, example: str) -> pa.DataType:
    try:
        return arrow_type(column.type)
    except ValueError as exc:
        raise SchemaConflict(f"column {column.name!r} of {example}: {exc}") from None


def _conflict(unified: pa.Schema, schema: pa.Schema, origin: Dict[str, int], version: Version,
              names: pa.ChunkedArray, exc: Exception) -> SchemaConflict:
    """The conflict of ``schema`` (``version``'s) with the schema unified so far, by column."""
    for field in schema:
        if field.name not in unified.names:
            continue
        try:
            pa.unify_schemas([pa.schema([unified.field(field.name)]), pa.schema([field])],
                             promote_options="permissive")
        except (pa.ArrowInvalid, pa.ArrowTypeError, NotImplementedError):
            return SchemaConflict(
                f"no schema holds column {field.name!r}: {unified.field(field.name).type} in "
                f"{names[origin[field.name]].as_py()} but {field.type} in {names[version.first].as_py()}")
    return SchemaConflict(f"no schema holds {names[version.first].as_py()} and the files before it: {exc}")
