#!/usr/bin/env python3
"""Benchmark the scanner on remote data: a local S3 server and a local HTTP server, 20 ms away.

Usage: ``python scripts/bench_remote.py [--files N] [--latency SECONDS] [--sample N] [--duckdb PYTHON]``

``--files`` small Parquet files (5 columns, 1 row group, hive-partitioned by day) are
generated in memory and served twice, with ``--latency`` (default 20 ms) added to every
request:

* **S3**: a moto server (``python -m moto.server``, real S3 on the wire) behind a TCP proxy
  written here that delays every chunk a client sends by the latency (without holding up
  the chunks after it: pure latency, no bandwidth cap); requests are counted in moto's
  access log.
* **HTTP**: the Range HTTP server of the test suite (``tests/servers.py``), which sleeps
  the latency in each request's handler; it logs every request.

Contenders, each in its own way of reading every file's footer:

* ``scanner``: ``build_catalogue(prefix or URL list)`` with the default concurrency and
  workers (listing and worker start-up included), and ``scanner + hints``: the same with
  the first run's index as ``index_hints`` (one exact request per object);
* ``rugo loop``: ``rugo.parquet.read_metadata(url)`` one file after the other;
* ``pyarrow loop``: ``pq.read_metadata(path, filesystem=fs)`` over s3fs / fsspec HTTP, one
  file after the other (what people write today);
* ``duckdb``: ``parquet_metadata('s3://.../**/*.parquet')`` (or the URL list) through
  httpfs. duckdb here (2.0.1) cannot download its httpfs extension (no network); PyPI's
  ``duckdb-ext-httpfs`` exists only for duckdb 1.4.4, so duckdb runs in another
  interpreter where that pair is installed (``--duckdb PYTHON``, default
  ``/tmp/duck144/bin/python``), as a subprocess timing its own query; skipped with a
  message when that interpreter is missing.

The serial loops run on the first ``--sample`` files (default 200) and their files/s are
reported as measured: a loop's rate does not depend on how many files follow. Scanner runs
are repeated ``--repeat`` times (median); the others run once. Ratios are files/s of the
scanner over each contender. Target of the issue: scanner >= 5x the files/s of the serial
pyarrow loop at 20 ms.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import io
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]
import fsspec  # noqa: E402
import s3fs  # noqa: E402

import rugo.parquet as pm  # noqa: E402
from scanner import build_catalogue  # noqa: E402
from servers import MotoS3Server, RangeHTTPServer  # noqa: E402

BUCKET = "bench"
PREFIX = "lake"


# --------------------------------------------------------------------------- data


def make_files(count: int) -> Dict[str, bytes]:
    """``count`` small Parquet files (5 columns, 1 row group of 100 rows), by key."""
    rng = np.random.default_rng(7)
    files = {}
    for i in range(count):
        table = pa.table({
            "id": pa.array(np.arange(i * 100, (i + 1) * 100)),
            "value": pa.array(rng.normal(size=100)),
            "name": pa.array([f"n{v}" for v in rng.integers(0, 1000, 100)]),
            "ts": pa.array(rng.integers(0, 2 * 10**15, 100), pa.timestamp("us")),
            "small": pa.array(rng.integers(-1000, 1000, 100, dtype=np.int32)),
        })
        buf = io.BytesIO()
        pq.write_table(table, buf)
        files[f"{PREFIX}/day={i % 20:02d}/part-{i:05d}.parquet"] = buf.getvalue()
    return files


# --------------------------------------------------------------------------- latency proxy


class LatencyProxy:
    """A TCP proxy on 127.0.0.1 that delivers what clients send ``latency`` seconds late.

    Each chunk is due ``latency`` after it arrived and chunks keep their order, so every
    request (its bytes travel together) arrives that much later and nothing else is slowed.
    """

    def __init__(self, upstream_port: int, latency: float) -> None:
        self.upstream_port = upstream_port
        self.latency = latency
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._server: Any = None
        self.port = 0

    def __enter__(self) -> "LatencyProxy":
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", 0), self.loop).result()
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.close()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        await asyncio.gather(self._delayed(reader, up_writer), self._plain(up_reader, writer),
                             return_exceptions=True)
        for w in (writer, up_writer):
            w.close()

    async def _delayed(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        chunks: asyncio.Queue = asyncio.Queue()

        async def read() -> None:
            while True:
                data = await src.read(65536)
                await chunks.put((self.loop.time() + self.latency, data))
                if not data:
                    return

        async def write() -> None:
            while True:
                due, data = await chunks.get()
                await asyncio.sleep(max(0.0, due - self.loop.time()))
                if not data:
                    dst.close()
                    return
                dst.write(data)
                await dst.drain()

        await asyncio.gather(read(), write())

    async def _plain(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        while True:
            data = await src.read(65536)
            if not data:
                dst.close()
                return
            dst.write(data)
            await dst.drain()


# --------------------------------------------------------------------------- request counts


class S3Requests:
    """Requests moto logged for the benchmark's objects, and its listings."""

    _OBJECT = re.compile(rf'"(GET|HEAD) /{BUCKET}/{PREFIX}/[^ ?]*\.parquet[^ ]* HTTP')
    _LIST = re.compile(rf'"GET /{BUCKET}(/)?\?[^ ]*list-type=2')

    def __init__(self, server: MotoS3Server) -> None:
        self.server = server
        self.mark = 0

    def start(self) -> None:
        self.mark = self._size()

    def counts(self) -> Tuple[int, int]:
        """(object requests, listing requests) since :meth:`start`."""
        time.sleep(0.2)  # the access log is written after the response
        with open(self.server.log_path, "rb") as f:
            f.seek(self.mark)
            text = re.sub(r"\x1b\[[0-9;]*m", "", f.read().decode(errors="replace"))
        return len(self._OBJECT.findall(text)), len(self._LIST.findall(text))

    def _size(self) -> int:
        return os.path.getsize(self.server.log_path)


class HTTPRequests:
    def __init__(self, server: RangeHTTPServer) -> None:
        self.server = server
        self.mark = 0

    def start(self) -> None:
        self.mark = len(self.server.log)

    def counts(self) -> Tuple[int, int]:
        return len(self.server.log) - self.mark, 0


# --------------------------------------------------------------------------- contenders


class Result:
    def __init__(self, name: str, files: int, seconds: float, requests: int, listings: int,
                 note: str = "") -> None:
        self.name, self.files, self.seconds = name, files, seconds
        self.requests, self.listings, self.note = requests, listings, note

    @property
    def rate(self) -> float:
        return self.files / self.seconds


def measure(name: str, files: int, run: Callable[[], Any], counter: Any, repeat: int = 1) -> Result:
    """Median wall time of ``run`` over ``repeat`` rounds; requests counted in the last."""
    times = []
    for _ in range(repeat):
        counter.start()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    requests, listings = counter.counts()
    return Result(name, files, statistics.median(times), requests, listings)


def scanner_runs(target: Any, count: int, counter: Any, storage_options: Optional[dict], repeat: int,
                 tmp: Path) -> List[Result]:
    index = tmp / "index.parquet"

    def plain() -> None:
        cat = build_catalogue(target, progress=False, storage_options=storage_options)
        failed = int((cat.files["status"] != "ok").sum())
        assert len(cat.files) == count and not failed, (len(cat.files), failed)
        cat.write(index)

    def hinted() -> None:
        cat = build_catalogue(target, progress=False, storage_options=storage_options, index_hints=index)
        assert len(cat.files) == count and (cat.files["status"] == "ok").all()

    return [measure("scanner", count, plain, counter, repeat),
            measure("scanner + hints", count, hinted, counter, repeat)]


def serial_runs(urls: List[str], counter: Any, pyarrow_fs: Any, path_of: Callable[[str], str],
                storage_options: Optional[dict]) -> List[Result]:
    def rugo_loop() -> None:
        for url in urls:
            pm.read_metadata(url, storage_options=storage_options)

    def pyarrow_loop() -> None:
        for url in urls:
            pq.read_metadata(path_of(url), filesystem=pyarrow_fs)

    return [measure("rugo loop", len(urls), rugo_loop, counter),
            measure("pyarrow loop", len(urls), pyarrow_loop, counter)]


DUCKDB_SCRIPT = r"""
import json, sys, time, duckdb, glob
settings, source = json.loads(sys.argv[1]), json.loads(sys.argv[2])
con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
ext = glob.glob(sys.prefix + "/lib/python*/site-packages/duckdb_ext/extensions/*/*/httpfs.duckdb_extension")
con.execute(f"LOAD '{ext[0]}'")
con.execute("SET enable_progress_bar = false")
for key, value in settings.items():
    con.execute(f"SET {key} = '{value}'")
start = time.perf_counter()
rows = con.execute("SELECT * FROM parquet_metadata(?)", [source]).fetchall()
print(json.dumps({"seconds": time.perf_counter() - start, "files": len({r[0] for r in rows}),
                  "version": duckdb.__version__}))
"""


def duckdb_run(python: str, settings: Dict[str, str], source: Any, count: int, counter: Any) -> Result:
    counter.start()
    out = subprocess.run([python, "-c", DUCKDB_SCRIPT, json.dumps(settings), json.dumps(source)],
                         capture_output=True, text=True, timeout=600)
    if out.returncode:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "duckdb failed")
    answer = json.loads(out.stdout)
    requests, listings = counter.counts()
    assert answer["files"] == count, answer
    return Result(f"duckdb {answer['version']}", count, answer["seconds"], requests, listings)


# --------------------------------------------------------------------------- report


def report(title: str, results: List[Result], latency: float) -> None:
    scanner = results[0]
    print(f"\n{title}, {latency * 1000:.0f} ms per request")
    header = (f"{'contender':18} {'files':>6} {'seconds':>8} {'files/s':>8} {'req/file':>8} {'listings':>8} "
              f"{'scanner x':>9}")
    print(header)
    print("-" * len(header))
    for r in results:
        ratio = scanner.rate / r.rate
        print(f"{r.name:18} {r.files:>6} {r.seconds:>8.2f} {r.rate:>8.1f} {r.requests / r.files:>8.2f} "
              f"{r.listings:>8} {ratio:>8.1f}x" + (f"  {r.note}" if r.note else ""))


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000, help="files to generate and scan (default 2000)")
    parser.add_argument("--latency", type=float, default=0.020, help="seconds added per request (default 0.020)")
    parser.add_argument("--sample", type=int, default=200, help="files the serial loops read (default 200)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of each scanner run (median; default 3)")
    parser.add_argument("--duckdb", default="/tmp/duck144/bin/python",
                        help="python with duckdb 1.4.4 + duckdb-ext-httpfs (default /tmp/duck144/bin/python)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    print(f"generating {args.files} files ...", file=sys.stderr)
    files = make_files(args.files)
    keys = sorted(files)
    sample = keys[: args.sample]
    have_duckdb = os.path.exists(args.duckdb)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, gc {'on' if gc.isenabled() else 'off'}, "
          f"{args.files} files of {sum(map(len, files.values())) // args.files:,} bytes (5 columns, 1 row group), "
          f"load average {os.getloadavg()[0]:.2f} before the run")
    print(f"scanner: default concurrency and workers; scanner runs median of {args.repeat}; serial loops on the "
          f"first {args.sample} files; others once")
    with tempfile.TemporaryDirectory() as tmp, MotoS3Server(Path(tmp) / "moto.log") as moto:
        tmp_path = Path(tmp)
        fs = s3fs.S3FileSystem(**moto.storage_options, skip_instance_cache=True)
        fs.mkdir(BUCKET)
        print("uploading to moto ...", file=sys.stderr)
        fs.pipe({f"{BUCKET}/{key}": data for key, data in files.items()})
        with LatencyProxy(moto.port, args.latency) as proxy:
            endpoint = f"http://127.0.0.1:{proxy.port}"
            options = {"key": "testing", "secret": "testing",
                       "client_kwargs": {"endpoint_url": endpoint, "region_name": "eu-west-1"}}
            counter = S3Requests(moto)
            print("S3 ...", file=sys.stderr)
            results = scanner_runs(f"s3://{BUCKET}/{PREFIX}/", args.files, counter, options, args.repeat, tmp_path)
            urls = [f"s3://{BUCKET}/{key}" for key in sample]
            results += serial_runs(urls, counter, s3fs.S3FileSystem(**options, skip_instance_cache=True),
                                   lambda url: url[len("s3://"):], options)
            if have_duckdb:
                settings = {"s3_endpoint": f"127.0.0.1:{proxy.port}", "s3_use_ssl": "false",
                            "s3_url_style": "path", "s3_region": "eu-west-1", "s3_access_key_id": "testing",
                            "s3_secret_access_key": "testing"}
                results.append(duckdb_run(args.duckdb, settings, f"s3://{BUCKET}/{PREFIX}/**/*.parquet",
                                          args.files, counter))
        report("S3 (moto behind a latency proxy)", results, args.latency)
        if not have_duckdb:
            print(f"duckdb: skipped: {args.duckdb} not found (python -m venv /tmp/duck144 && "
                  "/tmp/duck144/bin/pip install duckdb==1.4.4 duckdb-ext-httpfs)")

    with RangeHTTPServer({"/" + key: data for key, data in files.items()}, latency=args.latency) as http:
        counter = HTTPRequests(http)
        print("HTTP ...", file=sys.stderr)
        all_urls = [f"{http.url}/{key}" for key in keys]
        with tempfile.TemporaryDirectory() as tmp:
            results = scanner_runs(all_urls, args.files, counter, None, args.repeat, Path(tmp))
        sample_urls = all_urls[: args.sample]
        results += serial_runs(sample_urls, counter, fsspec.filesystem("http", skip_instance_cache=True),
                               lambda url: url, None)
        if have_duckdb:
            results.append(duckdb_run(args.duckdb, {}, sample_urls, len(sample_urls), counter))
            results[-1].note = f"(first {len(sample_urls)} URLs)"
        report("HTTP (Range server, latency in the handler)", results, args.latency)
    print(f"\ntarget: scanner >= 5x the files/s of the serial pyarrow loop at 20 ms; "
          f"benchmark took {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
