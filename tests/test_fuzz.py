"""Hypothesis mutations of real footers: the result is a dict or a RugoError, nothing else."""
from __future__ import annotations

import io
import struct

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import rugo.parquet as pm
from rugo.errors import RugoError


def _footer_of(table: pa.Table, **write_opts) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, **write_opts)
    data = buf.getvalue()
    n = struct.unpack("<I", data[-8:-4])[0]
    return data[-8 - n:-8]


def _seed_footers() -> list:
    nested = pa.table({
        "l": pa.array([[1, 2], None], pa.list_(pa.int64())),
        "s": pa.array([{"a": 1, "b": "x"}, None], pa.struct([("a", pa.int32()), ("b", pa.string())])),
        "m": pa.array([[("k", 1)], None], pa.map_(pa.string(), pa.int64())),
    })
    flat = pa.table({"i": [1, 2, 3], "f": [0.5, None, 2.0], "t": ["a", "b", None],
                     "ts": pa.array([1, 2, 3], pa.timestamp("us", tz="UTC")),
                     "d": pa.array([1, 2, 3], pa.decimal128(9, 2))})
    return [_footer_of(flat), _footer_of(nested, write_page_index=True), _footer_of(flat, row_group_size=1)]


SEEDS = _seed_footers()


def _check(footer: bytes, **opts) -> None:
    data = b"PAR1" + footer + struct.pack("<I", len(footer)) + b"PAR1"
    try:
        md = pm.read_metadata_from_bytes(data, **opts)
    except RugoError:
        return
    assert isinstance(md, dict) and isinstance(md["num_rows"], int)


mutation = st.tuples(st.integers(0, 10_000), st.integers(0, 255))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(range(len(SEEDS))), edits=st.lists(mutation, min_size=1, max_size=8),
       cut=st.integers(0, 10_000), opts=st.sampled_from([{}, {"schema_only": True}, {"include_statistics": False},
                                                         {"max_row_groups": 1}]))
def test_mutated_real_footers(seed, edits, cut, opts):
    footer = bytearray(SEEDS[seed])
    for pos, value in edits:
        footer[pos % len(footer)] = value
    _check(bytes(footer), **opts)
    _check(bytes(footer[: cut % (len(footer) + 1)]), **opts)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_random_footers(blob):
    _check(blob)


@settings(max_examples=200, deadline=None)
@given(seed=st.sampled_from(range(len(SEEDS))), start=st.integers(0, 10_000), length=st.integers(1, 64),
       insert=st.binary(max_size=16))
def test_spliced_footers(seed, start, length, insert):
    footer = SEEDS[seed]
    k = start % len(footer)
    _check(footer[:k] + insert + footer[k + length:])


@pytest.mark.parametrize("k", range(len(SEEDS)))
def test_every_prefix_of_a_footer(k):
    footer = SEEDS[k]
    for cut in range(len(footer)):
        _check(footer[:cut])
