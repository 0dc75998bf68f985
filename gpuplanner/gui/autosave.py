"""Autosave: unsaved work is written to the user folder a few seconds after each edit and offered back
when the app starts after a session that did not close normally (a crash, a killed process)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QObject, QTimer

from gpuplanner.core.errors import PlannerError
from gpuplanner.core.limits import parse_json
from gpuplanner.core.plan import Plan
from gpuplanner.document.planfile import load_plan, save_plan
from gpuplanner.paths import user_data_dir

AUTOSAVE_DELAY_MS = 3000


def autosave_dir() -> Path:
    return user_data_dir() / "autosave"


def _files() -> tuple[Path, Path]:
    folder = autosave_dir()
    return folder / "autosave.gpuplan", folder / "autosave.json"


class Autosave(QObject):
    """Writes the plan given by ``current()`` after edits pause; ``discard()`` on save or clean close."""

    def __init__(self, current: Callable[[], tuple[Plan, str | None]], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._current = current
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(AUTOSAVE_DELAY_MS)
        self._timer.timeout.connect(self.write_now)

    def schedule(self) -> None:
        self._timer.start()

    def write_now(self) -> None:
        plan, source = self._current()
        plan_file, meta = _files()
        try:
            plan_file.parent.mkdir(parents=True, exist_ok=True)
            save_plan(plan, plan_file)
            meta.write_text(
                json.dumps({"source": source, "saved": datetime.now().isoformat(timespec="seconds")})
            )
        except (OSError, PlannerError):
            pass  # autosave is a safety net; failing to write it must not disturb the person's work

    def discard(self) -> None:
        self._timer.stop()
        for path in _files():
            path.unlink(missing_ok=True)


def pending_autosave() -> tuple[Plan, str | None, str] | None:
    """(plan, original path, description) left by an unclean exit, or None."""
    plan_file, meta = _files()
    if not plan_file.is_file():
        return None
    try:
        plan = load_plan(plan_file)
        info = parse_json(meta.read_text(encoding="utf-8")) if meta.is_file() else {}
    except (OSError, ValueError, PlannerError):
        return None
    if not isinstance(info, dict):
        info = {}  # a damaged note: the plan itself is still worth offering
    source = info.get("source")
    description = (
        f"“{plan.name}”" + (f" from {source}" if source else "") + f", saved {info.get('saved', 'recently')}"
    )
    return plan, source, description
