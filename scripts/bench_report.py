#!/usr/bin/env python3
"""Benchmark of the HTML report on a large catalogue: its size, the time to make it, and
the time a real browser (headless chromium) takes to render it.

Usage::

    python scripts/bench_report.py [--files 100000] [--small 2000] [--repeat 5] [--cache DIR]

The issue's targets (a benchmark, not a timed test): a report of a catalogue of at least
100,000 files renders in under 10 s in the browser the tests use, and the HTML file stays
under 5 MB. Side by side in one run, for scale: the same on a ``--small`` lake.

The lakes are hard links (fast to make, cached under ``--cache``) to 240 source files
written here with pyarrow: three years of ``year=/month=/day=`` hive partitions; sizes
from a few KiB to a few MiB (a wide spread for the size histograms); snappy, zstd, gzip
and uncompressed; row groups of several sizes; three schema versions (``score`` added in
2023, ``id`` widened to int64 in 2024), so the drift plot has something to show; and
0.5 % broken files (truncated, not Parquet at all), so the errors table is full.

Timed, each as the median of ``--repeat`` rounds:

* **make**: ``python -m scanner --from-index INDEX --report OUT`` as a whole process
  (interpreter start, reading the index, the report) against the same command without
  ``--report`` (the summary alone): the difference is what the report costs;
* **browser**: the page opened in headless chromium (selenium + chromedriver): the wall
  time of the navigation (``driver.get`` returns after the load event), and the page's own
  ``loadEventEnd`` from the Performance API.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parent.parent
SOURCES = 240


def source_table(rng: np.random.Generator, rows: int, year: int) -> pa.Table:
    """One source file's data; its schema depends on ``year`` (the drift)."""
    columns = {
        "id": pa.array(rng.integers(0, 1 << 30, rows), pa.int64() if year >= 2024 else pa.int32()),
        "name": pa.array([f"user-{i % 997}" for i in range(rows)]),
        "ts": pa.array(rng.integers(1_600_000_000_000, 1_700_000_000_000, rows), pa.timestamp("ms", "UTC")),
        "amount": pa.array(rng.normal(100, 30, rows)),
    }
    if year >= 2023:
        columns["score"] = pa.array(rng.random(rows).astype(np.float32))
    return pa.table(columns)


def ensure_sources(cache: Path) -> Dict[str, List[str]]:
    """The source files (written once into ``cache/sources``): per year, then the broken ones."""
    sources = cache / "sources"
    marker = sources / "_DONE"
    paths: Dict[str, List[str]] = {"2022": [], "2023": [], "2024": [], "broken": []}
    if marker.exists():
        return json.loads(marker.read_text())
    if sources.exists():
        shutil.rmtree(sources)
    sources.mkdir(parents=True)
    rng = np.random.default_rng(11)
    codecs = ["snappy", "zstd", "gzip", "none"]
    print(f"writing {SOURCES} source files in {sources} ...", file=sys.stderr, flush=True)
    for i in range(SOURCES):
        year = 2022 + i % 3
        rows = int(np.exp(rng.uniform(np.log(50), np.log(150_000))))
        path = sources / f"source-{i:03d}.parquet"
        pq.write_table(source_table(rng, rows, year), path, compression=codecs[i % 4],
                       row_group_size=max(1000, rows // int(rng.integers(1, 8))))
        paths[str(year)].append(os.fspath(path))
    good = Path(paths["2024"][0]).read_bytes()
    (sources / "truncated.parquet").write_bytes(good[: len(good) // 2])
    (sources / "export.csv").write_bytes(b"id,name\n1,a\n")
    paths["broken"] = [os.fspath(sources / "truncated.parquet"), os.fspath(sources / "export.csv")]
    marker.write_text(json.dumps(paths))
    return paths


def ensure_lake(cache: Path, files: int) -> Path:
    """A lake of ``files`` hard links to the source files (cached): ``files / 1008`` per day
    of three years, 1 in 200 broken."""
    root = cache / f"lake-{files}"
    marker = root / "_GENERATED"
    if marker.exists() and json.loads(marker.read_text()).get("files") == files:
        return root
    if root.exists():
        shutil.rmtree(root)
    paths = ensure_sources(cache)
    print(f"linking {files:,} files in {root} ...", file=sys.stderr, flush=True)
    days = 3 * 12 * 28
    per_day = max(1, files // days)
    for i in range(files):
        day_index = min(i // per_day, days - 1)
        year, month, day = 2022 + day_index // (12 * 28), day_index // 28 % 12 + 1, day_index % 28 + 1
        directory = root / f"year={year}" / f"month={month:02d}" / f"day={day:02d}"
        directory.mkdir(parents=True, exist_ok=True)
        same_year = paths[str(year)]
        target = paths["broken"][i % 2] if i % 200 == 199 else same_year[i % len(same_year)]
        os.link(target, directory / f"part-{i:07d}.parquet")
    marker.write_text(json.dumps({"files": files}))
    return root


def run(argv: List[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1200,900"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))


def measure_browser(driver, page: Path, repeat: int) -> Dict[str, float]:
    walls, loads = [], []
    for _ in range(repeat):
        driver.get("about:blank")
        start = time.perf_counter()
        driver.get(page.as_uri())  # returns once the load event has fired
        walls.append(time.perf_counter() - start)
        loads.append(driver.execute_script(
            "return performance.getEntriesByType('navigation')[0].loadEventEnd") / 1000)
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        if errors:
            raise RuntimeError(f"console errors in {page}: {errors}")
        plots = driver.execute_script("return document.querySelectorAll('figure.plot svg').length")
        if plots != 6:
            raise RuntimeError(f"{page}: {plots} plots rendered, expected 6")
    return {"wall": statistics.median(walls), "load": statistics.median(loads)}


def main(argv: List[str] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/rugo-bench-report"))
    args = parser.parse_args(argv)
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        print("needs chromium and chromedriver (apt-get install chromium chromium-driver)", file=sys.stderr)
        return 2
    out = args.cache / "out"
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    driver = browser()
    try:
        for files in (args.small, args.files):
            lake = ensure_lake(args.cache, files)
            index, report = out / f"index-{files}.parquet", out / f"report-{files}.html"
            if not index.exists():
                print(f"scanning {lake} ...", file=sys.stderr, flush=True)
                subprocess.run([sys.executable, "-m", "scanner", os.fspath(lake), "-o", os.fspath(index), "--force",
                                "--full", "--no-progress"], check=True, cwd=REPO, stdout=subprocess.DEVNULL)
            summary_only = [sys.executable, "-m", "scanner", "--from-index", os.fspath(index)]
            with_report = summary_only + ["--report", os.fspath(report)]
            plain, made = [], []
            for _ in range(args.repeat):  # alternated, so that drift in machine load hits both
                plain.append(run(summary_only))
                made.append(run(with_report))
            timing = measure_browser(driver, report, args.repeat)
            rows.append({"files": files, "html_bytes": report.stat().st_size, "summary_s": statistics.median(plain),
                         "with_report_s": statistics.median(made), **timing})
    finally:
        driver.quit()
    print(f"\npython {sys.version.split()[0]}, {os.cpu_count()} cores, medians of {args.repeat}\n")
    print("| files | HTML | summary only | summary + report | report's cost | browser: navigation | load event |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['files']:,} | {r['html_bytes'] / 1e6:.2f} MB | {r['summary_s']:.2f} s | {r['with_report_s']:.2f} s "
              f"| {r['with_report_s'] - r['summary_s']:.2f} s | {r['wall']:.3f} s | {r['load']:.3f} s |")
    small, large = rows
    print(f"\n{large['files']:,} against {small['files']:,} files: HTML {large['html_bytes'] / small['html_bytes']:.2f}x, "
          f"browser load {large['load'] / small['load']:.2f}x, report's cost "
          f"{(large['with_report_s'] - large['summary_s']) / max(small['with_report_s'] - small['summary_s'], 1e-9):.2f}x")
    verdict = lambda ok: "PASS" if ok else "FAIL"  # noqa: E731
    print(f"target: browser render < 10 s at {large['files']:,} files: {large['wall']:.3f} s "
          f"{verdict(large['wall'] < 10)}; HTML < 5 MB: {large['html_bytes'] / 1e6:.2f} MB "
          f"{verdict(large['html_bytes'] < 5e6)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
