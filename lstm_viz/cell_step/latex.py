"""The LaTeX of one cell step: each gate's equation with the real weights and inputs substituted (post 3).

Built from the numbers of :mod:`lstm_viz.core.reference` (:func:`~lstm_viz.core.reference.cell_step`,
:func:`~lstm_viz.core.reference.rnncell_vs_rnn`); pure strings for ``st.latex``.
"""

from __future__ import annotations

import numpy as np

from lstm_viz.core.recording import STORAGE_ORDER
from lstm_viz.core.reference import GATE_NAMES, GATES, CellStep, RnnUnroll

__all__ = ["cell_latex", "gate_latex", "projection_latex", "rnn_step_latex", "split_rows"]

_ACT = {"f": r"\sigma", "i": r"\sigma", "g": r"\tanh", "o": r"\sigma"}


def split_rows(hidden_size: int, columns: int, which: str = "ih") -> str:
    """Which rows of ``weight_ih`` (``weight_hh``) belong to which gate, e.g. ``rows 0–15: W_ii (input gate) · …``."""
    side = "i" if which == "ih" else "h"
    H = hidden_size
    parts = [
        f"rows {n * H}–{(n + 1) * H - 1}: W_{side}{g} ({GATE_NAMES[g]})" for n, g in enumerate(STORAGE_ORDER)
    ]
    return f"weight_{which} has shape ({4 * H}, {columns}) = four ({H}, {columns}) blocks stacked: " + " · ".join(parts)


def _num(v: float, digits: int = 3) -> str:
    """A number for LaTeX: fixed point, a real minus sign, parentheses added by the caller when needed."""
    text = f"{v:.{digits}f}"
    if text.lstrip("-").strip("0.") == "" and v != 0:
        text = f"{v:.{digits}e}"  # tiny but not zero: keep it visible
        mant, exp = text.split("e")
        text = rf"{mant}\times 10^{{{int(exp)}}}"
    return f"{{{text}}}" if v < 0 else text  # braces: a unary minus, never read as "a − b"


def _par(v: float, digits: int = 3) -> str:
    s = _num(v, digits)
    return f"({s})" if v < 0 else s


def _dot_terms(w: np.ndarray, v: np.ndarray, max_terms: int, digits: int) -> str:
    """``w·v`` written out as ``w_0·v_0 + w_1·v_1 + …``: all products up to ``max_terms``, else the first
    ``max_terms - 1`` and a note of how many more there are."""
    n = len(w)
    shown = n if n <= max_terms else max_terms - 1
    terms = [rf"{_par(w[k], digits)}\cdot{_par(v[k], digits)}" for k in range(shown)]
    if shown < n:
        terms.append(rf"\overset{{{n - shown}\text{{ more}}}}{{\cdots}}")
    return " + ".join(terms)


def _affine_latex(
    act: str,
    lhs: str,
    names: tuple[str, str, str, str, str, str],
    rows: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    biases: tuple[float, float],
    max_terms: int,
    digits: int,
) -> tuple[str, float]:
    """``lhs = act(W_x[j,:] x + b_x + W_h[j,:] h + b_h)`` in four aligned lines: symbols, the products of the
    input part (summed under a brace), those of the recurrent part, then the sums, the pre-activation and the
    value. ``names`` = (W_x, x, b_x, W_h, h, b_h) in LaTeX; ``rows`` = (W_x row, x, W_h row, h). Returns
    (latex body without the aligned environment, pre-activation)."""
    Wx, x, bx, Wh, h, bh = names
    wx, xv, wh, hv = rows
    sx, sh = float(wx @ xv), float(wh @ hv)
    pre = sx + biases[0] + sh + biases[1]

    def sign(v: float) -> str:
        return f"- {_num(-v, digits)}" if v < 0 else f"+ {_num(v, digits)}"

    x_part = rf"\underbrace{{{_dot_terms(wx, xv, max_terms, digits)}}}_{{{Wx}\,{x}\,=\,{_num(sx, digits)}}}"
    h_part = rf"\underbrace{{{_dot_terms(wh, hv, max_terms, digits)}}}_{{{Wh}\,{h}\,=\,{_num(sh, digits)}}}"
    body = (
        rf"{lhs} &= {act}\left({Wx}\,{x} + {bx} + {Wh}\,{h} + {bh}\right) \\"
        rf"&= {act}\big(\,{x_part} \underbrace{{{sign(biases[0])}}}_{{{bx}}} \\"
        rf"&\qquad + {h_part} \underbrace{{{sign(biases[1])}}}_{{{bh}}}\,\big) \\"
        rf"&= {act}\left({_num(sx, digits)} {sign(biases[0])} {sign(sh)} {sign(biases[1])}\right)"
        rf" = {act}\left({_num(pre, digits + 1)}\right)"
    )
    return body, pre


def gate_latex(step: CellStep, gate: str, unit: int = 0, max_terms: int = 3, digits: int = 3) -> str:
    """The gate's equation for one unit, then with the numbers substituted, then its value (an ``aligned`` block).

    E.g. ``f_t[0] = σ(W_if[0,:] x_t + b_if[0] + W_hf[0,:] h_{t-1} + b_hf[0])``, then every product
    ``W_if[0,k]·x_t[k]`` (the first ``max_terms - 1`` of a long row), the sums, ``σ(0.41) = 0.60``.
    """
    if gate not in GATES:
        raise ValueError(f"gate must be one of {', '.join(GATES)}, got {gate!r}")
    g = step.gates[gate]
    if not 0 <= unit < len(g.pre):
        raise ValueError(f"unit must be in 0..{len(g.pre) - 1}, got {unit}")
    j = unit
    prev = "h_{t-1}" if step.direction == 0 else "h_{t+1}"
    names = (rf"W_{{i{gate}}}[{j},:]", "x_t", rf"b_{{i{gate}}}[{j}]", rf"W_{{h{gate}}}[{j},:]", prev,
             rf"b_{{h{gate}}}[{j}]")  # fmt: skip
    body, _ = _affine_latex(
        _ACT[gate], f"{gate}_t[{j}]", names, (g.W_x[j], step.x, g.W_h[j], step.h_prev),
        (float(g.b_x[j]), float(g.b_h[j])), max_terms, digits,
    )  # fmt: skip
    return rf"\begin{{aligned}}{body} = \boldsymbol{{{_num(g.value[j], digits + 1)}}}\end{{aligned}}"


def cell_latex(step: CellStep, unit: int = 0, digits: int = 4) -> str:
    """``c_t = f ⊙ c_{t-1} + i ⊙ g`` and ``h_t = o ⊙ tanh(c_t)`` for one unit with the numbers substituted.

    For an LSTMP the last line is ``m_t[j]`` (before the projection ``h_t = W_hr m_t``).
    """
    j = unit
    f, i, g, o = (step.gates[k].value[j] for k in GATES)
    prev = "c_{t-1}" if step.direction == 0 else "c_{t+1}"
    out = "m" if step.w_hr is not None else "h"
    return (
        r"\begin{aligned}"
        rf"c_t[{j}] &= f_t[{j}]\,{prev}[{j}] + i_t[{j}]\,g_t[{j}] "
        rf"= {_par(f, digits)}\cdot{_par(step.c_prev[j], digits)} + {_par(i, digits)}\cdot{_par(g, digits)}"
        rf" = \boldsymbol{{{_num(step.c[j], digits)}}} \\"
        rf"{out}_t[{j}] &= o_t[{j}]\,\tanh(c_t[{j}]) = {_par(o, digits)}\cdot\tanh({_num(step.c[j], digits)})"
        rf" = \boldsymbol{{{_num(step.m[j], digits)}}}"
        r"\end{aligned}"
    )


def projection_latex(step: CellStep, unit: int = 0, max_terms: int = 3, digits: int = 4) -> str:
    """LSTMP only: ``h_t[j] = W_hr[j,:]·m_t`` with the numbers substituted (``""`` for a plain LSTM)."""
    if step.w_hr is None:
        return ""
    j = unit
    return (
        rf"h_t[{j}] = W_{{hr}}[{j},:]\,m_t = {_dot_terms(step.w_hr[j], step.m, max_terms, digits)}"
        rf" = \boldsymbol{{{_num(step.h[j], digits)}}}"
    )




def rnn_step_latex(run: RnnUnroll, t: int, batch: int = 0, unit: int = 0, max_terms: int = 3) -> str:
    """``h_t[j] = tanh(W_ih[j,:] x_t + b_ih[j] + W_hh[j,:] h_{t-1} + b_hh[j])`` with the numbers, by hand, then
    what RNNCell and RNN computed for it."""
    T, B, H = run.h_cell.shape
    for name, value, size in (("t", t, T), ("batch", batch, B), ("unit", unit, H)):
        if not 0 <= value < size:
            raise ValueError(f"{name} must be in 0..{size - 1}, got {value}")
    h_prev = run.h0[batch] if t == 0 else run.h_cell[t - 1, batch]
    j = unit
    prev = f"h_{{{t - 1}}}" if t > 0 else r"h_{\text{init}}"
    names = (rf"W_{{ih}}[{j},:]", f"x_{{{t}}}", rf"b_{{ih}}[{j}]", rf"W_{{hh}}[{j},:]", prev,
             rf"b_{{hh}}[{j}]")  # fmt: skip
    body, pre = _affine_latex(
        r"\tanh", f"h_{{{t}}}[{j}]", names, (run.weight_ih[j], run.x[t, batch], run.weight_hh[j], h_prev),
        (float(run.bias_ih[j]), float(run.bias_hh[j])), max_terms, 3,
    )  # fmt: skip
    return (
        rf"\begin{{aligned}}{body} = \boldsymbol{{{_num(np.tanh(pre), 6)}}} \\"
        rf"&\text{{by hand: }}{_num(np.tanh(pre), 7)},\quad"
        rf"\text{{RNNCell: }}{_num(run.h_cell[t, batch, j], 7)},\quad"
        rf"\text{{RNN: }}{_num(run.h_rnn[t, batch, j], 7)}"
        r"\end{aligned}"
    )
