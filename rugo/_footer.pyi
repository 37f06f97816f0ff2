"""Stubs for the C extension rugo._footer (sources in rugo/_ext/)."""
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union
import os

_Path = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]

#: plan_tail kinds
TAIL_DONE: int   # 0: (TAIL_DONE, footer_length): the footer ends 8 bytes before the end of tail
TAIL_NEED: int   # 1: (TAIL_NEED, n): read exactly the last n bytes of the file, then plan again
#: bytes read first (the whole file when smaller)
TAIL_READ_SIZE: int
#: footer length (u32 LE) + magic
TRAILER: int
#: the largest footer read or fetched (1 GiB); a trailer claiming more is a FooterLengthError
MAX_FOOTER_BYTES: int
#: load_tails per-file status
LOAD_OK: int      # 0: the span holds the whole footer
LOAD_FORMAT: int  # 1: the span holds the bytes read; the parser reports what is wrong with them
LOAD_ERROR: int   # 2: nothing to parse (empty span): errors[i] says why

def parse(buffer: Any, include_statistics: bool, max_row_groups: int) -> Dict[str, Any]: ...
def read_file(path: _Path, include_statistics: bool, max_row_groups: int) -> Dict[str, Any]: ...

def plan_tail(size: int, tail: Any, head: Optional[Any] = None) -> Tuple[int, int]:
    """The tail planner: what a reader holding the last ``len(tail)`` bytes of a file does next.

    Parameters
    ----------
    size : int
        The file's size, or -1 when unknown; ``len(tail) == size`` means the whole file.
    tail : buffer
        The last bytes of the file.
    head : buffer, optional
        The file's first 4 bytes, when read; tells a truncated Parquet file (only looked
        at when ``tail`` does not end in ``PAR1``).

    Returns
    -------
    (TAIL_DONE, footer_length) or (TAIL_NEED, n)
        ``n > len(tail)``: read exactly the last ``n`` bytes and ask again.

    Raises
    ------
    rugo.errors.NotParquetError
        Too short, no ``PAR1`` at the end, or truncated (``PAR1`` at the start only).
    rugo.errors.EncryptedFooterError
        ``PARE`` at the end.
    rugo.errors.FooterLengthError
        A length of 0, over ``MAX_FOOTER_BYTES``, or beyond the bytes before the trailer.
    ValueError
        ``size`` below -1 or smaller than ``len(tail)``.
    """

def load_tails(paths: Sequence[_Path], sizes: Sequence[int], out: Any,
               first_reads: Optional[Sequence[int]] = None
               ) -> Tuple[int, int, List[Tuple[int, int]], bytes, Dict[int, Tuple[str, str]]]:
    """Load many files' tails into ``out``, packed from offset 0, without the GIL.

    For each file in turn: open (``O_RDONLY | O_CLOEXEC | O_NONBLOCK``), ``fstat`` (a
    directory is ``IsADirectoryError``; a FIFO, socket or device is ``NotARegularFile``
    and never read), ``pread`` of the first read, and the exact second read the planner
    asks for when the footer is larger. The loop stops *before* a file whose bytes do not
    fit in the space left (its first read, or its second).

    Parameters
    ----------
    paths : sequence of str or bytes or os.PathLike
        The files (converted with ``os.fsencode`` before the GIL is released).
    sizes : sequence of int
        Each file's size when listed (-1: ``fstat``'s). Reads are placed from it; a file
        whose size is no longer that, a read that ends early, or a file whose size, mtime
        or ctime moved while it was read is a ``FileChanged`` error (never bytes of two
        versions of the file).
    out : writable C-contiguous buffer
        ``bytearray``, ``memoryview``, ``SharedMemory.buf``... pinned during the call.
    first_reads : sequence of int, optional
        Per file, bytes of the first read (capped at the size); 0 for the default
        (``TAIL_READ_SIZE``, the whole file when smaller). The whole size reads a file
        whole ("full" mode); a ``need`` returned earlier makes the first read exact.

    Returns
    -------
    consumed : int
        Files handled, ``paths[:consumed]``; the rest were not opened.
    need : int
        When ``consumed < len(paths)``: the bytes ``paths[consumed]`` needs (a fresh
        buffer of that size holds it; pass it as that file's first read); else 0.
    spans : list of (start, end)
        Per consumed file, where its bytes are in ``out`` (empty for LOAD_ERROR).
    status : bytes
        Per consumed file, ``LOAD_OK``, ``LOAD_FORMAT`` or ``LOAD_ERROR``.
    errors : dict of int -> (str, str)
        For LOAD_FORMAT and LOAD_ERROR files, by position: the error type name and message.
        I/O errors: the OSError subclass of the errno (``FileNotFoundError``,
        ``PermissionError``, ``IsADirectoryError``...) and its strerror;
        ``FileChanged`` (the file changed since it was listed, or while read); ``NotARegularFile``;
        ``NotParquetError`` for a truncated Parquet file. For LOAD_FORMAT, the planner's
        error class and message (the parser raises the same from the span).
    """

def parse_batch(buffer: Any, spans: Sequence[Tuple[Optional[int], Optional[int]]],
                detail: int) -> Dict[str, Dict[str, Tuple[Optional[bytes], ...]]]:
    """The catalogue rows of the footers at ``spans`` of ``buffer``, as Arrow buffers.

    ``detail``: 0 files, 1 columns, 2 row_groups. Table -> column -> buffers in Arrow
    layout, the validity bitmap last (``None``: no nulls); bounds as ``stats_kind`` codes
    and text / int64 / float64 copies (``scanner.fields.stored``). See batch.c.
    """

def list_directory(path: _Path, skip: str) -> Tuple[List[str], bytes, List[int], List[int], List[int], List[int],
                                                     List[Optional[Tuple[int, int]]], int, bool]:
    """One directory's entries, sorted by name and each ``stat``'ed, without the GIL.

    ``readdir``, then a sort by the names' bytes, then ``fstatat`` per entry (links
    followed: a broken link is a failed stat); ``.`` and ``..`` are left out.

    Parameters
    ----------
    path : str or bytes or os.PathLike
        The directory.
    skip : str
        Names starting with one of these characters are counted, not listed or stat'ed.

    Returns
    -------
    names : list of str
        The other names, decoded as ``os.fsdecode`` does, sorted by their bytes.
    kinds : bytes
        Per name: ``f`` regular file, ``d`` directory, ``o`` anything else (FIFO, socket,
        device), ``e`` the stat failed.
    sizes : list of int
        Per name, the size; for ``e``, the errno of the failed stat.
    mtimes : list of int
        Per name, ``st_mtime_ns`` (0 for ``e``).
    ctimes : list of int
        Per name, ``st_ctime_ns`` (0 for ``e``): the last change of the inode, data or
        metadata (a rewrite that restores size and mtime still moves it).
    inodes : list of int
        Per name, ``st_ino`` as a signed 64-bit number (one above 2**63 wraps negative; 0
        for ``e``).
    ids : list of (int, int) or None
        Per name, ``(st_dev, st_ino)`` of a directory, else ``None``.
    hidden : int
        Names skipped for their first character.
    ascii : bool
        Every listed name is ASCII, so the byte order is also the order of the names as
        ``str``; when not, a caller that needs that order sorts again.

    Raises
    ------
    OSError
        The directory cannot be opened or read (the subclass of its errno, with ``path``).
    """
