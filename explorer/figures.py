"""The figure registry: one entry per figure of the explorer.

An entry names the figure (its export file stem and command-line name), titles it, says
where the window shows it (a tab, or the side panel), whether it animates (the cyclic
shift exports as a GIF and as frames), whether it uses the model's result or only
geometry, and which view class draws it. Tabs, their shortcuts, export file names, the
command line's figure choices and the tests' figure lists all come from here: a new figure
is one view module plus one entry in :data:`FIGURES`.

Importing this module is light (no Qt, no pyqtgraph): the window builds its tabs from the
entries before the view code loads, and each view class is imported on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from explorer.state import ExplorerState, InferenceResult
    from explorer.views.base import FigureView, PreparedLike

__all__ = [
    "FIGURES",
    "FIGURE_NAMES",
    "FigureSpec",
    "animated_figures",
    "build_figures",
    "create_views",
    "figure",
    "figure_name_of",
    "tab_figures",
]

Place = Literal["tab", "side"]


@dataclass(frozen=True)
class FigureSpec:
    """One figure. ``view`` is ``"module:Class"`` of its :class:`FigureView` subclass."""

    name: str
    title: str
    view: str
    place: Place = "tab"
    animates: bool = False
    needs_model: bool = False

    def view_class(self) -> type[FigureView]:
        module, _, class_name = self.view.partition(":")
        view_class: type[FigureView] = getattr(importlib.import_module(module), class_name)
        return view_class

    def create(self) -> FigureView:
        """A new, empty view of this figure (needs a QApplication)."""
        return self.view_class()()


FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec("vit-vs-swin", "ViT vs Swin", "explorer.views.vit_vs_swin:VitVsSwinView"),
    FigureSpec("architecture", "Architecture", "explorer.views.architecture:ArchitectureView"),
    FigureSpec("patches", "Patches", "explorer.views.patches:PatchesView"),
    FigureSpec("windows", "Windows", "explorer.views.windows_view:WindowsView"),
    FigureSpec("block", "Block pair", "explorer.views.block:BlockView"),
    FigureSpec("regions", "Shift regions", "explorer.views.regions:RegionsView"),
    FigureSpec("cyclic-shift", "Cyclic shift", "explorer.views.cyclic_shift:CyclicShiftView", animates=True),
    FigureSpec("mask", "Mask", "explorer.views.mask:MaskView"),
    FigureSpec("attention", "Attention", "explorer.views.attention:AttentionView", needs_model=True),
    FigureSpec("relative-position", "Position bias", "explorer.views.relative_position:RelativePositionView",
               needs_model=True),
    FigureSpec("merging", "Merging", "explorer.views.merging:MergingView"),
    FigureSpec("receptive-field", "Receptive field", "explorer.views.receptive_field:ReceptiveFieldView"),
    FigureSpec("cost", "Cost", "explorer.views.cost:CostView", place="side", needs_model=True),
)
"""Every figure, in teaching order (the order of tabs, exports and the command line)."""

FIGURE_NAMES: tuple[str, ...] = tuple(spec.name for spec in FIGURES)

_BY_NAME = {spec.name: spec for spec in FIGURES}
_BY_VIEW = {spec.view: spec for spec in FIGURES}
if len(_BY_NAME) != len(FIGURES) or len(_BY_VIEW) != len(FIGURES):
    raise RuntimeError("figure names and view classes must be unique in FIGURES")


def figure(name: str) -> FigureSpec:
    """The entry called ``name``; KeyError names the known figures."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown figure {name!r}; known: {', '.join(FIGURE_NAMES)}") from None


def figure_name_of(view_class: type) -> str:
    """The registry name of ``view_class`` ("" for a view that is not a registered figure)."""
    spec = _BY_VIEW.get(f"{view_class.__module__}:{view_class.__qualname__}")
    return spec.name if spec is not None else ""


def tab_figures() -> tuple[FigureSpec, ...]:
    """The figures shown as tabs, in tab order (Ctrl+1 is the first)."""
    return tuple(spec for spec in FIGURES if spec.place == "tab")


def animated_figures(names: Iterable[str] = FIGURE_NAMES) -> tuple[FigureSpec, ...]:
    """The figures among ``names`` that also export as an animation."""
    chosen = set(names)
    return tuple(spec for spec in FIGURES if spec.animates and spec.name in chosen)


def create_views(names: Iterable[str] = FIGURE_NAMES) -> dict[str, FigureView]:
    """One new view per figure in ``names`` (registry order), empty until update_state."""
    chosen = set(names)
    return {spec.name: spec.create() for spec in FIGURES if spec.name in chosen}


def build_figures(
    state: ExplorerState,
    prepared: PreparedLike | None,
    result: InferenceResult | None = None,
    theme: str = "screen",
    names: Iterable[str] = FIGURE_NAMES,
) -> dict[str, FigureView]:
    """The views of ``names`` with ``theme`` applied, drawn for ``state`` on ``prepared``
    and given ``result`` (None: the attention view says it is waiting). Needs a
    QApplication but no main window; works offscreen."""
    from explorer.resolved import resolve

    resolved = resolve(state)
    views = create_views(names)
    for view in views.values():
        view.set_theme(theme)
        view.update_state(resolved, prepared)
        view.update_result(result)
    return views
