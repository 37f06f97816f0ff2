"""Shared helpers of the scanner tests: lakes written with pyarrow, pyarrow's view of a file,
and looks at /dev/shm and at child processes."""
from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from scanner.engine.local.shm import NAME_PREFIX, SHM_DIR
from scanner.engine.local.worker import TEST_HOOK_KEY, TEST_HOOKS_ENV

REPO = Path(__file__).resolve().parent.parent
UTC = dt.timezone.utc


def typed_table(rows: int = 30, offset: int = 0) -> pa.Table:
    """A table with one column of most kinds a statistics bound can have, and nesting."""
    r = range(offset, offset + rows)
    return pa.table({
        "id": pa.array(list(r), pa.int64()),
        "small": pa.array([i % 7 for i in r], pa.int8()),
        "big": pa.array([2**64 - 1 - i for i in r], pa.uint64()),
        "name": pa.array([f"name-{i:04d}" if i % 5 else None for i in r]),
        "score": pa.array([i / 3 for i in r]),
        "flag": pa.array([i % 2 == 0 for i in r]),
        "day": pa.array([dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in r]),
        "ts": pa.array([dt.datetime(2024, 1, 1, tzinfo=UTC) + dt.timedelta(minutes=i) for i in r],
                       pa.timestamp("us", tz="UTC")),
        "local": pa.array([dt.datetime(2024, 1, 1) + dt.timedelta(seconds=i) for i in r],
                          pa.timestamp("ms")),
        "price": pa.array([Decimal(i).scaleb(-2) for i in r], pa.decimal128(9, 2)),
        "blob": pa.array([bytes([i % 256]) * 3 for i in r], pa.binary()),
        "point": pa.array([{"x": i, "y": -i} for i in r]),
        "tags": pa.array([[str(i)] * (i % 3) for i in r], pa.list_(pa.string())),
    })


def write(path: Path, table: Optional[pa.Table] = None, metadata: Optional[Dict[str, str]] = None,
          **options: Any) -> Path:
    """Write ``table`` (default :func:`typed_table`) to ``path``, parents created."""
    table = typed_table() if table is None else table
    if metadata:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **metadata})
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, **options)
    return path


def hook_file(path: Path, hook: str) -> Path:
    """A good file that asks a worker (with test hooks enabled) to ``crash`` or ``sleep:S``."""
    return write(path, typed_table(5), {TEST_HOOK_KEY: hook})


def make_lake(root: Path) -> Dict[str, Path]:
    """The standard test lake; returns its notable paths by name."""
    good = write(root / "good" / "a.parquet", row_group_size=10)
    paths = {
        "good": good,
        "same_schema": write(root / "good" / "b.parquet", typed_table(25, offset=100),
                             row_group_size=7, compression="zstd"),
        "drift": write(root / "good" / "c.parquet", typed_table(10).drop_columns(["blob"])),
        "no_stats": write(root / "good" / "d.parquet", write_statistics=False),
        "page_index": write(root / "good" / "e.parquet", write_page_index=True,
                            bloom_filter_options={"id": {"ndv": 100}}),
        "no_row_groups": _write_no_row_groups(root / "good" / "f.parquet"),
        "nested_hive": write(root / "hive" / "year=2024" / "month=01" / "part-0.parquet"),
        "encoded_hive": write(root / "hive" / "year=2024" / "month=%2F02" / "part-0.parquet"),
        "null_hive": write(root / "hive" / "year=__HIVE_DEFAULT_PARTITION__" / "part-0.parquet"),
    }
    data = good.read_bytes()
    bad = root / "bad"
    bad.mkdir()
    paths["truncated"] = _write_bytes(bad / "truncated.parquet", data[: len(data) // 2])
    paths["empty"] = _write_bytes(bad / "empty.parquet", b"")
    paths["csv"] = _write_bytes(bad / "data.csv", b"a,b\n1,2\n")
    paths["encrypted"] = _write_bytes(bad / "encrypted.parquet", b"PARE" + data[4:-4] + b"PARE")
    paths["unreadable"] = _write_bytes(bad / "secret.parquet", data)
    paths["unreadable"].chmod(0)
    paths["symlink"] = root / "links" / "to-good.parquet"
    paths["symlink"].parent.mkdir()
    paths["symlink"].symlink_to(good)
    paths["broken_symlink"] = root / "links" / "dangling.parquet"
    paths["broken_symlink"].symlink_to(root / "nowhere.parquet")
    for skipped in ("_SUCCESS", ".hidden.parquet", "_tmp/part-0.parquet", ".git/x.parquet"):
        _write_bytes(root / "good" / skipped, data)
    return paths


def _write_no_row_groups(path: Path) -> Path:
    pq.ParquetWriter(path, typed_table(1, offset=1).schema).close()  # (no None: no null types)
    return path


def _write_bytes(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------- pyarrow's view


def expected_file(path: Path) -> Dict[str, Any]:
    """The ``files`` values pyarrow gives for ``path``."""
    md = pq.read_metadata(path)
    chunks = [md.row_group(r).column(c) for r in range(md.num_row_groups) for c in range(md.num_columns)]
    return {
        "num_rows": md.num_rows, "num_row_groups": md.num_row_groups, "num_columns": md.num_columns,
        "created_by": md.created_by, "footer_size": md.serialized_size,
        "format_version": int(md.format_version.split(".")[0]),
        "total_compressed_size": sum(c.total_compressed_size for c in chunks),
        "total_uncompressed_size": sum(c.total_uncompressed_size for c in chunks),
        "key_value_keys": [k.decode() for k in (md.metadata or {})],
        "file_size_bytes": path.stat().st_size,
    }


def expected_columns(path: Path) -> List[Dict[str, Any]]:
    """The ``columns`` rows pyarrow gives for ``path`` (aggregated here, Iceberg style)."""
    md = pq.read_metadata(path)
    rows = []
    for j in range(md.num_columns):
        chunks = [md.row_group(r).column(j) for r in range(md.num_row_groups)]
        stats = [c.statistics if c.is_stats_set else None for c in chunks]
        rows.append({
            "column_id": j, "path_in_schema": md.schema.column(j).path,
            "type": md.schema.column(j).physical_type.lower(),
            "num_values": sum(c.num_values for c in chunks),
            "stats_null_count": _total([s.null_count if s is not None and s.has_null_count else None
                                        for s in stats]),
            "total_compressed_size": sum(c.total_compressed_size for c in chunks),
            "total_uncompressed_size": sum(c.total_uncompressed_size for c in chunks),
            "stats_min": _bound(min, [s.min if s is not None and s.has_min_max else None for s in stats]),
            "stats_max": _bound(max, [s.max if s is not None and s.has_min_max else None for s in stats]),
            "encodings": {e for c in chunks for e in c.encodings},
            "compression": {c.compression for c in chunks},
            "has_bloom_filter": any(c.bloom_filter_offset is not None for c in chunks),
            "has_page_index": any(c.has_column_index for c in chunks),
        })
    return rows


def expected_chunks(path: Path) -> List[Dict[str, Any]]:
    """The ``row_groups`` rows pyarrow gives for ``path``."""
    md = pq.read_metadata(path)
    rows = []
    for r in range(md.num_row_groups):
        rg = md.row_group(r)
        for j in range(rg.num_columns):
            c = rg.column(j)
            s = c.statistics if c.is_stats_set else None
            rows.append({
                "row_group_id": r, "row_group_num_rows": rg.num_rows,
                "row_group_bytes": rg.total_byte_size, "column_id": j,
                "path_in_schema": c.path_in_schema, "num_values": c.num_values,
                "stats_min": s.min if s is not None and s.has_min_max else None,
                "stats_max": s.max if s is not None and s.has_min_max else None,
                "compression": c.compression, "data_page_offset": c.data_page_offset,
                "dictionary_page_offset": c.dictionary_page_offset,
                "total_compressed_size": c.total_compressed_size,
                "total_uncompressed_size": c.total_uncompressed_size,
                "bloom_filter_offset": c.bloom_filter_offset,
            })
    return rows


def _total(values: List[Optional[int]]) -> Optional[int]:
    return None if any(v is None for v in values) else sum(values)


def _bound(pick: Callable[[List[Any]], Any], values: List[Any]) -> Any:
    return None if not values or any(v is None for v in values) else pick(values)


def records(frame: pd.DataFrame) -> List[Dict[str, Any]]:
    """A DataFrame's rows as dicts of plain Python values (``pd.NA`` becomes ``None``)."""
    return [{k: None if v is pd.NA else v for k, v in row.items()} for row in frame.to_dict("records")]


# --------------------------------------------------------------------------- processes, /dev/shm


def shm_blocks(pid: Optional[int] = None) -> List[str]:
    """Scanner blocks in /dev/shm (of owner ``pid`` when given)."""
    prefix = f"{NAME_PREFIX}-{pid}-" if pid else f"{NAME_PREFIX}-"
    return sorted(n for n in os.listdir(SHM_DIR) if n.startswith(prefix))


def worker_pids(parent: int) -> List[int]:
    """PIDs of the spawned worker processes of ``parent`` (not its resource tracker)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_bytes()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        if ppid == parent and b"spawn_main" in cmdline:
            pids.append(int(entry))
    return pids


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``condition`` until it is truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def group_gone(pgid: int) -> bool:
    """Whether no process of process group ``pgid`` is left."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def start_cli(*args: str, hooks: bool = False) -> subprocess.Popen:
    """``python -m scanner ARGS`` in its own session (so a test can signal its whole group)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    if hooks:
        env[TEST_HOOKS_ENV] = "1"
    return subprocess.Popen([sys.executable, "-m", "scanner", "--no-progress", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def kill_group(proc: subprocess.Popen) -> None:
    """Last-resort cleanup of a CLI subprocess and everything it started."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.communicate(timeout=30)
