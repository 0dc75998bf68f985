"""The inspector: the selection's properties and the plan's settings, edited in place with undo."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QLabel, QSpinBox


def combo_select(combo: QComboBox, data: object) -> None:
    index = combo.findData(data)
    assert index >= 0, data
    combo.setCurrentIndex(index)


def test_selecting_a_gpu_shows_its_model_and_changing_it_swaps_the_card(rig_window):
    rig_window.scene.gpus["g1"].setSelected(True)
    combo = rig_window.inspector.findChild(QComboBox, "gpuModelCombo")
    assert combo.isVisible() and combo.currentData() == "h100-sxm"
    combo_select(combo, "h200-sxm")
    assert rig_window.document.gpu("g1")[1].gpu == "h200-sxm"
    assert rig_window.undo_stack.text(0) == "Change GPU model"
    rig_window.undo_stack.undo()
    assert combo.currentData() == "h100-sxm"  # the widget follows the document


def test_slot_spin_moves_the_gpu(rig_window):
    rig_window.scene.gpus["g1"].setSelected(True)
    spin = rig_window.inspector.findChild(QSpinBox, "gpuSlotSpin")
    spin.setValue(7)
    assert rig_window.document.gpu("g1")[1].slot == 7


def test_link_kind_offers_only_what_both_ends_support(rig_window):
    rig_window.scene.links["l0"].setSelected(True)
    combo = rig_window.inspector.findChild(QComboBox, "linkKindCombo")
    kinds = [combo.itemData(i) for i in range(combo.count())]
    assert kinds[0] == "nvlink4" and not any(k.startswith("nvlink3") for k in kinds)
    combo_select(combo, "pcie5-x16-switch")
    assert rig_window.document.link("l0").kind == "pcie5-x16-switch"


def test_node_network_cards(rig_window):
    rig_window.scene.nodes["n1"].setSelected(True)
    combo_select(rig_window.inspector.findChild(QComboBox, "nodeNicCombo"), "ib-ndr")
    rig_window.inspector.findChild(QSpinBox, "nodeNicsSpin").setValue(4)
    node = rig_window.document.node("n1")
    assert (node.nic, node.nics) == ("ib-ndr", 4)


def test_plan_settings_push_undoable_commands(main_window):
    inspector = main_window.inspector
    combo_select(inspector.findChild(QComboBox, "kvCacheCombo"), "fp8")
    assert main_window.document.plan.kv_cache == "fp8"
    spin = inspector.findChild(QSpinBox, "concurrencySpin")
    for value in (40, 41, 42):
        spin.setValue(value)
    assert main_window.document.plan.workload.concurrency == 42
    assert main_window.undo_stack.count() == 2  # the spin box edits merged into one step
    main_window.undo_stack.undo()
    assert main_window.document.plan.workload.concurrency == 32 and spin.value() == 32


def test_model_change_stretches_the_layout(main_window):
    combo_select(main_window.inspector.findChild(QComboBox, "modelCombo"), "meta-llama/Llama-3.1-8B-Instruct")
    plan = main_window.document.plan
    assert plan.model == "meta-llama/Llama-3.1-8B-Instruct"
    assert plan.layout.replicas[0].stages[-1].layers[1] == 32


def test_quick_layout_applies_and_refuses_impossible_degrees(main_window):
    inspector = main_window.inspector
    tp, pp = inspector.findChild(QSpinBox, "tpSpin"), inspector.findChild(QSpinBox, "ppSpin")
    tp.setValue(4)
    pp.setValue(2)
    inspector.plan_section.apply_layout.click()
    layout = main_window.document.plan.layout
    assert (layout.tp, layout.pp) == (4, 2)
    tp.setValue(8)
    inspector.plan_section.apply_layout.click()
    error = inspector.findChild(QLabel, "planError")
    assert error.isVisible() and "needs 16 GPUs" in error.text()
    assert main_window.document.plan.layout == layout


def test_engine_that_cannot_load_the_weights_is_flagged_in_place(main_window):
    combo_select(main_window.inspector.findChild(QComboBox, "weightsCombo"), "gguf-q4_k_m")
    error = main_window.inspector.findChild(QLabel, "planError")
    assert error.isVisible() and "does not load" in error.text()


def test_invalid_value_is_explained_and_nothing_changes(rig_window):
    rig_window.scene.nodes["n0"].setSelected(True)
    spin = rig_window.inspector.selection_section.node_slots
    before = rig_window.document.plan
    spin.setValue(2)  # the server holds GPUs in slots 0-3
    assert rig_window.document.plan == before
    error = rig_window.inspector.findChild(QLabel, "inspectorError")
    assert error.isVisible() and "slots beyond 2" in error.text()
    assert spin.value() == 8
