"""Partitions and health: what each hive partition holds, and the health flags, from a
fresh scan, from an index read back, and from the command line without rescanning."""
from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from scanner import Catalogue, build_catalogue
from scanner.__main__ import main
from scanner.query.health import FLAGS, HealthRules
from scanner_helpers import write

T0 = 1_700_000_000  # seconds: mtimes set on the files


def table(rows: int, offset: int = 0, **extra: pa.Array) -> pa.Table:
    return pa.table({"id": pa.array(range(offset, offset + rows), pa.int64()),
                     "name": pa.array([f"n{i}" for i in range(rows)]), **extra})


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("partitioned")
    files = {
        "year=2024/month=12/a.parquet": (table(10), {}),
        "year=2024/month=2/a.parquet": (table(20), {"row_group_size": 5}),  # 4 row groups
        "year=2024/month=2/b.parquet": (table(5, 100), {"compression": "zstd"}),  # codecs mixed in month=2
        "year=2023/month=7/a.parquet": (table(7, extra=pa.array(range(7))), {}),  # a second schema
        "year=2023/month=7/c.parquet": (table(3), {"write_statistics": False}),
        "year=__HIVE_DEFAULT_PARTITION__/month=1/a.parquet": (table(1), {}),
    }
    for i, (name, (data, options)) in enumerate(files.items()):
        path = write(root / name, data, **options)
        os.utime(path, ns=((T0 + i) * 10**9, (T0 + i) * 10**9))
    broken = root / "year=2023" / "month=7" / "broken.parquet"
    broken.write_bytes(b"not parquet")
    os.utime(broken, ns=((T0 + 99) * 10**9,) * 2)
    return root


def test_partitions_typed_sorted_and_counted(lake: Path) -> None:
    parts = build_catalogue(lake, progress=False).partitions()
    assert str(parts["year"].dtype) == "Int64" and str(parts["month"].dtype) == "Int64"
    assert [(None if pd.isna(y) else int(y), int(m)) for y, m in zip(parts["year"], parts["month"])] == [
        (2023, 7), (2024, 2), (2024, 12), (None, 1)]  # typed order: 2 before 12; null last
    july = parts.iloc[0]
    assert (july.files, july.ok, july.failed, july.rows, july.schema_versions) == (3, 2, 1, 10, 2)
    assert july.first_mtime == pd.Timestamp(T0 + 3, unit="s", tz="UTC")
    assert july.last_mtime == pd.Timestamp(T0 + 99, unit="s", tz="UTC")
    assert july.file_bytes == sum(p.stat().st_size for p in (lake / "year=2023" / "month=7").iterdir())
    february = parts.iloc[1]
    assert (february.files, february.rows, february.schema_versions) == (2, 25, 1)


def test_partition_values_typed_as_hive_partitioning_infers(tmp_path: Path) -> None:
    from scanner.query.partitions import typed_partition_values

    assert str(typed_partition_values(["1", "-2", None, "007"]).dtype) == "Int64"
    dates = typed_partition_values(["2024-01-31", None])
    assert dates.iloc[0] == dt.date(2024, 1, 31) and pd.isna(dates.iloc[1])
    assert str(dates.dtype) == "date32[day][pyarrow]"
    assert str(typed_partition_values(["2024-02-30"]).dtype) == "string"  # looks like a date, is not
    assert str(typed_partition_values(["1", "x"]).dtype) == "string"
    write(tmp_path / "day=2024-01-31" / "a.parquet", table(2))
    write(tmp_path / "day=2024-02-01" / "a.parquet", table(2))
    parts = build_catalogue(tmp_path, progress=False).partitions()
    assert list(parts["day"]) == [dt.date(2024, 1, 31), dt.date(2024, 2, 1)]


def test_no_partitions_no_rows(tmp_path: Path) -> None:
    write(tmp_path / "a.parquet", table(3))
    parts = build_catalogue(tmp_path, progress=False).partitions()
    assert len(parts) == 0 and "files" in parts.columns


def _flags(frame: pd.DataFrame) -> set:
    return {(f, n or c or p) for f, n, c, p in zip(frame.flag, frame.file_name.fillna(""),
                                                      frame.column.fillna(""), frame.partition.fillna(""))}


def test_health_flags_each_rule(lake: Path, tmp_path: Path) -> None:
    cat = build_catalogue(lake, progress=False)
    strict = HealthRules(small_file_bytes=10**9, min_row_group_bytes=10**6, max_row_group_bytes=100,
                         max_row_groups=3, min_footer_bytes=0, max_footer_share=0.01)
    flags = cat.health(strict)
    assert list(flags.columns) == ["flag", "file_name", "partition", "column", "value", "threshold", "detail"]
    found = _flags(flags)
    ok = set(cat.files[cat.files.status == "ok"].file_name)
    feb = str(lake / "year=2024" / "month=2" / "a.parquet")
    assert {("small_file", f) for f in ok} <= found  # every ok file is small here
    assert ("small_row_groups", feb) in found and ("many_row_groups", feb) in found
    assert {f for flag, f in found if flag == "large_row_groups"} == ok  # over 100 bytes each
    assert {f for flag, f in found if flag == "large_footer"} == ok
    assert {(flag, s) for flag, s in found if flag == "no_statistics"} == {("no_statistics", "id"),
                                                                           ("no_statistics", "name")}
    assert ("mixed_codecs", "year=2024/month=2") in found
    assert not any(str(lake / "year=2023" / "month=7" / "broken.parquet") == s for _, s in found)
    assert list(flags.flag) == sorted(flags.flag, key=FLAGS.index)
    lenient = cat.health(HealthRules(small_file_bytes=1, min_row_group_bytes=1, max_row_groups=10**6,
                                     min_footer_bytes=10**9))
    assert set(lenient.flag) == {"no_statistics", "mixed_codecs"}
    summary = cat.summary(rules=strict)
    assert summary["health"] == flags.flag.value_counts().reindex(list(FLAGS)).dropna().astype(int).to_dict()
    assert summary["partitions"] == 4


def test_mixed_writers_within_a_partition(tmp_path: Path) -> None:
    import polars as pl

    write(tmp_path / "p=1" / "a.parquet", table(3))
    pl.DataFrame({"id": [1, 2], "name": ["a", "b"]}).write_parquet(tmp_path / "p=1" / "b.parquet")
    write(tmp_path / "p=2" / "a.parquet", table(3))
    flags = build_catalogue(tmp_path, progress=False).health()
    mixed = flags[flags.flag == "mixed_writers"]
    assert list(mixed.partition) == ["p=1"] and "Polars" in mixed.detail.iloc[0]


def test_same_answers_from_an_index(lake: Path, tmp_path: Path) -> None:
    cat = build_catalogue(lake, progress=False)
    cat.write(tmp_path / "index.parquet")
    back = Catalogue.read(tmp_path / "index.parquet")
    pd.testing.assert_frame_equal(back.partitions(), cat.partitions())
    pd.testing.assert_frame_equal(back.health(), cat.health())


def test_cli_answers_from_an_index_without_rescanning(lake: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    index = tmp_path / "index.parquet"
    assert main([str(lake), "--no-progress", "-o", str(index), "--partitions", "--health", "--format", "json"]) == 0
    fresh = json.loads(capsys.readouterr().out)
    # the lake is gone: the answers come from the index alone
    renamed = tmp_path / "elsewhere"
    os.rename(lake, renamed)
    try:
        assert main(["--from-index", str(index), "--partitions", "--health", "--format", "json"]) == 0
    finally:
        os.rename(renamed, lake)
    again = json.loads(capsys.readouterr().out)
    for key in ("files", "partitions", "health", "partition_table", "health_flags"):
        assert again[key] == fresh[key], key
    assert fresh["partition_table"][0]["year"] == 2023 and fresh["partition_table"][0]["files"] == 3
    assert main(["--from-index", str(index), "--partitions", "--health", "--top", "2"]) == 0
    text = capsys.readouterr().out
    assert "partitions (files, ok, failed" in text and "year=2023/month=7" in text
    assert "health flags" in text and "mixed_codecs" in text and "more flags" in text
    with pytest.raises(SystemExit):
        main(["--from-index", str(index), str(lake)])
    assert "give no DIR" in capsys.readouterr().err


def test_files_dropped_from_the_catalogue_do_not_count_as_writers(tmp_path: Path) -> None:
    """An index inside the lake (written by pyarrow) is dropped from the catalogue; its
    writer must not make the polars-written lake look mixed."""
    import polars as pl

    for i in range(3):
        pl.DataFrame({"id": [i, i + 1]}).write_parquet(tmp_path / f"part-{i}.parquet")
    build_catalogue(tmp_path, progress=False).write(tmp_path / "zz-index.parquet")
    cat = build_catalogue(tmp_path, progress=False)
    # asked first, as the command line does: from the scan's Arrow tables (dictionary-
    # encoded writers, from which the index's row was taken out), not from a DataFrame
    summary = cat.summary()
    assert summary["files"] == 3 and "mixed_writers" not in summary["health"]
    assert "mixed_writers" not in set(cat.health().flag)
