"""RackScene: the servers, GPUs and links of the document's plan, kept in sync with ``sync(plan)``.

Items are projections: the scene diffs the plan against its ``dict[id, Item]`` maps, creating,
updating and removing items, so it can follow any change (an edit, an undo, a file opened).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QBrush, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QGraphicsSceneHelpEvent

from gpuplanner.core.plan import Plan
from gpuplanner.core.report import Report
from gpuplanner.drawing import geometry as geo
from gpuplanner.drawing.gpu_item import FLAT_SCALE, GpuItem
from gpuplanner.drawing.labels import Labels
from gpuplanner.drawing.link_item import FabricItem, LinkItem
from gpuplanner.drawing.node_item import NodeItem
from gpuplanner.drawing.style import RackStyle


@dataclass(frozen=True)
class Selection:
    nodes: tuple[str, ...] = ()
    gpus: tuple[str, ...] = ()
    links: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.nodes or self.gpus or self.links)


def layout_roles(plan: Plan) -> dict[str, str]:
    """'stage 1 · TP 4/8' per GPU id in the layout (with the replica when there are several).
    People count from 1 everywhere (window, command line, PDF); only the JSON keeps 0-based indices."""
    roles: dict[str, str] = {}
    several = len(plan.layout.replicas) > 1
    for r, replica in enumerate(plan.layout.replicas):
        for s, stage in enumerate(replica.stages):
            n = len(stage.gpus)
            for k, gpu in enumerate(stage.gpus):
                tp = f" · TP {k + 1}/{n}" if n > 1 else ""
                roles[gpu] = f"R{r + 1} · S{s + 1}{tp}" if several else f"stage {s + 1}{tp}"
    return roles


def layout_stages(plan: Plan) -> dict[str, int]:
    """The 0-based pipeline stage of each GPU id in the layout (its badge's colour on the canvas)."""
    return {
        g: s for replica in plan.layout.replicas for s, stage in enumerate(replica.stages) for g in stage.gpus
    }


def full_meshes(plan: Plan) -> dict[str, str]:
    """Servers of three or more GPUs in which one link kind joins every pair: node id -> link kind.
    The drawing shows such a mesh as one bar instead of n·(n-1)/2 arcs."""
    meshes: dict[str, str] = {}
    for node in plan.rig.nodes:
        ids = {g.id for g in node.gpus}
        if len(ids) < 3:
            continue
        pairs_by_kind: dict[str, set[frozenset[str]]] = {}
        for link in plan.rig.links:
            if link.a in ids and link.b in ids and link.a != link.b:
                pairs_by_kind.setdefault(link.kind, set()).add(frozenset((link.a, link.b)))
        needed = len(ids) * (len(ids) - 1) // 2
        for kind, pairs in pairs_by_kind.items():
            if len(pairs) == needed:
                meshes[node.id] = kind
    return meshes


def dot_grid(style: RackStyle, step: int = 24) -> QBrush:
    """The canvas: a faint dot every ``step`` units, as a tiled texture (cheap at any zoom)."""
    tile = QPixmap(step, step)
    tile.fill(style.canvas)
    painter = QPainter(tile)
    try:
        painter.setPen(QPen(style.grid, 2))
        painter.drawPoint(0, 0)
    finally:
        painter.end()
    return QBrush(tile)


def too_big_to_read(plan: Plan, canvas: tuple[float, float] = (2560.0, 1440.0)) -> bool:
    """Whether the whole rig, fitted on a large canvas, would still be drawn below FLAT_SCALE: a scene
    no view has shown yet builds such a rig's cards flat at once (the first paint corrects a guess)."""
    if len(plan.rig.nodes) < 2:
        return False
    corners = [(n.x, n.y, *geo.node_size(n.slots)) for n in plan.rig.nodes]
    width = max(x + w for x, _, w, _ in corners) - min(x for x, _, _, _ in corners)
    height = max(y + h for _, y, _, h in corners) - min(y for _, y, _, _ in corners)
    return min(canvas[0] / max(width, 1.0), canvas[1] / max(height, 1.0)) < FLAT_SCALE


class RackScene(QGraphicsScene):
    interactive_hints = True  # "drop a link here" and the like; off when the scene is drawn for paper

    def __init__(self, labels: Labels, parent: object | None = None) -> None:
        super().__init__(parent)
        self.labels = labels
        self.style = RackStyle.from_palette()
        self.nodes: dict[str, NodeItem] = {}
        self.gpus: dict[str, GpuItem] = {}
        self.links: dict[str, LinkItem] = {}
        self.fabric_link: str | None = None
        self.offloads = False  # whether the plan keeps layers or experts in system RAM
        self.fabric = FabricItem(labels, self.style)
        self.addItem(self.fabric)
        self._report_gpus: dict[str, object] = {}
        self.setBackgroundBrush(dot_grid(self.style))
        # zoomed out below FLAT_SCALE on screen: no words, each server draws its cards (GpuItem.set_flat)
        self.zoomed_out = False
        self.zoomed_out_pixmaps: dict[tuple[object, ...], QPixmap] = {}  # servers' drawings, by look and zoom
        self._scale_known = False  # no view has said its zoom yet
        self.geometry_version = 0  # counts changes of where items sit (syncs that changed something, drags)
        self._drawn_from: tuple[object, object, bool] | None = None  # rig, layout, offloads last synced
        self._lifted: set[str] = set()  # cards drawn on their own while dragged
        self._selected_flat: set[str] = set()  # flat cards selected: their servers show it
        self.selectionChanged.connect(self._redraw_selected_flat_cards)

    # -- following the document --------------------------------------------------------------------
    def sync(self, plan: Plan, *, force: bool = False) -> None:
        """Make the items match ``plan``: create, update and remove by id.

        Stale items go links first, then cards, then servers, each detached from its parent before
        it leaves: a server deleted with children still in the maps would take their C++ side along.
        A plan with the very rig and layout drawn last (a workload or engine edit) changes nothing
        drawn and is skipped, unless ``force`` (items moved by hand are put back).
        """
        drawn = (plan.rig, plan.layout, plan.engine.offloads)
        last = self._drawn_from
        if not force and last is not None and last[0] is drawn[0] and last[1] is drawn[1] and last[2] == drawn[2]:
            return  # (4,096 cards compared for nothing took 50 ms of every workload edit)
        self._drawn_from = drawn
        self.fabric_link = plan.rig.fabric
        self.offloads = plan.engine.offloads  # servers then name the host the model puts layers in
        if not self._scale_known and self.interactive_hints:
            self.zoomed_out = too_big_to_read(plan)  # until a view says: a cluster is built flat at once
        live_links = {k.id for k in plan.rig.links}
        live_gpus = set(plan.rig.gpu_ids())
        live_nodes = {n.id for n in plan.rig.nodes}
        for table, live in ((self.links, live_links), (self.gpus, live_gpus), (self.nodes, live_nodes)):
            for ident in set(table) - live:
                self._drop(table.pop(ident))
        if self.interactive_hints and self.fabric.cacheMode() == QGraphicsItem.CacheMode.NoCache:
            # it spans the rig: without a cached picture every fill bar's repaint redrew it
            self.fabric.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self._syncing = True  # servers placed by the sync move their links once, below, not one by one
        try:
            self._sync_nodes(plan)
            self._sync_links(plan)
        finally:
            self._syncing = False
        self.refresh_geometry()

    def _sync_nodes(self, plan: Plan) -> None:
        roles = layout_roles(plan)
        stages = layout_stages(plan)
        for node in plan.rig.nodes:
            item = self.nodes.get(node.id)
            if item is None:
                item = self.nodes[node.id] = NodeItem(node, self.labels, self.style)
                if self.interactive_hints:  # on screen: repainted from its pixmap unless it changed
                    item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
                self.addItem(item)
            else:
                item.update_from(node, self.style)
            for placement in node.gpus:
                card = self.gpus.get(placement.id)
                if card is None:
                    card = GpuItem(placement, self.labels, self.style, flat=self.zoomed_out)
                    self.gpus[placement.id] = card
                    if self.interactive_hints:  # on screen: redraw a card from its pixmap unless it changed
                        card.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
                if card.parentItem() is not item:
                    old = card.parentItem()
                    card.setParentItem(item)
                    if card.flat:  # drawn by its server: the old one loses it, the new one gains it
                        item.update()
                        if old is not None:
                            old.update()
                card.stage = stages.get(placement.id)  # its role (below) names the stage: repainted with it
                card.update_from(placement, node.slots, roles.get(placement.id, "unused"), self.style)
                card.set_report(self._report_gpus.get(placement.id))  # type: ignore[arg-type]

    def _sync_links(self, plan: Plan) -> None:
        node_of = {g.id: n.id for n, g in plan.rig.iter_gpus()}
        meshes = full_meshes(plan)
        for link in plan.rig.links:
            item = self.links.get(link.id)
            if item is None:
                item = self.links[link.id] = LinkItem(link, self.labels)
                self.addItem(item)
            else:
                item.update_from(link)
            # a link inside one server lives in it, under its cards: crossings hide behind them
            home = node_of.get(link.a) if node_of.get(link.a) == node_of.get(link.b) else None
            parent = self.nodes.get(home) if home else None
            if item.parentItem() is not parent:
                item.setParentItem(parent)
            item.setZValue(0.5 if parent is not None else 2)
            item.setVisible(not (home and meshes.get(home) == link.kind))
        for node_id, item in self.nodes.items():
            item.set_mesh(meshes.get(node_id))

    def _drop(self, item: QGraphicsItem) -> None:
        for child in item.childItems():  # anything still tracked must outlive its old parent
            if isinstance(child, GpuItem | LinkItem):
                child.setParentItem(None)
        item.setParentItem(None)
        if item.scene() is self:
            self.removeItem(item)

    def set_report(self, report: Report | None) -> None:
        """Show the latest report's memory fill on each card (None clears them)."""
        self._report_gpus = {g.id: g for g in report.gpus} if report else {}
        for gpu_id, item in self.gpus.items():
            item.set_report(self._report_gpus.get(gpu_id))  # type: ignore[arg-type]

    def refresh_geometry(self) -> None:
        self.geometry_version += 1  # what sits where changed: overlays placed on the items follow
        for item in self.links.values():
            self._place_link(item)
        ports = [(item.nic_port(), item.node.nic, item.node.nics) for item in self.nodes.values()]
        self.fabric.update_from(self.fabric_link, ports if len(ports) > 1 else [], self.style)

    def _place_link(self, item: LinkItem) -> None:
        a, b = self.gpus.get(item.link.a), self.gpus.get(item.link.b)
        if a is not None and b is not None:
            item.set_ends(a.port_scene_pos(), b.port_scene_pos())

    def node_moved(self, node_id: str) -> None:
        """A server is being dragged: its links and fabric line follow."""
        if not getattr(self, "_syncing", False):
            self.refresh_geometry()

    def gpu_moved(self, gpu_id: str) -> None:
        self.geometry_version += 1
        for item in self.links.values():
            if gpu_id in (item.link.a, item.link.b):
                self._place_link(item)

    def items_moved(self, nodes: list[str], gpus: list[str]) -> None:
        """Servers or cards dragged by the mouse (Qt moved them): their links and the fabric follow."""
        if nodes:
            self.node_moved(nodes[0])  # every link and the fabric line, once
            return
        for gpu_id in gpus:
            self.gpu_moved(gpu_id)

    # -- level of detail ---------------------------------------------------------------------------
    def set_view_scale(self, scale: float) -> None:
        """The view's zoom: below FLAT_SCALE (where a card's words would be under 4 px) each server
        draws its cards as one cached picture, with no words; above it every card draws itself."""
        self._scale_known = True
        zoomed_out = self.interactive_hints and scale < FLAT_SCALE
        if zoomed_out == self.zoomed_out:
            return
        self.zoomed_out = zoomed_out
        self.zoomed_out_pixmaps.clear()
        for ident, card in self.gpus.items():
            card.set_flat(zoomed_out and ident not in self._lifted)
        for node in self.nodes.values():
            node.update()

    def lift_cards(self, gpu_ids: list[str]) -> None:
        """Cards about to be dragged draw themselves until ``lower_cards`` (a flat card would stay
        painted in its server while the card itself moved)."""
        for ident in gpu_ids:
            card = self.gpus.get(ident)
            if card is not None:
                self._lifted.add(ident)
                card.set_flat(False)

    def lower_cards(self) -> None:
        lifted, self._lifted = self._lifted, set()
        for ident in lifted:
            card = self.gpus.get(ident)
            if card is not None:
                card.set_flat(self.zoomed_out)

    def _redraw_selected_flat_cards(self) -> None:
        """A flat card is drawn by its server: selecting or deselecting it redraws the server."""
        if not self.zoomed_out and not self._selected_flat:
            return
        now = {i.gpu_id for i in self.selectedItems() if isinstance(i, GpuItem) and i.flat}
        for ident in now ^ self._selected_flat:
            card = self.gpus.get(ident)
            parent = card.parentItem() if card is not None else None
            if parent is not None:
                parent.update()
        self._selected_flat = now

    # -- questions the view and the interactions ask -------------------------------------------------
    def selection(self) -> Selection:
        items = self.selectedItems()
        return Selection(
            nodes=tuple(i.node_id for i in items if isinstance(i, NodeItem)),
            gpus=tuple(i.gpu_id for i in items if isinstance(i, GpuItem)),
            links=tuple(i.link_id for i in items if isinstance(i, LinkItem)),
        )

    def select(self, selection: Selection) -> None:
        self.clearSelection()
        for ids, table in (
            (selection.nodes, self.nodes),
            (selection.gpus, self.gpus),
            (selection.links, self.links),
        ):
            for ident in ids:
                if ident in table:
                    table[ident].setSelected(True)

    def helpEvent(self, event: QGraphicsSceneHelpEvent) -> None:
        """A card writes its tooltip only when one is asked for (it changes on most edits)."""
        card = self.gpu_at(event.scenePos())
        if card is not None:
            card.refresh_tooltip()
        super().helpEvent(event)

    def node_at(self, pos: QPointF, exclude: QGraphicsItem | None = None) -> NodeItem | None:
        for item in self.items(pos):
            if isinstance(item, NodeItem) and item is not exclude:
                return item
        return None

    def gpu_at(self, pos: QPointF, exclude: QGraphicsItem | None = None) -> GpuItem | None:
        for item in self.items(pos):
            if isinstance(item, GpuItem) and item is not exclude:
                return item
        return None

    def slot_at(self, pos: QPointF) -> tuple[str, int] | None:
        """(server id, slot) under a scene position, or None."""
        node = self.node_at(pos)
        if node is None:
            return None
        slot = geo.slot_at(node.node.slots, node.mapFromScene(pos))
        return (node.node_id, slot) if slot is not None else None

    def clear_highlights(self) -> None:
        for item in self.nodes.values():
            item.set_highlight(None)

    def content_rect(self) -> QRectF:
        rect = QRectF()
        for item in [*self.nodes.values(), self.fabric]:
            rect = rect.united(item.sceneBoundingRect())
        return rect
