"""The engine against the single-file path: the same rows for every file, however it is scanned.

The reference is built file by file from ``rugo.parquet.read_metadata_from_memoryview``'s
dicts (``catalogue_reference``, the Python aggregation the workers used before the C
batch parser). The engine runs three ways: worker processes through shared memory, in
this process (a small scan), and ``scan_file`` one file at a time. Every field of every
table must agree, error rows included, on generated lakes and on the shared corpus.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Dict, List

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import rugo.parquet as pm
from rugo.errors import RugoError

from catalogue_reference import COLUMN_FIELDS, FILE_FIELDS, ROW_GROUP_FIELDS, parse_batch
from reference import corpus_root
from scanner import build_catalogue, scan_file
from scanner.engine.local import coordinator
from scanner_helpers import make_lake, records, typed_table, write

CORPUS = corpus_root() / "parquet-testing"


def same(a: Any, b: Any) -> bool:
    """Equal and of the same type (ints of any width alike); NaN equals NaN; None only None."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    return type(a) is type(b) and a == b


def reference_rows(path: str, detail: str) -> Dict[str, List[Dict[str, Any]]]:
    """The rows the single-file reader (``read_metadata(path)``) gives for ``path``."""
    def read(view: Any, include_statistics: bool) -> Dict[str, Any]:
        try:
            return pm.read_metadata(path, include_statistics=include_statistics)
        except RugoError as exc:
            raise exc.with_path(None) from None  # catalogue rows name the file in file_name
        except OSError as exc:  # rows hold the class and strerror, the file is in file_name
            raise type(exc)(exc.strerror) from None

    tables = parse_batch(b"-", [(0, 1)], detail, read)
    return {name: [dict(zip(table, values)) for values in zip(*table.values())] for name, table in tables.items()}


def assert_same_rows(cat: Any, detail: str, skip: set = frozenset()) -> int:
    """Every file of ``cat`` against its reference rows; returns how many files were compared."""
    files = {row["file_name"]: row for row in records(cat.files)}
    columns: Dict[str, list] = {}
    for row in records(cat.columns):
        columns.setdefault(row["file_name"], []).append(row)
    chunks: Dict[str, list] = {}
    for row in records(cat.row_groups):
        chunks.setdefault(row["file_name"], []).append(row)
    compared = 0
    for name, row in files.items():
        if name in skip:
            continue
        want = reference_rows(name, detail)
        (want_file,) = want["files"]
        for field in FILE_FIELDS:
            assert same(row[field], want_file[field]), (name, field, row[field], want_file[field])
        for table, got_rows, fields in (("columns", columns.get(name, []), COLUMN_FIELDS),
                                        ("row_groups", chunks.get(name, []), ROW_GROUP_FIELDS)):
            want_rows = want[table] if detail != "files" and (table == "columns" or detail == "row_groups") else []
            assert len(got_rows) == len(want_rows), (name, table)
            for got, exp in zip(got_rows, want_rows):
                for field in fields:
                    if field != "file_pos":
                        assert same(got[field], exp[field]), (name, table, field, got[field], exp[field])
        compared += 1
    return compared


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("engine-lake")
    make_lake(root)
    for i in range(40):  # many small files: several batches per worker
        write(root / "many" / f"part-{i:03d}.parquet", typed_table(5 + i, offset=i), row_group_size=3 + i % 5)
    wide = pa.table({f"c{k:04d}": [k, None, k + 2] for k in range(1500)})  # footer over 64 KiB
    pq.write_table(wide, root / "wide.parquet", row_group_size=1)
    return root


def _unreadable(cat: Any) -> set:
    """Files the reference cannot open either (permissions): compared through the engine only."""
    return {r["file_name"] for r in records(cat.files) if r["error_type"] in ("PermissionError",)}


@pytest.mark.parametrize("detail", ["files", "columns", "row_groups"])
def test_workers_and_in_process_scans_equal_the_single_file_path(lake: Path, detail: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    with_workers = build_catalogue(lake, workers=2, detail=detail, progress=False)
    monkeypatch.setattr(coordinator, "INLINE_TAIL_BYTES", 2**40)  # any scan is "small": parsed here
    monkeypatch.setattr(coordinator.Pool, "spawn", lambda self: pytest.fail("a worker was started"))
    in_process = build_catalogue(lake, detail=detail, progress=False)
    skip = _unreadable(with_workers)
    assert assert_same_rows(with_workers, detail, skip) >= 50
    assert assert_same_rows(in_process, detail, skip) >= 50
    for name in ("files", "columns", "row_groups"):
        a, b = getattr(with_workers, name), getattr(in_process, name)
        assert list(a.dtypes) == list(b.dtypes)
        assert records(a) == records(b) or all(map(_rows_same, records(a), records(b)))


def _rows_same(a: Dict[str, Any], b: Dict[str, Any]) -> bool:
    return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)


def test_scan_file_equals_the_single_file_path(lake: Path) -> None:
    for path in sorted(p for p in lake.rglob("*.parquet") if p.is_file())[:12]:
        cat = scan_file(path, detail="row_groups")
        assert assert_same_rows(cat, "row_groups", _unreadable(cat)) <= 1


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no corpus at {CORPUS}")
def test_corpus_through_workers_equals_the_single_file_path() -> None:
    cat = build_catalogue(CORPUS, workers=2, detail="row_groups", progress=False)
    assert assert_same_rows(cat, "row_groups") >= 100


def _index_from_python_values(cat: Any) -> pa.Table:
    """The index of ``cat``'s DataFrames re-encoded in Python (``encode_bound`` per value,
    the path the index took before the parser wrote bound columns itself)."""
    from scanner import Catalogue

    again = Catalogue(cat.files.copy(), cat.columns.copy(), cat.row_groups.copy(), cat.detail,
                      cat.partition_columns, cat.skipped)
    return again.to_arrow()


def _assert_same_index(got: pa.Table, want: pa.Table) -> None:
    assert got.schema == want.schema
    for name in got.column_names:
        a, b = got.column(name).to_pylist(), want.column(name).to_pylist()
        assert a == b or all(map(_nested_same, a, b)), name


def _nested_same(a: Any, b: Any) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_nested_same, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_nested_same(a[k], b[k]) for k in a)
    return same(a, b)


def test_index_bounds_written_by_the_parser_equal_those_encoded_from_python_values(lake: Path) -> None:
    cat = build_catalogue(lake, workers=2, detail="row_groups", progress=False)
    index = cat.to_arrow()
    _assert_same_index(index, _index_from_python_values(cat))
    kinds = set(index.column("columns").combine_chunks().flatten().field("column_stats_kind").to_pylist())
    assert {"int", "float", "str", "datetime", "date", "decimal", "bool"} <= kinds


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no corpus at {CORPUS}")
def test_corpus_index_bounds_equal_those_encoded_from_python_values() -> None:
    cat = build_catalogue(CORPUS, workers=2, detail="row_groups", progress=False)
    _assert_same_index(cat.to_arrow(), _index_from_python_values(cat))


def test_index_bound_texts_of_extreme_values_equal_python_encoding(tmp_path: Path) -> None:
    """The parser's own number and date formatting at the edges (int64 limits, year 1 and
    9999, microseconds, uint64 above int64, floats that print in exponent form)."""
    import datetime as dt

    extremes = pa.table({
        "i64": pa.array([-(2**63), 2**63 - 1, 0], pa.int64()),
        "i32": pa.array([-(2**31), 2**31 - 1, -7], pa.int32()),
        "u64": pa.array([0, 2**64 - 1, 2**63], pa.uint64()),
        "f64": pa.array([1e-300, 1e16, -0.0]),
        "f32": pa.array([0.1, 3.4e38, -1e-7], pa.float32()),
        "date": pa.array([dt.date(1, 1, 1), dt.date(9999, 12, 31), dt.date(1970, 1, 1)]),
        "ts": pa.array([dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59, 999999),
                        dt.datetime(2024, 2, 29, 0, 0, 0, 1)], pa.timestamp("us", tz="UTC")),
        "t": pa.array([dt.time(0, 0), dt.time(23, 59, 59, 999999), dt.time(12, 0, 0, 5)], pa.time64("us")),
    })
    for i in range(3):  # one row per row group too: the bounds aggregate over row groups
        write(tmp_path / f"x{i}.parquet", extremes.slice(i, 1))
    write(tmp_path / "all.parquet", extremes)
    cat = build_catalogue(tmp_path, workers=1, detail="row_groups", progress=False)
    assert set(cat.files.status) == {"ok"}
    _assert_same_index(cat.to_arrow(), _index_from_python_values(cat))
    texts = set(cat.to_arrow().column("columns").combine_chunks().flatten().field("column_stats_max").to_pylist())
    assert {"9223372036854775807", "18446744073709551615", "9999-12-31T23:59:59.999999+00:00",
            "23:59:59.999999", "9999-12-31"} <= texts


def test_first_reads_fitted_to_small_footers_still_read_larger_ones(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """After a batch of small footers the first read shrinks; larger footers that come later
    (under and over 64 KiB) are read whole all the same, in workers and in this process."""
    for i in range(24):
        write(tmp_path / f"a-{i:02d}-small.parquet", typed_table(3, offset=i))
    for i, columns in enumerate((300, 900, 1500)):  # footers of roughly 15, 45 and 75 KiB
        pq.write_table(pa.table({f"c{k:04d}": [k, None] for k in range(columns)}), tmp_path / f"b-{i}-wide.parquet")
    fitted: List[int] = []
    learn = coordinator._Loader.learn

    def recording(self: Any, batch: Any) -> None:
        learn(self, batch)
        fitted.append(self.fitted)

    monkeypatch.setattr(coordinator._Loader, "learn", recording)
    monkeypatch.setattr(coordinator, "MAX_BATCH_FILES", 4)
    with_workers = build_catalogue(tmp_path, workers=1, progress=False)
    assert 0 < fitted[0] < coordinator.TAIL_BYTES
    assert assert_same_rows(with_workers, "columns") == 27
    fitted.clear()
    monkeypatch.setattr(coordinator, "INLINE_TAIL_BYTES", 2**40)
    in_process = build_catalogue(tmp_path, progress=False)
    assert 0 < fitted[0] < coordinator.TAIL_BYTES
    assert assert_same_rows(in_process, "columns") == 27
