"""``_footer.parse_batch`` against the Python rows of ``catalogue_reference.parse_batch``.

The C batch path must give exactly the rows of the Python dict path: every field of every
table, error rows included, for real files, generated lakes, hand-built oddities and
mutated footers. Bounds are compared by type, value and repr (``Decimal('1.0')`` is not
``Decimal('1.00')``, ``-0.0`` is not ``0.0``), NaN equal to NaN.
"""
from __future__ import annotations

import datetime as dt
import io
import math
import mmap
import struct
import tracemalloc
from decimal import Decimal
from multiprocessing import shared_memory
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from compact import (BINARY, I32, I64, LIST, STRUCT, file_bytes, file_metadata, i, list_, row_group, s,
                     schema_element, struct_)
from rugo import _footer
from catalogue_reference import TABLE_TYPES, parse_batch, parse_batch_arrow, tables_from_columns
from scanner.fields import DETAILS
from scanner_helpers import make_lake, typed_table, write
from test_fuzz import SEEDS

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
CORPUS = CORPUS if CORPUS.is_dir() else Path("/work/shared/corpus")
CORPUS_FILES = sorted(p for p in CORPUS.rglob("*") if p.is_file()) if CORPUS.is_dir() else []
needs_corpus = pytest.mark.skipif(not CORPUS_FILES, reason=f"no corpus at {CORPUS} (see /work/shared/corpus)")

Spans = List[Tuple[int, int]]


# --------------------------------------------------------------------------- comparing


def same(a: Any, b: Any) -> bool:
    """Equal values of the same type and repr; NaN equals NaN; lists item by item."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(same, a, b))
    return a == b and repr(a) == repr(b)


def assert_tables_equal(got: Dict[str, pa.Table], want: Dict[str, pa.Table], where: str) -> None:
    for name, schema in TABLE_TYPES.items():
        assert got[name].schema == schema and want[name].schema == schema
        assert got[name].num_rows == want[name].num_rows, f"{where}: {name} rows"
        for field in schema.names:
            a, b = got[name][field].to_pylist(), want[name][field].to_pylist()
            bad = [k for k, (x, y) in enumerate(zip(a, b)) if not same(x, y)]
            assert not bad, f"{where}: {name}.{field} row {bad[0]}: C {a[bad[0]]!r} != Python {b[bad[0]]!r}"


def check(buf: Any, spans: Spans, where: str = "") -> Dict[str, Dict[str, pa.Table]]:
    """C tables == Python tables at every detail; returns the C tables per detail."""
    out = {}
    for detail in DETAILS:
        got = parse_batch_arrow(buf, spans, detail)
        assert_tables_equal(got, tables_from_columns(parse_batch(buf, spans, detail)), f"{where} {detail}")
        out[detail] = got
    return out


def pack(blobs: Sequence[bytes], gap: bytes = b"") -> Tuple[bytearray, Spans]:
    """The blobs one after the other (``gap`` between them) and their spans."""
    buf, spans = bytearray(), []
    for blob in blobs:
        buf += gap
        spans.append((len(buf), len(buf) + len(blob)))
        buf += blob
    return buf, spans


def files_of(tables: Dict[str, pa.Table], field: str) -> List[Any]:
    return tables["files"][field].to_pylist()


# --------------------------------------------------------------------------- real files


@needs_corpus
@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: str(p.relative_to(CORPUS)))
def test_corpus_file(path: Path) -> None:
    data = path.read_bytes()
    check(data, [(0, len(data))], str(path))


@needs_corpus
def test_corpus_in_one_buffer() -> None:
    buf, spans = pack([p.read_bytes() for p in CORPUS_FILES], gap=b"junk")
    tables = check(buf, spans, "corpus")["row_groups"]
    kinds = set(files_of(tables, "error_type"))
    assert {None, "NotParquetError", "EncryptedFooterError", "ParquetFormatError"} <= kinds
    assert tables["row_groups"].num_rows > 1000


# --------------------------------------------------------------------------- generated lakes


def _more_files(root: Path) -> List[Path]:
    """Files beyond the standard lake: layouts and types the aggregation must get right."""
    big = typed_table(200)
    wide_types = pa.table({
        "ns": pa.array([0, 10**18, 5], pa.timestamp("ns", tz="UTC")),
        "ns_local": pa.array([0, -5, 7], pa.timestamp("ns")),
        "t32": pa.array([1000, 2000, 3], pa.time32("ms")),
        "t64": pa.array([10**9, 2, 3], pa.time64("us")),
        "f32": pa.array([1.5, -0.0, 0.0], pa.float32()),
        "f64": pa.array([float("inf"), -1e300, float("nan")]),
        "d256": pa.array([Decimal("1.5"), Decimal("-2.25"), None], pa.decimal256(40, 2)),
        "fixed": pa.array([b"ab", b"cd", b"ef"], pa.binary(2)),
        "u8": pa.array([0, 255, 7], pa.uint8()),
        "u32": pa.array([0, 2**32 - 1, 7], pa.uint32()),
        "empty_str": pa.array(["", "é", "\u2603"]),
        "all_null": pa.array([None, None, None], pa.int32()),
        "large": pa.array(["x", "y", None], pa.large_string()),
        "dict": pa.array(["a", "b", "a"]).dictionary_encode(),
        "map": pa.array([[("k", 1)], [], None], pa.map_(pa.string(), pa.int64())),
    })
    return [
        write(root / "many_rg.parquet", big, row_group_size=17),
        write(root / "codecs.parquet", big, row_group_size=50,
              compression={"id": "snappy", "name": "zstd", "score": "gzip", "flag": "none"}),
        write(root / "no_dict.parquet", big, row_group_size=60, use_dictionary=False,
              column_encoding={"id": "DELTA_BINARY_PACKED", "score": "BYTE_STREAM_SPLIT"}),
        write(root / "v1.parquet", big, row_group_size=90, version="1.0", data_page_version="1.0"),
        write(root / "types.parquet", wide_types, row_group_size=1),
        write(root / "types_one_rg.parquet", wide_types),
        write(root / "empty.parquet", typed_table(0)),
        write(root / "stats_off_some.parquet", big, row_group_size=70, write_statistics=["id", "name"]),
        write(root / "meta.parquet", typed_table(5), {"b": "2", "a": "1", "": "empty"}),
        write(root / "bloom.parquet", big, row_group_size=100,
              bloom_filter_options={"id": {"ndv": 10}, "name": {"ndv": 10}}, write_page_index=True),
    ]


def _lake_files(root: Path) -> List[Path]:
    paths = make_lake(root / "lake")
    skip = {"unreadable", "symlink", "broken_symlink"}
    return [p for name, p in paths.items() if name not in skip] + _more_files(root / "more")


def test_generated_lake_file_by_file(tmp_path: Path) -> None:
    for path in _lake_files(tmp_path):
        data = path.read_bytes()
        check(data, [(0, len(data))], path.name)


def test_generated_lake_in_one_buffer_tails_and_whole_files(tmp_path: Path) -> None:
    blobs = []
    for path in _lake_files(tmp_path):
        data = path.read_bytes()
        blobs += [data, data[-min(len(data), 300):]]   # the whole file, then a tail (often too short)
    buf, spans = pack(blobs, gap=b"\0" * 3)
    tables = check(buf, spans, "lake")["row_groups"]
    errors = files_of(tables, "error_type")
    assert errors.count(None) >= 15 and "FooterLengthError" in errors and "NotParquetError" in errors


def test_same_schema_gets_one_fingerprint_and_files_keep_their_positions(tmp_path: Path) -> None:
    a = write(tmp_path / "a.parquet", typed_table(10)).read_bytes()
    b = write(tmp_path / "b.parquet", typed_table(20, offset=5), row_group_size=3).read_bytes()
    c = write(tmp_path / "c.parquet", typed_table(10).drop_columns(["blob"])).read_bytes()
    buf, spans = pack([a, b"not parquet", b, c, a])
    tables = check(buf, spans)["columns"]
    prints = files_of(tables, "schema_fingerprint")
    assert prints[0] == prints[2] == prints[4] != prints[3] and prints[1] is None
    assert sorted(set(tables["columns"]["file_pos"].to_pylist())) == [0, 2, 3, 4]


# --------------------------------------------------------------------------- hand-built footers


def stats(lo: bytes, hi: bytes, null_count: int = -1, modern: bool = False) -> bytes:
    """Statistics: legacy min/max (fields 2, 1) or min_value/max_value (6, 5)."""
    fields = [(6, BINARY, s(lo)), (5, BINARY, s(hi))] if modern else [(2, BINARY, s(lo)), (1, BINARY, s(hi))]
    if null_count >= 0:
        fields.append((3, I64, i(null_count)))
    return struct_(*sorted(fields))


def f64(x: float) -> bytes:
    return struct.pack("<d", x)


def chunk(path: Sequence[Any] = ("x",), type_: int = 5, codec: int = 0, encodings: Sequence[int] = (0,),
          sizes: Tuple[int, int] = (100, 90), num_values: int = 3, st: bytes = b"", bloom: Optional[int] = None,
          meta: bool = True, column_index: Optional[int] = None) -> bytes:
    """A ColumnChunk (``meta=False``: without ColumnMetaData, as for an encrypted column)."""
    fields = [(2, I64, i(4))]
    if meta:
        m = [(1, I32, i(type_)), (2, LIST, list_(I32, [i(e) for e in encodings])),
             (3, LIST, list_(BINARY, [s(p) for p in path])), (4, I32, i(codec)), (5, I64, i(num_values)),
             (6, I64, i(sizes[0])), (7, I64, i(sizes[1])), (9, I64, i(4))]
        if st:
            m.append((12, STRUCT, st))
        if bloom is not None:
            m.append((14, I64, i(bloom)))
        fields.append((3, STRUCT, struct_(*sorted(m))))
    if column_index is not None:
        fields.append((6, I64, i(column_index)))
    return struct_(*fields)


def footer(row_groups: Sequence[Sequence[bytes]], leaves: Sequence[str] = ("x",), type_: int = 5,
           schema: Sequence[bytes] = (), kv: Sequence[Tuple[bytes, bytes]] = ()) -> bytes:
    """A whole file: root + optional leaves of physical ``type_`` (double), the row groups."""
    elements = list(schema) or [schema_element("schema", num_children=len(leaves))] + [
        schema_element(name, type_=type_, repetition=1) for name in leaves]
    extra = [(5, LIST, list_(STRUCT, [struct_((1, BINARY, s(k)), (2, BINARY, s(v))) for k, v in kv]))] if kv else []
    return file_bytes(file_metadata(elements, [row_group(cols) for cols in row_groups], extra=extra))


def test_bounds_follow_builtin_min_and_max_with_nan_and_signed_zero() -> None:
    def rg(lo: float, hi: float) -> List[bytes]:
        return [chunk(st=stats(f64(lo), f64(hi)))]

    nan = float("nan")
    files = [
        footer([rg(nan, 1.0), rg(1.0, nan), rg(0.5, 2.0)]),   # NaN first: kept
        footer([rg(1.0, 3.0), rg(nan, nan), rg(0.5, 2.0)]),   # NaN later: never smaller
        footer([rg(0.0, -0.0), rg(-0.0, 0.0)]),                # ties keep the first
        footer([rg(nan, nan)]),                                 # one row group: as it is
        footer([rg(1.0, 2.0), [chunk()], rg(0.0, 5.0)]),       # a row group without statistics
    ]
    buf, spans = pack(files)
    cols = check(buf, spans)["columns"]["columns"]
    lows, highs = cols["stats_min"].to_pylist(), cols["stats_max"].to_pylist()
    assert math.isnan(lows[0]) and highs[0] == 2.0
    assert lows[1] == 0.5 and highs[1] == 3.0
    assert repr(lows[2]) == "0.0" and repr(highs[2]) == "-0.0"
    assert lows[4] is None and highs[4] is None


def test_chunks_without_metadata_fail_like_the_worker() -> None:
    files = [footer([[chunk(meta=False)]]), footer([[chunk()], [chunk(meta=False, column_index=9)]]),
             footer([[chunk(), chunk(meta=False)]], leaves=("x", "y"))]
    buf, spans = pack(files)
    tables = check(buf, spans)
    assert set(files_of(tables["files"], "error")) == {"unsupported operand type(s) for +: 'int' and 'NoneType'"}
    assert set(files_of(tables["columns"], "error")) == {"'NoneType' object is not iterable"}
    assert set(files_of(tables["row_groups"], "error_type")) == {"TypeError"}


def test_schema_leaves_the_worker_does_not_count() -> None:
    # an element declaring num_children = 0 is a leaf to the schema, not to the worker
    odd = [schema_element("schema", num_children=2), schema_element("x", type_=5, repetition=1),
           schema_element("y", type_=5, repetition=1, num_children=0)]
    files = [footer([], schema=odd), footer([[chunk(), chunk(("y",))]], schema=odd),
             footer([[chunk()]], schema=odd)]
    buf, spans = pack(files)
    tables = check(buf, spans)["columns"]
    assert files_of(tables, "num_columns")[0] == 1 and tables["columns"]["path_in_schema"].to_pylist() == ["x"]
    assert files_of(tables, "error_type")[1:] == ["ValueError", "ParquetFormatError"]
    assert files_of(tables, "error")[1] == "row group 0 has 2 column chunks but the schema has 1 leaf columns"


def test_row_groups_of_the_wrong_width_and_without_columns() -> None:
    files = [footer([[chunk()], [chunk(), chunk()]]), footer([[]]), footer([[]], leaves=()),
             footer([], leaves=()), footer([[], []], leaves=())]
    buf, spans = pack(files)
    tables = check(buf, spans)["row_groups"]
    assert files_of(tables, "error_type") == ["ParquetFormatError", "ParquetFormatError", None, None, None]
    assert files_of(tables, "total_compressed_size")[2:] == [0, 0, 0]


def test_encodings_and_codecs_joined_like_the_worker() -> None:
    files = [
        footer([[chunk(codec=1, encodings=(0, 3))], [chunk(codec=1, encodings=(0, 3))]]),   # alike
        footer([[chunk(codec=1, encodings=(8, 3))], [chunk(codec=6, encodings=(0, 3, 8))],
                [chunk(codec=1, encodings=())]]),                                          # differ
        footer([[chunk(codec=99, encodings=(1, 42, 42, -3))], [chunk(codec=99, encodings=(42,))]]),  # unknown
        footer([[chunk(codec=-1, encodings=(0,)), chunk(codec=7, encodings=(9,))]], leaves=("a", "b")),
    ]
    buf, spans = pack(files)
    tables = check(buf, spans)["row_groups"]
    assert tables["columns"]["encodings"].to_pylist() == [
        "PLAIN, RLE", "RLE_DICTIONARY, RLE, PLAIN", "1, 42, -3", "PLAIN", "BYTE_STREAM_SPLIT"]
    assert tables["columns"]["compression"].to_pylist() == ["SNAPPY", "SNAPPY, ZSTD", "99", "-1", "LZ4_RAW"]
    assert tables["row_groups"]["encodings"].to_pylist()[2:5] == ["RLE_DICTIONARY, RLE", "PLAIN, RLE, RLE_DICTIONARY", ""]


def test_flags_sums_and_paths() -> None:
    files = [
        footer([[chunk(bloom=0, column_index=0)], [chunk(bloom=-5, column_index=0)]]),   # 0 is "none"
        footer([[chunk(bloom=0, column_index=7)]]),
        footer([[chunk(st=stats(f64(1), f64(2), null_count=3))], [chunk(st=stats(f64(1), f64(2)))]]),
        footer([[chunk(path=("other", b"\xff"), num_values=2**40)], [chunk(num_values=7)]]),
    ]
    buf, spans = pack(files)
    tables = check(buf, spans)["row_groups"]
    cols = tables["columns"]
    assert cols["has_bloom_filter"].to_pylist() == [True, False, False, False]
    assert cols["has_page_index"].to_pylist() == [False, True, False, False]
    assert cols["stats_null_count"].to_pylist()[2] is None and cols["num_values"].to_pylist()[3] == 2**40 + 7
    assert tables["row_groups"]["path_in_schema"].to_pylist()[5] == "other.\ufffd"


def test_key_value_keys_in_file_order_deduplicated() -> None:
    """Keys are text: a key that is not UTF-8 is decoded with U+FFFD (an index column is
    list<string>; a bytes key once made writing the index fail)."""
    files = [footer([[chunk()]], kv=[(b"b", b"1"), (b"a", b"2"), (b"b", b"3"), (b"\xff", b"4"), (b"", b"")])]
    buf, spans = pack(files)
    assert files_of(check(buf, spans)["files"], "key_value_keys") == [["b", "a", "\ufffd", ""]]


def test_a_sum_beyond_int64_is_an_error_row() -> None:
    # Python ints just grow (a value the int64 catalogue cannot hold); the batch path says so
    half = 2**62
    data = footer([[chunk(sizes=(half, half))], [chunk(sizes=(half, half))]])
    py = parse_batch(data, [(0, len(data))], "columns")
    assert py["columns"]["total_compressed_size"] == [2**63] and py["files"]["error"] == [None]
    for detail in DETAILS:
        got = parse_batch_arrow(data, [(0, len(data))], detail)
        assert files_of(got, "error_type") == ["OverflowError"]
        assert "exceeds the int64 range" in files_of(got, "error")[0]
        assert got["columns"].num_rows == got["row_groups"].num_rows == 0


# --------------------------------------------------------------------------- mutated footers


def _compare_mutated(footer_bytes: bytes) -> None:
    data = file_bytes(footer_bytes)
    spans = [(0, len(data)), (0, len(data))]
    for detail in DETAILS:
        got = parse_batch_arrow(data, spans, detail)
        py = parse_batch(data, spans, detail)
        errors = files_of(got, "error_type")
        assert errors == [errors[0]] * 2
        if errors[0] == "OverflowError":   # the one intended difference (see the test above)
            assert py["files"]["error_type"][0] is None
            continue
        assert_tables_equal(got, tables_from_columns(py), f"mutated {detail}")


mutation = st.tuples(st.integers(0, 10_000), st.integers(0, 255))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(range(len(SEEDS))), edits=st.lists(mutation, min_size=1, max_size=8),
       cut=st.integers(0, 10_000))
def test_mutated_footers_give_the_same_rows(seed: int, edits: List[Tuple[int, int]], cut: int) -> None:
    footer_bytes = bytearray(SEEDS[seed])
    for pos, value in edits:
        footer_bytes[pos % len(footer_bytes)] = value
    _compare_mutated(bytes(footer_bytes))
    _compare_mutated(bytes(footer_bytes[: cut % (len(footer_bytes) + 1)]))


@pytest.mark.parametrize("k", range(len(SEEDS)))
def test_every_prefix_of_a_footer(k: int) -> None:
    seed = SEEDS[k]
    blobs = [file_bytes(seed[:cut]) for cut in range(0, len(seed), 7)]
    buf, spans = pack(blobs)
    check(buf, spans, f"prefixes of seed {k}")


# --------------------------------------------------------------------------- resources and API


def test_huge_declared_list_does_not_allocate() -> None:
    schema = list_(STRUCT, [schema_element("schema", num_children=0)])
    for claimed in (2**31 - 1, 2**32 - 1):
        footer_bytes = struct_((1, I32, i(1)), (2, LIST, schema), (3, I64, i(0)),
                               (4, LIST, list_(STRUCT, [], count=claimed)))
        data = file_bytes(footer_bytes)
        tracemalloc.start()
        try:
            _footer.parse_batch(data, [(0, len(data))] * 3, 2)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 1 << 20
        tables = check(data, [(0, len(data))])["row_groups"]
        assert files_of(tables, "error_type") == ["ThriftDecodeError"]
        assert "list of %d elements" % claimed in files_of(tables, "error")[0]


def test_the_buffer_is_released_on_every_path(tmp_path: Path) -> None:
    data = write(tmp_path / "a.parquet").read_bytes()
    ba = bytearray(data)
    _footer.parse_batch(ba, [(0, len(ba)), (0, 5)], 2)
    with pytest.raises(TypeError):
        _footer.parse_batch(ba, [(0, len(ba)), ("a", 5)], 1)
    with pytest.raises(ValueError):
        _footer.parse_batch(ba, [(0, 1, 2)], 1)
    with pytest.raises(ValueError):
        _footer.parse_batch(ba, [], 3)
    ba.extend(b"more")   # no export left: resizing works
    shm = shared_memory.SharedMemory(create=True, size=len(data))
    try:
        shm.buf[: len(data)] = data
        tables = parse_batch_arrow(shm.buf, [(0, len(data))], "row_groups")
        shm.close()   # BufferError if a view were left
    finally:
        shm.unlink()
    assert files_of(tables, "error") == [None] and tables["row_groups"].num_rows > 0
    path = tmp_path / "a.parquet"
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        parse_batch_arrow(m, [(0, len(m))], "files")
        m.close()


def test_spans_slice_like_memoryview() -> None:
    data = footer([[chunk()]])
    buf = b"xx" + data + b"yy"
    n = len(buf)
    spans = [(2, n - 2), (2 - n, -2), (-n - 5, n + 99), (n, 0), (None, -2), (5, 3), (2**70, -(2**70))]
    tables = check(buf, spans)["files"]
    assert files_of(tables, "error_type") == [None, None, "NotParquetError", "NotParquetError", None,
                                              "NotParquetError", "NotParquetError"]


def test_api_errors() -> None:
    with pytest.raises(ValueError, match="C-contiguous"):
        _footer.parse_batch(memoryview(b"abcdef")[::2], [(0, 1)], 0)
    with pytest.raises(ValueError, match="one-dimensional bytes"):
        _footer.parse_batch(memoryview(b"abcdefgh").cast("i"), [(0, 1)], 0)
    with pytest.raises(TypeError):
        _footer.parse_batch(b"abc", 5, 0)
    with pytest.raises(TypeError):
        _footer.parse_batch("text", [], 0)
    empty = parse_batch_arrow(b"", [], "row_groups")
    assert all(t.num_rows == 0 and t.schema == TABLE_TYPES[n] for n, t in empty.items())


def test_tables_pickle_and_cross_ipc(tmp_path: Path) -> None:
    import pickle

    data = write(tmp_path / "a.parquet").read_bytes()
    tables = parse_batch_arrow(data, [(0, len(data))], "row_groups")
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, tables["columns"].schema) as writer:
        writer.write_table(tables["columns"])
    back = pa.ipc.open_stream(sink.getvalue()).read_all()
    assert_tables_equal({**tables, "columns": back}, tables, "ipc")
    assert pickle.loads(pickle.dumps(tables["files"])).equals(tables["files"])
    assert isinstance(tables["columns"]["stats_min"].to_pylist()[6], dt.date)
