"""The walk (C listing + a pass per directory) equals the plain ``os.scandir`` walk.

Trees are generated (hypothesis): names in ASCII, other Unicode and bytes that are not
UTF-8 (which sort differently as ``str``), hidden names, sidecars, hive partitions,
FIFOs, links to files and directories, broken links and link cycles; selections with
include and exclude globs and ignored paths. Entries and skip counts must be identical.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rugo import _footer
from scanner.entries import Selection
from scanner.sources.local import file_columns, walk_root
from walk_reference import reference_walk

NAMES = st.sampled_from([
    "a.parquet", "B.parquet", "b.parquet", "part-0001.parquet", "000000_0", "z", "é.parquet", "Ω.parquet",
    "日本.parquet", "x.json", "notes.md", "c.crc", "_SUCCESS", ".hidden.parquet", "_tmp", ".git",
    "year=2024", "city=New%20York", "k=__HIVE_DEFAULT_PARTITION__", "~tilde", "a b.parquet",
]) | st.binary(min_size=1, max_size=6).filter(lambda b: b"/" not in b and b"\0" not in b and b not in (b".", b".."))

KINDS = st.sampled_from(["file", "file", "file", "dir", "fifo", "link-file", "link-dir", "broken", "loop"])

TREES = st.recursive(
    st.dictionaries(NAMES, KINDS, max_size=6),
    lambda children: st.dictionaries(NAMES, children | KINDS, max_size=5),
    max_leaves=25,
)

SELECTIONS = st.sampled_from([
    {}, {"include": ["*.parquet"]}, {"exclude": ["*.parquet"]}, {"exclude": ["year=*/*", "b*"]},
    {"include": ["z", "*.md"], "exclude": ["*/z"]}, {"ignore": ["a.parquet", "z/a.parquet"]},
])


def _name(name) -> bytes:
    return name if isinstance(name, bytes) else name.encode()


def _build(directory: bytes, tree: dict, root: bytes) -> None:
    os.makedirs(directory, exist_ok=True)
    for name, kind in tree.items():
        path = os.path.join(directory, _name(name))
        if isinstance(kind, dict):
            _build(path, kind, root)
        elif kind == "file":
            with open(path, "wb") as f:
                f.write(b"PAR1" * len(path))
        elif kind == "dir":
            os.makedirs(path, exist_ok=True)
        elif kind == "fifo":
            os.mkfifo(path)
        elif kind == "link-file":
            target = os.path.join(root, b"target.parquet")
            with open(target, "wb") as f:
                f.write(b"12345")
            os.symlink(target, path)
        elif kind == "link-dir":
            os.symlink(root, path)
        elif kind == "broken":
            os.symlink(os.path.join(root, b"nowhere"), path)
        elif kind == "loop":
            os.symlink(directory, path)


def _both(root: str, options: dict):
    ignore = [os.path.join(root, p) for p in options.get("ignore", [])]
    a = Selection(options.get("include", ()), options.get("exclude", ()), ignore)
    b = Selection(options.get("include", ()), options.get("exclude", ()), ignore)
    return (list(walk_root(root, a)), a.skipped), (list(reference_walk(root, b)), b.skipped)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=TREES, options=SELECTIONS)
def test_walk_equals_the_scandir_walk(tree: dict, options: dict) -> None:
    top = tempfile.mkdtemp(prefix="rugo-walk-")
    try:
        root = os.path.join(top, "lake")
        _build(os.fsencode(root), tree, os.fsencode(root))
        assert _both(root, options)[0] == _both(root, options)[1]
        # the columns of an unchanged rescan's digest are those files, or None when the
        # walk meets anything but regular files
        ignore = [os.path.join(root, p) for p in options.get("ignore", [])]
        a = Selection(options.get("include", ()), options.get("exclude", ()), ignore)
        b = Selection(options.get("include", ()), options.get("exclude", ()), ignore)
        columns, entries = file_columns(root, a), list(walk_root(root, b))
        if columns is not None:
            assert all(e.error_type is None for e in entries)
            assert columns == ([e.path for e in entries], [[e.size for e in entries], [e.mtime_ns for e in entries],
                                                          [e.ctime_ns for e in entries], [e.inode for e in entries]])
            assert a.skipped == b.skipped
    finally:
        shutil.rmtree(top)


def test_names_that_are_not_utf8_come_in_str_order(tmp_path: Path) -> None:
    root = os.fsencode(tmp_path)
    for name in (b"\xff.parquet", b"\xc3\xa9.parquet", b"z.parquet", b"\xe2\x82.parquet", b"A.parquet"):
        with open(os.path.join(root, name), "wb") as f:
            f.write(b"x")
    walked = [os.path.basename(e.path) for e in walk_root(str(tmp_path), Selection())]
    assert walked == sorted(os.listdir(tmp_path))
    assert [os.fsencode(n) for n in walked] == [b"A.parquet", b"z.parquet", b"\xc3\xa9.parquet",
                                               b"\xe2\x82.parquet", b"\xff.parquet"]


def test_list_directory_reports_each_kind(tmp_path: Path) -> None:
    (tmp_path / "f.parquet").write_bytes(b"12345")
    (tmp_path / "d").mkdir()
    os.mkfifo(tmp_path / "p")
    (tmp_path / "broken").symlink_to(tmp_path / "nowhere")
    (tmp_path / "_hidden").write_bytes(b"")
    (tmp_path / ".dot").mkdir()
    names, kinds, sizes, mtimes, ctimes, inodes, ids, hidden, ascii = _footer.list_directory(str(tmp_path), "._")
    assert names == ["broken", "d", "f.parquet", "p"]
    assert kinds == b"edfo"
    assert sizes[0] == 2 and sizes[2] == 5  # ENOENT for the broken link; the file's size
    st_f = os.stat(tmp_path / "f.parquet")
    assert (mtimes[2], ctimes[2], inodes[2]) == (st_f.st_mtime_ns, st_f.st_ctime_ns, st_f.st_ino)
    assert (ctimes[0], inodes[0]) == (0, 0)  # the failed stat
    st_d = os.stat(tmp_path / "d")
    assert ids == [None, (st_d.st_dev, st_d.st_ino), None, None]
    assert (hidden, ascii) == (2, True)


def test_list_directory_errors_name_the_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="missing"):
        _footer.list_directory(str(tmp_path / "missing"), "")
    (tmp_path / "f").write_bytes(b"")
    with pytest.raises(NotADirectoryError):
        _footer.list_directory(tmp_path / "f", "")
