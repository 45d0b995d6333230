"""Figures of interventions: how a change spreads through steps and layers, and which units matter most.

Pure functions returning Plotly figures, from :mod:`lstm_viz.interventions.effects` and
:mod:`lstm_viz.interventions.ablation`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from lstm_viz.interventions.ablation import Ablation
from lstm_viz.viz.plotgrid import LEGEND_AT_BOTTOM, LEGEND_ROOM_PX, finish, log_axis_125

__all__ = ["ablation_figure", "spread_figure"]

_LINE_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f")
_ALL_COLOR = "#37474f"  # all inputs: one colour, so that the legend's swatch is the bars' colour
_GROUP_COLORS = ("#e6550d", "#6baed6", "#31a354", "#9467bd")  # then each group (borrow, no borrow, …)


def _units_said(part: pd.DataFrame) -> list[str]:
    """The hover's count of changed units: "3 units changed", and an LSTMP's projected h apart ("0 units changed
    (and 1 of the projected h's)")."""
    said = [f"{n:,} unit{'s' * (n != 1)} changed" for n in part["units_changed"]]
    if "h_units_changed" in part and part["h_units_changed"].any():
        said = [s + (f" (and {m:,} of the projected h's)" if m else "")
                for s, m in zip(said, part["h_units_changed"], strict=True)]  # fmt: skip
    return said


def spread_figure(table: pd.DataFrame, first_step: int | None = None, title: str | None = None) -> go.Figure:
    """Per layer and direction: the largest |after − before| at every step (log scale) and, as hover, how many units
    changed. A dotted line marks the step the intervention first acts on."""
    traces = []
    panels = list(dict.fromkeys(zip(table["layer"], table["direction"], strict=True)))
    for n, (k, d) in enumerate(panels):
        part = table[(table["layer"] == k) & (table["direction"] == d)]
        y = part["max_abs"].to_numpy(dtype=float)
        traces.append(
            {
                "type": "scatter",
                "x": part["t"].to_numpy(),
                "y": np.where(y > 0, y, np.nan),  # log axis: no change = no point
                "mode": "lines+markers",
                "name": f"layer {k} {d}",
                "line": {"color": _LINE_COLORS[n % len(_LINE_COLORS)], "width": 2},
                "customdata": _units_said(part),
                "hovertemplate": f"t = %{{x}}<br>largest change %{{y:.3g}}<br>%{{customdata}}<extra>layer {k} {d}"
                "</extra>",
            }
        )
    shapes = []
    if first_step is not None:
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": first_step, "x1": first_step, "y0": 0,
                       "y1": 1, "line": {"dash": "dot", "color": "#444"}})  # fmt: skip
    nothing = table.empty or not (table["max_abs"] > 0).any()
    subtitle = (
        "nothing changed: the intervention replaced values by what they already were"
        if nothing
        else "largest |after − before| over every gate, state and unit; dotted line: the first step it acts on"
    )
    layout = {
        "title": {"text": title or "How the change spreads", "subtitle": {"text": subtitle}},
        "xaxis": {"title": {"text": "t (time step)"}, "dtick": 1 if len(table) and table["t"].max() <= 30 else None},
        "yaxis": {
            "title": {"text": "largest change"},
            "type": "log",
            "visible": not nothing,
            **log_axis_125(table["max_abs"].to_numpy(dtype=float)),  # 0.2, 0.5, 1, 2: not "1, 9, 8, …, 3, 2"
        },
        "shapes": shapes,
        "height": 270 + LEGEND_ROOM_PX,
        "margin": {"t": 90, "b": LEGEND_ROOM_PX, "l": 70, "r": 30},
        # at the figure's bottom edge, below the axis title whatever the tick labels take (at y = -0.25 of the plot,
        # a layer's name ran into "t (time step)")
        "legend": LEGEND_AT_BOTTOM,
    }
    return finish(traces, layout)


def ablation_figure(result: Ablation, top: int = 20) -> go.Figure:
    """The ``top`` most effective ablations as horizontal bars: the effect over all inputs and per group."""
    # an ablation that changes nothing gets no empty row
    moved = result.table[(result.table[result.effect_columns] != 0).any(axis=1)]
    table = (moved if len(moved) else result.table).head(top).iloc[::-1]  # most effective at the top
    labels = [
        f"{row.name} u{row.unit}" + ("" if row.step < 0 else f" t{row.step}")
        for row in table.itertuples(index=False)
    ]
    groups = result.effect_columns[1:]
    share = result.in_shares
    fmt = ".1%" if share else ".4g"
    traces = [
        {
            "type": "bar",
            "orientation": "h",
            "x": table["effect"].to_numpy(dtype=float),
            "y": labels,
            "name": f"all {result.inputs:,} inputs",
            "marker": {"color": _ALL_COLOR},
            "hovertemplate": f"%{{y}}<br>%{{x:{fmt}}}<extra>all inputs</extra>",
        }
    ]
    for n, column in enumerate(groups):
        group = column.removeprefix("effect ")
        traces.append(
            {
                "type": "bar",
                "orientation": "h",
                "x": table[column].to_numpy(dtype=float),
                "y": labels,
                "name": f"{group} ({result.groups.get(group, 0):,})",
                "marker": {"color": _GROUP_COLORS[n % len(_GROUP_COLORS)]},
                "hovertemplate": f"%{{y}}<br>%{{x:{fmt}}}<extra>{group}</extra>",
            }
        )
    value = "zeroed" if result.value == "zero" else "set to its mean"
    hidden = len(result.table) - len(moved) if len(moved) else 0
    subtitle = (
        f"{result.measure}, over {result.inputs:,} inputs (dark bar), then per group; {len(result.table):,} "
        f"ablations in {result.seconds:.1f} s" + (f", {hidden:,} that change nothing not shown" if hidden else "")
    )
    layout = {
        "title": {"text": f"Which units matter: each unit {value} in turn", "subtitle": {"text": subtitle}},
        "barmode": "group",
        "xaxis": {"title": {"text": result.measure}, "tickformat": ".0%" if share else None, "rangemode": "tozero"},
        "yaxis": {"automargin": True},
        "height": max(365, 60 + 26 * len(labels) * (1 + len(groups)) // 2 + 165),
        "margin": {"t": 90, "b": 95, "l": 140, "r": 30},
        # at the figure's foot, under the axis title, however few rows the chart has (it overlapped the title)
        "legend": {"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0.0, "x": 0},
    }
    return finish(traces, layout)
