"""KV cache and parameters of the architectures that change memory: sliding windows, hybrid
linear/full attention, MLA with a sparse-attention indexer, ALiBi, tied embeddings, shared experts.

Every golden number is worked out by hand below from the model's public config.json (source named
at each test), never pasted from the code's output.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpuplanner.core import architecture as arch
from gpuplanner.core.catalog import load_catalog
from gpuplanner.core.errors import CatalogError
from gpuplanner.core.hf_import import import_model_file, model_from_hf_config

DATA = Path(__file__).resolve().parent.parent / "data" / "hf_configs"
BF16 = 2.0


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(include_user_models=False)


def _config(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def test_gemma3_sliding_layers_keep_only_their_window(catalog):
    # google/gemma-3-27b-it config.json (text_config): 62 layers, 16 KV heads x 128, sliding_window 1024,
    # sliding_window_pattern 6 -> layers 5, 11, ..., 59 are global (10), the other 52 slide.
    gemma = catalog.model("google/gemma-3-27b-it")
    per_layer = 2 * 16 * 128  # elements per token
    assert arch.kv_elements_per_token_layer(gemma) == per_layer
    assert sum(not gemma.is_sliding_layer(i) for i in range(62)) == 10
    # 32768-token sequence in BF16: 10 x 4096 x 32768 x 2 + 52 x 4096 x 1024 x 2 bytes
    expected = 10 * 4096 * 32768 * 2 + 52 * 4096 * 1024 * 2
    assert expected == 3_120_562_176
    assert arch.kv_bytes_for_sequence(gemma, BF16, range(62), 32768) == expected
    # below the window every layer keeps every token
    assert arch.kv_bytes_for_sequence(gemma, BF16, range(62), 1000) == 62 * 4096 * 1000 * 2


def test_gpt_oss_alternates_128_token_windows_with_full_layers(catalog):
    # openai/gpt-oss-120b config.json: 36 layers alternating sliding (window 128) / full, 8 KV heads x 64
    model = catalog.model("openai/gpt-oss-120b")
    expected = 18 * (2 * 8 * 64) * 8192 * 2 + 18 * (2 * 8 * 64) * 128 * 2
    assert expected == 306_708_480
    assert arch.kv_bytes_for_sequence(model, BF16, range(36), 8192) == expected


def test_qwen3_next_linear_layers_keep_a_fixed_state_not_per_token_kv():
    # Qwen/Qwen3-Next-80B-A3B-Instruct config.json (tests/data/hf_configs, sources C-QWEN-MD and
    # C-TF-QWEN3NEXT): 48 layers, full_attention_interval 4 -> 12 full-attention layers with 2 KV heads
    # of 256; 36 Gated DeltaNet layers with 16 key / 32 value heads of 128 and a 4-wide convolution.
    model = model_from_hf_config(
        _config("Qwen--Qwen3-Next-80B-A3B-Instruct.json"), repo_id="Qwen/Qwen3-Next-80B-A3B-Instruct"
    )
    assert sum(model.is_linear_layer(i) for i in range(48)) == 36
    assert [model.is_linear_layer(i) for i in range(4)] == [True, True, True, False]
    assert arch.kv_elements_per_token_layer(model) == 2 * 2 * 256
    # state per linear layer: 32 x 128 x 128 (delta rule) + (4 - 1) x (2 x 16 x 128 + 32 x 128) (conv window)
    state = 32 * 128 * 128 + 3 * (2 * 16 * 128 + 32 * 128)
    assert state == 548_864
    assert arch.linear_state_elements(model) == state
    # a 4096-token sequence in BF16: 12 x 1024 x 4096 x 2 + 36 x 548864 x 2 bytes, whatever the context
    expected = 12 * 1024 * 4096 * 2 + 36 * state * 2
    assert expected == 140_181_504
    assert arch.kv_bytes_for_sequence(model, BF16, range(48), 4096) == expected
    # TP 2 halves the heads of both kinds of layer
    state_tp2 = 16 * 128 * 128 + 3 * (2 * 8 * 128 + 16 * 128)
    assert arch.linear_state_elements(model, tp=2) == state_tp2
    assert arch.kv_bytes_for_sequence(model, BF16, range(48), 4096, tp=2) == (
        12 * 512 * 4096 * 2 + 36 * state_tp2 * 2
    )
    # Qwen: 80B total parameters, 3B activated
    assert model.total_params_b == pytest.approx(80, rel=0.015)


def test_qwen3_next_import_matches_the_catalog_entry(catalog):
    imported = model_from_hf_config(
        _config("Qwen--Qwen3-Next-80B-A3B-Instruct.json"), repo_id="Qwen/Qwen3-Next-80B-A3B-Instruct"
    )
    built_in = catalog.model("qwen3-next")
    keep = {"name", "aliases", "total_params_b", "active_params_b", "sources", "notes"}
    assert imported.model_dump(exclude=keep) == built_in.model_dump(exclude=keep)


def test_deepseek_v32_caches_the_indexer_key_beside_the_latent(catalog):
    # deepseek-ai/DeepSeek-V3.2 config.json (C-AIC): kv_lora_rank 512 + qk_rope_head_dim 64 + index_head_dim 128
    model = catalog.model("deepseek-ai/DeepSeek-V3.2")
    assert arch.kv_elements_per_token_layer(model) == 512 + 64 + 128
    assert arch.kv_bytes_for_sequence(model, BF16, range(61), 1000) == 61 * 704 * 1000 * 2
    # DeepSeek-V3 (same config without the indexer) keeps 576
    assert arch.kv_elements_per_token_layer(catalog.model("deepseek-v3")) == 576


def test_kimi_k2_is_mla_with_384_experts_and_a_shared_one(catalog):
    # moonshotai/Kimi-K2-Instruct config.json (C-AIC): 61 layers, first_k_dense_replace 1,
    # n_routed_experts 384, top-8, n_shared_experts 1, moe_intermediate_size 2048; Moonshot: 1T total, 32B active
    model = catalog.model("kimi-k2")
    assert model.mla is not None and model.moe is not None
    assert (model.moe.num_experts, model.moe.experts_per_token, model.moe.shared_experts) == (384, 8, 1)
    assert not arch.layer_params(model, 0).is_moe and arch.layer_params(model, 1).is_moe
    assert arch.kv_elements_per_token_layer(model, tp=8) == 576  # the latent is replicated, not split
    assert model.total_params_b == pytest.approx(1000, rel=0.03)
    assert model.active_params_b == pytest.approx(32, rel=0.03)


def test_bloom_imports_with_alibi_and_its_published_parameter_count(isolated_user_dir):
    # bigscience/bloom config.json: n_layer 70, n_head 112, hidden 14336, vocab 250880, no intermediate_size
    # (4 x hidden), no max_position_embeddings (ALiBi). BLOOM paper / model card: 176,247,271,424 parameters =
    # 70 x (12 h^2 + 13 h) + vocab x h + 2 x 2h (embedding and final LayerNorms), lm_head tied.
    spec, saved = import_model_file(DATA / "bigscience--bloom.json", name="bigscience/bloom")
    h = 14336
    assert 70 * (12 * h * h + 13 * h) + 250880 * h + 4 * h == 176_247_271_424
    assert arch.total_params(spec) == 176_247_271_424
    assert spec.position_encoding == "alibi" and spec.tie_word_embeddings and spec.embedding_norm
    assert spec.intermediate_size == 4 * h and not spec.gated_mlp
    assert arch.kv_elements_per_token_layer(spec) == 2 * 112 * 128
    assert saved.exists()
    assert load_catalog().model("bigscience/bloom").position_encoding == "alibi"


def test_mpt_imports_with_alibi_and_no_biases():
    # mosaicml/mpt-7b config.json: d_model 4096, n_heads 32, n_layers 32, expansion_ratio 4, max_seq_len 2048,
    # vocab_size 50432, no_bias true, attn_config.alibi true. MosaicML: 6,649,286,656 parameters.
    config = {
        "model_type": "mpt",
        "d_model": 4096,
        "n_heads": 32,
        "n_layers": 32,
        "expansion_ratio": 4,
        "max_seq_len": 2048,
        "vocab_size": 50432,
        "no_bias": True,
        "attn_config": {"alibi": True},
    }
    spec = model_from_hf_config(config, repo_id="mosaicml/mpt-7b")
    assert arch.total_params(spec) == 6_649_286_656
    assert spec.position_encoding == "alibi" and spec.max_position_embeddings == 2048


def test_tied_embeddings_count_once(catalog):
    # meta-llama/Llama-3.2-1B-Instruct config.json (C-MLC): tie_word_embeddings true, vocab 128256, hidden 2048;
    # Meta: 1.24B parameters (1.50B if the head were separate)
    model = catalog.model("llama-3.2-1b")
    assert model.tie_word_embeddings and arch.lm_head_params(model) == 0
    assert arch.total_params(model) / 1e9 == pytest.approx(1.24, abs=0.01)


def test_mistral_small_3_2_reproduces_its_counted_parameters(catalog):
    # 23,572,403,200 text parameters counted on the meta device (source C-MS32-COUNT)
    assert arch.total_params(catalog.model("mistral-small-3.2")) == 23_572_403_200


def test_qwen3_next_shared_expert_has_its_gate(catalog):
    # Qwen3-Next: shared_expert_intermediate_size 512 with a hidden x 1 sigmoid gate; router 2048 x 512
    model = catalog.model("qwen3-next")
    p = arch.layer_params(model, 3)
    assert p.router == 2048 * 512 + 2048
    assert p.mlp == 3 * 2048 * 512


def test_minimax_text_01_keeps_a_lightning_state_on_seven_of_every_eight_layers(catalog):
    # MiniMax-Text-01 model card (C-MINIMAX-CARD): 80 layers, a softmax layer after every 7 lightning
    # layers, 64 heads of 128; 8 KV heads on the softmax layers (C-MINIMAX-GQA). 456B total parameters.
    model = catalog.model("minimax-text-01")
    assert sum(model.is_linear_layer(i) for i in range(80)) == 70
    assert arch.linear_state_elements(model) == 64 * 128 * 128
    expected = 10 * (2 * 8 * 128) * 100_000 * 2 + 70 * 64 * 128 * 128 * 2  # 100k tokens, BF16
    assert arch.kv_bytes_for_sequence(model, BF16, range(80), 100_000) == expected
    assert model.total_params_b == pytest.approx(456, rel=0.005)


def test_lightning_attention_state_is_heads_times_head_dim_squared():
    # MiniMax-Text-01 (MiniMax-01 paper, arXiv 2501.08313): 64 heads of 128, one softmax layer after
    # every seven lightning-attention layers (attn_type_list); each lightning layer keeps 64 x 128 x 128.
    config = {
        "model_type": "minimax",
        "num_hidden_layers": 8,
        "hidden_size": 6144,
        "num_attention_heads": 64,
        "num_key_value_heads": 8,
        "head_dim": 128,
        "intermediate_size": 9216,
        "vocab_size": 200064,
        "attn_type_list": [0, 0, 0, 0, 0, 0, 0, 1],
    }
    spec = model_from_hf_config(config, repo_id="MiniMaxAI/MiniMax-Text-01")
    assert spec.linear_attention is not None and spec.linear_attention.kind == "lightning"
    assert [spec.is_linear_layer(i) for i in range(8)] == [True] * 7 + [False]
    assert arch.linear_state_elements(spec) == 64 * 128 * 128


def test_an_unknown_architecture_names_what_it_lacks():
    with pytest.raises(CatalogError) as err:
        model_from_hf_config(
            {"model_type": "rwkv", "hidden_size": 2048, "vocab_size": 65536}, repo_id="x/rwkv"
        )
    message = str(err.value)
    assert "rwkv" in message and "num_hidden_layers" in message and "num_attention_heads" in message
    with pytest.raises(CatalogError) as err:
        model_from_hf_config(
            {
                "model_type": "nemotron_h",
                "num_hidden_layers": 2,
                "hidden_size": 64,
                "num_attention_heads": 4,
                "intermediate_size": 128,
                "vocab_size": 100,
                "layer_types": ["mamba", "full_attention"],
            },
            repo_id="x/hybrid",
        )
    assert "mamba" in str(err.value)


def test_attended_tokens_skip_linear_layers_and_cap_sliding_ones(catalog):
    # Gemma 3 27B at 32768 tokens: 10 global layers see 32768 keys, 52 sliding layers 1024
    assert arch.attended_tokens(catalog.model("gemma-3-27b"), range(62), 32768) == 10 * 32768 + 52 * 1024
    # Qwen3-Next: only its 12 full-attention layers attend over the context
    assert arch.attended_tokens(catalog.model("qwen3-next"), range(48), 4096) == 12 * 4096
