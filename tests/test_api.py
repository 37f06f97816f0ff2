"""The public API: sources, options, buffers, errors."""
from __future__ import annotations

import inspect
import io
import mmap
import os
import pickle
import struct
from multiprocessing import shared_memory
from pathlib import Path

import numpy as np
import pytest

import rugo
import rugo.parquet as pm
from rugo import _footer
from rugo.errors import (EncryptedFooterError, FooterLengthError, NotParquetError, ParquetFormatError,
                         RugoError, ThriftDecodeError)


def test_three_functions_and_file_objects_agree(small_file: Path):
    data = small_file.read_bytes()
    expected = pm.read_metadata(small_file)
    assert pm.read_metadata(str(small_file)) == expected
    assert pm.read_metadata_from_bytes(data) == expected
    assert pm.read_metadata_from_bytes(bytearray(data)) == expected
    assert pm.read_metadata_from_memoryview(memoryview(data)) == expected
    assert pm.read_metadata_from_memoryview(np.frombuffer(data, dtype=np.uint8)) == expected
    assert pm.read_metadata(io.BytesIO(data)) == expected
    with open(small_file, "rb") as f:
        assert pm.read_metadata(f) == expected


def test_a_tail_is_enough(small_file: Path):
    data = small_file.read_bytes()
    md = pm.read_metadata_from_bytes(data)
    tail = data[-(md["footer_size"] + 8):]
    assert pm.read_metadata_from_bytes(tail) == md
    assert pm.read_metadata_from_memoryview(memoryview(data)[-(md["footer_size"] + 8):]) == md
    with pytest.raises(FooterLengthError):
        pm.read_metadata_from_bytes(tail[1:])


def test_large_footer_two_reads(big_footer_file: Path):
    md = pm.read_metadata(big_footer_file)
    assert md["footer_size"] > pm.TAIL_READ_SIZE
    assert len(md["schema_columns"]) == 1500
    assert pm.read_metadata(io.BytesIO(big_footer_file.read_bytes())) == md


class CountingReader(io.BytesIO):
    """A file object that counts read() calls and the bytes they return."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.reads = []

    def read(self, n=-1):
        out = super().read(n)
        self.reads.append(len(out))
        return out


def test_file_object_reads_only_the_tail(small_file: Path, big_footer_file: Path):
    f = CountingReader(b"\0" * 10_000_000 + small_file.read_bytes()[4:])
    pm.read_metadata(f)
    assert f.reads == [pm.TAIL_READ_SIZE]
    f = CountingReader(big_footer_file.read_bytes())
    md = pm.read_metadata(f)
    assert f.reads == [pm.TAIL_READ_SIZE, md["footer_size"] + 8]


def test_options(small_file: Path):
    full = pm.read_metadata(small_file)
    assert full["num_row_groups"] == 2 and len(full["row_groups"]) == 2
    schema_only = pm.read_metadata(small_file, schema_only=True)
    assert schema_only["row_groups"] == []
    assert {k: v for k, v in schema_only.items() if k != "row_groups"} == {k: v for k, v in full.items() if k != "row_groups"}
    first = pm.read_metadata(small_file, max_row_groups=1)
    assert first["row_groups"] == full["row_groups"][:1] and first["num_rows"] == 10 and first["num_row_groups"] == 2
    assert pm.read_metadata(small_file, max_row_groups=0)["row_groups"] == []
    assert pm.read_metadata(small_file, max_row_groups=5) == full
    nostats = pm.read_metadata(small_file, include_statistics=False)
    for rg_full, rg in zip(full["row_groups"], nostats["row_groups"]):
        for c_full, c in zip(rg_full["columns"], rg["columns"]):
            for key in ("min", "max", "null_count", "distinct_count", "is_min_exact", "is_max_exact"):
                assert c[key] is None
            assert {k: v for k, v in c.items() if c_full[k] is not None and v is not None} == \
                {k: v for k, v in c_full.items() if k not in ("min", "max", "null_count", "distinct_count",
                                                              "is_min_exact", "is_max_exact") and v is not None}


@pytest.mark.parametrize("kwargs, exc", [
    ({"max_row_groups": -2}, ValueError),
    ({"max_row_groups": "3"}, TypeError),
    ({"max_row_groups": True}, TypeError),
    ({"max_row_groups": 1.0}, TypeError),
    ({"schema_only": "yes"}, TypeError),
    ({"include_statistics": 1}, TypeError),
])
def test_bad_options(small_file: Path, kwargs, exc):
    data = small_file.read_bytes()
    for call in (lambda: pm.read_metadata(small_file, **kwargs),
                 lambda: pm.read_metadata_from_bytes(data, **kwargs),
                 lambda: pm.read_metadata_from_memoryview(memoryview(data), **kwargs)):
        with pytest.raises(exc):
            call()
    with pytest.raises(TypeError):
        pm.read_metadata(small_file, True)   # options are keyword-only


def test_non_contiguous_view_is_value_error(small_file: Path):
    data = small_file.read_bytes()
    with pytest.raises(ValueError, match="contiguous"):
        pm.read_metadata_from_memoryview(memoryview(data)[::2])
    with pytest.raises(TypeError):
        pm.read_metadata_from_bytes(memoryview(data))


def test_mmap_closes_right_after_a_read(small_file: Path):
    with open(small_file, "rb") as f:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        md = pm.read_metadata_from_memoryview(mm)
        mm.close()   # would raise BufferError if rugo still held the buffer
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        with pytest.raises(RugoError):
            pm.read_metadata_from_memoryview(memoryview(mm)[:-3])
        mm.close()
    assert md["num_rows"] == 10


def test_shared_memory_closes_right_after_a_read(small_file: Path):
    data = small_file.read_bytes()
    shm = shared_memory.SharedMemory(create=True, size=len(data))
    try:
        shm.buf[:len(data)] = data
        md = pm.read_metadata_from_memoryview(shm.buf[:len(data)])
        with pytest.raises(NotParquetError):
            pm.read_metadata_from_memoryview(shm.buf[:len(data) - 1])
        shm.close()
    finally:
        shm.unlink()
    assert md == pm.read_metadata(small_file)


BAD_INPUTS = [
    ("empty", b"", NotParquetError, "too short"),
    ("magic only", b"PAR1", NotParquetError, "too short"),
    ("two magics", b"PAR1PAR1", FooterLengthError, "exceeds"),
    ("length zero", b"PAR1" + struct.pack("<I", 0) + b"PAR1", FooterLengthError, "footer length is 0"),
    ("length 0xFFFFFFFF", b"PAR1" + b"\x00" * 20 + struct.pack("<I", 0xFFFFFFFF) + b"PAR1", FooterLengthError, "4294967295"),
    ("zeroed footer", b"PAR1" + b"\x00" * 50 + struct.pack("<I", 50) + b"PAR1", ThriftDecodeError, "missing required"),
    ("random bytes", bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8)), NotParquetError, "PAR1"),
    ("encrypted footer", b"PAR1" + b"\x01" * 30 + struct.pack("<I", 30) + b"PARE", EncryptedFooterError, "encrypted"),
    ("text", b"a,b,c\n1,2,3\n", NotParquetError, "not a Parquet file"),
]


@pytest.mark.parametrize("name, data, exc, message", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_inputs(tmp_path: Path, name, data, exc, message):
    path = tmp_path / "bad.parquet"
    path.write_bytes(data)
    with pytest.raises(exc, match=message) as info:
        pm.read_metadata(path)
    assert str(path) in str(info.value) and info.value.path == str(path)
    with pytest.raises(exc, match=message) as info:
        pm.read_metadata_from_bytes(data)
    assert info.value.path is None
    with pytest.raises(exc, match=message):
        pm.read_metadata_from_memoryview(memoryview(data))
    with pytest.raises(exc, match=message) as info:
        pm.read_metadata(io.BytesIO(data))


def test_truncated_file(small_file: Path, tmp_path: Path):
    data = small_file.read_bytes()
    path = tmp_path / "truncated.parquet"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(NotParquetError, match="truncated.parquet"):
        pm.read_metadata(path)


def test_missing_file_and_directory(tmp_path: Path):
    with pytest.raises(FileNotFoundError) as info:
        pm.read_metadata(tmp_path / "nope.parquet")
    assert info.value.filename == str(tmp_path / "nope.parquet")
    with pytest.raises(IsADirectoryError):
        pm.read_metadata(tmp_path)


def test_error_hierarchy():
    assert issubclass(ParquetFormatError, RugoError) and issubclass(ParquetFormatError, ValueError)
    for cls in (NotParquetError, FooterLengthError, ThriftDecodeError):
        assert issubclass(cls, ParquetFormatError)
    assert issubclass(EncryptedFooterError, RugoError) and not issubclass(EncryptedFooterError, ValueError)
    assert rugo.ThriftDecodeError is ThriftDecodeError


def test_errors_pickle_and_name_everything():
    exc = ThriftDecodeError("list of 9 elements but only 2 bytes left", "x.parquet", 17, "row_groups[3].columns")
    assert str(exc) == "x.parquet: list of 9 elements but only 2 bytes left (footer byte 17, at row_groups[3].columns)"
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is ThriftDecodeError and str(back) == str(exc)
    assert (back.path, back.offset, back.field, back.detail) == ("x.parquet", 17, "row_groups[3].columns", exc.detail)
    try:
        pm.read_metadata_from_bytes(b"PAR1" + b"\x00" * 50 + struct.pack("<I", 50) + b"PAR1")
    except ThriftDecodeError as real:
        again = pickle.loads(pickle.dumps(real))
        assert str(again) == str(real) and again.offset == real.offset


def test_stubs_match_the_extension():
    stub = (Path(rugo.__file__).parent / "_footer.pyi").read_text()
    public = sorted(n for n in dir(_footer) if not n.startswith("_"))
    functions = [n for n in public if callable(getattr(_footer, n))]
    assert functions == ["list_directory", "load_tails", "parse", "parse_batch", "plan_tail", "read_file"]
    for name in functions:
        assert f"def {name}(" in stub
    for name in set(public) - set(functions):
        assert f"\n{name}: int" in stub
    for fn in (pm.read_metadata, pm.read_metadata_from_bytes, pm.read_metadata_from_memoryview):
        params = inspect.signature(fn).parameters
        assert [p for p in params if params[p].kind is inspect.Parameter.KEYWORD_ONLY][:3] == \
            ["schema_only", "include_statistics", "max_row_groups"]
        assert fn.__doc__
    assert (Path(rugo.__file__).parent / "py.typed").exists()


def test_buffer_released_on_error_paths():
    data = bytearray(b"PAR1" + b"\x00" * 50 + struct.pack("<I", 50) + b"PAR1")
    with pytest.raises(ThriftDecodeError):
        pm.read_metadata_from_memoryview(data)
    data.extend(b"x")   # a bytearray with an exported buffer cannot be resized


def test_user_guide_examples(small_file: Path, monkeypatch):
    """The examples of the user guide page (in-memory-data.txt) run as written."""
    import rugo.parquet as parquet_meta
    monkeypatch.chdir(small_file.parent)
    os.rename(small_file, "example.parquet")
    with open("example.parquet", "rb") as f:
        data = f.read()
    metadata = parquet_meta.read_metadata_from_bytes(data)
    assert parquet_meta.read_metadata_from_memoryview(memoryview(data)) == metadata
    with open("example.parquet", "rb") as f:
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            assert parquet_meta.read_metadata_from_memoryview(memoryview(mm)) == metadata
    assert metadata["num_rows"] == 10 and len(metadata["schema_columns"]) == 2
    import pyarrow as pa
    import pyarrow.parquet as pq
    table = pa.table({'col1': [1, 2, 3], 'col2': ['a', 'b', 'c']})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    assert parquet_meta.read_metadata_from_bytes(buf.getvalue())["num_rows"] == 3
    # error handling: a caught exception, never a crash
    try:
        parquet_meta.read_metadata_from_bytes(b"garbage")
    except Exception as e:
        assert isinstance(e, RugoError)


def test_schema_cache_results_are_independent(small_file: Path, tmp_path: Path):
    """Files sharing a schema reuse cached schema objects; results never share dicts."""
    first = pm.read_metadata(small_file)
    first["schema"][1]["name"] = "changed"
    first["schema_columns"][0]["nullable"] = None
    first["schema_columns"].append({})
    second = pm.read_metadata(small_file)
    assert second["schema"][1]["name"] == "id" and second["schema_columns"][0]["nullable"] is True
    assert len(second["schema_columns"]) == 2
    assert second["schema"] is not first["schema"] and second["schema"][0] is not first["schema"][0]


def test_schema_cache_many_schemas_and_orders(tmp_path: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    paths = []
    for k in range(7):   # more schemas than cache slots, read round-robin twice
        path = tmp_path / f"s{k}.parquet"
        pq.write_table(pa.table({f"c{k}": [k, k + 1], "s": ["a", "b"]}), path)
        paths.append(path)
    expected = [pm.read_metadata_from_bytes(p.read_bytes()) for p in paths]
    for _ in range(2):
        for path, exp in zip(paths, expected):
            assert pm.read_metadata(path) == exp
    # same schema bytes, different column_orders: statistics follow each file's orders
    from compact import LIST, STRUCT, BINARY, file_bytes, file_metadata, list_, row_group, column_chunk, \
        schema_element, struct_, s
    stats = struct_((1, BINARY, s(struct.pack("<q", 9))), (2, BINARY, s(struct.pack("<q", -9))),
                    (5, BINARY, s(struct.pack("<q", 5))), (6, BINARY, s(struct.pack("<q", 1))))
    schema = [schema_element("schema", num_children=1), schema_element("x", type_=2, repetition=0)]
    legacy = file_metadata(schema, [row_group([column_chunk(["x"], stats=stats)])])
    typed = file_metadata(schema, [row_group([column_chunk(["x"], stats=stats)])],
                          extra=[(7, LIST, list_(STRUCT, [struct_((1, STRUCT, b"\x00"))]))])
    for _ in range(2):
        assert pm.read_metadata_from_bytes(file_bytes(legacy))["row_groups"][0]["columns"][0]["min"] == -9
        assert pm.read_metadata_from_bytes(file_bytes(typed))["row_groups"][0]["columns"][0]["min"] == 1


def test_threads_read_concurrently(small_file: Path, big_footer_file: Path):
    """Reads release the GIL for I/O and keep a buffer per thread: results stay exact."""
    from concurrent.futures import ThreadPoolExecutor
    expected = {p: pm.read_metadata_from_bytes(p.read_bytes()) for p in (small_file, big_footer_file)}
    jobs = [small_file, big_footer_file] * 20
    with ThreadPoolExecutor(4) as pool:
        for path, md in zip(jobs, pool.map(pm.read_metadata, jobs)):
            assert md == expected[path]


def test_file_claiming_a_giant_footer_is_not_read(tmp_path: Path):
    """A trailer claiming 2 GiB in a (sparse) 3 GiB file: an error, no 2 GiB read."""
    import tracemalloc
    path = tmp_path / "giant.parquet"
    with open(path, "wb") as f:
        f.truncate(3 << 30)
        f.seek((3 << 30) - 8)
        f.write(struct.pack("<I", 2 << 30) + b"PAR1")
    tracemalloc.start()
    try:
        with pytest.raises(FooterLengthError, match="exceeds the 1073741824 bytes") as info:
            pm.read_metadata(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.path == str(path) and peak < 1 << 20
    with open(path, "rb") as f, pytest.raises(FooterLengthError, match="exceeds") as info:
        pm.read_metadata(f)   # a file object: the same limit
    assert info.value.path == str(path)
