"""Scans spread over executors: a real dask.distributed LocalCluster (processes, 2 workers)
and stdlib pools. The catalogue must equal a local scan's, field for field and in order,
whatever happens to the tasks."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator, List

import pandas as pd
import pyarrow as pa
import pytest

import scanner.catalogue as catalogue_module
import scanner.engine.executor as executor_module
from scanner import Catalogue, ScanError, build_catalogue
from scanner.__main__ import main
from scanner.engine.executor import MIN_TASK_COST, TASKS_PER_SLOT, plan_tasks, scan_on, TaskOptions
from scanner.entries import FileEntry
from scanner.sources import discover
from scanner_helpers import group_gone, hook_file, kill_group, make_lake, shm_blocks, start_cli, wait_until, write

distributed = pytest.importorskip("distributed", reason="the dask extra is not installed: pip install 'rugo[dask]'")


def assert_same(one: Catalogue, other: Catalogue) -> None:
    """Field for field, row for row, in the same order."""
    for name in ("files", "columns", "row_groups"):
        pd.testing.assert_frame_equal(getattr(one, name), getattr(other, name), obj=name)
    assert (one.skipped, one.partition_columns, one.detail) == (other.skipped, other.partition_columns, other.detail)


@pytest.fixture(scope="module")
def client() -> Iterator["distributed.Client"]:
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") \
            as cluster, distributed.Client(cluster) as dask_client:
        yield dask_client


@pytest.fixture
def many_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small lakes cut into many tasks (planning happens here, in the client)."""
    monkeypatch.setattr(executor_module, "MIN_TASK_COST", 1)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dask") / "lake"
    make_lake(root)  # good files of many types, partitions, broken files, skipped names
    for i in range(40):
        write(root / f"bulk/day=2024-01-{i % 28 + 1:02d}/part-{i:03d}.parquet",
              pa.table({"id": list(range(i, i + 20)), "name": [f"n{i}"] * 20}))
    return root


def test_plan_tasks_cuts_contiguous_runs_of_equal_work(monkeypatch: pytest.MonkeyPatch) -> None:
    small = [FileEntry(f"/l/{i}.parquet", 1000) for i in range(900)]
    large = [FileEntry(f"/l/big{i}.parquet", 10**9) for i in range(100)]  # a full first read each
    entries = small + large
    monkeypatch.setattr(executor_module, "MIN_TASK_COST", 1)
    bounds = plan_tasks(entries, slots=2)
    assert len(bounds) == 2 * TASKS_PER_SLOT
    assert bounds[0][0] == 0 and bounds[-1][1] == len(entries)
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))  # contiguous, in order
    costs = [int(executor_module._costs(entries[start:stop], {}).sum()) for start, stop in bounds]
    assert max(costs) < 1.5 * min(costs), costs  # by work: the runs of small files hold more files
    assert bounds[0][1] - bounds[0][0] > bounds[-1][1] - bounds[-1][0]
    monkeypatch.setattr(executor_module, "MIN_TASK_COST", MIN_TASK_COST)
    assert plan_tasks(small, slots=8) == [(0, 900)]  # too little work to split
    assert plan_tasks([], slots=2) == []
    objects = [FileEntry(f"s3://b/{i}", 100) for i in range(1000)]
    assert len(plan_tasks(objects, slots=2)) == 2 * TASKS_PER_SLOT  # requests, not bytes, make work


@pytest.mark.parametrize("detail", ["files", "columns", "row_groups"])
def test_dask_scan_equals_the_local_scan(client: "distributed.Client", lake: Path, many_tasks: None,
                                         detail: str) -> None:
    local = build_catalogue(str(lake), detail=detail, progress=False)
    spread = build_catalogue(str(lake), detail=detail, progress=False, executor=client.get_executor())
    assert_same(spread, local)
    assert (spread.files["status"] == "error").sum() >= 4  # the broken files are error rows


def test_dask_tasks_with_worker_processes_equal_the_local_scan(client: "distributed.Client", lake: Path,
                                                               many_tasks: None) -> None:
    """workers=2: each task runs the full local engine (shared memory, two processes)
    inside a daemonic dask worker."""
    local = build_catalogue(str(lake), detail="row_groups", progress=False)
    spread = build_catalogue(str(lake), detail="row_groups", progress=False, workers=2,
                             executor=client.get_executor())
    assert_same(spread, local)


def test_stdlib_pools_and_rescans(lake: Path, tmp_path: Path, many_tasks: None) -> None:
    local = build_catalogue(str(lake), progress=False)
    with ThreadPoolExecutor(3) as pool:
        spread = build_catalogue(str(lake), progress=False, executor=pool)
        assert_same(spread, local)
        local.write(tmp_path / "index.parquet")
        again = build_catalogue(str(lake), progress=False, executor=pool, previous=tmp_path / "index.parquet")
    assert again.rescan.reason is None and again.rescan.reused >= len(local.files) - 6  # failed ones: read again
    assert_same(again, local)


def test_a_file_that_vanishes_is_an_error_row(client: "distributed.Client", tmp_path: Path) -> None:
    for i in range(6):
        write(tmp_path / f"lake/f{i}.parquet", pa.table({"a": [i]}))
    entries = discover([str(tmp_path / "lake")])
    os.unlink(tmp_path / "lake" / "f3.parquet")  # listed, then gone before its task runs
    completed, tables, retried, parts = scan_on(client.get_executor(), entries,
                                                TaskOptions("tail", "columns", 2**26, None, 8, 1), slots=2)
    catalogue = Catalogue.from_tables(completed, tables, "columns")
    errors = catalogue.files[catalogue.files["status"] == "error"]
    assert errors["file_name"].tolist() == [str(tmp_path / "lake" / "f3.parquet")]
    assert errors["error_type"].tolist() == ["FileNotFoundError"]
    assert catalogue.files["file_name"].tolist() == [e.path for e in entries]


def test_a_task_that_keeps_failing_ends_the_scan_naming_its_files(lake: Path, many_tasks: None,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    real = executor_module.scan_task
    calls: List[int] = []

    def flaky(payload: bytes, options: TaskOptions, hints: object, number: int, attempt: int) -> object:
        entries = executor_module.decode_entries(payload)
        calls.append(attempt)
        if any(e.path.endswith("part-007.parquet") for e in entries):
            raise OSError("disk on fire")
        return real(payload, options, hints, number, attempt)

    monkeypatch.setattr(executor_module, "scan_task", flaky)
    with ThreadPoolExecutor(2) as pool, pytest.raises(ScanError) as info:
        build_catalogue(str(lake), progress=False, executor=pool)
    message = str(info.value)
    assert "failed 3 times" in message and "OSError: disk on fire" in message and "files," in message
    assert str(lake) in message  # names the task's files
    assert max(calls) == 3


def test_a_task_that_fails_once_is_run_again(lake: Path, many_tasks: None, monkeypatch: pytest.MonkeyPatch) -> None:
    real = executor_module.scan_task
    failed: List[int] = []

    def once(payload: bytes, options: TaskOptions, hints: object, number: int, attempt: int) -> object:
        if attempt == 1 and len(failed) < 3:
            failed.append(attempt)
            raise ConnectionResetError("worker lost")
        return real(payload, options, hints, number, attempt)

    monkeypatch.setattr(executor_module, "scan_task", once)
    with ThreadPoolExecutor(2) as pool:
        spread = build_catalogue(str(lake), progress=False, executor=pool)
    assert len(failed) == 3
    assert_same(spread, build_catalogue(str(lake), progress=False))


def test_a_dask_worker_killed_mid_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGKILL a dask worker while its task runs (a file's hook makes the task's parser
    sleep): the task is run again on the other worker, the catalogue is complete and
    without duplicates, and the killed worker's shared memory is swept."""
    monkeypatch.setenv("RUGO_SCANNER_TEST_HOOKS", "1")  # inherited by the cluster's processes
    monkeypatch.setattr(executor_module, "MIN_TASK_COST", 1)
    root = tmp_path / "lake"
    for i in range(24):
        write(root / f"f{i:02d}.parquet", pa.table({"a": list(range(i + 1))}))
    hook_file(root / "f05.parquet", "sleep:3")
    local = build_catalogue(str(root), progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") \
            as cluster, distributed.Client(cluster) as dask_client:
        pids = dask_client.run(os.getpid)
        before = set(shm_blocks())
        outcome: dict = {}

        def run() -> None:
            try:
                outcome["catalogue"] = build_catalogue(str(root), progress=False, workers=2,
                                                       executor=dask_client.get_executor())
            except BaseException as exc:  # pragma: no cover - reported below
                outcome["error"] = exc

        thread = threading.Thread(target=run)
        thread.start()
        # the task holding the sleeping file: its worker has blocks of its own in /dev/shm
        victim = wait_until(lambda: next((pid for pid in pids.values() if shm_blocks(pid)), None), 30,
                            "a task's shared memory")
        os.kill(victim, signal.SIGKILL)
        thread.join(120)
        assert not thread.is_alive() and "error" not in outcome, outcome
        spread = outcome["catalogue"]
        assert spread.files["file_name"].is_unique
        assert_same(spread, local)
        # the killed worker's blocks: swept by its own worker processes as they see it die
        wait_until(lambda: not shm_blocks(victim), 30, "the killed worker's blocks to be swept")
        assert set(shm_blocks()) <= before


def test_cli_dask_local(lake: Path, capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    import json

    assert main([str(lake), "--format", "json", "--no-progress", "-o", str(tmp_path / "local.parquet")]) == 0
    local = json.loads(capsys.readouterr().out)
    assert main([str(lake), "--format", "json", "--no-progress", "--dask-local", "2",
                 "-o", str(tmp_path / "dask.parquet")]) == 0
    spread = json.loads(capsys.readouterr().out)
    for key in ("files", "ok", "failed", "rows", "row_groups", "file_bytes", "schemas", "errors", "skipped"):
        assert spread[key] == local[key], key
    assert_same(Catalogue.read(tmp_path / "dask.parquet"), Catalogue.read(tmp_path / "local.parquet"))
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        assert main([str(lake), "--scheduler", "tcp://127.0.0.1:1", "--no-progress"]) == 2
    assert "cannot reach the dask scheduler" in capsys.readouterr().err


def test_ctrl_c_with_dask_local_is_quiet_and_leaves_nothing(tmp_path: Path) -> None:
    """Ctrl-C at the terminal (SIGINT to the whole process group) during a ``--dask-local``
    scan into a partitioned index: status 130 and one line, no traceback from the
    cluster's workers (they end quietly: scanner.engine.dask_worker), no part left in the
    output directory, no shared memory and no process left."""
    root = tmp_path / "lake"
    for i in range(8):
        write(root / f"f{i:02d}.parquet", pa.table({"a": list(range(i + 1))}))
    hook_file(root / "f03.parquet", "sleep:4")  # a task busy when the Ctrl-C comes
    out = tmp_path / "index"
    before = set(shm_blocks())
    proc = start_cli(str(root), "--dask-local", "2", "--workers", "2", "-o", f"{out}/", hooks=True)
    try:
        # a task's local engine has blocks in /dev/shm: the cluster is up and scanning
        wait_until(lambda: set(shm_blocks()) - before or proc.poll() is not None, 120, "a task's shared memory")
        assert proc.poll() is None, proc.communicate()
        os.killpg(proc.pid, signal.SIGINT)  # as a terminal does
        _, err = proc.communicate(timeout=120)
        wait_until(lambda: group_gone(proc.pid), 30, "the command's processes to end")
    except BaseException:
        kill_group(proc)
        raise
    assert proc.returncode == 130, err
    assert b"Traceback" not in err and b"KeyboardInterrupt" not in err, err.decode()
    assert b"interrupted" in err
    assert not out.exists() or not os.listdir(out)
    wait_until(lambda: set(shm_blocks()) <= before, 30, "the tasks' blocks to be unlinked")


def test_partitioned_index_written_by_the_tasks(client: "distributed.Client", lake: Path, tmp_path: Path,
                                                many_tasks: None) -> None:
    """Each task writes its rows as a part; the manifest makes them one index, which
    Catalogue.read, duckdb and rescans read back as one."""
    import duckdb

    from scanner.catalogue.index import MANIFEST, index_metadata

    out = tmp_path / "index"
    local = build_catalogue(str(lake), detail="row_groups", progress=False)
    spread = build_catalogue(str(lake), detail="row_groups", progress=False, executor=client.get_executor(),
                             parts_dir=out)
    directory, parts = spread.written_parts
    assert len(parts) > 2 and sorted(os.listdir(out)) == sorted(parts)  # written by the tasks, no manifest yet
    spread.write(out)
    assert sorted(os.listdir(out)) == sorted(parts + [MANIFEST])
    assert index_metadata(out)["parts"] == parts
    assert_same(Catalogue.read(out), local)
    (rows, files), = duckdb.sql(f"SELECT sum(num_rows), count(*) FROM '{out}/*.parquet'").fetchall()
    assert files == len(local.files) and rows == local.files["num_rows"].sum()
    # a rescan reads the partitioned index, writes a new one and removes the old parts
    write(lake / "bulk" / "day=2024-01-01" / "added.parquet", pa.table({"id": [1], "name": ["x"]}))
    try:
        again = build_catalogue(str(lake), detail="row_groups", progress=False, previous=out)
        assert again.rescan.reason is None and again.rescan.added == 1
        again.write(out)
        assert not set(parts) & set(os.listdir(out))
        assert_same(Catalogue.read(out), build_catalogue(str(lake), detail="row_groups", progress=False))
    finally:
        os.unlink(lake / "bulk" / "day=2024-01-01" / "added.parquet")


def test_cli_partitioned_output(lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = str(tmp_path / "index") + "/"
    assert main([str(lake), "--no-progress", "--dask-local", "2", "-o", out, "--top", "1"]) == 0
    assert f"index written to {os.path.abspath(out)}" in capsys.readouterr().out
    assert_same(Catalogue.read(out), build_catalogue(str(lake), progress=False))
    assert main([str(lake), "--no-progress", "-o", out, "--format", "json"]) == 0  # a rescan, locally
    assert '"reused"' in capsys.readouterr().out
    # a directory that is not an index is never written into
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("data")
    assert main([str(lake), "--no-progress", "-o", str(tmp_path / "other") + "/"]) == 2
    assert "not empty and not a scanner index" in capsys.readouterr().err


def test_s3_through_the_cluster(client: "distributed.Client", tmp_path: Path, many_tasks: None) -> None:
    """A moto S3 prefix listed in tasks (one per sub-prefix, one for the top level) and
    fetched in tasks: equal to the local engine's scan of it, order and skips included."""
    import io

    s3fs = pytest.importorskip("s3fs", reason="remote extra not installed")
    from servers import MotoS3Server

    def parquet(table: pa.Table) -> bytes:
        buffer = io.BytesIO()
        pa.parquet.write_table(table, buffer)
        return buffer.getvalue()

    import pyarrow.parquet  # noqa: F401  (pa.parquet)

    objects = {f"year={2020 + i % 3}/part-{i:02d}.parquet": parquet(pa.table({"a": list(range(i + 1))}))
               for i in range(12)}
    objects.update({"top.parquet": parquet(pa.table({"b": ["x"]})), "year=2021/_SUCCESS": b"",
                    "year=2022/broken.parquet": b"PAR1 not really", "a.parquet": parquet(pa.table({"c": [1.5]}))})
    with MotoS3Server(tmp_path / "moto.log") as moto:
        fs = s3fs.S3FileSystem(**moto.storage_options, skip_instance_cache=True)
        fs.mkdir("lake")
        for key, data in objects.items():
            fs.pipe_file(f"lake/data/{key}", data)
        options = {**moto.storage_options, "config_kwargs": {"retries": {"max_attempts": 1}}}
        local = build_catalogue("s3://lake/data/", progress=False, storage_options=options, workers=1)
        spread = build_catalogue("s3://lake/data/", progress=False, storage_options=options,
                                 executor=client.get_executor())
    assert_same(spread, local)
    assert len(spread.files) == len(objects) - 1 and spread.skipped == {"hidden name (starts with . or _)": 1}
    assert spread.files["file_name"].tolist() == sorted(spread.files["file_name"])  # key order
    assert (spread.files["status"] == "error").sum() == 1


def test_a_failed_or_killed_partitioned_write_leaves_the_index_as_it_was(lake: Path, tmp_path: Path, many_tasks: None,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The parts of a scan that fails (or is interrupted) before its manifest are removed:
    the earlier index, its parts and nothing else stay. What a killed scan leaves (parts,
    a dead writer's temporary file, no manifest) is taken up by the next write."""
    from scanner.catalogue.index import MANIFEST, index_metadata

    out = tmp_path / "index"
    with ThreadPoolExecutor(2) as pool:
        build_catalogue(str(lake), progress=False, executor=pool, parts_dir=out).write(out)
    before = sorted(os.listdir(out))
    assert len(before) > 3 and MANIFEST in before

    real = executor_module.scan_task

    def failing(payload: bytes, options: TaskOptions, hints: object, number: int, attempt: int) -> object:
        if number == 2:
            raise OSError("disk on fire")
        return real(payload, options, hints, number, attempt)

    monkeypatch.setattr(executor_module, "scan_task", failing)
    with ThreadPoolExecutor(1) as pool, pytest.raises(ScanError):  # one thread: no task still running after
        build_catalogue(str(lake), progress=False, executor=pool, parts_dir=out)
    assert sorted(os.listdir(out)) == before  # the other tasks' parts are gone again
    monkeypatch.setattr(executor_module, "scan_task", real)

    # the local engine's write of a partitioned index, failing at its second part
    catalogue = build_catalogue(str(lake), progress=False)
    written: List[str] = []

    def second_fails(tables: object, path: str) -> None:
        if written:
            raise KeyboardInterrupt
        written.append(path)
        real_write(tables, path)

    real_write = catalogue_module.write_atomically
    monkeypatch.setattr(catalogue_module, "INDEX_SLICE_FILES", 8)
    monkeypatch.setattr(catalogue_module, "write_atomically", second_fails)
    with pytest.raises(KeyboardInterrupt):
        catalogue.write(out)
    assert written and sorted(os.listdir(out)) == before
    monkeypatch.undo()

    # a killed scan: its parts and a dead writer's temporary file, no manifest
    killed = tmp_path / "killed"
    killed.mkdir()
    for name in index_metadata(out)["parts"][:2]:
        shutil.copy(out / name, killed / name.replace("part-", "part-0dead"))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = f"part-0dead0000-00009.parquet.tmp-{int(dead.stdout)}-abcd1234"
    (killed / stale).write_bytes(b"half a part")
    assert main([str(lake), "--no-progress", "-o", str(killed) + "/"]) == 0
    parts = index_metadata(killed)["parts"]
    assert sorted(os.listdir(killed)) == sorted(parts + [MANIFEST])
    assert_same(Catalogue.read(killed), catalogue)
