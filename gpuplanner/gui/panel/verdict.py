"""VerdictBanner: fits / does not fit in one line, then each problem with its fix.

A fix the report can apply itself (it carries a ``FixAction``) is a button; pressing it emits
``fix_requested(action)`` and the panel turns that into one undoable command. Rows are kept in a
pool and reused, so a new report only changes texts and visibility.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from gpuplanner.core.report import FixAction, Problem, Report
from gpuplanner.core.specs import GIB
from gpuplanner.core.verdict import ICONS, plural, verdict_of

SEVERITY_COLOURS = {"error": "#D62728", "warning": "#E69F00", "info": "#0072B2"}
SEVERITY_WORDS = {"error": "Error", "warning": "Warning", "info": "Note"}
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
VISIBLE_ROWS = 2  # the banner keeps one height while there are problems: more scroll inside it
MAX_ROWS = 12  # past this many, the last row sums up the rest
ROW_HEIGHT = 28
STATE_STYLES = {  # icons from core.verdict: the status bar, the command line and the PDF use the same
    "fits": ("#E8F5EC", "#1E7A46", ICONS["fits"]),
    "warn": ("#FFF4E0", "#8A5A00", ICONS["warn"]),
    "fails": ("#FDECEC", "#B42318", ICONS["fails"]),
    "none": ("#EEF0F3", "#4B5563", "…"),
}


class ElidedLabel(QLabel):
    """A one-line plain-text label that ends in "…" when it is too narrow for its text."""

    def __init__(self) -> None:
        super().__init__()
        self.full = ""
        self.setTextFormat(Qt.TextFormat.PlainText)  # rich text layout is slow for dozens of rows
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def set_full_text(self, text: str) -> None:
        self.full = text
        self._elide()

    def _elide(self) -> None:
        self.setText(
            self.fontMetrics().elidedText(self.full, Qt.TextElideMode.ElideRight, max(self.width(), 40))
        )

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()


class ProblemRow(QWidget):
    """One problem on one line: a coloured severity mark, the message (cut short when narrow, all of it
    in the tooltip), its fix in full and, when the fix can be applied, an Apply button."""

    def __init__(self, banner: VerdictBanner) -> None:
        super().__init__()
        self.action: FixAction | None = None
        self.problem: Problem | None = None
        self.note = ""  # a line of figures shown when there is no problem
        self.setFixedHeight(ROW_HEIGHT)
        self.mark = QLabel()
        self.mark.setFixedWidth(14)
        self.text = ElidedLabel()
        self.fix = QLabel()
        self.fix.setObjectName("problemFix")
        self.fix.setTextFormat(Qt.TextFormat.PlainText)
        self.button = QPushButton()
        self.button.setObjectName("applyFixButton")
        # inside its row: a taller button (a style's default) would spill onto the next row's button
        self.button.setFixedHeight(ROW_HEIGHT - 4)
        self.button.clicked.connect(lambda: self.action and banner.fix_requested.emit(self.action))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 0, 2, 0)
        layout.addWidget(self.mark)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.fix)
        layout.addWidget(self.button)
        self.button.hide()  # shown by a problem that carries a fix the window can apply

    def clear(self) -> None:
        if self.problem is not None or self.note:
            self.problem = self.action = None
            self.note = ""
            self.text.set_full_text("")
            self.fix.setText("")
            self.mark.setText("")
            self.setToolTip("")
            if not self.button.isHidden():
                self.button.hide()

    def show_note(self, text: str) -> None:
        """A plain line in place of a problem (no mark, no fix)."""
        if text == self.note and self.problem is None:
            return
        self.clear()
        self.note = text
        self.text.set_full_text(text)
        self.setToolTip(text)

    def show_problem(self, problem: Problem) -> None:
        if problem == self.problem:
            return
        self.note = ""
        self.problem = problem
        self.action = problem.action
        colour = SEVERITY_COLOURS[problem.severity]
        self.mark.setText(f"<span style='color:{colour}'>●</span>")
        self.text.set_full_text(problem.message)
        self.fix.setText(f"Fix: {problem.fix}" if problem.fix else "")
        tip = f"<b>{SEVERITY_WORDS[problem.severity]}</b>: {problem.message}"
        self.setToolTip(tip + (f"<br><b>Fix</b>: {problem.fix}" if problem.fix else ""))
        if self.button.isHidden() == (problem.action is not None):
            self.button.setVisible(problem.action is not None)
        if problem.action is not None:
            self.button.setText("Apply")
            self.button.setToolTip(f"{problem.fix} (one undoable step)")


class VerdictBanner(QFrame):
    """The plan's verdict and problems. ``fix_requested(FixAction)`` when an Apply button is pressed.

    Its height never changes: a banner that grew would re-lay out every chart below it on each edit
    that adds or removes a problem (tens of milliseconds on a big rig). With no problems its rows
    show the plan's key figures instead: the tightest GPU, the KV-cache capacity and the bottleneck."""

    fix_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("verdictBanner")
        self.state = "none"
        self._styled = ""
        self._rest_tooltip = ""
        self.headline = QLabel()
        self.headline.setWordWrap(False)
        self.headline.setObjectName("verdictHeadline")
        self.headline.setTextFormat(Qt.TextFormat.RichText)
        self.headline.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.count = QLabel()
        self.count.setObjectName("verdictCount")
        self._rows: list[ProblemRow] = []
        self._box = QWidget()
        self._box.setObjectName("verdictRows")
        self._rows_layout = QVBoxLayout(self._box)
        self._rows_layout.setContentsMargins(0, 0, 0, 0)
        self._rows_layout.setSpacing(0)
        self._rows_layout.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidget(self._box)
        self.rows_shown = VISIBLE_ROWS
        self.scroll.setFixedHeight(VISIBLE_ROWS * ROW_HEIGHT + 2)
        # always there (disabled when all rows fit): a scroll bar that came and went with the problems
        # would change the rows' width, and every row would lay itself out again on such an edit
        self.scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        top = QHBoxLayout()
        top.addWidget(self.headline, 1)
        top.addWidget(self.count)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.scroll)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.set_report(None)

    def set_rows_shown(self, rows: int) -> None:
        """How many problem rows show at once (more scroll): one in a short window, two otherwise."""
        if rows != self.rows_shown:
            self.rows_shown = rows
            self.scroll.setFixedHeight(rows * ROW_HEIGHT + 2)

    @property
    def visible_rows(self) -> list[ProblemRow]:
        """Rows showing a problem (the pool may hold more, emptied)."""
        return [r for r in self._rows if r.problem is not None]

    def fix_buttons(self) -> list[QPushButton]:
        """The Apply buttons now shown, in problem order (tests click these)."""
        return [r.button for r in self.visible_rows if not r.button.isHidden()]

    def set_report(self, report: Report | None) -> None:
        if report is None:
            self._show("none", "No plan evaluated yet.", (), ["Edit the rig or open a plan."])
            return
        verdict = verdict_of(report)  # the one verdict: the status bar and the PDF say the same
        self._show(verdict.level, verdict.headline, report.problems, key_figures(report))

    def set_error(self, message: str, fix: str = "") -> None:
        """The plan cannot be evaluated at all (e.g. a TP degree the model cannot be split by)."""
        problem = Problem(severity="error", message=message, fix=fix)
        self._show("fails", "Cannot evaluate this plan.", (problem,))

    def _show(
        self, state: str, verdict: str, problems: tuple[Problem, ...], notes: list[str] | None = None
    ) -> None:
        background, foreground, icon = STATE_STYLES[state]
        if state != self._styled:  # a style sheet re-polishes every child: only when the state changes
            self._styled = state
            self.setStyleSheet(
                f"#verdictBanner {{ background: {background}; border: 1px solid {foreground}; border-radius: 6px; }}"
                f"#verdictBanner QLabel#verdictHeadline {{ color: {foreground}; }}"
                "#verdictBanner QLabel { color: #1F2937; } #verdictBanner QLabel#problemFix { font-weight: 600; }"
                "#verdictBanner QScrollArea, #verdictBanner #verdictRows { background: transparent; }"
            )
        self.state = state
        headline = f"<b>{icon} {verdict}</b>"
        if headline != self.headline.text():
            self.headline.setText(headline)
            self.headline.setToolTip(verdict)
        ordered = sorted(problems, key=lambda p: SEVERITY_ORDER[p.severity])
        if len(ordered) > MAX_ROWS:  # the rest in one last row, every one of them in its tooltip
            rest = ordered[MAX_ROWS - 1 :]
            summary = Problem(
                severity=rest[0].severity,
                message=f"… and {len(rest)} more: " + "; ".join(p.message for p in rest[:3]),
                fix="hover to read them all",
            )
            ordered = [*ordered[: MAX_ROWS - 1], summary]
            self._rest_tooltip = "<br>".join(
                p.message + (f" — <i>{p.fix}</i>" if p.fix else "") for p in rest
            )
        else:
            self._rest_tooltip = ""
        lines = [] if ordered else (notes or [])[: self.rows_shown]
        while len(self._rows) < max(len(ordered), len(lines)):
            row = ProblemRow(self)
            self._rows.append(row)
            self._rows_layout.insertWidget(len(self._rows) - 1, row)
        # rows past the problems are emptied, not hidden: showing and hiding dozens of widgets
        # costs tens of milliseconds; the box's height cuts them off instead
        for row, problem in zip(self._rows, ordered, strict=False):
            row.show_problem(problem)
        for row, line in zip(self._rows, lines, strict=False):
            row.show_note(line)
        for row in self._rows[max(len(ordered), len(lines)) :]:
            row.clear()
        if self._rest_tooltip:
            self._rows[len(ordered) - 1].setToolTip(self._rest_tooltip)
        self._box.setFixedHeight(max(len(ordered), len(lines), 1) * ROW_HEIGHT)
        total = len(problems)
        self.count.setText(f"{total} problems · scroll for all" if total > self.rows_shown else "")


def key_figures(report: Report) -> list[str]:
    """The lines a banner with no problems shows: where memory is tightest, what the KV cache holds,
    what limits speed."""
    lines = []
    if report.gpus:
        tight = min(report.gpus, key=lambda g: g.memory_bytes.free)
        kv = report.kv_cache
        lines.append(
            f"Tightest GPU: {tight.id} ({tight.gpu_name}), {tight.memory_bytes.free / GIB:.1f} GiB free"
            f" of {tight.capacity_bytes / GIB:.0f} GiB · KV cache holds {plural(kv.max_concurrency, 'sequence')}"
            f" of {kv.context_tokens:,} tokens"
        )
    perf = report.performance
    if perf is not None:
        lines.append(f"Decode bottleneck: {perf.bottleneck}")
    return lines


def main() -> None:  # pragma: no cover - a manual look
    from gpuplanner.gui.panel.samples import show_alone

    raise SystemExit(show_alone(VerdictBanner, size=(900, 90)))


if __name__ == "__main__":  # pragma: no cover
    main()
