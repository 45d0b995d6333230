"""The model's answer to one input — the toy prediction or the decoded subtraction — and whether it is right.

``model_answer`` runs the model's own ``forward`` (so it works for the GRU too, which cannot be recorded);
``answer_figure`` draws it: for subtraction each bit's probability, coloured right or wrong against the true bits;
for the toy models the short memory h over the days with the prediction and the target.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import plotly.graph_objects as go
import torch
from torch import nn

from lstm_viz.explorer.inputs import ExplorerInput, task_of
from lstm_viz.tasks import subtraction, toy
from lstm_viz.viz.plotgrid import finish

__all__ = ["Answer", "answer_figure", "model_answer"]

RIGHT, WRONG, UNKNOWN = "#2ca02c", "#d62728", "#7f7f7f"


@dataclass(frozen=True)
class Answer:
    """What the model said, what was true (when known) and a one-line verdict."""

    task: str  # "toy", "subtraction", "regression" or "sequence"
    summary: str
    correct: bool | None = None
    prediction: float | int | None = None
    truth: float | int | None = None
    probs: list[float] = field(default_factory=list)  # subtraction: P(bit t = 1), LSB first
    truth_bits: list[int] = field(default_factory=list)
    outputs: list[float] = field(default_factory=list)  # regression: the output vector


def _operands_from_bits(x: torch.Tensor) -> tuple[int, int] | None:
    """(a, b) when x is exactly 8 steps of 0/1 bit pairs, else None."""
    if x.shape[1] != subtraction.BITS or not bool(((x == 0) | (x == 1)).all()):
        return None
    weights = 2 ** torch.arange(subtraction.BITS)
    a, b = (int((x[0, :, k].long() * weights).sum()) for k in (0, 1))
    return (a, b) if b <= a else None


@torch.no_grad()
def model_answer(model: nn.Module, inp: ExplorerInput) -> Answer:
    """Run ``model`` on ``inp`` (eval mode, restored after) and judge the answer when the truth is known."""
    config = model.config
    task = task_of(config)
    was_training = model.training
    model.eval()
    try:
        x = inp.x.to(next(model.parameters()).device)
        out = model(x).detach().to("cpu").float()
    finally:
        model.train(was_training)
    if task == "toy":
        pred = float(out.view(-1)[0])
        if inp.target is None:
            return Answer("toy", f"Prediction {pred:.4f} (no known answer for this sequence)", None, pred)
        ok = abs(pred - inp.target) < toy.TOLERANCE
        name = "Company A" if inp.target == 0 else "Company B"
        verdict = "right" if ok else "wrong"
        return Answer(
            "toy",
            f"Prediction {pred:.4f} for {name} (target {inp.target:g}): {verdict} "
            f"({'within' if ok else 'outside'} ±{toy.TOLERANCE:g})",
            ok, pred, inp.target,
        )  # fmt: skip
    if task == "subtraction":
        probs = out.view(-1).tolist()  # (T,)
        operands = inp.operands or _operands_from_bits(inp.x)
        if len(probs) != subtraction.BITS:
            return Answer("subtraction", f"{len(probs)} bit probabilities; decoding needs exactly 8 steps",
                          probs=probs)  # fmt: skip
        pred = subtraction.decode(torch.tensor(probs))
        if operands is None:
            return Answer("subtraction", f"The model reads {pred} (the input is not an 8-bit a - b with b ≤ a)",
                          None, pred, probs=probs)  # fmt: skip
        a, b = operands
        truth = a - b
        truth_bits = subtraction.bits(torch.tensor([truth]))[0].int().tolist()
        ok = pred == truth
        summary = f"{a} − {b} = {truth}; the model says {pred}: {'right' if ok else 'wrong'}"
        if not ok:
            wrong = [t for t, (p, y) in enumerate(zip(probs, truth_bits, strict=True)) if (p >= 0.5) != bool(y)]
            summary += f" (bit{'s' if len(wrong) > 1 else ''} {', '.join(map(str, wrong))} wrong)"
        return Answer("subtraction", summary, ok, pred, truth, probs=probs, truth_bits=truth_bits)
    if config.kind == "regressor":
        values = out.view(-1).tolist()
        shown = ", ".join(f"{v:.4f}" for v in values[:8]) + (" …" if len(values) > 8 else "")
        return Answer("regression", f"The regressor outputs {shown} (from the last time step)", outputs=values)
    return Answer(
        "sequence",
        "A bare LSTM has no task, so there is no answer to judge: its output is h at every step "
        "(the last heatmap below).",
    )


def answer_figure(answer: Answer, h: np.ndarray | None = None) -> go.Figure | None:
    """The answer as a figure, or None when there is nothing to draw (a bare LSTM).

    ``h`` (T,) — the toy model's short memory over the days — is drawn when given.
    """
    if answer.task == "subtraction" and answer.probs:
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
                "textposition": "outside",
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
        layout = {
            "title": {"text": answer.summary, "subtitle": {
                "text": "each bar: the model's probability that bit t of a − b is 1 (LSB first); "
                "green = right, red = wrong, black tick = the true bit"}},
            "yaxis": {"range": [0, 1.15], "title": {"text": "P(bit = 1)"}},
            "xaxis": {"title": {"text": "bit (time step)"}},
            "shapes": [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 0.5, "y1": 0.5,
                        "line": {"dash": "dot", "color": "#888"}}],
            "height": 280,
            "margin": {"t": 80, "b": 40, "l": 60, "r": 30},
            "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 1, "xanchor": "right"},
        }  # fmt: skip
        return finish(traces, layout)
    if answer.task == "toy":
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
            "title": {"text": answer.summary,
                      "subtitle": {"text": "the prediction is h at the last step; dashed line = the known answer"}},
            "xaxis": {"title": {"text": "t (day)"}, "dtick": 1},
            "yaxis": {"title": {"text": "h"}},
            "shapes": shapes,
            "height": 320,
            "margin": {"t": 90, "b": 50, "l": 60, "r": 30},
            "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 1, "xanchor": "right"},
        }  # fmt: skip
        return finish(traces, layout)
    if answer.task == "regression" and answer.outputs:
        traces = [
            {
                "type": "bar",
                "x": [f"y{k}" for k in range(len(answer.outputs))],
                "y": answer.outputs,
                "hovertemplate": "%{x} = %{y:.6f}<extra></extra>",
            }
        ]
        layout = {
            "title": {"text": answer.summary},
            "height": 300,
            "margin": {"t": 70, "b": 40, "l": 60, "r": 30},
        }
        return finish(traces, layout)
    return None
