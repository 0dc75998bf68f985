"""The host in the window: each server's CPU platform and RAM, layers or experts in system RAM, the
host's bar in the memory chart and the verdict, all as undoable edits stored in the plan.

Golden figures: HOST-LGA1700 (Intel: two channels of DDR5-5600, 89.6 GB/s); Llama 3.1 70B's
config.json (80 layers).
"""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QSpinBox

from gpuplanner.core.catalog import default_catalog
from gpuplanner.core.host import HostOffload, with_offload
from gpuplanner.core.quick import quick_plan
from gpuplanner.core.specs import GIB
from gpuplanner.document.planfile import load_plan, save_plan
from gpuplanner.drawing.labels import host_label
from gpuplanner.gui.panel.memory import HOST_BAR


@pytest.fixture
def llama_window(open_window, tmp_path):
    """Llama 3.1 70B in Q4_K_M on two RTX 4090s under llama.cpp, one 8,192-token slot."""
    plan = quick_plan(
        model="llama-3.1-70b", gpu="rtx-4090", gpus_per_node=2, tp=1, pp=2, weights="gguf-q4_k_m",
        engine="llamacpp",
    )  # fmt: skip
    engine = plan.engine.model_copy(update={"max_model_len": 8192, "max_num_seqs": 1})
    path = tmp_path / "llama.gpuplan"
    save_plan(plan.model_copy(update={"engine": engine}), path)
    window = open_window(path)
    window.plan_path = path
    return window


def _select(combo: QComboBox, data: object) -> None:
    index = combo.findData(data)
    assert index >= 0, data
    combo.setCurrentIndex(index)


def test_offloaded_layers_show_in_the_verdict_memory_chart_and_speed(llama_window):
    window = llama_window
    spin = window.inspector.findChild(QSpinBox, "offloadLayersSpin")
    assert spin.isEnabled() and spin.maximum() == 79  # 80 layers: at least one stays on the GPUs
    spin.setValue(12)
    window.evaluate_now()
    assert window.document.plan.engine.offload_layers == 12
    report = window.latest_report
    assert report.host is not None and report.host.offloaded_layers == tuple(range(12))
    headline = window.panel.verdict.headline.text()
    assert "12 layers in system RAM" in headline and "tok/s" in headline
    chart = window.panel.memory
    assert chart.gpu_ids[-1] == HOST_BAR
    used = (report.host.weights_bytes + report.host.kv_cache_bytes) / GIB
    assert chart.bar_gib(HOST_BAR, "weights") + chart.bar_gib(HOST_BAR, "kv_cache") == pytest.approx(used)
    assert "system RAM" in chart.tooltip_for(HOST_BAR)
    assert "With the host" in window.panel.throughput.readout.text()
    # the GPUs no longer hold the first 12 layers; the layer map shades them as in system RAM
    assert report.gpus[0].layers == (12, 40)
    assert window.panel.layer_map.data.host_layers == 12
    assert "in system RAM: layers 0–11, emb, head" in window.panel.layer_title.text()
    window.undo_stack.undo()
    window.evaluate_now()
    assert window.document.plan.engine.offload_layers == 0 and window.latest_report.host is None
    assert HOST_BAR not in window.panel.memory.gpu_ids and spin.value() == 0


def test_server_host_and_ram_are_undoable_edits_saved_with_the_plan(llama_window, tmp_path):
    window = llama_window
    window.inspector.findChild(QSpinBox, "offloadLayersSpin").setValue(12)
    window.scene.nodes["n0"].setSelected(True)
    host = window.inspector.findChild(QComboBox, "nodeHostCombo")
    assert host.isVisible() and host.currentData() is None  # not set: the default platform
    _select(host, "lga1700-ddr5-5600")
    assert window.undo_stack.text(window.undo_stack.index() - 1) == "Change host platform"
    ram = window.inspector.findChild(QDoubleSpinBox, "nodeHostRamSpin")
    ram.setValue(16)
    node = window.document.plan.rig.nodes[0]
    assert (node.host, node.host_ram_gib) == ("lga1700-ddr5-5600", 16)
    assert host_label(node) == "LGA1700 · 16 GiB RAM"
    assert "LGA1700" in window.scene.nodes["n0"].toolTip()
    window.evaluate_now()
    h = window.latest_report.host
    assert h.bandwidth_gbps == pytest.approx(89.6) and h.ram_bytes == 16 * GIB
    # 12 layers of Llama 3.1 70B in Q4_K_M fit in 16 GiB; 36 (about 18 GiB) do not
    assert window.latest_report.fits
    window.inspector.findChild(QSpinBox, "offloadLayersSpin").setValue(36)
    window.evaluate_now()
    assert not window.latest_report.fits
    assert any("system RAM" in p.message for p in window.latest_report.problems)
    window.undo_stack.undo()
    window.evaluate_now()
    assert window.latest_report.fits
    out = tmp_path / "saved.gpuplan"
    save_plan(window.document.plan, out)
    saved = load_plan(out)
    assert saved.engine.offload_layers == 12 and saved.rig.nodes[0].host_ram_gib == 16
    window.undo_stack.undo()  # the RAM
    window.undo_stack.undo()  # the platform
    assert window.document.plan.rig.nodes[0].host is None


def test_experts_checkbox_only_for_moe_models_and_host_engines(main_window):
    check = main_window.inspector.findChild(QCheckBox, "offloadExpertsCheck")
    spin = main_window.inspector.findChild(QSpinBox, "offloadLayersSpin")
    # the sample plan runs a dense model on vLLM, which keeps the whole model on its GPUs
    assert main_window.document.plan.engine.engine == "vllm"
    assert not check.isEnabled() and not spin.isEnabled()


def test_expert_layers_in_ram_for_a_moe_model_under_llama_cpp(open_window, tmp_path):
    # Qwen3-30B-A3B (48 MoE layers) on one RTX 4090: --n-cpu-moe 36 from the inspector, one undo step
    plan = quick_plan(model="qwen3-30b-a3b", gpu="rtx-4090", tp=1, weights="gguf-q4_k_m", engine="llamacpp")
    engine = plan.engine.model_copy(update={"max_model_len": 4096})
    path = tmp_path / "moe.gpuplan"
    save_plan(plan.model_copy(update={"engine": engine}), path)
    window = open_window(path)
    spin = window.inspector.findChild(QSpinBox, "offloadExpertLayersSpin")
    assert spin.isEnabled() and spin.maximum() == 48
    assert window.inspector.findChild(QCheckBox, "offloadExpertsCheck").isEnabled()
    spin.setValue(36)
    window.evaluate_now()
    assert window.document.plan.engine.offload_expert_layers == 36
    host = window.latest_report.host
    assert host is not None and host.offloaded_expert_layers == 36
    assert "routed experts of 36 layers" in window.panel.verdict.headline.text()
    assert "routed experts of layers 0–35" in window.panel.memory.tooltip_for(HOST_BAR)
    window.undo_stack.undo()
    window.evaluate_now()
    assert window.latest_report.host is None and spin.value() == 0


def test_a_server_names_its_host_only_when_set_or_when_the_plan_keeps_layers_there():
    """A DGX with no host set does not claim the offload model's default desktop on its header; once
    the plan keeps layers in system RAM, or the user sets the host, the header names it."""
    from gpuplanner.drawing.labels import Labels
    from gpuplanner.drawing.scene import RackScene

    plan = quick_plan(model="llama-3.1-8b", gpu="rtx-4090", weights="gguf-q4_k_m", engine="llamacpp")
    scene = RackScene(Labels(default_catalog()))
    scene.sync(plan)
    item = scene.nodes[plan.rig.nodes[0].id]
    drawn: list[str] = []

    def texts() -> list[str]:
        from PySide6.QtGui import QImage, QPainter

        image = QImage(800, 600, QImage.Format.Format_ARGB32)
        painter = QPainter(image)
        original = painter.drawText
        drawn.clear()

        def record(*args):
            drawn.extend(a for a in args if isinstance(a, str))
            return original(*args)

        painter.drawText = record  # type: ignore[method-assign]
        item.paint(painter, None, None)
        painter.end()
        return [t for t in drawn if t.startswith("Host:")]

    assert texts() == []
    offloading = with_offload(plan, HostOffload(layers=4, host="am5-ddr5-5200"))
    scene.sync(offloading)
    assert texts() and texts()[0].startswith("Host: AM5")
