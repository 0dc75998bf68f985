"""The figures and tables of the summary, memory, performance, layer-map and problems pages. Qt-free."""

from __future__ import annotations

from gpuplanner.core.errors import CatalogError
from gpuplanner.core.plan import Plan
from gpuplanner.core.report import HostReport, PerformanceReport
from gpuplanner.core.units import gib
from gpuplanner.export import formats as fmt
from gpuplanner.export.content import Cell, Column, Figure, PlanFacts, TableData, short_gpu_name

NOT_ESTIMATED = "not estimated"


def summary_figures(facts: PlanFacts) -> list[Figure]:
    """The key figures, in reading order (three per row on the page)."""
    report, plan = facts.report, facts.plan
    perf = report.performance
    kv = report.kv_cache
    nodes = len(plan.rig.nodes)
    idle = f" · {len(facts.idle_gpus)} idle" if facts.idle_gpus else ""
    params = fmt.params_b(report.total_params)
    if report.active_params and report.active_params < report.total_params * 0.9:
        params += f" ({fmt.params_b(report.active_params)} active, embedding table excluded)"
    figures = [
        Figure(
            "GPUs",
            facts.gpu_counts,
            f"{gib(facts.total_memory_bytes, 1)} in total · {nodes} server{'s' if nodes != 1 else ''}{idle}",
        ),
        Figure("Model", report.model_name, f"{params} parameters · {report.model}"),
        Figure(
            "Weights / KV cache",
            f"{facts.precision_name(report.weights)} / {facts.precision_name(report.kv_cache_precision)}",
            precision_context(facts, report.weights, report.kv_cache_precision),
        ),
        Figure("Engine", report.engine_name, facts.layout_text),
        Figure("Workload", *workload_figure(plan, perf)),
    ]
    host = report.host
    if perf is not None and host is not None and host.tpot_s and host.ttft_s:
        # layers or experts in system RAM: the whole rig's speed, GPUs and host together
        figures += [
            Figure("Time to first token", fmt.ttft(host.ttft_s), f"GPUs {fmt.ttft(perf.ttft_s)} + host"),
            Figure(
                "Time per output token",
                fmt.tpot(host.tpot_s),
                f"host reads {fmt.tpot(host.host_s_per_token)} of it "
                f"(range {fmt.band(fmt.tpot(host.host_s_per_token_high), fmt.tpot(host.host_s_per_token_low))})",
            ),
            Figure(
                "Speed per user",
                fmt.per_user(host.tokens_per_s_per_user or 0),
                f"with the host · the GPUs alone {fmt.per_user(perf.tokens_per_s_per_user)}",
            ),
            Figure(
                "Total throughput",
                fmt.total_rate(host.output_tokens_per_s or 0),
                "output, with the host",
            ),
        ]
    elif perf is not None:
        figures += [
            Figure(
                "Time to first token",
                fmt.ttft(perf.ttft_s),
                # low to high, whichever bound the slow and fast estimates give
                "range "
                + fmt.band(
                    fmt.ttft(min(perf.low.ttft_s, perf.high.ttft_s)),
                    fmt.ttft(max(perf.low.ttft_s, perf.high.ttft_s)),
                ),
            ),
            Figure(
                "Time per output token",
                fmt.tpot(perf.tpot_s),
                f"range {fmt.band(fmt.tpot(perf.high.tpot_s), fmt.tpot(perf.low.tpot_s))}",
            ),
            Figure(
                "Speed per user", fmt.per_user(perf.tokens_per_s_per_user), "output tokens each user sees"
            ),
            Figure(
                "Total throughput",
                fmt.total_rate(perf.output_tokens_per_s),
                f"output · prefill {fmt.total_rate(perf.prefill_tokens_per_s)}",
            ),
        ]
    else:
        reason = "the plan does not fit" if not report.fits else "no performance estimate"
        figures += [
            Figure(label, fmt.DASH, reason, "muted")
            for label in (
                "Time to first token",
                "Time per output token",
                "Speed per user",
                "Total throughput",
            )
        ]
    if report.host is not None:
        figures += host_figures(report.host)
    figures += [
        Figure(
            "KV cache capacity",
            f"{fmt.count(kv.capacity_tokens)} tokens",
            f"per replica · {fmt.data_size(kv.bytes_per_token)} per token",
        ),
        Figure(
            "Max concurrency",
            f"{fmt.count(kv.max_concurrency)} requests",
            f"of {fmt.count(kv.context_tokens)} tokens each",
        ),
    ]
    return figures


def memory_table(facts: PlanFacts) -> TableData:
    """Every GPU's ledger in GiB; 'free' is red when the GPU is over its budget."""
    columns = [
        Column("GPU", 1.1),
        Column("Model", 1.9),
        Column("Total", 1, "right"),
        Column("Budget", 1, "right"),
        Column("Weights", 1, "right"),
        Column("KV cache", 1, "right"),
        Column("Activ.", 1, "right"),
        Column("Comm.", 0.9, "right"),
        Column("Runtime", 1, "right"),
        Column("Free", 1, "right"),
    ]
    rows: list[list[Cell | str]] = []
    for g in facts.report.gpus:
        m = g.memory_bytes
        free_tone = "bad" if m.free < 0 else "warn" if m.free < 0.02 * g.capacity_bytes else ""
        rows.append(
            [
                Cell(g.id, "strong"),
                short_gpu_name(g.gpu_name),
                gib(g.capacity_bytes, unit=False),
                gib(g.budget_bytes, unit=False),
                gib(m.weights, unit=False),
                gib(m.kv_cache, unit=False),
                gib(m.activations, unit=False),
                gib(m.communication, unit=False),
                gib(m.runtime, unit=False),
                Cell(gib(m.free, unit=False), free_tone),
            ]
        )
    return TableData.build(columns, rows)


def kv_paragraph(facts: PlanFacts) -> str:
    kv = facts.report.kv_cache
    if kv.capacity_tokens <= 0:
        return (
            f"The KV cache takes {fmt.data_size(kv.bytes_per_token)} per token for the whole model, and no memory "
            "is left for it: the engine would not start. The problems page says what to change."
        )
    stranded = sum(g.stranded_bytes for g in facts.report.gpus)
    text = (
        f"The KV cache takes {fmt.data_size(kv.bytes_per_token)} per token for the whole model. One replica holds "
        f"{fmt.count(kv.capacity_tokens)} tokens: up to {fmt.count(kv.max_concurrency)} concurrent requests of "
        f"{fmt.count(kv.context_tokens)} tokens (input + output). At the plan's concurrency the longest context "
        f"that fits is {fmt.count(kv.max_context_at_concurrency)} tokens."
    )
    if stranded >= 0.005 * fmt.GIB:
        text += (
            f" {gib(stranded, 2)} of KV memory stays unused because every GPU gets the smallest "
            "GPU's block count."
        )
    return text


def offloaded_text(h: HostReport) -> str:
    """'layers 0–11 and the routed experts'."""
    parts = []
    if h.offloaded_layers:
        parts.append(f"layers {fmt.band(str(h.offloaded_layers[0]), str(h.offloaded_layers[-1]))}")
    if h.offloaded_experts:
        parts.append("the routed experts of the GPU layers")
    elif h.offloaded_expert_layers:
        parts.append(f"the routed experts of layers 0 – {h.offloaded_expert_layers - 1}")
    return " and ".join(parts)


def host_figures(h: HostReport) -> list[Figure]:
    """The summary's host figure: what system RAM holds (the speed figures above include the host)."""
    ram = f"of {gib(h.ram_bytes, 0)}" if h.ram_bytes else "(RAM not given)"
    tone = "bad" if h.ram_bytes and h.memory_bytes > h.ram_bytes else ""
    return [Figure("System RAM", f"{gib(h.memory_bytes, 1)} {ram}", f"{offloaded_text(h)} · {h.host}", tone)]


def host_table(h: HostReport) -> TableData:
    """The host's part: platform, what lives in its RAM, and what reading it costs per token."""
    columns = [Column("", 2.0), Column("Value", 3.2), Column("Detail", 3.0)]
    over = h.ram_bytes and h.memory_bytes > h.ram_bytes
    rows: list[list[Cell | str]] = [
        [Cell("Platform", "strong"), h.host_name, f"{h.bandwidth_gbps:g} GB/s theoretical DRAM bandwidth"],
        [Cell("In system RAM", "strong"), offloaded_text(h), ""],
        [
            Cell("RAM used", "strong"),
            Cell(gib(h.memory_bytes, 2), "bad" if over else ""),
            f"weights {gib(h.weights_bytes, 2)} · KV cache {gib(h.kv_cache_bytes, 2)}"
            + (f" · installed {gib(h.ram_bytes, 0)}" if h.ram_bytes else ""),
        ],
        [
            Cell("Read per token", "strong"),
            fmt.data_size(h.bytes_per_token),
            f"{fmt.tpot(h.host_s_per_token)} "
            f"(range {fmt.band(fmt.tpot(h.host_s_per_token_high), fmt.tpot(h.host_s_per_token_low))})",
        ],
        [
            Cell("Prompt copies over PCIe", "strong"),
            fmt.ttft(h.prefill_copy_s),
            "host weights to the GPU per chunk",
        ],
    ]
    if h.tpot_s and h.ttft_s:
        rows.append(
            [
                Cell("Whole rig", "strong"),
                f"TTFT {fmt.ttft(h.ttft_s)} · TPOT {fmt.tpot(h.tpot_s)}",
                fmt.per_user(h.tokens_per_s_per_user or 0),
            ]
        )
    return TableData.build(columns, rows)


def speed_table(perf: PerformanceReport) -> TableData:
    columns = [
        Column("", 1.2),
        Column("TTFT", 1, "right"),
        Column("TPOT", 1, "right"),
        Column("Per user", 1.2, "right"),
        Column("Total output", 1.3, "right"),
        Column("Prefill", 1.3, "right"),
    ]
    rows: list[list[Cell | str]] = []
    for label, s in (("Estimate", perf), ("Low", perf.low), ("High", perf.high)):
        rows.append(
            [
                Cell(label, "strong" if label == "Estimate" else "muted"),
                fmt.ttft(s.ttft_s),
                fmt.tpot(s.tpot_s),
                fmt.per_user(s.tokens_per_s_per_user),
                fmt.total_rate(s.output_tokens_per_s),
                fmt.total_rate(s.prefill_tokens_per_s),
            ]
        )
    return TableData.build(columns, rows)


def curve_table(perf: PerformanceReport) -> TableData:
    columns = [
        Column("Concurrent requests", 1.3, "right"),
        Column("Total output", 1.2, "right"),
        Column("Low – high", 1.8, "right"),
        Column("Per user", 1.1, "right"),
    ]
    rows: list[list[Cell | str]] = []
    for p in perf.curve:
        tone = "strong" if p.concurrency == perf.concurrency else ""
        rows.append(
            [
                Cell(fmt.count(p.concurrency), tone),
                Cell(fmt.total_rate(p.output_tokens_per_s), tone),
                fmt.band(f"{p.low_output_tokens_per_s:,.0f}", f"{p.high_output_tokens_per_s:,.0f}"),
                fmt.per_user(p.tokens_per_s_per_user),
            ]
        )
    return TableData.build(columns, rows)


def link_table(perf: PerformanceReport, facts: PlanFacts) -> TableData:
    columns = [
        Column("Link", 1.7),
        Column("Kind", 1.5),
        Column("Carries", 1.2),
        Column("GPUs", 2.2),
        Column("Per token", 1, "right"),
        Column("Bandwidth used", 1.1, "right"),
    ]
    rows: list[list[Cell | str]] = []
    for t in perf.links:
        tone = "bad" if t.share_of_bandwidth > 0.9 else "warn" if t.share_of_bandwidth > 0.6 else ""
        rows.append(
            [
                Cell(t.name, "strong"),
                facts.link_name(t.link),
                t.purpose,
                gpu_list(t.gpus),
                fmt.data_size(t.bytes_per_token),
                Cell(fmt.percent(t.share_of_bandwidth), tone),
            ]
        )
    return TableData.build(columns, rows)


def gpu_list(ids: tuple[str, ...] | list[str]) -> str:
    return ", ".join(ids)


def workload_figure(plan: Plan, perf: PerformanceReport | None) -> tuple[str, str]:
    """The concurrency the plan asks for (what the person typed), and how many run at once when the KV
    cache or the engine holds fewer."""
    workload = plan.workload
    asked = workload.concurrency
    tokens = f"{fmt.count(workload.input_tokens)} tokens in · {fmt.count(workload.output_tokens)} tokens out"
    if asked == "max":
        running = perf.concurrency if perf else None
        value = "As many as fit" + (f" ({fmt.count(running)} at once)" if running else "")
        return value, tokens
    value = f"{fmt.count(asked)} concurrent request{'s' if asked != 1 else ''}"
    if perf is not None and perf.concurrency < asked:
        tokens = f"{fmt.count(perf.concurrency)} run at once, the rest queue · " + tokens
    return value, tokens


def precision_context(facts: PlanFacts, weights: str, kv: str) -> str:
    """The formats' storage cost in words ('16 bits per weight · 16-bit KV cache'): the tile's value
    already names them, so the line under it says what they cost instead of repeating the ids."""
    try:
        w, k = facts.catalog.precision(weights), facts.catalog.precision(kv)
    except CatalogError:
        return f"{weights} / {kv}"
    return f"{w.bits_per_weight:g} bits per weight · {k.bits_per_weight:g}-bit KV cache"
