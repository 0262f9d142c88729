"""Pools of text labels that the figure views reuse from one redraw to the next.

A redraw writes its labels through a :class:`TextPool`: labels that did not change cost
nothing, and the ones left over are hidden rather than deleted. :class:`TextPoolCache`
keeps one pool per recent state, so going back to it only toggles visibility;
:class:`LruCache` remembers the arrays and paths of recent states the same way.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from .items import Label

__all__ = ["LruCache", "TextPool", "TextPoolCache"]


def label_layer() -> QtWidgets.QGraphicsItem:
    """An empty item to hold the labels of one pool: added to the view box once, it spares
    each new label the view box's own ``addItem`` (a scene insertion, a re-parenting and an
    auto-range request per label, the bulk of the cost of a first draw with hundreds of
    labels). It paints nothing (an empty rectangle with no pen, flagged as holding no
    contents); its children are placed in the view box's coordinates as they would be
    directly in it."""
    layer = QtWidgets.QGraphicsRectItem()
    layer.setPen(QtGui.QPen(QtCore.Qt.PenStyle.NoPen))
    layer.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemHasNoContents)
    return layer


class TextPool:
    """Reusable labels in one view box: a redraw reuses the labels it drew last time
    (unchanged ones cost nothing) and hides the rest. The labels sit in one
    :func:`label_layer` at depth ``z`` among the view box's items."""

    def __init__(self, viewbox: pg.ViewBox, z: float = 30.0) -> None:
        self._viewbox = viewbox
        self._z = z
        self._layer: QtWidgets.QGraphicsItem | None = None
        self._items: list[Label] = []
        self._used = 0

    def begin(self) -> None:
        self._used = 0

    def add(
        self,
        text: str,
        x: float,
        y: float,
        color: str,
        font: QtGui.QFont,
        anchor: tuple[float, float] = (0.5, 0.5),
        angle: float = 0.0,
    ) -> Label:
        if self._used == len(self._items):
            if self._layer is None:
                self._layer = label_layer()
                self._layer.setZValue(self._z)
                self._viewbox.addItem(self._layer, ignoreBounds=True)
            item = Label()
            item.setZValue(self._z)
            item.setParentItem(self._layer)
            self._items.append(item)
        item = self._items[self._used]
        self._used += 1
        item.configure(text, color, font, anchor, angle)
        item.setPos(x, y)
        item.setVisible(True)
        return item

    def end(self) -> None:
        for item in self._items[self._used :]:
            if item.isVisible():
                item.setVisible(False)

    def visible(self) -> list[Label]:
        return self._items[: self._used]

    def set_shown(self, shown: bool) -> None:
        """Show or hide every label this pool drew last."""
        for item in self._items[: self._used]:
            item.setVisible(shown)


class LruCache(OrderedDict):
    """A dict that forgets its least recently used entries beyond ``capacity``."""

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity

    def fetch(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The value for ``key``, computed (and remembered) on a miss."""
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = self[key] = compute()
        while len(self) > self.capacity:
            self.popitem(last=False)
        return value


class TextPoolCache:
    """One label pool per key, so that going back to a recent state only toggles
    visibility instead of rewriting every label."""

    def __init__(self, viewbox: pg.ViewBox, capacity: int = 3, z: float = 30.0) -> None:
        self._viewbox = viewbox
        self._z = z
        self._capacity = capacity
        self._pools: OrderedDict[Hashable, TextPool] = OrderedDict()
        self._spare: list[TextPool] = []
        self.current: TextPool | None = None

    def show(self, key: Hashable, draw: Callable[[TextPool], None]) -> TextPool:
        """Show the labels of ``key``; ``draw(pool)`` fills a pool on a miss (between
        ``begin`` and ``end``, which this calls)."""
        pool = self._pools.get(key)
        if pool is None:
            pool = self._spare.pop() if self._spare else TextPool(self._viewbox, self._z)
            pool.begin()
            draw(pool)
            pool.end()
            self._pools[key] = pool
            while len(self._pools) > self._capacity:
                _, evicted = self._pools.popitem(last=False)
                evicted.set_shown(False)
                self._spare.append(evicted)
        self._pools.move_to_end(key)
        if pool is not self.current:
            if self.current is not None:
                self.current.set_shown(False)
            pool.set_shown(True)
            self.current = pool
        return pool

    def clear(self) -> None:
        """Forget every pool (after a theme change)."""
        for pool in self._pools.values():
            pool.set_shown(False)
            self._spare.append(pool)
        self._pools.clear()
        self.current = None

    def visible(self) -> list[Label]:
        return self.current.visible() if self.current is not None else []
