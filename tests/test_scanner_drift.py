"""Schema drift: canonical versions across writers and LIST layouts, the changes between
them in order of appearance, the unified schema or its conflict; from a scan, an index and
the command line. Files are written by pyarrow, polars and duckdb."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner import Catalogue, build_catalogue
from scanner.__main__ import main
from scanner.errors import ScanError, SchemaConflict
from scanner.query.arrow_types import arrow_type
from scanner.query.drift import is_widening

T0 = 1_700_000_000


def _touch(path: Path, second: int) -> None:
    os.utime(path, ns=((T0 + second) * 10**9,) * 2)


def _pyarrow(path: Path, table: pa.Table, second: int, **options: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, **options)
    _touch(path, second)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Day partitions, written so that mtimes disagree with the partition order:

    * day=1: pyarrow, ``id`` int32, ``user_name``, ``tags`` (new LIST layout), ``ts``;
      a second file with the legacy LIST layout (same version)
    * day=2: polars, ``id`` int64 with no INTEGER annotation (widened); duckdb, ``id``
      BIGINT annotated (same version: a writer change only)
    * day=3: ``user_name`` renamed ``customer_name``
    * day=10: ``score`` added (10 sorts after 3: partition values are typed)
    * day=3 also holds a broken file (not a version)
    """
    root = tmp_path_factory.mktemp("drift")
    tags = pa.array([["x"], ["y", "z"]])
    ts = pa.array([1, 2], pa.timestamp("us", tz="UTC"))
    first = pa.table({"id": pa.array([1, 2], pa.int32()), "user_name": ["a", "b"], "tags": tags, "ts": ts})
    _pyarrow(root / "day=1" / "a.parquet", first, 50)
    _pyarrow(root / "day=1" / "b.parquet", first, 51, use_compliant_nested_type=False)
    day2 = root / "day=2"
    day2.mkdir()
    frame = pl.DataFrame({"id": [1, 2], "user_name": ["a", None], "tags": [["x"], None],
                          "ts": pl.Series([1, 2]).cast(pl.Datetime("us", "UTC"))})
    frame.write_parquet(day2 / "polars.parquet")
    _touch(day2 / "polars.parquet", 40)
    duckdb.sql("create table t as select * from (values (1::bigint, 'a', ['x'], '2024-01-01 00:00:00+00'::timestamptz),"
               " (null, null, null, null)) v(id, user_name, tags, ts)")
    duckdb.sql(f"copy t to '{day2 / 'duckdb.parquet'}'")
    duckdb.sql("drop table t")
    _touch(day2 / "duckdb.parquet", 41)
    renamed = first.rename_columns(["id", "customer_name", "tags", "ts"]).cast(
        pa.schema([("id", pa.int64()), ("customer_name", pa.string()), ("tags", tags.type), ("ts", ts.type)]))
    _pyarrow(root / "day=3" / "a.parquet", renamed, 30)
    (root / "day=3" / "broken.parquet").write_bytes(b"PAR1 not a footer PAR1")
    _touch(root / "day=3" / "broken.parquet", 1)
    _pyarrow(root / "day=10" / "a.parquet", renamed.append_column("score", pa.array([0.5, 1.5])), 10)
    return root


@pytest.fixture(scope="module")
def catalogue(lake: Path) -> Catalogue:
    return build_catalogue(lake, progress=False)


def _changes(frame: pd.DataFrame) -> List[Dict[str, Any]]:
    keep = ["column", "change", "from_column", "from_type", "to_type", "widening", "guess", "first_partition",
            "files_before", "files_after"]
    return [{k: None if pd.isna(v) else v for k, v in row.items()} for row in frame[keep].to_dict("records")]


EXPECTED_CHANGES = [
    {"column": "id", "change": "type_changed", "from_column": None, "from_type": "int32", "to_type": "int64",
     "widening": True, "guess": False, "first_partition": "day=2", "files_before": 2, "files_after": 4},
    {"column": "customer_name", "change": "renamed", "from_column": "user_name", "from_type": "varchar",
     "to_type": "varchar", "widening": None, "guess": True, "first_partition": "day=3", "files_before": 4,
     "files_after": 2},
    {"column": "score", "change": "added", "from_column": None, "from_type": None, "to_type": "double",
     "widening": None, "guess": False, "first_partition": "day=10", "files_before": 5, "files_after": 1},
]


def test_versions_are_canonical_and_in_order_of_appearance(catalogue: Catalogue, lake: Path) -> None:
    versions = catalogue.schema_versions()
    # four raw fingerprints at least (two LIST layouts, two int64 writers), three forms of id...
    assert catalogue.files["schema_fingerprint"].nunique() >= 5
    # ... but four canonical versions: day=1 (both layouts), day=2 (polars and duckdb), day=3, day=10
    assert versions["first_partition"].tolist() == ["day=1", "day=2", "day=3", "day=10"]
    assert versions["files"].tolist() == [2, 2, 1, 1]
    assert versions["first_file"].tolist()[0] == str(lake / "day=1" / "a.parquet")
    assert versions["schema"].tolist()[-1] == ("id: int64?, customer_name: varchar?, tags: array<varchar>?, "
                                               "ts: timestamp[us,UTC]?, score: double?")
    assert catalogue.summary()["schema_versions"] == 4


def test_changes_between_versions(catalogue: Catalogue, lake: Path) -> None:
    drift = catalogue.schema_drift()
    assert _changes(drift) == EXPECTED_CHANGES
    assert drift["first_file"].tolist() == [str(lake / "day=2" / "polars.parquet"), str(lake / "day=3" / "a.parquet"),
                                            str(lake / "day=10" / "a.parquet")]
    assert drift["to_version"].tolist() == catalogue.schema_versions()["version"].tolist()[1:]


def test_unified_schema(catalogue: Catalogue) -> None:
    unified = catalogue.unified_schema()
    assert unified == pa.schema([("id", pa.int64()), ("user_name", pa.string()), ("tags", pa.list_(pa.string())),
                                 ("ts", pa.timestamp("us", tz="UTC")), ("customer_name", pa.string()),
                                 ("score", pa.float64())])


def test_nullability_and_narrowing(tmp_path: Path) -> None:
    _pyarrow(tmp_path / "a.parquet", pa.table({"x": pa.array([1], pa.int64()), "y": [1.5]}), 1)
    schema = pa.schema([pa.field("x", pa.int64(), nullable=False), ("y", pa.float32())])
    _pyarrow(tmp_path / "b.parquet", pa.table({"x": [1], "y": [1.5]}, schema=schema), 2)
    drift = build_catalogue(tmp_path, progress=False).schema_drift()
    rows = {row["change"]: row for row in drift.to_dict("records")}
    assert set(rows) == {"type_changed", "nullability_changed"}
    assert (rows["type_changed"]["from_type"], rows["type_changed"]["to_type"]) == ("double", "float")
    assert rows["type_changed"]["widening"] is False
    assert (rows["nullability_changed"]["from_nullable"], rows["nullability_changed"]["to_nullable"]) == (True, False)
    assert rows["nullability_changed"]["widening"] is False


def test_conflict_names_both_files(tmp_path: Path) -> None:
    _pyarrow(tmp_path / "a.parquet", pa.table({"id": [1], "v": ["x"]}), 1)
    _pyarrow(tmp_path / "b.parquet", pa.table({"id": ["one"], "v": ["x"]}), 2)
    cat = build_catalogue(tmp_path, progress=False)
    with pytest.raises(SchemaConflict, match=r"'id': int64 in .*a\.parquet but string in .*b\.parquet"):
        cat.unified_schema()
    assert cat.schema_drift()["change"].tolist() == ["type_changed"]


def test_one_version_no_changes(tmp_path: Path) -> None:
    for i in range(3):
        _pyarrow(tmp_path / f"{i}.parquet", pa.table({"a": [i]}), i)
    cat = build_catalogue(tmp_path, progress=False)
    assert len(cat.schema_versions()) == 1 and cat.schema_drift().empty
    assert cat.unified_schema() == pa.schema([("a", pa.int64())])


def test_same_answers_from_an_index(catalogue: Catalogue, tmp_path: Path) -> None:
    index = tmp_path / "index.parquet"
    catalogue.write(index)
    back = Catalogue.read(index)
    pd.testing.assert_frame_equal(back.schema_versions(), catalogue.schema_versions())
    pd.testing.assert_frame_equal(back.schema_drift(), catalogue.schema_drift())
    # one string per distinct schema, not per file, in memory and in the DataFrame
    assert back.files["schema_columns"].dtype == pd.ArrowDtype(pa.dictionary(pa.int32(), pa.string()))
    assert back.files["schema_columns"].dtype == catalogue.files["schema_columns"].dtype


def test_index_without_schema_columns_says_rescan(catalogue: Catalogue, tmp_path: Path) -> None:
    index = tmp_path / "index.parquet"
    catalogue.write(index)
    table = pq.read_table(index)
    pq.write_table(table.drop_columns(["schema_columns"]), index)  # as an older rugo wrote it
    old = Catalogue.read(index)
    assert old.summary()["schema_versions"] is None
    with pytest.raises(ScanError, match="scan the lake again"):
        old.schema_drift()


def test_cli_drift(lake: Path, capsys: pytest.CaptureFixture) -> None:
    assert main([str(lake), "--drift", "--no-progress", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [c["change"] for c in out["schema_drift"]] == ["type_changed", "renamed", "added"]
    assert out["schema_conflict"] is None and "score: double" in out["unified_schema"]
    assert [v["first_partition"] for v in out["version_table"]] == ["day=1", "day=2", "day=3", "day=10"]
    assert main([str(lake), "--drift", "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "user_name -> customer_name (a guess: same position and type)" in text
    assert "id int32 -> int64 (widening)" in text and "4 canonical versions" in text


def test_cli_drift_from_an_index(lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    index = tmp_path / "index.parquet"
    assert main([str(lake), "--no-progress", "-o", str(index)]) == 0
    capsys.readouterr()
    assert main(["--from-index", str(index), "--drift", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [c["change"] for c in out["schema_drift"]] == ["type_changed", "renamed", "added"]


def test_cli_drift_reports_a_conflict(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _pyarrow(tmp_path / "a.parquet", pa.table({"id": [1]}), 1)
    _pyarrow(tmp_path / "b.parquet", pa.table({"id": ["one"]}), 2)
    assert main([str(tmp_path), "--drift", "--no-progress"]) == 0
    assert "no unified schema: no schema holds column 'id'" in capsys.readouterr().out


@pytest.mark.parametrize("old,new,widening", [
    ("int32", "int64", True), ("int64", "int32", False), ("uint32", "int64", True), ("uint32", "int32", False),
    ("int32", "uint64", False), ("int8", "int16", True), ("int32", "double", True), ("int64", "double", False),
    ("float", "double", True), ("double", "float", False), ("float16", "float", True),
    ("decimal(9,2)", "decimal(18,2)", True), ("decimal(9,2)", "decimal(9,3)", False),
    ("decimal(9,2)", "decimal(11,4)", True), ("timestamp[ms,UTC]", "timestamp[us,UTC]", True),
    ("timestamp[us]", "timestamp[ns]", False), ("timestamp[ms]", "timestamp[us,UTC]", False),
    ("varchar", "byte_array", False), ("int64", "varchar", False), ("time32[ms]", "time64[us]", True),
])
def test_widening_rules(old: str, new: str, widening: bool) -> None:
    assert is_widening(old, new) is widening


def test_type_strings_read_back_as_pyarrow_reads_the_file(tmp_path: Path) -> None:
    """Every top-level type string of a file pyarrow wrote is the type pyarrow reads back."""
    import datetime as dt
    import decimal

    columns = {
        "b": pa.array([True]), "i8": pa.array([1], pa.int8()), "i16": pa.array([1], pa.int16()),
        "i32": pa.array([1], pa.int32()), "i64": pa.array([1], pa.int64()), "u8": pa.array([1], pa.uint8()),
        "u16": pa.array([1], pa.uint16()), "u32": pa.array([1], pa.uint32()), "u64": pa.array([1], pa.uint64()),
        "f32": pa.array([1.0], pa.float32()), "f64": pa.array([1.0]), "s": pa.array(["x"]),
        "bin": pa.array([b"x"]), "d": pa.array([dt.date(2024, 1, 1)]),
        "dec": pa.array([decimal.Decimal("1.25")], pa.decimal128(9, 2)),
        "dec_big": pa.array([decimal.Decimal("1")], pa.decimal128(30, 0)),
        "t_ms": pa.array([1], pa.time32("ms")), "t_us": pa.array([1], pa.time64("us")),
        "ts_ms": pa.array([1], pa.timestamp("ms")), "ts_us_utc": pa.array([1], pa.timestamp("us", tz="UTC")),
        "ts_ns": pa.array([1], pa.timestamp("ns")), "l": pa.array([[1, 2]]),
        "st": pa.array([{"a": 1, "b": "x"}]), "m": pa.array([[("k", 1.0)]], pa.map_(pa.string(), pa.float64())),
        "ll": pa.array([[[1]]]), "ls": pa.array([[{"x": 1}]]),
    }
    path = tmp_path / "types.parquet"
    pq.write_table(pa.table(columns), path, store_schema=False)  # pyarrow infers from Parquet types alone
    read = pq.read_schema(path)
    cat = build_catalogue(path, progress=False)
    for column in json.loads(cat.files["schema_columns"][0]):
        text = column["logical_type"] or column["physical_type"]
        assert arrow_type(text) == read.field(column["name"]).type, (column, read.field(column["name"]))


def test_type_strings_outside_the_grammar_raise() -> None:
    with pytest.raises(ValueError, match="not a type string"):
        arrow_type("array<int64")
    with pytest.raises(ValueError, match="not a type string"):
        arrow_type("nonsense")


_TYPES = [pa.int32(), pa.int64(), pa.float32(), pa.float64(), pa.string(), pa.date32(), pa.timestamp("ms")]


@st.composite
def _schemas(draw: Any) -> List[pa.Schema]:
    """A few files' schemas over a small pool of names: columns come and go, change type,
    nullability and order."""
    out = []
    for _ in range(draw(st.integers(1, 6))):
        names = draw(st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), min_size=1, max_size=4, unique=True))
        out.append(pa.schema([pa.field(n, draw(st.sampled_from(_TYPES)), draw(st.booleans())) for n in names]))
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(schemas=_schemas())
def test_changes_take_each_version_to_the_next(tmp_path_factory: pytest.TempPathFactory, schemas: List[pa.Schema]) -> None:
    """On random lakes: the versions count every ok file once, and applying a version's
    change rows to the version before it gives exactly that version (no change missed,
    none made up); the unified schema holds every column, or a conflict is raised."""
    root = tmp_path_factory.mktemp("random-drift")
    for i, schema in enumerate(schemas):
        _pyarrow(root / f"p={i % 2}" / f"f{i}.parquet", pa.Table.from_pylist([], schema=schema), i)
    cat = build_catalogue(root, progress=False, workers=1)
    versions = cat.schema_versions()
    assert versions["files"].sum() == len(schemas)
    forms = {v: {c.split(": ")[0]: c.split(": ")[1] for c in text.split(", ")}
             for v, text in zip(versions["version"], versions["schema"])}
    drift = cat.schema_drift()
    for before, after in _transitions(drift):
        state = dict(forms[before])
        for row in drift[(drift.from_version == before) & (drift.to_version == after)].to_dict("records"):
            form = f"{row['to_type']}{'?' if row['to_nullable'] else ''}"
            if row["change"] == "added":
                state[row["column"]] = form
            elif row["change"] == "removed":
                del state[row["column"]]
            elif row["change"] == "renamed":
                state[row["column"]] = state.pop(row["from_column"])
            else:  # a type or a nullability: the column's new form
                state[row["column"]] = form
        assert state == forms[after], (before, after)
    try:
        unified = cat.unified_schema()
    except SchemaConflict:
        return
    assert set(unified.names) == {name for form in forms.values() for name in form}


def _transitions(drift: pd.DataFrame) -> List[tuple]:
    return list(dict.fromkeys(zip(drift.from_version, drift.to_version)))
