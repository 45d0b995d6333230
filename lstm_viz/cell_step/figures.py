"""Figures of one cell step: ``weight_ih`` split into its four gate blocks, and RNNCell unrolled vs nn.RNN.

Pure functions returning Plotly figures (post 3's two pictures of what a cell is).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from lstm_viz.core.recording import STORAGE_ORDER
from lstm_viz.core.reference import PARITY_TOLERANCE, RnnUnroll
from lstm_viz.viz.budget import bin_time
from lstm_viz.viz.palette import GATE_COLORS

__all__ = ["MAX_BARS", "rnn_unroll_figure", "stored_name", "weight_split_figure"]

MAX_BARS = 60  # bars of the RNNCell-vs-RNN figure before steps are binned


def _input_columns(which: str, cols: int, layer: int, bidirectional: bool) -> tuple[list[str], str]:
    """The columns' names and the x axis title: x_t for layer 0, the layer below's h_t above it (its forward
    units, then its backward ones), h_{t-1} for weight_hh."""
    if which == "hh":
        return [f"h[{k}]" for k in range(cols)], "previous hidden state h_{t-1}"
    if layer == 0:
        return [f"x[{k}]" for k in range(cols)], "input x_t"
    below = f"layer {layer - 1}"
    if not bidirectional:
        return [f"h[{k}]" for k in range(cols)], f"input: {below}'s h_t"
    half = cols // 2
    names = [f"fwd h[{k}]" for k in range(half)] + [f"bwd h[{k}]" for k in range(cols - half)]
    return names, f"input: {below}'s h_t, forward units then backward"


def stored_name(which: str, layer: int, direction: int) -> str:
    """The parameter's name in PyTorch: ``weight_ih_l0``, ``weight_hh_l1_reverse`` (``which``: ih or hh)."""
    return f"weight_{which}_l{layer}{'_reverse' if direction else ''}"


def weight_split_figure(
    weights: dict[str, np.ndarray],
    which: str = "ih",
    unit: int | None = None,
    max_cols: int = 64,
    *,
    layer: int = 0,
    direction: int = 0,
    bidirectional: bool = False,
) -> go.Figure:
    """``weight_ih`` (or ``weight_hh``) as a heatmap split into the four stacked blocks W_ii | W_if | W_ig | W_io.

    ``weights`` is :func:`lstm_viz.core.reference.split_weights`' dict for ``layer`` and ``direction`` (0 forward,
    1 backward), which name the matrix in the title (``weight_ih_l1_reverse``) and its columns (above layer 0 they
    are the layer below's h, forward then backward when ``bidirectional``). Rows are stacked in PyTorch's storage
    order i, f, g, o (rows 0..H-1 are W_ii, H..2H-1 W_if, …); ``unit`` outlines that unit's row in every block.
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
    names, x_title = _input_columns(which, cols, layer, bidirectional)
    x = names[: shown.shape[1]]
    stored = stored_name(which, layer, direction)
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
        title={"text": f"{stored} = [W_{side}i | W_{side}f | W_{side}g | W_{side}o], "
               f"shape ({4 * H}, {cols}){cut}"},
        yaxis={"autorange": "reversed", "showticklabels": 4 * H <= 64, "title": {"text": "row: gate[unit]"}},
        xaxis={"title": {"text": x_title}},
        height=min(900, max(320, 60 + 16 * 4 * H)),
        margin={"r": 40, "t": 60},
        template="plotly_white",
    )  # fmt: skip
    return fig


def rnn_unroll_figure(run: RnnUnroll, max_bars: int = MAX_BARS) -> go.Figure:
    """Per step: the largest |RNNCell − RNN| difference (bars, log axis) against the dtype's rounding tolerance.

    Past ``max_bars`` steps the bars are bins of consecutive steps, each the largest difference in its bin (the
    worst case is what the check is about), without value labels; the subtitle says so. A browser draws 1,000
    labelled bars in tens of seconds; 60 bins in a blink.
    """
    diff = run.step_diff
    steps = len(diff)
    tol = PARITY_TOLERANCE.get(run.dtype, 1e-3)
    bins = bin_time(steps, max_bars)
    if bins.binned:
        shown_diff = np.maximum.reduceat(diff, bins.start)
        x = bins.centers()
        hover = [f"t {a}–{b - 1}" for a, b in zip(bins.start, bins.stop, strict=True)]
        note = f"{steps} steps in {len(bins)} bins of {bins.size}: each bar is the largest difference in its bin"
    else:
        shown_diff, x, hover, note = diff, np.arange(steps), [f"t = {t}" for t in range(steps)], ""
    shown = np.where(shown_diff > 0, shown_diff, np.nan)
    labels = None if bins.binned else ["exactly 0" if d == 0 else f"{d:.1e}" for d in shown_diff]
    fig = go.Figure(
        go.Bar(
            x=x, y=shown, name="max |RNNCell − RNN|", marker={"color": "#1f77b4"}, customdata=hover,
            text=labels, textposition="outside" if labels else None,
            hovertemplate="%{customdata}<br>max |Δ| = %{y:.2e}<extra></extra>",
        )
    )  # fmt: skip
    fig.add_hline(y=tol, line={"color": "#d62728", "dash": "dash"}, annotation_text=f"{run.dtype} rounding: {tol:g}")
    positive = diff[diff > 0]
    low = np.log10(min(positive.min(), tol)) - 1 if positive.size else np.log10(tol) - 3
    # up to 10× the tolerance, or above the largest bar with room for its label: a failing step is what this chart
    # is for, and a fixed top cut its bar off at the edge
    top = max(np.log10(tol) + 1, np.log10(positive.max()) + 0.6) if positive.size else np.log10(tol) + 1
    zeros = int((diff == 0).sum())
    if not note and zeros == steps:
        note = "every step exactly equal: no bars (a log axis has no 0)"
    elif not note and zeros:
        note = f"{zeros} of {steps} steps exactly equal (no bar: a log axis has no 0)"
    fig.update_layout(
        title={"text": f"max |RNNCell − RNN| per step ({run.dtype})", "subtitle": {"text": note}},
        xaxis={"title": {"text": "time step t"}, **({"dtick": 1} if steps <= 30 else {})},
        yaxis={"type": "log", "title": {"text": "max |h_t difference|"}, "exponentformat": "power",
               "range": [low, top]},
        height=340, template="plotly_white", margin={"t": 80}, showlegend=False,
    )  # fmt: skip
    return fig
