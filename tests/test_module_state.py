"""``rugo._footer`` keeps its state per module object (PEP 489 multi-phase init).

Each module object (one per interpreter, or one per explicit re-creation) owns its interned
keys, error classes, templates and schema cache; a subinterpreter gets its own and raises
its own ``rugo.errors`` classes; a module object that is dropped is collected (traverse /
clear / free visit every object of the state) without disturbing another.
"""
from __future__ import annotations

import datetime as dt
import gc
import importlib
import importlib.util
import subprocess
import sys
import textwrap
import weakref
from pathlib import Path
from typing import Any, Dict

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import rugo.parquet
from rugo import _footer

try:   # CPython's private subinterpreter module (3.8 - 3.12 under this name)
    import _xxsubinterpreters as subinterpreters
except ImportError:   # pragma: no cover - other Pythons
    subinterpreters = None

needs_subinterpreters = pytest.mark.skipif(subinterpreters is None, reason="no _xxsubinterpreters here")


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """A small file whose statistics need the state's helpers (UTC, Decimal, blake2b)."""
    table = pa.table({
        "id": pa.array([1, 2, 3], pa.int64()),
        "ts": pa.array([dt.datetime(2020, 1, d, tzinfo=dt.timezone.utc) for d in (1, 2, 3)],
                       pa.timestamp("us", tz="UTC")),
        "name": pa.array(["a", "b", None]),
    })
    path = tmp_path / "sample.parquet"
    pq.write_table(table, path, row_group_size=2)
    return path


def summary(md: Dict[str, Any]) -> str:
    """The parts of a result that go through the module state, as one comparable string."""
    cols = md["row_groups"][0]["columns"]
    return repr((md["num_rows"], md["schema_columns"], [(c["path_in_schema"], c["min"], c["max"]) for c in cols]))


def fingerprint(path: Path, module: Any = _footer) -> str:
    """The schema fingerprint parse_batch computes (hashlib.blake2b, kept in the state)."""
    data = path.read_bytes()
    return module.parse_batch(data, [(0, len(data))], 0)["files"]["schema_fingerprint"]


def run_in_subinterpreter(code: str) -> None:
    """Run ``code`` in a fresh subinterpreter, destroyed afterwards; its exception fails here."""
    interp = subinterpreters.create()
    try:
        subinterpreters.run_string(interp, textwrap.dedent(code))
    finally:
        subinterpreters.destroy(interp)


@needs_subinterpreters
def test_a_subinterpreter_reads_with_its_own_state(sample: Path) -> None:
    expected = summary(rugo.parquet.read_metadata(sample))
    expected_fp = fingerprint(sample)
    code = f"""
        import rugo.errors, rugo.parquet
        from rugo import _footer
        path = {str(sample)!r}
        md = rugo.parquet.read_metadata(path)
        cols = md["row_groups"][0]["columns"]
        got = repr((md["num_rows"], md["schema_columns"],
                    [(c["path_in_schema"], c["min"], c["max"]) for c in cols]))
        assert got == {expected!r}, got
        with open(path, "rb") as f:
            data = f.read()
        fp = _footer.parse_batch(data, [(0, len(data))], 0)["files"]["schema_fingerprint"]
        assert fp == {expected_fp!r}, fp
        try:   # the error class is this interpreter's rugo.errors class, not the main one's
            rugo.parquet.read_metadata_from_bytes(b"not a parquet file at all")
        except rugo.errors.NotParquetError:
            pass
        else:
            raise AssertionError("no NotParquetError")
    """
    for _ in range(2):   # a second interpreter after the first one's module state was freed
        run_in_subinterpreter(code)
    assert summary(rugo.parquet.read_metadata(sample)) == expected   # the main state is intact
    assert fingerprint(sample) == expected_fp


def test_a_second_module_object_has_its_own_state(sample: Path) -> None:
    spec = importlib.util.spec_from_file_location("rugo._footer", _footer.__file__)
    other = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(other)
    assert other is not _footer
    data = sample.read_bytes()
    assert summary(other.parse(data, True, -1)) == summary(_footer.parse(data, True, -1))
    assert fingerprint(sample, other) == fingerprint(sample)
    with pytest.raises(rugo.errors.NotParquetError):
        other.parse(b"not a parquet file at all", True, -1)
    ref = weakref.ref(other)
    del other
    gc.collect()
    assert ref() is None
    assert summary(_footer.parse(data, True, -1)) == summary(rugo.parquet.read_metadata(sample))


def test_reload_leaves_the_module_working(sample: Path) -> None:
    before = summary(rugo.parquet.read_metadata(sample))
    assert importlib.reload(_footer) is _footer   # an initialised extension is not re-executed
    assert summary(rugo.parquet.read_metadata(sample)) == before


def test_collecting_the_module_state_does_not_crash(sample: Path, tmp_path: Path) -> None:
    ns = tmp_path / "ns.parquet"   # nanosecond bounds: pandas.Timestamp, imported into the state
    pq.write_table(pa.table({"t": pa.array([1, 2], pa.timestamp("ns"))}), ns)
    code = f"""
        import gc, sys, weakref
        def parse_all():
            import rugo.parquet
            from rugo import _footer
            for path in ({str(sample)!r}, {str(ns)!r}):
                md = rugo.parquet.read_metadata(path)
                with open(path, "rb") as f:
                    data = f.read()
                _footer.parse_batch(data, [(0, len(data))], 2)
            try:
                rugo.parquet.read_metadata_from_bytes(b"PAR1 truncated PAR1")
            except rugo.errors.RugoError:
                pass
            return weakref.ref(_footer), md
        for round in range(2):   # the second import makes a new module object and state
            ref, md = parse_all()
            assert md["num_rows"] == 2, md
            for name in [n for n in sys.modules if n == "rugo" or n.startswith("rugo.")]:
                del sys.modules[name]
            del md
            gc.collect()
            assert ref() is None, "rugo._footer was not collected"
        print("ok")
    """
    done = subprocess.run([sys.executable, "-X", "dev", "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120)
    assert (done.returncode, done.stdout.strip()) == (0, "ok"), done.stderr
