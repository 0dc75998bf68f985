"""How the PDF writes numbers. Qt-free, so tests can format a JSON report's figures the same way.

Memory is in GiB (2**30 bytes, what ``nvidia-smi`` shows), times in milliseconds, rates per second.
"""

from __future__ import annotations

from gpuplanner.core.specs import GIB

DASH = "—"


def ttft(seconds: float) -> str:
    """Time to first token, whole milliseconds: ``'447 ms'``."""
    return f"{seconds * 1000:,.0f} ms"


def tpot(seconds: float) -> str:
    """Time per output token, one decimal: ``'50.1 ms'``."""
    return f"{seconds * 1000:,.1f} ms"


def ms(seconds: float) -> str:
    """A short duration with two decimals, ``'17.55 ms'`` (decode-step parts)."""
    return f"{seconds * 1000:,.2f} ms"


def per_user(tokens_per_s: float) -> str:
    """Tokens per second for one user: ``'19.9 tokens/s'``."""
    return f"{tokens_per_s:,.1f} tokens/s"


def total_rate(tokens_per_s: float) -> str:
    """Tokens per second for everyone: ``'1,674 tokens/s'``."""
    return f"{tokens_per_s:,.0f} tokens/s"


def count(n: int) -> str:
    return f"{n:,}"


def params_b(n_params: int) -> str:
    """Parameters in billions: ``'70.55 B'``."""
    return f"{n_params / 1e9:,.2f} B"


def percent(fraction: float) -> str:
    """``0.0071`` -> ``'0.7%'``, ``0.45`` -> ``'45%'``: one decimal below 10%."""
    value = fraction * 100
    return f"{value:.1f}%" if abs(value) < 10 else f"{value:.0f}%"


def data_size(n_bytes: float) -> str:
    """Bytes in the binary unit that reads best: ``'6.9 MiB'``, ``'32.0 KiB'``, ``'512 B'``."""
    for unit, size in (("GiB", GIB), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n_bytes) >= size:
            return f"{n_bytes / size:,.1f} {unit}"
    return f"{n_bytes:,.0f} B"


def layer_range(layers: tuple[int, int]) -> str:
    """``(0, 40)`` -> ``'0–39'``; an empty range is a dash."""
    first, last = layers
    if last <= first:
        return DASH
    return f"{first}–{last - 1}" if last - first > 1 else str(first)


def band(low: str, high: str) -> str:
    return f"{low} – {high}"
