"""A fast subplot grid for Plotly figure dicts: axis domains, shared time axes and panel titles.

``plotly.subplots.make_subplots`` plus ``add_trace`` validates every property on every call and costs ~200 ms for
a six-panel figure; building the figure as one dict and validating it once in ``go.Figure`` costs ~10 ms. The
figure builders use this grid so that input → figures stays well under the 300 ms goal.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import plotly.graph_objects as go

__all__ = [
    "LEGEND_AT_BOTTOM",
    "LEGEND_ROOM_PX",
    "SUBTITLE_LINE_PX",
    "TITLE_AT_TOP",
    "Grid",
    "colorbar_title",
    "finish",
    "log_axis_125",
    "subtitle_room",
]


@dataclass
class Grid:
    """A rows × cols grid of subplots; row 1 is at the top. Columns share their x axis when ``shared_x``."""

    rows: int
    cols: int = 1
    row_heights: Sequence[float] | None = None
    col_widths: Sequence[float] | None = None
    vspace: float = 0.05
    hspace: float = 0.05
    titles: Sequence[str | None] | None = None  # row-major, one per cell
    shared_x: bool = True
    title_size: int = 13
    layout: dict = field(init=False)

    def __post_init__(self) -> None:
        heights = list(self.row_heights or [1.0] * self.rows)
        widths = list(self.col_widths or [1.0] * self.cols)
        if len(heights) != self.rows or len(widths) != self.cols:
            raise ValueError("row_heights/col_widths must have one entry per row/column")
        usable_h = 1.0 - self.vspace * (self.rows - 1)
        usable_w = 1.0 - self.hspace * (self.cols - 1)
        self._y: list[tuple[float, float]] = []
        top = 1.0
        for h in heights:
            size = usable_h * h / sum(heights)
            self._y.append((max(0.0, top - size), top))
            top -= size + self.vspace
        self._x: list[tuple[float, float]] = []
        left = 0.0
        for w in widths:
            size = usable_w * w / sum(widths)
            self._x.append((left, min(1.0, left + size)))
            left += size + self.hspace
        self.layout = {}
        for r in range(1, self.rows + 1):
            for c in range(1, self.cols + 1):
                xkey, ykey = self.axis_keys(r, c)
                xref, yref = self.refs(r, c)
                xaxis = {"domain": list(self._x[c - 1]), "anchor": yref}
                if self.shared_x and r != self.rows:
                    xaxis["matches"] = self.refs(self.rows, c)[0]
                    xaxis["showticklabels"] = False
                self.layout[xkey] = xaxis
                self.layout[ykey] = {"domain": list(self._y[r - 1]), "anchor": xref}
        annotations = []
        for n, text in enumerate(self.titles or []):
            if not text:
                continue
            r, c = divmod(n, self.cols)
            x0, x1 = self._x[c]
            annotations.append(
                {
                    "text": text,
                    "x": (x0 + x1) / 2,
                    "y": self._y[r][1],
                    "xref": "paper",
                    "yref": "paper",
                    "xanchor": "center",
                    "yanchor": "bottom",
                    "showarrow": False,
                    "font": {"size": self.title_size},
                }
            )
        self.layout["annotations"] = annotations

    def index(self, row: int, col: int = 1) -> int:
        if not (1 <= row <= self.rows and 1 <= col <= self.cols):
            raise IndexError(f"no cell ({row}, {col}) in a {self.rows}×{self.cols} grid")
        return (row - 1) * self.cols + col

    def refs(self, row: int, col: int = 1) -> tuple[str, str]:
        """What a trace puts in ``xaxis``/``yaxis``: ``("x", "y")``, ``("x2", "y2")``, …"""
        n = self.index(row, col)
        suffix = "" if n == 1 else str(n)
        return f"x{suffix}", f"y{suffix}"

    def axis_keys(self, row: int, col: int = 1) -> tuple[str, str]:
        """The layout keys of that cell's axes: ``("xaxis", "yaxis")``, ``("xaxis2", "yaxis2")``, …"""
        n = self.index(row, col)
        suffix = "" if n == 1 else str(n)
        return f"xaxis{suffix}", f"yaxis{suffix}"

    def x(self, row: int, col: int = 1) -> dict:
        """That cell's x axis dict, to update in place."""
        return self.layout[self.axis_keys(row, col)[0]]

    def y(self, row: int, col: int = 1) -> dict:
        """That cell's y axis dict, to update in place."""
        return self.layout[self.axis_keys(row, col)[1]]

    def y_domain(self, row: int) -> tuple[float, float]:
        return self._y[row - 1]

    def x_domain(self, col: int) -> tuple[float, float]:
        return self._x[col - 1]

    def place(self, trace: dict, row: int, col: int = 1) -> dict:
        """``trace`` with its axes set to that cell."""
        xref, yref = self.refs(row, col)
        trace["xaxis"], trace["yaxis"] = xref, yref
        return trace


SUBTITLE_LINE_PX = 14  # one line of a subtitle (Plotly never wraps one: long notes go one a line, <br> between)


# Where a title goes in a figure whose top margin grows with its subtitle (``subtitle_room``): held at the top of the
# chart. Plotly centres a title placed automatically in the top margin, so a margin grown by 14 px moved the title
# down by 7 and the subtitle's last line ran into the panels' titles below (seen at 1,024 px: the divergence and
# heatmap notes, the toy panels). 26 px down: clear of the tool bar Plotly shows over the chart's top right on hover.
TITLE_AT_TOP = {"yref": "container", "y": 1, "yanchor": "top", "pad": {"t": 26}}


# A horizontal legend in the chart's bottom margin, under the x axis' title, placed in pixels from the chart's bottom
# edge: placed in fractions of the plot's height (y = -0.25), it landed on the axis title in a short or narrow chart
# (the answers side by side in Intervene, the LSTMP charts). The figure's bottom margin holds the tick labels, the
# axis title and the legend (``LEGEND_ROOM_PX`` for one row).
LEGEND_AT_BOTTOM = {"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0.5,
                    "xanchor": "center"}  # fmt: skip
LEGEND_ROOM_PX = 96


SHORT_BAR_PX = 90  # a colour bar shorter than this has no room for a title on top


def subtitle_room(lines: int, fit: int) -> int:
    """Pixels a figure's top margin (and height) grows by for a subtitle of ``lines`` lines, ``fit`` of which its
    margin holds already; the figure's title is placed with ``TITLE_AT_TOP``."""
    return SUBTITLE_LINE_PX * max(0, lines - fit)


def colorbar_title(text: str, bar_px: float | None = None) -> dict:
    """A colour bar's title: a short one (a tensor's letter, "Δc") upright on top of the bar, a longer one along
    its right side (Plotly turns a right-side title on its side, which leaves a single letter lying down). A bar
    under ``SHORT_BAR_PX`` pixels keeps its title at the side: one on top would squeeze the bar to nothing."""
    upright = len(text) <= 4 and (bar_px is None or bar_px >= SHORT_BAR_PX)
    return {"text": text, "side": "top" if upright else "right"}


def finish(traces: list[dict], layout: dict) -> go.Figure:
    """Validate the dicts once and return the Figure."""
    return go.Figure({"data": traces, "layout": layout})


def log_axis_125(values: Sequence[float]) -> dict:
    """A log axis' ticks for the positive ``values``: at 1-2-5 values (…, 0.5, 1, 2, 5, 10, …) as ``tickvals`` and
    ``ticktext``, or, over more than three decades, one a decade written as a power of ten. Plotly's own log ticks
    label 0.2–0.9 by their first digit alone ("1, 9, 8, …, 3, 2" read as a count down). Values within one step of
    1-2-5 also get a ``range`` out to the ticks around them, so that at least two are labelled. Empty when no value
    is positive and finite."""
    shown = [v for v in values if v > 0 and math.isfinite(v)]
    if not shown:
        return {}
    lo, hi = min(shown), max(shown)
    if hi / lo >= 1000:
        return {"dtick": 1, "exponentformat": "power"}
    ticks = []
    exponent = math.floor(math.log10(lo))
    while (tick := 10.0**exponent) <= hi * 2:
        ticks += [round(m * tick, 12) for m in (1, 2, 5) if lo / 2 <= m * tick <= hi * 2]
        exponent += 1
    axis = {"tickvals": ticks, "ticktext": [f"{t:g}" for t in ticks]}
    if sum(lo <= t <= hi for t in ticks) < 2:  # values within one step of 1-2-5 (1.7 to 3.2): reach the ticks around
        below, above = [t for t in ticks if t < lo], [t for t in ticks if t > hi]  # them, or one label ("2") is all
        axis["range"] = [math.log10(below[-1] if below else lo) - 0.05, math.log10(above[0] if above else hi) + 0.05]
    return axis
