"""``gpuplanner``: the window, the command line, the PDF export and the self-test, from one entry point.

gpuplanner                      the window on the built-in sample plan
gpuplanner PLAN.gpuplan         the window on that plan
gpuplanner evaluate|catalog|import-model|import-topology|calibrate|launch|recommend ...   the Qt-free command line
gpuplanner export PLAN -o OUT.pdf               a PDF, with no window
gpuplanner --selftest                           window + model + PDF check, exit code 0 when healthy
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

CLI_COMMANDS = {"evaluate", "catalog", "import-model", "import-topology", "calibrate", "launch", "recommend"}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    first = args[0] if args else None
    if first in CLI_COMMANDS or first in ("-h", "--help", "--version"):
        from gpuplanner.cli.main import main as cli_main

        return cli_main(args)
    if first == "export":
        from gpuplanner.export.cli import main as export_main

        return export_main(args[1:])
    if first == "--selftest":
        from gpuplanner.selftest import run_selftest

        return run_selftest()
    if first is not None and first.startswith("-"):
        print(f"gpuplanner: error: unknown option {first}\n  fix: see `gpuplanner --help`", file=sys.stderr)
        return 2
    if len(args) > 1:
        print(
            "gpuplanner: error: give one plan file to open\n  fix: see `gpuplanner --help`", file=sys.stderr
        )
        return 2
    from gpuplanner.app import run

    return run(first)


if __name__ == "__main__":
    sys.exit(main())
