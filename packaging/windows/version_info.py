"""The Windows version resource of gpuplanner.exe, written from ``gpuplanner.__version__``.

The spec writes it with ``write_version_file()`` into PyInstaller's work folder and passes the path to
``EXE(version=...)`` (Windows only). The file is PyInstaller's text format, the one ``pyi-grab_version``
prints: a ``VSVersionInfo(...)`` expression. It is produced as text so that it can be made and tested on
any system (PyInstaller's own classes need ``pefile``, which only Windows installs).

    python packaging/windows/version_info.py      # print it
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def app_version() -> str:
    """``__version__`` read from gpuplanner/__init__.py without importing the package."""
    text = (REPO / "gpuplanner" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__\s*=\s*"([^"]+)"', text, re.MULTILINE)
    if not match:
        raise RuntimeError('gpuplanner/__init__.py has no __version__ = "..." line')
    return match.group(1)


def version_tuple(version: str) -> tuple[int, int, int, int]:
    """'1.2.3rc1' -> (1, 2, 3, 1): Windows wants four 16-bit numbers."""
    numbers = [min(int(part), 0xFFFF) for part in re.findall(r"\d+", version.split("+")[0])[:4]]
    padded = [*numbers, 0, 0, 0, 0][:4]
    return (padded[0], padded[1], padded[2], padded[3])


def version_info_text(version: str | None = None) -> str:
    """The version resource as PyInstaller's text format."""
    version = version or app_version()
    numbers = version_tuple(version)
    strings = {
        "CompanyName": "The gpuplanner authors",
        "FileDescription": "gpuplanner - plan how an LLM runs on several GPUs",
        "FileVersion": version,
        "InternalName": "gpuplanner",
        "LegalCopyright": "Copyright (c) 2026 The gpuplanner authors. MIT License.",
        "OriginalFilename": "gpuplanner.exe",
        "ProductName": "gpuplanner",
        "ProductVersion": version,
    }
    string_lines = ",\n".join(f"          StringStruct({key!r}, {value!r})" for key, value in strings.items())
    return f"""# UTF-8
# Windows version resource of gpuplanner.exe (written by packaging/windows/version_info.py)
VSVersionInfo(
  ffi=FixedFileInfo(
    filevers={numbers!r},
    prodvers={numbers!r},
    mask=0x3f,
    flags=0x0,
    OS=0x40004,
    fileType=0x1,
    subtype=0x0,
    date=(0, 0)
  ),
  kids=[
    StringFileInfo(
      [
        StringTable(
          '040904B0',
          [
{string_lines}
          ]
        )
      ]
    ),
    VarFileInfo([VarStruct('Translation', [1033, 1200])])
  ]
)
"""


def write_version_file(path: Path, version: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(version_info_text(version), encoding="utf-8")
    return path


if __name__ == "__main__":
    sys.stdout.write(version_info_text())
