"""Render the SVG icons into every size the platforms want.

    python packaging/make_icons.py [--out resources/icons]

From ``resources/icons/gpuplanner.svg`` (the app) and ``gpuplanner-document.svg`` (a ``.gpuplan`` file)
it writes, under the output folder:

- ``hicolor/<N>x<N>/apps/gpuplanner.png`` and
  ``hicolor/<N>x<N>/mimetypes/application-x-gpuplanner-plan.png`` for N in 16..512, laid out like
  ``/usr/share/icons/hicolor`` so the ``.deb`` copies the tree as it is, plus ``hicolor/scalable/...svg``;
- ``gpuplanner.ico`` / ``gpuplanner-document.ico`` (Windows: 16, 24, 32, 48, 64, 128, 256 px);
- ``gpuplanner.icns`` / ``gpuplanner-document.icns`` (macOS: 16 to 1024 px).

Each size is rendered from the vector source with Qt's ``QSvgRenderer`` (not scaled down from a big
bitmap); the 16 px size comes from ``<stem>-16.svg``, drawn on the pixel grid, so it stays sharp. Runs offscreen; needs only PySide6. The ``.ico`` and ``.icns``
containers hold PNG images, which Windows Vista+ and macOS 10.7+ read.
"""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

REPO = Path(__file__).resolve().parent.parent
ICONS = REPO / "resources" / "icons"

# (source svg, freedesktop context, freedesktop icon name, stem of the .ico/.icns). Each source may have
# a ``<stem>-16.svg`` drawn on the 16 px grid; it replaces the big drawing at 16 px, where four bars blur.
SOURCES = [
    ("gpuplanner.svg", "apps", "gpuplanner", "gpuplanner"),
    ("gpuplanner-document.svg", "mimetypes", "application-x-gpuplanner-plan", "gpuplanner-document"),
]
SMALL_SIZE = 16
HICOLOR_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# Apple's PNG-capable icns element types and the pixel size each holds.
ICNS_TYPES = (
    (b"icp4", 16),
    (b"icp5", 32),
    (b"icp6", 64),
    (b"ic07", 128),
    (b"ic08", 256),
    (b"ic09", 512),
    (b"ic10", 1024),
)


def render_png(renderer: QSvgRenderer, size: int) -> bytes:
    """The SVG drawn into a transparent ``size`` x ``size`` image, as PNG bytes."""
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter)
    finally:
        painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise RuntimeError(f"Qt could not encode a {size} px PNG")
    buffer.close()
    return bytes(data.data())


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """A Windows .ico holding one PNG per size (width/height byte 0 means 256)."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries, blobs = b"", b""
    for size in sizes:
        blob = pngs[size]
        side = 0 if size >= 256 else size
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(blob), offset)
        blobs += blob
        offset += len(blob)
    return header + entries + blobs


def icns_bytes(pngs: dict[int, bytes]) -> bytes:
    """An Apple .icns holding PNG elements (big-endian lengths include the 8-byte element header)."""
    body = b"".join(kind + struct.pack(">I", len(pngs[size]) + 8) + pngs[size] for kind, size in ICNS_TYPES)
    return b"icns" + struct.pack(">I", len(body) + 8) + body


def make_icons(out_dir: Path, src_dir: Path = ICONS) -> list[Path]:
    """Write every generated icon under ``out_dir``; returns the files written."""
    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    written: list[Path] = []
    for svg_name, context, icon_name, stem in SOURCES:
        svg = src_dir / svg_name
        renderer = QSvgRenderer(str(svg))
        if not renderer.isValid():
            raise RuntimeError(f"{svg} is not an SVG that Qt can draw")
        sizes = sorted(set(HICOLOR_SIZES) | set(ICO_SIZES) | {size for _, size in ICNS_TYPES})
        pngs = {size: render_png(renderer, size) for size in sizes}
        small_svg = src_dir / f"{stem}-16.svg"
        if small_svg.is_file():
            small = QSvgRenderer(str(small_svg))
            if not small.isValid():
                raise RuntimeError(f"{small_svg} is not an SVG that Qt can draw")
            pngs[SMALL_SIZE] = render_png(small, SMALL_SIZE)
        for size in HICOLOR_SIZES:
            target = out_dir / "hicolor" / f"{size}x{size}" / context / f"{icon_name}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(pngs[size])
            written.append(target)
        scalable = out_dir / "hicolor" / "scalable" / context / f"{icon_name}.svg"
        scalable.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(svg, scalable)
        written.append(scalable)
        ico = out_dir / f"{stem}.ico"
        ico.write_bytes(ico_bytes({size: pngs[size] for size in ICO_SIZES}))
        icns = out_dir / f"{stem}.icns"
        icns.write_bytes(icns_bytes(pngs))
        written += [ico, icns]
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ICONS, help="output folder (default: resources/icons)")
    args = parser.parse_args(argv)
    written = make_icons(args.out)
    print(f"wrote {len(written)} icon files under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
