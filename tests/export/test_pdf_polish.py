"""PDF details from issue 14: the text layer holds what the page shows (no hidden "slot N" under cards,
stages counted from 1), ranges low to high, keys broken at their hyphens, no one-word last line."""

from __future__ import annotations

import re

import pytest

from export.conftest import pdf_text
from gpuplanner.document.planfile import load_plan
from gpuplanner.paths import examples_dir


@pytest.mark.usefixtures("poppler")
def test_two_server_pdf_text_layer_and_ranges(export):
    plan = load_plan(examples_dir() / "2x-dgx-h100-llama-3.1-405b-tp8-pp2.gpuplan")
    text = pdf_text(export(plan))
    # every slot holds a card: no empty-slot labels hidden under them ("slot N" under a card's drawing)
    assert not re.search(r"\bslot \d", text)
    assert "g0_0 · stage 1 · TP 1/8" in text and "g1_0 · stage 2 · TP 1/8" in text
    assert "stage 0" not in text.lower()
    for low, high in re.findall(r"range ([\d.,]+) ms – ([\d.,]+) ms", text):
        assert float(low.replace(",", "")) <= float(high.replace(",", ""))
    assert "bf16 / bf16" not in text  # the formats' names, then what they cost, not the ids twice


def test_wrap_breaks_keys_at_hyphens_and_keeps_no_lone_short_word(qapp, tmp_path):
    from PySide6.QtGui import QPdfWriter

    from gpuplanner.export.theme import Ink

    writer = QPdfWriter(str(tmp_path / "measure.pdf"))
    writer.setResolution(300)
    ink = Ink(writer, 300.0)
    width = ink.width("VLLM-QUANT") * 0.8
    assert ink.wrap("VLLM-QUANTIZATION", width)[0].endswith("-")
    title = "2× DGX H100 · Llama 3.1 405B · TP 8 × PP 2"
    for w in (ink.width(title) * f for f in (0.6, 0.8, 0.95)):
        lines = ink.wrap(title, w)
        assert len(lines[-1]) > 3 or len(lines) == 1, lines


@pytest.mark.usefixtures("poppler")
def test_two_server_overview_is_readable_without_close_ups(export):
    """Two DGX side by side print their 9-point labels under 6 points; stacked, they read at full size,
    so the rig page needs no per-server close-ups (each server's name is then a heading no more)."""
    plan = load_plan(examples_dir() / "2x-dgx-h100-llama-3.1-405b-tp8-pp2.gpuplan")
    pages = pdf_text(export(plan)).split("\f")
    rig_page = next(p for p in pages if "The rig" in p and "Interconnects" in p)
    assert rig_page.count("g0_0 · stage 1") == 1  # one drawing of server 1, not an overview plus a close-up


@pytest.mark.usefixtures("poppler")
def test_no_page_holds_only_a_sentence(export):
    """A plan with no problems: 'Problems and fixes' follows the layer map on its page."""
    plan = load_plan(examples_dir() / "dgx-h100-llama-3.1-70b-tp8.gpuplan")
    pages = pdf_text(export(plan)).split("\f")[:-1]
    for number, page in enumerate(pages, start=1):
        body = [line for line in page.splitlines()[1:-1] if line.strip()]  # less header and footer
        assert len(body) > 3, f"page {number} holds only: {body}"


def test_step_note_says_why_tpot_exceeds_the_step():
    from gpuplanner.core.evaluate import evaluate
    from gpuplanner.export.pages import step_note

    perf = evaluate(load_plan(examples_dir() / "2x-dgx-h100-llama-3.1-405b-tp8-pp2.gpuplan")).performance
    longest = max(s.compute_s + s.memory_s + s.communication_s + s.waiting_s for s in perf.step_split)
    note = step_note(perf)
    assert ("prefilled between decode steps" in note) == (perf.tpot_s > 1.05 * longest)
    assert "scheduling" in note


@pytest.mark.usefixtures("poppler")
def test_summary_tiles_keep_a_gpu_name_on_one_line(export):
    import subprocess

    plan = load_plan(examples_dir() / "2x-dgx-h100-llama-3.1-405b-tp8-pp2.gpuplan")
    path = export(plan)
    text = subprocess.run(
        # page 2: the summary tiles follow the decision page
        ["pdftotext", "-layout", "-f", "2", "-l", "2", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "16 × H100 SXM5 80GB" in text  # one line, not "16 × H100 SXM5" above "80GB"
