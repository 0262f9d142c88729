"""The figure view contract shared by every view of the explorer.

A :class:`FigureView` is a QWidget holding one pyqtgraph scene (the figure, what export
paints), a caption line above it and a hover read-out below it (neither is part of the
figure). Views only emit intents (``queryPicked``, ``windowPicked``); the controller
decides what changes.

Lifetime: :meth:`FigureView.dispose` (also run by ``close()``) ends a view while Python is
alive: its timers stop and its scene is cleared, so no graphics item with a Python override
is destroyed from C++ during interpreter exit. Views nobody disposed are disposed by an
``atexit`` hook that runs before PySide's own clean-up.
"""

from __future__ import annotations

import atexit
import weakref
from typing import Any, ClassVar

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets
from shiboken6 import Shiboken

from explorer.figures import figure_name_of
from explorer.palette import Theme, theme
from explorer.resolved import CAPTURE_FIELDS, MODEL_FIELDS, ResolvedState, model_label, resolve
from explorer.state import ExplorerState, InferenceResult
from swin_model.windows import cyclic_shift

from .cells import PreparedLike, cell_at, padded_canvas, padding_rects
from .items import Panel, WrappedText, hatch_path, make_path_item, rect_path

__all__ = [
    "FigureView",
    "PhotoLayer",
    "PreparedLike",
    "dispose_live_views",
    "model_label",
    "result_matches",
]

_FONTS: dict[tuple[float, bool], QtGui.QFont] = {}

_live_views: weakref.WeakSet[FigureView] = weakref.WeakSet()
_exit_hooked = False


def _remember(view: FigureView) -> None:
    """Have ``view`` disposed at interpreter exit if nothing disposes it sooner."""
    global _exit_hooked
    _live_views.add(view)
    if not _exit_hooked:
        # registered after PySide's own exit handler (Qt is imported by now), so it runs first
        atexit.register(dispose_live_views)
        _exit_hooked = True


def dispose_live_views() -> None:
    """Dispose every figure view still alive (see :meth:`FigureView.dispose`): the safety
    net for scripts that leave views behind, run at interpreter exit while Python is whole."""
    for view in list(_live_views):
        if Shiboken.isValid(view):
            view.dispose()
    _live_views.clear()


def result_matches(
    result: InferenceResult | None, state: ExplorerState | None, with_block: bool = True
) -> bool:
    """Whether ``result`` answers the model, input size and (with ``with_block``) the
    stage and block that ``state`` shows; head, window and query need no new run."""
    if result is None or state is None or result.error:
        return False
    fields = MODEL_FIELDS + (CAPTURE_FIELDS if with_block else ())
    if any(getattr(result.state, name) != getattr(state, name) for name in fields):
        return False
    meta = result.record_meta
    return not (with_block and meta is not None and (meta.stage, meta.block) != (state.stage, state.block))


class FigureView(QtWidgets.QWidget):
    """One figure of the explorer. Subclasses set ``explanation`` (the one-sentence
    tooltip) and implement :meth:`_redraw`; their name comes from the figure registry."""

    explanation: ClassVar[str] = ""

    queryPicked = QtCore.Signal(int, int)
    """(row, col) of a token of the selected stage's grid, clicked on the image."""
    windowPicked = QtCore.Signal(int)
    """Row-major index of a window of the selected stage (under the block's shift)."""
    stagePicked = QtCore.Signal(int)
    """A stage (0-based) the user clicked in a diagram."""
    blockPicked = QtCore.Signal(int, int)
    """(stage, block), 0-based, the user clicked in a diagram."""
    figureRequested = QtCore.Signal(str)
    """The registry name of a figure the user asked to see (e.g. a block's attention)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme: Theme = theme("screen")
        self.context: ResolvedState | None = None
        self.prepared: PreparedLike | None = None
        self.result: InferenceResult | None = None
        self._dirty = False
        self._disposed = False
        _remember(self)
        self._redraw_timer = QtCore.QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.timeout.connect(self._redraw_later)

        self._caption_label = QtWidgets.QLabel()
        self._caption_label.setWordWrap(True)
        self._caption_label.setToolTip(self.explanation)
        self._graphics = pg.GraphicsLayoutWidget()
        self._graphics.setToolTip(self.explanation)
        self._graphics.setAntialiasing(True)
        self._hover_label = QtWidgets.QLabel(" ")
        self._hover_label.setToolTip("What is under the mouse pointer.")
        self.controls = QtWidgets.QHBoxLayout()
        self.controls.setContentsMargins(0, 0, 0, 0)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addWidget(self._caption_label)
        layout.addWidget(self._graphics, 1)
        layout.addLayout(self.controls)
        layout.addWidget(self._hover_label)

        root = self._graphics.ci
        self.body: pg.GraphicsLayout = root.addLayout(row=0, col=0)
        self.note = WrappedText()
        root.addItem(self.note, row=1, col=0)
        self._note_html = ""

        scene = self._graphics.scene()
        scene.sigMouseMoved.connect(self._on_mouse_moved)
        scene.sigMouseClicked.connect(self._on_mouse_clicked)
        self.setToolTip(self.explanation)
        self._build()
        self.set_theme("screen")

    # --- the contract -------------------------------------------------------------------

    @property
    def figure_name(self) -> str:
        """The figure's registry name (its export file stem)."""
        return figure_name_of(type(self))

    def update_state(self, state: ResolvedState | ExplorerState, prepared: PreparedLike | None) -> None:
        """Redraw geometry and cost for ``state`` (resolved once by the controller; a plain
        state is resolved here) on ``prepared``'s photo.

        A view inside a hidden page of the window (a background tab) only remembers the
        state and redraws when it is shown, or when its caption or scene is asked for."""
        self.context = state if isinstance(state, ResolvedState) else resolve(state)
        self.prepared = prepared
        self._dirty = True
        if not self._hidden_in_window():
            self.flush()

    def update_result(self, result: InferenceResult | None) -> None:
        """Take the newest model result (None: none yet). Only attention and cost use it."""
        self.result = result
        if self.context is None:
            return
        if self._dirty or self._hidden_in_window():
            self._dirty = True
            if not self._hidden_in_window():
                self.flush()
            return
        if self._disposed:
            return
        self._result_changed()
        self.refresh_caption()

    def flush(self) -> None:
        """Draw the pending state now (no-op when nothing is pending, or once disposed)."""
        if self._dirty and self.context is not None and not self._disposed:
            self._dirty = False
            self._redraw()
            self.refresh_caption()

    def refresh_caption(self) -> None:
        """Show the current caption above the figure."""
        self._caption_label.setText(self.caption())

    def caption(self) -> str:
        self.flush()
        if self.context is None:
            return self.figure_name
        return " · ".join(self._caption_parts())

    def set_theme(self, name: str) -> None:
        """ "screen" (dark) or "slide" (white background, large fonts), same palette."""
        self.theme = theme(name)
        if self._disposed:
            return
        self._graphics.setBackground(self.theme.background)
        self._style_labels()
        self._theme_changed()
        if self.context is not None:
            self._dirty = True
            if not self._hidden_in_window():
                self.flush()

    def view_options(self) -> dict[str, str]:
        """The figure's own switches, which the explorer state does not hold (the split of
        the architecture, the rollout, the cyclic shift's step), as texts by name. An export
        in another process applies them with :meth:`set_view_option` (the command line's
        ``--view FIGURE.NAME=VALUE``), so it draws the figure as it is shown."""
        return {}

    def set_view_option(self, name: str, value: str) -> None:
        """Set switch ``name`` of :meth:`view_options` from its text; ValueError names what
        is allowed when ``name`` or ``value`` is not."""
        raise ValueError(f"the {self.figure_name} figure has no option {name!r}")

    def render_target(self) -> pg.GraphicsView:
        """The pyqtgraph view whose scene is the figure (drawn up to date)."""
        self.flush()
        return self._graphics

    def _hidden_in_window(self) -> bool:
        return self.parentWidget() is not None and not self.isVisible()

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        self.flush()

    def redraw_soon(self) -> None:
        """Redraw once the event loop is back (after a resize or zoom that changes the level
        of detail); a hidden view redraws when it is shown."""
        self._dirty = True
        self._redraw_timer.start(0)

    @QtCore.Slot()
    def _redraw_later(self) -> None:
        if not self._hidden_in_window():
            self.flush()

    # --- the end ------------------------------------------------------------------------

    def dispose(self) -> None:
        """End the view while Python is fully alive: stop what it runs (timers), disconnect
        its scene and close its graphics view, which deletes every item of the scene
        (pyqtgraph's ``GraphicsView.close``), so no item is destroyed later from C++
        during interpreter exit. Afterwards the view keeps taking states and results but
        draws nothing. Idempotent; ``close()`` calls it (see :meth:`closeEvent`)."""
        if self._disposed:
            return
        self._disposed = True
        self._dirty = False
        _live_views.discard(self)
        self._redraw_timer.stop()
        self._dispose()
        scene = self._graphics.scene()
        if scene is not None:
            scene.sigMouseMoved.disconnect(self._on_mouse_moved)
            scene.sigMouseClicked.disconnect(self._on_mouse_clicked)
        self._graphics.close()

    def is_disposed(self) -> bool:
        return self._disposed

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        """Closing a figure view ends it (:meth:`dispose`): the window and the export code
        close a view only to delete it."""
        super().closeEvent(event)
        if event.isAccepted():
            self.dispose()

    # --- for subclasses -----------------------------------------------------------------

    def _caption_parts(self) -> list[str]:
        assert self.context is not None
        return self.context.caption_parts()

    def _build(self) -> None:
        """Create the panels and items (once)."""
        raise NotImplementedError

    def _redraw(self) -> None:
        """Draw ``self.context`` (set by update_state)."""
        raise NotImplementedError

    def _result_changed(self) -> None:
        """A new result arrived; views that show model output redraw."""

    def _dispose(self) -> None:
        """Stop whatever the view runs by itself (timers) and release what the scene does
        not own; called once, by :meth:`dispose`, before the scene is cleared."""

    def _theme_changed(self) -> None:
        """Restyle what a redraw does not restyle (titles, axes)."""

    def query_token_at(self, x: float, y: float) -> tuple[int, int] | None:
        """The selected stage's token under pixel (x, y) of the photo (None on the padding or
        outside)."""
        assert self.context is not None
        geometry = self.context.geometry
        return cell_at(x, y, geometry.stride, geometry.height, geometry.width)

    def pick_at(self, x: float, y: float) -> None:
        """Emit queryPicked for the token under pixel (x, y) of the photo, if there is one."""
        token = self.query_token_at(x, y)
        if token is not None:
            self.queryPicked.emit(*token)

    def _hover_text(self, scene_pos: QtCore.QPointF) -> str | None:
        return None

    def _clicked(self, scene_pos: QtCore.QPointF) -> None:
        """A left click at ``scene_pos``."""

    def set_note(self, html: str) -> None:
        """The text under the figure (part of the figure: exported with it)."""
        self._note_html = html
        self.note.set_html(html, self.theme.foreground, self.theme.label_size)

    def note_text(self) -> str:
        """The note as plain text (tags removed)."""
        return self.note.plain_text()

    def hover_text(self) -> str:
        return self._hover_label.text()

    def style_title(self, label: WrappedText, text: str) -> None:
        """Write a panel title (bold, centred, wrapped to the panel's width)."""
        label.set_html(f"<b>{text}</b>", self.theme.foreground, self.theme.label_size + 1)

    def qfont(self, size: int | None = None, bold: bool = False) -> QtGui.QFont:
        """A shared font of ``size`` points (the theme's small size by default); do not modify."""
        key = (float(size if size is not None else self.theme.small_size), bold)
        font = _FONTS.get(key)
        if font is None:
            font = QtGui.QFont()
            font.setPointSizeF(key[0])
            font.setBold(bold)
            _FONTS[key] = font
        return font

    def pen(
        self, color: str, width: float | None = None, dashed: bool = False, alpha: int = 255
    ) -> QtGui.QPen:
        qcolor = QtGui.QColor(color)
        qcolor.setAlpha(alpha)
        pen = pg.mkPen(qcolor, width=width if width is not None else self.theme.line_width)
        pen.setCosmetic(True)
        if dashed:
            pen.setStyle(QtCore.Qt.PenStyle.DashLine)
        return pen

    @staticmethod
    def brush(color: str, alpha: int = 255, pattern: Any = None) -> QtGui.QBrush:
        qcolor = QtGui.QColor(color)
        qcolor.setAlpha(alpha)
        return QtGui.QBrush(qcolor) if pattern is None else QtGui.QBrush(qcolor, pattern)

    def _style_labels(self) -> None:
        self._caption_label.setStyleSheet(f"font-size: {self.theme.label_size + 1}pt; font-weight: bold;")
        self._hover_label.setStyleSheet(f"font-size: {self.theme.label_size}pt;")
        self.set_note(self._note_html)

    # --- mouse --------------------------------------------------------------------------

    def _on_mouse_moved(self, scene_pos: QtCore.QPointF) -> None:
        if self.context is None or self._disposed:
            return
        text = self._hover_text(scene_pos)
        self._hover_label.setText(text if text else " ")

    def _on_mouse_clicked(self, event: Any) -> None:
        if self.context is None or self._disposed or event.button() != QtCore.Qt.MouseButton.LeftButton:
            return
        self._clicked(event.scenePos())


class PhotoLayer:
    """The photo on its padded canvas in a panel, the padding drawn grey and hatched
    (vector), optionally rolled as the cyclic shift rolls the feature map."""

    def __init__(self, panel: Panel) -> None:
        self.panel = panel
        self.fill = make_path_item(panel.viewbox, z=5, crisp=True)
        self.hatch = make_path_item(panel.viewbox, z=6)
        self.fill.setToolTip(
            "Zero padding: the model pads the map to a multiple of the patch "
            "and of the window; padded tokens carry zeros."
        )
        self._prepared: object | None = None
        self._key: tuple[Any, ...] | None = None

    def draw(self, view: FigureView, extent_height: int, extent_width: int, roll: int = 0) -> None:
        """Show the photo on an ``extent`` canvas, rolled up and left by ``roll`` pixels."""
        assert view.context is not None and self.panel.image is not None
        image_shape = view.context.image_shape
        key = (image_shape, extent_height, extent_width, roll, view.theme.name)
        if key == self._key and self._prepared is view.prepared:
            return
        self._key, self._prepared = key, view.prepared
        fill = QtGui.QColor(view.theme.padding)
        # a photo still prepared for the previous input size is shown stretched until the new
        # one is ready: drawn at its own resolution, the image item does the stretching
        shown = image_shape if view.prepared is None else tuple(view.prepared.display.shape[:2])
        scale_y, scale_x = shown[0] / image_shape[0], shown[1] / image_shape[1]
        canvas = padded_canvas(view.prepared, (shown[0], shown[1]), round(extent_height * scale_y),
                               round(extent_width * scale_x), (fill.red(), fill.green(), fill.blue()))
        if roll:
            canvas = cyclic_shift(canvas, round(roll * scale_y), dims=(0, 1))
        rects = padding_rects(image_shape, extent_height, extent_width, roll)
        # uint8 RGB shown as it is: levels would rescale every pixel on each change
        self.panel.image.setImage(canvas, autoLevels=False, levels=None)
        self.panel.image.setRect(QtCore.QRectF(0, 0, extent_width, extent_height))
        self.fill.setPath(rect_path(rects))
        self.fill.setBrush(view.brush(view.theme.padding, alpha=90))
        self.hatch.setPath(hatch_path(rects, spacing=max(extent_height, extent_width) / 48))
        self.hatch.setPen(view.pen(view.theme.foreground, width=1.0, alpha=150))

    def padding_area(self) -> QtGui.QPainterPath:
        """The filled padding area as drawn (scene units = pixels)."""
        return self.fill.path()
