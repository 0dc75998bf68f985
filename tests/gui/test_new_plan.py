"""File ▸ New starts afresh: ids from the new plan, no layer-map stage of the old model, the empty-canvas
hint wiped once a server arrives; Ctrl+N is New Empty Rig, as the README's shortcut table says."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF
from PySide6.QtGui import QKeySequence

from gpuplanner.gui import files
from gpuplanner.gui.mime import CatalogItemRef

README = Path(__file__).resolve().parents[2] / "README.md"


def test_new_empty_rig_numbers_from_zero_and_shows_no_old_stage(main_window):
    window = main_window
    window.controller.drop(CatalogItemRef("node", "dgx-h100"), QPointF(2000, 0))  # n1 and g1_* exist now
    assert files.new_plan(window, None)
    window.evaluate_now()
    assert window.document.plan.rig.nodes == ()
    assert window.panel.layer_map.data is None  # the old model's stage is gone
    assert "No GPUs" in window.panel.layer_map.message
    window.controller.drop(CatalogItemRef("node", "dgx-h100"), QPointF(0, 0))
    node = window.document.plan.rig.nodes[0]
    assert node.id == "n0"
    assert node.gpus[0].id.startswith("g0")
    assert window.panel.layer_map.data is not None


def test_ctrl_n_is_new_empty_rig_in_the_menu_and_the_readme(main_window):
    action = main_window.actions.by_name["actionNew"]
    assert action.shortcut() == QKeySequence(QKeySequence.StandardKey.New)
    assert "Empty" in action.text()
    row = next(line for line in README.read_text(encoding="utf-8").splitlines() if "| Ctrl+N |" in line)
    assert "empty rig" in row


def test_a_dropped_card_gets_its_own_pcie_generation(main_window):
    """An RTX 4090 is a PCIe 4.0 x16 card (NVIDIA's RTX 4090 specifications) in a desktop board without
    a PCIe switch: its new server is wired through the CPU at PCIe 4.0, as the wiring menu offers; an
    H100 PCIe card is PCIe 5.0 (NVIDIA H100 datasheet) behind a server's switch."""
    window = main_window
    files.new_plan(window, None)
    window.controller.drop(CatalogItemRef("gpu", "rtx-4090"), QPointF(0, 0))
    assert window.document.plan.rig.nodes[0].host_link == "pcie4-x16-cpu"
    window.controller.drop(CatalogItemRef("gpu", "h100-pcie"), QPointF(3000, 0))
    assert window.document.plan.rig.nodes[1].host_link == "pcie5-x16-switch"
