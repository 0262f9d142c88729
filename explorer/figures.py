"""The figure registry: every figure view of the explorer by name.

The main window shows the views of :func:`create_views`; the command line export builds
them offscreen, without a main window, with :func:`build_figures`.
"""

from __future__ import annotations

from explorer.state import ExplorerState, InferenceResult
from explorer.views.attention import AttentionView
from explorer.views.base import FigureView, PreparedLike
from explorer.views.cost import CostView
from explorer.views.cyclic_shift import CyclicShiftView
from explorer.views.mask import MaskView
from explorer.views.merging import MergingView
from explorer.views.patches import PatchesView
from explorer.views.regions import RegionsView
from explorer.views.windows_view import WindowsView

__all__ = ["FIGURE_NAMES", "FIGURE_VIEWS", "build_figures", "create_views"]

FIGURE_NAMES: tuple[str, ...] = (
    "patches",
    "windows",
    "regions",
    "cyclic-shift",
    "mask",
    "attention",
    "merging",
    "cost",
)

FIGURE_VIEWS: dict[str, type[FigureView]] = {
    view.figure_name: view
    for view in (
        PatchesView,
        WindowsView,
        RegionsView,
        CyclicShiftView,
        MaskView,
        AttentionView,
        MergingView,
        CostView,
    )
}
assert tuple(FIGURE_VIEWS) == FIGURE_NAMES


def create_views() -> dict[str, FigureView]:
    """One new view per figure, in FIGURE_NAMES order, empty until update_state."""
    return {name: FIGURE_VIEWS[name]() for name in FIGURE_NAMES}


def build_figures(
    state: ExplorerState,
    prepared: PreparedLike | None,
    result: InferenceResult | None = None,
    theme: str = "screen",
) -> dict[str, FigureView]:
    """Every figure view with ``theme`` applied, drawn for ``state`` on ``prepared`` and
    given ``result`` (None: the attention view says it is waiting). Needs a QApplication
    but no main window; works offscreen."""
    views = create_views()
    for view in views.values():
        view.set_theme(theme)
        view.update_state(state, prepared)
        view.update_result(result)
    return views
