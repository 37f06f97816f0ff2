"""Numbers as people read them: ``size(1_300_000)`` is ``1.2 MiB``, ``count(3_400_000)`` is
``3.4 M``. Used by the command line's summary and by the report's cards, tables and axes."""
from __future__ import annotations

from typing import Sequence, Tuple

__all__ = ["size", "count"]

_SIZE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
_COUNT_UNITS = ("", " k", " M", " G", " T")


def _scaled(n: float, base: int, units: Sequence[str]) -> Tuple[float, str, bool]:
    """``n`` in the largest unit it reaches: (value, unit, whether it is the first unit)."""
    value = float(n)
    for position, unit in enumerate(units):
        if abs(value) < base or position == len(units) - 1:
            return value, unit, position == 0
        value /= base
    raise AssertionError("unreachable")


def size(n: float) -> str:
    """Bytes in binary units: ``512 B``, ``1.5 KiB``, ``3.2 GiB`` (whole bytes with separators)."""
    value, unit, first = _scaled(n, 1024, _SIZE_UNITS)
    return f"{int(round(value)):,} {unit}" if first else f"{value:,.1f} {unit}"


def count(n: float) -> str:
    """A count in thousands (k), millions (M) ...: ``950``, ``12.3 k``, ``3.4 M``."""
    value, unit, first = _scaled(n, 1000, _COUNT_UNITS)
    return f"{value:,.0f}" if first else f"{value:,.1f}{unit}"
