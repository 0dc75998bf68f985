"""What the layer map draws, without Qt: the model's layers with their sizes, the stages of each replica,
and where each cell sits along the strip.

Sizes are the bytes of each transformer layer at the plan's weight precision (whole layer, before
tensor parallelism splits it), plus the embedding table before layer 0 and the lm_head after the last.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpuplanner.core.architecture import embedding_params, layer_params, lm_head_params
from gpuplanner.core.catalog import Catalog
from gpuplanner.core.errors import PlanError, PlannerError
from gpuplanner.core.plan import Plan


@dataclass(frozen=True)
class StageCells:
    layers: tuple[int, int]
    gpus: tuple[str, ...]


@dataclass(frozen=True)
class StripData:
    model_name: str
    layer_bytes: tuple[float, ...]
    layer_params: tuple[int, ...]
    embed_bytes: float
    head_bytes: float
    replicas: tuple[tuple[StageCells, ...], ...]
    host_layers: int = (
        0  # the first layers, embeddings and output head kept in system RAM (llama.cpp, Ollama)
    )

    @property
    def num_layers(self) -> int:
        return len(self.layer_bytes)


def strip_data(plan: Plan, catalog: Catalog) -> StripData:
    """The layer map's content for ``plan``. Raises PlannerError when the model or precision is unknown."""
    model = plan.model_spec or catalog.model(plan.model)
    weights = catalog.precision(plan.weights)
    wb = weights.bytes_per_element
    eb = weights.embedding_bytes_per_element
    params = tuple(layer_params(model, i).total for i in range(model.num_layers))
    head = lm_head_params(model) or embedding_params(model)  # a tied head is still read at the end
    for r, replica in enumerate(plan.layout.replicas):
        # the strip paints one cell per layer: ranges must tile the model's layers exactly
        ends = [0, *(s.layers[1] for s in replica.stages)]
        if [s.layers[0] for s in replica.stages] != ends[:-1] or ends[-1] != model.num_layers:
            raise PlanError(
                f"the stages of replica {r + 1} do not cover layers 0–{model.num_layers} of {model.name} "
                f"in order (they cover {', '.join(f'{a}–{b}' for a, b in (s.layers for s in replica.stages))})",
                fix="Auto-balance the layout, or fix the stage ranges",
            )
    replicas = tuple(
        tuple(StageCells(layers=s.layers, gpus=s.gpus) for s in replica.stages)
        for replica in plan.layout.replicas
    )
    return StripData(
        model_name=model.name,
        layer_bytes=tuple(p * wb for p in params),
        layer_params=params,
        embed_bytes=embedding_params(model) * eb,
        head_bytes=head * eb,
        replicas=replicas,
        host_layers=min(plan.engine.offload_layers, model.num_layers),
    )


def try_strip_data(plan: Plan, catalog: Catalog) -> tuple[StripData | None, str]:
    try:
        return strip_data(plan, catalog), ""
    except PlannerError as exc:
        return None, exc.message


def cell_edges(data: StripData, left: float, width: float, min_cell: float = 2.0) -> list[float]:
    """x of each cell's left edge plus the strip's right end: [embeddings, layer 0 … layer n-1, lm_head].

    Widths follow the bytes, with each cell at least ``min_cell`` wide so every layer stays visible.
    """
    sizes = [data.embed_bytes, *data.layer_bytes, data.head_bytes]
    total = sum(sizes) or 1.0
    free = max(width - min_cell * len(sizes), 0.0)
    edges = [left]
    for size in sizes:
        edges.append(edges[-1] + min_cell + free * size / total)
    return edges


def layer_at(edges: list[float], x: float) -> int | None:
    """Layer index under x (None on the embeddings, the lm_head or outside)."""
    n = len(edges) - 3
    for i in range(n):
        if edges[i + 1] <= x < edges[i + 2]:
            return i
    return None


def nearest_boundary(edges: list[float], x: float) -> int:
    """The layer index k whose left edge (boundary between layers k-1 and k) is nearest to x."""
    n = len(edges) - 3
    return min(range(n + 1), key=lambda k: abs(edges[k + 1] - x))
