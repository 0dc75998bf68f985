"""Shared fixtures of the PDF export tests: sample plans, a 20-GPU plan, exporting and reading back.

Reading a PDF back needs ``pdftotext`` / ``pdffonts`` / ``pdfimages`` from Debian's poppler-utils
(``./dev test`` installs it); tests that read text are skipped with that reason when it is missing.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from gpuplanner import paths
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.plan import GpuPlacement, Layout, Node, Plan, Replica, Rig, Stage
from gpuplanner.document.planfile import load_plan

POPPLER_MISSING = (
    "pdftotext is not installed: install Debian's poppler-utils (./dev test does) to read PDFs back"
)


def sample_plan_paths() -> list[Path]:
    """Every sample plan shipped in catalogs/examples (the lead adds them; at least one must exist)."""
    return sorted(paths.examples_dir().glob("*.gpuplan"))


def twenty_gpu_plan() -> Plan:
    """Five 4-GPU H100 PCIe servers over InfiniBand: TP 4 in each server, five pipeline stages of 16 layers."""
    nodes, stages = [], []
    for n in range(5):
        ids = [f"g{n}_{i}" for i in range(4)]
        placements = tuple(GpuPlacement(id=g, gpu="h100-pcie", slot=i) for i, g in enumerate(ids))
        nodes.append(
            Node(
                id=f"n{n}",
                name=f"Server {n + 1}",
                slots=4,
                gpus=placements,
                host_link="pcie5-x16-switch",
                x=n * 720.0,
            )
        )
        stages.append(Stage(layers=(n * 16, (n + 1) * 16), gpus=tuple(ids)))
    return Plan(
        name="Five PCIe servers · Llama 3.1 70B · TP 4 × PP 5",
        rig=Rig(nodes=tuple(nodes), fabric="ib-ndr"),
        model="meta-llama/Llama-3.1-70B-Instruct",
        layout=Layout(replicas=(Replica(stages=tuple(stages)),)),
    )


@pytest.fixture
def poppler() -> None:
    if shutil.which("pdftotext") is None:
        pytest.skip(POPPLER_MISSING)


@pytest.fixture
def export(qapp, tmp_path) -> Callable[..., Path]:
    """export(plan, name="plan.pdf", **options) -> the written PDF in this test's folder."""
    from gpuplanner.export.pdf import export_plan_pdf

    def run(plan: Plan, name: str = "plan.pdf", **options: object) -> Path:
        return export_plan_pdf(plan, tmp_path / name, **options)

    return run


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout


def squash(text: str) -> str:
    """Text without any whitespace: a figure wrapped onto two lines still matches."""
    return "".join(text.split())


@pytest.fixture(params=sample_plan_paths(), ids=lambda p: p.stem)
def sample(request) -> tuple[Plan, object]:
    plan = load_plan(request.param)
    return plan, evaluate(plan)
