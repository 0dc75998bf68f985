"""StepTimeChart: where one decode step's time goes on each GPU (compute, memory, communication, waiting).

A pipeline bubble shows as a tall grey "waiting" segment, a slow link as a tall communication one: seen,
not read. Same GPU order as the memory chart; hover shows the exact times; a click selects the GPU.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtWidgets import QApplication, QLabel, QSizePolicy, QWidget

from gpuplanner.core.budget import stack_fields
from gpuplanner.core.report import LinkTraffic, Report, StepSplit
from gpuplanner.gui.panel.bars import GROUP_ABOVE, StackedBars, group_alike, group_label, group_note
from gpuplanner.gui.panel.style import (
    STEP_PARTS,
    ChartColours,
    HeldTip,
    chart_column,
    fmt_bytes,
    fmt_seconds,
    header_label,
    legend_label,
    make_plot,
    set_range,
    show_axis_values,
    steady_top,
)
from gpuplanner.gui.panel.throughput import no_estimate_reason
from gpuplanner.gui.panel.traffic import traffic_colour


def step_tooltip(split: StepSplit, stage: str = "") -> str:
    total = sum(getattr(split, f) for f, _, _ in STEP_PARTS)
    rows = [
        f"<b>{split.gpu}</b>{stage} · one decode step: <b>{fmt_seconds(total)}</b>"
        "<br><i>every sequence in flight gains a token; a pipeline stage works once per micro-batch</i>"
    ]
    for field, text, colour in STEP_PARTS:
        value = getattr(split, field)
        share = value / total * 100 if total > 0 else 0.0
        rows.append(
            f"<span style='color:{colour}'>■</span> {text}: <b>{fmt_seconds(value)}</b> ({share:.0f} %)"
        )
    return "<br>".join(rows)


def link_lines(links: Sequence[LinkTraffic]) -> tuple[str, str]:
    """One line naming the busiest links with the share of their bandwidth the plan uses, and a
    tooltip table of every link (bytes per token, share), busiest first."""
    if not links:
        return "", ""
    ranked = sorted(links, key=lambda t: t.share_of_bandwidth, reverse=True)
    shown = " · ".join(
        f"<span style='color:{traffic_colour(t.share_of_bandwidth).name()}'>■</span> {t.name} "
        f"<b>{t.share_of_bandwidth:.0%}</b>"
        for t in ranked[:3]
    )
    more = f" · {len(ranked) - 3} more" if len(ranked) > 3 else ""
    rows = "".join(
        f"<tr><td>{t.name}</td><td>{t.purpose}</td><td align='right'>{fmt_bytes(t.bytes_per_token)}/token</td>"
        f"<td align='right'><b>{t.share_of_bandwidth:.1%}</b></td></tr>"
        for t in ranked
    )
    table = f"<b>Link utilisation at the plan's throughput</b><table cellspacing='4'>{rows}</table>"
    return f"Links: {shown}{more}", table


def step_summary(report: Report | None, totals_ms: list[float]) -> str:
    perf = report.performance if report is not None else None
    if perf is None or not totals_ms:
        return "<span style='color:gray'>per GPU: compute, memory reads, communication, waiting</span>"
    slowest = max(totals_ms)
    text = f"slowest GPU <b>{slowest:.2f} ms</b>"
    if perf.bottleneck_detail is not None:
        text += f" · bottleneck: {perf.bottleneck_detail.what}"
    tpot_ms = perf.tpot_s * 1e3
    if tpot_ms > 1.05 * slowest:  # say why TPOT is longer than the step drawn here
        text += f" · TPOT {tpot_ms:.1f} ms adds prefill chunks"
    return text


class StepTimeChart(QWidget):
    """Per-GPU stacked bars of one decode step, milliseconds. ``gpu_clicked(gpu_id, additive)``."""

    gpu_clicked = Signal(str, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("stepTimeChart")
        self.splits: list[StepSplit] = []  # per bar
        self.members: list[list[str]] = []  # per bar, every GPU it stands for (one, unless grouped)
        self._bar_of: dict[str, int] = {}
        self._stages: dict[str, str] = {}
        self.header = header_label("stepSummary", "Time of one decode step")
        self.plot = make_plot("ms per step")
        self.bars = StackedBars(self.plot, [(f, c) for f, _, c in STEP_PARTS])
        self._message = pg.TextItem("", color=ChartColours.from_palette().muted, anchor=(0.5, 0.5))
        self.plot.getPlotItem().addItem(self._message)
        self.legend = legend_label([(t, c) for _, t, c in STEP_PARTS])
        chart_column(self, self.header, self.plot, self.legend)
        # the links' utilisation, busiest first (the PDF's "Traffic per link"); all of them in its tooltip
        self.links = QLabel()
        self.links.setObjectName("linkUtilisation")
        self.links.setTextFormat(Qt.TextFormat.RichText)
        self.links.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.links.setFixedHeight(self.links.fontMetrics().lineSpacing() + 2)
        self.layout().addWidget(self.links)
        scene = self.plot.scene()
        scene.sigMouseMoved.connect(self._hover)
        self.tip = HeldTip(self.plot)  # stays while the pointer rests on a bar
        scene.sigMouseClicked.connect(self._clicked)
        self.set_report(None)

    @property
    def gpu_ids(self) -> list[str]:
        """Per bar, the GPU it shows (the first of its members when identical GPUs share a bar)."""
        return [s.gpu for s in self.splits]

    def set_report(self, report: Report | None) -> None:
        perf = report.performance if report is not None else None
        every = list(perf.step_split) if perf is not None else []
        self._stages = {g.id: f" · stage {g.stage + 1}" for g in report.gpus} if report is not None else {}
        fields = [field for field, _, _ in STEP_PARTS]
        if len(every) > GROUP_ABOVE:  # identical GPUs (one stage of every replica) share a bar
            keys = [(self._stages.get(s.gpu), *(getattr(s, f) for f in fields)) for s in every]
            groups = group_alike(keys)
            self.splits = [every[grp[0]] for grp in groups]
            self.members = [[every[i].gpu for i in grp] for grp in groups]
        else:
            self.splits, self.members = every, [[s.gpu] for s in every]
        self._bar_of = {m: i for i, group in enumerate(self.members) for m in group}
        bottoms, tops = stack_fields(self.splits, fields, 1e3)  # milliseconds
        self.bars.set_stacks(
            len(self.splits),
            {f: bottoms[:, j] for j, f in enumerate(fields)},
            {f: tops[:, j] for j, f in enumerate(fields)},
        )
        totals = tops[:, -1] if len(self.splits) else np.zeros(0)
        self.bars.set_ticks(
            [group_label(gid, len(group)) for gid, group in zip(self.gpu_ids, self.members, strict=True)]
        )
        item = self.plot.getPlotItem()
        top = steady_top(item.getViewBox().viewRange()[1][1], float(totals.max(initial=0.0)) * 1.05)
        set_range(item.getViewBox(), x=(-0.6, max(len(self.splits), 1) - 0.4), y=(0, top))
        if perf is None:
            text = no_estimate_reason(report)
        elif not self.splits:
            text = "no per-GPU step times in the report"
        else:
            text = ""
        self._message.setText(text)
        line, table = link_lines(perf.links if perf is not None else ())
        if line != self.links.text():
            self.links.setText(line)
            self.links.setToolTip(table)
        self.header.set_summary(step_summary(report, [float(t) for t in totals]))
        tip = perf.bottleneck if perf is not None else ""
        if perf is not None and self.splits and perf.tpot_s > 1.05 * float(totals.max()) / 1e3:
            tip += (
                f"<br>TPOT ({perf.tpot_s * 1e3:.1f} ms) is longer than the decode step drawn here: the prompt "
                "chunks of newly arrived requests are prefilled between decode steps, and every user waits "
                "for them too."
            )
        self.header.setToolTip(tip)
        self._message.setPos(max(len(self.splits), 1) / 2 - 0.5, top / 2)
        show_axis_values(self.plot, bool(self.splits))

    def total_ms(self, gpu_id: str) -> float:
        return self.bars.top(self._bar_of[gpu_id])

    def _hover(self, scene_pos: QPointF) -> None:
        i = self.bars.index_at(scene_pos)
        if i is None:
            self.tip.hide()
            return
        split = self.splits[i]
        self.tip.show(group_note(self.members[i]) + step_tooltip(split, self._stages.get(split.gpu, "")))

    def _clicked(self, event: object) -> None:
        if event.button() != Qt.MouseButton.LeftButton:  # type: ignore[attr-defined]
            return
        i = self.bars.index_at(event.scenePos())  # type: ignore[attr-defined]
        if i is not None:
            mods = QApplication.keyboardModifiers()
            self.gpu_clicked.emit(self.splits[i].gpu, bool(mods & Qt.KeyboardModifier.ControlModifier))


def main() -> None:  # pragma: no cover - a manual look
    from gpuplanner.gui.panel.samples import show_alone

    raise SystemExit(show_alone(StepTimeChart))


if __name__ == "__main__":  # pragma: no cover
    main()
