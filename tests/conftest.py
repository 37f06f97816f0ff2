"""Shared fixtures: small Parquet files generated with pyarrow in tmp_path."""
from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).parent))   # tests import their helpers (compact, reference)


@pytest.fixture
def small_file(tmp_path: Path) -> Path:
    """Two row groups, a string and an int column, statistics on."""
    path = tmp_path / "small.parquet"
    table = pa.table({"id": list(range(10)), "name": [f"n{k}" for k in range(10)]})
    pq.write_table(table, path, row_group_size=5)
    return path


@pytest.fixture
def big_footer_file(tmp_path: Path) -> Path:
    """A footer larger than the 64 KiB first read (many columns)."""
    path = tmp_path / "wide.parquet"
    table = pa.table({f"column_with_a_long_name_{k:05d}": [k] for k in range(1500)})
    pq.write_table(table, path)
    return path
