"""Custom GPUs: a GPU the catalog lacks, described by the user and kept in the user folder.

A TOML file holds one GPU with the catalog's fields (see ``catalogs/gpus.toml``), either at the top
level or as a single ``[[gpu]]`` entry. Only ``id``, ``name``, the memory (``memory_gb`` or
``memory_gib_usable``), ``hbm_bandwidth_gbps`` and a 16-bit throughput (``bf16_tflops`` or
``fp16_tflops``) are required; the rest default to a PCIe 4.0 workstation card. It is validated like a
catalog entry (field names and ranges, ``native_link`` a known link, no clash with a built-in GPU),
saved as JSON in ``paths.user_gpus_dir()`` and read with the catalog. Its name carries
"(user-defined)", so every full name (window, tooltips, PDF) says where the figures come from.
"""

from __future__ import annotations

import datetime
import json
import logging
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gpuplanner import paths
from gpuplanner.core.errors import CatalogError
from gpuplanner.core.limits import read_text_limited
from gpuplanner.core.specs import GIB, GpuSpec, SourceRef

log = logging.getLogger(__name__)

USER_SOURCE = SourceRef(key="USER-GPU", title="Figures entered by the user (custom GPU)")
MARK = "(user-defined)"
_REQUIRED = ("id", "name", "hbm_bandwidth_gbps")


def _defaults(entry: dict[str, Any]) -> dict[str, Any]:
    data = dict(entry)
    if "memory_gb" not in data and "memory_gib_usable" in data:
        data["memory_gb"] = round(float(data["memory_gib_usable"]) * GIB / 1e9, 2)
    if "memory_gib_usable" not in data and "memory_gb" in data:
        data["memory_gib_usable"] = round(float(data["memory_gb"]) * 1e9 / GIB, 2)
    if "bf16_tflops" in data and "fp16_tflops" not in data:
        data["fp16_tflops"] = data["bf16_tflops"]
    if "fp16_tflops" in data and "bf16_tflops" not in data:
        data["bf16_tflops"] = data["fp16_tflops"]
    data.setdefault("vendor", "NVIDIA")
    data.setdefault("gpu_class", "workstation")
    data.setdefault("architecture", "user-defined")
    data.setdefault("memory_type", "unknown")
    data.setdefault("pcie_gen", 4)
    data.setdefault("tdp_w", 0.0)
    data.setdefault("form_factor", "pcie")
    data.setdefault("release_year", datetime.date.today().year)
    data["sources"] = [USER_SOURCE.key]
    name = str(data.get("name", ""))
    if name and MARK not in name:
        data["name"] = f"{name} {MARK}"
    return data


def _key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch not in " -_.\t")


def _describe(err: dict[str, Any]) -> str:
    where = ".".join(str(p) for p in err.get("loc", ()))
    if err.get("type") == "extra_forbidden":
        return f"field '{where}': unknown field (misspelled?)"
    if err.get("type") == "missing":
        return f"field '{where}': required field is missing"
    return f"field '{where}': {err.get('msg', 'invalid')}"


def gpu_from_entry(entry: dict[str, Any], catalog_links: Any, builtin: Any, where: str) -> GpuSpec:
    """Validate one custom GPU entry against the catalog's rules; raises CatalogError naming the field."""
    missing = [key for key in _REQUIRED if key not in entry]
    if "memory_gb" not in entry and "memory_gib_usable" not in entry:
        missing.append("memory_gb")
    if "bf16_tflops" not in entry and "fp16_tflops" not in entry:
        missing.append("bf16_tflops")
    if missing:
        raise CatalogError(
            f"required field(s) missing: {', '.join(missing)}",
            fix="give at least id, name, memory_gb, hbm_bandwidth_gbps and bf16_tflops",
            where=where,
        )
    try:
        spec = GpuSpec.model_validate(_defaults(entry))
    except ValidationError as exc:
        problems = "; ".join(_describe(dict(e)) for e in exc.errors()[:4])
        raise CatalogError(problems, fix="correct the field named above", where=where) from None
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", spec.id):
        raise CatalogError(
            f"id '{spec.id}' must be lower-case letters, digits, '.', '-' or '_'",
            fix='e.g. id = "my-rtx-4090d"',
            where=where,
        )
    if spec.native_link is not None and spec.native_link not in catalog_links:
        raise CatalogError(
            f"field 'native_link': '{spec.native_link}' is not a known link",
            fix="use a link id from `gpuplanner catalog links`, or leave it out (PCIe only)",
            where=where,
        )
    if builtin is not None:
        taken = {_key(name): g.id for g in builtin.values() for name in (g.id, *g.aliases)}
        for alias in spec.aliases:
            if _key(alias) in taken:
                raise CatalogError(
                    f"alias '{alias}' is already a name of the catalog's '{taken[_key(alias)]}'",
                    fix="give your GPU its own aliases (the driver's full name is fine)",
                    where=where,
                )
    if builtin is not None and spec.id in builtin:
        raise CatalogError(
            f"id '{spec.id}' is a built-in catalog GPU",
            fix="give your GPU its own id (e.g. add '-custom')",
            where=where,
        )
    return spec


def _entry_from_toml(text: str, where: str) -> dict[str, Any]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"TOML syntax error: {exc}", fix="fix the line named above", where=where) from None
    if "gpu" in data:
        entries = data["gpu"]
        if isinstance(entries, dict):
            return entries
        if not isinstance(entries, list) or len(entries) != 1 or not isinstance(entries[0], dict):
            raise CatalogError(
                "the file must describe one GPU ([[gpu]] once, or the fields at the top level)",
                fix="add one GPU per file",
                where=where,
            )
        return entries[0]  # type: ignore[no-any-return]
    return data


def add_user_gpu_file(path: Path, catalog: Any) -> tuple[GpuSpec, Path]:
    """Validate a custom GPU TOML file against ``catalog`` (its links and built-in GPUs) and save it
    in the user's GPU folder."""
    text = read_text_limited(path, error=CatalogError, what="GPU description", max_bytes=1024 * 1024)
    entry = _entry_from_toml(text, str(path))
    spec = gpu_from_entry(entry, catalog.links, catalog.gpus, str(path))
    return spec, save_user_gpu(spec)


def save_user_gpu(spec: GpuSpec) -> Path:
    folder = paths.user_gpus_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{spec.id}.json"
    target.write_text(spec.model_dump_json(indent=2), encoding="utf-8")
    return target


def load_user_gpus(links: Any, builtin: Any) -> tuple[list[GpuSpec], list[str]]:
    """The saved custom GPUs; a broken one is skipped with a warning (the app still starts)."""
    folder = paths.user_gpus_dir()
    specs: list[GpuSpec] = []
    warnings: list[str] = []
    if not folder.is_dir():
        return specs, warnings
    for file in sorted(folder.glob("*.json")):
        try:
            entry = json.loads(file.read_text(encoding="utf-8"))
            if not isinstance(entry, dict):
                raise CatalogError("not a JSON object")
            specs.append(gpu_from_entry(entry, links, builtin, str(file)))
        except (OSError, ValueError, CatalogError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            warnings.append(f"skipped custom GPU {file}: {reason}")
            log.warning("skipped custom GPU %s: %s", file, reason)
    return specs, warnings


def remove_user_gpu(gpu_id: str) -> bool:
    target = paths.user_gpus_dir() / f"{gpu_id}.json"
    if target.is_file():
        target.unlink()
        return True
    return False
