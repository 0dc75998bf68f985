"""What a person sees first: the rig fitted to the canvas after the window manager's final size (and on
each resize until they zoom or pan), a frame inside the screen, no developer readouts."""

from __future__ import annotations

from PySide6.QtCore import QRect
from PySide6.QtWidgets import QLabel


def rig_in_view(window) -> QRect:
    view = window.view
    return view.mapFromScene(view.controller.scene.content_rect()).boundingRect()


def test_the_rig_is_fitted_again_when_the_window_is_resized(main_window, qtbot):
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
