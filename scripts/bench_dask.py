#!/usr/bin/env python3
"""Benchmark scans on dask.distributed against the local engine, side by side in one run.

Usage::

    python scripts/bench_dask.py [--files 100000] [--objects 2000] [--latency 0.05]
                                 [--concurrency 8] [--repeat 3] [--cache DIR]

The issue's targets (a benchmark, not a timed test):

1. **Local lake, the cost of going through dask.** ``build_catalogue(LAKE)`` (the local
   engine: coordinator and worker processes) against ``build_catalogue(LAKE,
   executor=client.get_executor())`` on a ``LocalCluster(n_workers=2, threads_per_worker=1)``
   started beforehand (its start-up is not timed; it is paid once per cluster, not per
   scan), on ``scripts/bench_cli.py``'s lake of ``--files`` small files. Target: dask
   takes at most 1.3x the local engine's time. Rounds alternate the two; medians.
2. **Remote lake, scaling with workers.** ``--objects`` small Parquet objects in a moto S3
   server behind ``scripts/bench_remote.py``'s latency proxy (``--latency`` on every
   request), scanned (listing included) on LocalClusters of 1, 2 and 4 workers of one
   thread, each task keeping ``--concurrency`` requests in flight. Target: objects per
   second grow at least 1.7x per doubling of workers: latency, not CPU, is the limit.

Both runs check that the dask catalogue has every file, ok.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "scripts"), str(REPO / "tests")]

from bench_cli import ensure_lake  # noqa: E402
from bench_remote import BUCKET, PREFIX, LatencyProxy, make_files  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402
from servers import MotoS3Server  # noqa: E402

from scanner import build_catalogue  # noqa: E402


def timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def cluster(workers: int) -> LocalCluster:
    return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0")


def local_lake(args: argparse.Namespace) -> Dict[str, float]:
    lake = os.fspath(ensure_lake(args.cache, args.files))
    print(f"local lake: {lake}", file=sys.stderr, flush=True)
    build_catalogue(lake, progress=False)  # warm the page cache
    here: List[float] = []
    spread: List[float] = []
    with cluster(2) as dask_cluster, Client(dask_cluster) as client:
        executor = client.get_executor()
        catalogue = build_catalogue(lake, progress=False, executor=executor)
        assert len(catalogue.files) == args.files and (catalogue.files["status"] == "ok").all()
        for _ in range(args.repeat):
            here.append(timed(lambda: build_catalogue(lake, progress=False)))
            spread.append(timed(lambda: build_catalogue(lake, progress=False, executor=executor)))
    return {"local": statistics.median(here), "dask": statistics.median(spread)}


def remote_lake(args: argparse.Namespace) -> Dict[int, float]:
    import s3fs

    files = make_files(args.objects)
    rates: Dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp, MotoS3Server(Path(tmp) / "moto.log") as moto:
        fs = s3fs.S3FileSystem(**moto.storage_options, skip_instance_cache=True)
        fs.mkdir(BUCKET)
        print(f"uploading {len(files):,} objects to moto ...", file=sys.stderr, flush=True)
        for key, data in files.items():
            fs.pipe(f"{BUCKET}/{key}", data)
        with LatencyProxy(moto.port, args.latency) as proxy:
            options = {**moto.storage_options,
                       "client_kwargs": {**moto.storage_options["client_kwargs"],
                                         "endpoint_url": f"http://127.0.0.1:{proxy.port}"}}
            for workers in (1, 2, 4):
                with cluster(workers) as dask_cluster, Client(dask_cluster) as client:
                    executor = client.get_executor()
                    times = []
                    for _ in range(args.repeat):
                        start = time.perf_counter()
                        catalogue = build_catalogue(f"s3://{BUCKET}/{PREFIX}/", progress=False, executor=executor,
                                                    storage_options=options, concurrency=args.concurrency)
                        times.append(time.perf_counter() - start)
                        assert len(catalogue.files) == args.objects and (catalogue.files["status"] == "ok").all()
                rates[workers] = args.objects / statistics.median(times)
                print(f"  {workers} workers: {rates[workers]:,.0f} objects/s", file=sys.stderr, flush=True)
    return rates


def main(argv: List[str] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--objects", type=int, default=2_000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/rugo-bench-cli"))
    parser.add_argument("--skip-local", action="store_true")
    parser.add_argument("--skip-remote", action="store_true")
    args = parser.parse_args(argv)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, medians of {args.repeat}\n")
    verdict = lambda ok: "PASS" if ok else "FAIL"  # noqa: E731
    if not args.skip_local:
        local = local_lake(args)
        ratio = local["dask"] / local["local"]
        print(f"| local lake, {args.files:,} files | local engine | dask, 2 workers x 1 thread | dask / local |")
        print("|---|---:|---:|---:|")
        print(f"| seconds | {local['local']:.2f} s | {local['dask']:.2f} s | {ratio:.2f}x |")
        print(f"target: dask <= 1.3x local: {ratio:.2f}x {verdict(ratio <= 1.3)}\n")
    if not args.skip_remote:
        rates = remote_lake(args)
        print(f"| remote lake, {args.objects:,} objects, {args.latency * 1000:.0f} ms, {args.concurrency} in flight "
              "per task | objects/s | vs half the workers |")
        print("|---|---:|---:|")
        for workers, rate in rates.items():
            gain = "" if workers == 1 else f"{rate / rates[workers // 2]:.2f}x"
            print(f"| {workers} workers | {rate:,.0f} | {gain} |")
        gains = [rates[w] / rates[w // 2] for w in (2, 4)]
        print(f"target: >= 1.7x per doubling: {', '.join(f'{g:.2f}x' for g in gains)} "
              f"{verdict(all(g >= 1.7 for g in gains))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
