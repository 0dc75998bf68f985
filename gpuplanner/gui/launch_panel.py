"""The Launch dock: the plan's launch command (any engine, shell / docker / Kubernetes) with copy buttons,
the bill of materials, power and the cost of a token, service-level targets (TTFT, TPOT) with their lines on
the throughput chart, and the price list editor.

It reads the window's latest report and plan (the one ``evaluate``) through ``gpuplanner.core.decision``;
it never edits the plan, so nothing here goes on the undo stack. The service-level targets and the chosen
engine and format are view settings, kept in the application settings.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from gpuplanner.core.catalog import Catalog
from gpuplanner.core.decision import Decision, decide
from gpuplanner.core.errors import PlannerError
from gpuplanner.core.launch import FORMATS, Launch, launch_for, render
from gpuplanner.core.plan import Plan
from gpuplanner.core.prices import CloudRate, Price, PriceList, load_prices, save_user_prices
from gpuplanner.core.report import Report
from gpuplanner.core.verdict import plural
from gpuplanner.gui.recent import app_settings

PLAN_ENGINE = ""  # the engine combo's first entry: whatever the plan uses
REFRESH_DELAY_MS = 120


def _money(value: float | None, digits: int = 2) -> str:
    return f"${value:,.{digits}f}" if value is not None else "unknown"


class LaunchPanel(QWidget):
    """The dock's contents; ``set_plan`` / ``set_report`` feed it, ``slo_changed`` tells the chart."""

    slo_changed = Signal(object)  # the Slo after each report or target change

    def __init__(self, catalog: Catalog, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("launchPanel")
        self.catalog = catalog
        self.plan: Plan | None = None
        self.report: Report | None = None
        self.decision: Decision | None = None
        self.launch: Launch | None = None
        self.prices: PriceList = self._load_prices()
        # a new report is shown a moment after the window has painted the edit: the live panel's 16 ms
        # from an edit to its charts, and the paint after it, never pay for the launch command, the bill
        # of materials or the SLO search; a burst of edits costs one refresh
        self._stale = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_DELAY_MS)
        self._timer.timeout.connect(self.flush)
        settings = app_settings()

        self.engine = QComboBox()
        self.engine.setObjectName("launchEngine")
        self.engine.setToolTip("The engine to launch: the plan's own, or another that can run the plan")
        self.engine.addItem("Plan's engine", PLAN_ENGINE)
        for spec in catalog.engines.values():
            self.engine.addItem(spec.name, spec.id)
        self.format = QComboBox()
        self.format.setObjectName("launchFormat")
        self.format.setToolTip("A shell script, docker run lines, or a Kubernetes manifest "
                               "(a LeaderWorkerSet when the plan spans servers)")
        for fmt in FORMATS:
            self.format.addItem(fmt.capitalize() if fmt != "kubernetes" else "Kubernetes", fmt)
        self._select(self.engine, str(settings.value("launch/engine", PLAN_ENGINE)))
        self._select(self.format, str(settings.value("launch/format", "shell")))

        self.text = QPlainTextEdit()
        self.text.setObjectName("launchText")
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.status = QLabel()
        self.status.setObjectName("launchStatus")
        self.status.setWordWrap(True)

        self.copy_all = QPushButton("Copy all")
        self.copy_all.setObjectName("copyLaunch")
        self.copy_all.setToolTip("Copy the whole script or manifest to the clipboard")
        self.copy_all.clicked.connect(lambda: self._copy(self.text.toPlainText()))
        self.copy_server = QPushButton("Copy server command")
        self.copy_server.setObjectName("copyServerCommand")
        self.copy_server.setToolTip("Copy only the command that starts the server (with its environment)")
        self.copy_server.clicked.connect(self._copy_server)

        self.ttft = self._target("sloTtft", "TTFT target", "Time to first token at most this (0: no target)",
                                 float(settings.value("slo/ttft_ms", 0) or 0))
        self.tpot = self._target("sloTpot", "TPOT target", "Time per output token at most this (0: no target)",
                                 float(settings.value("slo/tpot_ms", 0) or 0))
        self.slo_label = QLabel()
        self.slo_label.setObjectName("sloVerdict")
        self.slo_label.setWordWrap(True)

        self.bom = QTableWidget(0, 4)
        self.bom.setObjectName("bomTable")
        self.bom.setHorizontalHeaderLabels(["Item", "Count", "Unit price", "Source"])
        self.bom.verticalHeader().hide()
        self.bom.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        header = self.bom.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in (1, 2):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Interactive)
        self.money = QLabel()
        self.money.setObjectName("costSummary")
        self.money.setWordWrap(True)
        self.prices_button = QPushButton("Price list…")
        self.prices_button.setObjectName("editPrices")
        self.prices_button.setToolTip("Edit the unit prices, cloud $/GPU-hour, electricity and amortisation "
                                      "(saved in your user folder)")
        self.prices_button.clicked.connect(self.edit_prices)

        top = QHBoxLayout()
        top.addWidget(QLabel("Engine"))
        top.addWidget(self.engine, 1)
        top.addWidget(QLabel("Format"))
        top.addWidget(self.format)
        copy_row = QHBoxLayout()
        copy_row.addWidget(self.copy_all)
        copy_row.addWidget(self.copy_server)
        copy_row.addStretch(1)
        slo_row = QHBoxLayout()
        slo_row.addWidget(QLabel("TTFT ≤"))
        slo_row.addWidget(self.ttft)
        slo_row.addWidget(QLabel("TPOT ≤"))
        slo_row.addWidget(self.tpot)
        slo_row.addStretch(1)
        money_row = QHBoxLayout()
        money_row.addWidget(self.money, 1)
        money_row.addWidget(self.prices_button, 0, Qt.AlignmentFlag.AlignTop)
        command_page = QWidget()
        command_layout = QVBoxLayout(command_page)
        command_layout.setContentsMargins(0, 4, 0, 0)
        command_layout.addWidget(self.text, 1)
        command_layout.addLayout(copy_row)
        money_page = QWidget()
        money_layout = QVBoxLayout(money_page)
        money_layout.setContentsMargins(0, 4, 0, 0)
        money_layout.addLayout(money_row)
        money_layout.addWidget(self.bom, 1)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("launchTabs")
        self.tabs.addTab(command_page, "Launch command")
        self.tabs.addTab(money_page, "Bill of materials && cost")
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.status)
        slo_title = QLabel("<b>Service level</b>")
        slo_row.insertWidget(0, slo_title)
        slo_row.insertSpacing(1, 8)
        layout.addLayout(slo_row)
        layout.addWidget(self.slo_label)
        layout.addWidget(self.tabs, 1)

        self.engine.currentIndexChanged.connect(self._on_choice)
        self.format.currentIndexChanged.connect(self._on_choice)
        self.ttft.valueChanged.connect(self._on_targets)
        self.tpot.valueChanged.connect(self._on_targets)
        self.refresh()

    # -- building ----------------------------------------------------------------------------------
    @staticmethod
    def _select(combo: QComboBox, data: str) -> None:
        index = combo.findData(data)
        if index >= 0:
            combo.setCurrentIndex(index)

    def _target(self, name: str, title: str, tip: str, value: float) -> QDoubleSpinBox:
        box = QDoubleSpinBox()
        box.setObjectName(name)
        box.setAccessibleName(title)
        box.setToolTip(tip)
        box.setRange(0.0, 600_000.0)
        box.setDecimals(0)
        box.setSingleStep(10.0)
        box.setSuffix(" ms")
        box.setSpecialValueText("off")
        box.setKeyboardTracking(False)
        box.setValue(value)
        return box

    def _load_prices(self) -> PriceList:
        try:
            return load_prices()
        except PlannerError:
            return PriceList()

    # -- inputs ------------------------------------------------------------------------------------
    def set_plan(self, plan: Plan) -> None:
        self.plan = plan

    def set_report(self, report: Report | None) -> None:
        self.report = report
        self._stale = True
        self._timer.start()

    def flush(self) -> None:
        """Show the latest report now if it is not shown yet."""
        self._timer.stop()
        if self._stale:
            self.refresh()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            self._timer.start()

    def targets(self) -> tuple[float | None, float | None]:
        return (self.ttft.value() or None, self.tpot.value() or None)

    def _on_choice(self) -> None:
        self.flush()
        settings = app_settings()
        settings.setValue("launch/engine", self.engine.currentData())
        settings.setValue("launch/format", self.format.currentData())
        self._show_launch()

    def _on_targets(self) -> None:
        settings = app_settings()
        settings.setValue("slo/ttft_ms", self.ttft.value())
        settings.setValue("slo/tpot_ms", self.tpot.value())
        self.refresh()

    # -- output ------------------------------------------------------------------------------------
    def refresh(self) -> None:
        self._stale = False
        self.decision = None
        if self.plan is not None and self.report is not None:
            ttft, tpot = self.targets()
            try:
                self.decision = decide(self.plan, self.report, prices=self.prices, ttft_ms=ttft, tpot_ms=tpot,
                                       catalog=self.catalog)
            except PlannerError as e:
                self.status.setText(f"⚠ {e.message}")
        self._show_launch()
        self._show_money()
        self._show_slo()

    def _show_launch(self) -> None:
        launch: Launch | None = None
        if self.plan is not None:
            engine = self.engine.currentData() or None
            if self.decision is not None and engine in (None, self.plan.engine.engine):
                launch = self.decision.launch
            else:
                try:
                    launch = launch_for(self.plan, engine, self.catalog, None)
                except PlannerError as e:
                    self.status.setText(f"⚠ {e.message}")
        self.launch = launch
        if launch is None:
            self.text.setPlainText("")
            self.status.setText("Open or draw a plan to see its launch command.")
        elif launch.runnable:
            self.text.setPlainText(render(launch, self.format.currentData()))
            self.status.setText(f"{launch.engine_name} {launch.version}: {plural(len(launch.steps), 'command')} on "
                                f"{plural(launch.nodes, 'server')}")
            self.status.setToolTip(f"Flags as the engine documents them: {launch.docs}")
            self.status.setStyleSheet("")
        else:
            self.text.setPlainText(render(launch))
            self.status.setText(f"✖ {launch.engine_name} cannot run this plan: {launch.reason}\n"
                                f"Closest it runs: {launch.closest}")
            self.status.setStyleSheet("color: #e5484d;")
        runnable = launch is not None and launch.runnable
        self.copy_all.setEnabled(runnable)
        self.copy_server.setEnabled(runnable and bool(launch and launch.steps))

    def server_command(self) -> str:
        if self.launch is None or not self.launch.steps:
            return ""
        servers = [s for s in self.launch.steps if s.role == "server"] or list(self.launch.steps)
        return servers[-1].shell()

    def _copy(self, text: str) -> None:
        QGuiApplication.clipboard().setText(text)
        window = self.window()
        if hasattr(window, "show_message"):
            window.show_message("Copied to the clipboard", 3000)

    def _copy_server(self) -> None:
        self._copy(self.server_command())

    def _show_money(self) -> None:
        d = self.decision
        self.bom.setRowCount(0)
        if d is None:
            self.money.setText("")
            return
        rows = [i for i in d.bom if i.kind != "psu"]
        self.bom.setRowCount(len(rows))
        for r, item in enumerate(rows):
            cells = [item.item, f"{item.count:,}",
                     _money(item.unit_price_usd, 0) if item.unit_price_usd is not None else "—", item.source]
            for c, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                cell.setToolTip(f"{item.item}: {item.source}")
                if c in (1, 2):
                    cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.bom.setItem(r, c, cell)
        c, p = d.cost, d.power
        psu = ", ".join(f"{s.node} ≥ {s.psu_w:,} W" for s in p.servers)
        lines = [
            f"<b>Power</b> {p.total:,.0f} W loaded (GPUs {p.gpus:,.0f} + platform {p.platform:,.0f}), "
            f"≈{p.idle:,.0f} W idle · power supplies {psu}",
            f"<b>Cost</b> {_money(c.usd_per_million_output_tokens)} per million output tokens · "
            f"{_money(c.usd_per_hour)}/hour{f' ({c.basis})' if c.basis else ''} · capex {_money(c.capex_usd, 0)}",
        ]
        if c.joules_per_output_token is not None:
            lines.append(f"<b>Energy</b> {c.joules_per_output_token:,.2f} J per output token · "
                         f"{c.kwh_per_million_output_tokens:,.2f} kWh per million")
        if c.usd_per_hour is None:
            lines.append("<span style='color:gray'>No price for these GPUs: enter one in the price list.</span>")
        elif c.unpriced:
            lines.append(f"<span style='color:gray'>Capex leaves out: {', '.join(c.unpriced)}</span>")
        self.money.setText("<br>".join(lines))

    def _show_slo(self) -> None:
        d = self.decision
        if d is None or not d.slo.active:
            self.slo_label.setText("Set a TTFT or TPOT target to see how many users the plan serves within it.")
            self.slo_label.setStyleSheet("color: gray;")
        else:
            self.slo_label.setText(d.slo.sentence())
            self.slo_label.setStyleSheet("" if d.slo.met else "color: #e5484d;")
        self.slo_changed.emit(d.slo if d is not None else None)

    # -- the price list ----------------------------------------------------------------------------
    def edit_prices(self) -> bool:
        dialog = PriceListDialog(self.prices, self.catalog, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return False
        self.apply_prices(dialog.result_prices())
        return True

    def apply_prices(self, prices: PriceList) -> None:
        """Save ``prices`` to the user folder and show the costs they give."""
        try:
            save_user_prices(prices)
        except OSError as e:
            window = self.window()
            if hasattr(window, "show_message"):
                window.show_message(f"Could not save the price list: {e}")
            return
        self.prices = prices
        self.refresh()


class PriceListDialog(QDialog):
    """Unit prices (GPUs, servers, network parts), cloud $/GPU-hour, electricity and amortisation."""

    def __init__(self, prices: PriceList, catalog: Catalog, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("priceListDialog")
        self.setWindowTitle("Price list")
        self.prices = prices
        self.table = QTableWidget(0, 5)
        self.table.setObjectName("priceTable")
        self.table.setHorizontalHeaderLabels(["Id", "Kind", "Unit price (US$)", "Cloud $/GPU-hour", "Source"])
        self.table.horizontalHeader().setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        ids = list(dict.fromkeys([*prices.items, *catalog.gpus, *catalog.nodes]))
        self.table.setRowCount(len(ids))
        for row, ident in enumerate(ids):
            item = prices.items.get(ident)
            rate = prices.cloud.get(ident)
            kind = item.kind if item else ("gpu" if ident in catalog.gpus else "server")
            source = item.source if item and item.unit_price_usd is not None else (rate.source if rate else "")
            values = [ident, kind, "" if not item or item.unit_price_usd is None else f"{item.unit_price_usd:g}",
                      f"{rate.usd_per_gpu_hour:g}" if rate else "", source]
            for col, text in enumerate(values):
                cell = QTableWidgetItem(text)
                if col < 2:
                    cell.setFlags(cell.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.table.setItem(row, col, cell)
        self.years = QDoubleSpinBox()
        self.years.setObjectName("amortizationYears")
        self.years.setRange(0.5, 20)
        self.years.setDecimals(1)
        self.years.setValue(prices.amortization_years)
        self.years.setSuffix(" years")
        self.kwh = QDoubleSpinBox()
        self.kwh.setObjectName("usdPerKwh")
        self.kwh.setRange(0, 10)
        self.kwh.setDecimals(3)
        self.kwh.setPrefix("$")
        self.kwh.setValue(prices.usd_per_kwh or 0.0)
        self.kwh.setToolTip(prices.usd_per_kwh_source)
        self.basis = QComboBox()
        self.basis.setObjectName("costBasis")
        self.basis.addItem("Owned (capex amortised + energy)", "owned")
        self.basis.addItem("Cloud ($/GPU-hour)", "cloud")
        self.basis.setCurrentIndex(0 if prices.basis == "owned" else 1)
        self.error = QLabel()
        self.error.setStyleSheet("color: #e5484d;")
        form = QFormLayout()
        form.addRow("Amortisation", self.years)
        form.addRow("Electricity per kWh", self.kwh)
        form.addRow("Cost basis", self.basis)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Empty prices are unknown; costs that need them stay unknown. Only enter "
                                "prices you can source (a quote, a public list price)."))
        layout.addWidget(self.table, 1)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.resize(860, 560)
        self._result: PriceList = prices

    @staticmethod
    def _number(text: str) -> float | None:
        text = text.strip().replace(",", "").lstrip("$")
        if not text:
            return None
        value = float(text)
        if not value >= 0:
            raise ValueError(text)
        return value

    def result_prices(self) -> PriceList:
        return self._result

    def _accept(self) -> None:
        items: dict[str, Price] = {}
        cloud: dict[str, CloudRate] = {}
        for row in range(self.table.rowCount()):
            cells: list[Any] = [self.table.item(row, c) for c in range(5)]
            ident, kind, price_text, rate_text, source = (c.text() if c else "" for c in cells)
            try:
                price = self._number(price_text)
                rate = self._number(rate_text)
            except ValueError:
                self.error.setText(f"Row {ident}: '{price_text or rate_text}' is not a price")
                self.table.setCurrentCell(row, 2)
                return
            old = self.prices.items.get(ident)
            if price is not None or old is not None:
                items[ident] = Price(ident, kind, price, source if price is not None else "",
                                     old.url if old and old.unit_price_usd == price else "")
            if rate is not None:
                before = self.prices.cloud.get(ident)
                keep = before is not None and before.usd_per_gpu_hour == rate
                cloud[ident] = CloudRate(ident, rate, before.source if keep and before else source,
                                         before.url if keep and before else "")
        self._result = replace(self.prices, items=items, cloud=cloud, amortization_years=self.years.value(),
                               usd_per_kwh=self.kwh.value(), basis=self.basis.currentData())
        self.accept()


class LaunchDock(QDockWidget):
    """The dock around a :class:`LaunchPanel`, scrolling so the panel never makes the window taller."""

    def __init__(self, panel: LaunchPanel, parent: QWidget) -> None:
        super().__init__("Launch", parent)
        self.setObjectName("launchDock")
        self.panel = panel
        scroll = QScrollArea()
        scroll.setObjectName("launchScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(panel)
        panel.setMinimumHeight(300)
        self.setWidget(scroll)


def install_launch_dock(window: Any) -> LaunchDock:
    """Add the Launch dock to ``window`` (a MainWindow) and wire it to the window's reports and the live
    panel's throughput chart."""
    panel = LaunchPanel(window.catalog, window)
    dock = LaunchDock(panel, window)
    dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                     | QDockWidget.DockWidgetFeature.DockWidgetClosable)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    window.tabifyDockWidget(window.inspector_dock, dock)
    window.inspector_dock.raise_()
    window.actions.view_menu.addAction(dock.toggleViewAction())
    panel.set_plan(window.document.plan)
    window.plan_changed.connect(panel.set_plan)
    window.report_changed.connect(panel.set_report)
    window.evaluation_failed.connect(lambda _message: panel.set_report(None))

    def show_slo(slo: Any) -> None:
        chart = window.panel.throughput
        if slo is None or not slo.active:
            chart.set_slo(None, None)
        else:
            chart.set_slo(slo.max_concurrency, slo.tpot_ms)

    panel.slo_changed.connect(show_slo)
    if window.latest_report is not None:
        panel.set_report(window.latest_report)
    return dock
