"""Files: save and reopen, close with unsaved changes, recent files, autosave after a crash, templates."""

from __future__ import annotations

from rackhelpers import drop_at, palette_mime, slot_centre

from gpuplanner.document.planfile import load_plan
from gpuplanner.gui import create_main_window, dialogs
from gpuplanner.gui.autosave import autosave_dir, pending_autosave
from gpuplanner.gui.recent import recent_files


def test_save_and_reopen_gives_the_same_plan(rig_window, tmp_path, qtbot):
    drop_at(rig_window, slot_centre(rig_window, "n0", 6), palette_mime(rig_window, "gpu", "h200-sxm"))
    rig_window.scene.gpus["g2"].setSelected(True)
    rig_window.delete_selection()
    assert rig_window.is_dirty()
    path = tmp_path / "saved.gpuplan"
    assert rig_window.save_plan(path)
    assert not rig_window.is_dirty() and rig_window.windowTitle() == "saved.gpuplan — gpuplanner"
    assert load_plan(path) == rig_window.document.plan
    other = create_main_window(path)
    qtbot.addWidget(other)
    assert other.document.plan == rig_window.document.plan
    assert set(other.scene.gpus) == set(rig_window.scene.gpus)
    assert str(path.resolve()) in recent_files()


def test_recent_menu_lists_saved_files(rig_window, tmp_path):
    path = tmp_path / "recent.gpuplan"
    rig_window.save_plan(path)
    texts = [a.text() for a in rig_window.actions.recent_menu.actions()]
    assert "recent.gpuplan" in texts


def test_save_action_without_a_file_asks_for_one(main_window, tmp_path, monkeypatch):
    main_window.actions.by_name["actionNew"].trigger()
    target = tmp_path / "asked.gpuplan"
    monkeypatch.setattr(dialogs, "ask_save_path", lambda parent, suggested: str(target))
    main_window.actions.by_name["actionSave"].trigger()
    assert target.is_file() and main_window.path == target


def test_close_with_unsaved_changes_asks_and_cancel_keeps_the_window(rig_window, monkeypatch):
    asked = []
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda parent, name: asked.append(name) or "cancel")
    rig_window.scene.gpus["g0"].setSelected(True)
    rig_window.delete_selection()
    assert not rig_window.close()
    assert asked == ["hand-made.gpuplan"] and rig_window.isVisible()
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda parent, name: "discard")
    assert rig_window.close()


def test_close_without_changes_does_not_ask(rig_window, monkeypatch):
    monkeypatch.setattr(
        dialogs, "ask_save_changes", lambda parent, name: (_ for _ in ()).throw(AssertionError)
    )
    assert rig_window.close()


def test_open_a_broken_file_shows_a_message_and_keeps_the_plan(rig_window, tmp_path, no_dialogs):
    broken = tmp_path / "broken.gpuplan"
    broken.write_text("{ not json")
    before = rig_window.document.plan
    assert not rig_window.open_plan(broken)
    assert rig_window.document.plan == before
    assert no_dialogs and no_dialogs[-1][0] == "Cannot open plan" and "broken.gpuplan" in no_dialogs[-1][1]


def test_autosave_is_offered_back_after_a_crash(rig_window, qtbot, monkeypatch):
    rig_window.scene.gpus["g0"].setSelected(True)
    rig_window.delete_selection()
    rig_window.autosave.write_now()  # the timer would do it a few seconds after the edit
    assert pending_autosave() is not None
    edited = rig_window.document.plan  # the process "dies" here: the next window finds the file
    monkeypatch.setattr(dialogs, "ask_restore", lambda parent, description: "hand-made" in description)
    restored = create_main_window(None)
    qtbot.addWidget(restored)
    assert restored.document.plan == edited and restored.is_dirty()
    assert restored.path is not None and restored.path.name == "hand-made.gpuplan"
    assert pending_autosave() is None


def test_saving_removes_the_autosave(rig_window, tmp_path):
    rig_window.scene.gpus["g0"].setSelected(True)
    rig_window.delete_selection()
    rig_window.autosave.write_now()
    assert any(autosave_dir().iterdir())
    rig_window.save_plan(tmp_path / "x.gpuplan")
    assert pending_autosave() is None


def test_new_from_template_opens_an_untitled_copy(main_window):
    actions = main_window.actions.new_menu.actions()
    assert len(actions) >= 3
    next(a for a in actions if "l40s" in a.text()).trigger()
    assert main_window.path is None
    assert "L40S" in main_window.document.plan.name or "l40s" in str(main_window.document.plan.rig)
    assert main_window.undo_stack.count() == 0
