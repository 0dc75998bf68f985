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
