"""Read Parquet footer metadata into plain dicts.

Three entry points share one C decoder (``rugo._footer``) and one set of options:

- :func:`read_metadata` reads a path or a binary file object, only its tail;
- :func:`read_metadata_from_bytes` parses ``bytes`` / ``bytearray``;
- :func:`read_metadata_from_memoryview` parses any C-contiguous buffer in place.

The result's keys, type strings and errors are documented in README.md.
"""
from __future__ import annotations

import operator
import os
from typing import Any, BinaryIO, Dict, Mapping, Optional, Union

from rugo import _footer
from rugo.errors import RugoError
from rugo.remote import fetch, filesystem_for, is_url
from rugo.tail import TAIL_READ_SIZE, Tail, read_tail

__all__ = ["read_metadata", "read_metadata_from_bytes", "read_metadata_from_memoryview", "TAIL_READ_SIZE"]

Source = Union[str, "os.PathLike[str]", "os.PathLike[bytes]", bytes, BinaryIO]


def _check_options(schema_only: Any, include_statistics: Any, max_row_groups: Any) -> int:
    """Validate the options; return the number of row groups to decode (-1 = all)."""
    if schema_only is not True and schema_only is not False:
        raise TypeError(f"schema_only must be a bool, not {type(schema_only).__name__}")
    if include_statistics is not True and include_statistics is not False:
        raise TypeError(f"include_statistics must be a bool, not {type(include_statistics).__name__}")
    if type(max_row_groups) is not int:   # fast path for the common case; bool is rejected
        if isinstance(max_row_groups, bool) or not hasattr(max_row_groups, "__index__"):
            raise TypeError(f"max_row_groups must be an int, not {type(max_row_groups).__name__}")
        max_row_groups = operator.index(max_row_groups)
    if max_row_groups < -1:
        raise ValueError(f"max_row_groups must be -1 (all) or >= 0, not {max_row_groups}")
    return 0 if schema_only else max_row_groups


def _named(exc: RugoError, name: Any) -> RugoError:
    """The same error, naming the file it came from."""
    return exc.with_path(None if name is None else os.fsdecode(name) if isinstance(name, (str, bytes, os.PathLike)) else str(name))


def read_metadata(source: Source, *, schema_only: bool = False, include_statistics: bool = True,
                  max_row_groups: int = -1, footer_size_hint: Optional[int] = None,
                  storage_options: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """Read the footer metadata of a Parquet file.

    Parameters
    ----------
    source : str, os.PathLike, URL or binary file object
        A path; a URL of any fsspec protocol (``s3://``, ``gs://``, ``https://``,
        ``file://``...); or an object with ``seek`` and ``read`` (an open file,
        ``io.BytesIO``, an fsspec file). Only the tail is read: the last 64 KiB (or the
        whole file when smaller), then one exact read when the footer is larger. For URLs
        that is one suffix-range request, and a second only for footers over 64 KiB.
    schema_only : bool, default False
        Return ``row_groups == []`` without decoding row groups at all.
    include_statistics : bool, default True
        When False, ``min``, ``max``, ``null_count``, ``distinct_count`` are None and
        statistics are not decoded.
    max_row_groups : int, default -1
        Decode only the first N row groups (-1: all). ``num_rows`` stays the file's total.
    footer_size_hint : int, optional
        URLs only: the footer length an earlier read recorded (``footer_size``); the first
        request then fetches exactly the footer and trailer.
    storage_options : mapping, optional
        URLs only: passed to the fsspec filesystem (credentials, ``endpoint_url``, ``anon``).

    Returns
    -------
    dict
        The keys documented in README.md ("Result keys").

    Raises
    ------
    FileNotFoundError, OSError
        The file or object cannot be opened or read; the error names it.
    rugo.errors.RugoError
        The file is not readable Parquet; the error names the file or URL.
    """
    limit = _check_options(schema_only, include_statistics, max_row_groups)
    if isinstance(source, str) and "://" in source:
        if source.startswith("file://"):
            source = source[len("file://"):]
        elif is_url(source):
            return _read_url(source, include_statistics, limit, footer_size_hint, storage_options)
    if footer_size_hint is not None or storage_options is not None:
        raise TypeError("footer_size_hint and storage_options apply to URLs only")
    if not isinstance(source, (str, bytes, os.PathLike)) and hasattr(source, "read") and hasattr(source, "seek"):
        name = getattr(source, "path", None) or getattr(source, "name", None)
        return _parse_tail(_read_file_object(source), name, include_statistics, limit)
    if not isinstance(source, (str, bytes, os.PathLike)):
        raise TypeError("source must be a path (str, bytes or os.PathLike), a URL (str) or a binary file "
                        f"object with read and seek, not {type(source).__name__}; for bytes in memory use "
                        "read_metadata_from_bytes or read_metadata_from_memoryview")
    path = os.fspath(source)
    try:   # open + pread of the tail in C, without the GIL
        return _footer.read_file(path, include_statistics, limit)
    except RugoError as exc:
        raise _named(exc, path) from None


def _read_url(url: str, include_statistics: bool, limit: int, footer_size_hint: Optional[int],
              storage_options: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """Fetch an object's tail through fsspec (1 request, 2 for large footers) and parse it."""
    fs, path = filesystem_for(url, storage_options)
    return _parse_tail(fetch(fs, path, footer_size_hint=footer_size_hint, url=url), url, include_statistics, limit)


def _parse_tail(tail: Tail, name: Any, include_statistics: bool, limit: int) -> Dict[str, Any]:
    """Parse what :func:`rugo.tail.read_tail` read, or raise the planner's error, naming ``name``."""
    try:
        if tail.error is not None:
            raise tail.error
        return _footer.parse(tail.data, include_statistics, limit)
    except RugoError as exc:
        raise _named(exc, name) from None


def _read_file_object(f: BinaryIO) -> Tail:
    """The tail of a file object holding the whole footer, as the planner asks (1 or 2 reads)."""
    size = f.seek(0, os.SEEK_END)

    def read_last(n: int) -> bytes:
        f.seek(max(0, size - n))
        return f.read(n)

    def read_head() -> bytes:   # only on the not-Parquet path
        f.seek(0)
        return f.read(4)

    return read_tail(read_last, size, read_head=read_head)


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
