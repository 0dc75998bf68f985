"""The calibrated constants of the performance model, read from ``catalogs/calibration.toml``.

Every constant there names the measurement rows (``catalogs/measurements.csv``) it was fitted
on, so a reader can check it; this module only loads and validates the file. The collective and
efficiency models (:mod:`collectives`, :mod:`efficiency`) read it through :func:`calibration`.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gpuplanner import paths
from gpuplanner.core.errors import CatalogError


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Protocol(_Part):
    """An NCCL protocol: a share of the link's bandwidth for a start-up cost."""

    name: str
    bandwidth_fraction: float = Field(gt=0, le=1, description="payload share of the line (LL: flags)")
    base_latency_us: float = Field(ge=0)
    pipelined: bool = Field(description="pays the pipeline fill (chunked Simple/LL128), LL does not")


class LinkOverride(_Part):
    """Calibrated figures for one link id or one link kind, replacing the catalog's."""

    bus_efficiency: float | None = Field(default=None, gt=0, le=1)
    step_latency_us: float | None = Field(default=None, ge=0)
    rows: tuple[str, ...] = ()
    note: str = ""


class Collectives(_Part):
    rows: tuple[str, ...]
    pipeline_fill_bytes: float = Field(ge=0)
    nvls_links: tuple[str, ...]
    nvls_min_ranks: int = Field(ge=2)
    nvls_efficiency: float = Field(gt=0, le=1)
    nvls_rows: tuple[str, ...]
    host_staged_factor: float = Field(gt=0, le=1)
    host_staged_rows: tuple[str, ...]
    p2p_efficiency: float = Field(gt=0, le=1)
    p2p_rows: tuple[str, ...]
    spread: float = Field(ge=0, lt=1, description="relative half-width of the low-high band")
    protocol: tuple[Protocol, ...] = Field(min_length=1)
    kind: dict[str, LinkOverride] = {}
    link: dict[str, LinkOverride] = {}


class MemoryClass(_Part):
    """Achievable HBM/GDDR bandwidth as a fraction of the datasheet peak."""

    efficiency: float = Field(gt=0, le=1)
    spread: float = Field(ge=0, lt=1)
    rows: tuple[str, ...] = ()
    note: str = ""


class GemmClass(_Part):
    """Achievable tensor throughput: ``peak_fraction * x / (1 + x)``, ``x = (s / half_size) ** exponent``
    for a GEMM whose equivalent square side is ``s``."""

    peak_fraction: float = Field(gt=0, le=1)
    half_size: float = Field(gt=0, description="GEMM side at which half the plateau is reached")
    exponent: float = Field(gt=0)
    spread: float = Field(ge=0, lt=1)
    rows: tuple[str, ...] = ()
    note: str = ""


class Efficiency(_Part):
    memory: dict[str, MemoryClass]
    gemm: dict[str, GemmClass]
    attention_efficiency: float = Field(gt=0, le=1, description="KV reads vs a plain stream")
    attention_rows: tuple[str, ...] = ()


class Overhead(_Part):
    """Fixed costs of an engine, microseconds."""

    step_us: float = Field(ge=0, description="per decode step: scheduling, sampling, input prep")
    layer_us: float = Field(ge=0, description="per layer per step: kernel launches")
    request_us: float = Field(ge=0, description="once per request, on the first token")
    rows: tuple[str, ...] = ()


class Coverage(_Part):
    """How much wider the low-high speed band gets for each way a plan lies outside the published
    measurements (:mod:`gpuplanner.core.coverage`): relative amounts, added up, then capped."""

    family: float = Field(ge=0, lt=1, description="no speed row on this GPU family")
    engine: float = Field(ge=0, lt=1, description="no row of this engine on this family")
    moe: float = Field(ge=0, lt=1, description="no row of this model kind (dense / MoE) on this family")
    parallel: float = Field(ge=0, lt=1, description="no row of this split (one GPU, TP, PP, nodes)")
    regime: float = Field(ge=0, lt=1, description="no single-stream / batched row on this family")
    precision: float = Field(ge=0, lt=1, description="no row with weights of this width on this family")
    cap: float = Field(ge=0, le=0.5, description="the most the band widens, whatever is missing")
    upward: float = Field(ge=0, le=1, description="share of the widening the high (fast) end gets")

    def widening(self, missing: tuple[str, ...]) -> tuple[float, float]:
        """(low, high) relative widening for the ``missing`` dimensions (names of the fields above):
        the low speeds are multiplied by ``1 - low``, the high ones by ``1 + high``."""
        low = round(min(self.cap, sum(getattr(self, name) for name in missing)), 6)
        return low, round(low * self.upward, 6)


class Calibration(_Part):
    collectives: Collectives
    efficiency: Efficiency
    overhead: dict[str, Overhead]
    coverage: Coverage

    def overhead_for(self, engine_id: str) -> Overhead:
        """The fixed costs of ``engine_id`` ('default' when the engine has no entry)."""
        return self.overhead.get(engine_id) or self.overhead["default"]


def load_calibration(path: Path | str | None = None) -> Calibration:
    """Read and validate a calibration file (default: ``catalogs/calibration.toml``)."""
    file = Path(path) if path is not None else paths.catalogs_dir() / "calibration.toml"
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
        return Calibration.model_validate(data)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CatalogError(f"cannot read the calibration: {exc}", where=str(file)) from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        place = ".".join(str(p) for p in first["loc"])
        raise CatalogError(f"{place}: {first['msg']}", where=str(file)) from exc


_active: Calibration | None = None


@cache
def _builtin() -> Calibration:
    return load_calibration()


def calibration() -> Calibration:
    """The calibration in use: the built-in file, loaded once, unless :func:`use_calibration` set one."""
    return _active if _active is not None else _builtin()


def use_calibration(value: Calibration | None) -> None:
    """Evaluate with ``value`` instead of the built-in file (refits, tests); ``None`` restores it."""
    global _active
    _active = value
