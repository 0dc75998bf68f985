"""`gpuplanner import-topology`, `catalog add-gpu` and `calibrate` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

from gpuplanner.__main__ import main
from gpuplanner.document.planfile import load_plan

TOPO = Path(__file__).resolve().parents[1] / "data" / "topology"


def test_import_topology_writes_a_plan_that_evaluates(tmp_path, capsys):
    out = tmp_path / "rig.gpuplan"
    code = main(
        [
            "import-topology",
            str(TOPO / "workstation_2x3090_nvlink.txt"),
            "--gpus",
            str(TOPO / "workstation_2x3090_nvlink_gpus.csv"),
            "-o",
            str(out),
            "--json",
        ]
    )
    assert code == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["gpus"] == ["rtx-3090", "rtx-3090"]
    assert shown["links"][0]["kind"] == "nvlink-bridge-3090"
    plan = load_plan(out)
    assert "NV4" in plan.description
    assert main(["evaluate", str(out), "--json"]) == 0


def test_import_topology_bad_files_exit_2_naming_file_and_line(tmp_path, capsys):
    cut = tmp_path / "cut.txt"
    cut.write_text("\n".join((TOPO / "dgx_h100.txt").read_text().splitlines()[:4]))
    assert main(["import-topology", str(cut), "--gpu", "h100-sxm", "-o", str(tmp_path / "x.gpuplan")]) == 2
    err = capsys.readouterr().err
    assert f"{cut}: line 5: the row of GPU3 is missing" in err and "Traceback" not in err
    assert not (tmp_path / "x.gpuplan").exists()
    csv = tmp_path / "gpus.csv"
    csv.write_text(
        "0, NVIDIA Mystery GPU, 16384 MiB, 00000000:01:00.0\n1, NVIDIA Mystery GPU, 16384 MiB, 00000000:02:00.0\n"
    )
    topo = str(TOPO / "consumer_2x5090_no_p2p.txt")
    assert main(["import-topology", topo, "--gpus", str(csv), "-o", str(tmp_path / "x.gpuplan")]) == 2
    err = capsys.readouterr().err
    assert f"{csv}: line 1: GPU 'NVIDIA Mystery GPU', 16384 MiB is not in the catalog" in err
    assert "add-gpu" in err
    assert main(["import-topology", str(tmp_path / "missing.txt"), "--gpu", "rtx-4090", "-o", "x"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_catalog_add_gpu_then_list_and_plan_with_it(tmp_path, capsys, monkeypatch):
    from gpuplanner.core.catalog import default_catalog

    monkeypatch.setenv("GPUPLANNER_USER_DIR", str(tmp_path / "user"))
    default_catalog.cache_clear()
    src = tmp_path / "card.toml"
    src.write_text(
        '[[gpu]]\nid = "lab-card-48"\nname = "Lab Card 48GB"\nmemory_gb = 48\nhbm_bandwidth_gbps = 960\n'
        "bf16_tflops = 180\n"
    )
    try:
        assert main(["catalog", "add-gpu", str(src)]) == 0
        assert "(user-defined)" in capsys.readouterr().out
        assert main(["catalog", "gpus"]) == 0
        assert "lab-card-48" in capsys.readouterr().out
        args = ["evaluate", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--gpu", "lab-card-48", "--json"]
        assert main(args) == 0
        assert main(["catalog", "add-gpu"]) == 2
        assert "needs a TOML file" in capsys.readouterr().err
    finally:
        default_catalog.cache_clear()


BENCH = Path(__file__).resolve().parents[1] / "data" / "benchmarks"


def test_calibrate_prints_factors_and_errors_then_reset(tmp_path, capsys, monkeypatch):
    from gpuplanner.core.quick import quick_plan
    from gpuplanner.document.planfile import save_plan

    monkeypatch.setenv("GPUPLANNER_USER_DIR", str(tmp_path / "user"))
    plan = tmp_path / "rtx4080.gpuplan"
    save_plan(
        quick_plan(
            model="Qwen/Qwen2.5-7B-Instruct", gpu="rtx-4080", engine="llamacpp", weights="gguf-q4_k_m"
        ),
        plan,
    )
    bench = str(BENCH / "llama_bench_rtx4080_qwen25_7b.json")
    assert main(["calibrate", bench, "--plan", str(plan), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["calibrated_on"] == "calibrated on your rig: 2 runs, RTX 4080, llama.cpp"
    assert out["error_after"] < out["error_before"]
    assert out["factors"]["memory_scale"]["before"] == 1.0
    assert [r["test"] for r in out["runs"]] == ["pp512", "tg128"]
    assert main(["evaluate", str(plan), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["performance"]["calibrated_on"]["user"] == out["calibrated_on"]
    assert main(["calibrate"]) == 0
    assert "2 runs, RTX 4080" in capsys.readouterr().out
    assert main(["calibrate", "--reset"]) == 0
    assert "removed 1" in capsys.readouterr().out
    assert main(["evaluate", str(plan), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["performance"]["calibrated_on"]["user"] is None


def test_calibrate_bad_input_exits_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GPUPLANNER_USER_DIR", str(tmp_path / "user"))
    bench = str(BENCH / "llama_bench_rtx4080_qwen25_7b.json")
    assert main(["calibrate", bench]) == 2
    assert "needs the plan" in capsys.readouterr().err
    bad = str(BENCH / "llama_bench_rtx4080_qwen25_7b.csv")
    plan = tmp_path / "p.gpuplan"
    from gpuplanner.core.quick import quick_plan
    from gpuplanner.document.planfile import save_plan

    save_plan(quick_plan(model="Qwen/Qwen2.5-7B-Instruct", gpu="rtx-4080", engine="llamacpp"), plan)
    assert main(["calibrate", bad, "--plan", str(plan)]) == 2
    err = capsys.readouterr().err
    assert "llama_bench_rtx4080_qwen25_7b.csv:2:" in err and "Traceback" not in err
