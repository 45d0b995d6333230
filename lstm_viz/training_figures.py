"""Plotly figures of a training run: the seed's TensorBoard panels, loss/accuracy, errors, live gates, saturation.

Every builder is a pure function of a metric history (a list of per-epoch dicts as ``Trainer.history`` holds, or a
DataFrame), a list of probes (per-chunk measurements taken by ``lstm_viz.live.LiveRun``) or a ``Recording``, and
returns a ``plotly.graph_objects.Figure`` without showing it. Long histories are thinned to ``MAX_POINTS`` per
curve (the last epoch always kept) so a live page can redraw them twice a second.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from lstm_viz.recording import DISPLAY_ORDER, Recording

__all__ = [
    "COMPANY_INPUTS",
    "COMPANY_NAMES",
    "MAX_POINTS",
    "SATURATION_GATES",
    "absolute_error_figure",
    "dataset_preview",
    "gate_saturation",
    "history_frame",
    "loss_accuracy_figure",
    "saturation_figure",
    "statquest_weights_figure",
    "subtraction_live_figures",
    "thin",
    "toy_gate_figure",
    "toy_live_figures",
    "toy_panels_figure",
]

MAX_POINTS = 1000
COMPANY_NAMES = ("Company A", "Company B")
COMPANY_INPUTS = ((0.0, 0.5, 0.25, 1.0), (1.0, 0.5, 0.25, 1.0))  # seed 000's two sequences; targets 0 and 1
SATURATION_GATES = ("f", "i", "o")
_COLORS = {"f": "#1f77b4", "i": "#2ca02c", "g": "#ff7f0e", "o": "#9467bd", "c": "#d62728", "h": "#17becf"}
_TITLES = {
    "f": "f · forget",
    "i": "i · input",
    "g": "g · candidate",
    "o": "o · output",
    "c": "c · long memory",
    "h": "h · short memory",
}
_COMPANY_COLORS = ("#1f77b4", "#ff7f0e")
_TRAIN_TEST_DASH = {"train": "solid", "test": "dot"}
# Gate groups of the StatQuest model, in the post's order: (weight on h, weight on x, bias) per gate.
_STATQUEST_GROUPS = (
    ("forget gate f (long-term remember %)", ("wlr1", "wlr2", "blr1")),
    ("input gate i (potential remember %)", ("wpr1", "wpr2", "bpr1")),
    ("candidate g (potential memory)", ("wp1", "wp2", "bp1")),
    ("output gate o (output %)", ("wo1", "wo2", "bo1")),
)
_ROLE_STYLE = (("weight on h", "solid"), ("weight on x", "dash"), ("bias", "dot"))


# ---- data preparation -------------------------------------------------------------------------------------------
def history_frame(history: Sequence[Mapping[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """The metric history as a DataFrame with one row per epoch (an empty frame with an ``epoch`` column if none)."""
    if isinstance(history, pd.DataFrame):
        frame = history
    else:
        rows = [{k: v for k, v in row.items() if np.isscalar(v) or v is None} for row in history]
        frame = pd.DataFrame(rows)
    if "epoch" not in frame.columns:
        frame = frame.assign(epoch=np.arange(1, len(frame) + 1))
    return frame


def thin(frame: pd.DataFrame, max_points: int = MAX_POINTS) -> pd.DataFrame:
    """At most ``max_points`` evenly spaced rows, always keeping the first and the last."""
    n = len(frame)
    if n <= max_points:
        return frame
    idx = np.unique(np.linspace(0, n - 1, max_points).round().astype(int))
    return frame.iloc[idx]


def gate_saturation(rec: Recording, low: float = 0.1, high: float = 0.9, layer: int = 0) -> dict[str, Any]:
    """Per gate (f, i, o) and unit, the share of (sample, step) values below ``low`` and above ``high``.

    Karpathy et al. (2015) call these left- and right-saturated; a unit whose gate is nearly always one or the
    other has *committed* (always forget, always write...). Returns ``{"f": {"low": [...], "high": [...]}, ...}``
    with one float per unit, over every sample and step of layer ``layer``'s forward direction.
    """
    if not 0.0 <= low < high <= 1.0:
        raise ValueError(f"need 0 ≤ low < high ≤ 1 (e.g. low=0.1, high=0.9), got low={low}, high={high}")
    out: dict[str, Any] = {}
    for q in SATURATION_GATES:
        values = getattr(rec, q)[layer, 0].detach().float()  # (batch, T, units)
        flat = values.reshape(-1, values.shape[-1])
        out[q] = {
            "low": (flat < low).float().mean(0).cpu().tolist(),
            "high": (flat > high).float().mean(0).cpu().tolist(),
        }
    return out


# ---- figures ----------------------------------------------------------------------------------------------------
def _empty_note(fig: go.Figure, text: str) -> go.Figure:
    fig.add_annotation(text=text, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font=dict(size=14))
    return fig


def toy_panels_figure(history: Sequence[Mapping[str, Any]] | pd.DataFrame, height: int = 300) -> go.Figure:
    """Seed 000's TensorBoard panels side by side: ``train_loss``, ``out_0`` (Company A, target 0), ``out_1`` (B, 1).

    The history needs ``epoch``, ``loss`` and ``out_0``/``out_1`` (the predictions for A and B at that epoch).
    """
    frame = thin(history_frame(history))
    fig = make_subplots(
        rows=1,
        cols=3,
        subplot_titles=("train_loss", "out_0 · Company A (target 0)", "out_1 · Company B (target 1)"),
        horizontal_spacing=0.07,
    )
    panels = (("loss", None, "#444444"), ("out_0", 0.0, _COMPANY_COLORS[0]), ("out_1", 1.0, _COMPANY_COLORS[1]))
    for col, (name, target, color) in enumerate(panels, start=1):
        if name in frame.columns and len(frame):
            fig.add_trace(
                go.Scatter(
                    x=frame["epoch"].to_numpy(),
                    y=frame[name].to_numpy(dtype=float),
                    mode="lines",
                    name="train_loss" if name == "loss" else name,
                    line=dict(color=color, width=2),
                    hovertemplate="epoch %{x}<br>%{y:.5f}<extra>"
                    + ("train_loss" if name == "loss" else name)
                    + "</extra>",
                    showlegend=False,
                ),
                row=1,
                col=col,
            )
        if target is not None:
            fig.add_hline(y=target, line=dict(color="#888888", dash="dash", width=1), row=1, col=col)
        fig.update_xaxes(title_text="epoch", row=1, col=col)
    fig.update_yaxes(type="log", row=1, col=1, exponentformat="power")
    fig.update_yaxes(range=[-0.1, 1.1], row=1, col=2)
    fig.update_yaxes(range=[-0.1, 1.1], row=1, col=3)
    last = frame.iloc[-1] if len(frame) else None
    subtitle = "no epochs yet: press Start"
    if last is not None and {"loss", "out_0", "out_1"} <= set(frame.columns):
        subtitle = (
            f"epoch {int(last['epoch']):,}: loss {float(last['loss']):.5f} · "
            f"A → {float(last['out_0']):.4f} · B → {float(last['out_1']):.4f}"
        )
    fig.update_layout(
        title=dict(text="Training curves (as the seed's TensorBoard)", subtitle=dict(text=subtitle)),
        height=height,
        margin=dict(t=90, b=40, l=50, r=20),
        uirevision="toy-panels",  # keep the user's zoom while the curves grow
    )
    return fig


def loss_accuracy_figure(history: Sequence[Mapping[str, Any]] | pd.DataFrame, height: int = 340) -> go.Figure:
    """Loss (log scale) and accuracy per epoch, train solid and test dotted: bit accuracy and exact match.

    Uses whichever of ``loss``/``train_loss``/``test_loss``, ``train_bit_acc``/``test_bit_acc`` and
    ``train_exact_match``/``test_exact_match`` the history holds.
    """
    frame = thin(history_frame(history))
    fig = make_subplots(rows=1, cols=2, subplot_titles=("loss (BCE)", "accuracy"), horizontal_spacing=0.08)
    epochs = frame["epoch"].to_numpy()
    loss_columns = [("train", "train_loss"), ("train", "loss"), ("test", "test_loss")]
    drawn_train_loss = False
    for split, column in loss_columns:
        if column not in frame.columns or (split == "train" and drawn_train_loss):
            continue
        drawn_train_loss |= split == "train"
        fig.add_trace(
            go.Scatter(
                x=epochs,
                y=frame[column].to_numpy(dtype=float),
                mode="lines",
                name=f"{split} loss",
                line=dict(color="#444444", dash=_TRAIN_TEST_DASH[split], width=2),
                legendgroup="loss",
                hovertemplate="epoch %{x}<br>%{y:.5f}<extra>" + f"{split} loss</extra>",
            ),
            row=1,
            col=1,
        )
    for metric, label, color in (("bit_acc", "bit accuracy", "#2ca02c"), ("exact_match", "exact match", "#9467bd")):
        for split in ("train", "test"):
            column = f"{split}_{metric}"
            if column not in frame.columns:
                continue
            fig.add_trace(
                go.Scatter(
                    x=epochs,
                    y=frame[column].to_numpy(dtype=float),
                    mode="lines",
                    name=f"{split} {label}",
                    line=dict(color=color, dash=_TRAIN_TEST_DASH[split], width=2),
                    hovertemplate="epoch %{x}<br>%{y:.2%}<extra>" + f"{split} {label}</extra>",
                ),
                row=1,
                col=2,
            )
    fig.update_yaxes(type="log", exponentformat="power", row=1, col=1)
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%", row=1, col=2)
    fig.update_xaxes(title_text="epoch")
    subtitle = "no epochs yet: press Start"
    if len(frame):
        last = frame.iloc[-1]
        parts = [f"epoch {int(last['epoch']):,}"]
        for column, label in (("test_bit_acc", "test bit accuracy"), ("test_exact_match", "test exact match")):
            if column in frame.columns:
                parts.append(f"{label} {float(last[column]):.2%}")
        subtitle = " · ".join(parts)
    fig.update_layout(
        title=dict(text="Loss and accuracy", subtitle=dict(text=subtitle)),
        height=height,
        margin=dict(t=90, b=40, l=50, r=20),
        legend=dict(orientation="h", y=-0.25),
        uirevision="loss-accuracy",
    )
    return fig


def absolute_error_figure(truth: Sequence[int] | np.ndarray, predicted: Sequence[int] | np.ndarray) -> go.Figure:
    """Seed 004's plot: the absolute error |prediction − truth| per test sample, with the RMSE in the title."""
    truth = np.asarray(truth, dtype=float).reshape(-1)
    predicted = np.asarray(predicted, dtype=float).reshape(-1)
    if truth.shape != predicted.shape:
        raise ValueError(f"truth and predictions differ in length: {truth.size} vs {predicted.size}")
    error = np.abs(predicted - truth)
    rmse = float(np.sqrt(np.mean(error**2))) if error.size else float("nan")
    wrong = int(np.count_nonzero(error))
    fig = go.Figure(
        go.Scatter(
            x=np.arange(error.size),
            y=error,
            mode="lines+markers" if error.size <= 2000 else "lines",
            marker=dict(size=3),
            line=dict(width=1, color="#1f77b4"),
            name="absolute error",
            customdata=np.stack([truth, predicted], axis=1) if error.size else None,
            hovertemplate="sample %{x}<br>true %{customdata[0]:.0f} · predicted %{customdata[1]:.0f}"
            "<br>|error| %{y:.0f}<extra></extra>",
        )
    )
    fig.update_layout(
        title=dict(
            text=f"Prediction error per test sample — RMSE {rmse:.4f}",
            subtitle=dict(
                text=f"{error.size:,} test samples, {wrong:,} wrong; max error {error.max():.0f}"
                if error.size
                else "no samples"
            ),
        ),
        xaxis_title="sample index",
        yaxis_title="absolute error",
        yaxis=dict(rangemode="tozero"),
        height=320,
        margin=dict(t=90, b=40, l=60, r=20),
    )
    return fig


def toy_gate_figure(
    rec: Recording,
    names: Sequence[str] = COMPANY_NAMES,
    targets: Sequence[float] | None = (0.0, 1.0),
    title: str | None = None,
) -> go.Figure:
    """f, i, g, o, c, h of unit 0 over the days, one small panel each, one line per sequence (Company A and B).

    ``rec`` is a recording of a one-layer model on a batch of sequences (seed 000: A and B, four days each).
    Gates share the 0..1 axis, g and h −1..1; the last day's h is the prediction, compared with its target.
    """
    batch, steps = rec.batch_size, rec.seq_len
    if len(names) < batch:
        names = [*names, *(f"sequence {b}" for b in range(len(names), batch))]
    days = np.arange(1, steps + 1)
    fig = make_subplots(rows=1, cols=6, subplot_titles=[_TITLES[q] for q in DISPLAY_ORDER], horizontal_spacing=0.04)
    x = rec.x.detach().float().cpu().numpy()  # (batch, T, input)
    for col, q in enumerate(DISPLAY_ORDER, start=1):
        values = getattr(rec, q)[0, 0, :, :, 0].detach().float().cpu().numpy()  # (batch, T)
        for b in range(batch):
            fig.add_trace(
                go.Scatter(
                    x=days,
                    y=values[b],
                    mode="lines+markers",
                    name=names[b],
                    legendgroup=names[b],
                    showlegend=col == 1,
                    line=dict(color=_COMPANY_COLORS[b % 2], width=2),
                    marker=dict(size=6),
                    customdata=x[b, :, 0],
                    hovertemplate=f"{names[b]}<br>day %{{x}} · x = %{{customdata:.3g}}<br>{q} = %{{y:.4f}}"
                    "<extra></extra>",
                ),
                row=1,
                col=col,
            )
        if q in SATURATION_GATES:
            fig.update_yaxes(range=[-0.05, 1.05], row=1, col=col)
        elif q in ("g", "h"):
            fig.update_yaxes(range=[-1.05, 1.05], row=1, col=col)
        fig.update_xaxes(tickmode="array", tickvals=days, title_text="day", row=1, col=col)
    subtitle = "one unit; the last day's h is the prediction"
    if targets is not None:
        last_h = rec.h[0, 0, :, -1, 0].detach().float().cpu().numpy()
        parts = [f"{names[b]} → {last_h[b]:.4f} (target {targets[b]:g})" for b in range(min(batch, len(targets)))]
        subtitle = " · ".join(parts)
    fig.update_layout(
        title=dict(text=title or "Gates over the four days", subtitle=dict(text=subtitle)),
        height=300,
        margin=dict(t=90, b=40, l=40, r=20),
        legend=dict(orientation="h", y=-0.25),
        uirevision="toy-gates",
    )
    return fig


def statquest_weights_figure(probes: Sequence[Mapping[str, Any]] | pd.DataFrame) -> go.Figure:
    """The twelve named weights of the by-hand model over the epochs, one panel per gate (w on h, w on x, bias).

    ``probes`` rows hold ``epoch`` and the twelve names (``wlr1`` … ``bo1``) as numbers.
    """
    frame = thin(probes if isinstance(probes, pd.DataFrame) else pd.DataFrame(list(probes)))
    fig = make_subplots(rows=1, cols=4, subplot_titles=[g for g, _ in _STATQUEST_GROUPS], horizontal_spacing=0.05)
    for col, (gate, names) in enumerate(_STATQUEST_GROUPS, start=1):
        for name, (role, dash) in zip(names, _ROLE_STYLE, strict=True):
            if name not in frame.columns:
                continue
            fig.add_trace(
                go.Scatter(
                    x=frame["epoch"].to_numpy(),
                    y=frame[name].to_numpy(dtype=float),
                    mode="lines",
                    name=name,
                    line=dict(dash=dash, width=2),
                    legendgroup=name,
                    hovertemplate=f"{name} ({role}, {gate.split(' (')[0]})<br>epoch %{{x}}<br>%{{y:.4f}}"
                    "<extra></extra>",
                ),
                row=1,
                col=col,
            )
        fig.update_xaxes(title_text="epoch", row=1, col=col)
    subtitle = "solid: weight on h (short memory) · dashed: weight on x (input) · dotted: bias"
    if len(frame) and "epoch" in frame.columns:
        subtitle = f"epoch {int(frame['epoch'].iloc[-1]):,} — " + subtitle
    else:
        _empty_note(fig, "no epochs yet: press Start")
    fig.update_layout(
        title=dict(text="The twelve StatQuest weights as they learn", subtitle=dict(text=subtitle)),
        height=320,
        margin=dict(t=90, b=40, l=40, r=20),
        legend=dict(orientation="h", y=-0.25),
        uirevision="statquest-weights",
    )
    return fig


def saturation_figure(probes: Sequence[Mapping[str, Any]], low: float = 0.1, high: float = 0.9) -> go.Figure:
    """Gate saturation per epoch: the share of saturated values per gate (top) and per unit (heatmaps, bottom).

    ``probes`` rows hold ``epoch`` and ``saturation`` as returned by :func:`gate_saturation`. A unit turning dark
    in a heatmap has committed: its gate is nearly always below ``low`` or above ``high``.
    """
    rows = [p for p in probes if "saturation" in p]
    if len(rows) > MAX_POINTS // 4:
        idx = np.unique(np.linspace(0, len(rows) - 1, MAX_POINTS // 4).round().astype(int))
        rows = [rows[k] for k in idx]
    fig = make_subplots(
        rows=2,
        cols=3,
        specs=[[{"colspan": 3}, None, None], [{}, {}, {}]],
        subplot_titles=(
            f"share of gate values saturated (< {low:g} solid, > {high:g} dashed)",
            *(f"{_TITLES[q]}: saturated share per unit" for q in SATURATION_GATES),
        ),
        vertical_spacing=0.16,
        horizontal_spacing=0.05,
    )
    if not rows:
        _empty_note(fig, "no epochs yet: press Start")
    epochs = np.array([p["epoch"] for p in rows])
    for col, q in enumerate(SATURATION_GATES, start=1):
        if not rows:
            break
        low_share = np.array([p["saturation"][q]["low"] for p in rows], dtype=float)  # (epochs, units)
        high_share = np.array([p["saturation"][q]["high"] for p in rows], dtype=float)
        for side, share, dash in (("low", low_share, "solid"), ("high", high_share, "dash")):
            fig.add_trace(
                go.Scatter(
                    x=epochs,
                    y=share.mean(1),
                    mode="lines",
                    name=f"{q} {'<' if side == 'low' else '>'} {low if side == 'low' else high:g}",
                    line=dict(color=_COLORS[q], dash=dash, width=2),
                    hovertemplate=f"epoch %{{x}}<br>{q} {side}-saturated: %{{y:.1%}}<extra></extra>",
                ),
                row=1,
                col=1,
            )
        units = np.arange(low_share.shape[1])
        fig.add_trace(
            go.Heatmap(
                x=epochs,
                y=units,
                z=(low_share + high_share).T.astype(np.float32),
                coloraxis="coloraxis",
                customdata=np.stack([low_share.T, high_share.T], axis=-1).astype(np.float32),
                hovertemplate=f"epoch %{{x}} · unit %{{y}}<br>{q} < {low:g}: %{{customdata[0]:.1%}}"
                f"<br>{q} > {high:g}: %{{customdata[1]:.1%}}<extra></extra>",
            ),
            row=2,
            col=col,
        )
        fig.update_xaxes(title_text="epoch", row=2, col=col)
        fig.update_yaxes(title_text="unit" if col == 1 else None, autorange="reversed", row=2, col=col)
    fig.update_yaxes(range=[0, 1], tickformat=".0%", row=1, col=1)
    fig.update_layout(
        title=dict(
            text="Gate saturation per epoch: watch units commit",
            subtitle=dict(text="over a fixed probe batch of test samples, layer 0"),
        ),
        coloraxis=dict(colorscale="Greys", cmin=0, cmax=1, colorbar=dict(title="saturated", len=0.45, y=0.22)),
        height=560,
        margin=dict(t=90, b=40, l=50, r=20),
        uirevision="saturation",
    )
    return fig


def toy_live_figures(
    history: Sequence[Mapping[str, Any]], probes: Sequence[Mapping[str, Any]], model: Any | None
) -> dict[str, go.Figure]:
    """What the toy training page redraws every tick: the TensorBoard panels, the gates over the four days of
    Company A and B for the model as it is now, and (for the by-hand model) its twelve weights over time."""
    figures = {"curves": toy_panels_figure(history)}
    if model is not None and getattr(model, "recordable", False):
        device = next(model.parameters()).device
        x = torch.tensor(COMPANY_INPUTS, dtype=torch.float32, device=device).unsqueeze(-1)  # (2, 4, 1)
        epoch = int(history[-1]["epoch"]) if history else 0
        figures["gates"] = toy_gate_figure(model.record(x), title=f"Gates over the four days, epoch {epoch:,}")
    if probes and "wlr1" in probes[-1]:
        figures["weights"] = statquest_weights_figure(probes)
    return figures


def dataset_preview(pairs: torch.Tensor, n: int = 8) -> pd.DataFrame:
    """The first ``n`` samples of a split as rows ``a - b = c`` with the bits the model reads (LSB first).

    ``pairs`` is ``(N, 2)`` integer ``(a, b)`` as ``SubtractionData.pairs_train`` holds.
    """
    rows = []
    for a, b in pairs[:n].tolist():
        c = a - b
        rows.append(
            {
                "sample": f"{a} - {b} = {c}",
                "a bits (t0…t7)": " ".join(str((a >> t) & 1) for t in range(8)),
                "b bits (t0…t7)": " ".join(str((b >> t) & 1) for t in range(8)),
                "c bits (t0…t7)": " ".join(str((c >> t) & 1) for t in range(8)),
            }
        )
    return pd.DataFrame(rows)


def subtraction_live_figures(
    history: Sequence[Mapping[str, Any]],
    probes: Sequence[Mapping[str, Any]],
    model: Any | None,
    x_test: torch.Tensor | None = None,
    pairs_test: torch.Tensor | None = None,
) -> dict[str, go.Figure]:
    """What the subtraction training page redraws every tick: loss and accuracy, the absolute error per test
    sample with the RMSE (for the model as it is now), and the gate saturation per epoch when it was probed."""
    from lstm_viz import subtraction  # the task module: decode the model's bits into integers

    figures = {"curves": loss_accuracy_figure(history)}
    if model is not None and x_test is not None and pairs_test is not None and len(x_test):
        predicted = subtraction.decode_batch(subtraction.predict_probs(model, x_test)).cpu().numpy()
        truth = (pairs_test[:, 0] - pairs_test[:, 1]).cpu().numpy()
        figures["errors"] = absolute_error_figure(truth, predicted)
    if any("saturation" in p for p in probes):
        figures["saturation"] = saturation_figure(probes)
    return figures
