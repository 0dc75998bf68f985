"""The cases that once crashed, hung or said "fits" wrongly (issue 13), each pinned: every one is now
refused with a message naming the problem and the fix, or reported as a problem, quickly."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from gpuplanner.__main__ import main
from gpuplanner.core.catalog import default_catalog
from gpuplanner.core.errors import CatalogError, PlanError, PlanFileError
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.hf_import import import_model_file
from gpuplanner.core.plan import GpuPlacement, Node
from gpuplanner.core.quick import quick_plan
from gpuplanner.document.document import PlanDocument
from gpuplanner.document.planfile import load_plan, plan_from_json, plan_to_json, save_plan

QUICK = ["evaluate", "--model", "llama-3.1-70b", "--gpu", "h100-sxm"]
EXAMPLE = Path(__file__).resolve().parents[2] / "catalogs" / "examples" / "dgx-h100-llama-3.1-70b-tp8.gpuplan"


def example() -> dict:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def with_plan(**changes) -> str:
    data = example()
    for dotted, value in changes.items():
        target = data["plan"]
        *parents, leaf = dotted.split("__")
        for part in parents:
            target = target[part]
        target[leaf] = value
    return json.dumps(data)


# -- plan files -------------------------------------------------------------------------------------


def test_deep_nesting_is_refused_without_recursion_error():
    text = '{"schema_version": 1, "plan": ' + "[" * 5000 + "]" * 5000 + "}"
    with pytest.raises(PlanFileError, match="nest more than 64 levels"):
        plan_from_json(text, "deep.gpuplan")


def test_an_integer_of_5000_digits_is_refused():
    text = with_plan(name="__x__").replace('"__x__"', "9" * 5000)
    with pytest.raises(PlanFileError, match="5000 digits"):
        plan_from_json(text, "big.gpuplan")


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_are_refused(literal):
    text = with_plan(engine__gpu_memory_utilization="__x__").replace('"__x__"', literal)
    with pytest.raises(PlanFileError, match="finite"):
        plan_from_json(text, "nan.gpuplan")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_reading_dev_zero_stops_at_the_size_limit():
    start = time.perf_counter()
    with pytest.raises(PlanFileError, match="larger than 32 MiB"):
        load_plan("/dev/zero")
    assert time.perf_counter() - start < 5


def test_a_file_over_the_size_limit_is_refused(tmp_path):
    big = tmp_path / "big.gpuplan"
    with open(big, "wb") as handle:
        handle.truncate(33 * 1024 * 1024)  # sparse: no disk used
    with pytest.raises(PlanFileError, match="larger than"):
        load_plan(big)


@pytest.mark.parametrize(
    ("change", "place"),
    [
        ({"workload__input_tokens": 10**12}, "plan.workload.input_tokens"),
        ({"engine__max_model_len": 2**31}, "plan.engine.max_model_len"),
        ({"workload__concurrency": 10**7}, "plan.workload.concurrency"),
        ({"rig__nodes": [{"id": "n0", "slots": 129}]}, "plan.rig.nodes[0].slots"),
    ],
)
def test_values_beyond_what_consumers_hold_are_refused_with_their_place(change, place):
    with pytest.raises(PlanFileError) as err:
        plan_from_json(with_plan(**change), "limits.gpuplan")
    assert place in str(err.value)


def test_slots_outside_the_node_and_shared_slots_are_refused():
    with pytest.raises(ValueError, match="slots 0–3"):
        Node(id="n0", slots=4, gpus=(GpuPlacement(id="g0", gpu="h100-sxm", slot=4),))
    with pytest.raises(ValueError, match="share slot 1"):
        Node(
            id="n0",
            slots=4,
            gpus=(
                GpuPlacement(id="g0", gpu="h100-sxm", slot=1),
                GpuPlacement(id="g1", gpu="h100-sxm", slot=1),
            ),
        )
    many = [{"id": f"g{i}", "gpu": "h100-sxm", "slot": i % 128} for i in range(10_000)]
    with pytest.raises(PlanFileError, match="at most 128"):
        plan_from_json(with_plan(rig__nodes=[{"id": "n0", "slots": 128, "gpus": many}]), "crowded.gpuplan")


def test_a_stage_past_the_models_last_layer_is_a_clear_plan_error():
    plan = plan_from_json(with_plan(layout__replicas=[{"stages": [{"layers": [0, 130], "gpus": ["g0_0"]}]}]))
    with pytest.raises(PlanError, match=r"covers layers 0–130 but .* has 80"):
        evaluate(plan)


def test_the_gb200_nvl72_template_drops_into_a_plan():
    doc = PlanDocument(quick_plan(model="llama-3.1-70b", gpu="h100-sxm", gpus_per_node=8))
    node_id = doc.add_node_from_template(default_catalog().nodes["gb200-nvl72"])
    node = doc.node(node_id)
    assert node.nics == 72 and len(node.gpus) == 72


# -- verdicts that must not say "fits" -----------------------------------------------------------------


def test_a_request_longer_than_the_models_context_does_not_fit():
    plan = plan_from_json(with_plan(workload__input_tokens=10**7))
    start = time.perf_counter()
    report = evaluate(plan)
    assert time.perf_counter() - start < 5
    assert not report.fits
    problem = next(p for p in report.problems if p.severity == "error")
    assert "limit of 131,072 tokens" in problem.message and "131,072" in problem.fix


def test_a_request_longer_than_max_model_len_offers_to_raise_it():
    plan = plan_from_json(with_plan(engine__max_model_len=4096, workload__input_tokens=8000))
    report = evaluate(plan)
    problem = next(p for p in report.problems if p.severity == "error")
    assert "max_model_len of 4,096" in problem.message
    assert problem.action is not None and problem.action.kind == "set_max_model_len"
    assert problem.action.amount == 8000 + plan.workload.output_tokens


def test_full_memory_utilization_leaving_negative_free_memory_does_not_fit():
    report = evaluate(plan_from_json(with_plan(engine__gpu_memory_utilization=1.0)))
    assert any(g.memory_bytes.free < 0 for g in report.gpus)
    assert not report.fits
    problem = next(p for p in report.problems if p.severity == "error")
    assert "runs out of memory" in problem.message
    assert problem.action is not None and problem.action.kind == "set_gpu_memory_utilization"
    fixed = evaluate(plan_from_json(with_plan(engine__gpu_memory_utilization=problem.action.number)))
    assert fixed.fits and all(g.memory_bytes.free >= 0 for g in fixed.gpus)


def test_a_prompt_of_too_many_prefill_chunks_is_a_problem_not_a_hang():
    plan = plan_from_json(with_plan(engine__max_num_batched_tokens=1, workload__input_tokens=100_000))
    start = time.perf_counter()
    report = evaluate(plan)
    assert time.perf_counter() - start < 5
    assert not report.fits and "max_num_batched_tokens" in report.problems[0].fix


# -- the command line --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--gpus", "100000"], "at most 128"),
        (["--nodes", "100000"], "at most 4,096"),
        (["--input-tokens", str(10**12)], "at most 16,777,216"),
        (
            ["--gpus", "80", "--pp", "80", "--tp", "1", "--pp", "81"],
            "more pipeline stages than the model has",
        ),
        (["--tp", "1", "--pp", "8", "--dp", "100"], "a server holds up to 128"),
        (["--nodes", "4096", "--gpus", "128"], "plans up to 8,192"),
        (["--gpus", "9" * 5000], "not a whole number"),
    ],
)
def test_flags_beyond_the_limits_exit_2_with_a_message(flags, says, capsys):
    start = time.perf_counter()
    try:
        code = main([*QUICK, *flags])
    except SystemExit as exc:  # argparse's own refusals
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
    assert time.perf_counter() - start < 5


def test_gpus_80_pp_80_is_a_verdict_not_a_validation_error(capsys):
    assert main([*QUICK, "--gpus", "80", "--pp", "80", "--tp", "1"]) in (0, 1)
    assert "Traceback" not in capsys.readouterr().err


def test_an_internal_error_exits_3_with_one_line_and_a_crash_report(monkeypatch, capsys, isolated_user_dir):
    import gpuplanner.cli.main as cli

    def broken(plan, catalog=None):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(cli, "evaluate", broken)
    assert main([*QUICK, "--gpus", "8"]) == 3
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "internal error (ZeroDivisionError: a bug)" in err
    reports = list((isolated_user_dir / "crash-reports").glob("crash-*.txt"))
    assert len(reports) == 1 and str(reports[0]) in err
    text = reports[0].read_text(encoding="utf-8")
    assert "Traceback" in text and "ZeroDivisionError: a bug" in text and "evaluate --model" in text


# -- config.json -------------------------------------------------------------------------------------

LLAMA = {"model_type": "llama", "num_hidden_layers": 32, "hidden_size": 4096, "num_attention_heads": 32,
         "num_key_value_heads": 8, "intermediate_size": 14336, "vocab_size": 128256}  # fmt: skip


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('"num_hidden_layers": NaN', "NaN is not a number JSON allows"),
        ('"hidden_size": Infinity', "Infinity is not a number JSON allows"),
        ('"num_hidden_layers": [1, 2]', "num_hidden_layers is [1, 2], not a whole number"),
        ('"num_hidden_layers": 1' + "0" * 30, "num_hidden_layers is 1000"),
        ('"hidden_size": 0', "hidden_size is 0"),
        ('"hidden_size": "4096"', "hidden_size is 4096, not a whole number"),
        ('"num_local_experts": 1, "num_experts_per_tok": 8', "picks 8 experts but there are 1"),
    ],
)
def test_config_json_numbers_are_checked_at_import(tmp_path, text, says):
    body = json.dumps(LLAMA)[:-1] + ", " + text + "}"
    path = tmp_path / "config.json"
    path.write_text(body, encoding="utf-8")
    start = time.perf_counter()
    with pytest.raises(CatalogError, match=says.replace("[", r"\[").replace("]", r"\]")):
        import_model_file(path, name="test/model")
    assert time.perf_counter() - start < 5


def test_import_model_deep_nesting_exits_2(tmp_path, capsys):
    path = tmp_path / "config.json"
    path.write_text('{"text_config": ' + "[" * 3000 + "]" * 3000 + "}", encoding="utf-8")
    assert main(["import-model", str(path)]) == 2
    assert "nest more than" in capsys.readouterr().err


# -- the round trip ----------------------------------------------------------------------------------


def test_a_saved_plan_reads_back_exactly(tmp_path):
    plan = load_plan(EXAMPLE)
    path = save_plan(plan, tmp_path / "again.gpuplan")
    assert load_plan(path) == plan
    assert plan_to_json(load_plan(path)) == plan_to_json(plan)
    assert os.path.getsize(path) < 64 * 1024


# -- catalog TOML ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (lambda text: text.replace("memory_gb = 80", "memory_gb = nan", 1), "finite number"),
        (lambda text: text.replace("memory_gb = 80", "memory_gb = inf", 1), "finite number"),
        (lambda text: text + "\nx = " + "[" * 3000 + "]" * 3000 + "\n", "cannot read the catalog"),
        (
            lambda text: text.replace("memory_gb = 80", "memory_gb = " + "9" * 5000, 1),
            "cannot read the catalog",
        ),
    ],
)
def test_catalog_toml_refuses_non_finite_and_unreadable_numbers(tmp_path, edit, says):
    import shutil

    from gpuplanner.core.catalog import load_catalog

    catalogs = tmp_path / "catalogs"
    shutil.copytree(EXAMPLE.parents[1], catalogs, ignore=shutil.ignore_patterns("examples"))
    gpus = catalogs / "gpus.toml"
    gpus.write_text(edit(gpus.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(CatalogError, match=says):
        load_catalog(catalogs, include_user_models=False)
