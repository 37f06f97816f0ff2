"""Hand-built footers, one wire-level case each (bytes from tests/compact.py)."""
from __future__ import annotations

import struct
import tracemalloc

import pytest

import rugo.parquet as pm
from rugo.errors import FooterLengthError, ThriftDecodeError, ParquetFormatError
from compact import (BINARY, I32, I64, LIST, STRUCT, TRUE, DOUBLE, MAP, column_chunk, file_bytes,
                     file_metadata, i, list_, one_int64_column_footer, row_group, s, schema_element,
                     struct_, varint)


def parse(footer: bytes, **opts):
    return pm.read_metadata_from_bytes(file_bytes(footer), **opts)


def test_minimal_footer_decodes():
    md = parse(one_int64_column_footer())
    assert md["num_rows"] == 3
    assert md["format_version"] == 1
    assert md["schema_columns"] == [{"name": "x", "physical_type": "int64", "logical_type": None, "nullable": False}]
    col = md["row_groups"][0]["columns"][0]
    assert col["path_in_schema"] == "x" and col["num_values"] == 3 and col["encodings"] == ("PLAIN",)
    assert md["footer_size"] == len(one_int64_column_footer())


def test_hand_built_bytes_exactly():
    # FileMetaData, byte by byte:
    footer = bytes([
        0x15, 0x02,              # field 1 (delta 1), i32: version = zigzag(2) -> 1
        0x19, 0x1C,              # field 2 (delta 1), list: 1 element of type struct (0x1C)
        0x48, 0x06, *b"schema",  #   SchemaElement field 4 (delta 4), binary len 6 "schema"
        0x00,                    #   STOP
        0x16, 0x00,              # field 3 (delta 1), i64: num_rows = 0
        0x19, 0x0C,              # field 4 (delta 1), list: 0 elements of type struct
        0x00,                    # STOP
    ])
    md = parse(footer)
    assert md["num_rows"] == 0 and md["row_groups"] == [] and md["schema_columns"] == []
    assert md["schema"][0]["name"] == "schema" and md["footer_size"] == len(footer)


def test_unknown_fields_are_skipped_at_every_level():
    unknown = [(40, STRUCT, struct_((1, MAP, varint(1) + bytes([0x88]) + s("k") + s("v")),
                                    (2, LIST, list_(TRUE, [b"\x01", b"\x00"])),
                                    (3, DOUBLE, b"\x00" * 8)))]
    footer = file_metadata(
        [schema_element("schema", num_children=1, extra=unknown), schema_element("x", type_=2, repetition=0)],
        [row_group([column_chunk(["x"], extra_meta=unknown)])], extra=unknown)
    assert parse(footer)["row_groups"][0]["columns"][0]["path_in_schema"] == "x"


def test_wrong_wire_type_for_known_field_is_skipped_like_thrift_readers():
    # bloom_filter_length (15) written as a list, as an old writer in the corpus does
    footer = one_int64_column_footer(extra_meta=[(15, LIST, list_(I32, [i(1)]))])
    assert parse(footer)["row_groups"][0]["columns"][0]["bloom_length"] is None


def test_wrong_wire_type_of_required_field_is_missing():
    footer = struct_((1, BINARY, s("x")), (2, LIST, list_(STRUCT, [schema_element("schema")])),
                     (3, I64, i(0)), (4, LIST, list_(STRUCT, [])))
    with pytest.raises(ThriftDecodeError, match="missing required field version"):
        parse(footer)


def test_missing_required_field_names_the_struct_and_path():
    bad_chunk = struct_((3, STRUCT, struct_((1, I32, i(2)))))   # ColumnChunk without file_offset
    footer = file_metadata([schema_element("schema", num_children=1), schema_element("x", type_=2, repetition=0)],
                           [row_group([bad_chunk])])
    with pytest.raises(ThriftDecodeError) as exc:
        parse(footer)
    assert "ColumnMetaData is missing required field encodings" in str(exc.value)
    assert exc.value.field == "row_groups[0].columns[0].meta_data"


def test_list_longer_than_bytes_left():
    footer = struct_((1, I32, i(1))) [:-1] + bytes([0x19, 0xFC]) + varint(2**32 - 1)
    with pytest.raises(ThriftDecodeError, match="list of 4294967295 elements but only 0 bytes left") as exc:
        parse(footer)
    assert exc.value.field == "schema" and exc.value.offset == len(footer)


def test_declared_huge_list_allocates_nothing():
    footer = struct_((1, I32, i(1)))[:-1] + bytes([0x19, 0xFC]) + varint(2**32 - 1) + b"\x00" * 64
    data = file_bytes(footer)
    tracemalloc.start()
    try:
        with pytest.raises(ThriftDecodeError):
            pm.read_metadata_from_bytes(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024, peak


def test_string_longer_than_bytes_left():
    footer = bytes([0x15, 0x02, 0x19, 0x1C, 0x48]) + varint(1000) + b"abc"
    with pytest.raises(ThriftDecodeError, match="string of 1000 bytes but only 3 bytes left"):
        parse(footer)


def test_truncated_footer_reports_offset():
    footer = one_int64_column_footer()
    for cut in (1, 5, len(footer) // 2, len(footer) - 1):
        with pytest.raises(ThriftDecodeError, match="truncated|bytes left") as exc:
            parse(footer[:cut])
        assert exc.value.offset is not None and exc.value.offset <= cut


def test_varint_longer_than_ten_bytes():
    footer = bytes([0x15]) + b"\xff" * 11
    with pytest.raises(ThriftDecodeError, match="varint longer than 10 bytes"):
        parse(footer)


def test_i32_out_of_range():
    footer = bytes([0x15]) + varint(2**40)
    with pytest.raises(ThriftDecodeError, match="does not fit in 32 bits"):
        parse(footer)


def test_skip_depth_cap():
    nested = b""
    for _ in range(200):
        nested = bytes([0x1C]) + nested + b"\x00"   # field 1: struct { ... }
    footer = bytes([0x15, 0x02]) + bytes([0xFC, 0x32]) + nested[1:]   # unknown field 25 holding it
    with pytest.raises(ThriftDecodeError, match="nesting deeper than 64"):
        parse(footer)


def test_zeroed_footer_is_an_error_not_an_empty_file():
    with pytest.raises(ThriftDecodeError, match="missing required field"):
        parse(b"\x00" * 100)


def test_unknown_enum_values_come_back_as_ints():
    footer = file_metadata([schema_element("schema", num_children=1), schema_element("x", type_=2, repetition=0)],
                           [row_group([column_chunk(["x"], codec=42)])])
    assert parse(footer)["row_groups"][0]["columns"][0]["compression_codec"] == 42


def test_invalid_physical_type_is_a_format_error():
    footer = file_metadata([schema_element("schema", num_children=1), schema_element("x", type_=9, repetition=0)])
    with pytest.raises(ParquetFormatError, match="invalid physical type 9"):
        parse(footer)


def test_schema_children_beyond_elements():
    footer = file_metadata([schema_element("schema", num_children=3), schema_element("x", type_=2, repetition=0)])
    with pytest.raises(ParquetFormatError, match="declares 3 children but only 1 elements follow"):
        parse(footer)


def test_schema_elements_beyond_root():
    footer = file_metadata([schema_element("schema", num_children=1), schema_element("x", type_=2, repetition=0),
                            schema_element("y", type_=2, repetition=0)])
    with pytest.raises(ParquetFormatError, match="outside the root"):
        parse(footer)


def test_deep_schema_nesting_is_capped():
    elems = [schema_element("schema", num_children=1)]
    elems += [schema_element(f"g{k}", repetition=1, num_children=1) for k in range(300)]
    elems.append(schema_element("leaf", type_=1, repetition=1))
    with pytest.raises(ParquetFormatError, match="deeper than 128"):
        parse(file_metadata(elems))


def test_row_group_column_count_must_match_schema():
    footer = file_metadata([schema_element("schema", num_children=1), schema_element("x", type_=2, repetition=0)],
                           [row_group([column_chunk(["x"]), column_chunk(["x"])])])
    with pytest.raises(ParquetFormatError, match="2 column chunks but the schema has 1"):
        parse(footer)


def test_legacy_and_modern_statistics_selection():
    stats = struct_((1, BINARY, s(struct.pack("<q", 9))), (2, BINARY, s(struct.pack("<q", -9))),
                    (3, I64, i(2)), (5, BINARY, s(struct.pack("<q", 5))), (6, BINARY, s(struct.pack("<q", 1))))
    # no column_orders: pyarrow uses the legacy signed min/max
    col = parse(one_int64_column_footer(stats=stats))["row_groups"][0]["columns"][0]
    assert (col["min"], col["max"], col["null_count"]) == (-9, 9, 2)
    # with TYPE_DEFINED_ORDER: min_value / max_value
    footer = file_metadata([schema_element("schema", num_children=1), schema_element("x", type_=2, repetition=0)],
                           [row_group([column_chunk(["x"], stats=stats)])],
                           extra=[(7, LIST, list_(STRUCT, [struct_((1, STRUCT, b"\x00"))]))])
    md = parse(footer)
    assert md["column_orders"] == ["TYPE_DEFINED_ORDER"]
    col = md["row_groups"][0]["columns"][0]
    assert (col["min"], col["max"]) == (1, 5)
    col = parse(footer, include_statistics=False)["row_groups"][0]["columns"][0]
    assert (col["min"], col["max"], col["null_count"]) == (None, None, None)


def test_statistic_of_wrong_width_is_none():
    stats = struct_((1, BINARY, s(b"\x01\x02\x03")), (2, BINARY, s(b"\x01\x02\x03")))
    col = parse(one_int64_column_footer(stats=stats))["row_groups"][0]["columns"][0]
    assert col["min"] is None and col["max"] is None


def test_trailer_errors():
    footer = one_int64_column_footer()
    with pytest.raises(FooterLengthError, match="footer length is 0"):
        pm.read_metadata_from_bytes(b"PAR1" + footer + struct.pack("<I", 0) + b"PAR1")
    with pytest.raises(FooterLengthError, match="exceeds"):
        pm.read_metadata_from_bytes(b"PAR1" + footer + struct.pack("<I", len(footer) + 5) + b"PAR1")


def test_invalid_utf8_names_never_raise_unicode_errors():
    bad = b"x\x80\xff"
    footer = file_metadata([schema_element("schema", num_children=1),
                            struct_((3, I32, i(1)), (4, BINARY, s(b"g" + bad)), (5, I32, i(1))),
                            struct_((1, I32, i(9)), (3, I32, i(0)), (4, BINARY, s(bad)))])
    with pytest.raises(ParquetFormatError, match="invalid physical type 9"):
        parse(footer)
    footer = file_metadata([schema_element("schema", num_children=1),
                            struct_((3, I32, i(1)), (4, BINARY, s(b"g" + bad)), (5, I32, i(1))),
                            struct_((1, I32, i(1)), (3, I32, i(0)), (4, BINARY, s(bad)))],
                           extra=[(6, BINARY, s(bad))])
    md = parse(footer)
    assert md["schema_columns"][0]["logical_type"] == "struct<x\ufffd\ufffd:int32>"
    assert md["created_by"] == "x\ufffd\ufffd"
