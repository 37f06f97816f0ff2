#!/usr/bin/env python3
"""Generate a small, realistic example lake for ``python -m scanner``.

Usage: ``python scripts/make_example_lake.py DIR [--seed N]``

In a couple of seconds DIR gets (deterministic for a given seed):

* ``events/year=YYYY/month=MM/part-N.parquet``: hive partitions, nested types
  (struct, list, map), timestamps, decimals, dictionary strings; the schema drifts:
  from 2024-03 on a ``country`` column is added, and one file has ``amount`` as double;
* ``users/region=XX/users.parquet``: another schema, with a page index and a bloom filter;
* ``metrics/``: many row groups, zstd, files written without statistics;
* things a scan must survive: a truncated file, a file with a garbled footer, an empty
  file, a CSV file, a file whose footer is encrypted (``PARE``), and files a dataset
  reader skips (``_SUCCESS``, ``.part-0.parquet.crc``, ``_temporary/``).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
from decimal import Decimal
from pathlib import Path
from typing import Dict, Optional

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)


def events_table(rng: np.random.Generator, rows: int, month: int, *, with_country: bool,
                 amount_as_double: bool) -> pa.Table:
    """Click-stream events of one month; the schema depends on the flags (drift)."""
    start = EPOCH.replace(month=month)
    seconds = np.sort(rng.integers(0, 28 * 86400, rows))
    cents = rng.integers(0, 1_000_000, rows)
    amount = (pa.array(cents / 100.0) if amount_as_double else
              pa.array([Decimal(int(c)).scaleb(-2) for c in cents], pa.decimal128(12, 2)))
    columns: Dict[str, pa.Array] = {
        "event_id": pa.array(np.arange(rows, dtype=np.int64) + month * 10_000_000),
        "ts": pa.array([start + dt.timedelta(seconds=int(s)) for s in seconds],
                       pa.timestamp("us", tz="UTC")),
        "user_id": pa.array(rng.integers(1, 5000, rows, dtype=np.int32)),
        "kind": pa.array(rng.choice(["view", "click", "buy", "refund"], rows)).dictionary_encode(),
        "amount": amount,
        "device": pa.array([{"os": rng.choice(["ios", "android", "web"]), "version": int(v)}
                            for v in rng.integers(1, 20, rows)]),
        "tags": pa.array([list(rng.choice(["a", "b", "c", "d"], int(n))) or None
                          for n in rng.integers(0, 4, rows)], pa.list_(pa.string())),
        "props": pa.array([[("k", str(v))] for v in rng.integers(0, 9, rows)],
                          pa.map_(pa.string(), pa.string())),
    }
    if with_country:
        columns["country"] = pa.array(rng.choice(["DE", "FR", "US", None], rows))
    return pa.table(columns)


def users_table(rng: np.random.Generator, rows: int, region: str) -> pa.Table:
    """A user dimension table."""
    return pa.table({
        "user_id": pa.array(np.arange(1, rows + 1, dtype=np.int32)),
        "name": pa.array([f"user-{region}-{i:05d}" for i in range(rows)]),
        "signup": pa.array([dt.date(2020, 1, 1) + dt.timedelta(days=int(d))
                            for d in rng.integers(0, 1500, rows)], pa.date32()),
        "score": pa.array(rng.normal(50, 15, rows)),
        "active": pa.array(rng.random(rows) < 0.8),
        "uuid": pa.array([bytes(rng.integers(0, 256, 16, dtype=np.uint8)) for _ in range(rows)],
                         pa.binary(16)),
    })


def metrics_table(rng: np.random.Generator, rows: int) -> pa.Table:
    """Narrow sensor readings."""
    return pa.table({
        "sensor": pa.array(rng.integers(0, 100, rows, dtype=np.int16)),
        "t": pa.array(np.arange(rows, dtype=np.int64) * 1000, pa.timestamp("ms")),
        "value": pa.array(rng.normal(0, 1, rows).astype(np.float32)),
    })


def write(table: pa.Table, path: Path, metadata: Optional[Dict[str, str]] = None, **options) -> Path:
    """Write ``table`` to ``path`` (parents created), with extra key/value metadata."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = dict(table.schema.metadata or {})
    meta.update({k.encode(): v.encode() for k, v in (metadata or {}).items()})
    pq.write_table(table.replace_schema_metadata(meta), path, **options)
    return path


def add_broken_files(root: Path, good: Path) -> None:
    """Files every scan meets sooner or later."""
    data = good.read_bytes()
    broken = root / "broken"
    broken.mkdir()
    (broken / "truncated.parquet").write_bytes(data[: len(data) // 2])
    garbled = bytearray(data)
    footer_len = int.from_bytes(data[-8:-4], "little")
    start = len(data) - 8 - footer_len
    garbled[start:start + 64] = b"\xff" * 64  # no valid Thrift field header
    (broken / "garbled-footer.parquet").write_bytes(bytes(garbled))
    (broken / "empty.parquet").write_bytes(b"")
    (broken / "export.csv").write_text("id,name\n1,a\n2,b\n")
    (broken / "encrypted-footer.parquet").write_bytes(b"PARE" + data[4:-4] + b"PARE")
    # what a dataset reader skips
    (root / "events" / "_SUCCESS").write_bytes(b"")
    (root / "events" / ".part-0.parquet.crc").write_bytes(b"crc")
    temporary = root / "events" / "_temporary" / "0"
    temporary.mkdir(parents=True)
    shutil.copy(good, temporary / "part-0.parquet")


def make_lake(root: Path, seed: int = 7) -> int:
    """Write the example lake into ``root`` (emptied first); return the files written."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    origin = {"origin": "scripts/make_example_lake.py"}
    first = None
    for year, month in [(2024, m) for m in range(1, 7)]:
        for part in range(3):
            table = events_table(rng, int(rng.integers(2_000, 6_000)), month,
                                 with_country=month >= 3,
                                 amount_as_double=(month, part) == (5, 1))
            path = write(table, root / "events" / f"year={year}" / f"month={month:02d}" / f"part-{part}.parquet",
                         origin, row_group_size=2_000, compression="snappy")
            first = first or path
    for region in ("eu", "us", "apac"):
        write(users_table(rng, 3_000, region), root / "users" / f"region={region}" / "users.parquet",
              origin, write_page_index=True, bloom_filter_options={"user_id": {"ndv": 3_000}},
              compression="zstd")
    for day in range(1, 5):
        write(metrics_table(rng, 20_000), root / "metrics" / f"day=2024-06-{day:02d}" / "metrics.parquet",
              origin, row_group_size=2_500, compression="zstd", write_statistics=day != 4)
    add_broken_files(root, first)
    return sum(len(files) for _, _, files in os.walk(root))


def main(argv: Optional[list] = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path, help="where to write the lake (emptied first)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    args = parser.parse_args(argv)
    count = make_lake(args.directory, args.seed)
    print(f"wrote {count} files to {args.directory}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
