"""Nothing lost or leaked: dead workers, killed coordinators, Ctrl-C, workers that cannot start.

Files with a test hook in their key/value metadata make a worker sleep or die; hooks only
act with RUGO_SCANNER_TEST_HOOKS=1 in the worker's environment. Every wait is bounded.
"""
from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

import scanner.engine.local.coordinator as coordinator
import scanner.engine.local.pool as pool
from scanner import ScanError, build_catalogue
from scanner.engine.results import Results
from scanner.errors import WORKER_CRASHED
from scanner.engine.local.worker import TEST_HOOKS_ENV
from scanner_helpers import (group_gone, hook_file, kill_group, shm_blocks, start_cli, wait_until,
                             worker_pids, write)

SLOW_FILES = 16
SLEEP = 0.3  # per slow file: 16 files on 2 workers last at least 2.4 s


@pytest.fixture(scope="module")
def slow_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("slow")
    for i in range(SLOW_FILES):
        hook_file(root / f"part-{i:02d}.parquet", f"sleep:{SLEEP}")
    return root


@pytest.fixture
def hooks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TEST_HOOKS_ENV, "1")


def assert_clean(pid: int) -> None:
    assert shm_blocks(pid) == []
    assert worker_pids(pid) == []


def test_file_that_kills_workers_twice_becomes_an_error_row(tmp_path: Path, hooks: None) -> None:
    good = [write(tmp_path / f"good-{i}.parquet") for i in range(6)]
    killer = hook_file(tmp_path / "killer.parquet", "crash")
    cat = build_catalogue(tmp_path, workers=2, progress=False)
    files = cat.files.set_index("file_name")
    assert files.loc[str(killer), "error_type"] == WORKER_CRASHED
    assert "crashed twice" in files.loc[str(killer), "error"] and "exit code 70" in files.loc[str(killer), "error"]
    assert (files.loc[[str(p) for p in good], "status"] == "ok").all()
    assert_clean(os.getpid())


def test_sigkilled_worker_costs_only_a_retry(slow_lake: Path, hooks: None,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker killed while it parses a batch: that batch is parsed again, nothing is lost."""
    answered: "queue.Queue[int]" = queue.Queue()
    on_message = coordinator._Scan._on_message

    def record(self, worker, message):
        on_message(self, worker, message)
        if message[0] == "done":
            answered.put(worker.process.pid)

    monkeypatch.setattr(coordinator._Scan, "_on_message", record)
    killed = []

    def kill_a_busy_worker() -> None:
        # a worker that has answered a batch is started and now parses its next one
        pid = answered.get(timeout=20)
        threading.Event().wait(SLEEP / 2)  # half way through that next batch
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    killer = threading.Thread(target=kill_a_busy_worker)
    killer.start()
    try:
        cat = build_catalogue(slow_lake, workers=2, progress=False)
    finally:
        killer.join(30)
    assert killed
    assert cat.retried >= 1  # the batch the dead worker held was parsed again
    assert (cat.files["status"] == "ok").all(), cat.files[["file_name", "error"]]
    assert len(cat.files) == SLOW_FILES
    assert_clean(os.getpid())


def test_keyboard_interrupt_stops_workers_and_unlinks_blocks(slow_lake: Path, hooks: None,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(self, file_ids, tables):
        raise KeyboardInterrupt

    monkeypatch.setattr(Results, "add_batch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_catalogue(slow_lake, workers=2, progress=False)
    assert_clean(os.getpid())


def _dies_at_start(conn, detail, hooks=False):
    os._exit(3)


def _cannot_import(conn, detail, hooks=False):
    conn.send(("fatal", "ImportError: no module named rugo._footer"))


@pytest.mark.parametrize("target, message", [
    (_dies_at_start, r"workers keep dying before they start \(exit code 3\)"),
    (_cannot_import, "a worker could not start: ImportError: no module named rugo._footer"),
])
def test_workers_that_cannot_start_are_a_scan_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    target, message) -> None:
    monkeypatch.setattr(pool, "worker_main", target)
    with pytest.raises(ScanError, match=message):
        build_catalogue(write(tmp_path / "a.parquet"), workers=1, progress=False)
    assert_clean(os.getpid())


@contextmanager
def scan_in_progress(lake: Path) -> Iterator[subprocess.Popen]:
    """``python -m scanner LAKE`` (slow files), once it has shared memory; killed at the end."""
    proc = start_cli(str(lake), "--workers", "2", hooks=True)
    try:
        wait_until(lambda: shm_blocks(proc.pid), 20, "the scan to start")
        yield proc
    finally:
        kill_group(proc)


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_cli_interrupted_mid_scan_exits_cleanly(slow_lake: Path, signum: int, status: int) -> None:
    with scan_in_progress(slow_lake) as proc:
        os.killpg(proc.pid, signum)  # as a terminal does: the whole process group
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == status, err
    if signum == signal.SIGINT:
        assert b"interrupted" in err
    assert b"Traceback" not in err and b"leaked" not in err, err
    wait_until(lambda: group_gone(proc.pid), 10, "the workers to exit")
    assert shm_blocks(proc.pid) == []


def test_sigkilled_coordinator_leaves_nothing(slow_lake: Path) -> None:
    """Workers see the pipe close and exit; the resource tracker then unlinks the blocks."""
    with scan_in_progress(slow_lake) as proc:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        wait_until(lambda: group_gone(proc.pid), 15, "workers and tracker to exit")
    assert shm_blocks(proc.pid) == []


def test_blocks_of_a_killed_process_group_are_swept_by_the_next_scan(slow_lake: Path, tmp_path: Path) -> None:
    """Coordinator, workers and resource tracker all SIGKILLed: only the next scan can clean up.

    Any scan on the machine sweeps the blocks of dead owners: run this test while another
    test suite scans and that scan may sweep them first (the precondition below then fails).
    """
    with scan_in_progress(slow_lake) as proc:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        wait_until(lambda: group_gone(proc.pid), 10, "the process group to die")
    assert shm_blocks(proc.pid), "nothing was left to sweep"
    build_catalogue(write(tmp_path / "a.parquet"), workers=1, progress=False)
    assert shm_blocks(proc.pid) == []
