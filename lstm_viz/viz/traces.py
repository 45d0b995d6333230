"""Unit traces: a few units of one layer and direction over time, each gate and state a line, the input underneath.

A pure function of a recording (:class:`lstm_viz.core.recording.CellRecording`: an LSTM's f, i, g, o, c, h or a
GRU's r, z, n, h) returning a Plotly figure; the heatmaps' helpers (time bins, ticks, labels) are
:mod:`lstm_viz.viz.gates`'.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from lstm_viz.core.recording import DIRECTIONS, CellRecording
from lstm_viz.viz.budget import TimeBins, bin_time
from lstm_viz.viz.gates import char_label, check_panel, feature_labels, time_ticks, to_numpy
from lstm_viz.viz.palette import GATE_COLORS, INPUT_COLORS
from lstm_viz.viz.plotgrid import TITLE_AT_TOP, Grid, finish, subtitle_room

__all__ = ["unit_traces"]


def _trace_customdata(x: np.ndarray, bins: TimeBins) -> tuple[np.ndarray, str]:
    """Per point: first step, last step and up to four input features (numbers, so the payload stays small)."""
    xs = bins.reduce(x.astype(float), axis=0)[:, :4]
    data = np.column_stack([bins.start, bins.stop - 1, xs]).astype(np.float32)
    return data, ("t %{customdata[0]}–%{customdata[1]}" if bins.binned else "t %{customdata[0]}")


def _input_hover(names: Sequence[str], mean: bool) -> str:
    bar = "\u0304" if mean else ""
    parts = [f"{n}{bar} = %{{customdata[{2 + j}]:.4g}}" for j, n in enumerate(names[:4])]
    if len(names) > 4:
        parts.append(f"… (+{len(names) - 4} more)")
    return ", ".join(parts)


def unit_traces(
    rec: CellRecording,
    units: Sequence[int],
    layer: int = 0,
    direction: str = "fwd",
    batch: int = 0,
    feature_names: Sequence[str] | None = None,
    max_points: int = 500,
    step_labels: Sequence[str] | None = None,
    c_beside: float = 1.5,
    tensors: Sequence[str] | None = None,
) -> go.Figure:
    """The chosen units over time: one row per unit with f, i, g, o, c, h (a GRU: r, z, n, h) as lines, the input
    underneath (``step_labels``, e.g. a text's characters, are shown on hover). ``tensors``: only these of the
    recording's ``tensor_names`` (over hundreds of steps six lines are a tangle; c and h alone can be followed).

    For an LSTMP, h has ``proj_size`` values that mix every unit (h = W_hr·m), so no h belongs to a unit: each row
    shows m = o·tanh(c) instead, the unit's own output before the projection (the subtitle says so).

    The gates and h lie in [0, 1] or [-1, 1]; c has no bound. Where a unit's c leaves ±``c_beside`` it is drawn
    against its own axis on the right, so that a c swinging over ±8 does not flatten the gates into a band near 0–1.
    """
    check_panel(rec, layer, direction, batch)
    units = list(dict.fromkeys(int(u) for u in units))
    if not units:
        raise ValueError("choose at least one unit")
    if any(not 0 <= u < rec.hidden_size for u in units):
        raise ValueError(f"units must be in 0..{rec.hidden_size - 1}, got {units}")
    drawn = list(rec.tensor_names) if tensors is None else [q for q in rec.tensor_names if q in tensors]
    if not drawn:
        raise ValueError(f"choose at least one of {', '.join(rec.tensor_names)} to draw, got {list(tensors or [])}")
    di = DIRECTIONS.index(direction)
    bins = bin_time(rec.seq_len, max_points)
    t_axis = bins.centers().astype(np.float32)
    x = to_numpy(rec.x[batch])
    names = feature_labels(x.shape[1], feature_names)
    custom, t_hover = _trace_customdata(x, bins)
    x_hover = _input_hover(names, bins.binned)
    text = None
    if step_labels is not None:  # a text: the characters on hover, no input row of embedding values
        spans = zip(bins.start, np.append(bins.start[1:], len(x)), strict=True)
        text = [char_label("".join(step_labels[a:b]))[:24] for a, b in spans]
        x_hover = "'%{text}'"
    mean = "mean " if bins.binned else ""
    mode = "lines+markers" if len(t_axis) <= 64 else "lines"

    n_rows = len(units) + (text is None)
    height = 170 * len(units) + (270 if text is None else 160)
    grid = Grid(
        rows=n_rows,
        vspace=40 / height,
        row_heights=[1.0] * len(units) + ([0.6] if text is None else []),
        titles=[f"unit {u} · layer {layer} {direction}" for u in units] + (["input"] if text is None else []),
    )
    traces = []
    shown_q = [("m" if q == "h" and rec.proj_size else q) for q in drawn]  # each once in the legend
    unbounded = [q for q in shown_q if rec.value_range(q) is None]  # c (an LSTM's); a GRU has none
    right_axes = 0
    for r, u in enumerate(units, start=1):
        series = {
            source: bins.reduce(to_numpy(getattr(rec, source)[layer, di, batch, :, u]).astype(float)).astype(np.float32)
            for source in shown_q
        }
        peaks = {q: float(np.nanmax(np.abs(series[q]), initial=0.0)) for q in unbounded}
        wide = [q for q in unbounded if peaks[q] > c_beside]
        right = None
        if wide:  # an overlaying axis on the right for the unbounded states, numbered after the grid's own
            right_axes += 1
            n = grid.rows * grid.cols + right_axes
            xref, yref = grid.refs(r)
            peak = 1.1 * max(peaks[q] for q in wide)
            grid.layout[f"yaxis{n}"] = {
                "overlaying": yref,
                "anchor": xref,
                "side": "right",
                "range": [-peak, peak],  # 0 level with the gates' 0, ±max level with their ±1
                "tickmode": "auto",
                "nticks": 6,
                "showgrid": False,
                "zeroline": False,
                "title": {"text": " and ".join(wide), "font": {"color": GATE_COLORS[wide[0]]}},
                "tickfont": {"color": GATE_COLORS[wide[0]]},
            }
            right = f"y{n}"
            grid.y(r)["range"] = [-1.1, 1.1]  # the gates and h: their whole range
        for source, values in series.items():
            traces.append(
                grid.place(
                    {
                        "type": "scatter",
                        "x": t_axis,
                        "y": values,
                        "mode": mode,
                        "name": "m = o·tanh(c)" if source == "m" else source,
                        "legendgroup": source,
                        "showlegend": r == 1,
                        "line": {"color": GATE_COLORS[source], "width": 2, "dash": "dot" if source == "m" else None},
                        "marker": {"size": 5},
                        "customdata": custom,
                        "text": text,
                        "hovertemplate": f"{t_hover}<br>{x_hover}<br>unit {u}<br>{mean}{source} = %{{y:.6f}}"
                        f"<extra>{source}</extra>",
                    },
                    r,
                )
            )
            if right is not None and source in wide:
                traces[-1]["yaxis"] = right
        left = [q for q in shown_q if right is None or q not in wide]
        grid.y(r)["title"] = {"text": _left_title(left, rec) if right is not None else "value"}
        grid.y(r)["zeroline"] = True
    xs = bins.reduce(x.astype(float), axis=0)
    for j, name in enumerate(names[:8] if text is None else []):
        traces.append(
            grid.place(
                {
                    "type": "scatter",
                    "x": t_axis,
                    "y": xs[:, j].astype(np.float32),
                    "mode": mode,
                    "name": f"input {name}",
                    # wider lines first, dashed ones on top: two features with the same value (both bits 1) stay
                    # visible instead of one hiding the other
                    "line": {"color": INPUT_COLORS[j % len(INPUT_COLORS)], "width": max(1.5, 4.5 - 1.5 * j),
                             "shape": "hv", "dash": ("solid", "dash", "dot")[j % 3]},
                    "customdata": custom,
                    "hovertemplate": f"{t_hover}<br>{mean}{name} = %{{y:.6f}}<extra>input</extra>",
                },
                n_rows,
            )
        )
    if text is None:
        grid.y(n_rows)["title"] = {"text": "x"}
    else:  # the characters on the time axis, as the heatmaps show them
        ticks = time_ticks(bins.start.astype(float).tolist(), bins, texts=text)  # at each column's first step
        ticks["type"] = "linear"
        for r in range(1, n_rows + 1):
            grid.x(r).update(ticks)
    grid.x(n_rows)["title"] = {"text": "t (time step)"}
    notes = []
    if bins.binned:
        notes.append(f"time binned: each point is the mean of {bins.steps_each} ({rec.seq_len} steps)")
    if len(names) > 8 and text is None:
        notes.append(f"input: first 8 of {len(names)} features drawn")
    if rec.proj_size:
        notes.append(f"LSTMP: m = o·tanh(c) is each unit's output before the projection; h = W_hr·m has "
                     f"{rec.proj_size} values that mix all units, so it has no trace per unit")  # fmt: skip
    if right_axes:
        which = "every unit" if right_axes == len(units) else f"{right_axes} of {len(units)} units"
        notes.append(f"c has no bound: for {which} it is drawn against the right-hand axis, its own scale")
    layout = grid.layout
    layout.update(
        title={
            "text": f"Unit traces: {', '.join(shown_q)} of the chosen units"
            + (", input underneath" if text is None else " over the text"),
            "subtitle": {"text": "<br>".join(notes) or _ranges_note(rec)},  # one note a line (never wrapped)
            **TITLE_AT_TOP,
        },
        height=height + subtitle_room(len(notes), 1),
        hovermode="closest",
        margin={"t": 100 + subtitle_room(len(notes), 1), "b": 50, "l": 60, "r": 30 + 50 * bool(right_axes)},
        legend={"orientation": "v", "yanchor": "top", "y": 1.0, "x": 1.08 if right_axes else 1.01, "xanchor": "left"},
    )
    if rec.seq_len <= 30 and not bins.binned:
        for r in range(1, n_rows + 1):
            grid.x(r)["dtick"] = 1
    return finish(traces, layout)


def _left_title(names: Sequence[str], rec: CellRecording) -> str:
    """The left axis' title beside a right one: "gates, h" when every gate (and g or n) is drawn, else the names."""
    gates = [q for q in rec.tensor_names if q != "h" and rec.value_range(q) is not None]  # f, i, g, o; r, z, n
    if names and all(g in names for g in gates):
        return ", ".join(["gates", *(q for q in names if q not in gates)])
    return ", ".join(names) or "value"


def _ranges_note(rec: CellRecording) -> str:
    gates = ", ".join(rec.gates)
    bounded = [q for q in rec.tensor_names if q not in rec.gates and rec.value_range(q) is not None]
    free = [q for q in rec.tensor_names if q not in rec.gates and rec.value_range(q) is None]
    parts = [f"gates {gates} in [0, 1]"]
    if bounded:
        parts.append(f"{' and '.join(bounded)} in [-1, 1]")
    if free:
        parts.append(f"{' and '.join(free)} unbounded")
    return "; ".join(parts)
