#!/usr/bin/env python3
"""Whole-process benchmark of incremental rescans (``python -m scanner LAKE -o INDEX`` again).

Usage::

    python scripts/bench_rescan.py [--files 100000] [--changed 0.01] [--repeat 5] [--cache DIR]

The targets of the issue (benchmarks, not tests), side by side in one run:

1. **Unchanged lake**: a rescan of the lake, whose ``--output`` index is up to date, costs
   at most 2x a bare walk that ``stat``s every file (``os.scandir`` + ``stat``, sorted, as
   ``scripts/bench_cli.py``'s floor), both whole processes.
2. **1% changed**: a rescan when ``--changed`` of the files changed since the index costs
   at most 2x (the walk + a fresh scan of just the changed files, ``--from-file`` listing
   them, writing its own index).

The lake is ``scripts/bench_cli.py``'s (hard links to 16 small 5-column files, 1,000 per
directory), built under ``--cache``. Its files cannot be changed one by one: replacing one
hard link moves the change time of the inode that thousands of others share. So the
index is made stale instead: a copy of an up-to-date index with the recorded ``mtime_ns``
of every 100th file moved back by 1 ns (and its listing digest dropped), which is what
the rescan sees when those files changed (it reads them again, merges, writes the index). The "changed" rescans start
from a fresh copy of that stale index each round; the unchanged rescans from the
up-to-date one, with nothing to do. Every contender is a separate process; they run in turn,
order rotated each round, and the median wall time of ``--repeat`` rounds is reported,
with the ratios. A full scan (``--full``) is timed too, for scale. Before timing, one run
of each rescan is checked: its JSON summary must say how many files were reused and
changed.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cli import CODE, WALK_FLOOR, ensure_lake, run_process  # noqa: E402


def stale_copy(index: Path, out: Path, step: int) -> List[str]:
    """``index`` with the ``mtime_ns`` of every ``step``-th file moved back by 1 ns, to
    ``out``; the paths of those files."""
    table = pq.read_table(index)
    mtimes = table.column("mtime_ns").to_numpy().copy()
    stale = np.arange(0, len(mtimes), step)
    mtimes[stale] -= 1
    table = table.set_column(table.column_names.index("mtime_ns"), "mtime_ns", pa.array(mtimes))
    meta = json.loads(table.schema.metadata[b"rugo.scanner"])
    meta["listing_digest"] = None  # it was the digest of the rows before this edit
    table = table.replace_schema_metadata({**table.schema.metadata, b"rugo.scanner": json.dumps(meta)})
    pq.write_table(table, out, compression="zstd")
    names = table.column("file_name")
    return [names[int(i)].as_py() for i in stale]


def checked_rescan(argv: List[str], reused: int, changed: int) -> None:
    """Run a rescan once and check its report (the counts of the issue's scenario)."""
    out = subprocess.run(argv + ["--format", "json"], capture_output=True, text=True, cwd=CODE,
                         env={**os.environ, "PYTHONPATH": os.fspath(CODE)})
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    report = json.loads(out.stdout)["rescan"]
    got = (report["full"], report["reused"], report["changed"], report["added"], report["removed"])
    if got != (False, reused, changed, 0, 0):
        raise RuntimeError(f"unexpected rescan report {report}")


def main(argv: List[str] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--changed", type=float, default=0.01, help="share of the files replaced")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/rugo-bench-rescan"))
    args = parser.parse_args(argv)
    lake = ensure_lake(args.cache, args.files)
    work = args.cache / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    python = sys.executable
    scanner = [python, "-m", "scanner", os.fspath(lake), "--no-progress"]
    before, after, rescanned = work / "before.parquet", work / "after.parquet", work / "rescanned.parquet"
    run_process(scanner + ["-o", os.fspath(after)])
    files = args.files
    changed = stale_copy(after, before, max(1, round(1 / args.changed)))
    listed = work / "changed.txt"
    listed.write_text("".join(f"{p}\n" for p in changed))
    checked_rescan(scanner + ["-o", os.fspath(after)], files, 0)
    shutil.copyfile(before, rescanned)
    checked_rescan(scanner + ["-o", os.fspath(rescanned)], files - len(changed), len(changed))

    contenders: Dict[str, List[str]] = {
        "walk+stat floor": [python, "-c", WALK_FLOOR, os.fspath(lake), str(files)],
        "rescan, unchanged": scanner + ["-o", os.fspath(after)],
        "rescan, changed": scanner + ["-o", os.fspath(rescanned)],
        "scan of the changed only": [python, "-m", "scanner", "--from-file", os.fspath(listed), "--no-progress",
                                     "-o", os.fspath(work / "only.parquet"), "--full"],
        "full scan": scanner + ["-o", os.fspath(work / "full.parquet"), "--full"],
    }
    times: Dict[str, List[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for round_ in range(args.repeat):
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            if name == "rescan, changed":
                shutil.copyfile(before, rescanned)  # the changes are new again every round
            times[name].append(run_process(contenders[name]).seconds)
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"\n{files:,} files, {len(changed):,} changed ({len(changed) / files:.1%}); "
          f"medians of {args.repeat} rounds, whole processes\n")
    print(f"| {'contender':<26} | median s | runs |")
    print(f"|{'-' * 28}|---------:|------|")
    for name, value in median.items():
        print(f"| {name:<26} | {value:8.3f} | {', '.join(f'{v:.2f}' for v in times[name])} |")
    walk = median["walk+stat floor"]
    unchanged = median["rescan, unchanged"] / walk
    changed_ratio = median["rescan, changed"] / (walk + median["scan of the changed only"])
    print()
    print(f"unchanged rescan / walk = {unchanged:.2f} (target <= 2): {'PASS' if unchanged <= 2 else 'MISS'}")
    print(f"changed rescan / (walk + scan of the changed) = {changed_ratio:.2f} (target <= 2): "
          f"{'PASS' if changed_ratio <= 2 else 'MISS'}")
    print(f"full scan / unchanged rescan = {median['full scan'] / median['rescan, unchanged']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
