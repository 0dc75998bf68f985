"""The validated-catalog cache (core.catalog_cache): the same catalog as reading the TOML files, and
rebuilt whenever a file, the version or the cache file itself is not what it was."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import pytest

from gpuplanner import paths
from gpuplanner.core import catalog as catalog_module
from gpuplanner.core import catalog_cache
from gpuplanner.core.catalog import load_catalog
from gpuplanner.core.errors import CatalogError


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the built-in catalogs that a test may edit."""
    copy = tmp_path / "catalogs"
    shutil.copytree(paths.catalogs_dir(), copy, ignore=shutil.ignore_patterns("examples"))
    return copy


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Each time the tables are read from the TOML files (a cache miss), the folder read."""
    read = catalog_module._read_tables
    seen: list[Path] = []

    def counting(directory: Path):
        seen.append(directory)
        return read(directory)

    monkeypatch.setattr(catalog_module, "_read_tables", counting)
    return seen


def tables(catalog) -> dict:
    return {
        kind: dict(getattr(catalog, kind))
        for kind in ("gpus", "links", "models", "precisions", "engines", "nodes", "sources")
    }


def test_second_load_comes_from_the_cache_and_equals_the_files(folder: Path, builds: list[Path]) -> None:
    first = load_catalog(folder, include_user_models=False)
    assert builds == [folder]
    assert catalog_cache.cache_file(folder).is_file()
    second = load_catalog(folder, include_user_models=False)
    assert builds == [folder], "nothing changed: the second load must not read the TOML files"
    assert tables(second) == tables(first)
    # the B200's bandwidth as NVIDIA's datasheet gives it (8 TB/s), also through the cache
    assert second.gpu("b200").hbm_bandwidth_gbps == 8000


def test_an_edited_file_is_read_again(folder: Path, builds: list[Path]) -> None:
    load_catalog(folder, include_user_models=False)
    gpus = folder / "gpus.toml"
    text = gpus.read_text(encoding="utf-8")
    edited = text.replace(
        'name = "NVIDIA B200 (HGX/DGX, SXM)"', 'name = "NVIDIA B200 (HGX/DGX, SXM) edited"', 1
    )
    assert edited != text
    gpus.write_text(edited, encoding="utf-8")
    assert load_catalog(folder, include_user_models=False).gpu("b200").name.endswith("edited")
    assert len(builds) == 2


def test_an_edit_of_the_same_size_is_read_again(folder: Path, builds: list[Path]) -> None:
    load_catalog(folder, include_user_models=False)
    gpus = folder / "gpus.toml"
    before = gpus.stat()
    text = gpus.read_text(encoding="utf-8")
    edited = text.replace("hbm_bandwidth_gbps = 8000", "hbm_bandwidth_gbps = 7000", 1)
    assert len(edited) == len(text) and edited != text
    gpus.write_text(edited, encoding="utf-8")
    os.utime(gpus, ns=(before.st_atime_ns, before.st_mtime_ns))  # a coarse clock: the same time
    assert load_catalog(folder, include_user_models=False).gpu("b200").hbm_bandwidth_gbps == 7000
    assert len(builds) == 2


def test_a_file_touched_but_unchanged_keeps_the_cache(folder: Path, builds: list[Path]) -> None:
    load_catalog(folder, include_user_models=False)
    os.utime(folder / "models.toml")  # saved again as it was
    load_catalog(folder, include_user_models=False)
    assert len(builds) == 1


def test_a_file_broken_after_caching_is_still_an_error(folder: Path) -> None:
    load_catalog(folder, include_user_models=False)
    (folder / "links.toml").write_text("[[link]]\nid = 'x'\nbogus = 1\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"links\.toml"):
        load_catalog(folder, include_user_models=False)
    (folder / "links.toml").unlink()
    with pytest.raises(CatalogError, match="missing"):
        load_catalog(folder, include_user_models=False)


@pytest.mark.parametrize(
    "damage",
    [b"", b"not a pickle at all", b"\x80\x05garbage", "truncated"],
    ids=["empty", "text", "bad-opcodes", "truncated"],
)
def test_a_corrupt_cache_is_rebuilt(folder: Path, builds: list[Path], damage: object) -> None:
    fresh = load_catalog(folder, include_user_models=False)
    cache = catalog_cache.cache_file(folder)
    whole = cache.read_bytes()
    cache.write_bytes(whole[: len(whole) // 2] if damage == "truncated" else damage)  # type: ignore[arg-type]
    again = load_catalog(folder, include_user_models=False)
    assert tables(again) == tables(fresh)
    assert len(builds) == 2
    key, cached = pickle.loads(cache.read_bytes())  # rewritten whole
    assert key == catalog_cache.cache_key(folder, [f for f, *_ in catalog_module._FILES.values()])
    assert set(cached) == set(catalog_module._FILES)


def test_a_cache_of_another_version_is_rebuilt(folder: Path, builds: list[Path], monkeypatch) -> None:
    load_catalog(folder, include_user_models=False)
    monkeypatch.setattr(catalog_cache, "__version__", "999.0")
    load_catalog(folder, include_user_models=False)
    assert len(builds) == 2


def test_a_cache_holding_something_else_is_rebuilt(folder: Path, builds: list[Path]) -> None:
    load_catalog(folder, include_user_models=False)
    cache = catalog_cache.cache_file(folder)
    key, _ = pickle.loads(cache.read_bytes())
    cache.write_bytes(pickle.dumps((key, ["not", "tables"])))
    assert load_catalog(folder, include_user_models=False).gpu("b200").hbm_bandwidth_gbps == 8000
    assert len(builds) == 2


def test_an_unwritable_cache_folder_only_means_no_cache(folder: Path, builds: list[Path]) -> None:
    paths.user_cache_dir().parent.mkdir(parents=True, exist_ok=True)
    paths.user_cache_dir().write_text("a file where the cache folder goes", encoding="utf-8")
    for _ in range(2):
        assert load_catalog(folder, include_user_models=False).gpu("b200").hbm_bandwidth_gbps == 8000
    assert len(builds) == 2


def test_the_built_in_catalogs_have_one_cache_file_wherever_they_are(
    tmp_path: Path, monkeypatch, builds: list[Path]
) -> None:
    """A one-file frozen app unpacks its catalogs to a new temporary folder on every start: the
    cache is still found, and no new file is left behind each time."""
    for start in range(3):
        unpacked = tmp_path / f"_MEI{start}" / "catalogs"
        shutil.copytree(paths.catalogs_dir(), unpacked, ignore=shutil.ignore_patterns("examples"))
        monkeypatch.setattr(paths, "catalogs_dir", lambda unpacked=unpacked: unpacked)
        load_catalog(include_user_models=False)
        assert [p.name for p in paths.user_cache_dir().iterdir()] == ["catalog.pickle"]
    assert len(builds) == 1  # read from the TOML files on the first start only


def test_user_models_are_read_on_every_load(folder: Path) -> None:
    load_catalog(folder)  # cached, without any imported model
    models = paths.user_models_dir()
    models.mkdir(parents=True)
    spec = load_catalog(folder).model("meta-llama/Llama-3.1-8B-Instruct")
    imported = spec.model_copy(update={"id": "someone/my-model", "aliases": ()})
    (models / "my-model.json").write_text(imported.model_dump_json(), encoding="utf-8")
    assert load_catalog(folder).model("someone/my-model").num_layers == spec.num_layers
