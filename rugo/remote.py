"""Footer-only reads from any fsspec filesystem: S3, GCS, HTTP(S), and the rest.

One suffix-range request (``Range: bytes=-65536``) fetches the tail of an object without
a HEAD request first; a second, exact request follows only when the footer is larger than
that tail. With ``footer_size_hint`` (the footer length an earlier scan recorded) the first
request is already exact. fsspec does the protocol work: this module writes no HTTP or S3
client. fsspec and its filesystems are the optional extra ``rugo[remote]``.
"""
from __future__ import annotations

import errno
import re
from typing import Any, Mapping, Optional, Tuple

from rugo.errors import FooterLengthError

__all__ = ["is_url", "filesystem_for", "fetch_tail", "tail_request_size", "footer_length", "MAX_FOOTER_BYTES"]

#: bytes asked for first when nothing is known about the footer
TAIL_READ_SIZE = 64 * 1024
TRAILER = 8
#: the largest footer fetched (as for local files, rugo/_ext/tail.h): a trailer claiming
#: more is a FooterLengthError, not a giant download
MAX_FOOTER_BYTES = 1 << 30

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


def is_url(source: Any) -> bool:
    """True for ``protocol://...`` strings (``s3://``, ``gs://``, ``https://``, ``file://``)."""
    return isinstance(source, str) and bool(_URL.match(source))


def filesystem_for(url: str, storage_options: Optional[Mapping[str, Any]] = None) -> Tuple[Any, str]:
    """The fsspec filesystem and the in-filesystem path of ``url``.

    Parameters
    ----------
    url : str
        Any URL fsspec understands.
    storage_options : mapping, optional
        Passed to the filesystem: credentials, ``endpoint_url``, ``anon``, ``client_kwargs``...

    Raises
    ------
    ImportError
        fsspec (or the protocol's filesystem package) is not installed.
    """
    try:
        import fsspec
    except ImportError as exc:   # pragma: no cover - depends on the environment
        raise ImportError("reading URLs needs fsspec: pip install 'rugo[remote]'") from exc
    return fsspec.core.url_to_fs(url, **dict(storage_options or {}))


def tail_request_size(footer_size_hint: Optional[int]) -> int:
    """Bytes the first request asks for: the exact tail when the footer length is known."""
    if footer_size_hint is None:
        return TAIL_READ_SIZE
    if isinstance(footer_size_hint, bool) or not isinstance(footer_size_hint, int) or footer_size_hint <= 0:
        raise ValueError(f"footer_size_hint must be a positive int, not {footer_size_hint!r}")
    return footer_size_hint + TRAILER


def footer_length(tail: bytes) -> Optional[int]:
    """The footer length the trailer of ``tail`` claims, or None without a Parquet trailer."""
    if len(tail) < TRAILER or tail[-4:] not in (b"PAR1", b"PARE"):
        return None
    return int.from_bytes(tail[-8:-4], "little")


def fetch_tail(fs: Any, path: str, *, footer_size_hint: Optional[int] = None, size: Optional[int] = None,
               url: Optional[str] = None) -> bytes:
    """Fetch the bytes that hold an object's footer: one request, two when the footer is large.

    Parameters
    ----------
    fs : fsspec.AbstractFileSystem
        The filesystem holding ``path``.
    path : str
        Path inside ``fs``.
    footer_size_hint : int, optional
        The footer length recorded by an earlier scan: the first request is exact.
    size : int, optional
        The object's size when already known (from a listing): ranges are then absolute.
    url : str, optional
        The name to put in errors (defaults to ``path``).

    Returns
    -------
    bytes
        A tail of the object (the whole object when it is smaller than the request).

    Raises
    ------
    FileNotFoundError
        The object does not exist; the message names ``url``.
    """
    name = url or path
    want = tail_request_size(footer_size_hint)
    tail = _cat_suffix(fs, path, want, size, name)
    claimed = footer_length(tail)
    if claimed is not None and len(tail) == want and claimed + TRAILER > want:
        if claimed > MAX_FOOTER_BYTES:
            raise FooterLengthError(f"footer length {claimed} exceeds the {MAX_FOOTER_BYTES} bytes rugo fetches",
                                    name)
        if size is None or claimed + TRAILER <= size:
            tail = _cat_suffix(fs, path, claimed + TRAILER, size, name)
    return tail


def _cat_suffix(fs: Any, path: str, n: int, size: Optional[int], name: str) -> bytes:
    """The last ``n`` bytes (or the whole object when smaller) in one request."""
    try:
        if size is not None:
            return fs.cat_file(path, start=max(0, size - n), end=size)
        return fs.cat_file(path, start=-n)
    except FileNotFoundError as exc:
        raise FileNotFoundError(errno.ENOENT, f"no such object: {name}", name) from exc
