"""Trim what PyInstaller collected for gpuplanner: Qt parts the app never loads, and the libraries only
they needed.

PySide6's hooks collect every plugin of a used Qt module. Some of them drag a stack of system libraries
copied from the build machine into the app folder; the GTK3 platform theme is the worst: it brings
cairo, pango and glib from the build machine without GTK itself, which then mix with the target's own
GTK. The app is English only and loads no Qt translations. ``prune()`` drops those entries from the TOCs
and then, on Linux, every bundled shared library that nothing left in the app needs any more (found by
following the ``DT_NEEDED`` entries with ``readelf``; skipped when ``readelf`` is missing).
"""

from __future__ import annotations

import fnmatch
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

# Destination paths (inside the app's data folder) that the app does not need.
DROP_PATTERNS = (
    "PySide6/Qt/translations/*",
    "PySide6/Qt/plugins/platformthemes/libqgtk3.so",  # native GTK dialogs; Qt's own and the portal's stay
    "PySide6/Qt/plugins/platforms/libqvnc.so",
    "PySide6/Qt/plugins/platforms/libqeglfs.so",
    "PySide6/Qt/plugins/platforms/libqlinuxfb.so",
    "PySide6/Qt/plugins/platforms/libqminimalegl.so",
    "PySide6/Qt/plugins/platforms/libqvkkhrdisplay.so",
    "PySide6/Qt/plugins/egldeviceintegrations/*",
    "PySide6/Qt/plugins/generic/libqtuiotouchplugin.so",
)

# Never pruned as orphans: loaded with dlopen (no DT_NEEDED points at them).
KEEP_PATTERNS = ("libpython*",)


def _dest(entry: tuple) -> str:
    return PurePosixPath(str(entry[0]).replace("\\", "/")).as_posix()


def _matches(path: str, patterns: Iterable[str]) -> bool:
    name = PurePosixPath(path).name
    return any(fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(name, pattern) for pattern in patterns)


def _is_dependency_library(dest: str) -> bool:
    """A library that is only there because something else links to it (may be pruned when orphaned)."""
    path = PurePosixPath(dest)
    if _matches(dest, KEEP_PATTERNS) or ".so" not in path.name:
        return False
    top_level = len(path.parts) == 1 and path.name.startswith("lib")
    return top_level or dest.startswith("PySide6/Qt/lib/") or (path.parent.name.endswith(".libs"))


def _needed(source: str) -> list[str]:
    result = subprocess.run(["readelf", "-d", source], capture_output=True, text=True, check=False)
    needed = []
    for line in result.stdout.splitlines():
        if "(NEEDED)" in line and "[" in line:
            needed.append(line.rsplit("[", 1)[1].rstrip("]").strip())
    return needed


def _without_dangling_links(entries: list, others: list = ()) -> list:
    """Drop SYMLINK entries (e.g. ``libQt6Network.so.6 -> PySide6/Qt/lib/...``) whose target is gone.

    PyInstaller files its SYMLINK entries under ``datas``; their targets are usually ``binaries``.
    """
    while True:
        dests = {_dest(entry) for entry in entries} | {_dest(entry) for entry in others}
        kept = [
            entry
            for entry in entries
            if not (len(entry) > 2 and entry[2] == "SYMLINK")
            or (PurePosixPath(_dest(entry)).parent / str(entry[1])).as_posix() in dests
        ]
        if len(kept) == len(entries):
            return kept
        entries = kept


def prune(binaries: list, datas: list, *, log=print) -> tuple[list, list]:
    """``(binaries, datas)`` without the dropped entries and, on Linux, without orphaned libraries."""
    kept_binaries = [entry for entry in binaries if not _matches(_dest(entry), DROP_PATTERNS)]
    kept_datas = [entry for entry in datas if not _matches(_dest(entry), DROP_PATTERNS)]
    kept_datas = _without_dangling_links(kept_datas, kept_binaries)
    dropped = len(binaries) - len(kept_binaries) + len(datas) - len(kept_datas)
    if shutil.which("readelf") is None:
        log(f"prune: dropped {dropped} entries; readelf not found, orphaned libraries kept")
        return kept_binaries, kept_datas

    by_dest = {_dest(entry): entry for entry in kept_binaries}
    by_name = {PurePosixPath(dest).name: entry for dest, entry in by_dest.items()}

    def real(entry: tuple) -> tuple:
        # PyInstaller 6 records links as ('dest', 'target relative to dest's folder', 'SYMLINK')
        while len(entry) > 2 and entry[2] == "SYMLINK":
            target = (PurePosixPath(_dest(entry)).parent / str(entry[1])).as_posix()
            if target not in by_dest:
                break
            reached.add(PurePosixPath(target).name)
            entry = by_dest[target]
        return entry

    reached: set[str] = set()
    roots = [entry for entry in kept_binaries if not _is_dependency_library(_dest(entry))]
    todo = [str(real(entry)[1]) for entry in roots]
    seen_sources: set[str] = set()
    while todo:
        source = todo.pop()
        if source in seen_sources:
            continue
        seen_sources.add(source)
        for name in _needed(source):
            entry = by_name.get(name)
            if entry is not None and name not in reached:
                reached.add(name)
                todo.append(str(real(entry)[1]))
    orphans = [
        entry
        for entry in kept_binaries
        if _is_dependency_library(_dest(entry)) and PurePosixPath(_dest(entry)).name not in reached
    ]
    orphan_ids = {id(entry) for entry in orphans}
    kept_binaries = [entry for entry in kept_binaries if id(entry) not in orphan_ids]
    kept_datas = _without_dangling_links(kept_datas, kept_binaries)
    names = ", ".join(sorted(PurePosixPath(_dest(entry)).name for entry in orphans))
    log(f"prune: dropped {dropped} entries and {len(orphans)} orphaned libraries: {names}")
    return kept_binaries, kept_datas


def strip_debug_info(binaries: list, work_dir, patterns: Iterable[str], *, log=print) -> list:
    """Replace the sources of the binaries matching ``patterns`` with copies stripped of debug info.

    Only for libraries nobody patched after linking (libpython): ``strip`` on an auditwheel-patched
    library breaks it. Does nothing when ``strip`` is missing.
    """
    if shutil.which("strip") is None:
        return binaries
    out = []
    for entry in binaries:
        dest = _dest(entry)
        if len(entry) > 2 and entry[2] != "SYMLINK" and _matches(dest, patterns):
            target = Path(work_dir) / PurePosixPath(dest).name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(entry[1], target)
            subprocess.run(["strip", "--strip-debug", str(target)], check=True)
            log(f"prune: stripped debug info from {dest}")
            entry = (entry[0], str(target), entry[2])
        out.append(entry)
    return out
