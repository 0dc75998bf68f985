"""Bill of materials, power, the cost of a token and service levels.

Golden figures are public: TDPs from NVIDIA's datasheets (H100 SXM 700 W, GeForce RTX 4090 450 W total
graphics power, RTX 3090 350 W), DGX H100 datasheet (8x ConnectX-7, ~10.2 kW max, 8U), the AWS
p5.48xlarge on-demand price ($98.32/h for 8 H100). The cost formula is worked by hand below.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpuplanner.cli.main import main
from gpuplanner.core.bom import bill_of_materials, plan_power
from gpuplanner.core.cost import plan_cost
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.prices import Price, PriceList, load_prices, parse_prices, save_user_prices
from gpuplanner.core.slo import at_concurrency, meets, slo_search
from gpuplanner.document.planfile import load_plan

EXAMPLES = sorted((Path(__file__).parents[2] / "catalogs" / "examples").glob("*.gpuplan"))


def _sample(part: str):
    return load_plan(next(p for p in EXAMPLES if part in p.name))


def test_dgx_h100_power_adds_up_to_the_datasheet_maximum():
    power = plan_power(_sample("dgx-h100-llama-3.1-70b"))
    assert power.gpus == 8 * 700  # H100 SXM TDP 700 W
    assert power.total == 10_200  # DGX H100 datasheet: ~10.2 kW max
    assert power.to_json() == {"gpus": 5600, "platform": 4600, "total": 10_200}


def test_geforce_power_is_the_cards_tdp_plus_a_platform():
    power = plan_power(_sample("2x-rtx4090"))
    assert power.gpus == 2 * 450
    assert power.total == power.gpus + power.platform
    mixed = plan_power(_sample("mixed-3090-4090"))
    assert mixed.gpus == 350 + 450


def test_two_dgx_need_one_nic_port_and_cable_per_gpu_and_16_rack_units():
    bom = {i.kind: i for i in bill_of_materials(_sample("405b-tp8-pp2"))}
    assert bom["gpu"].count == 16
    assert bom["server"].count == 2
    assert bom["nic"].count == bom["switch_port"].count == bom["cable"].count == 16  # 8 ConnectX-7 each
    assert bom["rack_units"].count == 2 * 8  # DGX H100: 8U
    assert set(bom["gpu"].to_json()) == {"item", "kind", "count", "unit_price_usd", "source"}


def test_one_server_needs_no_network_items():
    kinds = {i.kind for i in bill_of_materials(_sample("dgx-h100-llama-3.1-70b"))}
    assert not kinds & {"nic", "switch_port", "cable"}


def test_reference_prices_carry_a_source_and_no_datacenter_guess():
    prices = load_prices()
    assert prices.price("rtx-4090").unit_price_usd == 1599  # NVIDIA launch MSRP
    assert "2022" in prices.price("rtx-4090").source
    assert prices.price("h100-sxm") is None  # no public list price: unknown, not made up
    bom = bill_of_materials(_sample("dgx-h100-llama-3.1-70b"), prices)
    assert next(i for i in bom if i.kind == "gpu").unit_price_usd is None


def test_owned_cost_by_hand():
    plan = _sample("2x-rtx4090")
    prices = PriceList(
        items={"rtx-4090": Price("rtx-4090", "gpu", 1599.0), "workstation-2slot": Price("workstation-2slot",
                                                                                         "server", 2000.0)},
        amortization_years=3, usd_per_kwh=0.13, basis="owned")
    bom = bill_of_materials(plan, prices)
    power = plan_power(plan)
    assert power.total == 1150  # 2 x 450 W + 250 W workstation estimate
    cost = plan_cost(plan, bom, power, prices, output_tokens_per_s=100.0)
    # capex 2 x 1,599 + 2,000 = 5,198; per hour 5,198 / (3 x 8,760) + 1.15 kW x $0.13 = 0.197793 + 0.1495
    assert cost.capex_usd == pytest.approx(5198)
    assert cost.usd_per_hour == pytest.approx(0.347293, rel=1e-5)
    # 100 tokens/s = 360,000 tokens/hour: 0.347293 / 360,000 x 10^6 = $0.964703 per million
    assert cost.usd_per_million_output_tokens == pytest.approx(0.964703, rel=1e-5)
    assert cost.joules_per_output_token == pytest.approx(11.5)  # 1,150 W / 100 tokens/s
    assert cost.kwh_per_million_output_tokens == pytest.approx(11.5 * 1e6 / 3.6e6)


def test_cloud_cost_uses_the_per_gpu_hour_rate():
    plan = _sample("dgx-h100-llama-3.1-70b")
    prices = load_prices()
    cost = plan_cost(plan, bill_of_materials(plan, prices), plan_power(plan), prices, 1000.0)
    assert cost.capex_usd is None and cost.basis == "cloud"
    assert cost.usd_per_hour == pytest.approx(98.32)  # AWS p5.48xlarge, 8 x H100
    assert cost.usd_per_million_output_tokens == pytest.approx(98.32 / 3.6)


def test_unknown_prices_stay_null():
    plan = _sample("4x-a100-pcie")
    prices = load_prices()
    cost = plan_cost(plan, bill_of_materials(plan, prices), plan_power(plan), prices, 200.0)
    assert cost.to_json()["capex_usd"] is None and cost.usd_per_hour is None
    assert cost.usd_per_million_output_tokens is None
    assert cost.joules_per_output_token == pytest.approx(plan_power(plan).total / 200.0)


def test_user_price_list_overrides_the_reference(tmp_path):
    prices = load_prices()
    items = dict(prices.items)
    items["h100-sxm"] = Price("h100-sxm", "gpu", 25000.0, "our quote 2026-11")
    save_user_prices(PriceList(items, prices.cloud, 4, 0.2, "our tariff", "owned"))
    again = load_prices()
    assert again.price("h100-sxm").unit_price_usd == 25000 and again.amortization_years == 4
    assert again.price("rtx-4090").unit_price_usd == 1599
    with pytest.raises(Exception, match="unit_price_usd"):
        parse_prices({"item": [{"id": "x", "unit_price_usd": -3}]})


@pytest.mark.parametrize("part", ["dgx-h100-llama-3.1-70b", "4x-a100-pcie", "8x-h200", "405b-tp8-pp2"])
def test_slo_search_agrees_with_evaluate_at_the_concurrency_it_returns(part):
    plan = _sample(part)
    # 60 ms per token: a target every sample meets at one user (405B over two pipeline stages of
    # 8 x H100 takes about 45 ms a token for one user)
    slo = slo_search(plan, 2000.0, 60.0)
    assert slo.max_concurrency and slo.max_concurrency > 0
    at = evaluate(at_concurrency(plan, slo.max_concurrency))
    assert meets(at, 2000.0, 60.0)
    assert at.performance.tpot_s * 1000 <= 60.0 and at.performance.ttft_s * 1000 <= 2000.0
    assert slo.goodput_tokens_per_s == at.performance.output_tokens_per_s
    beyond = evaluate(at_concurrency(plan, slo.max_concurrency + 1))
    assert not meets(beyond, 2000.0, 60.0) or slo.max_concurrency >= beyond.kv_cache.max_concurrency
    own = evaluate(plan)
    assert slo.met == meets(own, 2000.0, 60.0)


def test_slo_without_targets_is_null_and_an_impossible_target_serves_no_one():
    plan = _sample("dgx-h100-llama-3.1-70b")
    assert slo_search(plan, None, None).to_json() == {"ttft_ms": None, "tpot_ms": None, "max_concurrency": None,
                                                      "goodput_tokens_per_s": None, "met": None}
    none = slo_search(plan, None, 0.001)
    assert none.max_concurrency == 0 and none.met is False


def test_evaluate_json_gains_the_public_keys(capsys):
    path = str(next(p for p in EXAMPLES if "dgx-h100-llama-3.1-70b" in p.name))
    assert main(["evaluate", path, "--json", "--slo-ttft-ms", "1000", "--slo-tpot-ms", "40"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["power_w"]) == {"gpus", "platform", "total"}
    assert set(data["cost"]) == {"capex_usd", "usd_per_hour", "usd_per_million_output_tokens",
                                 "joules_per_output_token"}
    assert set(data["slo"]) == {"ttft_ms", "tpot_ms", "max_concurrency", "goodput_tokens_per_s", "met"}
    assert data["slo"]["ttft_ms"] == 1000 and data["slo"]["met"] in (True, False)
    assert all(set(i) == {"item", "kind", "count", "unit_price_usd", "source"} for i in data["bill_of_materials"])
    with pytest.raises(SystemExit) as bad:
        main(["evaluate", path, "--slo-tpot-ms", "0"])
    assert bad.value.code == 2 and "milliseconds" in capsys.readouterr().err
