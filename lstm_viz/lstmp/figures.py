"""Plotly figure builders for the LSTM vs LSTMP page: parameters, latency, training curves, the proj_size sweep.

Pure functions: they take the DataFrames and results of :mod:`lstm_viz.lstmp` and return a
``plotly.graph_objects.Figure`` without showing it. The two models keep one colour in every figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lstm_viz.lstmp.anatomy import MODEL_NAMES
from lstm_viz.lstmp.latency import Latency
from lstm_viz.tasks.subtraction import DATA_LABELS
from lstm_viz.viz.plotgrid import LEGEND_AT_BOTTOM, LEGEND_ROOM_PX, TITLE_AT_TOP, log_axis_125, subtitle_room

__all__ = [
    "MODEL_COLORS",
    "latency_figure",
    "parameter_figure",
    "projection_figure",
    "sweep_figure",
    "training_figure",
]

MODEL_COLORS: dict[str, str] = {"LSTM": "#1f77b4", "LSTMP": "#e4572e"}
_CURVE_X = {"epoch": "epoch", "seconds": "wall time (s)"}


def _percent_change(a: float, b: float) -> str:
    return f"{(b - a) / a:+.1%}" if a else "n/a"


def parameter_figure(table: pd.DataFrame) -> go.Figure:
    """Grouped horizontal bars: parameters per tensor for both models, from ``anatomy.compare_parameters``.

    The ``total`` row goes into the title, not into the bars, so the per-tensor differences stay readable.
    """
    body = table[table["tensor"] != "total"]
    total = table[table["tensor"] == "total"].iloc[0]
    fig = go.Figure()
    for model in MODEL_NAMES:
        fig.add_bar(
            name=model,
            y=body["tensor"],
            x=body[f"{model} params"],
            orientation="h",
            marker_color=MODEL_COLORS[model],
            customdata=body[f"{model} shape"],
            text=body[f"{model} params"],
            textposition="outside",
            cliponaxis=False,  # the longest bar's count may reach past the axis on a narrow chart ("4096" read "409")
            hovertemplate=f"{model} %{{y}}<br>shape %{{customdata}}<br>%{{x}} parameters<extra></extra>",
        )
    a, b = int(total["LSTM params"]), int(total["LSTMP params"])
    fig.update_layout(
        title={
            "text": "Parameters per tensor",
            "subtitle": {"text": f"total: LSTM {a:,} vs LSTMP {b:,} ({_percent_change(a, b)})"},
        },
        barmode="group",
        xaxis={"title": "parameters", "range": [0, 1.18 * max(1, body[["LSTM params", "LSTMP params"]].max().max())]},
        yaxis={"autorange": "reversed", "title": None},
        height=max(300, 44 * len(body) + 150),
        legend=LEGEND_AT_BOTTOM,
        margin={"l": 10, "r": 40, "t": 80, "b": LEGEND_ROOM_PX},  # r: room for a count past the axis
    )
    return fig


def latency_figure(latencies: Sequence[Latency], names: Sequence[str] = MODEL_NAMES) -> go.Figure:
    """Every timed forward pass as a point, with a box showing median and quartiles, one box per model."""
    fig = go.Figure()
    for name, lat in zip(names, latencies, strict=True):
        fig.add_box(
            name=name,
            y=list(lat.samples_ms),
            boxpoints="all",
            jitter=0.4,
            pointpos=0,
            marker={"color": MODEL_COLORS.get(name), "size": 5, "opacity": 0.6},
            line={"color": MODEL_COLORS.get(name)},
            hovertemplate=f"{name}: %{{y:.3f}} ms<extra></extra>",
        )
    first = latencies[0]
    medians = ", ".join(f"{n} {lat.median_ms:.3f}" for n, lat in zip(names, latencies, strict=True))
    fig.update_layout(
        title={
            "text": f"Forward latency, batch {first.batch}, T {first.seq_len}",  # short: it heads half the page
            "subtitle": {"text": f"median ms: {medians}<br>{first.where}"},  # one line each: Plotly never wraps
            **TITLE_AT_TOP,
        },
        yaxis={
            "title": "ms per forward pass (log scale)",
            "type": "log",
            **log_axis_125([v for lat in latencies for v in lat.samples_ms]),
        },
        showlegend=False,
        height=380 + subtitle_room(2, 1),
        margin={"l": 10, "r": 10, "t": 80 + subtitle_room(2, 1), "b": 30},
    )
    return fig


def training_figure(history: pd.DataFrame, x: str = "epoch") -> go.Figure:
    """Loss (log scale) and exact-match accuracy of both models overlaid, against ``x`` = "epoch" or "seconds".

    ``history`` is long: one row per model and epoch with columns ``model``, ``epoch``, ``seconds`` (cumulative
    training time of that model), ``loss``, ``test_exact_match`` and, when present, ``train_exact_match`` (0..1).
    The loss is a plain line, test accuracy a line with dots, train accuracy dotted: each its own look in the
    shared legend.
    """
    if x not in _CURVE_X:
        raise ValueError(f"x must be 'epoch' or 'seconds', got {x!r}")
    # short: two of these stand side by side, each panel ~110 px wide on a 1,024-px window
    fig = make_subplots(rows=1, cols=2, subplot_titles=("loss (BCE)", "exact match"), horizontal_spacing=0.1)
    for model in MODEL_NAMES:
        part = history[history["model"] == model] if len(history) else history
        if part is None or not len(part):
            continue
        color = MODEL_COLORS[model]
        xs = part[x]
        fig.add_scatter(
            x=xs,
            y=part["loss"],
            name=f"{model} loss",
            mode="lines",  # a plain line: in the legend, not the test accuracy's line with dots
            line={"color": color},
            legendgroup=model,
            row=1,
            col=1,
            hovertemplate=f"{model}<br>{_CURVE_X[x]} %{{x}}<br>loss %{{y:.4g}}<extra></extra>",
        )
        fig.add_scatter(
            x=xs,
            y=part["test_exact_match"],
            name=f"{model} test",
            mode="lines+markers",
            marker={"size": 4},
            line={"color": color},
            legendgroup=model,
            row=1,
            col=2,
            hovertemplate=f"{model} test<br>{_CURVE_X[x]} %{{x}}<br>exact match %{{y:.1%}}<extra></extra>",
        )
        if "train_exact_match" in part:
            fig.add_scatter(
                x=xs,
                y=part["train_exact_match"],
                name=f"{model} train",
                mode="lines",
                line={"color": color, "dash": "dot"},
                legendgroup=model,
                row=1,
                col=2,
                hovertemplate=f"{model} train<br>{_CURVE_X[x]} %{{x}}<br>exact match %{{y:.1%}}<extra></extra>",
            )
    fig.update_yaxes(type="log", dtick=1, exponentformat="power", row=1, col=1)  # a tick a decade: 1, 10⁻¹, …
    fig.update_yaxes(range=[-0.02, 1.02], tickformat=".0%", row=1, col=2)
    fig.update_xaxes(title_text=_CURVE_X[x])
    fig.update_layout(
        title=f"LSTM vs LSTMP against {_CURVE_X[x]}",
        height=440,
        legend=LEGEND_AT_BOTTOM,
        margin={"l": 10, "r": 10, "t": 80, "b": LEGEND_ROOM_PX},
    )
    return fig


def sweep_figure(results: pd.DataFrame, budget: Mapping[str, object] | None = None) -> go.Figure:
    """Parameters vs test exact match after a fixed budget, one point per (proj_size, seed); proj_size 0 = LSTM.

    ``results`` columns: ``proj_size``, ``parameters``, ``test_exact_match`` (0..1), ``seed`` and optionally
    ``source`` ("shipped" / "computed"). Each proj_size also gets a hollow diamond at the mean over seeds.
    """
    fig = go.Figure()
    if len(results):
        sources = results["source"] if "source" in results else pd.Series(["computed"] * len(results))
        for source, symbol in (("shipped", "circle"), ("computed", "square")):
            part = results[sources.to_numpy() == source]
            if not len(part):
                continue
            is_lstm = part["proj_size"] == 0
            colors = [MODEL_COLORS["LSTM"] if flag else MODEL_COLORS["LSTMP"] for flag in is_lstm]
            fig.add_scatter(
                x=part["parameters"],
                y=part["test_exact_match"],
                mode="markers",
                name=f"{source} runs",
                marker={"color": colors, "symbol": symbol, "size": 9, "opacity": 0.75},
                customdata=part[["proj_size", "seed"]].to_numpy(),
                hovertemplate=(
                    "proj_size %{customdata[0]} (0 = plain LSTM), seed %{customdata[1]}<br>"
                    "%{x:,} parameters<br>test exact match %{y:.1%}<extra></extra>"
                ),
            )
        means = (
            results.groupby("proj_size", as_index=False)
            .agg(parameters=("parameters", "first"), test_exact_match=("test_exact_match", "mean"))
            .sort_values("parameters")
        )
        labels = ["LSTM" if p == 0 else f"P={p}" for p in means["proj_size"]]
        fig.add_scatter(
            x=means["parameters"],
            y=means["test_exact_match"],
            mode="lines+markers+text",
            name="mean over seeds",
            text=labels,
            textposition=["middle right" if p == 0 else "top center" for p in means["proj_size"]],
            line={"color": "#888", "dash": "dot", "width": 1},
            marker={"symbol": "diamond-open", "size": 13, "color": "#333"},
            hovertemplate="%{text}: mean test exact match %{y:.1%}<br>%{x:,} parameters<extra></extra>",
        )
    # the sweep's budget under the title: on one line with it, it ran off the chart below 1,280 px
    budget_note = ", ".join(_budget_words(k, v) for k, v in (budget or {}).items())
    fig.update_layout(
        title={"text": "proj_size sweep: parameters vs test exact match", "subtitle": {"text": budget_note}},
        xaxis={"title": "parameters (LSTM/LSTMP + Linear head)", "type": "log"},
        yaxis={"title": "test exact match", "tickformat": ".0%", "range": [-0.03, 1.12]},
        height=460,
        legend=LEGEND_AT_BOTTOM,
        margin={"l": 10, "r": 10, "t": 80 if budget_note else 60, "b": LEGEND_ROOM_PX},
    )
    return fig


def _budget_words(key: str, value: object) -> str:
    """One setting of a sweep's budget in words: the data source by what it is ("data seed" read as a seed)."""
    return f"data: {DATA_LABELS.get(str(value), value)}" if key == "data" else f"{key} {value}"


def projection_figure(
    m: np.ndarray, w_hr: np.ndarray, h: np.ndarray, step_labels: Sequence[str] | None = None, title: str = ""
) -> go.Figure:
    """LSTMP's projection at work: ``m`` (T × H, before), ``W_hr`` (P × H) and ``h = W_hr m`` (T × P, after).

    ``m`` and ``h`` are one layer/direction/batch of a recording, ``(T, H)`` and ``(T, P)``; ``w_hr`` is that
    layer's ``weight_hr``. All three on one diverging scale per panel, centred on 0; units on the y axis.
    """
    m, w_hr, h = (np.asarray(a, dtype=np.float32) for a in (m, w_hr, h))
    if m.ndim != 2 or h.ndim != 2 or w_hr.shape != (h.shape[1], m.shape[1]) or m.shape[0] != h.shape[0]:
        raise ValueError(f"expected m (T, H), W_hr (P, H) and h (T, P); got {m.shape}, {w_hr.shape} and {h.shape}")
    steps = list(step_labels) if step_labels is not None else [f"t {t}" for t in range(m.shape[0])]
    H, P = m.shape[1], h.shape[1]
    fig = make_subplots(
        rows=1,
        cols=3,
        column_widths=[0.36, 0.28, 0.36],
        horizontal_spacing=0.06,
        # short: each is centred over its panel and never wrapped, and the page may give the figure ~550 px; the
        # figure's subtitle says what m and h are
        subplot_titles=(f"m ({H} units)", f"W_hr ({P} × {H})", f"h = W_hr m ({P} units)"),
    )
    panels = (
        (m.T, steps, list(range(H)), "m", 1, "%{x}<br>unit %{y}<br>m = %{z:.5f}"),
        (w_hr, list(range(H)), list(range(P)), "W_hr", 2, "row %{y} (h unit), column %{x} (m unit)<br>%{z:.5f}"),
        (h.T, steps, list(range(P)), "h", 3, "%{x}<br>unit %{y}<br>h = %{z:.5f}"),
    )
    domains = [fig.layout[f"xaxis{k if k > 1 else ''}"].domain for k in (1, 2, 3)]
    for z, xs, ys, name, col, hover in panels:
        bound = float(np.abs(z).max()) or 1.0
        fig.add_heatmap(
            z=z,
            x=[str(v) for v in xs],
            y=[str(v) for v in ys],
            zmin=-bound,
            zmax=bound,
            zmid=0,
            colorscale="RdBu_r",
            name=name,
            # under its own panel: beside it, a colour bar ran into the next panel's unit numbers
            colorbar={"orientation": "h", "x": sum(domains[col - 1]) / 2, "xanchor": "center",
                      "len": domains[col - 1][1] - domains[col - 1][0], "lenmode": "fraction", "thickness": 10,
                      "yref": "container", "y": 0, "yanchor": "bottom", "ypad": 8},
            hovertemplate=hover + "<extra></extra>",
            row=1,
            col=col,
        )
        fig.update_yaxes(type="category", autorange="reversed", row=1, col=col)
        fig.update_xaxes(type="category", row=1, col=col)
    fig.update_yaxes(title_text="unit", row=1, col=1)
    fig.update_xaxes(title_text="t (time step)", row=1, col=1)
    fig.update_xaxes(title_text="m unit", row=1, col=2)
    fig.update_xaxes(title_text="t (time step)", row=1, col=3)
    fig.update_layout(
        title={"text": title or "LSTMP: the projection h = W_hr m at every step",
               **TITLE_AT_TOP,
               "subtitle": {"text": f"m = o·tanh(c): the {H} units' outputs before the projection<br>"
                                    f"h = W_hr m: the {P} values after it, each mixing all {H}"}},
        height=max(360, 14 * H + 200) + subtitle_room(2, 1),
        margin={"l": 10, "r": 10, "t": 92 + subtitle_room(2, 1), "b": 90},  # the colour bars under the axis titles
    )
    return fig
