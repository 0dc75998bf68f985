"""``gpuplanner export PLAN.gpuplan -o PLAN.pdf [--page-size a4|letter]``: the PDF report, no window.

Exit codes: 0 written, 2 bad input (plan file unreadable, folder missing or read-only) with a message
naming the problem and the fix, as the rest of the command line does, 3 an internal error (one line and
the path of a crash report).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from gpuplanner.core.errors import PlannerError

EXIT_OK, EXIT_BAD_INPUT = 0, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gpuplanner export",
        description="Export a plan as a PDF report: summary, rig, memory, performance, layer map, "
        "problems and fixes, assumptions and sources.",
    )
    parser.add_argument("plan", help="a .gpuplan file")
    parser.add_argument("-o", "--output", help="the PDF to write (default: the plan's name with .pdf)")
    parser.add_argument("--page-size", choices=["a4", "letter"], default="a4", help="paper size (default a4)")
    parser.add_argument("--slo-ttft-ms", type=float, default=None, metavar="X",
                        help="service level on the first page: time to first token at most X ms")
    parser.add_argument("--slo-tpot-ms", type=float, default=None, metavar="Y",
                        help="service level on the first page: time per output token at most Y ms")
    return parser


def _ensure_app():
    """A QApplication for fonts and the rack scene, offscreen when there is no display."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) and sys.platform.startswith(
        "linux"
    ):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication(["gpuplanner"])
    return app


def _error(message: object) -> int:
    print(f"gpuplanner: error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``gpuplanner export`` with ``argv`` (the arguments after ``export``); returns the exit code."""
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    output = Path(args.output) if args.output else Path(args.plan).with_suffix(".pdf")
    if output.suffix.lower() != ".pdf":
        return _error(f"{output} does not end in .pdf\n  fix: give an output name like plan.pdf")
    from gpuplanner.document.planfile import load_plan

    try:
        plan = load_plan(args.plan)
        _ensure_app()
        from gpuplanner.export.pdf import export_plan_pdf

        for name, value in (("--slo-ttft-ms", args.slo_ttft_ms), ("--slo-tpot-ms", args.slo_tpot_ms)):
            if value is not None and not value > 0:
                return _error(f"{name} must be a time in milliseconds above 0, not {value:g}")
        written = export_plan_pdf(plan, output, page_size=args.page_size,
                                  slo_targets=(args.slo_ttft_ms, args.slo_tpot_ms))
    except PlannerError as exc:
        return _error(exc)
    except OSError as exc:  # e.g. a file name longer than the file system allows
        return _error(f"{output}: cannot write it: {exc.strerror or exc}\n  fix: pick another name or folder")
    except Exception as exc:  # a bug: one line, and the traceback in a crash report (exit code 3)
        from gpuplanner.crash import EXIT_INTERNAL_ERROR, crash_message, write_crash_report

        report = write_crash_report(exc, context=[f"command: gpuplanner export {' '.join(argv or [])}"])
        print(f"gpuplanner: {crash_message(exc, report)}", file=sys.stderr)
        return EXIT_INTERNAL_ERROR
    print(f"wrote {written}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
