"""Inspector: the selection's properties and the plan's settings, edited in place with undo."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QScrollArea, QVBoxLayout, QWidget

from gpuplanner.drawing import geometry as geo
from gpuplanner.gui import commands as cmd
from gpuplanner.gui.editor import Editor
from gpuplanner.gui.inspector.plan_form import PlanSection
from gpuplanner.gui.inspector.selection import SelectionSection
from gpuplanner.gui.inspector.widgets import error_label, show_error
from gpuplanner.gui.rack.controller import RackController


class Inspector(QScrollArea):
    arranged = Signal()  # the servers were laid out again: the canvas shows them all

    def __init__(self, editor: Editor, rack: RackController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inspector")
        self.editor = editor
        self.rack = rack
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
        refusals: list[str] = []
        self.editor.push(build, refused=refusals.append)
        show_error(self.error, refusals[0] if refusals else None)
        if refusals:
            self.refresh()
        return not refusals

    # -- rig actions that need the selection ---------------------------------------------------------
    def apply_preset(self, preset: str) -> None:
        node = self.editor.selected_node()
        if node is None:
            self.editor.notify("Select a server (or one of its GPUs) to wire it")
            return
        self.rack.apply_preset(node, preset)

    def add_empty_server(self) -> None:
        doc = self.editor.document
        bottom = max((n.y + geo.node_size(n.slots)[1] for n in doc.plan.rig.nodes), default=-geo.NODE_SPACING)
        self.push(lambda: cmd.add_node_command(doc, 0, bottom + geo.NODE_SPACING, name="Server"))

    def arrange_servers(self) -> None:
        doc = self.editor.document
        nodes = doc.plan.rig.nodes
        spots = geo.arranged([n.slots for n in nodes])

        def edit(d):
            for node, (x, y) in zip(nodes, spots, strict=True):
                d.move_node(node.id, x, y)

        self.push(lambda: cmd.edit_command(doc, "Arrange servers", edit))
        self.arranged.emit()
