"""benchmarks/accuracy.py's partial pooling: a constant its rows cannot set is predicted from its kind."""

from __future__ import annotations

import math

import pytest

from benchmarks.accuracy import PARAMS, get_value, pooled_value, with_value
from gpuplanner.core.calibration import load_calibration


def _param(name: str):
    return next(p for p in PARAMS if p.name == name)


def test_an_older_release_without_rows_takes_its_engine_times_its_peers_slowdown() -> None:
    cal = load_calibration()
    cal = with_value(cal, ("overhead", "vllm", "step_us"), 200.0)
    cal = with_value(cal, ("overhead", "vllm-v0", "step_us"), 1000.0)  # V0: 5x today's
    cal = with_value(cal, ("overhead", "sglang", "step_us"), 300.0)
    informed = {"overhead.vllm.step_us", "overhead.vllm-v0.step_us", "overhead.sglang.step_us"}
    assert pooled_value(cal, _param("overhead.sglang-0.4.step_us"), informed) == pytest.approx(1500.0)
    # without a peer informed: the engine's current value; without that either: the a-priori value
    assert (
        pooled_value(cal, _param("overhead.sglang-0.4.step_us"), informed - {"overhead.vllm-v0.step_us"})
        == 300.0
    )
    prior = _param("overhead.sglang-0.4.step_us").prior
    assert pooled_value(cal, _param("overhead.sglang-0.4.step_us"), set()) == prior


def test_a_release_of_another_runtime_keeps_its_prior_and_current_engines_pool_with_each_other() -> None:
    cal = load_calibration()
    everything = {p.name for p in PARAMS}
    trt_old = _param("overhead.trtllm-0.x.step_us")
    assert pooled_value(cal, trt_old, everything) == trt_old.prior
    values = [get_value(cal, ("overhead", e, "request_us")) for e in ("vllm", "sglang", "llamacpp")]
    expected = math.exp(sum(math.log(v) for v in values) / 3)
    informed = {f"overhead.{e}.request_us" for e in ("vllm", "sglang", "llamacpp")}
    assert pooled_value(cal, _param("overhead.trtllm.request_us"), informed) == pytest.approx(expected)


def test_a_fitted_constant_lands_in_the_deepest_valley_not_the_nearest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A median-plus-mean objective has several valleys: a golden-section search alone settles in
    whichever its first probes fall into. The fit scans the whole range first, then refines."""
    import benchmarks.accuracy as accuracy

    param = _param("overhead.vllm.step_us")  # searched on a log scale between its bounds (20-3000 us)

    def objective(rows, cal, p, value):  # a shallow valley at 60 us, the deep one at 1,500 us
        x = math.log(value)
        return min(0.3 + (x - math.log(60.0)) ** 2, (x - math.log(1500.0)) ** 2)

    monkeypatch.setattr(accuracy, "_objective", objective)
    monkeypatch.setattr(accuracy, "has_evidence", lambda rows, p: True)
    fitted = accuracy.fit_param([], load_calibration(), param)
    assert get_value(fitted, param.path) == pytest.approx(1500.0, rel=0.02)
