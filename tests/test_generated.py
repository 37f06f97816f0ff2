"""rugo.parquet against files generated here with pyarrow, duckdb and polars.

Each case writes one file covering a feature (a logical type, a nesting shape, a writer
option); rugo's result must equal :func:`reference.expected_metadata` for it, and the three
options (``schema_only``, ``include_statistics``, ``max_row_groups``) must transform it
exactly as README says (:func:`reference.apply_options`).
"""
from __future__ import annotations

import datetime
import decimal
import sys
import uuid
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference import apply_options, compare, expected_metadata, format_diff  # noqa: E402

import rugo.parquet as rp  # noqa: E402

N = 50  # rows in most cases


# --------------------------------------------------------------------------------------------
# Case builders: each writes one file at ``path``
# --------------------------------------------------------------------------------------------

def _write(table: pa.Table, **options: Any) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        pq.write_table(table, path, **options)
    return write


def _ints() -> pa.Table:
    cols = {}
    for bits in (8, 16, 32, 64):
        lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        cols[f"int{bits}"] = pa.array([lo, 0, hi, None], getattr(pa, f"int{bits}")())
        cols[f"uint{bits}"] = pa.array([0, 1, 2 ** bits - 1, None], getattr(pa, f"uint{bits}")())
    return pa.table(cols)


def _floats() -> pa.Table:
    return pa.table({
        "f16": pa.array(np.array([-1.5, 0.0, 65504.0], dtype=np.float16)),
        "f32": pa.array([-1.25, 3.5, float("nan")], pa.float32()),
        "f64": pa.array([-0.0, 2.5e300, 1.0], pa.float64()),
        "f64_nan_only": pa.array([float("nan")] * 3, pa.float64()),
        "bool": pa.array([True, False, None]),
    })


def _decimals() -> pa.Table:
    values = [decimal.Decimal("-123.45"), decimal.Decimal("0.01"), decimal.Decimal("999.99")]
    return pa.table({
        "d5_2": pa.array(values, pa.decimal128(5, 2)),
        "d18_2": pa.array(values, pa.decimal128(18, 2)),
        "d38_10": pa.array([decimal.Decimal("1.0000000001"),
                            decimal.Decimal("-12345678901234.5000000000"), None],
                           pa.decimal128(38, 10)),
        "d76_5": pa.array([decimal.Decimal("1.5"), decimal.Decimal("-2.25"), None],
                          pa.decimal256(76, 5)),
    })


def _temporal() -> pa.Table:
    ts = [datetime.datetime(1969, 12, 31, 23, 59, 59, 999000), datetime.datetime(2024, 2, 29, 12),
          None]
    times = [datetime.time(0, 0, 0, 1000), datetime.time(23, 59, 59, 999000), None]
    cols = {
        "date32": pa.array([datetime.date(1970, 1, 1), datetime.date(9999, 12, 31), None]),
        "date64": pa.array([datetime.date(1, 1, 1), datetime.date(2000, 1, 1), None], pa.date64()),
        "time32_s": pa.array([0, 86399, None], pa.time32("s")),
        "time32_ms": pa.array(times, pa.time32("ms")),
        "time64_us": pa.array(times, pa.time64("us")),
        "time64_ns": pa.array([1, 86_399_999_999_999, None], pa.time64("ns")),
    }
    for unit in ("s", "ms", "us", "ns"):
        cols[f"ts_{unit}"] = pa.array(ts, pa.timestamp(unit))
    for unit in ("s", "ms", "us"):
        cols[f"ts_{unit}_utc"] = pa.array(ts, pa.timestamp(unit, tz="UTC"))
        cols[f"ts_{unit}_paris"] = pa.array(ts, pa.timestamp(unit, tz="Europe/Paris"))
    cols["ts_ns_precise"] = pa.array([1, 1_700_000_000_123_456_789, None], pa.timestamp("ns"))
    return pa.table(cols)


def _timestamp_ns_tz() -> pa.Table:
    values = [-1, 1_700_000_000_123_456_789, None]
    return pa.table({"ts_ns_utc": pa.array(values, pa.timestamp("ns", tz="UTC")),
                     "ts_ns_paris": pa.array(values, pa.timestamp("ns", tz="Europe/Paris"))})


def _binary() -> pa.Table:
    words = ["", "zebra", "ärger", None]
    return pa.table({
        "string": pa.array(words, pa.string()),
        "large_string": pa.array(words, pa.large_string()),
        "string_view": pa.array(words, pa.string_view()),
        "binary": pa.array([b"\x00\xff", b"", b"abc", None], pa.binary()),
        "large_binary": pa.array([b"\x00\xff", b"", b"abc", None], pa.large_binary()),
        "fixed": pa.array([b"abcd", b"\x00\x00\x00\x00", b"\xff\xff\xff\xff", None],
                          pa.binary(4)),
        "dictionary": pa.array(["b", "a", "b", None]).dictionary_encode(),
        "long_string": pa.array(["x" * 5000, "y" * 70, "a", None]),
    })


def _extension_types() -> pa.Table:
    uuids = [uuid.UUID(int=1).bytes, uuid.UUID("f81d4fae-7dec-11d0-a765-00a0c91e6bf6").bytes, None]
    return pa.table({
        "uuid": pa.ExtensionArray.from_storage(pa.uuid(), pa.array(uuids, pa.binary(16))),
        "json": pa.array(['{"a": 1}', "[]", None], pa.json_()),
        "null": pa.nulls(3),
    })


def _nested() -> pa.Table:
    point = pa.struct([("x", pa.int32()), ("label", pa.string())])
    return pa.table({
        "list": pa.array([[1, 2], [], None], pa.list_(pa.int32())),
        "large_list": pa.array([[1.5], None, []], pa.large_list(pa.float64())),
        "fixed_list": pa.array([[1, 2], [3, 4], None], pa.list_(pa.int16(), 2)),
        "list_of_lists": pa.array([[[1], [2, 3]], [], None], pa.list_(pa.list_(pa.int64()))),
        "struct": pa.array([{"x": 1, "label": "a"}, None, {"x": None, "label": None}], point),
        "struct_of_struct": pa.array([{"p": {"x": 1, "label": "q"}}, None, None],
                                     pa.struct([("p", point)])),
        "list_of_struct": pa.array([[{"x": 1, "label": "a"}], [], None], pa.list_(point)),
        "map": pa.array([[("a", 1), ("b", 2)], [], None], pa.map_(pa.string(), pa.int32())),
        "map_of_lists": pa.array([[(1, [1.0])], None, []],
                                 pa.map_(pa.int64(), pa.list_(pa.float32()))),
        "struct_with_list": pa.array([{"xs": ["a"]}, None, {"xs": None}],
                                     pa.struct([("xs", pa.list_(pa.string()))])),
    })


def _plain(n: int = N) -> pa.Table:
    rng = np.random.default_rng(7)
    return pa.table({
        "id": pa.array(np.arange(n, dtype=np.int64)),
        "value": pa.array(rng.normal(size=n)),
        "name": pa.array([f"name-{i % 7}" for i in range(n)]),
        "flag": pa.array([i % 3 == 0 for i in range(n)]),
    })


def _with_metadata() -> pa.Table:
    schema = pa.schema([pa.field("a", pa.int32(), metadata={"PARQUET:field_id": "7"}),
                        pa.field("b", pa.string(), metadata={"PARQUET:field_id": "9"})],
                       metadata={"owner": "rugo", "ünïcode": "välue ✓", "empty": ""})
    return pa.table({"a": [1, 2, 3], "b": ["x", "y", None]}, schema=schema)


def _wide(n_columns: int) -> pa.Table:
    return pa.table({f"c{i:05d}": pa.array([i, None], pa.int32()) for i in range(n_columns)})


def _sorted_table() -> pa.Table:
    return pa.table({"k": pa.array(sorted(range(N), reverse=True)),
                     "v": pa.array([None] * 5 + list(range(N - 5)))})


def _duckdb_types(path: Path) -> None:
    import duckdb

    con = duckdb.connect()
    try:
        con.execute(f"""
            COPY (SELECT i::TINYINT AS tiny, i::UTINYINT AS utiny, i::HUGEINT AS huge,
                         i::DECIMAL(4,1) AS dec4, i::DECIMAL(30,3) AS dec30,
                         i % 2 = 0 AS bool_col, md5(i::VARCHAR) AS md5_text,
                         '00000000-0000-0000-0000-00000000000' || i::VARCHAR AS uuid_str,
                         ('00000000-0000-0000-0000-00000000000' || i::VARCHAR)::UUID AS uuid_col,
                         INTERVAL (i) DAY AS ivl, TIME '12:34:56' AS t,
                         TIMETZ '12:34:56+00' AS ttz, TIMESTAMP '2020-01-01' AS ts,
                         TIMESTAMPTZ '2020-01-01 00:00:00+00' AS tstz,
                         TIMESTAMP_NS '2020-01-01 00:00:00.000000001' AS tsns,
                         DATE '2020-01-01' + i::INTEGER AS d, [i, i + 1] AS lst,
                         {{'a': i, 'b': 'x'}} AS st, MAP {{'k': i}} AS mp,
                         'x'::BLOB AS blob, 'text' AS txt
                  FROM range(1, 10) t(i))
            TO '{path}' (FORMAT parquet)""")
    finally:
        con.close()


def _duckdb_variant(path: Path) -> None:
    """VARIANT groups (unshredded and shredded), which pyarrow cannot write."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute(f"""
            COPY (SELECT i::VARIANT AS v, {{'a': i, 'b': 'x'}}::VARIANT AS shredded,
                         [i]::VARIANT AS list_variant
                  FROM range(3) t(i))
            TO '{path}' (FORMAT parquet)""")
    finally:
        con.close()


def _polars_types(path: Path) -> None:
    import polars as pl

    frame = pl.DataFrame({
        "i": pl.Series([1, None, 3], dtype=pl.Int16),
        "u": pl.Series([1, 2, 3], dtype=pl.UInt64),
        "s": ["a", None, "c"],
        "cat": pl.Series(["x", "y", "x"], dtype=pl.Categorical),
        "dt": pl.Series([datetime.datetime(2020, 1, 1)] * 3, dtype=pl.Datetime("ns")),
        "dtz": pl.Series([datetime.datetime(2020, 1, 1)] * 3,
                         dtype=pl.Datetime("ms", time_zone="UTC")),
        "t": [datetime.time(1, 2, 3)] * 3,
        "dec": pl.Series([decimal.Decimal("1.5")] * 3, dtype=pl.Decimal(10, 2)),
        "lst": [[1], [], None],
        "st": [{"a": 1}, {"a": None}, None],
    })
    frame.write_parquet(path, statistics=True)


CASES: dict = {
    "ints": _write(_ints()),
    "floats": _write(_floats()),
    "decimals_fixed": _write(_decimals()),
    "decimals_int": _write(_decimals(), store_decimal_as_integer=True),
    "temporal_v2.6": _write(_temporal()),
    "temporal_v1.0": _write(_temporal(), version="1.0", coerce_timestamps="ms",
                            allow_truncated_timestamps=True),
    "temporal_v2.4": _write(_temporal(), version="2.4", coerce_timestamps="us",
                            allow_truncated_timestamps=True),
    "timestamp_ns_tz": _write(_timestamp_ns_tz()),
    "time_adjusted_utc": _write(_temporal(), write_time_adjusted_to_utc=True),
    "int96_timestamps": _write(_temporal(), use_deprecated_int96_timestamps=True),
    "binary": _write(_binary()),
    "extension_types": _write(_extension_types()),
    "nested": _write(_nested()),
    "nested_legacy_lists": _write(_nested(), use_compliant_nested_type=False),
    "no_statistics": _write(_plain(), write_statistics=False),
    "some_statistics": _write(_plain(), write_statistics=["id", "name"]),
    "page_index": _write(_plain(), write_page_index=True),
    "bloom_filters": _write(_plain(), bloom_filter_options={
        "id": {"ndv": 100}, "name": {"ndv": 10, "fpp": 0.1}}),
    "metadata_and_field_ids": _write(_with_metadata()),
    "no_arrow_schema": _write(_with_metadata(), store_schema=False),
    "empty_table": _write(_plain(0)),
    "no_columns": _write(pa.table({})),
    "sorting_columns": _write(_sorted_table(), sorting_columns=[
        pq.SortingColumn(0, descending=True), pq.SortingColumn(1, nulls_first=True)]),
    "data_page_v2": _write(_plain(), data_page_version="2.0"),
    "no_dictionary": _write(_plain(), use_dictionary=False),
    "encodings": _write(_plain(), use_dictionary=False, column_encoding={
        "id": "DELTA_BINARY_PACKED", "value": "BYTE_STREAM_SPLIT",
        "name": "DELTA_LENGTH_BYTE_ARRAY", "flag": "RLE"}),
    "delta_byte_array": _write(_plain(), use_dictionary=False,
                               column_encoding={"name": "DELTA_BYTE_ARRAY"}),
    "mixed_codecs": _write(_plain(), compression={"id": "zstd", "value": "gzip",
                                                  "name": "brotli", "flag": "lz4"}),
    "many_row_groups": _write(_plain(1000), row_group_size=5),
    "wide_10k_columns": _write(_wide(10_000)),
    "duckdb": _duckdb_types,
    "duckdb_variant": _duckdb_variant,
    "polars": _polars_types,
}
for _codec in ("none", "snappy", "gzip", "brotli", "lz4", "zstd"):
    CASES[f"codec_{_codec}"] = _write(_plain(), compression=_codec)


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Write a case's file once per session and return its path."""
    folder = tmp_path_factory.mktemp("generated")
    written: dict = {}

    def get(name: str) -> Path:
        if name not in written:
            path = folder / f"{name}.parquet"
            CASES[name](path)
            written[name] = path
        return written[name]

    return get


def _assert_same(actual: dict, expected: dict, what: str) -> None:
    problems = compare(actual, expected)
    assert not problems, f"{what}:\n{format_diff(problems)}"


# --------------------------------------------------------------------------------------------
# The reference dict
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_reference(generated: Callable[[str], Path], name: str) -> None:
    path = generated(name)
    _assert_same(rp.read_metadata(path), expected_metadata(path), name)


@pytest.mark.parametrize("name", sorted(CASES))
def test_in_memory_matches(generated: Callable[[str], Path], name: str) -> None:
    path = generated(name)
    data = path.read_bytes()
    expected = expected_metadata(path)
    _assert_same(rp.read_metadata_from_bytes(data), expected, "from_bytes")
    _assert_same(rp.read_metadata_from_memoryview(memoryview(data)), expected, "from_memoryview")


def test_large_footer_needs_second_read(generated: Callable[[str], Path]) -> None:
    path = generated("wide_10k_columns")
    result = rp.read_metadata(path)
    assert result["footer_size"] > 64 * 1024
    assert len(result["row_groups"][0]["columns"]) == 10_000


def test_key_value_metadata_keeps_non_utf8_bytes(tmp_path: Path) -> None:
    """README: keys and values are str, and bytes where they are not valid UTF-8."""
    path = tmp_path / "non_utf8.parquet"
    table = pa.table({"a": [1]}).replace_schema_metadata({b"k\xff": b"v\xfe", b"plain": b"ok"})
    pq.write_table(table, path)
    kv = rp.read_metadata(path)["key_value_metadata"]
    assert kv[b"k\xff"] == b"v\xfe" and kv["plain"] == "ok" and len(kv) == 3, kv


# --------------------------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------------------------

OPTION_CASES = ["ints", "nested", "many_row_groups", "page_index", "no_statistics",
                "metadata_and_field_ids", "empty_table"]
READERS = {
    "read_metadata": lambda path, **kw: rp.read_metadata(path, **kw),
    "from_bytes": lambda path, **kw: rp.read_metadata_from_bytes(path.read_bytes(), **kw),
    "from_memoryview": lambda path, **kw: rp.read_metadata_from_memoryview(
        memoryview(path.read_bytes()), **kw),
}


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("name", OPTION_CASES)
def test_schema_only(generated: Callable[[str], Path], name: str, reader: str) -> None:
    path = generated(name)
    result = READERS[reader](path, schema_only=True)
    assert result["row_groups"] == []
    _assert_same(result, apply_options(expected_metadata(path), schema_only=True), reader)


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("name", OPTION_CASES)
def test_without_statistics(generated: Callable[[str], Path], name: str, reader: str) -> None:
    path = generated(name)
    result = READERS[reader](path, include_statistics=False)
    expected = apply_options(expected_metadata(path), include_statistics=False)
    _assert_same(result, expected, reader)


@pytest.mark.parametrize("limit", [0, 1, 7, 199, 200, 201, 10_000])
def test_max_row_groups(generated: Callable[[str], Path], limit: int) -> None:
    path = generated("many_row_groups")
    expected = apply_options(expected_metadata(path), max_row_groups=limit)
    assert expected["num_row_groups"] == 200 and expected["num_rows"] == 1000
    for name, reader in READERS.items():
        result = reader(path, max_row_groups=limit)
        assert len(result["row_groups"]) == min(limit, 200)
        _assert_same(result, expected, name)


def test_options_combine(generated: Callable[[str], Path]) -> None:
    path = generated("many_row_groups")
    expected = apply_options(expected_metadata(path), max_row_groups=3, include_statistics=False)
    _assert_same(rp.read_metadata(path, max_row_groups=3, include_statistics=False), expected,
                 "max_row_groups=3, include_statistics=False")
    _assert_same(rp.read_metadata(path, schema_only=True, max_row_groups=3),
                 apply_options(expected_metadata(path), schema_only=True), "schema_only wins")


def test_explicit_defaults(generated: Callable[[str], Path]) -> None:
    path = generated("ints")
    _assert_same(rp.read_metadata(path, schema_only=False, include_statistics=True,
                                  max_row_groups=-1), expected_metadata(path), "defaults")


BAD_OPTIONS = [
    ({"max_row_groups": -2}, ValueError),
    ({"max_row_groups": -100}, ValueError),
    ({"max_row_groups": "3"}, TypeError),
    ({"max_row_groups": 1.0}, TypeError),
    ({"max_row_groups": None}, TypeError),
    ({"max_row_groups": True}, TypeError),
    ({"schema_only": "yes"}, TypeError),
    ({"include_statistics": "no"}, TypeError),
    ({"no_such_option": True}, TypeError),
]


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("options,error", BAD_OPTIONS, ids=lambda v: repr(v))
def test_bad_option_values(generated: Callable[[str], Path], reader: str, options: dict,
                           error: type) -> None:
    path = generated("ints")
    with pytest.raises(error):
        READERS[reader](path, **options)


def test_options_are_keyword_only(generated: Callable[[str], Path]) -> None:
    path = generated("ints")
    data = path.read_bytes()
    with pytest.raises(TypeError):
        rp.read_metadata(path, True)  # type: ignore[misc]
    with pytest.raises(TypeError):
        rp.read_metadata_from_bytes(data, True)  # type: ignore[misc]
    with pytest.raises(TypeError):
        rp.read_metadata_from_memoryview(memoryview(data), True)  # type: ignore[misc]
