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

from rugo.tail import MAX_FOOTER_BYTES, TAIL_READ_SIZE, TRAILER, Tail, read_tail

__all__ = ["is_url", "filesystem_for", "fetch_tail", "fetch", "tail_request_size", "MAX_FOOTER_BYTES"]

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


def fetch(fs: Any, path: str, *, footer_size_hint: Optional[int] = None, size: Optional[int] = None,
          url: Optional[str] = None) -> Tail:
    """Fetch the bytes that hold an object's footer, as the tail planner asks: 1 request, 2 for a large footer.

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
    rugo.tail.Tail
        The bytes (the whole object when it is smaller than a request), the size when
        known, and the planner's error when the object cannot hold a readable footer (no
        second request for a claim over :data:`MAX_FOOTER_BYTES`, or beyond an object
        whose size is known).

    Raises
    ------
    FileNotFoundError
        The object does not exist; the message names ``url``.
    """
    name = url or path
    first = tail_request_size(footer_size_hint)
    return read_tail(lambda n: _cat_suffix(fs, path, n, size, name), -1 if size is None else size, first=first)


def fetch_tail(fs: Any, path: str, *, footer_size_hint: Optional[int] = None, size: Optional[int] = None,
               url: Optional[str] = None) -> bytes:
    """The bytes of :func:`fetch`: an error the planner found is left to the parser.

    The parser reports it from these bytes (a claim over 1 GiB, no PAR1 magic...); a
    request for more than the planner allows is never made.
    """
    return fetch(fs, path, footer_size_hint=footer_size_hint, size=size, url=url).data


def _cat_suffix(fs: Any, path: str, n: int, size: Optional[int], name: str) -> bytes:
    """The last ``n`` bytes (or the whole object when smaller) in one request."""
    try:
        if size is not None:
            return fs.cat_file(path, start=max(0, size - n), end=size)
        return fs.cat_file(path, start=-n)
    except FileNotFoundError as exc:
        raise FileNotFoundError(errno.ENOENT, f"no such object: {name}", name) from exc
