"""Bytes for people, the same on every surface: the command line's table, the report's messages, the
PDF and the window all write memory with :func:`gib`."""

from __future__ import annotations

from gpuplanner.core.specs import GIB


def gib(n_bytes: float, digits: int = 2, unit: bool = True) -> str:
    """Bytes as GiB (2**30 bytes, what ``nvidia-smi`` shows): ``'1,234.57 GiB'``; ``unit=False`` for a
    table column whose header says GiB (``'79.11'``)."""
    text = f"{n_bytes / GIB:,.{digits}f}"
    return f"{text} GiB" if unit else text
