"""The report's x-axis: files put in ordered groups, by hive partition or by modification time.

A lake with partitions is drawn partition by partition: grouped by as many leading keys as
keep the groups at most :data:`MAX_GROUPS` (``year`` before ``year/month`` before
``year/month/day``), ordered by typed values (:func:`scanner.query.partitions.typed_partition_values`:
ints as numbers, dates as dates, nulls last). A lake without partitions is drawn over
``mtime_ns``, in calendar buckets (hour, day, week, month, quarter, year: the finest that
gives at most :data:`MAX_GROUPS`), empty buckets included so that time reads evenly.

Either way each file gets a group code (-1: none, e.g. no modification time), so any
per-file quantity becomes a per-group series with one ``numpy.bincount``: the plots hold
one value per group, never one per file.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence

import numpy as np
import pyarrow as pa

from scanner.query.partitions import typed_partition_values

__all__ = ["Groups", "MAX_GROUPS", "groups"]

#: At most this many groups on an axis (more partitions: fewer keys, or runs of them merged).
MAX_GROUPS = 120

#: Longest tick label (longer ones are cut, marked with an ellipsis).
LABEL_CHARS = 24

#: Calendar buckets, finest first: pandas period frequency, its rough length in seconds, label.
_BUCKETS = (("h", 3600, "hour"), ("D", 86400, "day"), ("W", 7 * 86400, "week"), ("M", 31 * 86400, "month"),
            ("Q", 92 * 86400, "quarter"), ("Y", 366 * 86400, "year"))


@dataclass
class Groups:
    """Files in ordered groups: ``codes[i]`` is file ``i``'s group (-1: in none)."""

    codes: np.ndarray
    labels: List[str]  # one per group, in axis order
    axis: str  # what the groups are, for the axis label: "partition (year/month)", "modified (month)"

    def __len__(self) -> int:
        return len(self.labels)

    def total(self, values: np.ndarray, where: np.ndarray) -> np.ndarray:
        """Per group, the sum of ``values`` over the files where ``where`` holds."""
        keep = where & (self.codes >= 0)
        return np.bincount(self.codes[keep], weights=values[keep].astype(np.float64), minlength=len(self))


def groups(files: pa.Table, keys: Sequence[str]) -> Groups:
    """The groups of a catalogue's ``files`` part (see the module docstring)."""
    if keys:
        return _by_partition(files, list(keys))
    return _by_time(files.column("mtime_ns").to_numpy(zero_copy_only=False))


def _by_partition(files: pa.Table, keys: List[str]) -> Groups:
    import pandas as pd

    typed = pd.DataFrame({key: typed_partition_values(files.column(key).to_pylist()) for key in keys})
    used = keys[:1]
    for depth in range(2, len(keys) + 1):  # the deepest key prefix that keeps few groups
        if typed.groupby(keys[:depth], dropna=False, sort=False).ngroups > MAX_GROUPS:
            break
        used = keys[:depth]
    grouped = typed.groupby(used, dropna=False, sort=True)  # sorted by typed values, nulls last
    codes = grouped.ngroup().to_numpy(dtype=np.int64)
    labels = [_label(_tuple(index)) for index in grouped.size().index]
    axis = "partition (" + "/".join(used) + ")"
    if len(labels) > MAX_GROUPS:  # many values of the outer key: runs of neighbours merged
        merged = np.arange(len(labels)) * MAX_GROUPS // len(labels)
        starts = np.flatnonzero(np.r_[True, merged[1:] != merged[:-1]])
        ends = np.r_[starts[1:], len(labels)] - 1
        labels = [labels[s] if s == e else f"{labels[s]} … {labels[e]}" for s, e in zip(starts, ends)]
        codes = merged[codes]
        axis += ", neighbours merged"
    return Groups(codes, labels, axis)


def _label(values: tuple) -> str:
    """A group's tick label: its values joined by ``/`` (the axis names the keys), trailing
    nulls left out (a file above the deeper keys' directories), at most :data:`LABEL_CHARS`."""
    import pandas as pd

    texts = ["null" if pd.isna(v) else str(v) for v in values]
    while texts and texts[-1] == "null":
        texts.pop()
    label = "/".join(texts) or "(no partition)"
    return label if len(label) <= LABEL_CHARS else label[:LABEL_CHARS - 1] + "…"


def _tuple(index: object) -> tuple:
    return index if isinstance(index, tuple) else (index,)


def _by_time(mtime_ns: np.ndarray) -> Groups:
    import pandas as pd

    known = ~pd.isna(mtime_ns)
    stamps = pd.to_datetime(pd.Series(np.where(known, mtime_ns, 0).astype(np.int64)), unit="ns")
    if not known.any():
        return Groups(np.full(len(mtime_ns), -1, np.int64), [], "modified")
    span = (stamps[known].max() - stamps[known].min()).total_seconds()
    freq, _, name = next((b for b in _BUCKETS if span / b[1] < MAX_GROUPS - 1), _BUCKETS[-1])
    periods = stamps.dt.to_period(freq)
    ordinals = periods.array.asi8
    first = ordinals[known].min()
    codes = np.where(known, ordinals - first, -1).astype(np.int64)
    every = pd.period_range(periods[known].min(), periods[known].max(), freq=freq)
    labels = [str(p.start_time.date()) if freq == "W" else str(p) for p in every]
    return Groups(codes, labels, f"modified ({name}, UTC)")
