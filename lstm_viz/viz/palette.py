"""One palette for every page: a colour per gate and state, and the colour scales of gates (in [0, 1]) and of
signed states. A gate has the same colour on every page and in every figure."""

from __future__ import annotations

__all__ = ["GATE_COLORS", "GATE_COLORSCALE", "INPUT_COLORS", "SIGNED_COLORSCALE"]

GATE_COLORS: dict[str, str] = {
    "f": "#1f77b4",  # forget gate: blue (what is kept)
    "i": "#2ca02c",  # input gate: green (what is written)
    "g": "#ff7f0e",  # candidate: orange
    "o": "#9467bd",  # output gate: purple
    "c": "#d62728",  # cell state: red
    "h": "#17becf",  # hidden state: cyan
    "m": "#8c564b",  # o·tanh(c) before an LSTMP's projection: brown
    "r": "#e377c2",  # GRU reset gate: pink
    "z": "#bcbd22",  # GRU update gate: olive
    "n": "#ff7f0e",  # GRU candidate: orange, like the LSTM's candidate g
}
GATE_COLORSCALE = "Viridis"  # f, i, o (and r, z) live in [0, 1]
SIGNED_COLORSCALE = "RdBu_r"  # g, c, h (and n) are signed: blue < 0 < red, centred on 0
INPUT_COLORS: tuple[str, ...] = ("#444444", "#8c564b", "#e377c2", "#bcbd22", "#7f7f7f", "#9edae5", "#c49c94", "#f7b6d2")
