"""_footer.load_tails: many files' tails packed into one writable buffer, without the GIL."""
from __future__ import annotations

import os
import pickle
import threading
import warnings
from multiprocessing import shared_memory
from pathlib import Path
from typing import List

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import rugo.parquet as pm
from rugo._footer import LOAD_ERROR, LOAD_FORMAT, LOAD_OK, load_tails
from rugo.tail import TAIL_READ_SIZE
from scanner.errors import FILE_CHANGED

OK = bytes([LOAD_OK])


def _files(root: Path, n: int) -> List[Path]:
    root.mkdir(exist_ok=True)
    paths = []
    for i in range(n):
        path = root / f"part-{i:03d}.parquet"
        pq.write_table(pa.table({"id": list(range(i + 1)), "name": [f"n{k}" for k in range(i + 1)]}), path)
        paths.append(path)
    return paths


def _sizes(paths: List[Path]) -> List[int]:
    return [p.stat().st_size for p in paths]


def _footer_bytes(path: Path) -> int:
    return int.from_bytes(path.read_bytes()[-8:-4], "little") + 8


@pytest.fixture
def wide(tmp_path: Path) -> Path:
    """A file whose footer is larger than the 64 KiB first read."""
    path = tmp_path / "wide.parquet"
    pq.write_table(pa.table({f"column_with_a_long_name_{k:05d}": [k] for k in range(1500)}), path)
    assert TAIL_READ_SIZE < _footer_bytes(path) < path.stat().st_size
    return path


def assert_packed(out, paths: List[Path], spans, expected_lengths: List[int]) -> None:
    """Files one after another from 0, each span the file's last bytes, parsing as pyarrow does."""
    offset = 0
    for path, (start, end), length in zip(paths, spans, expected_lengths):
        assert (start, end) == (offset, offset + length)
        data = path.read_bytes()
        assert bytes(out[start:end]) == data[len(data) - length:]
        with memoryview(out)[start:end] as view:
            assert pm.read_metadata_from_memoryview(view) == pm.read_metadata(path)
        offset = end


def test_many_files_into_a_bytearray(tmp_path: Path) -> None:
    paths = _files(tmp_path / "lake", 40)
    out = bytearray(sum(_sizes(paths)) + 100)
    consumed, need, spans, status, errors = load_tails([str(p) for p in paths], _sizes(paths), out)
    assert (consumed, need, status, errors) == (40, 0, OK * 40, {})
    assert_packed(out, paths, spans, _sizes(paths))
    out.extend(b"x")   # no buffer export is left behind


def test_many_files_into_shared_memory_with_paths_of_every_kind(tmp_path: Path) -> None:
    paths = _files(tmp_path / "lake", 20)
    shm = shared_memory.SharedMemory(create=True, size=2**20)
    try:
        names = [p if i % 3 == 0 else os.fsencode(p) if i % 3 == 1 else str(p) for i, p in enumerate(paths)]
        consumed, need, spans, status, errors = load_tails(names, [-1] * len(paths), shm.buf)
        assert (consumed, need, status, errors) == (20, 0, OK * 20, {})
        assert_packed(shm.buf, paths, spans, _sizes(paths))
        with shm.buf[spans[5][0]:] as region:   # a slice of a block, as the scanner passes
            assert load_tails(paths[:2], _sizes(paths[:2]), region)[2] == [(0, spans[1][0]), (spans[1][0], spans[2][0])]
    finally:
        shm.close()   # would raise BufferError if an export were left
        shm.unlink()


def test_a_large_footer_takes_one_exact_second_read(wide: Path, tmp_path: Path) -> None:
    small = _files(tmp_path / "lake", 1)[0]
    paths = [small, wide, small]
    out = bytearray(2**20)
    consumed, need, spans, status, errors = load_tails(paths, _sizes(paths), out)
    assert (consumed, need, status) == (3, 0, OK * 3)
    assert_packed(out, paths, spans, [small.stat().st_size, _footer_bytes(wide), small.stat().st_size])


def test_stops_before_a_file_that_does_not_fit(wide: Path, tmp_path: Path) -> None:
    small = _files(tmp_path / "lake", 1)[0]
    size = small.stat().st_size
    footer = _footer_bytes(wide)
    # the first read of `wide` fits, its second read does not: stop before it, say what it needs
    out = bytearray(size + TAIL_READ_SIZE + 10)
    consumed, need, spans, status, errors = load_tails([small, wide, small], [size, -1, size], out)
    assert (consumed, need, spans, status) == (1, footer, [(0, size)], OK)
    # its first read alone does not fit
    assert load_tails([small, wide], [size, -1], bytearray(size + 10))[:2] == (1, TAIL_READ_SIZE)
    assert load_tails([small], [size], bytearray(10))[:4] == (0, size, [], b"")
    # a fresh buffer of `need`, with `need` as the first read: one exact read
    again = bytearray(footer)
    consumed, need, spans, status, errors = load_tails([wide], [-1], again, [footer])
    assert (consumed, need, spans, status) == (1, 0, [(0, footer)], OK)
    assert again == wide.read_bytes()[-footer:]


def test_full_mode_reads_whole_files(wide: Path, tmp_path: Path) -> None:
    paths = _files(tmp_path / "lake", 3) + [wide]
    sizes = _sizes(paths)
    out = bytearray(sum(sizes))
    consumed, need, spans, status, errors = load_tails(paths, sizes, out, sizes)
    assert (consumed, need, status) == (4, 0, OK * 4)
    assert_packed(out, paths, spans, sizes)
    assert out == b"".join(p.read_bytes() for p in paths)
    # a first read larger than the file is the whole file
    assert load_tails(paths[:1], sizes[:1], out, [10**9])[2] == [(0, sizes[0])]


def test_io_problems_are_per_file_errors(tmp_path: Path) -> None:
    good = _files(tmp_path / "lake", 2)
    gone = tmp_path / "gone.parquet"
    shrunk = good[1]
    listed = shrunk.stat().st_size + 10
    paths = [good[0], gone, tmp_path / "lake", shrunk, good[0]]
    out = bytearray(2**20)
    consumed, need, spans, status, errors = load_tails(paths, [good[0].stat().st_size, 100, 4096, listed, -1], out)
    first = good[0].stat().st_size
    assert (consumed, need) == (5, 0)
    assert status == bytes([LOAD_OK, LOAD_ERROR, LOAD_ERROR, LOAD_ERROR, LOAD_OK])
    assert spans == [(0, first), (first, first), (first, first), (first, first), (first, 2 * first)]
    assert errors == {
        1: ("FileNotFoundError", "No such file or directory"),
        2: ("IsADirectoryError", "Is a directory"),
        3: (FILE_CHANGED, f"file changed since it was listed: {listed} bytes then, {listed - 10} now"),
    }


def test_a_file_that_grew_since_listed_is_changed_not_misread(tmp_path: Path) -> None:
    """Its tail is no longer where the listing put it: an error, not bytes from its middle."""
    path = _files(tmp_path / "lake", 1)[0]
    listed = path.stat().st_size
    with open(path, "ab") as f:
        f.write(b"\0" * 100)
    consumed, _, _, status, errors = load_tails([path], [listed], bytearray(2**20))
    assert (consumed, status) == (1, bytes([LOAD_ERROR]))
    assert errors[0] == (FILE_CHANGED, f"file changed since it was listed: {listed} bytes then, {listed + 100} now")


def test_a_fifo_is_not_read_and_does_not_block(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.parquet"
    os.mkfifo(fifo)
    result = []
    thread = threading.Thread(target=lambda: result.append(load_tails([fifo], [-1], bytearray(100))))
    thread.start()
    thread.join(10)
    if thread.is_alive():   # unblock it before failing
        with open(fifo, "wb"):
            pass
        thread.join()
        pytest.fail("load_tails blocked on a FIFO")
    consumed, need, spans, status, errors = result[0]
    assert (consumed, status, errors) == (1, bytes([LOAD_ERROR]), {0: ("NotARegularFile", "not a regular file (a FIFO): not read")})


def test_permission_denied_is_a_permission_error(tmp_path: Path) -> None:
    """A file in a directory this user cannot search (as root: in a child that drops to nobody)."""
    secret = tmp_path / "secret"
    secret.mkdir()
    path = _files(secret, 1)[0]
    secret.chmod(0o700)
    if os.geteuid() != 0:
        secret.chmod(0)
        try:
            result = load_tails([path], [-1], bytearray(100))
        finally:
            secret.chmod(0o700)
    else:
        result = _as_nobody(lambda: load_tails([path], [-1], bytearray(100)))
    assert result == (1, 0, [(0, 0)], bytes([LOAD_ERROR]), {0: ("PermissionError", "Permission denied")})


def _as_nobody(call):
    """Run ``call`` in a forked child that has dropped root to uid/gid 65534; its pickled result."""
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)   # fork with threads (3.12+)
        pid = os.fork()
    if pid == 0:   # pragma: no cover - the child
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            os.write(write_end, pickle.dumps(call()))
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    return pickle.loads(data)


def test_format_problems_are_left_to_the_parser(tmp_path: Path) -> None:
    """Not Parquet, empty, encrypted: the bytes are copied and the parser says the same."""
    files = {"csv": b"a,b\n1,2\n", "empty": b"", "encrypted": b"PAR1" + b"\x01" * 30 + (30).to_bytes(4, "little") + b"PARE"}
    paths = []
    for name, data in files.items():
        paths.append(tmp_path / name)
        paths[-1].write_bytes(data)
    out = bytearray(1000)
    consumed, need, spans, status, errors = load_tails(paths, [-1] * 3, out)
    assert status == bytes([LOAD_FORMAT]) * 3
    assert [bytes(out[a:b]) for a, b in spans] == list(files.values())
    for i, (start, end) in enumerate(spans):
        with pytest.raises(Exception) as info:
            pm.read_metadata_from_bytes(bytes(out[start:end]))
        assert errors[i] == (type(info.value).__name__, str(info.value))


def test_a_truncated_file_is_an_error_with_no_bytes(tmp_path: Path, wide: Path) -> None:
    """The bytes cannot show a parser that the file was cut: the loader says it."""
    small = _files(tmp_path / "lake", 1)[0]
    for source in (small, wide):
        data = source.read_bytes()
        cut = tmp_path / "cut.parquet"
        cut.write_bytes(data[: len(data) // 2])
        consumed, need, spans, status, errors = load_tails([cut], [-1], bytearray(2**20))
        assert (spans, status) == ([(0, 0)], bytes([LOAD_ERROR]))
        assert errors == {0: ("NotParquetError", "truncated Parquet file: starts with 'PAR1' but does not end "
                                                 f"with it ({len(data) // 2} bytes)")}


def test_bad_arguments(tmp_path: Path) -> None:
    path = _files(tmp_path / "lake", 1)[0]
    with pytest.raises(ValueError, match="differ in length"):
        load_tails([path], [], bytearray(10))
    with pytest.raises(ValueError, match="differ in length"):
        load_tails([path], [1], bytearray(10), [])
    with pytest.raises(ValueError, match=r"sizes\[0\] must be >= -1"):
        load_tails([path], [-2], bytearray(10))
    with pytest.raises(ValueError, match=r"first_reads\[0\] must be >= 0"):
        load_tails([path], [1], bytearray(10), [-1])
    with pytest.raises(ValueError, match="null"):
        load_tails(["a\0b"], [1], bytearray(10))
    with pytest.raises(BufferError, match="not writable"):
        load_tails([path], [1], b"read-only bytes")
    with pytest.raises(TypeError):
        load_tails([1], [1], bytearray(10))
    assert load_tails([], [], bytearray(0)) == (0, 0, [], b"", {})


def test_threads_load_concurrently(tmp_path: Path, wide: Path) -> None:
    """The GIL is released for the loop: threads loading at once get exact bytes."""
    from concurrent.futures import ThreadPoolExecutor
    paths = _files(tmp_path / "lake", 10) + [wide]
    sizes = _sizes(paths)

    def one(_: int) -> bytes:
        out = bytearray(2**20)
        consumed, need, spans, status, errors = load_tails(paths, sizes, out)
        assert consumed == len(paths) and status == OK * len(paths)
        return bytes(out[:spans[-1][1]])

    with ThreadPoolExecutor(4) as pool:
        results = set(pool.map(one, range(16)))
    assert len(results) == 1
