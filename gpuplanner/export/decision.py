"""The PDF's opening: the decision. What to buy, how to launch it, the speed at the plan's target, the cost
of a million tokens, power, risks and headroom, before the details that follow."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainter

from gpuplanner.core.decision import Decision, decide
from gpuplanner.core.errors import PlannerError
from gpuplanner.core.launch import launches, render
from gpuplanner.core.verdict import plural
from gpuplanner.export.content import Cell, Column, PlanFacts, TableData
from gpuplanner.export.flow import Block, Heading, Paragraph
from gpuplanner.export.table import TableBlock
from gpuplanner.export.theme import INK, MONO_FAMILY, STRIPE, Ink

CODE_SIZE_PT = 6.6
MAX_CODE_LINES = 40


@dataclass
class CodeBlock(Block):
    """Monospaced lines on a light panel (a launch command), cut where a page ends."""

    lines: list[str]

    def _font(self, ink: Ink):  # type: ignore[no-untyped-def]
        from PySide6.QtGui import QFont, QFontMetricsF

        font = QFont(MONO_FAMILY)
        font.setPointSizeF(CODE_SIZE_PT)
        return font, QFontMetricsF(font, ink.device)

    def _step(self, ink: Ink) -> float:
        return self._font(ink)[1].height() * 1.12

    def height(self, ink: Ink, width: float) -> float:
        return len(self.lines) * self._step(ink) + ink.pt(10)

    def split(self, ink: Ink, width: float, available: float) -> tuple[Block | None, Block] | None:
        fit = int((available - ink.pt(10)) // self._step(ink))
        if fit < 3 or fit >= len(self.lines):
            return None
        return CodeBlock(self.lines[:fit]), CodeBlock(self.lines[fit:])

    def draw(self, ink: Ink, painter: QPainter, x: float, y: float, width: float) -> None:
        font, metrics = self._font(ink)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(STRIPE)
        painter.drawRect(QRectF(x, y, width, self.height(ink, width) - ink.pt(4)))
        painter.setFont(font)
        painter.setPen(INK)
        step = self._step(ink)
        baseline = y + ink.pt(3) + metrics.ascent()
        for line in self.lines:
            painter.drawText(QPointF(x + ink.pt(5), baseline), metrics.elidedText(
                line, Qt.TextElideMode.ElideRight, width - ink.pt(10)))
            baseline += step


def _money(value: float | None, digits: int = 2) -> str:
    return f"${value:,.{digits}f}" if value is not None else "unknown"


def decision_rows(facts: PlanFacts, d: Decision) -> list[list[Cell | str]]:
    report = facts.report
    rows: list[list[Cell | str]] = [[Cell("Buy", "strong"), "\n".join(d.buy_lines()) or "—"]]
    launch = d.launch
    if launch.runnable:
        first = launch.steps[-1] if launch.steps else None
        how = f"{launch.engine_name} {launch.version} on {plural(launch.nodes, 'server')}"
        if first is not None:
            how += f": {' '.join(first.argv[:2])} … ({plural(len(launch.steps), 'command')} below)"
    else:
        how = f"{launch.engine_name} cannot run it as drawn: {launch.reason}. Closest: {launch.closest}"
    rows.append([Cell("Launch", "strong"), how])
    others = [la for la in launches(facts.plan, facts.catalog)[1:] if la.runnable]
    if others:
        rows.append([Cell("Also runs on", "strong"), ", ".join(la.engine_name for la in others)
                     + " (gpuplanner launch PLAN --engine all)"])
    rig = report.rig_speed()
    if rig is not None:
        speed = (f"{rig.concurrency:,} users: {rig.output_tokens_per_s:,.1f} tokens/s, "
                 f"{rig.tokens_per_s_per_user:,.1f} tokens/s each, TTFT {rig.ttft_s * 1000:,.0f} ms, "
                 f"TPOT {rig.tpot_s * 1000:,.1f} ms")
        if rig.with_host:
            speed += " (GPUs and system RAM together)"
        if d.slo.active:
            speed += ". " + d.slo.sentence()
    else:
        speed = "no speed estimate (see the problems)"
    rows.append([Cell("Speed at target", "strong"), speed])
    c = d.cost
    cost = f"{_money(c.usd_per_million_output_tokens)} per million output tokens"
    if c.usd_per_hour is not None:
        cost += f" ({_money(c.usd_per_hour)}/hour, {c.basis})"
    if c.capex_usd is not None:
        cost += f"; capex {_money(c.capex_usd, 0)}"
        if c.unpriced:
            cost += f" without {', '.join(c.unpriced)}"
    if c.usd_per_hour is None:
        cost += "; enter prices in the window's price list (Launch panel)"
    rows.append([Cell("Cost", "strong"), cost])
    p = d.power
    psu = ", ".join(f"{s.node} ≥ {s.psu_w:,} W" for s in p.servers)
    energy = (f"; {c.joules_per_output_token:,.2f} J per output token "
              f"({c.kwh_per_million_output_tokens:,.2f} kWh per million)" if c.joules_per_output_token else "")
    rows.append([Cell("Power", "strong"),
                 f"{p.total:,.0f} W loaded (GPUs {p.gpus:,.0f} W + platform {p.platform:,.0f} W), about "
                 f"{p.idle:,.0f} W idle; power supplies {psu}{energy}"])
    if d.min_free_gib is not None:
        tone = "bad" if d.min_free_gib < 0 else ""
        rows.append([Cell("Headroom", "strong"),
                     Cell(f"{d.min_free_gib:,.1f} GiB per GPU unused (the least free of any GPU)", tone)])
    rows.append([Cell("Risks", "strong"), Cell("\n".join(f"• {r}" for r in d.risks[:6]) or "none found",
                                               "warn" if d.risks else "")])
    return rows


def decision_blocks(facts: PlanFacts, decision: Decision | None = None) -> list[Block]:
    """The decision table and the launch command, for the first page."""
    try:
        ttft, tpot = facts.slo_targets
        d = decision or decide(facts.plan, facts.report, catalog=facts.catalog, ttft_ms=ttft, tpot_ms=tpot)
    except PlannerError as e:  # e.g. a catalog the price list does not know: the rest of the PDF stands
        return [Paragraph(f"No decision summary: {e.message}", tone="muted")]
    blocks: list[Block] = [
        Heading("The decision", 2),
        TableBlock(TableData.build([Column("", 1.3), Column("", 8)], decision_rows(facts, d))),
    ]
    if d.launch.runnable:
        text = render(d.launch, "shell")
        lines = [line for line in text.splitlines() if not line.startswith("#!")]
        if len(lines) > MAX_CODE_LINES:
            lines = [*lines[:MAX_CODE_LINES], "… (the whole script: gpuplanner launch PLAN)"]
        blocks += [Heading(f"How to launch ({d.launch.engine_name})", 2), CodeBlock(lines)]
    return blocks
