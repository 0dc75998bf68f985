"""Import ▸ ...: rig from nvidia-smi, custom GPU, model by name, calibration, in the window."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialog

from gpuplanner.core.catalog import default_catalog
from gpuplanner.core.quick import quick_plan
from gpuplanner.gui import own_rig
from gpuplanner.gui.panel.throughput import ThroughputChart

DATA = Path(__file__).resolve().parents[1] / "data"
TOPO = DATA / "topology"


@pytest.fixture
def window(main_window):
    default_catalog.cache_clear()
    yield main_window
    own_rig.reset_user_calibration()
    default_catalog.cache_clear()


def test_the_import_menu_has_every_action(window):
    menu = window.findChild(type(window.actions.file_menu), "importMenu")
    texts = [a.text().replace("&", "") for a in menu.actions() if a.text()]
    assert texts == [
        "Rig from nvidia-smi…",
        "Custom GPU…",
        "Model from Hugging Face…",
        "Calibrate from Benchmarks…",
        "Remove My Calibration",
    ]
    titles = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert titles.index("Import") == titles.index("Help") - 1


def test_pasted_topology_becomes_the_rig_in_one_undo_step(window, qtbot):
    before = window.document.plan
    dialog = own_rig.TopologyDialog(window)
    qtbot.addWidget(dialog)
    dialog.topo.setPlainText((TOPO / "workstation_2x3090_nvlink.txt").read_text())
    dialog.gpus.setPlainText((TOPO / "workstation_2x3090_nvlink_gpus.csv").read_text())
    dialog.try_accept()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert own_rig.apply_topology(window, dialog.plan, dialog.notes)
    plan = window.document.plan
    assert [g.gpu for _, g in plan.rig.iter_gpus()] == ["rtx-3090", "rtx-3090"]
    assert [link.kind for link in plan.rig.links] == ["nvlink-bridge-3090"]
    assert plan.layout.tp == 2 and "NV4" in plan.description
    assert window.evaluate_now() is not None
    window.undo_stack.undo()
    assert window.document.plan == before


def test_a_cut_topology_keeps_the_dialog_open_with_the_line(window, qtbot):
    dialog = own_rig.TopologyDialog(window)
    qtbot.addWidget(dialog)
    dialog.topo.setPlainText("\n".join((TOPO / "dgx_h100.txt").read_text().splitlines()[:3]))
    dialog.try_accept()
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert "line 4: the row of GPU2 is missing" in dialog.error.text()


def test_custom_gpu_dialog_adds_a_user_defined_gpu(window, monkeypatch):
    def fill_and_accept(dialog):
        dialog.name.setText("Lab Card 48GB")
        dialog.ident.setText("lab-card-48")
        dialog.memory.setValue(47.5)
        dialog.bandwidth.setValue(960)
        dialog.bf16.setValue(180)
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(own_rig.CustomGpuDialog, "exec", fill_and_accept)
    spec = own_rig.add_custom_gpu_interactive(window)
    assert spec.name == "Lab Card 48GB (user-defined)"
    assert window.catalog.is_user_gpu("lab-card-48")
    leaf = window.palette_widget.find_leaf("gpu", "lab-card-48")
    assert leaf is not None and "(user-defined)" in leaf.text(0)
    assert default_catalog().gpu("lab-card-48").memory_gib_usable == 47.5  # saved in the user folder


def test_model_by_name_is_fetched_off_the_window_thread(window, monkeypatch):
    config = json.loads((DATA / "hf_configs" / "meta-llama--Llama-3.1-8B-Instruct.json").read_text())
    monkeypatch.setattr(own_rig, "fetch_config", lambda repo_id: config)
    before = window.document.plan
    assert own_rig.import_model_by_name_interactive(window, "my-lab/llama-copy")
    assert window.document.plan.model == "my-lab/llama-copy"
    assert window.document.plan.model_spec.num_layers == 32
    window.undo_stack.undo()
    assert window.document.plan == before


def test_model_by_name_offline_is_a_message(window, monkeypatch, no_dialogs):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert not own_rig.import_model_by_name_interactive(window, "meta-llama/Llama-3.1-8B-Instruct")
    assert "offline mode" in no_dialogs[-1][1]


def test_calibration_shows_in_the_panel_and_can_be_removed(window):
    plan = quick_plan(
        model="Qwen/Qwen2.5-7B-Instruct", gpu="rtx-4080", engine="llamacpp", weights="gguf-q4_k_m"
    )
    window.document.replace_plan(plan)
    window.evaluate_now()
    result = own_rig.calibrate_files(
        window, [str(DATA / "benchmarks" / "llama_bench_rtx4080_qwen25_7b.json")], ask=False
    )
    assert result is not None and result.error_after < result.error_before
    report = window.evaluate_now()
    assert report.performance.calibrated_on.user == "calibrated on your rig: 2 runs, RTX 4080, llama.cpp"
    chart = window.findChild(ThroughputChart, "throughputChart")
    chart.set_report(report)
    assert [tuple(p) for p in zip(*chart._measured.getData(), strict=True)] == [
        (0.0, 118.881588)
    ]  # tg128, 1 user
    assert "your runs" in chart._measured_label.toPlainText()
    assert "Calibrated on your rig: 2 runs" in chart.calibration.text()
    assert own_rig.remove_calibration(window) == 1
    cleared = window.evaluate_now()
    assert cleared.performance.calibrated_on.user is None
    chart.set_report(cleared)
    assert len(chart._measured.getData()[0]) == 0
