"""Discovery: walk order, skipped names, hive partitions, links, special files."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from scanner import ScanError
from scanner.sources import discover
from scanner.entries import partition_of


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def names(entries, root: Path) -> list:
    return [os.path.relpath(e.path, root) for e in entries]


def test_files_first_then_subdirectories_by_name_and_hidden_names_skipped(tmp_path: Path) -> None:
    for rel in ("b.parquet", "a.parquet", "z/1.parquet", "m/2.parquet", "m/n/3.parquet",
                "_SUCCESS", ".a.crc", "_tmp/x.parquet", ".hive/y.parquet", "m/_common_metadata"):
        touch(tmp_path / rel, b"12345")
    entries = discover([tmp_path])
    assert names(entries, tmp_path) == ["a.parquet", "b.parquet", "m/2.parquet", "m/n/3.parquet", "z/1.parquet"]
    assert all(e.size == 5 and e.mtime_ns > 0 and e.error_type is None for e in entries)


def test_hive_partitions(tmp_path: Path) -> None:
    touch(tmp_path / "year=2024" / "city=New%20York" / "not-a-key" / "f.parquet")
    touch(tmp_path / "year=__HIVE_DEFAULT_PARTITION__" / "f.parquet")
    first, second = discover([tmp_path])
    assert first.partitions == (("year", "2024"), ("city", "New York"))
    assert second.partitions == (("year", None),)
    assert partition_of("=x") == partition_of("plain") == ()
    assert partition_of("k=") == (("k", ""),)


def test_roots_in_order_without_duplicates_and_files_taken_as_given(tmp_path: Path) -> None:
    a = touch(tmp_path / "d" / "a.parquet")
    hidden = touch(tmp_path / "d" / "_b.parquet")
    entries = discover([hidden, tmp_path / "d", a])
    assert [e.path for e in entries] == [str(hidden), str(a)]
    with pytest.raises(ScanError, match="No such file or directory"):
        discover([tmp_path / "missing"])


def test_links_are_followed_once_and_broken_ones_are_errors(tmp_path: Path) -> None:
    touch(tmp_path / "data" / "a.parquet")
    (tmp_path / "data" / "loop").symlink_to(tmp_path / "data")  # a cycle
    (tmp_path / "data" / "alias.parquet").symlink_to(tmp_path / "data" / "a.parquet")
    (tmp_path / "data" / "dangling.parquet").symlink_to(tmp_path / "nowhere")
    entries = {os.path.relpath(e.path, tmp_path): e for e in discover([tmp_path])}
    assert set(entries) == {"data/a.parquet", "data/alias.parquet", "data/dangling.parquet"}
    assert entries["data/alias.parquet"].size == entries["data/a.parquet"].size
    assert entries["data/dangling.parquet"].error_type == "FileNotFoundError"


def test_special_files_are_errors_never_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.parquet")  # opening it would block forever
    (entry,) = discover([tmp_path])
    assert entry.error_type == "NotARegularFile"
