"""Edit-menu actions of the main window: delete, copy, paste, select all."""

from __future__ import annotations

import atexit
from typing import TYPE_CHECKING

from PySide6.QtGui import QGuiApplication

from gpuplanner.gui import clipboard
from gpuplanner.gui import commands as cmd

if TYPE_CHECKING:
    from gpuplanner.gui.main_window import MainWindow


def _release_clipboard() -> None:
    """Take our fragment off the clipboard while Python still runs.

    The clipboard owns the QMimeData we gave it; left there, Qt deletes it from its own exit handler,
    after Python has shut down, and shiboken's clean-up of the wrapper then crashes the process.
    """
    if QGuiApplication.instance() is None:
        return
    board = QGuiApplication.clipboard()
    mime = board.mimeData()
    if mime is not None and mime.hasFormat(clipboard.FRAGMENT_MIME):
        board.clear()


_release_registered = False


def delete_selection(window: MainWindow) -> None:
    selection = window.scene.selection()
    if not selection:
        window.show_message("Nothing selected to delete")
        return
    count = len(selection.nodes) + len(selection.gpus) + len(selection.links)
    text = f"Delete {count} item{'s' if count > 1 else ''}"
    window.push(
        lambda: cmd.delete_command(
            window.document, nodes=selection.nodes, gpus=selection.gpus, links=selection.links, text=text
        )
    )


def copy_selection(window: MainWindow) -> bool:
    data = clipboard.fragment(window.document.plan, window.scene.selection())
    if data is None:
        window.show_message("Select servers or GPUs to copy")
        return False
    global _release_registered
    if not _release_registered:
        atexit.register(_release_clipboard)
        _release_registered = True
    QGuiApplication.clipboard().setMimeData(clipboard.to_mime(data))
    return True


def paste(window: MainWindow) -> None:
    data = clipboard.from_mime(QGuiApplication.clipboard().mimeData())
    if data is None:
        window.show_message("The clipboard holds no servers or GPUs")
        return
    selection = window.scene.selection()
    target = selection.nodes[0] if selection.nodes else None
    if target is None and selection.gpus:
        target = window.document.gpu(selection.gpus[0])[0].id
    table = window.scene.nodes if data.get("nodes") else window.scene.gpus
    before = set(table)
    if window.push(
        lambda: cmd.edit_command(window.document, "Paste", lambda d: clipboard.paste(d, data, target))
    ):
        window.scene.clearSelection()
        for ident, item in table.items():
            item.setSelected(ident not in before)


def select_all(window: MainWindow) -> None:
    for item in window.scene.nodes.values():
        item.setSelected(True)
