"""DataFrames with fixed dtypes from Arrow tables and lists, and the index's nested layout.

``int`` fields are pandas ``Int64``, ``str`` ``string``, ``bool`` ``boolean`` (all
nullable); ``value`` (a statistics bound) and ``strs`` (a list of str) are ``object``.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from scanner.catalogue.bounds import decode_bounds, encode_bounds
from scanner.entries import FileEntry
from scanner.fields import FILES, Field

ARROW_TYPES = {"int": pa.int64(), "str": pa.string(), "bool": pa.bool_(),
               "strs": pa.list_(pa.string()), "value": pa.string()}
PANDAS_TYPES = {pa.int64(): pd.Int64Dtype(), pa.string(): pd.StringDtype(),
                pa.large_string(): pd.StringDtype(), pa.bool_(): pd.BooleanDtype()}
OBJECT_KINDS = ("strs", "value")


def frame(data: Dict[str, Sequence[Any]], fields: Sequence[Field]) -> pd.DataFrame:
    """A DataFrame with the fixed dtypes of ``fields`` from a list per field."""
    plain = pa.table({f.name: pa.array(data[f.name], ARROW_TYPES[f.kind])
                      for f in fields if f.kind not in OBJECT_KINDS})
    return assemble(plain, {f.name: data[f.name] for f in fields if f.kind in OBJECT_KINDS}, fields)


def assemble(plain: pa.Table, objects: Dict[str, Sequence[Any]], fields: Sequence[Field]) -> pd.DataFrame:
    """Typed columns from Arrow (nullable pandas dtypes) and object columns, in field order."""
    frame = plain.to_pandas(types_mapper=PANDAS_TYPES.get)
    for name, values in objects.items():
        # fromiter takes each value as it is: lists stay lists instead of becoming a dimension
        frame[name] = pd.Series(np.fromiter(values, dtype=object, count=len(values)), dtype=object)
    return frame[[f.name for f in fields]]


def frame_to_arrow(frame: pd.DataFrame, fields: Sequence[Field]) -> Dict[str, pa.Array]:
    """Index columns of a frame: typed arrays, bounds expanded (see :func:`_encode_bounds`)."""
    out: Dict[str, pa.Array] = {}
    for f in fields:
        if f.kind == "value":
            if f.name == "stats_min":
                out.update(encode_bounds(frame))
        else:
            values = frame[f.name].to_numpy(dtype=object, na_value=None)
            out[f.name] = pa.array(values, ARROW_TYPES[f.kind])
    return out


def arrow_to_frame(table: pa.Table, fields: Sequence[Field]) -> pd.DataFrame:
    """Inverse of :func:`_frame_to_arrow` (``file_name`` must already be in ``table``)."""
    objects = {f.name: table.column(f.name).to_pylist() for f in fields if f.kind == "strs"}
    if any(f.kind == "value" for f in fields):
        objects.update(decode_bounds(table))
    plain = table.select([f.name for f in fields if f.kind not in OBJECT_KINDS])
    return assemble(plain, objects, fields)


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


def nest(frame: pd.DataFrame, fields: Sequence[Field], file_names: pd.Series) -> pa.Array:
    """``frame``'s rows as a ``list<struct>`` per file of ``file_names`` (in that order)."""
    owner = pd.Index(file_names).get_indexer(frame["file_name"])
    if (owner < 0).any():
        raise ValueError("a row names a file that is not in the files table")
    order = np.argsort(owner, kind="stable")
    arrays = frame_to_arrow(frame.iloc[order].reset_index(drop=True),
                             [f for f in fields if f.name != "file_name"])
    structs = pa.StructArray.from_arrays(list(arrays.values()), names=list(arrays))
    counts = np.bincount(owner, minlength=len(file_names))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), structs)


def unnest(table: pa.Table, name: str, fields: Sequence[Field]) -> pd.DataFrame:
    """Inverse of :func:`_nest`: a frame with ``file_name`` repeated per nested row."""
    if name not in table.column_names:
        return frame({f.name: [] for f in fields}, fields)
    lists = table.column(name).combine_chunks()
    flat = lists.flatten()
    columns = {child.name: array for child, array in zip(flat.type, flat.flatten())}
    columns["file_name"] = table.column("file_name").combine_chunks().take(
        pc.list_parent_indices(lists))
    return arrow_to_frame(pa.table(columns), fields)
