"""Inspector: the selection's properties and the plan's settings, edited in place with undo."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QVBoxLayout, QWidget

from gpuplanner.core.errors import PlannerError
from gpuplanner.drawing import geometry as geo
from gpuplanner.gui import commands as cmd
from gpuplanner.gui.inspector.plan_form import PlanSection
from gpuplanner.gui.inspector.selection import SelectionSection
from gpuplanner.gui.inspector.widgets import error_label, show_error

if TYPE_CHECKING:
    from gpuplanner.gui.main_window import MainWindow


class Inspector(QScrollArea):
    def __init__(self, window: MainWindow, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inspector")
        self.window_ = window
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(8, 8, 8, 8)
        self.error = error_label("inspectorError")
        self.selection_section = SelectionSection(self)
        self.plan_section = PlanSection(self)
        layout.addWidget(self.selection_section)
        layout.addWidget(self.error)
        layout.addWidget(self.plan_section)
        layout.addStretch(1)
        self.setWidget(body)
        self.setMinimumWidth(290)

    def refresh(self) -> None:
        self.selection_section.refresh()
        self.plan_section.refresh()

    def push(self, build: Callable[[], cmd.PlanCommand]) -> bool:
        """Push an edit from a widget; a refused one is explained here and the widgets reverted."""
        try:
            command = build()
        except PlannerError as exc:
            show_error(self.error, exc.message + (f" — {exc.fix}" if exc.fix else ""))
            self.refresh()
            return False
        show_error(self.error, None)
        if command.changes_anything:
            self.window_.undo_stack.push(command)
        return True

    # -- rig actions that need the selection ---------------------------------------------------------
    def selected_node(self) -> str | None:
        selection = self.window_.scene.selection()
        if selection.nodes:
            return selection.nodes[0]
        if selection.gpus:
            return self.window_.document.gpu(selection.gpus[0])[0].id
        return None

    def apply_preset(self, preset: str) -> None:
        node = self.selected_node()
        if node is None:
            self.window_.show_message("Select a server (or one of its GPUs) to wire it")
            return
        self.window_.controller.apply_preset(node, preset)

    def add_empty_server(self) -> None:
        doc = self.window_.document
        bottom = max((n.y + geo.node_size(n.slots)[1] for n in doc.plan.rig.nodes), default=-geo.NODE_SPACING)
        self.push(lambda: cmd.add_node_command(doc, 0, bottom + geo.NODE_SPACING, name="Server"))

    def arrange_servers(self) -> None:
        doc = self.window_.document
        nodes = doc.plan.rig.nodes
        spots = geo.arranged([n.slots for n in nodes])

        def edit(d):
            for node, (x, y) in zip(nodes, spots, strict=True):
                d.move_node(node.id, x, y)

        self.push(lambda: cmd.edit_command(doc, "Arrange servers", edit))
        self.window_.view.fit_all()
