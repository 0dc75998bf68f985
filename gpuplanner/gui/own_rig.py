"""Import ▸ ...: your own rig and your own numbers, in the window.

* **Rig from nvidia-smi…** — paste (or load) ``nvidia-smi topo -m`` and the ``--query-gpu`` CSV; the
  plan's rig and layout are replaced in one undo step. A GPU name the catalog lacks is offered as a
  custom GPU.
* **Custom GPU…** — a GPU the catalog lacks, validated like the catalog, kept in the user folder.
* **Model from Hugging Face…** — ``ORG/NAME``: the config.json is fetched in the background (Cancel
  stops waiting), then the plan switches to the model (one undo step).
* **Calibrate from Benchmarks…** — llama-bench / vllm bench serve files fitted on the current plan;
  the table shows each run's error before and after; Save keeps the factors.
* **Remove My Calibration** — back to the catalog's figures.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressDialog,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gpuplanner.core.bench_import import BenchRun, parse_bench
from gpuplanner.core.catalog import default_catalog
from gpuplanner.core.errors import PlannerError
from gpuplanner.core.hf_fetch import fetch_config
from gpuplanner.core.hf_import import model_from_hf_config, save_user_model
from gpuplanner.core.layout_ops import default_layout
from gpuplanner.core.limits import read_text_limited
from gpuplanner.core.topo_import import default_parallel, plan_from_topology
from gpuplanner.core.user_fit import FitResult, calibrated_line, fit_runs, reset_user_calibration, save_fit
from gpuplanner.core.user_gpus import gpu_from_entry, save_user_gpu
from gpuplanner.core.verdict import plural
from gpuplanner.gui import commands as cmd
from gpuplanner.gui import dialogs
from gpuplanner.gui.palette import CatalogPalette

if TYPE_CHECKING:
    from gpuplanner.gui.window_api import PlanWindow

_UNKNOWN_GPU = re.compile(r"GPU '(?P<name>[^']+)'(?:, (?P<mib>[\d.]+) MiB)? is not in the catalog")


def _read_into(parent: QWidget, editor: QPlainTextEdit, title: str) -> None:
    path, _ = QFileDialog.getOpenFileName(parent, title, "", "Text (*.txt *.csv *.log);;All files (*)")
    if path:
        try:
            editor.setPlainText(read_text_limited(path, what="text file"))
        except PlannerError as exc:
            dialogs.show_error(parent, title, str(exc))


def _text_box(parent: QWidget) -> QPlainTextEdit:
    """A box for pasted tool output: fixed-width, lines kept whole (the columns stay columns)."""
    box = QPlainTextEdit(parent)
    box.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    box.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
    return box


class TopologyDialog(QDialog):
    """Paste `nvidia-smi topo -m` (and the GPU list); OK builds the rig or says which line is wrong."""

    def __init__(self, window: PlanWindow) -> None:
        super().__init__(window)  # type: ignore[arg-type]
        self.setObjectName("topologyDialog")
        self.setWindowTitle("Import Rig from nvidia-smi")
        self.window_ = window
        self.plan = None
        self.notes: tuple[str, ...] = ()
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Output of <b>nvidia-smi topo -m</b>:"))
        self.topo = _text_box(self)
        self.topo.setObjectName("topologyText")
        self.topo.setPlaceholderText(
            "        GPU0    GPU1    CPU Affinity    NUMA Affinity ...\nGPU0     X      NV4 ..."
        )
        layout.addWidget(self.topo, 3)
        load_topo = QPushButton("Load File…", self)
        load_topo.clicked.connect(lambda: _read_into(self, self.topo, "Load nvidia-smi topo -m output"))
        layout.addWidget(load_topo, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(
            QLabel(
                "GPU names and memory: <b>nvidia-smi --query-gpu=index,name,memory.total,pci.bus_id "
                "--format=csv</b> (optional)"
            )
        )
        self.gpus = _text_box(self)
        self.gpus.setObjectName("gpuListText")
        layout.addWidget(self.gpus, 1)
        row = QHBoxLayout()
        load_gpus = QPushButton("Load File…", self)
        load_gpus.clicked.connect(lambda: _read_into(self, self.gpus, "Load the GPU list"))
        row.addWidget(load_gpus)
        row.addWidget(QLabel("or every GPU is:"))
        self.gpu = QComboBox(self)
        self.gpu.setObjectName("topologyGpu")
        self.gpu.setToolTip("Used when no GPU list is given")
        for spec in sorted(window.catalog.gpus.values(), key=lambda s: s.name):
            self.gpu.addItem(spec.name, spec.id)
        row.addWidget(self.gpu, 1)
        layout.addLayout(row)
        self.error = QLabel(self)
        self.error.setObjectName("topologyError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c0392b")
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.try_accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(820, 560)

    def try_accept(self) -> None:
        current = self.window_.document.plan
        csv = self.gpus.toPlainText().strip() or None
        try:
            self.plan, self.notes = plan_from_topology(
                self.topo.toPlainText(),
                csv,
                gpu=self.gpu.currentData(),
                model=current.model
                if current.model in self.window_.catalog.models
                else "meta-llama/Llama-3.1-8B-Instruct",
                engine=current.engine.engine,
                weights=current.weights,
                catalog=self.window_.catalog,
                sources=("topology", "GPU list"),
            )
        except PlannerError as exc:
            self.error.setText(str(exc).replace("\n", "<br>"))
            found = _UNKNOWN_GPU.search(exc.message)
            if found and _offer_custom_gpu(self, self.window_, found.group("name"), found.group("mib")):
                self.try_accept()
            return
        self.accept()


def _offer_custom_gpu(parent: QWidget, window: PlanWindow, name: str, mib: str | None) -> bool:
    answer = QMessageBox.question(
        parent,
        "Unknown GPU",
        f"'{name}' is not in the catalog. Add it as a custom GPU?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
    )
    if answer != QMessageBox.StandardButton.Yes:
        return False
    memory = float(mib) / 1024 if mib else 24.0
    return add_custom_gpu_interactive(window, name=name, memory_gib=memory, alias=name) is not None


def import_topology_interactive(window: PlanWindow) -> bool:
    dialog = TopologyDialog(window)
    if dialog.exec() != QDialog.DialogCode.Accepted or dialog.plan is None:
        return False
    return apply_topology(window, dialog.plan, dialog.notes)


def apply_topology(window: PlanWindow, imported: Any, notes: tuple[str, ...]) -> bool:
    """Replace the plan's rig and layout with the imported ones: one undo step."""
    plan = window.document.plan
    model = plan.model_spec or window.catalog.find("models", plan.model)
    layout = imported.layout
    if model is not None:  # the plan's own model (an imported one too) over all the rig's GPUs
        tp, pp = default_parallel(model.num_attention_heads, model.num_kv_heads, len(imported.rig.gpu_ids()))
        layout = default_layout(imported.rig, model.num_layers, tp, min(pp, model.num_layers))
    new = plan.model_copy(
        update={
            "rig": imported.rig,
            "layout": layout,
            "description": (plan.description + "\n" if plan.description else "") + "\n".join(notes),
        }
    )
    done = window.editor.push(
        lambda: cmd.edit_command(window.document, "Import rig from nvidia-smi", lambda d: d.replace_plan(new))
    )
    if done is not None:
        window.editor.notify(notes[0] if notes else "Imported the rig")
    return done is not None


class CustomGpuDialog(QDialog):
    """The figures of a GPU the catalog lacks."""

    def __init__(
        self, parent: QWidget, links: list[tuple[str, str]], name: str = "", memory_gib: float = 24.0
    ):
        super().__init__(parent)
        self.setObjectName("customGpuDialog")
        self.setWindowTitle("Custom GPU")
        form = QFormLayout(self)
        self.name = QLineEdit(name, self)
        self.name.setObjectName("customGpuName")
        self.ident = QLineEdit(_slug(name), self)
        self.ident.setObjectName("customGpuId")
        self.name.textEdited.connect(lambda text: self.ident.setText(_slug(text)))
        self.memory = self._spin(
            memory_gib, 0.5, 4096, " GiB", "Memory the driver reports (nvidia-smi MiB / 1024)"
        )
        self.bandwidth = self._spin(1000, 1, 100000, " GB/s", "Peak memory bandwidth from the datasheet")
        self.bf16 = self._spin(
            100, 0.1, 100000, " TFLOPS", "Dense BF16/FP16 tensor throughput (not the sparse figure)"
        )
        self.fp8 = self._spin(0, 0, 100000, " TFLOPS", "Dense FP8 throughput; 0: none")
        self.tdp = self._spin(300, 0, 5000, " W", "Board power")
        self.pcie = QSpinBox(self)
        self.pcie.setRange(3, 6)
        self.pcie.setValue(4)
        self.link = QComboBox(self)
        self.link.addItem("none (PCIe only)", None)
        for ident, label in links:
            self.link.addItem(label, ident)
        form.addRow("Name", self.name)
        form.addRow("Id", self.ident)
        form.addRow("Memory", self.memory)
        form.addRow("Bandwidth", self.bandwidth)
        form.addRow("BF16 dense", self.bf16)
        form.addRow("FP8 dense", self.fp8)
        form.addRow("GPU link", self.link)
        form.addRow("PCIe generation", self.pcie)
        form.addRow("Power", self.tdp)
        self.error = QLabel(self)
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c0392b")
        form.addRow(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _spin(self, value: float, low: float, high: float, suffix: str, tip: str) -> QDoubleSpinBox:
        box = QDoubleSpinBox(self)
        box.setRange(low, high)
        box.setDecimals(2)
        box.setValue(value)
        box.setSuffix(suffix)
        box.setToolTip(tip)
        return box

    def entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "id": self.ident.text().strip(),
            "name": self.name.text().strip(),
            "memory_gib_usable": self.memory.value(),
            "hbm_bandwidth_gbps": self.bandwidth.value(),
            "bf16_tflops": self.bf16.value(),
            "pcie_gen": self.pcie.value(),
            "tdp_w": self.tdp.value(),
        }
        if self.fp8.value() > 0:
            entry["fp8_tflops"] = self.fp8.value()
        if self.link.currentData():
            entry["native_link"] = self.link.currentData()
        return entry


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "my-gpu"


def add_custom_gpu_interactive(
    window: PlanWindow, *, name: str = "", memory_gib: float = 24.0, alias: str = ""
) -> Any:
    """Ask for a custom GPU's figures; save it and add it to the window's catalog. Returns the spec."""
    catalog = window.catalog
    links = [
        (k, spec.name)
        for k, spec in catalog.links.items()
        if spec.scope == "intra-node" and spec.kind != "pcie"
    ]
    dialog = CustomGpuDialog(window, links, name, memory_gib)  # type: ignore[arg-type]
    while dialog.exec() == QDialog.DialogCode.Accepted:
        entry = dialog.entry()
        if alias:
            entry["aliases"] = [alias]
        try:
            spec = gpu_from_entry(
                entry,
                catalog.links,
                {k: v for k, v in catalog.gpus.items() if k not in catalog.user_gpus},
                "custom GPU",
            )
        except PlannerError as exc:
            dialog.error.setText(str(exc))
            continue
        save_user_gpu(spec)
        catalog.add_user_gpu(spec)
        default_catalog.cache_clear()
        palette = window.findChild(CatalogPalette)  # type: ignore[attr-defined]
        if palette is not None:
            palette.refill()
        window.editor.notify(f"Added {spec.name}: drag it from the catalog or pick it for a GPU")
        return spec
    return None


def _wait(parent: QWidget, title: str, work: Callable[[], Any]) -> Any:
    """Run ``work`` off the window's thread with a progress dialog; None when cancelled."""
    progress = QProgressDialog(title, "Cancel", 0, 0, parent)
    progress.setObjectName("busyDialog")
    progress.setWindowModality(Qt.WindowModality.WindowModal)
    progress.setMinimumDuration(300)
    pool = ThreadPoolExecutor(max_workers=1)
    future: Future[Any] = pool.submit(work)
    loop = QEventLoop()
    timer = QTimer()
    timer.setInterval(30)
    timer.timeout.connect(loop.quit)
    timer.start()
    while not future.done() and not progress.wasCanceled():
        loop.exec()  # back every 30 ms to look at the worker and the Cancel button
    timer.stop()
    cancelled = progress.wasCanceled() and not future.done()
    progress.close()
    progress.deleteLater()
    timer.deleteLater()
    pool.shutdown(wait=False, cancel_futures=True)
    if cancelled:
        return None
    error = future.exception()
    if isinstance(error, PlannerError):  # a fresh error: the worker's traceback stays behind
        raise PlannerError(error.message, error.fix, error.where)
    if error is not None:
        raise RuntimeError(f"{type(error).__name__}: {error}")
    return future.result()


def import_model_by_name_interactive(window: PlanWindow, repo_id: str | None = None) -> bool:
    if repo_id is None:
        text, ok = QInputDialog.getText(
            window,  # type: ignore[arg-type]
            "Model from Hugging Face",
            "Repo id (ORG/NAME), e.g. meta-llama/Llama-3.1-8B-Instruct:",
        )
        if not ok or not text.strip():
            return False
        repo_id = text.strip()
    try:
        config = _wait(window, f"Fetching the config.json of {repo_id}…", lambda: fetch_config(repo_id))  # type: ignore[arg-type]
        if config is None:
            return False
        spec = model_from_hf_config(config, repo_id=repo_id)
    except PlannerError as exc:
        dialogs.show_error(window, "Model from Hugging Face", str(exc))  # type: ignore[arg-type]
        return False
    except ValueError as exc:  # a config whose values are out of range
        dialogs.show_error(window, "Model from Hugging Face", f"{repo_id}: {exc}")  # type: ignore[arg-type]
        return False
    save_user_model(spec)
    editor = window.editor
    editor.catalog.add_user_model(spec)
    default_catalog.cache_clear()
    editor.push(lambda: cmd.set_model_command(editor.document, spec.id, spec.num_layers, model_spec=spec))
    editor.notify(f"Imported {spec.name} from the Hub: {spec.num_layers} layers, hidden {spec.hidden_size}")
    return True


class CalibrationDialog(QDialog):
    """The fit on the current plan: each run's measured and predicted figure before and after."""

    def __init__(self, parent: QWidget, result: FitResult) -> None:
        super().__init__(parent)
        self.setObjectName("calibrationDialog")
        self.setWindowTitle("Calibrate from Benchmarks")
        layout = QVBoxLayout(self)
        f = result.factor
        summary = QLabel(
            f"<b>{calibrated_line(f)}</b><br>memory efficiency ×{f.memory_scale:.3f}, compute efficiency "
            f"×{f.compute_scale:.3f} · mean error {result.error_before:.1%} → {result.error_after:.1%}",
            self,
        )
        summary.setObjectName("calibrationSummary")
        layout.addWidget(summary)
        table = QTableWidget(len(result.results), 5, self)
        table.setObjectName("calibrationTable")
        table.setHorizontalHeaderLabels(["Run", "Measured", "Before", "After", "Error"])
        for row, r in enumerate(result.results):
            cells = [
                f"{r.run.source} {r.run.label}",
                f"{r.run.value:,.1f}",
                f"{r.before:,.1f}",
                f"{r.after:,.1f}",
                f"{r.error_before:+.0%} → {r.error_after:+.0%}",
            ]
            for col, value in enumerate(cells):
                item = QTableWidgetItem(value)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                table.setItem(row, col, item)
        table.resizeColumnsToContents()
        layout.addWidget(table)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(720, 360)


def calibrate_files(window: PlanWindow, files: list[str], *, ask: bool = True) -> FitResult | None:
    """Fit on the window's plan; with ``ask`` the result is shown and kept only on Save."""
    runs: list[BenchRun] = []
    try:
        for name in files:
            found, _notes = parse_bench(read_text_limited(name, what="benchmark output"), Path(name).name)
            runs += found
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            result = fit_runs(window.document.plan, runs, window.catalog, files=[Path(f).name for f in files])
        finally:
            QGuiApplication.restoreOverrideCursor()
    except PlannerError as exc:
        dialogs.show_error(window, "Calibrate from Benchmarks", str(exc))  # type: ignore[arg-type]
        return None
    if ask and CalibrationDialog(window, result).exec() != QDialog.DialogCode.Accepted:  # type: ignore[arg-type]
        window.evaluate_now()  # the fit tried factors: show the saved ones again
        return None
    save_fit(result)
    window.evaluate_now()
    window.editor.notify(f"{calibrated_line(result.factor)} — Import ▸ Remove My Calibration undoes it")
    return result


def calibrate_interactive(window: PlanWindow) -> None:
    files, _ = QFileDialog.getOpenFileNames(
        window,  # type: ignore[arg-type]
        "Benchmark results measured on this plan's machine",
        "",
        "Benchmark output (*.json *.jsonl *.csv *.md *.txt *.log);;All files (*)",
    )
    if files:
        calibrate_files(window, files)


def remove_calibration(window: PlanWindow) -> int:
    removed = reset_user_calibration()
    window.evaluate_now()
    window.editor.notify(
        f"Removed {plural(removed, 'calibration')}: the catalog's figures apply again"
        if removed
        else "No calibration to remove"
    )
    return removed
