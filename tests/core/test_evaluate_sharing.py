"""evaluate shares the work of identical replicas, stages and GPUs: the reports must not change.

``tests/data/evaluate_regression/`` holds the JSON reports of the unshared evaluate (7028cb4, rewritten at 815b362 after the refit),
written by ``benchmarks/evaluate_regression.py`` (see its docstring). They are a regression guard,
not golden values: they pin "the same output as before", not what is right; a deliberate change to
the model's figures rewrites them with that script (and says so in its commit).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.evaluate_regression import plans, reports

SAVED = Path(__file__).resolve().parent.parent / "data" / "evaluate_regression"


def test_every_saved_plan_is_still_built() -> None:
    assert {p.stem for p in SAVED.glob("*.json")} == set(plans())


@pytest.fixture(scope="module")
def now() -> dict[str, str]:
    return reports()


@pytest.mark.parametrize("name", sorted(p.stem for p in SAVED.glob("*.json")))
def test_report_unchanged(name: str, now: dict[str, str]) -> None:
    assert now[name] == (SAVED / f"{name}.json").read_text()


def test_report_does_not_depend_on_earlier_evaluations() -> None:
    """Step times are shared across evaluations; the links a report names stay the plan's own."""
    from gpuplanner.core.catalog import default_catalog
    from gpuplanner.core.evaluate import evaluate
    from gpuplanner.core.quick import quick_plan

    cat = default_catalog()
    plan = quick_plan(model="meta-llama/Llama-3.1-70B-Instruct", gpu="h100-sxm", tp=8, catalog=cat)
    node = plan.rig.nodes[0]
    renamed = plan.model_copy(
        update={"rig": plan.rig.model_copy(update={"nodes": (node.model_copy(update={"id": "rack7"}),)})}
    )
    evaluate(plan, cat)  # times the same stage first, on a node with another name
    perf = evaluate(renamed, cat).performance
    assert perf is not None
    names = [link.name for link in perf.links if link.purpose == "tensor parallel"]
    assert names == ["NVSwitch (rack7)"]


def test_a_rewritten_user_calibration_file_changes_the_very_next_estimate(isolated_user_dir: Path) -> None:
    """The user calibration is read once per evaluation, keyed on the file's path, time and size:
    a file written by ``gpuplanner calibrate`` in another process counts at the next evaluation (not a
    second later), and removing it restores the catalog's figures exactly."""
    from gpuplanner.core.calibration import UserCalibration, UserFactor
    from gpuplanner.core.evaluate import evaluate
    from gpuplanner.core.quick import quick_plan
    from gpuplanner.paths import user_calibration_file

    plan = quick_plan(model="meta-llama/Llama-3.1-8B-Instruct", gpu="h100-sxm", tp=1)
    before = evaluate(plan).performance
    path = user_calibration_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    table = UserCalibration(factors=(UserFactor(gpu="h100-sxm", engine="vllm", memory_scale=0.5),))
    path.write_text(table.model_dump_json(by_alias=True))
    slower = evaluate(plan).performance
    path.unlink()
    again = evaluate(plan).performance
    assert before is not None and slower is not None and again is not None
    assert slower.tpot_s > 1.5 * before.tpot_s  # a memory-bound decode at half the bandwidth
    assert again.tpot_s == before.tpot_s


def test_stages_are_found_whatever_the_order_of_the_gpus() -> None:
    """``ResolvedPlan.by_stage`` slices the layout-ordered GPUs; GPUs in another order are grouped."""
    import dataclasses

    from gpuplanner.core.catalog import default_catalog
    from gpuplanner.core.quick import quick_plan
    from gpuplanner.core.resolve import resolve_plan

    cat = default_catalog()
    plan = quick_plan(
        model="meta-llama/Llama-3.1-70B-Instruct", gpu="h100-sxm", tp=2, pp=2, dp=2, catalog=cat
    )
    r = resolve_plan(plan, cat)
    expected = {
        (rep, s): tuple(cat_gpu for cat_gpu in r.gpus if (cat_gpu.replica, cat_gpu.stage) == (rep, s))
        for rep in range(2)
        for s in range(2)
    }
    assert r.by_stage == expected
    shuffled = dataclasses.replace(r, gpus=tuple(reversed(r.gpus)))
    assert {key: set(gpus) for key, gpus in shuffled.by_stage.items()} == {
        key: set(gpus) for key, gpus in expected.items()
    }


def test_parts_built_without_their_constructors_equal_constructed_ones() -> None:
    """resolve_plan fills ResolvedGpu's fields directly and evaluate assembles its per-GPU report
    parts from shared dicts: each must equal (and hash, print and stay frozen like) the constructed
    or validated one."""
    import dataclasses

    from gpuplanner.core.catalog import default_catalog
    from gpuplanner.core.evaluate import evaluate
    from gpuplanner.core.report import GpuReport, LinkTraffic, StepSplit
    from gpuplanner.core.resolve import ResolvedGpu, resolve_plan

    cat = default_catalog()
    plan = plans()["64-gpus-uneven-replicas"]
    for g in resolve_plan(plan, cat).gpus:
        made = ResolvedGpu(**{f.name: getattr(g, f.name) for f in dataclasses.fields(ResolvedGpu)})
        assert g == made and hash(g) == hash(made) and repr(g) == repr(made)
        with pytest.raises(dataclasses.FrozenInstanceError):
            g.stage = 0  # type: ignore[misc]
    report = evaluate(plan, cat)
    assert report.performance is not None
    for part in report.gpus:
        assert part == GpuReport.model_validate(part.model_dump())
    for split in report.performance.step_split:
        assert split == StepSplit.model_validate(split.model_dump())
    assert report.performance.links
    for link in report.performance.links:
        validated = LinkTraffic.model_validate(link.model_dump())
        assert link == validated and link.model_dump_json() == validated.model_dump_json()
    first = report.gpus[0]
    assert first.model_copy(update={"stage": 9}).stage == 9 and first.stage == 0
    assert report.gpus[1].model_fields_set == set(GpuReport.model_fields)


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        ((("g0", "g1"), ("g2", "nope")), "replica 1, stage 2 uses GPU 'nope', which is not in the rig"),
        ((("g0", "g0"), ("g2", "g3")), "GPU 'g0' appears twice in the layout"),
        ((("g0", "g1"), ("g1", "g3")), "GPU 'g1' appears twice in the layout"),
        # the first offending GPU of the stage, in its order: a duplicate before a missing one
        ((("g0", "g1"), ("g1", "nope")), "GPU 'g1' appears twice in the layout"),
        ((("g0", "g1"), ("nope", "g1")), "uses GPU 'nope', which is not in the rig"),
    ],
)
def test_a_stage_naming_a_missing_or_used_gpu_is_refused(
    stages: tuple[tuple[str, ...], ...], message: str
) -> None:
    """resolve_plan checks a stage's GPUs in C loops and walks a failing stage GPU by GPU: the error
    names the first GPU that is not in the rig or is used twice."""
    from gpuplanner.core.catalog import default_catalog
    from gpuplanner.core.errors import PlanError
    from gpuplanner.core.quick import quick_plan
    from gpuplanner.core.resolve import resolve_plan

    cat = default_catalog()
    plan = quick_plan(model="meta-llama/Llama-3.1-70B-Instruct", gpu="h100-sxm", tp=2, pp=2, catalog=cat)
    ids = [g.id for node in plan.rig.nodes for g in node.gpus]
    rename = {f"g{i}": gpu_id for i, gpu_id in enumerate(ids)}
    replica = plan.layout.replicas[0]
    edited = replica.model_copy(
        update={
            "stages": tuple(
                stage.model_copy(update={"gpus": tuple(rename.get(g, g) for g in gpus)})
                for stage, gpus in zip(replica.stages, stages, strict=True)
            )
        }
    )
    bad = plan.model_copy(update={"layout": plan.layout.model_copy(update={"replicas": (edited,)})})
    expected = message
    for short, gpu_id in rename.items():
        expected = expected.replace(f"'{short}'", f"'{gpu_id}'")
    with pytest.raises(PlanError) as caught:
        resolve_plan(bad, cat)
    assert expected in caught.value.message


def test_per_gpu_ledgers_are_made_on_first_read_and_match_their_ledger() -> None:
    """fit_memory keeps one ledger per distinct figure set; ``FitResult.gpus`` makes every GPU's copy
    when read: in layout order, each with its own GPU and its ledger's figures."""
    import dataclasses

    from gpuplanner.core.catalog import default_catalog
    from gpuplanner.core.fit import fit_memory
    from gpuplanner.core.resolve import resolve_plan

    cat = default_catalog()
    r = resolve_plan(plans()["64-gpus-uneven-replicas"], cat)
    fit = fit_memory(r)
    assert fit._gpus is None  # nothing per GPU yet
    gpus = fit.gpus
    assert fit.gpus is gpus and [f.gpu for f in gpus] == list(r.gpus) == fit.placed
    covered = sorted(i for _, indices in fit.ledgers for i in indices)
    assert covered == list(range(len(r.gpus)))
    for first, indices in fit.ledgers:
        assert gpus[indices[0]] is first
        figures = {k: v for k, v in dataclasses.asdict(first).items() if k != "gpu"}
        for i in indices:
            assert {k: v for k, v in dataclasses.asdict(gpus[i]).items() if k != "gpu"} == figures


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        # the first GPU in rig order with a problem names it, whichever kind of problem comes later
        (("a", "h100-sxm"), ("a", "h100-sxm"), "two GPUs share the id 'a'"),
        (("a", "no-such-gpu"), ("a", "h100-sxm"), "no-such-gpu"),
        (("a", "h100-sxm"), ("a", "no-such-gpu"), "two GPUs share the id 'a'"),
        (("a", "h100-sxm"), ("b", "no-such-gpu"), "no-such-gpu"),
    ],
)
def test_a_rig_with_a_taken_id_or_an_unknown_gpu_is_refused(
    first: tuple[str, str], second: tuple[str, str], message: str
) -> None:
    """resolve_plan places a server's GPUs in C loops and walks a failing rig GPU by GPU."""
    from gpuplanner.core.catalog import default_catalog
    from gpuplanner.core.errors import PlannerError
    from gpuplanner.core.plan import GpuPlacement
    from gpuplanner.core.quick import quick_plan
    from gpuplanner.core.resolve import resolve_plan

    cat = default_catalog()
    plan = quick_plan(model="meta-llama/Llama-3.1-8B-Instruct", gpu="h100-sxm", tp=1, catalog=cat)
    node = plan.rig.nodes[0]
    gpus = tuple(
        GpuPlacement(id=gpu_id, gpu=kind, slot=i) for i, (gpu_id, kind) in enumerate((first, second))
    )
    bad = plan.model_copy(
        update={"rig": plan.rig.model_copy(update={"nodes": (node.model_copy(update={"gpus": gpus}),)})}
    )
    with pytest.raises(PlannerError) as caught:
        resolve_plan(bad, cat)
    assert message in str(caught.value)


def _fresh_report_json(plan: object, catalog: object = None) -> str:
    """``plan``'s JSON report with nothing kept from earlier evaluations of its rig and layout."""
    from gpuplanner.core import resolve
    from gpuplanner.core.catalog import default_catalog
    from gpuplanner.core.evaluate import evaluate

    resolve._RESOLVED.clear()
    resolve._PLACED.clear()
    return json.dumps(evaluate(plan, catalog or default_catalog()).to_json_dict())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "name", ["64-gpus-uneven-replicas", "pp2-across-nodes", "moe-ep-in-stage", "tp-mixed-order"]
)
def test_edits_that_keep_the_rig_and_layout_report_as_a_fresh_evaluation(name: str) -> None:
    """What resolve_plan keeps per (rig, layout, catalog) (the resolved GPUs, their views, the
    replicas' rings and hops, the GPUs' report entries by ledger) serves the next edit of the same rig
    and layout: whatever the edit changes (workload, memory budget, weights, KV cache), its report
    equals that of an evaluation with nothing kept."""
    from gpuplanner.core.catalog import default_catalog
    from gpuplanner.core.evaluate import evaluate
    from gpuplanner.core.plan import Workload

    cat = default_catalog()
    plan = plans()[name]
    edits = [
        plan.model_copy(update={"workload": Workload(concurrency="max", input_tokens=3000)}),
        plan.model_copy(update={"workload": Workload(concurrency=3, input_tokens=500, output_tokens=100)}),
        plan.model_copy(update={"engine": plan.engine.model_copy(update={"gpu_memory_utilization": 0.8})}),
        plan.model_copy(update={"kv_cache": "fp8"}),
        plan,
    ]
    for edited in edits:
        fresh = _fresh_report_json(edited)
        evaluate(plan, cat)  # the rig and layout seen before the edit
        assert json.dumps(evaluate(edited, cat).to_json_dict()) == fresh
        assert json.dumps(evaluate(edited, cat).to_json_dict()) == fresh  # and seen with the edit


def test_a_kept_layout_is_still_checked_against_the_model() -> None:
    """A rig and layout resolved before skip the rig's and layout's own checks, not the model's: a
    model the layout's tensor-parallel degree or layer ranges do not fit is refused as when fresh."""
    from gpuplanner.core import resolve
    from gpuplanner.core.catalog import default_catalog
    from gpuplanner.core.errors import PlanError
    from gpuplanner.core.quick import quick_plan
    from gpuplanner.core.resolve import resolve_plan

    cat = default_catalog()
    plan = quick_plan(model="meta-llama/Llama-3.1-70B-Instruct", gpu="h100-sxm", tp=8, pp=2, catalog=cat)
    messages = []
    for other in ("meta-llama/Llama-3.1-8B-Instruct", "Qwen/Qwen3-32B", "Qwen/Qwen2.5-7B-Instruct"):
        bad = plan.model_copy(update={"model": other})
        resolve._RESOLVED.clear()
        with pytest.raises(PlanError) as fresh:
            resolve_plan(bad, cat)
        resolve_plan(plan, cat)
        with pytest.raises(PlanError) as kept:
            resolve_plan(bad, cat)
        assert kept.value.message == fresh.value.message and kept.value.fix == fresh.value.fix
        messages.append(kept.value.message)
    assert "tensor parallel 8 does not divide" in messages[-1] and "covers layers" in messages[0]


def test_a_gpu_replaced_in_the_catalog_counts_at_the_next_evaluation() -> None:
    """The window's Custom GPU dialog replaces a GPU in the catalog in place: what resolve_plan kept
    for the rig and layout (their specs) is not used once the catalog gives that kind another spec."""
    from gpuplanner.core.catalog import load_catalog
    from gpuplanner.core.evaluate import evaluate
    from gpuplanner.core.quick import quick_plan

    cat = load_catalog(include_user_models=False)
    plan = quick_plan(model="meta-llama/Llama-3.1-70B-Instruct", gpu="h100-sxm", tp=4, catalog=cat)
    before = evaluate(plan, cat)
    h100 = cat.gpu("h100-sxm")
    cat.add_user_gpu(h100.model_copy(update={"memory_gib_usable": h100.memory_gib_usable * 2}))
    after = evaluate(plan.model_copy(update={"name": "edited"}), cat)
    assert after.gpus[0].capacity_bytes > 1.5 * before.gpus[0].capacity_bytes
    assert json.dumps(after.to_json_dict()) == _fresh_report_json(
        plan.model_copy(update={"name": "edited"}), cat
    )
