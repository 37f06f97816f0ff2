"""The shared memory slab, orphan sweeping, /dev/shm space checks and the tail reads."""
from __future__ import annotations

import errno
import os
import subprocess
import sys
from collections import deque
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pytest

import scanner.engine.local.shm as shm
from scanner import ScanError, build_catalogue
from scanner.errors import FILE_CHANGED
from scanner.engine.local import coordinator
from scanner.engine.local.shm import NAME_PREFIX, SHM_DIR, TAIL_BYTES, Slab, process_start_ticks, sweep_orphans
from scanner.engine.results import Results
from scanner.entries import FileEntry
from scanner_helpers import shm_blocks, worker_pids, write

MIB = 2**20


def _region(size: int) -> memoryview:
    return memoryview(bytearray(size))


def test_slab_reuses_blocks_and_stays_under_its_cap() -> None:
    with Slab(cap_bytes=4 * MIB, block_bytes=MIB) as slab:
        blocks = [slab.acquire(100) for _ in range(4)]
        assert all(b is not None and b.size == MIB for b in blocks)
        assert slab.acquire(100) is None  # cap reached, all busy
        slab.release(blocks[0])
        assert slab.acquire(100) is blocks[0]
        slab.release(blocks[0])
        assert slab.acquire(3 * MIB) is None  # one free 1 MiB block cannot make room for 3 MiB
        for block in blocks[1:]:
            slab.release(block)
        big = slab.acquire(3 * MIB)
        assert big is not None and big.size == 3 * MIB
        assert slab.total_bytes <= 4 * MIB
        names = slab.live_names()
        assert set(shm_blocks(os.getpid())) == names
    assert shm_blocks(os.getpid()) == []
    slab.close()  # idempotent


def test_block_names_carry_the_owner() -> None:
    with Slab(cap_bytes=MIB, block_bytes=MIB) as slab:
        block = slab.acquire(10)
        prefix, pid, ticks = block.name.split("-")[:3]
        assert (prefix, int(pid), int(ticks)) == (NAME_PREFIX, os.getpid(), process_start_ticks(os.getpid()))
        block.buf[:3] = b"abc"
        block.close()
        block.close()  # idempotent
        assert shm_blocks(os.getpid()) == []


def test_sweep_takes_blocks_of_dead_owners_only() -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    me, ticks = os.getpid(), process_start_ticks(os.getpid())
    names = {"dead": f"{NAME_PREFIX}-{int(dead.stdout)}-1-aaaaaa-1",
             "reused_pid": f"{NAME_PREFIX}-{me}-{ticks + 1}-bbbbbb-1",
             "alive": f"{NAME_PREFIX}-{me}-{ticks}-cccccc-1",
             "foreign": "psm_not_ours"}
    for name in names.values():
        Path(SHM_DIR, name).write_bytes(b"x")
    try:
        swept = sweep_orphans()
        assert set(swept) >= {names["dead"], names["reused_pid"]}
        assert not Path(SHM_DIR, names["dead"]).exists()
        assert Path(SHM_DIR, names["alive"]).exists() and Path(SHM_DIR, names["foreign"]).exists()
    finally:
        for name in names.values():
            Path(SHM_DIR, name).unlink(missing_ok=True)


def test_full_dev_shm_is_a_scan_error_not_a_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.statvfs

    def tiny(path):
        if path == SHM_DIR:
            return SimpleNamespace(f_bavail=16, f_frsize=4096)
        return real(path)

    monkeypatch.setattr(shm.os, "statvfs", tiny)
    with pytest.raises(ScanError, match="/dev/shm has 0.1 MiB free"):
        build_catalogue(write(tmp_path / "a.parquet"), workers=1, progress=False)
    assert shm_blocks(os.getpid()) == [] and worker_pids(os.getpid()) == []


def test_failed_page_reservation_is_a_scan_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_space(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(shm.os, "posix_fallocate", no_space)
    with pytest.raises(ScanError, match="cannot reserve .* No space left on device"):
        build_catalogue(write(tmp_path / "a.parquet"), workers=1, progress=False)
    assert shm_blocks(os.getpid()) == [] and worker_pids(os.getpid()) == []


def load(path: Path, size: int, region: memoryview, mode: str = "tail", first_read: int = 0) -> tuple:
    """One file through the coordinator's loader: (bytes loaded, bytes needed, error_type, error)."""
    results = Results(1)
    loader = coordinator._Loader([FileEntry(str(path), size)], results, mode, 2**40, coordinator._NoBar())
    if first_read:
        loader.first_read[0] = first_read
    _, spans, need = loader.fill(region, deque([0]), 1)
    failed = results.tables().files.to_pylist()[0] if results.remaining == 0 else {}  # an error row
    return (spans[0][1] if spans else 0), need, failed.get("error_type"), failed.get("error")


def test_loader_reads_tail_then_exact_footer(tmp_path: Path) -> None:
    small = write(tmp_path / "small.parquet")
    region = _region(4 * TAIL_BYTES)
    assert load(small, small.stat().st_size, region)[0] == small.stat().st_size
    wide = write(tmp_path / "wide.parquet", pa.table({f"c{i}": [i] for i in range(600)}))
    size = wide.stat().st_size
    footer = int.from_bytes(wide.read_bytes()[-8:-4], "little") + 8
    assert TAIL_BYTES < footer < size
    assert load(wide, size, region)[0] == footer
    assert bytes(region[:footer]) == wide.read_bytes()[-footer:]
    assert load(wide, size, _region(TAIL_BYTES))[1] == footer
    assert load(wide, size, _region(10))[1] == TAIL_BYTES
    assert load(wide, size, _region(footer), first_read=footer)[0] == footer
    full = _region(size)
    assert load(wide, size, full, mode="full")[0] == size
    assert bytes(full) == wide.read_bytes()


def test_loader_reports_io_problems_as_rows(tmp_path: Path) -> None:
    path = write(tmp_path / "a.parquet")
    region = _region(TAIL_BYTES)
    assert load(tmp_path / "gone.parquet", 100, region)[2] == "FileNotFoundError"
    _, _, error_type, error = load(path, path.stat().st_size + 10, region)
    assert error_type == FILE_CHANGED and "changed since it was listed" in error
    empty = tmp_path / "empty.parquet"
    empty.write_bytes(b"")
    assert load(empty, 0, region)[0] == 0