"""Sample plans the panel's modules show when run alone, and that screenshots and the benchmark use.

Models come from the catalog when it has them; otherwise the plan embeds the architecture, written
from the model's public Hugging Face ``config.json`` (meta-llama/Llama-3.1-8B and -70B).

``show_alone`` is what ``python -m gpuplanner.gui.panel.memory [sample] [--screenshot PNG]`` runs: an
optional sample name (``hgx``, ``mixed``, ``over``, ``big``) and ``--screenshot`` to save a picture and
quit instead of opening a window (works with ``QT_QPA_PLATFORM=offscreen``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from PySide6.QtWidgets import QApplication, QWidget

from gpuplanner.core.catalog import default_catalog
from gpuplanner.core.errors import CatalogError, PlannerError
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.layout_ops import default_layout
from gpuplanner.core.plan import GpuPlacement, Layout, Node, Plan, Replica, Rig, Stage, Workload
from gpuplanner.core.specs import ModelSpec

# config.json: num_hidden_layers, hidden_size, intermediate_size, num_attention_heads,
# num_key_value_heads, vocab_size, max_position_embeddings, tie_word_embeddings=false.
LLAMA_8B = ModelSpec(
    id="meta-llama/Llama-3.1-8B-Instruct", name="Llama 3.1 8B", model_type="llama", num_layers=32,
    hidden_size=4096, intermediate_size=14336, num_attention_heads=32, num_kv_heads=8, head_dim=128,
    vocab_size=128256, max_position_embeddings=131072, total_params_b=8.03, sources=("hf-config",),
)  # fmt: skip
LLAMA_70B = ModelSpec(
    id="meta-llama/Llama-3.1-70B-Instruct", name="Llama 3.1 70B", model_type="llama", num_layers=80,
    hidden_size=8192, intermediate_size=28672, num_attention_heads=64, num_kv_heads=8, head_dim=128,
    vocab_size=128256, max_position_embeddings=131072, total_params_b=70.55, sources=("hf-config",),
)  # fmt: skip


def _model_fields(spec: ModelSpec) -> dict[str, object]:
    """``model=`` (and ``model_spec=`` when the catalog lacks the model) for a Plan."""
    try:
        return {"model": default_catalog().model(spec.id).id}
    except CatalogError:
        return {"model": spec.id, "model_spec": spec}


def _node(index: int, gpu: str, count: int, *, nvswitch: str | None = None, first_id: int = 0) -> Node:
    gpus = tuple(GpuPlacement(id=f"g{first_id + i}", gpu=gpu, slot=i) for i in range(count))
    return Node(
        id=f"n{index}", name=f"Server {index + 1}", slots=max(count, 4), gpus=gpus, nvswitch=nvswitch,
        x=index * 620.0, nics=max(1, count),
    )  # fmt: skip


def hgx_plan(nodes: int = 2, tp: int = 4, pp: int = 2, concurrency: int = 32) -> Plan:
    """Llama 3.1 70B on ``nodes`` NVSwitch servers of H100 SXM, TP × PP filling every GPU."""
    per_node = tp * pp // nodes
    rig = Rig(
        nodes=tuple(
            _node(n, "h100-sxm", per_node, nvswitch="nvswitch-nvlink4", first_id=n * per_node)
            for n in range(nodes)
        ),
        fabric="ib-ndr" if nodes > 1 else None,
    )
    return Plan(
        name=f"Llama 3.1 70B on {nodes * per_node}× H100 SXM (TP {tp} × PP {pp})",
        rig=rig,
        layout=default_layout(rig, LLAMA_70B.num_layers, tp, pp),
        workload=Workload(concurrency=concurrency, input_tokens=2048, output_tokens=512),
        **_model_fields(LLAMA_70B),  # type: ignore[arg-type]
    )


def mixed_plan() -> Plan:
    """Llama 3.1 8B split evenly over a 24 GB RTX 4090 and an 80 GB A100: memory strands."""
    rig = Rig(nodes=(Node(id="n0", name="Workstation", slots=4, gpus=(
        GpuPlacement(id="g0", gpu="rtx-4090", slot=0), GpuPlacement(id="g1", gpu="a100-80gb-pcie", slot=1),
    )),))  # fmt: skip
    layout = Layout(
        replicas=(
            Replica(stages=(Stage(layers=(0, 16), gpus=("g0",)), Stage(layers=(16, 32), gpus=("g1",)))),
        )
    )
    return Plan(
        name="Llama 3.1 8B on an RTX 4090 + A100 80GB (PP 2)",
        rig=rig,
        layout=layout,
        workload=Workload(concurrency=16, input_tokens=4096, output_tokens=512),
        **_model_fields(LLAMA_8B),  # type: ignore[arg-type]
    )


def over_budget_plan() -> Plan:
    """Llama 3.1 70B in BF16 on two H100 PCIe with 60 of 80 layers on the first: it does not fit."""
    rig = Rig(nodes=(_node(0, "h100-pcie", 2),))
    layout = Layout(
        replicas=(
            Replica(stages=(Stage(layers=(0, 60), gpus=("g0",)), Stage(layers=(60, 80), gpus=("g1",)))),
        )
    )
    return Plan(
        name="Llama 3.1 70B on 2× H100 PCIe, uneven split",
        rig=rig,
        layout=layout,
        workload=Workload(concurrency=8, input_tokens=2048, output_tokens=512),
        **_model_fields(LLAMA_70B),  # type: ignore[arg-type]
    )


def big_plan() -> Plan:
    """64 GPUs: Llama 3.1 70B with TP 8 × PP 8 over eight HGX H100 servers (the benchmark's plan)."""
    return hgx_plan(nodes=8, tp=8, pp=8, concurrency=128)


SAMPLES = {"hgx": hgx_plan, "mixed": mixed_plan, "over": over_budget_plan, "big": big_plan}


def sample_plan(name: str = "hgx") -> Plan:
    return SAMPLES[name]()


def show_alone(
    factory: Callable[[], QWidget], argv: list[str] | None = None, size: tuple[int, int] = (720, 360)
) -> int:
    """Build the widget, give it the sample plan's report, then show it or save a screenshot."""
    parser = argparse.ArgumentParser(description="Show one panel chart with a sample plan.")
    parser.add_argument("sample", nargs="?", default="hgx", choices=sorted(SAMPLES))
    parser.add_argument("--screenshot", metavar="PNG", help="save a picture and quit")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    widget = factory()
    plan = sample_plan(args.sample)
    try:
        report = evaluate(plan)
    except PlannerError as exc:
        print(f"cannot evaluate the sample plan: {exc}", file=sys.stderr)
        return 1
    if hasattr(widget, "set_plan"):
        widget.set_plan(plan)
    if hasattr(widget, "set_report"):
        widget.set_report(report)
    widget.resize(*size)
    widget.setWindowTitle(f"{type(widget).__name__}: {plan.name}")
    widget.show()
    if args.screenshot:
        app.processEvents()
        widget.grab().save(args.screenshot)
        print(args.screenshot)
        return 0
    return app.exec()
