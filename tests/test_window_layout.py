"""The window on a projector's screen (1280×720) and a large one (1920×1080): the figure keeps
most of the width, the prediction rows stay legible (also under an error message), and the
cost chart is whole with its legend off the curves, also after the panels were hidden and
restored."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6 import QtCore, QtWidgets

from explorer import MainWindow, lifetime
from explorer.inference import ModelCache
from explorer.main_window import side_panel_limits
from explorer.settings import open_settings

TEST_SIZE = 64


@pytest.fixture(params=[(1280, 720), (1920, 1080)], ids=["1280x720", "1920x1080"])
def window(request, qtbot, tmp_path: Path) -> Iterator[MainWindow]:
    settings = open_settings(tmp_path / "settings.ini")
    settings.setValue("controls/imageSizeSpin", TEST_SIZE)
    settings.sync()
    main_window = MainWindow(settings=str(tmp_path / "settings.ini"), cache=ModelCache())
    main_window.resize(*request.param)
    main_window.show()
    with qtbot.waitSignal(main_window.resultsShown, timeout=120_000):
        pass
    _settle()
    yield main_window
    lifetime.release(main_window)


def _settle() -> None:
    for _ in range(5):
        QtCore.QCoreApplication.processEvents()


def _rect_in_window(widget: QtWidgets.QWidget, window: QtWidgets.QWidget) -> QtCore.QRect:
    return QtCore.QRect(widget.mapTo(window, QtCore.QPoint(0, 0)), widget.size())


def _visible_rect(widget: QtWidgets.QWidget, window: QtWidgets.QWidget) -> QtCore.QRect:
    """The part of ``widget`` not clipped by its ancestors, in ``window`` coordinates."""
    rect = _rect_in_window(widget, window)
    parent = widget.parentWidget()
    while parent is not None and parent is not window:
        rect = rect.intersected(_rect_in_window(parent, window))
        parent = parent.parentWidget()
    return rect


def _row_problems(window: MainWindow) -> list[str]:
    """Why the prediction rows would not be legible (empty when they are)."""
    output = window.output_view
    assert output is not None
    problems = []
    line = output.fontMetrics().height()
    rects = []
    for rank, (name, bar) in enumerate(output.row_widgets(), start=1):
        for widget in (name, bar):
            if not widget.isVisible():
                problems.append(f"row {rank}: hidden")
            rect, shown = _rect_in_window(widget, window), _visible_rect(widget, window)
            if rect.height() < line:
                problems.append(f"row {rank}: {rect.height()} px high, the text needs {line}")
            if shown != rect:
                problems.append(f"row {rank}: clipped to {shown.height()} of {rect.height()} px")
        rects.append(_rect_in_window(name, window).united(_rect_in_window(bar, window)))
    for upper, lower in itertools.pairwise(rects):
        if upper.intersects(lower):
            problems.append("rows overlap")
    return problems


def _cost_chart_problems(window: MainWindow) -> list[str]:
    """Why the cost chart would not be whole and readable (empty when it is): the plot, its
    legend, the totals and the note must lie in the part of the scene the panel shows, and
    the legend must not cover the plotted curves."""
    view = window.views["cost"]
    graphics = view.render_target()
    shown = graphics.mapToScene(graphics.viewport().rect()).boundingRect().adjusted(-1, -1, 1, 1)
    problems = []
    for name in ("table", "chart_title", "plot", "legend", "totals", "note"):
        rect = getattr(view, name).sceneBoundingRect()
        if rect.isEmpty() or not shown.contains(rect):
            problems.append(f"{name} {rect.getRect()} is not inside the shown {shown.getRect()}")
    data_area = view.plot.vb.sceneBoundingRect()
    if view.legend.sceneBoundingRect().intersects(data_area):
        problems.append("the legend covers the curves")
    if data_area.height() < 60 or data_area.width() < 120:
        problems.append(f"the plot is squashed to {data_area.width():.0f}×{data_area.height():.0f}")
    if window.hub.fits["cost"].scale < 0.7:
        problems.append(f"the chart is drawn at {window.hub.fits['cost'].scale:.2f} of its size")
    return problems


def _dock_geometries(window: MainWindow) -> dict[str, tuple[int, int, int, int]]:
    docks = window.findChildren(QtWidgets.QDockWidget)
    return {dock.objectName(): dock.geometry().getRect() for dock in docks}


def test_the_window_fits_its_screen(qtbot, window: MainWindow, monkeypatch) -> None:
    width = window.width()
    # the figure keeps at least half of the width; the panels stay within their limits
    controls_limit, side_limit = side_panel_limits(width)
    assert window.centralWidget().width() >= width / 2
    assert window.controls_dock.width() <= controls_limit
    assert window.output_dock.width() <= side_limit and window.cost_dock.width() <= side_limit
    assert window.controls_dock.width() >= window.controls.minimumWidth()
    assert _row_problems(window) == []
    assert _cost_chart_problems(window) == []
    assert window.views["cost"].compact_table == (width < 1600)  # formulas where there is room

    # hiding the panels and bringing them back restores the layout and the chart
    before = _dock_geometries(window)
    window.presentation.enter()
    _settle()
    window.presentation.leave()
    _settle()
    for dock in (window.cost_dock, window.output_dock):
        dock.toggleViewAction().trigger()
    _settle()
    assert not window.cost_dock.isVisible()
    for dock in (window.output_dock, window.cost_dock):
        dock.toggleViewAction().trigger()
    _settle()
    assert _dock_geometries(window) == before
    assert _cost_chart_problems(window) == []
    assert _row_problems(window) == []

    # an image that fails to load: its message shows, and the rows keep their place and size
    rows = [_rect_in_window(bar, window) for _, bar in window.output_view.row_widgets()]
    with qtbot.waitSignal(window.messageShown, timeout=10_000):
        window.open_image(Path(window.settings.fileName()).parent / "missing.png")
    _settle()
    assert "missing.png" in window.output_view.message_text()
    assert [_rect_in_window(bar, window) for _, bar in window.output_view.row_widgets()] == rows
    assert _row_problems(window) == []
    banner = window.findChild(QtWidgets.QLabel, "outputMessage")
    assert banner.isVisible() and not _visible_rect(banner, window).isEmpty()
    assert not any(_visible_rect(banner, window).intersects(row) for row in rows)
