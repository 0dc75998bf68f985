"""The catalog the benchmarks use: the full one when it loads, else GPUs and links read straight from
``catalogs/gpus.toml`` and ``catalogs/links.toml`` (enough for topology and collectives)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass

from gpuplanner import paths
from gpuplanner.core.catalog import default_catalog
from gpuplanner.core.errors import PlannerError
from gpuplanner.core.specs import GpuSpec, LinkSpec


@dataclass(frozen=True)
class _SpecsCatalog:
    gpus: dict[str, GpuSpec]
    links: dict[str, LinkSpec]

    def gpu(self, ref: str) -> GpuSpec:
        return self.gpus[ref]

    def link(self, ref: str) -> LinkSpec:
        return self.links[ref]


def specs_catalog() -> object:
    """``default_catalog()``, or GPU and link specs only when the rest of the catalog is missing."""
    try:
        return default_catalog()
    except PlannerError:
        folder = paths.catalogs_dir()
        gpus = tomllib.loads((folder / "gpus.toml").read_text(encoding="utf-8"))["gpu"]
        links = tomllib.loads((folder / "links.toml").read_text(encoding="utf-8"))["link"]
        return _SpecsCatalog(
            {g["id"]: GpuSpec.model_validate(g) for g in gpus},
            {k["id"]: LinkSpec.model_validate(k) for k in links},
        )
