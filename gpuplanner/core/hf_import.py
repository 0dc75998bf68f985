"""A :class:`ModelSpec` from a Hugging Face ``config.json``, and import into the user's models folder.

Supported ``model_type`` values: llama, mistral, mixtral, qwen2, qwen2_moe, qwen3, qwen3_moe,
qwen3_next and qwen3_5 (hybrid Gated DeltaNet / full attention), gemma2, gemma3 (fields under
``text_config``), phi3, cohere2, deepseek_v3, deepseek_v32 (sparse-attention indexer), kimi_k2,
glm4_moe, glm_moe_dsa, minimax_m2, minimax (hybrid lightning / full attention), gpt_oss, gptj, falcon,
bloom and mpt (ALiBi, no rotary) and llama4 (``text_config``). Another decoder whose config has the
usual Llama-style fields is imported as a plain dense model with a note; one that lacks them, or
whose layers are of a kind gpuplanner cannot model, gets a :class:`CatalogError` naming the fields.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gpuplanner import paths
from gpuplanner.core import architecture
from gpuplanner.core.errors import CatalogError
from gpuplanner.core.limits import INT32_MAX, parse_json, read_text_limited
from gpuplanner.core.specs import LinearAttentionSpec, MlaSpec, ModelSpec, MoeSpec

SUPPORTED = (
    "llama",
    "mistral",
    "mixtral",
    "qwen2",
    "qwen3",
    "qwen3_moe",
    "gemma2",
    "gemma3",
    "phi3",
    "deepseek_v3",
    "gpt_oss",
    "gptj",
    "falcon",
    "llama4",
    "qwen2_moe",
    "qwen3_next",
    "qwen3_5",
    "qwen3_5_moe",
    "cohere2",
    "deepseek_v32",
    "kimi_k2",
    "glm4_moe",
    "glm_moe_dsa",
    "minimax_m2",
    "minimax",
    "bloom",
    "mpt",
    "mistral3",
)
# DeepSeek-V3-style MoE with MLA: first_k_dense_replace dense layers, routed + shared experts
_DEEPSEEK_LIKE = ("deepseek_v3", "deepseek_v32", "kimi_k2", "glm_moe_dsa")
# layer kinds of hybrid models that gpuplanner models (others fail with their names)
_LAYER_KINDS = {"full_attention", "sliding_attention", "linear_attention", "chunked_attention"}

# canonical Hugging Face name -> other spellings seen in configs (GPT-J, Falcon, GPT-2 style)
_ALIASES: dict[str, tuple[str, ...]] = {
    "num_hidden_layers": ("n_layer", "num_layers", "n_layers"),
    "hidden_size": ("n_embd", "d_model", "n_embed"),
    "num_attention_heads": ("n_head", "n_heads"),
    "num_key_value_heads": ("num_kv_heads", "n_head_kv"),
    "intermediate_size": ("n_inner", "ffn_dim"),
    "max_position_embeddings": ("n_positions", "max_seq_len", "seq_length"),
}
_DTYPES = {"bfloat16": "bf16", "float16": "fp16", "float32": "fp32", "float8_e4m3fn": "fp8"}
# types whose FFN width is 4 x hidden (MPT: expansion_ratio x hidden) when the config leaves it out
_FFN_4X = ("gptj", "falcon", "bloom", "mpt")
# LayerNorm (with bias), 2-matrix GELU MLP
_PLAIN = ("gptj", "falcon", "bloom", "mpt")


def _get(cfg: dict[str, Any], key: str, default: Any = None) -> Any:
    for name in (key, *_ALIASES.get(key, ())):
        if cfg.get(name) is not None:
            return cfg[name]
    return default


def _flatten(config: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The model type and the text-model fields (multimodal configs nest them under text_config)."""
    model_type = str(config.get("model_type") or "")
    text = config.get("text_config")
    if isinstance(text, dict):
        merged = {k: v for k, v in config.items() if k != "text_config"}
        merged.update(text)
        if "tie_word_embeddings" in config and "tie_word_embeddings" not in text:
            merged["tie_word_embeddings"] = config["tie_word_embeddings"]
        model_type = model_type or str(text.get("model_type") or "")
        return model_type.removesuffix("_text"), merged
    return model_type.removesuffix("_text"), config


# every field read as a whole number; checked first so that NaN, 1e30 or a list is a clear message
_NUMBERS = (
    *(name for key, names in _ALIASES.items() for name in (key, *names)),
    "vocab_size", "head_dim", "kv_lora_rank", "q_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim",
    "v_head_dim", "num_local_experts", "num_experts", "n_routed_experts", "num_experts_per_tok",
    "experts_per_token", "num_experts_per_token", "moe_intermediate_size", "n_shared_experts",
    "decoder_sparse_step", "moe_layer_freq", "intermediate_size_mlp", "interleave_moe_layer_step",
    "first_k_dense_replace", "attention_chunk_size", "sliding_window", "sliding_window_pattern",
)  # fmt: skip
_POSITIVE = ("num_hidden_layers", "hidden_size", "num_attention_heads", "vocab_size")


def _check_numbers(cfg: dict[str, Any], repo_id: str) -> None:
    for key in _NUMBERS:
        value = cfg.get(key)
        if value is None:
            continue
        whole = isinstance(value, int) and not isinstance(value, bool)
        whole = whole or (isinstance(value, float) and value.is_integer())
        low = 1 if key in _POSITIVE or any(key in _ALIASES.get(p, ()) for p in _POSITIVE) else 0
        if not whole or not low <= value <= INT32_MAX:
            raise CatalogError(
                f"config.json of {repo_id}: {key} is {str(value)[:40]}, not a whole number from {low} "
                f"to {INT32_MAX:,}",
                fix=f"correct {key} in config.json",
            )


def _require(cfg: dict[str, Any], model_type: str, repo_id: str, keys: list[str]) -> None:
    missing = [key for key in keys if _get(cfg, key) is None]
    if missing:
        kind = f"model_type '{model_type}'" if model_type else "no model_type"
        raise CatalogError(
            f"config.json of {repo_id} ({kind}) lacks required field(s): {', '.join(missing)}",
            fix="add the missing fields to config.json, or import the config.json of the model's text part",
        )


def _moe(cfg: dict[str, Any], model_type: str, intermediate: int) -> MoeSpec | None:
    """The mixture-of-experts part, if the config describes one."""
    experts = cfg.get("num_local_experts") or cfg.get("num_experts") or cfg.get("n_routed_experts")
    if not experts:
        return None
    top_k = (
        cfg.get("num_experts_per_tok")
        or cfg.get("experts_per_token")
        or cfg.get("num_experts_per_token")
        or 1
    )
    expert_ffn = cfg.get("moe_intermediate_size") or intermediate
    shared = int(cfg.get("n_shared_experts") or 0)
    shared_ffn = shared * int(cfg.get("moe_intermediate_size") or 0)
    shared_gate = False
    if cfg.get("shared_expert_intermediate_size"):  # Qwen2-MoE, Qwen3-Next, Qwen3.5: one gated shared expert
        shared, shared_ffn, shared_gate = 1, int(cfg["shared_expert_intermediate_size"]), True
    dense_ffn = 0
    step = int(cfg.get("decoder_sparse_step") or cfg.get("moe_layer_freq") or 1)
    if model_type in _DEEPSEEK_LIKE or cfg.get("first_k_dense_replace"):
        dense_ffn = intermediate
    elif model_type == "llama4":
        shared, shared_ffn = 1, intermediate
        dense_ffn = int(cfg.get("intermediate_size_mlp") or 0)
        step = int(cfg.get("interleave_moe_layer_step") or 1)
    gpt_oss = model_type == "gpt_oss"
    return MoeSpec(
        num_experts=int(experts),
        experts_per_token=int(top_k),
        expert_intermediate_size=int(expert_ffn),
        shared_experts=shared,
        shared_intermediate_size=shared_ffn if shared else 0,
        first_dense_layers=int(cfg.get("first_k_dense_replace") or 0),
        moe_layer_step=step,
        dense_intermediate_size=dense_ffn,
        expert_bias=gpt_oss,
        # gpt-oss routers have a bias; DeepSeek-V3-style routers (noaux_tc) and MiniMax-M2 add a
        # per-expert score-correction bias of the same size
        router_bias=gpt_oss
        or model_type in _DEEPSEEK_LIKE
        or cfg.get("topk_method") == "noaux_tc"
        or bool(cfg.get("use_routing_bias")),
        shared_expert_gate=shared_gate,
    )


def _attention_pattern(cfg: dict[str, Any], model_type: str) -> tuple[int | None, int]:
    """(sliding_window, full_attention_interval) in ModelSpec's convention."""
    if model_type == "llama4":
        chunk = cfg.get("attention_chunk_size")
        return (int(chunk), 4) if chunk else (None, 1)
    window = cfg.get("sliding_window")
    if not window or cfg.get("use_sliding_window") is False:
        return None, 1
    if model_type == "gemma2" or model_type == "gpt_oss":
        return int(window), 2
    if model_type == "gemma3":
        return int(window), int(cfg.get("sliding_window_pattern") or 6)
    layer_types = cfg.get("layer_types")
    if isinstance(layer_types, list) and "sliding_attention" not in layer_types:
        return None, 1  # hybrid linear/full models: the linear layers are modelled apart
    if isinstance(layer_types, list) and "full_attention" in layer_types:
        first_full = layer_types.index("full_attention") + 1
        return int(window), first_full
    return int(window), 0  # Mistral 7B v0.1: every layer slides


def _layer_kinds(cfg: dict[str, Any], model_type: str, repo_id: str) -> list[str] | None:
    """The per-layer kinds of a hybrid model (``layer_types`` or MiniMax's ``attn_type_list``)."""
    kinds = cfg.get("layer_types")
    if not isinstance(kinds, list) and isinstance(cfg.get("attn_type_list"), list):
        # MiniMax-Text-01 / M1: 0 = lightning (linear) attention, 1 = softmax attention
        kinds = ["full_attention" if int(v) else "linear_attention" for v in cfg["attn_type_list"]]
    if not isinstance(kinds, list):
        return None
    unknown = sorted({str(k) for k in kinds} - _LAYER_KINDS)
    if unknown:
        raise CatalogError(
            f"config.json of {repo_id} (model_type '{model_type or '?'}') has layers of a kind gpuplanner "
            f"cannot model: layer_types {', '.join(unknown)}",
            fix="only full, sliding, chunked and linear (Gated DeltaNet, lightning) attention layers are modelled",
        )
    return [str(k) for k in kinds]


def _linear_attention(
    cfg: dict[str, Any], model_type: str, repo_id: str, heads: int, head_dim: int
) -> LinearAttentionSpec | None:
    """The linear-attention part of a hybrid model, or None for a model without linear layers."""
    kinds = _layer_kinds(cfg, model_type, repo_id)
    hybrid = model_type in ("qwen3_next", "qwen3_5", "qwen3_5_moe", "minimax")
    if not hybrid and not (kinds and "linear_attention" in kinds):
        return None
    if kinds and "full_attention" in kinds:
        interval = kinds.index("full_attention") + 1
        expected = [
            "full_attention" if (i + 1) % interval == 0 else "linear_attention" for i in range(len(kinds))
        ]
        if kinds != expected:
            raise CatalogError(
                f"config.json of {repo_id}: layer_types is not one full-attention layer every n layers",
                fix="gpuplanner models hybrid models whose full-attention layers repeat at a fixed interval",
            )
    else:
        interval = int(cfg.get("full_attention_interval") or 4)
    if model_type == "minimax" or "attn_type_list" in cfg:
        return LinearAttentionSpec(
            kind="lightning",
            full_attention_interval=interval,
            num_key_heads=heads,
            num_value_heads=heads,
            key_head_dim=head_dim,
            value_head_dim=head_dim,
        )
    keys = ["linear_num_key_heads", "linear_num_value_heads", "linear_key_head_dim", "linear_value_head_dim"]
    _require(cfg, model_type, repo_id, keys)
    return LinearAttentionSpec(
        kind="gated_deltanet",
        full_attention_interval=interval,
        num_key_heads=int(cfg["linear_num_key_heads"]),
        num_value_heads=int(cfg["linear_num_value_heads"]),
        key_head_dim=int(cfg["linear_key_head_dim"]),
        value_head_dim=int(cfg["linear_value_head_dim"]),
        conv_kernel=int(cfg.get("linear_conv_kernel_dim") or 4),
    )


def model_from_hf_config(config: dict[str, Any], *, repo_id: str, name: str | None = None) -> ModelSpec:
    """Build a ModelSpec from the fields of a Hugging Face ``config.json`` (already parsed).

    ``repo_id`` becomes the model id (e.g. 'meta-llama/Llama-3.1-8B-Instruct'); ``name`` the
    display name (default: the part after '/'). Raises :class:`CatalogError` naming the missing
    fields when the config cannot describe a supported decoder.
    """
    if not isinstance(config, dict):
        raise CatalogError(
            f"config.json of {repo_id} is not a JSON object", fix="use the model's config.json"
        )
    model_type, cfg = _flatten(config)
    required = ["num_hidden_layers", "hidden_size", "num_attention_heads", "vocab_size"]
    if model_type not in _FFN_4X and not cfg.get("moe_intermediate_size"):
        required.append("intermediate_size")  # all-MoE models (Qwen3.5 MoE) may leave it out
    _require(cfg, model_type, repo_id, required)
    _check_numbers(cfg, repo_id)
    notes: list[str] = []
    if model_type not in SUPPORTED:
        notes.append(
            f"model_type '{model_type or '?'}' is not one gpuplanner knows; imported as a Llama-style decoder"
        )

    hidden = int(_get(cfg, "hidden_size"))
    heads = int(_get(cfg, "num_attention_heads"))
    ffn_default = int(float(cfg.get("expansion_ratio") or 4) * hidden)
    intermediate = int(_get(cfg, "intermediate_size") or cfg.get("moe_intermediate_size") or ffn_default)
    kv_heads = int(_get(cfg, "num_key_value_heads", heads))
    if model_type == "falcon" and not cfg.get("new_decoder_architecture") and cfg.get("multi_query", True):
        kv_heads = 1
    head_dim = cfg.get("head_dim") or hidden // heads
    mla = None
    if model_type in _DEEPSEEK_LIKE or cfg.get("kv_lora_rank"):
        _require(
            cfg, model_type, repo_id, ["kv_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim", "v_head_dim"]
        )
        mla = MlaSpec(
            kv_lora_rank=int(cfg["kv_lora_rank"]),
            q_lora_rank=cfg.get("q_lora_rank"),
            qk_rope_head_dim=int(cfg["qk_rope_head_dim"]),
            qk_nope_head_dim=int(cfg["qk_nope_head_dim"]),
            v_head_dim=int(cfg["v_head_dim"]),
            indexer_heads=int(cfg.get("index_n_heads") or 0),
            indexer_head_dim=int(cfg.get("index_head_dim") or 0) if cfg.get("index_n_heads") else 0,
        )
        head_dim = mla.qk_nope_head_dim + mla.qk_rope_head_dim
        if cfg.get("num_nextn_predict_layers"):
            notes.append("multi-token-prediction layers are not counted")
    sliding_window, interval = _attention_pattern(cfg, model_type)
    linear = _linear_attention(cfg, model_type, repo_id, heads, int(head_dim))
    if linear is not None:
        notes.append(
            f"hybrid: 1 full-attention layer every {linear.full_attention_interval}, the others "
            f"{linear.kind.replace('_', ' ')} linear attention with a fixed state per sequence"
        )
    plain = model_type in _PLAIN
    gpt_oss = model_type == "gpt_oss"
    tie_default = model_type in ("gemma2", "gemma3", "bloom", "mpt", "cohere2")
    bias = bool(cfg.get("attention_bias", model_type in ("qwen2", "bloom")))
    no_bias = bool(cfg.get("no_bias", model_type == "mpt"))
    alibi = model_type == "bloom" or bool((cfg.get("attn_config") or {}).get("alibi"))
    dtype = str(cfg.get("torch_dtype") or cfg.get("dtype") or "bfloat16")
    try:
        spec = ModelSpec(
            id=repo_id,
            name=name or repo_id.rsplit("/", 1)[-1],
            model_type=model_type or "unknown",
            num_layers=int(_get(cfg, "num_hidden_layers")),
            hidden_size=hidden,
            intermediate_size=intermediate,
            num_attention_heads=heads,
            num_kv_heads=kv_heads,
            head_dim=int(head_dim),
            vocab_size=int(_get(cfg, "vocab_size")),
            max_position_embeddings=int(_get(cfg, "max_position_embeddings", 2048)),
            tie_word_embeddings=bool(cfg.get("tie_word_embeddings", tie_default)),
            gated_mlp=not plain,
            attention_bias=bias and model_type != "falcon",
            attention_out_bias=gpt_oss
            or (model_type == "falcon" and bool(cfg.get("bias")))
            or model_type == "bloom",
            mlp_bias=model_type in ("gptj", "bloom") or bool(cfg.get("mlp_bias")),
            norm_bias=plain and not no_bias,
            norms_per_layer=_norms_per_layer(cfg, model_type),
            qk_norm=model_type in ("qwen3", "qwen3_moe", "gemma3", "qwen3_next", "qwen3_5", "qwen3_5_moe")
            or bool(cfg.get("use_qk_norm")),
            lm_head_bias=model_type == "gptj",
            attention_sinks=gpt_oss,
            sliding_window=sliding_window,
            full_attention_interval=interval,
            moe=_moe(cfg, model_type, intermediate),
            mla=mla,
            linear_attention=linear,
            attention_output_gate=model_type == "qwen3_next" or bool(cfg.get("attn_output_gate")),
            position_encoding="alibi" if alibi else "rope",
            embedding_norm=model_type == "bloom",
            default_dtype=_DTYPES.get(dtype, "bf16"),
            total_params_b=0.0,
            sources=(f"hf:{repo_id}",),
            notes="; ".join(notes),
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg']}" for e in exc.errors())
        raise CatalogError(f"config.json of {repo_id} does not describe a valid model: {problems}") from exc
    return _with_params(spec)


def _norms_per_layer(cfg: dict[str, Any], model_type: str) -> int:
    if model_type in ("gemma2", "gemma3"):
        return 4  # input, post-attention, pre- and post-feedforward
    if model_type == "gptj":
        return 1  # one LayerNorm feeds the parallel attention and MLP
    if model_type == "falcon" and not cfg.get("new_decoder_architecture"):
        return 1
    return 2


def _with_params(spec: ModelSpec) -> ModelSpec:
    """Fill total/active parameter counts from the architecture (imported models have no published figure)."""
    total = architecture.total_params(spec) / 1e9
    active = architecture.active_params(spec) / 1e9 if spec.moe else total
    return spec.model_copy(update={"total_params_b": round(total, 2), "active_params_b": round(active, 2)})


def _repo_id_for(config: dict[str, Any], path: Path, name: str | None) -> str:
    if name:  # what the person asked for wins: it must not silently replace a built-in model
        return name
    raw = str(config.get("_name_or_path") or "").strip()
    if re.fullmatch(r"[\w.-]+/[\w.-]+", raw):
        return raw
    return path.resolve().parent.name or "imported-model"


def import_model_file(path: Path, *, name: str | None = None) -> tuple[ModelSpec, Path]:
    """Read a ``config.json``, build its ModelSpec and save it as JSON in the user's models folder.

    The model id is ``name`` when given, else ``_name_or_path`` when it looks like a Hugging Face
    repo id, else the folder name. Returns the spec and the file it was saved to.
    """
    path = Path(path)
    try:
        text = read_text_limited(path, error=CatalogError, what="config.json", max_bytes=4 * 1024 * 1024)
    except CatalogError as exc:
        raise CatalogError(f"cannot read {path}: {exc.message}", fix=exc.fix) from None
    config = parse_json(
        text,
        source=str(path),
        error=CatalogError,
        fix="give the path of a model's config.json",
        on_syntax=lambda e: f"{path} is not valid JSON: {e.msg} (line {e.lineno}, column {e.colno})",
    )
    if not isinstance(config, dict):
        raise CatalogError(
            f"{path} does not hold a JSON object", fix="give the path of a model's config.json"
        )
    repo_id = _repo_id_for(config, path, name)
    try:
        spec = model_from_hf_config(config, repo_id=repo_id, name=name)
    except ValidationError as exc:  # a part built before the whole (e.g. the MLA fields) is out of range
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg']}" for e in exc.errors())
        raise CatalogError(f"{path} does not describe a valid model: {problems}") from None
    return spec, save_user_model(spec)


def save_user_model(spec: ModelSpec) -> Path:
    """Keep an imported model in the user's models folder; returns the file."""
    folder = paths.user_models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (re.sub(r"[^\w.-]+", "--", spec.id) + ".json")
    target.write_text(spec.model_dump_json(indent=2), encoding="utf-8")
    return target


def import_model_from_hub(
    repo_id: str, *, token: str | None = None, name: str | None = None
) -> tuple[ModelSpec, Path]:
    """Fetch ``repo_id``'s config.json from the Hugging Face Hub (see :mod:`gpuplanner.core.hf_fetch`),
    build its ModelSpec under that id and save it like :func:`import_model_file`."""
    from gpuplanner.core.hf_fetch import fetch_config

    config = fetch_config(repo_id, token=token)
    try:
        spec = model_from_hf_config(config, repo_id=name or repo_id, name=name)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg']}" for e in exc.errors())
        raise CatalogError(f"{repo_id} does not describe a valid model: {problems}") from None
    return spec, save_user_model(spec)
