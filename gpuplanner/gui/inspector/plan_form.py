"""The inspector's plan section: model, precisions, engine and its settings, workload, quick layout."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from gpuplanner.core.architecture import total_params
from gpuplanner.core.calibration import calibration
from gpuplanner.core.errors import PlanError
from gpuplanner.core.host import HOST_ENGINES
from gpuplanner.core.layout_ops import default_layout
from gpuplanner.core.limits import MAX_CONCURRENCY, MAX_GPUS, MAX_LAYERS, MAX_TOKENS
from gpuplanner.core.verdict import plural
from gpuplanner.gui import commands as cmd
from gpuplanner.gui.inspector.widgets import DEFAULT_TEXT, blocked, error_label, fill_combo, hint, show_error

if TYPE_CHECKING:
    from gpuplanner.gui.editor import Editor
    from gpuplanner.gui.inspector.widgets import Sections


def _spin(name: str, low: int, high: int, tip: str, special: str | None = None) -> QSpinBox:
    spin = QSpinBox()
    spin.setObjectName(name)
    spin.setRange(low, high)
    spin.setToolTip(tip)
    spin.setKeyboardTracking(False)
    spin.setGroupSeparatorShown(True)
    if special:
        spin.setSpecialValueText(special)
    return spin


class PlanSection(QGroupBox):
    def __init__(self, inspector: Sections) -> None:
        super().__init__("Plan")
        self.setObjectName("planSection")
        self.inspector = inspector
        form = QFormLayout(self)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.name = QLineEdit()
        self.name.setObjectName("planNameEdit")
        self.model = QComboBox()
        self.model.setObjectName("modelCombo")
        self.model.setToolTip(
            "The model to serve (architecture from its Hugging Face config). Type to search by name or size."
        )
        # searchable: typing filters the list (any part of the name, any case); Enter or a click picks
        self.model.setEditable(True)
        self.model.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.model.lineEdit().setPlaceholderText("Search models…")
        finder = self.model.completer()
        finder.setFilterMode(Qt.MatchFlag.MatchContains)
        finder.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        finder.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self._model_names: dict[str, str] = {}  # model id -> "name · 70.6 B", computed once per model
        self.weights = QComboBox()
        self.weights.setObjectName("weightsCombo")
        self.weights.setToolTip("How the weights are stored (bits per weight, scales included)")
        self.kv_cache = QComboBox()
        self.kv_cache.setObjectName("kvCacheCombo")
        self.kv_cache.setToolTip("How the KV cache is stored")
        self.engine = QComboBox()
        self.engine.setObjectName("engineCombo")
        self.engine.setToolTip("The inference engine; its memory rules decide what fits")
        self.utilization = QDoubleSpinBox()
        self.utilization.setObjectName("gpuMemoryUtilizationSpin")
        self.utilization.setRange(0.0, 1.0)
        self.utilization.setSingleStep(0.01)
        self.utilization.setDecimals(2)
        self.utilization.setSpecialValueText(DEFAULT_TEXT)
        self.utilization.setKeyboardTracking(False)
        self.utilization.setToolTip("vLLM/SGLang: share of each GPU's memory the engine may use")
        self.max_seqs = _spin(
            "maxNumSeqsSpin", 0, MAX_CONCURRENCY, "Most sequences decoded at once", DEFAULT_TEXT
        )
        self.max_len = _spin(
            "maxModelLenSpin", 0, MAX_TOKENS, "Context limit (tokens); default: the model's own", DEFAULT_TEXT
        )
        self.eager = QCheckBox("no CUDA graphs")
        eager_ms = calibration().overhead_for("vllm").eager_layer_us / 1e3
        self.eager.setToolTip(
            "Eager mode (vLLM --enforce-eager, SGLang --disable-cuda-graph): saves the memory CUDA graphs "
            f"take; every kernel is then launched from Python, about {eager_ms:.2f} ms per layer per step"
        )
        self.eager.setObjectName("enforceEagerCheck")
        self.offload_layers = _spin(
            "offloadLayersSpin",
            0,
            MAX_LAYERS,
            "llama.cpp / Ollama: the first N layers stay in the host's system RAM (-ngl layers - N); "
            "the server's Host and RAM say how fast and how much",
            "none",
        )
        self.offload_expert_layers = _spin(
            "offloadExpertLayersSpin",
            0,
            MAX_LAYERS,
            "llama.cpp --n-cpu-moe N: the routed experts of the first N layers stay in system RAM "
            "(attention and shared weights stay on the GPUs)",
            "none",
        )
        self.offload_experts = QCheckBox("routed experts in RAM")
        self.offload_experts.setObjectName("offloadExpertsCheck")
        self.offload_experts.setToolTip(
            "llama.cpp --n-cpu-moe / Ollama: MoE experts stay in system RAM; only the active ones are read"
        )
        self.concurrency = _spin("concurrencySpin", 1, MAX_CONCURRENCY, "Sequences decoded at the same time")
        self.concurrency_max = QCheckBox("max")
        self.concurrency_max.setToolTip("As many sequences as the KV cache holds")
        self.concurrency_max.setObjectName("concurrencyMaxCheck")
        self.input_tokens = _spin("inputTokensSpin", 1, MAX_TOKENS, "Prompt tokens per request")
        self.output_tokens = _spin("outputTokensSpin", 1, MAX_TOKENS, "Generated tokens per request")
        concurrency_row = QWidget()
        row = QHBoxLayout(concurrency_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.concurrency, 1)
        row.addWidget(self.concurrency_max)
        self.tp = _spin("tpSpin", 1, MAX_GPUS, "Tensor-parallel degree: GPUs sharing each layer")
        self.pp = _spin("ppSpin", 1, MAX_GPUS, "Pipeline stages: consecutive layer ranges")
        self.dp = _spin("dpSpin", 1, MAX_GPUS, "Data-parallel replicas: full copies of the model")
        self.apply_layout = QPushButton("Apply layout")
        self.apply_layout.setObjectName("applyLayoutButton")
        self.apply_layout.setToolTip(
            "Spread the model over the rig's GPUs in order: TP groups, then stages, then replicas"
        )
        self.layout_info = hint()
        self.layout_info.setWordWrap(False)  # "16 of 16 GPUs used" on one line, not wrapped and cut
        self.error = error_label("planError")
        # the plan's name and model need width: in a narrow inspector their rows put the field under its
        # label (the form wraps rows whose field is wider than the room left), never a cut-off name
        for wide in (self.name, self.model):
            wide.setMinimumWidth(210)
        form.addRow("Name", self.name)
        form.addRow("Model", self.model)
        form.addRow("Weights", self.weights)
        form.addRow("KV cache", self.kv_cache)
        form.addRow("Engine", self.engine)
        form.addRow("Memory use", self.utilization)
        form.addRow("Max seqs", self.max_seqs)
        form.addRow("Max length", self.max_len)
        form.addRow("Eager", self.eager)
        form.addRow("Layers in RAM", self.offload_layers)
        form.addRow("Expert layers in RAM", self.offload_expert_layers)
        form.addRow("Experts", self.offload_experts)
        form.addRow("Concurrency", concurrency_row)
        form.addRow("Input tokens", self.input_tokens)
        form.addRow("Output tokens", self.output_tokens)
        form.addRow("TP", self.tp)
        form.addRow("PP", self.pp)
        form.addRow("DP", self.dp)
        form.addRow(self.layout_info, self.apply_layout)
        form.addRow(self.error)
        self._connect()

    @property
    def editor(self) -> Editor:
        return self.inspector.editor

    def _connect(self) -> None:
        doc = lambda: self.editor.document  # noqa: E731
        push = self.inspector.push
        self.name.editingFinished.connect(
            lambda: (
                self.name.text().strip() != doc().plan.name
                and push(
                    lambda: cmd.set_plan_name_command(doc(), self.name.text().strip() or "Untitled plan")
                )
            )
        )
        self.model.currentIndexChanged.connect(lambda _: self._model_changed())
        # a search that picked nothing goes back to the plan's model's name
        self.model.lineEdit().editingFinished.connect(
            lambda: self.model.lineEdit().setText(self.model.itemText(self.model.currentIndex()))
        )
        self.weights.currentIndexChanged.connect(
            lambda _: push(lambda: cmd.set_precisions_command(doc(), weights=self.weights.currentData()))
        )
        self.kv_cache.currentIndexChanged.connect(
            lambda _: push(lambda: cmd.set_precisions_command(doc(), kv_cache=self.kv_cache.currentData()))
        )
        self.engine.currentIndexChanged.connect(
            lambda _: push(lambda: cmd.set_engine_field_command(doc(), "engine", self.engine.currentData()))
        )
        self.utilization.valueChanged.connect(
            lambda v: push(lambda: cmd.set_engine_field_command(doc(), "gpu_memory_utilization", v or None))
        )
        self.max_seqs.valueChanged.connect(
            lambda v: push(lambda: cmd.set_engine_field_command(doc(), "max_num_seqs", v or None))
        )
        self.max_len.valueChanged.connect(
            lambda v: push(lambda: cmd.set_engine_field_command(doc(), "max_model_len", v or None))
        )
        self.eager.toggled.connect(
            lambda v: push(lambda: cmd.set_engine_field_command(doc(), "enforce_eager", v))
        )
        self.offload_layers.valueChanged.connect(
            lambda v: push(lambda: cmd.set_engine_field_command(doc(), "offload_layers", v))
        )
        self.offload_expert_layers.valueChanged.connect(
            lambda v: push(lambda: cmd.set_engine_field_command(doc(), "offload_expert_layers", v))
        )
        self.offload_experts.toggled.connect(
            lambda v: push(lambda: cmd.set_engine_field_command(doc(), "offload_experts", v))
        )
        self.concurrency.valueChanged.connect(
            lambda v: push(lambda: cmd.set_workload_field_command(doc(), "concurrency", v))
        )
        self.concurrency_max.toggled.connect(
            lambda on: push(
                lambda: cmd.set_workload_field_command(
                    doc(), "concurrency", "max" if on else self.concurrency.value()
                )
            )
        )
        self.input_tokens.valueChanged.connect(
            lambda v: push(lambda: cmd.set_workload_field_command(doc(), "input_tokens", v))
        )
        self.output_tokens.valueChanged.connect(
            lambda v: push(lambda: cmd.set_workload_field_command(doc(), "output_tokens", v))
        )
        self.apply_layout.clicked.connect(self._apply_layout)

    def _model_entries(self) -> list[tuple[str, str]]:
        """Every catalog model as 'name · size', sorted by name whatever its case."""
        models = self.editor.catalog.models
        if len(self._model_names) != len(models) or any(m not in self._model_names for m in models):
            self._model_names = {
                mid: f"{m.name} · {total_params(m) / 1e9:,.1f} B" for mid, m in models.items()
            }
        return sorted(((text, mid) for mid, text in self._model_names.items()), key=lambda e: e[0].casefold())

    def _model_changed(self) -> None:
        model = self.model.currentData()
        if model == self.editor.document.plan.model:
            return
        spec = self.editor.catalog.models.get(model)
        self.inspector.push(
            lambda: cmd.set_model_command(self.editor.document, model, spec.num_layers if spec else None)
        )

    def _apply_layout(self) -> None:
        editor = self.editor
        plan = editor.document.plan
        spec = editor.catalog.models.get(plan.model) or plan.model_spec
        if spec is None:
            show_error(
                self.error, f"the model '{plan.model}' is not in the catalog, so its layers are unknown"
            )
            return
        try:
            layout = default_layout(
                plan.rig, spec.num_layers, self.tp.value(), self.pp.value(), self.dp.value(), plan.layout.ep
            )
        except PlanError as exc:
            show_error(self.error, exc.message + (f" — {exc.fix}" if exc.fix else ""))
            return
        text = f"Layout TP {self.tp.value()} × PP {self.pp.value()} × DP {self.dp.value()}"
        self.inspector.push(lambda: cmd.set_layout_command(editor.document, layout, text))

    # -- model -> widgets ------------------------------------------------------------------------------
    def refresh(self) -> None:
        editor = self.editor
        plan, catalog = editor.document.plan, editor.catalog
        engine = catalog.engines.get(plan.engine.engine)
        fill_combo(self.model, self._model_entries(), plan.model)
        self.model.lineEdit().setCursorPosition(0)  # the name's start, not its size, when it is cut
        weights = [p for p in catalog.precisions.values() if p.for_weights]
        kv = [p for p in catalog.precisions.values() if p.for_kv_cache]
        fill_combo(self.weights, [(p.name, p.id) for p in weights], plan.weights)
        fill_combo(self.kv_cache, [(p.name, p.id) for p in kv], plan.kv_cache)
        fill_combo(
            self.engine,
            [(f"{e.name} {e.version}", e.id) for e in catalog.engines.values()],
            plan.engine.engine,
        )
        settings, work = plan.engine, plan.workload
        widgets = (self.name, self.utilization, self.max_seqs, self.max_len, self.eager, self.offload_layers,
                   self.offload_experts, self.offload_expert_layers, self.concurrency,
                   self.concurrency_max, self.input_tokens, self.output_tokens, self.tp, self.pp, self.dp)  # fmt: skip
        with blocked(*widgets):
            if not self.name.hasFocus():
                self.name.setText(plan.name)
                self.name.setCursorPosition(0)
            self.utilization.setValue(settings.gpu_memory_utilization or 0.0)
            self.max_seqs.setValue(settings.max_num_seqs or 0)
            self.max_len.setValue(settings.max_model_len or 0)
            self.eager.setChecked(settings.enforce_eager)
            spec = catalog.models.get(plan.model) or plan.model_spec
            self.offload_layers.setMaximum(max(spec.num_layers - 1, 0) if spec else MAX_LAYERS)
            self.offload_layers.setValue(settings.offload_layers)
            self.offload_experts.setChecked(settings.offload_experts)
            self.offload_expert_layers.setMaximum(spec.num_layers if spec else MAX_LAYERS)
            self.offload_expert_layers.setValue(settings.offload_expert_layers)
            hosted = engine is None or engine.memory_rule in HOST_ENGINES
            self.offload_layers.setEnabled(hosted or settings.offload_layers > 0)
            moe = hosted and spec is not None and spec.moe is not None
            self.offload_experts.setEnabled(moe or settings.offload_experts)
            self.offload_expert_layers.setEnabled(
                (moe and not settings.offload_experts) or settings.offload_expert_layers > 0
            )
            is_max = work.concurrency == "max"
            self.concurrency_max.setChecked(is_max)
            self.concurrency.setEnabled(not is_max)
            if not is_max:
                self.concurrency.setValue(int(work.concurrency))
            self.input_tokens.setValue(work.input_tokens)
            self.output_tokens.setValue(work.output_tokens)
            self.tp.setValue(plan.layout.tp)
            self.pp.setValue(plan.layout.pp)
            self.dp.setValue(plan.layout.dp)
        used = sum(len(s.gpus) for r in plan.layout.replicas for s in r.stages) if plan.rig.gpu_ids() else 0
        self.layout_info.setText(f"{used} of {plural(len(plan.rig.gpu_ids()), 'GPU')} used")
        problems = []
        if engine is not None and plan.weights not in engine.weight_precisions:
            problems.append(f"{engine.name} does not load {plan.weights} weights")
        if engine is not None and plan.kv_cache not in engine.kv_precisions:
            problems.append(f"{engine.name} has no {plan.kv_cache} KV cache")
        show_error(self.error, "; ".join(problems) or None)
