"""CatalogPalette: the catalog as a searchable tree (GPUs, servers, links) to drag onto the canvas."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QMimeData, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from gpuplanner.drawing.labels import Labels, gpu_tooltip, link_tooltip, short_gpu_name, template_tooltip
from gpuplanner.drawing.style import LINK_KIND_NAMES, VENDOR_COLOURS, link_colour
from gpuplanner.gui.mime import CATALOG_ITEM_MIME, encode_catalog_item

KIND_ROLE = Qt.ItemDataRole.UserRole
ID_ROLE = Qt.ItemDataRole.UserRole + 1
CLASS_NAMES = {"datacenter": "Data centre", "workstation": "Workstation", "consumer": "Consumer"}


def dot_icon(colour: QColor, square: bool = False) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setBrush(colour)
        painter.setPen(Qt.PenStyle.NoPen)
        if square:
            painter.drawRoundedRect(1, 1, 12, 12, 3, 3)
        else:
            painter.drawEllipse(2, 2, 10, 10)
    finally:
        painter.end()
    return QIcon(pixmap)


class CatalogTree(QTreeWidget):
    """The tree itself: leaves carry (kind, catalog id) and drag out as our MIME type."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("catalogTree")
        self.setHeaderHidden(True)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setUniformRowHeights(True)
        self.setIndentation(14)
        self.setAnimated(True)

    def mimeTypes(self) -> list[str]:
        return [CATALOG_ITEM_MIME]

    def mimeData(self, items: Sequence[QTreeWidgetItem]) -> QMimeData:
        leaf = next((i for i in items if i.data(0, KIND_ROLE)), None)
        if leaf is None:
            return QMimeData()
        return encode_catalog_item(leaf.data(0, KIND_ROLE), leaf.data(0, ID_ROLE))

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction


class CatalogPalette(QWidget):
    """Search box + tree. ``find_leaf(kind, id)`` for tests and scripts."""

    def __init__(self, labels: Labels, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("catalogPalette")
        self.labels = labels
        self.search = QLineEdit(self)
        self.search.setObjectName("catalogSearch")
        self.search.setPlaceholderText("Search GPUs, servers, links…")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("Filter the catalog by name, vendor or id")
        self.tree = CatalogTree(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        self.setMinimumWidth(220)
        self._fill()
        self.search.textChanged.connect(self.filter)

    def _group(self, parent: QTreeWidget | QTreeWidgetItem, text: str) -> QTreeWidgetItem:
        item = QTreeWidgetItem(parent, [text])
        item.setFlags(Qt.ItemFlag.ItemIsEnabled)
        font = item.font(0)
        font.setBold(True)
        item.setFont(0, font)
        return item

    def _leaf(self, parent: QTreeWidgetItem, text: str, kind: str, ident: str, tip: str, icon: QIcon) -> None:
        item = QTreeWidgetItem(parent, [text])
        item.setData(0, KIND_ROLE, kind)
        item.setData(0, ID_ROLE, ident)
        item.setToolTip(0, tip + "<br><i>Drag onto the canvas</i>")
        item.setIcon(0, icon)
        item.setFlags(
            Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled
        )

    def _fill(self) -> None:
        catalog = self.labels.catalog
        gpus = self._group(self.tree, "GPUs")
        groups: dict[tuple[str, str], QTreeWidgetItem] = {}
        vendors: dict[str, QTreeWidgetItem] = {}
        order = {"datacenter": 0, "workstation": 1, "consumer": 2}
        for spec in sorted(catalog.gpus.values(), key=lambda g: (g.vendor, order[g.gpu_class], g.name)):
            vendor = vendors.get(spec.vendor) or vendors.setdefault(
                spec.vendor, self._group(gpus, spec.vendor)
            )
            key = (spec.vendor, spec.gpu_class)
            group = groups.get(key) or groups.setdefault(
                key, self._group(vendor, CLASS_NAMES[spec.gpu_class])
            )
            name = short_gpu_name(spec)
            text = name if "GB" in name else f"{name}  ·  {spec.memory_gb:g} GB"
            self._leaf(
                group,
                text,
                "gpu",
                spec.id,
                gpu_tooltip(spec),
                dot_icon(QColor(VENDOR_COLOURS.get(spec.vendor, "#888"))),
            )
        servers = self._group(self.tree, "Servers")
        for template in sorted(catalog.nodes.values(), key=lambda t: t.name.removeprefix("NVIDIA ")):
            self._leaf(
                servers,
                template.name.removeprefix("NVIDIA "),
                "node",
                template.id,
                template_tooltip(template, self.labels),
                dot_icon(QColor("#8a94a6"), square=True),
            )
        links = self._group(self.tree, "Links")
        kinds: dict[str, QTreeWidgetItem] = {}
        for spec in sorted(
            catalog.links.values(),
            key=lambda k: (
                list(LINK_KIND_NAMES).index(k.kind) if k.kind in LINK_KIND_NAMES else 99,
                -k.bandwidth_gbps_per_direction,
            ),
        ):
            name = LINK_KIND_NAMES.get(spec.kind, spec.kind)
            group = kinds.get(spec.kind) or kinds.setdefault(spec.kind, self._group(links, name))
            self._leaf(
                group, spec.name, "link", spec.id, link_tooltip(spec), dot_icon(link_colour(spec.kind))
            )
        gpus.setExpanded(True)
        for vendor in vendors.values():
            vendor.setExpanded(True)
        for (vendor, cls), group in groups.items():
            group.setExpanded(cls == "datacenter" and vendor == "NVIDIA")
        servers.setExpanded(True)

    def refill(self) -> None:
        """Show the catalog again (a custom GPU was added), keeping the search."""
        self.tree.clear()
        self._fill()
        self.filter(self.search.text())

    def leaves(self) -> list[QTreeWidgetItem]:
        found: list[QTreeWidgetItem] = []
        stack = [self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())]
        while stack:
            item = stack.pop()
            if item.data(0, KIND_ROLE):
                found.append(item)
            stack.extend(item.child(i) for i in range(item.childCount()))
        return found

    def find_leaf(self, kind: str, ident: str) -> QTreeWidgetItem | None:
        return next(
            (i for i in self.leaves() if i.data(0, KIND_ROLE) == kind and i.data(0, ID_ROLE) == ident), None
        )

    def filter(self, text: str) -> None:
        """Show the leaves whose name, id or tooltip contains every word of ``text``."""
        words = text.lower().split()

        def visit(item: QTreeWidgetItem) -> bool:
            if item.data(0, KIND_ROLE):
                haystack = f"{item.text(0)} {item.data(0, ID_ROLE)} {item.toolTip(0)}".lower()
                visible = all(w in haystack for w in words)
            else:
                children = [visit(item.child(i)) for i in range(item.childCount())]
                visible = any(children)
                if words and visible:
                    item.setExpanded(True)
            item.setHidden(not visible)
            return visible

        for i in range(self.tree.topLevelItemCount()):
            visit(self.tree.topLevelItem(i))
