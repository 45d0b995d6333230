"""The conveyor belt of a recording: at every step, how much of the carried state was kept and how much written.

The LSTM carries c: ``c_t = f_t·c_{t-1} + i_t·g_t``; the GRU carries h: ``h_t = z_t·h_{t-1} + (1 − z_t)·n_t``. Pure
figure builders over a recording, like :mod:`lstm_viz.viz.gates`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from lstm_viz.core.recording import DIRECTIONS, CellRecording
from lstm_viz.viz.budget import DEFAULT_MAX_STEPS, DEFAULT_MAX_UNITS, plan_view
from lstm_viz.viz.gates import check_panel, column_labels, column_texts, signed_range, time_ticks, to_numpy
from lstm_viz.viz.palette import GATE_COLORS, SIGNED_COLORSCALE
from lstm_viz.viz.plotgrid import Grid, finish

__all__ = ["belt_terms", "belt_words", "conveyor_belt"]


# The memory each cell carries along, as kept + written: the LSTM's c, the GRU's h (its only state). "{prev}" is the
# step the state comes from: t-1 forward, t+1 in the backward direction (it reads right to left); see belt_words.
_BELT_WORDS = {
    "lstm": {"state": "c", "kept": "f·c({prev})", "written": "i·g", "gate": "forget gate f",
             "caption": "At every step c_t = f_t·c_{{{prev}}} + i_t·g_t: the blue bar is what the forget gate f kept "
                        "of the old cell state, the orange bar what the input gate i wrote (its share of the candidate "
                        "g). Memory survives many steps where the blue bar dominates. The two heatmaps under the bars "
                        "share one colour scale, so their sizes compare; the colour is each term's sign (red > 0, "
                        "blue < 0), and c is their sum."},
    "gru": {"state": "h", "kept": "z·h({prev})", "written": "(1−z)·n", "gate": "update gate z",
            "caption": "At every step h_t = z_t·h_{{{prev}}} + (1−z_t)·n_t: the blue bar is what the update gate z "
                       "kept of the old hidden state, the orange bar what it let the candidate n write in its place. "
                       "Memory survives many steps where the blue bar dominates. The two heatmaps under the bars share "
                       "one colour scale, so their sizes compare; the colour is each term's sign (red > 0, blue < 0), "
                       "and h is their sum."},
}
_BACKWARD_NOTE = (" The backward direction reads the sequence from its end, so its old state is the one at t+1, the "
                  "step to the right.")  # fmt: skip


def belt_words(cell: str, direction: str = "fwd") -> dict[str, str]:
    """The belt's words for ``cell`` (``"lstm"``/``"gru"``) in one direction: the old state is at t-1 forward and
    at t+1 backward."""
    prev = "t+1" if direction == "bwd" else "t-1"
    words = {k: v.format(prev=prev) for k, v in _BELT_WORDS[cell].items()}
    words["prev"] = prev
    if direction == "bwd":
        words["caption"] += _BACKWARD_NOTE
    return words


def belt_terms(rec: CellRecording, layer: int = 0, direction: str = "fwd", batch: int = 0) -> dict[str, np.ndarray]:
    """The two terms of the carried state for every step and unit, each ``(T, H)``.

    LSTM: ``c_t = f_t·c_{t-1} + i_t·g_t`` — ``kept`` = f_t·c_{t-1} (what the forget gate let through),
    ``written`` = i_t·g_t (what the input gate wrote). GRU: ``h_t = z_t·h_{t-1} + (1 − z_t)·n_t`` — ``kept`` =
    z_t·h_{t-1}, ``written`` = (1 − z_t)·n_t. Also the state itself (``c``) and before the step (``c_prev``). The
    backward direction's previous state is the one at t + 1; the state before the first step read is zero
    (recordings without hx start from zero) — for packed input, each sequence's own first step read (the backward
    direction starts at the sequence's last step, not in the padding).
    """
    check_panel(rec, layer, direction, batch)
    di = DIRECTIONS.index(direction)
    a = {q: to_numpy(getattr(rec, q)[layer, di, batch]).astype(np.float64) for q in rec.tensor_names}
    state = a[_BELT_WORDS[rec.cell]["state"]]
    prev = np.zeros_like(state)
    if direction == "fwd":
        prev[1:] = state[:-1]
    else:
        prev[:-1] = state[1:]
        if rec.lengths is not None:  # the padding after a shorter sequence is no state: it started from zero
            prev[int(rec.lengths[batch]) - 1 :] = 0.0
    if rec.cell == "gru":
        return {"kept": a["z"] * prev, "written": (1 - a["z"]) * a["n"], "c": state, "c_prev": prev}
    return {"kept": a["f"] * prev, "written": a["i"] * a["g"], "c": state, "c_prev": prev}


def conveyor_belt(
    rec: CellRecording,
    unit: int = 0,
    layer: int = 0,
    direction: str = "fwd",
    batch: int = 0,
    feature_names: Sequence[str] | None = None,
    max_steps: int = DEFAULT_MAX_STEPS,
    max_units: int = DEFAULT_MAX_UNITS,
    step_labels: Sequence[str] | None = None,
) -> go.Figure:
    """The conveyor belt: per step, how much of the carried state was kept and how much written — the LSTM's c
    (kept f·c_{t-1}, written i·g), the GRU's h (kept z·h_{t-1}, written (1 − z)·n).

    Top: the chosen unit as stacked bars, kept + written = the state at t (the line). Below: the same two terms for
    every unit as heatmaps on one diverging scale.
    """
    w = belt_words(rec.cell, direction)
    st, kept_w, written_w = w["state"], w["kept"], w["written"]
    terms = belt_terms(rec, layer, direction, batch)
    if not 0 <= unit < rec.hidden_size:
        raise ValueError(f"unit must be in 0..{rec.hidden_size - 1}, got {unit}")
    x = to_numpy(rec.x[batch])
    view = plan_view([terms["kept"], terms["written"]], max_steps, max_units)
    bins = view.bins
    labels = column_labels(x, bins, feature_names, step_labels)
    texts = None if step_labels is None else column_texts(bins, step_labels, len(x))
    mean = "mean " if bins.binned else ""
    most_units = len(view.units)
    heat_px = int(np.clip(9 * most_units, 70, 260))
    height = 300 + 2 * heat_px + 190
    grid = Grid(
        rows=3,
        vspace=45 / height,
        row_heights=[300, heat_px, heat_px],
        titles=[
            f"unit {unit}: {st}_t = kept {kept_w} + written {written_w}",
            f"kept: {kept_w}, every unit",
            f"written: {written_w}, every unit",
        ],
    )
    one = {q: bins.reduce(terms[q][:, unit]) for q in ("kept", "written", "c", "c_prev")}
    hover_head = f"%{{x}}<br>unit {unit}<br>{mean}"
    traces = [
        grid.place(
            {
                "type": "bar",
                "x": labels,
                "y": one["kept"],
                "name": f"kept {kept_w}",
                "marker": {"color": GATE_COLORS["f"]},
                "customdata": one["c_prev"],
                "hovertemplate": hover_head + f"kept {kept_w} = %{{y:.6f}}<br>{st}({w['prev']}) = %{{customdata:.6f}}"
                "<extra></extra>",
            },
            1,
        ),
        grid.place(
            {
                "type": "bar",
                "x": labels,
                "y": one["written"],
                "name": f"written {written_w}",
                "marker": {"color": GATE_COLORS["g"]},
                "hovertemplate": hover_head + f"written {written_w} = %{{y:.6f}}<extra></extra>",
            },
            1,
        ),
        grid.place(
            {
                "type": "scatter",
                "x": labels,
                "y": one["c"],
                "name": f"{st}_t",
                "mode": "lines+markers",
                "line": {"color": GATE_COLORS[st], "width": 2},
                "hovertemplate": hover_head + f"{st} = %{{y:.6f}}<extra></extra>",
            },
            1,
        ),
    ]
    kept, written = view.apply(terms["kept"]), view.apply(terms["written"])
    peak = signed_range(kept, written)
    for r, (name, z) in enumerate(((f"kept {kept_w}", kept), (f"written {written_w}", written)), start=2):
        traces.append(
            grid.place(
                {
                    "type": "heatmap",
                    "z": z.astype(np.float32),
                    "x": labels,
                    "y": [str(u) for u in view.units],
                    "coloraxis": "coloraxis",
                    "hovertemplate": f"%{{x}}<br>unit %{{y}}<br>{mean}{name} = %{{z:.6f}}<extra></extra>",
                },
                r,
            )
        )
        grid.y(r).update(type="category", autorange="reversed", title={"text": "unit"})
    for r in (1, 2, 3):
        grid.x(r).update(time_ticks(labels, bins, texts=texts))
    grid.x(3)["title"] = {"text": "t (time step)"}
    grid.y(1)["title"] = {"text": f"contribution to {st}"}
    lo, hi = grid.y_domain(3)[0], grid.y_domain(2)[1]
    layout = grid.layout
    layout.update(
        title={
            "text": f"{'Cell-state' if st == 'c' else 'Hidden-state'} conveyor belt · layer {layer} {direction}",
            "subtitle": {
                "text": view.note
                or f"kept + written = {st}_t at every step; {_article(w['gate'])} {w['gate']} near 1 carries {st} "
                "along the belt"
            },
        },
        barmode="relative",
        coloraxis={
            "colorscale": SIGNED_COLORSCALE,
            "cmin": -peak,
            "cmax": peak,
            "colorbar": {"title": {"text": "the term's value (red > 0, blue < 0)", "side": "right"},
                         "y": (lo + hi) / 2, "len": hi - lo, "thickness": 12},
        },
        height=height,
        margin={"t": 100, "b": 50, "l": 60, "r": 130},
        # beside the bars, above the colour bar of the panels below: over the bars it covered the panel's title
        legend={"orientation": "v", "yanchor": "top", "y": grid.y_domain(1)[1], "x": 1.02, "xanchor": "left"},
    )
    return finish(traces, layout)


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"
