"""Where the catalogs, resources and user data live.

One place answers it for a source checkout, an editable install, an installed wheel
(``gpuplanner/_data``) and the frozen app (PyInstaller's ``sys._MEIPASS``).
"""

from __future__ import annotations

import os
import sys
from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _candidates(name: str) -> list[Path]:
    found: list[Path] = []
    override = os.environ.get(f"GPUPLANNER_{name.upper()}_DIR")
    if override:
        found.append(Path(override))
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        found.append(Path(frozen_root) / name)
    found.append(_PACKAGE_DIR / "_data" / name)  # installed wheel
    found.append(_PACKAGE_DIR.parent / name)  # source checkout or editable install
    return found


@cache
def _locate(name: str) -> Path:
    for path in _candidates(name):
        if path.is_dir():
            return path
    tried = ", ".join(str(p) for p in _candidates(name))
    raise FileNotFoundError(
        f"gpuplanner cannot find its {name}/ folder (looked in: {tried}); reinstall the app"
    )


def catalogs_dir() -> Path:
    """The folder holding the built-in catalogs (gpus.toml, models/, examples/ ...)."""
    return _locate("catalogs")


def resources_dir() -> Path:
    """The folder holding icons, styles and fonts."""
    return _locate("resources")


def examples_dir() -> Path:
    return catalogs_dir() / "examples"


MEASUREMENTS_FILE = "measurements.csv"


def measurements_csv() -> Path:
    """The published measurements (``catalogs/measurements.csv``): the rows the calibration cites and
    the speed coverage of :mod:`gpuplanner.core.coverage` reads. It ships with the catalogs, so a wheel
    and the frozen app carry it."""
    return catalogs_dir() / MEASUREMENTS_FILE


def user_data_dir() -> Path:
    """Per-user data (settings, recent files, autosave, imported models), in the platform's usual place.

    ``GPUPLANNER_USER_DIR`` overrides it (tests isolate themselves with it).
    """
    override = os.environ.get("GPUPLANNER_USER_DIR")
    if override:
        path = Path(override)
    elif sys.platform == "win32":
        path = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming")) / "gpuplanner"
    elif sys.platform == "darwin":
        path = Path.home() / "Library" / "Application Support" / "gpuplanner"
    else:
        path = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "gpuplanner"
    return path


def user_cache_dir() -> Path:
    """Files rebuilt whenever they are missing or stale (the validated catalog: ``core.catalog_cache``)."""
    return user_data_dir() / "cache"


def user_models_dir() -> Path:
    """Where ``gpuplanner import-model`` keeps imported model specs."""
    return user_data_dir() / "models"


def user_gpus_dir() -> Path:
    """Where ``gpuplanner catalog add-gpu`` keeps custom (user-defined) GPUs."""
    return user_data_dir() / "gpus"


def user_calibration_file() -> Path:
    """Where ``gpuplanner calibrate`` keeps the factors fitted to the user's own measurements."""
    return user_data_dir() / "calibration.json"
