#!/usr/bin/env python3
"""Benchmark the scanner's tail loading: the old Python loop per file against ``_footer.load_tails``.

Usage: ``python scripts/bench_tails.py [--cache DIR] [--files N] [--batch 256] [--repeat 5]``

A lake of ``--files`` small Parquet files (5 columns, 1 row group, 100 rows) is generated
once into a cache directory. In one process, on the same files (warm in the page cache),
the contenders fill shared memory blocks the way the coordinator does, ``--batch`` files
per block, and the median of ``--repeat`` rounds (order alternated) is reported per file:

* ``python loop (main)``: the loader of ``scanner/shm.py`` before the tail planner, copied
  below: per file ``os.open``, ``os.preadv`` into the block, a struct look at the trailer,
  maybe a second ``preadv``, ``os.close`` (the region slicing the coordinator does included);
* ``load_tails``: one ``_footer.load_tails`` call per batch (the GIL released for the loop).

Every contender's bytes are checked equal before timing. The cyclic GC is on.
"""
from __future__ import annotations

import argparse
import gc
import os
import statistics
import struct
import sys
import time
from multiprocessing import shared_memory
from pathlib import Path
from typing import Callable, Dict, List, NamedTuple, Optional, Tuple

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from rugo import _footer  # noqa: E402

TAIL_BYTES = 64 * 1024
Spans = List[Tuple[int, int]]


# -- the loader as it was on main (scanner/shm.py before the tail planner), for comparison --

class OldLoad(NamedTuple):
    length: int = 0
    need: int = 0
    error_type: Optional[str] = None
    error: Optional[str] = None


_TRAILER = struct.Struct("<I4s")
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)


def old_load_file(path: str, size: int, region: memoryview) -> OldLoad:
    first = min(size, TAIL_BYTES)
    if first > len(region):
        return OldLoad(need=first)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        return OldLoad(error_type=type(exc).__name__, error=exc.strerror)
    try:
        got = _pread_into(fd, region, first, size - first)
        if got < first:
            return OldLoad(error_type="FileChanged", error="shrank")
        footer_end = _footer_end(region, first, size)
        if footer_end <= first:
            return OldLoad(length=first)
        if footer_end > len(region):
            return OldLoad(need=footer_end)
        got = _pread_into(fd, region, footer_end, size - footer_end)
        return OldLoad(length=footer_end) if got == footer_end else OldLoad(error_type="FileChanged")
    except OSError as exc:
        return OldLoad(error_type=type(exc).__name__, error=exc.strerror)
    finally:
        os.close(fd)


def _pread_into(fd: int, region: memoryview, n: int, offset: int) -> int:
    with region[:n] as view:
        done = os.preadv(fd, [view], offset)
    while 0 < done < n:
        with region[done:n] as view:
            got = os.preadv(fd, [view], offset + done)
        if got == 0:
            break
        done += got
    return done


def _footer_end(region: memoryview, length: int, size: int) -> int:
    if length < _TRAILER.size:
        return length
    footer_len, magic = _TRAILER.unpack_from(region, length - _TRAILER.size)
    needed = footer_len + _TRAILER.size
    return needed if magic == b"PAR1" and length < needed <= size else length


# -- the contenders: fill one block per batch, as the coordinator does -----------------------

def fill_per_file(load: Callable[[str, int, memoryview], object], paths: List[str], sizes: List[int],
                  buf: memoryview, batch: int) -> List[Spans]:
    batches = []
    for b in range(0, len(paths), batch):
        spans, offset = [], 0
        for i in range(b, min(b + batch, len(paths))):
            with buf[offset:] as region:
                got = load(paths[i], sizes[i], region)
            assert got.length and not got.need and got.error_type is None, got  # type: ignore[attr-defined]
            spans.append((offset, offset + got.length))  # type: ignore[attr-defined]
            offset += got.length  # type: ignore[attr-defined]
        batches.append(spans)
    return batches


def fill_batched(paths: List[str], sizes: List[int], buf: memoryview, batch: int) -> List[Spans]:
    batches = []
    for b in range(0, len(paths), batch):
        consumed, need, spans, status, errors = _footer.load_tails(paths[b:b + batch], sizes[b:b + batch], buf)
        assert consumed == len(paths[b:b + batch]) and not errors
        batches.append(spans)
    return batches


def make_lake(root: Path, files: int) -> List[str]:
    done = root / f".complete-{files}"
    paths = [str(root / f"part-{i:06d}.parquet") for i in range(files)]
    if done.exists():
        return paths
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i, path in enumerate(paths):
        table = pa.table({
            "id": pa.array(rng.integers(0, 10**9, 100)),
            "x": pa.array(rng.normal(size=100)),
            "name": pa.array([f"v{v}" for v in rng.integers(0, 1000, 100)]),
            "ts": pa.array(rng.integers(0, 2 * 10**15, 100), pa.timestamp("us")),
            "n": pa.array(rng.integers(-1000, 1000, 100, dtype=np.int32)),
        })
        pq.write_table(table, path)
        if i and i % 5000 == 0:
            print(f"  wrote {i} files", file=sys.stderr)
    done.touch()
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default="/tmp/rugo-bench-tails")
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    paths = make_lake(Path(args.cache), args.files)
    sizes = [os.stat(p).st_size for p in paths]
    shm = shared_memory.SharedMemory(create=True, size=args.batch * TAIL_BYTES)
    try:
        buf = shm.buf
        contenders: Dict[str, Callable[[], List[Spans]]] = {
            "python loop (main)": lambda: fill_per_file(old_load_file, paths, sizes, buf, args.batch),
            "load_tails": lambda: fill_batched(paths, sizes, buf, args.batch),
        }
        # same spans, same bytes (checked on the last batch, which stays in the block)
        reference = None
        for name, run in contenders.items():
            spans = run()
            last = bytes(buf[:spans[-1][-1][1]])
            assert reference is None or (spans, last) == reference, name
            reference = (spans, last)
        times: Dict[str, List[float]] = {name: [] for name in contenders}
        names = list(contenders)
        for r in range(args.repeat):
            for name in (names if r % 2 == 0 else names[::-1]):
                t0 = time.perf_counter()
                contenders[name]()
                times[name].append(time.perf_counter() - t0)
        del buf
    finally:
        shm.close()
        shm.unlink()

    print(f"{args.files} files ({statistics.median(sizes):.0f} bytes median), batches of {args.batch}, "
          f"GC {'on' if gc.isenabled() else 'off'}, median of {args.repeat}")
    base = statistics.median(times[names[0]])
    print(f"{'contender':<22}{'total ms':>10}{'µs/file':>10}{'speed-up':>10}")
    for name in names:
        t = statistics.median(times[name])
        print(f"{name:<22}{t * 1e3:>10.1f}{t / args.files * 1e6:>10.2f}{base / t:>9.2f}x")


if __name__ == "__main__":
    main()
