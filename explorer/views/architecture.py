"""Figure "architecture": the paper's overview (its Figure 3a) drawn from the current model and
input size: image → patch partition → linear embedding → four stages of Swin blocks with
patch merging between them, every shape, head count, window and shift the real one."""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable
from dataclasses import dataclass, field

from PySide6 import QtCore, QtGui, QtWidgets

from explorer.resolved import model_label

from .base import FigureView
from .cells import padded_canvas
from .items import Panel
from .lecture_diagram import (
    EMBED_COLOR,
    MERGE_COLOR,
    SWMSA_COLOR,
    WMSA_FILL,
    Diagram,
    diagram_sizes,
)
from .lecture_layout import (
    Rect,
    Split,
    attention_name,
    block_cells,
    merging_slots,
    shape_text,
    symbolic_shape,
)

__all__ = ["ArchitectureView"]

FILL_ALPHA = 80


@dataclass
class _Column:
    """One column of the overview: a header of three lines (title, the paper's symbolic
    shape, the real shape), a box at its start and at its end (lines of text, or none),
    the stage's blocks (stage columns only) and information lines under everything."""

    name: int | str
    """The stage (0-based) of a stage column, else "image" or "partition"; texts are keyed
    (what, name)."""
    title: str
    symbolic: str
    shape: str
    start: list[str] | None = None
    start_kind: str = ""
    end: list[str] | None = None
    end_kind: str = ""
    stage: int | None = None
    info: list[tuple[str, str]] = field(default_factory=list)
    """(key name, text) of each information line."""
    x: float = 0.0
    width: float = 0.0
    entry: tuple[float, float] = (0.0, 0.0)
    """Where the arrow from the previous column ends (diagram units)."""
    exit: tuple[float, float] = (0.0, 0.0)
    """Where the arrow to the next column starts."""


class ArchitectureView(FigureView):
    """The Swin Transformer's overview as the paper draws it, computed from the current
    configuration and input size.

    Columns: the image (H×W×3), the patch partition (4×4 patches of 48 values), then one
    column per stage with its blocks (W-MSA and SW-MSA in pairs), the stage's real shape,
    heads, effective window, shift, number of windows and padding. A switch moves patch
    merging between the paper's split (at the start of stages 2-4) and the official code's
    (at the end of stages 1-3, with the embedding in ``patch_embed``). The selected stage
    and block are outlined; clicking a stage emits :attr:`stagePicked`, a block
    :attr:`blockPicked`.
    """

    explanation = (
        "Architecture: the image is cut into 4×4 patches, embedded to C channels, and passed "
        "through four stages of Swin blocks; patch merging between stages halves the "
        "resolution and doubles the channels."
    )


    def _build(self) -> None:
        self.panel = Panel(self.body, 0, 0)
        assert self.panel.image is not None
        self.panel.image.setToolTip("The input image.")
        self.diagram = Diagram(self.panel.viewbox)
        self.split_check = QtWidgets.QCheckBox("Official code's split (patch merging ends stages 1-3)")
        self.split_check.setToolTip(
            "Unticked: the paper's Figure 3, where patch merging starts stages 2-4. Ticked: the "
            "official code, where each BasicLayer ends with its patch merging and the linear "
            "embedding belongs to patch_embed. The same network, split differently."
        )
        self.split_check.toggled.connect(self._split_toggled)
        self.controls.addWidget(self.split_check)
        self.controls.addStretch(1)
        self._columns: list[_Column] = []
        self._photo_key: tuple[object, ...] | None = None
        self._photo_prepared: object | None = None

    # --- reading back ------------------------------------------------------------------------

    def split(self) -> Split:
        return "code" if self.split_check.isChecked() else "paper"

    def set_split(self, split: Split) -> None:
        """Show the paper's or the official code's split (what the switch does)."""
        self.split_check.setChecked(split == "code")

    def view_options(self) -> dict[str, str]:
        return {"split": self.split()}

    def set_view_option(self, name: str, value: str) -> None:
        if name != "split" or value not in ("paper", "code"):
            raise ValueError(f"the {self.figure_name} figure takes split=paper or split=code, "
                             f"not {name}={value}")
        self.set_split("code" if value == "code" else "paper")

    def drawn_text(self, key: Hashable) -> str:
        """The text drawn with ``key``: ("shape", s), ("symbolic", s), ("window", s),
        ("pad", s), ("blocks", s), ("heads", s), ("windows", s), ("block", s, b), ...
        ("" when none is drawn)."""
        item = self.diagram.texts_by_key.get(key)
        return item.text() if item is not None and item.isVisible() else ""

    def box_rect(self, key: Hashable) -> Rect | None:
        """Where the box drawn with ``key`` lies (diagram units): ("block", s, b),
        ("merging", s) for the merging after stage s, ("embedding",), ("partition",),
        ("frame", s), ("column", s) for the whole column of stage s."""
        return self.diagram.key_rect(key)

    def highlighted(self) -> list[Hashable]:
        """The keys of the boxes drawn with the highlight outline."""
        width = self._highlight_pen().widthF()
        return [
            key
            for key, item in self.diagram.boxes_by_key.items()
            if item.isVisible() and item.pen().widthF() == width
        ]

    # --- drawing -----------------------------------------------------------------------------

    def _split_toggled(self) -> None:
        if self.context is not None:
            self._dirty = True
            self.flush()

    def _highlight_pen(self) -> QtGui.QPen:
        return self.pen(self.theme.accent, self.theme.thick_width + 1.0)

    def _make_columns(self) -> list[_Column]:
        context = self.context
        assert context is not None
        config = context.config
        geometries = context.geometries
        height, width = context.image_shape
        patch = config.patch_size
        first = geometries[0]
        split = self.split()
        values = patch * patch * config.in_chans
        padded = (first.height * patch, first.width * patch)
        image = _Column(
            name="image",
            title="Image",
            symbolic=f"H×W×{config.in_chans}",
            shape=f"{height}×{width}×{config.in_chans}",
        )
        if padded != (height, width):
            image.info = [("pad", "zero-padded"), ("pad-to", f"to {padded[0]}×{padded[1]}")]
        partition = _Column(
            name="partition",
            title="Patches",
            symbolic=f"H/{patch}×W/{patch}×{values}",
            shape=shape_text(first.height, first.width, values),
            start=[
                "Patch partition",
                f"{patch}×{patch} px patches",
                f"{patch}·{patch}·{config.in_chans} = {values}",
            ],
            start_kind="partition",
        )
        if split == "code":
            partition.info = [
                ("code", "code: patch_embed"),
                ("conv", f"= one {patch}×{patch} conv,"),
                ("stride", f"stride {patch}"),
            ]
        columns = [image, partition]
        slots = {(slot.shown_in, slot.position): slot.after for slot in merging_slots(len(geometries), split)}
        for geometry in geometries:
            stage = geometry.stage
            column = _Column(
                name=stage,
                title=f"Stage {stage + 1}",
                symbolic=symbolic_shape(stage, patch),
                shape=shape_text(geometry.height, geometry.width, geometry.channels),
                stage=stage,
            )
            if stage == 0:
                column.start = ["Linear embedding", f"{values} → {geometry.channels}"]
                column.start_kind = "embedding"
            for position in ("start", "end"):
                after = slots.get((stage, position))
                if after is None:
                    continue
                source, target = geometries[after], geometries[after + 1]
                lines = [
                    "Patch merging",
                    shape_text(source.height, source.width, source.channels),
                    f"→ {shape_text(target.height, target.width, target.channels)}",
                ]
                if position == "start":
                    column.start, column.start_kind = lines, f"merging:{after}"
                else:
                    column.end, column.end_kind = lines, f"merging:{after}"
            window = geometry.window_size
            shrunk = " (shrunk)" if geometry.window_shrunk else ""
            column.info = [
                ("blocks", f"×{geometry.depth} blocks"),
                ("heads", f"{geometry.num_heads} heads"),
                ("window", f"M = {window}{shrunk}"),
                ("shift", f"shift {geometry.shift_size}"),
                ("windows", f"{geometry.windows_per_column}×{geometry.windows_per_row} windows"),
            ]
            if (geometry.padded_height, geometry.padded_width) != (geometry.height, geometry.width):
                column.info.append(("pad", f"pad → {geometry.padded_height}×{geometry.padded_width}"))
            columns.append(column)
        return columns

    def _redraw(self) -> None:
        context = self.context
        assert context is not None
        diagram = self.diagram
        theme = self.theme
        small, large = diagram_sizes(theme)
        line = 1.3 * small
        pad = 0.5 * small
        frame_pad = 0.45 * small
        gap = 2.4 * small
        columns = self._make_columns()
        self._columns = columns
        geometries = context.geometries

        block_width = diagram.measure("SW-MSA", small)[0] + 0.8 * small
        block_height = 1.6 * small
        block_gap = 0.35 * small
        pair_width = 2 * block_width + block_gap
        box_lines = max(len(lines) for column in columns for lines in (column.start, column.end) if lines)
        slot_height = box_lines * line + 2 * pad

        def text_width(text: str, size: float, bold: bool = False) -> float:
            return diagram.measure(text, size, bold)[0]

        x = 0.0
        for column in columns:
            widths = [
                text_width(column.title, large, True),
                text_width(column.symbolic, small),
                text_width(column.shape, small, True),
                *(text_width(text, small, True) for _, text in column.info),
            ]
            for lines in (column.start, column.end):
                if lines:
                    widths.extend(
                        text_width(text, small, index == 0) + 2 * pad + 2 * frame_pad
                        for index, text in enumerate(lines)
                    )
            if column.stage is not None:
                widths.append(pair_width + 2 * frame_pad)
            if column.name == "image":
                widths.append(slot_height)
            column.x, column.width = x, max(widths)
            x += column.width + gap

        diagram.begin()
        foreground, muted = theme.foreground, theme.muted
        title_y = 0.0
        symbolic_y = 1.35 * large
        shape_y = symbolic_y + line
        frame_top = shape_y + line + 0.3 * small
        start_y = frame_top + frame_pad
        blocks_top = start_y + slot_height + 2 * frame_pad + 0.5 * small
        flow_y = start_y + slot_height / 2
        selected_stage, selected_block = context.stage, context.block
        frame_pen = self.pen(muted, theme.line_width, dashed=True)
        box_pen = self.pen(foreground, theme.line_width)
        highlight = self._highlight_pen()
        bottoms: list[float] = []
        for column in columns:
            centre = column.x + column.width / 2
            stage = column.stage
            key = column.name
            diagram.text(
                column.title,
                centre,
                title_y,
                large,
                foreground,
                bold=True,
                anchor=(0.5, 0.0),
                key=("title", key),
            )
            diagram.text(
                column.symbolic, centre, symbolic_y, small, muted, anchor=(0.5, 0.0), key=("symbolic", key)
            )
            diagram.text(
                column.shape,
                centre,
                shape_y,
                small,
                foreground,
                bold=True,
                anchor=(0.5, 0.0),
                key=("shape", key),
            )
            inner_x = column.x + frame_pad
            inner_width = column.width - 2 * frame_pad
            occupied: list[Rect] = []
            column.entry = (column.x, flow_y)
            column.exit = (column.x + column.width, flow_y)
            if column.name == "image":
                photo = Rect(centre - slot_height / 2, start_y, slot_height, slot_height)
                self._draw_photo(photo)
                column.exit = (photo.right, flow_y)
            bottom = start_y + slot_height
            if column.start:
                rect = Rect(inner_x, start_y, inner_width, slot_height)
                self._draw_box(column.start, column.start_kind, rect, small, line, box_pen)
                if column.start_kind != "embedding" or self.split() == "paper":
                    occupied.append(rect)
            elif stage is not None:
                column.entry = (column.x, blocks_top + block_height / 2)
            if stage is not None:
                geometry = geometries[stage]
                pair_left = centre - pair_width / 2
                rows = math.ceil(geometry.depth / 2)
                for block, (row, col) in enumerate(block_cells(geometry.depth)):
                    rect = Rect(
                        pair_left + col * (block_width + block_gap),
                        blocks_top + row * (block_height + block_gap),
                        block_width,
                        block_height,
                    )
                    name = attention_name(geometry, block)
                    colour = SWMSA_COLOR if name == "SW-MSA" else WMSA_FILL
                    chosen = (stage, block) == (selected_stage, selected_block)
                    diagram.box(
                        rect,
                        highlight if chosen else box_pen,
                        self.brush(colour, FILL_ALPHA + 40),
                        radius=0.25 * small,
                        z=12,
                        key=("block", stage, block),
                        tooltip=f"Stage {stage + 1}, block {block + 1}: {name}; click to select it.",
                    )
                    diagram.text(
                        name, *rect.centre, small, foreground, anchor=(0.5, 0.5), key=("block", stage, block)
                    )
                blocks_rect = Rect(
                    pair_left, blocks_top, pair_width, rows * (block_height + block_gap) - block_gap
                )
                occupied.append(blocks_rect)
                bottom = blocks_rect.bottom
                if column.start:
                    diagram.arrow([(centre, start_y + slot_height), (centre, blocks_top)], 0.5 * small)
                if column.end:
                    end_top = bottom + 0.6 * small
                    rect = Rect(inner_x, end_top, inner_width, slot_height)
                    diagram.arrow([(centre, bottom), (centre, end_top)], 0.5 * small)
                    self._draw_box(column.end, column.end_kind, rect, small, line, box_pen)
                    occupied.append(rect)
                    column.exit = (column.x + column.width, rect.y + rect.height / 2)
                    bottom = rect.bottom
                frame = occupied[0]
                for rect in occupied[1:]:
                    frame = frame.united(rect)
                frame = Rect(column.x, frame.y - frame_pad, column.width, frame.height + 2 * frame_pad)
                diagram.box(
                    frame,
                    highlight if stage == selected_stage else frame_pen,
                    None,
                    radius=0.4 * small,
                    z=5,
                    key=("frame", stage),
                )
                bottom = frame.bottom
            bottoms.append(bottom)
        if self.split() == "code":
            partition = self.diagram.key_rect(("partition",))
            embedding = self.diagram.key_rect(("embedding",))
            if partition is not None and embedding is not None:
                frame = partition.united(embedding).grown(frame_pad)
                diagram.box(
                    frame,
                    frame_pen,
                    None,
                    radius=0.4 * small,
                    z=5,
                    key=("patch_embed",),
                    tooltip="patch_embed: in the official code the partition and the linear "
                    "embedding are one 4×4 convolution of stride 4.",
                )

        info_top = max(bottoms) + 0.7 * small
        for column in columns:
            centre = column.x + column.width / 2
            key = column.name
            for index, (name, text) in enumerate(column.info):
                first = index == 0 and column.stage is not None
                diagram.text(
                    text,
                    centre,
                    info_top + index * line,
                    small,
                    foreground if first else muted,
                    bold=first,
                    anchor=(0.5, 0.0),
                    key=(name, key),
                )
            if column.stage is not None:
                bottom = info_top + max(len(column.info), 1) * line
                diagram.region(
                    Rect(column.x, title_y, column.width, bottom - title_y), ("column", column.stage)
                )
        for left, right in itertools.pairwise(columns):
            (x0, y0), (x1, y1) = left.exit, right.entry
            x0, x1 = x0 + 0.2 * small, x1 - 0.2 * small
            middle = (x0 + x1) / 2
            points = [(x0, y0), (x1, y1)] if y0 == y1 else [(x0, y0), (middle, y0), (middle, y1), (x1, y1)]
            diagram.arrow(points, 0.6 * small)
        diagram.end(self.pen(foreground, theme.line_width + 0.5), self.brush(foreground))
        extent = diagram.extent.grown(0.5 * small)
        self.panel.set_extent(extent.x, extent.y, extent.width, extent.height)
        self.style_title(
            self.panel.title,
            f"{model_label(context.state)} at {context.input_text()}: "
            f"{'the paper' if self.split() == 'paper' else 'the official code'}'s split into stages",
        )
        self.set_note(self._note())

    def _draw_box(
        self, lines: list[str], kind: str, rect: Rect, small: float, line: float, pen: QtGui.QPen
    ) -> None:
        """A box of ``lines`` (the first bold); ``kind`` is "partition", "embedding" or
        "merging:s" (the merging after stage s) and makes its key."""
        if kind.startswith("merging:"):
            after = int(kind.split(":")[1])
            key: tuple[object, ...] = ("merging", after)
            colour = MERGE_COLOR
            tooltip = (
                f"Patch merging after stage {after + 1}: 2×2 neighbours concatenated (C → 4C), "
                f"LayerNorm, linear 4C → 2C."
            )
        else:
            key = (kind,)
            colour = EMBED_COLOR
            tooltip = (
                "Patch partition: 4×4-pixel patches, 48 values each."
                if kind == "partition"
                else "Linear embedding: each 48-value patch projected to C channels."
            )
        self.diagram.box(
            rect, pen, self.brush(colour, FILL_ALPHA), radius=0.3 * small, z=10, key=key, tooltip=tooltip
        )
        top = rect.y + (rect.height - len(lines) * line) / 2
        centre_x = rect.x + rect.width / 2
        for index, text in enumerate(lines):
            self.diagram.text(
                text,
                centre_x,
                top + (index + 0.5) * line,
                small,
                self.theme.foreground,
                bold=index == 0,
                anchor=(0.5, 0.5),
                key=(*key, index),
            )

    def _draw_photo(self, rect: Rect) -> None:
        context = self.context
        image = self.panel.image
        assert context is not None and image is not None
        height, width = context.image_shape
        key = (height, width, self.theme.name)
        if key != self._photo_key or self._photo_prepared is not self.prepared:
            self._photo_key, self._photo_prepared = key, self.prepared
            fill = QtGui.QColor(self.theme.padding)
            image.setImage(
                padded_canvas(self.prepared, (height, width), height, width,
                              (fill.red(), fill.green(), fill.blue())),
                autoLevels=False,
                levels=None,
            )
        scale = min(rect.width / width, rect.height / height)  # the photo keeps its aspect ratio
        shown_width, shown_height = width * scale, height * scale
        image.setRect(QtCore.QRectF(rect.x + (rect.width - shown_width) / 2,
                                    rect.y + (rect.height - shown_height) / 2, shown_width, shown_height))
        self.diagram.box(
            rect, self.pen(self.theme.foreground, self.theme.line_width), None, z=11, key=("photo",)
        )

    def _note(self) -> str:
        context = self.context
        assert context is not None
        depths = context.config.depths
        last = len(depths)
        if self.split() == "paper":
            split = (
                f"<b>Paper's split</b>: patch merging starts stages 2-{last}. The official code "
                f"instead ends stages 1-{last - 1} with it (tick the switch): the same network, "
                f"split differently."
            )
        else:
            split = (
                f"<b>Official code's split</b>: each stage (BasicLayer) ends with its patch merging, "
                f"the last has none, and the partition plus embedding are patch_embed (one conv). "
                f"The paper starts stages 2-{last} with merging instead."
            )
        return (
            f"{split} Blocks alternate W-MSA and SW-MSA; M and shift are each stage's effective "
            f"window and shift (a map no larger than the window gets one window and no shift)."
        )

    # --- mouse ------------------------------------------------------------------------------------

    def _key_at(self, scene_pos: QtCore.QPointF) -> Hashable | None:
        point = self.panel.view_point(scene_pos)
        if point is None:
            return None
        return self.diagram.hit(point.x(), point.y())

    def _stage_of(self, key: Hashable) -> int | None:
        if not isinstance(key, tuple) or not key:
            return None
        if key[0] in ("frame", "column") and isinstance(key[1], int):
            return key[1]
        if key[0] == "merging":
            rect = self.diagram.key_rect(key)
            for column in self._columns:
                if (
                    column.stage is not None
                    and rect is not None
                    and column.x <= rect.x < column.x + column.width
                ):
                    return column.stage
        if key[0] == "embedding":
            return 0
        return None

    def _clicked(self, scene_pos: QtCore.QPointF) -> None:
        key = self._key_at(scene_pos)
        if isinstance(key, tuple) and key and key[0] == "block":
            self.blockPicked.emit(key[1], key[2])
            return
        stage = self._stage_of(key)
        if stage is not None:
            self.stagePicked.emit(stage)

    def _hover_text(self, scene_pos: QtCore.QPointF) -> str | None:
        context = self.context
        key = self._key_at(scene_pos)
        if context is None or not isinstance(key, tuple) or not key:
            return None
        if key[0] == "block":
            stage, block = key[1], key[2]
            geometry = context.geometries[stage]
            return (
                f"stage {stage + 1}, block {block + 1}: {attention_name(geometry, block)} on "
                f"{shape_text(geometry.height, geometry.width, geometry.channels)}, "
                f"{geometry.num_heads} heads, M = {geometry.window_size}, shift "
                f"{geometry.block_shift(block)} · click to select"
            )
        stage = self._stage_of(key)
        if stage is not None:
            geometry = context.geometries[stage]
            return (
                f"stage {stage + 1}: {geometry.depth} blocks on "
                f"{shape_text(geometry.height, geometry.width, geometry.channels)} · click to select"
            )
        return None

    def _caption_parts(self) -> list[str]:
        assert self.context is not None
        parts = self.context.caption_parts()
        parts.append("paper's split" if self.split() == "paper" else "official code's split")
        return parts
