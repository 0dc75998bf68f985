"""RackController: what a gesture on the canvas means, as undo commands on the document.

The view and its interactions ask the controller (drop this catalog item here, move these items,
wire these GPUs); the controller builds the command, pushes it, and reports refusals in words.
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QPointF

from gpuplanner.core.errors import PlannerError
from gpuplanner.core.specs import GpuSpec, LinkSpec
from gpuplanner.document.document import PlanDocument
from gpuplanner.drawing import geometry as geo
from gpuplanner.drawing.labels import Labels
from gpuplanner.drawing.scene import RackScene
from gpuplanner.gui import commands as cmd
from gpuplanner.gui.editor import Editor
from gpuplanner.gui.mime import CatalogItemRef
from gpuplanner.gui.presets import PRESETS, compatible_links, preset_edit


class RackController:
    def __init__(self, editor: Editor, scene: RackScene) -> None:
        self.editor = editor
        self.document = editor.document
        self.scene = scene
        self.labels: Labels = scene.labels
        self.notify = editor.notify
        self.push = editor.push

    # -- drops from the palette ----------------------------------------------------------------------
    def drop_target(self, ref: CatalogItemRef, pos: QPointF) -> tuple[str, int] | None:
        """The (server, slot) a GPU dropped at ``pos`` would land in (for the highlight)."""
        if ref.kind != "gpu":
            return None
        return self.scene.slot_at(pos)

    def drop(self, ref: CatalogItemRef, pos: QPointF) -> cmd.PlanCommand | None:
        if ref.kind == "gpu":
            return self._drop_gpu(ref.id, pos)
        if ref.kind == "node":
            template = self.labels.template(ref.id)
            if template is None:
                self.notify(f"unknown server template '{ref.id}'")
                return None
            return self.push(lambda: cmd.add_template_command(self.document, template, *self._corner(pos)))
        return self._drop_link(ref.id, pos)

    def _corner(self, pos: QPointF) -> tuple[float, float]:
        """Top-left of a new server so that its first slot sits under the cursor."""
        first = geo.slot_rect(8, 0)
        return round(pos.x() - first.center().x()), round(pos.y() - first.center().y())

    def _drop_gpu(self, gpu: str, pos: QPointF) -> cmd.PlanCommand | None:
        spec = self.labels.gpu(gpu)
        if spec is None:
            self.notify(f"unknown GPU '{gpu}'")
            return None
        node = self.scene.node_at(pos)
        if node is None:
            host_link = default_host_link(spec, self.labels.catalog.links)
            return self.push(
                lambda: cmd.add_gpu_in_new_node_command(
                    self.document, gpu, *self._corner(pos), host_link=host_link
                )
            )
        target = self.scene.slot_at(pos)
        slot = target[1] if target else None
        if slot is not None and any(g.slot == slot for g in node.node.gpus):
            slot = None  # taken: the server's first free slot instead
        return self.push(lambda: cmd.add_gpu_command(self.document, node.node_id, gpu, slot))

    def _drop_link(self, kind: str, pos: QPointF) -> cmd.PlanCommand | None:
        spec = self.labels.link(kind)
        if spec is None:
            self.notify(f"unknown link '{kind}'")
            return None
        gpu = self.scene.gpu_at(pos)
        node = self.scene.node_at(pos)
        doc = self.document
        if spec.scope == "inter-node":
            if node is None:
                return self.push(lambda: cmd.set_fabric_command(doc, spec.id))
            return self.push(
                lambda: cmd.set_node_props_command(doc, node.node_id, "Change network", nic=spec.id)
            )
        if node is None:
            self.notify(f"drop {spec.name} onto a server or a GPU")
            return None
        if spec.kind == "nvswitch":
            return self.push(
                lambda: cmd.set_node_props_command(doc, node.node_id, "Add NVSwitch", nvswitch=spec.id)
            )
        if gpu is None:
            if spec.kind == "pcie":
                return self.push(
                    lambda: cmd.set_node_props_command(doc, node.node_id, "Change PCIe", host_link=spec.id)
                )
            self.notify(f"drop {spec.name} onto a GPU (select the GPUs to join first)")
            return None
        partners = [g for g in self.scene.selection().gpus if g != gpu.gpu_id]
        if not partners:
            partner = next((g for g in node.node.gpus if g.slot == gpu.placement.slot ^ 1), None)
            partners = [partner.id] if partner else []
        if not partners:
            self.notify("select the GPUs to join with this one, then drop the link again")
            return None
        return self.push(lambda: self._link_all(spec, gpu.gpu_id, partners))

    def _link_all(self, spec: LinkSpec, gpu_id: str, partners: list[str]) -> cmd.PlanCommand:
        for other in [gpu_id, *partners]:
            placement = self.document.gpu(other)[1]
            gpu_spec = self.labels.gpu(placement.gpu)
            if spec.requires_native and (
                gpu_spec is None or gpu_spec.native_link not in spec.requires_native
            ):
                raise PlannerError(f"{other} has no port for {spec.name}", fix="pick a link its GPU supports")
        return cmd.edit_command(
            self.document, f"Add {spec.name}", lambda d: [d.add_link(spec.id, gpu_id, p) for p in partners]
        )

    # -- wiring --------------------------------------------------------------------------------------
    def link_choices(self, a: str, b: str) -> list[LinkSpec]:
        """Link kinds a wire from GPU ``a`` to GPU ``b`` may have (only ones both ends support)."""
        node_a, place_a = self.document.gpu(a)
        node_b, place_b = self.document.gpu(b)
        spec_a, spec_b = self.labels.gpu(place_a.gpu), self.labels.gpu(place_b.gpu)
        if spec_a is None or spec_b is None:
            return []
        return compatible_links(self.labels.catalog, spec_a, spec_b, node_a.id == node_b.id)

    def wire(self, a: str, b: str, kind: str) -> cmd.PlanCommand | None:
        spec = self.labels.link(kind)
        if spec is not None and spec.scope == "inter-node":
            nodes = {self.document.gpu(a)[0].id, self.document.gpu(b)[0].id}
            return self.push(
                lambda: cmd.edit_command(
                    self.document,
                    "Connect servers",
                    lambda d: [d.set_node_props(n, nic=kind) for n in sorted(nodes)],
                )
            )
        return self.push(lambda: cmd.add_link_command(self.document, kind, a, b))

    def apply_preset(self, node_id: str, preset: str) -> cmd.PlanCommand | None:
        return self.push(
            lambda: cmd.edit_command(
                self.document,
                PRESETS.get(preset, preset),
                preset_edit(self.labels.catalog, self.document.node(node_id), preset),
            )
        )

    # -- moves ---------------------------------------------------------------------------------------
    def commit_moves(self, nodes: dict[str, QPointF], gpus: dict[str, QPointF]) -> cmd.PlanCommand | None:
        """One command for one drag: servers to their new corners, GPUs to the slots under their
        centres (scene positions); a GPU dropped on empty canvas gets a new server."""
        targets: list[tuple[str, str | None, int, QPointF]] = []
        for gpu_id, centre in gpus.items():
            hit = self.scene.slot_at(centre)
            targets.append((gpu_id, hit[0] if hit else None, hit[1] if hit else 0, centre))
        if not nodes and all(
            t[1] == self.document.gpu(t[0])[0].id and t[2] == self.document.gpu(t[0])[1].slot for t in targets
        ):
            return None

        def edit(d: PlanDocument) -> None:
            for node_id, corner in nodes.items():
                d.move_node(node_id, round(corner.x()), round(corner.y()))
            for gpu_id, node_id, slot, centre in targets:
                if node_id is None:
                    x, y = self._corner(centre)
                    node_id, slot = d.add_node(name="Server", slots=8, x=x, y=y), 0
                d.move_gpu(gpu_id, node_id, slot)

        text = "Move server" if nodes and not gpus else "Move GPU" if len(gpus) == 1 else "Move"
        return self.push(lambda: cmd.edit_command(self.document, text, edit))


def default_host_link(spec: GpuSpec, links: Mapping[str, object]) -> str | None:
    """The PCIe path of a new server around ``spec``: the GPU's own PCIe generation, through the CPU's
    lanes for a workstation or consumer card (a desktop board has no PCIe switch), through a switch
    for a data-centre card. None when the catalog has no such link."""
    where = "switch" if spec.gpu_class == "datacenter" else "cpu"
    link = f"pcie{spec.pcie_gen}-x16-{where}"
    return link if link in links else None
