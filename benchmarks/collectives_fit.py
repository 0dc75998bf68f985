"""Predicted vs measured NCCL bus bandwidth for every collective row the model can express.

    .venv/bin/python benchmarks/collectives_fit.py          # the table, with catalogs/calibration.toml
    .venv/bin/python benchmarks/collectives_fit.py --fit    # refit the curve constants (prints them)

The rows printed here are the TRAINING set of the collective constants (catalogs/calibration.toml
names them), so the errors are in-sample: they show how well the latency + bandwidth shape can follow
the curves, not how well it predicts an unseen machine.
"""

from __future__ import annotations

import argparse
import csv
import math
import re
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gpuplanner import paths  # noqa: E402
from gpuplanner.core import calibration as calib_module  # noqa: E402
from gpuplanner.core.catalog import default_catalog  # noqa: E402
from gpuplanner.core.collectives import allreduce_time_s, busbw_gbps, p2p_time_s  # noqa: E402
from gpuplanner.core.plan import GpuPlacement, Link, Node, Rig  # noqa: E402
from gpuplanner.core.topology import path_between, ring_for_group  # noqa: E402

DATA = paths.measurements_csv()


@dataclass(frozen=True)
class Case:
    """How to build the measured machine: GPU id, group size, wiring."""

    gpu: str
    n: int
    nvswitch: str | None = None
    host_link: str = "pcie5-x16-switch"
    pair_link: str | None = None  # explicit link joining g0-g1
    msg_bytes: float | None = None  # when the row has no msg_bytes= note
    op: str = "allreduce"  # allreduce | algbw | p2p_uni | p2p_bidir


# Row -> machine. Message sizes not in the notes: the largest size the row's command line sweeps to.
CASES = {
    **{f"M{i}": Case("h100-sxm", 8, "nvswitch-nvlink4") for i in range(112, 118)},
    **{f"M{i}": Case("h200-sxm", 8, "nvswitch-nvlink4") for i in range(118, 122)},
    **{f"M{i}": Case("a100-80gb-sxm", 8, "nvswitch-nvlink3") for i in range(122, 127)},
    "M127": Case("gb200", 4, "nvswitch-nvl72"),
    "M128": Case("gb200", 4, "nvswitch-nvl72"),
    "M207": Case("h200-sxm", 8, "nvswitch-nvlink4", msg_bytes=4 * 2**30),
    "M208": Case("h100-pcie", 2, pair_link="nvlink-bridge-h100-pcie"),
    "M209": Case("h100-pcie", 2, pair_link="nvlink-bridge-h100-pcie"),
    "M210": Case("a100-80gb-sxm", 8, "nvswitch-nvlink3", msg_bytes=2**30),
    "M211": Case("a100-80gb-sxm", 2, pair_link="nvlink3", msg_bytes=12 * 2**30),
    "M212": Case("a100-80gb-sxm", 3, host_link="pcie4-x16-sys", pair_link="nvlink3", msg_bytes=2**30),
    "M213": Case("rtx-5090", 8, host_link="pcie5-x16-sys", msg_bytes=8 * 2**30),
    "M214": Case("rtx-5090", 4, host_link="pcie5-x16-sys", msg_bytes=8 * 2**30),
    "M215": Case("h100-sxm", 2, "nvswitch-nvlink4", msg_bytes=2**30, op="p2p_bidir"),
    "M216": Case("h100-sxm", 2, "nvswitch-nvlink4", msg_bytes=2**30, op="p2p_uni"),
    "M217": Case("h100-sxm", 8, "nvswitch-nvlink4", msg_bytes=256 * 2**20, op="algbw"),
}


def build_rig(case: Case) -> Rig:
    gpus = tuple(GpuPlacement(id=f"g{i}", gpu=case.gpu, slot=i) for i in range(case.n))
    node = Node(id="n0", slots=max(8, case.n), gpus=gpus, host_link=case.host_link, nvswitch=case.nvswitch)
    links = (Link(id="l0", kind=case.pair_link, a="g0", b="g1"),) if case.pair_link else ()
    return Rig(nodes=(node,), links=links)


def predict(case: Case, nbytes: float, catalog: object) -> float:
    """The model's figure in the row's own metric (busbw, algbw or p2p GB/s)."""
    rig = build_rig(case)
    if case.op.startswith("p2p"):
        seconds = p2p_time_s(nbytes, path_between(rig, catalog, "g0", "g1"))
        return nbytes / seconds / 1e9 * (2 if case.op == "p2p_bidir" else 1)
    hops = ring_for_group(rig, catalog, [g.id for g in rig.nodes[0].gpus])
    seconds = allreduce_time_s(nbytes, hops, case.n)
    if case.op == "algbw":
        return nbytes / seconds / 1e9
    return busbw_gbps(seconds, nbytes, case.n)


def rows() -> list[tuple[str, Case, float, float, str]]:
    found = []
    with DATA.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            case = CASES.get(row["id"])
            if case is None:
                continue
            match = re.search(r"msg_bytes=(\d+)", row["notes"])
            nbytes = float(match.group(1)) if match else case.msg_bytes
            assert nbytes is not None, row["id"]
            found.append((row["id"], case, nbytes, float(row["value"]), row["metric"]))
    return found


def table(catalog: object) -> list[float]:
    errors = []
    print(f"{'row':5} {'machine':34} {'bytes':>11} {'measured':>9} {'model':>9} {'error':>7}")
    for rid, case, nbytes, measured, metric in rows():
        model = predict(case, nbytes, catalog)
        err = model / measured - 1
        errors.append(abs(err))
        wiring = case.nvswitch or case.pair_link or case.host_link
        print(
            f"{rid:5} {case.n}x{case.gpu:14} {wiring:17} {nbytes:11.3g} {measured:9.2f} {model:9.2f} {err:+7.1%}"
            f"  {metric}"
        )
    ordered = sorted(errors)
    p90 = ordered[min(len(ordered) - 1, math.ceil(0.9 * len(ordered)) - 1)]
    print(
        f"\n{len(errors)} rows (in-sample)   median |error| {statistics.median(errors):.1%}   p90 {p90:.1%}"
    )
    return errors


def fit(catalog: object) -> None:
    """Refit the curve constants shared by the NVSwitch curves (coordinate descent on log error)."""
    base = calib_module.calibration()
    coll = base.collectives
    curve = [r for r in rows() if r[0] in coll.rows]
    names = [
        "pipeline_fill_bytes",
        "nvls_efficiency",
        "LL128_base_us",
        "nvswitch3_step_us",
        "nvswitch4_step_us",
    ]

    def apply(x: np.ndarray) -> None:
        protos = tuple(
            p.model_copy(update={"base_latency_us": x[2]}) if p.name == "LL128" else p for p in coll.protocol
        )
        link = dict(coll.link)
        for lid, value in (("nvswitch-nvlink3", x[3]), ("nvswitch-nvlink4", x[4])):
            link[lid] = link[lid].model_copy(update={"step_latency_us": value})
        new = coll.model_copy(
            update={"pipeline_fill_bytes": x[0], "nvls_efficiency": x[1], "protocol": protos, "link": link}
        )
        calib_module.use_calibration(base.model_copy(update={"collectives": new}))

    def loss(x: np.ndarray) -> float:
        if np.any(x <= 0) or x[1] > 1:
            return 1e9
        apply(x)
        return float(sum(math.log(predict(c, b, catalog) / m) ** 2 for _, c, b, m, _ in curve))

    ll128 = next(p for p in coll.protocol if p.name == "LL128")
    x = np.array(
        [
            coll.pipeline_fill_bytes,
            coll.nvls_efficiency,
            ll128.base_latency_us,
            coll.link["nvswitch-nvlink3"].step_latency_us or 3.0,
            coll.link["nvswitch-nvlink4"].step_latency_us or 2.0,
        ]
    )
    fx, step = loss(x), np.abs(x) * 0.3
    while step.max() > 1e-6 * np.abs(x).max():
        improved = False
        for i in range(len(x)):
            for sign in (1, -1):
                y = x.copy()
                y[i] += sign * step[i]
                fy = loss(y)
                if fy < fx:
                    x, fx, improved = y, fy, True
        if not improved:
            step *= 0.5
    apply(x)
    print("fitted:", ", ".join(f"{n}={v:.4g}" for n, v in zip(names, x, strict=True)), f"loss={fx:.4f}\n")
    table(catalog)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fit", action="store_true", help="refit the shared curve constants")
    args = parser.parse_args()
    catalog = default_catalog()
    if args.fit:
        fit(catalog)
    else:
        table(catalog)


if __name__ == "__main__":
    main()
