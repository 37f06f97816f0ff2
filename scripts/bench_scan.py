#!/usr/bin/env python3
"""Benchmark ``scanner.build_catalogue`` against a serial pyarrow loop and duckdb.

Usage: ``python scripts/bench_scan.py [--cache DIR] [--narrow N] [--typical N] [--wide N]``

Three lakes are generated once into a cache directory (reused while their parameters are
unchanged): *narrow* (5 columns × 1 row group per file, default 10,000 files), *typical*
(30 columns × 8 row groups, 1,000 files) and *wide* (1,000 columns × 10 row groups, 50
files). On each lake, in one process, the contenders run in turn, ``--repeat`` rounds
(order rotated every round), and the median wall time of each is reported:

* ``scanner 1w`` / ``scanner 2w``: ``build_catalogue(lake, workers=N)`` (detail=columns:
  files + per-column min/max, worker start-up included) and its ``files`` and ``columns``
  DataFrames (made on first access);
* ``pyarrow loop``: ``pq.read_metadata`` per file and a Python loop over row groups and
  columns collecting the same per-chunk values, to a DataFrame;
* ``duckdb``: ``parquet_metadata('<lake>/**/*.parquet')`` to a DataFrame.

Files are in the page cache (warm), the cyclic GC is on, as in real use. The targets of
the issue are printed with the ratios: scanner 2w at least 10× faster than duckdb, and 2
workers at least 1.6× faster than 1 on the typical and wide lakes.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from scanner import build_catalogue  # noqa: E402
from scanner.engine.local.coordinator import scan_inline  # noqa: E402
from scanner.sources import discover  # noqa: E402

LAKES = {  # name: (columns, row groups, rows per row group)
    "narrow": (5, 1, 100),
    "typical": (30, 8, 500),
    "wide": (1000, 10, 20),
}


def lake_table(columns: int, rows: int, seed: int) -> pa.Table:
    """``columns`` columns cycling through int64, double, string, timestamp and int32."""
    rng = np.random.default_rng(seed)
    makers = [
        lambda: pa.array(rng.integers(0, 10**9, rows)),
        lambda: pa.array(rng.normal(size=rows)),
        lambda: pa.array([f"v{v}" for v in rng.integers(0, 1000, rows)]),
        lambda: pa.array(rng.integers(0, 2 * 10**15, rows), pa.timestamp("us")),
        lambda: pa.array(rng.integers(-1000, 1000, rows, dtype=np.int32)),
    ]
    return pa.table({f"c{i:04d}": makers[i % len(makers)]() for i in range(columns)})


def ensure_lake(cache: Path, name: str, files: int) -> Path:
    """The lake ``name`` with ``files`` files, generated unless cached."""
    columns, row_groups, rows = LAKES[name]
    root = cache / f"{name}-{files}"
    marker = root / "_GENERATED"
    if marker.exists():
        return root
    print(f"generating {name} lake: {files} files of {columns} columns x {row_groups} row groups ...",
          file=sys.stderr)
    table = lake_table(columns, rows * row_groups, seed=1)
    for i in range(files):
        part = root / f"part={i % 10}" / f"file-{i:06d}.parquet"
        part.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, part, row_group_size=rows)
    marker.write_text(json.dumps({"files": files, "layout": LAKES[name]}))
    return root


def with_frames(catalogue: object) -> object:
    """The catalogue with its DataFrames made (they are built on first access)."""
    return catalogue.files, catalogue.columns  # type: ignore[attr-defined]


def pyarrow_loop(root: Path) -> pd.DataFrame:
    """What people write today: one footer after the other, a row per column chunk."""
    rows = []
    for path in sorted(root.rglob("*.parquet")):
        md = pq.read_metadata(path)
        for r in range(md.num_row_groups):
            rg = md.row_group(r)
            for c in range(rg.num_columns):
                chunk = rg.column(c)
                stats = chunk.statistics
                has = stats is not None and stats.has_min_max
                rows.append((str(path), r, chunk.path_in_schema, chunk.num_values,
                             chunk.total_compressed_size, stats.null_count if stats is not None else None,
                             stats.min if has else None, stats.max if has else None))
    return pd.DataFrame(rows, columns=["file_name", "row_group_id", "path_in_schema", "num_values",
                                       "total_compressed_size", "null_count", "min", "max"])


def duckdb_metadata(root: Path) -> pd.DataFrame:
    """duckdb's ``parquet_metadata`` over a glob of the lake."""
    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        return con.execute(f"SELECT * FROM parquet_metadata('{root}/**/*.parquet')").df()


def contenders(root: Path) -> Dict[str, Callable[[], object]]:
    return {
        "scanner 1w": lambda: with_frames(build_catalogue(root, workers=1, progress=False)),
        "scanner 2w": lambda: with_frames(build_catalogue(root, workers=2, progress=False)),
        "pyarrow loop": lambda: pyarrow_loop(root),
        "duckdb": lambda: duckdb_metadata(root),
    }


def parse_cpu(root: Path) -> float:
    """CPU seconds to read and parse every footer of the lake in this process, on one
    thread (what the workers do between them): the median of 3 inline scans."""
    entries = discover([os.fspath(root)])
    times = []
    for _ in range(3):
        start = time.process_time()
        scan_inline(entries)
        times.append(time.process_time() - start)
    return statistics.median(times)


def time_lake(root: Path, repeat: int) -> Tuple[Dict[str, float], Dict[str, float]]:
    """Median wall seconds per contender, running them in rotated order ``repeat`` times,
    and the median CPU seconds of this process (for the scanner: the coordinator's, its
    workers not included) per contender."""
    runs = contenders(root)
    names = list(runs)
    times: Dict[str, List[float]] = {n: [] for n in names}
    cpu: Dict[str, List[float]] = {n: [] for n in names}
    for round_ in range(repeat):
        order = names[round_ % len(names):] + names[:round_ % len(names)]
        for name in order:
            start, start_cpu = time.perf_counter(), time.process_time()
            runs[name]()
            times[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return ({n: statistics.median(t) for n, t in times.items()}, {n: statistics.median(t) for n, t in cpu.items()})


def main(argv: List[str] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/rugo-bench-lakes"),
                        help="where generated lakes are kept (default /tmp/rugo-bench-lakes)")
    parser.add_argument("--narrow", type=int, default=10_000, help="files in the narrow lake")
    parser.add_argument("--typical", type=int, default=1_000, help="files in the typical lake")
    parser.add_argument("--wide", type=int, default=50, help="files in the wide lake")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per lake (median reported)")
    args = parser.parse_args(argv)
    sizes = {"narrow": args.narrow, "typical": args.typical, "wide": args.wide}
    lakes = {name: ensure_lake(args.cache, name, n) for name, n in sizes.items() if n > 0}
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, gc {'on' if gc.isenabled() else 'off'}, "
          f"warm page cache, median of {args.repeat}, load average {os.getloadavg()[0]:.2f} before the run")
    header = (f"{'lake':8} {'files':>6} {'layout':>12}  " + "  ".join(f"{n:>12}" for n in contenders(Path())) +
              f"  {'duckdb/2w':>9} {'pyarrow/2w':>10} {'1w/2w':>6}")
    print(header)
    print("-" * len(header))
    coordinator: Dict[str, Tuple[float, float]] = {}
    for name, root in lakes.items():
        t, cpu = time_lake(root, args.repeat)
        coordinator[name] = (cpu["scanner 1w"], cpu["scanner 2w"])
        columns, row_groups, _ = LAKES[name]
        best = t["scanner 2w"]
        print(f"{name:8} {sizes[name]:>6} {f'{columns}c x {row_groups}rg':>12}  "
              + "  ".join(f"{t[n]:>11.3f}s" for n in t)
              + f"  {t['duckdb'] / best:>8.1f}x {t['pyarrow loop'] / best:>9.1f}x {t['scanner 1w'] / best:>5.2f}x")
    print("targets: duckdb/2w >= 20x on typical and wide, >= 10x on narrow; 1w/2w >= 1.6x on typical and wide")
    print("\ncoordinator CPU (this process: walk, reads, Arrow assembly, DataFrames; workers not included), "
          "median s:")
    for name, (one, two) in coordinator.items():
        parse = parse_cpu(lakes[name])
        print(f"  {name:8} 1w {one:.3f}  2w {two:.3f}   the workers' share, as one thread here (read + parse): "
              f"{parse:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
