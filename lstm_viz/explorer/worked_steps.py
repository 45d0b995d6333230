"""The one-unit LSTM's equations with the actual numbers of every step substituted, as LaTeX lines.

For the StatQuest model the weights carry the post's names (``wlr1``, ``wpr2``, …); for ``nn.LSTM(1, 1)`` they
are PyTorch's (``W_{hf}``, ``W_{if}``, ``b_f = b_{if} + b_{hf}``). Pre-activations are computed from the weights
here; the gate and state values shown are the recording's, so each line can be checked by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from lstm_viz.core.recording import STORAGE_ORDER, Recording
from lstm_viz.viz.gates import to_numpy

__all__ = ["GateWeights", "WorkedStep", "gate_weights", "is_one_unit", "worked_steps"]

# gate → (LaTeX function, StatQuest names (h, x, bias), StatQuest's words)
_GATES = {
    "f": (r"\sigma", ("wlr1", "wlr2", "blr1"), r"forget gate: long-term remember \%"),
    "i": (r"\sigma", ("wpr1", "wpr2", "bpr1"), r"input gate: potential remember \%"),
    "g": (r"\tanh", ("wp1", "wp2", "bp1"), "candidate: potential memory"),
    "o": (r"\sigma", ("wo1", "wo2", "bo1"), r"output gate: output \%"),
}


@dataclass(frozen=True)
class GateWeights:
    """One gate's scalars: weight on h_{t-1}, weight on x_t and bias, with their LaTeX names."""

    names: tuple[str, str, str]
    w_h: float
    w_x: float
    b: float


def is_one_unit(model: nn.Module) -> bool:
    """True for a single-layer, single-direction, one-unit, one-input LSTM (StatQuest or nn.LSTM(1, 1))."""
    config = getattr(model, "config", None)
    return bool(
        config is not None
        and config.cell == "lstm"
        and (config.input_size, config.hidden_size, config.num_layers, config.proj_size) == (1, 1, 1, 0)
        and not config.bidirectional
    )


def gate_weights(model: nn.Module) -> dict[str, GateWeights]:
    """The twelve scalars of a one-unit LSTM per gate f, i, g, o."""
    if not is_one_unit(model):
        raise ValueError("worked equations are for a one-unit LSTM (input 1, hidden 1, one layer)")
    if hasattr(model, "named_weights"):  # the StatQuest model: the post's names
        w = model.named_weights()
        return {
            q: GateWeights(tuple(rf"\mathit{{{n}}}" for n in names), w[names[0]], w[names[1]], w[names[2]])
            for q, (_, names, _) in _GATES.items()
        }
    lstm = model.rnn()
    sd = {k: v.detach().to("cpu").double().view(-1) for k, v in lstm.state_dict().items()}
    out = {}
    for k, q in enumerate(STORAGE_ORDER):  # rows of weight_ih/weight_hh: i, f, g, o
        b = float(sd["bias_ih_l0"][k] + sd["bias_hh_l0"][k]) if "bias_ih_l0" in sd else 0.0
        out[q] = GateWeights((f"W_{{h{q}}}", f"W_{{i{q}}}", f"b_{q}"), float(sd["weight_hh_l0"][k]),
                             float(sd["weight_ih_l0"][k]), b)  # fmt: skip
    return out


def _n(v: float) -> str:
    """A number for a product: 4 decimals, negative ones in parentheses."""
    return f"{v:.4f}" if v >= 0 else f"({v:.4f})"


@dataclass(frozen=True)
class WorkedStep:
    """One step: what goes in (x, h, c), then per quantity its equation and the same with numbers."""

    step: int  # t, from 0 as on every page (t = 0 is the post's day 1)
    header: str  # LaTeX: x_s, h_{s-1}, c_{s-1}
    rows: tuple[tuple[str, str, str], ...]  # (left side, symbolic right side, numeric right side)

    def latex(self) -> str:
        """An ``aligned`` block: the symbolic equation on one line, the numbers under it."""
        body = []
        for lhs, symbolic, numeric in self.rows:
            body.append(rf"{lhs} &= {symbolic} \\")
            body.append(rf" &= {numeric} \\[2pt]")
        return "\\begin{aligned}\n" + "\n".join(body) + "\n\\end{aligned}"


def worked_steps(model: nn.Module, rec: Recording, batch: int = 0) -> list[WorkedStep]:
    """For each step t = 0, 1, … (as on every page; t = 0 is the post's day 1): x, h and c going in, the four gates
    with their numbers substituted, then c and h. The state before t = 0 is written h_{-1} = c_{-1} = 0."""
    weights = gate_weights(model)
    x = to_numpy(rec.x[batch, :, 0]).astype(float)
    values = {q: to_numpy(getattr(rec, q)[0, 0, batch, :, 0]).astype(float) for q in "figoch"}
    steps = []
    h_prev, c_prev = 0.0, 0.0
    for t in range(rec.seq_len):
        s, p = t, t - 1  # h_{-1} = c_{-1} = 0 before the first step
        header = rf"x_{{{s}}} = {x[t]:.4f},\quad h_{{{p}}} = {h_prev:.4f},\quad c_{{{p}}} = {c_prev:.4f}"
        rows = []
        for q, (fn, _, words) in _GATES.items():
            w = weights[q]
            nh, nx, nb = w.names
            pre = h_prev * w.w_h + x[t] * w.w_x + w.b
            rows.append(
                (
                    f"{q}_{{{s}}}",
                    rf"{fn}(h_{{{p}}}\, {nh} + x_{{{s}}}\, {nx} + {nb})\qquad\text{{{words}}}",
                    rf"{fn}({_n(h_prev)} \cdot {_n(w.w_h)} + {_n(x[t])} \cdot {_n(w.w_x)} + {_n(w.b)}) = "
                    rf"{fn}({pre:.4f}) = \boldsymbol{{{values[q][t]:.4f}}}",
                )
            )
        f, i, g, o, c, h = (values[q][t] for q in "figoch")
        rows.append(
            (
                f"c_{{{s}}}",
                rf"f_{{{s}}}\, c_{{{p}}} + i_{{{s}}}\, g_{{{s}}}\qquad\text{{long memory}}",
                rf"{_n(f)} \cdot {_n(c_prev)} + {_n(i)} \cdot {_n(g)} = \boldsymbol{{{c:.4f}}}",
            )
        )
        rows.append(
            (
                f"h_{{{s}}}",
                rf"o_{{{s}}} \tanh(c_{{{s}}})\qquad\text{{short memory}}",
                rf"{_n(o)} \cdot \tanh({c:.4f}) = \boldsymbol{{{h:.4f}}}",
            )
        )
        steps.append(WorkedStep(s, header, tuple(rows)))
        h_prev, c_prev = h, c
    return steps
