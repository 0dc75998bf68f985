"""Small form helpers shared by the inspector pages."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Protocol

from PySide6.QtCore import QSignalBlocker
from PySide6.QtWidgets import QComboBox, QLabel, QWidget

from gpuplanner.gui.commands import PlanCommand
from gpuplanner.gui.editor import Editor
from gpuplanner.gui.rack.controller import RackController

DEFAULT_TEXT = "engine default"


class Sections(Protocol):
    """What an inspector page uses of the inspector it sits in (``gpuplanner.gui.inspector.Inspector``)."""

    editor: Editor
    rack: RackController

    def push(self, build: Callable[[], PlanCommand]) -> bool: ...

    def apply_preset(self, preset: str) -> None: ...


@contextmanager
def blocked(*widgets: QWidget) -> Iterator[None]:
    """Update widgets from the model without their signals pushing commands back."""
    blockers = [QSignalBlocker(w) for w in widgets]
    try:
        yield
    finally:
        for blocker in blockers:
            blocker.unblock()


def fill_combo(combo: QComboBox, entries: Iterable[tuple[str, object]], current: object) -> None:
    """Replace a combo's entries (text, data) and select ``current`` (signals blocked)."""
    # long catalog names must not make the inspector wider than its dock
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(10)
    with blocked(combo):
        combo.clear()
        for text, data in entries:
            combo.addItem(text, data)
        index = combo.findData(current)
        if index < 0 and current is not None:
            combo.addItem(f"{current} (not in the catalog)", current)
            index = combo.count() - 1
        combo.setCurrentIndex(max(index, 0))


def hint(text: str = "", name: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setProperty("hint", True)
    label.setStyleSheet("color: palette(mid);" if not name else "")
    if name:
        label.setObjectName(name)
    return label


def error_label(name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setStyleSheet("color: #e5484d;")
    label.hide()
    return label


def show_error(label: QLabel, text: str | None) -> None:
    label.setText(text or "")
    label.setVisible(bool(text))
