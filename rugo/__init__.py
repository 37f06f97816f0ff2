"""rugo: fast, hardened Parquet footer metadata reading.

``rugo.parquet`` reads metadata; ``rugo.errors`` holds the exceptions (re-exported here).
Importing ``rugo`` is cheap: the C extension loads with ``rugo.parquet``.
"""
from rugo.errors import (
    EncryptedFooterError,
    FooterLengthError,
    NotParquetError,
    ParquetFormatError,
    RugoError,
    ThriftDecodeError,
)

__version__ = "0.2.0"

__all__ = [
    "RugoError",
    "ParquetFormatError",
    "NotParquetError",
    "FooterLengthError",
    "ThriftDecodeError",
    "EncryptedFooterError",
    "__version__",
]
