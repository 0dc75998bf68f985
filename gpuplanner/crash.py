"""Crash reports: an unexpected exception becomes one line for the person and a file for the bug report.

The command line exits with code 3 after printing the report's path; the window shows it in a
dialog. Reports live in ``crash-reports/`` of the user data folder (``GPUPLANNER_USER_DIR``
overrides it); the newest 20 are kept.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from gpuplanner import __version__
from gpuplanner.paths import user_data_dir

EXIT_INTERNAL_ERROR = 3
KEEP_REPORTS = 20


def crash_dir() -> Path:
    return user_data_dir() / "crash-reports"


def _prune(folder: Path) -> None:
    reports = sorted(folder.glob("crash-*.txt"), key=lambda p: p.name)
    for old in reports[:-KEEP_REPORTS]:
        old.unlink(missing_ok=True)


def write_crash_report(
    error: BaseException, tb: TracebackType | None = None, context: Sequence[str] = ()
) -> Path | None:
    """Write the traceback of ``error`` with the version, the platform and ``context`` (e.g. the
    command line) to a new file; returns its path, or None when no folder would take it."""
    lines = [
        f"gpuplanner {__version__} crash report, {time.strftime('%Y-%m-%d %H:%M:%S %z')}",
        f"python {sys.version.split()[0]} on {platform.platform()}",
        *context,
        "",
        *traceback.format_exception(type(error), error, tb or error.__traceback__),
    ]
    text = "\n".join(line.rstrip("\n") for line in lines) + "\n"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for folder in (crash_dir(), Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"crash-{stamp}-{os.getpid()}-{time.monotonic_ns() % 10**6:06d}.txt"
            path.write_text(text, encoding="utf-8")
        except OSError:
            continue
        if folder == crash_dir():
            with contextlib.suppress(OSError):
                _prune(folder)
        return path
    return None


def crash_message(error: BaseException, report: Path | None) -> str:
    """The one line a person sees: what happened, and where the details are."""
    what = f"{type(error).__name__}: {error}".splitlines()[0][:200] if str(error) else type(error).__name__
    where = f"; details in {report}" if report else ""
    return f"internal error ({what}){where}; please report it with that file"
