"""File ▸ Export PDF… (Ctrl+E) in the window: same document as the command line, errors as dialogs."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QKeySequence

from export.conftest import pdf_text
from gpuplanner.export.pdf import export_plan_pdf
from gpuplanner.gui import export_action as export_window


@pytest.fixture
def answer(monkeypatch):
    """Set what the save dialog answers: (path, page size) or None for Cancel."""
    answers = []
    monkeypatch.setattr(export_window, "ask_pdf_path", lambda parent, suggested: answers[-1])
    return answers


def test_the_file_menu_has_export_pdf_on_ctrl_e(main_window):
    action = main_window.actions.by_name["actionExportPdf"]
    assert action in main_window.actions.file_menu.actions()
    assert action.shortcut() == QKeySequence("Ctrl+E")
    names = [a.objectName() for a in main_window.actions.file_menu.actions() if a.objectName()]
    assert names.index("actionExportPdf") < names.index("actionQuit")


@pytest.mark.usefixtures("poppler")
def test_export_from_the_menu_is_the_command_lines_document(main_window, answer, tmp_path, qapp):
    answer.append((tmp_path / "window.pdf", "letter"))
    main_window.actions.by_name["actionExportPdf"].trigger()
    assert (tmp_path / "window.pdf").is_file()
    assert "Exported" in main_window.statusBar().currentMessage()
    same = export_plan_pdf(main_window.document.plan, tmp_path / "cli.pdf", page_size="letter")
    assert pdf_text(tmp_path / "window.pdf") == pdf_text(same)


def test_a_missing_folder_is_a_dialog_with_the_fix(main_window, answer, tmp_path, no_dialogs):
    answer.append((tmp_path / "missing" / "plan.pdf", "a4"))
    main_window.actions.by_name["actionExportPdf"].trigger()
    assert len(no_dialogs) == 1
    title, message = no_dialogs[0]
    assert title == "Export PDF" and "does not exist" in message and "Fix: " in message
    assert not (tmp_path / "missing").exists()


def test_cancelling_the_dialog_writes_nothing(main_window, answer, tmp_path, no_dialogs):
    answer.append(None)
    main_window.actions.by_name["actionExportPdf"].trigger()
    assert not no_dialogs and not list(tmp_path.glob("*.pdf"))


def test_suggested_name_and_paper(main_window):
    assert export_window.suggested_path(main_window).suffix == ".pdf"
    assert export_window.default_page_size() in ("a4", "letter")
