"""ThroughputChart: output tokens/s and tokens/s per user against concurrency, from the report's curve.

Concurrency runs on a log-2 axis from 1 to the KV-cache limit. The total throughput (left axis) has
its low–high band shaded; tokens/s per user use the right axis. The plan's concurrency is a vertical
line and the point where more users stop adding throughput is marked. TTFT and TPOT at the plan's
workload sit above the plot as readouts.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from gpuplanner.core.coverage import coverage_line
from gpuplanner.core.report import HostReport, PerformanceReport, Report
from gpuplanner.core.verdict import plural
from gpuplanner.gui.panel.style import (
    ChartColours,
    HeldTip,
    chart_column,
    fmt_seconds,
    header_label,
    legend_label,
    make_plot,
    set_curve,
    set_range,
    set_ticks,
    show_axis_values,
    steady_top,
)

TOTAL_COLOUR = "#0072B2"
USER_COLOUR = "#D55E00"
NOW_COLOUR = "#6B7280"
SATURATION_COLOUR = "#CC79A7"
BAND_COLOUR = (0, 114, 178, 60)
SLO_COLOUR = "#E69F00"  # orange: apart from the measured points' green
MEASURED_COLOUR = "#009E73"


def no_estimate_reason(report: Report | None) -> str:
    if report is None:
        return "no plan to show"
    if not report.fits:
        return "no estimate: the plan does not fit"
    return "performance model not available"


class ThroughputChart(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("throughputChart")
        self.performance: PerformanceReport | None = None
        colours = ChartColours.from_palette()
        self.readout = header_label("speedReadout", "Speed")
        self.plot = make_plot("tok/s, all users", "Concurrent requests (log scale)")
        item = self.plot.getPlotItem()
        self._low = pg.PlotDataItem(pen=pg.mkPen(None))
        self._high = pg.PlotDataItem(pen=pg.mkPen(None))
        self._band = pg.FillBetweenItem(self._low, self._high, brush=pg.mkBrush(BAND_COLOUR))
        self._total = pg.PlotDataItem(pen=pg.mkPen(TOTAL_COLOUR, width=2.5))
        for curve in (self._band, self._low, self._high, self._total):
            item.addItem(curve)
        self._now = pg.InfiniteLine(angle=90, pen=pg.mkPen(NOW_COLOUR, width=1.5, style=Qt.PenStyle.DashLine))
        self._now_label = pg.TextItem("", color=colours.foreground, anchor=(0, 1))
        self._saturation = pg.ScatterPlotItem(size=11, brush=pg.mkBrush(SATURATION_COLOUR), pen=pg.mkPen("w"))
        self._sat_label = pg.TextItem("", color=SATURATION_COLOUR, anchor=(1, 1))
        # the user's own measured runs (gpuplanner calibrate) beside the curve
        self._measured = pg.ScatterPlotItem(
            size=10, symbol="d", brush=pg.mkBrush(MEASURED_COLOUR), pen=pg.mkPen(colours.foreground)
        )
        self._measured_label = pg.TextItem("", color=MEASURED_COLOUR, anchor=(0, 0.5))
        self._asked = pg.InfiniteLine(angle=90, pen=pg.mkPen("#B42318", width=1.5, style=Qt.PenStyle.DotLine))
        self._asked_label = pg.TextItem("", color="#B42318", anchor=(1, 0))
        # the crosshair: a line under the pointer and the curve's figures at that concurrency
        self._cross = pg.InfiniteLine(angle=90, pen=pg.mkPen(colours.muted, width=1))
        self._cross_dot = pg.ScatterPlotItem(size=8, brush=pg.mkBrush(TOTAL_COLOUR), pen=pg.mkPen("w"))
        for extra in (
            self._now, self._now_label, self._saturation, self._sat_label, self._asked, self._asked_label,
            self._cross, self._cross_dot, self._measured, self._measured_label,
        ):  # fmt: skip
            item.addItem(extra)
        self._cross.hide()
        self._asked.hide()
        self.asked: int | None = None  # the concurrency the plan asks for, when the KV cache holds fewer
        self.crosshair_text = ""
        # tokens/s per user on a right-hand axis with its own view box sharing x
        self._user_view = pg.ViewBox(enableMouse=False)
        item.showAxis("right")
        item.scene().addItem(self._user_view)
        right = item.getAxis("right")
        right.linkToView(self._user_view)
        right.setLabel("tok/s per user", color=USER_COLOUR)
        self._user_view.setXLink(item)
        self._user = pg.PlotDataItem(pen=pg.mkPen(USER_COLOUR, width=2, style=Qt.PenStyle.DashLine))
        self._user_view.addItem(self._user)
        item.getViewBox().sigResized.connect(self._sync_views)
        item.scene().sigMouseMoved.connect(self._hover)
        self.tip = HeldTip(self.plot)
        self._message = pg.TextItem("", color=colours.muted, anchor=(0.5, 0.5))
        item.addItem(self._message)
        self.legend = legend_label(
            [("Output tokens/s", TOTAL_COLOUR), ("low–high", "#A6CBE3"),
             ("Tokens/s per user (right)", USER_COLOUR), ("Saturation", SATURATION_COLOUR)]
        )  # fmt: skip
        chart_column(self, self.readout, self.plot, self.legend)
        # what the speeds rest on and where they extrapolate: one line, fixed height, the rest in its tooltip
        self.calibration = QLabel()
        self.calibration.setObjectName("speedCalibration")
        self.calibration.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.calibration.setFixedHeight(self.calibration.fontMetrics().lineSpacing() + 2)
        self.layout().addWidget(self.calibration)
        self.set_report(None)

    def _sync_views(self) -> None:
        vb = self.plot.getPlotItem().getViewBox()
        self._user_view.setGeometry(vb.sceneBoundingRect())
        self._user_view.linkedViewChanged(vb, self._user_view.XAxis)

    def set_report(self, report: Report | None, asked: int | None = None) -> None:
        """Show ``report``'s curve; ``asked`` is the concurrency the plan asks for (None: 'max'), drawn
        on the axis even past the KV-cache limit where the curve stops."""
        perf = report.performance if report is not None else None
        self.asked = asked
        self.performance = perf
        line = coverage_line(perf, compact=True) if perf is not None else ""
        if line != self.calibration.text():
            self.calibration.setText(line)
            full = coverage_line(perf) if perf is not None else ""
            self.calibration.setToolTip(full.replace(": ", ":<br>• ", 1).replace("; ", "<br>• "))
        item = self.plot.getPlotItem()
        curve = perf.curve if perf is not None else ()
        x = np.log2(np.array([max(p.concurrency, 1) for p in curve], dtype=float))
        total = np.array([p.output_tokens_per_s for p in curve], dtype=float)
        set_curve(self._total, x, total)
        set_curve(self._low, x, [p.low_output_tokens_per_s for p in curve])
        set_curve(self._high, x, [p.high_output_tokens_per_s for p in curve])
        set_curve(self._user, x, [p.tokens_per_s_per_user for p in curve])
        if perf is None or not curve:
            self._message.setText(
                no_estimate_reason(report) if perf is None else "no speed curve in the report"
            )
            self._message.setPos(1.5, 0.5)
            set_range(item.getViewBox(), x=(0, 3), y=(0, 1))
            set_range(self._user_view, y=(0, 1))
            self._now.hide()
            self._asked.hide()
            self._asked_label.setText("")
            set_curve(self._saturation, [], [])
            self._set_measured(None)
            self._now_label.setText("")
            self._sat_label.setText("")
            self.readout.set_summary(f"TTFT – · TPOT – · {no_estimate_reason(report)}")
            self._set_ticks(1)
            self._show_values(False)
            return
        self._show_values(True)
        self._message.setText("")
        x_max = max(float(x.max()), 1.0)
        measured = self._set_measured(perf)
        beyond = asked is not None and asked > perf.concurrency
        if beyond:
            assert asked is not None
            x_max = max(x_max, math.log2(asked))
        y_max = steady_top(
            item.getViewBox().viewRange()[1][1],
            float(max(total.max(), max(p.high_output_tokens_per_s for p in curve), *measured)) * 1.05,
        )
        set_range(item.getViewBox(), x=(-0.15, x_max + 0.25), y=(0, y_max))
        per_user = max(p.tokens_per_s_per_user for p in curve) * 1.05
        set_range(self._user_view, y=(0, steady_top(self._user_view.viewRange()[1][1], per_user)))
        self._set_ticks(2**x_max)
        now = math.log2(max(perf.concurrency, 1))
        self._now.setPos(now)
        self._now.show()
        self._now_label.setText(f" now: {perf.concurrency:,} ")
        # near the right edge the label goes to the left of its line instead of off the plot
        self._now_label.setAnchor((1, 1) if now > 0.6 * (x_max + 0.25) else (0, 1))
        self._now_label.setPos(now, 0)
        if beyond:
            assert asked is not None
            self._asked.setPos(math.log2(asked))
            self._asked.show()
            self._asked_label.setText(f"asked: {asked:,} ")
            self._asked_label.setPos(math.log2(asked), y_max)
        else:
            self._asked.hide()
            self._asked_label.setText("")
        if perf.saturation_concurrency:
            sat_x = math.log2(max(perf.saturation_concurrency, 1))
            sat_y = float(np.interp(sat_x, x, total))
            set_curve(self._saturation, [sat_x], [sat_y])
            self._sat_label.setText(f"saturates ≈ {perf.saturation_concurrency} ")
            self._sat_label.setPos(sat_x, sat_y)
        else:
            set_curve(self._saturation, [], [])
            self._sat_label.setText(f"no plateau up to {plural(curve[-1].concurrency, 'user')} ")
            self._sat_label.setPos(float(x[-1]), float(total[-1]))
        host = report.host
        self.readout.set_summary(
            self.host_readout_text(host) if host is not None and host.tpot_s else self.readout_text(perf)
        )
        self.readout.setToolTip(
            "<b>At the plan's workload</b> (TTFT: time to first token; TPOT: time per output token)<br>"
            + "<br>".join(f"• {a}" for a in (*perf.assumptions, *(host.assumptions if host else ())))
        )

    def _set_measured(self, perf: PerformanceReport | None) -> list[float]:
        """Mark the user's measured (concurrency, tokens/s) on the curve; returns their tokens/s."""
        points = perf.calibrated_on.user_points if perf is not None and perf.calibrated_on else ()
        xs = [math.log2(max(c, 1)) for c, _ in points]
        ys = [float(v) for _, v in points]
        set_curve(self._measured, xs, ys)
        if points:
            self._measured_label.setText(f" your runs ({len(points)})")
            self._measured_label.setPos(xs[-1], ys[-1])
            self._measured.setToolTip(
                "Measured on your rig (gpuplanner calibrate):<br>"
                + "<br>".join(f"• {v:,.1f} tok/s at {c:,} users" for c, v in points)
            )
        else:
            self._measured_label.setText("")
        return ys

    def _hover(self, scene_pos: object) -> None:
        """The crosshair readout: total and per-user tokens/s, and TPOT, at the concurrency under the
        pointer (the nearest point of the report's curve)."""
        perf = self.performance
        vb = self.plot.getPlotItem().getViewBox()
        if perf is None or not perf.curve or not vb.sceneBoundingRect().contains(scene_pos):
            self._cross.hide()
            set_curve(self._cross_dot, [], [])
            self.crosshair_text = ""
            self.tip.hide()
            return
        x = vb.mapSceneToView(scene_pos).x()
        point = min(perf.curve, key=lambda p: abs(math.log2(max(p.concurrency, 1)) - x))
        self.show_crosshair(point.concurrency)

    def show_crosshair(self, concurrency: int) -> str:
        """Put the crosshair on the curve's point nearest ``concurrency`` and show its figures."""
        perf = self.performance
        if perf is None or not perf.curve:
            return ""
        point = min(perf.curve, key=lambda p: abs(p.concurrency - concurrency))
        at = math.log2(max(point.concurrency, 1))
        self._cross.setPos(at)
        self._cross.show()
        set_curve(self._cross_dot, [at], [point.output_tokens_per_s])
        per_user = point.tokens_per_s_per_user
        tpot = fmt_seconds(1 / per_user) if per_user > 0 else "–"
        ttft = f"<br>TTFT {fmt_seconds(point.ttft_s)}" if point.ttft_s is not None else ""
        self.crosshair_text = (
            f"<b>{plural(point.concurrency, 'concurrent request')}</b>"
            f"<br>{point.output_tokens_per_s:,.0f} tok/s total"
            f" ({point.low_output_tokens_per_s:,.0f}–{point.high_output_tokens_per_s:,.0f})"
            f"<br>{per_user:,.1f} tok/s per user · TPOT {tpot}" + ttft
        )
        self.tip.show(self.crosshair_text)
        return self.crosshair_text

    def _show_values(self, show: bool) -> None:
        show_axis_values(self.plot, show, ("left", "right", "bottom"))

    def _set_ticks(self, largest: float) -> None:
        ticks = [(float(k), f"{2**k:,}") for k in range(0, int(math.log2(max(largest, 1))) + 1)]
        set_ticks(self.plot.getPlotItem().getAxis("bottom"), ticks)

    # -- service-level lines (set by the Launch panel) ----------------------------------------------
    def set_slo(self, max_concurrency: int | None, tpot_ms: float | None, label: str = "") -> None:
        """Mark the service level: a vertical line at the most users within the targets and, for a TPOT
        target, a horizontal line at the tokens/s per user it means (1,000 / TPOT ms) on the right axis.
        ``None`` hides a line."""
        if not hasattr(self, "_slo_users"):
            pen = pg.mkPen(SLO_COLOUR, width=1.8, style=Qt.PenStyle.DotLine)
            self._slo_users = pg.InfiniteLine(angle=90, pen=pen)
            self._slo_users_label = pg.TextItem("", color=SLO_COLOUR, anchor=(0, 0))
            self._slo_tpot = pg.InfiniteLine(angle=0, pen=pen)
            self._slo_tpot_label = pg.TextItem("", color=SLO_COLOUR, anchor=(0, 0))
            item = self.plot.getPlotItem()
            item.addItem(self._slo_users)
            item.addItem(self._slo_users_label)
            self._user_view.addItem(self._slo_tpot)
            self._user_view.addItem(self._slo_tpot_label)
        self.slo_concurrency = max_concurrency
        self.slo_user_rate = 1000.0 / tpot_ms if tpot_ms else None
        if max_concurrency:
            x = math.log2(max_concurrency)
            self._slo_users.setPos(x)
            self._slo_users.show()
            self._slo_users_label.setText(f" ≤ {max_concurrency:,} users {label or 'in SLO'}")
            top = self.plot.getPlotItem().getViewBox().viewRange()[1][1]
            self._slo_users_label.setPos(x, top)
        else:
            self._slo_users.hide()
            self._slo_users_label.setText("SLO not met by 1 user " if max_concurrency == 0 else "")
            self._slo_users_label.setPos(0.0, self.plot.getPlotItem().getViewBox().viewRange()[1][1])
        if self.slo_user_rate is not None:
            self._slo_tpot.setPos(self.slo_user_rate)
            self._slo_tpot.show()
            self._slo_tpot_label.setText(f" TPOT target {self.slo_user_rate:,.0f} tok/s/user")
            self._slo_tpot_label.setPos(0.0, self.slo_user_rate)
        else:
            self._slo_tpot.hide()
            self._slo_tpot_label.setText("")

    @staticmethod
    def readout_text(perf: PerformanceReport) -> str:
        """TTFT, TPOT and tokens/s at the plan's workload, with the low–high range."""

        def span(a: float, b: float) -> str:
            lo, hi = sorted((a, b))
            if fmt_seconds(lo) == fmt_seconds(hi):
                return ""
            return f"<span style='color:gray'>({fmt_seconds(lo)}–{fmt_seconds(hi)})</span>"

        return (
            f"<b>TTFT</b> {fmt_seconds(perf.ttft_s)} {span(perf.low.ttft_s, perf.high.ttft_s)}"
            f" · <b>TPOT</b> {fmt_seconds(perf.tpot_s)} {span(perf.low.tpot_s, perf.high.tpot_s)}"
            + rates_text(perf.tokens_per_s_per_user, perf.output_tokens_per_s, perf.concurrency)
        )

    @staticmethod
    def host_readout_text(h: HostReport) -> str:
        """The whole rig's speed when layers or experts live in system RAM (the curve is the GPUs')."""
        ttft, tpot = h.ttft_s or 0.0, h.tpot_s or 0.0
        return (
            f"<b>With the host</b> · <b>TTFT</b> {fmt_seconds(ttft)}"
            f" · <b>TPOT</b> {fmt_seconds(tpot)}"
            f" <span style='color:gray'>(host {fmt_seconds(h.host_s_per_token)} per token)</span>"
            f" · <b>~{h.tokens_per_s_per_user or 0:,.1f}</b> tok/s per user"
            " · <span style='color:gray'>curve: the GPUs' part</span>"
        )


def rates_text(per_user: float, total: float, users: int) -> str:
    """Per-user and total rates in words that agree: for one user the total is lower than the decode
    rate (the prompt's time is in it), so it says so instead of showing "per user" above "total"."""
    if users == 1:
        return (
            f" · <b>{per_user:,.0f}</b> tok/s while decoding"
            f" · <b>{total:,.0f}</b> tok/s with the prompt's time, for 1 user"
        )
    return f" · <b>{per_user:,.0f}</b> tok/s per user · <b>{total:,.0f}</b> tok/s total at {users:,} users"


def main() -> None:  # pragma: no cover - a manual look
    from gpuplanner.gui.panel.samples import show_alone

    raise SystemExit(show_alone(ThroughputChart))


if __name__ == "__main__":  # pragma: no cover
    main()
