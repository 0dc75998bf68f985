"""How each GPU's memory fills its capacity, as every picture of it shows it (the panel's memory chart,
the PDF's budget chart, a card's fill bar on the canvas).

The ledger's parts are stacked in order and clipped at the capacity; what the parts need beyond it is
``over``; the KV memory the smallest-rank rule leaves unused is ``stranded`` (only as much as fits
under the capacity); the rest up to the capacity is ``free``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gpuplanner.core.report import GpuReport

LEDGER_PARTS = ("weights", "kv_cache", "activations", "communication", "runtime")


def used_bytes(gpu: GpuReport) -> int:
    """Bytes the ledger puts on the GPU: its capacity less what is free (more than the capacity when
    the parts do not fit)."""
    return gpu.capacity_bytes - gpu.memory_bytes.free


@dataclass(frozen=True)
class Budgets:
    """(bottom, top) of every drawn segment of each GPU's bar (rows), in the unit asked for.

    ``parts_*`` have one column per ledger part in the order given; ``over``, ``stranded`` and ``free``
    one value per GPU."""

    parts_bottom: np.ndarray
    parts_top: np.ndarray
    over: tuple[np.ndarray, np.ndarray]
    stranded: tuple[np.ndarray, np.ndarray]
    free: tuple[np.ndarray, np.ndarray]

    def lengths(self, row: int) -> tuple[list[float], float, float, float]:
        """(each part's drawn length, over, stranded, free) of one GPU's bar."""
        parts = (self.parts_top[row] - self.parts_bottom[row]).tolist()
        over, stranded, free = (
            float(top[row] - bottom[row]) for bottom, top in (self.over, self.stranded, self.free)
        )
        return parts, over, stranded, free


def stack_fields(
    records: Sequence[object], fields: Sequence[str], scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Bottoms and tops (records × fields) of each record's ``fields`` stacked in that order from
    zero, times ``scale``: every bar of a chart in one numpy pass."""
    values = np.array([[getattr(r, f) for f in fields] for r in records], dtype=float)
    values = values.reshape(len(records), len(fields)) * scale
    tops = np.cumsum(values, axis=1)
    return tops - values, tops


def budgets(gpus: Sequence[GpuReport], parts: Sequence[str] = LEDGER_PARTS, scale: float = 1.0) -> Budgets:
    """Every GPU's bar in one numpy pass, in bytes times ``scale`` (``1 / GIB`` for GiB)."""
    bottoms, tops = stack_fields([g.memory_bytes for g in gpus], parts, scale)
    cap = np.array([g.capacity_bytes for g in gpus], dtype=float) * scale
    stranded_all = np.array([g.stranded_bytes for g in gpus], dtype=float) * scale
    used = tops[:, -1] if len(parts) else np.zeros(len(gpus))
    stranded = np.minimum(stranded_all, np.maximum(cap - used, 0.0))
    return Budgets(
        parts_bottom=np.minimum(bottoms, cap[:, None]),
        parts_top=np.minimum(tops, cap[:, None]),
        over=(cap, np.where(used > cap, used, cap)),
        stranded=(np.minimum(used, cap), np.minimum(used + stranded, cap)),
        free=(np.minimum(used + stranded, cap), cap),
    )
