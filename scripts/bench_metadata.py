"""Benchmark Parquet metadata reading: rugo against pyarrow, fastparquet, duckdb and raw I/O.

Three files are generated once with pyarrow into a cache directory (``--cache``, default
``/tmp/rugo-bench-cache``):

- ``narrow``: 5 columns x 1 row group;
- ``typical``: 30 columns x 8 row groups, mixed types (ints, floats, strings, timestamps,
  decimals, bools), statistics on;
- ``wide``: 1000 columns x 10 row groups (the footer is larger than rugo's 64 KiB first
  read, so rugo makes its second, exact read).

Every contender is a zero-argument callable timed in the same process. Timing runs in
rounds: each round times one batch of every contender (batch sized to about 2 ms, at least
one call), in an order rotated every round, so drift and noise hit all contenders equally.
A contender's number is the median over rounds of batch time / calls in the batch; it
includes freeing the previous result. The cyclic GC stays enabled unless ``--no-gc``; the
state is printed. Files stay in the page cache (they are read during warm-up), so this
measures CPU cost, not disk.

Contenders: rugo ``read_metadata`` (full, ``include_statistics=False``, ``schema_only=True``)
and the same decode from bytes already in memory (no I/O); pyarrow ``pq.read_metadata``,
``pq.read_metadata(...).to_dict()``, ``pq.read_schema``; fastparquet ``ParquetFile`` (skipped
when it fails); duckdb ``SELECT * FROM parquet_metadata(?)`` fetched with ``fetchall`` on one
persistent connection; and an I/O floor in Python: ``os.open`` + ``os.fstat`` + ``os.pread``
of the last min(size, 64 KiB) bytes + ``os.close`` (rugo's C code makes the same syscalls,
without the GIL; "rugo full - rugo from bytes" estimates what its I/O costs, read buffer and
allocator effects included).

Two things shape the numbers beyond the code under test. Repeated calls on one file hit
rugo's schema cache (keyed by the schema's Thrift bytes), as files of one lake do. And glibc
gives freed heap back to the kernel, so a reader whose result is ~12 MB of Python objects
(wide) page-faults it all in again on every call; ``MALLOC_TRIM_THRESHOLD_=268435456
MALLOC_MMAP_THRESHOLD_=268435456`` in the environment shows the cost (about a sixth of
rugo's time on ``wide``).

Exit status: 0 when every target check passes, 1 otherwise.

Usage::

    python scripts/bench_metadata.py            # default run, < 3 minutes on 2 cores
    python scripts/bench_metadata.py --quick    # smoke test, a few seconds of timing
    python scripts/bench_metadata.py --cache DIR --no-gc
"""
from __future__ import annotations

import argparse
import datetime
import decimal
import gc
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import rugo
import rugo.parquet as rp

FILES = ("narrow", "typical", "wide")
TAIL = 64 * 1024
#: file layout version: bump to regenerate cached files after changing the generators
LAYOUT = "v1"
BATCH_TARGET_S = 0.002
#: (seconds of timing per file, minimum rounds, maximum rounds)
BUDGET_DEFAULT = {"narrow": (15.0, 50, 4000), "typical": (25.0, 50, 3000), "wide": (70.0, 25, 1000)}
BUDGET_QUICK = {"narrow": (1.0, 5, 200), "typical": (1.5, 5, 200), "wide": (4.0, 3, 50)}

Contender = Callable[[], object]


# ------------------------------------------------------------------ test files


def typical_column(i: int, n: int, rng: np.random.Generator) -> Tuple[str, pa.Array]:
    """Column ``i`` of the typical file: the type cycles through six kinds.

    Parameters
    ----------
    i : int
        Column index; ``i % 6`` picks int, float, string, timestamp, decimal or bool.
    n : int
        Number of rows.
    rng : numpy.random.Generator
        Source of the values.

    Returns
    -------
    tuple of (str, pyarrow.Array)
        Column name and values (about 5% nulls).
    """
    nulls = rng.random(n) < 0.05
    kind = i % 6
    if kind == 0:
        arr = pa.array(rng.integers(-10**9, 10**9, n), pa.int64(), mask=nulls)
    elif kind == 1:
        arr = pa.array(rng.normal(0, 1e3, n), pa.float64(), mask=nulls)
    elif kind == 2:
        arr = pa.array([f"value-{v:08d}" for v in rng.integers(0, 10**8, n)], pa.string(), mask=nulls)
    elif kind == 3:
        arr = pa.array(rng.integers(1.5e15, 1.7e15, n), pa.timestamp("us", tz="UTC"), mask=nulls)
    elif kind == 4:
        vals = [decimal.Decimal(int(v)).scaleb(-2) for v in rng.integers(-10**9, 10**9, n)]
        arr = pa.array(vals, pa.decimal128(18, 2), mask=nulls)
    else:
        arr = pa.array(rng.random(n) < 0.5, pa.bool_(), mask=nulls)
    return f"c{i:02d}_{('int', 'float', 'str', 'ts', 'dec', 'bool')[kind]}", arr


def make_table(ncols: int, nrows: int, seed: int) -> pa.Table:
    """A deterministic table of ``ncols`` mixed-type columns.

    Parameters
    ----------
    ncols : int
        Number of columns.
    nrows : int
        Number of rows.
    seed : int
        Random seed.

    Returns
    -------
    pyarrow.Table
    """
    rng = np.random.default_rng(seed)
    cols = [typical_column(i, nrows, rng) for i in range(ncols)]
    return pa.table({name: arr for name, arr in cols})


def make_narrow() -> pa.Table:
    """5 columns (int, float, string, timestamp, bool), 1000 rows."""
    t = make_table(6, 1000, 1)
    return t.select([0, 1, 2, 3, 5])


def write_files(cache: Path) -> Dict[str, Path]:
    """Write the three benchmark files into ``cache`` unless they are already there.

    Parameters
    ----------
    cache : pathlib.Path
        Directory for the files (created when missing).

    Returns
    -------
    dict
        File kind (``narrow`` / ``typical`` / ``wide``) -> path.
    """
    cache.mkdir(parents=True, exist_ok=True)
    specs = {
        "narrow": (make_narrow, 1000),
        "typical": (lambda: make_table(30, 8 * 2000, 2), 2000),
        "wide": (lambda: make_table(1000, 10 * 50, 3), 50),
    }
    paths = {}
    for kind, (make, rg_rows) in specs.items():
        path = cache / f"{kind}-{LAYOUT}.parquet"
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            pq.write_table(make(), tmp, row_group_size=rg_rows, write_statistics=True)
            tmp.replace(path)
        paths[kind] = path
    return paths


# ------------------------------------------------------------------ contenders


def io_floor(path: str) -> Contender:
    """The syscalls any tail reader needs, from Python: open, fstat, pread(last 64 KiB), close.

    Parameters
    ----------
    path : str
        File to read.

    Returns
    -------
    callable
        Zero-argument function returning the bytes read.
    """
    def run() -> bytes:
        fd = os.open(path, os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            want = min(size, TAIL)
            return os.pread(fd, want, size - want)
        finally:
            os.close(fd)
    return run


def rugo_tail(path: str) -> bytes:
    """The bytes rugo's C reader ends up decoding: the last 64 KiB, or footer + trailer."""
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        return rp._read_tail(f)


def fastparquet_contender(path: str) -> Optional[Contender]:
    """fastparquet ``ParquetFile(path)``, or None when fastparquet is missing or fails."""
    try:
        import fastparquet
        fastparquet.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - any failure means "skip this contender"
        print(f"  (fastparquet skipped on {Path(path).name}: {type(exc).__name__}: {exc})")
        return None
    return lambda: fastparquet.ParquetFile(path)


def duckdb_contender(path: str, con) -> Optional[Contender]:
    """duckdb ``parquet_metadata`` fetched into Python on a shared connection, or None."""
    if con is None:
        return None
    sql = "SELECT * FROM parquet_metadata(?)"
    return lambda: con.execute(sql, [path]).fetchall()


def contenders_for(path: Path, con) -> Dict[str, Contender]:
    """Every contender for one file, in table order (missing ones left out).

    Parameters
    ----------
    path : pathlib.Path
        The Parquet file.
    con : duckdb.DuckDBPyConnection or None
        Persistent duckdb connection.

    Returns
    -------
    dict
        Row label -> zero-argument callable.
    """
    p = str(path)
    tail = rugo_tail(p)
    out: Dict[str, Optional[Contender]] = {
        "rugo full": lambda: rp.read_metadata(p),
        "rugo include_statistics=False": lambda: rp.read_metadata(p, include_statistics=False),
        "rugo schema_only=True": lambda: rp.read_metadata(p, schema_only=True),
        "rugo full, from bytes (no I/O)": lambda: rp.read_metadata_from_bytes(tail),
        "pyarrow read_metadata": lambda: pq.read_metadata(p),
        "pyarrow read_metadata().to_dict()": lambda: pq.read_metadata(p).to_dict(),
        "pyarrow read_schema": lambda: pq.read_schema(p),
        "fastparquet ParquetFile": fastparquet_contender(p),
        "duckdb parquet_metadata fetchall": duckdb_contender(p, con),
        "I/O floor (Python os.open/fstat/pread/close)": io_floor(p),
    }
    return {k: v for k, v in out.items() if v is not None}


def open_duckdb():
    """A persistent in-memory duckdb connection, or None when duckdb is missing."""
    try:
        import duckdb
    except ImportError:
        return None
    return duckdb.connect()


# ------------------------------------------------------------------ timing


def calls_per_batch(fn: Contender) -> int:
    """Calls needed for one batch to take about :data:`BATCH_TARGET_S` (at least 1)."""
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-7)
    return max(1, min(10_000, int(BATCH_TARGET_S / once)))


def time_batch(fn: Contender, n: int) -> float:
    """Seconds per call over one batch of ``n`` calls."""
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def run_rounds(fns: Dict[str, Contender], budget: Tuple[float, int, int]) -> Tuple[Dict[str, List[float]], int]:
    """Time every contender in rounds of one batch each, rotating the order per round.

    Parameters
    ----------
    fns : dict
        Label -> contender.
    budget : tuple of (float, int, int)
        Seconds to spend, minimum rounds, maximum rounds.

    Returns
    -------
    tuple of (dict, int)
        Label -> per-call seconds of every round, and the number of rounds run.
    """
    seconds, min_rounds, max_rounds = budget
    for fn in fns.values():   # warm-up: imports, page cache, first-call caches
        fn()
        fn()
    sizes = {k: calls_per_batch(fn) for k, fn in fns.items()}
    samples: Dict[str, List[float]] = {k: [] for k in fns}
    labels = list(fns)
    deadline = time.perf_counter() + seconds
    rounds = 0
    while rounds < max_rounds and (rounds < min_rounds or time.perf_counter() < deadline):
        shift = rounds % len(labels)
        for label in labels[shift:] + labels[:shift]:
            samples[label].append(time_batch(fns[label], sizes[label]))
        rounds += 1
    return samples, rounds


# ------------------------------------------------------------------ report


def medians_us(samples: Dict[str, List[float]]) -> Dict[str, float]:
    """Median per-call time in microseconds for every contender."""
    return {k: statistics.median(v) * 1e6 for k, v in samples.items()}


def fmt_us(v: Optional[float]) -> str:
    """A time cell: 3 significant-ish digits, '-' when missing."""
    if v is None:
        return "-"
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def fmt_ratio(v: Optional[float]) -> str:
    """A ratio cell (contender / rugo full), '-' when missing."""
    return "-" if v is None else f"{v:.2f}x" if v < 100 else f"{v:.0f}x"


def print_table(results: Dict[str, Dict[str, float]]) -> None:
    """Print contenders x files: median µs per call, then the ratio to rugo full.

    Parameters
    ----------
    results : dict
        File kind -> (label -> median µs).
    """
    labels: List[str] = []
    for per_file in results.values():
        labels += [k for k in per_file if k not in labels]
    width = max(len(k) for k in labels)
    head = f"{'contender':<{width}} " + " ".join(f"{f + ' µs':>11}" for f in FILES)
    head += "  " + " ".join(f"{f + ' x':>10}" for f in FILES)
    print(head)
    print("-" * len(head))
    for label in labels:
        cells = [results[f].get(label) for f in FILES]
        ratios = [None if c is None else c / results[f]["rugo full"] for c, f in zip(cells, FILES)]
        print(f"{label:<{width}} " + " ".join(f"{fmt_us(c):>11}" for c in cells)
              + "  " + " ".join(f"{fmt_ratio(r):>10}" for r in ratios))
    print("(x = contender time / rugo full time on the same file: > 1 means slower than rugo full)")


def check(name: str, ok: bool, detail: str) -> bool:
    """Print one target check as PASS/FAIL with its measured numbers; return ``ok``."""
    print(f"  [{'PASS' if ok else 'FAIL'}] {name}: {detail}")
    return ok


def print_checks(results: Dict[str, Dict[str, float]]) -> bool:
    """Print the issue's performance targets with measured ratios; True when all pass.

    Parameters
    ----------
    results : dict
        File kind -> (label -> median µs).

    Returns
    -------
    bool
        Every target met.
    """
    print("Target checks:")
    ok = True
    for kind in ("typical", "wide"):
        r = results[kind]
        ratio = r["rugo full"] / r["pyarrow read_metadata"]
        ok &= check(f"(a) rugo full <= pyarrow read_metadata on {kind}", ratio <= 1.0,
                    f"rugo {fmt_us(r['rugo full'])} µs vs pyarrow {fmt_us(r['pyarrow read_metadata'])} µs "
                    f"(rugo/pyarrow = {ratio:.2f})")
    r = results["narrow"]
    floor = r["I/O floor (Python os.open/fstat/pread/close)"]
    ratio = r["rugo full"] / floor
    ok &= check("(b) rugo full within 2x of the I/O floor on narrow", ratio <= 2.0,
                f"rugo {fmt_us(r['rugo full'])} µs vs floor {fmt_us(floor)} µs (rugo/floor = {ratio:.2f})")
    for kind in FILES:
        r = results[kind]
        speedup = r["pyarrow read_schema"] / r["rugo schema_only=True"]
        ok &= check(f"(c) rugo schema_only >= 5x faster than pyarrow read_schema on {kind}", speedup >= 5.0,
                    f"rugo {fmt_us(r['rugo schema_only=True'])} µs vs pyarrow {fmt_us(r['pyarrow read_schema'])} µs "
                    f"(speed-up {speedup:.2f}x)")
    return ok


def print_context(paths: Dict[str, Path], gc_enabled: bool) -> None:
    """Print versions, machine, GC state and the files' shapes and footer sizes."""
    versions = [f"python {platform.python_version()}", f"rugo {rugo.__version__}", f"pyarrow {pa.__version__}"]
    for mod in ("fastparquet", "duckdb"):
        try:
            versions.append(f"{mod} {__import__(mod).__version__}")
        except ImportError:
            versions.append(f"{mod} missing")
    print(", ".join(versions))
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}")
    ext = Path(rp._footer.__file__)
    built = datetime.datetime.fromtimestamp(ext.stat().st_mtime, datetime.timezone.utc)
    print(f"rugo extension {ext} (built {built:%Y-%m-%d %H:%M:%S} UTC)")
    print(f"cyclic GC {'ENABLED' if gc_enabled else 'DISABLED'} during timing "
          f"(thresholds {gc.get_threshold()}); rugo pauses it itself while building a result")
    for kind, path in paths.items():
        md = pq.read_metadata(path)
        print(f"  {kind:<8} {md.num_columns:>5} columns x {md.num_row_groups:>2} row groups, "
              f"{path.stat().st_size:>10,} bytes, footer {md.serialized_size:>9,} bytes  ({path})")


def bench_file(kind: str, path: Path, con, budget: Tuple[float, int, int]) -> Dict[str, float]:
    """Time every contender on one file and print a one-line progress note."""
    fns = contenders_for(path, con)
    t0 = time.perf_counter()
    samples, rounds = run_rounds(fns, budget)
    print(f"  {kind}: {rounds} rounds of {len(fns)} contenders in {time.perf_counter() - t0:.1f} s")
    return medians_us(samples)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line options: ``--quick``, ``--cache DIR``, ``--no-gc``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="few repetitions (smoke test)")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/rugo-bench-cache"),
                    help="directory for the generated files (default: %(default)s)")
    ap.add_argument("--no-gc", action="store_true", help="disable the cyclic GC while timing")
    return ap.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Generate the files if needed, time everything, print the table and target checks.

    Returns
    -------
    int
        0 when all targets pass, 1 otherwise (the table is printed either way).
    """
    args = parse_args(argv)
    paths = write_files(args.cache)
    if args.no_gc:
        gc.disable()
    print_context(paths, gc.isenabled())
    budgets = BUDGET_QUICK if args.quick else BUDGET_DEFAULT
    con = open_duckdb()
    t0 = time.perf_counter()
    results = {kind: bench_file(kind, paths[kind], con, budgets[kind]) for kind in FILES}
    print(f"timing took {time.perf_counter() - t0:.0f} s; median per call, {BATCH_TARGET_S * 1e3:.0f} ms batches\n")
    print_table(results)
    print()
    print("rugo full - rugo from bytes = rugo's own I/O (open/fstat/pread/close in C, without the GIL)"
          " plus its read buffer and allocator effects:")
    for kind in FILES:
        r = results[kind]
        io_cost = r["rugo full"] - r["rugo full, from bytes (no I/O)"]
        floor = r["I/O floor (Python os.open/fstat/pread/close)"]
        print(f"  {kind:<8} ~{fmt_us(io_cost)} µs (Python I/O floor: {fmt_us(floor)} µs)")
    print()
    return 0 if print_checks(results) else 1


if __name__ == "__main__":
    sys.exit(main())
