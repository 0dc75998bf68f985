"""The references list: every source key behind the catalog entries and calibration rows the plan
uses, with its title and address (measurement rows described from catalogs/measurements.csv). Qt-free."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from gpuplanner import paths
from gpuplanner.export.content import PlanFacts
from gpuplanner.export.sources import calibration_rows, catalog_entry_keys

MEASUREMENTS = f"catalogs/{paths.MEASUREMENTS_FILE}"


@dataclass(frozen=True)
class Reference:
    key: str
    title: str
    url: str = ""


def references(facts: PlanFacts) -> list[Reference]:
    """The sources behind the catalog entries and calibration rows, each with its title and address."""
    keys = catalog_entry_keys(facts) + calibration_rows(facts)
    measured = _measurements()
    out = []
    for key in dict.fromkeys(keys):
        source = facts.catalog.sources.get(key)
        if source is not None:
            out.append(Reference(key, source.title, source.url))
        elif key in measured:
            out.append(Reference(key, measured[key]))
        else:
            out.append(
                Reference(
                    key,
                    f"row {key} of {MEASUREMENTS}" if key.startswith("M") else "not in catalogs/sources.toml",
                )
            )
    return out


@cache
def _measurements() -> dict[str, str]:
    """Row id -> one line describing a published measurement; empty when the file is not installed."""
    try:
        path = paths.measurements_csv()
    except FileNotFoundError:
        return {}
    if not Path(path).is_file():
        return {}
    out: dict[str, str] = {}
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            out[row["id"]] = (
                f"{row['gpu']} × {row['n_gpus']}: {row['metric']} = {row['value']} {row['unit']} "
                f"({row['source']})"
            )
    return out
