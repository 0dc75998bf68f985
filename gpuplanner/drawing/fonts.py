"""The fonts shipped in ``resources/fonts`` (DejaVu Sans, Bold, Mono), registered with Qt at start-up.

A bare Linux machine or a minimal container may have no fonts at all; Qt then draws nothing (or boxes)
for every label and the PDF has no text. Registering the bundled TTFs gives Qt at least one family, and
when the system offered none the application font is switched to it. On a desktop with fonts the
platform's own font stays the default: the bundled ones are only a floor.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QFont, QFontDatabase, QGuiApplication

from gpuplanner.paths import resources_dir

BUNDLED_FAMILY = "DejaVu Sans"
BUNDLED_MONO_FAMILY = "DejaVu Sans Mono"

_registered: list[str] | None = None


def bundled_font_files() -> list[Path]:
    """The TrueType files in ``resources/fonts``, sorted by name (empty if the folder is missing)."""
    try:
        folder = resources_dir() / "fonts"
    except FileNotFoundError:
        return []
    return sorted(folder.glob("*.ttf"))


def register_bundled_fonts() -> list[str]:
    """Register the bundled fonts with ``QFontDatabase``; returns the families now available from them.

    Call it once after the ``QApplication`` exists and before the first window is built. Calling it
    again does nothing. If the system had no font families before, the application font becomes
    DejaVu Sans so every widget and the PDF export have glyphs to draw.
    """
    global _registered
    if _registered is not None:
        return list(_registered)
    if QGuiApplication.instance() is None:
        raise RuntimeError("register_bundled_fonts() needs a QApplication; create it first")
    system_families = set(QFontDatabase.families())
    families: list[str] = []
    for path in bundled_font_files():
        font_id = QFontDatabase.addApplicationFont(str(path))
        if font_id < 0:
            continue  # an unreadable file must not stop the app; the system fonts still work
        for family in QFontDatabase.applicationFontFamilies(font_id):
            if family not in families:
                families.append(family)
    if not system_families and BUNDLED_FAMILY in families:
        font = QFont(BUNDLED_FAMILY)
        font.setPointSizeF(max(QGuiApplication.font().pointSizeF(), 9.0))
        QGuiApplication.setFont(font)
    _registered = families
    return list(families)
