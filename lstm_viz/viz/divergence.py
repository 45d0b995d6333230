"""Compare two inputs through the same model: difference heatmaps (B − A) of f, i, g, o, c, h and the first step
where the two runs diverge.

Inputs of different lengths are compared over their common first ``min(T_a, T_b)`` steps (the figure says so).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import torch

from lstm_viz.core.recording import DIRECTIONS, CellRecording
from lstm_viz.viz.budget import DEFAULT_MAX_STEPS, DEFAULT_MAX_UNITS, bin_time, plan_view
from lstm_viz.viz.gates import (
    SIGNED_COLORSCALE,
    cell_text,
    char_label,
    check_panel,
    column_texts,
    feature_labels,
    quantity_title,
    time_ticks,
    to_numpy,
)
from lstm_viz.viz.plotgrid import TITLE_AT_TOP, Grid, colorbar_title, finish, subtitle_room

__all__ = ["Divergence", "beyond_rounding", "compared", "difference_heatmaps", "first_divergence"]


@dataclass(frozen=True)
class Divergence:
    """Where two runs first differ: in the input and in any recorded quantity (None = never, over ``steps``)."""

    steps: int  # compared steps: min(T_a, T_b)
    input_step: int | None
    state_step: int | None
    where: str  # e.g. "layer 0 fwd c, unit 3" (the largest difference at state_step)
    max_abs: float  # the largest |B − A| over everything compared
    tol: float = 1e-6  # a difference up to tol · max(1, |A|, |B|) is no difference (see beyond_rounding)

    @property
    def sentence(self) -> str:
        if self.state_step is None:
            tol = f"{self.tol:g}".replace("e-0", "e-")  # 1e-6, not 1e-06
            within = f"within {tol}, relative for values above 1"
            return f"The two runs agree at every one of the {self.steps} compared steps ({within})."
        return " ".join(self.lines)

    @property
    def lines(self) -> list[str]:
        """The sentence in lines short enough for a subtitle (Plotly never wraps one)."""
        if self.state_step is None:
            return [self.sentence]
        inputs = ("The inputs are the same at every step" if self.input_step is None
                  else f"The inputs first differ at t = {self.input_step}")  # fmt: skip
        return [
            f"{inputs}; the recorded states first diverge at t = {self.state_step} ({self.where}).",
            f"Largest difference: {self.max_abs:.4g}.",
        ]


def _common(rec_a: CellRecording, rec_b: CellRecording) -> int:
    same = (rec_a.num_layers, rec_a.num_directions, rec_a.hidden_size, rec_a.proj_size) == (
        rec_b.num_layers,
        rec_b.num_directions,
        rec_b.hidden_size,
        rec_b.proj_size,
    )
    if not same:
        raise ValueError("both recordings must come from the same model (same layers, directions and sizes)")
    return min(rec_a.seq_len, rec_b.seq_len)


def beyond_rounding(a, b, tol: float):
    """Where ``|b − a|`` exceeds ``tol · max(1, |a|, |b|)``, for NumPy arrays or tensors: float rounding grows with
    a value's size — a cell state of 50 carries 50 times the rounding of a gate — so a fixed threshold would call a
    large value's last bits a change."""
    if isinstance(a, torch.Tensor):
        return (b - a).abs() > tol * torch.maximum(a.abs(), b.abs()).clamp(min=1)
    return np.abs(b - a) > tol * np.maximum(1.0, np.maximum(np.abs(a), np.abs(b)))


def compared(rec: CellRecording) -> tuple[str, ...]:
    """The tensors two runs are compared on: those the heatmaps show, and an LSTMP's m = o·tanh(c) before h (its
    own units, hidden_size of them, which an intervention on m changes first; without a projection m is h)."""
    names = tuple(rec.tensor_names)
    if rec.proj_size and "m" in rec.recorded_tensors and "h" in names:
        at = names.index("h")
        names = (*names[:at], "m", *names[at:])
    return names


def first_divergence(rec_a: CellRecording, rec_b: CellRecording, batch: int = 0, tol: float = 1e-6) -> Divergence:
    """The first step where the inputs differ, and the first where any f, i, g, o, c or h (an LSTMP's m too) of any
    layer and direction differs by more than ``tol`` of its size (:func:`beyond_rounding`) — named at the lowest
    layer that differs at that step."""
    steps = _common(rec_a, rec_b)
    xa, xb = to_numpy(rec_a.x[batch, :steps]), to_numpy(rec_b.x[batch, :steps])
    input_diff = beyond_rounding(xa, xb, tol).any(axis=1)
    input_step = int(np.argmax(input_diff)) if input_diff.any() else None
    # The first place: the earliest step, then the lowest layer (where a change starts: the layers above read it),
    # then the tensors' display order, then the largest difference there.
    best: tuple[tuple[int, int, int], str, float] | None = None
    max_abs = 0.0
    for order, q in enumerate(compared(rec_a)):
        a = to_numpy(getattr(rec_a, q)[:, :, batch, :steps])  # (L, D, T, U)
        b = to_numpy(getattr(rec_b, q)[:, :, batch, :steps])
        diff = np.abs(b - a)
        max_abs = max(max_abs, float(diff.max()))
        beyond = beyond_rounding(a, b, tol)
        hits = np.nonzero(beyond.any(axis=(0, 1, 3)))[0]
        if not len(hits):
            continue
        t = int(hits[0])
        k = int(np.nonzero(beyond[:, :, t, :].any(axis=(1, 2)))[0][0])
        if best is None or (t, k, order) < best[0]:
            at_t = np.where(beyond[k, :, t, :], diff[k, :, t, :], -1.0)
            d, u = np.unravel_index(int(np.argmax(at_t)), at_t.shape)
            best = ((t, k, order), f"layer {k} {DIRECTIONS[d]} {q}, unit {u}", float(diff[k, d, t, u]))
    if best is None:
        return Divergence(steps, input_step, None, "", max_abs, tol)
    return Divergence(steps, input_step, best[0][0], best[1], max_abs, tol)


def _panel_divergence(diffs: dict[str, np.ndarray], rec_a: CellRecording, layer: int, di: int, steps: int,
                      tol: float) -> tuple[int | None, float]:
    """The first step where one panel (layer, direction) differs beyond rounding, and its largest |B − A|: the
    dotted line belongs where *this* panel changes (a bidirectional model's backward direction, or a layer above,
    can diverge before the panel shown does)."""
    first, peak = None, 0.0
    for q, diff in diffs.items():
        a = to_numpy(getattr(rec_a, q)[layer, di, 0, :steps])
        hits = np.nonzero(beyond_rounding(a, a + diff, tol).any(axis=1))[0]
        if len(hits):
            first = int(hits[0]) if first is None else min(first, int(hits[0]))
        peak = max(peak, float(np.nanmax(np.abs(diff), initial=0.0)))
    return first, peak


def _labels(
    rec_a: CellRecording,
    rec_b: CellRecording,
    steps: int,
    bins,
    names: Sequence[str],
    step_labels: tuple[Sequence[str], Sequence[str]] | None = None,
) -> list[str]:
    if step_labels is not None:  # texts: the characters of each, side by side
        ends = np.append(bins.start[1:], steps)
        return [f"t {t} · A: '{char_label(''.join(step_labels[0][a:b]))[:12]}' | B: "
                f"'{char_label(''.join(step_labels[1][a:b]))[:12]}'"
                for t, a, b in zip(bins.labels(), bins.start, ends, strict=True)]  # fmt: skip
    xa = bins.reduce(to_numpy(rec_a.x[0, :steps]).astype(float), axis=0)
    xb = bins.reduce(to_numpy(rec_b.x[0, :steps]).astype(float), axis=0)
    bar = "\u0304" if bins.binned else ""

    def fmt(v: np.ndarray) -> str:
        shown = ", ".join(f"{n}{bar} = {x:.4g}" for n, x in zip(names[:3], v[:3], strict=False))
        return shown + (" …" if len(names) > 3 else "")

    return [f"t {t} · A: {fmt(a)} | B: {fmt(b)}" for t, a, b in zip(bins.labels(), xa, xb, strict=True)]


def difference_heatmaps(
    rec_a: CellRecording,
    rec_b: CellRecording,
    layer: int = 0,
    direction: str = "fwd",
    feature_names: Sequence[str] | None = None,
    labels: tuple[str, str] = ("A", "B"),
    max_steps: int = DEFAULT_MAX_STEPS,
    max_units: int = DEFAULT_MAX_UNITS,
    step_labels: tuple[Sequence[str], Sequence[str]] | None = None,
    tol: float = 1e-6,
    title: str | None = None,
) -> go.Figure:
    """Six heatmaps of B − A (time × unit) in the order f, i, g, o, c, h (an LSTMP's m before h: seven) on diverging
    scales centred on 0 — the gates, m and h (all between 0 and 1 or −1 and 1) on one scale, so that colours compare
    across them, and c (and an LSTMP's projected h) on its own — with the values written in the cells of a tiny
    model, and a dotted line at the first step where the two runs diverge by more than ``tol`` (as
    ``first_divergence`` finds it).
    ``step_labels`` (A's and B's, e.g. two texts' characters) name the steps instead of the input values and show on
    the time axis (``≠`` where the two texts differ). ``title`` replaces "B − A: how the second input changes every
    gate" (e.g. for an intervention: after − before)."""
    steps = _common(rec_a, rec_b)
    check_panel(rec_a, layer, direction)
    di = DIRECTIONS.index(direction)
    quantities = compared(rec_a)  # an LSTMP's m too
    diffs = {
        q: to_numpy(getattr(rec_b, q)[layer, di, 0, :steps]) - to_numpy(getattr(rec_a, q)[layer, di, 0, :steps])
        for q in quantities
    }
    own = [q for q in quantities if q != "h"]
    view = plan_view([np.abs(diffs[q]) for q in own], max_steps, max_units)
    h_view = plan_view([diffs["h"]], max_steps, max_units) if rec_a.proj_size else view
    bins = bin_time(steps, max_steps)
    names = feature_labels(rec_a.x.shape[-1], feature_names)
    cols = _labels(rec_a, rec_b, steps, bins, names, step_labels)
    texts = None
    if step_labels is not None:  # the characters on the time axis; "≠" where A's and B's differ
        texts_a, texts_b = (column_texts(bins, list(chars)[:steps], steps) for chars in step_labels)
        texts = [a if a == b else "≠" for a, b in zip(texts_a, texts_b, strict=True)]
    div = first_divergence(rec_a, rec_b, tol=tol)
    panel_step, panel_peak = _panel_divergence(diffs, rec_a, layer, di, steps, tol)
    n_rows = len(quantities)
    row_px = int(np.clip(9 * len(view.units), 60, 200))
    height = n_rows * row_px + 190
    grid = Grid(rows=n_rows, vspace=42 / height, titles=[f"Δ {quantity_title(rec_a, q)}" for q in quantities])
    traces = []
    layout = grid.layout
    zs = {q: (h_view if q == "h" else view).apply(diffs[q]).astype(np.float32) for q in quantities}
    # Bounded quantities share one scale (each on its own, a Δf of 0.005 was as deep a red as a Δc of 4); unbounded
    # ones (c, an LSTMP's projected h, a GRU's h from a given h0: CellRecording.value_range) each have their own.
    shared = [q for q in quantities if rec_a.value_range(q) is not None]
    shared_peak = max((_finite_peak(zs[q]) for q in shared), default=0.0) or 1e-6
    for r, q in enumerate(quantities, start=1):
        v = h_view if q == "h" else view
        z = zs[q]
        written = cell_text(z, row_px)  # the values in the cells of a tiny model (then no colour bar)
        peak = shared_peak if q in shared else (_finite_peak(z) or 1e-6)
        axis = "coloraxis" if r == 1 else f"coloraxis{r}"
        mean = "mean " if bins.binned else ""
        traces.append(
            grid.place(
                {
                    "type": "heatmap",
                    "z": z,
                    "x": cols,
                    "y": [str(u) for u in v.units],
                    "coloraxis": axis,
                    "hovertemplate": f"%{{x}}<br>unit %{{y}}<br>{mean}Δ{q} = {labels[1]} − {labels[0]} = "
                    "%{z:.6f}<extra></extra>",
                    **written,
                },
                r,
            )
        )
        grid.x(r).update(time_ticks(cols, bins, texts=texts))
        grid.y(r).update(type="category", autorange="reversed", title={"text": "unit", "standoff": 2})
        lo, hi = grid.y_domain(r)
        layout[axis] = {
            "colorscale": SIGNED_COLORSCALE,
            "cmin": -peak,
            "cmax": peak,
            # one colour bar for the shared scale (on its first row), one for each scale of its own; none where the
            # values are written in the cells (a row of a few cells: its bar's ticks ran into each other)
            "showscale": (q not in shared or q == shared[0]) and not written,
            "colorbar": {"title": colorbar_title(f"Δ{'/'.join(shared) if q in shared else q}"),
                         "y": (lo + hi) / 2, "len": hi - lo, "thickness": 12, "x": 1.01, "nticks": 5},
        }  # fmt: skip
    grid.x(n_rows)["title"] = {"text": "t (time step)"}
    shapes = []
    if panel_step is not None:
        column = int(np.searchsorted(bins.stop, panel_step, side="right"))
        for r in range(1, n_rows + 1):
            xref, yref = grid.refs(r)
            shapes.append({"type": "line", "xref": xref, "yref": f"{yref} domain", "x0": column - 0.5,
                           "x1": column - 0.5, "y0": 0, "y1": 1, "line": {"color": "#111", "dash": "dot",
                                                                           "width": 1.5}})  # fmt: skip
    notes = list(div.lines)
    if div.state_step is not None and (panel_step != div.state_step or panel_peak < div.max_abs):
        here = (f"the dotted line, at t = {panel_step}" if panel_step is not None
                else "no difference beyond rounding")  # fmt: skip
        notes.append(f"This panel (layer {layer} {direction}): {here}; largest difference {panel_peak:.4g}.")
    if len(shared) > 1 and len(shared) < n_rows:
        own = ", ".join(q for q in quantities if q not in shared)
        notes.append(f"{', '.join(shared)} on one colour scale, {own} on its own")
    if rec_a.seq_len != rec_b.seq_len:
        notes.append(f"lengths differ ({rec_a.seq_len} vs {rec_b.seq_len}): the first {steps} steps are compared")
    if view.note:
        notes.append(view.note)
    layout.update(
        title={
            "text": (title or f"{labels[1]} − {labels[0]}: how the second input changes every gate")
            + f" · layer {layer} {direction}",
            "subtitle": {"text": "<br>".join(notes)},
            **TITLE_AT_TOP,
        },
        shapes=shapes,
        height=height + subtitle_room(len(notes), 2),
        margin={"t": 110 + subtitle_room(len(notes), 2), "b": 50, "l": 60, "r": 80},  # two lines fit in 110 px
    )
    return finish(traces, layout)


def _finite_peak(z: np.ndarray) -> float:
    """The largest |value| that is finite (0.0 for none): a state driven past float32's range (a forget gate set to
    10⁶) is ±inf there, and an infinite or NaN cmin/cmax left Plotly to scale from the data — "no change" drawn as
    the scale's dark end instead of white."""
    finite = np.abs(z[np.isfinite(z)])
    return float(finite.max()) if finite.size else 0.0
