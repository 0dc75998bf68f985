"""The calibrated constants of the performance model, read from ``catalogs/calibration.toml``.

Every constant there names the measurement rows (``catalogs/measurements.csv``) it was fitted
on, so a reader can check it; this module only loads and validates the file. The collective and
efficiency models (:mod:`collectives`, :mod:`efficiency`) read it through :func:`calibration`.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Literal

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


class CustomAllReduce(_Part):
    """The engines' own all-reduce inside an NVLink/NVSwitch domain (vLLM's custom all-reduce,
    SGLang's copy of it, TensorRT-LLM's AllReduce plugin): one shot (every GPU reads every peer's
    buffer) for small messages, two shots (reduce-scatter + all-gather) up to ``max_bytes``; NCCL above."""

    engines: tuple[str, ...]
    world_sizes: tuple[int, ...]
    link_kinds: tuple[str, ...] = Field(description="hop kinds that count as a fully connected domain")
    pcie_pair: bool = Field(description="two GPUs with PCIe peer-to-peer qualify too")
    max_bytes: float = Field(gt=0)
    one_shot_max_bytes_upto4: float = Field(ge=0)
    one_shot_max_bytes_upto8: float = Field(ge=0)
    one_shot_latency_us: float = Field(ge=0)
    two_shot_latency_us: float = Field(ge=0)
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
    custom_allreduce: CustomAllReduce | None = None


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
    vector_fraction: float = Field(
        gt=0, le=1, description="share of the CUDA-core FP32 peak a skinny (GEMV-like) matmul reaches"
    )
    vector_rows: tuple[str, ...] = ()
    tile_tokens: int = Field(
        gt=0, description="rows a tensor-core GEMM tile holds: fewer tokens cost as much"
    )


class Moe(_Part):
    """Fused mixture-of-experts kernels: expert weights are many small matrices, not one big one."""

    expert_read_efficiency: float = Field(gt=0, le=1, description="expert weight reads vs a dense stream")
    expert_read_efficiency_amd: float = Field(gt=0, le=1, description="the same with ROCm's MoE kernels")
    layer_us: float = Field(default=0.0, ge=0, description="per MoE layer per step: routing, top-k, permute")
    expert_gemm_efficiency: float = Field(
        default=1.0, gt=0, le=1, description="fused-MoE grouped GEMMs against cuBLASLt's dense GEMMs"
    )
    rows: tuple[str, ...] = ()
    note: str = ""


def version_key(version: str) -> tuple[int, ...]:
    """'0.10.2' -> (0, 10, 2); text after the numbers ('rc1', '.dev3+g...') is ignored. A llama.cpp
    build tag 'b3216' -> (3216,)."""
    parts = []
    if version[:1] == "b" and version[1:2].isdigit():
        version = version[1:]
    for piece in version.lstrip("vV").split("."):
        digits = "".join(ch for ch in piece if ch.isdigit()) if piece[:1].isdigit() else ""
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def released_before(version: str | None, before: str | None) -> bool:
    """Whether release ``version`` is older than ``before`` (False when either is unset or unreadable:
    an unnamed release is the current one)."""
    if not version or not before:
        return False
    key = version_key(version)
    return bool(key) and key < version_key(before)


class Overhead(_Part):
    """Fixed costs of an engine, microseconds. An entry with ``engine`` and ``before`` holds the costs
    of that engine's releases older than ``before`` (and from ``since`` on, when set; engines get
    faster: SGLang 0.4 ran DeepSeek's decode step several times slower than 0.5); the entry named after
    the engine is its current one."""

    engine: str | None = None
    before: str | None = None
    since: str | None = Field(
        default=None,
        description="the first release the entry covers (unset: every release before ``before``)",
    )

    step_us: float = Field(ge=0, description="per decode step: scheduling, sampling, input prep")
    layer_us: float = Field(ge=0, description="per layer per step: kernel launches")
    request_us: float = Field(ge=0, description="once per request, on the first token")
    eager_layer_us: float = Field(
        default=0.0, ge=0, description="per layer per step without CUDA graphs (enforce_eager)"
    )
    seq_us: float = Field(default=0.0, ge=0, description="per sequence per decode step on the CPU side")
    gemm_efficiency: float = Field(
        default=1.0, gt=0, le=1, description="the engine's matmul and attention kernels vs cuBLASLt's"
    )
    moe_layer_us: float = Field(
        default=0.0, ge=0, description="per MoE layer per step: routing, top-k, token permutation, launches"
    )
    kv_per_query_head_before: str | None = Field(
        default=None,
        description="releases before this one decode grouped-query attention one query head per thread "
        "block, reading each KV head once per query head of its group (no GQA-aware kernel)",
    )
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
    moe: Moe
    overhead: dict[str, Overhead]
    coverage: Coverage

    def overhead_for(self, engine_id: str, version: str | None = None) -> Overhead:
        """The fixed costs of ``engine_id`` at ``version`` (None: the current release; 'default' when
        the engine has no entry)."""
        older = [
            o
            for o in self.overhead.values()
            if o.engine == engine_id
            and released_before(version, o.before)
            and not released_before(version, o.since)
        ]
        if older:
            return min(older, key=lambda o: version_key(o.before or ""))
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
_generation = 0


@cache
def _builtin() -> Calibration:
    return load_calibration()


def calibration() -> Calibration:
    """The calibration in use: the built-in file, loaded once, unless :func:`use_calibration` set one."""
    return _active if _active is not None else _builtin()


def use_calibration(value: Calibration | None) -> None:
    """Evaluate with ``value`` instead of the built-in file (refits, tests); ``None`` restores it.

    Every cache of timings derived from the calibration is keyed on :func:`calibration_generation`,
    so the next estimate uses ``value``."""
    global _active, _generation
    _active = value
    _generation += 1


def calibration_generation() -> int:
    """A number that changes whenever :func:`use_calibration` changes the calibration in use."""
    return _generation


Band = Literal["mid", "low", "high"]


def banded(value: float, spread: float, band: Band, cap: float = 1.0) -> float:
    """``value`` at the ``band`` end of its measured spread: ``value * (1 -/+ spread)``, capped at ``cap``.

    The one rule behind every low-high band (efficiencies of memory, GEMMs and links alike).
    """
    if band == "low":
        return value * (1 - spread)
    if band == "high":
        return min(cap, value * (1 + spread))
    return value


# -- the user's own calibration (``gpuplanner calibrate``), layered on top per GPU kind and engine -----
class UserFactor(_Part):
    """Factors fitted to one person's runs of one GPU kind with one engine (``gpuplanner calibrate``).

    ``memory_scale`` multiplies the achievable memory bandwidth (decode: weights and KV streaming),
    ``compute_scale`` the achievable tensor throughput (prefill). 1.0 leaves the catalog's figures."""

    gpu: str = Field(description="GPU catalog id")
    engine: str = Field(description="engine id")
    memory_scale: float = Field(default=1.0, gt=0, le=10)
    compute_scale: float = Field(default=1.0, gt=0, le=10)
    runs: int = Field(default=0, ge=0, description="measurements the factors were fitted on")
    label: str = Field(default="", description="e.g. 'RTX 4090, llama.cpp'")
    error_before: float | None = Field(default=None, description="mean |relative error| before the fit")
    error_after: float | None = Field(default=None, description="mean |relative error| after the fit")
    points: tuple[tuple[int, float], ...] = Field(
        default=(), description="measured (concurrency, output tokens/s) for the throughput chart"
    )
    files: tuple[str, ...] = ()


class UserCalibration(_Part):
    schema_: str = Field(default="gpuplanner.user-calibration/1", alias="schema")
    factors: tuple[UserFactor, ...] = ()

    def factor_for(self, gpu: str, engine: str) -> UserFactor | None:
        for factor in self.factors:
            if factor.gpu == gpu and factor.engine == engine:
                return factor
        return None


_user: UserCalibration | None = None
_user_key: tuple[str, int, int] | None = None
_user_pinned = False


def _user_file_key() -> tuple[str, int, int]:
    """(path, modification time, size) of the user calibration file: a changed file changes it."""
    path = paths.user_calibration_file()
    try:
        st = path.stat()
    except OSError:
        return str(path), -1, -1
    return str(path), st.st_mtime_ns, st.st_size


def load_user_calibration() -> UserCalibration:
    """The user's calibration file (empty when there is none or it cannot be read)."""
    path = paths.user_calibration_file()
    try:
        return UserCalibration.model_validate_json(path.read_bytes())
    except (OSError, ValidationError, ValueError):
        return UserCalibration()


def user_calibration() -> UserCalibration:
    """The user calibration in use: the user folder's file (re-read when its path, time or size
    changes; one ``stat`` per call, so callers ask once per evaluation, not per stage) unless
    :func:`use_user_calibration` pinned one."""
    global _user, _user_key, _generation
    if _user_pinned and _user is not None:
        return _user
    key = _user_file_key()
    if _user is None or key != _user_key:
        _user, _user_key = load_user_calibration(), key
        _generation += 1
    return _user


def use_user_calibration(value: UserCalibration | None) -> None:
    """Evaluate with ``value`` as the user calibration (the fit tries factors with it); ``None``
    goes back to the user folder's file."""
    global _user, _user_key, _user_pinned, _generation
    _user, _user_key, _user_pinned = value, None, value is not None
    _generation += 1


def scales_for(table: UserCalibration, gpu: str, engine: str) -> tuple[float, float]:
    """(memory_scale, compute_scale) ``table`` holds for ``gpu`` with ``engine``; (1, 1) if none."""
    factor = table.factor_for(gpu, engine)
    return (factor.memory_scale, factor.compute_scale) if factor is not None else (1.0, 1.0)


def user_scales(gpu: str, engine: str) -> tuple[float, float]:
    """(memory_scale, compute_scale) the user calibrated for ``gpu`` with ``engine``; (1, 1) if none."""
    return scales_for(user_calibration(), gpu, engine)
