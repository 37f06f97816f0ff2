"""Read Parquet footer metadata into plain dicts.

Three entry points share one C decoder (``rugo._footer``) and one set of options:

- :func:`read_metadata` reads a path or a binary file object, only its tail;
- :func:`read_metadata_from_bytes` parses ``bytes`` / ``bytearray``;
- :func:`read_metadata_from_memoryview` parses any C-contiguous buffer in place.

The result's keys, type strings and errors are documented in README.md.
"""
from __future__ import annotations

import os
from typing import Any, BinaryIO, Dict, Union

from rugo import _footer
from rugo.errors import RugoError

__all__ = ["read_metadata", "read_metadata_from_bytes", "read_metadata_from_memoryview"]

#: bytes read from the end of a file first; a larger footer costs one more exact read
TAIL_READ_SIZE = 64 * 1024
_TRAILER = 8

Source = Union[str, "os.PathLike[str]", "os.PathLike[bytes]", bytes, BinaryIO]


def _check_options(schema_only: Any, include_statistics: Any, max_row_groups: Any) -> int:
    """Validate the options; return the number of row groups to decode (-1 = all)."""
    for name, value in (("schema_only", schema_only), ("include_statistics", include_statistics)):
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be a bool, not {type(value).__name__}")
    if isinstance(max_row_groups, bool) or not isinstance(max_row_groups, int):
        raise TypeError(f"max_row_groups must be an int, not {type(max_row_groups).__name__}")
    if max_row_groups < -1:
        raise ValueError(f"max_row_groups must be -1 (all) or >= 0, not {max_row_groups}")
    return 0 if schema_only else max_row_groups


def _named(exc: RugoError, name: Any) -> RugoError:
    """The same error, naming the file it came from."""
    return exc.with_path(None if name is None else os.fsdecode(name) if isinstance(name, (str, bytes, os.PathLike)) else str(name))


def read_metadata(source: Source, *, schema_only: bool = False, include_statistics: bool = True,
                  max_row_groups: int = -1) -> Dict[str, Any]:
    """Read the footer metadata of a Parquet file.

    Parameters
    ----------
    source : str, os.PathLike or binary file object
        A path, or an object with ``seek`` and ``read`` (an open file, ``io.BytesIO``, an
        fsspec file). Only the tail is read: the last 64 KiB (or the whole file when
        smaller), then one exact read when the footer is larger.
    schema_only : bool, default False
        Return ``row_groups == []`` without decoding row groups at all.
    include_statistics : bool, default True
        When False, ``min``, ``max``, ``null_count``, ``distinct_count`` are None and
        statistics are not decoded.
    max_row_groups : int, default -1
        Decode only the first N row groups (-1: all). ``num_rows`` stays the file's total.

    Returns
    -------
    dict
        The keys documented in README.md ("Result keys").

    Raises
    ------
    FileNotFoundError, OSError
        The file cannot be opened or read.
    rugo.errors.RugoError
        The file is not readable Parquet; the error names the file.
    """
    limit = _check_options(schema_only, include_statistics, max_row_groups)
    if hasattr(source, "read") and hasattr(source, "seek"):
        name = getattr(source, "path", None) or getattr(source, "name", None)
        try:
            return _footer.parse(_read_tail(source), include_statistics, limit)
        except RugoError as exc:
            raise _named(exc, name) from None
    path = os.fspath(source)
    try:
        return _footer.read_file(path, include_statistics, limit)
    except RugoError as exc:
        raise _named(exc, path) from None


def _read_tail(f: BinaryIO) -> bytes:
    """The tail of a file object holding the trailer and the whole footer (1 or 2 reads)."""
    size = f.seek(0, os.SEEK_END)
    want = min(size, TAIL_READ_SIZE)
    f.seek(size - want)
    tail = f.read(want)
    if len(tail) >= _TRAILER and tail[-4:] == b"PAR1":
        need = int.from_bytes(tail[-8:-4], "little") + _TRAILER
        if len(tail) < need <= size:
            f.seek(size - need)
            tail = f.read(need)
    return tail


def read_metadata_from_bytes(data: Union[bytes, bytearray], *, schema_only: bool = False,
                             include_statistics: bool = True, max_row_groups: int = -1) -> Dict[str, Any]:
    """Parse the metadata of a Parquet file held in ``bytes`` or ``bytearray``.

    ``data`` is a whole file or any tail of one that holds the footer and the 8-byte
    trailer. Options and result as for :func:`read_metadata`.

    Raises
    ------
    TypeError
        ``data`` is not bytes or bytearray.
    rugo.errors.RugoError
        The bytes are not readable Parquet.
    """
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"data must be bytes or bytearray, not {type(data).__name__}")
    limit = _check_options(schema_only, include_statistics, max_row_groups)
    return _footer.parse(data, include_statistics, limit)


def read_metadata_from_memoryview(view: Any, *, schema_only: bool = False, include_statistics: bool = True,
                                  max_row_groups: int = -1) -> Dict[str, Any]:
    """Parse Parquet metadata in place from any C-contiguous buffer, without copying.

    ``view`` may be a memoryview over bytes, bytearray, ``mmap`` or ``shm.buf``, a numpy
    uint8 array, or any object with the buffer protocol; it holds a whole file or a tail
    with the footer and trailer. No reference to it survives the call, so ``mmap.close()``
    or ``shm.close()`` right after works. Options and result as for :func:`read_metadata`.

    Raises
    ------
    ValueError
        The buffer is not C-contiguous.
    rugo.errors.RugoError
        The bytes are not readable Parquet.
    """
    limit = _check_options(schema_only, include_statistics, max_row_groups)
    return _footer.parse(view, include_statistics, limit)
