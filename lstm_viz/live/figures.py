"""Plotly figures of a training run: post 0's TensorBoard panels, loss/accuracy, errors, live gates, saturation.

Every builder is a pure function of a metric history (a list of per-epoch dicts as ``Trainer.history`` holds, or a
DataFrame), a list of probes (per-chunk measurements taken by ``lstm_viz.live.LiveRun``) or a ``Recording``, and
returns a ``plotly.graph_objects.Figure`` without showing it. Long histories are thinned to ``MAX_POINTS`` per
curve (the last epoch always kept).

Live pages redraw twice a second, and building a Plotly figure (subplots, validation) costs far more than
training a toy epoch. So the time-series builders take ``into=``: the figure they returned last time. When it has
the same traces, only the data and the subtitle are replaced in it (a few ms) and it is returned; otherwise a new
figure is built. The result is the same figure either way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from lstm_viz.core.recording import DISPLAY_ORDER, Recording
from lstm_viz.parsing import fixed
from lstm_viz.viz.history import MAX_POINTS, series, thin_index
from lstm_viz.viz.palette import GATE_COLORS
from lstm_viz.viz.plotgrid import TITLE_AT_TOP, subtitle_room
from lstm_viz.viz.saturation import SATURATION_GATES, saturation_fractions

__all__ = [
    "COMPANY_INPUTS",
    "COMPANY_NAMES",
    "SATURATION_GATES",
    "absolute_error_figure",
    "gate_saturation",
    "loss_accuracy_figure",
    "saturation_over_epochs_figure",
    "statquest_weights_figure",
    "subtraction_live_figures",
    "toy_gate_figure",
    "toy_live_figures",
    "toy_panels_figure",
]

COMPANY_NAMES = ("Company A", "Company B")
COMPANY_INPUTS = ((0.0, 0.5, 0.25, 1.0), (1.0, 0.5, 0.25, 1.0))  # post 0's two sequences; targets 0 and 1
_TITLES = {
    "f": "f · forget",
    "i": "i · input",
    "g": "g · candidate",
    "o": "o · output",
    "c": "c · long memory",
    "h": "h · short memory",
    "r": "r · reset",
    "z": "z · update",
}
# Greys, not two of the gates' colours: the gates' panels draw A and B in each, and blue and orange read as f and g.
_COMPANY_COLORS = ("#262626", "#9a9a9a")
_COMPANY_SYMBOLS = ("circle", "square")
_TRAIN_TEST_DASH = {"train": "solid", "test": "dot"}
# Gate groups of the StatQuest model, in the post's order: (weight on h, weight on x, bias) per gate.
_STATQUEST_GROUPS = (
    ("f · forget gate<br>(post: long-term remember %)", ("wlr1", "wlr2", "blr1")),
    ("i · input gate<br>(post: potential remember %)", ("wpr1", "wpr2", "bpr1")),
    ("g · candidate<br>(post: potential memory)", ("wp1", "wp2", "bp1")),
    ("o · output gate<br>(post: output %)", ("wo1", "wo2", "bo1")),
)
_ROLE_STYLE = (("weight on h", "solid"), ("weight on x", "dash"), ("bias", "dot"))
_NO_EPOCHS = "no epochs yet: press Start"
_NOTE = "note"  # the name of an annotation that stands in for a subtitle


# ---- data preparation -------------------------------------------------------------------------------------------
def gate_saturation(rec: Recording, low: float = 0.1, high: float = 0.9, layer: int = 0) -> dict[str, Any]:
    """Per gate (f, i, o) and unit, the share of (sample, step) values below ``low`` and above ``high``.

    Karpathy et al. (2015) call these left- and right-saturated; a unit whose gate is nearly always one or the
    other has *committed* (always forget, always write...). Returns ``{"f": {"low": [...], "high": [...]}, ...}``
    with one float per unit, over every sample and step of layer ``layer``'s forward direction.
    """
    fractions = saturation_fractions(rec, low, high)  # the explorer's view 6 computes it the same way
    return {q: {"low": lo[layer, 0].tolist(), "high": hi[layer, 0].tolist()} for q, (lo, hi) in fractions.items()}


# ---- refreshing a figure in place ---------------------------------------------------------------------------------
def _refreshed(into: go.Figure | None, kind: str, data: Sequence[Mapping[str, Any]], subtitle: str) -> bool:
    """Put ``data`` (per-trace changing fields, each with its ``name``) and the subtitle into ``into`` if it was
    built by the same builder with the same traces, and not before there was anything to draw (``_empty_note``: its
    axes hidden, its note in the middle); True when done (then ``into`` is the answer)."""
    if into is None or into.layout.meta != kind or into.layout.xaxis.visible is False or len(into.data) != len(data):
        return False
    if any(trace.name != d["name"] for trace, d in zip(into.data, data, strict=True)):
        return False
    for trace, d in zip(into.data, data, strict=True):
        for key, value in d.items():
            if key != "name" and not _same_array(getattr(trace, key), value):
                setattr(trace, key, value)  # one validated assignment per changed field: cheap
    if into.layout.title.subtitle.text != subtitle:
        into.layout.title.subtitle.text = subtitle
    return True


def _same_array(old: Any, new: Any) -> bool:
    try:
        return old is not None and np.array_equal(np.asarray(old), np.asarray(new))
    except (TypeError, ValueError):
        return False


def _empty_note(fig: go.Figure, text: str) -> go.Figure:
    """No data yet: say so in the middle and hide the axes (empty axes would show ranges nothing measured)."""
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.add_annotation(text=text, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font=dict(size=14))
    return fig


# ---- figures ----------------------------------------------------------------------------------------------------
def toy_panels_figure(
    history: Sequence[Mapping[str, Any]] | pd.DataFrame, height: int = 300, into: go.Figure | None = None
) -> go.Figure:
    """Post 0's TensorBoard panels side by side: ``train_loss``, ``out_0`` (Company A, target 0), ``out_1`` (B, 1).

    The history needs ``epoch``, ``loss`` and ``out_0``/``out_1`` (the predictions for A and B at that epoch).
    """
    columns = series(history)
    panels = (("loss", None, "#444444"), ("out_0", 0.0, _COMPANY_COLORS[0]), ("out_1", 1.0, _COMPANY_COLORS[1]))
    epochs = columns["epoch"]
    data = [
        {"name": "train_loss" if name == "loss" else name, "x": epochs, "y": columns[name]}
        for name, _, _ in panels
        if name in columns and len(epochs)
    ]
    subtitle = _NO_EPOCHS
    if len(epochs) and {"loss", "out_0", "out_1"} <= set(columns):
        subtitle = (
            f"epoch {int(epochs[-1]):,}: loss {columns['loss'][-1]:.5f} · "
            f"A → {fixed(columns['out_0'][-1])} · B → {fixed(columns['out_1'][-1])}"
        )
    if _refreshed(into, "toy-panels", data, subtitle):
        return into  # type: ignore[return-value]
    fig = make_subplots(
        rows=1,
        cols=3,
        # in words, then the post's TensorBoard name; short lines: each heads a third of the chart, ~160 px on a
        # 1,024-px window, where one-line titles ran into each other
        subplot_titles=("training loss (log)<br>train_loss", "Company A → 0<br>out_0", "Company B → 1<br>out_1"),
        horizontal_spacing=0.07,
    )
    by_name = {d["name"]: d for d in data}
    for col, (name, target, color) in enumerate(panels, start=1):
        shown = "train_loss" if name == "loss" else name
        if shown in by_name:
            fig.add_trace(
                go.Scatter(
                    **by_name[shown],
                    mode="lines",
                    line=dict(color=color, width=2),
                    hovertemplate=f"epoch %{{x}}<br>%{{y:.5f}}<extra>{shown}</extra>",
                    showlegend=False,
                ),
                row=1,
                col=col,
            )
        if target is not None:
            fig.add_hline(y=target, line=dict(color="#888888", dash="dash", width=1), row=1, col=col)
        fig.update_xaxes(title_text="epoch", row=1, col=col)
    fig.update_yaxes(type="log", row=1, col=1, exponentformat="power")
    if not len(epochs):
        _empty_note(fig, _NO_EPOCHS)
    fig.update_layout(
        title=dict(text="Training curves (as post 0's TensorBoard)", subtitle=dict(text=subtitle), **TITLE_AT_TOP),
        height=height + 15 + subtitle_room(2, 1),  # (the panels' titles are two lines)
        margin=dict(t=105 + subtitle_room(2, 1), b=40, l=50, r=55),
        uirevision="toy-panels",  # keep the user's zoom while the curves grow
        meta="toy-panels",
    )
    return fig


def loss_accuracy_figure(
    history: Sequence[Mapping[str, Any]] | pd.DataFrame,
    height: int = 340,
    into: go.Figure | None = None,
    steps: Sequence[Mapping[str, Any]] | None = None,
    every: int | None = None,
) -> go.Figure:
    """Loss (log scale) and accuracy per epoch, train solid and test dotted: bit accuracy and exact match.

    Uses whichever of ``loss``/``train_loss``/``test_loss``, ``train_bit_acc``/``test_bit_acc`` and
    ``train_exact_match``/``test_exact_match`` the history holds. ``steps`` (a run's first epochs scored every
    ``every`` mini-batches, :class:`lstm_viz.training.live.FineSteps`) add the test accuracy between the epochs.
    """
    columns = series(history)
    epochs = columns["epoch"]
    fine = series(steps) if steps else {"epoch": np.zeros(0)}
    styles: list[dict[str, Any]] = []
    data: list[dict[str, Any]] = []
    train_loss = "train_loss" if "train_loss" in columns else "loss"
    mode = "lines+markers" if len(epochs) <= 5 else "lines"  # a line of one or two points is hard to see
    for split, column in (("train", train_loss), ("test", "test_loss")):
        if column in columns:
            data.append({"name": f"{split} loss", "x": epochs, "y": columns[column], "mode": mode})
            styles.append({"col": 1, "color": "#444444", "dash": _TRAIN_TEST_DASH[split], "fmt": ".5f"})
    for metric, label, color in (("bit_acc", "bit accuracy", "#2ca02c"), ("exact_match", "exact match", "#9467bd")):
        for split in ("train", "test"):
            column = f"{split}_{metric}"
            if column in columns:
                data.append({"name": f"{split} {label}", "x": epochs, "y": columns[column], "mode": mode})
                styles.append({"col": 2, "color": color, "dash": _TRAIN_TEST_DASH[split], "fmt": ".2%"})
        if steps is not None:  # always drawn when asked (empty at first): a refresh in place keeps the traces
            data.append({"name": f"test {label}, every {every} mini-batches", "x": fine["epoch"],
                         "y": fine.get(f"test_{metric}", np.zeros(0)), "mode": "lines+markers"})  # fmt: skip
            styles.append({"col": 2, "color": color, "dash": "solid", "fmt": ".2%", "fine": True})
    # the latest scores: the history's last epoch, or a fine step past it
    latest, at = columns, epochs[-1] if len(epochs) else None
    if len(fine["epoch"]) and (at is None or fine["epoch"][-1] > at):
        latest, at = fine, fine["epoch"][-1]
    subtitle = _NO_EPOCHS
    if at is not None:
        parts = [f"epoch {at:,.2f}".rstrip("0").rstrip(".")]
        for column, label in (("test_bit_acc", "test bit accuracy"), ("test_exact_match", "test exact match")):
            if column in latest:
                parts.append(f"{label} {latest[column][-1]:.2%}")
        full = [(row.get("epoch"), row.get("test_exact_match")) for row in history]  # every epoch, not the thinned
        full = [(e, x) for e, x in full if e is not None and x is not None]  # points drawn (a dip could hide)
        since = _perfect_since(np.array([e for e, _ in full]), np.array([x for _, x in full])) if full else None
        if since is not None:  # the climb fills the panel's first sliver: say when it ended
            parts.append(f"100% since epoch {since:,}")
        subtitle = " · ".join(parts)
    if _refreshed(into, "loss-accuracy", data, subtitle):
        return into  # type: ignore[return-value]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("loss (BCE)", "accuracy"), horizontal_spacing=0.08)
    for d, s in zip(data, styles, strict=True):
        fig.add_trace(
            go.Scatter(
                **d,
                line=dict(color=s["color"], dash=s["dash"], width=1 if s.get("fine") else 2),
                marker=dict(size=4),
                hovertemplate=f"epoch %{{x:.3~f}}<br>%{{y:{s['fmt']}}}<extra>{d['name']}</extra>",
            ),
            row=1,
            col=s["col"],
        )
    fig.update_yaxes(type="log", exponentformat="power", row=1, col=1)
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%", row=1, col=2)
    fig.update_xaxes(title_text="epoch")
    if at is None:
        _empty_note(fig, _NO_EPOCHS)
    fig.update_layout(
        title=dict(text="Loss and accuracy", subtitle=dict(text=subtitle), **TITLE_AT_TOP),
        height=height + 30,
        margin=dict(t=100, b=60, l=50, r=20),
        legend=dict(orientation="h", y=-0.3),  # below the axis titles, however many rows it wraps to
        uirevision="loss-accuracy",
        meta="loss-accuracy",
    )
    return fig


def _perfect_since(epochs: np.ndarray, exact: np.ndarray | None) -> int | None:
    """The epoch from which every later score is 100 %, if that is before the last epoch; else None."""
    if exact is None or len(exact) < 2 or exact[-1] < 1.0:
        return None
    below = np.flatnonzero(np.asarray(exact) < 1.0)
    first = 0 if not len(below) else below[-1] + 1
    return int(epochs[first]) if first < len(exact) - 1 else None


def absolute_error_figure(
    truth: Sequence[int] | np.ndarray,
    predicted: Sequence[int] | np.ndarray,
    into: go.Figure | None = None,
    epoch: int | str | None = None,
) -> go.Figure:
    """Post 4's plot: the absolute error |prediction − truth| per test sample, with the RMSE in the title — and the
    epoch of the model it shows (``epoch``: a number, or words such as ``LiveRun.at``'s "epoch 2, after 20
    of its 71 mini-batches"): redrawn every few seconds beside curves that move on each tick."""
    truth = np.asarray(truth, dtype=float).reshape(-1)
    predicted = np.asarray(predicted, dtype=float).reshape(-1)
    if truth.shape != predicted.shape:
        raise ValueError(f"truth and predictions differ in length: {truth.size} vs {predicted.size}")
    error = np.abs(predicted - truth)
    rmse = float(np.sqrt(np.mean(error**2))) if error.size else float("nan")
    wrong = int(np.count_nonzero(error))
    shown = "" if epoch is None else f" ({epoch})" if isinstance(epoch, str) else f" (epoch {epoch:,})"
    title = f"Prediction error per test sample — RMSE {rmse:.4f}" + shown
    if not error.size:
        subtitle = ""
    elif wrong:
        subtitle = f"{error.size:,} test samples, {wrong:,} wrong; max error {error.max():.0f} (the integer a − b)"
    else:  # a flat line at 0 says little by itself
        subtitle = f"all {error.size:,} test answers right: the error is 0 everywhere (a wrong answer would spike)"
    data = [{"name": "absolute error", "x": np.arange(error.size), "y": error,
             "customdata": np.stack([truth, predicted], axis=1)}]  # fmt: skip
    if _refreshed(into, "absolute-error", data, subtitle):
        into.layout.title.text = title  # type: ignore[union-attr]
        return into  # type: ignore[return-value]
    fig = go.Figure(
        go.Scatter(
            **data[0],
            mode="lines+markers" if error.size <= 2000 else "lines",
            marker=dict(size=3),
            line=dict(width=1, color="#1f77b4"),
            hovertemplate="sample %{x}<br>true %{customdata[0]:.0f} · predicted %{customdata[1]:.0f}"
            "<br>|error| %{y:.0f}<extra></extra>",
        )
    )
    fig.update_layout(
        title=dict(text=title, subtitle=dict(text=subtitle or "no samples")),
        xaxis_title="sample index",
        yaxis_title="|predicted − true a − b|",
        yaxis=dict(rangemode="tozero"),
        height=320,
        margin=dict(t=90, b=40, l=60, r=20),
        uirevision="absolute-error",
        meta="absolute-error",
    )
    return fig


def toy_gate_figure(
    rec: Recording,
    names: Sequence[str] = COMPANY_NAMES,
    targets: Sequence[float] | None = (0.0, 1.0),
    title: str | None = None,
    into: go.Figure | None = None,
) -> go.Figure:
    """f, i, g, o, c, h of unit 0 over the days, one small panel each, one line per sequence (Company A and B).

    ``rec`` is a recording of a one-layer model on a batch of sequences (post 0: A and B, four days each).
    Gates share the 0..1 axis, g and h −1..1; the last day's h is the prediction, compared with its target.
    """
    batch, steps = rec.batch_size, rec.seq_len
    if len(names) < batch:
        names = [*names, *(f"sequence {b}" for b in range(len(names), batch))]
    days = np.arange(steps)  # t = 0 … 3, as on every page (t = 0 is day 1)
    x = rec.x.detach().float().cpu().numpy()  # (batch, T, input)
    values = {q: getattr(rec, q)[0, 0, :, :, 0].detach().float().cpu().numpy() for q in DISPLAY_ORDER}  # (B, T)
    data = [
        {"name": names[b], "x": days, "y": values[q][b], "customdata": x[b, :, 0]}
        for q in DISPLAY_ORDER
        for b in range(batch)
    ]
    subtitle = "one unit; the last day's h is the prediction"
    if targets is not None:
        last_h = values["h"][:, -1]
        subtitle = " · ".join(
            f"{names[b]} → {fixed(last_h[b])} (target {targets[b]:g})" for b in range(min(batch, len(targets)))
        )
    title = title or "Gates over the four days (t = 0 … 3)"
    if _refreshed(into, "toy-gates", data, subtitle):
        into.layout.title.text = title  # type: ignore[union-attr]
        return into  # type: ignore[return-value]
    fig = make_subplots(rows=1, cols=6, subplot_titles=[_TITLES[q] for q in DISPLAY_ORDER], horizontal_spacing=0.04)
    for k, d in enumerate(data):
        col, b = k // batch + 1, k % batch
        q = DISPLAY_ORDER[col - 1]
        fig.add_trace(
            go.Scatter(
                **d,
                mode="lines+markers",
                legendgroup=names[b],
                showlegend=col == 1,
                line=dict(color=_COMPANY_COLORS[b % 2], width=2),
                marker=dict(size=6, symbol=_COMPANY_SYMBOLS[b % 2]),
                hovertemplate=f"{names[b]}<br>t %{{x}} · x = %{{customdata:.3g}}<br>{q} = %{{y:.4f}}<extra></extra>",
            ),
            row=1,
            col=col,
        )
    fig.update_annotations(font_size=12)
    for col, q in enumerate(DISPLAY_ORDER, start=1):
        if q in SATURATION_GATES:
            fig.update_yaxes(range=[-0.05, 1.05], row=1, col=col)
        elif q in ("g", "h"):
            fig.update_yaxes(range=[-1.05, 1.05], row=1, col=col)
        fig.update_xaxes(tickmode="array", tickvals=days, title_text="t", row=1, col=col)
    fig.update_layout(
        title=dict(text=title, subtitle=dict(text=subtitle), **TITLE_AT_TOP),
        height=320,
        margin=dict(t=90, b=40, l=40, r=20),
        legend=dict(orientation="h", y=-0.38),
        uirevision="toy-gates",
        meta="toy-gates",
    )
    return fig


def statquest_weights_figure(
    probes: Sequence[Mapping[str, Any]] | pd.DataFrame, into: go.Figure | None = None
) -> go.Figure:
    """The twelve named weights of the by-hand model over the epochs, one panel per gate (w on h, w on x, bias).

    ``probes`` rows hold ``epoch`` and the twelve names (``wlr1`` … ``bo1``) as numbers.
    """
    columns = series(probes)
    data = [
        {"name": name, "x": columns["epoch"], "y": columns[name]}
        for _, names in _STATQUEST_GROUPS
        for name in names
        if name in columns
    ]
    subtitle = "solid: weight on h (short memory) · dashed: weight on x (input) · dotted: bias"
    if len(columns["epoch"]):
        subtitle = f"epoch {int(columns['epoch'][-1]):,}<br>" + subtitle  # one line each: Plotly never wraps
    if _refreshed(into, "statquest-weights", data, subtitle):
        return into  # type: ignore[return-value]
    # two by two: four side by side were ~115 px wide each on a 1,024-px window, their titles over each other
    fig = make_subplots(rows=2, cols=2, subplot_titles=[g for g, _ in _STATQUEST_GROUPS], horizontal_spacing=0.08,
                        vertical_spacing=0.2)  # fmt: skip
    present = {d["name"]: d for d in data}
    for k, (gate, names) in enumerate(_STATQUEST_GROUPS):
        row, col = k // 2 + 1, k % 2 + 1
        for name, (role, dash) in zip(names, _ROLE_STYLE, strict=True):
            if name in present:
                fig.add_trace(
                    go.Scatter(
                        **present[name],
                        mode="lines",
                        line=dict(dash=dash, width=2, color=GATE_COLORS[gate[0]]),
                        legendgroup=name,
                        hovertemplate=f"{name} ({role}, {gate.split('<br>')[0]})<br>epoch %{{x}}<br>%{{y:.4f}}"
                        "<extra></extra>",
                    ),
                    row=row,
                    col=col,
                )
        if row == 2:  # the top row's axis title would sit on the bottom row's panel titles
            fig.update_xaxes(title_text="epoch", row=row, col=col)
    if not data:
        _empty_note(fig, _NO_EPOCHS)
    fig.update_layout(
        title=dict(text="The twelve StatQuest weights as they learn", subtitle=dict(text=subtitle), **TITLE_AT_TOP),
        height=640,
        margin=dict(t=125, b=60, l=40, r=20),
        legend=dict(orientation="h", y=-0.16),
        uirevision="statquest-weights",
        meta="statquest-weights",
    )
    return fig


def saturation_over_epochs_figure(
    probes: Sequence[Mapping[str, Any]], low: float = 0.1, high: float = 0.9, into: go.Figure | None = None
) -> go.Figure:
    """Gate saturation per epoch: the share of saturated values per gate (top) and per unit (heatmaps, bottom).

    ``probes`` rows hold ``epoch`` and ``saturation`` as returned by :func:`gate_saturation`. A unit turning dark
    in a heatmap has committed: its gate is nearly always below ``low`` or above ``high``.
    """
    rows = [p for p in probes if "saturation" in p]
    rows = [rows[k] for k in thin_index(len(rows), MAX_POINTS // 4)]
    epochs = np.array([p["epoch"] for p in rows])
    lines: list[dict[str, Any]] = []
    maps: list[dict[str, Any]] = []
    gates = tuple(rows[-1]["saturation"]) if rows else SATURATION_GATES  # f, i, o (a GRU: r, z)
    for q in gates:
        if not rows:
            break
        low_share = np.array([p["saturation"][q]["low"] for p in rows], dtype=float)  # (epochs, units)
        high_share = np.array([p["saturation"][q]["high"] for p in rows], dtype=float)
        lines.append({"name": f"{q} < {low:g}", "x": epochs, "y": low_share.mean(1)})
        lines.append({"name": f"{q} > {high:g}", "x": epochs, "y": high_share.mean(1)})
        maps.append({"name": f"{q} per unit", "x": epochs, "y": np.arange(low_share.shape[1]),
                     "z": (low_share + high_share).T.astype(np.float32),
                     "customdata": np.stack([low_share.T, high_share.T], axis=-1).astype(np.float32)})  # fmt: skip
    n = len(rows[-1]["saturation"][gates[0]]["low"]) if rows else 0
    # An annotation, not Plotly's subtitle: Chromium drew this chart's subtitle above its title once a finished run
    # redrew the page, even with fresh chart keys (the error chart's was mended by those); a resize put it back.
    note = "layer 0's units on the same test samples after each epoch · dark: settled"
    if rows:
        note = f"epoch {int(epochs[-1]):,} · layer 0's {n} units on the same test samples · dark: settled"
    if _refreshed(into, "saturation", [*lines, *maps], ""):
        for annotation in into.layout.annotations:  # type: ignore[union-attr]
            if annotation.name == _NOTE and annotation.text != note:
                annotation.text = note
        return into  # type: ignore[return-value]
    fig = make_subplots(
        rows=2,
        cols=len(gates),
        specs=[[{"colspan": len(gates)}, *([None] * (len(gates) - 1))], [{}] * len(gates)],
        subplot_titles=(
            f"share of gate values saturated (< {low:g} solid, > {high:g} dashed)",
            *(_TITLES.get(q, q) for q in gates),  # the y axis says "unit"
        ),
        vertical_spacing=0.16,
        horizontal_spacing=0.05,
    )
    for k, d in enumerate(lines):
        q, side = gates[k // 2], ("low", "high")[k % 2]
        fig.add_trace(
            go.Scatter(
                **d,
                mode="lines",
                line=dict(color=GATE_COLORS[q], dash="solid" if side == "low" else "dash", width=2),
                hovertemplate=f"epoch %{{x}}<br>{q} {side}-saturated: %{{y:.1%}}<extra></extra>",
            ),
            row=1,
            col=1,
        )
    for col, d in enumerate(maps, start=1):
        q = gates[col - 1]
        fig.add_trace(
            go.Heatmap(
                **d,
                coloraxis="coloraxis",
                hovertemplate=f"epoch %{{x}} · unit %{{y}}<br>{q} < {low:g}: %{{customdata[0]:.1%}}"
                f"<br>{q} > {high:g}: %{{customdata[1]:.1%}}<extra></extra>",
            ),
            row=2,
            col=col,
        )
        fig.update_xaxes(title_text="epoch", row=2, col=col)
        # units are numbered once, on the left: the narrow gaps between the heatmaps have no room for labels
        fig.update_yaxes(title_text="unit" if col == 1 else None, showticklabels=col == 1, autorange="reversed",
                         row=2, col=col)  # fmt: skip
    if not rows:
        _empty_note(fig, _NO_EPOCHS)
    fig.update_yaxes(range=[0, 1], tickformat=".0%", row=1, col=1)
    # under the title, where a subtitle goes: the plot area starts 72 px right of the title (the 50 px margin and
    # the y axis' "100%" labels), 115 px below the top; the title's baseline is ~58 px down (measured in Chromium)
    fig.add_annotation(name=_NOTE, text=note, xref="paper", yref="paper", x=0, y=1, xanchor="left", xshift=-72,
                       yanchor="bottom", yshift=31, showarrow=False, font=dict(size=12, color="#808495"))  # fmt: skip
    fig.update_layout(
        title=dict(text="Gate saturation per epoch: units settle open or shut"),
        coloraxis=dict(colorscale="Greys", cmin=0, cmax=1, colorbar=dict(title="saturated", len=0.45, y=0.22)),
        height=580,
        margin=dict(t=115, b=40, l=50, r=20),
        uirevision="saturation",
        meta="saturation",
    )
    return fig


# ---- what the live pages redraw every tick ---------------------------------------------------------------------
def toy_live_figures(
    history: Sequence[Mapping[str, Any]],
    probes: Sequence[Mapping[str, Any]],
    model: Any | None,
    previous: Mapping[str, go.Figure] | None = None,
    parts: Sequence[str] = ("curves", "gates", "weights"),
    at: str | None = None,
) -> dict[str, go.Figure]:
    """The toy page's figures: ``curves`` (the TensorBoard panels), ``gates`` (the gates over the four days of
    Company A and B for the model as it is now, at ``at``: ``LiveRun.at``, else the history's last epoch) and, for
    the by-hand model, ``weights`` (its twelve weights over
    time); only those in ``parts``. ``previous`` (what this returned last time) is refreshed in place."""
    previous = previous or {}
    figures = {}
    if "curves" in parts:
        figures["curves"] = toy_panels_figure(history, into=previous.get("curves"))
    if "gates" in parts and model is not None:
        device = next(model.parameters()).device
        x = torch.tensor(COMPANY_INPUTS, dtype=torch.float32, device=device).unsqueeze(-1)  # (2, 4, 1)
        where = at or f"epoch {int(history[-1]['epoch']) if history else 0:,}"
        figures["gates"] = toy_gate_figure(
            model.record(x), title=f"Gates over the four days (t = 0 … 3), {where}", into=previous.get("gates")
        )
    if "weights" in parts and probes and "wlr1" in probes[-1]:
        figures["weights"] = statquest_weights_figure(probes, into=previous.get("weights"))
    return figures


def subtraction_live_figures(
    history: Sequence[Mapping[str, Any]],
    probes: Sequence[Mapping[str, Any]],
    model: Any | None,
    x_test: torch.Tensor | None = None,
    pairs_test: torch.Tensor | None = None,
    previous: Mapping[str, go.Figure] | None = None,
    parts: Sequence[str] = ("curves", "errors", "saturation"),
    steps: Sequence[Mapping[str, Any]] | None = None,
    every: int | None = None,
    epoch: int | str | None = None,
) -> dict[str, go.Figure]:
    """The subtraction page's figures: ``curves`` (loss and accuracy, with the first epochs' ``steps`` scored
    every ``every`` mini-batches), ``errors`` (the absolute error per test sample with the RMSE, for the model as
    it is now, at ``epoch``) and ``saturation`` (gate saturation per epoch, when it was probed); only those in
    ``parts``. ``previous`` as above."""
    from lstm_viz.tasks import subtraction  # the task module: decode the model's bits into integers

    previous = previous or {}
    figures = {}
    if "curves" in parts:
        figures["curves"] = loss_accuracy_figure(history, into=previous.get("curves"), steps=steps, every=every)
    if "errors" in parts and model is not None and x_test is not None and pairs_test is not None and len(x_test):
        predicted = subtraction.decode_batch(subtraction.predict_probs(model, x_test)).cpu().numpy()
        truth = (pairs_test[:, 0] - pairs_test[:, 1]).cpu().numpy()
        figures["errors"] = absolute_error_figure(truth, predicted, into=previous.get("errors"), epoch=epoch)
    if "saturation" in parts and any("saturation" in p for p in probes):
        figures["saturation"] = saturation_over_epochs_figure(probes, into=previous.get("saturation"))
    return figures
