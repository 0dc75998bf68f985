"""The packaged app: icons, fonts, About, the PyInstaller spec, the Linux desktop files and the .deb scripts.

The fast tests check the recipe's parts. The one marked ``packaging`` builds the one-folder app with
PyInstaller (about 30 s) and runs its ``--selftest``:

    .venv/bin/pytest -m packaging tests/test_packaging.py
"""

from __future__ import annotations

import ast
import importlib.util
import os
import plistlib
import re
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGING = REPO / "packaging"
ICONS = REPO / "resources" / "icons"
LINUX = PACKAGING / "linux"
HICOLOR_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
PLAN_MIME = "application/x-gpuplanner-plan"


def _load(relative: str):
    path = PACKAGING / relative
    spec = importlib.util.spec_from_file_location(f"packaging_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _desktop_entry() -> dict[str, str]:
    entry: dict[str, str] = {}
    for line in (LINUX / "gpuplanner.desktop").read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            entry[key] = value
    return entry


# --- the spec -------------------------------------------------------------------------------------


def test_spec_is_python_and_every_file_it_names_exists():
    text = (PACKAGING / "gpuplanner.spec").read_text(encoding="utf-8")
    ast.parse(text)  # a spec is Python; a syntax error would only show at build time
    helpers = re.findall(r'_load\("([^"]+)"\)', text)
    assert set(helpers) >= {"windows/version_info.py", "macos/info_plist.py", "prune.py"}
    for helper in helpers:
        assert (PACKAGING / helper).is_file(), helper
    assert (PACKAGING / "launcher.py").is_file()
    icons = set(re.findall(r'"(gpuplanner[\w-]*\.(?:ico|icns))"', text))
    assert icons >= {"gpuplanner.ico", "gpuplanner.icns", "gpuplanner-document.icns"}
    for icon in icons:
        assert (ICONS / icon).is_file(), icon
    for folder in re.findall(r'REPO / "(\w+)"', text):
        assert (REPO / folder).exists(), folder
    assert (REPO / "LICENSE").is_file()
    assert "QtWebEngineCore" in text and '"tkinter"' in text  # the big unused parts stay out


def _spec_excludes() -> list[str]:
    tree = ast.parse((PACKAGING / "gpuplanner.spec").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "EXCLUDES":
            return ast.literal_eval(node.value)
    raise AssertionError("the spec has no EXCLUDES list")


def test_the_app_imports_nothing_the_spec_excludes():
    """A module in EXCLUDES that the app imports breaks only the frozen app; catch it without building."""
    entry_points = ["gpuplanner.__main__", "gpuplanner.selftest", "gpuplanner.gui.main_window",
                    "gpuplanner.gui.about", "gpuplanner.export.pdf", "gpuplanner.cli.main"]  # fmt: skip
    code = (
        "import importlib, importlib.util, sys\n"
        f"for name in {entry_points!r}:\n"
        "    if importlib.util.find_spec(name) is not None:\n"
        "        importlib.import_module(name)\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO)
    assert run.returncode == 0, run.stderr
    loaded = set(run.stdout.split())
    excluded = _spec_excludes()
    clash = sorted(name for name in loaded if any(name == ex or name.startswith(ex + ".") for ex in excluded))
    assert clash == [], f"the app imports modules the spec excludes: {clash}"


def test_launcher_calls_the_console_entry_point():
    tree = ast.parse((PACKAGING / "launcher.py").read_text(encoding="utf-8"))
    imports = [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert any(node.module == "gpuplanner.__main__" and node.names[0].name == "main" for node in imports)


def test_windows_version_resource_matches_the_app_version():
    import gpuplanner

    version_info = _load("windows/version_info.py")
    assert version_info.app_version() == gpuplanner.__version__
    assert version_info.version_tuple("1.2.3rc4+local") == (1, 2, 3, 4)
    assert version_info.version_tuple("2") == (2, 0, 0, 0)
    text = version_info.version_info_text("1.2.3")
    expression = ast.parse(text, mode="eval").body  # PyInstaller eval()s the file: it must be one expression
    assert isinstance(expression, ast.Call) and expression.func.id == "VSVersionInfo"
    assert "filevers=(1, 2, 3, 0)" in text and "StringStruct('ProductVersion', '1.2.3')" in text


def test_macos_info_plist_declares_the_plan_document_type():
    info_plist = _load("macos/info_plist.py")
    keys = info_plist.info_plist("1.2.3")
    plistlib.loads(plistlib.dumps(keys))  # serialisable as Apple's XML
    (uti,) = keys["UTExportedTypeDeclarations"]
    (doc,) = keys["CFBundleDocumentTypes"]
    assert uti["UTTypeTagSpecification"]["public.filename-extension"] == ["gpuplan"]
    assert uti["UTTypeTagSpecification"]["public.mime-type"] == [PLAN_MIME]
    assert doc["LSItemContentTypes"] == [uti["UTTypeIdentifier"]]
    assert (ICONS / doc["CFBundleTypeIconFile"]).is_file()
    assert keys["CFBundleShortVersionString"] == "1.2.3"


def test_prune_drops_unused_qt_parts_orphans_and_dangling_links(monkeypatch):
    prune = _load("prune.py")
    needs = {
        "/src/QtGui.abi3.so": ["libQt6Gui.so.6"],
        "/src/libQt6Gui.so.6": ["libz.so.1"],
        "/src/libqgtk3.so": ["libcairo.so.2", "libQt6Gui.so.6"],
        "/src/libcairo.so.2": ["libpixman-1.so.0"],
    }
    monkeypatch.setattr(prune, "_needed", lambda source: needs.get(source, []))
    monkeypatch.setattr(prune.shutil, "which", lambda name: "/usr/bin/" + name)
    binaries = [
        ("PySide6/QtGui.abi3.so", "/src/QtGui.abi3.so", "EXTENSION"),
        ("PySide6/Qt/lib/libQt6Gui.so.6", "/src/libQt6Gui.so.6", "BINARY"),
        ("PySide6/Qt/plugins/platformthemes/libqgtk3.so", "/src/libqgtk3.so", "BINARY"),
        ("libcairo.so.2", "/src/libcairo.so.2", "BINARY"),
        ("libpixman-1.so.0", "/src/libpixman-1.so.0", "BINARY"),
        ("libz.so.1", "/src/libz.so.1", "BINARY"),
        ("libpython3.11.so.1.0", "/src/libpython3.11.so.1.0", "BINARY"),
    ]
    datas = [
        ("PySide6/Qt/translations/qtbase_de.qm", "/src/qtbase_de.qm", "DATA"),
        ("libQt6Gui.so.6", "PySide6/Qt/lib/libQt6Gui.so.6", "SYMLINK"),
        ("libcairo-link.so", "libcairo.so.2", "SYMLINK"),
        ("catalogs/gpus.toml", "/src/gpus.toml", "DATA"),
    ]
    kept_binaries, kept_datas = prune.prune(binaries, datas, log=lambda message: None)
    assert [entry[0] for entry in kept_binaries] == [
        "PySide6/QtGui.abi3.so",
        "PySide6/Qt/lib/libQt6Gui.so.6",
        "libz.so.1",
        "libpython3.11.so.1.0",  # loaded with dlopen by the bootloader: never an orphan
    ]
    assert [entry[0] for entry in kept_datas] == ["libQt6Gui.so.6", "catalogs/gpus.toml"]


# --- icons ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["gpuplanner.svg", "gpuplanner-document.svg", "gpuplanner-16.svg", "gpuplanner-document-16.svg"]
)
def test_icon_svg_renders(qapp, name):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(ICONS / name))
    assert renderer.isValid()
    image = QImage(64, 64, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    try:
        renderer.render(painter)
    finally:
        painter.end()
    opaque = sum(image.pixelColor(x, y).alpha() > 200 for x in range(64) for y in range(64))
    assert opaque > 64 * 64 // 3, "the icon should cover a good part of its square"


@pytest.mark.parametrize(
    ("context", "name"), [("apps", "gpuplanner"), ("mimetypes", "application-x-gpuplanner-plan")]
)
def test_committed_hicolor_icons_have_every_size(qapp, context, name):
    from PySide6.QtGui import QImage

    for size in HICOLOR_SIZES:
        image = QImage(str(ICONS / "hicolor" / f"{size}x{size}" / context / f"{name}.png"))
        assert (image.width(), image.height()) == (size, size)
    assert (ICONS / "hicolor" / "scalable" / context / f"{name}.svg").is_file()


def test_make_icons_writes_ico_and_icns_that_qt_reads_back(qapp, tmp_path):
    from PySide6.QtGui import QImageReader

    make_icons = _load("make_icons.py")
    written = make_icons.make_icons(tmp_path)
    assert len(written) == 2 * (len(HICOLOR_SIZES) + 1 + 2)
    for stem in ("gpuplanner", "gpuplanner-document"):
        ico = tmp_path / f"{stem}.ico"
        assert struct.unpack("<HHH", ico.read_bytes()[:6]) == (0, 1, len(make_icons.ICO_SIZES))
        icns = tmp_path / f"{stem}.icns"
        data = icns.read_bytes()
        assert data[:4] == b"icns" and struct.unpack(">I", data[4:8])[0] == len(data)
        for path, expected in ((ico, make_icons.ICO_SIZES), (icns, [s for _, s in make_icons.ICNS_TYPES])):
            reader = QImageReader(str(path))
            sizes = []
            for index in range(reader.imageCount()):
                reader.jumpToImage(index)
                sizes.append(reader.read().width())
            assert sorted(sizes) == sorted(expected), path.name


# --- Linux desktop integration ---------------------------------------------------------------------


def test_desktop_entry_opens_plans_with_the_app_icon():
    entry = _desktop_entry()
    assert entry["Exec"] == "gpuplanner %f"
    assert entry["Icon"] == "gpuplanner"
    assert (ICONS / "hicolor" / "256x256" / "apps" / "gpuplanner.png").is_file()
    assert PLAN_MIME in entry["MimeType"].split(";")
    assert entry["Terminal"] == "false"


def test_desktop_entry_validates():
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        pytest.skip("desktop-file-validate is not installed (apt-get install desktop-file-utils)")
    result = subprocess.run([tool, str(LINUX / "gpuplanner.desktop")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in (result.stdout + result.stderr).lower()


def test_mime_type_xml_is_well_formed_and_matches_the_desktop_entry():
    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    root = ET.parse(LINUX / "gpuplanner-mime.xml").getroot()
    assert root.tag == "{http://www.freedesktop.org/standards/shared-mime-info}mime-info"
    (mime,) = root.findall("m:mime-type", ns)
    assert mime.get("type") == PLAN_MIME
    assert [glob.get("pattern") for glob in mime.findall("m:glob", ns)] == ["*.gpuplan"]
    icon = mime.find("m:icon", ns).get("name")
    assert (ICONS / "hicolor" / "48x48" / "mimetypes" / f"{icon}.png").is_file()


def test_shared_mime_info_maps_gpuplan_files_to_the_type(tmp_path):
    tool = shutil.which("update-mime-database")
    if tool is None:
        pytest.skip("update-mime-database is not installed (apt-get install shared-mime-info)")
    packages = tmp_path / "mime" / "packages"
    packages.mkdir(parents=True)
    shutil.copy(LINUX / "gpuplanner-mime.xml", packages / "gpuplanner.xml")
    subprocess.run([tool, str(tmp_path / "mime")], check=True, capture_output=True)
    assert f"{PLAN_MIME}:*.gpuplan" in (tmp_path / "mime" / "globs2").read_text()


@pytest.mark.parametrize(
    ("shell", "script"),
    [
        ("sh", LINUX / "postinst"),
        ("sh", LINUX / "postrm"),
        ("bash", LINUX / "make_deb.sh"),
        ("bash", PACKAGING / "build.sh"),
        ("bash", PACKAGING / "check_deb.sh"),
    ],
)
def test_scripts_parse_and_are_executable(shell, script):
    assert os.access(script, os.X_OK), f"{script.name} must be executable"
    result = subprocess.run([shell, "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# --- fonts and About ------------------------------------------------------------------------------


def test_bundled_fonts_ship_with_their_licence_and_register(qapp):
    from gpuplanner.drawing.fonts import BUNDLED_FAMILY, bundled_font_files, register_bundled_fonts

    names = {path.name for path in bundled_font_files()}
    assert {"DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansMono.ttf"} <= names
    licence = (REPO / "resources" / "fonts" / "LICENSE-DejaVu.txt").read_text(encoding="utf-8")
    assert "Bitstream Vera" in licence and "Arev" in licence
    families = register_bundled_fonts()
    assert BUNDLED_FAMILY in families
    assert register_bundled_fonts() == families  # a second call changes nothing


def test_about_facts_and_dialog(qtbot):
    from PySide6.QtWidgets import QLabel

    import gpuplanner
    from gpuplanner.gui.about import AboutDialog, about_info, app_icon, document_icon, license_text

    info = about_info()
    assert info.version == gpuplanner.__version__
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", info.catalogs_date)
    assert info.qt_version.startswith("6.")
    assert "MIT License" in license_text()
    assert not app_icon().isNull() and not document_icon().isNull()
    assert 16 in [size.width() for size in app_icon().availableSizes()]
    dialog = AboutDialog()
    qtbot.addWidget(dialog)
    assert dialog.objectName() == "aboutDialog"
    facts = dialog.findChild(QLabel, "aboutFacts").text()
    assert info.version in facts and info.catalogs_date in facts and info.qt_version in facts
    assert str(info.user_data_dir) in facts


# --- the build ------------------------------------------------------------------------------------


@pytest.mark.packaging
def test_frozen_app_builds_and_passes_its_selftest(tmp_path):
    dist, work = tmp_path / "dist", tmp_path / "work"
    # this interpreter when it has PyInstaller; otherwise build.sh makes its own build venv (needs PyPI)
    python = ["--python", sys.executable] if importlib.util.find_spec("PyInstaller") else []
    build = subprocess.run(
        [
            str(PACKAGING / "build.sh"),
            *python,
            "--no-deb",
            "--no-selftest",
            "--dist",
            str(dist),
            "--work",
            str(work),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    app = dist / "gpuplanner" / "gpuplanner"
    assert app.is_file()
    for bundled in ("catalogs", "resources/fonts/DejaVuSans.ttf", "resources/icons/hicolor", "LICENSE"):
        assert (dist / "gpuplanner" / "_internal" / bundled).exists(), bundled
    # an almost empty environment, as a double-click from a file manager would give it
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"}
    run = subprocess.run([str(app), "--selftest"], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "selftest passed" in run.stdout
    assert "(packaged app)" in run.stdout
