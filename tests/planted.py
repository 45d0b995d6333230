"""A character model with two cells planted by hand, for the cell finder's tests.

Layer 0, unit ``BRACKETS``: its cell state counts open brackets. The embedding's component 0 is +1 for ( [ {,
−1 for ) ] } and 0 otherwise; the unit's forget and input gates are always open (bias +30), its candidate is
g = tanh(10 · e0) ≈ ±1 at a bracket and 0 elsewhere, so c_t = c_{t−1} + g_t is the bracket depth.

Layer 0, unit ``QUOTES``: a flip-flop that is high inside double-quoted strings. Component 1 is 1 for '"'. At a
quote the forget gate closes and the input gate opens (f = σ(20 − 40·e1), i = σ(−20 + 40·e1)), and the candidate
g = tanh(−5·h_{t−1} + 2) is +1 when the unit was low (outside) and −1 when it was high (inside): c flips between
about −1 and +1 at every quote and holds in between. Its output gate is open, so h = tanh(c).

Every other weight of those two units is 0; the rest of the model is randomly initialised (seeded).
"""

from __future__ import annotations

import torch

from lstm_viz.tasks import ModelConfig, build_model
from lstm_viz.tasks.charlm.data import VOCAB

__all__ = ["BRACKETS", "QUOTES", "SNIPPET", "planted_model"]

BRACKETS, QUOTES = 3, 7
SNIPPET = '''def f(a, b=(1, 2)):
    # a comment without quotes
    x = [a, {"k": (b, [3])}]
    return g("one", h(x, "two"), [[4]])


print(f(1), "end")
'''


def planted_model(hidden: int = 16, embed: int = 8, layers: int = 2, seed: int = 0):
    torch.manual_seed(seed)
    model = build_model(ModelConfig.default("charlm", hidden_size=hidden, input_size=embed, num_layers=layers))
    H = hidden
    lstm = model.lstm
    with torch.no_grad():
        e = model.embed.weight
        e[:, 0:2] = 0.0
        for ch in "([{":
            e[VOCAB.index(ch), 0] = 1.0
        for ch in ")]}":
            e[VOCAB.index(ch), 0] = -1.0
        e[VOCAB.index('"'), 1] = 1.0
        w_ih, w_hh, b_ih, b_hh = lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0
        rows = {g: slice(k * H, (k + 1) * H) for k, g in enumerate("ifgo")}  # storage order i, f, g, o
        for unit in (BRACKETS, QUOTES):
            for g in "ifgo":
                r = rows[g].start + unit
                w_ih[r] = 0.0
                w_hh[r] = 0.0
                b_ih[r] = 0.0
                b_hh[r] = 0.0
        # brackets: f = i = o = 1, g = tanh(10 e0)
        for g in "ifo":
            b_ih[rows[g].start + BRACKETS] = 30.0
        w_ih[rows["g"].start + BRACKETS, 0] = 10.0
        # quotes: a flip-flop on '"'
        b_ih[rows["f"].start + QUOTES] = 20.0
        w_ih[rows["f"].start + QUOTES, 1] = -40.0
        b_ih[rows["i"].start + QUOTES] = -20.0
        w_ih[rows["i"].start + QUOTES, 1] = 40.0
        b_ih[rows["o"].start + QUOTES] = 30.0
        w_hh[rows["g"].start + QUOTES, QUOTES] = -5.0
        b_ih[rows["g"].start + QUOTES] = 2.0
    return model.eval()
