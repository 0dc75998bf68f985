"""Edit-menu actions: delete, copy, paste, select all, through the window's :class:`Editor`."""

from __future__ import annotations

import atexit

from PySide6.QtGui import QGuiApplication

from gpuplanner.core.plan import Plan
from gpuplanner.drawing.scene import Selection
from gpuplanner.gui import clipboard
from gpuplanner.gui import commands as cmd
from gpuplanner.gui.editor import Editor


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


def delete_selection(editor: Editor) -> None:
    selection = editor.selection()
    if not selection:
        editor.notify("Nothing selected to delete")
        return
    count = len(selection.nodes) + len(selection.gpus) + len(selection.links)
    text = f"Delete {count} item{'s' if count > 1 else ''}"
    editor.push(
        lambda: cmd.delete_command(
            editor.document, nodes=selection.nodes, gpus=selection.gpus, links=selection.links, text=text
        )
    )


def copy_selection(editor: Editor) -> bool:
    data = clipboard.fragment(editor.document.plan, editor.selection())
    if data is None:
        editor.notify("Select servers or GPUs to copy")
        return False
    global _release_registered
    if not _release_registered:
        atexit.register(_release_clipboard)
        _release_registered = True
    QGuiApplication.clipboard().setMimeData(clipboard.to_mime(data))
    return True


def _node_ids(plan: Plan) -> list[str]:
    return [n.id for n in plan.rig.nodes]


def _gpu_ids(plan: Plan) -> list[str]:
    return [g.id for n in plan.rig.nodes for g in n.gpus]


def paste(editor: Editor) -> None:
    """Paste the clipboard's servers (or GPUs, into the selected server) and select what was pasted."""
    data = clipboard.from_mime(QGuiApplication.clipboard().mimeData())
    if data is None:
        editor.notify("The clipboard holds no servers or GPUs")
        return
    target = editor.selected_node()
    ids = _node_ids if data.get("nodes") else _gpu_ids
    before = set(ids(editor.document.plan))
    if editor.push(
        lambda: cmd.edit_command(editor.document, "Paste", lambda d: clipboard.paste(d, data, target))
    ):
        new = tuple(i for i in ids(editor.document.plan) if i not in before)
        editor.select(Selection(nodes=new) if data.get("nodes") else Selection(gpus=new))


def select_all(editor: Editor) -> None:
    editor.select(Selection(nodes=tuple(_node_ids(editor.document.plan))))
