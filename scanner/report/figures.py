"""The report's plots: matplotlib figures of aggregates, written as inline SVG.

Every plot is drawn from a handful of numbers per bin or group (histograms, per-group
series), never from one mark per file, so a report of millions of files is as small as one
of ten. matplotlib's object API is used (``Figure``, no pyplot): nothing global changes in
the caller's process, a notebook's backend included.

Readable in greyscale: series differ by lightness (viridis, whose lightness rises
steadily) and by hatching, not by hue alone. Sizes are binary (KiB, MiB), counts read
``3.4 M``; every axis says what it counts.
"""
from __future__ import annotations

import functools
import io
import math
import warnings
from typing import Any, Callable, List, Optional, Sequence, Tuple, TypeVar

import numpy as np
from matplotlib import rc_context
from matplotlib.cm import viridis
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, MaxNLocator, NullFormatter, NullLocator

from scanner.report.groups import Groups
from scanner.units import count, size

__all__ = ["svg", "file_sizes", "growth", "row_group_sizes", "mix", "drift_timeline", "footers"]

#: matplotlib settings of every figure (text stays text in the SVG: small, searchable).
STYLE = {"svg.fonttype": "none", "font.size": 9, "axes.titlesize": 11, "axes.titleweight": "bold",
         "axes.titlelocation": "left", "axes.spines.top": False, "axes.spines.right": False,
         "axes.grid": True, "grid.color": "#dddddd", "grid.linewidth": 0.6, "axes.axisbelow": True,
         "hatch.linewidth": 0.6, "hatch.color": "#222222"}
#: Series colours, dark to light, and hatches: told apart without colour.
SHADES = [viridis(x) for x in (0.05, 0.8, 0.35, 0.95, 0.55, 0.2, 0.68, 0.45)]
HATCHES = ["", "///", "\\\\\\", "xx", "---", "|||", "++", "//"]  # lines only: dots make huge SVG patterns
BAR = SHADES[2]
WIDE = (8.4, 3.3)
MAX_TICKS = 24


F = TypeVar("F", bound=Callable[..., Any])


def _styled(draw: F) -> F:
    """Run a figure function under :data:`STYLE` (rcParams are read as artists are made)."""
    @functools.wraps(draw)
    def styled(*args: Any, **kwargs: Any) -> Any:
        with rc_context(STYLE):
            return draw(*args, **kwargs)
    return styled  # type: ignore[return-value]


def svg(figure: Figure, name: str, label: str) -> str:
    """``figure`` as an ``<svg>`` element to put in a page: ``role="img"`` with ``label``
    as its accessible name. ``name`` seeds the SVG's ids, so that the ids of the figures of
    one page differ and stay the same from run to run."""
    buffer = io.StringIO()
    with rc_context({**STYLE, "svg.hashsalt": f"rugo-{name}"}), warnings.catch_warnings():
        # a crowded axis: the layout falls back to the figure's own, which is still readable
        warnings.filterwarnings("ignore", "constrained_layout not applied", UserWarning)
        figure.savefig(buffer, format="svg", metadata={"Date": None}, dpi=150)  # laid out: constrained
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    escaped = label.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return text.replace("<svg", f'<svg role="img" aria-label="{escaped}"', 1)


def _figure(rows: int = 1, columns: int = 1, size_inches: Tuple[float, float] = WIDE,
            **kwargs: object) -> Tuple[Figure, np.ndarray]:
    figure = Figure(figsize=size_inches, layout="constrained")
    return figure, figure.subplots(rows, columns, squeeze=False, **kwargs).ravel()


def _short_size(value: float, _: object = None) -> str:
    return size(value).replace(".0 ", " ")


def _short_count(value: float, _: object = None) -> str:
    return count(value).replace(".0 ", " ")


def _size_unit(largest: float) -> Tuple[float, str]:
    """The binary unit a linear byte axis reads in (its ticks then fall on round numbers)."""
    for power, name in ((4, "TiB"), (3, "GiB"), (2, "MiB"), (1, "KiB")):
        if largest >= 1024 ** power:
            return 1024.0 ** power, name
    return 1.0, "bytes"


def _plain(value: float, _: object = None) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 or value == int(value) else f"{value:,.1f}"


def _log_edges(values: np.ndarray, bins: int = 40, marks: Sequence[float] = ()) -> np.ndarray:
    """Log-spaced bin edges around positive ``values`` and any ``marks`` (thresholds to be
    drawn: the bins then cover them too, so bars stay as wide as the axis is long), over a
    span of at least 2x."""
    low, high = float(values.min()), float(values.max())
    for mark in marks:
        low, high = min(low, mark / 1.25), max(high, mark * 1.25)
    low, high = low / 1.05, high * 1.05
    if high < 2 * low:
        middle = math.sqrt(low * high)
        low, high = middle / math.sqrt(2), middle * math.sqrt(2)
    return np.geomspace(low, high, bins + 1)


def _binary_ticks(axis: object, low: float, high: float) -> None:
    """Ticks at powers of two (1 KiB, 32 KiB, 1 MiB ...), at most 8, labelled as sizes."""
    first, last = math.floor(math.log2(low)), math.ceil(math.log2(high))
    step = max(1, math.ceil((last - first) / 8))
    axis.set_major_locator(FixedLocator([2.0 ** e for e in range(first, last + 1, step)]))
    axis.set_minor_locator(NullLocator())
    axis.set_major_formatter(FuncFormatter(_short_size))


def _count_axis(axis: object) -> None:
    """Whole-number ticks read as counts (``15 k``)."""
    axis.set_major_locator(MaxNLocator(integer=True))
    axis.set_major_formatter(FuncFormatter(_short_count))


def _size_histogram(ax: object, values: np.ndarray, weights: Optional[np.ndarray], colour: object,
                    thresholds: Sequence[Tuple[float, str, bool]]) -> None:
    """Histogram of byte sizes on a log axis, with dashed lines at ``thresholds``
    (``(at, text, always)``: drawn when within 4x of the values, or ``always``)."""
    drawn = [(at, text) for at, text, always in thresholds
             if always or values.min() / 4 <= at <= values.max() * 4]
    edges = _log_edges(values, marks=[at for at, _ in drawn])
    counts, _ = np.histogram(values, edges, weights=weights)
    ax.stairs(counts, edges, fill=True, facecolor=colour, edgecolor="#222222", linewidth=0.6)
    ax.set_xscale("log")
    ax.set_xlim(edges[0], edges[-1])
    _binary_ticks(ax.xaxis, edges[0], edges[-1])
    _count_axis(ax.yaxis)
    for at, text in drawn:
        ax.axvline(at, color="black", linestyle="--", linewidth=1.2)
        ax.annotate(text, (at, 1), xycoords=("data", "axes fraction"), xytext=(4, -4),
                    textcoords="offset points", va="top", fontsize=8,
                    bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})


@_styled
def file_sizes(sizes: np.ndarray, small_file_bytes: int) -> Optional[Figure]:
    """Histogram of file sizes on a log scale, the small-file threshold marked."""
    sizes = sizes[sizes > 0]
    if not len(sizes):
        return None
    figure, (ax,) = _figure()
    small = int((sizes < small_file_bytes).sum())
    _size_histogram(ax, sizes, None, BAR, [(small_file_bytes, f"small-file threshold {_short_size(small_file_bytes)}\n"
                                            f"{small:,} files ({small / len(sizes):.0%}) below", True)])
    ax.set_title("File sizes")
    ax.set_xlabel("file size (bytes, log scale)")
    ax.set_ylabel("files")
    return figure


def _group_axis(ax: object, groups: Groups) -> None:
    positions = np.arange(len(groups))
    every = max(1, math.ceil(len(groups) / MAX_TICKS))
    ax.set_xticks(positions[::every], [groups.labels[i] for i in positions[::every]], rotation=40,
                  ha="right", rotation_mode="anchor", fontsize=7.5)
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.grid(axis="x", visible=False)


@_styled
def growth(groups: Groups, rows: np.ndarray, file_bytes: np.ndarray) -> Optional[Figure]:
    """Rows and bytes per group (bars), and their running totals (line, right axis)."""
    if not len(groups):
        return None
    figure, axes = _figure(2, 1, (8.4, 5.2), sharex=True)
    positions = np.arange(len(groups))
    unit, unit_name = _size_unit(max(float(file_bytes.max()), float(file_bytes.sum()) / 4))
    for ax, values, what, counts, hatch in ((axes[0], rows, "rows", True, ""),
                                            (axes[1], file_bytes / unit, f"on disk ({unit_name})", False, "///")):
        ax.bar(positions, values, width=0.85 if len(groups) <= 60 else 1.0, color=BAR, hatch=hatch,
               edgecolor="#222222", linewidth=0.4, label=f"{what} per group")
        ax.set_ylabel(what)
        total = ax.twinx()
        total.plot(positions, np.cumsum(values), color="black", linewidth=1.5, marker="o" if len(groups) <= 30 else None,
                   markersize=3, label="running total")
        total.set_ylim(bottom=0)
        total.set_ylabel(f"{what}, running total")
        for axis in (ax.yaxis, total.yaxis):
            if counts:
                _count_axis(axis)
            else:
                axis.set_major_formatter(FuncFormatter(_plain))
        total.grid(False)
        total.spines["right"].set_visible(True)
        handles = ax.get_legend_handles_labels()[0] + total.get_legend_handles_labels()[0]
        ax.legend(handles, [h.get_label() for h in handles], loc="upper left", fontsize=7.5, framealpha=0.9,
                  edgecolor="none")
    axes[0].set_title(f"Rows and bytes by {groups.axis}")
    _group_axis(axes[1], groups)
    axes[1].set_xlabel(groups.axis)
    return figure


@_styled
def row_group_sizes(sizes: np.ndarray, weights: Optional[np.ndarray], exact: bool, low: int,
                    high: int) -> Optional[Figure]:
    """Histogram of row group sizes (uncompressed bytes), the health thresholds marked.
    ``exact``: one value per row group; else each file's average, weighted by its row groups."""
    keep = sizes > 0
    if not keep.any():
        return None
    sizes = sizes[keep]
    weights = None if weights is None else weights[keep]
    figure, (ax,) = _figure()
    _size_histogram(ax, sizes, weights, SHADES[4], [(low, f"small below {_short_size(low)}", True),
                                                    (high, f"large above {_short_size(high)}", False)])
    ax.set_title("Row group sizes" + ("" if exact else " (each file's average row group)"))
    ax.set_xlabel("row group size (uncompressed bytes, log scale)")
    ax.set_ylabel("row groups")
    return figure


def _bars(ax: object, items: Sequence[Tuple[str, float]], in_bytes: bool, what: str, title: str) -> None:
    """Horizontal bars, largest on top, each labelled with its value and share; byte values
    drawn in one binary unit, so the axis reads in round numbers."""
    names = [name for name, _ in items][::-1]  # largest on top
    values = np.array([value for _, value in items][::-1], dtype=np.float64)
    unit, unit_name = _size_unit(values.max()) if in_bytes else (1.0, "")
    positions = np.arange(len(items))
    bars = ax.barh(positions, values / unit, color=[SHADES[i % len(SHADES)] for i in positions][::-1],
                   edgecolor="#222222", linewidth=0.4)
    for bar, hatch in zip(bars, [HATCHES[i % len(HATCHES)] for i in positions][::-1]):
        bar.set_hatch(hatch)
    ax.set_yticks(positions, [n if len(n) <= 36 else n[:35] + "…" for n in names], fontsize=8)
    total = values.sum() or 1.0
    for y, value in zip(positions, values):
        text = _short_size(value) if in_bytes else _short_count(value)
        ax.annotate(f" {text} ({value / total:.0%})", (value / unit, y), va="center", fontsize=7.5)
    ax.set_xlim(0, max(values.max() / unit * 1.45, 1e-9))
    ax.xaxis.set_major_formatter(FuncFormatter(_plain))
    ax.xaxis.set_major_locator(MaxNLocator(4, integer=not in_bytes))
    ax.set_xlabel(f"{what} ({unit_name})" if in_bytes else what)
    ax.set_title(title)
    ax.grid(axis="y", visible=False)


@_styled
def mix(codecs: Sequence[Tuple[str, float]], writers: Sequence[Tuple[str, float]]) -> Optional[Figure]:
    """Codecs by compressed bytes and writers by files, side by side (either may be empty)."""
    panels = [p for p in ((codecs, True, "compressed column data", "Codecs"),
                          (writers, False, "ok files", "Writers")) if p[0]]
    if not panels:
        return None
    height = max(2.2, 0.5 + 0.32 * max(len(p[0]) for p in panels))
    figure, axes = _figure(1, len(panels), (8.4, height))
    for ax, (items, in_bytes, what, title) in zip(axes, panels):
        _bars(ax, items, in_bytes, what, title)
    return figure


@_styled
def drift_timeline(groups: Groups, version_of: np.ndarray, names: List[str]) -> Optional[Figure]:
    """Files of each schema version per group, stacked (``version_of``: per file, index into
    ``names``, -1 for files without one)."""
    known = (version_of >= 0) & (groups.codes >= 0)
    if not len(groups) or not known.any():
        return None
    counts = np.bincount(groups.codes[known] * len(names) + version_of[known],
                         minlength=len(groups) * len(names)).reshape(len(groups), len(names))
    figure, (ax,) = _figure(size_inches=(8.4, 3.6))
    positions, bottom = np.arange(len(groups)), np.zeros(len(groups))
    width = 0.85 if len(groups) <= 60 else 1.0
    for v, name in enumerate(names):
        ax.bar(positions, counts[:, v], bottom=bottom, width=width, color=SHADES[v % len(SHADES)],
               hatch=HATCHES[v % len(HATCHES)], edgecolor="#222222", linewidth=0.4, label=name)
        bottom += counts[:, v]
    _count_axis(ax.yaxis)
    ax.set_ylabel("ok files")
    _group_axis(ax, groups)
    ax.set_xlabel(groups.axis)
    ax.set_title(f"Schema versions by {groups.axis}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=7.5, frameon=False, title="version")
    return figure


@_styled
def footers(columns: np.ndarray, footer_bytes: np.ndarray) -> Optional[Figure]:
    """Footer size against leaf column count: files counted in log-spaced cells (a 2-D
    histogram, darker is fewer)."""
    keep = (columns > 0) & (footer_bytes > 0)
    if not keep.any():
        return None
    columns, footer_bytes = columns[keep], footer_bytes[keep]
    x_edges, y_edges = _log_edges(columns, 30), _log_edges(footer_bytes, 30)
    cells, _, _ = np.histogram2d(columns, footer_bytes, [x_edges, y_edges])
    figure, (ax,) = _figure(size_inches=(8.4, 3.6))
    # one image of 30 x 30 cells (rasterized), not 900 SVG paths
    most = max(2.0, cells.max())
    norm = LogNorm(vmin=1, vmax=most) if most > 10 else Normalize(vmin=0.5, vmax=most + 0.5)
    mesh = ax.pcolormesh(x_edges, y_edges, np.ma.masked_equal(cells.T, 0), cmap="viridis", norm=norm,
                         edgecolors="none", rasterized=True)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 3.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(_short_count))
    ax.xaxis.set_minor_formatter(NullFormatter())
    _binary_ticks(ax.yaxis, y_edges[0], y_edges[-1])
    colorbar = figure.colorbar(mesh, ax=ax, pad=0.01, format=FuncFormatter(_short_count))
    colorbar.set_label("files")
    if most <= 10:
        colorbar.set_ticks(range(1, int(most) + 1))
    colorbar.ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("leaf columns (log scale)")
    ax.set_ylabel("footer size (bytes, log scale)")
    ax.set_title("Footer size against column count")
    return figure
