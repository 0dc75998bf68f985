"""The assumptions-and-sources pages: engine rules, efficiency factors, and where every catalog figure
the plan uses comes from, so a reader can check them. Qt-free."""

from __future__ import annotations

from gpuplanner.core.calibration import calibration
from gpuplanner.core.efficiency import assumption_notes, gemm_class, gpu_family, memory_class
from gpuplanner.core.host import load_hosts
from gpuplanner.core.specs import GpuSpec
from gpuplanner.export.content import Cell, Column, PlanFacts, TableData

# Engine-profile figures worth stating, with their units (those the catalog's schema has).
_PROFILE_FIGURES = (
    ("cuda_context_gib", "CUDA context per GPU", " GiB"),
    ("cuda_graphs_gib", "CUDA graphs per GPU", " GiB"),
    ("allocator_reserve_gib", "Allocator reserve per GPU", " GiB"),
    ("nccl_buffer_gib_per_peer", "NCCL buffers per peer", " GiB"),
    ("activation_bytes_per_token_hidden", "Activation bytes per token per hidden unit", ""),
    ("step_overhead_us", "Scheduler and launch cost per step", " µs"),
    ("layer_overhead_us", "Launch cost per layer per step", " µs"),
    ("uniform_kv_blocks", "Every GPU gets the smallest GPU's KV block count", ""),
)


def engine_rules_table(facts: PlanFacts) -> TableData:
    """The engine's memory and batching rules as they apply to this plan (plan setting or default)."""
    engine = facts.catalog.engines.get(facts.report.engine)
    resolved = facts.resolved
    chosen = facts.plan.engine
    rows: list[list[Cell | str]] = []

    def origin(value: object) -> Cell:
        return Cell("plan" if value is not None else "engine default", "muted")

    if resolved is not None:
        s = resolved.settings
        if engine is None or engine.memory_rule in ("vllm", "sglang"):
            rows.append(
                [
                    "GPU memory utilization",
                    f"{s.gpu_memory_utilization:.2f}",
                    origin(chosen.gpu_memory_utilization),
                ]
            )
        if engine is not None and engine.memory_rule == "trtllm":
            rows.append(
                [
                    "KV cache share of free memory",
                    f"{s.kv_cache_free_fraction:.2f}",
                    origin(chosen.kv_cache_free_fraction),
                ]
            )
        rows += [
            [
                "Batched tokens per step",
                f"{s.max_num_batched_tokens:,}",
                origin(chosen.max_num_batched_tokens),
            ],
            ["Sequences per step (max)", f"{s.max_num_seqs:,}", origin(chosen.max_num_seqs)],
            ["Context limit", f"{s.max_model_len:,} tokens", origin(chosen.max_model_len)],
            ["KV block", f"{s.kv_block_tokens} tokens", Cell("engine", "muted")],
            [
                "CUDA graphs",
                "off (eager)" if s.enforce_eager else "on",
                Cell("plan" if chosen.enforce_eager else "engine default", "muted"),
            ],
        ]
    if engine is not None:
        rows.append(["Memory rule", engine.memory_rule, Cell(f"{engine.name} {engine.version}", "muted")])
        fields = type(engine).model_fields
        for name, label, unit in _PROFILE_FIGURES:
            if name in fields:
                value = getattr(engine, name)
                if name.endswith("_overhead_us") and not value:
                    continue  # 0 here: the speed model's calibrated launch cost applies (performance model)
                text = ("yes" if value else "no") if isinstance(value, bool) else f"{value:g}{unit}"
                rows.append([label, text, Cell("engine profile", "muted")])
    return TableData.build([Column("Rule", 3), Column("Value", 1.6), Column("From", 1.6)], rows)


def engine_notes(facts: PlanFacts) -> str:
    engine = facts.catalog.engines.get(facts.report.engine)
    return engine.notes if engine is not None else ""


def _factors(facts: PlanFacts) -> list[tuple[str, str, str, tuple[str, ...] | str]]:
    """(factor, applies to, value, measurement rows or a note) for every efficiency the estimate uses."""
    cal = calibration()
    out: list[tuple[str, str, str, tuple[str, ...] | str]] = []
    families: dict[str, GpuSpec] = {}
    for _, ref, _ in facts.rig_gpus:
        spec = facts.gpu_spec(ref)
        if spec is not None:
            families.setdefault(gpu_family(spec), spec)
    for family, spec in families.items():
        mem, gemm = memory_class(spec), gemm_class(spec)
        out.append(
            (
                f"Memory bandwidth ({family})",
                spec.name,
                f"{mem.efficiency:.0%} of peak ± {mem.spread:.0%}",
                mem.rows,
            )
        )
        out.append(
            (
                f"Tensor throughput ({family})",
                spec.name,
                f"up to {gemm.peak_fraction:.0%} of peak ± {gemm.spread:.0%}",
                gemm.rows,
            )
        )
    out.append(
        (
            "Decode attention",
            "KV-cache reads",
            f"{cal.efficiency.attention_efficiency:.0%} of streaming",
            cal.efficiency.attention_rows,
        )
    )
    col = cal.collectives
    links = [spec for ref in _link_ids(facts) if (spec := facts.link_spec(ref)) is not None]
    for spec in links:
        override = col.link.get(spec.id) or col.kind.get(spec.kind)
        if override is not None and override.bus_efficiency is not None:
            out.append(
                (
                    f"Collective bus efficiency ({spec.kind})",
                    spec.name,
                    f"{override.bus_efficiency:.0%}",
                    override.rows,
                )
            )
        else:
            out.append(
                (
                    f"Collective bus efficiency ({spec.kind})",
                    spec.name,
                    f"{spec.bus_efficiency:.0%}",
                    "catalog figure: " + (", ".join(spec.sources) or "no source"),
                )
            )
    if any(spec.id in col.nvls_links for spec in links):
        out.append(
            (
                "NVLink SHARP all-reduce",
                f"groups of {col.nvls_min_ranks} GPUs or more",
                f"{col.nvls_efficiency:.0%}",
                col.nvls_rows,
            )
        )
    out.append(
        ("GPU-to-GPU copy (pipeline)", "peer-to-peer links", f"{col.p2p_efficiency:.0%}", col.p2p_rows)
    )
    if any(not spec.peer_to_peer for spec in links):
        out.append(
            (
                "Copies staged through host memory",
                "links without peer-to-peer",
                f"{col.host_staged_factor:.0%}",
                col.host_staged_rows,
            )
        )
    out.append(("Collective time curve", "all links", f"band ± {col.spread:.0%}", col.rows))
    return out


def efficiency_table(facts: PlanFacts) -> TableData:
    """Calibrated (or assumed) achievable fractions of peak that the speed estimate uses."""
    rows: list[list[Cell | str]] = []
    for factor, applies, value, rows_or_note in _factors(facts):
        if isinstance(rows_or_note, str):
            evidence = Cell(rows_or_note, "muted")
        else:
            evidence = Cell(", ".join(rows_or_note)) if rows_or_note else Cell("none: an assumption", "warn")
        rows.append([factor, applies, value, evidence])
    columns = [
        Column("Factor", 2.4),
        Column("Applies to", 2.2),
        Column("Value", 1.7),
        Column("Measurement rows", 2.6),
    ]
    return TableData.build(columns, rows)


def calibration_rows(facts: PlanFacts) -> list[str]:
    """The measurement rows behind the efficiency factors."""
    return [row for *_, rows in _factors(facts) if not isinstance(rows, str) for row in rows]


def model_assumptions(facts: PlanFacts) -> list[str]:
    """The performance model's stated assumptions, plus the GPU families whose efficiency is assumed."""
    notes = list(facts.report.performance.assumptions) if facts.report.performance else []
    seen = set()
    for _, ref, _ in facts.rig_gpus:
        spec = facts.gpu_spec(ref)
        if spec is not None and spec.id not in seen:
            seen.add(spec.id)
            notes += assumption_notes(spec)
    return notes


def _link_ids(facts: PlanFacts) -> list[str]:
    """Every link id the rig uses: explicit links, each server's PCIe path, NVSwitch and NICs, the fabric."""
    rig = facts.plan.rig
    ids: list[str] = [link.kind for link in rig.links]
    for node in rig.nodes:
        ids += [ref for ref in (node.nvswitch, node.host_link, node.nic) if ref]
    if len(rig.nodes) > 1 and rig.fabric:
        ids.append(rig.fabric)
    resolved = [spec.id if (spec := facts.link_spec(ref)) else ref for ref in ids]
    return list(dict.fromkeys(resolved))


def _entries(facts: PlanFacts) -> list[tuple[str, str, tuple[str, ...]]]:
    """(entry, figures the plan takes from it, source keys) for every catalog entry the plan uses."""
    cat, report = facts.catalog, facts.report
    out: list[tuple[str, str, tuple[str, ...]]] = []
    for ref in dict.fromkeys(gpu for _, gpu, _ in facts.rig_gpus):
        g = facts.gpu_spec(ref)
        if g is None:
            out.append((f"GPU: {ref}", "not in the catalog", ()))
            continue
        peak = g.bf16_tflops or g.fp16_tflops or 0
        figures = (
            f"{g.memory_gb:g} GB {g.memory_type} ({g.memory_gib_usable:g} GiB usable), "
            f"{g.hbm_bandwidth_gbps:,.0f} GB/s, {peak:,.0f} TFLOPS BF16 dense"
            + (f", {g.fp8_tflops:,.0f} FP8" if g.fp8_tflops else "")
        )
        out.append((f"GPU: {g.name}", figures, g.sources))
    for ref in _link_ids(facts):
        spec = facts.link_spec(ref)
        if spec is not None:
            figures = (
                f"{spec.bandwidth_gbps_per_direction:g} GB/s per direction, {spec.latency_us:g} µs latency"
            )
            out.append((f"Link: {spec.name}", figures, spec.sources))
    model = facts.plan.model_spec or cat.models.get(report.model)
    if model is not None:
        figures = (
            f"{model.num_layers} layers, hidden {model.hidden_size:,}, {model.num_attention_heads} heads "
            f"({model.num_kv_heads} KV), vocabulary {model.vocab_size:,}"
        )
        out.append((f"Model: {model.name}", figures, model.sources))
    for ref in dict.fromkeys((report.weights, report.kv_cache_precision)):
        p = cat.precisions.get(ref)
        if p is not None:
            out.append(
                (
                    f"Precision: {p.name}",
                    f"{p.bits_per_weight:g} bits per element, computes in {p.compute_dtype}",
                    p.sources,
                )
            )
    engine = cat.engines.get(report.engine)
    if engine is not None:
        out.append(
            (
                f"Engine: {engine.name} {engine.version}",
                f"memory rule and defaults above, read from {engine.rules_from}"
                if engine.rules_from
                else "memory rule and defaults above",
                engine.sources,
            )
        )
    host = report.host
    if host is not None:
        spec = load_hosts().get(host.host)
        if spec is not None:
            figures = f"{spec.channels} × {spec.memory_type}: {spec.bandwidth_gbps:g} GB/s"
            if spec.max_memory_gib:
                figures += f", up to {spec.max_memory_gib:g} GiB"
            out.append((f"Host: {spec.name}", figures, spec.sources))
    for ref in dict.fromkeys(node.template for node in facts.plan.rig.nodes if node.template):
        template = cat.nodes.get(ref)
        if template is not None:
            out.append((f"Server: {template.name}", f"{template.slots} slots", template.sources))
    return out


def catalog_entry_keys(facts: PlanFacts) -> list[str]:
    """The source keys of every catalog entry the plan uses."""
    return [key for _, _, keys in _entries(facts) for key in keys]


def catalog_entries(facts: PlanFacts) -> TableData:
    """Every catalog entry the plan uses, the figures taken from it and its source keys."""
    rows: list[list[Cell | str]] = [
        [Cell(entry, "strong"), figures, ", ".join(keys) or Cell("none given", "muted")]
        for entry, figures, keys in _entries(facts)
    ]
    return TableData.build(
        [Column("Catalog entry", 2.3), Column("Figures used", 3.6), Column("Sources", 1.6)], rows
    )
