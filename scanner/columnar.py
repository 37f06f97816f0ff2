"""Columnar batches: the worker's three tables as pyarrow Tables, without a dict per chunk.

:func:`parse_batch_arrow` makes one C call per batch (``rugo._footer.parse_batch``), which
decodes every footer and writes the catalogue rows straight into Arrow-layout buffers;
this module only wraps them (``pa.Array.from_buffers`` over ``pa.py_buffer``, no copy).
The rows are exactly those of :func:`scanner.worker.parse_batch`; :func:`tables_from_columns`
turns that function's lists into the same Tables, so the two can be compared.

Arrow types: integers ``int64``, flags ``bool``, text ``large_string``. Statistics bounds
mix Python types in one column (int, str, Decimal, date ...) and ``key_value_keys`` is a
list per file, so those fields are :class:`PyObjectType`: each value pickled, read back by
``to_pylist()`` as the same Python object.
"""
from __future__ import annotations

import pickle
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import pyarrow as pa

from scanner.worker import COLUMN_FIELDS, DETAILS, FILE_FIELDS, ROW_GROUP_FIELDS, Buffer, Columns

__all__ = ["PyObjectType", "TABLE_TYPES", "parse_batch_arrow", "tables_from_columns"]

#: Fields whose values are Python objects of any type (pickled in the Arrow tables).
_OBJECT_FIELDS = frozenset({"stats_min", "stats_max", "key_value_keys"})
_BOOL_FIELDS = frozenset({"has_bloom_filter", "has_page_index", "min_is_exact", "max_is_exact"})
_STR_FIELDS = frozenset({"error_type", "error", "created_by", "schema_fingerprint", "encryption_algorithm",
                         "path_in_schema", "type", "logical_type", "encodings", "compression"})


class PyObjectType(pa.ExtensionType):
    """Python objects, one pickle each (storage ``large_binary``); null is ``None``."""

    def __init__(self) -> None:
        super().__init__(pa.large_binary(), "rugo.pyobject")

    def __arrow_ext_serialize__(self) -> bytes:
        return b""

    @classmethod
    def __arrow_ext_deserialize__(cls, storage_type: pa.DataType, serialized: bytes) -> "PyObjectType":
        return cls()

    def __arrow_ext_scalar_class__(self) -> type:
        return PyObjectScalar


class PyObjectScalar(pa.ExtensionScalar):
    """A :class:`PyObjectType` value: ``as_py()`` unpickles it."""

    def as_py(self, **kwargs: Any) -> Any:
        data = self.value
        return None if data is None else pickle.loads(data.as_py())


PYOBJECT = PyObjectType()
try:
    pa.register_extension_type(PYOBJECT)   # so the tables survive IPC
except pa.ArrowKeyError:
    pass   # registered by an earlier import (e.g. a reload)


def _arrow_type(field: str) -> pa.DataType:
    if field in _OBJECT_FIELDS:
        return PYOBJECT
    if field in _BOOL_FIELDS:
        return pa.bool_()
    return pa.large_string() if field in _STR_FIELDS else pa.int64()


#: table name -> its Arrow schema, fields in the worker's order.
TABLE_TYPES: Dict[str, pa.Schema] = {
    name: pa.schema([(f, _arrow_type(f)) for f in fields])
    for name, fields in (("files", FILE_FIELDS), ("columns", COLUMN_FIELDS), ("row_groups", ROW_GROUP_FIELDS))
}


def _objects(values: List[Any]) -> pa.Array:
    storage = pa.array([None if v is None else pickle.dumps(v, protocol=5) for v in values], pa.large_binary())
    return pa.ExtensionArray.from_storage(PYOBJECT, storage)


def _buffer(data: Optional[bytes]) -> Optional[pa.Buffer]:
    return None if data is None else pa.py_buffer(data)


def _wrap(kind: pa.DataType, length: int, column: Any) -> pa.Array:
    """One column of ``_footer.parse_batch`` as an Arrow array over the same memory."""
    if kind == PYOBJECT:
        return _objects(column)
    if kind == pa.large_string():
        offsets, data, validity = column
        return pa.Array.from_buffers(kind, length, [_buffer(validity), pa.py_buffer(offsets), pa.py_buffer(data)])
    values, validity = column
    return pa.Array.from_buffers(kind, length, [_buffer(validity), pa.py_buffer(values)])


def parse_batch_arrow(buf: Buffer, spans: Sequence[Tuple[int, int]],
                      detail: Union[str, int] = "columns") -> Dict[str, pa.Table]:
    """Parse the files at ``spans`` of ``buf`` into the catalogue's tables, as pyarrow Tables.

    Parameters
    ----------
    buf : buffer
        Any C-contiguous one-dimensional byte buffer (a shared memory block); released
        before returning.
    spans : sequence of (start, end)
        Where each file's tail (or whole file) is; sliced like ``memoryview(buf)[start:end]``.
    detail : {"files", "columns", "row_groups"} or 0, 1, 2
        Which tables to fill besides ``files``.

    Returns
    -------
    dict
        ``{"files": Table, "columns": Table, "row_groups": Table}`` with the fields and
        rows of :func:`scanner.worker.parse_batch` (:data:`TABLE_TYPES`).
    """
    from rugo import _footer

    level = DETAILS.index(detail) if isinstance(detail, str) else detail
    raw = _footer.parse_batch(buf, spans, level)
    out = {}
    for name, schema in TABLE_TYPES.items():
        table = raw[name]
        length = len(table["file_pos" if "file_pos" in table else "num_rows"][0]) // 8
        out[name] = pa.Table.from_arrays([_wrap(f.type, length, table[f.name]) for f in schema], schema=schema)
    return out


def tables_from_columns(tables: Dict[str, Columns]) -> Dict[str, pa.Table]:
    """:func:`scanner.worker.parse_batch`'s lists as the Tables :func:`parse_batch_arrow` gives."""
    out = {}
    for name, schema in TABLE_TYPES.items():
        arrays = [_objects(tables[name][f.name]) if f.type == PYOBJECT else pa.array(tables[name][f.name], f.type)
                  for f in schema]
        out[name] = pa.Table.from_arrays(arrays, schema=schema)
    return out
