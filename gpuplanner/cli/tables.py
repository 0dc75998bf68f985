"""Readable text tables for the command line."""

from __future__ import annotations

from collections.abc import Sequence

from gpuplanner.core.catalog import Catalog
from gpuplanner.core.coverage import coverage_line
from gpuplanner.core.plan import Plan
from gpuplanner.core.report import Report, Speeds
from gpuplanner.core.units import gib
from gpuplanner.core.verdict import verdict_of


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], right: set[int] | None = None) -> str:
    """Plain text columns; columns in ``right`` are right-aligned (numbers)."""
    right = right or set()
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def fmt(row: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )

    lines = [fmt(cells[0]), "  ".join("-" * w for w in widths)]
    lines += [fmt(r) for r in cells[1:]]
    return "\n".join(line.rstrip() for line in lines)


def _speed_line(label: str, s: Speeds) -> list[str]:
    return [
        label,
        f"{s.ttft_s * 1000:.0f} ms",
        f"{s.tpot_s * 1000:.1f} ms",
        f"{s.tokens_per_s_per_user:.1f}",
        f"{s.output_tokens_per_s:.0f}",
        f"{s.prefill_tokens_per_s:.0f}",
    ]


def report_text(report: Report, plan: Plan) -> str:
    out = [
        f"{report.plan_name}",
        f"  model    {report.model_name} ({report.total_params / 1e9:.2f} B parameters"
        + (
            f", {report.active_params / 1e9:.2f} B active (embedding table excluded)"
            if report.active_params < report.total_params * 0.9
            else ""
        )
        + ")",
        f"  weights  {report.weights}   KV cache {report.kv_cache_precision}   engine {report.engine_name}",
        f"  layout   TP {plan.layout.tp} × PP {plan.layout.pp} × DP {plan.layout.dp}"
        + (f" · EP {plan.layout.ep}" if plan.layout.ep > 1 else ""),
        "",
        f"{verdict_of(report).label}  {verdict_of(report).headline}",
        "",
        "Memory per GPU (GiB)",
    ]
    rows = []
    for g in report.gpus:
        m = g.memory_bytes
        rows.append(
            [
                g.id,
                g.gpu,
                g.node,
                f"{g.replica + 1}/{g.stage + 1}/{g.tp_rank + 1}",  # people count from 1; the JSON from 0
                f"{g.layers[0]}–{g.layers[1] - 1}",
                gib(g.capacity_bytes, unit=False),
                gib(m.weights, unit=False),
                gib(m.kv_cache, unit=False),
                gib(m.activations, unit=False),
                gib(m.communication, unit=False),
                gib(m.runtime, unit=False),
                gib(m.free, unit=False),
                gib(g.stranded_bytes, unit=False) if g.stranded_bytes else "",
            ]
        )
    headers = [
        "gpu",
        "model",
        "node",
        "rep/stage/tp",
        "layers",
        "total",
        "weights",
        "kv",
        "activ",
        "comm",
        "runtime",
        "free",
        "stranded",
    ]
    out.append(table(headers, rows, right=set(range(5, 13))))
    kv = report.kv_cache
    out += [
        "",
        f"KV cache  {kv.bytes_per_token / 1024:.1f} KiB per token · {kv.capacity_tokens:,} tokens per replica · "
        f"max {kv.max_concurrency} concurrent requests of {kv.context_tokens:,} tokens · "
        f"longest context at the plan's concurrency {kv.max_context_at_concurrency:,}",
    ]
    p = report.performance
    if p is not None:
        out += [
            "",
            f"Performance at concurrency {p.concurrency} ({p.input_tokens} in / {p.output_tokens} out)",
            table(
                ["", "TTFT", "TPOT", "tok/s per user", "output tok/s", "prefill tok/s"],
                [
                    _speed_line("estimate", Speeds(**{k: getattr(p, k) for k in Speeds.model_fields})),
                    _speed_line("low", p.low),
                    _speed_line("high", p.high),
                ],
                right={1, 2, 3, 4, 5},
            ),
            f"  decode bottleneck: {p.bottleneck}",
        ]
        if p.concurrency > 1 and p.ttft_burst_s is not None:
            out.append(
                f"  all {p.concurrency} users at once (a first wave): mean TTFT {p.ttft_burst_s * 1000:,.0f} ms"
            )
        if p.prefill_bottleneck:
            out.append(f"  prefill bottleneck: {p.prefill_bottleneck}")
        if coverage_line(p):
            out.append(f"  {coverage_line(p)}")
    if report.problems:
        out += ["", "Problems"]
        for pr in report.problems:
            where = f"[{pr.gpu}] " if pr.gpu else ""
            out.append(f"  {pr.severity:7s} {where}{pr.message}")
            if pr.fix:
                out.append(f"          fix: {pr.fix}")
    return "\n".join(out)


def catalog_table(catalog: Catalog, kind: str) -> str:
    if kind == "gpus":
        rows = [
            [
                g.id,
                g.name,
                f"{g.memory_gb:g}",
                f"{g.hbm_bandwidth_gbps:g}",
                f"{g.bf16_tflops or g.fp16_tflops or 0:g}",
                f"{g.fp8_tflops:g}" if g.fp8_tflops else "—",
                g.native_link or "PCIe only",
                f"{g.tdp_w:g}",
            ]
            for g in catalog.gpus.values()
        ]
        return table(
            ["id", "name", "GB", "GB/s", "BF16 TFLOPS", "FP8", "GPU link", "W"], rows, right={2, 3, 4, 5, 7}
        )
    if kind == "models":
        rows = [
            [
                m.id,
                m.name,
                f"{m.total_params_b:g}",
                f"{m.active_params_b:g}" if m.active_params_b else "",
                m.num_layers,
                m.hidden_size,
                f"{m.num_attention_heads}/{m.num_kv_heads}",
                m.max_position_embeddings,
            ]
            for m in catalog.models.values()
        ]
        return table(
            ["id", "name", "params B", "active B", "layers", "hidden", "heads/kv", "context"],
            rows,
            right={2, 3, 4, 5, 7},
        )
    if kind == "links":
        rows = [
            [
                lk.id,
                lk.name,
                lk.kind,
                f"{lk.bandwidth_gbps_per_direction:g}",
                f"{lk.latency_us:g}",
                "yes" if lk.peer_to_peer else "no",
            ]
            for lk in catalog.links.values()
        ]
        return table(["id", "name", "kind", "GB/s per dir", "latency µs", "P2P"], rows, right={3, 4})
    if kind == "precisions":
        rows = [
            [
                p.id,
                p.name,
                f"{p.bits_per_weight:g}",
                p.compute_dtype,
                ", ".join(x for x, ok in (("weights", p.for_weights), ("kv cache", p.for_kv_cache)) if ok),
            ]
            for p in catalog.precisions.values()
        ]
        return table(["id", "name", "bits", "compute", "for"], rows, right={2})
    if kind == "engines":
        rows = [
            [e.id, e.name, e.version, e.memory_rule, e.max_num_batched_tokens, e.max_num_seqs]
            for e in catalog.engines.values()
        ]
        return table(
            ["id", "name", "version", "memory rule", "batched tokens", "max seqs"], rows, right={4, 5}
        )
    rows = [
        [n.id, n.name, n.gpu or "(empty)", n.slots, n.nvswitch or n.pair_links or n.host_link]
        for n in catalog.nodes.values()
    ]
    return table(["id", "name", "gpu", "slots", "GPU link"], rows, right={3})
