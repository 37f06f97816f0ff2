"""Batches: one C call parses the footers of a buffer into the catalogue's rows.

:func:`parse` (``rugo._footer.parse_batch``) decodes every footer of a buffer and writes
the catalogue's rows straight into Arrow-layout buffers (int64 and float64 values,
bitmaps, kind codes, string and list offsets and data), with no Python object per row:
statistics bounds arrive as kind, text and typed copies (``scanner.fields.stored``). A
batch is plain bytes, so it crosses process boundaries as one cheap pickle, and any
engine (local processes, dask tasks) can hand it back.
:mod:`scanner.engine.results` turns batches into Arrow tables.

Light on purpose (no numpy, no pyarrow): every worker process imports it.
"""
from __future__ import annotations

from typing import Any, Dict, Sequence, Tuple

from rugo import _footer
from scanner.fields import COLUMNS, DETAILS, FILES, ROW_GROUPS, Field, parsed, stored

__all__ = ["Batch", "TABLE_FIELDS", "DICTIONARY_FIELDS", "parse"]

#: A batch as ``parse`` returns it: table -> column -> its buffers (bytes, or None for a
#: validity bitmap of no nulls).
Batch = Dict[str, Dict[str, Any]]


#: Text columns with few distinct values, which the parser dictionary-encodes (kind
#: ``dict``: each distinct text once per batch), as it does every ``category`` field.
DICTIONARY_FIELDS = frozenset({"path_in_schema", "type", "logical_type", "encodings", "compression",
                               "created_by", "schema_fingerprint", "encryption_algorithm", "error_type"})


def _engine_fields(fields: Tuple[Field, ...], per_file: bool) -> Tuple[Tuple[str, str], ...]:
    position = () if per_file else (("file_pos", "int"),)
    return position + tuple((name, "dict" if name in DICTIONARY_FIELDS or kind == "category" else kind)
                            for name, kind in stored(parsed(fields)))


#: table -> (column, kind) the parser fills; ``file_pos`` is a file's position in its batch.
TABLE_FIELDS: Dict[str, Tuple[Tuple[str, str], ...]] = {
    "files": _engine_fields(FILES, True),
    "columns": _engine_fields(COLUMNS, False),
    "row_groups": _engine_fields(ROW_GROUPS, False),
}


def parse(buf: Any, spans: Sequence[Tuple[int, int]], detail: str) -> Batch:
    """Decode the footers at ``spans`` of ``buf`` into one batch (``buf`` released on return).

    A file that fails is a ``files`` row with ``error_type`` and ``error`` (the class and
    message ``rugo.parquet`` raises), never an exception.
    """
    return _footer.parse_batch(buf, spans, DETAILS.index(detail))
