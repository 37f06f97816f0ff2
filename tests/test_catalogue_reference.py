"""The reference rows (the oracle the C batch parser is checked against) from hand-made
footers: Iceberg-style aggregation, failures as data."""
from __future__ import annotations

import pickle
from typing import Any, Dict, List

from rugo.errors import ThriftDecodeError
from catalogue_reference import COLUMN_FIELDS, FILE_FIELDS, ROW_GROUP_FIELDS, parse_batch, schema_fingerprint

LEAF = {"name": "x", "path": "x", "physical_type": "int64", "logical_type": None, "converted_type": None,
        "repetition_type": "OPTIONAL", "num_children": None, "type_length": None, "precision": None,
        "scale": None, "field_id": None}
ROOT = dict(LEAF, name="schema", path="", physical_type=None, repetition_type=None, num_children=1)


def chunk(**values: Any) -> Dict[str, Any]:
    base = {"num_values": 10, "null_count": 1, "total_compressed_size": 100, "total_uncompressed_size": 200,
            "min": 1, "max": 9, "encodings": ["PLAIN", "RLE"], "compression_codec": "SNAPPY",
            "bloom_offset": None, "column_index_offset": None, "path_in_schema": "x", "physical_type": "int64",
            "logical_type": None, "distinct_count": None, "index_page_offset": None,
            "dictionary_page_offset": None, "data_page_offset": 4, "bloom_length": None,
            "is_min_exact": True, "is_max_exact": True, "column_index_length": None,
            "offset_index_offset": None, "offset_index_length": None}
    base.update(values)
    return base


def footer(*chunks: Dict[str, Any]) -> Dict[str, Any]:
    return {"num_rows": 10 * len(chunks), "num_row_groups": len(chunks), "format_version": 2,
            "created_by": "hand", "footer_size": 99, "encryption_algorithm": None,
            "key_value_metadata": {"k": "v"}, "schema": [ROOT, LEAF],
            "schema_columns": [{"name": "x", "physical_type": "int64", "logical_type": None, "nullable": True}],
            "row_groups": [{"num_rows": 10, "total_byte_size": 200, "total_compressed_size": 100,
                            "columns": [c]} for c in chunks]}


def run(*footers: Any, detail: str = "columns") -> Dict[str, Dict[str, List[Any]]]:
    """parse_batch over one span per footer; a footer that is an exception is raised."""
    def read(view: memoryview, include_statistics: bool) -> Dict[str, Any]:
        item = footers[view[0]]
        if isinstance(item, Exception):
            raise item
        return item

    return parse_batch(bytes(range(len(footers))), [(i, i + 1) for i in range(len(footers))], detail, read)


def column_row(tables: Dict[str, Dict[str, List[Any]]], i: int = 0) -> Dict[str, Any]:
    return {f: tables["columns"][f][i] for f in COLUMN_FIELDS}


def test_aggregates_over_row_groups() -> None:
    row = column_row(run(footer(chunk(), chunk(min=-3, max=4, encodings=["RLE_DICTIONARY", "PLAIN"],
                                           compression_codec="ZSTD", bloom_offset=77))))
    assert row == {"file_pos": 0, "column_id": 0, "path_in_schema": "x", "type": "int64", "logical_type": None,
                   "num_values": 20, "stats_null_count": 2, "total_compressed_size": 200,
                   "total_uncompressed_size": 400, "stats_min": -3, "stats_max": 9,
                   "encodings": "PLAIN, RLE, RLE_DICTIONARY", "compression": "SNAPPY, ZSTD",
                   "has_bloom_filter": True, "has_page_index": False}


def test_a_row_group_without_a_bound_drops_it() -> None:
    row = column_row(run(footer(chunk(), chunk(min=None), chunk(null_count=None))))
    assert (row["stats_min"], row["stats_max"], row["stats_null_count"]) == (None, 9, None)
    mixed = column_row(run(footer(chunk(min="a"), chunk(min=1))))
    assert mixed["stats_min"] is None  # no order between the two


def test_unknown_enums_show_as_numbers() -> None:
    row = column_row(run(footer(chunk(encodings=["PLAIN", 42], compression_codec=99))))
    assert (row["encodings"], row["compression"]) == ("PLAIN, 42", "99")


def test_failures_are_rows_and_leave_no_partial_rows() -> None:
    broken = footer(chunk())
    broken["row_groups"][0]["columns"].append(chunk())  # two chunks, one leaf
    tables = run(footer(chunk()), ThriftDecodeError("bad footer", offset=3), broken, detail="row_groups")
    files = tables["files"]
    assert files["error_type"] == [None, "ThriftDecodeError", "ValueError"]
    assert files["error"][1] == "bad footer (footer byte 3)"
    assert "row group 0 has 2 column chunks but the schema has 1 leaf columns" in files["error"][2]
    assert files["num_rows"] == [10, None, None]
    assert tables["columns"]["file_pos"] == [0] and tables["row_groups"]["file_pos"] == [0]
    assert all(len(v) == 3 for v in files.values()) and set(files) == set(FILE_FIELDS)
    assert set(tables["row_groups"]) == set(ROW_GROUP_FIELDS)
    pickle.loads(pickle.dumps(tables))  # what crosses the pipe


def test_files_detail_fills_files_only() -> None:
    tables = run(footer(chunk()), detail="files")
    assert tables["files"]["key_value_keys"] == [["k"]]
    assert tables["files"]["total_uncompressed_size"] == [200]
    assert not tables["columns"]["file_pos"] and not tables["row_groups"]["file_pos"]


def test_schema_fingerprint_ignores_the_root_name_only() -> None:
    same = schema_fingerprint([dict(ROOT, name="spark_schema"), LEAF])
    assert same == schema_fingerprint([ROOT, LEAF])
    assert schema_fingerprint([ROOT, dict(LEAF, repetition_type="REQUIRED")]) != same
    assert len(same) == 16 and int(same, 16) >= 0
