"""The host in the PDF: a plan that keeps layers in system RAM says so on the summary and memory pages,
with the figures of the JSON report's ``host`` block and the platform's source."""

from __future__ import annotations

import shutil

import pytest

from export.conftest import POPPLER_MISSING, pdf_text, squash
from gpuplanner import paths
from gpuplanner.core.evaluate import evaluate
from gpuplanner.document.planfile import load_plan

GIB = 2**30
EXAMPLE = "desktop-rtx4090-llama-3.3-70b-q4-host-offload.gpuplan"


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason=POPPLER_MISSING)
def test_pdf_shows_the_host_block(export):
    plan = load_plan(paths.examples_dir() / EXAMPLE)
    host = evaluate(plan).to_json_dict()["host"]
    assert host is not None and host["offloaded_layers"] == list(range(40))
    text = pdf_text(export(plan))
    flat = squash(text)
    assert "System RAM (the host)" in text and "SYSTEM RAM" in text
    assert squash("AMD AM5 desktop (Ryzen 7000/9000), dual-channel DDR5-5200") in flat
    assert squash("layers 0 – 39") in flat
    # the JSON's figures, the way the PDF writes them (GiB with two decimals, TPOT to 0.1 ms)
    assert squash(f"{host['memory_bytes'] / GIB:,.2f} GiB") in flat
    assert squash(f"TPOT {host['tpot_s'] * 1000:,.1f} ms") in flat
    # the summary's speed figures are the whole rig's, host included (2.6 tokens/s, not the GPUs' 36)
    summary = text.split("Page 1 of")[0]
    assert squash(f"{host['tpot_s'] * 1000:,.1f} ms") in squash(summary)
    assert squash(f"{host['tokens_per_s_per_user']:,.1f} tokens/s") in squash(summary)
    # the memory chart's host bar: what the RAM holds against the 64 GiB installed
    assert squash(f"{host['memory_bytes'] / GIB:,.1f} of 64 GiB RAM") in flat
    # HOST-AM5 is the platform's source: the sources page lists it
    assert "HOST-AM5" in text


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason=POPPLER_MISSING)
def test_a_plan_without_offload_has_no_host_section(export):
    plan = load_plan(paths.examples_dir() / "2x-rtx4090-llama-3.3-70b-awq.gpuplan")
    text = pdf_text(export(plan))
    assert "System RAM (the host)" not in text and "SYSTEM RAM" not in text
