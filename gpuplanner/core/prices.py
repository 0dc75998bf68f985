"""The price list: reference prices shipped in ``catalogs/prices.toml``, the user's own in the user folder.

A price is a public list price with its source and date, or nothing: an item without one shows as
unknown (``None``) and the costs that need it stay ``None``. The user's ``prices.toml`` (same schema,
written by the window's price list editor) overrides the shipped entries id by id.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from gpuplanner import paths
from gpuplanner.core.errors import PlannerError

PRICES_FILE = "prices.toml"
Basis = Literal["owned", "cloud"]


@dataclass(frozen=True)
class Price:
    id: str  # catalog id: a GPU, a server template, a link (NIC, cable, bridge)
    kind: str
    unit_price_usd: float | None
    source: str = ""
    url: str = ""


@dataclass(frozen=True)
class CloudRate:
    gpu: str
    usd_per_gpu_hour: float
    source: str = ""
    url: str = ""


@dataclass(frozen=True)
class PriceList:
    items: dict[str, Price] = field(default_factory=dict)
    cloud: dict[str, CloudRate] = field(default_factory=dict)
    amortization_years: float = 3.0
    usd_per_kwh: float | None = None
    usd_per_kwh_source: str = ""
    basis: Basis = "owned"

    def price(self, item_id: str) -> Price | None:
        return self.items.get(item_id)

    def with_basis(self, basis: Basis) -> PriceList:
        return replace(self, basis=basis)


def _number(value: Any, where: str, minimum: float = 0.0) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= minimum:
        raise PlannerError(f"{where} must be a number of at least {minimum:g}, not {value!r}",
                           fix="correct it in the price list", where=PRICES_FILE)
    return float(value)


def parse_prices(data: dict[str, Any], base: PriceList | None = None) -> PriceList:
    """A price list from parsed TOML, on top of ``base`` (entries with the same id replace base's)."""
    items = dict(base.items) if base else {}
    cloud = dict(base.cloud) if base else {}
    for i, raw in enumerate(data.get("item", [])):
        if not isinstance(raw, dict) or not raw.get("id"):
            raise PlannerError(f"item {i + 1} has no id", fix="give every [[item]] an id", where=PRICES_FILE)
        items[str(raw["id"])] = Price(
            id=str(raw["id"]),
            kind=str(raw.get("kind", "")),
            unit_price_usd=_number(raw.get("unit_price_usd"), f"item '{raw['id']}' unit_price_usd"),
            source=str(raw.get("source", "")),
            url=str(raw.get("url", "")),
        )
    for i, raw in enumerate(data.get("cloud", [])):
        if not isinstance(raw, dict) or not raw.get("gpu"):
            raise PlannerError(f"cloud row {i + 1} has no gpu", fix="give every [[cloud]] a gpu id",
                               where=PRICES_FILE)
        rate = _number(raw.get("usd_per_gpu_hour"), f"cloud '{raw['gpu']}' usd_per_gpu_hour")
        if rate is None:
            cloud.pop(str(raw["gpu"]), None)
            continue
        cloud[str(raw["gpu"])] = CloudRate(str(raw["gpu"]), rate, str(raw.get("source", "")),
                                           str(raw.get("url", "")))
    settings = data.get("settings", {})
    years = _number(settings.get("amortization_years"), "amortization_years", 0.01)
    kwh = settings.get("usd_per_kwh", base.usd_per_kwh if base else None)
    basis = settings.get("basis", base.basis if base else "owned")
    if basis not in ("owned", "cloud"):
        raise PlannerError(f"basis must be 'owned' or 'cloud', not {basis!r}", fix="correct [settings] basis",
                           where=PRICES_FILE)
    return PriceList(
        items=items,
        cloud=cloud,
        amortization_years=years if years is not None else (base.amortization_years if base else 3.0),
        usd_per_kwh=_number(kwh, "usd_per_kwh"),
        usd_per_kwh_source=str(settings.get("usd_per_kwh_source", base.usd_per_kwh_source if base else "")),
        basis=basis,
    )


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise PlannerError(f"TOML syntax error: {e}", fix="fix the line named above", where=str(path)) from e


def reference_prices() -> PriceList:
    return parse_prices(_read(paths.catalogs_dir() / PRICES_FILE))


def user_prices_path() -> Path:
    return paths.user_data_dir() / PRICES_FILE


def load_prices() -> PriceList:
    """The shipped reference prices with the user's price list (if any) on top."""
    base = reference_prices()
    user = user_prices_path()
    if user.is_file():
        return parse_prices(_read(user), base)
    return base


def _toml_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dump_prices(prices: PriceList) -> str:
    """The price list as TOML (what the window's editor saves in the user folder)."""
    lines = ["# gpuplanner price list (user copy): edit freely; empty prices are unknown", "", "[settings]",
             f"amortization_years = {prices.amortization_years:g}"]
    if prices.usd_per_kwh is not None:
        lines.append(f"usd_per_kwh = {prices.usd_per_kwh:g}")
    lines += [f"usd_per_kwh_source = {_toml_str(prices.usd_per_kwh_source)}", f'basis = "{prices.basis}"']
    for p in prices.items.values():
        lines += ["", "[[item]]", f"id = {_toml_str(p.id)}", f"kind = {_toml_str(p.kind)}"]
        if p.unit_price_usd is not None:
            lines.append(f"unit_price_usd = {p.unit_price_usd:g}")
        lines += [f"source = {_toml_str(p.source)}", f"url = {_toml_str(p.url)}"]
    for c in prices.cloud.values():
        lines += ["", "[[cloud]]", f"gpu = {_toml_str(c.gpu)}", f"usd_per_gpu_hour = {c.usd_per_gpu_hour:g}",
                  f"source = {_toml_str(c.source)}", f"url = {_toml_str(c.url)}"]
    return "\n".join(lines) + "\n"


def save_user_prices(prices: PriceList) -> Path:
    path = user_prices_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(dump_prices(prices), encoding="utf-8")
    tmp.replace(path)
    return path
