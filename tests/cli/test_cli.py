"""The command line: tables, JSON, and clear messages with exit code 2 for bad input."""

from __future__ import annotations

import json

import pytest

from gpuplanner.__main__ import main
from gpuplanner.core.quick import quick_plan
from gpuplanner.document.planfile import save_plan

QUICK = [
    "evaluate",
    "--model",
    "meta-llama/Llama-3.1-70B-Instruct",
    "--gpu",
    "H100 SXM5 80GB",
    "--gpus",
    "8",
    "--tp",
    "8",
]


def test_quick_flags_json_has_the_public_keys(capsys):
    assert main([*QUICK, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["schema"] == "gpuplanner.report/1"
    assert report["fits"] is True
    assert {"severity", "gpu", "message", "fix"} <= set(report["problems"][0]) if report["problems"] else True
    g = report["gpus"][0]
    assert {"id", "gpu", "node", "stage", "tp_rank", "layers", "capacity_bytes", "memory_bytes"} <= set(g)
    assert set(g["memory_bytes"]) == {
        "weights",
        "kv_cache",
        "activations",
        "communication",
        "runtime",
        "free",
    }
    assert {"bytes_per_token", "capacity_tokens", "max_concurrency"} <= set(report["kv_cache"])
    assert len(report["gpus"]) == 8


def test_human_table(capsys):
    assert main(QUICK) == 0
    out = capsys.readouterr().out
    assert "FITS" in out and "Memory per GPU" in out and "g0_7" in out


def test_plan_file(tmp_path, capsys):
    path = save_plan(quick_plan(model="meta-llama/Llama-3.1-8B-Instruct", gpu="l4"), tmp_path / "p.gpuplan")
    assert main(["evaluate", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["model"] == "meta-llama/Llama-3.1-8B-Instruct"


def test_does_not_fit_exits_1(capsys):
    assert main(["evaluate", "--model", "meta-llama/Llama-3.1-70B-Instruct", "--gpu", "rtx-4090"]) == 1
    assert "DOES NOT FIT" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--gpu", "h100-sxmm", "--model", "meta-llama/Llama-3.1-8B-Instruct"], "h100-sxm"),  # closest match
        (["--gpu", "h100-sxm", "--model", "llama-9000"], "model"),
        (
            ["--gpu", "h100-sxm", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--gpus", "8", "--tp", "4"],
            "tp·pp·dp",
        ),
        (
            ["--gpu", "h100-sxm", "--model", "meta-llama/Llama-3.1-70B-Instruct", "--tp", "3", "--gpus", "3"],
            "divide",
        ),
        (
            ["--gpu", "h100-sxm", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--weights", "fp7"],
            "precision",
        ),
        (["--model", "meta-llama/Llama-3.1-8B-Instruct"], "--gpu"),
    ],
)
def test_bad_input_is_a_clear_message_and_exit_2(capsys, args, needle):
    assert main(["evaluate", *args]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and "fix:" in err


def test_negative_batch_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as e:
        main([*QUICK, "--concurrency", "-4"])
    assert e.value.code == 2
    assert "must be at least 1" in capsys.readouterr().err


def test_broken_plan_file_exit_2_names_the_file(tmp_path, capsys):
    p = tmp_path / "broken.gpuplan"
    p.write_text('{"schema_version": 1, "plan": {"rig": ')
    assert main(["evaluate", str(p)]) == 2
    err = capsys.readouterr().err
    assert "broken.gpuplan" in err and "Traceback" not in err


@pytest.mark.parametrize("kind", ["gpus", "models", "links", "precisions", "engines", "nodes"])
def test_catalog_lists(capsys, kind):
    assert main(["catalog", kind]) == 0
    assert len(capsys.readouterr().out.splitlines()) > 3
    assert main(["catalog", kind, "--json"]) == 0
    assert isinstance(json.loads(capsys.readouterr().out), list)


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert "gpuplanner" in capsys.readouterr().out


def test_import_model_then_evaluate_it(tmp_path, capsys):
    from pathlib import Path

    from gpuplanner.core.catalog import default_catalog

    config = (
        Path(__file__).resolve().parents[1] / "data" / "hf_configs" / "meta-llama--Llama-3.1-8B-Instruct.json"
    )
    default_catalog.cache_clear()
    try:
        assert main(["import-model", str(config), "--name", "my-org/my-llama"]) == 0
        assert "my-org/my-llama" in capsys.readouterr().out
        assert main(["evaluate", "--model", "my-org/my-llama", "--gpu", "l40s", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["total_params"] == 8_030_261_248  # Llama 3.1 8B config
    finally:
        default_catalog.cache_clear()


def test_import_model_with_missing_fields_names_them(tmp_path, capsys):
    bad = tmp_path / "config.json"
    bad.write_text(json.dumps({"model_type": "llama", "hidden_size": 4096}))
    assert main(["import-model", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "num_hidden_layers" in err and "Traceback" not in err


def test_the_first_wave_ttft_is_in_the_json_and_the_table(capsys):
    """With 32 users, the report also gives the mean TTFT when all of them send at once; it is never
    below one prompt's TTFT in a steady stream."""
    assert main([*QUICK, "--concurrency", "32", "--json"]) == 0
    perf = json.loads(capsys.readouterr().out)["performance"]
    assert perf["ttft_burst_s"] >= perf["ttft_s"]
    assert main([*QUICK, "--concurrency", "32"]) == 0
    assert "all 32 users at once (a first wave): mean TTFT" in capsys.readouterr().out
