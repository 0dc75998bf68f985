"""The PDF's colours are the window's, and its number formats are the documented ones."""

from __future__ import annotations

from gpuplanner.export import formats as fmt
from gpuplanner.export import theme


def test_chart_colours_match_the_window_panel():
    from gpuplanner.gui.panel import style

    def names(parts):
        return [(key, colour if isinstance(colour, str) else colour.name()) for key, _, colour in parts]

    assert names(theme.MEMORY_PARTS) == [(k, c.lower()) for k, c in names(style.MEMORY_PARTS)]
    assert names(theme.STEP_PARTS) == [(k, c.lower()) for k, c in names(style.STEP_PARTS)]
    assert [c.name() for c in theme.STAGE_COLOURS] == [c.lower() for c in style.STAGE_COLOURS]
    for mine, theirs in ((theme.FREE_COLOUR, style.FREE_COLOUR), (theme.STRANDED_COLOUR, style.STRANDED_COLOUR),
                         (theme.OVER_COLOUR, style.OVERFLOW_COLOUR)):  # fmt: skip
        assert mine.name() == theirs.lower()


def test_formats():
    assert fmt.ttft(0.10809) == "108 ms"
    assert fmt.ttft(1.8642) == "1,864 ms"
    assert fmt.tpot(0.018935) == "18.9 ms"
    assert fmt.per_user(52.81) == "52.8 tokens/s"
    assert fmt.total_rate(1674.08) == "1,674 tokens/s"
    assert fmt.data_size(7225344) == "6.9 MiB"
    assert fmt.data_size(32768) == "32.0 KiB"
    assert fmt.percent(0.0071) == "0.7%"
    assert fmt.percent(0.45) == "45%"
    assert fmt.layer_range((0, 40)) == "0–39"
    assert fmt.layer_range((5, 6)) == "5"
    assert fmt.layer_range((3, 3)) == fmt.DASH
