"""Entry script of the frozen app: the same ``main()`` as the ``gpuplanner`` console script.

PyInstaller starts here; ``gpuplanner --selftest``, ``gpuplanner PLAN.gpuplan`` and the subcommands all
go through ``gpuplanner.__main__.main``.
"""

from gpuplanner.__main__ import main

if __name__ == "__main__":
    raise SystemExit(main())
