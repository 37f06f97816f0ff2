"""End to end: a lake of good and broken files, catalogued, compared with pyarrow, indexed."""
from __future__ import annotations

import datetime as dt
import math
import os
import uuid
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

import scanner.catalogue
from rugo import _footer
from scanner import Catalogue, ScanError, build_catalogue, scan_file
from scanner.catalogue import COLUMNS, FILES, ROW_GROUPS, decode_bound, encode_bound
from scanner.engine.local.coordinator import scan
from scanner.sources import discover
from scanner.errors import TOO_LARGE
from scanner_helpers import (REPO, expected_chunks, expected_columns, expected_file, make_lake,
                             records, typed_table, write)

ERRORS = {"truncated": "NotParquetError", "empty": "NotParquetError", "csv": "NotParquetError",
          "encrypted": "EncryptedFooterError", "unreadable": "PermissionError",
          "broken_symlink": "FileNotFoundError"}


@contextmanager
def unreadable(path: Path) -> Iterator[None]:
    """``path`` is chmod 000; root reads it anyway, so for root refuse it in the loader.

    The loader opens files in C (``_footer.load_tails``); this answers for ``path`` what
    it answers for an ``open`` failing with EACCES (tests/test_load_tails.py checks that
    answer with a real EACCES).
    """
    if os.geteuid() != 0:
        yield
        return
    real_load_tails = _footer.load_tails

    def refusing_load_tails(paths, sizes, out, first_reads=None):
        if [os.fspath(p) for p in paths] == [str(path)]:
            return 1, 0, [(0, 0)], bytes([_footer.LOAD_ERROR]), {0: ("PermissionError", "Permission denied")}
        return real_load_tails(paths, sizes, out, first_reads)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_footer, "load_tails", refusing_load_tails)
        yield


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("lake")
    return {"root": root, **make_lake(root)}


@pytest.fixture(scope="module")
def catalogue(lake: dict) -> Catalogue:
    with unreadable(lake["unreadable"]):
        return build_catalogue(lake["root"], detail="row_groups", workers=2, progress=False)


def row(cat: Catalogue, path: Path) -> dict:
    rows = records(cat.files[cat.files["file_name"] == str(path)])
    assert len(rows) == 1, path
    return rows[0]


def ok_paths(lake: dict) -> list:
    return [p for name, p in lake.items() if name != "root" and name not in ERRORS]


def test_every_file_once_in_walk_order_and_skipped_names_absent(catalogue: Catalogue, lake: dict) -> None:
    names = list(catalogue.files["file_name"])
    expected = {str(p) for name, p in lake.items() if name != "root"}
    assert set(names) == expected
    assert len(names) == len(expected)
    assert names.index(str(lake["good"])) < names.index(str(lake["same_schema"]))
    assert not any("/_" in n or "/." in n for n in names)


def test_ok_files_match_pyarrow(catalogue: Catalogue, lake: dict) -> None:
    for path in ok_paths(lake):
        got = row(catalogue, path)
        assert got["status"] == "ok" and got["error_type"] is None, got
        for key, value in expected_file(path).items():
            assert got[key] == value, (path, key)
        assert got["mtime_ns"] == path.stat().st_mtime_ns


def test_columns_match_pyarrow(catalogue: Catalogue, lake: dict) -> None:
    for path in ok_paths(lake):
        got = records(catalogue.columns[catalogue.columns["file_name"] == str(path)])
        expected = expected_columns(path)
        assert len(got) == len(expected) == row(catalogue, path)["num_columns"]
        for g, e in zip(got, expected):
            g["encodings"] = set(g["encodings"].split(", ")) if g["encodings"] else set()
            g["compression"] = set(g["compression"].split(", ")) if g["compression"] else set()
            assert {k: g[k] for k in e} == e, (path, e["path_in_schema"])


def test_row_groups_match_pyarrow(catalogue: Catalogue, lake: dict) -> None:
    for path in ok_paths(lake):
        got = records(catalogue.row_groups[catalogue.row_groups["file_name"] == str(path)])
        expected = expected_chunks(path)
        assert [{k: g[k] for k in e} for g, e in zip(got, expected)] == expected
        assert len(got) == len(expected)


def test_broken_files_are_error_rows(catalogue: Catalogue, lake: dict) -> None:
    for name, error_type in ERRORS.items():
        got = row(catalogue, lake[name])
        assert (got["status"], got["error_type"]) == ("error", error_type), got
        assert got["error"]
        assert got["num_rows"] is None and got["schema_fingerprint"] is None
    failed = catalogue.files[catalogue.files["status"] == "error"]["file_name"]
    assert set(failed) == {str(lake[name]) for name in ERRORS}
    assert not catalogue.columns["file_name"].isin(failed).any()


def test_hive_partitions(catalogue: Catalogue, lake: dict) -> None:
    assert catalogue.partition_columns == ["year", "month"]
    assert (row(catalogue, lake["nested_hive"])["year"], row(catalogue, lake["nested_hive"])["month"]) == ("2024", "01")
    assert row(catalogue, lake["encoded_hive"])["month"] == "/02"
    assert row(catalogue, lake["null_hive"])["year"] is None
    assert row(catalogue, lake["good"])["year"] is None


def test_partition_key_named_like_a_column(tmp_path: Path) -> None:
    path = write(tmp_path / "status=archived" / "a.parquet")
    cat = build_catalogue(tmp_path, workers=1, progress=False)
    assert cat.partition_columns == ["partition_status"]
    assert (row(cat, path)["status"], row(cat, path)["partition_status"]) == ("ok", "archived")


def test_schema_fingerprint(catalogue: Catalogue, lake: dict) -> None:
    fp = {name: row(catalogue, lake[name])["schema_fingerprint"] for name in ok_paths_names(lake)}
    assert fp["good"] == fp["same_schema"] == fp["no_stats"] == fp["symlink"] == fp["nested_hive"]
    assert fp["drift"] != fp["good"]


def ok_paths_names(lake: dict) -> list:
    return [name for name in lake if name != "root" and name not in ERRORS]


def test_file_without_row_groups(catalogue: Catalogue, lake: dict) -> None:
    got = row(catalogue, lake["no_row_groups"])
    assert (got["num_rows"], got["num_row_groups"], got["total_compressed_size"]) == (0, 0, 0)
    columns = records(catalogue.columns[catalogue.columns["file_name"] == str(lake["no_row_groups"])])
    assert len(columns) == got["num_columns"] > 0
    assert all(c["num_values"] == 0 and c["stats_min"] is None for c in columns)


def test_bloom_filter_and_page_index(catalogue: Catalogue, lake: dict) -> None:
    columns = catalogue.columns.set_index(["file_name", "path_in_schema"])
    assert columns.loc[(str(lake["page_index"]), "id"), "has_bloom_filter"]
    assert not columns.loc[(str(lake["page_index"]), "name"), "has_bloom_filter"]
    assert columns.loc[(str(lake["page_index"]), "name"), "has_page_index"]
    assert not columns.loc[(str(lake["good"]), "id"), "has_page_index"]


def test_fixed_dtypes_even_when_empty(catalogue: Catalogue, tmp_path: Path) -> None:
    empty = build_catalogue(write(tmp_path / "x.parquet"), detail="files", workers=1, progress=False)
    for frame_name, fields in (("files", FILES), ("columns", COLUMNS), ("row_groups", ROW_GROUPS)):
        full, bare = getattr(catalogue, frame_name), getattr(empty, frame_name)
        assert list(bare.columns)[: len(fields)] == [f.name for f in fields]
        assert (bare.dtypes[: len(fields)] == full.dtypes[: len(fields)]).all(), frame_name
    assert len(empty.columns) == len(empty.row_groups) == 0
    assert dict(catalogue.files.dtypes)["num_rows"] == pd.Int64Dtype()
    assert dict(catalogue.columns.dtypes)["stats_min"] == object


def test_index_round_trip(catalogue: Catalogue, tmp_path: Path) -> None:
    path = tmp_path / "index.parquet"
    catalogue.write(path)
    back = Catalogue.read(path)
    assert (back.detail, back.partition_columns) == ("row_groups", ["year", "month"])
    for name in ("files", "columns", "row_groups"):
        assert_frame_equal(getattr(back, name), getattr(catalogue, name))
    assert os.listdir(tmp_path) == ["index.parquet"]


def test_index_is_plain_parquet_for_pyarrow_and_duckdb(catalogue: Catalogue, lake: dict, tmp_path: Path) -> None:
    path = tmp_path / "index.parquet"
    catalogue.write(path)
    table = pq.read_table(path)
    assert table.column("file_name").to_pylist() == list(catalogue.files["file_name"])
    assert sum(len(v) for v in table.column("columns").to_pylist()) == len(catalogue.columns)
    con = duckdb.connect()
    ok = con.execute("SELECT file_name, num_rows FROM read_parquet(?) WHERE status = 'ok' ORDER BY file_name",
                     [str(path)]).fetchall()
    frame = catalogue.files[catalogue.files["status"] == "ok"].sort_values("file_name")
    assert ok == list(zip(frame["file_name"], frame["num_rows"]))
    # pruning: which files may hold id >= 25, from the typed bound
    pruned = con.execute(
        "SELECT DISTINCT file_name FROM (SELECT file_name, unnest(columns) AS c FROM read_parquet(?)) "
        "WHERE c.column_path_in_schema = 'id' AND (c.column_stats_max_int IS NULL OR c.column_stats_max_int >= 25) "
        "ORDER BY 1",
        [str(path)]).fetchall()
    ids = catalogue.columns[catalogue.columns["path_in_schema"] == "id"]
    keep = ids[ids["stats_max"].map(lambda v: v is None or v >= 25)]
    assert [p for (p,) in pruned] == sorted(keep["file_name"])
    count = con.execute("SELECT count(*) FROM (SELECT unnest(row_groups) FROM read_parquet(?))",
                        [str(path)]).fetchone()
    assert count == (len(catalogue.row_groups),)


def test_write_replaces_atomically(catalogue: Catalogue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "index.parquet"
    catalogue.write(path)
    before = path.read_bytes()

    written = []
    real_write = pq.ParquetWriter.write_table

    def failing_write(self, table, *args, **kwargs):  # the first slice lands, then the disk is full
        if written:
            raise OSError(28, "No space left on device")
        written.append(table.num_rows)
        real_write(self, table, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetWriter, "write_table", failing_write)
    monkeypatch.setattr(scanner.catalogue, "INDEX_SLICE_FILES", 5)  # several slices
    with pytest.raises(OSError):
        catalogue.write(path)
    assert written == [5]
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["index.parquet"]


def test_index_written_in_slices_equals_the_whole(catalogue: Catalogue, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scanner.catalogue, "INDEX_SLICE_FILES", 3)
    catalogue.write(tmp_path / "sliced.parquet")
    sliced = pq.read_table(tmp_path / "sliced.parquet")
    assert pq.ParquetFile(tmp_path / "sliced.parquet").num_row_groups == -(-len(catalogue.files) // 3)
    assert sliced.equals(catalogue.to_arrow())
    pq.write_table(catalogue.to_arrow(), tmp_path / "whole.parquet")
    again, whole = Catalogue.read(tmp_path / "sliced.parquet"), Catalogue.read(tmp_path / "whole.parquet")
    for name in ("files", "columns", "row_groups"):
        assert_frame_equal(getattr(again, name), getattr(whole, name))


def _unique(names: list) -> None:
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


def test_unnested_index_names_are_unique_in_polars_and_duckdb(catalogue: Catalogue, tmp_path: Path) -> None:
    """Every nested field has a name of its own: unnesting both lists gives unique columns."""
    import polars as pl

    path = tmp_path / "index.parquet"
    catalogue.write(path)
    index = pl.read_parquet(path)
    columns = index.explode("columns").unnest("columns")
    chunks = index.explode("row_groups").unnest("row_groups")
    both = columns.explode("row_groups").unnest("row_groups")
    for frame in (columns, chunks, both):
        _unique(frame.columns)
    assert {"total_compressed_size", "column_total_compressed_size", "chunk_total_compressed_size",
            "column_id", "chunk_column_id", "column_path_in_schema", "chunk_path_in_schema"} <= set(both.columns)
    assert columns.filter(pl.col("column_id").is_not_null()).height == len(catalogue.columns)
    con = duckdb.connect()
    relation = con.execute("SELECT * EXCLUDE (columns, row_groups), unnest(columns, recursive := true), "
                           "unnest(row_groups, recursive := true) FROM read_parquet(?)", [str(path)])
    names = [d[0] for d in relation.description]
    _unique(names)
    assert {"file_name", "column_stats_max_int", "chunk_stats_max_int", "chunk_row_group_id"} <= set(names)


def _as_format_1(path: Path, out: Path) -> None:
    """Rewrite a format 2 index as format 1 wrote it: nested fields without their prefix."""
    import json

    from scanner.catalogue.index import NESTED_PREFIXES

    table = pq.read_table(path)
    meta = json.loads(table.schema.metadata[b"rugo.scanner"])
    for name, prefix in NESTED_PREFIXES.items():
        lists = table.column(name).combine_chunks()
        structs = lists.values
        names = [f.name if f.name == "column_id" else f.name[len(prefix):] for f in structs.type]
        bare = pa.StructArray.from_arrays(structs.flatten(), names=names)
        table = table.set_column(table.column_names.index(name), name,
                                 pa.ListArray.from_arrays(lists.offsets, bare, mask=lists.is_null()))
    meta["format"] = 1
    pq.write_table(table.replace_schema_metadata({"rugo.scanner": json.dumps(meta)}), out)


def test_read_understands_format_1_and_refuses_unknown_formats(catalogue: Catalogue, tmp_path: Path) -> None:
    import json

    catalogue.write(tmp_path / "v2.parquet")
    _as_format_1(tmp_path / "v2.parquet", tmp_path / "v1.parquet")
    assert pq.read_table(tmp_path / "v1.parquet").schema.field("columns").type.value_type[1].name == "path_in_schema"
    back = Catalogue.read(tmp_path / "v1.parquet")
    for name in ("files", "columns", "row_groups"):
        assert_frame_equal(getattr(back, name), getattr(catalogue, name))
    table = pq.read_table(tmp_path / "v2.parquet")
    meta = json.loads(table.schema.metadata[b"rugo.scanner"])
    pq.write_table(table.replace_schema_metadata({"rugo.scanner": json.dumps({**meta, "format": 99})}),
                   tmp_path / "v99.parquet")
    with pytest.raises(ScanError, match=r"v99.parquet: a scanner index of format 99, which this version of rugo "
                                        r"cannot read \(it reads formats 1, 2, 3\): upgrade rugo"):
        Catalogue.read(tmp_path / "v99.parquet")


def test_read_rejects_other_parquet(tmp_path: Path) -> None:
    with pytest.raises(ScanError, match="not a scanner index"):
        Catalogue.read(write(tmp_path / "x.parquet"))


def test_full_mode_and_files_detail_agree_with_tail_mode(catalogue: Catalogue, lake: dict) -> None:
    good = lake["root"] / "good"
    tail = build_catalogue(good, workers=1, progress=False)
    full = build_catalogue(good, mode="full", workers=1, progress=False)
    files_only = build_catalogue(good, detail="files", workers=1, progress=False)
    assert_frame_equal(full.files, tail.files)
    assert_frame_equal(full.columns, tail.columns)
    assert_frame_equal(files_only.files, tail.files)
    assert len(files_only.columns) == 0
    in_lake = catalogue.columns[catalogue.columns["file_name"].str.startswith(str(good) + "/")]
    assert_frame_equal(tail.columns, in_lake.reset_index(drop=True))


def test_scan_file_equals_build_catalogue(catalogue: Catalogue, lake: dict) -> None:
    for name in ("good", "page_index", "csv", "encrypted"):
        single = scan_file(lake[name], detail="row_groups")
        expected = row(catalogue, lake[name])
        assert records(single.files)[0] == {k: expected[k] for k in single.files.columns}
        cols = catalogue.columns[catalogue.columns["file_name"] == str(lake[name])].reset_index(drop=True)
        assert_frame_equal(single.columns, cols)
    with pytest.raises(ScanError, match="not a file"):
        scan_file(lake["root"])


def test_footer_beyond_first_read_and_beyond_a_block(tmp_path: Path) -> None:
    def wide(n: int) -> pa.Table:
        return pa.table({f"c{i:04d}": pa.array([i, i + 1], pa.int64()) for i in range(n)})

    bigger_than_tail = write(tmp_path / "a-120k.parquet", wide(400), row_group_size=1)
    bigger_than_block = write(tmp_path / "b-750k.parquet", wide(2500), row_group_size=1)
    bigger_than_cap = write(tmp_path / "c-1200k.parquet", wide(4000), row_group_size=1)
    small = [write(tmp_path / f"d-{i}.parquet", typed_table(3)) for i in range(4)]
    for mode in ("tail", "full"):
        cat = build_catalogue(tmp_path, workers=1, shm_bytes=2**20, mode=mode, progress=False)
        for path in [bigger_than_tail, bigger_than_block, *small]:
            assert row(cat, path)["footer_size"] == pq.read_metadata(path).serialized_size
        assert row(cat, bigger_than_cap)["error_type"] == TOO_LARGE
        assert scan_file(bigger_than_cap).files["status"][0] == "ok"


def test_file_vanishing_after_listing_is_an_error_row(tmp_path: Path) -> None:
    kept, gone = write(tmp_path / "a.parquet"), write(tmp_path / "b.parquet")
    entries = discover([tmp_path])
    gone.unlink()
    cat = Catalogue.from_results(entries, scan(entries, workers=1, progress=False))
    assert row(cat, kept)["status"] == "ok"
    assert (row(cat, gone)["error_type"], row(cat, gone)["error"]) == ("FileNotFoundError", "No such file or directory")


def test_missing_root_is_a_scan_error(tmp_path: Path) -> None:
    with pytest.raises(ScanError, match="No such file"):
        build_catalogue(tmp_path / "missing", progress=False)


def test_options_are_checked(tmp_path: Path) -> None:
    for options in ({"mode": "mmap"}, {"detail": "pages"}, {"workers": 0}, {"shm_bytes": 1000}):
        with pytest.raises(ValueError):
            build_catalogue(write(tmp_path / "x.parquet"), progress=False, **options)


def test_summary(catalogue: Catalogue) -> None:
    summary = catalogue.summary(top=3)
    assert summary["files"] == len(catalogue.files)
    assert summary["failed"] == len(ERRORS)
    assert summary["ok"] + summary["failed"] == summary["files"]
    assert summary["distinct_schemas"] == 2
    assert summary["errors_by_type"]["NotParquetError"] == 3
    assert len(summary["largest_footers"]) == 3
    sizes = [f["footer_size"] for f in summary["largest_footers"]]
    assert sizes == sorted(sizes, reverse=True)


# --------------------------------------------------------------------------- bounds


BOUNDS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False), st.text(), st.binary(),
    st.decimals(allow_nan=False, allow_infinity=False), st.dates(), st.times(),
    st.datetimes(), st.datetimes(timezones=st.just(dt.timezone.utc)), st.uuids(),
)


@given(BOUNDS)
def test_bound_text_round_trips_exactly(value: object) -> None:
    text, kind = encode_bound(value)
    back = decode_bound(text, kind)
    assert type(back) is type(value)
    assert back == value
    if isinstance(value, float):
        assert math.copysign(1, back) == math.copysign(1, value)


def test_bound_kinds_survive_the_index(tmp_path: Path) -> None:
    values = [None, True, -5, 2**64 - 1, 1.5, float("inf"), "é", b"\x00\xff", Decimal("1.10"),
              dt.date(2024, 2, 29), dt.datetime(2024, 1, 1, 12, tzinfo=dt.timezone.utc),
              dt.datetime(2024, 1, 1, 12), dt.time(1, 2, 3, 4), uuid.UUID(int=7)]
    cat = build_catalogue(write(tmp_path / "x.parquet"), workers=1, progress=False)
    cat.columns = pd.concat([cat.columns.iloc[:1]] * len(values), ignore_index=True)
    cat.columns["stats_min"] = pd.Series(values, dtype=object)
    cat.columns["stats_max"] = pd.Series([None] + values[1:], dtype=object)
    cat.columns.loc[1, "stats_min"] = None  # a bound alone still has its kind
    cat.write(tmp_path / "index.parquet")
    back = Catalogue.read(tmp_path / "index.parquet")
    assert list(back.columns["stats_min"]) == [None, None] + values[2:]
    assert list(back.columns["stats_max"]) == values
    typed = pq.read_table(tmp_path / "index.parquet").column("columns").combine_chunks().flatten()
    assert typed.field("column_stats_min_int").to_pylist()[2:4] == [-5, None]  # uint64 max does not fit
    cat.columns.loc[2, "stats_max"] = "text"
    with pytest.raises(ValueError, match="stats_min is a int but its stats_max a str"):
        cat.write(tmp_path / "bad.parquet")


def test_docs_name_every_column_and_option() -> None:
    docs = (REPO / "README.md").read_text()
    for field in FILES + COLUMNS + ROW_GROUPS:
        assert f"`{field.name}`" in docs, field.name
    for option in ("--output", "--workers", "--mode", "--detail", "--format", "--no-progress",
                   "--strict", "--shm-bytes", "--top"):
        assert option in docs, option


def test_summary_ranks_schemas_by_count_then_first_seen_across_chunks() -> None:
    """Fingerprints arrive as chunks with dictionaries of their own (one per batch)."""
    from scanner.catalogue import _first_seen_counts

    chunks = [pa.array(["b", "a", None, "b"]).dictionary_encode(), pa.array(["c", "a", "c", None]).dictionary_encode()]
    ranked = _first_seen_counts(pa.chunked_array(chunks))
    assert ranked == [("b", 2, 0), ("a", 2, 1), (None, 2, 2), ("c", 2, 4)]
    assert _first_seen_counts(pa.chunked_array([pa.array(["x", "y", "y"])])) == [("y", 2, 1), ("x", 1, 0)]
    assert _first_seen_counts(pa.chunked_array([], pa.string())) == []


def test_typed_bounds_compare_safely_across_writers(tmp_path: Path) -> None:
    """The issue's filter: one column written as UTC, local and nanosecond timestamps by
    different files; the typed columns hold each kind apart, and the README's sound range
    test keeps exactly the files that may hold a row of the range."""
    utc = pa.timestamp("us", tz="UTC")
    stamps = {
        "utc.parquet": pa.array([dt.datetime(2024, 1, 5), dt.datetime(2024, 1, 9)], utc),
        "local.parquet": pa.array([dt.datetime(2024, 3, 1), dt.datetime(2024, 3, 2)], pa.timestamp("us")),
        "nanos.parquet": pa.array([1_704_067_200_000_000_001, 1_704_067_200_000_000_999], pa.timestamp("ns", tz="UTC")),
        "old.parquet": pa.array([dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59, 999999)], utc),
        "nostats.parquet": pa.array([dt.datetime(2024, 1, 20), None], utc),
    }
    for name, values in stamps.items():
        write(tmp_path / name, pa.table({"ts": values, "n": pa.array([1, 2], pa.int32()),
                                         "s": ["b", "é"], "f": [0.5, -1.5], "b": [True, True],
                                         "d": [dt.date(1, 1, 1), dt.date(9999, 12, 31)]}),
              write_statistics=name != "nostats.parquet")
    cat = build_catalogue(tmp_path, workers=1, progress=False)
    cols = cat.columns.set_index(["file_name", "path_in_schema"])
    ts = cat.columns[cat.columns.path_in_schema == "ts"].set_index("file_name")
    at = lambda name: str(tmp_path / name)  # noqa: E731
    assert ts.loc[at("utc.parquet"), "stats_min_timestamp"] == pd.Timestamp("2024-01-05", tz="UTC")
    assert pd.isna(ts.loc[at("utc.parquet"), "stats_min_timestamp_local"])
    assert ts.loc[at("local.parquet"), "stats_max_timestamp_local"] == pd.Timestamp("2024-03-02")
    assert pd.isna(ts.loc[at("local.parquet"), "stats_max_timestamp"])
    # nanoseconds rounded outward: 00:00:00.000000001 down to .000000, .000000999 up to .000001
    assert ts.loc[at("nanos.parquet"), "stats_min_timestamp"] == pd.Timestamp("2024-01-01 00:00:00", tz="UTC")
    assert ts.loc[at("nanos.parquet"), "stats_max_timestamp"] == pd.Timestamp("2024-01-01 00:00:00.000001",
                                                                                tz="UTC")
    assert ts.loc[at("old.parquet"), "stats_min_timestamp"].year == 1
    assert ts.loc[at("old.parquet"), "stats_max_timestamp"].year == 9999
    # the README's filter, against the data itself
    lo, hi = pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-02-01", tz="UTC")
    utc_hit = (ts.stats_max_timestamp >= lo) & (ts.stats_min_timestamp <= hi)
    local_hit = (ts.stats_max_timestamp_local >= lo.tz_localize(None)) & (
        ts.stats_min_timestamp_local <= hi.tz_localize(None))
    unknown = ts.stats_min.isna() | ts.stats_max.isna()
    kept = set(ts[(utc_hit.fillna(False) | local_hit.fillna(False) | unknown).astype(bool)].index)
    def as_utc(value: Any) -> pd.Timestamp:  # a local wall clock read as UTC, as the rule says
        stamp = pd.Timestamp(value)
        return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")

    holding = {at(name) for name, values in stamps.items()
               if any(v is not None and lo <= as_utc(v) <= hi for v in values.to_pylist())}
    assert holding <= kept
    assert kept == {at("utc.parquet"), at("nanos.parquet"), at("old.parquet"), at("nostats.parquet")}
    # every other kind: its own column, equal to the object value, null elsewhere
    row = cols.loc[(at("utc.parquet"), "n")]
    assert (row.stats_min_int, row.stats_max_int) == (1, 2) and pd.isna(row.stats_min_float)
    row = cols.loc[(at("utc.parquet"), "s")]
    assert (row.stats_min_str, row.stats_max_str) == ("b", "é") and pd.isna(row.stats_min_int)
    row = cols.loc[(at("utc.parquet"), "f")]
    assert (row.stats_min_float, row.stats_max_float) == (-1.5, 0.5)
    row = cols.loc[(at("utc.parquet"), "b")]
    assert (bool(row.stats_min_bool), bool(row.stats_max_bool)) == (True, True)
    row = cols.loc[(at("utc.parquet"), "d")]
    assert (row.stats_min_date, row.stats_max_date) == (dt.date(1, 1, 1), dt.date(9999, 12, 31))
    kinds = {"int": "n", "float": "f", "str": "s", "bool": "b", "date": "d"}
    for suffix, path in kinds.items():
        column = cat.columns[f"stats_min_{suffix}"]
        assert set(cat.columns.path_in_schema[column.notna()]) == {path}, suffix
    # the same bounds from the index, nanoseconds included (kept in its int copy)
    cat.write(tmp_path / "i.parquet")
    back = Catalogue.read(tmp_path / "i.parquet")
    typed = [c for c in cat.columns.columns if c.startswith(("stats_min_", "stats_max_"))]
    assert_frame_equal(back.columns[typed], cat.columns[typed])
    assert list(back.columns.stats_max) == list(cat.columns.stats_max)
    nanos = back.columns[(back.columns.file_name == at("nanos.parquet")) & (back.columns.path_in_schema == "ts")]
    assert nanos.stats_max.iloc[0].value == 1_704_067_200_000_000_999
