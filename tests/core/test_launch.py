"""Launch commands against the engines' documented command lines.

The tables below are written from each engine's documentation (source URL on each), not from
gpuplanner's code: every flag a launch emits must be one of them and its value must parse as the
document says. A flag the code invents, or a value of the wrong type, fails here.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from pathlib import Path

import pytest

from gpuplanner.cli.main import main
from gpuplanner.core.catalog import default_catalog
from gpuplanner.core.launch import FORMATS, Launch, launch_for, launches, render
from gpuplanner.core.plan import Stage
from gpuplanner.core.quick import quick_plan
from gpuplanner.document.planfile import load_plan

EXAMPLES = sorted((Path(__file__).parents[2] / "catalogs" / "examples").glob("*.gpuplan"))


def _int(v: str) -> None:
    assert int(v) >= 0, v


def _float01(v: str) -> None:
    assert 0 < float(v) <= 1, v


def _str(v: str) -> None:
    assert v and not v.startswith("-"), v


def _choice(*options: str) -> Callable[[str], None]:
    def check(v: str) -> None:
        assert v in options, f"{v} not in {options}"

    return check


def _floats(v: str) -> None:
    assert all(float(x) >= 0 for x in v.split(",")), v


FLAG = None  # a switch without a value

# https://docs.vllm.ai/en/v0.11.0/configuration/engine_args.html (vllm serve --help, v0.11.0) and
# https://docs.vllm.ai/en/v0.11.0/serving/data_parallel_deployment.html (the data-parallel flags)
VLLM = {
    "--tensor-parallel-size": _int,
    "--pipeline-parallel-size": _int,
    "--data-parallel-size": _int,
    "--data-parallel-size-local": _int,
    "--data-parallel-address": _str,
    "--data-parallel-rpc-port": _int,
    "--data-parallel-start-rank": _int,
    "--headless": FLAG,
    "--enable-expert-parallel": FLAG,
    "--max-model-len": _int,
    "--gpu-memory-utilization": _float01,
    "--max-num-seqs": _int,
    "--max-num-batched-tokens": _int,
    "--kv-cache-dtype": _choice("auto", "fp8", "fp8_e4m3", "fp8_e5m2"),
    "--quantization": _choice("awq", "awq_marlin", "gptq", "gptq_marlin", "fp8", "compressed-tensors"),
    "--enforce-eager": FLAG,
    "--distributed-executor-backend": _choice("ray", "mp", "uni", "external_launcher"),
}
# https://docs.sglang.ai/advanced_features/server_arguments.html (python -m sglang.launch_server --help)
SGLANG = {
    "--model-path": _str,
    "--tp": _int,
    "--dp": _int,
    "--ep": _int,
    "--pp-size": _int,
    "--nnodes": _int,
    "--node-rank": _int,
    "--dist-init-addr": _str,
    "--mem-fraction-static": _float01,
    "--context-length": _int,
    "--max-running-requests": _int,
    "--chunked-prefill-size": _int,
    "--kv-cache-dtype": _choice("auto", "fp8_e5m2", "fp8_e4m3"),
    "--quantization": _choice("awq", "awq_marlin", "gptq", "gptq_marlin", "fp8"),
}
# https://nvidia.github.io/TensorRT-LLM/commands/trtllm-serve/trtllm-serve.html (trtllm-serve serve --help)
TRTLLM = {
    "--tp_size": _int,
    "--pp_size": _int,
    "--ep_size": _int,
    "--max_batch_size": _int,
    "--max_num_tokens": _int,
    "--max_seq_len": _int,
    "--kv_cache_free_gpu_memory_fraction": _float01,
    "--extra_llm_api_options": _str,
    "--port": _int,
}
# https://github.com/ggml-org/llama.cpp/blob/master/tools/server/README.md (llama-server --help)
LLAMACPP = {
    "-m": _str,
    "-ngl": _int,
    "--split-mode": _choice("none", "layer", "row"),
    "--tensor-split": _floats,
    "--main-gpu": _int,
    "-c": _int,
    "--parallel": _int,
    "--cache-type-k": _choice("f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "iq4_nl", "q5_0", "q5_1"),
    "--cache-type-v": _choice("f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "iq4_nl", "q5_0", "q5_1"),
    "--port": _int,
    "--rpc": _str,
}
# https://github.com/ggml-org/llama.cpp/blob/master/tools/rpc/README.md
RPC_SERVER = {"--host": _str, "--port": _int}
# https://huggingface.co/docs/text-generation-inference/reference/launcher
TGI = {
    "--model-id": _str,
    "--num-shard": _int,
    "--max-total-tokens": _int,
    "--max-input-tokens": _int,
    "--max-batch-prefill-tokens": _int,
    "--max-concurrent-requests": _int,
    "--port": _int,
    "--quantize": _choice("awq", "eetq", "exl2", "gptq", "marlin", "bitsandbytes", "fp8", "compressed-tensors"),
    "--kv-cache-dtype": _choice("fp8_e4m3fn", "fp8_e5m2"),
}
# https://docs.ray.io/en/latest/cluster/cli.html#ray-start
RAY = {"--head": FLAG, "--port": _int, "--address": _str, "--block": FLAG}
# https://github.com/ollama/ollama/blob/main/docs/faq.mdx and envconfig/config.go
OLLAMA_ENV = {
    "OLLAMA_NUM_PARALLEL": _int,
    "OLLAMA_CONTEXT_LENGTH": _int,
    "OLLAMA_SCHED_SPREAD": _choice("1", "true"),
    "OLLAMA_KV_CACHE_TYPE": _choice("f16", "q8_0", "q4_0"),
    "OLLAMA_FLASH_ATTENTION": _choice("1", "true"),
    "OLLAMA_HOST": _str,
}
# https://github.com/theroyallab/tabbyAPI/blob/main/config_sample.yml (model: section)
TABBY_MODEL_KEYS = {"model_dir", "model_name", "max_seq_len", "tensor_parallel", "gpu_split_auto", "gpu_split",
                    "cache_mode", "max_batch_size", "chunk_size"}
# NCCL: https://docs.nvidia.com/deeplearning/nccl/user-guide/docs/env.html ; vLLM's uneven pipeline split:
# VLLM_PP_LAYER_PARTITION in vllm/envs.py (https://docs.vllm.ai/en/v0.11.0/configuration/env_vars.html)
KNOWN_ENV = {"CUDA_VISIBLE_DEVICES", "NCCL_P2P_DISABLE", "VLLM_PP_LAYER_PARTITION", *OLLAMA_ENV}


def _check_flags(argv: tuple[str, ...] | list[str], table: dict) -> None:
    i = 0
    while i < len(argv):
        token = argv[i]
        if token.startswith("-"):
            name, _, inline = token.partition("=")
            assert name in table, f"{name} is not a documented flag ({argv[0]})"
            check = table[name]
            if check is None:
                assert not inline, token
            elif inline:
                check(inline)
            else:
                i += 1
                check(argv[i])
        i += 1


def _check_launch(launch: Launch) -> None:
    for step in launch.steps:
        for key, value in step.env:
            assert key in KNOWN_ENV, key
            if key in OLLAMA_ENV:
                OLLAMA_ENV[key](value)
        argv = list(step.argv)
        if argv[0] == "mpirun":  # mpirun -H hosts -n N trtllm-llmapi-launch trtllm-serve ...
            assert argv[1] == "-H" and argv[3] == "-n" and int(argv[4]) > 0 and argv[5] == "trtllm-llmapi-launch"
            argv = argv[6:]
        head = argv[0]
        if head == "vllm":
            assert argv[1] == "serve" and not argv[2].startswith("-")
            _check_flags(argv[3:], VLLM)
        elif head == "ray":
            assert argv[1] == "start"
            _check_flags(argv[2:], RAY)
        elif head == "python" and argv[1:3] == ["-m", "sglang.launch_server"]:
            _check_flags(argv[3:], SGLANG)
        elif head == "trtllm-serve":
            assert not argv[1].startswith("-")
            _check_flags(argv[2:], TRTLLM)
        elif head == "llama-server":
            _check_flags(argv[1:], LLAMACPP)
        elif head == "rpc-server":
            _check_flags(argv[1:], RPC_SERVER)
        elif head == "text-generation-launcher":
            _check_flags(argv[1:], TGI)
        elif head == "ollama":
            assert argv[1] in ("serve", "create")
        elif head == "python" and argv[1] == "main.py":  # TabbyAPI reads config.yml from its folder
            pass
        else:
            pytest.fail(f"unexpected program {head}")
    for f in launch.files:
        if f.name.endswith("config.yml"):
            model_keys = [line.strip().split(":")[0] for line in f.content.split("model:")[1].splitlines()
                          if line.startswith("  ")]
            assert set(model_keys) <= TABBY_MODEL_KEYS, model_keys


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_sample_plan_launches_its_engine_with_documented_flags(path):
    plan = load_plan(path)
    launch = launch_for(plan)
    assert launch.runnable, launch.reason
    assert launch.engine == plan.engine.engine
    _check_launch(launch)
    for fmt in FORMATS:
        assert render(launch, fmt).strip()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_other_engines_launch_with_documented_flags_or_say_why_not(path):
    plan = load_plan(path)
    seen = set()
    for launch in launches(plan):
        seen.add(launch.engine)
        if launch.runnable:
            _check_launch(launch)
        else:
            assert launch.reason and launch.closest, launch.engine
            assert "cannot run" in render(launch)
    assert seen == set(default_catalog().engines)


def _flag(launch: Launch, name: str, step: int = -1) -> str:
    argv = launch.steps[step].argv
    return argv[argv.index(name) + 1]


def test_vllm_flags_carry_the_layout():
    # TP 8 x PP 2 over two DGX H100s: the sample's own description says so
    plan = load_plan(next(p for p in EXAMPLES if "405b-tp8-pp2" in p.name))
    launch = launch_for(plan, "vllm")
    assert _flag(launch, "--tensor-parallel-size") == "8"
    assert _flag(launch, "--pipeline-parallel-size") == "2"
    assert _flag(launch, "--distributed-executor-backend") == "ray"
    roles = [s.argv[:2] for s in launch.steps]
    assert roles[0] == ("ray", "start") and roles[1] == ("ray", "start") and roles[-1] == ("vllm", "serve")
    assert "--head" in launch.steps[0].argv and "--address=n0-host:6379" in launch.steps[1].argv


def test_uneven_stages_become_vllm_pp_layer_partition():
    plan = quick_plan(model="meta-llama/Llama-3.1-8B-Instruct", gpu="l40s", gpus_per_node=2, tp=1, pp=2)
    stages = (Stage(layers=(0, 14), gpus=plan.layout.replicas[0].stages[0].gpus),
              Stage(layers=(14, 32), gpus=plan.layout.replicas[0].stages[1].gpus))
    replica = plan.layout.replicas[0].model_copy(update={"stages": stages})
    plan = plan.model_copy(update={"layout": plan.layout.model_copy(update={"replicas": (replica,)})})
    launch = launch_for(plan, "vllm")
    assert dict(launch.steps[-1].env)["VLLM_PP_LAYER_PARTITION"] == "14,18"
    # SGLang and TensorRT-LLM split stages evenly: they refuse and name the even split (16 + 16)
    for engine in ("sglang", "trtllm"):
        other = launch_for(plan, engine)
        assert not other.runnable and "16,16" in other.closest


def test_geforce_pair_disables_nccl_peer_to_peer():
    # RTX 4090: NVIDIA disabled PCIe P2P on GeForce Ada cards, so NCCL must not try it
    plan = load_plan(next(p for p in EXAMPLES if "rtx4090" in p.name))
    launch = launch_for(plan, "vllm")
    assert dict(launch.steps[0].env)["NCCL_P2P_DISABLE"] == "1"
    assert dict(launch.steps[0].env)["CUDA_VISIBLE_DEVICES"] == "0,1"


def test_llamacpp_tensor_split_follows_the_layer_ranges():
    # the sample says: 30 layers on the RTX 3090, 34 on the RTX 4090 (--tensor-split 30,34)
    plan = load_plan(next(p for p in EXAMPLES if "mixed-3090-4090" in p.name))
    launch = launch_for(plan)
    assert _flag(launch, "--tensor-split") == "30,34"
    assert _flag(launch, "--split-mode") == "layer"
    assert _flag(launch, "-c") == "16384"
    # vLLM cannot load this plan's GGUF weights and says which it can
    refused = launch_for(plan, "vllm")
    assert not refused.runnable and "GGUF" in refused.reason


def test_mixed_gpus_in_one_tensor_group_are_refused_with_the_closest_plan():
    plan = load_plan(next(p for p in EXAMPLES if "mixed-3090-4090" in p.name))
    plan = plan.model_copy(update={"weights": "awq-int4", "kv_cache": "fp16"})
    launch = launch_for(plan, "vllm")
    assert not launch.runnable and "same GPU model" in launch.reason and "llama.cpp" in launch.closest


def test_llamacpp_across_servers_uses_rpc_servers():
    plan = quick_plan(model="Qwen/Qwen3-32B", gpu="rtx-4090", gpus_per_node=1, nodes=2, tp=1, pp=2,
                      weights="gguf-q4_k_m", kv_cache="fp16", engine="llamacpp", fabric="eth-100g")
    launch = launch_for(plan)
    assert launch.runnable
    rpc = [s for s in launch.steps if s.argv[0] == "rpc-server"]
    assert len(rpc) == 1 and rpc[0].node == "n1"
    assert _flag(launch, "--rpc") == "n1-host:50052"
    _check_launch(launch)


def test_sglang_multi_node_ranks_and_kubernetes_leader_worker_set():
    plan = load_plan(next(p for p in EXAMPLES if "405b-tp8-pp2" in p.name))
    launch = launch_for(plan, "sglang")
    assert [_flag(launch, "--node-rank", i) for i in range(2)] == ["0", "1"]
    assert {_flag(launch, "--nnodes", i) for i in range(2)} == {"2"}
    manifest = render(launch, "kubernetes")
    assert "kind: LeaderWorkerSet" in manifest and "size: 2" in manifest
    assert "--node-rank $(LWS_WORKER_INDEX)" in manifest
    assert 'nvidia.com/gpu: "8"' in manifest


def test_shell_text_is_valid_shell_words():
    for path in EXAMPLES:
        text = render(launch_for(load_plan(path)), "shell")
        joined = text.replace("\\\n", " ")
        for line in joined.splitlines():
            if line and not line.startswith("#"):
                shlex.split(line)


def test_cli_launch_prints_the_command_and_exits_2_for_an_engine_that_cannot(capsys):
    mixed = str(next(p for p in EXAMPLES if "mixed-3090-4090" in p.name))
    assert main(["launch", mixed]) == 0
    assert "--tensor-split 30,34" in capsys.readouterr().out.replace(" \\\n    ", " ")
    assert main(["launch", mixed, "--engine", "vllm"]) == 2
    err = capsys.readouterr().err
    assert "vLLM cannot run this plan" in err and "fix:" in err and "Traceback" not in err
    assert main(["launch", mixed, "--json", "--format", "docker"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["runnable"] and data["engine"] == "llamacpp" and "docker run" in data["text"]


def test_replicas_on_separate_servers_use_vllm_data_parallel_addresses():
    plan = quick_plan(model="meta-llama/Llama-3.1-70B-Instruct", gpu="h100-sxm", gpus_per_node=8, nodes=2,
                      tp=8, dp=2, link="nvswitch-nvlink4", fabric="ib-ndr")
    launch = launch_for(plan, "vllm")
    _check_launch(launch)
    head, other = launch.steps
    assert _flag(launch, "--data-parallel-size", 0) == "2" and _flag(launch, "--data-parallel-size-local", 0) == "1"
    assert "--headless" not in head.argv and "--headless" in other.argv
    assert _flag(launch, "--data-parallel-start-rank", 1) == "1"
    assert _flag(launch, "--data-parallel-address", 1) == "n0-host"
    # TensorRT-LLM has no data-parallel flag: one server per replica
    trt = launch_for(plan, "trtllm")
    assert trt.runnable and len(trt.steps) == 2 and {s.node for s in trt.steps} == {"n0", "n1"}
    _check_launch(trt)


def test_docker_runs_each_program_through_the_images_entrypoint():
    # vllm/vllm-openai's entrypoint is the API server: Ray needs --entrypoint, the server runs in the head's
    # container (https://docs.vllm.ai/en/v0.11.0/deployment/docker.html)
    plan = load_plan(next(p for p in EXAMPLES if "405b-tp8-pp2" in p.name))
    text = render(launch_for(plan, "vllm"), "docker")
    assert text.count("--entrypoint ray vllm/vllm-openai:v0.11.0") == 2
    assert "docker exec vllm-n0" in text and "--network=host" in text
    # llama.cpp's server image takes llama-server's arguments after the image name
    mixed = load_plan(next(p for p in EXAMPLES if "mixed-3090-4090" in p.name))
    text = render(launch_for(mixed), "docker").replace(" \\\n    ", " ").replace(" \\\n  ", " ")
    assert "ghcr.io/ggml-org/llama.cpp:server-cuda -m /models/Qwen3-32B-Q4_K_M.gguf" in text
    assert '--gpus "device=0,1"' in text


def test_cli_engine_all_lists_every_engine(capsys):
    path = str(next(p for p in EXAMPLES if "dgx-h100-llama-3.1-70b" in p.name))
    assert main(["launch", path, "--engine", "all", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data[0]["engine"] == "vllm"
    assert {d["engine"] for d in data} == set(default_catalog().engines)
    assert all(d["runnable"] or d["reason"] for d in data)


def test_uneven_tensor_parallel_is_refused_with_one_tp_size_offered():
    plan = quick_plan(model="meta-llama/Llama-3.1-8B-Instruct", gpu="l40s", gpus_per_node=4, tp=2, pp=2)
    first, second = plan.layout.replicas[0].stages
    stages = (first, Stage(layers=second.layers, gpus=second.gpus[:1]))  # TP 2 then TP 1
    replica = plan.layout.replicas[0].model_copy(update={"stages": stages})
    plan = plan.model_copy(update={"layout": plan.layout.model_copy(update={"replicas": (replica,)})})
    for engine in ("vllm", "sglang", "trtllm"):
        launch = launch_for(plan, engine)
        assert not launch.runnable and "tensor-parallel size" in launch.reason and "TP 2" in launch.closest


def test_tabbyapi_gpu_split_is_gb_per_gpu_within_each_cards_memory():
    plan = load_plan(next(p for p in EXAMPLES if "mixed-3090-4090" in p.name))
    plan = plan.model_copy(update={"weights": "gptq-int4", "kv_cache": "fp16",
                                   "engine": plan.engine.model_copy(update={"engine": "exllamav2",
                                                                            "split_mode": None})})
    launch = launch_for(plan)
    assert launch.runnable, launch.reason
    _check_launch(launch)
    config = launch.files[0].content
    split = [float(v) for v in config.split("gpu_split: [")[1].split("]")[0].split(",")]
    assert len(split) == 2 and all(0 < v <= 24 for v in split)  # RTX 3090 and 4090: 24 GB each
    assert "gpu_split_auto: false" in config and "max_seq_len: 16384" in config
