"""The Launch dock: the launch command with copy buttons, service-level targets and their lines on the
throughput chart, the bill of materials and cost, and the price list editor."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QGuiApplication

from gpuplanner.core.prices import user_prices_path
from gpuplanner.core.slo import slo_search
from gpuplanner.gui.launch_panel import LaunchPanel, PriceListDialog

EXAMPLES = Path(__file__).parents[2] / "catalogs" / "examples"


def _panel(window) -> LaunchPanel:
    panel = window.launch_dock.panel
    panel.flush()
    panel.ttft.setValue(0)
    panel.tpot.setValue(0)
    panel.engine.setCurrentIndex(panel.engine.findData(""))
    panel.format.setCurrentIndex(panel.format.findData("shell"))
    return panel


def test_launch_dock_shows_the_plans_command_and_copies_it(main_window):
    panel = _panel(main_window)
    assert main_window.launch_dock.objectName() == "launchDock"
    text = panel.text.toPlainText()
    assert "vllm serve meta-llama/Llama-3.1-70B-Instruct" in text and "--tensor-parallel-size 8" in text
    panel.copy_all.click()
    assert QGuiApplication.clipboard().text() == text
    panel.copy_server.click()
    server = QGuiApplication.clipboard().text()
    assert server.startswith("CUDA_VISIBLE_DEVICES=0,1,2,3,4,5,6,7") and "vllm serve" in server
    panel.format.setCurrentIndex(panel.format.findData("docker"))
    assert "docker run" in panel.text.toPlainText() and "vllm/vllm-openai:v0.11.0" in panel.text.toPlainText()
    panel.format.setCurrentIndex(panel.format.findData("kubernetes"))
    assert "kind: Deployment" in panel.text.toPlainText()


def test_an_engine_that_cannot_run_the_plan_says_why_and_disables_copy(main_window):
    panel = _panel(main_window)
    panel.engine.setCurrentIndex(panel.engine.findData("tgi"))
    assert "TGI" in panel.status.text() and panel.copy_all.isEnabled()  # TP 8 on one server: TGI can
    panel.engine.setCurrentIndex(panel.engine.findData("ollama"))  # no tensor parallel
    assert "cannot run this plan" in panel.status.text() and "Closest" in panel.status.text()
    assert not panel.copy_all.isEnabled() and not panel.copy_server.isEnabled()


def test_slo_targets_give_users_within_them_and_lines_on_the_throughput_chart(main_window):
    panel = _panel(main_window)
    chart = main_window.panel.throughput
    panel.tpot.setValue(30)
    expected = slo_search(main_window.document.plan, None, 30.0)
    assert panel.decision.slo.max_concurrency == expected.max_concurrency > 0
    assert f"up to {expected.max_concurrency:,} users" in panel.slo_label.text()
    assert chart.slo_concurrency == expected.max_concurrency
    assert chart.slo_user_rate == 1000.0 / 30  # TPOT 30 ms = 33.3 tokens/s per user
    assert chart._slo_users.isVisible() and chart._slo_tpot.isVisible()
    panel.tpot.setValue(0)
    assert not chart._slo_users.isVisible() and not chart._slo_tpot.isVisible()
    assert "Set a TTFT or TPOT target" in panel.slo_label.text()


def test_bill_of_materials_and_power_follow_the_plan(main_window):
    panel = _panel(main_window)
    items = [panel.bom.item(r, 0).text() for r in range(panel.bom.rowCount())]
    assert "NVIDIA H100 SXM5 80GB" in items
    assert "10,200 W loaded" in panel.money.text()  # DGX H100 datasheet maximum
    main_window.open_plan(EXAMPLES / "mixed-3090-4090-qwen3-32b-uneven.gpuplan")
    main_window.evaluate_now()
    panel.flush()
    assert "--tensor-split 30,34" in panel.text.toPlainText().replace(" \\\n    ", " ")
    assert "$1.21 per million" in panel.money.text() or "per million output tokens" in panel.money.text()


def test_price_list_editor_saves_to_the_user_folder_and_costs_follow(main_window, qtbot):
    panel = _panel(main_window)
    assert "capex unknown" in panel.money.text()
    dialog = PriceListDialog(panel.prices, main_window.catalog, panel)
    qtbot.addWidget(dialog)
    row = next(r for r in range(dialog.table.rowCount()) if dialog.table.item(r, 0).text() == "h100-sxm")
    dialog.table.item(row, 2).setText("25,000")
    dialog.table.item(row, 4).setText("our quote")
    dialog._accept()
    assert dialog.result() == dialog.DialogCode.Accepted
    panel.apply_prices(dialog.result_prices())
    assert user_prices_path().is_file() and "25000" in user_prices_path().read_text()
    assert "capex $200,000" in panel.money.text()  # 8 x $25,000, the DGX itself still unpriced
    bad = PriceListDialog(panel.prices, main_window.catalog, panel)
    qtbot.addWidget(bad)
    bad.table.item(row, 2).setText("lots")
    bad._accept()
    assert "not a price" in bad.error.text() and bad.result() != bad.DialogCode.Accepted


def test_a_new_report_is_shown_after_the_edit_returns(main_window, qtbot):
    from gpuplanner.gui import commands as cmd

    panel = _panel(main_window)
    doc = main_window.document
    main_window.push(lambda: cmd.set_workload_field_command(doc, "concurrency", 48))
    main_window.evaluate_now()
    assert panel._stale  # not inside the edit: the live panel's charts come first
    qtbot.waitUntil(lambda: not panel._stale)
    assert panel.decision is not None and panel.report.performance.concurrency == 48
