"""Editor: the narrow things a part of the window edits the plan through.

The canvas, the inspector, the live panel and the Edit menu get an ``Editor``, not the main window:
the document to read, one :meth:`Editor.push` for undo commands (the only way a command reaches the
undo stack), the canvas selection, the catalog and a place to say why an edit was refused.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QUndoStack

from gpuplanner.core.catalog import Catalog
from gpuplanner.core.errors import PlannerError
from gpuplanner.document.document import PlanDocument
from gpuplanner.drawing.labels import Labels
from gpuplanner.drawing.scene import RackScene, Selection
from gpuplanner.gui.commands import PlanCommand

Notify = Callable[[str], None]
Build = Callable[[], PlanCommand]


class Editor:
    def __init__(
        self, document: PlanDocument, stack: QUndoStack, scene: RackScene, catalog: Catalog, notify: Notify
    ) -> None:
        self.document = document
        self.catalog = catalog
        self.labels: Labels = scene.labels
        self.notify = notify
        self._stack = stack
        self._scene = scene

    def push(self, build: Build, refused: Notify | None = None) -> PlanCommand | None:
        """Build the command and push it; returns it, or None when it changes nothing or was refused.

        A refused edit (``build`` raises PlannerError) changes nothing and is explained through
        ``refused`` (the status bar when None)."""
        try:
            command = build()
        except PlannerError as exc:
            (refused or self.notify)(exc.message + (f" — {exc.fix}" if exc.fix else ""))
            return None
        if not command.changes_anything:
            return None
        self._stack.push(command)
        return command

    def selection(self) -> Selection:
        """What is selected on the canvas."""
        return self._scene.selection()

    def select(self, selection: Selection) -> None:
        """Select exactly ``selection`` on the canvas (ids it does not show are skipped)."""
        self._scene.select(selection)

    def selected_node(self) -> str | None:
        """The selected server, or the server of the first selected GPU."""
        selection = self.selection()
        if selection.nodes:
            return selection.nodes[0]
        if selection.gpus:
            return self.document.gpu(selection.gpus[0])[0].id
        return None
