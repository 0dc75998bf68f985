"""Drag-and-drop and clipboard MIME types: public (other programs drop onto the window with them).

``application/x-gpuplanner-catalog-item`` carries UTF-8 JSON ``{"kind": "gpu"|"node"|"link",
"id": "<catalog id>"}``: a catalog entry dragged from the palette (or from another program).
``application/x-gpuplanner-fragment`` carries copied servers and GPUs (see ``clipboard.py``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from PySide6.QtCore import QMimeData

CATALOG_ITEM_MIME = "application/x-gpuplanner-catalog-item"
FRAGMENT_MIME = "application/x-gpuplanner-fragment"
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
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(payload, dict):
        return None
    kind, ident = payload.get("kind"), payload.get("id")
    if kind not in CATALOG_KINDS or not isinstance(ident, str) or not ident:
        return None
    return CatalogItemRef(kind, ident)
