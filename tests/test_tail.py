"""The tail planner (rugo/_ext/tail.c) and the readers that ask it: they decide alike.

``read_metadata`` on a path (C reads), on a file object and on a URL (fsspec), and the
scanner (``scan_file``, ``build_catalogue``: the C loader, then a worker's parse) must give
the same class, and where they see the same bytes the same message, for each bad file.
"""
from __future__ import annotations

import struct
from pathlib import Path
from typing import Callable, Dict, Tuple

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

import rugo.parquet as pm
from rugo.errors import EncryptedFooterError, FooterLengthError, NotParquetError, RugoError
from rugo.tail import MAX_FOOTER_BYTES, TAIL_DONE, TAIL_NEED, TAIL_READ_SIZE, plan_tail
from scanner import build_catalogue, scan_file
from scanner.errors import TOO_LARGE

GIB = 1 << 30


def trailer(length: int, magic: bytes = b"PAR1") -> bytes:
    return struct.pack("<I", length) + magic


# -- the planner itself (hand-built bytes) ------------------------------------------------

def test_done_when_the_footer_is_in_the_bytes() -> None:
    data = b"PAR1" + b"F" * 20 + trailer(20)
    assert plan_tail(len(data), data) == (TAIL_DONE, 20)
    assert plan_tail(-1, data) == (TAIL_DONE, 20)
    assert plan_tail(10_000, data[-28:]) == (TAIL_DONE, 20)   # a tail of a larger file


def test_need_asks_for_exactly_footer_and_trailer() -> None:
    tail = b"F" * 100 + trailer(70_000)
    assert plan_tail(1_000_000, tail) == (TAIL_NEED, 70_008)
    assert plan_tail(-1, tail) == (TAIL_NEED, 70_008)
    assert plan_tail(5, b"") == (TAIL_NEED, 5)                  # nothing read yet: the whole file
    assert plan_tail(-1, b"") == (TAIL_NEED, TAIL_READ_SIZE)
    assert plan_tail(10**9, b"AR1") == (TAIL_NEED, TAIL_READ_SIZE)


@pytest.mark.parametrize("size, tail, cls, message", [
    (0, b"", NotParquetError, "not a Parquet file: 0 bytes, too short to hold the 8-byte trailer"),
    (4, b"PAR1", NotParquetError, "not a Parquet file: 4 bytes, too short to hold the 8-byte trailer"),
    (-1, b"a,b\n1,2\n", NotParquetError, "not a Parquet file: last 4 bytes are 31 2c 32 0a, expected 'PAR1'"),
    (12, b"PAR1a,b\n1,2\n", NotParquetError,
     "truncated Parquet file: starts with 'PAR1' but does not end with it (12 bytes)"),
    (-1, b"x" * 9 + trailer(9, b"PARE"), EncryptedFooterError,
     "the footer is encrypted (PARE magic); rugo reads plaintext footers only"),
    (-1, b"PAR1" + trailer(0), FooterLengthError, "footer length is 0"),
    (12, b"PAR1" + trailer(5), FooterLengthError, "footer length 5 exceeds the 4 bytes before the trailer"),
    (200_000, b"x" * 100 + trailer(199_993), FooterLengthError,
     "footer length 199993 exceeds the 199992 bytes before the trailer"),
    (3 * GIB, b"x" * 100 + trailer(2 * GIB), FooterLengthError,
     f"footer length {2 * GIB} exceeds the {GIB} bytes rugo reads"),
    (-1, b"x" * 100 + trailer(GIB + 1), FooterLengthError, f"footer length {GIB + 1} exceeds the {GIB} bytes rugo reads"),
    # the limit comes first, whatever the size: every reader says the same
    (100, b"x" * 92 + trailer(0xFFFFFFFF), FooterLengthError, f"footer length 4294967295 exceeds the {GIB} bytes"),
])
def test_errors(size: int, tail: bytes, cls: type, message: str) -> None:
    with pytest.raises(cls) as info:
        plan_tail(size, tail)
    assert type(info.value) is cls and info.value.detail.startswith(message) and info.value.path is None


def test_head_tells_a_truncated_file_when_the_tail_cannot() -> None:
    tail = b"x" * 100
    with pytest.raises(NotParquetError, match="not a Parquet file"):
        plan_tail(10_000, tail)
    with pytest.raises(NotParquetError, match=r"^truncated Parquet file: .* \(10000 bytes\)$"):
        plan_tail(10_000, tail, b"PAR1")
    with pytest.raises(NotParquetError, match="not a Parquet file"):
        plan_tail(10_000, tail, b"GIF8")
    assert plan_tail(10_000, b"x" * 8 + trailer(8), b"PAR1") == (TAIL_DONE, 8)   # head unused


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="size"):
        plan_tail(3, b"PAR1")
    with pytest.raises(ValueError, match="size"):
        plan_tail(-2, b"")
    with pytest.raises(ValueError, match="head"):
        plan_tail(100, b"x" * 10, b"PA")
    with pytest.raises(TypeError):
        plan_tail(100, "text")


@given(st.binary(max_size=40), st.integers(0, 2**32 - 1), st.sampled_from([b"PAR1", b"PARE", b"PAR2"]),
       st.integers(-1, 3 * GIB))
def test_every_answer_makes_progress(body: bytes, length: int, magic: bytes, extra: int) -> None:
    """NEED always asks for more than was seen and never beyond the file or the limit."""
    tail = body + trailer(length, magic)
    size = -1 if extra < 0 else len(tail) + extra
    try:
        kind, value = plan_tail(size, tail)
    except RugoError:
        return
    if kind == TAIL_DONE:
        assert 0 < value <= len(tail) - 8
    else:
        assert kind == TAIL_NEED and len(tail) < value <= MAX_FOOTER_BYTES + 8
        assert size < 0 or value <= size


# -- the four readers agree ------------------------------------------------------------------

def _parquet(path: Path, columns: int) -> bytes:
    pq.write_table(pa.table({f"column_{i:05d}": [i] for i in range(columns)}), path)
    return path.read_bytes()


def outcomes(path: Path) -> Dict[str, Tuple[str, str]]:
    """(class, message without the path) of each reader, for one file."""
    readers: Dict[str, Callable[[], object]] = {
        "path": lambda: pm.read_metadata(path),
        "file object": lambda: _with_open(path),
        "url": lambda: pm.read_metadata(f"local://{path}"),
    }
    seen = {}
    for name, read in readers.items():
        try:
            read()
            seen[name] = ("ok", "")
        except RugoError as exc:
            assert exc.path is not None and str(path) in exc.path
            seen[name] = (type(exc).__name__, str(exc.with_path(None)))
    row = scan_file(path).files.iloc[0]
    seen["scanner"] = ("ok", "") if row["status"] == "ok" else (row["error_type"], row["error"])
    return seen


def _with_open(path: Path) -> object:
    with open(path, "rb") as f:
        return pm.read_metadata(f)


def _giant_claim(path: Path) -> Path:
    """A sparse 3 GiB file whose trailer claims a 2 GiB footer (no disk used)."""
    with open(path, "wb") as f:
        f.truncate(3 * GIB)
        f.seek(3 * GIB - 8)
        f.write(trailer(2 * GIB))
    return path


def test_a_giant_claim_is_a_footer_length_error_everywhere(tmp_path: Path) -> None:
    path = _giant_claim(tmp_path / "giant.parquet")
    expected = ("FooterLengthError", f"footer length {2 * GIB} exceeds the {GIB} bytes rugo reads")
    assert outcomes(path) == dict.fromkeys(["path", "file object", "url", "scanner"], expected)
    # in a scan with a small shared-memory cap it is still not FooterTooLarge
    cat = build_catalogue(tmp_path, workers=1, shm_bytes=2**20, progress=False)
    assert cat.files["error_type"].tolist() == ["FooterLengthError"]
    assert cat.files["error"].tolist() == [expected[1]]


@pytest.mark.parametrize("columns", [3, 1500], ids=["small", "large"])
def test_a_truncated_file_is_named_truncated(tmp_path: Path, columns: int) -> None:
    data = _parquet(tmp_path / "whole.parquet", columns)
    path = tmp_path / "half.parquet"
    path.write_bytes(data[: len(data) // 2])
    assert (len(data) // 2 > TAIL_READ_SIZE) == (columns > 3)
    truncated = ("NotParquetError",
                 f"truncated Parquet file: starts with 'PAR1' but does not end with it ({len(data) // 2} bytes)")
    seen = outcomes(path)
    assert seen["path"] == seen["file object"] == seen["scanner"] == truncated
    if columns > 3:   # a URL's head is not fetched (it would cost a request): only its tail is seen
        assert seen["url"][0] == "NotParquetError" and seen["url"][1].startswith("not a Parquet file")
    else:
        assert seen["url"] == truncated


BAD = {
    "csv": b"a,b\n1,2\n",
    "empty": b"",
    "encrypted": b"PAR1" + b"\x01" * 30 + trailer(30, b"PARE"),
    "zero length": b"PAR1" + b"\x00" * 10 + trailer(0),
    "beyond a small file": b"PAR1" + b"\x00" * 10 + trailer(100),
    "0xFFFFFFFF": b"PAR1" + b"\x00" * 100_000 + trailer(0xFFFFFFFF),
    "zeroed footer": b"PAR1" + b"\x00" * 50 + trailer(50),
}


@pytest.mark.parametrize("name", BAD)
def test_bad_files_read_alike(tmp_path: Path, name: str) -> None:
    path = tmp_path / "bad.parquet"
    path.write_bytes(BAD[name])
    seen = outcomes(path)
    assert len(set(seen.values())) == 1, seen


def test_a_claim_beyond_a_large_file(tmp_path: Path) -> None:
    """The readers that know the size name it; the scanner's worker sees the 64 KiB tail only."""
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"PAR1" + b"\x00" * 100_000 + trailer(200_000))
    seen = outcomes(path)
    message = "footer length 200000 exceeds the 100004 bytes before the trailer"
    assert seen["path"] == seen["file object"] == seen["url"] == ("FooterLengthError", message)
    assert seen["scanner"] == ("FooterLengthError", "footer length 200000 exceeds the 65528 bytes before the trailer")


def test_a_valid_footer_over_the_shm_cap_is_footer_too_large(tmp_path: Path) -> None:
    path = tmp_path / "wide.parquet"
    pq.write_table(pa.table({f"c{i:04d}": pa.array([i, i + 1], pa.int64()) for i in range(4000)}), path,
                   row_group_size=1)
    cat = build_catalogue(tmp_path, workers=1, shm_bytes=2**20, progress=False)
    assert cat.files["error_type"].tolist() == [TOO_LARGE]
    assert outcomes(path) == dict.fromkeys(["path", "file object", "url", "scanner"], ("ok", ""))


def test_a_file_changing_between_the_two_reads() -> None:
    """The second read shows a new, larger claim: an error, not a third read."""
    from rugo.tail import read_tail
    asked = []

    def read_last(n: int) -> bytes:
        asked.append(n)
        return b"x" * (n - 8) + trailer(70_000 if len(asked) == 1 else 90_000)

    tail = read_tail(read_last)
    assert asked == [TAIL_READ_SIZE, 70_008]
    assert isinstance(tail.error, FooterLengthError)
    assert str(tail.error) == "footer length 90000 exceeds the 70000 bytes before the trailer"
