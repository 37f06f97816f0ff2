"""Numbers as people read them: ``size(1_300_000)`` is ``1.2 MiB``, ``count(3_400_000)`` is
``3.4 M``. Used by the command line's summary and by the report's cards, tables and axes."""
from __future__ import annotations

__all__ = ["size", "count"]

_SIZE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
_COUNT_UNITS = ("", " k", " M", " G", " T")


def size(n: float) -> str:
    """Bytes in binary units: ``512 B``, ``1.5 KiB``, ``3.2 GiB`` (whole bytes with separators)."""
    value = float(n)
    for unit in _SIZE_UNITS:
        if abs(value) < 1024 or unit == _SIZE_UNITS[-1]:
            return f"{int(round(value)):,} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def count(n: float) -> str:
    """A count in thousands (k), millions (M) ...: ``950``, ``12.3 k``, ``3.4 M``."""
    value = float(n)
    for unit in _COUNT_UNITS:
        if abs(value) < 1000 or unit == _COUNT_UNITS[-1]:
            return f"{value:,.0f}" if unit == "" else f"{value:,.1f}{unit}"
        value /= 1000
    raise AssertionError("unreachable")
