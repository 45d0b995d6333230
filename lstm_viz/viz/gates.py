"""Plotly figures of a recording: gate heatmaps (f, i, g, o, c, h — r, z, n, h for a GRU) and unit traces.

Every builder is a pure function: it takes a ``Recording`` (and choices) and returns a
``plotly.graph_objects.Figure`` without showing it. Big recordings are reduced to a cell budget
(``lstm_viz.viz.budget``) and the figure says so in its subtitle. Heatmap columns are categories named after their step
and input (``t 3 · x = 0.25``), so hovering any cell shows t, the unit, the input value and the exact value while
the per-cell payload stays one float.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
import torch

from lstm_viz.core.recording import DIRECTIONS, CellRecording, Recording
from lstm_viz.viz.budget import DEFAULT_MAX_STEPS, DEFAULT_MAX_UNITS, TimeBins, View, bin_time, plan_view
from lstm_viz.viz.palette import GATE_COLORS, GATE_COLORSCALE, SIGNED_COLORSCALE
from lstm_viz.viz.plotgrid import TITLE_AT_TOP, Grid, colorbar_title, finish, subtitle_room

__all__ = [
    "GATE_COLORS",
    "GATE_COLORSCALE",
    "QUANTITY_TITLES",
    "SIGNED_COLORSCALE",
    "cell_text",
    "check_panel",
    "column_labels",
    "column_texts",
    "feature_labels",
    "gate_heatmaps",
    "most_active_units",
    "panels_of",
    "quantity_title",
    "shared_ranges",
    "signed_range",
    "time_ticks",
    "to_numpy",
]

QUANTITY_TITLES = {
    "f": "f · forget gate",
    "i": "i · input gate",
    "g": "g · candidate",
    "o": "o · output gate",
    "c": "c · cell state (long memory)",
    "h": "h · hidden state (short memory)",
    "m": "m · o·tanh(c), before projection",
    "r": "r · reset gate",
    "z": "z · update gate",
    "n": "n · candidate",
}
SHORT_TITLES = {"f": "f forget", "i": "i input", "g": "g candidate", "o": "o output", "c": "c cell", "h": "h hidden",
                "r": "r reset", "z": "z update", "n": "n candidate"}  # fmt: skip
_CHAR_SHOWN = {"\n": "⏎", "\t": "⇥", " ": "␣"}


def quantity_title(rec: CellRecording, q: str) -> str:
    """A panel's title for tensor ``q`` of ``rec``: an LSTMP's h is projected, and a GRU's h is its only memory (no
    c: "short memory" would mislead)."""
    if q == "h" and rec.proj_size:
        return f"h · hidden state, projected to {rec.proj_size}"
    if q == "h" and rec.cell == "gru":
        return "h · hidden state (the GRU's only memory)"
    return QUANTITY_TITLES[q]


def char_label(text: str) -> str:
    """Characters as a time-axis label: newline, tab and space made visible (``⏎``, ``⇥``, ``␣``)."""
    return "".join(_CHAR_SHOWN.get(ch, ch) for ch in text)


def _own_tensors(rec: CellRecording) -> list[str]:
    """The tensors with one value per unit (everything but an LSTMP's projected h): what picks the units shown."""
    return [q for q in rec.tensor_names if q != "h"] or ["h"]


# An unbounded row's colour scale is ±max|value| unless a few units outgrow the rest by far: on the shipped text
# model's layer-1 c over the first 3,000 characters of textwrap.py one unit reaches ±327, the next ±139 and half of
# them stay within ±6, so on a ±max scale nearly every unit was the scale's middle colour. The scale then ends where
# CAPPED_SHARE of the units' largest |values| end (when that at least halves it); the rest are drawn at its ends and
# counted in the figure's subtitle, their exact values in the hover.
CAPPED_SHARE = 0.9
MIN_UNITS_TO_CAP = 10  # fewer units: no share to speak of


def _value_range(rec: CellRecording, q: str, *arrays: np.ndarray) -> tuple[float, float, str | None]:
    """A gate's [0, 1], a bounded state's own range, or ±max|value| for an unbounded one (c, an LSTMP's h) — capped
    where a few units outgrow the rest by far (see above); then also a note that says so, else None. ``arrays`` are
    (unit, time), as the heatmaps draw them."""
    if q in rec.gates:
        return 0.0, 1.0, None
    bounded = rec.value_range(q)
    if bounded is not None:
        return float(bounded[0]), float(bounded[1]), None
    peak = signed_range(*arrays)
    unit_peaks = np.concatenate([np.nanmax(np.abs(a), axis=1) for a in arrays if np.size(a)] or [np.zeros(0)])
    unit_peaks = unit_peaks[np.isfinite(unit_peaks)]
    if unit_peaks.size < MIN_UNITS_TO_CAP:
        return -peak, peak, None
    cap = float(np.percentile(unit_peaks, 100 * CAPPED_SHARE, method="higher"))  # a unit's own peak
    if not cap > 0 or peak < 2 * cap:  # the scale would not even halve: ±max, and nothing to say
        return -peak, peak, None
    beyond = int((unit_peaks > cap).sum())
    which = "one unit reaches" if beyond == 1 else f"{beyond} of {unit_peaks.size} units reach up to"
    return -cap, cap, f"{q}: colour scale ±{cap:.3g}, where {which} ±{peak:.3g} (drawn at the scale's ends; hover " \
                      "for values)"


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """A detached float32 NumPy copy of a tensor on any device."""
    return tensor.detach().to("cpu").float().numpy()


def panels_of(rec: Recording) -> list[tuple[int, str]]:
    """Every (layer, direction) pair in the recording, e.g. ``[(0, "fwd"), (0, "bwd"), (1, "fwd"), …]``."""
    return [(k, d) for k in range(rec.num_layers) for d in DIRECTIONS[: rec.num_directions]]


def check_panel(rec: Recording, layer: int, direction: str, batch: int = 0) -> None:
    """Raise ValueError with the valid choices when (layer, direction, batch) is not in the recording."""
    if not 0 <= layer < rec.num_layers:
        raise ValueError(f"layer must be in 0..{rec.num_layers - 1}, got {layer}")
    if direction not in DIRECTIONS[: rec.num_directions]:
        raise ValueError(f"direction must be one of {DIRECTIONS[: rec.num_directions]}, got {direction!r}")
    if not 0 <= batch < rec.batch_size:
        raise ValueError(f"batch must be in 0..{rec.batch_size - 1}, got {batch}")


def most_active_units(rec: CellRecording, layer: int = 0, direction: str = "fwd", k: int = 3) -> list[int]:
    """The ``k`` units whose gates and states change most over time (sum of standard deviations of f, i, g, o, c —
    r, z, n for a GRU), most active first. Padding past a packed sequence's end (NaN) is left out."""
    check_panel(rec, layer, direction)
    di = DIRECTIONS.index(direction)
    activity = sum(
        np.nanstd(to_numpy(getattr(rec, q)[layer, di]).reshape(-1, rec.hidden_size), axis=0)
        for q in _own_tensors(rec)
    )
    order = np.argsort(-np.nan_to_num(np.asarray(activity, dtype=float), nan=-np.inf), kind="stable")
    return [int(u) for u in order[:k]]


def feature_labels(input_size: int, feature_names: Sequence[str] | None = None) -> list[str]:
    """Names of the input features: ``["x"]`` for one feature, else ``["x0", "x1", …]``, unless given."""
    if feature_names is not None:
        if len(feature_names) != input_size:
            raise ValueError(f"{len(feature_names)} feature names for {input_size} input features")
        return list(feature_names)
    return ["x"] if input_size == 1 else [f"x{k}" for k in range(input_size)]


def _format_input(values: np.ndarray, names: Sequence[str], mean: bool) -> str:
    bar = "\u0304" if mean else ""  # x̄: a mean over a time bin
    shown = [f"{n}{bar} = {v:.4g}" for n, v in zip(names[:4], values[:4], strict=False)]
    if len(names) > 4:
        shown.append(f"… (+{len(names) - 4} more)")
    return ", ".join(shown)


def column_labels(
    x: np.ndarray, bins: TimeBins, feature_names: Sequence[str] | None = None, step_labels: Sequence[str] | None = None
) -> list[str]:
    """One unique label per time column: ``"t 3 · x = 0.25"``, or for a bin ``"t 16–23 · x̄ = 0.31"``.

    ``x`` is the input of one sequence, ``(T, input_size)``. ``step_labels`` (one per step, e.g. the characters of
    a text) replace the input values: ``"t 3 · 'a'"``, ``"t 16–23 · 'def main'"``.
    """
    if step_labels is not None:
        shown = zip(bins.labels(), column_texts(bins, step_labels, len(x)), strict=True)
        return [f"t {t} · '{text[:12]}{'…' if len(text) > 12 else ''}'" for t, text in shown]
    names = feature_labels(x.shape[1], feature_names)
    xs = bins.reduce(np.asarray(x, dtype=float), axis=0)  # (T', I)
    return [f"t {t} · {_format_input(v, names, bins.binned)}" for t, v in zip(bins.labels(), xs, strict=True)]


def column_texts(bins: TimeBins, step_labels: Sequence[str], steps: int) -> list[str]:
    """The characters under each time column (a bin's characters joined), newline, tab and space made visible."""
    if len(step_labels) != steps:
        raise ValueError(f"{len(step_labels)} step labels for {steps} steps")
    ends = np.append(bins.start[1:], steps)
    return [char_label("".join(step_labels[a:b])) for a, b in zip(bins.start, ends, strict=True)]


ALL_CHARACTER_TICKS = 64  # a text of at most this many columns shows every column's character on the time axis


def _tick_text(text: str, most: int) -> str:
    """A column's characters as tick text: at most ``most`` of them, with HTML's special characters escaped."""
    return html.escape(text[:most] + ("…" if len(text) > most else ""), quote=False)


INPUT_TICKS = (16, 3)  # a sequence of at most this many steps and features shows its input under every step


def input_ticks(x: np.ndarray, bins: TimeBins) -> list[str] | None:
    """Each step's input values as short text (``"1, 0"``) for the time axis of a short unbinned sequence of few
    features, so that the columns read as the input (a subtraction's bits); None otherwise."""
    steps, features = INPUT_TICKS
    if bins.binned or len(bins) > steps or not 1 <= x.shape[1] <= features:
        return None
    return [", ".join(f"{v:.3g}" for v in row) for row in np.asarray(x, dtype=float)]


def time_ticks(
    labels: Sequence,
    bins: TimeBins,
    max_ticks: int = 16,
    texts: Sequence[str] | None = None,
    inputs: Sequence[str] | None = None,
) -> dict:
    """Axis settings for a categorical time axis (``labels``: each column's category; on a numeric axis its
    position): a few ticks that show the step number. With ``texts`` (each column's characters,
    :func:`column_texts`) the characters show too: every column's when there are at most ``ALL_CHARACTER_TICKS``
    columns, else each tick's under its step number. With ``inputs`` (:func:`input_ticks`) every step shows its
    input values under its number."""
    if inputs is not None and texts is None:
        return {"type": "category", "tickvals": list(labels), "showgrid": False, "tickangle": 0,
                "ticktext": [f"{int(bins.start[k])}<br>{v}" for k, v in enumerate(inputs)]}  # fmt: skip
    if texts is not None and len(labels) <= ALL_CHARACTER_TICKS:
        return {
            "type": "category",
            "tickvals": list(labels),
            "ticktext": [_tick_text(t, 2) for t in texts],
            "tickfont": {"family": "monospace", "size": 10 if len(labels) > 32 else 12},
            "tickangle": 0,
            "showgrid": False,
        }
    step = max(1, -(-len(labels) // max_ticks))
    idx = range(0, len(labels), step)
    ticktext = [str(int(bins.start[k])) for k in idx]
    if texts is not None:
        ticktext = [f"{n}<br>{_tick_text(texts[k], 3)}" for n, k in zip(ticktext, idx, strict=True)]
    return {"type": "category", "tickvals": [labels[k] for k in idx], "ticktext": ticktext, "showgrid": False}


def signed_range(*arrays: np.ndarray) -> float:
    """max |value| over the arrays (1.0 when they are all zero), for a diverging scale centred on 0."""
    peak = max((float(np.nanmax(np.abs(a))) if np.size(a) else 0.0) for a in arrays)
    return peak if np.isfinite(peak) and peak > 0 else 1.0


def _colorbar(grid: Grid, row: int, name: str, cmin: float, cmax: float, row_px: int) -> dict:
    """A colour bar beside its row. Short rows (a one-unit toy model) get three ticks, low, middle and high, in a
    small font: Plotly's automatic ticks overlap there."""
    lo, hi = grid.y_domain(row)
    bar = {
        "title": colorbar_title(name, row_px),
        "y": (lo + hi) / 2,
        "len": max(0.05, hi - lo),
        "yanchor": "middle",
        "thickness": 12,
        "x": 1.01,
        "xpad": 4,
    }
    if row_px < 150:
        ticks = [cmin, (cmin + cmax) / 2, cmax] if row_px >= 60 else [cmin, cmax]
        bar.update(tickvals=ticks, ticktext=[f"{v:.2g}" for v in ticks], tickfont={"size": 10}, len=hi - lo)
    return bar


def shared_ranges(recs: Sequence[CellRecording], layer: int, direction: str, batch: int = 0) -> dict:
    """``gate_heatmaps``' ``ranges`` that put the unbounded rows of several recordings (c; an LSTMP's h:
    ``CellRecording.value_range``) on one symmetric scale, for their heatmaps side by side: each on its own, the same
    colour meant ±5 on one side and ±3 on the other."""
    di = DIRECTIONS.index(direction)
    unbounded = {q for rec in recs for q in rec.tensor_names if rec.value_range(q) is None}
    ranges = {}
    for q in sorted(unbounded):
        peak = max(float(np.nanmax(np.abs(to_numpy(getattr(rec, q)[layer, di, batch])), initial=0.0))
                   for rec in recs if q in rec.tensor_names)
        ranges[q] = (-(peak or 1e-6), peak or 1e-6)
    return ranges


def gate_heatmaps(
    rec: CellRecording,
    panels: Sequence[tuple[int, str]] | None = None,
    batch: int = 0,
    feature_names: Sequence[str] | None = None,
    max_steps: int = DEFAULT_MAX_STEPS,
    max_units: int = DEFAULT_MAX_UNITS,
    units: Sequence[int] | None = None,
    title: str | None = None,
    step_labels: Sequence[str] | None = None,
    ranges: Mapping[str, tuple[float, float]] | None = None,
) -> go.Figure:
    """Aligned heatmaps (time × unit) of every recorded tensor — f, i, g, o, c, h for an LSTM, r, z, n, h for a
    GRU — one column per (layer, direction).

    Gates use a 0..1 scale; g, n and h a diverging scale on [-1, 1] (for an LSTMP h is unbounded: ±max|h|); c a
    diverging scale on ±max|c|, each column its own (one layer's c can be ten times another's, which one shared
    scale would wash out), capped where a few units outgrow the rest by far (``_value_range``; the subtitle says
    so). Time is shared by all panels; unit 0 is on top. ``panels`` defaults to layer 0, forward; ``units`` forces
    which units to show instead of the most active ones; ``step_labels`` name the steps (e.g. a text's characters);
    ``ranges`` fixes the colour range of named rows (two models side by side on one scale: ``shared_ranges``).
    """
    order = list(rec.tensor_names)
    panels = list(panels) if panels is not None else panels_of(rec)[:1]
    if not panels:
        raise ValueError("choose at least one (layer, direction) panel")
    for k, d in panels:
        check_panel(rec, k, d, batch)
    n_cols = len(panels)
    col_steps = max(8, max_steps // n_cols)  # the columns share the figure's budget
    x = to_numpy(rec.x[batch])
    bins = bin_time(rec.seq_len, col_steps)
    labels = column_labels(x, bins, feature_names, step_labels)
    texts = None if step_labels is None else column_texts(bins, step_labels, rec.seq_len)
    inputs = input_ticks(x, bins) if texts is None else None

    data: dict[tuple[int, str], dict[str, np.ndarray]] = {}
    views: dict[tuple[int, str], dict[str, View]] = {}
    for k, d in panels:
        di = DIRECTIONS.index(d)
        arrays = {q: to_numpy(getattr(rec, q)[k, di, batch]) for q in order}  # each (T, U)
        cell_view = plan_view([arrays[q] for q in _own_tensors(rec)], col_steps, max_units, units)
        h_view = cell_view
        if rec.proj_size:  # h has proj_size units of its own
            h_units = None if units is None else [u for u in units if u < rec.proj_size] or None
            h_view = plan_view([arrays["h"]], col_steps, max_units, h_units)
        views[(k, d)] = {q: h_view if q == "h" else cell_view for q in order}
        data[(k, d)] = {q: views[(k, d)][q].apply(a) for q, a in arrays.items()}

    titles = []
    for q in order:
        for k, d in panels:
            if n_cols == 1:
                titles.append(quantity_title(rec, q))
            else:  # several columns side by side: the long names would run into each other
                titles.append(f"{SHORT_TITLES[q]} · layer {k} {d}")
    n_rows = len(order)
    most_units = max(len(v[order[0]].units) for v in views.values())
    row_px = int(np.clip(9 * most_units, 70, 230))
    height = n_rows * row_px + 170
    own_scales = [q for q in order if q not in rec.gates and rec.value_range(q) is None] if n_cols > 1 else []
    # with its own colour bar, each column's bar and the next column's unit numbers share the gap between them
    grid = Grid(rows=n_rows, cols=n_cols, vspace=42 / height, hspace=0.15 if own_scales else 0.04, titles=titles,
                title_size=13 if n_cols <= 2 else 11)  # fmt: skip

    layout = grid.layout
    traces = []
    extra_axes = 0  # the columns' own colour axes (unbounded rows), numbered after the rows' ones
    notes_by_row: list[str] = []  # colour scales capped below a few units' values
    for r, q in enumerate(order, start=1):
        axis = "coloraxis" if r == 1 else f"coloraxis{r}"
        if q not in own_scales:
            if ranges and q in ranges:  # fixed by the caller (shared_ranges): as given
                (lo, hi), capped = ranges[q], None
            else:
                lo, hi, capped = _value_range(rec, q, *(v[q] for v in data.values()))
            notes_by_row.extend([capped] if capped else [])
            layout[axis] = {
                "colorscale": GATE_COLORSCALE if q in rec.gates else SIGNED_COLORSCALE,
                "cmin": lo,
                "cmax": hi,
                "colorbar": _colorbar(grid, r, q, lo, hi, row_px),
            }
        for col, (k, d) in enumerate(panels, start=1):
            if q in own_scales:  # this panel's own ±max, its bar in the gap to its right (axes numbered without gaps)
                if col > 1:
                    extra_axes += 1
                    axis = f"coloraxis{n_rows + extra_axes}"
                lo, hi, capped = _value_range(rec, q, data[(k, d)][q])
                notes_by_row.extend([f"layer {k} {d}, {capped}"] if capped else [])
                bar = _colorbar(grid, r, q, lo, hi, row_px)
                # no title: the panel's title names it, and the gap is narrow
                bar.update(x=grid.x_domain(col)[1] + 0.004, thickness=8, xpad=2, tickfont={"size": 9}, title=None)
                layout[axis] = {"colorscale": SIGNED_COLORSCALE, "cmin": lo, "cmax": hi, "colorbar": bar}
            view = views[(k, d)][q]
            mean = "mean " if view.bins.binned else ""
            traces.append(
                grid.place(
                    {
                        "type": "heatmap",
                        "z": data[(k, d)][q].astype(np.float32),
                        "x": labels,
                        "y": [str(u) for u in view.units],
                        "coloraxis": axis,
                        **cell_text(data[(k, d)][q], row_px),
                        "name": f"{q} layer {k} {d}",
                        "hovertemplate": f"%{{x}}<br>unit %{{y}}<br>{mean}{q} = %{{z:.6f}}"
                        f"<extra>layer {k} {d}</extra>",
                    },
                    r,
                    col,
                )
            )
            # fewer ticks a panel when panels stand side by side: 16 in a ~190-px panel (two columns, 1,024-px
            # window) were drawn over each other
            grid.x(r, col).update(time_ticks(labels, bins, max_ticks=max(6, 16 // n_cols), texts=texts, inputs=inputs))
            grid.y(r, col).update(type="category", autorange="reversed")
            if col == 1:
                grid.y(r, col)["title"] = {"text": "unit", "standoff": 2}
    under = f" · under each, the input ({', '.join(feature_labels(x.shape[1], feature_names))})" if inputs else ""
    for col in range(1, n_cols + 1):
        grid.x(n_rows, col)["title"] = {"text": f"t (time step){under}"}
    notes = sorted({v.note for per_q in views.values() for v in per_q.values() if v.note})
    if own_scales:
        scales = " and ".join(own_scales)
        capped = " unless capped below" if notes_by_row else ""
        notes.append(f"{scales}: each layer and direction on its own colour scale (±its largest value{capped})")
    notes.extend(notes_by_row)
    layout.update(
        title={
            "text": title or f"Gates and states over time: {', '.join(order)}",
            # one note a line: Plotly never wraps a subtitle, and two notes on one line ran off the chart
            "subtitle": {"text": "<br>".join(notes) if notes else _shape_note(rec)},
            **TITLE_AT_TOP,
        },
        height=height + subtitle_room(len(notes), 1),
        margin={"t": 100 + subtitle_room(len(notes), 1), "b": 50, "l": 60, "r": 80},  # one line fits in 100 px
    )
    return finish(traces, layout)


CELL_TEXT_MAX = 48  # a heatmap of at most this many cells (the toy models' 4 steps × 1 unit) writes each value in it
CELL_TEXT_ROW_PX = 15  # ... and only when each of its rows is this tall: 12-px numbers in 9-px rows ran together


def cell_text(z: np.ndarray, row_px: int | None = None) -> dict:
    """Heatmap settings that write each cell's value in it when there are few cells: a row of four coloured cells
    is a poor way to show four numbers. ``row_px``: the heatmap's height in pixels, shared by its ``z.shape[0]``
    rows — numbers are written only where they fit (3 steps × 16 units is few cells, but 16 rows of 9 px)."""
    if z.size > CELL_TEXT_MAX or (row_px is not None and row_px / max(1, z.shape[0]) < CELL_TEXT_ROW_PX):
        return {}
    # written here, not by Plotly's "%{z:.3f}", which writes -0.0004 as "-0.000"
    text = np.vectorize(lambda v: "" if not np.isfinite(v) else f"{v:.3f}".replace("-0.000", "0.000"))(z)
    return {"text": text.tolist(), "texttemplate": "%{text}", "textfont": {"size": 12}}


def _shape_note(rec: CellRecording) -> str:
    proj = f", proj_size {rec.proj_size}" if rec.proj_size else ""
    steps, units = rec.seq_len, rec.hidden_size
    return (f"{steps} step{'s' * (steps != 1)} × {units} unit{'s' * (units != 1)}{proj}: every step and unit "
            "shown")  # fmt: skip
