"""What the report shows, as plain values: summary cards, plots (SVG text) and tables.

Everything comes from the catalogue's own answers (:meth:`Catalogue.summary`,
``partitions``, ``health``, ``schema_versions``, ``schema_drift``) or from its Arrow parts
aggregated here with Arrow and numpy; nothing scans again. Tables keep at most
:data:`MAX_TABLE_ROWS` rows, most important first, and say how many they leave out.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from scanner.entries import HIVE_NULL
from scanner.errors import ScanError
from scanner.query.drift import Drift, schema_drift, schema_versions, versions
from scanner.query.health import FLAG_MEANINGS, FLAGS, HealthRules, health_rows
from scanner.report import figures
from scanner.report.groups import groups
from scanner.units import count, size

if TYPE_CHECKING:  # pragma: no cover
    from scanner.catalogue import Catalogue

__all__ = ["Plot", "Table", "Content", "content", "MAX_TABLE_ROWS"]

#: Rows shown per table (the caption says how many more there are).
MAX_TABLE_ROWS = 100
#: Bars of the codec and writer charts (the rest: one "other" bar).
MAX_BARS = 8
#: Schema versions drawn apart on the drift timeline (the rest: "other").
MAX_VERSIONS = 7


@dataclass
class Plot:
    id: str
    title: str
    caption: str  # what it shows, in words (also the SVG's accessible name)
    svg: Optional[str]  # None: nothing to draw (``empty`` says why)
    empty: str = ""


@dataclass
class Table:
    id: str
    title: str
    caption: str
    columns: List[str]
    rows: List[List[str]]
    kinds: List[str]  # per column, its cells' CSS class: "num" (right-aligned), "path" (breaks anywhere), ""
    total: int  # rows before the cap

    @property
    def more(self) -> int:
        return self.total - len(self.rows)


@dataclass
class Content:
    title: str
    subtitle: str
    cards: List[Tuple[str, str, str]]  # (label, value, detail)
    plots: List[Plot] = field(default_factory=list)
    tables: List[Table] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)


def content(catalogue: "Catalogue", rules: Optional[HealthRules] = None, title: Optional[str] = None) -> Content:
    """Everything the page shows for ``catalogue`` (health flags by ``rules``)."""
    rules = rules or HealthRules()
    parts = catalogue._current()
    files, columns, row_groups = parts["files"], parts["columns"], parts["row_groups"]
    keys = catalogue.partition_columns
    summary = catalogue.summary(top=MAX_TABLE_ROWS, rules=rules)
    ok = pc.equal(files.column("status"), "ok").to_numpy(zero_copy_only=False)
    roots = ", ".join(catalogue.roots) or catalogue.path or "a catalogue"
    page = Content(title=title or f"Lake report: {roots}",
                   subtitle=f"{count(summary['files'])} files catalogued at {catalogue.detail!r} detail",
                   cards=_cards(summary))
    try:
        drift = versions(files, keys)
    except ScanError as exc:  # an index written before schema_columns were recorded
        drift = None
        page.notes.append(str(exc))
    grouping = groups(files, keys)
    page.plots = [
        _file_size_plot(files, rules),
        _growth_plot(files, ok, grouping),
        _row_group_plot(files, row_groups, ok, rules, catalogue.detail),
        _mix_plot(files, columns, ok, catalogue.detail),
        _drift_plot(drift, grouping),
        _footer_plot(files, ok),
    ]
    page.tables = [
        _errors_table(files, ok, summary),
        _changes_table(files, keys, drift),
        _versions_table(files, keys, drift),
        *_health_tables(files, columns, keys, rules, summary),
        _largest_table(files),
    ]
    return page


def _numbers(table: pa.Table, name: str, where: Optional[np.ndarray] = None) -> np.ndarray:
    values = pc.fill_null(table.column(name), 0).to_numpy().astype(np.float64)
    return values if where is None else values[where]


def _cards(summary: Dict[str, Any]) -> List[Tuple[str, str, str]]:
    versions_count = summary["schema_versions"]
    return [
        ("Files", count(summary["files"]), f"{summary['files']:,} listed"),
        ("OK", count(summary["ok"]), f"{summary['ok'] / max(summary['files'], 1):.1%} of files"),
        ("Failed", count(summary["failed"]), ", ".join(f"{n:,} {t}" for t, n in summary["errors_by_type"].items())
         or "none"),
        ("Rows", count(summary["rows"]), f"in {count(summary['row_groups'])} row groups"),
        ("Bytes", size(summary["file_bytes"]), f"{size(summary['uncompressed_bytes'])} uncompressed"),
        ("Schema versions", "?" if versions_count is None else count(versions_count),
         f"{summary['distinct_schemas']:,} distinct footers' schemas"),
        ("Partitions", count(summary["partitions"]),
         ", ".join(summary["partition_columns"]) or "no hive partitions"),
        ("Health flags", count(sum(summary["health"].values())),
         ", ".join(f"{n:,} {flag}" for flag, n in summary["health"].items()) or "none raised"),
    ]


def _file_size_plot(files: pa.Table, rules: HealthRules) -> Plot:
    sizes = _numbers(files, "file_size_bytes")
    small = int(((sizes > 0) & (sizes < rules.small_file_bytes)).sum())
    caption = (f"How {count(len(sizes))} files spread by size; {small:,} are under the small-file threshold "
               f"of {size(rules.small_file_bytes)}.")
    return _plot("file-sizes", "File sizes", caption, figures.file_sizes(sizes, rules.small_file_bytes),
                 "no file has a size")


def _growth_plot(files: pa.Table, ok: np.ndarray, grouping: Any) -> Plot:
    rows = grouping.total(_numbers(files, "num_rows"), ok)
    file_bytes = grouping.total(_numbers(files, "file_size_bytes"), np.ones(len(ok), bool))
    caption = (f"Rows of the ok files and bytes on disk of all files, by {grouping.axis}, with running totals "
               f"({len(grouping):,} groups).")
    return _plot("growth", f"Rows and bytes by {grouping.axis}", caption,
                 figures.growth(grouping, rows, file_bytes), "no partition or modification time to group by")


def _row_group_plot(files: pa.Table, row_groups: pa.Table, ok: np.ndarray, rules: HealthRules,
                    detail: str) -> Plot:
    if detail == "row_groups" and row_groups.num_rows:
        once = pc.equal(row_groups.column("column_id"), 0)  # one row per row group: its first chunk
        chunks = row_groups.filter(once)
        sizes, weights, exact = _numbers(chunks, "row_group_bytes"), None, True
    else:
        groups_per_file = _numbers(files, "num_row_groups", ok)
        data = _numbers(files, "total_uncompressed_size", ok)
        has = groups_per_file > 0
        sizes, weights, exact = data[has] / groups_per_file[has], groups_per_file[has], False
    how = "one value per row group" if exact else \
        "each file's average row group, counted once per row group (scan at row_groups detail for exact sizes)"
    caption = (f"Uncompressed bytes per row group ({how}); health thresholds at {size(rules.min_row_group_bytes)} "
               f"and {size(rules.max_row_group_bytes)}.")
    return _plot("row-groups", "Row group sizes", caption,
                 figures.row_group_sizes(sizes, weights, exact, rules.min_row_group_bytes, rules.max_row_group_bytes),
                 "no ok file has a row group")


def _top(names: Sequence[Any], values: Sequence[float], missing: str) -> List[Tuple[str, float]]:
    """``(name, value)`` largest first, the tail beyond :data:`MAX_BARS` as one ``other`` bar."""
    pairs = sorted(((missing if n is None else str(n), float(v)) for n, v in zip(names, values)),
                   key=lambda p: (-p[1], p[0]))
    if len(pairs) > MAX_BARS:
        rest = pairs[MAX_BARS - 1:]
        pairs = pairs[:MAX_BARS - 1] + [(f"other ({len(rest):,})", sum(v for _, v in rest))]
    return pairs


def _writer(created_by: pa.ChunkedArray) -> pa.ChunkedArray:
    """The writer string without its build hash: ``parquet-mr version 1.12.3 (build ab12)``
    is ``parquet-mr version 1.12.3``."""
    return pc.utf8_trim_whitespace(pc.replace_substring_regex(created_by, r"\s*\(build [^)]*\)", ""))


def _mix_plot(files: pa.Table, columns: pa.Table, ok: np.ndarray, detail: str) -> Plot:
    codecs: List[Tuple[str, float]] = []
    if columns.num_rows:
        by_codec = pa.table({"codec": columns.column("compression").cast(pa.string()),
                             "bytes": columns.column("total_compressed_size")}).group_by("codec").aggregate(
            [("bytes", "sum")])
        codecs = _top(by_codec.column("codec").to_pylist(), by_codec.column("bytes_sum").to_pylist(), "none")
    ok_files = files.filter(pa.array(ok))
    by_writer = pa.table({"writer": _writer(ok_files.column("created_by").cast(pa.string()))}).group_by(
        "writer").aggregate([([], "count_all")])
    writers = _top(by_writer.column("writer").to_pylist(), by_writer.column("count_all").to_pylist(), "not recorded")
    caption = ("Compression codecs by compressed column bytes, and writers (created_by) by ok files."
               + ("" if columns.num_rows or detail != "files" else " Codecs need columns detail."))
    return _plot("mix", "Codec and writer mix", caption, figures.mix(codecs, writers), "no ok file")


def _drift_plot(drift: Optional[Drift], grouping: Any) -> Plot:
    if drift is None:
        return Plot("drift", "Schema versions", "Schema versions across the lake.", None,
                    "this index has no schema columns: scan the lake again to see versions")
    shown = drift.versions if len(drift.versions) <= MAX_VERSIONS + 1 else drift.versions[:MAX_VERSIONS]
    names = [f"{_version_name(i, v.key)} ({len(v.columns)} columns, {v.files:,} files)" for i, v in enumerate(shown)]
    version_of = drift.version_of.copy()
    if len(drift.versions) > len(shown):
        version_of[version_of >= len(shown)] = len(shown)
        names.append(f"{len(drift.versions) - len(shown):,} later versions")
    caption = (f"Ok files of each of the {len(drift.versions):,} canonical schema versions (in order of appearance), "
               f"by {grouping.axis}: where a new version starts, the schema changed.")
    return _plot("drift", "Schema versions", caption, figures.drift_timeline(grouping, version_of, names),
                 "no ok file")


def _footer_plot(files: pa.Table, ok: np.ndarray) -> Plot:
    columns, footers = _numbers(files, "num_columns", ok), _numbers(files, "footer_size", ok)
    caption = "Ok files counted by leaf column count and footer size (log-spaced cells; lighter is more files)."
    return _plot("footers", "Footer size against column count", caption, figures.footers(columns, footers),
                 "no ok file")


def _plot(plot_id: str, title: str, caption: str, figure: Any, empty: str) -> Plot:
    return Plot(plot_id, title, caption, None if figure is None else figures.svg(figure, plot_id, caption), empty)


def _errors_table(files: pa.Table, ok: np.ndarray, summary: Dict[str, Any]) -> Table:
    failed = files.filter(pa.array(~ok)).select(["file_name", "error_type", "error"])
    rank = {t: i for i, t in enumerate(summary["errors_by_type"])}  # most common type first
    rows = sorted(failed.to_pylist(), key=lambda r: (rank.get(r["error_type"], len(rank)), r["file_name"]))
    return Table("errors", "Errors", "Files that could not be read, the most common kind of error first.",
                 ["error type", "file", "what is wrong"],
                 [[r["error_type"] or "", r["file_name"], r["error"] or ""] for r in rows[:MAX_TABLE_ROWS]],
                 ["", "path", ""], len(rows))


def _changes_table(files: pa.Table, keys: Sequence[str], drift: Optional[Drift]) -> Table:
    frame = schema_drift(files, keys, drift) if drift is not None else None
    rows: List[List[str]] = []
    if frame is not None:
        for r in frame.head(MAX_TABLE_ROWS).astype(object).to_dict("records"):
            kind = r["change"].replace("_", " ") + (" (guess)" if r["guess"] is True else "") + \
                (" (widening)" if r["widening"] is True else "")
            column = f"{r['from_column']} → {r['column']}" if _text(r["from_column"]) else r["column"]
            rows.append([kind, column, _text(r["from_type"]), _text(r["to_type"]), _partition(r["first_partition"]),
                         r["first_file"], f"{r['files_before']:,} → {r['files_after']:,}"])
    return Table("changes", "Schema changes",
                 "Each column change between schema versions, in order of appearance (by partition, then "
                 "modification time): where the new form first appears, and how many ok files have the old and "
                 "the new form.",
                 ["change", "column", "type before", "type after", "first partition", "first file", "files"],
                 rows, ["", "", "", "", "path", "path", "num"], 0 if frame is None else len(frame))


def _text(value: Any) -> str:
    return "" if value is None or value != value else str(value)  # None, NaN and pandas NA: blank


def _versions_table(files: pa.Table, keys: Sequence[str], drift: Optional[Drift]) -> Table:
    frame = schema_versions(files, keys, drift) if drift is not None else None
    rows = [] if frame is None else [
        [_version_name(i, r["version"]), f"{r['columns']:,}", f"{r['files']:,}", _partition(r["first_partition"]),
         _text(r["first_mtime"])[:19], r["first_file"], _shorten(r["schema"], 300)]
        for i, r in enumerate(frame.head(MAX_TABLE_ROWS).astype(object).to_dict("records"))]
    return Table("versions", "Schema versions", "Canonical schema versions of the ok files, in order of appearance.",
                 ["version", "columns", "files", "first partition", "first modified (UTC)", "first file", "schema"],
                 rows, ["", "num", "num", "path", "", "path", ""], 0 if frame is None else len(frame))


def _partition(label: Any) -> str:
    """A ``key=value/...`` label without its null segments (``key=__HIVE_DEFAULT_PARTITION__``)."""
    return "/".join(part for part in _text(label).split("/") if not part.endswith("=" + HIVE_NULL))


def _version_name(position: int, key: str) -> str:
    """How the plot and the tables name a version: ``v2: 3fa85f64`` (order of appearance)."""
    return f"v{position + 1}: {key[:8]}"


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _health_tables(files: pa.Table, columns: pa.Table, keys: Sequence[str], rules: HealthRules,
                   summary: Dict[str, Any]) -> List[Table]:
    counts = summary["health"]
    overview = Table("health", "Health flags", "What makes the lake slow or fragile to read, by flag "
                     "(thresholds: HealthRules).", ["flag", "raised", "meaning"],
                     [[flag, f"{counts[flag]:,}", FLAG_MEANINGS[flag]] for flag in FLAGS if flag in counts],
                     ["", "num", ""], len(counts))
    # the first flags of each kind, kinds in FLAGS order: rarer kinds are not crowded out
    per_flag = max(10, MAX_TABLE_ROWS // max(len(counts), 1))
    seen: Dict[str, int] = {}
    rows: List[List[str]] = []
    for r in health_rows(files, columns, keys, rules, per_flag):
        seen[r["flag"]] = seen.get(r["flag"], 0) + 1
        if seen[r["flag"]] <= per_flag and len(rows) < MAX_TABLE_ROWS:
            rows.append([str(r["flag"]), str(r.get("file_name") or r.get("column") or r.get("partition") or "lake"),
                         str(r["detail"])])
    details = Table("health-details", "Flagged files, columns and partitions",
                    f"Up to {per_flag:,} of each flag, in flag order.", ["flag", "about", "detail"], rows,
                    ["", "path", ""], sum(counts.values()))
    return [overview, details]


def _largest_table(files: pa.Table) -> Table:
    order = pc.sort_indices(files.select(["file_size_bytes", "file_name"]),
                            sort_keys=[("file_size_bytes", "descending"), ("file_name", "ascending")])
    top = order.slice(0, 20)
    rows = []
    for r in files.take(top).select(["file_name", "file_size_bytes", "num_rows", "num_row_groups", "num_columns",
                                     "footer_size", "status"]).to_pylist():
        rows.append([r["file_name"], size(r["file_size_bytes"] or 0), _count_text(r["num_rows"]),
                     _count_text(r["num_row_groups"]), _count_text(r["num_columns"]),
                     "" if r["footer_size"] is None else size(r["footer_size"]), r["status"]])
    return Table("largest", "Largest files", "The 20 largest files, largest first.",
                 ["file", "size", "rows", "row groups", "leaf columns", "footer", "status"], rows,
                 ["path", "num", "num", "num", "num", "num", ""], files.num_rows)


def _count_text(value: Optional[int]) -> str:
    return "" if value is None else f"{value:,}"
