"""Incremental rescans: a rescan's catalogue equals a full scan's, field for field, on a lake
mutated between runs (files added, removed, rewritten with the same size and mtime,
replaced with a broken file, a broken file fixed, a schema changed); reuse really skips
reading; full scans happen for the documented reasons; the command line reuses its
--output index, leaves it alone when nothing changed, and a killed or concurrent rescan
never leaves a torn or lost index."""
from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner import Catalogue, build_catalogue
from scanner.__main__ import main
from scanner_helpers import hook_file, kill_group, shm_blocks, start_cli, wait_until


def _table(start: int, rows: int = 6, extra: bool = False) -> pa.Table:
    columns = {"id": pa.array(range(start, start + rows), pa.int64()), "v": pa.array([float(start)] * rows)}
    if extra:
        columns["w"] = pa.array([start] * rows, pa.int32())
    return pa.table(columns)


def _write(path: Path, table: pa.Table) -> Path:
    """Plain encoding, no compression: a table of the same shape makes a file of the same size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="none", use_dictionary=False, row_group_size=3)
    return path


def _lake(root: Path) -> Dict[str, Path]:
    files = {f"k={i % 3}/f{i}.parquet": _write(root / f"k={i % 3}" / f"f{i}.parquet", _table(10 * i))
             for i in range(9)}
    broken = root / "k=0" / "broken.parquet"
    broken.write_bytes(b"PAR1 not yet PAR1")
    files["k=0/broken.parquet"] = broken
    return files


def _mutate(root: Path, files: Dict[str, Path]) -> Dict[str, str]:
    """Every kind of change; returns path -> what a rescan must call it."""
    expected = {}
    _write(root / "k=1" / "new.parquet", _table(500))  # added
    _write(root / "k=9" / "new.parquet", _table(600))  # added, in a new partition
    expected[str(root / "k=1" / "new.parquet")] = expected[str(root / "k=9" / "new.parquet")] = "added"
    files["k=2/f2.parquet"].unlink()  # removed
    expected[str(files["k=2/f2.parquet"])] = "removed"
    same = files["k=0/f3.parquet"]  # rewritten: other values, same size, the old mtime put back
    before = same.stat()
    _write(same, _table(9000))
    assert same.stat().st_size == before.st_size
    os.utime(same, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert same.stat().st_mtime_ns == before.st_mtime_ns
    files["k=1/f4.parquet"].write_bytes(b"broken now")  # replaced with a broken file
    _write(files["k=0/broken.parquet"], _table(700))  # a broken file fixed
    _write(files["k=2/f5.parquet"], _table(50, extra=True))  # a schema change
    for name in ("k=0/f3.parquet", "k=1/f4.parquet", "k=0/broken.parquet", "k=2/f5.parquet"):
        expected[str(files[name])] = "changed"
    return expected


def _assert_same(got: Catalogue, want: Catalogue) -> None:
    for name in ("files", "columns", "row_groups"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(want, name), obj=name)
    assert got.partition_columns == want.partition_columns and got.detail == want.detail


@pytest.mark.parametrize("detail, workers", [("row_groups", 1), ("columns", None), ("files", 2)])
def test_rescan_equals_a_full_scan_after_every_kind_of_change(tmp_path: Path, detail: str, workers: int) -> None:
    root = tmp_path / "lake"
    files = _lake(root)
    index = tmp_path / "index.parquet"
    build_catalogue(root, detail=detail, workers=workers, progress=False).write(index)
    expected = _mutate(root, files)
    rescan = build_catalogue(root, detail=detail, workers=workers, progress=False, previous=index)
    _assert_same(rescan, build_catalogue(root, detail=detail, workers=workers, progress=False))
    report = rescan.rescan
    assert report.reason is None and report.previous == str(index)
    assert dict(report.changes) == expected
    assert (report.added, report.changed, report.removed, report.retried) == (2, 4, 1, 0)
    assert report.reused == 9 + 1 - 1 - 4  # the ok files left as they were
    # and rescanning the rescan: nothing left to read
    again = build_catalogue(root, detail=detail, workers=workers, progress=False, previous=rescan)
    assert again.rescan.unchanged is False  # the broken file is read again...
    assert (again.rescan.added, again.rescan.changed, again.rescan.removed, again.rescan.retried) == (0, 0, 0, 1)
    _assert_same(again, rescan)


def test_reused_rows_are_taken_not_read(tmp_path: Path) -> None:
    """Rows of unchanged files come from the earlier catalogue (marked here), the others
    from their files."""
    root = tmp_path / "lake"
    files = _lake(root)
    earlier = build_catalogue(root, progress=False)
    marked = earlier.files.copy()
    marked["created_by"] = "marked"
    earlier.files = marked
    _write(files["k=1/f1.parquet"], _table(1, rows=7))
    later = build_catalogue(root, progress=False, previous=earlier)
    writers = dict(zip(later.files.file_name, later.files.created_by))
    assert writers.pop(str(files["k=1/f1.parquet"])).startswith("parquet-cpp-arrow")
    assert writers.pop(str(files["k=0/broken.parquet"])) is pd.NA  # failed before: read again, fails again
    assert set(writers.values()) == {"marked"}


def test_diff_says_what_changed(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    files = _lake(root)
    earlier = build_catalogue(root, progress=False)
    _mutate(root, files)
    later = build_catalogue(root, progress=False, previous=earlier)
    diff = later.diff(earlier).set_index("file_name")
    assert diff.loc[str(files["k=2/f5.parquet"]), "schema_changes"] == "+w int32"
    assert diff.loc[str(files["k=0/f3.parquet"]), "differs"] == "ctime_ns"  # only the inode's change time moved
    fixed = diff.loc[str(files["k=0/broken.parquet"])]
    assert (fixed.change, fixed.status_before, fixed.status_after) == ("changed", "error", "ok")
    assert diff.loc[str(files["k=2/f2.parquet"]), "change"] == "removed"
    assert sorted(diff.change.value_counts().items()) == [("added", 2), ("changed", 4), ("removed", 1)]
    assert later.diff(later).empty


def test_full_scans_and_why(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    _lake(root)
    index = tmp_path / "index.parquet"
    build_catalogue(root, detail="files", progress=False).write(index)
    deeper = build_catalogue(root, progress=False, previous=index)
    assert deeper.rescan.reason == "the earlier index has detail 'files', less than 'columns': full scan"
    assert deeper.rescan.reused == 0 and len(deeper.files) == 10
    other = build_catalogue(root / "k=0", detail="files", progress=False, previous=index)
    assert other.rescan.reason.startswith("the earlier index is of other roots (")
    missing = build_catalogue(root, progress=False, previous=tmp_path / "nothing.parquet")
    assert missing.rescan.reason == f"no earlier index at {tmp_path / 'nothing.parquet'}: full scan"
    table = pq.read_table(index)  # as format 2 wrote it: no ctime_ns or inode to compare
    meta = json.loads(table.schema.metadata[b"rugo.scanner"])
    pq.write_table(table.drop_columns(["ctime_ns", "inode"]).replace_schema_metadata(
        {"rugo.scanner": json.dumps({**meta, "format": 2})}), index)
    old = build_catalogue(root, detail="files", progress=False, previous=index)
    assert old.rescan.reason.startswith("the earlier index is of format 2")
    shallower = build_catalogue(root, progress=False)
    index_rg = tmp_path / "rg.parquet"
    build_catalogue(root, detail="row_groups", progress=False).write(index_rg)
    reused = build_catalogue(root, progress=False, previous=index_rg)  # a deeper index serves a shallower scan
    assert reused.rescan.reason is None and reused.rescan.reused == 9
    _assert_same(reused, shallower)


def test_cli_reuses_its_index_and_leaves_it_alone_when_nothing_changed(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture) -> None:
    root = tmp_path / "lake"
    files = _lake(root)
    files["k=0/broken.parquet"].unlink()  # a lake without failures: an unchanged rescan reads nothing
    index = tmp_path / "index.parquet"
    args = [str(root), "-o", str(index), "--no-progress", "--format", "json", "--changes"]
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["rescan"] is None and first["output_unchanged"] is False
    before = index.stat()
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rescan"]["unchanged"] is True and out["rescan"]["reused"] == 9 and out["changes"] == []
    after = index.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # not written again
    _write(files["k=1/f1.parquet"], _table(1, rows=7))
    assert main(args[:-3]) == 0  # the text summary
    text = capsys.readouterr().out
    assert "rescan         0 added, 1 changed, 0 removed, 8 reused" in text
    assert f"index written to {index}" in text
    assert main(args + ["--full"]) == 0
    assert json.loads(capsys.readouterr().out)["rescan"] is None
    _assert_same(Catalogue.read(index), build_catalogue(root, progress=False))


def test_cli_says_why_a_rescan_is_a_full_scan(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = tmp_path / "lake"
    _lake(root)
    index = tmp_path / "index.parquet"
    assert main([str(root / "k=0"), "-o", str(index), "--no-progress"]) == 0
    capsys.readouterr()
    assert main([str(root), "-o", str(index), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [f"scanner: the earlier index is of other roots ({root / 'k=0'}): full scan"]


def test_a_killed_rescan_leaves_the_earlier_index(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    _lake(root)
    index = tmp_path / "index.parquet"
    assert main([str(root), "-o", str(index), "--no-progress", "--format", "json"]) == 0
    saved = index.read_bytes()
    for i in range(8):  # changed files that keep a worker busy
        hook_file(root / "slow" / f"s{i}.parquet", "sleep:5")
    proc = start_cli(str(root), "-o", str(index), "--workers", "1", hooks=True)
    try:
        wait_until(lambda: shm_blocks(proc.pid), 30, "the rescan's shared memory")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    finally:
        kill_group(proc)
    assert index.read_bytes() == saved
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("index.parquet.tmp")] == []
    Catalogue.read(index)


def test_concurrent_rescans_never_tear_the_index(tmp_path: Path) -> None:
    """Three scans write one index at once (full and incremental) while it is read over
    and over: every read finds a whole index; the last writer wins; no temporary file."""
    root = tmp_path / "lake"
    files = _lake(root)
    index = tmp_path / "index.parquet"
    assert main([str(root), "-o", str(index), "--no-progress", "--format", "json"]) == 0
    _write(files["k=1/f1.parquet"], _table(1, rows=7))
    procs = [start_cli(str(root), "-o", str(index), *extra) for extra in (["--full"], [], ["--full"])]
    reads = 0
    while any(proc.poll() is None for proc in procs):
        Catalogue.read(index)  # never a part of a file
        reads += 1
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert reads > 0
    _assert_same(Catalogue.read(index), build_catalogue(root, progress=False))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.parquet", "lake"]  # no temporary file left


def test_a_file_rewritten_between_listing_and_reading_is_an_error_row_then_read_again(tmp_path: Path) -> None:
    """The listing said one size, the file has another by the time it is read: an error row
    (FileChanged), never its old listing with new metadata; the next rescan reads it."""
    from scanner.sources import discover

    root = tmp_path / "lake"
    files = _lake(root)
    entries = discover([root])
    _write(files["k=1/f1.parquet"], _table(1, rows=50))  # after the listing, before the read
    from scanner.engine.local.coordinator import scan_inline

    stale = Catalogue.from_results(entries, scan_inline(entries), "columns")
    row = stale.files.set_index("file_name").loc[str(files["k=1/f1.parquet"])]
    assert row.error_type == "FileChanged" and pd.isna(row.num_rows)
    stale.roots = [str(root)]
    healed = build_catalogue(root, progress=False, previous=stale)
    assert healed.rescan.changed == 1
    _assert_same(healed, build_catalogue(root, progress=False))


def test_the_report_accounts_for_the_time_saved(tmp_path: Path) -> None:
    """Not a timing test: the estimate comes from the earlier full scan's time per file."""
    root = tmp_path / "lake"
    _lake(root)
    first = build_catalogue(root, progress=False)
    assert first.seconds_per_file is not None and first.seconds_per_file > 0
    later = build_catalogue(root, progress=False, previous=first)
    assert later.seconds_per_file == first.seconds_per_file
    assert later.rescan.seconds_saved is not None and later.rescan.seconds_saved >= 0
    summary = later.summary()["rescan"]
    assert summary["reused"] == 9 and summary["full"] is False


@pytest.mark.parametrize("partitioned", [False, True])
def test_an_unchanged_rescan_prints_the_summary_without_pyarrow(tmp_path: Path, partitioned: bool) -> None:
    """Nothing changed: the walk's digest matches the index's (a file's footer, or a
    partitioned index's manifest), and the summary the index keeps is printed as a scan
    would print it, before pyarrow or pandas are imported."""
    import subprocess
    import sys

    root = tmp_path / "lake"
    files = _lake(root)
    files["k=0/broken.parquet"].unlink()
    index = tmp_path / ("index" if partitioned else "index.parquet")
    code = ("import sys, json; from scanner.__main__ import main; status = main(sys.argv[1:]); "
            "print(json.dumps([status, sorted(m for m in ('pyarrow', 'pandas', 'numpy') if m in sys.modules)]))")

    def run(*args: str) -> subprocess.CompletedProcess:
        output = str(index) + ("/" if partitioned else "")
        return subprocess.run([sys.executable, "-c", code, str(root), "-o", output, "--no-progress", "--top", "3",
                               *args], capture_output=True, text=True, cwd=Path(__file__).parent.parent)

    full = run("--full")
    assert json.loads(full.stdout.splitlines()[-1]) == [0, ["numpy", "pandas", "pyarrow"]]
    quick = run()
    assert json.loads(quick.stdout.splitlines()[-1]) == [0, []], quick.stderr
    strip = lambda text: [line for line in text.splitlines()[:-1]  # noqa: E731
                          if not line.startswith(("rescan ", "index "))]
    assert strip(quick.stdout) == strip(full.stdout)
    assert "rescan         0 added, 0 changed, 0 removed, 9 reused" in quick.stdout
    assert f"index unchanged: {index}" in quick.stdout
    for change in (lambda: os.utime(files["k=1/f1.parquet"]), lambda: (root / "k=1" / "x.txt").write_text("sidecar")):
        change()  # a touched file, a newly skipped one: a scan, which writes the index again
        again = run()
        assert json.loads(again.stdout.splitlines()[-1])[1] == ["numpy", "pandas", "pyarrow"], again.stdout
        assert f"index written to {index}" in again.stdout


@st.composite
def _histories(draw: Any) -> List[List[Tuple[str, str, int]]]:
    """Sequences of lake states: per step, (name, action, seed) for a few files, where an
    action writes a file (of one of three shapes), breaks it, touches it or removes it."""
    names = [f"k={k}/f{i}.parquet" for k in range(2) for i in range(4)]
    steps = []
    for _ in range(draw(st.integers(1, 3))):
        steps.append(draw(st.lists(st.tuples(st.sampled_from(names), st.sampled_from(
            ["write", "write", "wide", "break", "touch", "remove"]), st.integers(0, 3)), max_size=6)))
    return steps


def _apply(root: Path, step: List[Tuple[str, str, int]]) -> None:
    for name, action, seed in step:
        path = root / name
        if action in ("write", "wide"):
            _write(path, _table(seed, rows=2 + seed, extra=action == "wide"))
        elif action == "break":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"PAR1" * seed)
        elif action == "touch" and path.exists():
            os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1))
        elif action == "remove" and path.exists():
            path.unlink()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=_histories(), detail=st.sampled_from(["files", "columns", "row_groups"]))
def test_every_rescan_of_a_changing_lake_equals_a_full_scan(history: List[List[Tuple[str, str, int]]],
                                                           detail: str) -> None:
    """Rescan after rescan, from the index each time (and from the catalogue in memory),
    whatever happened in between: the same catalogue as a full scan."""
    top = Path(tempfile.mkdtemp(prefix="rugo-rescan-"))
    try:
        root, index = top / "lake", top / "index.parquet"
        _lake(root)
        build_catalogue(root, detail=detail, workers=1, progress=False).write(index)
        for step in history:
            _apply(root, step)
            full = build_catalogue(root, detail=detail, workers=1, progress=False)
            from_index = build_catalogue(root, detail=detail, workers=1, progress=False, previous=index)
            assert from_index.rescan.reason is None
            _assert_same(from_index, full)
            in_memory = build_catalogue(root, detail=detail, workers=1, progress=False,
                                        previous=Catalogue.read(index))
            _assert_same(in_memory, full)
            from_index.write(index)
    finally:
        shutil.rmtree(top)


def test_a_kept_summary_truncates_to_what_a_smaller_top_makes(tmp_path: Path) -> None:
    from scanner.incremental import SUMMARY_TOP, truncated

    root = tmp_path / "lake"
    _lake(root)
    for i in range(4):  # more errors and schemas than the top shown
        (root / f"bad{i}.parquet").write_bytes(b"x" * i)
        _write(root / "k=5" / f"s{i}.parquet", _table(i, extra=bool(i % 2)).rename_columns(
            [f"c{i}"] + _table(i, extra=bool(i % 2)).column_names[1:]))
    cat = build_catalogue(root, progress=False)
    kept = cat.summary(SUMMARY_TOP)
    for top in (1, 2, 3, 5):
        assert truncated(kept, top) == cat.summary(top)
