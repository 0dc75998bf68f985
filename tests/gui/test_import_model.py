"""File ▸ Import Model…: a config.json becomes the plan's model, undoably, and the plan carries it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpuplanner.core.catalog import default_catalog
from gpuplanner.document.planfile import load_plan
from gpuplanner.gui.import_model import import_model

CONFIG = (
    Path(__file__).resolve().parents[1] / "data" / "hf_configs" / "mistralai--Mixtral-8x7B-Instruct-v0.1.json"
)


@pytest.fixture
def window(main_window):
    default_catalog.cache_clear()
    yield main_window
    default_catalog.cache_clear()


def test_import_switches_the_model_and_undo_restores_it(window, tmp_path):
    config = json.loads(CONFIG.read_text())
    config["_name_or_path"] = "my-lab/mixtral-copy"
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    before = window.document.plan
    assert "Import Model…" in [
        a.text().replace("&", "") for a in window.menuBar().actions()[0].menu().actions()
    ]

    assert import_model(window, window.editor, path)
    plan = window.document.plan
    assert plan.model == "my-lab/mixtral-copy"
    assert plan.model_spec is not None and plan.model_spec.moe is not None
    assert plan.model_spec.moe.num_experts == 8  # Mixtral config: num_local_experts 8
    assert window.catalog.model("my-lab/mixtral-copy") is not None
    report = window.evaluate_now()
    assert report is not None and report.model == "my-lab/mixtral-copy"

    saved = tmp_path / "with-import.gpuplan"
    window.save_plan(saved)
    assert load_plan(saved).model_spec == plan.model_spec  # the file carries the architecture

    window.undo_stack.undo()
    assert window.document.plan == before


def test_a_config_without_the_basics_is_a_message_not_a_crash(window, tmp_path, no_dialogs):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"model_type": "llama"}))
    before = window.document.plan
    assert not import_model(window, window.editor, path)
    assert no_dialogs and "num_hidden_layers" in no_dialogs[-1][1]
    assert window.document.plan == before


def test_a_finder_file_open_event_opens_the_plan(main_window, rig_file, qtbot):
    """macOS delivers a double-clicked .gpuplan as a QFileOpenEvent, not as an argument."""
    from PySide6.QtGui import QFileOpenEvent
    from PySide6.QtWidgets import QApplication

    from gpuplanner.gui.app import _FileOpenFilter

    opener = _FileOpenFilter(main_window, main_window)
    QApplication.instance().installEventFilter(opener)
    try:
        QApplication.sendEvent(QApplication.instance(), QFileOpenEvent(str(rig_file)))
        assert main_window.document.plan.name == "Hand-made"
        assert main_window.path == rig_file
    finally:
        QApplication.instance().removeEventFilter(opener)
