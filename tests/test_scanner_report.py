"""The HTML report: what it holds, that it is self-contained and small, and that it renders
in a real browser (Debian's chromium through selenium; .ci/run installs it).

The browser tests keep a full-page screenshot in ``$RUGO_TEST_ARTIFACTS`` (default
``test-artifacts/``) for a person to look at; with ``RUGO_UPDATE_DOCS=1`` they also write the
README's ``docs/report.png``.
"""
from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from scanner import Catalogue, HealthRules, ScanError, build_catalogue
from scanner.__main__ import main
from scanner.report import GENERATOR, is_report, render
from scanner.report.groups import MAX_GROUPS, groups
from scanner_helpers import REPO

PLOTS = ["file-sizes", "growth", "row-groups", "mix", "drift", "footers"]
ARTIFACTS = Path(os.environ.get("RUGO_TEST_ARTIFACTS", REPO / "test-artifacts"))


def _example_lake(root: Path) -> Path:
    """The README's example lake: 25 ok files in five schema versions, 5 broken files."""
    spec = importlib.util.spec_from_file_location("make_example_lake", REPO / "scripts" / "make_example_lake.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.make_lake(root)
    return root


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Tuple[Path, Catalogue]:
    root = _example_lake(tmp_path_factory.mktemp("report") / "lake")
    return root, build_catalogue([str(root)], workers=1, progress=False)


def _drift_lake(root: Path) -> Dict[str, object]:
    """``year=2023``: (id int32, name); ``year=2024``: id widened to int64, ``score`` added;
    one broken file, one file not Parquet at all."""
    for year, month in ((2023, m) for m in range(1, 4)):
        table = pa.table({"id": pa.array([1, 2, 3], pa.int32()), "name": ["a", "b", "c"]})
        path = root / f"year={year}" / f"month={month}" / "part-0.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path, compression="snappy")
    for month in range(1, 3):
        table = pa.table({"id": pa.array([4, 5], pa.int64()), "name": ["d", "e"], "score": [0.5, 1.5]})
        path = root / "year=2024" / f"month={month}" / "part-0.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path, compression="zstd", row_group_size=1)
    good = (root / "year=2023" / "month=1" / "part-0.parquet").read_bytes()
    (root / "year=2024" / "month=2" / "truncated.parquet").write_bytes(good[: len(good) // 2])
    (root / "year=2024" / "month=2" / "notes.csv").write_bytes(b"a,b\n1,2\n")
    return {"ok": 5, "failed": 2, "broken": ["truncated.parquet", "notes.csv"],
            "changes": {("id", "type_changed"), ("score", "added")}}


class _Page(HTMLParser):
    """Elements of a report page: tags counted, table rows per table id, links collected."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: Dict[str, int] = {}
        self.links: List[str] = []
        self.table_rows: Dict[str, int] = {}
        self._table = None
        self._in_body = False
        self.plots: List[str] = []

    def handle_starttag(self, tag: str, attrs: List[Tuple[str, object]]) -> None:
        attributes = dict(attrs)
        self.tags[tag] = self.tags.get(tag, 0) + 1
        for name in ("src", "href", "xlink:href", "action", "data"):
            if name in attributes:
                self.links.append(str(attributes[name]))
        if tag == "table":
            self._table = attributes.get("id")
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body and self._table:
            self.table_rows[self._table] = self.table_rows.get(self._table, 0) + 1
        elif tag == "figure" and "plot" in str(attributes.get("class")):
            self.plots.append(str(attributes.get("id")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_body = False


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _self_contained(page: _Page, html: str) -> None:
    assert "<script" not in html.lower()
    assert page.tags.get("link", 0) == 0 and page.tags.get("img", 0) == 0 and page.tags.get("iframe", 0) == 0
    # only references inside the page (an SVG's own clip paths and patterns) or inline images
    assert all(link.startswith(("#", "data:image/png;base64,")) for link in page.links), \
        [link[:60] for link in page.links if not link.startswith(("#", "data:"))]
    assert not re.search(r"url\((?!#)", html), "a CSS url() to outside the page"


def test_report_shows_drift_and_broken_files(tmp_path: Path) -> None:
    expected = _drift_lake(tmp_path / "lake")
    catalogue = build_catalogue([str(tmp_path / "lake")], workers=1, progress=False)
    path = catalogue.report(tmp_path / "report.html")
    html = Path(path).read_text(encoding="utf-8")
    page = _parse(html)
    assert page.plots == [f"plot-{name}" for name in PLOTS]
    assert html.count('<svg role="img"') == len(PLOTS)
    _self_contained(page, html)
    # the errors: every broken file, by name, with its error type
    assert page.table_rows["table-errors"] == expected["failed"]
    for name in expected["broken"]:
        assert name in html
    assert "NotParquetError" in html
    # the drift: the versions and the changes, as the catalogue's own answers have them
    changes = catalogue.schema_drift()
    assert {(r.column, r.change) for r in changes.itertuples()} == expected["changes"]
    assert page.table_rows["table-changes"] == len(changes)
    assert "type changed (widening)" in html and "int32" in html and "int64" in html
    assert page.table_rows["table-versions"] == 2
    assert "year=2024/month=1" in html  # where the new version first appears
    # the cards
    assert re.search(r'<div class="label">Failed</div><div class="value">2</div>', html)
    assert re.search(r'<div class="label">Schema versions</div><div class="value">2</div>', html)
    assert re.search(r'<div class="label">Partitions</div><div class="value">5</div>', html)


def test_report_of_an_index_equals_the_report_of_the_scan(tmp_path: Path,
                                                           example: Tuple[Path, Catalogue]) -> None:
    _, catalogue = example
    catalogue.write(tmp_path / "index.parquet")
    fresh, read = render(catalogue), render(Catalogue.read(tmp_path / "index.parquet"))
    stamp = re.compile(r"generated \d{4}-\d\d-\d\d \d\d:\d\d UTC")
    assert stamp.sub("", fresh) == stamp.sub("", read)


def test_report_tables_and_plots_of_the_example_lake(tmp_path: Path, example: Tuple[Path, Catalogue]) -> None:
    root, catalogue = example
    html = render(catalogue, title="Example <lake> & co")
    page = _parse(html)
    assert page.plots == [f"plot-{name}" for name in PLOTS]
    _self_contained(page, html)
    assert "<title>Example &lt;lake&gt; &amp; co</title>" in html  # every value escaped
    summary = catalogue.summary()
    assert page.table_rows["table-errors"] == summary["failed"] == 5
    assert page.table_rows["table-largest"] == 20
    assert page.table_rows["table-health"] == len(summary["health"])
    assert page.table_rows["table-changes"] == len(catalogue.schema_drift())
    # the largest files table is ordered by size
    sizes = catalogue.files.sort_values(["file_size_bytes", "file_name"], ascending=[False, True])
    first = sizes.iloc[0]["file_name"]
    assert html.index(first) < html.index(sizes.iloc[19]["file_name"])
    # rules change the flags it shows
    strict = render(catalogue, rules=HealthRules(small_file_bytes=1))
    assert "small_file" not in re.search(r'<table id="table-health".*?</table>', strict, re.S).group(0)


def test_report_at_each_detail_and_of_nothing(tmp_path: Path) -> None:
    expected = _drift_lake(tmp_path / "lake")
    for detail in ("files", "columns", "row_groups"):
        catalogue = build_catalogue([str(tmp_path / "lake")], detail=detail, workers=1, progress=False)
        html = render(catalogue)
        page = _parse(html)
        assert page.table_rows["table-errors"] == expected["failed"]
        title = re.search(r"Row group sizes[^<]*", html).group(0)
        assert ("average" in title) is (detail != "row_groups"), (detail, title)
        codecs = re.search(r'<figure class="plot" id="plot-mix".*?</figure>', html, re.S).group(0)
        assert ("SNAPPY" in codecs and "ZSTD" in codecs) is (detail != "files"), detail
    (tmp_path / "empty").mkdir()
    empty = build_catalogue([str(tmp_path / "empty")], workers=1, progress=False)
    html = render(empty)
    assert html.count("nothing to draw") == len(PLOTS)
    assert "<svg" not in html


def test_report_size_does_not_grow_with_the_files(tmp_path: Path) -> None:
    """Plots draw aggregates and tables are capped: 40 times the files, about the same page."""
    sizes = {}
    for files in (50, 2000):
        root = tmp_path / f"lake{files}"
        table = pa.table({"a": [1, 2, 3], "b": ["x", "y", "z"]})
        for i in range(files):
            path = root / f"day={i % 30}" / f"f{i}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, path)
        catalogue = build_catalogue([str(root)], progress=False)
        html = render(catalogue)
        assert _parse(html).table_rows["table-health-details"] == min(files, 100)  # capped
        sizes[files] = len(html.encode())
    assert sizes[2000] < 1.25 * sizes[50], sizes
    assert sizes[2000] < 600_000, sizes


def test_groups_by_typed_partition_values_and_by_time() -> None:
    files = pa.table({"year": ["2024", "2024", "2023", None, "2024"], "month": ["10", "2", "12", None, "2"],
                      "mtime_ns": pa.array([0] * 5, pa.int64())})
    grouped = groups(files, ["year", "month"])
    assert grouped.labels == ["2023/12", "2024/2", "2024/10", "(no partition)"]  # ints as numbers, nulls last
    assert grouped.codes.tolist() == [2, 1, 0, 3, 1]
    assert grouped.total(np.array([1, 2, 3, 4, 5]), np.ones(5, bool)).tolist() == [3, 7, 1, 4]
    many = pa.table({"day": [f"2024-01-{d:02d}" for d in range(1, 32)] * 10,
                     "hour": [str(h) for h in range(310)], "mtime_ns": pa.array([0] * 310, pa.int64())})
    grouped = groups(many, ["day", "hour"])  # 310 (day, hour) pairs: days only
    assert grouped.axis == "partition (day)" and len(grouped) == 31
    days = pa.table({"id": [str(i) for i in range(1000)], "mtime_ns": pa.array([0] * 1000, pa.int64())})
    grouped = groups(days, ["id"])  # more outer values than fit: runs of neighbours
    assert len(grouped) == MAX_GROUPS and grouped.labels[0] == "0 … 8" and grouped.codes.max() == MAX_GROUPS - 1
    start = dt.datetime(2024, 1, 30, tzinfo=dt.timezone.utc)
    stamps = [int((start + dt.timedelta(days=d)).timestamp() * 1e9) for d in (0, 1, 40)] + [None]
    by_time = groups(pa.table({"mtime_ns": pa.array(stamps, pa.int64())}), [])
    assert by_time.axis == "modified (day, UTC)" and len(by_time) == 41  # empty days included
    assert by_time.labels[0] == "2024-01-30" and by_time.codes.tolist() == [0, 1, 40, -1]
    years = [int(dt.datetime(y, 6, 1, tzinfo=dt.timezone.utc).timestamp() * 1e9) for y in (2001, 2024)]
    assert groups(pa.table({"mtime_ns": pa.array(years, pa.int64())}), []).axis == "modified (quarter, UTC)"


def test_report_never_replaces_what_is_not_a_report(tmp_path: Path, example: Tuple[Path, Catalogue]) -> None:
    _, catalogue = example
    data = tmp_path / "data.parquet"
    pq.write_table(pa.table({"a": [1]}), data)
    before = data.read_bytes()
    with pytest.raises(ScanError, match="not a scanner report"):
        catalogue.report(data)
    assert data.read_bytes() == before
    with pytest.raises(ScanError, match="is a directory"):
        catalogue.report(tmp_path)
    out = tmp_path / "report.html"
    catalogue.report(out)
    assert is_report(out) and f'<meta name="generator" content="{GENERATOR}">' in out.read_text()
    catalogue.report(out)  # a report may be replaced
    catalogue.report(data, force=True)
    assert is_report(data)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.parquet", "report.html"]  # no temporary file left


def test_cli_report_from_a_scan_and_from_an_index(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                  example: Tuple[Path, Catalogue]) -> None:
    root, _ = example
    report = root / "lake.html"  # inside the lake: not scanned, as the index is not
    index = tmp_path / "index.parquet"
    try:
        assert main([str(root), "-o", str(index), "--report", str(report), "--format", "json", "--no-progress",
                     "--workers", "1"]) == 0
        summary = json.loads(capsys.readouterr().out)
        assert summary["report"] == str(report) and summary["files"] == 30 and is_report(report)
        first = report.read_text()
        assert main([str(root), "-o", str(index), "--report", str(report), "--no-progress", "--workers", "1"]) == 0
        assert f"report written to {report}" in capsys.readouterr().out
        again = tmp_path / "again.html"
        assert main(["--from-index", str(index), "--report", str(again)]) == 0
        stamp = re.compile(r"generated \d{4}-\d\d-\d\d \d\d:\d\d UTC")
        assert stamp.sub("", again.read_text()) == stamp.sub("", first)
    finally:
        report.unlink(missing_ok=True)
    # refused before scanning: nothing written, exit status 2
    data = tmp_path / "keep.parquet"
    pq.write_table(pa.table({"a": [1]}), data)
    assert main([str(root), "--report", str(data), "--no-progress"]) == 2
    assert "not a scanner report" in capsys.readouterr().err
    assert main(["--from-index", str(index), "--report", str(tmp_path / "missing" / "r.html")]) == 2
    assert "cannot write --report" in capsys.readouterr().err


# -- in a real browser ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless chromium driven by chromedriver (Debian's chromium and chromium-driver)."""
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        if os.environ.get("CI"):
            pytest.fail("CI runs the browser tests: .ci/run installs chromium and chromium-driver")
        pytest.skip("no chromium / chromedriver here (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1200,900", "--hide-scrollbars", "--force-device-scale-factor=1"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    session = webdriver.Chrome(options=options, service=Service(driver))
    try:
        yield session
    finally:
        session.quit()


def _open(browser: object, path: Path) -> None:
    browser.set_window_size(1200, 900)
    browser.get(path.as_uri())
    browser.get_log("browser")  # only this page's messages from here (the log is drained)
    browser.refresh()


def _screenshot(browser: object, path: Path) -> None:
    """The whole page, as a person scrolling it would see it."""
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1200, height + 120)
    path.parent.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(path))


def test_report_renders_in_a_browser(tmp_path: Path, browser: object, example: Tuple[Path, Catalogue]) -> None:
    _, catalogue = example
    path = Path(catalogue.report(tmp_path / "report.html", title="Lake report: the example lake"))
    _open(browser, path)
    problems = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]
    assert problems == []
    # nothing fetched: the page is one file
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    plots = browser.execute_script("""
        return [...document.querySelectorAll('figure.plot')].map(figure => {
            const svg = figure.querySelector('svg'); const box = svg && svg.getBoundingClientRect();
            return {id: figure.id, width: box ? box.width : 0, height: box ? box.height : 0,
                    marks: svg ? svg.querySelectorAll('path, use, image, rect').length : 0,
                    text: svg ? svg.textContent.length : 0,
                    caption: figure.querySelector('figcaption').textContent};
        });""")
    assert [p["id"] for p in plots] == [f"plot-{name}" for name in PLOTS]
    for plot in plots:
        assert plot["width"] > 600 and plot["height"] > 150, plot
        assert plot["marks"] > 10 and plot["text"] > 20 and plot["caption"], plot
    rows = browser.execute_script("""
        const out = {};
        for (const table of document.querySelectorAll('table'))
            out[table.id] = table.querySelectorAll('tbody tr').length;
        return out;""")
    summary = catalogue.summary()
    assert rows["table-errors"] == summary["failed"] == 5
    assert rows["table-changes"] == len(catalogue.schema_drift()) > 0
    assert rows["table-versions"] == len(catalogue.schema_versions()) == 5
    assert rows["table-largest"] == 20
    assert rows["table-health"] == len(summary["health"])
    cards = browser.execute_script(
        "return [...document.querySelectorAll('.card .label')].map(e => e.textContent.trim())")
    assert cards == ["Files", "OK", "Failed", "Rows", "Bytes", "Schema versions", "Partitions", "Health flags"]
    _screenshot(browser, ARTIFACTS / "report.png")
    if os.environ.get("RUGO_UPDATE_DOCS"):
        _docs_screenshot(ARTIFACTS / "report.png", REPO / "docs" / "report.png")


def _docs_screenshot(full: Path, out: Path) -> None:
    """The top of the page (cards and the first plots), halved and in 64 colours: small to commit."""
    from PIL import Image

    with Image.open(full) as image:
        top = image.crop((0, 0, image.width, min(image.height, 2400)))
        small = top.resize((top.width // 2, top.height // 2), Image.LANCZOS)
        small.convert("RGB").quantize(64).save(out, optimize=True)


def test_report_of_a_drifting_lake_in_a_browser(tmp_path: Path, browser: object) -> None:
    expected = _drift_lake(tmp_path / "lake")
    catalogue = build_catalogue([str(tmp_path / "lake")], workers=1, progress=False)
    path = Path(catalogue.report(tmp_path / "report.html"))
    _open(browser, path)
    assert [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")] == []
    errors = browser.execute_script(
        "return [...document.querySelectorAll('#table-errors tbody tr')].map(r => r.textContent)")
    assert len(errors) == expected["failed"]
    assert all(any(name in row for row in errors) for name in expected["broken"])
    changes = browser.execute_script("""
        return [...document.querySelectorAll('#table-changes tbody tr')].map(
            r => [...r.querySelectorAll('td')].slice(0, 2).map(c => c.textContent));""")
    assert {(column, kind.split(" ")[0] + ("_changed" if kind.startswith("type") else ""))
            for kind, column in changes} == expected["changes"]
    legend = browser.execute_script("return document.querySelector('#plot-drift svg').textContent")
    assert "v1:" in legend and "v2:" in legend
    _screenshot(browser, ARTIFACTS / "report-drift.png")
