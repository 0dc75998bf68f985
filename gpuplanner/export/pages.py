"""The report's pages in order, as flowing blocks: summary, rig, memory, performance, layer map,
problems and fixes, assumptions and sources."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QRectF

from gpuplanner import __version__
from gpuplanner.core.coverage import coverage_line
from gpuplanner.core.report import PerformanceReport
from gpuplanner.core.verdict import verdict_of
from gpuplanner.drawing import geometry as geo
from gpuplanner.export import charts, curve, decision, layermap, references, sections, sources
from gpuplanner.export.content import Cell, Column, PlanFacts, TableData
from gpuplanner.export.flow import (
    Block,
    Contents,
    FigureGrid,
    Graphic,
    Heading,
    PageBreak,
    Paragraph,
    Spacer,
    Verdict,
)
from gpuplanner.export.rig import SCREEN_DPI, build_rack_scene, link_table, node_areas, scene_painter
from gpuplanner.export.table import TableBlock
from gpuplanner.export.theme import Ink

SECTION_TITLES = (
    "The rig",
    "Memory",
    "Performance",
    "Layer map",
    "Problems and fixes",
    "Assumptions and sources",
)
READABLE_ZOOM = 0.62  # below this the rig's 9-point labels print under 6 points: add one drawing per server
RIG_MAX_HEIGHT_PT = 430.0
SHORT_SECTION_ROWS = 6  # a problems table this short does not start a page of its own


def meta_line(today: date | None = None) -> str:
    """'Exported 23 November 2026 with gpuplanner 0.1.0'."""
    day = today or date.today()
    return f"Exported {day.day} {day:%B %Y} with gpuplanner {__version__}"


def summary(facts: PlanFacts, ink: Ink) -> list[Block]:
    report, plan = facts.report, facts.plan
    blocks: list[Block] = [
        Paragraph("PLAN REPORT", size="small", tone="muted", space_after_pt=2),
        Paragraph(plan.name, size="title", bold=True, space_after_pt=4),
    ]
    if plan.description:
        blocks.append(Paragraph(plan.description, tone="muted", space_after_pt=3))
    blocks += [
        Paragraph(meta_line(), size="small", tone="muted", space_after_pt=12),
        Verdict(report.fits, verdict_of(report).headline, verdict_of(report).level),
        *decision.decision_blocks(facts),
        Spacer(8),
        FigureGrid(sections.summary_figures(facts)),
    ]
    perf = report.performance
    if perf is not None:
        blocks += [
            Heading("Bottleneck", 2),
            Paragraph(perf.bottleneck[:1].upper() + perf.bottleneck[1:] + "."),
        ]
    fixes = layermap.grouped_errors(facts)
    if fixes:
        blocks.append(Heading("What to change", 2))
        for text in fixes[:4]:
            blocks.append(Paragraph(text, bullet=True, space_after_pt=3))
        if len(fixes) > 4:
            blocks.append(Paragraph(f"{len(fixes) - 4} more on the problems page.", tone="muted"))
    blocks += [Heading("In this report", 2), Contents(list(SECTION_TITLES))]
    return blocks


def rig(facts: PlanFacts, ink: Ink, width: float) -> list[Block]:
    plan = facts.plan
    gpus, nodes = len(facts.rig_gpus), len(plan.rig.nodes)
    blocks: list[Block] = [
        PageBreak(),
        Heading("The rig"),
        Paragraph(
            f"{nodes} server{'s' if nodes != 1 else ''} holding {gpus} GPUs ({facts.gpu_counts}). The drawing is the "
            "window's canvas: each card shows its layout role and memory fill; coloured bars and lines are "
            "interconnects, labelled with their kind and bandwidth per direction."
        ),
    ]
    scene = build_rack_scene(plan, facts.report, facts.catalog)
    paint, area = scene_painter(scene)
    height_pt = min(RIG_MAX_HEIGHT_PT, width * area.height() / area.width() / ink.pt(1))
    zoom = min(width / area.width(), ink.pt(height_pt) / area.height()) * SCREEN_DPI / ink.dpi
    if zoom < READABLE_ZOOM and nodes > 1:
        # side by side the servers print too small to read: fewer per row, if that makes them readable
        for per_row in range(min(nodes, 4) - 1, 0, -1):
            spots = geo.arranged([n.slots for n in plan.rig.nodes], per_row=per_row)
            moved = tuple(
                n.model_copy(update={"x": x, "y": y}) for n, (x, y) in zip(plan.rig.nodes, spots, strict=True)
            )
            stacked = plan.model_copy(update={"rig": plan.rig.model_copy(update={"nodes": moved})})
            other = build_rack_scene(stacked, facts.report, facts.catalog)
            other_paint, other_area = scene_painter(other)
            other_h = min(RIG_MAX_HEIGHT_PT, width * other_area.height() / other_area.width() / ink.pt(1))
            other_zoom = (
                min(width / other_area.width(), ink.pt(other_h) / other_area.height()) * SCREEN_DPI / ink.dpi
            )
            if other_zoom >= READABLE_ZOOM:
                scene, paint, area, height_pt, zoom = other, other_paint, other_area, other_h, other_zoom
                break
    blocks.append(Graphic(height_pt, paint))
    if zoom < READABLE_ZOOM and nodes > 1:
        for name, rect in node_areas(scene):
            node_paint, node_area = scene_painter(scene, rect.adjusted(0, -24, 0, 0), one_server=True)
            h = min(RIG_MAX_HEIGHT_PT, width * node_area.height() / node_area.width() / ink.pt(1))
            blocks += [Heading(name, 2), Graphic(h, node_paint)]
    blocks += [Heading("Interconnects", 2), TableBlock(link_table(facts))]
    blocks.append(
        Paragraph(
            "Bandwidth is per GPU (or per network card) and per direction, as the catalog gives it.",
            size="small",
            tone="muted",
        )
    )
    return blocks


def memory(facts: PlanFacts, ink: Ink) -> list[Block]:
    report = facts.report
    rows = len(report.gpus) + (report.host is not None)
    return [
        PageBreak(),
        Heading("Memory"),
        Paragraph(
            f"Where each GPU's memory goes under {report.engine_name}'s rules, in GiB (2³⁰ bytes, as nvidia-smi "
            "counts). The tick on each bar is the engine's budget: what it lets itself use."
        ),
        Graphic(rows * 13.0 + 40.0, charts.memory_chart(report)),
        TableBlock(sections.memory_table(facts)),
        Paragraph(sections.kv_paragraph(facts)),
        *host(facts),
    ]


def host(facts: PlanFacts) -> list[Block]:
    """The host's part when the plan keeps layers or experts in system RAM (llama.cpp, Ollama)."""
    h = facts.report.host
    if h is None:
        return []
    return [
        Heading("System RAM (the host)", 2),
        Paragraph(
            f"{h.host_name} keeps {sections.offloaded_text(h)} in system RAM and reads them once per "
            "output token while the GPUs run the rest; the speed figures on the performance page are the "
            "GPUs' part, this table gives the whole rig."
        ),
        TableBlock(sections.host_table(h)),
        *(Paragraph(a, bullet=True, size="small", tone="muted", space_after_pt=2) for a in h.assumptions),
    ]


def performance(facts: PlanFacts, ink: Ink) -> list[Block]:
    perf = facts.report.performance
    blocks: list[Block] = [PageBreak(), Heading("Performance")]
    if perf is None:
        why = (
            "the plan does not fit, so the engine would not start"
            if not facts.report.fits
            else "no estimate is available"
        )
        return [
            *blocks,
            Paragraph(f"Speed is not estimated: {why}. Fix the problems listed later and export again."),
        ]
    blocks += [
        Paragraph(
            f"At {perf.concurrency} concurrent requests of {perf.input_tokens:,} input and {perf.output_tokens:,} output "
            "tokens. Low and high are the model's uncertainty band."
        ),
        TableBlock(sections.speed_table(perf)),
    ]
    if coverage_line(perf):  # what the speeds rest on, and where they extrapolate (core/coverage.py)
        blocks.append(Paragraph(coverage_line(perf) + ".", tone="muted"))
    if perf.curve:
        blocks += [Heading("Throughput against concurrency", 2), Graphic(175, curve.throughput_chart(perf))]
    if perf.step_split:
        blocks += [
            Heading("One decode step", 2),
            Paragraph(
                "Where one decode step's time goes on each GPU, in milliseconds." + step_note(perf),
                tone="muted",
            ),
            Graphic(charts.step_rows(perf) * 13.0 + 40.0, charts.step_chart(perf)),
        ]
    blocks += [Heading("Bottleneck", 2), Paragraph(f"Decode: {perf.bottleneck}.")]
    if perf.prefill_bottleneck:
        blocks.append(Paragraph(f"Prefill: {perf.prefill_bottleneck}."))
    if perf.links:
        blocks += [Heading("Traffic per link", 2), TableBlock(sections.link_table(perf, facts))]
    if perf.curve:
        blocks += [Heading("Throughput at each concurrency", 2), TableBlock(sections.curve_table(perf))]
    return blocks


def layer_map(facts: PlanFacts, ink: Ink) -> list[Block]:
    report, layout = facts.report, facts.plan.layout
    num_layers = max((g.layers[1] for g in report.gpus), default=0)
    return [
        PageBreak(),
        Heading("Layer map"),
        Paragraph(
            f"{report.model_name}'s {num_layers} layers over {layout.pp} pipeline stage{'s' if layout.pp != 1 else ''}"
            f" of {layout.tp} tensor-parallel GPU{'s' if layout.tp != 1 else ''}"
            + (f", {layout.dp} replicas" if layout.dp > 1 else "")
            + (f", experts spread over {layout.ep} GPUs" if layout.ep > 1 else "")
            + "."
        ),
        Graphic(charts.layer_map_rows(report) * 24.0 + 18.0, charts.layer_map(report, num_layers)),
        Heading("Stages and tensor-parallel groups", 2),
        TableBlock(layermap.stage_table(facts)),
        Heading("GPUs", 2),
        TableBlock(layermap.layer_table(facts)),
    ]


def problems(facts: PlanFacts, ink: Ink) -> list[Block]:
    # a short section follows the layer map on its page: a page of its own would hold one sentence
    short = len(facts.report.problems) <= SHORT_SECTION_ROWS
    blocks: list[Block] = [*([] if short else [PageBreak()]), Heading("Problems and fixes")]
    if not facts.report.problems:
        return [*blocks, Paragraph("No problems: every GPU's memory fits within the engine's budget.")]
    return [*blocks, TableBlock(layermap.problem_table(facts))]


def assumptions(facts: PlanFacts, ink: Ink) -> list[Block]:
    blocks: list[Block] = [
        PageBreak(),
        Heading("Assumptions and sources"),
        Paragraph("What the estimate takes as given, and where every catalog figure it uses comes from."),
        Heading("Engine rules", 2),
        TableBlock(sources.engine_rules_table(facts)),
    ]
    notes = sources.engine_notes(facts)
    if notes:
        blocks.append(Paragraph(notes, size="small", tone="muted"))
    model_notes = sources.model_assumptions(facts)
    if model_notes:
        blocks.append(Heading("Performance model", 2))
        blocks += [Paragraph(note, bullet=True, space_after_pt=3) for note in model_notes]
    blocks += [
        Heading("Efficiency factors", 2),
        Paragraph(
            "Achievable fractions of datasheet peaks, fitted on published measurements (catalogs/calibration.toml).",
            size="small",
            tone="muted",
        ),
        TableBlock(sources.efficiency_table(facts)),
        Heading("Catalog figures used", 2),
        TableBlock(sources.catalog_entries(facts)),
        Heading("References", 2),
        TableBlock(_reference_table(facts)),
    ]
    return blocks


def _reference_table(facts: PlanFacts) -> TableData:
    rows: list[list[Cell | str]] = [
        [Cell(ref.key, "strong"), ref.title + (f"\n{ref.url}" if ref.url else "")]
        for ref in references.references(facts)
    ]
    return TableData.build([Column("Key", 1.2), Column("Source", 8)], rows)


def all_blocks(facts: PlanFacts, ink: Ink, content: QRectF) -> list[Block]:
    width = content.width()
    return [
        *summary(facts, ink),
        *rig(facts, ink, width),
        *memory(facts, ink),
        *performance(facts, ink),
        *layer_map(facts, ink),
        *problems(facts, ink),
        *assumptions(facts, ink),
    ]


def step_note(perf: PerformanceReport) -> str:
    """Why TPOT can be longer than the decode step drawn (prompt chunks prefilled between steps), and
    what 'waiting' is on a plan without a pipeline (scheduling, not a bubble)."""
    steps = [s.compute_s + s.memory_s + s.communication_s + s.waiting_s for s in perf.step_split]
    note = ""
    if steps and perf.tpot_s > 1.05 * max(steps):
        note += (
            f" TPOT ({perf.tpot_s * 1e3:,.1f} ms) is longer than these steps: the prompt chunks of newly"
            " arrived requests are prefilled between decode steps, and every user waits for them too."
        )
    note += " Waiting is a pipeline bubble or the engine's scheduling between steps."
    return note
