#!/usr/bin/env python3
"""Whole-process benchmark of ``python -m scanner`` on lakes of 100k to 1M small files.

Usage::

    python scripts/bench_cli.py [--sizes 100000,1000000] [--repeat 3] [--repeat-large N]
                                [--pyarrow-sizes 100000] [--cache DIR] [--profile]

What it measures (the targets of the issue, benchmarks, not tests):

1. On a 100,000-file lake of small 5-column files, the whole CLI process is at least 10x
   faster than a serial pyarrow loop that collects the same per-column statistics into
   DataFrames (``pyarrow loop / scanner``).
2. From 100k to 1M files the marginal cost of the CLI stays at most 20 us per file
   (``(t_1M - t_100k) / 900,000``), and the peak RSS of its whole process tree at 1M
   files is at most 2 KiB per file (page cache excluded).
3. ``--profile``: where the time goes (walk, tail I/O, waiting for workers, receiving
   batches, assembly, writing the index), and the workers' parse time per file.

How:

* Lakes are built once under ``--cache`` (kept while their file count matches): 16
  distinct Parquet files written with pyarrow (5 columns: int64, double, string,
  timestamp[us], int32; 100 rows; 1 row group; 16 more per 960,000 files, as ext4 allows
  65,000 links per file) in the lake's ``_sources/`` (skipped by every walker), then N
  *hard links* to them, 1,000 per directory (``part-000123/file-000123456.parquet``).
  Hard links cost no inode and no data: a 1M-file lake is a million directory entries
  over 32 inodes, so the page cache holds every byte read and the benchmark measures the
  CLI, not the disk.
* Every contender is a separate whole process (``sys.executable``), started in its own
  session (``start_new_session=True``: its pid is the process group id); the wall time is
  from spawn to exit. The contenders run alternately (order rotated each round),
  ``--repeat`` rounds, and the median is reported:

  - ``scanner``: ``python -m scanner LAKE --no-progress -o INDEX --force --full`` (a
    full scan each time, not a rescan that reuses the index of the last round; default
    ``--detail columns``: files + per-column min/max, index written; stdout discarded);
  - ``scanner files``: the same with ``--detail files`` (no statistics);
  - ``pyarrow loop``: ``os.scandir`` recursion (sorted), ``pq.read_metadata`` per file, a
    Python loop over row groups and columns collecting per column chunk the file, column
    path, num_values, null_count, min, max, compressed and uncompressed size; then one
    pandas ``groupby`` per (file, column) (sums, min of mins, max of maxes) and a files
    DataFrame (path, num_rows, num_row_groups, size). Minutes at 1M files: by default
    only at the smallest size (``--pyarrow-sizes``);
  - ``walk+stat floor``: only the ``os.scandir`` recursion (sorted) and a ``stat`` per
    entry: the I/O floor of listing the lake.

* Peak RSS of the whole process tree: every 20 ms a sampler thread sums, over every pid
  whose process group is the contender's, ``RssAnon + RssFile`` and ``RssShmem`` from
  ``/proc/PID/status`` (workers and multiprocessing's resource tracker included). RSS is
  the processes' own resident pages: the page cache of the files read is not in it.
  Shared memory blocks (``/dev/shm``) mapped by the coordinator and every worker are
  counted in each mapper's ``RssShmem`` (so more than once): both parts and their sum are
  printed, at the sample where the sum peaked. Processes of the group still alive after
  the contender exited are reported as leftovers.
* ``--profile`` (in this process, at the smallest size): ``cProfile`` around
  ``scanner.build_catalogue(LAKE, progress=False)`` and ``Catalogue.write``; the walk
  runs on the feed's thread, which gets a profiler of its own (merged afterwards). The
  workers parse in other processes: their cost is estimated by timing
  ``scanner.engine.batches.parse`` in this process over the tails of a sample of 10,000
  files (batches of 256, as the workers get them), loaded with ``rugo._footer.load_tails``.

The page cache is warm (one untimed walk before each size); the cyclic GC is on in every
contender, as in real use. The machine may be shared: the load average is printed before
every run; compare medians and ratios, not single runs.
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import json
import math
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

#: Distinct source files the lake's hard links point to.
SOURCES = 16
#: Hard links per source file (ext4 allows 65,000).
MAX_LINKS = 60_000
#: Files per directory of a lake.
PER_DIRECTORY = 1000
#: Seconds between two RSS samples.
SAMPLE_SECONDS = 0.020
#: Files whose tails are parsed in-process for the parse estimate.
PARSE_SAMPLE = 10_000

WALK_FLOOR = r"""
import os, stat, sys
def walk(directory):
    n = 0
    with os.scandir(directory) as it:
        entries = sorted(it, key=lambda e: e.name)
    for e in entries:
        if e.name[0] in '._':
            continue
        st = e.stat()
        if stat.S_ISDIR(st.st_mode):
            n += walk(e.path)
        else:
            n += 1
    return n
n = walk(sys.argv[1])
assert n == int(sys.argv[2]), (n, sys.argv[2])
"""

PYARROW_LOOP = r"""
import os, stat, sys
import pandas as pd
import pyarrow.parquet as pq
def walk(directory, out):
    with os.scandir(directory) as it:
        entries = sorted(it, key=lambda e: e.name)
    for e in entries:
        if e.name[0] in '._':
            continue
        st = e.stat()
        if stat.S_ISDIR(st.st_mode):
            walk(e.path, out)
        else:
            out.append((e.path, st.st_size))
listed = []
walk(sys.argv[1], listed)
chunks, files = [], []
for path, size in listed:
    md = pq.read_metadata(path)
    files.append((path, md.num_rows, md.num_row_groups, size))
    for r in range(md.num_row_groups):
        rg = md.row_group(r)
        for c in range(rg.num_columns):
            col = rg.column(c)
            st = col.statistics
            has = st is not None and st.has_min_max
            chunks.append((path, col.path_in_schema, col.num_values,
                           st.null_count if st is not None else None,
                           st.min if has else None, st.max if has else None,
                           col.total_compressed_size, col.total_uncompressed_size))
chunk_frame = pd.DataFrame(chunks, columns=["file_name", "path_in_schema", "num_values", "null_count",
                                            "min", "max", "compressed_bytes", "uncompressed_bytes"])
columns = chunk_frame.groupby(["file_name", "path_in_schema"], sort=False).agg(
    num_values=("num_values", "sum"), null_count=("null_count", "sum"), min=("min", "min"),
    max=("max", "max"), compressed_bytes=("compressed_bytes", "sum"),
    uncompressed_bytes=("uncompressed_bytes", "sum")).reset_index()
files_frame = pd.DataFrame(files, columns=["file_name", "num_rows", "num_row_groups", "file_size_bytes"])
assert len(files_frame) == int(sys.argv[2]), (len(files_frame), sys.argv[2])
assert len(columns) == 5 * len(files_frame), len(columns)
"""


# -- lakes

def source_table(seed: int, rows: int = 100) -> pa.Table:
    """A small table of 5 columns: int64, double, string, timestamp[us], int32.

    Parameters
    ----------
    seed : int
        Seed of the random values (distinct files have distinct statistics).
    rows : int
        Rows of the table.

    Returns
    -------
    pyarrow.Table
    """
    rng = np.random.default_rng(seed)
    return pa.table({
        "id": pa.array(rng.integers(0, 10**9, rows)),
        "value": pa.array(rng.normal(size=rows)),
        "name": pa.array([f"v{v}" for v in rng.integers(0, 1000, rows)]),
        "ts": pa.array(rng.integers(0, 2 * 10**15, rows), pa.timestamp("us")),
        "small": pa.array(rng.integers(-1000, 1000, rows, dtype=np.int32)),
    })


def ensure_sources(directory: Path, count: int) -> List[Path]:
    """``count`` distinct small Parquet files in ``directory``, written unless present.

    Parameters
    ----------
    directory : Path
        Where they are written.
    count : int
        How many (seeds ``0 .. count - 1``).

    Returns
    -------
    list of Path
    """
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = directory / f"src-{i:02d}.parquet"
        if not path.exists():
            pq.write_table(source_table(seed=i), path.with_suffix(".tmp"), row_group_size=100)
            os.replace(path.with_suffix(".tmp"), path)
        paths.append(path)
    return paths


def ensure_lake(cache: Path, files: int) -> Path:
    """A lake of ``files`` hard links to the source files, built unless cached with that count.

    Parameters
    ----------
    cache : Path
        The cache directory; the lake is ``cache/lake-<files>``.
    files : int
        Number of files in the lake.

    Returns
    -------
    Path
        The lake's root directory (its ``_GENERATED`` marker is skipped by every walker).
    """
    root = cache / f"lake-{files}"
    marker = root / "_GENERATED"
    if marker.exists():
        try:
            if json.loads(marker.read_text()).get("files") == files:
                return root
        except ValueError:
            pass
    if root.exists():
        shutil.rmtree(root)
    # a file may have at most 65,000 links on ext4: enough sources for ``files`` links, kept
    # in the lake itself (``_sources/``: skipped by every walker, as names starting with '_')
    count = SOURCES * math.ceil(files / (SOURCES * MAX_LINKS))
    sources = [os.fspath(p) for p in ensure_sources(root / "_sources", count)]
    print(f"building lake of {files:,} hard links in {root} ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    for i in range(files):
        if i % PER_DIRECTORY == 0:
            directory = root / f"part-{i // PER_DIRECTORY:06d}"
            directory.mkdir(parents=True)
            prefix = os.fspath(directory)
        os.link(sources[i % count], f"{prefix}/file-{i:09d}.parquet")
        if (i + 1) % 100_000 == 0:
            print(f"  {i + 1:,} links ({time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)
    marker.write_text(json.dumps({"files": files, "sources": count, "per_directory": PER_DIRECTORY}))
    return root


# -- the code under test

#: Directory whose ``rugo/`` and ``scanner/`` packages are benchmarked (cwd of the contenders).
CODE = REPO


def take_snapshot(target: Path, source: str = "tree") -> Path:
    """Copy the ``rugo/`` and ``scanner/`` packages to ``target``.

    Parameters
    ----------
    target : Path
        Directory of the copy (replaced).
    source : {"tree", "head"}
        The working tree as it is, or the files of the ``HEAD`` commit (``git archive``;
        the built extension modules ``rugo/*.so`` are copied from the working tree).

    Returns
    -------
    Path
        ``target``, once ``import scanner.__main__``-level imports succeed from it.

    Raises
    ------
    RuntimeError
        The copy does not import (the tree was caught in the middle of an edit).
    """
    if target.exists():
        shutil.rmtree(target)
    if source == "head":
        target.mkdir(parents=True)
        archive = subprocess.run(["git", "archive", "HEAD", "rugo", "scanner"], cwd=REPO, capture_output=True,
                                 check=True).stdout
        subprocess.run(["tar", "-x", "-C", os.fspath(target)], input=archive, check=True)
        for built in (REPO / "rugo").glob("*.so"):
            shutil.copy2(built, target / "rugo" / built.name)
    else:
        for package in ("rugo", "scanner"):
            shutil.copytree(REPO / package, target / package, ignore=shutil.ignore_patterns("__pycache__"))
    check = subprocess.run([sys.executable, "-c", "import scanner.scan, scanner.catalogue, rugo._footer, sys; "
                            "assert scanner.__file__.startswith(sys.argv[1]), scanner.__file__", os.fspath(target)],
                           cwd=target, capture_output=True, text=True)
    if check.returncode:
        raise RuntimeError(f"the snapshot in {target} does not import:\n{check.stderr[-2000:]}")
    return target


def describe_code(code: Path, source: Optional[str]) -> str:
    """Which code runs: the commit, uncommitted files, and where.

    Parameters
    ----------
    code : Path
        :data:`CODE`.
    source : {"tree", "head"} or None
        What the snapshot holds (``None``: no snapshot).

    Returns
    -------
    str
    """
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()
    changed = git("status", "--short", "--untracked-files=no", "--", "rugo", "scanner").splitlines()
    head = git("rev-parse", "--short", "HEAD")
    if source == "head":
        note = f" (working tree also has uncommitted {', '.join(c.split()[-1] for c in changed)}: not measured)" \
            if changed else ""
        return f"{head}, committed files copied to {code}{note}"
    edits = f" + uncommitted {', '.join(c.split()[-1] for c in changed)}" if changed else ""
    where = f"working tree copied to {code}" if source else f"working tree {code}"
    return f"{head}{edits} ({where})"


# -- running one whole process

@dataclass
class Run:
    """One whole-process run of a contender.

    Attributes
    ----------
    seconds : float
        Wall time from spawn to exit.
    anon_file : int
        ``RssAnon + RssFile`` of the process tree (bytes) at the peak sample.
    shmem : int
        ``RssShmem`` of the process tree (bytes) at the peak sample.
    processes : int
        Most processes of the group seen at once.
    leftovers : list of int
        Pids of the group still alive after the contender exited.
    """

    seconds: float
    anon_file: int
    shmem: int
    processes: int
    leftovers: List[int] = field(default_factory=list)

    @property
    def rss(self) -> int:
        """Peak tree RSS (bytes): ``RssAnon + RssFile + RssShmem``."""
        return self.anon_file + self.shmem


def group_pids(pgid: int) -> List[int]:
    """Pids of every live process whose process group is ``pgid``.

    Parameters
    ----------
    pgid : int
        The process group id.

    Returns
    -------
    list of int
    """
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                text = f.read()
        except OSError:
            continue
        fields = text[text.rindex(b")") + 2:].split()  # state ppid pgrp ...
        if int(fields[2]) == pgid and fields[0] != b"Z":
            pids.append(int(name))
    return pids


def rss_of(pid: int) -> Tuple[int, int]:
    """``(RssAnon + RssFile, RssShmem)`` of ``pid`` in bytes (zeros once it is gone).

    Parameters
    ----------
    pid : int

    Returns
    -------
    tuple of int
    """
    anon_file = shmem = 0
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith((b"RssAnon:", b"RssFile:")):
                    anon_file += int(line.split()[1]) * 1024
                elif line.startswith(b"RssShmem:"):
                    shmem += int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return anon_file, shmem


def run_process(argv: Sequence[str]) -> Run:
    """Run ``argv`` as a whole process in a new session, sampling its tree's RSS.

    Parameters
    ----------
    argv : sequence of str
        The command line.

    Returns
    -------
    Run

    Raises
    ------
    RuntimeError
        The process exited with a non-zero status.
    """
    peak = [0, 0, 0]  # anon_file, shmem, processes
    stop = threading.Event()
    proc_box: List[subprocess.Popen] = []
    started = threading.Event()

    def sample() -> None:
        started.wait()
        pgid = proc_box[0].pid
        while not stop.is_set():
            pids = group_pids(pgid)
            anon_file = shmem = 0
            for pid in pids:
                a, s = rss_of(pid)
                anon_file += a
                shmem += s
            if anon_file + shmem > peak[0] + peak[1]:
                peak[0], peak[1] = anon_file, shmem
            peak[2] = max(peak[2], len(pids))
            stop.wait(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    proc = subprocess.Popen(list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True, cwd=CODE,
                            env={**os.environ, "PYTHONPATH": os.fspath(CODE)})
    proc_box.append(proc)
    OUR_PIDS.add(proc.pid)
    started.set()
    _, err = proc.communicate()
    seconds = time.perf_counter() - start
    stop.set()
    sampler.join()
    time.sleep(0.05)
    leftovers = group_pids(proc.pid)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[:4]}... exited with {proc.returncode}: {err.decode(errors='replace')[-2000:]}")
    if err.strip():
        print(f"  stderr of {' '.join(argv[1:3])}: {err.decode(errors='replace')[-500:]}", file=sys.stderr)
    return Run(seconds, peak[0], peak[1], peak[2], leftovers)


def contenders(lake: Path, files: int, out: Path, with_pyarrow: bool) -> Dict[str, List[str]]:
    """The command line of every contender on ``lake``.

    Parameters
    ----------
    lake : Path
        The lake's root.
    files : int
        Files in the lake (the loops check their count).
    out : Path
        Directory for the scanner's index files.
    with_pyarrow : bool
        Include the (slow) pyarrow loop.

    Returns
    -------
    dict
        Name -> argv.
    """
    py = sys.executable
    runs = {
        "scanner": [py, "-m", "scanner", os.fspath(lake), "--no-progress", "-o",
                    os.fspath(out / "index-columns.parquet"), "--force", "--full"],
        "scanner files": [py, "-m", "scanner", os.fspath(lake), "--no-progress", "--detail", "files", "-o",
                          os.fspath(out / "index-files.parquet"), "--force", "--full"],
        "walk+stat floor": [py, "-c", WALK_FLOOR, os.fspath(lake), str(files)],
    }
    if with_pyarrow:
        runs["pyarrow loop"] = [py, "-c", PYARROW_LOOP, os.fspath(lake), str(files)]
    return runs


def check_index(path: Path, files: int, detail: str) -> None:
    """Check that the index the scanner wrote has every file, all ``ok``.

    Parameters
    ----------
    path : Path
        The index.
    files : int
        Files expected.
    detail : str
        The ``--detail`` it was written with.

    Raises
    ------
    AssertionError
        Rows missing, or files not ``ok``.
    """
    table = pq.read_table(path, columns=["status"])
    ok = table.column("status").to_pylist().count("ok")
    assert table.num_rows == files and ok == files, f"{path}: {table.num_rows} rows, {ok} ok, {files} expected"
    if detail == "columns":
        columns = pq.read_table(path, columns=["columns"]).column("columns")
        leaves = sum(len(v) for v in columns.to_pylist()[:1000])
        assert leaves == 5 * min(files, 1000), f"{path}: {leaves} column rows in the first 1000 files"


#: Pids of the processes this benchmark started (and its own): blocks they left are ours.
OUR_PIDS = {os.getpid()}


def leftover_blocks() -> List[str]:
    """Shared memory blocks still in ``/dev/shm`` created by a process this benchmark ran.

    Block names are ``rugoscan-<pid>-<start ticks>-...``; blocks of other processes (a
    test suite running meanwhile on a shared machine) are not ours and are ignored.

    Returns
    -------
    list of str
    """
    try:
        names = os.listdir("/dev/shm")
    except OSError:
        return []
    return sorted(n for n in names if n.startswith("rugoscan-") and n.split("-")[1].isdigit()
                  and int(n.split("-")[1]) in OUR_PIDS)


def bench_size(lake: Path, files: int, out: Path, repeat: int, with_pyarrow: bool) -> Dict[str, List[Run]]:
    """Run the contenders alternately ``repeat`` rounds on one lake.

    Parameters
    ----------
    lake : Path
        The lake's root.
    files : int
        Files in the lake.
    out : Path
        Directory for the scanner's index files.
    repeat : int
        Rounds.
    with_pyarrow : bool
        Include the pyarrow loop.

    Returns
    -------
    dict
        Name -> runs.
    """
    runs = contenders(lake, files, out, with_pyarrow)
    names = list(runs)
    results: Dict[str, List[Run]] = {n: [] for n in names}
    print(f"  warming the page cache (untimed walk), load average {os.getloadavg()[0]:.2f}", flush=True)
    run_process(runs["walk+stat floor"])
    for round_ in range(repeat):
        order = names[round_ % len(names):] + names[:round_ % len(names)]
        for name in order:
            load = os.getloadavg()
            run = run_process(runs[name])
            results[name].append(run)
            note = f", LEFTOVER pids {run.leftovers}" if run.leftovers else ""
            blocks = leftover_blocks()
            note += f", LEFTOVER blocks {blocks[:3]}" if blocks else ""
            print(f"  round {round_ + 1}/{repeat} load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}  {name:16} "
                  f"{run.seconds:8.2f} s  rss {run.rss / 2**20:7.1f} MiB ({run.processes} processes){note}",
                  flush=True)
            if round_ == 0 and name.startswith("scanner"):
                detail = "files" if name == "scanner files" else "columns"
                check_index(out / f"index-{detail}.parquet", files, detail)
    return results


# -- report

def median_run(runs: List[Run]) -> Tuple[float, Run]:
    """Median seconds of ``runs`` and the run with the highest peak RSS.

    Parameters
    ----------
    runs : list of Run

    Returns
    -------
    (float, Run)
    """
    return statistics.median(r.seconds for r in runs), max(runs, key=lambda r: r.rss)


def print_table(files: int, results: Dict[str, List[Run]]) -> None:
    """Print the table of one size.

    Parameters
    ----------
    files : int
        Files in the lake.
    results : dict
        Name -> runs.
    """
    header = (f"{'contender':16} {'runs':>4} {'median s':>9} {'us/file':>8} {'anon+file MiB':>14} "
              f"{'shmem MiB':>10} {'tree RSS MiB':>13} {'RSS B/file':>11} {'procs':>5}")
    print(f"\n{files:,} files")
    print(header)
    print("-" * len(header))
    for name, runs in results.items():
        seconds, top = median_run(runs)
        print(f"{name:16} {len(runs):>4} {seconds:>9.3f} {seconds / files * 1e6:>8.1f} "
              f"{top.anon_file / 2**20:>14.1f} {top.shmem / 2**20:>10.1f} {top.rss / 2**20:>13.1f} "
              f"{top.rss / files:>11.0f} {top.processes:>5}")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def print_targets(all_results: Dict[int, Dict[str, List[Run]]]) -> None:
    """Print the ratios and the targets of the issue with PASS / MISS.

    Parameters
    ----------
    all_results : dict
        Files -> name -> runs.
    """
    print("\ntargets")
    sizes = sorted(all_results)
    for files in sizes:
        res = all_results[files]
        if "pyarrow loop" in res:
            ratio = median_run(res["pyarrow loop"])[0] / median_run(res["scanner"])[0]
            ratio_f = median_run(res["pyarrow loop"])[0] / median_run(res["scanner files"])[0]
            print(f"  pyarrow loop / scanner at {files:,} files: {ratio:.1f}x (target >= 10x) {verdict(ratio >= 10)}"
                  f"   [pyarrow loop / scanner files: {ratio_f:.1f}x]")
        floor = median_run(res["walk+stat floor"])[0] / median_run(res["scanner"])[0]
        print(f"  walk+stat floor / scanner at {files:,} files: {floor:.2f} of the scanner's time")
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        for name in ("scanner", "scanner files"):
            t_small = median_run(all_results[small][name])[0]
            t_large = median_run(all_results[large][name])[0]
            marginal = (t_large - t_small) / (large - small) * 1e6
            rss_small = median_run(all_results[small][name])[1].rss
            rss_large = median_run(all_results[large][name])[1].rss
            rss_marginal = (rss_large - rss_small) / (large - small)
            tag = f" (target <= 20 us) {verdict(marginal <= 20)}" if name == "scanner" else ""
            print(f"  {name}: marginal cost {small:,} -> {large:,} files: {marginal:.1f} us/file{tag}"
                  f"   [marginal RSS {rss_marginal:.0f} B/file]")
        floor_small = median_run(all_results[small]["walk+stat floor"])[0]
        floor_large = median_run(all_results[large]["walk+stat floor"])[0]
        print(f"  walk+stat floor: marginal cost {(floor_large - floor_small) / (large - small) * 1e6:.1f} us/file")
    top = median_run(all_results[sizes[-1]]["scanner"])[1]
    per_file = top.rss / sizes[-1]
    print(f"  scanner peak tree RSS at {sizes[-1]:,} files: {top.rss / 2**20:.1f} MiB "
          f"(anon+file {top.anon_file / 2**20:.1f} + shmem {top.shmem / 2**20:.1f}) = {per_file:.0f} B/file "
          f"= {per_file / 1024:.2f} KiB/file (target <= 2 KiB) {verdict(per_file <= 2048)}"
          f"   [anon+file only: {top.anon_file / sizes[-1] / 1024:.2f} KiB/file]")


# -- profile

#: label -> (file suffix, function name) of the entries looked up in the profile
PROFILED = {
    "walk (sources.local._walk, feed thread)": ("scanner/sources/local.py", "_walk"),
    "tail loading (rugo._footer.load_tails)": ("~", "<built-in method rugo._footer.load_tails>"),
    "waiting for workers (connection.wait)": ("multiprocessing/connection.py", "wait"),
    "receiving batches (Connection.recv)": ("multiprocessing/connection.py", "recv"),
    "worker start-up (Pool.spawn)": ("scanner/engine/local/pool.py", "spawn"),
    "assembly: Results.tables": ("scanner/engine/results.py", "tables"),
    "assembly: Catalogue.from_tables": ("scanner/catalogue/__init__.py", "from_tables"),
    "writing the index (Catalogue.write)": ("scanner/catalogue/__init__.py", "write"),
    "stopping workers (Pool.close)": ("scanner/engine/local/pool.py", "close"),
}


def cumulative(stats: pstats.Stats, suffix: str, name: str) -> Tuple[float, int]:
    """Cumulative seconds and calls of the functions named ``name`` in files ending in ``suffix``.

    Parameters
    ----------
    stats : pstats.Stats
    suffix : str
        End of the file name (``~`` for built-ins).
    name : str
        Function name as cProfile records it.

    Returns
    -------
    (float, int)
    """
    seconds, calls = 0.0, 0
    for (filename, _, funcname), (_, ncalls, _, cum, _) in stats.stats.items():  # type: ignore[attr-defined]
        if funcname == name and filename.endswith(suffix):
            seconds += cum
            calls += ncalls
    return seconds, calls


def profile(lake: Path, files: int, out: Path) -> None:
    """Profile one in-process scan of ``lake`` and estimate the workers' parse time.

    Parameters
    ----------
    lake : Path
        The lake's root.
    files : int
        Files in the lake.
    out : Path
        Directory for the index.
    """
    import scanner
    from scanner.sources import feed as feed_module

    walk_profiler = cProfile.Profile()
    original_run = feed_module.Feed._run

    def profiled_run(self: object, source: object) -> None:
        walk_profiler.enable()
        try:
            original_run(self, source)  # type: ignore[arg-type]
        finally:
            walk_profiler.disable()

    feed_module.Feed._run = profiled_run  # type: ignore[assignment]
    main_profiler = cProfile.Profile()
    print(f"\nprofile: build_catalogue + write in this process, {files:,} files, "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)
    try:
        start = time.perf_counter()
        main_profiler.enable()
        catalogue = scanner.build_catalogue(os.fspath(lake), progress=False)
        catalogue.write(out / "index-profile.parquet")
        main_profiler.disable()
        total = time.perf_counter() - start
    finally:
        feed_module.Feed._run = original_run  # type: ignore[assignment]
    assert len(catalogue.files) == files, len(catalogue.files)
    main_stats = pstats.Stats(main_profiler)
    walk_stats = pstats.Stats(walk_profiler)
    header = f"{'part':44} {'calls':>8} {'seconds':>8} {'share':>6}"
    print(header)
    print("-" * len(header))
    for label, (suffix, name) in PROFILED.items():
        stats = walk_stats if "feed thread" in label else main_stats
        seconds, calls = cumulative(stats, suffix, name)
        print(f"{label:44} {calls:>8} {seconds:>8.3f} {seconds / total:>6.1%}")
    print(f"{'total (wall, under cProfile)':44} {'':>8} {total:>8.3f} {1:>6.1%}")
    print("(the walk runs on a thread, concurrently with the rest; shares are of the total wall time)")
    print("\ntop 12 of the coordinator's thread by own time:")
    main_stats.sort_stats("tottime").print_stats(12)
    parse_estimate(lake, files)


def parse_estimate(lake: Path, files: int) -> None:
    """Time ``load_tails`` and ``batches.parse`` in this process over a sample of the lake.

    Parameters
    ----------
    lake : Path
        The lake's root.
    files : int
        Files in the lake.
    """
    from rugo import _footer
    from scanner.engine.batches import parse
    from scanner.engine.local.coordinator import MAX_BATCH_FILES

    count = min(PARSE_SAMPLE, files)
    paths = [os.fspath(lake / f"part-{i // PER_DIRECTORY:06d}" / f"file-{i:09d}.parquet") for i in range(count)]
    sizes = [os.stat(p).st_size for p in paths]
    batches = [(paths[i:i + MAX_BATCH_FILES], sizes[i:i + MAX_BATCH_FILES])
               for i in range(0, count, MAX_BATCH_FILES)]
    buffers = []
    load_times: List[float] = []
    parse_times: Dict[str, List[float]] = {"columns": [], "files": []}
    for round_ in range(3):
        load_seconds = 0.0
        buffers = []
        for batch_paths, batch_sizes in batches:
            buf = bytearray(sum(batch_sizes) + 4096)
            start = time.perf_counter()
            consumed, need, loaded, status, errors = _footer.load_tails(batch_paths, batch_sizes, buf)
            load_seconds += time.perf_counter() - start
            assert consumed == len(batch_paths) and not errors, (consumed, errors)
            buffers.append((buf, list(loaded)))
        load_times.append(load_seconds)
        for detail in parse_times:
            start = time.perf_counter()
            for buf, spans in buffers:
                parse(memoryview(buf), spans, detail)
            parse_times[detail].append(time.perf_counter() - start)
    print(f"\nin-process estimate over {count:,} files (batches of {MAX_BATCH_FILES}, median of 3, "
          f"gc {'on' if gc.isenabled() else 'off'}):")
    print(f"  load_tails (open + pread, warm cache): {statistics.median(load_times) / count * 1e6:6.2f} us/file")
    for detail, times in parse_times.items():
        print(f"  batches.parse detail={detail:8}:       {statistics.median(times) / count * 1e6:6.2f} us/file")


def main(argv: Optional[List[str]] = None) -> int:
    """Build the lakes, run the contenders, print the tables and the targets.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/rugo-bench-cli"),
                        help="where the lakes are kept (default /tmp/rugo-bench-cli)")
    parser.add_argument("--sizes", default="100000,1000000",
                        help="comma-separated lake sizes in files (default 100000,1000000)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per size (median reported)")
    parser.add_argument("--repeat-large", type=int, default=None,
                        help="rounds at the largest size (default: --repeat)")
    parser.add_argument("--pyarrow-sizes", default=None,
                        help="sizes at which the pyarrow loop runs (default: the smallest size)")
    parser.add_argument("--profile", action="store_true",
                        help="profile one in-process scan at the smallest size and estimate parse time")
    parser.add_argument("--snapshot", choices=("tree", "head"),
                        help="run a copy of rugo/ and scanner/ taken at start under --cache, so that edits "
                             "made while the benchmark runs do not reach it: 'tree' copies the working tree, "
                             "'head' the committed files (git archive HEAD) plus the built extension")
    parser.add_argument("--delete-largest", action="store_true",
                        help="delete the largest lake when done (it holds that many directory entries)")
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    pyarrow_sizes = {int(s) for s in args.pyarrow_sizes.split(",")} if args.pyarrow_sizes else {sizes[0]}
    out = args.cache / "out"
    out.mkdir(parents=True, exist_ok=True)
    global CODE
    if args.snapshot:
        CODE = take_snapshot(args.cache / "code", args.snapshot)
        sys.path.insert(0, os.fspath(CODE))
    print(f"code: {describe_code(CODE, args.snapshot)}")
    import pandas
    import rugo
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, gc on, warm page cache, "
          f"rugo {getattr(rugo, '__version__', '?')}, pyarrow {pa.__version__}, pandas {pandas.__version__}")
    print(f"median of {args.repeat} rounds (largest size: {args.repeat_large or args.repeat}), "
          f"contenders alternate; whole processes, wall time spawn to exit; RSS sampled every "
          f"{SAMPLE_SECONDS * 1000:.0f} ms over the process group")
    all_results: Dict[int, Dict[str, List[Run]]] = {}
    lakes = {}
    for files in sizes:
        lakes[files] = lake = ensure_lake(args.cache, files)
        repeat = args.repeat_large if files == sizes[-1] and args.repeat_large else args.repeat
        print(f"\n{files:,} files: {repeat} rounds, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
              flush=True)
        all_results[files] = bench_size(lake, files, out, repeat, files in pyarrow_sizes)
        print_table(files, all_results[files])
    for files in sizes:
        print_table(files, all_results[files])
    print_targets(all_results)
    if args.profile:
        profile(lakes[sizes[0]], sizes[0], out)
    blocks = leftover_blocks()
    print(f"\nleftover /dev/shm/rugoscan-* blocks: {len(blocks)}{' ' + str(blocks[:5]) if blocks else ''}")
    if args.delete_largest and len(sizes) > 1:
        print(f"deleting {lakes[sizes[-1]]}", file=sys.stderr)
        shutil.rmtree(lakes[sizes[-1]])
    return 0


if __name__ == "__main__":
    sys.exit(main())
