"""Plotly figures for the gradient-flow and one-cell pages: gradient decay, input-gradient heatmaps, weight splits.

Pure functions: each takes results from :mod:`lstm_viz.gradients` or :mod:`lstm_viz.cellstep` (or plain arrays)
and returns a ``plotly.graph_objects.Figure`` without showing it.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lstm_viz.cell_step.steps import PARITY_TOLERANCE, RnnUnroll
from lstm_viz.core.recording import STORAGE_ORDER
from lstm_viz.gradients.flow import KINDS, LABELS, FlowResult

__all__ = [
    "KIND_COLORS",
    "gradient_flow_figure",
    "input_gradient_heatmap",
    "rnn_unroll_figure",
    "weight_split_figure",
]

KIND_COLORS: dict[str, str] = {"rnn": "#d62728", "gru": "#ff7f0e", "lstm": "#1f77b4"}
GATE_COLORS: dict[str, str] = {"i": "#2ca02c", "f": "#1f77b4", "g": "#9467bd", "o": "#ff7f0e"}


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
    for name, kind, values, line in curves:
        v = _positive(values)
        if normalise and np.isfinite(v[-1]):
            v = v / v[-1]
        if np.isnan(v).any():
            underflow.append(f"{name.split(':')[0]} {name.split(': ')[1]} is below 1e-308 (float64) before "
                             f"t = {int(np.nonzero(np.isnan(v))[0].max()) + 1}")  # fmt: skip
        fig.add_trace(
            go.Scatter(
                x=t, y=v, name=name, mode="lines", line=line,
                hovertemplate=f"{name}<br>t = %{{x}}<br>%{{y:.3e}}<extra></extra>",
            )
        )  # fmt: skip
        first = np.flatnonzero(np.isfinite(v))
        if first.size and "h_t" in name:
            k = first[0]
            fig.add_annotation(
                x=k, y=np.log10(v[k]), text=f"{LABELS[kind]}: {v[k]:.1e}", showarrow=True, arrowhead=0, ax=60,
                ay=0, font={"color": line["color"], "size": 12}, xanchor="left", bgcolor="rgba(255,255,255,0.8)",
            )  # fmt: skip
    what = "relative to the last step" if normalise else "absolute"
    note = ("<br><sup>" + "; ".join(underflow) + "</sup>") if underflow else ""
    fig.update_layout(
        title={"text": f"How much the loss at step {T - 1} depends on each earlier step ({what}){note}"},
        xaxis={"title": {"text": "time step t (the loss reads only the last state)"}, "range": [-0.5, T - 0.5]},
        yaxis={
            "title": {"text": "gradient norm" + (" ÷ its value at the last step" if normalise else "")},
            "type": "log", "exponentformat": "power", "showexponent": "all",
        },
        legend={"orientation": "h", "y": -0.2, "x": 0},
        height=560,
        margin={"t": 80, "l": 70, "r": 30},
        template="plotly_white",
    )  # fmt: skip
    return fig


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


def weight_split_figure(
    weights: dict[str, np.ndarray], which: str = "ih", unit: int | None = None, max_cols: int = 64
) -> go.Figure:
    """``weight_ih`` (or ``weight_hh``) as a heatmap split into the four stacked blocks W_ii | W_if | W_ig | W_io.

    ``weights`` is :func:`lstm_viz.cellstep.split_weights`' dict. Rows are stacked in PyTorch's storage order
    i, f, g, o (rows 0..H-1 are W_ii, H..2H-1 W_if, …); ``unit`` outlines that unit's row in every block.
    Matrices wider than ``max_cols`` show their first ``max_cols`` columns (the title says so).
    """
    if which not in ("ih", "hh"):
        raise ValueError(f"which must be 'ih' or 'hh', got {which!r}")
    side = "i" if which == "ih" else "h"
    blocks = [weights[f"W_{side}{g}"] for g in STORAGE_ORDER]
    H, cols = blocks[0].shape
    full = np.concatenate(blocks, axis=0)  # (4H, cols)
    shown = full[:, :max_cols]
    y = [f"{n * H + j}: {g}[{j}]" for n, g in enumerate(STORAGE_ORDER) for j in range(H)]
    x = [f"{'x' if which == 'ih' else 'h'}[{k}]" for k in range(shown.shape[1])]
    lim = float(np.abs(shown).max()) or 1.0
    fig = go.Figure(
        go.Heatmap(
            z=shown, x=x, y=y, colorscale="RdBu_r", zmin=-lim, zmax=lim,
            hovertemplate="row %{y}<br>column %{x}<br>%{z:.4f}<extra></extra>",
            colorbar={"title": {"text": "weight", "side": "right"}, "x": 1.1},
            texttemplate="%{z:.2f}" if shown.size <= 160 else None,
        )
    )  # fmt: skip
    for n, g in enumerate(STORAGE_ORDER):
        lo, hi = n * H - 0.5, (n + 1) * H - 0.5
        fig.add_shape(
            type="rect", x0=-0.5, x1=shown.shape[1] - 0.5, y0=lo, y1=hi, line={"color": GATE_COLORS[g], "width": 3}
        )
        fig.add_annotation(
            x=1.005, xref="paper", xanchor="left", y=(lo + hi) / 2, text=f"<b>W_{side}{g}</b>", showarrow=False,
            font={"color": GATE_COLORS[g], "size": 14},
        )  # fmt: skip
        if unit is not None and 0 <= unit < H:
            r = n * H + unit
            fig.add_shape(
                type="rect", x0=-0.5, x1=shown.shape[1] - 0.5, y0=r - 0.5, y1=r + 0.5,
                line={"color": "black", "width": 2, "dash": "dot"},
            )  # fmt: skip
    cut = f" (first {max_cols} of {cols} columns)" if cols > max_cols else ""
    fig.update_layout(
        title={"text": f"weight_{which} = [W_{side}i | W_{side}f | W_{side}g | W_{side}o], "
               f"shape ({4 * H}, {cols}){cut}"},
        yaxis={"autorange": "reversed", "showticklabels": 4 * H <= 64, "title": {"text": "row: gate[unit]"}},
        xaxis={"title": {"text": "input x_t" if which == "ih" else "previous hidden state h_{t-1}"}},
        height=min(900, max(320, 60 + 16 * 4 * H)),
        margin={"r": 40, "t": 60},
        template="plotly_white",
    )  # fmt: skip
    return fig


def rnn_unroll_figure(run: RnnUnroll) -> go.Figure:
    """Per step: the largest |RNNCell − RNN| difference (bars, log axis) against the dtype's rounding tolerance."""
    steps = np.arange(run.h_cell.shape[0])
    diff = run.step_diff
    tol = PARITY_TOLERANCE.get(run.dtype, 1e-3)
    shown = np.where(diff > 0, diff, np.nan)
    fig = go.Figure(
        go.Bar(
            x=steps, y=shown, name="max |RNNCell − RNN|", marker={"color": "#1f77b4"},
            text=["exactly 0" if d == 0 else f"{d:.1e}" for d in diff], textposition="outside",
            hovertemplate="t = %{x}<br>max |Δ| = %{y:.2e}<extra></extra>",
        )
    )  # fmt: skip
    fig.add_hline(y=tol, line={"color": "#d62728", "dash": "dash"}, annotation_text=f"{run.dtype} rounding: {tol:g}")
    positive = diff[diff > 0]
    low = np.log10(min(positive.min(), tol)) - 1 if positive.size else np.log10(tol) - 3
    fig.update_layout(
        title={"text": f"max |RNNCell − RNN| per step ({run.dtype})"},
        xaxis={"title": {"text": "time step t"}, "dtick": 1},
        yaxis={"type": "log", "title": {"text": "max |h_t difference|"}, "exponentformat": "power",
               "range": [low, np.log10(tol) + 1]},
        height=340, template="plotly_white", margin={"t": 60}, showlegend=False,
    )  # fmt: skip
    return fig
