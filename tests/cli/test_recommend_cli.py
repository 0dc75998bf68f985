"""``gpuplanner recommend``: layouts for a plan or a quick rig, rigs for a number of users."""

from __future__ import annotations

import json
from pathlib import Path

from gpuplanner.__main__ import main
from gpuplanner.core.evaluate import evaluate
from gpuplanner.document.planfile import plan_from_json

EXAMPLES = Path(__file__).parents[2] / "catalogs" / "examples"


def test_layouts_of_a_plan_file_as_a_table(capsys):
    code = main(["recommend", str(EXAMPLES / "dgx-h100-llama-3.1-70b-tp8.gpuplan"), "--slo-tpot-ms", "40"])
    out = capsys.readouterr().out
    assert code == 0
    assert "TP " in out and "Pareto front" in out and "Searched" in out


def test_json_candidates_are_plan_files_with_their_reports(capsys):
    args = ["recommend", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--gpu", "l4", "--gpus", "2"]
    assert main([*args, "--objective", "users", "--slo-tpot-ms", "60", "--top", "3", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["schema"] == "gpuplanner.recommendation/1"
    assert 1 <= len(data["candidates"]) <= 3
    for c in data["candidates"]:
        assert {"plan", "score", "reason", "report"} <= set(c)
        plan = plan_from_json(json.dumps(c["plan"]))  # the plan exactly as a .gpuplan file holds it
        assert evaluate(plan).to_json_dict() == c["report"]
        assert (c["report"]["performance"]["tpot_s"] <= 0.060) == c["meets_target"]
    assert data["candidates"][0]["meets_target"]


def test_rig_search(capsys):
    args = ["recommend", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--users", "8"]
    assert main([*args, "--gpus-from", "l4,h100-sxm", "--max-gpus", "4", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["schema"] == "gpuplanner.recommendation/1" and data["candidates"]
    # Llama 3.1 8B in BF16 is 16 GB: one 24 GB L4 holds it; fewest GPUs, then the least power (72 W < 700 W)
    first = data["candidates"][0]
    assert first["gpus"] == 1 and "L4" in first["plan"]["plan"]["name"]


def test_nothing_fits_exits_1(capsys):
    args = ["recommend", "--model", "meta-llama/Llama-3.1-70B-Instruct", "--gpu", "rtx-4090", "--gpus", "1"]
    assert main(args) == 1
    assert "no layout" in capsys.readouterr().out


def test_bad_input_exits_2_with_one_line(capsys):
    assert main(["recommend", "--model", "no-such-model", "--users", "4"]) == 2
    err = capsys.readouterr().err
    assert "unknown model" in err and "Traceback" not in err
    assert main(["recommend", "--model", "meta-llama/Llama-3.1-8B-Instruct"]) == 2
    assert "missing" in capsys.readouterr().err
