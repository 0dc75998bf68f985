"""The leak check every Qt test runs (tests/conftest.py): it sees a widget kept alive, and not one closed."""

from __future__ import annotations

from conftest import leaked_widgets
from PySide6.QtWidgets import QApplication, QLabel


def test_a_widget_kept_alive_is_seen_and_a_deleted_one_is_not(qapp):
    before = set(QApplication.topLevelWidgets())
    kept = QLabel("kept by this test")
    kept.show()
    assert kept in leaked_widgets(before)
    kept.close()
    kept.deleteLater()
    assert leaked_widgets(before) == []


def test_the_whole_window_leaves_nothing_behind_after_merged_edits(qapp, no_dialogs):
    """A burst of merged spin-box edits used to keep every merged-away command, and through it the
    document and the closed window, alive (PySide keeps the Python half of a command Qt deletes)."""
    from gpuplanner.app import create_main_window
    from gpuplanner.gui import commands as cmd

    before = set(QApplication.topLevelWidgets())
    window = create_main_window(None)
    window.show()
    doc = window.document
    for n in range(3):
        window.push(lambda n=n, doc=doc: cmd.set_workload_field_command(doc, "concurrency", 50 + n))
    assert window.undo_stack.count() == 1  # merged into one step
    window.undo_stack.setClean()
    window.close()
    window.deleteLater()
    del window, doc
    assert leaked_widgets(before) == []
