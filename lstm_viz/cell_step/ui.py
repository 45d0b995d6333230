"""Streamlit sections of the one-cell page (input, parity badge, step controls, equations, RNNCell vs RNN).

Each function draws one section and returns what the page needs next; the numbers come from
:mod:`lstm_viz.core.reference` and :mod:`lstm_viz.cell_step.latex`, the figures from :mod:`lstm_viz.cell_step.figures`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st
import torch
from torch import nn

from lstm_viz.app.inputs import ExplorerInput, example_for, random_input, typed_input
from lstm_viz.app.sources import LoadedModel
from lstm_viz.app.ui import cached_recording, narrow_columns, refuse_input_keeping_last, show_input_error
from lstm_viz.cell_step import figures as cf
from lstm_viz.cell_step import latex
from lstm_viz.core import reference as ref
from lstm_viz.core.device import busy_cpu_threads, torch_threads
from lstm_viz.core.recording import Recording
from lstm_viz.parsing import InputError, parse_int
from lstm_viz.tasks import task_for
from lstm_viz.tasks.posts import post
from lstm_viz.viz.gates import char_label

__all__ = [
    "equations_section",
    "input_section",
    "parity_section",
    "recording",
    "rnn_caption",
    "rnn_section",
    "state_section",
    "step_controls",
    "weights_section",
]


# One sequence is a chain of small per-step kernels: on a CPU busy with other work, one thread is many times faster
# than several waiting for each other at every step (busy_cpu_threads; 300 characters of the text model: 0.03 s on
# one thread, 4.7 s on two, on this 2-core machine under load).


@st.cache_data(show_spinner="Comparing with torch.nn.LSTM…", max_entries=32)
def _parity(model_key: str, x: np.ndarray, state_seed: int | None, _lstm: nn.LSTM) -> ref.Parity:
    hx = None if state_seed is None else ref.initial_state(_lstm, x.shape[0], state_seed)
    with torch_threads(busy_cpu_threads()):
        return ref.parity(_lstm, torch.from_numpy(x), hx)


@st.cache_data(show_spinner="Recording…", max_entries=32)
def _record(model_key: str, x: np.ndarray, state_seed: int, _lstm: nn.LSTM) -> Recording:
    hx = ref.initial_state(_lstm, x.shape[0], state_seed)
    p = _lstm.weight_ih_l0
    x_t = torch.from_numpy(x).to(p.device, p.dtype)
    with torch.no_grad(), torch_threads(busy_cpu_threads()):
        return _lstm.record(x_t if _lstm.batch_first else x_t.transpose(0, 1), hx).to("cpu")


def _vector(values: np.ndarray, name: str, rows: Sequence[str] | None = None) -> pd.DataFrame:
    """One vector as a column; its rows named (``rows``: the input's features) or numbered k."""
    frame = pd.DataFrame({name: values})
    if rows is not None and len(rows) == len(values):
        return frame.set_axis(list(rows)).rename_axis("feature")
    return frame.rename_axis("k")


def _vector_table(column: Any, frame: pd.DataFrame, key: str) -> None:
    """A table of numbers with every value to the same four decimals (not 0.229 beside -0.2254)."""
    formats = {name: st.column_config.NumberColumn(format="%.4f") for name in frame.columns}
    column.dataframe(frame, width="stretch", key=key, column_config=formats)


def badge(text: str, ok: bool) -> None:
    """A green (ok) or red badge."""
    st.badge(text, icon=":material/check_circle:" if ok else ":material/error:", color="green" if ok else "red")


def input_section(loaded: LoadedModel) -> ExplorerInput | None:
    """Typed text that fits the model (toy prices, ``123 - 61``, vectors) or a random sequence. On bad input: the
    message, and the last valid input of this kind of model kept on show (None if there was none yet)."""
    config = loaded.config
    good_key = f"cs_last_good_{config.kind}_{config.input_size}"
    mode = st.segmented_control("Input", ["typed", "random"], default="typed", key="cs_mode", required=True)
    try:
        if mode == "typed":
            task = task_for(config)
            box = st.text_area if task.multiline(config) else st.text_input
            text = box("Sequence", example_for(config), key=f"cs_text_{config.kind}_{config.input_size}",
                       help=task.input_label(config))  # e.g. "One time step per line, 300 numbers per line …"
            inp = typed_input(text, config)
            st.session_state[good_key] = inp
            return inp
        task = task_for(config)
        c1, c2 = st.columns(2)
        fixed, most = task.fixed_steps, task.max_input_steps
        what = "characters (the start of a validation file)" if task.reads_text else "time steps"
        length_text = c1.text_input(
            "Length", str(fixed or 8), key=f"cs_len_{task.kind}", disabled=fixed is not None,
            help=f"this model's inputs always have {fixed} steps" if fixed else f"{what}, 1 to {most:,}",
        )  # fmt: skip
        length = fixed or parse_int(length_text, name="Length", minimum=1, maximum=most)
        seed = parse_int(c2.text_input("Random seed", "0", key="cs_seed", help="0 to 2,147,483,647"),
                         name="Random seed", minimum=0, maximum=2**31 - 1)  # fmt: skip
        inp = random_input(config, length, seed)
    except InputError as err:  # as the Gate Explorer does: the steps below stay, for the input that was fine
        return refuse_input_keeping_last(err, good_key)
    st.session_state[good_key] = inp
    st.caption(f"Drawn: {inp.text}")  # which a − b, which file: the pickers below step through it
    if inp.note:
        st.info(inp.note, icon=":material/content_cut:")
    return inp


def state_section() -> int | None:
    """Zeros (nn.LSTM's default) or post 3's random h0, c0 ~ N(0, 1); returns the random seed of that state."""
    names = {"zeros": "h0 = c0 = 0 (default)", "random": "random h0, c0 ~ N(0, 1), as in post 3"}
    choice = st.segmented_control("Initial state", list(names), default="zeros", format_func=names.get,
                                  key="cs_state", required=True)  # fmt: skip
    return None if choice == "zeros" else 0


def _lstm_input(loaded: LoadedModel, inp: ExplorerInput) -> np.ndarray:
    """What the LSTM itself reads for ``inp``, batch-first float32 on the CPU: for a text model the characters'
    embeddings (``inp.x`` holds their ids), for the others the input as it is."""
    model = loaded.model
    with torch.no_grad():
        x = model.rnn_input(inp.x.to(model.device)) if hasattr(model, "rnn_input") else inp.x
    return x.detach().to("cpu", torch.float32).numpy()


def recording(loaded: LoadedModel, inp: ExplorerInput, lstm: nn.LSTM, state_seed: int | None) -> Recording:
    """The model's recording on ``inp`` from zeros (shared cache) or from the random initial state."""
    if state_seed is None:
        return cached_recording(loaded, inp.x)
    return _record(f"{loaded.key}:{inp.key()}", _lstm_input(loaded, inp), state_seed, lstm)


def parity_section(loaded: LoadedModel, inp: ExplorerInput, lstm: nn.LSTM, state_seed: int | None) -> None:
    """The badge: RecordingLSTM's forward, its recorded gates and a per-step loop vs ``torch.nn.LSTM`` on this input,
    with the table."""
    par = _parity(f"{loaded.key}:{inp.key()}", _lstm_input(loaded, inp), state_seed, lstm)
    verdict = "matches" if par.ok else "DIFFERS FROM"
    if not par.reference_finite:  # an overflow in nn.LSTM itself: there is nothing to compare
        badge(f"torch.nn.LSTM's own output is not finite (inf or NaN) on this input ({par.dtype}): nothing to "
              "compare — the weights or the input are too large", False)  # fmt: skip
    else:
        badge(f"RecordingLSTM {verdict} torch.nn.LSTM · max |Δ| = {par.max_diff:.1e} ({par.dtype})", par.ok)
    with st.expander("Parity check: output, h_n, c_n vs torch.nn.LSTM (post 3's torch.allclose, live)"):
        names = {"forward": "RecordingLSTM.forward", "recording": "recorded gates → c, h", "loop": "per-step loop"}
        table = pd.DataFrame(par.rows).T.rename(index=names)
        table["torch.allclose"] = [par.allclose[k] for k in par.rows]
        st.dataframe(table.style.format({k: "{:.2e}" for k in ("output", "h_n", "c_n")}), width="stretch")
        grows = (f" for {par.steps:,} steps ({par.base_tolerance:g} up to 100, growing with √steps)"
                 if par.steps > 100 else "")  # fmt: skip
        where = " on a CUDA GPU, whose cuDNN rounds more than the CPU" if par.device == "cuda" else ""
        why = ""
        if par.ok and not all(par.allclose.values()):  # a green badge over a False: say why, as the RNN section does
            why = (" torch.allclose (rtol 1e-5, atol 1e-8) says False here and yet the two agree: the fused kernel "
                   "adds in another order, so the last bits differ, and a relative test fails where a value is "
                   "near 0 — post 3's own loop fails it as often. The badge compares with the rounding instead.")
        st.caption(f"Max absolute differences; rounding tolerance in {par.dtype}{where}: {par.tolerance:.2g}{grows}, "
                   f"relative to each value's size above 1. RecordingLSTM.forward runs nn.LSTM's own kernel: 0 is "
                   f"expected there (anything else: it is not a drop-in twin).{why}")  # fmt: skip


def step_controls(rec: Recording) -> tuple[int, int, int, int]:
    """Time step, layer, direction and unit pickers (only those that have a choice): ``(t, layer, dir, unit)``."""
    c = st.columns(4)
    T = rec.seq_len
    t = c[0].slider("Time step t", 0, T - 1, min(1, T - 1), key="cs_t") if T > 1 else 0
    layer = c[1].selectbox("Layer", range(rec.num_layers), key="cs_layer") if rec.num_layers > 1 else 0
    direction = c[2].selectbox("Direction", range(rec.num_directions), format_func=["forward", "backward"].__getitem__,
                               key="cs_dir") if rec.num_directions > 1 else 0  # fmt: skip
    unit = c[3].selectbox("Unit j", range(rec.hidden_size), key=f"cs_unit_{rec.hidden_size}")
    return t, layer, direction, unit


def equations_section(
    step: ref.CellStep, unit: int, char: str | None = None, feature_names: Sequence[str] | None = None
) -> None:
    """x_t, h_{t-1}, c_{t-1} as tables, then each gate's equation for ``unit`` with the numbers, then c and h.
    ``char``: a text model's character at step t (its x_t is that character's embedding); ``feature_names``: the
    input's features, which name x_t's rows in layer 0 (a deeper layer reads the layer below's h)."""
    st.subheader(f"Inputs of step t = {step.t}")
    if char is not None:
        st.caption(f"x[t] is the embedding of the character {char_label(char)!r}: the {len(step.x)} numbers the "
                   "model's embedding layer gives it, which is what the LSTM reads.")  # fmt: skip
    v = st.columns(3)
    prev = "h[t-1]" if step.direction == 0 else "h[t+1]"
    rows = feature_names if step.layer == 0 and char is None else None
    _vector_table(v[0], _vector(step.x, "x[t]", rows), "cs_x")
    _vector_table(v[1], _vector(step.h_prev, prev), "cs_h")
    _vector_table(v[2], _vector(step.c_prev, prev.replace("h", "c")), "cs_c")
    st.subheader(f"The gates of unit {unit}, with the numbers substituted")
    for gate in ref.GATES:
        st.markdown(f"**{ref.GATE_NAMES[gate]}**")
        st.latex(latex.gate_latex(step, gate, unit))
    st.markdown("**cell state and output**")
    st.latex(latex.cell_latex(step, unit))
    if step.w_hr is not None:
        row = min(unit, len(step.h) - 1)
        if row != unit:
            st.caption(f"h has only {len(step.h)} components (proj_size): each mixes every m_t[j] through one row "
                       f"of W_hr; shown for h_t[{row}], the last.")  # fmt: skip
        st.latex(latex.projection_latex(step, row))
    st.caption(f"Recomputed in float64 from the weights; max |Δ| to the recording: {step.recorded_diff:.1e}.")


def weights_section(lstm: nn.LSTM, step: ref.CellStep, unit: int) -> None:
    """The weight_ih (or weight_hh) heatmap split into the four gate blocks, and every unit's numbers at t."""
    header = st.empty()  # the title names the matrix picked below
    names = {"ih": "weight_ih (input)", "hh": "weight_hh (recurrent)"}
    which = st.segmented_control("Matrix", list(names), default="ih", format_func=names.get, key="cs_which",
                                 required=True) or "ih"  # fmt: skip
    side = "i" if which == "ih" else "h"
    blocks = " | ".join(f"W_{side}{g}" for g in "ifgo")
    header.subheader(f"Where the numbers come from: {cf.stored_name(which, step.layer, step.direction)} = [{blocks}]")
    split = ref.split_weights(lstm, step.layer, step.direction)
    figure = cf.weight_split_figure(split, which, unit, layer=step.layer, direction=step.direction,
                                    bidirectional=lstm.bidirectional)  # fmt: skip
    st.plotly_chart(figure, width="stretch", key="cs_split")
    H, cols = split["W_ii"].shape[0], split[f"W_{which[0]}i"].shape[1]
    st.caption(latex.split_rows(H, cols, which) + f"; unit {unit} outlined.")
    st.subheader(f"All units at step {step.t}")
    _vector_table(st, pd.DataFrame(ref.step_table(step)).rename_axis("unit"), "cs_table")
    st.caption("“pre”: a gate before its squashing, W·x[t] + W·h[t-1] + b (its pre-activation); the gate is σ(pre), "
               "or tanh(pre) for g. c_prev is c[t-1]; c and h are this step's.")  # fmt: skip


def rnn_section() -> None:
    """Post 3's RNNCell(10, 20) stepped by hand vs nn.RNN unrolled, sizes and dtype editable."""
    st.header("RNNCell vs RNN")
    st.markdown(f"From **{post(3)}**. `RNNCell` is one step; `RNN` is the same cell unrolled over time. Same "
                "weights, same input:")  # fmt: skip
    r = st.columns(6)
    labels, defaults = ("input_size", "hidden_size", "batch", "steps"), ("10", "20", "3", "6")
    tops = (256, 256, 64, 1000)
    try:
        sizes = [parse_int(col.text_input(lab, val, key=f"cs_rnn_{lab}", help=f"1 to {top:,}"), name=lab, minimum=1,
                           maximum=top)
                 for col, lab, val, top in zip(r, labels, defaults, tops, strict=False)]  # fmt: skip
        seed = parse_int(r[4].text_input("random seed", "0", key="cs_rnn_seed", help="0 to 2,147,483,647"),
                         name="random seed", minimum=0, maximum=2**31 - 1)  # fmt: skip
        dtype = r[5].selectbox("dtype", ["float32", "float64"], key="cs_rnn_dtype")
        run = ref.rnncell_vs_rnn(*sizes, seed=seed, dtype=getattr(torch, dtype))
    except InputError as err:
        show_input_error(err, "setting")
        return
    badge(f"RNNCell step by step = nn.RNN unrolled, up to {run.dtype} rounding: max |Δ| = {run.max_diff:.1e}", run.ok)
    st.caption(rnn_caption(run))
    T = run.h_cell.shape[0]
    shown = st.slider("Step shown", 0, T - 1, min(2, T - 1), key="cs_rnn_t") if T > 1 else 0
    st.latex(latex.rnn_step_latex(run, t=shown))
    left, right = narrow_columns([1, 1.3], key="cs_rnn", narrow="stack")
    left.dataframe(pd.DataFrame(ref.rnn_table(run)), hide_index=True, width="stretch", key="cs_rnn_table",
                   column_config={"max |Δ|": st.column_config.NumberColumn(format="%.1e")})  # 1.8e-07, not 0.0000001
    right.plotly_chart(cf.rnn_unroll_figure(run), width="stretch", key="cs_rnn_fig")
    bi = ref.bidirectional_rnn_by_hand(*sizes, seed=seed, dtype=getattr(torch, dtype))
    st.markdown(f"**Bidirectional, by hand** (post 3's `bidirectional_rnn_forward`): the backward layer is the same "
                f"loop over the input flipped in time, flipped back and put beside the forward layer's output. "
                f"Against `nn.RNN(bidirectional=True)` with the same weights: max |Δ| = "
                f"{max(bi.output_diff, bi.h_n_diff):.1e} (output and h_n), "
                + (f"equal up to {bi.dtype} rounding" if bi.ok else f"**more than {bi.dtype} rounding**")
                + f"; torch.allclose says **{bi.allclose}**"
                + (" (its relative test, as above)." if bi.ok and not bi.allclose else "."))  # fmt: skip


def rnn_caption(run: ref.RnnUnroll) -> str:
    """What ``torch.allclose`` said about this run, and why — only the failure that actually happened."""
    said = f"torch.allclose (rtol 1e-5, atol 1e-8) says **{run.allclose}**"
    if run.allclose:
        if run.max_diff == 0:
            return f"{said}: the two agree exactly, bit for bit, in {run.dtype}."
        return (f"{said}: the fused RNN adds in another order, so the results differ in the last bits "
                f"(max |Δ| = {run.max_diff:.1e}), well within {run.dtype} rounding.")  # fmt: skip
    return (f"{said}, and yet the two agree: the fused RNN adds in another order, so {run.dtype} results differ in "
            "the last bits, and a relative test like allclose's fails where h ≈ 0. The badge compares with "
            f"{run.dtype}'s rounding instead (the dashed line in the chart)"
            + ("; in float64 they agree to ~1e-16." if run.dtype == "float32" else "."))  # fmt: skip
