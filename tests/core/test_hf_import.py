"""Importing Hugging Face config.json files.

The fixtures in tests/data/hf_configs/ carry the fields of the public config.json files of
meta-llama/Llama-3.1-8B-Instruct, mistralai/Mixtral-8x7B-Instruct-v0.1, deepseek-ai/DeepSeek-V3 and
google/gemma-3-27b-it (Gemma 3 nests them under text_config), as recorded in
../shared/reference/models.csv from verbatim copies in ai-dynamo/aiconfigurator (model_configs/*_config.json),
Lightning-AI/litgpt (litgpt/config.py) and a public pytest fixture of the Gemma 3 config.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpuplanner.core.catalog import load_catalog
from gpuplanner.core.errors import CatalogError
from gpuplanner.core.hf_import import import_model_file, model_from_hf_config

DATA = Path(__file__).resolve().parents[1] / "data" / "hf_configs"
FIXTURES = {
    "meta-llama--Llama-3.1-8B-Instruct.json": "meta-llama/Llama-3.1-8B-Instruct",
    "mistralai--Mixtral-8x7B-Instruct-v0.1.json": "mistralai/Mixtral-8x7B-Instruct-v0.1",
    "deepseek-ai--DeepSeek-V3.json": "deepseek-ai/DeepSeek-V3",
    "google--gemma-3-27b-it.json": "google/gemma-3-27b-it",
}
# descriptive fields that differ between an import and the curated entry
NOT_ARCHITECTURE = {"name", "aliases", "total_params_b", "active_params_b", "sources", "notes"}


def _config(filename: str) -> dict:
    return json.loads((DATA / filename).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(include_user_models=False)


@pytest.mark.parametrize(("filename", "repo"), FIXTURES.items())
def test_real_configs_give_the_built_in_architecture(catalog, filename, repo):
    imported = model_from_hf_config(_config(filename), repo_id=repo)
    built_in = catalog.model(repo)
    assert imported.model_dump(exclude=NOT_ARCHITECTURE) == built_in.model_dump(exclude=NOT_ARCHITECTURE)
    assert imported.total_params_b == pytest.approx(built_in.total_params_b, rel=0.02)


def test_gemma3_reads_text_config_and_its_attention_pattern():
    spec = model_from_hf_config(_config("google--gemma-3-27b-it.json"), repo_id="google/gemma-3-27b-it")
    assert (spec.num_layers, spec.hidden_size, spec.vocab_size) == (62, 5376, 262208)
    assert (spec.sliding_window, spec.full_attention_interval) == (1024, 6)
    assert spec.tie_word_embeddings and spec.qk_norm and spec.norms_per_layer == 4
    assert [spec.is_sliding_layer(i) for i in range(6)] == [True] * 5 + [False]


def test_deepseek_mla_and_experts():
    spec = model_from_hf_config(_config("deepseek-ai--DeepSeek-V3.json"), repo_id="deepseek-ai/DeepSeek-V3")
    assert spec.mla is not None and spec.moe is not None
    assert spec.head_dim == 192 and spec.num_kv_heads == 128
    assert (spec.moe.first_dense_layers, spec.moe.shared_experts, spec.moe.shared_intermediate_size) == (
        3,
        1,
        2048,
    )
    assert spec.moe.dense_intermediate_size == 18432
    # 671.03 B main-model parameters (../shared/reference/models.csv, DeepSeek-V3 row)
    assert spec.total_params_b == pytest.approx(671.03, abs=0.01)


def test_a_config_missing_num_hidden_layers_names_that_field():
    config = _config("meta-llama--Llama-3.1-8B-Instruct.json")
    del config["num_hidden_layers"]
    with pytest.raises(CatalogError) as err:
        model_from_hf_config(config, repo_id="me/broken")
    text = str(err.value)
    assert "num_hidden_layers" in text and "model_type 'llama'" in text
    assert "hidden_size" not in text


def test_an_unsupported_type_without_the_basics_lists_exactly_what_is_missing():
    t5 = {
        "model_type": "t5",
        "d_model": 512,
        "num_layers": 6,
        "num_heads": 8,
        "d_ff": 2048,
        "vocab_size": 32128,
    }
    with pytest.raises(CatalogError) as err:
        model_from_hf_config(t5, repo_id="google-t5/t5-small")
    assert "model_type 't5'" in str(err.value)
    assert "lacks required field(s): num_attention_heads, intermediate_size" in str(err.value)


def test_an_unknown_llama_like_type_imports_with_a_note():
    config = _config("meta-llama--Llama-3.1-8B-Instruct.json") | {"model_type": "granite"}
    spec = model_from_hf_config(config, repo_id="ibm/granite-like")
    assert spec.num_layers == 32 and "not one gpuplanner knows" in spec.notes


def test_import_model_file_saves_into_the_user_models_folder(isolated_user_dir):
    spec, saved = import_model_file(DATA / "mistralai--Mixtral-8x7B-Instruct-v0.1.json")
    assert spec.id == "mistralai/Mixtral-8x7B-Instruct-v0.1"
    assert saved.parent == isolated_user_dir / "models" and saved.is_file()
    assert spec.moe is not None and spec.moe.num_experts == 8
    assert spec.total_params_b == pytest.approx(46.7, abs=0.05)  # reference models.csv, Mixtral 8x7B row
    assert load_catalog().model(spec.id).model_dump() == spec.model_dump()


def test_repo_id_from_the_folder_or_name_when_config_has_none(tmp_path):
    folder = tmp_path / "my-llama"
    folder.mkdir()
    config = _config("meta-llama--Llama-3.1-8B-Instruct.json")
    del config["_name_or_path"]
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    assert import_model_file(folder / "config.json")[0].id == "my-llama"
    spec, _ = import_model_file(folder / "config.json", name="team/llama-ft")
    assert spec.id == "team/llama-ft"


def test_unreadable_or_invalid_json_names_the_file(tmp_path):
    broken = tmp_path / "config.json"
    broken.write_text('{"model_type": "llama",', encoding="utf-8")
    with pytest.raises(CatalogError, match=r"config\.json is not valid JSON.*line 1"):
        import_model_file(broken)
    with pytest.raises(CatalogError, match=r"cannot read .*missing\.json"):
        import_model_file(tmp_path / "missing.json")
    listing = tmp_path / "list.json"
    listing.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(CatalogError, match="does not hold a JSON object"):
        import_model_file(listing)
