"""VerdictBanner: fits / does not fit in one line, then each problem with its fix.

A fix the report can apply itself (it carries a ``FixAction``) is a button; pressing it emits
``fix_requested(action)`` and the panel turns that into one undoable command. Rows are kept in a
pool and reused, so a new report only changes texts and visibility.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from gpuplanner.core.report import FixAction, Problem, Report

SEVERITY_COLOURS = {"error": "#D62728", "warning": "#E69F00", "info": "#0072B2"}
SEVERITY_WORDS = {"error": "Error", "warning": "Warning", "info": "Note"}
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
MAX_ROWS = 4
STATE_STYLES = {
    "fits": ("#E8F5EC", "#1E7A46", "✔"),
    "warn": ("#FFF4E0", "#8A5A00", "▲"),
    "fails": ("#FDECEC", "#B42318", "✖"),
    "none": ("#EEF0F3", "#4B5563", "…"),
}


class ProblemRow(QWidget):
    """One problem: a coloured severity mark, the message, the fix and (when it has one) an Apply button."""

    def __init__(self, banner: VerdictBanner) -> None:
        super().__init__()
        self.action: FixAction | None = None
        self.mark = QLabel("●")
        self.mark.setFixedWidth(16)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.button = QPushButton()
        self.button.setObjectName("applyFixButton")
        self.button.clicked.connect(lambda: self.action and banner.fix_requested.emit(self.action))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 1, 2, 1)
        layout.addWidget(self.mark, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignTop)

    def show_problem(self, problem: Problem) -> None:
        self.action = problem.action
        colour = SEVERITY_COLOURS[problem.severity]
        self.mark.setStyleSheet(f"color: {colour};")
        self.mark.setToolTip(SEVERITY_WORDS[problem.severity])
        fix = f"<br><span style='color:gray'>Fix: {problem.fix}</span>" if problem.fix else ""
        self.text.setText(f"{problem.message}{fix}")
        self.button.setVisible(problem.action is not None)
        if problem.action is not None:
            self.button.setText(f"Apply: {problem.fix}" if len(problem.fix) <= 44 else "Apply fix")
            self.button.setToolTip(f"{problem.fix} (one undoable step)")


class VerdictBanner(QFrame):
    """The plan's verdict and problems. ``fix_requested(FixAction)`` when an Apply button is pressed."""

    fix_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("verdictBanner")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.state = "none"
        self.headline = QLabel()
        self.headline.setObjectName("verdictHeadline")
        self.headline.setWordWrap(True)
        self.headline.setTextFormat(Qt.TextFormat.RichText)
        self._rows: list[ProblemRow] = []
        self.more = QLabel()
        self.more.setObjectName("verdictMore")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(8, 6, 8, 6)
        self._layout.setSpacing(2)
        self._layout.addWidget(self.headline)
        self._layout.addWidget(self.more)
        self.set_report(None)

    @property
    def visible_rows(self) -> list[ProblemRow]:
        return [r for r in self._rows if not r.isHidden()]

    def fix_buttons(self) -> list[QPushButton]:
        """The Apply buttons now shown, in problem order (tests click these)."""
        return [r.button for r in self.visible_rows if not r.button.isHidden()]

    def set_report(self, report: Report | None) -> None:
        if report is None:
            self._show("none", "No plan evaluated yet.", ())
            return
        errors = any(p.severity == "error" for p in report.problems)
        warnings = any(p.severity == "warning" for p in report.problems)
        state = "fails" if errors or not report.fits else "warn" if warnings else "fits"
        if state == "fails":
            count = sum(p.severity == "error" for p in report.problems)
            headline = f"Does not fit: {count} problem{'s' if count != 1 else ''} stop{'s' if count == 1 else ''} it from starting"
        else:
            headline = report.verdict
        self._show(state, headline, report.problems)

    def set_error(self, message: str, fix: str = "") -> None:
        """The plan cannot be evaluated at all (e.g. a TP degree the model cannot be split by)."""
        problem = Problem(severity="error", message=message, fix=fix)
        self._show("fails", "Cannot evaluate this plan.", (problem,))

    def _show(self, state: str, verdict: str, problems: tuple[Problem, ...]) -> None:
        self.state = state
        background, foreground, icon = STATE_STYLES[state]
        self.setStyleSheet(
            f"#verdictBanner {{ background: {background}; border: 1px solid {foreground}; border-radius: 6px; }}"
            f"#verdictBanner QLabel#verdictHeadline {{ color: {foreground}; }}"
            f"#verdictBanner QLabel {{ color: #1F2937; }}"
        )
        self.headline.setText(f"<b>{icon} {verdict}</b>")
        ordered = sorted(problems, key=lambda p: SEVERITY_ORDER[p.severity])
        shown = ordered[:MAX_ROWS]
        while len(self._rows) < len(shown):
            row = ProblemRow(self)
            self._rows.append(row)
            self._layout.insertWidget(len(self._rows), row)
        for row, problem in zip(self._rows, shown, strict=False):
            row.show_problem(problem)
            row.show()
        for row in self._rows[len(shown) :]:
            row.hide()
        rest = ordered[MAX_ROWS:]
        self.more.setVisible(bool(rest))
        self.more.setText(f"… and {len(rest)} more (hover to read them)")
        self.more.setToolTip(
            "<br>".join(f"{p.message}" + (f" — <i>{p.fix}</i>" if p.fix else "") for p in rest)
        )


def main() -> None:  # pragma: no cover - a manual look
    from gpuplanner.gui.panel.demo import show_alone

    raise SystemExit(show_alone(VerdictBanner, size=(720, 200)))


if __name__ == "__main__":  # pragma: no cover
    main()
