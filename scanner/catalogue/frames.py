"""A catalogue table as Arrow (a :data:`Part`), as a DataFrame, and nested in the index.

A part is what the catalogue keeps: one Arrow table, no Python object per row (bounds as
kind, text and typed copies: :mod:`scanner.catalogue.bounds`). DataFrames are made from
it only when asked for (:func:`to_frame`, importing pandas then). Writing the index needs
no pandas at all.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from scanner.catalogue.bounds import (KIND_TYPE, decode_bounds, encode_bounds, from_index_bounds, index_bounds,
                                      object_array, typed_bounds)
from scanner.catalogue.index import INDEX_FORMAT, nested_name
from scanner.entries import FileEntry
from scanner.fields import FILES, Field, stored

OBJECT_KINDS = ("strs", "value")

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: The index's Arrow type of each column kind (:func:`scanner.fields.stored`).
ARROW_TYPES = {"int": pa.int64(), "str": pa.string(), "bool": pa.bool_(), "float": pa.float64(),
               "kind": pa.string(), "strs": pa.list_(pa.string()), "category": pa.dictionary(pa.int32(), pa.string())}
#: In-memory types where they differ from the index's (see :mod:`scanner.catalogue.bounds`).
_MEMORY_TYPES = {**ARROW_TYPES, "kind": KIND_TYPE}

#: One catalogue table as Arrow: the columns :func:`scanner.fields.stored` names. The
#: ``columns`` and ``row_groups`` parts name their file by ``file_id`` (its row in the
#: ``files`` part), not by ``file_name``: a path repeated on every column row of a large
#: lake is most of the table, and the index nests by position anyway.
Part = pa.Table


def empty_part(fields: Sequence[Field]) -> Part:
    """A nested part with no rows."""
    plain = {"file_id": pa.array([], pa.int64())}
    plain.update((name, pa.array([], _MEMORY_TYPES[kind])) for name, kind in stored(tuple(fields))
                 if name != "file_name")
    return pa.table(plain)


def to_frame(part: Part, fields: Sequence[Field], file_names: Optional[pa.Array] = None) -> "pd.DataFrame":
    """The DataFrame of a part, columns in field order, with the fixed dtypes.

    ``int`` fields become pandas ``Int64``, ``str`` ``string``, ``bool`` ``boolean`` (all
    nullable), ``category`` the Arrow-backed ``dictionary<int32, string>[pyarrow]``
    (one string per distinct value, whatever the rows); ``stats_min`` / ``stats_max`` are objects (Python values, decoded by
    :func:`decode_bounds`) and ``key_value_keys`` lists. ``file_names`` (the ``files``
    part's) turns a nested part's ``file_id`` into ``file_name``.
    """
    import pandas as pd

    category = ARROW_TYPES["category"]
    mapping = {pa.int64(): pd.Int64Dtype(), pa.string(): pd.StringDtype(), pa.large_string(): pd.StringDtype(),
               pa.bool_(): pd.BooleanDtype(), category: pd.ArrowDtype(category)}
    plain = part
    if "file_id" in plain.column_names:
        plain = plain.append_column("file_name", pc.take(file_names, plain.column("file_id")))
    typed = plain.select([f.name for f in fields if f.kind not in OBJECT_KINDS])
    categories = {f.name for f in fields if f.kind == "category"}
    for position, field in enumerate(typed.schema):
        if field.name in categories:  # kept encoded: one string per distinct value
            typed = typed.set_column(position, field.name, typed.column(position).cast(category))
        elif pa.types.is_dictionary(field.type):  # few-valued text: plain strings here
            typed = typed.set_column(position, field.name, typed.column(position).cast(field.type.value_type))
    frame = typed.to_pandas(types_mapper=mapping.get)
    objects: Dict[str, Any] = {}
    bound_columns: Dict[str, Any] = {}
    if any(f.kind == "value" for f in fields):
        objects.update(decode_bounds(plain))
        bound_columns = typed_bounds(plain)
    for f in fields:
        if f.kind == "strs":
            objects[f.name] = object_array(plain.column(f.name).to_pylist())
    for name, values in objects.items():
        frame[name] = pd.Series(values, dtype=object)
    frame = frame[[f.name for f in fields]]
    return frame.assign(**bound_columns) if bound_columns else frame


def from_frame(frame: "pd.DataFrame", fields: Sequence[Field], file_names: Optional[pa.Array] = None) -> Part:
    """The part of a DataFrame with the columns of ``fields``.

    With ``file_names`` (the ``files`` part's), a nested table's ``file_name`` becomes its
    ``file_id``; a name that is not among them is a ``ValueError``.
    """
    plain: Dict[str, pa.Array] = {}
    for f in fields:
        if f.kind == "value":
            if f.name == "stats_min":
                plain.update(encode_bounds(list(frame["stats_min"]), list(frame["stats_max"])))
        elif f.kind == "category":  # the dictionary as it is
            plain[f.name] = pa.array(frame[f.name]).cast(ARROW_TYPES[f.kind])
        else:
            plain[f.name] = pa.array(frame[f.name].to_numpy(dtype=object, na_value=None), ARROW_TYPES[f.kind])
    if file_names is not None:
        file_id = pc.index_in(plain.pop("file_name"), value_set=file_names)
        if file_id.null_count:
            raise ValueError("a row names a file that is not in the files table")
        plain = {"file_id": file_id.cast(pa.int64()), **plain}
    return pa.table(plain) if plain else pa.table({})


def index_arrays(part: Part, fields: Sequence[Field]) -> Dict[str, pa.Array]:
    """The index's columns of a part (:func:`scanner.fields.stored`, index types; bounds by
    :func:`index_bounds`)."""
    out: Dict[str, pa.Array] = {}
    for name, kind in stored(tuple(fields)):
        if name == "stats_kind":
            out.update(index_bounds(part))
        elif name not in out:
            out[name] = part.column(name).cast(ARROW_TYPES[kind]).combine_chunks()
    return out


def from_index(table: pa.Table, fields: Sequence[Field]) -> Part:
    """Inverse of :func:`index_arrays` (``table`` has ``file_name``, or a nested table's
    ``file_id``, and the index columns)."""
    columns = {"file_id": table.column("file_id")} if "file_id" in table.column_names else {}
    for name, kind in stored(tuple(fields)):
        if name == "stats_kind":
            columns.update(from_index_bounds(table))
        elif name not in columns and not (name == "file_name" and "file_id" in columns):
            columns[name] = table.column(name)
    return pa.table(columns)


def files_fields(partition_columns: Sequence[str]) -> Tuple[Field, ...]:
    """The ``files`` columns: :data:`FILES`, then the partition columns."""
    return FILES + tuple(Field(name, "str", "hive partition value") for name in partition_columns)


def partition_columns(entries: Sequence[FileEntry], keys: Optional[Sequence[str]] = None
                      ) -> Dict[str, List[Optional[str]]]:
    """One list of values per partition key, keys in first-seen order (or ``keys``, the
    keys of a larger listing these entries are part of, as :func:`partition_columns`
    named them).

    A key named like a fixed ``files`` column becomes ``partition_<key>``.
    """
    if keys is not None:
        fixed = {f.name for f in FILES}
        raw = {(key[len("partition_"):] if key.startswith("partition_") and key[len("partition_"):] in fixed
                else key): key for key in keys}
        found = [dict(e.partitions) for e in entries]
        return {column: [p.get(key) for p in found] for key, column in raw.items()}
    if not any(e.partitions for e in entries):  # no hive directory anywhere
        return {}
    as_dict: Dict[Any, Dict[str, Optional[str]]] = {}  # the files of a directory share its partitions
    partitions = [as_dict.get(e.partitions) or as_dict.setdefault(e.partitions, dict(e.partitions))
                  for e in entries]
    keys = dict.fromkeys(key for p in as_dict.values() for key in p)
    fixed = {f.name for f in FILES}
    return {f"partition_{key}" if key in fixed else key: [p.get(key) for p in partitions] for key in keys}


def sorted_by_file(part: Part) -> Part:
    """A nested part with its rows in ``file_id`` order (stable)."""
    owner = part.column("file_id").to_numpy()
    if len(owner) > 1 and (np.diff(owner) < 0).any():
        return part.take(pa.array(np.argsort(owner, kind="stable")))
    return part


def nest(part: Part, table: str, fields: Sequence[Field], files: int, first: int = 0) -> pa.Array:
    """A nested part's rows (sorted by file, see :func:`sorted_by_file`) as a
    ``list<struct>`` per file: ``files`` of them, from file ``first`` on; the struct's
    fields named as the index names those of ``table`` (:func:`nested_name`)."""
    owner = part.column("file_id").to_numpy() - first
    arrays = index_arrays(part, [f for f in fields if f.name != "file_name"])
    structs = pa.StructArray.from_arrays(list(arrays.values()), names=[nested_name(table, n) for n in arrays])
    counts = np.bincount(owner, minlength=files)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), structs)


def unnest(table: pa.Table, name: str, fields: Sequence[Field], format: int = INDEX_FORMAT) -> Part:
    """Inverse of :func:`nest`: a part with the ``file_id`` of each nested row (from an
    index of ``format``)."""
    if name not in table.column_names:
        return empty_part(fields)
    bare = {nested_name(name, column, format): column for column, _ in stored(tuple(fields))}
    pieces: Dict[str, List[pa.Array]] = {}
    first = 0
    for lists in table.column(name).chunks:  # chunk by chunk: concatenating nested data costs more
        structs = lists.flatten()
        pieces.setdefault("file_id", []).append(pc.add(pc.list_parent_indices(lists).cast(pa.int64()), first))
        for child, array in zip(structs.type, structs.flatten()):
            pieces.setdefault(bare.get(child.name, child.name), []).append(array)
        first += len(lists)
    if not pieces:
        return empty_part(fields)
    return from_index(pa.table({key: pa.chunked_array(arrays) for key, arrays in pieces.items()}), fields)
