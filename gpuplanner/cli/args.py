"""Argument types the command line's subcommands share: whole numbers in a range, times in ms."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def count(limit: int) -> Callable[[str], int]:
    """An argparse type: a whole number from 1 to ``limit``."""

    def parse(text: str) -> int:
        digits = text.strip()
        try:
            value = int(digits) if len(digits) <= 20 else None
        except ValueError:
            value = None
        if value is None:
            raise argparse.ArgumentTypeError(f"'{text[:40]}' is not a whole number from 1 to {limit:,}")
        if value < 1:
            raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
        if value > limit:
            raise argparse.ArgumentTypeError(f"must be at most {limit:,}, not {value:,}")
        return value

    return parse


def milliseconds(text: str) -> float:
    """An argparse type: a service-level time in milliseconds, above 0 and at most an hour."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= 3_600_000:  # NaN and infinity fail too
        raise argparse.ArgumentTypeError(f"'{text[:40]}' is not a time in milliseconds above 0")
    return value
