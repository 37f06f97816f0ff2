"""A catalogue table as Arrow (a :class:`Part`), as a DataFrame, and nested in the index.

A :class:`Part` is what the catalogue keeps: an Arrow table of the typed fields and a
Python list per object field (``value``: a statistics bound, ``strs``: a list of str).
DataFrames are made from it only when asked for (:func:`to_frame`, importing pandas then):
``int`` fields become pandas ``Int64``, ``str`` ``string``, ``bool`` ``boolean`` (all
nullable), the object fields ``object``. Writing the index needs no pandas at all.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from scanner.catalogue.bounds import decode_bounds, encode_bounds
from scanner.entries import FileEntry
from scanner.fields import FILES, Field

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

ARROW_TYPES = {"int": pa.int64(), "str": pa.string(), "bool": pa.bool_(),
               "strs": pa.list_(pa.string()), "value": pa.string()}
OBJECT_KINDS = ("strs", "value")


class Part(NamedTuple):
    """One catalogue table: typed fields as Arrow, object fields as lists, row for row.

    The ``columns`` and ``row_groups`` parts name their file by ``file_id`` (its row in the
    ``files`` part), not by ``file_name``: a path repeated on every column row of a large
    lake is most of the table, and the index nests by position anyway.
    """

    plain: pa.Table
    objects: Dict[str, List[Any]]

    def __len__(self) -> int:
        return self.plain.num_rows

    def take(self, rows: Any) -> "Part":
        """The rows at ``rows`` (indexes), in that order."""
        positions = np.asarray(rows, dtype=np.int64)
        pick = positions.tolist()
        return Part(self.plain.take(pa.array(positions)),
                    {name: [values[i] for i in pick] for name, values in self.objects.items()})


def empty_part(fields: Sequence[Field]) -> Part:
    """A nested part with no rows."""
    plain = {"file_id": pa.array([], pa.int64())}
    plain.update((f.name, pa.array([], ARROW_TYPES[f.kind])) for f in fields
                 if f.kind not in OBJECT_KINDS and f.name != "file_name")
    return Part(pa.table(plain), {f.name: [] for f in fields if f.kind in OBJECT_KINDS})


def to_frame(part: Part, fields: Sequence[Field], file_names: Optional[pa.Array] = None) -> "pd.DataFrame":
    """The DataFrame of a part, columns in field order, with the fixed dtypes.

    ``file_names`` (the ``files`` part's) turns a nested part's ``file_id`` into ``file_name``.
    """
    import pandas as pd

    mapping = {pa.int64(): pd.Int64Dtype(), pa.string(): pd.StringDtype(), pa.large_string(): pd.StringDtype(),
               pa.bool_(): pd.BooleanDtype()}
    plain = part.plain
    if "file_id" in plain.column_names:
        plain = plain.append_column("file_name", pc.take(file_names, plain.column("file_id"))).drop_columns(["file_id"])
    frame = plain.to_pandas(types_mapper=mapping.get)
    for name, values in part.objects.items():
        # fromiter takes each value as it is: lists stay lists instead of becoming a dimension
        frame[name] = pd.Series(np.fromiter(values, dtype=object, count=len(values)), dtype=object)
    return frame[[f.name for f in fields]]


def from_frame(frame: "pd.DataFrame", fields: Sequence[Field], file_names: Optional[pa.Array] = None) -> Part:
    """The part of a DataFrame with the columns of ``fields``.

    With ``file_names`` (the ``files`` part's), a nested table's ``file_name`` becomes its
    ``file_id``; a name that is not among them is a ``ValueError``.
    """
    plain = {f.name: pa.array(frame[f.name].to_numpy(dtype=object, na_value=None), ARROW_TYPES[f.kind])
             for f in fields if f.kind not in OBJECT_KINDS}
    if file_names is not None:
        file_id = pc.index_in(plain.pop("file_name"), value_set=file_names)
        if file_id.null_count:
            raise ValueError("a row names a file that is not in the files table")
        plain = {"file_id": file_id.cast(pa.int64()), **plain}
    return Part(pa.table(plain) if plain else pa.table({}),
                {f.name: list(frame[f.name]) for f in fields if f.kind in OBJECT_KINDS})


def index_arrays(part: Part, fields: Sequence[Field]) -> Dict[str, pa.Array]:
    """The index's columns of a part: typed arrays, bounds expanded (see :func:`encode_bounds`)."""
    out: Dict[str, pa.Array] = {}
    for f in fields:
        if f.kind == "value":
            if f.name == "stats_min":
                out.update(encode_bounds(part.objects["stats_min"], part.objects["stats_max"]))
        elif f.kind == "strs":
            out[f.name] = pa.array(part.objects[f.name], ARROW_TYPES[f.kind])
        else:
            out[f.name] = part.plain.column(f.name).combine_chunks().cast(ARROW_TYPES[f.kind])
    return out


def from_index(table: pa.Table, fields: Sequence[Field]) -> Part:
    """Inverse of :func:`index_arrays` (``table`` has ``file_name``, or a nested table's
    ``file_id``, and the index columns)."""
    objects = {f.name: table.column(f.name).to_pylist() for f in fields if f.kind == "strs"}
    if any(f.kind == "value" for f in fields):
        objects.update(decode_bounds(table))
    names = [f.name for f in fields if f.kind not in OBJECT_KINDS]
    if "file_id" in table.column_names:
        names = ["file_id"] + [n for n in names if n != "file_name"]
    return Part(table.select(names), objects)


def files_fields(partition_columns: Sequence[str]) -> Tuple[Field, ...]:
    """The ``files`` columns: :data:`FILES`, then the partition columns."""
    return FILES + tuple(Field(name, "str", "hive partition value") for name in partition_columns)


def partition_columns(entries: Sequence[FileEntry]) -> Dict[str, List[Optional[str]]]:
    """One list of values per partition key, keys in first-seen order.

    A key named like a fixed ``files`` column becomes ``partition_<key>``.
    """
    partitions = [dict(e.partitions) for e in entries]
    keys = dict.fromkeys(key for p in partitions for key in p)
    fixed = {f.name for f in FILES}
    return {f"partition_{key}" if key in fixed else key: [p.get(key) for p in partitions] for key in keys}


def nest(part: Part, fields: Sequence[Field], files: int) -> pa.Array:
    """A nested part's rows as a ``list<struct>`` per file (``files`` of them, in order)."""
    owner = part.plain.column("file_id").to_numpy()
    if len(owner) > 1 and (np.diff(owner) < 0).any():
        order = np.argsort(owner, kind="stable")
        part, owner = part.take(order), owner[order]
    arrays = index_arrays(part, [f for f in fields if f.name != "file_name"])
    structs = pa.StructArray.from_arrays(list(arrays.values()), names=list(arrays))
    counts = np.bincount(owner, minlength=files)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), structs)


def unnest(table: pa.Table, name: str, fields: Sequence[Field]) -> Part:
    """Inverse of :func:`nest`: a part with the ``file_id`` of each nested row."""
    if name not in table.column_names:
        return empty_part(fields)
    lists = table.column(name).combine_chunks()
    flat = lists.flatten()
    columns = {"file_id": pc.list_parent_indices(lists).cast(pa.int64())}
    columns.update((child.name, array) for child, array in zip(flat.type, flat.flatten()))
    return from_index(pa.table(columns), fields)
