"""Figures of a text model: the text coloured by one unit (the Karpathy view), a ranked list of units to pick from,
and a unit's top-activating contexts. Pure functions: arrays and text in, a ``plotly.graph_objects.Figure`` out.

The coloured text is a heatmap laid out as the text: one row per line (lines longer than ``wrap`` characters
continue on the next row, marked ↪), one column per character, the character drawn in its cell in a monospace
font, the cell's colour the unit's value after reading that character. A line break is a step too: it is the ⏎ at
the end of its line. Gates (f, i, o) use the sequential gate scale on [0, 1]; g, h on [−1, 1] and c on ±max|c| use
the diverging scale centred on 0 (one palette: ``lstm_viz.viz.palette``). Hovering a character shows t, the value
and the model's five likeliest next characters after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from lstm_viz.core.recording import unit_label
from lstm_viz.viz.gates import char_label, signed_range
from lstm_viz.viz.palette import GATE_COLORSCALE, SIGNED_COLORSCALE
from lstm_viz.viz.plotgrid import colorbar_title, finish

__all__ = [
    "GATE_TENSORS",
    "TextLayout",
    "coloured_text",
    "contexts_figure",
    "layout_text",
    "units_figure",
    "value_range",
]

GATE_TENSORS = ("f", "i", "o", "r", "z")  # sigmoids in [0, 1]: the sequential scale
BOUNDED = ("g", "h", "m", "n")  # tanh-bounded: [-1, 1] (an LSTMP's h is not, see value_range)
CELL_W, CELL_H = 9, 19  # pixels per character
MONO = "DejaVu Sans Mono, Menlo, Consolas, monospace"
_SHOWN = {"\n": "⏎", "\t": "⇥"}


@dataclass(frozen=True)
class TextLayout:
    """Where every character of a text sits: ``row[t]``, ``col[t]``; ``rows`` × ``cols`` cells; ``line_of_row``
    (the text's line number, from 1, of each row) and which rows continue a wrapped line."""

    row: np.ndarray
    col: np.ndarray
    rows: int
    cols: int
    line_of_row: np.ndarray
    continued: np.ndarray


def layout_text(text: str, wrap: int = 100) -> TextLayout:
    """Lay ``text`` out in rows of at most ``wrap`` characters (a line break ends its row)."""
    n = len(text)
    row = np.zeros(n, dtype=np.int64)
    col = np.zeros(n, dtype=np.int64)
    r = c = 0
    line = 1
    lines = [1]
    continued = [False]
    for t, ch in enumerate(text):
        if c >= wrap:
            r, c = r + 1, 0
            lines.append(line)
            continued.append(True)
        row[t], col[t] = r, c
        c += 1
        if ch == "\n" and t < n - 1:
            r, c = r + 1, 0
            line += 1
            lines.append(line)
            continued.append(False)
    cols = int(col.max()) + 1 if n else 1
    return TextLayout(row, col, r + 1, cols, np.asarray(lines), np.asarray(continued))


def value_range(tensor: str, values: np.ndarray, bounded: bool = True) -> tuple[float, float]:
    """The colour range of a tensor: [0, 1] for a gate, [−1, 1] for g, h (``bounded``), ±max|value| otherwise."""
    if tensor in GATE_TENSORS:
        return 0.0, 1.0
    if tensor in BOUNDED and bounded:
        return -1.0, 1.0
    peak = signed_range(np.asarray(values, dtype=float))
    return -peak, peak


def _next_hover(top_chars: np.ndarray | None, top_probs: np.ndarray | None, t: int) -> str:
    if top_chars is None or top_probs is None:
        return ""
    shown = ", ".join(f"'{char_label(str(ch))}' {p:.0%}" for ch, p in zip(top_chars[t], top_probs[t], strict=True))
    return f"<br>next: {shown}"


def coloured_text(
    text: str,
    values: np.ndarray,
    *,
    tensor: str,
    title: str,
    top_chars: np.ndarray | None = None,
    top_probs: np.ndarray | None = None,
    lines: tuple[int, int] | None = None,
    wrap: int = 100,
    bounded: bool = True,
    marks: np.ndarray | None = None,
    subtitle: str | None = None,
) -> go.Figure:
    """``text`` with each character's background coloured by ``values`` (one per character).

    ``top_chars``/``top_probs`` ``(T, k)``: the model's likeliest next characters after each step (shown on hover).
    ``lines``: (first row, number of rows) to draw of a long text (the colour range stays the whole text's).
    ``marks`` (bool per character) are underlined. ``bounded=False`` for an LSTMP's h (its own ±max range)."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if len(values) != len(text):
        raise ValueError(f"{len(values)} values for {len(text)} characters")
    if not text:
        raise ValueError("no text to colour")
    lay = layout_text(text, wrap)
    first, count = lines if lines is not None else (0, lay.rows)
    first = int(np.clip(first, 0, lay.rows - 1))
    last = min(lay.rows, first + max(1, count))
    shown = (lay.row >= first) & (lay.row < last)
    idx = np.flatnonzero(shown)
    n_rows, cols = last - first, max(1, int(lay.col[idx].max()) + 1) if len(idx) else 1
    z = np.full((n_rows, cols), np.nan)
    chars = np.full((n_rows, cols), "", dtype=object)
    hover = np.full((n_rows, cols), "", dtype=object)
    name = tensor
    for t in idx:
        r, c = lay.row[t] - first, lay.col[t]
        ch = text[t]
        z[r, c] = values[t]
        chars[r, c] = _SHOWN.get(ch, ch)
        hover[r, c] = (f"t {t} · '{char_label(ch)}' · line {lay.line_of_row[lay.row[t]]}<br>{name} = {values[t]:.5f}"
                       + _next_hover(top_chars, top_probs, t))  # fmt: skip
    lo, hi = value_range(tensor, values, bounded)
    traces: list[dict] = [
        {
            "type": "heatmap",
            "z": z.astype(np.float32),
            "text": chars.tolist(),
            "texttemplate": "%{text}",
            "textfont": {"family": MONO, "size": 13},
            "hovertext": hover.tolist(),
            "hovertemplate": "%{hovertext}<extra></extra>",
            "colorscale": GATE_COLORSCALE if tensor in GATE_TENSORS else SIGNED_COLORSCALE,
            "zmin": lo,
            "zmax": hi,
            "xgap": 0,
            "ygap": 1,
            "colorbar": {"title": colorbar_title(name, min(300, n_rows * CELL_H)), "thickness": 10,
                         "len": min(1.0, 300 / (n_rows * CELL_H + 1))},
        }
    ]
    if marks is not None:
        marks = np.asarray(marks, dtype=bool).reshape(-1)
        marked = idx[marks[idx]]
        traces.append({
            "type": "scatter", "x": lay.col[marked].tolist(), "y": (lay.row[marked] - first + 0.42).tolist(),
            "mode": "markers", "marker": {"symbol": "line-ew", "size": CELL_W, "line": {"width": 2, "color": "#111"}},
            "hoverinfo": "skip", "name": "marked", "showlegend": False,
        })  # fmt: skip
    ticks = [f"{lay.line_of_row[r]}" if not lay.continued[r] else "↪" for r in range(first, last)]
    note = subtitle or ""
    if first > 0 or last < lay.rows:
        note = (note + "; " if note else "") + f"rows {first + 1}–{last} of {lay.rows}"
    layout = {
        "title": {"text": title, "subtitle": {"text": note}},
        "xaxis": {"visible": False, "range": [-0.5, max(cols, 20) - 0.5]},
        "yaxis": {"autorange": "reversed", "tickvals": list(range(n_rows)), "ticktext": ticks, "showgrid": False,
                  "zeroline": False, "tickfont": {"family": MONO, "size": 10, "color": "#999"}},
        "width": 70 + 90 + max(cols, 20) * CELL_W,
        "height": 90 + 20 + n_rows * CELL_H,
        "margin": {"t": 70 if note else 50, "b": 10, "l": 45, "r": 90},
        "plot_bgcolor": "white",
        "hoverlabel": {"font": {"family": MONO}},
    }  # fmt: skip
    return finish(traces, layout)


# What a ranking's score is, said on its axis, and where "no relation at all" lies on it (a dotted line: an AUROC of
# 0.75 read as strong on a bare 0-1 axis)
# (short: the axis title stands along a plot 140 px tall; longer, it ran into the subtitle)
_SCORE_AXIS = {"auroc": ("AUROC, the better direction", 0.5), "abs_pearson": ("|r| with the feature", None),
               None: ("std over t", None)}


def units_figure(
    table: pd.DataFrame, score: str, title: str, k: int = 25, feature: bool = True, metric: str | None = None
) -> go.Figure:
    """The ``k`` best units of a ranking as clickable bars (``table``: ``name, unit`` and the ``score`` column,
    best first; ``feature``: ranked against a feature, coloured by the direction ``sign``; ``metric``: "auroc",
    "abs_pearson" or None for activity, named on the y-axis); each bar's ``customdata`` is ``[name, unit]`` so a
    click picks the unit."""
    axis, chance = _SCORE_AXIS.get(metric, (score, None))
    top = table.head(k)
    labels = [unit_label(n, u) for n, u in zip(top["name"], top["unit"], strict=True)]
    sign = top["sign"].tolist() if "sign" in top else [1] * len(top)
    traces = [{
        "type": "bar", "x": labels, "y": top[score].astype(float).tolist(),
        "customdata": [[n, int(u)] for n, u in zip(top["name"], top["unit"], strict=True)],
        "marker": {"color": ["#d62728" if s > 0 else "#1f77b4" for s in sign]},
        "hovertemplate": "%{x}<br>" + score + " = %{y:.4f}<br>click to colour the text by it<extra></extra>",
    }]  # fmt: skip
    layout = {
        "title": {"text": title, "subtitle": {"text": ("red: higher inside (rises with) the feature, blue: lower; "
                                                       if feature else "") + "click a bar to pick that unit"}},
        "xaxis": {"type": "category", "tickangle": -45, "tickfont": {"size": 10}},
        "yaxis": {"title": {"text": axis}, **({"range": [0, 1.02]} if metric == "auroc" else {})},
        "shapes": [] if chance is None else [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": chance,
                                              "y1": chance, "line": {"dash": "dot", "color": "#888"}}],
        # right of the plot: over its last bar it was hidden
        "annotations": [] if chance is None else [{"text": "chance", "xref": "paper", "x": 1, "y": chance,
                                                   "xanchor": "left", "yanchor": "middle", "showarrow": False,
                                                   "font": {"size": 10, "color": "#666"}}],
        "height": 330,
        "margin": {"t": 80, "b": 110, "l": 60, "r": 20 if chance is None else 55},
        "clickmode": "event+select",
        "dragmode": False,
    }  # fmt: skip
    return finish(traces, layout)


def contexts_figure(contexts: Sequence, *, tensor: str, title: str, bounded: bool = True) -> go.Figure:
    """Top-activating contexts, one per row, each character coloured by the unit's value, the place itself framed.

    ``contexts`` are ``lstm_viz.text.finder.Context`` objects (``text``, ``values``, ``position``, ``start``,
    ``value``, ``where``)."""
    if not contexts:
        raise ValueError("no contexts to draw")
    cols = max(len(c.text) for c in contexts)
    z = np.full((len(contexts), cols), np.nan)
    chars = np.full((len(contexts), cols), "", dtype=object)
    hover = np.full((len(contexts), cols), "", dtype=object)
    for r, ctx in enumerate(contexts):
        for j, (ch, v) in enumerate(zip(ctx.text, ctx.values, strict=True)):
            z[r, j] = v
            chars[r, j] = _SHOWN.get(ch, ch)
            hover[r, j] = f"{ctx.where}<br>'{char_label(ch)}' · {tensor} = {v:.5f}"
    lo, hi = value_range(tensor, np.concatenate([c.values for c in contexts]), bounded)
    shapes = [{"type": "rect", "x0": c.position - c.start - 0.5, "x1": c.position - c.start + 0.5, "y0": r - 0.5,
               "y1": r + 0.5, "line": {"color": "#111", "width": 1.5}} for r, c in enumerate(contexts)]  # fmt: skip
    traces = [{
        "type": "heatmap", "z": z.astype(np.float32), "text": chars.tolist(), "texttemplate": "%{text}",
        "textfont": {"family": MONO, "size": 13}, "hovertext": hover.tolist(),
        "hovertemplate": "%{hovertext}<extra></extra>", "zmin": lo, "zmax": hi, "ygap": 3,
        "colorscale": GATE_COLORSCALE if tensor in GATE_TENSORS else SIGNED_COLORSCALE,
        "colorbar": {"title": {"text": tensor}, "thickness": 10},
    }]  # fmt: skip
    labels = [f"{c.where} · {c.value:.3f}" for c in contexts]
    # The labels' room from their length (10-px text, ~6 px a character), not a fixed 310 px: with it, a context of
    # 81 characters made the chart wider than the page at 1,280 px, Streamlit narrowed it and the letters overlapped.
    left = min(320, 16 + 6 * max(len(label) for label in labels))
    layout = {
        "title": {"text": title, "subtitle": {"text": "the framed character is the place; ⏎ a line break"}},
        "xaxis": {"visible": False},
        "yaxis": {"autorange": "reversed", "tickvals": list(range(len(contexts))), "ticktext": labels,
                  "tickfont": {"size": 10}},
        "shapes": shapes,
        "width": left + 70 + cols * CELL_W,
        "height": 100 + len(contexts) * (CELL_H + 6),
        "margin": {"t": 80, "b": 10, "l": left, "r": 70},
        "plot_bgcolor": "white",
    }  # fmt: skip
    return finish(traces, layout)
