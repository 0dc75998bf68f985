"""The built-in catalogs load, cross-check and answer look-ups; broken copies fail with file and field named.

Golden figures come from public sources, not from the code:
- H100 SXM dense BF16 989.5 TFLOPS: NVIDIA's H100 page lists 1,979 "with sparsity" (source S11 in
  catalogs/sources.toml; ../shared/reference/catalog-facts.md section 1b); A100 dense BF16 312 (datasheet
  624 with sparsity, S15); MI300X 1,307.4 (ROCm peak table, S7).
- Published parameter totals: ../shared/reference/models.csv (column total_params_b) and the calibration
  rows M001/M005/M009/M013 (GPT-J 6.05B, Llama-2 6.74B/69.0B, Falcon-180B 179.5B).
"""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pytest

from gpuplanner import paths
from gpuplanner.core import architecture
from gpuplanner.core.catalog import default_catalog, load_catalog
from gpuplanner.core.errors import CatalogError


def _words(text: str) -> list[str]:
    return text.split()


REQUIRED_GPUS = _words(
    "b200 b100 gb200 h200-sxm h200-nvl h100-sxm h100-pcie h100-nvl h20 h800 a100-80gb-sxm a100-40gb-sxm "
    "a100-80gb-pcie a100-40gb-pcie a800-80gb-sxm l40s l40 l4 a40 a30 a10 v100-32gb-sxm rtx-pro-6000-blackwell "
    "rtx-6000-ada rtx-a6000 rtx-5090 rtx-4090 rtx-3090 mi355x mi350x mi325x mi300x mi250x gaudi3"
)
REQUIRED_LINKS = _words(
    "nvlink2 nvlink3 nvlink3-a800 nvlink4 nvlink4-h800 nvlink5 nvswitch-nvlink2 nvswitch-nvlink3 "
    "nvswitch-nvlink3-a800 nvswitch-nvlink4 nvswitch-nvlink4-h800 nvswitch-nvlink5 nvswitch-nvl72 "
    "nvlink-bridge-3090 nvlink-bridge-a6000 nvlink-bridge-a40 nvlink-bridge-a30 nvlink-bridge-a100-pcie "
    "nvlink-bridge-h100-pcie nvlink-bridge-h100-nvl nvlink-bridge-h200-nvl ib-hdr ib-ndr ib-xdr eth-100g eth-200g "
    "eth-400g eth-800g eth-25g eth-10g xgmi-mi250x xgmi-mi300x xgmi-mi355x gaudi3-roce"
) + [f"pcie{g}-x{n}-{p}" for g in (3, 4, 5, 6) for n in (8, 16) for p in ("switch", "cpu", "sys")]
REQUIRED_PRECISIONS = _words(
    "fp32 bf16 fp16 fp8 int8 awq-int4 gptq-int4 nvfp4 mxfp4 gguf-q8_0 gguf-q6_k gguf-q5_k_m gguf-q4_k_m gguf-q4_0"
)
REQUIRED_ENGINES = _words("vllm sglang trtllm llamacpp exllamav2")
REQUIRED_NODES = _words(
    "dgx-h100 hgx-h200 dgx-b200 dgx-a100 hgx-a100-40gb mi300x-platform gb200-nvl72 pcie-server-8 pcie-server-4 "
    "workstation-2slot workstation-4slot-pcie dual-socket-8 bridged-pair-3090"
)
REQUIRED_MODELS = _words(
    "meta-llama/Llama-3.1-8B-Instruct meta-llama/Llama-3.1-70B-Instruct meta-llama/Llama-3.1-405B-Instruct "
    "meta-llama/Llama-3.3-70B-Instruct meta-llama/Llama-4-Scout-17B-16E-Instruct "
    "meta-llama/Llama-4-Maverick-17B-128E-Instruct Qwen/Qwen2.5-7B-Instruct Qwen/Qwen2.5-72B-Instruct Qwen/Qwen3-8B "
    "Qwen/Qwen3-32B Qwen/Qwen3-235B-A22B mistralai/Mixtral-8x7B-Instruct-v0.1 mistralai/Mixtral-8x22B-Instruct-v0.1 "
    "mistralai/Mistral-7B-Instruct-v0.1 mistralai/Mistral-Large-Instruct-2407 deepseek-ai/DeepSeek-V3 "
    "deepseek-ai/DeepSeek-R1 google/gemma-2-27b-it google/gemma-3-27b-it microsoft/phi-4 openai/gpt-oss-20b "
    "openai/gpt-oss-120b EleutherAI/gpt-j-6b meta-llama/Llama-2-7b-hf meta-llama/Llama-2-70b-hf tiiuae/falcon-180B"
)


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(include_user_models=False)


def test_every_catalog_file_loads_with_the_required_entries(catalog):
    assert len(catalog.gpus) >= 30 and len(catalog.models) >= 25
    for table, required in (
        (catalog.gpus, REQUIRED_GPUS),
        (catalog.links, REQUIRED_LINKS),
        (catalog.precisions, REQUIRED_PRECISIONS),
        (catalog.engines, REQUIRED_ENGINES),
        (catalog.nodes, REQUIRED_NODES),
        (catalog.models, REQUIRED_MODELS),
    ):
        assert not set(required) - set(table), set(required) - set(table)
    default_catalog.cache_clear()
    assert set(default_catalog().gpus) == set(catalog.gpus)


@pytest.mark.parametrize(
    ("kind", "ref", "expected"),
    [
        ("gpu", "H100 SXM5 80GB", "h100-sxm"),
        ("gpu", "h100 sxm5 80gb", "h100-sxm"),
        ("gpu", "H100", "h100-sxm"),
        ("gpu", "h100sxm", "h100-sxm"),
        ("gpu", "H100_SXM", "h100-sxm"),
        ("gpu", "RTX 3090", "rtx-3090"),
        ("gpu", "a100", "a100-80gb-sxm"),
        ("link", "NVLink 4", "nvlink4"),
        ("link", "PCIe 4.0", "pcie4-x16-cpu"),
        ("link", "PCIE5-X16-SWITCH", "pcie5-x16-switch"),
        ("model", "llama-3.1-70b", "meta-llama/Llama-3.1-70B-Instruct"),
        ("model", "Llama 3.1 70B", "meta-llama/Llama-3.1-70B-Instruct"),
        ("model", "Llama-3.1-70B-Instruct", "meta-llama/Llama-3.1-70B-Instruct"),
        ("model", "deepseek-r1", "deepseek-ai/DeepSeek-R1"),
        ("precision", "Q4_K_M", "gguf-q4_k_m"),
        ("precision", "kv-fp16", "fp16"),
        ("engine", "vLLM", "vllm"),
        ("engine", "llama.cpp", "llamacpp"),
        ("node_template", "DGX H100", "dgx-h100"),
    ],
)
def test_lookup_by_id_or_alias_ignores_case_and_separators(catalog, kind, ref, expected):
    assert getattr(catalog, kind)(ref).id == expected


def test_unknown_id_names_the_kind_the_ref_and_the_closest_ids(catalog):
    with pytest.raises(CatalogError) as err:
        catalog.gpu("H100 SMX")
    text = str(err.value)
    assert "gpu 'H100 SMX'" in text and "h100-sxm" in text
    assert "gpuplanner catalog gpus" in err.value.fix
    with pytest.raises(CatalogError, match=r"unknown model 'llama-9-70b'; closest: .*meta-llama/Llama"):
        catalog.model("llama-9-70b")


def _broken_copy(tmp_path: Path, edit) -> Path:
    folder = tmp_path / "catalogs"
    shutil.copytree(paths.catalogs_dir(), folder, ignore=shutil.ignore_patterns("examples"))
    gpus = folder / "gpus.toml"
    gpus.write_text(edit(gpus.read_text(encoding="utf-8")), encoding="utf-8")
    return folder


def _first_h100(text: str, old: str, new: str) -> str:
    start = text.index('id = "h100-sxm"')
    return text[:start] + text[start:].replace(old, new, 1)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda t: _first_h100(t, "memory_gb =", "memroy_gb ="),
            r"gpus\.toml, gpu #\d+ 'h100-sxm'.*'memroy_gb'.*unknown",
        ),
        (
            lambda t: _first_h100(t, "memory_gb = 80", 'memory_gb = "eighty"'),
            r"gpu #\d+ 'h100-sxm'.*field 'memory_gb'",
        ),
        (
            lambda t: _first_h100(t, "memory_gb = 80", "memory_gb = "),
            r"gpus\.toml: TOML syntax error.*line \d+",
        ),
        (
            lambda t: t.replace('id = "h100-pcie"', 'id = "h100-sxm"'),
            r"gpus\.toml, gpu #\d+ 'h100-sxm'.*duplicate id",
        ),
        (
            lambda t: _first_h100(t, 'native_link = "nvlink4"', 'native_link = "nvlink9"'),
            r"'native_link'.*'nvlink9'",
        ),
        (
            lambda t: t.replace('sources = ["S31", ', 'sources = ["S99", '),
            r"gpu #\d+ 'rtx-3090'.*'sources'.*'S99'",
        ),
        (lambda t: t.replace('aliases = ["L4"]', 'aliases = ["H100"]'), r"'l4'.*alias 'H100'"),
    ],
    ids=[
        "misspelled-field",
        "wrong-type",
        "toml-syntax",
        "duplicate-id",
        "dangling-link",
        "unknown-source",
        "alias",
    ],
)
def test_a_broken_gpus_toml_names_file_entry_and_field(tmp_path, edit, expected):
    folder = _broken_copy(tmp_path, edit)
    with pytest.raises(CatalogError) as err:
        load_catalog(folder, include_user_models=False)
    assert re.search(expected, str(err.value), re.S), str(err.value)


def test_a_missing_catalog_file_is_named(tmp_path):
    folder = _broken_copy(tmp_path, lambda t: t)
    (folder / "links.toml").unlink()
    with pytest.raises(CatalogError, match=r"links\.toml"):
        load_catalog(folder, include_user_models=False)


def test_dense_figures_only(catalog):
    # sources S11 / S15 / S7 / S13 (see module docstring): vendor sparse figures halved
    assert catalog.gpu("h100-sxm").bf16_tflops == 989.5
    assert catalog.gpu("h100-sxm").fp8_tflops == 1979
    assert catalog.gpu("a100-80gb-sxm").bf16_tflops == 312
    assert catalog.gpu("b200").bf16_tflops == 2250
    assert catalog.gpu("mi300x").bf16_tflops == 1307.4
    for gpu in catalog.gpus.values():
        if gpu.bf16_tflops and gpu.fp8_tflops:
            # FP8 runs at most 2x BF16 (L40S datasheet: 362.05 BF16 vs 733 FP8 dense, hence the margin)
            assert gpu.fp8_tflops <= 2.05 * gpu.bf16_tflops, gpu.id
        if gpu.bf16_tflops and gpu.tf32_tflops:
            assert gpu.tf32_tflops <= gpu.bf16_tflops, gpu.id
        assert gpu.sources and gpu.notes, gpu.id


def test_bridges_only_on_cards_whose_native_link_allows_them(catalog):
    bridges = [link for link in catalog.links.values() if link.kind == "nvlink-bridge"]
    assert len(bridges) >= 8
    for link in bridges:
        assert link.requires_native == (link.id,)
        users = [g for g in catalog.gpus.values() if g.native_link == link.id]
        assert users and all(g.form_factor == "pcie" for g in users), link.id
    assert catalog.link("nvlink-bridge-3090").bandwidth_gbps_per_direction == 56.25
    for gpu in catalog.gpus.values():
        if gpu.native_link is None:
            assert all(link.requires_native == () for link in catalog.links.values() if link.kind == "pcie")
    for node in catalog.nodes.values():
        gpu = catalog.gpus.get(node.gpu or "")
        for ref in (node.nvswitch, node.pair_links):
            if ref and gpu is not None:
                assert gpu.native_link in catalog.link(ref).requires_native, (node.id, ref)


def test_pcie_paths_across_sockets_have_no_peer_to_peer(catalog):
    for link in catalog.links.values():
        if link.kind == "pcie":
            assert link.peer_to_peer == (not link.id.endswith("-sys")), link.id
            assert link.lanes in (8, 16)
    assert catalog.link("pcie4-x16-cpu").bandwidth_gbps_per_direction == 31.5


def test_nvlink_latency_follows_the_nccl_small_message_rows(catalog):
    rows = _measurement_rows()

    def per_step_us(row_id: str, n: int = 8) -> float:
        busbw = float(rows[row_id]["value"]) * 1e9
        return 8192 * 2 * (n - 1) / n / busbw * 1e6 / (2 * (n - 1))

    h100 = (per_step_us("M112") + per_step_us("M118")) / 2
    assert catalog.link("nvlink4").latency_us == pytest.approx(h100, abs=0.06)
    assert catalog.link("nvswitch-nvlink3").latency_us == pytest.approx(per_step_us("M122"), abs=0.06)


def _measurement_rows() -> dict[str, dict[str, str]]:
    """The published measurements copied into the repository (from ../shared/calibration)."""
    with paths.measurements_csv().open(encoding="utf-8") as handle:
        return {row["id"]: row for row in csv.DictReader(handle)}


def test_every_cited_measurement_row_exists(catalog):
    ids = set(_measurement_rows())
    cited = {key for key in catalog.sources if re.fullmatch(r"M\d{3}", key)}
    assert cited and cited <= ids


# Multimodal models whose published total includes a vision encoder: the text part the planner models
# (../shared/reference/models.csv notes: Gemma 3 27B "computed text 27.01B + SigLIP vision ~0.42B").
TEXT_ONLY_B = {"google/gemma-3-27b-it": 27.01}


def test_computed_totals_match_the_published_ones(catalog):
    for model in catalog.models.values():
        published = TEXT_ONLY_B.get(model.id, model.total_params_b)
        computed = architecture.total_params(model) / 1e9
        assert computed == pytest.approx(published, rel=0.015), model.id


def test_kv_sizes_of_reference_models(catalog):
    # Llama 3.1 70B: 80 layers x 2 x 8 KV heads x 128 x 2 bytes = 320 KiB per token (issue 2)
    llama = catalog.model("llama-3.1-70b")
    assert llama.num_layers * 2 * llama.num_kv_heads * llama.head_dim * 2 == 320 * 1024
    deepseek = catalog.model("deepseek-v3")
    assert deepseek.mla is not None
    assert deepseek.mla.kv_lora_rank + deepseek.mla.qk_rope_head_dim == 576


def test_imported_user_models_join_and_broken_ones_warn(catalog, isolated_user_dir):
    folder = isolated_user_dir / "models"
    folder.mkdir()
    custom = catalog.model("qwen3-8b").model_copy(
        update={"id": "me/my-model", "name": "Mine", "aliases": (), "sources": ("hf:me/my-model",)}
    )
    (folder / "me--my-model.json").write_text(custom.model_dump_json(), encoding="utf-8")
    (folder / "broken.json").write_text("{not json", encoding="utf-8")
    (folder / "wrong.json").write_text('{"id": "x"}', encoding="utf-8")
    loaded = load_catalog()
    assert loaded.model("me/my-model").name == "Mine"
    assert len(loaded.warnings) == 2 and all("skipped imported model" in w for w in loaded.warnings)
    assert "broken.json" in " ".join(loaded.warnings)
    assert loaded.sources["hf:me/my-model"].url.endswith("me/my-model/blob/main/config.json")


def test_with_models_returns_a_new_catalog(catalog):
    extra = catalog.model("phi-4").model_copy(update={"id": "me/phi", "aliases": ()})
    bigger = catalog.with_models([extra])
    assert "me/phi" in bigger.models and "me/phi" not in catalog.models
    assert bigger.model("me/phi").num_layers == 40
