"""Undo commands: every user-visible edit is one of these pushed on the window's ``QUndoStack``.

A command runs its edit once, at construction, on a *draft* of the document (``PlanDocument.draft``):
a bad edit raises ``PlannerError`` before anything is pushed, and the command keeps the plan before and
after. ``redo``/``undo`` then swap those plans into the document. Cascading deletes are child
commands, each computed on the same draft so that they chain.

Child commands are kept in a Python list rather than through ``QUndoCommand``'s parent argument:
on PySide6 6.11 a Python-subclassed parent that is dropped without being pushed (an edit that failed
half-way) crashes the process when it deletes its Python-subclassed children.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtGui import QUndoCommand

from gpuplanner.core.plan import Layout
from gpuplanner.core.specs import ModelSpec, NodeTemplate
from gpuplanner.document.document import Change, PlanDocument

Edit = Callable[[PlanDocument], Any]


class PlanCommand(QUndoCommand):
    """One document edit (``edit``) or, without one, a group of child commands run in order."""

    def __init__(
        self,
        document: PlanDocument,
        text: str,
        edit: Edit | None = None,
        *,
        parent: PlanCommand | None = None,
        draft: PlanDocument | None = None,
    ) -> None:
        super().__init__(text)
        self._document = document
        self._draft = draft if draft is not None else document.draft()
        self._children: list[PlanCommand] = []
        self._before = self._after = self._draft.plan
        self._change = Change("plan")
        self.result: Any = None
        if edit is not None:
            self.result = edit(self._draft)
            self._after = self._draft.plan
            self._change = self._draft.last_change or self._change
        if parent is not None:
            parent._children.append(self)

    def add_child(self, text: str, edit: Edit) -> PlanCommand:
        """Add a child command whose edit runs after the previous children's."""
        return PlanCommand(self._document, text, edit, parent=self, draft=self._draft)

    @property
    def children(self) -> tuple[PlanCommand, ...]:
        return tuple(self._children)

    def redo(self) -> None:
        for child in self._children:
            child.redo()
        if self._after is not self._before:
            self._document.replace_plan(self._after, self._change)

    def undo(self) -> None:
        if self._after is not self._before:
            self._document.replace_plan(self._before, self._change)
        for child in reversed(self._children):
            child.undo()

    @property
    def changes_anything(self) -> bool:
        return self._after != self._before or any(c.changes_anything for c in self._children)


class MergeablePlanCommand(PlanCommand):
    """Edits of one field from a spin box or slider: a burst of them (each within MERGE_WINDOW_S of
    the last) merges into one undo step."""

    MERGE_IDS: dict[str, int] = {}
    MERGE_WINDOW_S = 2.0

    def __init__(self, document: PlanDocument, text: str, key: str, edit: Edit) -> None:
        super().__init__(document, text, edit)
        self._key = key
        self._last_edit = time.monotonic()

    def id(self) -> int:
        return MergeablePlanCommand.MERGE_IDS.setdefault(
            self._key, 7000 + len(MergeablePlanCommand.MERGE_IDS)
        )

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, MergeablePlanCommand) or other._key != self._key:
            return False
        if other._last_edit - self._last_edit > self.MERGE_WINDOW_S:
            return False
        self._after, self._change, self._last_edit = other._after, other._change, other._last_edit
        self.setObsolete(self._after == self._before)
        # Qt deletes ``other`` now, but PySide keeps its Python half alive: empty it, or every merged
        # edit would keep two plans and the document (with the window listening to it) forever
        other.__dict__.clear()
        return True


# -- servers ---------------------------------------------------------------------------------------
def add_node_command(document: PlanDocument, x: float, y: float, **props: Any) -> PlanCommand:
    return PlanCommand(document, "Add server", lambda d: d.add_node(x=x, y=y, **props))


def add_template_command(document: PlanDocument, template: NodeTemplate, x: float, y: float) -> PlanCommand:
    return PlanCommand(document, f"Add {template.name}", lambda d: d.add_node_from_template(template, x, y))


def add_gpu_in_new_node_command(
    document: PlanDocument,
    gpu: str,
    x: float,
    y: float,
    slots: int = 8,
    name: str = "Server",
    host_link: str | None = None,
) -> PlanCommand:
    """A new server holding ``gpu``; ``host_link`` (its PCIe path) when given, else the plan's default."""
    props = {"host_link": host_link} if host_link else {}

    def edit(d: PlanDocument) -> str:
        return d.add_gpu(d.add_node(name=name, slots=slots, x=x, y=y, **props), gpu, 0)

    return PlanCommand(document, "Add GPU in a new server", edit)


def move_node_command(document: PlanDocument, node_id: str, x: float, y: float) -> PlanCommand:
    return PlanCommand(document, "Move server", lambda d: d.move_node(node_id, x, y))


def set_node_props_command(document: PlanDocument, node_id: str, text: str = "", **props: Any) -> PlanCommand:
    return PlanCommand(document, text or "Change server", lambda d: d.set_node_props(node_id, **props))


def set_fabric_command(document: PlanDocument, link_kind: str | None) -> PlanCommand:
    return PlanCommand(document, "Change fabric", lambda d: d.set_fabric(link_kind))


# -- GPUs and links ----------------------------------------------------------------------------------
def add_gpu_command(document: PlanDocument, node_id: str, gpu: str, slot: int | None = None) -> PlanCommand:
    return PlanCommand(document, "Add GPU", lambda d: d.add_gpu(node_id, gpu, slot))


def move_gpu_command(document: PlanDocument, gpu_id: str, node_id: str, slot: int) -> PlanCommand:
    return PlanCommand(document, "Move GPU", lambda d: d.move_gpu(gpu_id, node_id, slot))


def set_gpu_model_command(document: PlanDocument, gpu_id: str, gpu: str) -> PlanCommand:
    return PlanCommand(document, "Change GPU model", lambda d: d.set_gpu_model(gpu_id, gpu))


def add_link_command(document: PlanDocument, kind: str, a: str, b: str) -> PlanCommand:
    return PlanCommand(document, "Add link", lambda d: d.add_link(kind, a, b))


def set_link_kind_command(document: PlanDocument, link_id: str, kind: str) -> PlanCommand:
    return PlanCommand(document, "Change link kind", lambda d: d.set_link_kind(link_id, kind))


def delete_command(
    document: PlanDocument,
    *,
    nodes: Iterable[str] = (),
    gpus: Iterable[str] = (),
    links: Iterable[str] = (),
    text: str = "Delete",
) -> PlanCommand:
    """Delete servers, GPUs and links; the links and GPUs they take along are child commands."""
    parent = PlanCommand(document, text)
    plan = document.plan
    nodes = [n for n in dict.fromkeys(nodes)]
    gpu_ids = list(dict.fromkeys([*gpus, *(g.id for n in plan.rig.nodes if n.id in nodes for g in n.gpus)]))
    link_ids = list(dict.fromkeys([*links, *(k.id for k in document.links_of(set(gpu_ids)))]))
    for link_id in link_ids:
        parent.add_child("Remove link", lambda d, i=link_id: d.remove_link(i))
    for gpu_id in gpu_ids:
        parent.add_child("Remove GPU", lambda d, i=gpu_id: d.remove_gpu(i))
    for node_id in nodes:
        parent.add_child("Remove server", lambda d, i=node_id: d.remove_node(i))
    return parent


# -- the plan's settings -----------------------------------------------------------------------------
def set_plan_name_command(document: PlanDocument, name: str) -> PlanCommand:
    return MergeablePlanCommand(document, "Rename plan", "plan.name", lambda d: d.set_plan_name(name))


def set_model_command(
    document: PlanDocument, model: str, num_layers: int | None = None, model_spec: ModelSpec | None = None
) -> PlanCommand:
    return PlanCommand(
        document, "Change model", lambda d: d.set_model(model, num_layers=num_layers, model_spec=model_spec)
    )


def set_precisions_command(
    document: PlanDocument, weights: str | None = None, kv_cache: str | None = None
) -> PlanCommand:
    text = "Change weight precision" if weights else "Change KV-cache precision"
    return PlanCommand(document, text, lambda d: d.set_precisions(weights=weights, kv_cache=kv_cache))


def set_engine_field_command(document: PlanDocument, field: str, value: Any) -> PlanCommand:
    text = "Change engine" if field == "engine" else f"Change {field.replace('_', ' ')}"
    return MergeablePlanCommand(
        document, text, f"engine.{field}", lambda d: d.set_engine_settings(**{field: value})
    )


def set_workload_field_command(document: PlanDocument, field: str, value: Any) -> PlanCommand:
    text = f"Change {field.replace('_', ' ')}"
    return MergeablePlanCommand(
        document, text, f"workload.{field}", lambda d: d.set_workload(**{field: value})
    )


def set_layout_command(document: PlanDocument, layout: Layout, text: str = "Change layout") -> PlanCommand:
    return PlanCommand(document, text, lambda d: d.set_layout(layout))


def edit_command(document: PlanDocument, text: str, edit: Edit) -> PlanCommand:
    """Any edit made of several document change methods (presets, paste) as one undo step."""
    return PlanCommand(document, text, edit)
