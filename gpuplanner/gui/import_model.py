"""File ▸ Import Model…: add a model from its Hugging Face config.json and use it in the plan."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

from gpuplanner.core.catalog import default_catalog
from gpuplanner.core.errors import PlannerError
from gpuplanner.core.hf_import import import_model_file
from gpuplanner.gui import commands as cmd
from gpuplanner.gui import dialogs
from gpuplanner.gui.editor import Editor

CONFIG_FILTER = "Hugging Face config (config.json *.json);;All files (*)"


def import_model(parent: QWidget, editor: Editor, path: Path) -> bool:
    """Import ``path`` into the user's models, add it to the window's catalog and switch the plan to it.

    The plan embeds the model's architecture, so the plan file opens on machines that never imported
    it. One undoable command; a config gpuplanner cannot model gives a message naming the missing fields.
    """
    try:
        spec, _saved = import_model_file(path)
    except PlannerError as exc:
        dialogs.show_error(parent, "Import model", str(exc))
        return False
    editor.catalog.add_user_model(spec)
    default_catalog.cache_clear()  # later catalogs (a new window, the PDF) read the user folder again
    editor.push(lambda: cmd.set_model_command(editor.document, spec.id, spec.num_layers, model_spec=spec))
    editor.notify(f"Imported {spec.name}: {spec.num_layers} layers, hidden {spec.hidden_size}")
    return True


def import_model_interactive(parent: QWidget, editor: Editor) -> None:
    path, _ = QFileDialog.getOpenFileName(parent, "Import a model's config.json", "", CONFIG_FILTER)
    if path:
        import_model(parent, editor, Path(path))
