"""One GiB formatter for the command line, the report's messages, the PDF and the window."""

from __future__ import annotations

from gpuplanner.core.units import gib


def test_gib_writes_gibibytes_with_the_unit_or_for_a_gib_column():
    assert gib(16.43 * 2**30, unit=False) == "16.43"
    assert gib(-22.73 * 2**30, unit=False) == "-22.73"
    assert gib(633.6 * 2**30, 1) == "633.6 GiB"
    assert gib(1250 * 2**30, 1) == "1,250.0 GiB"  # thousands separated, on every surface
    assert gib(80e9) == "74.51 GiB"  # an '80 GB' card holds 74.5 GiB
