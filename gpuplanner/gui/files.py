"""File handling of the main window: open, save, new, recent files, autosave offer, window layout."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray

from gpuplanner.core.catalog import Catalog
from gpuplanner.core.errors import PlannerError
from gpuplanner.core.plan import Layout, Plan, Replica, Rig, Stage
from gpuplanner.document.document import Change, rebuild
from gpuplanner.document.planfile import load_plan
from gpuplanner.document.planfile import save_plan as write_plan
from gpuplanner.drawing import geometry as geo
from gpuplanner.gui import dialogs
from gpuplanner.gui.autosave import pending_autosave
from gpuplanner.gui.recent import add_recent_file, app_settings
from gpuplanner.gui.startup import sample_plans
from gpuplanner.paths import examples_dir

if TYPE_CHECKING:
    from gpuplanner.gui.window_api import PlanWindow

DEFAULT_MODEL = "meta-llama/Llama-3.1-70B-Instruct"


def empty_plan(catalog: Catalog) -> Plan:
    """A rig with no servers yet. Its layout names a GPU id the first GPU added will get ('g0'), so
    the plan becomes valid as soon as there is something to run on."""
    model = DEFAULT_MODEL if DEFAULT_MODEL in catalog.models else next(iter(catalog.models), DEFAULT_MODEL)
    layers = catalog.models[model].num_layers if model in catalog.models else 1
    layout = Layout(replicas=(Replica(stages=(Stage(layers=(0, layers), gpus=("g0",)),)),))
    return Plan(name="Empty rig", rig=Rig(), model=model, layout=layout)


def fallback_plan(catalog: Catalog) -> Plan:
    """The plan a window starts from before a file is opened (and when the samples are missing)."""
    try:
        from gpuplanner.core.quick import quick_plan

        return quick_plan(
            model=DEFAULT_MODEL, gpu="h100-sxm", gpus_per_node=8, tp=8, catalog=catalog
        ).model_copy(update={"name": "DGX H100 · Llama 3.1 70B · TP8"})
    except PlannerError:
        return empty_plan(catalog)


def templates() -> list[Path]:
    """The sample plans offered by File ▸ New."""
    return sample_plans()


def _load_into(window: PlanWindow, plan: Plan, path: Path | None) -> None:
    window.path = path
    window.document.reset_ids()  # the undo history goes too: ids restart from the new plan's own
    window.document.replace_plan(plan, Change("plan"))
    arranged = arrange_if_overlapping(window)
    window.undo_stack.clear()
    window.undo_stack.setClean()
    if arranged:
        window.undo_stack.resetClean()  # the servers were moved: the plan differs from its file
    window.update_title()
    window.view.fit_all()


def open_plan(window: PlanWindow, path: Path) -> bool:
    try:
        plan = load_plan(path)
    except PlannerError as exc:
        dialogs.show_error(window, "Cannot open plan", str(exc))
        return False
    except OSError as exc:
        dialogs.show_error(window, "Cannot open plan", f"{path}: {exc.strerror or exc}")
        return False
    _load_into(window, plan, path)
    _remember_opened(window, path)
    return True


def read_first_plan(path: Path | None) -> Plan | None:
    """The plan a new window opens, read before the window is built so that it is built on it (a
    cluster-sized file is then drawn once, not after a sample plan). None when there is no file or it
    cannot be read: the window then starts from the fallback and ``open_plan`` says why."""
    if path is None:
        return None
    try:
        return load_plan(path)
    except (PlannerError, OSError):
        return None


def opened_as_built(window: PlanWindow, plan: Plan, path: Path) -> None:
    """The window was built on ``plan``, read from ``path``: it is that file, opened (what
    ``open_plan`` does after replacing the plan). Servers moved apart while the window was built make
    the plan differ from its file: then it is marked modified."""
    window.path = path
    if window.document.plan is not plan:
        window.undo_stack.resetClean()
    window.update_title()
    _remember_opened(window, path)


def _remember_opened(window: PlanWindow, path: Path) -> None:
    if path.parent.resolve() != _examples_resolved():
        add_recent_file(path)
    window.actions.refresh_recent()


def _examples_resolved() -> Path | None:
    try:
        return examples_dir().resolve()
    except FileNotFoundError:
        return None


def new_plan(window: PlanWindow, template: Path | None) -> bool:
    """A new untitled plan: a copy of a sample plan, or an empty rig."""
    if not confirm_discard(window):
        return False
    if template is None:
        _load_into(window, empty_plan(window.catalog), None)
        return True
    try:
        plan = load_plan(template)
    except PlannerError as exc:
        dialogs.show_error(window, "Cannot use template", str(exc))
        return False
    _load_into(window, plan, None)
    return True


def save_plan(window: PlanWindow, path: Path | None) -> bool:
    if path is None:
        return save_interactive(window, ask=True)
    try:
        write_plan(window.document.plan, path)
    except (PlannerError, OSError) as exc:
        dialogs.show_error(window, "Cannot save plan", str(exc))
        return False
    window.path = path
    window.undo_stack.setClean()
    window.autosave.discard()
    window.update_title()
    add_recent_file(path)
    window.actions.refresh_recent()
    window.show_message(f"Saved {path}")
    return True


def save_interactive(window: PlanWindow, ask: bool = False) -> bool:
    """Save to the current file, or ask for one (Save As, or a plan never saved)."""
    if window.path is not None and not ask:
        return save_plan(window, window.path)
    folder = window.path.parent if window.path else Path.home()
    suggested = str(folder / f"{window.document.plan.name.replace('/', '-')}.gpuplan")
    chosen = dialogs.ask_save_path(window, suggested)
    return bool(chosen) and save_plan(window, Path(chosen))


def confirm_discard(window: PlanWindow) -> bool:
    """True when the current plan may be replaced (saved, discarded, or nothing to lose)."""
    if not window.is_dirty():
        return True
    answer = dialogs.ask_save_changes(window, window.path.name if window.path else window.document.plan.name)
    if answer == "save":
        return save_interactive(window)
    return answer == "discard"


def open_interactive(window: PlanWindow) -> None:
    if not confirm_discard(window):
        return
    folder = str(window.path.parent) if window.path else str(Path.home())
    chosen = dialogs.ask_open_path(window, folder)
    if chosen:
        open_plan(window, Path(chosen))


def arrange_if_overlapping(window: PlanWindow) -> bool:
    """Servers all at one spot (a plan written by a script that gave no positions) are laid out side
    by side, in one change. Part of opening a file, not an undo step; returns whether anything moved,
    and the caller then marks the plan modified, since it no longer matches its file. Positions the
    user chose, overlapping or not, are kept as saved."""
    plan = window.document.plan
    nodes = plan.rig.nodes
    if len(nodes) < 2 or len({(n.x, n.y) for n in nodes}) > 1:
        return False
    placed = geo.arranged([n.slots for n in nodes])
    moved = tuple(rebuild(n, x=float(x), y=float(y)) for n, (x, y) in zip(nodes, placed, strict=True))
    rig = rebuild(plan.rig, nodes=moved)
    window.document.replace_plan(rebuild(plan, rig=rig), Change("rig", frozenset(n.id for n in nodes)))
    return True


def offer_autosave(window: PlanWindow) -> None:
    pending = pending_autosave()
    if pending is None:
        return
    plan, source, description = pending
    if dialogs.ask_restore(window, description):
        _load_into(window, plan, Path(source) if source else None)
        window.undo_stack.resetClean()  # restored work is unsaved work
        window.update_title()
    window.autosave.discard()


def remember_geometry(window: PlanWindow) -> None:
    """The window's size and place, its docks' sizes and the live panel's chart splitter, in the
    settings file of the user folder."""
    settings = app_settings()
    settings.setValue("window/geometry", window.saveGeometry())
    settings.setValue("window/state", window.saveState())
    settings.setValue("panel/charts", window.panel_controller.panel.charts.saveState())
    settings.sync()


def restore_geometry(window: PlanWindow) -> None:
    settings = app_settings()
    geometry, state = settings.value("window/geometry"), settings.value("window/state")
    if isinstance(geometry, QByteArray):
        window.restoreGeometry(geometry)
    if isinstance(state, QByteArray):
        window.restoreState(state)
    restore_chart_sizes(window)


def restore_chart_sizes(window: PlanWindow) -> None:
    """The live panel's chart splitter as the person left it."""
    charts = app_settings().value("panel/charts")
    if isinstance(charts, QByteArray):
        window.panel_controller.panel.charts.restoreState(charts)
