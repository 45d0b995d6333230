"""The model's answer to one input and whether it is right (asked of the model's task), and its figure.

``model_answer`` runs the model's own ``forward`` (through its task: ``Task.answer``);
``answer_figure`` draws it by the answer's form: ``bits`` — each bit's probability, coloured right or wrong against
the true bits (subtraction); ``trace`` — the short memory h over the steps with the prediction and the target (the
toy models); ``vector`` — the output vector (the regressor); ``next_chars`` — the likeliest next characters after a
text (a character model).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from torch import nn

from lstm_viz.tasks import Answer, task_for
from lstm_viz.tasks import TaskInput as ExplorerInput
from lstm_viz.tasks.subtraction import bits_named
from lstm_viz.viz.gates import char_label, to_numpy
from lstm_viz.viz.plotgrid import LEGEND_AT_BOTTOM, LEGEND_ROOM_PX, TITLE_AT_TOP, finish, subtitle_room

__all__ = ["Answer", "answer_figure", "answer_h", "model_answer", "shared_range"]

RIGHT, WRONG, UNKNOWN = "#2ca02c", "#d62728", "#7f7f7f"


def model_answer(model: nn.Module, inp: ExplorerInput) -> Answer:
    """Run ``model`` on ``inp`` (eval mode, restored after) and judge the answer when the truth is known."""
    return task_for(model.config).answer(model, inp)


def answer_h(answer: Answer, rec) -> np.ndarray | None:
    """What ``answer_figure`` draws beside a ``trace`` answer: h over the steps (the toy models' one unit, first
    layer and sequence) from ``rec``, the recording the answer came from; None for other answers or no recording."""
    if rec is None or answer.form != "trace":
        return None
    return to_numpy(rec.h[0, 0, 0, :, 0])


def shared_range(*drawn: tuple[Answer, np.ndarray | None]) -> tuple[float, float] | None:
    """One y-range for answers drawn side by side (Intervene's Before and After), from ``(answer, h)`` pairs as
    ``answer_figure`` takes them: with a range each, 0.08 looked as tall as 0.4. None where the form has a fixed
    range (bits) or nothing to draw. Alone, a ``next_chars`` answer's own range (``answer_figure``'s default)."""
    forms = {answer.form for answer, _ in drawn}
    if forms == {"next_chars"} and all(answer.probs for answer, _ in drawn):
        top = max(max(answer.probs) for answer, _ in drawn)
        return 0.0, min(1.15, top * 1.25 + 0.02)
    if forms == {"trace"}:
        values = []
        for answer, h in drawn:
            values += [*(h if h is not None else []), answer.prediction]
            values += [answer.truth] if answer.truth is not None else []
        values = [float(v) for v in values if np.isfinite(v)]
        if not values:
            return None
        lo, hi = min(values), max(values)
        pad = 0.08 * (hi - lo) if hi > lo else 0.1
        return lo - pad, hi + pad
    return None


def answer_figure(
    answer: Answer, h: np.ndarray | None = None, title: str | None = None, y_range: tuple[float, float] | None = None
) -> go.Figure | None:
    """The answer as a figure, or None when there is nothing to draw (``form == "none"``).

    ``h`` (T,) — the toy model's short memory over the days — is drawn when given. ``title`` replaces the answer's
    headline as the chart's title (Intervene's two charts, side by side under their verdicts, say "Before"/"After":
    the headline did not fit half a narrow window). ``y_range`` fixes the y-axis of a ``trace`` or ``next_chars``
    answer (``shared_range``: two charts side by side on one scale).
    """
    if answer.form == "bits" and answer.probs:
        n = len(answer.probs)
        probs = np.asarray(answer.probs, dtype=float)
        colors = [UNKNOWN] * n
        if answer.truth_bits:
            pairs = zip(probs, answer.truth_bits, strict=True)
            colors = [RIGHT if (p >= 0.5) == bool(y) else WRONG for p, y in pairs]
        labels = [f"t{t} (2^{t})" for t in range(n)]
        custom = [
            [int(p >= 0.5), answer.truth_bits[t] if answer.truth_bits else -1] for t, p in enumerate(probs)
        ]
        traces = [
            {
                "type": "bar",
                "x": labels,
                "y": probs,
                "marker": {"color": colors},
                "customdata": custom,
                "text": [f"{p:.3f}" for p in probs],
                # above the bar, except just under a true bit's tick at 1 (0.934 was struck through by it): inside
                "textposition": [
                    "inside" if answer.truth_bits and answer.truth_bits[t] == 1 and 0.8 <= p < 0.995 else "outside"
                    for t, p in enumerate(probs)
                ],
                "name": "P(bit = 1)",
                "hovertemplate": "%{x}<br>P(bit = 1) = %{y:.6f}<br>predicted bit %{customdata[0]}"
                + ("<br>true bit %{customdata[1]}" if answer.truth_bits else "")
                + "<extra></extra>",
            }
        ]
        if answer.truth_bits:
            traces.append(
                {
                    "type": "scatter",
                    "x": labels,
                    "y": answer.truth_bits,
                    "mode": "markers",
                    "marker": {"symbol": "line-ew-open", "size": 28, "color": "#222", "line": {"width": 3}},
                    "name": "true bit",
                    "hovertemplate": "%{x}<br>true bit %{y}<extra></extra>",
                }
            )
        wrong = [t for t, color in enumerate(colors) if color == WRONG]
        red = "red = wrong" + (f" ({bits_named(wrong)})" if wrong else "")
        # short lines: Plotly never wraps a subtitle, and two of these charts stand side by side in Intervene
        layout = {
            # the headline: two of these stand side by side in Intervene, and the full summary ran off the chart
            "title": {"text": title or answer.headline or answer.summary, "subtitle": {
                "text": "each bar: P(bit t of a − b is 1), lowest bit first<br>"
                + (f"green = right · {red}<br>tick = the true bit" if answer.truth_bits
                   else "no true answer to compare with:<br>grey bars, no ticks")}, **TITLE_AT_TOP},
            "yaxis": {"range": [0, 1.15], "title": {"text": "P(bit = 1)"}},
            "xaxis": {"title": {"text": "bit = time step t"}},
            "shapes": [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 0.5, "y1": 0.5,
                        "line": {"dash": "dot", "color": "#888"}}],
            "height": 340 + subtitle_room(3, 2),
            "margin": {"t": 100 + subtitle_room(3, 2), "b": LEGEND_ROOM_PX, "l": 60, "r": 30},
            "legend": LEGEND_AT_BOTTOM,  # below the axis title: a legend at the top covered the subtitle
        }  # fmt: skip
        return finish(traces, layout)
    if answer.form == "trace":
        values = np.asarray(h if h is not None else [answer.prediction], dtype=float).reshape(-1)
        steps = np.arange(len(values))
        color = UNKNOWN if answer.correct is None else (RIGHT if answer.correct else WRONG)
        traces = [
            {
                "type": "scatter",
                "x": steps,
                "y": values,
                "mode": "lines+markers",
                "name": "h (short memory)",
                "line": {"color": "#17becf"},
                "hovertemplate": "day t = %{x}<br>h = %{y:.6f}<extra></extra>",
            },
            {
                "type": "scatter",
                "x": [steps[-1]],
                "y": [answer.prediction],
                "mode": "markers",
                "marker": {"size": 16, "color": color, "symbol": "diamond"},
                "name": "prediction (last h)",
                "hovertemplate": "prediction = %{y:.6f}<extra></extra>",
            },
        ]
        shapes = []
        if answer.truth is not None:
            shapes.append({"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": answer.truth,
                           "y1": answer.truth, "line": {"dash": "dash", "color": "#222"}})  # fmt: skip
        layout = {
            "title": {"text": title or answer.headline or answer.summary,  # two stand side by side in Intervene
                      "subtitle": {"text": "prediction = h at the last step · dashed = the known answer"}},
            "xaxis": {"title": {"text": "t (day)"}, "dtick": 1},
            "yaxis": {"title": {"text": "h"}, **({"range": list(y_range)} if y_range else {})},
            "shapes": shapes,
            "height": 320 + LEGEND_ROOM_PX,
            "margin": {"t": 90, "b": LEGEND_ROOM_PX, "l": 60, "r": 30},
            "legend": LEGEND_AT_BOTTOM,  # below the axis title: at the top it covered the subtitle
        }  # fmt: skip
        return finish(traces, layout)
    if answer.form == "next_chars" and answer.probs:
        shown = [char_label(ch) for ch in answer.labels]
        traces = [
            {
                "type": "bar",
                "x": [f"{k + 1}. {ch}" for k, ch in enumerate(shown)],
                "y": answer.probs,
                "text": [f"{p:.0%}" for p in answer.probs],
                "textposition": "outside",
                "marker": {"color": "#17becf"},
                "hovertemplate": "%{x}: P = %{y:.4f}<extra></extra>",
            }
        ]
        layout = {
            "title": {"text": f"{title}: likeliest next characters" if title else "Likeliest next characters",
                      "subtitle": {"text": "⏎ a new line, ␣ a space, ⇥ a tab"}},  # short: beside the heatmaps' legend
            "yaxis": {"range": list(y_range or shared_range((answer, None))),
                      "title": {"text": "probability"}},
            "xaxis": {"type": "category"},
            "height": 300,
            "margin": {"t": 80, "b": 40, "l": 60, "r": 30},
        }  # fmt: skip
        return finish(traces, layout)
    if answer.form == "vector" and answer.outputs:
        traces = [
            {
                "type": "bar",
                "x": answer.labels if len(answer.labels) == len(answer.outputs) else [
                    f"y{k}" for k in range(len(answer.outputs))],
                "y": answer.outputs,
                "hovertemplate": "%{x} = %{y:.6f}<extra></extra>",
            }
        ]
        short = len(answer.summary) <= 90
        title = title or (answer.summary if short else f"The output at the last step: {len(answer.outputs)} values")
        layout = {
            "title": {"text": title},
            "yaxis": {"title": {"text": "value"}},
            "xaxis": {"title": {"text": "output (at the last step)"}},
            "height": 320,
            "margin": {"t": 70, "b": 60, "l": 60, "r": 30},
        }
        return finish(traces, layout)
    return None
