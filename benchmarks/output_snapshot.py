"""Snapshot what the program says about every sample plan, to show a refactor changes no output.

    python -m benchmarks.output_snapshot write DIR          # the JSON report, the CLI table and the PDF's
                                                            # text of each plan in catalogs/examples/
    python -m benchmarks.output_snapshot compare BEFORE AFTER   # a unified diff per file that differs

Take the 'before' snapshot from the commit before the refactor (a temporary ``git worktree`` on
``PYTHONPATH``), the 'after' from the working tree, then compare. The PDF's text comes from
``pdftotext -layout`` (poppler-utils); its creation date is not in the text.
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def write(out: Path) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from gpuplanner.cli.tables import report_text
    from gpuplanner.core.evaluate import evaluate
    from gpuplanner.document.planfile import load_plan
    from gpuplanner.export.pdf import export_plan_pdf
    from gpuplanner.paths import examples_dir

    app = QApplication.instance() or QApplication(["gpuplanner"])  # noqa: F841 (fonts and scenes need it)
    out.mkdir(parents=True, exist_ok=True)
    plans = sorted(examples_dir().glob("*.gpuplan"))
    for path in plans:
        plan = load_plan(path)
        report = evaluate(plan)
        (out / f"{path.stem}.json").write_text(json.dumps(report.to_json_dict(), indent=1, sort_keys=True))
        (out / f"{path.stem}.txt").write_text(report_text(report, plan))
        with tempfile.TemporaryDirectory() as tmp:
            pdf = export_plan_pdf(plan, Path(tmp) / "plan.pdf", report=report)
            text = subprocess.run(
                ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
            ).stdout
        (out / f"{path.stem}.pdf.txt").write_text(text)
    print(f"wrote {len(plans) * 3} files for {len(plans)} plans to {out}")
    return 0


def compare(before: Path, after: Path) -> int:
    """Print a diff for each file that differs; exit code 1 when any does."""
    names = sorted({p.name for p in before.iterdir()} | {p.name for p in after.iterdir()})
    differing = 0
    for name in names:
        a = (before / name).read_text().splitlines() if (before / name).is_file() else []
        b = (after / name).read_text().splitlines() if (after / name).is_file() else []
        if a != b:
            differing += 1
            sys.stdout.writelines(
                line + "\n" for line in difflib.unified_diff(a, b, f"before/{name}", f"after/{name}", n=1)
            )
    print(f"{differing} of {len(names)} files differ")
    return 1 if differing else 0


if __name__ == "__main__":
    match sys.argv[1:]:
        case ["write", out]:
            sys.exit(write(Path(out)))
        case ["compare", before, after]:
            sys.exit(compare(Path(before), Path(after)))
        case _:
            print(__doc__, file=sys.stderr)
            sys.exit(2)
