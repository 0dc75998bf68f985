"""What a person sees first: the rig fitted to the canvas after the window manager's final size (and on
each resize until they zoom or pan), a frame inside the screen, no developer readouts."""

from __future__ import annotations

from PySide6.QtCore import QRect
from PySide6.QtWidgets import QLabel


def rig_in_view(window) -> QRect:
    view = window.view
    return view.mapFromScene(view.controller.scene.content_rect()).boundingRect()


def settled(window, qtbot):
    """The window once its start-up timers (the frame settled 400 ms after showing) have run: they
    would otherwise fit a test's larger size back to the virtual screen under a slow machine."""
    qtbot.wait(600)
    return window


def test_the_rig_is_fitted_again_when_the_window_is_resized(main_window, qtbot):
    settled(main_window, qtbot)
    view = main_window.view
    main_window.resize(700, 500)  # a window manager shrinks the window after it was shown
    qtbot.wait(20)
    small = view.zoom()
    assert view.viewport().rect().contains(rig_in_view(main_window))
    main_window.resize(1400, 880)
    qtbot.wait(20)
    assert view.zoom() > small  # not the thumbnail of the first, smaller fit
    rect = rig_in_view(main_window)
    viewport = view.viewport().rect()
    assert viewport.contains(rect)
    assert rect.width() > 0.6 * viewport.width() or rect.height() > 0.6 * viewport.height()


def test_after_the_person_zooms_a_resize_keeps_their_zoom(main_window, qtbot):
    settled(main_window, qtbot)
    view = main_window.view
    view.zoom_by(1.5)
    zoom = view.zoom()
    main_window.resize(900, 600)
    qtbot.wait(20)
    assert view.zoom() == zoom
    view.fit_all()  # Ctrl+0: fitted again, and kept fitted
    main_window.resize(1300, 850)
    qtbot.wait(20)
    assert view.zoom() != zoom and view.auto_fit


def test_a_fitted_rig_shows_no_scroll_bars_so_fitting_cannot_oscillate(main_window, qtbot):
    """A fit that showed a scroll bar shrank the canvas, which refitted it and hid the bar, for ever:
    a 4,096-GPU rig hung the window that way. While fitted, the bars stay off; once the person zooms,
    they are back."""
    from PySide6.QtCore import Qt

    settled(main_window, qtbot)
    view = main_window.view
    off, needed = Qt.ScrollBarPolicy.ScrollBarAlwaysOff, Qt.ScrollBarPolicy.ScrollBarAsNeeded
    assert view.auto_fit and view.horizontalScrollBarPolicy() == off == view.verticalScrollBarPolicy()
    view.zoom_by(1.5)
    assert view.horizontalScrollBarPolicy() == needed == view.verticalScrollBarPolicy()
    view.fit_all()
    assert view.horizontalScrollBarPolicy() == off


def test_the_frame_stays_inside_the_available_screen(main_window, qtbot):
    available = main_window.screen().availableGeometry()
    main_window.resize(available.width() + 200, available.height() + 200)
    main_window.fit_frame_to_screen()
    frame = main_window.frameGeometry()
    assert frame.width() <= available.width() and frame.height() <= available.height()
    assert available.contains(frame)


def test_no_developer_readouts_in_the_panel(main_window):
    texts = [label.text() for label in main_window.findChildren(QLabel)]
    assert not any("charts" in t and " ms" in t for t in texts)
    assert not any("preview" in t.lower() for t in texts)


def test_the_layout_adapts_to_a_1280x720_and_a_1920x1080_window(main_window, qtbot):
    window = settled(main_window, qtbot)
    window.resize(1280, 660)  # 1280×720 less a title bar and a task bar
    qtbot.wait(20)
    window.adapt_layout()
    qtbot.wait(50)
    assert window.panel.height() <= window.height() // 2 + 40
    assert window.view.height() >= 0.25 * window.height()
    assert window.panel.verdict.rows_shown == 1  # a short window: one problem row, the rest scroll
    window.resize(1920, 1020)
    qtbot.wait(20)
    window.adapt_layout()
    qtbot.wait(50)
    assert window.inspector_dock.width() >= 360
    assert window.panel.verdict.rows_shown == 2


def test_folding_the_charts_gives_the_canvas_room_and_splitters_are_remembered(main_window, qtbot):
    from gpuplanner.gui import files
    from gpuplanner.gui.recent import app_settings

    window = settled(main_window, qtbot)
    window.resize(1280, 660)
    qtbot.wait(20)
    before = window.view.height()
    window.panel.charts_button.click()
    qtbot.wait(50)
    assert not window.panel.charts.isVisible()
    assert window.view.height() > before
    window.panel.charts_button.click()
    assert window.panel.charts.isVisible()
    window.panel.charts.setSizes([500, 300, 300])
    wanted = window.panel.charts.sizes()
    files.remember_geometry(window)
    assert app_settings().value("panel/charts") is not None
    window.panel.charts.setSizes([300, 300, 500])
    files.restore_geometry(window)
    sizes = window.panel.charts.sizes()  # in proportion: the restored window may be another width
    assert abs(sizes[0] / sum(sizes) - wanted[0] / sum(wanted)) < 0.02


def test_a_remembered_dock_layout_never_squeezes_the_canvas_to_a_sliver(main_window, qtbot):
    """A dock layout remembered from a smaller window, restored after a window manager gave the window
    its final size, once left the rig canvas 70 px wide between a 650 px catalog and the inspector.
    The canvas keeps a floor: docks asking for more than is left give way to it."""
    from PySide6.QtCore import Qt

    settled(main_window, qtbot)
    main_window.resize(1000, 700)
    qtbot.wait(20)
    main_window.resizeDocks(
        [main_window.catalog_dock, main_window.inspector_dock], [600, 600], Qt.Orientation.Horizontal
    )
    qtbot.wait(20)
    assert main_window.view.width() >= 240
    state = main_window.saveState()
    main_window.resize(1400, 880)
    main_window.restoreState(state)
    qtbot.wait(20)
    assert main_window.view.width() >= 240 and main_window.view.height() >= 120
