"""Figure "block": the selected pair of successive Swin blocks as the lecture writes them,
x → LN → W-MSA → + → LN → MLP → +, then the same with SW-MSA, with the tensor shape on
every arrow and the cost of every part from :func:`swin_model.flops.count_macs`."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass

from PySide6 import QtCore

from explorer.numbers import si
from swin_model.flops import BlockCost
from swin_model.windows import StageGeometry

from .base import FigureView
from .cost import cost_report
from .items import Panel
from .lecture_diagram import MLP_COLOR, NORM_COLOR, SWMSA_COLOR, WMSA_FILL, Diagram, diagram_sizes
from .lecture_layout import Rect, attention_name, block_pair

__all__ = ["PART_LABELS", "BlockView", "part_cost_text", "shape_lines"]

FILL_ALPHA = 80


@dataclass(frozen=True)
class _RowSizes:
    """Sizes shared by the rows (diagram units): text sizes, line height, title height, box
    height and widths by part, the residual circle, one arrow, the end labels' width."""

    small: float
    large: float
    line: float
    header: float
    box_height: float
    widths: dict[str, float]
    add: float
    arrow: float
    label: float


PART_LABELS: dict[str, str] = {
    "norm1": "LN",
    "qkv": "QKV",
    "qk": "QKᵀ",
    "av": "softmax·V",
    "proj": "proj",
    "norm2": "LN",
    "mlp": "MLP",
}
"""How the figure names each part of :data:`swin_model.flops.BLOCK_PARTS`."""


def shape_lines(tokens: int, channels: int, width_in_ems: Callable[[str], float]) -> tuple[str, ...]:
    """The shape "tokens×channels" as one line, or as two ("65536", "×192") when one line
    would be wider than 5 ems (``width_in_ems`` measures a text): long labels would
    otherwise stretch every arrow and shrink the whole figure."""
    single = f"{tokens}×{channels}"
    if width_in_ems(single) <= 5.0:
        return (single,)
    return f"{tokens}", f"×{channels}"


def part_cost_text(macs: int) -> str:
    """A part's MACs as the figure writes them: "21.68 M", "301.06 K", "999"."""
    return si(macs, 2, space=True)


ATTENTION_FIGURE = "attention"
"""The figure a click on a W-MSA or SW-MSA box opens."""

class BlockView(FigureView):
    """The two blocks of the selected W-MSA/SW-MSA pair, one row each.

    Each row is a block: LayerNorm, (shifted) window attention, the residual addition,
    LayerNorm, MLP, the residual addition. Under every arrow the tensor's shape (h·w tokens
    × C); inside the attention box its windows (nW × M² × C), heads, the roll and mask of
    SW-MSA, padding, and the MACs of QKV, QKᵀ, softmax·V and the projection; the MACs of the
    norms and the MLP in theirs (all from ``count_macs``). Clicking an attention box emits
    :attr:`blockPicked` for its block.
    """

    explanation = (
        "Swin block pair: x → LayerNorm → W-MSA → + x → LayerNorm → MLP → +, then the same "
        "with shifted windows (SW-MSA), so information crosses window borders."
    )


    def _build(self) -> None:
        self.panel = Panel(self.body, 0, 0, with_image=False)
        self.diagram = Diagram(self.panel.viewbox)
        self._costs: dict[tuple[int, str], int] = {}

    # --- reading back ------------------------------------------------------------------------

    def drawn_pair(self) -> tuple[int, ...]:
        """The blocks (0-based) drawn, one row each."""
        return tuple(
            key[2] for key in self.diagram.boxes_by_key if isinstance(key, tuple) and key[0] == "attention"
        )

    def shape_labels(self, block: int) -> list[str]:
        """The shape written under each arrow of ``block``'s row, left to right, its lines
        joined ("3136×96")."""
        labels: dict[int, list[str]] = {}
        for key, item in self.diagram.texts_by_key.items():
            if isinstance(key, tuple) and key[:2] == ("shape", block) and item.isVisible():
                labels.setdefault(key[2], []).append(item.text())
        return ["".join(lines) for _, lines in sorted(labels.items())]

    def drawn_text(self, key: Hashable) -> str:
        """The text drawn with ``key`` ("" if none): ("cost", block, part) for a part's cost
        line (e.g. "QKV 21.68 M"), ("sum", block) for ẑ, ("windows", block), ("heads",
        block), ("roll", block), ("title", block), ..."""
        item = self.diagram.texts_by_key.get(key)
        return item.text() if item is not None and item.isVisible() else ""

    def box_rect(self, key: Hashable) -> Rect | None:
        """Where the box drawn with ``key`` lies: ("attention", stage, block), ("norm1",
        block), ("norm2", block), ("mlp", block), ("add1", block), ("add2", block)."""
        return self.diagram.key_rect(key)

    # --- drawing -----------------------------------------------------------------------------

    def _redraw(self) -> None:
        context = self.context
        assert context is not None
        geometry = context.geometry
        stage = context.stage
        report = cost_report(context.config, *context.image_shape)
        costs = report.stages[stage].blocks
        pair = block_pair(context.block, geometry.depth)
        diagram = self.diagram
        theme = self.theme
        small, large = diagram_sizes(theme)
        line = 1.3 * small
        pad = 0.6 * small
        diagram.begin()

        rows = [self._row_content(geometry, costs[block]) for block in pair]
        shape = shape_lines(
            geometry.height * geometry.width,
            geometry.channels,
            lambda text: diagram.measure(text, small)[0] / small,
        )
        box_lines = max(len(lines) for row in rows for lines in row.values())

        def box_width(lines: list[str]) -> float:
            return (
                max(diagram.measure(text, small, index == 0)[0] for index, text in enumerate(lines)) + 2 * pad
            )

        widths = {name: max(box_width(row[name]) for row in rows) for name in ("norm1", "attention", "mlp")}
        widths["norm2"] = widths["norm1"]
        end_names = [("zˡ⁻¹", "ẑˡ", "zˡ"), ("zˡ", "ẑˡ⁺¹", "zˡ⁺¹")]
        sizes = _RowSizes(
            small=small,
            large=large,
            line=line,
            header=1.5 * large,
            box_height=box_lines * line + 2 * pad,
            widths=widths,
            add=1.5 * small,
            arrow=max(diagram.measure(text, small)[0] for text in shape) + 1.4 * small,
            label=max(diagram.measure(text, large, True)[0] for names in end_names for text in names),
        )
        row_height = sizes.header + 2.0 * small + sizes.box_height + 2.2 * small
        self._costs = {}
        for index, block in enumerate(pair):
            self._draw_row(
                block, rows[index], index * (row_height + 1.6 * small), sizes, end_names[block % 2], shape
            )
            for part, macs in costs[block].parts.items():
                self._costs[(block, part)] = macs
        diagram.end(self.pen(theme.foreground, theme.line_width + 0.5), self.brush(theme.foreground))
        extent = diagram.extent.grown(0.5 * small)
        self.panel.set_extent(extent.x, extent.y, extent.width, extent.height)
        first = pair[0] + 1
        blocks = f"blocks {first}-{first + 1}" if len(pair) == 2 else f"block {first}"
        self.style_title(
            self.panel.title,
            f"Stage {stage + 1}, {blocks} of {geometry.depth}: "
            f"{geometry.height}×{geometry.width} tokens × C = {geometry.channels}, "
            f"M = {geometry.window_size}, MACs for one image",
        )
        self.set_note(self._note(geometry))

    def _row_content(self, geometry: StageGeometry, cost: BlockCost) -> dict[str, list[str]]:
        """The lines of the norm, attention and MLP boxes of one block (the first is bold)."""
        assert self.context is not None
        parts = cost.parts
        block = cost.block
        shift = geometry.block_shift(block)
        name = attention_name(geometry, block)
        if shift:
            roll = f"roll by −{shift}, mask"
        elif block % 2 and not self.context.config.shifted:
            roll = "shift switched off"
        elif block % 2:
            roll = "no shift: map ≤ M"
        else:
            roll = "no shift"
        attention = [
            name,
            roll,
            f"windows: {geometry.num_windows} × {geometry.tokens_per_window} × {geometry.channels}",
            f"{geometry.num_heads} heads of d = {geometry.channels // geometry.num_heads}",
        ]
        if (geometry.padded_height, geometry.padded_width) != (geometry.height, geometry.width):
            attention.append(f"pad → {geometry.padded_height}×{geometry.padded_width}")
        attention += [
            f"{PART_LABELS[part]} {part_cost_text(parts[part])}" for part in ("qkv", "qk", "av", "proj")
        ]
        attention.append(f"Σ {part_cost_text(cost.attention)}")
        hidden = int(geometry.channels * self.context.config.mlp_ratio)
        return {
            "norm1": ["LN", part_cost_text(parts["norm1"])],
            "attention": attention,
            "norm2": ["LN", part_cost_text(parts["norm2"])],
            "mlp": [
                "MLP",
                f"{geometry.channels} → {hidden} → {geometry.channels}",
                "GELU",
                part_cost_text(parts["mlp"]),
            ],
        }

    def _draw_row(
        self,
        block: int,
        content: dict[str, list[str]],
        top: float,
        sizes: _RowSizes,
        names: tuple[str, str, str],
        shape: tuple[str, ...],
    ) -> None:
        """One block: its title, then input → LN → attention → + → LN → MLP → + → output
        along a line, the residual connections arching over the boxes."""
        context = self.context
        assert context is not None
        stage = context.stage
        diagram = self.diagram
        theme = self.theme
        small, large = sizes.small, sizes.large
        foreground, muted = theme.foreground, theme.muted
        selected = block == context.block
        kind = content["attention"][0]
        shift = context.geometry.block_shift(block)
        detail = f"shift {shift}" if shift else "no shift"
        diagram.text(
            f"Block {block + 1}: {kind} ({detail})",
            0.0,
            top,
            large,
            foreground,
            bold=True,
            key=("title", block),
        )
        box_top = top + sizes.header + 2.0 * small
        middle = box_top + sizes.box_height / 2
        residual_top = box_top - 1.2 * small
        box_pen = self.pen(foreground, theme.line_width)
        highlight = self.pen(theme.accent, theme.thick_width + 1.0)
        colours = {
            "norm1": NORM_COLOR,
            "norm2": NORM_COLOR,
            "mlp": MLP_COLOR,
            "attention": SWMSA_COLOR if kind == "SW-MSA" else WMSA_FILL,
        }
        diagram.text(
            names[0], 0.0, middle, large, foreground, bold=True, anchor=(0.0, 0.5), key=("input", block)
        )
        cursor = sizes.label + 0.3 * small
        branches: list[float] = []
        for arrow_index, step in enumerate(("norm1", "attention", "add1", "norm2", "mlp", "add2", "output")):
            if step in ("norm1", "norm2"):
                branches.append(cursor + 0.5 * small)
            following = cursor + sizes.arrow
            diagram.arrow([(cursor, middle), (following, middle)], 0.55 * small)
            for index, text in enumerate(shape):
                diagram.text(
                    text,
                    (cursor + following) / 2,
                    middle + 0.3 * small + index * sizes.line,
                    small,
                    muted,
                    anchor=(0.5, 0.0),
                    key=("shape", block, arrow_index, index),
                )
            if step == "output":
                diagram.text(
                    names[2],
                    following + 0.3 * small,
                    middle,
                    large,
                    foreground,
                    bold=True,
                    anchor=(0.0, 0.5),
                    key=("output", block),
                )
                cursor = following + 0.3 * small + sizes.label
            elif step.startswith("add"):
                rect = Rect(following, middle - sizes.add / 2, sizes.add, sizes.add)
                diagram.box(
                    rect,
                    box_pen,
                    self.brush(theme.background),
                    radius=sizes.add / 2,
                    z=12,
                    key=(step, block),
                    tooltip="Residual connection: the input is added back.",
                )
                diagram.text("+", *rect.centre, 1.2 * small, foreground, bold=True, anchor=(0.5, 0.55))
                branch = branches.pop(0)
                diagram.line([(branch, middle), (branch, residual_top)])
                diagram.arrow(
                    [(branch, residual_top), (rect.centre[0], residual_top), (rect.centre[0], rect.y)],
                    0.55 * small,
                )
                if step == "add1":
                    diagram.text(
                        names[1],
                        rect.centre[0],
                        rect.bottom + 0.15 * small,
                        small,
                        foreground,
                        anchor=(0.5, 0.0),
                        key=("sum", block),
                    )
                cursor = rect.right
            else:
                rect = Rect(following, box_top, sizes.widths[step], sizes.box_height)
                is_attention = step == "attention"
                key: tuple[object, ...] = ("attention", stage, block) if is_attention else (step, block)
                diagram.box(
                    rect,
                    highlight if (is_attention and selected) else box_pen,
                    self.brush(colours[step], FILL_ALPHA),
                    radius=0.3 * small,
                    z=10,
                    key=key,
                    tooltip=f"Click to select block {block + 1} and see its attention."
                    if is_attention
                    else "",
                )
                self._box_text(step, block, content[step], rect, small, sizes.line)
                cursor = rect.right
        frame_top = top - 0.4 * small
        frame = Rect(
            -0.5 * small, frame_top, cursor + small, box_top + sizes.box_height + 1.8 * small - frame_top
        )
        diagram.box(
            frame,
            highlight if selected else self.pen(muted, theme.line_width, dashed=True),
            None,
            radius=0.4 * small,
            z=2,
            key=("frame", block),
        )

    def _box_text(
        self, step: str, block: int, lines: list[str], rect: Rect, small: float, line: float
    ) -> None:
        """Write ``lines`` centred in ``rect``; cost lines get ("cost", block, part) keys."""
        top = rect.y + (rect.height - len(lines) * line) / 2
        centre = rect.x + rect.width / 2
        labels = {f"{PART_LABELS[part]} ": part for part in ("qkv", "qk", "av", "proj")}
        for index, text in enumerate(lines):
            key: tuple[object, ...] = (step, block, index)
            if step in ("norm1", "norm2", "mlp") and index == len(lines) - 1:
                key = ("cost", block, step)
            elif step == "attention":
                part = next((part for prefix, part in labels.items() if text.startswith(prefix)), None)
                if part is not None:
                    key = ("cost", block, part)
                elif text.startswith("Σ"):
                    key = ("cost", block, "attention")
                elif index == 1:
                    key = ("roll", block)
                elif index == 2:
                    key = ("windows", block)
                elif index == 3:
                    key = ("heads", block)
            colour = self.theme.foreground
            self.diagram.text(
                text,
                centre,
                top + (index + 0.5) * line,
                small,
                colour,
                bold=index == 0,
                anchor=(0.5, 0.5),
                key=key,
            )

    def _note(self, geometry: StageGeometry) -> str:
        return (
            "ẑ<sup>l</sup> = W-MSA(LN(z<sup>l−1</sup>)) + z<sup>l−1</sup>, "
            "z<sup>l</sup> = MLP(LN(ẑ<sup>l</sup>)) + ẑ<sup>l</sup>; "
            "ẑ<sup>l+1</sup> = SW-MSA(LN(z<sup>l</sup>)) + z<sup>l</sup>, "
            "z<sup>l+1</sup> = MLP(LN(ẑ<sup>l+1</sup>)) + ẑ<sup>l+1</sup>. "
            f"Under each arrow: h·w = {geometry.height}·{geometry.width} tokens × C. Attention runs on "
            f"nW windows × M² tokens × C; costs in MACs (count_macs, as the official flops())."
        )

    # --- mouse ------------------------------------------------------------------------------------

    def _key_at(self, scene_pos: QtCore.QPointF) -> Hashable | None:
        point = self.panel.view_point(scene_pos)
        if point is None:
            return None
        return self.diagram.hit(point.x(), point.y())

    def _clicked(self, scene_pos: QtCore.QPointF) -> None:
        key = self._key_at(scene_pos)
        if isinstance(key, tuple) and key and key[0] == "attention":
            self.blockPicked.emit(key[1], key[2])
            self.figureRequested.emit(ATTENTION_FIGURE)

    def _hover_text(self, scene_pos: QtCore.QPointF) -> str | None:
        key = self._key_at(scene_pos)
        if not isinstance(key, tuple) or not key or self.context is None:
            return None
        if key[0] == "attention":
            block = key[2]
            parts = [
                f"{PART_LABELS[part]} {self._costs[(block, part)]:,}" for part in ("qkv", "qk", "av", "proj")
            ]
            return f"block {block + 1} attention: " + " + ".join(parts) + " MACs · click to select"
        if key[0] in ("norm1", "norm2", "mlp"):
            block = key[1]
            return f"block {block + 1} {PART_LABELS[key[0]]}: {self._costs[(block, key[0])]:,} MACs"
        return None

    def _caption_parts(self) -> list[str]:
        assert self.context is not None
        return self.context.caption_parts()
