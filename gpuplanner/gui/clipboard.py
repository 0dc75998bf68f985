"""Copy and paste of servers and GPUs as a JSON fragment on the clipboard (``FRAGMENT_MIME``).

A fragment holds whole servers (with their GPUs and the links among them) and loose GPUs (catalog
ids). Pasting adds copies with fresh ids: servers beside the originals, loose GPUs into the selected
server's free slots (or a new server).
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QMimeData

from gpuplanner.core.errors import PlanError
from gpuplanner.core.plan import Plan
from gpuplanner.document.document import PlanDocument
from gpuplanner.drawing import geometry as geo
from gpuplanner.drawing.scene import Selection
from gpuplanner.gui.mime import FRAGMENT_MIME


def fragment(plan: Plan, selection: Selection) -> dict[str, Any] | None:
    """The selected servers (whole) and GPUs (outside those servers) as plain data; None if empty."""
    nodes = [n for n in plan.rig.nodes if n.id in selection.nodes]
    inside = {g.id for n in nodes for g in n.gpus}
    loose = [g.gpu for _, g in plan.rig.iter_gpus() if g.id in selection.gpus and g.id not in inside]
    links = [k for k in plan.rig.links if k.a in inside and k.b in inside]
    if not nodes and not loose:
        return None
    return {
        "nodes": [n.model_dump(mode="json") for n in nodes],
        "links": [k.model_dump(mode="json") for k in links],
        "gpus": loose,
    }


def to_mime(data: dict[str, Any]) -> QMimeData:
    mime = QMimeData()
    mime.setData(FRAGMENT_MIME, json.dumps(data).encode("utf-8"))
    return mime


def from_mime(mime: QMimeData | None) -> dict[str, Any] | None:
    if mime is None or not mime.hasFormat(FRAGMENT_MIME):
        return None
    try:
        data = json.loads(bytes(mime.data(FRAGMENT_MIME).data()).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def paste(document: PlanDocument, data: dict[str, Any], target_node: str | None) -> None:
    """Add the fragment's copies to ``document`` (an edit: call it inside an undo command)."""
    renamed: dict[str, str] = {}
    nodes = data.get("nodes", [])
    bottom = max((n.y + geo.node_size(n.slots)[1] for n in document.plan.rig.nodes), default=0.0)
    shift = bottom + geo.NODE_SPACING - min((float(n.get("y", 0)) for n in nodes), default=0.0)
    for node in nodes:
        props = {k: node[k] for k in ("host_link", "nvswitch", "nic", "nics", "template") if k in node}
        new_node = document.add_node(
            name=f"{node.get('name', 'Server')} (copy)",
            slots=int(node.get("slots", 8)),
            x=float(node.get("x", 0)),
            y=float(node.get("y", 0)) + shift,
            **props,
        )
        for gpu in node.get("gpus", []):
            renamed[gpu["id"]] = document.add_gpu(new_node, gpu["gpu"], int(gpu["slot"]))
    for link in data.get("links", []):
        if link.get("a") in renamed and link.get("b") in renamed:
            document.add_link(link["kind"], renamed[link["a"]], renamed[link["b"]])
    loose = list(data.get("gpus", []))
    if not loose:
        return
    node_id = target_node
    if node_id is None or document.free_slot(node_id) is None:
        bottom = max((n.y + geo.node_size(n.slots)[1] for n in document.plan.rig.nodes), default=0.0)
        node_id = document.add_node(
            name="Server", slots=max(8, len(loose)), x=0.0, y=bottom + geo.NODE_SPACING
        )
    for gpu in loose:
        if document.free_slot(node_id) is None:
            raise PlanError(
                "not enough free slots to paste these GPUs", fix="select a server with free slots"
            )
        document.add_gpu(node_id, gpu)
