"""The exception hierarchy of rugo.

::

    RugoError
    ├── ParquetFormatError (also ValueError)
    │   ├── NotParquetError      no trailing PAR1 magic, or too short
    │   ├── FooterLengthError    footer length 0 or beyond the bytes available
    │   └── ThriftDecodeError    truncated or malformed Thrift footer
    └── EncryptedFooterError     PARE file: the footer itself is encrypted

Every error carries ``path`` (the file or URL, ``None`` for in-memory data), ``offset``
(the footer byte where the problem was found, or ``None``) and ``field`` (where in the
footer, e.g. ``row_groups[3].columns``), names them in its message, and pickles, so it can
cross process boundaries unchanged.
"""
from __future__ import annotations

from typing import Optional

__all__ = [
    "RugoError",
    "ParquetFormatError",
    "NotParquetError",
    "FooterLengthError",
    "ThriftDecodeError",
    "EncryptedFooterError",
]


class RugoError(Exception):
    """Base class of every error rugo raises about a file's content.

    Parameters
    ----------
    detail : str
        What is wrong, without the path (the path is prepended in ``str()``).
    path : str, optional
        File name or URL the bytes came from.
    offset : int, optional
        Byte offset inside the Thrift footer where the problem was found.
    field : str, optional
        Where in the footer structure, e.g. ``row_groups[3].columns[0].meta_data``.
    """

    def __init__(self, detail: str, path: Optional[str] = None, offset: Optional[int] = None,
                 field: Optional[str] = None) -> None:
        super().__init__(detail, path, offset, field)
        self.detail = detail
        self.path = path
        self.offset = offset
        self.field = field

    def with_path(self, path: Optional[str]) -> "RugoError":
        """Return a copy of this error that names ``path``."""
        return type(self)(self.detail, path, self.offset, self.field)

    def __str__(self) -> str:
        where = []
        if self.offset is not None:
            where.append(f"footer byte {self.offset}")
        if self.field:
            where.append(f"at {self.field}")
        msg = self.detail + (f" ({', '.join(where)})" if where else "")
        return f"{self.path}: {msg}" if self.path else msg

    def __reduce__(self):
        return (type(self), (self.detail, self.path, self.offset, self.field))


class ParquetFormatError(RugoError, ValueError):
    """The bytes are not a well-formed Parquet footer."""


class NotParquetError(ParquetFormatError):
    """No ``PAR1`` magic at the end, or too few bytes to be a Parquet file."""


class FooterLengthError(ParquetFormatError):
    """The footer length in the trailer is 0 or larger than the bytes available."""


class ThriftDecodeError(ParquetFormatError):
    """The Thrift compact-protocol footer is truncated, malformed or incomplete."""


class EncryptedFooterError(RugoError):
    """The file ends in ``PARE``: its footer is encrypted and cannot be read without keys."""
