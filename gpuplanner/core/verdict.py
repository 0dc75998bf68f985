"""The one verdict people read: level, icon, label and headline of a report, shared by the window's
banner and status bar, the command line's text and the PDF, so that they never disagree.

* ``fails``: the report does not fit or has an error problem (✖, "DOES NOT FIT");
* ``warn``: it fits, with at least one warning, e.g. the KV cache runs out before the concurrency asked
  (▲, "FITS, WITH WARNINGS");
* ``fits``: it fits and nothing is wrong (✔, "FITS"). Notes (``info``) do not change the level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gpuplanner.core.report import Report

Level = Literal["fits", "warn", "fails"]

ICONS: dict[str, str] = {"fits": "✔", "warn": "▲", "fails": "✖"}
LABELS: dict[str, str] = {"fits": "FITS", "warn": "FITS, WITH WARNINGS", "fails": "DOES NOT FIT"}
COLOURS: dict[str, str] = {"fits": "#1E7A46", "warn": "#8A5A00", "fails": "#B42318"}


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 GPU``, ``2 GPUs``, ``1 user``; ``many`` for an irregular plural."""
    return f"{count:,} {word if count == 1 else (many or word + 's')}"


@dataclass(frozen=True)
class Verdict:
    level: Level
    headline: str  # one sentence
    errors: int
    warnings: int

    @property
    def icon(self) -> str:
        return ICONS[self.level]

    @property
    def label(self) -> str:
        return LABELS[self.level]

    @property
    def colour(self) -> str:
        return COLOURS[self.level]

    @property
    def line(self) -> str:
        """Icon and headline: the status bar's text."""
        return f"{self.icon} {self.headline}"


def verdict_of(report: Report) -> Verdict:
    errors = [p for p in report.problems if p.severity == "error"]
    warnings = [p for p in report.problems if p.severity == "warning"]
    if errors or not report.fits:
        level: Level = "fails"
        headline = report.verdict
        if len(errors) > 1:
            headline += f" ({plural(len(errors) - 1, 'more problem')} below)"
    elif warnings:
        level = "warn"
        first = warnings[0].message
        more = f" (and {plural(len(warnings) - 1, 'more warning')})" if len(warnings) > 1 else ""
        headline = f"{report.verdict.rstrip('.')}. Warning: {first}{more}."
    else:
        level = "fits"
        headline = report.verdict
    return Verdict(level=level, headline=headline, errors=len(errors), warnings=len(warnings))
