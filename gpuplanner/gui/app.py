"""``run(plan_path)``: the application entry point the ``gpuplanner`` command calls."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication, QMessageBox

from gpuplanner.core.errors import PlannerError


def run(plan_path: str | None = None) -> int:
    """Show the main window on ``plan_path`` (or the built-in sample plan); returns the exit code."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    try:
        from gpuplanner.gui.about import prepare_application

        prepare_application(app)  # name, icon, bundled fonts
    except ImportError:
        pass
    from gpuplanner.gui.files import restore_geometry
    from gpuplanner.gui.main_window import create_main_window

    try:
        window = create_main_window(plan_path)
    except PlannerError as exc:
        QMessageBox.critical(None, "gpuplanner cannot start", str(exc))
        return 1
    restore_geometry(window)
    screen = window.screen().availableGeometry()
    if window.width() > screen.width() or window.height() > screen.height():
        window.showMaximized()  # a small screen: use all of it rather than hang off its edges
    else:
        window.show()
    window.view.fit_all()
    return app.exec()
