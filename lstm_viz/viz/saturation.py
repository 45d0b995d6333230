"""Gate saturation (Karpathy, Johnson & Fei-Fei 2015, "Visualizing and Understanding Recurrent Networks"): per
unit and gate, the fraction of steps a gate is left-saturated (< 0.1) and right-saturated (> 0.9).

A unit whose forget gate is right-saturated almost always keeps its cell (a long-term memory); left-saturated, it
forgets at every step. Points on the diagonal x + y = 1 are never in between.
Computed over one recording — the typed sequence, or a batch of task samples (``saturation_batch``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from torch import Tensor, nn

from lstm_viz.core.recording import DIRECTIONS, Recording
from lstm_viz.tasks import task_for
from lstm_viz.viz.palette import GATE_COLORS
from lstm_viz.viz.plotgrid import LEGEND_AT_BOTTOM, LEGEND_ROOM_PX, TITLE_AT_TOP, Grid, finish

__all__ = ["SATURATION_GATES", "saturation_batch", "saturation_figure", "saturation_fractions", "saturation_table"]

SATURATION_GATES: tuple[str, ...] = ("f", "i", "o")  # the LSTM's sigmoid gates (g is a tanh, not a gate)
GATE_NAMES = {"f": "forget gate f", "i": "input gate i", "o": "output gate o", "r": "reset gate r",
              "z": "update gate z"}  # fmt: skip


def saturation_fractions(rec: Recording, low: float = 0.1, high: float = 0.9) -> dict[str, tuple[Tensor, Tensor]]:
    """Per gate (f, i, o; a GRU's r, z): ``(left, right)``, each ``(layers, directions, units)`` — the share of values
    < low and > high over every sample and step (padding past a packed sequence's end left out). The one place
    saturation is computed (explorer view 6, live probes)."""
    if not 0.0 <= low < high <= 1.0:
        raise ValueError(f"need 0 ≤ low < high ≤ 1 (e.g. 0.1 and 0.9), got low={low}, high={high}")
    out = {}
    for q in rec.gates:
        values = getattr(rec, q).detach()  # (L, D, B, T, U)
        flat = values.reshape(values.shape[0], values.shape[1], -1, values.shape[-1])  # (L, D, B*T, U)
        seen = (~flat.isnan()).float().sum(2).clamp(min=1)
        out[q] = (((flat < low).float().sum(2) / seen).cpu(), ((flat > high).float().sum(2) / seen).cpu())
    return out


def saturation_table(rec: Recording, low: float = 0.1, high: float = 0.9) -> pd.DataFrame:
    """One row per (layer, direction, gate, unit): ``left`` = share of values < low, ``right`` = share > high,
    over every sample and step of the recording."""
    fractions = saturation_fractions(rec, low, high)
    rows = []
    for q, (left, right) in fractions.items():
        for k in range(left.shape[0]):
            for d in range(left.shape[1]):
                rows.append(
                    pd.DataFrame(
                        {
                            "layer": k,
                            "direction": DIRECTIONS[d],
                            "gate": q,
                            "unit": np.arange(left.shape[-1]),
                            "left": left[k, d].numpy().astype(np.float64),
                            "right": right[k, d].numpy().astype(np.float64),
                        }
                    )
                )
    table = pd.concat(rows, ignore_index=True)
    counted = int(rec.valid.sum()) if rec.lengths is not None else rec.batch_size * rec.seq_len  # padding left out
    table.attrs.update(low=low, high=high, samples=rec.batch_size, steps=rec.seq_len, counted=counted)
    return table


def saturation_batch(model: nn.Module, n: int = 256, seed: int = 0, length: int = 32) -> Tensor:
    """A batch of the model's task samples to measure saturation on (random ``a - b`` pairs for subtraction, the
    two companies for the toy models, N(0, 1) sequences of ``length`` steps otherwise). Shape ``(n', T, I)``."""
    return task_for(model.config).probe_batch(model.config, n=n, seed=seed, length=length)


def saturation_figure(table: pd.DataFrame, title: str | None = None) -> go.Figure:
    """The Karpathy et al. scatter: x = fraction left-saturated, y = fraction right-saturated; one point per unit
    and gate, one panel per (layer, direction)."""
    low, high = table.attrs.get("low", 0.1), table.attrs.get("high", 0.9)
    panels = list(dict.fromkeys(zip(table["layer"], table["direction"], strict=True)))
    grid = Grid(
        rows=1,
        cols=len(panels),
        hspace=0.06,
        shared_x=False,
        titles=[f"layer {k} {d}" for k, d in panels],
    )
    traces = []
    for col, (k, d) in enumerate(panels, start=1):
        part = table[(table["layer"] == k) & (table["direction"] == d)]
        for q in dict.fromkeys(part["gate"]):
            rows = part[part["gate"] == q]
            traces.append(
                grid.place(
                    {
                        "type": "scatter",
                        "x": rows["left"].to_numpy(np.float32),
                        "y": rows["right"].to_numpy(np.float32),
                        "mode": "markers",
                        "name": GATE_NAMES[q],
                        "legendgroup": q,
                        "showlegend": col == 1,
                        "marker": {"color": GATE_COLORS[q], "size": 8, "opacity": 0.75,
                                   "line": {"width": 0.5, "color": "white"}},
                        "customdata": rows["unit"].to_numpy(),
                        "hovertemplate": f"{q} · unit %{{customdata}}<br>< {low:g}: %{{x:.1%}} of steps"
                        f"<br>> {high:g}: %{{y:.1%}} of steps<extra>layer {k} {d}</extra>",
                    },
                    1,
                    col,
                )
            )
        grid.x(1, col).update(range=[-0.03, 1.03], title={"text": f"fraction left-saturated (< {low:g})"})
        grid.y(1, col).update(range=[-0.03, 1.03])
        if col == 1:
            grid.y(1, col)["title"] = {"text": f"fraction right-saturated (> {high:g})"}
    layout = grid.layout
    # What the corners mean, in words, read for the gate that decides memory: an LSTM's f (over c), a GRU's z
    # (h_t = (1 − z)·n + z·h_{t−1}: z near 1 keeps h, near 0 replaces it with the candidate n).
    keep, lose = (("f here: keeps c, a long memory", "f here: erases c every step") if "f" in set(table["gate"])
                  else ("z here: keeps h, a long memory", "z here: replaces h every step"))  # fmt: skip
    corners = [
        (0.02, 1.0, "left", "top", f"always open (> {high:g})<br>{keep}"),
        (1.0, 0.04, "right", "bottom", f"always shut (< {low:g})<br>{lose}"),
    ]
    layout["annotations"] = [*layout["annotations"], *(
        {"text": text, "x": x, "y": y, "xref": grid.refs(1, c)[0], "yref": grid.refs(1, c)[1], "xanchor": xa,
         "yanchor": ya, "showarrow": False, "align": xa, "font": {"size": 11, "color": "#666"},
         "bgcolor": "rgba(255, 255, 255, 0.75)"}
        for c in range(1, len(panels) + 1) for x, y, xa, ya, text in corners
    )]  # fmt: skip
    layout["shapes"] = [
        {"type": "line", "xref": grid.refs(1, c)[0], "yref": grid.refs(1, c)[1], "x0": 0, "y0": 1, "x1": 1,
         "y1": 0, "line": {"color": "#bbb", "dash": "dot", "width": 1}}
        for c in range(1, len(panels) + 1)
    ]  # fmt: skip
    samples, steps = table.attrs.get("samples", 1), table.attrs.get("steps", 0)
    counted = table.attrs.get("counted", samples * steps)
    if samples == 1:
        over = f"the input above ({steps} steps)"
    elif counted == samples * steps:
        over = f"{samples} sequences × {steps} steps"
    else:  # packed: each sequence's own steps, not the padding
        over = f"{samples} sequences of up to {steps} steps ({counted:,} steps in all)"
    layout.update(
        title={
            "text": title or "Gate saturation (Karpathy et al. 2015)",
            # two lines: Plotly never wraps a subtitle, and this one as one line ran off the chart below 1,280 px
            "subtitle": {"text": f"one point per unit and gate, over {over}<br>near (0, 0) the gate follows the "
                                 "input (rarely saturated); on the dotted diagonal it is never in between"},
            **TITLE_AT_TOP,
        },
        height=480,
        margin={"t": 114, "b": LEGEND_ROOM_PX, "l": 70, "r": 30},
        legend=LEGEND_AT_BOTTOM,  # above the panels, it covered their titles below 1,280 px
    )  # fmt: skip
    return finish(traces, layout)
