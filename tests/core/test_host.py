"""The host as part of the rig: layers or MoE experts in system RAM (llama.cpp, Ollama).

Golden numbers come from the model's config.json and the platform's published memory figures
(sources named in catalogs/hosts.toml), worked out by hand here.
"""

from __future__ import annotations

import json

import pytest

from gpuplanner.cli.main import main
from gpuplanner.core.catalog import default_catalog
from gpuplanner.core.errors import PlanError
from gpuplanner.core.evaluate import evaluate, evaluate_with_host
from gpuplanner.core.host import HostOffload, find_host, load_hosts, with_offload
from gpuplanner.core.quick import quick_plan
from gpuplanner.core.specs import GIB


def test_host_bandwidth_is_channels_times_rate_times_eight_bytes():
    # HOST-LGA1700: Intel lists 89.6 GB/s for two channels of DDR5-5600; HOST-GENOA: 460.8 GB/s per socket
    assert find_host("Core i9-13900K").bandwidth_gbps == pytest.approx(89.6)
    assert find_host("Genoa").bandwidth_gbps == pytest.approx(460.8)
    assert find_host("AM5").bandwidth_gbps == pytest.approx(2 * 5200 * 8 / 1000)
    sources = default_catalog().sources
    assert all(key in sources for h in load_hosts().values() for key in h.sources)


def _plan(model: str, gpu: str, engine: str = "llamacpp", pp: int = 1):
    return quick_plan(model=model, gpu=gpu, tp=1, pp=pp, weights="gguf-q4_k_m", engine=engine)


def test_layers_in_ram_leave_the_gpus_and_stream_from_the_host():
    catalog = default_catalog()
    q4 = catalog.precision("gguf-q4_k_m").bytes_per_element
    # meta-llama/Llama-3.1-70B-Instruct config.json: hidden 8192, 64 heads / 8 KV heads of 128, FFN 28672
    attention = 8192 * (8192 + 2 * 8 * 128) + 64 * 128 * 8192
    mlp = 3 * 8192 * 28672
    layer_bytes = (attention + mlp) * q4 + 2 * 8192 * 2  # two RMSNorms kept in 16-bit
    plan = _plan("llama-3.1-70b", "rtx-4090", pp=2)
    # llama-server -c 1280 -np 1: one slot of 1,280 tokens (its default context would be far longer)
    one_slot = plan.engine.model_copy(update={"max_model_len": 1280, "max_num_seqs": 1})
    plan = plan.model_copy(update={"engine": one_slot})
    full = evaluate_with_host(plan, HostOffload(layers=12, host="am5-ddr5-5200"))
    assert full.host is not None
    assert full.host.offloaded_layers == tuple(range(12))
    # llama.cpp offloads the output layer only with -ngl above the layer count: with layers in RAM the
    # output head (vocab 128,256 x hidden 8192, untied) and the final RMSNorm stay there too
    head_bytes = 128256 * 8192 * q4 + 8192 * 2
    # ... and llama.cpp keeps the token embeddings (the input layer) on the CPU whatever -ngl says;
    # a step reads one row of them, so they take RAM but add nothing to the bytes read per token
    embedding_bytes = 128256 * 8192 * q4
    assert full.host.weights_bytes == pytest.approx(12 * layer_bytes + head_bytes + embedding_bytes, rel=1e-6)
    # 1,280-token context, one slot: KV of those 12 layers = 12 x 2 x 8 x 128 x 2 bytes x 1280 (FP16)
    assert full.host.kv_cache_bytes == 12 * 2 * 8 * 128 * 2 * 1280
    assert full.gpus[0].layers == (12, 40)
    assert not full.gpus[-1].has_lm_head and not full.gpus[0].has_embeddings
    # the host reads its weights and their KV once per token at 0.7 of 83.2 GB/s
    read = 12 * layer_bytes + head_bytes + 12 * 2 * 8 * 128 * 2 * 1280
    assert full.host.host_s_per_token == pytest.approx(read / (83.2e9 * 0.7), rel=1e-6)
    assert full.host.tpot_s > full.performance.tpot_s
    assert "12 layers in system RAM" in full.verdict and "tok/s" in full.verdict


def test_experts_in_ram_free_the_gpu_and_only_active_experts_are_read():
    catalog = default_catalog()
    q4 = catalog.precision("gguf-q4_k_m").bytes_per_element
    # Qwen/Qwen3-30B-A3B config.json: 48 MoE layers of 128 experts (hidden 2048, expert FFN 768), top-8
    expert = 3 * 2048 * 768
    plan = _plan("qwen3-30b-a3b", "rtx-3060-12gb", engine="ollama")
    on_gpu = evaluate_with_host(plan, HostOffload(layers=1, host="lga1700"))
    in_ram = evaluate_with_host(plan, HostOffload(layers=1, experts=True, host="lga1700"))
    assert in_ram.host.weights_bytes - on_gpu.host.weights_bytes == pytest.approx(
        47 * 128 * expert * q4, rel=1e-6
    )
    gpu_drop = on_gpu.gpus[0].memory_bytes.weights - in_ram.gpus[0].memory_bytes.weights
    assert gpu_drop == pytest.approx(47 * 128 * expert * q4, rel=1e-3)
    active = 47 * 8 * expert * q4
    assert in_ram.host.bytes_per_token - on_gpu.host.bytes_per_token == pytest.approx(active, rel=1e-6)


def test_ram_too_small_is_an_error_and_other_engines_are_refused():
    plan = _plan("llama-3.1-70b", "rtx-4090")
    report = evaluate_with_host(plan, HostOffload(layers=60, host="am4", ram_gib=16))
    assert not report.fits and any("system RAM" in p.message for p in report.problems)
    vllm = quick_plan(model="llama-3.1-8b", gpu="rtx-4090", tp=1, engine="vllm")
    with pytest.raises(PlanError):
        evaluate_with_host(vllm, HostOffload(layers=4))
    with pytest.raises(PlanError):
        evaluate_with_host(plan, HostOffload(layers=80))
    with pytest.raises(PlanError):
        evaluate_with_host(_plan("llama-3.1-8b", "rtx-4090"), HostOffload(experts=True))


def test_cli_offload_flags_and_json_host_block(capsys):
    code = main(
        [
            "evaluate", "--model", "llama-3.1-70b", "--gpu", "rtx-3090", "--gpus", "2", "--pp", "2",
            "--weights", "gguf-q4_k_m", "--engine", "llamacpp", "--offload-layers", "12", "--json",
        ]
    )  # fmt: skip
    data = json.loads(capsys.readouterr().out)
    assert data["host"]["memory_bytes"] > 5 * GIB
    assert data["host"]["offloaded_layers"] == list(range(12))
    assert code in (0, 1)
    main(["evaluate", "--model", "gpt-oss-120b", "--gpu", "rtx-4090", "--weights", "gguf-q4_k_m",
          "--engine", "ollama", "--offload-experts", "--host", "am5"])  # fmt: skip
    assert "routed experts" in capsys.readouterr().out


def test_the_offload_is_part_of_the_plan_and_its_file(tmp_path, capsys):
    from gpuplanner.document.planfile import load_plan, save_plan

    plan = _plan("llama-3.1-70b", "rtx-4090", pp=2)
    stored = with_offload(plan, HostOffload(layers=12, host="Core i9-13900K", ram_gib=96))
    assert stored.engine.offload_layers == 12 and not stored.engine.offload_experts
    node = stored.rig.nodes[0]
    assert (node.host, node.host_ram_gib) == ("lga1700-ddr5-5600", 96)
    path = tmp_path / "offload.gpuplan"
    save_plan(stored, path)
    loaded = load_plan(path)
    assert loaded == stored
    # evaluate(plan) is the one estimate: the plan's own offload gives the host block
    report = evaluate(loaded)
    assert report.host is not None and report.host.offloaded_layers == tuple(range(12))
    # HOST-LGA1700: 89.6 GB/s; the server's RAM, 96 GiB
    assert report.host.bandwidth_gbps == pytest.approx(89.6)
    assert report.host.ram_bytes == 96 * GIB
    assert report.host.tpot_s == evaluate_with_host(plan, HostOffload(12, False, "lga1700", 96)).host.tpot_s
    # the command line reads it from the file too, with no flag
    assert main(["evaluate", str(path), "--json"]) in (0, 1)
    assert json.loads(capsys.readouterr().out)["host"]["offloaded_layers"] == list(range(12))
    # a flag changes one thing and keeps the rest of the file's host
    main(["evaluate", str(path), "--host-ram", "32", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert data["host"]["ram_bytes"] == 32 * GIB and data["host"]["bandwidth_gbps"] == pytest.approx(89.6)


def test_no_offload_means_no_host_block_and_bad_host_input_is_exit_2(capsys):
    plan = _plan("llama-3.1-8b", "rtx-4090")
    assert evaluate(plan).host is None
    args = ["evaluate", "--model", "llama-3.1-8b", "--gpu", "rtx-4090", "--engine", "llamacpp"]
    assert main([*args, "--weights", "gguf-q4_k_m", "--offload-layers", "4", "--host-ram", "-8"]) == 2
    assert "host_ram_gib" in capsys.readouterr().err
    assert main([*args, "--weights", "gguf-q4_k_m", "--offload-layers", "4", "--host", "pentium"]) == 2
    assert "unknown host" in capsys.readouterr().err


def test_ollama_partial_offload_keeps_layers_in_ram_like_llama_cpp(capsys):
    # Ollama runs GGUF models through llama.cpp: num_gpu below the layer count leaves the first layers
    # (and the output layer) on the CPU, the same as llama-server's -ngl
    args = ["evaluate", "--model", "llama-3.1-70b", "--gpu", "rtx-4090", "--weights", "gguf-q4_k_m"]
    main([*args, "--engine", "ollama", "--offload-layers", "40", "--json"])
    ollama = json.loads(capsys.readouterr().out)["host"]
    main([*args, "--engine", "llamacpp", "--offload-layers", "40", "--json"])
    llamacpp = json.loads(capsys.readouterr().out)["host"]
    assert ollama["offloaded_layers"] == llamacpp["offloaded_layers"] == list(range(40))
    assert ollama["weights_bytes"] == llamacpp["weights_bytes"]


def test_n_cpu_moe_keeps_the_experts_of_the_first_layers_in_ram():
    catalog = default_catalog()
    q4 = catalog.precision("gguf-q4_k_m").bytes_per_element
    # Qwen/Qwen3-30B-A3B config.json: 48 MoE layers of 128 experts (hidden 2048, expert FFN 768), top-8;
    # llama.cpp --n-cpu-moe 36 keeps the routed experts of layers 0-35 on the CPU, the rest on the GPU
    expert = 3 * 2048 * 768
    plan = _plan("qwen3-30b-a3b", "rtx-4090")
    plan = plan.model_copy(update={"engine": plan.engine.model_copy(update={"max_model_len": 4096})})
    base = evaluate(plan)
    part = evaluate_with_host(plan, HostOffload(expert_layers=36, host="am5"))
    assert part.host is not None and not part.host.offloaded_experts
    assert part.host.offloaded_expert_layers == 36 and part.host.offloaded_layers == ()
    assert part.host.weights_bytes == pytest.approx(36 * 128 * expert * q4, rel=1e-6)
    assert part.host.bytes_per_token == pytest.approx(36 * 8 * expert * q4, rel=1e-6)
    drop = base.gpus[0].memory_bytes.weights - part.gpus[0].memory_bytes.weights
    assert drop == pytest.approx(36 * 128 * expert * q4, rel=1e-3)
    assert "the routed experts of 36 layers in system RAM" in part.verdict
    with pytest.raises(PlanError):
        evaluate_with_host(plan, HostOffload(expert_layers=49))
    assert main(["evaluate", "--model", "qwen3-30b-a3b", "--gpu", "rtx-4090", "--weights", "gguf-q4_k_m",
                 "--engine", "llamacpp", "--n-cpu-moe", "36"]) in (0, 1)  # fmt: skip
