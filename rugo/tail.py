"""The sans-IO tail planner, for readers whose I/O is in Python (file objects, fsspec).

Every reader of a footer (``read_metadata`` on a path, a file object or a URL; the
scanner's shared-memory loader) asks the same planner, in C (``rugo/_ext/tail.c``), what
to do with the last bytes it holds of a file::

    plan_tail(size, tail) -> (TAIL_DONE, footer_length)   the footer is in ``tail``
                          -> (TAIL_NEED, n)               read exactly the last n bytes
                          raises NotParquetError / FooterLengthError / EncryptedFooterError

The first read is the last :data:`TAIL_READ_SIZE` bytes (the whole file when smaller); a
footer larger than that costs one exact second read; a trailer claiming more than
:data:`MAX_FOOTER_BYTES` (1 GiB) or more than the file holds is a ``FooterLengthError``,
whatever the reader. :func:`read_tail` drives the planner with a reader's I/O callbacks.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Optional

from rugo import _footer
from rugo.errors import NotParquetError, RugoError

__all__ = ["TAIL_READ_SIZE", "TRAILER", "MAX_FOOTER_BYTES", "TAIL_DONE", "TAIL_NEED", "plan_tail",
           "first_read_size", "Tail", "read_tail"]

#: bytes read first when nothing is known about the footer
TAIL_READ_SIZE: int = _footer.TAIL_READ_SIZE
#: footer length (u32 LE) + magic
TRAILER: int = _footer.TRAILER
#: the largest footer any reader fetches; a trailer claiming more is a FooterLengthError
MAX_FOOTER_BYTES: int = _footer.MAX_FOOTER_BYTES
TAIL_DONE: int = _footer.TAIL_DONE
TAIL_NEED: int = _footer.TAIL_NEED

plan_tail = _footer.plan_tail


def first_read_size(size: int) -> int:
    """Bytes to read first from the end of a file of ``size`` bytes (-1: unknown)."""
    return TAIL_READ_SIZE if size < 0 else min(size, TAIL_READ_SIZE)


class Tail(NamedTuple):
    """What :func:`read_tail` read: the last ``len(data)`` bytes of a file of ``size``."""

    data: bytes
    #: the file's size, -1 when unknown
    size: int
    #: what the planner found wrong (``data`` is then what it saw), else None
    error: Optional[RugoError] = None


def read_tail(read_last: Callable[[int], bytes], size: int = -1, *, first: int = 0,
              read_head: Optional[Callable[[], bytes]] = None) -> Tail:
    """Read the bytes holding a file's footer: the reads the planner asks for, at most two.

    Parameters
    ----------
    read_last : callable
        ``read_last(n)`` returns the last ``n`` bytes of the file (fewer: the whole file,
        when it is smaller than ``n``).
    size : int
        The file's size, or -1 when unknown (a suffix request then tells it when the file
        is smaller than asked).
    first : int
        Bytes to read first; 0 for :func:`first_read_size` (an exact hint: footer + trailer).
    read_head : callable, optional
        Returns the file's first 4 bytes. Called only when the tail does not end in
        ``PAR1`` and does not show the head, to tell a truncated Parquet file.

    Returns
    -------
    Tail
        ``error`` is None when ``data`` holds the whole footer, else the error to raise
        (``data`` is then what the planner saw, for a parser to report from).
    """
    want = first or first_read_size(size)
    for _ in range(2):   # the first read, and the exact one a NEED asks for
        data = read_last(want)
        if len(data) < want and (size < 0 or len(data) < size):
            size = len(data)   # a suffix read of a smaller file: this is all of it
        try:
            kind, value = plan_tail(size, data)
        except NotParquetError as exc:
            if read_head is None or not 0 <= len(data) < size:
                return Tail(data, size, exc)
            try:
                plan_tail(size, data, read_head())
            except RugoError as exc:   # truncated, or the same error
                return Tail(data, size, exc)
            raise AssertionError("unreachable") from None   # pragma: no cover
        except RugoError as exc:
            return Tail(data, size, exc)
        if kind == TAIL_DONE:
            return Tail(data, size)
        want = value
    # The file changed between the two reads and the planner still needs more: the error
    # is the one a parser of these bytes raises (a NEED it cannot follow).
    try:
        _footer.parse(data, False, 0)
    except RugoError as exc:
        return Tail(data, size, exc)
    raise AssertionError("a parse succeeded where the planner needed more")   # pragma: no cover
