"""A tiny Thrift compact-protocol *writer* for hand-built test footers.

Tests describe footers as nested Python values and get the exact bytes; each helper is
one wire construct of the compact protocol spec, so a test reads like the bytes it makes.
"""
from __future__ import annotations

import struct
from typing import Iterable, List, Sequence, Tuple

# compact wire types
TRUE, FALSE, BYTE, I16, I32, I64, DOUBLE, BINARY, LIST, SET, MAP, STRUCT = range(1, 13)


def varint(n: int) -> bytes:
    """Unsigned LEB128."""
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def zigzag(n: int) -> bytes:
    """Signed integer as zigzag varint (i16 / i32 / i64)."""
    return varint((n << 1) ^ (n >> 63))


def field(fid: int, wtype: int, payload: bytes = b"", last: int = 0) -> bytes:
    """Field header (short form when the id delta is 1..15, else long form) + payload."""
    delta = fid - last
    head = bytes([(delta << 4) | wtype]) if 0 < delta <= 15 else bytes([wtype]) + zigzag(fid)
    return head + payload


def struct_(*fields: Tuple[int, int, bytes]) -> bytes:
    """A struct from (id, wire type, payload) triples, in order, ending with STOP."""
    out, last = b"", 0
    for fid, wtype, payload in fields:
        out += field(fid, wtype, payload, last)
        last = fid
    return out + b"\x00"


def i(n: int) -> bytes:
    return zigzag(n)


def s(text) -> bytes:
    data = text.encode() if isinstance(text, str) else bytes(text)
    return varint(len(data)) + data


def list_(etype: int, items: Sequence[bytes], count: int = -1) -> bytes:
    """List header (size in the high nibble when < 15) + elements; `count` may lie."""
    n = len(items) if count < 0 else count
    head = bytes([(n << 4) | etype]) if n < 15 else bytes([0xF0 | etype]) + varint(n)
    return head + b"".join(items)


def file_bytes(footer: bytes, magic: bytes = b"PAR1") -> bytes:
    """A whole file: leading magic, footer, footer length, trailing magic."""
    return b"PAR1" + footer + struct.pack("<I", len(footer)) + magic


def schema_element(name: str, type_: int = -1, repetition: int = -1, num_children: int = -1,
                   converted: int = -1, extra: Iterable[Tuple[int, int, bytes]] = ()) -> bytes:
    """SchemaElement with the commonly used fields (ids 1, 3, 4, 5, 6) and any extra ones."""
    fields: List[Tuple[int, int, bytes]] = []
    if type_ >= 0:
        fields.append((1, I32, i(type_)))
    if repetition >= 0:
        fields.append((3, I32, i(repetition)))
    fields.append((4, BINARY, s(name)))
    if num_children >= 0:
        fields.append((5, I32, i(num_children)))
    if converted >= 0:
        fields.append((6, I32, i(converted)))
    fields.extend(extra)
    return struct_(*sorted(fields))


def column_chunk(path: Sequence[str], type_: int = 2, codec: int = 0, num_values: int = 3,
                 stats: bytes = b"", extra_meta: Iterable[Tuple[int, int, bytes]] = ()) -> bytes:
    """ColumnChunk with its required ColumnMetaData fields."""
    meta = [
        (1, I32, i(type_)),
        (2, LIST, list_(I32, [i(0)])),
        (3, LIST, list_(BINARY, [s(p) for p in path])),
        (4, I32, i(codec)),
        (5, I64, i(num_values)),
        (6, I64, i(100)),
        (7, I64, i(90)),
        (9, I64, i(4)),
    ]
    if stats:
        meta.append((12, STRUCT, stats))
    meta.extend(extra_meta)
    return struct_((2, I64, i(4)), (3, STRUCT, struct_(*sorted(meta))))


def file_metadata(schema: Sequence[bytes], row_groups: Sequence[bytes] = (), num_rows: int = 3,
                  extra: Iterable[Tuple[int, int, bytes]] = ()) -> bytes:
    """FileMetaData with version 1 and the given schema elements and row groups."""
    fields = [
        (1, I32, i(1)),
        (2, LIST, list_(STRUCT, list(schema))),
        (3, I64, i(num_rows)),
        (4, LIST, list_(STRUCT, list(row_groups))),
    ]
    fields.extend(extra)
    return struct_(*sorted(fields))


def row_group(columns: Sequence[bytes], num_rows: int = 3) -> bytes:
    return struct_((1, LIST, list_(STRUCT, list(columns))), (2, I64, i(100)), (3, I64, i(num_rows)))


def one_int64_column_footer(stats: bytes = b"", extra_meta=()) -> bytes:
    """The smallest useful footer: root + one required int64 column 'x', one row group."""
    schema = [schema_element("schema", num_children=1), schema_element("x", type_=2, repetition=0)]
    return file_metadata(schema, [row_group([column_chunk(["x"], stats=stats, extra_meta=extra_meta)])])
