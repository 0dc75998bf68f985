"""The inspector's selection section: the selected GPU, link or server, editable in place."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from gpuplanner.core.host import DEFAULT_HOST, load_hosts
from gpuplanner.core.limits import MAX_HOST_RAM_GIB, MAX_SLOTS
from gpuplanner.drawing.labels import short_gpu_name
from gpuplanner.gui import commands as cmd
from gpuplanner.gui.inspector.widgets import blocked, fill_combo, hint
from gpuplanner.gui.presets import PRESETS

if TYPE_CHECKING:
    from gpuplanner.core.plan import Plan
    from gpuplanner.drawing.scene import Selection
    from gpuplanner.gui.editor import Editor
    from gpuplanner.gui.inspector.widgets import Sections


def _existing(selection: Selection, plan: Plan) -> Selection:
    """The selected ids the plan still has: while the canvas removes a server, its items can still be
    selected and report a selection change."""
    rig = plan.rig
    nodes, gpus, links = {n.id for n in rig.nodes}, set(rig.gpu_ids()), {k.id for k in rig.links}
    return dataclasses.replace(
        selection,
        nodes=tuple(i for i in selection.nodes if i in nodes),
        gpus=tuple(i for i in selection.gpus if i in gpus),
        links=tuple(i for i in selection.links if i in links),
    )


class SelectionSection(QGroupBox):
    def __init__(self, inspector: Sections) -> None:
        super().__init__("Selection")
        self.setObjectName("selectionSection")
        self.inspector = inspector
        self.stack = QStackedWidget(self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.stack)
        self.empty = hint("Select a server, a GPU or a link on the canvas to edit it here.")
        self.multi = QLabel()
        # wrapped: one long line would widen the inspector past its dock and cut every field
        self.multi.setWordWrap(True)
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.multi)
        self.stack.addWidget(self._gpu_page())
        self.stack.addWidget(self._link_page())
        self.stack.addWidget(self._node_page())
        self.current: tuple[str, str] | None = None
        self.stack.currentChanged.connect(self._fit_page)
        self._fit_page()

    def _fit_page(self) -> None:
        """The stack takes the height of the page shown, not of its tallest page."""
        for i in range(self.stack.count()):
            page = self.stack.widget(i)
            policy = (
                QSizePolicy.Policy.Preferred if i == self.stack.currentIndex() else QSizePolicy.Policy.Ignored
            )
            page.setSizePolicy(policy, policy)
            page.adjustSize()
        self.stack.adjustSize()

    @property
    def editor(self) -> Editor:
        return self.inspector.editor

    # -- pages ---------------------------------------------------------------------------------------
    def _gpu_page(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.gpu_title = QLabel()
        self.gpu_model = QComboBox()
        self.gpu_model.setObjectName("gpuModelCombo")
        self.gpu_model.setToolTip("Swap this card for another GPU model (the slot and links stay)")
        self.gpu_slot = QSpinBox()
        self.gpu_slot.setObjectName("gpuSlotSpin")
        self.gpu_slot.setToolTip("Move the card to another slot of its server (a card there swaps places)")
        form.addRow(self.gpu_title)
        form.addRow("Model", self.gpu_model)
        form.addRow("Slot", self.gpu_slot)
        self.gpu_model.currentIndexChanged.connect(self._gpu_model_changed)
        self.gpu_slot.valueChanged.connect(self._gpu_slot_changed)
        return page

    def _link_page(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.link_title = QLabel()
        self.link_kind = QComboBox()
        self.link_kind.setObjectName("linkKindCombo")
        self.link_kind.setToolTip("Only kinds both GPUs support are offered")
        form.addRow(self.link_title)
        form.addRow("Kind", self.link_kind)
        self.link_kind.currentIndexChanged.connect(self._link_kind_changed)
        return page

    def _node_page(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.node_name = QLineEdit()
        self.node_name.setObjectName("nodeNameEdit")
        self.node_slots = QSpinBox()
        self.node_slots.setRange(1, MAX_SLOTS)
        self.node_slots.setToolTip("GPU slots in this server")
        self.node_nvswitch = QComboBox()
        self.node_nvswitch.setToolTip("An NVSwitch joins every GPU of the server at full NVLink speed")
        self.node_host = QComboBox()
        self.node_host.setToolTip("The PCIe path GPUs use when no faster link joins them")
        self.node_nic = QComboBox()
        self.node_nic.setObjectName("nodeNicCombo")
        self.node_nic.setToolTip("The network cards this server uses to reach other servers")
        self.node_nics = QSpinBox()
        self.node_nics.setObjectName("nodeNicsSpin")
        self.node_nics.setRange(1, MAX_SLOTS)
        self.node_nics.setToolTip("How many network cards (a DGX H100 has 8, one per GPU)")
        form.addRow("Name", self.node_name)
        form.addRow("Slots", self.node_slots)
        form.addRow("NVSwitch", self.node_nvswitch)
        form.addRow("PCIe", self.node_host)
        form.addRow("Network", self.node_nic)
        form.addRow("NICs", self.node_nics)
        # the host: the CPU platform and system RAM that hold layers or experts kept off the GPUs
        self.node_cpu = QComboBox()
        self.node_cpu.setObjectName("nodeHostCombo")
        self.node_cpu.setToolTip(
            "The server's CPU platform: its memory channels and speed set how fast layers or experts "
            "kept in system RAM are read (llama.cpp, Ollama)"
        )
        self.node_ram = QDoubleSpinBox()
        self.node_ram.setObjectName("nodeHostRamSpin")
        self.node_ram.setRange(0, MAX_HOST_RAM_GIB)
        self.node_ram.setDecimals(0)
        self.node_ram.setSingleStep(16)
        self.node_ram.setSuffix(" GiB")
        self.node_ram.setSpecialValueText("platform maximum")
        self.node_ram.setKeyboardTracking(False)
        self.node_ram.setToolTip("System RAM installed in this server (0: the platform's largest)")
        form.addRow("Host", self.node_cpu)
        form.addRow("RAM", self.node_ram)
        self.node_cpu.currentIndexChanged.connect(
            lambda _: self._node_prop("host", self.node_cpu.currentData())
        )
        self.node_ram.valueChanged.connect(lambda v: self._node_prop("host_ram_gib", v or None))
        grid = QGridLayout()
        for i, (key, text) in enumerate(PRESETS.items()):
            button = QPushButton(text)
            button.setObjectName(f"preset_{key}")
            button.setToolTip(f"Rewire this server: {text}")
            button.clicked.connect(lambda _=False, k=key: self.inspector.apply_preset(k))
            grid.addWidget(button, i // 2, i % 2)
        form.addRow(hint("One-click wiring:"))
        form.addRow(grid)
        self.node_name.editingFinished.connect(
            lambda: self._node_prop("name", self.node_name.text().strip() or "Server")
        )
        self.node_slots.valueChanged.connect(lambda v: self._node_prop("slots", v))
        self.node_nvswitch.currentIndexChanged.connect(
            lambda _: self._node_prop("nvswitch", self.node_nvswitch.currentData())
        )
        self.node_host.currentIndexChanged.connect(
            lambda _: self._node_prop("host_link", self.node_host.currentData())
        )
        self.node_nic.currentIndexChanged.connect(
            lambda _: self._node_prop("nic", self.node_nic.currentData())
        )
        self.node_nics.valueChanged.connect(lambda v: self._node_prop("nics", v))
        return page

    # -- model -> widgets ------------------------------------------------------------------------------
    def refresh(self) -> None:
        editor = self.editor
        doc, labels = editor.document, editor.labels
        selection = _existing(editor.selection(), doc.plan)
        total = len(selection.nodes) + len(selection.gpus) + len(selection.links)
        self.current = None
        if total == 0:
            self.stack.setCurrentWidget(self.empty)
            return
        if total > 1:
            self.multi.setText(f"{total} items selected. Delete removes them with their links (Del).")
            self.stack.setCurrentWidget(self.multi)
            return
        catalog = labels.catalog
        if selection.gpus:
            node, placement = doc.gpu(selection.gpus[0])
            self.current = ("gpu", placement.id)
            self.gpu_title.setText(
                f"<b>{labels.gpu_short_name(placement.gpu)}</b> · {placement.id} in {node.name}"
            )
            fill_combo(
                self.gpu_model, [(short_gpu_name(g), g.id) for g in catalog.gpus.values()], placement.gpu
            )
            with blocked(self.gpu_slot):
                self.gpu_slot.setRange(0, node.slots - 1)
                self.gpu_slot.setValue(placement.slot)
            self.stack.setCurrentIndex(2)
        elif selection.links:
            link = doc.link(selection.links[0])
            self.current = ("link", link.id)
            self.link_title.setText(f"<b>{labels.link_name(link.kind)}</b><br>{link.a} ↔ {link.b}")
            choices = self.inspector.rack.link_choices(link.a, link.b)
            fill_combo(
                self.link_kind,
                [
                    (f"{k.name} · {k.bandwidth_gbps_per_direction:g} GB/s", k.id)
                    for k in choices
                    if k.scope == "intra-node"
                ],
                link.kind,
            )
            self.stack.setCurrentIndex(3)
        else:
            self._refresh_node(selection.nodes[0])

    def _refresh_node(self, node_id: str) -> None:
        editor = self.editor
        node, catalog = editor.document.node(node_id), editor.labels.catalog
        self.current = ("node", node_id)
        links = catalog.links.values()
        with blocked(self.node_name, self.node_slots, self.node_nics, self.node_ram):
            self.node_name.setText(node.name)
            self.node_slots.setValue(node.slots)
            self.node_nics.setValue(node.nics)
            self.node_ram.setValue(node.host_ram_gib or 0)
        hosts = load_hosts()
        default = hosts.get(DEFAULT_HOST)
        fill_combo(
            self.node_cpu,
            [
                (f"not set ({default.name if default else DEFAULT_HOST})", None),
                *((f"{h.name} · {h.bandwidth_gbps:g} GB/s", h.id) for h in hosts.values()),
            ],
            node.host,
        )
        fill_combo(
            self.node_nvswitch,
            [("none", None), *((k.name, k.id) for k in links if k.kind == "nvswitch")],
            node.nvswitch,
        )
        fill_combo(self.node_host, [(k.name, k.id) for k in links if k.kind == "pcie"], node.host_link)
        fabric = (
            editor.labels.link_name(editor.document.plan.rig.fabric)
            if editor.document.plan.rig.fabric
            else "default"
        )
        fill_combo(
            self.node_nic,
            [(f"rig fabric ({fabric})", None), *((k.name, k.id) for k in links if k.scope == "inter-node")],
            node.nic,
        )
        self.stack.setCurrentIndex(4)

    # -- widgets -> commands -------------------------------------------------------------------------
    def _gpu_model_changed(self) -> None:
        if self.current and self.current[0] == "gpu":
            gpu_id, model = self.current[1], self.gpu_model.currentData()
            self.inspector.push(lambda: cmd.set_gpu_model_command(self.editor.document, gpu_id, model))

    def _gpu_slot_changed(self, slot: int) -> None:
        if self.current and self.current[0] == "gpu":
            gpu_id = self.current[1]
            node = self.editor.document.gpu(gpu_id)[0]
            self.inspector.push(lambda: cmd.move_gpu_command(self.editor.document, gpu_id, node.id, slot))

    def _link_kind_changed(self) -> None:
        if self.current and self.current[0] == "link":
            link_id, kind = self.current[1], self.link_kind.currentData()
            self.inspector.push(lambda: cmd.set_link_kind_command(self.editor.document, link_id, kind))

    def _node_prop(self, name: str, value: object) -> None:
        if not self.current or self.current[0] != "node":
            return
        node_id = self.current[1]
        if getattr(self.editor.document.node(node_id), name) == value:
            return
        text = {
            "name": "Rename server",
            "nics": "Change NIC count",
            "slots": "Change slot count",
            "host": "Change host platform",
            "host_ram_gib": "Change system RAM",
        }.get(name, f"Change {name.replace('_', ' ')}")
        self.inspector.push(
            lambda: cmd.set_node_props_command(self.editor.document, node_id, text, **{name: value})
        )
