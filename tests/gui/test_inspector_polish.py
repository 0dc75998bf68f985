"""The inspector as issue 14 asks: a sorted, searchable model picker with sizes, a width that shows the
plan's name, and a selection that brings its properties into view."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox


def test_model_picker_is_sorted_searchable_and_shows_sizes(main_window):
    combo = main_window.inspector.findChild(QComboBox, "modelCombo")
    texts = [combo.itemText(i) for i in range(combo.count())]
    assert texts == sorted(texts, key=str.casefold)
    # Llama 3.1 70B: 70.6 B parameters (its model card); the picker shows the size after the name
    llama = next(t for t in texts if t.startswith("Llama 3.1 70B Instruct"))
    assert llama.endswith(" B") and "70.6 B" in llama
    assert combo.isEditable()
    finder = combo.completer()
    assert finder.filterMode() == Qt.MatchFlag.MatchContains
    assert finder.caseSensitivity() == Qt.CaseSensitivity.CaseInsensitive
    finder.setCompletionPrefix("405b")
    assert finder.completionCount() >= 1
    assert "405B" in finder.currentCompletion()


def test_selecting_a_gpu_scrolls_its_properties_into_view(main_window, qtbot):
    from gpuplanner.drawing.scene import Selection

    inspector = main_window.inspector
    inspector.verticalScrollBar().setValue(inspector.verticalScrollBar().maximum())
    gpu = main_window.document.plan.rig.gpu_ids()[0]
    main_window.select(Selection(gpus=(gpu,)))
    qtbot.wait(10)
    section = inspector.selection_section
    top = section.mapTo(inspector.widget(), section.rect().topLeft()).y()
    assert inspector.verticalScrollBar().value() <= top


def test_several_selected_items_keep_the_inspector_inside_its_dock(main_window, qtbot):
    from gpuplanner.drawing.scene import Selection

    plan = main_window.document.plan
    main_window.select(Selection(nodes=(plan.rig.nodes[0].id,), gpus=tuple(plan.rig.gpu_ids()[:3])))
    qtbot.wait(10)
    inspector = main_window.inspector
    assert inspector.widget().minimumSizeHint().width() <= inspector.minimumWidth()
    assert inspector.widget().width() <= inspector.viewport().width()


def test_name_and_model_are_not_cut_in_a_narrow_inspector(main_window, qtbot):
    """At 1280×720 the inspector is about 300 px wide: the name and model rows put their field under the
    label with the whole width, not a field too narrow for its text."""
    main_window.resize(1280, 660)
    main_window.adapt_layout()
    qtbot.wait(50)
    section = main_window.inspector.plan_section
    assert section.name.width() >= 210 and section.model.width() >= 210
