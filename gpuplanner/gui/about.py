"""The About dialog, the app's identity (icon, name, version) and the facts both show.

``prepare_application(app)`` is the one call the start-up code makes after creating the
``QApplication``: it registers the bundled fonts, sets the window icon and the names the desktop uses to
match windows to ``gpuplanner.desktop``. ``AboutDialog`` shows the version, the licence, the catalogs'
date, the Qt and PySide6 versions and links to the user folders.

Run ``python -m gpuplanner.gui.about`` to see the dialog on its own.
"""

from __future__ import annotations

import importlib.metadata
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

import PySide6
from PySide6.QtCore import Qt, QUrl, qVersion
from PySide6.QtGui import QDesktopServices, QGuiApplication, QIcon
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

import gpuplanner
from gpuplanner import paths
from gpuplanner.drawing.fonts import register_bundled_fonts

APP_NAME = "gpuplanner"
ORGANIZATION = "gpuplanner"
DESKTOP_FILE = "gpuplanner"  # matches packaging/linux/gpuplanner.desktop
ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)

_MIT_SUMMARY = (
    "MIT License. Copyright (c) 2026 The gpuplanner authors.\n\n"
    "The full text is in the LICENSE file of the source distribution."
)

THIRD_PARTY = (
    ("Qt 6 and PySide6", "LGPL-3.0 (the Qt libraries ship as separate shared libraries you may replace)"),
    ("pyqtgraph", "MIT"),
    ("NumPy", "BSD-3-Clause"),
    ("pydantic", "MIT"),
    ("DejaVu fonts", "Bitstream Vera / Arev licences, DejaVu changes public domain (text below)"),
)


def _icon(context: str, name: str) -> QIcon:
    icon = QIcon()
    try:
        hicolor = paths.resources_dir() / "icons" / "hicolor"
    except FileNotFoundError:
        return icon
    for size in ICON_SIZES:
        png = hicolor / f"{size}x{size}" / context / f"{name}.png"
        if png.is_file():
            icon.addFile(str(png))
    return icon


def app_icon() -> QIcon:
    """The gpuplanner icon at every bundled size (an empty icon if the resources are missing)."""
    return _icon("apps", "gpuplanner")


def document_icon() -> QIcon:
    """The icon of a ``.gpuplan`` file, for file dialogs and recent-file menus."""
    return _icon("mimetypes", "application-x-gpuplanner-plan")


def prepare_application(app: QApplication) -> list[str]:
    """Give a new ``QApplication`` the app's identity and fonts; returns the bundled font families.

    Call it right after creating the application and before building the first window.
    """
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationVersion(gpuplanner.__version__)
    app.setApplicationDisplayName(APP_NAME)
    QGuiApplication.setDesktopFileName(DESKTOP_FILE)
    icon = app_icon()
    if not icon.isNull():
        app.setWindowIcon(icon)
    return register_bundled_fonts()


def catalogs_date() -> str:
    """The date the built-in catalogs were last reviewed (``catalogs/CATALOG_DATE.txt``), or 'unknown'."""
    try:
        folder = paths.catalogs_dir()
    except FileNotFoundError:
        return "unknown"
    for name in ("CATALOG_DATE.txt", "VERSION"):
        path = folder / name
        if path.is_file():
            lines = path.read_text(encoding="utf-8").strip().splitlines()
            if lines:
                return lines[0].strip()
    return "unknown"


def _first_readable(candidates: list[Path]) -> str | None:
    for path in candidates:
        if path.is_file():
            return path.read_text(encoding="utf-8", errors="replace")
    return None


def license_text() -> str:
    """The MIT licence of gpuplanner: from the checkout, the frozen app or the wheel's metadata."""
    candidates = [Path(__file__).resolve().parents[2] / "LICENSE"]
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        candidates.insert(0, Path(frozen_root) / "LICENSE")
    text = _first_readable(candidates)
    if text:
        return text
    try:
        dist = importlib.metadata.distribution("gpuplanner")
        for name in ("licenses/LICENSE", "LICENSE"):
            text = dist.read_text(name)
            if text:
                return text
    except importlib.metadata.PackageNotFoundError:
        pass
    return _MIT_SUMMARY


def font_license_text() -> str:
    """The licence of the bundled DejaVu fonts, or an empty string when they are not bundled."""
    try:
        path = paths.resources_dir() / "fonts" / "LICENSE-DejaVu.txt"
    except FileNotFoundError:
        return ""
    return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""


@dataclass(frozen=True)
class AboutInfo:
    version: str
    catalogs_date: str
    qt_version: str
    pyside_version: str
    python_version: str
    platform: str
    frozen: bool
    user_data_dir: Path
    user_models_dir: Path

    def lines(self) -> list[str]:
        """The facts as 'label: value' lines (the dialog's text and the self-test's output)."""
        build = "packaged app" if self.frozen else "Python package"
        return [
            f"gpuplanner {self.version} ({build})",
            f"Catalogs: {self.catalogs_date}",
            f"Qt {self.qt_version}, PySide6 {self.pyside_version}, Python {self.python_version}",
            f"Platform: {self.platform}",
            f"User data: {self.user_data_dir}",
        ]


def about_info() -> AboutInfo:
    """What the About dialog shows, gathered without building any widget."""
    return AboutInfo(
        version=gpuplanner.__version__,
        catalogs_date=catalogs_date(),
        qt_version=qVersion(),
        pyside_version=PySide6.__version__,
        python_version=platform.python_version(),
        platform=platform.platform(terse=True),
        frozen=bool(getattr(sys, "frozen", False)),
        user_data_dir=paths.user_data_dir(),
        user_models_dir=paths.user_models_dir(),
    )


def _folder_link(path: Path) -> str:
    url = QUrl.fromLocalFile(str(path)).toString()
    return f'<a href="{url}">{path}</a>'


class AboutDialog(QDialog):
    """Version, licence, catalogs' date, Qt/PySide6 versions and the user folders."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle("About gpuplanner")
        self.info = about_info()

        header = QHBoxLayout()
        logo = QLabel()
        logo.setObjectName("aboutLogo")
        icon = app_icon()
        if not icon.isNull():
            logo.setPixmap(icon.pixmap(64, 64))
        header.addWidget(logo, 0, Qt.AlignmentFlag.AlignTop)
        title = QLabel(
            f"<h2>gpuplanner {self.info.version}</h2>"
            "<p>Plan how a large language model runs on several GPUs: memory fit, speed and topology.</p>"
        )
        title.setWordWrap(True)
        header.addWidget(title, 1)

        facts = QLabel(self._facts_html())
        facts.setObjectName("aboutFacts")
        facts.setTextFormat(Qt.TextFormat.RichText)
        facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        facts.setOpenExternalLinks(False)
        facts.linkActivated.connect(self._open_link)

        tabs = QTabWidget()
        tabs.setObjectName("aboutTabs")
        tabs.addTab(self._text_tab(license_text(), "aboutLicense"), "Licence")
        third = "\n".join(f"{name}: {licence}" for name, licence in THIRD_PARTY)
        fonts = font_license_text()
        if fonts:
            third += "\n\n--- DejaVu fonts ---\n\n" + fonts
        tabs.addTab(self._text_tab(third, "aboutThirdParty"), "Third-party")

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(facts)
        layout.addWidget(tabs, 1)
        layout.addWidget(buttons)
        self.resize(560, 520)

    def _facts_html(self) -> str:
        info = self.info
        build = "packaged app" if info.frozen else "Python package"
        rows = [
            ("Version", f"{info.version} ({build})"),
            ("Catalogs", info.catalogs_date),
            ("Qt", info.qt_version),
            ("PySide6", info.pyside_version),
            ("Python", info.python_version),
            ("User data", _folder_link(info.user_data_dir)),
            ("Imported models", _folder_link(info.user_models_dir)),
        ]
        cells = "".join(
            f"<tr><td><b>{label}</b>&nbsp;&nbsp;</td><td>{value}</td></tr>" for label, value in rows
        )
        return f"<table>{cells}</table>"

    @staticmethod
    def _text_tab(text: str, name: str) -> QPlainTextEdit:
        view = QPlainTextEdit(text)
        view.setObjectName(name)
        view.setReadOnly(True)
        view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)  # licence texts are laid out in 80 columns
        return view

    def _open_link(self, link: str) -> None:
        url = QUrl(link)
        if url.isLocalFile():
            # the folder may not exist yet on a first run; create it so the file manager has something to show
            Path(url.toLocalFile()).mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(url)


def show_about(parent: QWidget | None = None) -> AboutDialog:
    """Open the About dialog (modal to ``parent``) and return it; the window's Help ▸ About calls this."""
    dialog = AboutDialog(parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog


if __name__ == "__main__":
    _app = QApplication.instance() or QApplication(sys.argv)
    prepare_application(_app)
    AboutDialog().exec()
