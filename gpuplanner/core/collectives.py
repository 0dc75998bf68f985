"""Latency + bandwidth time of the collectives inference uses: all-reduce, all-to-all, p2p.

The shape follows NCCL: for each protocol (LL, LL128, Simple) the time is a start-up latency
(``steps`` ring steps at the slowest hop's latency, plus the protocol's base latency and, for the
chunked protocols, the time to fill the pipeline) plus the bytes each GPU moves over the slowest hop's
achievable bandwidth; NCCL's tuner picks the fastest protocol, and so do we. Small messages are
therefore latency-bound and large ones bandwidth-bound. On an NVSwitch with NVLink SHARP (H100 and
later) an all-reduce of a big enough group may also use the NVLS shape: the switch reduces, so each GPU
sends and receives the message once instead of ``2(n-1)/n`` times.

A hop without peer-to-peer (PCIe across sockets, consumer cards) is staged through host memory: both
copies cross PCIe and the host, so its bandwidth is scaled by ``host_staged_factor``.

All constants come from ``catalogs/calibration.toml`` (section ``collectives``), which names the
measurement rows they were fitted on; ``benchmarks/collectives_fit.py`` prints the fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gpuplanner.core.calibration import Band, Collectives, banded, calibration
from gpuplanner.core.topology import Hop


def _table() -> Collectives:
    return calibration().collectives


def hop_efficiency(hop: Hop) -> float:
    """Achievable share of ``hop``'s bandwidth for a large collective (calibration overrides catalog)."""
    table = _table()
    for override in (table.link.get(hop.link), table.kind.get(hop.kind)):
        if override is not None and override.bus_efficiency is not None:
            return override.bus_efficiency
    return hop.bus_efficiency


def hop_step_latency_s(hop: Hop) -> float:
    """Latency of one ring step over ``hop``, seconds (calibration overrides catalog)."""
    table = _table()
    for override in (table.link.get(hop.link), table.kind.get(hop.kind)):
        if override is not None and override.step_latency_us is not None:
            return override.step_latency_us * 1e-6
    return hop.latency_s


def effective_bandwidth_bps(hop: Hop, band: Band = "mid") -> float:
    """Bytes/s a collective achieves over ``hop`` per direction (efficiency and host staging applied)."""
    table = _table()
    bw = hop.bandwidth_bps * banded(hop_efficiency(hop), table.spread, band)
    return bw if hop.peer_to_peer else bw * table.host_staged_factor


@dataclass(frozen=True, slots=True)
class RingFigures:
    """What a collective's time depends on, worked out once per ring and band."""

    n: int
    bandwidth_bps: float  # slowest hop, efficiency and host staging applied
    step_latency_s: float  # slowest hop's per-step latency
    protocols: tuple[tuple[float, float, float], ...]  # (base latency s, bandwidth share, fill bytes)
    nvls_bandwidth_bps: float | None  # None: NVLS not available on this ring
    nvls_latency_s: float


def ring_figures(hops: Sequence[Hop], band: Band = "mid", n: int | None = None) -> RingFigures:
    """Summarize a ring of ``hops`` (see :func:`topology.ring_for_group`) for the time functions."""
    table = _table()
    n = len(hops) if n is None else n
    if not hops:
        return RingFigures(n, float("inf"), 0.0, ((0.0, 1.0, 0.0),), None, 0.0)
    protocols = tuple(
        (p.base_latency_us * 1e-6, p.bandwidth_fraction, table.pipeline_fill_bytes if p.pipelined else 0.0)
        for p in table.protocol
    )
    nvls_bw, nvls_latency = None, 0.0
    if n >= table.nvls_min_ranks and all(h.link in table.nvls_links for h in hops):
        nvls_bw = min(h.bandwidth_bps for h in hops) * banded(table.nvls_efficiency, table.spread, band)
        simple = max(protocols, key=lambda p: (p[2] > 0, p[1]))  # chunked, full-rate: Simple
        nvls_latency = simple[0] + 2 * hop_step_latency_s(hops[0])
    return RingFigures(
        n=n,
        bandwidth_bps=min(effective_bandwidth_bps(h, band) for h in hops),
        step_latency_s=max(hop_step_latency_s(h) for h in hops),
        protocols=protocols,
        nvls_bandwidth_bps=nvls_bw,
        nvls_latency_s=nvls_latency,
    )


def _ring_time(volume: float, steps: int, ring: RingFigures) -> float:
    """Fastest protocol's time to move ``volume`` bytes per GPU around a ring in ``steps`` steps."""
    latency = ring.step_latency_s * steps
    return min(
        base + latency + (volume + fill) / (ring.bandwidth_bps * share)
        for base, share, fill in ring.protocols
    )


def allreduce_ring_s(nbytes: float, ring: RingFigures) -> float:
    """Seconds to all-reduce ``nbytes`` per GPU over a summarized ring (ring or NVLS, the faster)."""
    n = ring.n
    if n < 2 or nbytes <= 0:
        return 0.0
    best = _ring_time(2 * (n - 1) / n * nbytes, 2 * (n - 1), ring)
    if ring.nvls_bandwidth_bps is not None:
        nvls = ring.nvls_latency_s + (nbytes + ring.protocols[-1][2]) / ring.nvls_bandwidth_bps
        best = min(best, nvls)
    return best


def custom_allreduce_s(nbytes: float, ring: RingFigures) -> float | None:
    """Seconds of the engine's own all-reduce of ``nbytes`` over ``ring`` (None: NCCL's turn).

    One shot: every GPU reads all ``n - 1`` peers' buffers and reduces locally, one barrier. Two
    shots: a reduce-scatter then an all-gather, ``2 (n-1)/n`` of the message each way, two barriers.
    The caller checks that the engine and the links qualify (see :func:`custom_allreduce_applies`).
    """
    rule = _table().custom_allreduce
    n = ring.n
    if rule is None or n < 2 or nbytes <= 0 or nbytes > rule.max_bytes:
        return None
    one_shot_max = rule.one_shot_max_bytes_upto4 if n <= 4 else rule.one_shot_max_bytes_upto8
    if n == 2 or nbytes < one_shot_max:
        return rule.one_shot_latency_us * 1e-6 + (n - 1) * nbytes / ring.bandwidth_bps
    return rule.two_shot_latency_us * 1e-6 + 2 * (n - 1) / n * nbytes / ring.bandwidth_bps


def custom_allreduce_applies(engine_id: str, hops: Sequence[Hop], n: int) -> bool:
    """Whether ``engine_id`` reduces over this TP group with its own kernels rather than NCCL:
    a supported group size, all peers on NVLink / NVSwitch (or a pair with PCIe peer-to-peer)."""
    rule = _table().custom_allreduce
    if rule is None or engine_id not in rule.engines or n not in rule.world_sizes or not hops:
        return False
    if all(h.kind in rule.link_kinds and h.peer_to_peer for h in hops):
        return True
    return rule.pcie_pair and n == 2 and all(h.kind == "pcie" and h.peer_to_peer for h in hops)


def tp_allreduce_s(nbytes: float, ring: RingFigures, custom: bool) -> float:
    """Seconds of one tensor-parallel all-reduce: the engine's kernel where it applies, else NCCL."""
    if custom:
        own = custom_allreduce_s(nbytes, ring)
        if own is not None:
            return own
    return allreduce_ring_s(nbytes, ring)


def alltoall_ring_s(nbytes: float, ring: RingFigures) -> float:
    """Seconds for an all-to-all of ``nbytes`` per GPU over a summarized group (see alltoall_time_s)."""
    n = ring.n
    if n < 2 or nbytes <= 0:
        return 0.0
    return _ring_time((n - 1) / n * nbytes, n - 1, ring)


def allreduce_time_s(nbytes: float, hops: Sequence[Hop], n: int | None = None, band: Band = "mid") -> float:
    """Seconds to all-reduce ``nbytes`` (the message size on each GPU) over a ring of ``hops``.

    ``n`` defaults to ``len(hops)`` (a ring of n GPUs has n hops); 0 for a group of one.
    """
    if not hops:
        return 0.0
    return allreduce_ring_s(nbytes, ring_figures(hops, band, n))


def alltoall_time_s(nbytes: float, hops: Sequence[Hop], n: int | None = None, band: Band = "mid") -> float:
    """Seconds for an all-to-all where each GPU holds ``nbytes`` destined evenly for all ``n`` GPUs.

    Each GPU sends ``(n-1)/n`` of its bytes; the slowest of ``hops`` (pass the paths the exchange
    crosses) bounds every GPU's rate, and each of the ``n-1`` peers costs one step of latency.
    """
    if not hops:
        return 0.0
    return alltoall_ring_s(nbytes, ring_figures(hops, band, n))


def p2p_time_s(nbytes: float, hop: Hop, band: Band = "mid") -> float:
    """Seconds to send ``nbytes`` from one GPU to another over ``hop`` (pipeline boundary).

    Calibrated on a GPU pair's copy bandwidth (``p2p_efficiency``), not on a collective's.
    """
    if nbytes <= 0:
        return 0.0
    table = _table()
    bw = hop.bandwidth_bps * banded(table.p2p_efficiency, table.spread, band)
    if not hop.peer_to_peer:
        bw *= table.host_staged_factor
    return hop_step_latency_s(hop) + nbytes / bw


def busbw_gbps(op_time_s: float, nbytes: float, n: int) -> float:
    """nccl-tests' all-reduce bus bandwidth, GB/s: ``bytes/time * 2(n-1)/n``."""
    return nbytes / op_time_s * 2 * (n - 1) / n / 1e9
