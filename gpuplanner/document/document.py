"""PlanDocument: the plan a window edits, one frozen ``Plan`` replaced by every change.

Every change method builds a new, validated ``Plan`` and swaps it in, so undo is keeping the old
value (``replace_plan``). Listeners registered with ``subscribe`` receive a ``Change`` naming what
changed. Qt-free: the window's undo commands call these methods; nothing here knows about them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from gpuplanner.core.errors import PlanError
from gpuplanner.core.layout_ops import repair_layout, rescale_layout, validate_layout
from gpuplanner.core.plan import EngineSettings, GpuPlacement, Layout, Link, Node, Plan, Rig, Workload
from gpuplanner.core.specs import ModelSpec, NodeTemplate

M = TypeVar("M", bound=BaseModel)
NODE_PROPS = frozenset(
    {"name", "host_link", "nvswitch", "nic", "nics", "slots", "template", "host", "host_ram_gib"}
)


@dataclass(frozen=True)
class Change:
    """What a change touched. ``kind``: 'rig', 'position' (where a server is drawn, nothing else),
    'model', 'precisions', 'engine', 'workload', 'layout', 'name' or 'plan' (anything may have
    changed); ``ids``: node, GPU or link ids involved."""

    kind: str
    ids: frozenset[str] = field(default_factory=frozenset)


def rebuild(obj: M, /, **update: Any) -> M:
    """``obj`` with ``update`` applied and validated (``model_copy`` would skip validation)."""
    try:
        return type(obj)(**{**dict(obj), **update})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PlanError(f"{type(obj).__name__} {where}: {first['msg']}") from None


def _numbers(ids: list[str], prefix: str) -> list[int]:
    pattern = re.compile(rf"{re.escape(prefix)}(\d+)$")
    return [int(m.group(1)) for i in ids if (m := pattern.match(i))]


class PlanDocument:
    """The editable plan. ``plan`` is always a valid frozen ``Plan``; ids are unique and never reused
    within a session, so undo/redo and views can key on them."""

    def __init__(self, plan: Plan, *, _counters: dict[str, int] | None = None) -> None:
        self._plan = plan
        self._listeners: list[Callable[[Change], None]] = []
        self._counters: dict[str, int] = {} if _counters is None else _counters
        self.last_change: Change | None = None

    def draft(self) -> PlanDocument:
        """A listener-free copy to try changes on; it shares the id counters so the ids it hands out
        stay unique in this document. Undo commands compute their plans on a draft."""
        return PlanDocument(self._plan, _counters=self._counters)

    # -- reading ---------------------------------------------------------------------------------
    @property
    def plan(self) -> Plan:
        return self._plan

    def dump(self) -> dict[str, Any]:
        """The plan as plain JSON-able data, for tests and diffs."""
        return self._plan.model_dump(mode="json")

    def node(self, node_id: str) -> Node:
        for node in self._plan.rig.nodes:
            if node.id == node_id:
                return node
        raise PlanError(f"there is no server '{node_id}' in the rig")

    def gpu(self, gpu_id: str) -> tuple[Node, GpuPlacement]:
        found = self._plan.rig.find_gpu(gpu_id)
        if found is None:
            raise PlanError(f"there is no GPU '{gpu_id}' in the rig")
        return found

    def link(self, link_id: str) -> Link:
        for link in self._plan.rig.links:
            if link.id == link_id:
                return link
        raise PlanError(f"there is no link '{link_id}' in the rig")

    def links_of(self, gpu_ids: set[str]) -> list[Link]:
        return [k for k in self._plan.rig.links if k.a in gpu_ids or k.b in gpu_ids]

    # -- listeners -------------------------------------------------------------------------------
    def subscribe(self, callback: Callable[[Change], None]) -> Callable[[], None]:
        """Call ``callback(change)`` after every change; returns a function that unsubscribes."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def replace_plan(self, plan: Plan, change: Change | None = None) -> Plan:
        """Swap in ``plan`` (undo, redo, open) and tell listeners; returns the previous plan."""
        previous = self._plan
        self._plan = plan
        self.last_change = change or Change("plan")
        for callback in list(self._listeners):
            callback(self.last_change)
        return previous

    def reset_ids(self) -> None:
        """Forget the ids handed out so far: a new or opened plan (with a cleared undo history) numbers
        its servers and GPUs from its own ids, not from the plan it replaced."""
        self._counters.clear()

    def new_id(self, prefix: str) -> str:
        existing = [n.id for n in self._plan.rig.nodes] + self._plan.rig.gpu_ids()
        existing += [k.id for k in self._plan.rig.links]
        start = max([*_numbers(existing, prefix), self._counters.get(prefix, -1)]) + 1
        self._counters[prefix] = start
        return f"{prefix}{start}"

    def _set_rig(self, rig: Rig, ids: set[str], **plan_update: Any) -> None:
        layout = repair_layout(plan_update.pop("layout", self._plan.layout), rig)
        self.replace_plan(
            rebuild(self._plan, rig=rig, layout=layout, **plan_update), Change("rig", frozenset(ids))
        )

    def _replace_node(self, node: Node) -> Rig:
        nodes = tuple(node if n.id == node.id else n for n in self._plan.rig.nodes)
        return rebuild(self._plan.rig, nodes=nodes)

    # -- servers ---------------------------------------------------------------------------------
    def add_node(
        self, *, name: str = "Server", slots: int = 8, x: float = 0.0, y: float = 0.0, **props: Any
    ) -> str:
        """Add an empty server at scene position (x, y); returns its id."""
        node = Node(id=self.new_id("n"), name=name, slots=slots, x=x, y=y, **props)
        self._set_rig(rebuild(self._plan.rig, nodes=(*self._plan.rig.nodes, node)), {node.id})
        return node.id

    def add_node_from_template(self, template: NodeTemplate, x: float = 0.0, y: float = 0.0) -> str:
        """Add a server as its template ships: its GPUs in every slot, NVSwitch or pair links."""
        node_id = self.new_id("n")
        gpus: tuple[GpuPlacement, ...] = ()
        if template.gpu:
            gpus = tuple(
                GpuPlacement(id=self.new_id("g"), gpu=template.gpu, slot=s) for s in range(template.slots)
            )
        node = Node(
            id=node_id, name=template.name.split(" (")[0], template=template.id, slots=template.slots, gpus=gpus,
            host_link=template.host_link, nvswitch=template.nvswitch, nic=template.nic, nics=template.nics, x=x, y=y,
        )  # fmt: skip
        links = list(self._plan.rig.links)
        if template.pair_links and not template.nvswitch:
            for a, b in itertools.pairwise(gpus):
                if a.slot % 2 == 0:
                    links.append(Link(id=self.new_id("l"), kind=template.pair_links, a=a.id, b=b.id))
        rig = rebuild(self._plan.rig, nodes=(*self._plan.rig.nodes, node), links=tuple(links))
        self._set_rig(rig, {node_id, *(g.id for g in gpus)})
        return node_id

    def remove_node(self, node_id: str) -> None:
        """Remove a server, its GPUs and every link touching them."""
        node = self.node(node_id)
        gone = {g.id for g in node.gpus}
        nodes = tuple(n for n in self._plan.rig.nodes if n.id != node_id)
        links = tuple(k for k in self._plan.rig.links if k.a not in gone and k.b not in gone)
        self._set_rig(rebuild(self._plan.rig, nodes=nodes, links=links), {node_id, *gone})

    def move_node(self, node_id: str, x: float, y: float) -> None:
        # a position is not part of any estimate: the change says so, and the layout stays as it is
        rig = self._replace_node(rebuild(self.node(node_id), x=float(x), y=float(y)))
        self.replace_plan(rebuild(self._plan, rig=rig), Change("position", frozenset({node_id})))

    def set_node_props(self, node_id: str, **props: Any) -> None:
        """Change a server's name, host_link, nvswitch, nic, nics, slots, template, host or host_ram_gib."""
        unknown = set(props) - NODE_PROPS
        if unknown:
            raise PlanError(f"a server has no property {', '.join(sorted(unknown))}")
        node = self.node(node_id)
        if "slots" in props and any(g.slot >= props["slots"] for g in node.gpus):
            raise PlanError(
                f"{node.name} has GPUs in slots beyond {props['slots']}", fix="move or remove them first"
            )
        self._set_rig(self._replace_node(rebuild(node, **props)), {node_id})

    def set_fabric(self, link_kind: str | None) -> None:
        """The link between servers used where a server names no NIC of its own."""
        self._set_rig(rebuild(self._plan.rig, fabric=link_kind), set())

    # -- GPUs ------------------------------------------------------------------------------------
    def free_slot(self, node_id: str) -> int | None:
        node = self.node(node_id)
        taken = {g.slot for g in node.gpus}
        return next((s for s in range(node.slots) if s not in taken), None)

    def add_gpu(self, node_id: str, gpu: str, slot: int | None = None) -> str:
        """Put a GPU (catalog id) in a server's slot (first free one when None); returns its id."""
        node = self.node(node_id)
        slot = self.free_slot(node_id) if slot is None else slot
        if slot is None:
            raise PlanError(
                f"{node.name} has no free slot", fix="drop the GPU on empty canvas for a new server"
            )
        if not 0 <= slot < node.slots:
            raise PlanError(f"{node.name} has no slot {slot} (it has {node.slots})")
        if any(g.slot == slot for g in node.gpus):
            raise PlanError(f"slot {slot} of {node.name} is taken", fix="pick a free slot")
        placement = GpuPlacement(id=self.new_id("g"), gpu=gpu, slot=slot)
        gpus = tuple(sorted((*node.gpus, placement), key=lambda g: g.slot))
        self._set_rig(self._replace_node(rebuild(node, gpus=gpus)), {node_id, placement.id})
        return placement.id

    def remove_gpu(self, gpu_id: str) -> None:
        """Remove a GPU, the links touching it and its place in the layout."""
        node, _ = self.gpu(gpu_id)
        rig = self._replace_node(rebuild(node, gpus=tuple(g for g in node.gpus if g.id != gpu_id)))
        rig = rebuild(rig, links=tuple(k for k in rig.links if gpu_id not in (k.a, k.b)))
        self._set_rig(rig, {gpu_id, node.id})

    def move_gpu(self, gpu_id: str, node_id: str, slot: int) -> None:
        """Move a GPU to a slot; a GPU already there swaps into the moved GPU's old place."""
        source, placement = self.gpu(gpu_id)
        target = self.node(node_id)
        if not 0 <= slot < target.slots:
            raise PlanError(f"{target.name} has no slot {slot} (it has {target.slots})")
        other = next((g for g in target.gpus if g.slot == slot and g.id != gpu_id), None)
        nodes = []
        for node in self._plan.rig.nodes:
            gpus = [g for g in node.gpus if g.id not in (gpu_id, other.id if other else "")]
            if node.id == node_id:
                gpus.append(rebuild(placement, slot=slot))
            if other and node.id == source.id:
                gpus.append(rebuild(other, slot=placement.slot))
            nodes.append(
                rebuild(node, gpus=tuple(sorted(gpus, key=lambda g: g.slot)))
                if node.id in (node_id, source.id)
                else node
            )
        ids = {gpu_id, node_id, source.id} | ({other.id} if other else set())
        self._set_rig(rebuild(self._plan.rig, nodes=tuple(nodes)), ids)

    def set_gpu_model(self, gpu_id: str, gpu: str) -> None:
        node, _ = self.gpu(gpu_id)
        gpus = tuple(rebuild(g, gpu=gpu) if g.id == gpu_id else g for g in node.gpus)
        self._set_rig(self._replace_node(rebuild(node, gpus=gpus)), {gpu_id})

    # -- links -----------------------------------------------------------------------------------
    def add_link(self, kind: str, a: str, b: str) -> str:
        """Join GPUs ``a`` and ``b`` with a link of catalog kind ``kind``; returns its id."""
        self.gpu(a), self.gpu(b)
        if a == b:
            raise PlanError("a link needs two different GPUs")
        if any({k.a, k.b} == {a, b} and k.kind == kind for k in self._plan.rig.links):
            raise PlanError(f"{a} and {b} are already joined by {kind}")
        link = Link(id=self.new_id("l"), kind=kind, a=a, b=b)
        self._set_rig(rebuild(self._plan.rig, links=(*self._plan.rig.links, link)), {link.id, a, b})
        return link.id

    def remove_link(self, link_id: str) -> None:
        self.link(link_id)
        self._set_rig(
            rebuild(self._plan.rig, links=tuple(k for k in self._plan.rig.links if k.id != link_id)),
            {link_id},
        )

    def set_link_kind(self, link_id: str, kind: str) -> None:
        links = tuple(rebuild(k, kind=kind) if k.id == link_id else k for k in self._plan.rig.links)
        self.link(link_id)
        self._set_rig(rebuild(self._plan.rig, links=links), {link_id})

    # -- the plan's settings ---------------------------------------------------------------------
    def set_plan_name(self, name: str, description: str | None = None) -> None:
        update: dict[str, Any] = {"name": name}
        if description is not None:
            update["description"] = description
        self.replace_plan(rebuild(self._plan, **update), Change("name"))

    def set_model(
        self, model: str, *, num_layers: int | None = None, model_spec: ModelSpec | None = None
    ) -> None:
        """Switch model; with ``num_layers`` the stages are stretched to the new depth."""
        layout = rescale_layout(self._plan.layout, num_layers) if num_layers else self._plan.layout
        self.replace_plan(
            rebuild(self._plan, model=model, model_spec=model_spec, layout=layout), Change("model")
        )

    def set_precisions(self, weights: str | None = None, kv_cache: str | None = None) -> None:
        update = {k: v for k, v in (("weights", weights), ("kv_cache", kv_cache)) if v is not None}
        self.replace_plan(rebuild(self._plan, **update), Change("precisions"))

    def set_engine_settings(self, settings: EngineSettings | None = None, **fields: Any) -> None:
        engine = settings if settings is not None else rebuild(self._plan.engine, **fields)
        self.replace_plan(rebuild(self._plan, engine=engine), Change("engine"))

    def set_workload(self, workload: Workload | None = None, **fields: Any) -> None:
        work = workload if workload is not None else rebuild(self._plan.workload, **fields)
        self.replace_plan(rebuild(self._plan, workload=work), Change("workload"))

    def set_layout(self, layout: Layout) -> None:
        problem = validate_layout(layout, self._plan.rig)
        if problem:
            raise PlanError(problem)
        self.replace_plan(rebuild(self._plan, layout=layout), Change("layout"))
