"""Custom GPUs: validated like the catalog, kept in the user folder, marked user-defined, usable in plans."""

from __future__ import annotations

import pytest

from gpuplanner import paths
from gpuplanner.core.catalog import load_catalog
from gpuplanner.core.errors import CatalogError
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.quick import quick_plan
from gpuplanner.core.specs import GIB
from gpuplanner.core.user_gpus import add_user_gpu_file, remove_user_gpu

# Figures as a person would type them for a card the catalog lacks; the test checks that they are
# carried into the catalog and the plan unchanged, not that they are right.
CARD = """
id = "lab-card-48"
name = "Lab Card 48GB"
memory_gib_usable = 47.5
hbm_bandwidth_gbps = 960
bf16_tflops = 180
fp8_tflops = 360
tdp_w = 300
pcie_gen = 4
"""


@pytest.fixture
def user_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUPLANNER_USER_DIR", str(tmp_path / "user"))
    yield tmp_path / "user"


def test_added_gpu_is_saved_loaded_marked_and_usable(user_dir, tmp_path):
    src = tmp_path / "card.toml"
    src.write_text(CARD)
    _spec, saved = add_user_gpu_file(src, load_catalog(include_user_models=False))
    assert saved.parent == paths.user_gpus_dir() and saved.is_file()
    catalog = load_catalog()
    gpu = catalog.gpu("lab-card-48")
    assert catalog.is_user_gpu("lab-card-48") and not catalog.is_user_gpu("h100-sxm")
    assert gpu.name == "Lab Card 48GB (user-defined)"
    assert gpu.memory_gib_usable == 47.5 and gpu.hbm_bandwidth_gbps == 960 and gpu.fp16_tflops == 180
    assert catalog.sources["USER-GPU"].title.startswith("Figures entered by the user")
    plan = quick_plan(model="meta-llama/Llama-3.1-8B-Instruct", gpu="lab-card-48", catalog=catalog)
    report = evaluate(plan, catalog)
    assert report.gpus[0].capacity_bytes == int(47.5 * GIB)
    assert remove_user_gpu("lab-card-48") and "lab-card-48" not in load_catalog().gpus


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'id = "x1"\nname = "X"\nhbm_bandwidth_gbps = 100\nbf16_tflops = 10\n',
            "required field(s) missing: memory_gb",
        ),
        (CARD + 'memroy_type = "GDDR7"\n', "field 'memroy_type': unknown field"),
        (CARD.replace("960", "-5"), "field 'hbm_bandwidth_gbps'"),
        (CARD + 'native_link = "nvlink9"\n', "'nvlink9' is not a known link"),
        (CARD.replace('"lab-card-48"', '"h100-sxm"'), "is a built-in catalog GPU"),
        ("id = [", "TOML syntax error"),
        (CARD + 'aliases = ["RTX 4090"]\n', "alias 'RTX 4090' is already a name of the catalog's 'rtx-4090'"),
    ],
)
def test_bad_custom_gpu_names_the_field(user_dir, tmp_path, text, message):
    src = tmp_path / "bad.toml"
    src.write_text(text)
    with pytest.raises(CatalogError, match=r"bad\.toml") as err:
        add_user_gpu_file(src, load_catalog(include_user_models=False))
    assert message in str(err.value)
    assert not paths.user_gpus_dir().exists() or not list(paths.user_gpus_dir().iterdir())


def test_a_broken_saved_gpu_is_skipped_with_a_warning(user_dir):
    paths.user_gpus_dir().mkdir(parents=True)
    (paths.user_gpus_dir() / "broken.json").write_text('{"id": "broken"}')
    catalog = load_catalog()
    assert "broken" not in catalog.gpus
    assert any("skipped custom GPU" in w for w in catalog.warnings)


def test_short_names_in_the_window_and_the_pdf_keep_the_user_defined_mark(user_dir, tmp_path):
    pytest.importorskip("PySide6")
    from gpuplanner.drawing.labels import short_gpu_name
    from gpuplanner.export.content import short_gpu_name as pdf_short_name

    src = tmp_path / "card.toml"
    src.write_text(CARD)
    add_user_gpu_file(src, load_catalog(include_user_models=False))
    catalog = load_catalog()
    spec = catalog.gpu("lab-card-48")
    assert short_gpu_name(spec) == "Lab Card 48GB (user-defined)"
    assert pdf_short_name(spec.name) == "Lab Card 48GB (user-defined)"
    assert short_gpu_name(catalog.gpu("h100-sxm")) == "H100 SXM5 80GB"  # catalog GPUs unchanged
    assert pdf_short_name(catalog.gpu("b200").name) == "B200"
