"""Shared test setup. Qt must see its platform before it is imported anywhere, hence the top lines.

Other test modules may append fixtures here.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import gc
import importlib.util
import time

import pytest

from gpuplanner.core.plan import GpuPlacement, Layout, Link, Node, Plan, Replica, Rig, Stage

# ./dev test also runs the Qt-free tests in a virtualenv without PySide6 (the core, the document and
# the command line must not need Qt); there the window's, the PDF's and the packaging tests are skipped.
if importlib.util.find_spec("PySide6") is None:
    collect_ignore_glob = ["gui/*", "export/*", "test_selftest.py", "test_packaging.py", "test_about*.py"]


@pytest.fixture(autouse=True)
def no_leaked_widgets(request):
    """A window or widget still alive once the test's windows are closed fails the test (as napari's
    viewer fixture checks): something kept it, and a person's session would grow with every window.

    pytest-qt closes the widgets a test registered (``qtbot.addWidget``) before fixtures are torn
    down; this fixture (autouse: set up first, torn down last) runs the pending deletions and a
    collection, then every top-level widget the test added must be gone."""
    if "qtbot" not in request.fixturenames and "qapp" not in request.fixturenames:
        yield
        return
    from PySide6.QtWidgets import QApplication

    before = set(QApplication.topLevelWidgets()) if QApplication.instance() is not None else set()
    yield
    # the other fixtures are torn down; pytest still holds their values for the finished test, and
    # they would keep the closed windows' Python-owned parts (pyqtgraph's parentless menus) alive
    if request.node.funcargs:
        request.node.funcargs.clear()
    leaked = leaked_widgets(before)
    names = ", ".join(f"{type(w).__name__}({w.objectName()!r})" for w in leaked)
    for widget in leaked:  # do not let them spill into the next test
        widget.close()
        widget.deleteLater()
    leaked_widgets(before)
    if leaked:
        pytest.fail(f"widgets left alive after the test's windows closed: {names}")


def leaked_widgets(before: set) -> list:
    """Top-level widgets alive now that were not in ``before``, once pending deletions have run and
    unreachable Python objects are collected."""
    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtWidgets import QApplication

    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    return [w for w in QApplication.topLevelWidgets() if w not in before]


@pytest.fixture(autouse=True)
def isolated_user_dir(tmp_path, monkeypatch):
    """Each test gets its own user folder: settings (the window keeps its QSettings file there),
    recent files and autosave never leak between tests nor into the real home."""
    user = tmp_path / "user"
    user.mkdir()
    monkeypatch.setenv("GPUPLANNER_USER_DIR", str(user))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return user


def make_rig_plan(nodes: int = 2, gpus_per_node: int = 4, gpu: str = "h100-sxm", layers: int = 80) -> Plan:
    """A plan built by hand: ``nodes`` servers full of ``gpu``, a pair link in each server, one
    pipeline stage per server with its GPUs as the tensor-parallel group."""
    rig_nodes, links, stages = [], [], []
    per_stage = layers // nodes
    for n in range(nodes):
        ids = [f"g{n * gpus_per_node + i}" for i in range(gpus_per_node)]
        rig_nodes.append(
            Node(
                id=f"n{n}",
                name=f"Server {n}",
                slots=max(gpus_per_node, 8),
                gpus=tuple(GpuPlacement(id=g, gpu=gpu, slot=i) for i, g in enumerate(ids)),
                # side by side as the window lays out 8-slot servers, so opening it moves nothing
                x=(n % 2) * 734.0,
                y=(n // 2) * 406.0,
            )
        )
        links.append(Link(id=f"l{n}", kind="nvlink4", a=ids[0], b=ids[1]))
        last = layers if n == nodes - 1 else (n + 1) * per_stage
        stages.append(Stage(layers=(n * per_stage, last), gpus=tuple(ids)))
    return Plan(
        name="Hand-made",
        rig=Rig(nodes=tuple(rig_nodes), links=tuple(links)),
        model="meta-llama/Llama-3.1-70B-Instruct",
        layout=Layout(replicas=(Replica(stages=tuple(stages)),)),
    )


class ManualClock:
    """A clock that moves only when told (``advance``): timing rules tested without racing the machine."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, ms: float) -> None:
        self.now += ms / 1e3


@pytest.fixture
def manual_clock() -> ManualClock:
    """A ManualClock starting at the real perf_counter (so it is past anything measured before)."""
    return ManualClock(time.perf_counter())


@pytest.fixture
def rig_plan() -> Plan:
    return make_rig_plan()


@pytest.fixture
def no_dialogs(monkeypatch):
    """Answer the window's questions without showing them; records what would have been shown."""
    from gpuplanner.gui import dialogs

    shown: list[tuple[str, ...]] = []
    monkeypatch.setattr(dialogs, "show_error", lambda parent, title, message: shown.append((title, message)))
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda parent, name: "discard")
    monkeypatch.setattr(dialogs, "ask_restore", lambda parent, description: False)
    monkeypatch.setattr(dialogs, "ask_open_path", lambda parent, folder: None)
    monkeypatch.setattr(dialogs, "ask_save_path", lambda parent, suggested: None)
    return shown


@pytest.fixture
def rig_file(tmp_path):
    """The hand-made two-server plan saved as a .gpuplan file (4 free slots per server)."""
    from gpuplanner.document.planfile import save_plan

    path = tmp_path / "hand-made.gpuplan"
    save_plan(make_rig_plan(), path)
    return path


@pytest.fixture
def open_window(qtbot, no_dialogs):
    """Open the whole window (File ▸ Export PDF… included) on a plan file, or the built-in sample plan
    for None: shown, exposed and evaluated. Every window test starts here."""
    from gpuplanner.app import create_main_window

    def open_(path=None):
        window = create_main_window(path)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        window.evaluate_now()
        return window

    return open_


@pytest.fixture
def main_window(open_window):
    """The main window on the built-in sample plan, shown and evaluated."""
    return open_window(None)


@pytest.fixture
def rig_window(qtbot, open_window, rig_file):
    """The main window on the hand-made plan (two servers, four GPUs each, free slots), at 100%."""
    window = open_window(rig_file)
    qtbot.wait(1)  # let the window's fit-to-view on first show run, then work at 100%
    window.view.resetTransform()
    window.evaluate_now()
    return window
