"""Health flags: what in a lake makes it slow or fragile to read, by thresholds you can change.

Each flag is a row naming what it is about (a file, a column of the lake, or a hive
partition), the measured value, the threshold it crossed and a sentence. The rules and
their defaults (:class:`HealthRules`):

==========================  =====================================================================
flag                        raised for
==========================  =====================================================================
``small_file``              an ok file holding data, smaller than ``small_file_bytes`` (32 MiB):
                            the small-file problem (a request and a footer per few rows)
``small_row_groups``        an ok file of several row groups whose average row group holds less
                            than ``min_row_group_bytes`` (8 MiB, uncompressed)
``large_row_groups``        an ok file whose average row group holds more than
                            ``max_row_group_bytes`` (2 GiB, uncompressed): a reader needs that
                            much memory per column at once
``many_row_groups``         an ok file of more than ``max_row_groups`` (1,000) row groups
``large_footer``            an ok file whose footer is at least ``min_footer_bytes`` (256 KiB) and
                            more than ``max_footer_share`` (10 %) of its compressed column data
``no_statistics``           a column (by path) that has values but no min/max in some ok files
                            (``columns`` detail): it cannot be pruned there
``mixed_codecs``            a hive partition (the whole lake when there is none) whose files use
                            more than one compression codec (``columns`` detail)
``mixed_writers``           a hive partition whose ok files were written by more than one writer
                            (``created_by``)
==========================  =====================================================================

Failed files are not flagged here: they are error rows already.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from scanner.entries import HIVE_NULL

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["HealthRules", "FLAGS", "FLAG_MEANINGS", "health", "health_rows", "health_counts", "partition_labels"]

#: Every flag, in the order rows and counts come.
FLAGS = ("small_file", "small_row_groups", "large_row_groups", "many_row_groups", "large_footer",
         "no_statistics", "mixed_codecs", "mixed_writers")

#: Each flag in a sentence (the module docstring has the thresholds).
FLAG_MEANINGS = {
    "small_file": "files below the small-file size: a request and a footer per few rows",
    "small_row_groups": "files whose row groups are small on average: many reads per column",
    "large_row_groups": "files whose row groups are huge on average: memory per column read",
    "many_row_groups": "files of very many row groups: long footers, slow planning",
    "large_footer": "files whose footer is a large share of their data",
    "no_statistics": "columns with values but no min/max in some files: no pruning there",
    "mixed_codecs": "partitions whose files use several compression codecs",
    "mixed_writers": "partitions whose files come from several writers",
}


@dataclass(frozen=True)
class HealthRules:
    """Thresholds of the health flags (see the module docstring); change any of them:
    ``catalogue.health(HealthRules(small_file_bytes=8 * 2**20))``."""

    small_file_bytes: int = 32 * 2**20
    min_row_group_bytes: int = 8 * 2**20
    max_row_group_bytes: int = 2 * 2**30
    max_row_groups: int = 1000
    min_footer_bytes: int = 256 * 2**10
    max_footer_share: float = 0.10


def health(files: pa.Table, columns: pa.Table, keys: Sequence[str],
           rules: Optional[HealthRules] = None) -> "pd.DataFrame":
    """The health flags of a catalogue's ``files`` and ``columns`` parts.

    Parameters
    ----------
    files, columns : pyarrow.Table
        The catalogue's parts (``columns`` names its file by ``file_id``, its row in
        ``files``; empty below ``columns`` detail).
    keys : sequence of str
        The hive partition columns.
    rules : HealthRules, optional
        Thresholds; default :class:`HealthRules`.

    Returns
    -------
    pandas.DataFrame
        ``flag``, ``file_name``, ``partition`` (``key=value/...``), ``column`` (each null
        where the flag is not about one), ``value``, ``threshold``, ``detail``; in
        :data:`FLAGS` order, then file order.
    """
    import pandas as pd

    frame = pd.DataFrame(health_rows(files, columns, keys, rules),
                         columns=["flag", "file_name", "partition", "column", "value", "threshold", "detail"])
    for name in ("flag", "file_name", "partition", "column", "detail"):
        frame[name] = frame[name].astype("string")
    for name in ("value", "threshold"):
        frame[name] = frame[name].astype("Float64")
    return frame


def health_rows(files: pa.Table, columns: pa.Table, keys: Sequence[str],
                rules: Optional[HealthRules] = None, per_flag: Optional[int] = None) -> List[Dict[str, object]]:
    """:func:`health` as plain dicts (no pandas), in :data:`FLAGS` order; the first
    ``per_flag`` files of each per-file flag when given (:func:`health_counts` counts all)."""
    rules = rules or HealthRules()
    rows = _file_flags(files, rules, per_flag) + _column_flags(files, columns) + _partition_flags(files, columns, keys)
    order = {flag: i for i, flag in enumerate(FLAGS)}
    return sorted(rows, key=lambda row: order[str(row["flag"])])


def _file_checks(files: pa.Table, rules: HealthRules) -> List[Tuple[str, pa.Array, pa.Array, float, str, pa.Array]]:
    """The per-file rules as Arrow masks over the ok files: ``(flag, mask, value, threshold,
    detail template, file names)`` each."""
    ok = _ok_files(files, ["file_name", "file_size_bytes", "num_rows", "num_row_groups", "total_uncompressed_size",
                           "total_compressed_size", "footer_size"])
    size, rows, groups = ok.column("file_size_bytes"), ok.column("num_rows"), ok.column("num_row_groups")
    data, compressed, footer = (ok.column("total_uncompressed_size"), ok.column("total_compressed_size"),
                                ok.column("footer_size"))
    average = pc.divide(pc.cast(data, pa.float64()), pc.cast(groups, pa.float64()))  # null for 0 row groups
    share = pc.divide(pc.cast(footer, pa.float64()), pc.cast(pc.max_element_wise(compressed, 1), pa.float64()))
    names = ok.column("file_name")
    checks = (
        ("small_file", pc.and_(pc.less(size, rules.small_file_bytes), pc.greater(rows, 0)), size,
         rules.small_file_bytes, "{value:,.0f} bytes (under {threshold:,})"),
        ("small_row_groups", pc.and_(pc.greater(groups, 1), pc.less(average, rules.min_row_group_bytes)), average,
         rules.min_row_group_bytes, "row groups of {value:,.0f} bytes on average, uncompressed (under {threshold:,})"),
        ("large_row_groups", pc.greater(average, rules.max_row_group_bytes), average, rules.max_row_group_bytes,
         "row groups of {value:,.0f} bytes on average, uncompressed (over {threshold:,})"),
        ("many_row_groups", pc.greater(groups, rules.max_row_groups), groups, rules.max_row_groups,
         "{value:,.0f} row groups (over {threshold:,})"),
        ("large_footer", pc.and_(pc.greater_equal(footer, rules.min_footer_bytes),
                                 pc.greater(share, rules.max_footer_share)), share, rules.max_footer_share,
         "a footer of {value:.0%} of the compressed column data (over {threshold:.0%})"),
    )
    return [(flag, pc.fill_null(mask, False), values, threshold, text, names)
            for flag, mask, values, threshold, text in checks]


def _ok_files(files: pa.Table, names: List[str]) -> pa.Table:
    """The ``names`` columns of the ok files (no copy when every file is ok)."""
    table = files.select(names + ["status"])
    ok = pc.equal(table.column("status"), "ok")
    return table if pc.all(ok).as_py() is not False else table.filter(ok)


def _file_flags(files: pa.Table, rules: HealthRules, per_flag: Optional[int] = None) -> List[Dict[str, object]]:
    """Rows of the per-file flags: a Python row only per flag raised (the first ``per_flag``)."""
    out: List[Dict[str, object]] = []
    for flag, mask, values, threshold, text, names in _file_checks(files, rules):
        hits = pc.indices_nonzero(mask)
        if per_flag is not None:
            hits = hits.slice(0, per_flag)
        for name, value in zip(names.take(hits).to_pylist(), values.take(hits).to_pylist()):
            out.append({"flag": flag, "file_name": name, "value": value, "threshold": threshold,
                        "detail": text.format(value=value, threshold=threshold)})
    return out


def health_counts(files: pa.Table, columns: pa.Table, keys: Sequence[str],
                  rules: Optional[HealthRules] = None) -> Dict[str, int]:
    """Flags raised, per flag (those raised only, in :data:`FLAGS` order): what the summary
    shows, without a row per flagged file."""
    rules = rules or HealthRules()
    counts = {flag: int(pc.sum(pc.cast(mask, pa.int64())).as_py() or 0)
              for flag, mask, *_ in _file_checks(files, rules)}
    for row in _column_flags(files, columns) + _partition_flags(files, columns, keys):
        counts[str(row["flag"])] = counts.get(str(row["flag"]), 0) + 1
    return {flag: counts[flag] for flag in FLAGS if counts.get(flag)}


def _column_flags(files: pa.Table, columns: pa.Table) -> List[Dict[str, object]]:
    """``no_statistics``: per column path, the ok files where it has values but no bounds
    (a path is one row per file in ``columns``). Masks by numpy; strings only for the
    paths that lack bounds somewhere."""
    if not columns.num_rows:
        return []
    ok_file = pc.equal(files.column("status"), "ok").to_numpy(zero_copy_only=False)
    ok_row = ok_file[columns.column("file_id").to_numpy()]
    nulls = pc.fill_null(columns.column("stats_null_count"), 0)
    has_values = pc.greater(columns.column("num_values"), nulls).to_numpy(zero_copy_only=False)
    no_bounds = pc.is_null(columns.column("stats_kind")).to_numpy(zero_copy_only=False)
    lacking = ok_row & has_values & no_bounds
    if not lacking.any():
        return []
    paths = columns.column("path_in_schema")
    lacking_counts = pc.value_counts(paths.filter(pa.array(lacking)).cast(pa.string()))
    flagged = lacking_counts.field("values")
    in_flagged = pc.is_in(paths.cast(pa.string()), value_set=flagged).to_numpy(zero_copy_only=False)
    totals = pc.value_counts(paths.filter(pa.array(ok_row & in_flagged)).cast(pa.string()))
    total_of = dict(zip(totals.field("values").to_pylist(), totals.field("counts").to_pylist()))
    out: List[Dict[str, object]] = []
    for path, count in zip(flagged.to_pylist(), lacking_counts.field("counts").to_pylist()):
        out.append({"flag": "no_statistics", "column": path, "value": count, "threshold": 0,
                    "detail": f"{count:,} of {total_of[path]:,} files have values but no min/max"})
    return out


def partition_labels(files: pa.Table, keys: Sequence[str]) -> pa.DictionaryArray:
    """Each file's hive partition as ``key=value/...`` (``""`` without keys), dictionary-
    encoded: one Arrow pass, no string per file. A null value, and a file outside any
    ``key=value`` directory of that key, read ``key=__HIVE_DEFAULT_PARTITION__`` (what
    Hive writes for null)."""
    if not keys:
        return pa.DictionaryArray.from_arrays(pa.array(np.zeros(files.num_rows, np.int32)), pa.array([""]))
    parts = [pc.binary_join_element_wise(f"{key}=", pc.fill_null(files.column(key).cast(pa.string()), HIVE_NULL), "")
             for key in keys]
    joined = pc.binary_join_element_wise(*parts, "/") if len(parts) > 1 else parts[0]
    if isinstance(joined, pa.ChunkedArray):
        joined = joined.combine_chunks()
    return joined.dictionary_encode()


def _partition_flags(files: pa.Table, columns: pa.Table, keys: Sequence[str]) -> List[Dict[str, object]]:
    """``mixed_codecs`` and ``mixed_writers`` per hive partition (the lake without keys):
    distinct (partition, value) pairs by Arrow, then a set per partition."""
    if not keys:  # one partition: the distinct values of whole columns
        found = {"mixed_writers": {"": _distinct(_ok_files(files, ["created_by"]).column("created_by"))}}
        if columns.num_rows:
            found["mixed_codecs"] = {"": _split(_distinct(columns.column("compression")))}
    else:
        labels = partition_labels(files, keys)
        label_of = labels.indices
        ok = pc.equal(files.column("status"), "ok")
        writers = pa.table({"label": label_of, "value": files.column("created_by").cast(pa.string())}).filter(ok)
        found = {"mixed_writers": _distinct_per_label(writers, labels.dictionary)}
        if columns.num_rows:
            codecs = pa.table({"label": label_of.take(columns.column("file_id")),
                               "value": columns.column("compression").cast(pa.string())})
            found["mixed_codecs"] = {label: _split(values)
                                     for label, values in _distinct_per_label(codecs, labels.dictionary).items()}
    out: List[Dict[str, object]] = []
    for flag, what in (("mixed_codecs", "codecs"), ("mixed_writers", "writers")):
        for label, distinct in found.get(flag, {}).items():
            if len(distinct) > 1:
                shown = sorted("(none)" if d is None else d for d in distinct)
                out.append({"flag": flag, "partition": label, "value": len(distinct), "threshold": 1,
                            "detail": f"{len(distinct)} {what}: " + "; ".join(shown)})
    return out


def _distinct_per_label(table: pa.Table, dictionary: pa.Array) -> Dict[str, set]:
    """Partition label -> the distinct values in ``table`` (columns ``label``, ``value``)."""
    pairs = table.group_by(["label", "value"], use_threads=False).aggregate([])
    out: Dict[str, set] = {}
    for label, value in zip(dictionary.take(pairs.column("label")).to_pylist(), pairs.column("value").to_pylist()):
        out.setdefault(label, set()).add(value)
    return out


def _distinct(column: pa.ChunkedArray) -> set:
    """The distinct values of a column (nulls as ``None``), chunk by chunk: for a
    dictionary chunk the unique of its indices (its dictionary may hold values of rows
    filtered out since)."""
    out: set = set()
    for chunk in column.chunks:
        out.update(pc.unique(chunk).to_pylist())
    return out


def _split(codec_lists: set) -> set:
    """The codecs of ``"SNAPPY, ZSTD"``-style values (a column chunk's list), nulls left out."""
    return {codec for value in codec_lists if value for codec in value.split(", ")}
