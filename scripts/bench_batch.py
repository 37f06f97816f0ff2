"""Benchmark: the worker's dict path against one C call per batch (``_footer.parse_batch``).

Three lakes are generated once with pyarrow (narrow: 2,000 files of 5 columns x 1 row
group; typical: 200 files of 30 x 8; wide: 20 files of 1,000 x 10) into ``--root``; every
file's tail (footer + trailer) is read into one bytearray, as a worker sees a shared-memory
block. Then, in one process, alternating, GC on, median of ``--repeat`` runs:

  (a) ``tests/catalogue_reference.parse_batch`` the former worker path: a dict per chunk
                                                (``read_metadata_from_memoryview``), aggregated in Python
  (b) ``rugo._footer.parse_batch``             one C call, Arrow-layout buffers
  (c) ``scanner.engine.results``               (b) + the Arrow tables the scanner assembles

Usage: ``python scripts/bench_batch.py [--root DIR] [--repeat N]``
"""
from __future__ import annotations

import argparse
import gc
import statistics
import struct
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the reference path

from catalogue_reference import parse_batch  # noqa: E402
from rugo import _footer  # noqa: E402
from scanner.engine.batches import parse  # noqa: E402
from scanner.engine.results import Results  # noqa: E402
from scanner.fields import DETAILS  # noqa: E402


def parse_batch_arrow(buf: Any, spans: List[Tuple[int, int]], detail: str) -> Any:
    """(b) and the Arrow tables the scanner makes of it."""
    results = Results(len(spans))
    results.add_batch(list(range(len(spans))), parse(buf, spans, detail))
    return results.tables()

LAKES = {"narrow": (2000, 5, 1), "typical": (200, 30, 8), "wide": (20, 1000, 10)}
ROWS_PER_GROUP = 20


def make_table(columns: int, rows: int, seed: int) -> pa.Table:
    """Columns cycling through int64, double, string and timestamp, with statistics."""
    data = {}
    for c in range(columns):
        base = [(seed * 7919 + c * 31 + r) % 1000 for r in range(rows)]
        kind = c % 4
        if kind == 0:
            data[f"c{c:04d}"] = pa.array(base, pa.int64())
        elif kind == 1:
            data[f"c{c:04d}"] = pa.array([v / 7 for v in base], pa.float64())
        elif kind == 2:
            data[f"c{c:04d}"] = pa.array([f"value-{v:05d}" for v in base], pa.string())
        else:
            data[f"c{c:04d}"] = pa.array([v * 1_000_000 for v in base], pa.timestamp("us", tz="UTC"))
    return pa.table(data)


def ensure_lake(root: Path, name: str) -> List[Path]:
    files, columns, groups = LAKES[name]
    folder = root / name
    paths = [folder / f"part-{k:05d}.parquet" for k in range(files)]
    if all(p.exists() for p in paths):
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    for k, path in enumerate(paths):
        pq.write_table(make_table(columns, groups * ROWS_PER_GROUP, k), path, row_group_size=ROWS_PER_GROUP)
    return paths


def read_tails(paths: List[Path]) -> Tuple[bytearray, List[Tuple[int, int]]]:
    """Footer + trailer of every file, one after the other, and their spans."""
    buf, spans = bytearray(), []
    for path in paths:
        with open(path, "rb") as f:
            f.seek(-8, 2)
            footer_len = struct.unpack("<I", f.read(4))[0]
            f.seek(-(footer_len + 8), 2)
            tail = f.read(footer_len + 8)
        spans.append((len(buf), len(buf) + len(tail)))
        buf += tail
    return buf, spans


def median_seconds(contenders: Dict[str, Callable[[], object]], repeat: int) -> Dict[str, float]:
    """Median wall time of each contender, run alternately (rotated order every round)."""
    times: Dict[str, List[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for round_ in range(repeat):
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            start = time.perf_counter()
            result = contenders[name]()
            times[name].append(time.perf_counter() - start)
            del result
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("/tmp/rugo-bench-batch"))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    gc.enable()
    print(f"python {sys.version.split()[0]}, pyarrow {pa.__version__}, gc on, median of {args.repeat}, "
          f"tails in one bytearray")
    header = f"{'lake':8} {'layout':>13} {'detail':>10} {'(a) dict':>11} {'(b) C':>10} {'(c) C+arrow':>12} " \
             f"{'a/b':>6} {'a/c':>6}"
    print(header)
    print("-" * len(header))
    for name, (files, columns, groups) in LAKES.items():
        buf, spans = read_tails(ensure_lake(args.root, name))
        for detail in DETAILS[1:]:
            level = DETAILS.index(detail)
            t = median_seconds({
                "a": lambda: parse_batch(buf, spans, detail),
                "b": lambda: _footer.parse_batch(buf, spans, level),
                "c": lambda: parse_batch_arrow(buf, spans, detail),
            }, args.repeat)
            us = {k: v / files * 1e6 for k, v in t.items()}
            print(f"{name:8} {f'{columns}c x {groups}rg':>13} {detail:>10} {us['a']:>9.1f}us {us['b']:>8.1f}us "
                  f"{us['c']:>10.1f}us {t['a'] / t['b']:>5.1f}x {t['a'] / t['c']:>5.1f}x")


if __name__ == "__main__":
    main()
