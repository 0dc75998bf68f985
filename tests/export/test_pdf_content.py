"""The PDF says what the JSON report says: model, every GPU, the verdict and the key figures, formatted
as the report pages print them (GiB with two decimals, TTFT in whole ms, TPOT to 0.1 ms ...)."""

from __future__ import annotations

import re
import subprocess

import pytest

from export.conftest import pdf_text, sample_plan_paths, squash, twenty_gpu_plan
from gpuplanner.core.evaluate import evaluate
from gpuplanner.document.planfile import load_plan

GIB = 2**30


def test_there_is_at_least_one_sample_plan():
    assert sample_plan_paths(), "catalogs/examples/ holds no .gpuplan file to export"


def expected_figures(report_json: dict) -> list[str]:
    """The figures of the public JSON report, written the way the PDF writes them."""
    kv = report_json["kv_cache"]
    out = [f"{kv['capacity_tokens']:,} tokens", f"{kv['max_concurrency']:,} requests"]
    for g in report_json["gpus"]:
        memory = g["memory_bytes"]
        out += [f"{g['capacity_bytes'] / GIB:,.2f}", f"{memory['weights'] / GIB:,.2f}"]
        out += [f"{memory['kv_cache'] / GIB:,.2f}", f"{memory['free'] / GIB:,.2f}"]
    perf = report_json["performance"]
    if perf is not None:
        out += [
            f"{perf['ttft_s'] * 1000:,.0f} ms",
            f"{perf['tpot_s'] * 1000:,.1f} ms",
            f"{perf['tokens_per_s_per_user']:,.1f} tokens/s",
            f"{perf['output_tokens_per_s']:,.0f} tokens/s",
        ]
    return out


def has_word(text: str, word: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w])", text) is not None


@pytest.mark.usefixtures("poppler")
def test_sample_plan_pdf_states_the_reports_figures(sample, export):
    plan, report = sample
    text = pdf_text(export(plan, report=report))
    flat = squash(text)
    data = report.to_json_dict()
    assert squash(data["model_name"]) in flat
    assert squash(data["model"]) in flat
    assert squash(data["verdict"]) in flat
    assert ("DOES NOT FIT" if not data["fits"] else "FITS") in text
    for gpu_id in plan.rig.gpu_ids():
        assert has_word(text, gpu_id), gpu_id
    for figure in expected_figures(data):
        assert squash(figure) in flat, figure
    for problem in data["problems"]:
        assert squash(problem["message"]) in flat


@pytest.mark.usefixtures("poppler")
def test_every_page_has_the_plan_name_and_its_number(sample, export):
    plan, report = sample
    pdf = export(plan, report=report)
    pages = pdf_text(pdf).split("\f")[:-1]
    assert len(pages) >= 7  # summary, rig, memory, performance, layer map, problems, sources
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page
        assert squash(plan.name)[:20] in squash(page)


@pytest.mark.usefixtures("poppler")
def test_sources_of_every_catalog_figure_are_listed(sample, export):
    from gpuplanner.core.catalog import default_catalog

    plan, report = sample
    flat = squash(pdf_text(export(plan, report=report)))
    catalog = default_catalog()
    keys = [*catalog.model(plan.model).sources, *catalog.engine(plan.engine.engine).sources]
    for _, placement in plan.rig.iter_gpus():
        keys += catalog.gpu(placement.gpu).sources
    for key in keys:
        assert squash(catalog.sources[key].title) in flat, key


@pytest.mark.usefixtures("poppler")
def test_a_report_without_performance_says_so(export, sample):
    plan, report = sample
    text = pdf_text(export(plan, report=report.model_copy(update={"performance": None})))
    assert "Speed is not estimated" in text


@pytest.mark.usefixtures("poppler")
def test_twenty_gpus_stay_readable(export):
    plan = twenty_gpu_plan()
    report = evaluate(plan)
    pdf = export(plan, report=report)
    layout = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    heights: dict[str, float] = {}
    for y_min, y_max, word in re.findall(
        r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">([^<]+)</word>', layout
    ):
        heights[word] = max(heights.get(word, 0.0), float(y_max) - float(y_min))
    for gpu_id in plan.rig.gpu_ids():
        assert heights.get(gpu_id, 0) >= 7.5, f"{gpu_id} is printed no larger than {heights.get(gpu_id)} pt"
    text = pdf_text(pdf)
    for server in range(1, 6):  # a drawing of each server, large enough to read, under its name
        assert f"Server {server}" in text
    assert text.count("H100 PCIe") >= 20


@pytest.mark.usefixtures("poppler")
def test_text_is_embedded_and_the_drawings_are_vectors(export, sample):
    plan, report = sample
    pdf = export(plan, report=report)
    fonts = subprocess.run(
        ["pdffonts", str(pdf)], check=True, capture_output=True, text=True
    ).stdout.splitlines()[2:]
    assert fonts, "no fonts: the text would not be selectable"
    assert all(line.split()[-5] == "yes" for line in fonts), fonts  # the 'emb' column
    images = subprocess.run(
        ["pdfimages", "-list", str(pdf)], check=True, capture_output=True, text=True
    ).stdout
    assert len(images.splitlines()) == 2, f"charts and rig must be vectors, found images:\n{images}"


@pytest.mark.usefixtures("poppler")
@pytest.mark.parametrize(
    ("page_size", "named"), [("a4", "595 x 842 pts (A4)"), ("letter", "612 x 792 pts (letter)")]
)
def test_page_sizes(export, page_size, named):
    plan = load_plan(sample_plan_paths()[0])
    pdf = export(plan, page_size=page_size)
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    assert named in info
