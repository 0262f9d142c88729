"""Figure views without a window: laid out offscreen at a stable size before export."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QGraphicsItem

if TYPE_CHECKING:
    from explorer.views.base import FigureView

__all__ = ["OFFSCREEN_FIGURE_SIZE", "prepare_offscreen"]

OFFSCREEN_FIGURE_SIZE = (1200, 900)
"""Widget size (pixels) of a figure view laid out without a window, before export."""


def prepare_offscreen(view: FigureView, size: tuple[int, int] = OFFSCREEN_FIGURE_SIZE) -> None:
    """Lay ``view`` out at ``size`` without putting a window on screen, so that its scene
    has the geometry it would have on screen (a hidden widget is never laid out)."""
    view.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    view.resize(*size)
    view.show()
    QApplication.processEvents()
    target = view.render_target()
    central = getattr(target, "centralWidget", None)
    for _ in range(3):  # a layout that needs more height than it got: give it that height
        if not isinstance(central, QGraphicsItem):
            break
        missing = math.ceil(central.sceneBoundingRect().height() - target.viewport().height())
        if missing <= 0:
            break
        view.resize(view.width(), view.height() + missing)
        QApplication.processEvents()
