"""Plotly figures of the gradient-flow page: gradient decay over time (RNN, GRU, LSTM) and input-gradient heatmaps.

Pure functions: each takes results from :mod:`lstm_viz.gradients.flow` and returns a ``plotly.graph_objects.Figure``
without showing it.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lstm_viz.gradients.flow import KINDS, LABELS, FlowResult

__all__ = [
    "KIND_COLORS",
    "gradient_flow_figure",
    "input_gradient_heatmap",
]

KIND_COLORS: dict[str, str] = {"rnn": "#d62728", "gru": "#ff7f0e", "lstm": "#1f77b4"}


def _positive(values: np.ndarray) -> np.ndarray:
    """Zeros (float underflow) and non-finite values become NaN so a log axis skips them instead of failing."""
    v = np.asarray(values, dtype=np.float64).copy()
    v[~(np.isfinite(v) & (v > 0))] = np.nan
    return v


def gradient_flow_figure(result: FlowResult, normalise: bool = True) -> go.Figure:
    """‖∂L/∂h_t‖ for RNN, GRU and LSTM, ‖∂L/∂c_t‖ and ∏f for the LSTM, against t on a log axis.

    With ``normalise`` every curve is divided by its value at the last step, so all start at 1 on the right and
    the slope is the decay per step. Each curve is labelled at t = 0 with how far it has fallen.
    """
    fig = go.Figure()
    T = result.settings.length
    t = np.arange(T)
    curves: list[tuple[str, str, np.ndarray, dict]] = []
    for kind in KINDS:
        flow = result.flows.get(kind)
        if flow is None:
            continue
        color = KIND_COLORS[kind]
        curves.append((f"{flow.label}: ‖∂L/∂h_t‖", kind, flow.grad_h, {"color": color, "width": 3}))
        if flow.grad_c is not None:
            curves.append((f"{flow.label}: ‖∂L/∂c_t‖", kind, flow.grad_c, {"color": color, "width": 2, "dash": "dash"}))
        if flow.forget_product is not None:
            curves.append(
                (f"{flow.label}: ∏ f (forget gates after t, mean over units)", kind, flow.forget_product,
                 {"color": "#17becf", "width": 2, "dash": "dot"})
            )  # fmt: skip
    underflow = []
    labels: list[dict] = []  # each h curve's label at its first finite step (its y: the log10 value there)
    finite_logs: list[np.ndarray] = [np.zeros(0)]
    for name, kind, values, line in curves:
        v = _positive(values)
        who = f"{name.split(':')[0]} {name.split(': ')[1]}"  # "RNN (tanh) ‖∂L/∂h_t‖"
        if normalise and np.isfinite(v[-1]):
            v = v / v[-1]
        elif normalise and np.isfinite(v).any():  # nothing to divide by: drawn as it is; its name and a note say so
            name += " (as it is: 0 at the last step)"
            underflow.append(f"{who} is drawn as it is, not ÷ its value at the last step (0 there)")
        gone = np.isnan(v[:-1]) if not np.isfinite(v[-1]) and np.isfinite(v).any() else np.isnan(v)
        if gone.any():  # a norm is 0 only when every element is: below float64's smallest, ~5e-324
            underflow.append(f"{who} is 0 in float64 (below 5e-324) before t = {int(np.nonzero(gone)[0].max()) + 1}")
        fig.add_trace(
            go.Scatter(
                x=t, y=v, name=name, mode="lines", line=line,
                hovertemplate=f"{name}<br>t = %{{x}}<br>%{{y:.3e}}<extra></extra>",
            )
        )  # fmt: skip
        first = np.flatnonzero(np.isfinite(v))
        finite_logs.append(np.log10(v[first]))
        if first.size and "h_t" in name:
            k = first[0]
            labels.append(dict(
                x=k, y=float(np.log10(v[k])), text=f"{LABELS[kind]}: {v[k]:.1e}", showarrow=True, arrowhead=0, ax=60,
                font={"color": line["color"], "size": 12}, xanchor="left", bgcolor="rgba(255,255,255,0.8)",
            ))  # fmt: skip
    logs = np.concatenate(finite_logs)  # empty when every value underflowed: no labels then either
    span = float(np.ptp(logs)) if logs.size else 1.0
    for ay, label in zip(_label_offsets([label["y"] for label in labels], span), labels, strict=True):
        fig.add_annotation(**label, ay=ay)
    note = "".join(f"<br><sup>{line}</sup>" for line in underflow)  # one line each: a long one runs off the chart
    fig.update_layout(  # relative or absolute: the y axis' title says which (a longer title ran off narrow charts)
        title={"text": f"How much the loss at step {T - 1} depends on each earlier step{note}"},
        xaxis={"title": {"text": "time step t (the loss reads only the last state)"}, "range": [-0.5, T - 0.5],
               **({"dtick": 1} if T <= 20 else {})},  # whole steps only: no t = 0.5 on a short sequence
        yaxis={
            "title": {"text": "gradient norm" + (" ÷ its value at the last step" if normalise
                                                 else " (∏ f: a plain product, no unit)")},
            "type": "log", "exponentformat": "power", "showexponent": "all",
        },
        legend={"orientation": "h", "y": -0.2, "x": 0},
        height=560 + 18 * len(underflow),
        margin={"t": 80 + 18 * len(underflow), "l": 70, "r": 30},
        template="plotly_white",
    )  # fmt: skip
    return fig


# The labels at the curves' first steps: the plot is about this many pixels high (560 less the margins, the axis
# title and the legend), and two labels closer than LABEL_GAP_PX (a line of 12-px text) were drawn on each other.
PLOT_PX = 380
LABEL_GAP_PX = 18


def _label_offsets(logs: list[float], span: float) -> list[float]:
    """Each label's vertical offset in pixels (down is positive) so that no two lie closer than ``LABEL_GAP_PX``:
    ``logs`` are the labels' log10 values, ``span`` the decades the y axis shows (about; Plotly pads it a little)."""
    per_decade = PLOT_PX / max(span, 1e-9)
    order = sorted(range(len(logs)), key=lambda n: -logs[n])  # top first
    offsets = [0.0] * len(logs)
    last = -np.inf
    for n in order:
        y = -logs[n] * per_decade  # pixels, down from an arbitrary origin
        placed = max(y, last + LABEL_GAP_PX)
        offsets[n], last = placed - y, placed
    return offsets


def input_gradient_heatmap(result: FlowResult, per_feature: bool = False) -> go.Figure:
    """log10 ‖∂L/∂x_t‖ over time, one row per net; with ``per_feature`` one panel per net, one row per feature.

    All panels share one colour scale (log10 of the gradient), so a colour means the same size everywhere.
    """
    flows = [result.flows[k] for k in KINDS if k in result.flows]
    T = result.settings.length
    with np.errstate(divide="ignore"):
        if per_feature:
            blocks = [np.log10(_positive(f.grad_x)).T for f in flows]  # (I, T) each
        else:
            blocks = [np.log10(_positive(np.stack([f.grad_x_norm for f in flows])))]
    finite = np.concatenate([b[np.isfinite(b)] for b in blocks]) if blocks else np.array([0.0])
    zmin, zmax = (float(finite.min()), float(finite.max())) if finite.size else (-1.0, 0.0)
    rows = len(blocks)
    titles = [f"{f.label}: |∂L/∂x_t,k| per input feature k" for f in flows] if per_feature else None
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.08, subplot_titles=titles)
    for r, block in enumerate(blocks, start=1):
        if per_feature:
            y = [f"x[{k}]" for k in range(block.shape[0])]
            label = flows[r - 1].label
        else:
            y = [f.label for f in flows]
            label = "net"
        fig.add_trace(
            go.Heatmap(
                z=block, x=np.arange(T), y=y, coloraxis="coloraxis",
                hovertemplate=f"{label} %{{y}}<br>t = %{{x}}<br>log10 gradient = %{{z:.2f}}<extra></extra>",
            ),
            row=r, col=1,
        )  # fmt: skip
        fig.update_yaxes(autorange="reversed", row=r, col=1)
    fig.update_xaxes(title_text="time step t", row=rows, col=1)
    if T <= 20:
        fig.update_xaxes(dtick=1)  # whole steps only
    fig.update_layout(
        title={"text": "Gradient reaching the input at each step: log10 ‖∂L/∂x_t‖"
               + (" per feature" if per_feature else "")},
        coloraxis={"colorscale": "Viridis", "cmin": zmin, "cmax": zmax,
                   "colorbar": {"title": {"text": "log10", "side": "right"}}},
        height=180 + (150 + 22 * max(b.shape[0] for b in blocks)) * rows if per_feature else 300,
        margin={"t": 70, "l": 90, "r": 30},
        template="plotly_white",
    )  # fmt: skip
    return fig




