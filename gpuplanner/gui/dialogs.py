"""The window's questions to the person, in one module so tests can answer them (monkeypatch)."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

PLAN_FILTER = "gpuplanner plans (*.gpuplan);;All files (*)"


def ask_save_changes(parent: QWidget, name: str) -> str:
    """'save', 'discard' or 'cancel' for a plan with unsaved changes."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Unsaved changes")
    box.setText(f"Save the changes to “{name}” before closing it?")
    box.setInformativeText("Your changes are lost if you don't save them.")
    box.setStandardButtons(
        QMessageBox.StandardButton.Save
        | QMessageBox.StandardButton.Discard
        | QMessageBox.StandardButton.Cancel
    )
    box.setDefaultButton(QMessageBox.StandardButton.Save)
    answer = box.exec()
    if answer == QMessageBox.StandardButton.Save:
        return "save"
    if answer == QMessageBox.StandardButton.Discard:
        return "discard"
    return "cancel"


def ask_restore(parent: QWidget, description: str) -> bool:
    """Offer the autosaved plan left by a session that did not close normally."""
    answer = QMessageBox.question(
        parent,
        "Restore unsaved work?",
        f"gpuplanner did not close normally last time. Restore the unsaved plan?\n\n{description}",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.Yes,
    )
    return answer == QMessageBox.StandardButton.Yes


def show_error(parent: QWidget, title: str, message: str) -> None:
    QMessageBox.warning(parent, title, message)


def ask_open_path(parent: QWidget, folder: str) -> str | None:
    path, _ = QFileDialog.getOpenFileName(parent, "Open plan", folder, PLAN_FILTER)
    return path or None


def ask_save_path(parent: QWidget, suggested: str) -> str | None:
    path, _ = QFileDialog.getSaveFileName(parent, "Save plan as", suggested, PLAN_FILTER)
    if path and not path.endswith(".gpuplan"):
        path += ".gpuplan"
    return path or None
