"""Drag-and-drop and clipboard MIME types: public (other programs drop onto the window with them).

``application/x-gpuplanner-catalog-item`` carries UTF-8 JSON ``{"kind": "gpu"|"node"|"link",
"id": "<catalog id>"}``: a catalog entry dragged from the palette (or from another program).
``application/x-gpuplanner-fragment`` carries copied servers and GPUs (see ``clipboard.py``).
``application/x-gpuplanner-layer-range`` carries UTF-8 JSON ``{"replica": r, "first": a, "last": b}``:
layers [a, b) dragged from the live panel's layer map onto a GPU.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from PySide6.QtCore import QMimeData

CATALOG_ITEM_MIME = "application/x-gpuplanner-catalog-item"
FRAGMENT_MIME = "application/x-gpuplanner-fragment"
LAYER_RANGE_MIME = "application/x-gpuplanner-layer-range"
CATALOG_KINDS = ("gpu", "node", "link")


@dataclass(frozen=True)
class CatalogItemRef:
    """A catalog entry being dragged: its kind ('gpu', 'node' or 'link') and catalog id."""

    kind: str
    id: str


def encode_catalog_item(kind: str, catalog_id: str) -> QMimeData:
    """A ``QMimeData`` for dragging one catalog entry (with a plain-text fallback for other programs)."""
    data = QMimeData()
    data.setData(CATALOG_ITEM_MIME, json.dumps({"kind": kind, "id": catalog_id}).encode("utf-8"))
    data.setText(catalog_id)
    return data


def decode_catalog_item(data: QMimeData | None) -> CatalogItemRef | None:
    """The dragged catalog entry, or None when the data is not ours or is malformed."""
    if data is None or not data.hasFormat(CATALOG_ITEM_MIME):
        return None
    try:
        payload = json.loads(bytes(data.data(CATALOG_ITEM_MIME).data()).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # not JSON, a huge number, deep nesting
        return None
    if not isinstance(payload, dict):
        return None
    kind, ident = payload.get("kind"), payload.get("id")
    if kind not in CATALOG_KINDS or not isinstance(ident, str) or not ident:
        return None
    return CatalogItemRef(kind, ident)


def encode_layer_range(replica: int, first: int, last: int) -> QMimeData:
    """A ``QMimeData`` for dragging layers [first, last) of a replica from the layer map."""
    data = QMimeData()
    payload = {"replica": replica, "first": first, "last": last}
    data.setData(LAYER_RANGE_MIME, json.dumps(payload).encode("utf-8"))
    data.setText(f"layers {first}–{last - 1}")
    return data


def decode_layer_range(data: QMimeData | None) -> tuple[int, int, int] | None:
    """(replica, first, last) of a dragged layer range, or None when the data is not one."""
    if data is None or not data.hasFormat(LAYER_RANGE_MIME):
        return None
    try:
        payload = json.loads(bytes(data.data(LAYER_RANGE_MIME).data()).decode("utf-8"))
        replica, first, last = (int(payload[k]) for k in ("replica", "first", "last"))
    except (UnicodeDecodeError, KeyError, TypeError, ValueError, OverflowError, RecursionError):
        return None  # not ours, or Infinity, a huge number, deep nesting
    return (replica, first, last) if replica >= 0 and 0 <= first < last else None
