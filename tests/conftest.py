"""Shared test setup. Qt must see its platform before it is imported anywhere, hence the top lines.

Other test modules may append fixtures here.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import importlib.util

import pytest

from gpuplanner.core.plan import GpuPlacement, Layout, Link, Node, Plan, Replica, Rig, Stage

# ./dev test also runs the Qt-free tests in a virtualenv without PySide6 (the core, the document and
# the command line must not need Qt); there the window's, the PDF's and the packaging tests are skipped.
if importlib.util.find_spec("PySide6") is None:
    collect_ignore_glob = ["gui/*", "export/*", "test_selftest.py", "test_packaging.py", "test_about*.py"]


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
def main_window(qtbot, no_dialogs):
    """The main window on the built-in sample plan, shown and evaluated."""
    from gpuplanner.gui import create_main_window

    window = create_main_window(None)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.evaluate_now()
    return window


@pytest.fixture
def rig_window(qtbot, no_dialogs, rig_file):
    """The main window on the hand-made plan (two servers, four GPUs each, free slots)."""
    from gpuplanner.gui import create_main_window

    window = create_main_window(rig_file)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    qtbot.wait(1)  # let the window's fit-to-view on first show run, then work at 100%
    window.view.resetTransform()
    window.evaluate_now()
    return window
