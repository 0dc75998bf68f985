"""Settings (recent files, window layout) in one INI file in the user folder.

Keeping it under ``paths.user_data_dir()`` (not Qt's per-organisation default) means one variable,
``GPUPLANNER_USER_DIR``, isolates tests and portable installs completely.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

from gpuplanner.paths import user_data_dir

MAX_RECENT = 8


def app_settings() -> QSettings:
    folder = user_data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)


def recent_files() -> list[str]:
    """Recently opened or saved plans that still exist, newest first."""
    value = app_settings().value("recentFiles", [])
    paths = [value] if isinstance(value, str) else list(value or [])
    return [p for p in paths if Path(p).is_file()][:MAX_RECENT]


def add_recent_file(path: str | Path) -> None:
    resolved = str(Path(path).resolve())
    paths = [resolved, *(p for p in recent_files() if p != resolved)][:MAX_RECENT]
    settings = app_settings()
    settings.setValue("recentFiles", paths)
    settings.sync()


def clear_recent_files() -> None:
    settings = app_settings()
    settings.remove("recentFiles")
    settings.sync()
