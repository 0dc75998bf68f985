"""Colours and pens of the rack drawing, derived from the application palette (light or dark)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtGui import QColor, QGuiApplication, QPalette

# One hue per interconnect family, chosen to stay distinct on light and dark backgrounds.
LINK_COLOURS = {
    "nvlink": "#76b900",
    "nvswitch": "#4caf50",
    "nvlink-bridge": "#a4c639",
    "infinity-fabric": "#e4572e",
    "pcie": "#5b8def",
    "host": "#8a94a6",
    "infiniband": "#f0a202",
    "ethernet": "#b36ae2",
}
LINK_KIND_NAMES = {
    "nvlink": "NVLink",
    "nvswitch": "NVSwitch",
    "nvlink-bridge": "NVLink bridge",
    "infinity-fabric": "Infinity Fabric / scale-up",
    "pcie": "PCIe",
    "host": "Host",
    "infiniband": "InfiniBand",
    "ethernet": "Ethernet",
}
# One colour per pipeline stage, repeated past eight stages: the layer map's, the canvas's stage badges.
STAGE_COLOURS = ("#4E79A7", "#F28E2B", "#59A14F", "#E15759", "#76B7B2", "#EDC948", "#B07AA1", "#FF9DA7")

VENDOR_COLOURS = {"NVIDIA": "#76b900", "AMD": "#e4572e", "Intel": "#0071c5"}


def link_colour(kind: str) -> QColor:
    return QColor(LINK_COLOURS.get(kind, "#8a94a6"))


def link_width(bandwidth_gbps: float) -> float:
    """Pen width for a link: grows with the log of its bandwidth (10 GB/s thin, 900 GB/s thick)."""
    return max(1.5, min(7.0, 1.5 + 1.25 * math.log2(max(bandwidth_gbps, 1.0) / 12.5)))


FILL_COLOURS = ("#30a46c", "#f5a524", "#e5484d")  # fits, in the last few percent, beyond the memory


def fill_level(used: float, capacity: float) -> int:
    """Which of FILL_COLOURS a memory fill takes: 0 while it fits, 1 in the last 3 %, 2 beyond."""
    if used > capacity:
        return 2
    return 1 if used > 0.97 * capacity else 0


def fill_colour(used: float, capacity: float) -> QColor:
    """Memory fill: green while it fits, amber in the last few percent, red beyond the card's memory."""
    return QColor(FILL_COLOURS[fill_level(used, capacity)])


@dataclass(frozen=True)
class RackStyle:
    dark: bool
    canvas: QColor
    grid: QColor
    node_fill: QColor
    node_border: QColor
    slot_fill: QColor
    card_fill: QColor
    card_border: QColor
    text: QColor
    muted_text: QColor
    selection: QColor

    @staticmethod
    def from_palette(palette: QPalette | None = None) -> RackStyle:
        palette = palette or QGuiApplication.palette()
        dark = palette.color(QPalette.ColorRole.Window).lightness() < 128
        if dark:
            return RackStyle(
                dark=True,
                canvas=QColor("#1b1e23"),
                grid=QColor("#262a31"),
                node_fill=QColor("#262b33"),
                node_border=QColor("#3c4450"),
                slot_fill=QColor("#1f232a"),
                card_fill=QColor("#313844"),
                card_border=QColor("#4a5463"),
                text=QColor("#e8ebf0"),
                muted_text=QColor("#9aa4b2"),
                selection=QColor("#4c8dff"),
            )
        return RackStyle(
            dark=False,
            canvas=QColor("#f3f5f8"),
            grid=QColor("#e6e9ee"),
            node_fill=QColor("#ffffff"),
            node_border=QColor("#c9d0da"),
            slot_fill=QColor("#f0f2f5"),
            card_fill=QColor("#fbfcfd"),
            card_border=QColor("#aeb7c4"),
            text=QColor("#1d2430"),
            muted_text=QColor("#5d6878"),
            selection=QColor("#2f6fed"),
        )
