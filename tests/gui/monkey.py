"""A monkey for the main window: random actions a person (or a program dropping onto the window) can
take, on a fixed seed. Shared by tests/gui/test_monkey.py (short runs) and benchmarks/fuzz.py
(20 seeds × 1,000 actions).

Actions go through the window's own paths: drops on the canvas's viewport (catalog items and layer
ranges, well-formed or not), the menu actions (delete, copy, paste, undo, redo, make TP group,
split), the inspector's widgets (spin boxes up to their maxima, combo boxes, check boxes, the name),
the live panel's buttons (auto-balance, one-click fixes) and random document edits pushed as
commands. Exceptions that reach ``sys.excepthook`` (a slot that raised) are recorded.
"""

from __future__ import annotations

import contextlib
import json
import random
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QMimeData, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLineEdit,
    QPushButton,
    QSpinBox,
)

from gpuplanner.core.errors import PlannerError
from gpuplanner.document.planfile import plan_to_json
from gpuplanner.gui import commands as cmd
from gpuplanner.gui.mime import CATALOG_ITEM_MIME, LAYER_RANGE_MIME

GPUS = ["h100-sxm", "l40s", "rtx-4090", "mi300x", "b200", "rtx-3090"]
LINKS = ["nvlink4", "pcie5-x16-switch", "nvlink3-bridge", "ib-ndr", "nvswitch-nvlink4"]
NODES = ["dgx-h100", "gb200-nvl72", "workstation-4slot-pcie", "bridged-pair-3090", "mi300x-platform"]
MENU_ACTIONS = ["actionDelete", "actionCopy", "actionPaste", "actionUndo", "actionRedo", "actionSelectAll",
                "actionMakeTpGroup", "actionSplitStages", "actionArrange", "actionFit"]  # fmt: skip
PANEL_BUTTONS = ["autoBalanceButton", "applyFixButton", "makeTpGroupButton", "splitGroupButton"]
ODD_PAYLOADS = [b"", b"{", b"[]", b'"x"', b"null", b'{"kind": "gpu", "id": 5}', b'{"kind": "gpu"}',
                b"[" * 5000 + b"]" * 5000, b'{"kind": "node", "id": "' + b"x" * 5000 + b'"}',
                b'{"replica": Infinity, "first": 0, "last": 1}', b'{"replica": 0, "first": 0, "last": 1e400}',
                b'{"replica": 0, "first": -5, "last": 3}', b'{"replica": 99, "first": 0, "last": 4}',
                b'{"replica": 0, "first": 0, "last": 130}', b'{"replica": 0, "first": 10, "last": 99999999}',
                b"\xff\xfe"]  # fmt: skip


@dataclass
class MonkeyRun:
    actions: int = 0
    refused: int = 0
    errors: list[str] = field(default_factory=list)  # exceptions that reached sys.excepthook or the monkey
    tracebacks: list[str] = field(default_factory=list)  # the full text of each, for the report
    counts: dict[str, int] = field(default_factory=dict)


@contextlib.contextmanager
def recording_excepthook(run: MonkeyRun) -> Iterator[None]:
    """Record exceptions from slots (PySide reports them through ``sys.excepthook``)."""
    previous = sys.excepthook

    def hook(kind: type[BaseException], error: BaseException, tb: Any) -> None:
        run.errors.append(f"{kind.__name__}: {error}".splitlines()[0][:300])
        run.tracebacks.append("".join(traceback.format_exception(kind, error, tb)))

    sys.excepthook = hook
    try:
        yield
    finally:
        sys.excepthook = previous


def _drop(window: Any, scene_pos: QPointF, mime: QMimeData) -> None:
    view = window.view
    point = view.mapFromScene(scene_pos)
    actions, buttons = Qt.DropAction.CopyAction, Qt.MouseButton.LeftButton
    mods = Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(point, actions, mime, buttons, mods)
    QApplication.sendEvent(view.viewport(), enter)
    if not enter.isAccepted():
        return
    QApplication.sendEvent(view.viewport(), QDragMoveEvent(point, actions, mime, buttons, mods))
    QApplication.sendEvent(view.viewport(), QDropEvent(QPointF(point), actions, mime, buttons, mods))


def _mime(kind: str, payload: bytes) -> QMimeData:
    data = QMimeData()
    data.setData(kind, payload)
    return data


def _random_point(window: Any, rng: random.Random) -> QPointF:
    """On a GPU card, on a server's slot, or on empty canvas near the rig."""
    scene = window.scene
    roll = rng.random()
    if roll < 0.4 and scene.gpus:
        item = scene.gpus[rng.choice(sorted(scene.gpus))]
        return item.sceneBoundingRect().center()
    if roll < 0.7 and scene.nodes:
        item = scene.nodes[rng.choice(sorted(scene.nodes))]
        rect = item.sceneBoundingRect()
        return QPointF(rng.uniform(rect.left(), rect.right()), rng.uniform(rect.top(), rect.bottom()))
    rect = scene.content_rect()
    return QPointF(rect.right() + rng.uniform(50, 800), rect.top() + rng.uniform(-200, 600))


def act_drop_catalog(window: Any, rng: random.Random) -> None:
    kind = rng.choice(["gpu", "gpu", "node", "link"])
    ident = rng.choice({"gpu": GPUS, "node": NODES, "link": LINKS}[kind] + ["no-such-thing"])
    payload = json.dumps({"kind": kind, "id": ident}).encode()
    _drop(window, _random_point(window, rng), _mime(CATALOG_ITEM_MIME, payload))


def act_drop_layers(window: Any, rng: random.Random) -> None:
    layout = window.document.plan.layout
    replica = rng.randrange(layout.dp + 1)
    total = layout.replicas[0].stages[-1].layers[1]
    first = rng.randrange(total + 2)
    last = first + rng.choice([1, 2, 5, 20, total])
    payload = json.dumps({"replica": replica, "first": first, "last": last}).encode()
    _drop(window, _random_point(window, rng), _mime(LAYER_RANGE_MIME, payload))


def act_drop_odd(window: Any, rng: random.Random) -> None:
    kind = rng.choice([CATALOG_ITEM_MIME, LAYER_RANGE_MIME])
    _drop(window, _random_point(window, rng), _mime(kind, rng.choice(ODD_PAYLOADS)))


def act_select(window: Any, rng: random.Random) -> None:
    scene = window.scene
    scene.clearSelection()
    tables = [scene.gpus, scene.nodes, scene.links]
    for _ in range(rng.randint(1, 4)):
        table = rng.choice(tables)
        if table:
            table[rng.choice(sorted(table))].setSelected(True)


def act_menu(window: Any, rng: random.Random) -> None:
    name = rng.choice(MENU_ACTIONS)
    action = window.actions.by_name.get(name)
    if action is not None and action.isEnabled():
        action.trigger()


def _visible(widgets: list[Any]) -> list[Any]:
    return [w for w in widgets if w.isVisibleTo(w.window()) and w.isEnabled()]


def act_inspector(window: Any, rng: random.Random) -> None:
    widgets = _visible(
        window.inspector.findChildren(QSpinBox)
        + window.inspector.findChildren(QDoubleSpinBox)
        + window.inspector.findChildren(QComboBox)
        + window.inspector.findChildren(QCheckBox)
        + window.inspector.findChildren(QLineEdit)
        + window.inspector.findChildren(QPushButton)
    )
    widgets = [w for w in widgets if not isinstance(w, QLineEdit) or not isinstance(w.parent(), QSpinBox)]
    if not widgets:
        return
    w = rng.choice(sorted(widgets, key=lambda x: (type(x).__name__, x.objectName())))
    if isinstance(w, QSpinBox):
        w.setValue(rng.choice([w.minimum(), w.maximum(), rng.randint(w.minimum(), min(w.maximum(), 300))]))
        w.editingFinished.emit()
    elif isinstance(w, QDoubleSpinBox):
        w.setValue(rng.choice([w.minimum(), w.maximum(), rng.uniform(w.minimum(), w.maximum())]))
        w.editingFinished.emit()
    elif isinstance(w, QComboBox):
        if w.count():
            w.setCurrentIndex(rng.randrange(w.count()))
    elif isinstance(w, QCheckBox):
        w.click()
    elif isinstance(w, QLineEdit):
        w.setText(rng.choice(["", "x", "Server ✓", "n" * 300]))
        w.editingFinished.emit()
    elif isinstance(w, QAbstractButton):
        w.click()


def act_panel(window: Any, rng: random.Random) -> None:
    name = rng.choice(PANEL_BUTTONS)
    buttons = _visible([b for b in window.findChildren(QPushButton) if b.objectName() == name])
    if buttons:
        rng.choice(buttons).click()
    combo = window.findChild(QComboBox, "balanceObjective")
    if combo is not None and rng.random() < 0.3 and combo.count():
        combo.setCurrentIndex(rng.randrange(combo.count()))


def act_edit(window: Any, rng: random.Random) -> None:
    """A random document edit pushed as a command (what drags and wiring gestures end in)."""
    doc = window.document
    plan = doc.plan
    nodes = [n.id for n in plan.rig.nodes]
    gpus = plan.rig.gpu_ids()
    links = [k.id for k in plan.rig.links]
    choice = rng.randrange(10)
    builders: list[Callable[[], cmd.PlanCommand]] = []
    if choice == 0 or not nodes:
        builders.append(lambda: cmd.add_node_command(doc, rng.uniform(-500, 3000), rng.uniform(-500, 2000)))
    elif choice == 1 and gpus:
        node = doc.node(rng.choice(nodes))
        gpu_id = rng.choice(gpus)
        slot = rng.choice([0, node.slots - 1, rng.randrange(node.slots)])
        builders.append(lambda: cmd.move_gpu_command(doc, gpu_id, node.id, slot))
    elif choice == 2 and len(gpus) > 1:
        a, b = rng.sample(gpus, 2)
        builders.append(lambda: cmd.add_link_command(doc, rng.choice(LINKS), a, b))
    elif choice == 3:
        node_id = rng.choice(nodes)
        builders.append(
            lambda: cmd.move_node_command(doc, node_id, rng.uniform(-1e4, 1e4), rng.uniform(-1e4, 1e4))
        )
    elif choice == 4 and gpus:
        gpu_id = rng.choice(gpus)
        builders.append(lambda: cmd.set_gpu_model_command(doc, gpu_id, rng.choice(GPUS)))
    elif choice == 5:
        node_id = rng.choice(nodes)
        nics = rng.choice([1, 8, 72, 128])
        builders.append(lambda: cmd.set_node_props_command(doc, node_id, nics=nics))
    elif choice == 6:
        field_name = rng.choice(["input_tokens", "output_tokens", "concurrency"])
        value = rng.choice([1, 512, 131_072, 10**7, 2**24])
        builders.append(lambda: cmd.set_workload_field_command(doc, field_name, value))
    elif choice == 7:
        field_name = rng.choice(
            ["gpu_memory_utilization", "max_model_len", "max_num_batched_tokens", "max_num_seqs"]
        )
        value = {
            "gpu_memory_utilization": rng.choice([1.0, 0.5, 0.95, None]),
            "max_model_len": rng.choice([512, 131_072, 2**24, None]),
            "max_num_batched_tokens": rng.choice([1, 16, 8192, None]),
            "max_num_seqs": rng.choice([1, 256, None]),
        }[field_name]
        builders.append(lambda: cmd.set_engine_field_command(doc, field_name, value))
    else:
        picks = {
            "nodes": rng.sample(nodes, min(len(nodes), rng.randrange(2))),
            "gpus": rng.sample(gpus, min(len(gpus), rng.randrange(3))),
            "links": rng.sample(links, min(len(links), rng.randrange(2))),
        }
        builders.append(lambda: cmd.delete_command(doc, **picks))
    for build in builders:
        window.push(build)


ACTIONS: list[tuple[float, Callable[[Any, random.Random], None]]] = [
    (0.14, act_drop_catalog),
    (0.06, act_drop_layers),
    (0.04, act_drop_odd),
    (0.12, act_select),
    (0.16, act_menu),
    (0.18, act_inspector),
    (0.08, act_panel),
    (0.22, act_edit),
]


def run_monkey(window: Any, seed: int, actions: int, evaluate_every: int = 1) -> MonkeyRun:
    """``actions`` random actions on ``window``; then undo everything and check the first plan is back,
    byte for byte (as its file text). Exceptions are recorded in the result, not raised."""
    rng = random.Random(seed)
    run = MonkeyRun()
    start = plan_to_json(window.document.plan)
    weights = [w for w, _ in ACTIONS]
    with recording_excepthook(run):
        for i in range(actions):
            _, action = rng.choices(ACTIONS, weights)[0]
            run.counts[action.__name__] = run.counts.get(action.__name__, 0) + 1
            try:
                action(window, rng)
            except PlannerError:
                run.refused += 1
            except Exception as exc:
                run.errors.append(f"{action.__name__}: {type(exc).__name__}: {exc}".splitlines()[0][:300])
                run.tracebacks.append("".join(traceback.format_exception(exc)))
            QApplication.processEvents()
            if evaluate_every and i % evaluate_every == 0:
                window.evaluate_now()
            run.actions += 1
        stack = window.undo_stack
        while stack.canUndo():
            stack.undo()
        QApplication.processEvents()
        window.evaluate_now()
    if plan_to_json(window.document.plan) != start:
        run.errors.append("undo-all did not restore the first plan byte for byte")
    return run
