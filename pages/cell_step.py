"""One LSTM cell, step by step: every gate's equation with the real numbers, the parity badge, RNNCell vs RNN."""

import numpy as np
import pandas as pd
import streamlit as st
import torch

from lstm_viz import cellstep as cs
from lstm_viz import gradient_figures as gf
from lstm_viz.inputs import example_for, random_input, task_of, typed_input
from lstm_viz.parsing import InputError, parse_int
from lstm_viz.widgets import cached_recording, current_model, show_input_error


@st.cache_data(show_spinner="Comparing with torch.nn.LSTM…", max_entries=32)
def parity_of(model_key: str, x: np.ndarray, _lstm: torch.nn.LSTM) -> cs.Parity:
    return cs.parity(_lstm, torch.from_numpy(x))


def vector(values: np.ndarray, name: str) -> pd.DataFrame:
    return pd.DataFrame({name: values}).rename_axis("k")


def badge(text: str, ok: bool) -> None:
    st.badge(text, icon=":material/check_circle:" if ok else ":material/error:", color="green" if ok else "red")


loaded = current_model()
config = loaded.config
st.title("One LSTM cell, step by step")
st.caption(f"Model: **{loaded.label}** (choose another in the sidebar). Input: one sequence, batch item 0.")

mode = st.segmented_control("Input", ["typed", "random"], default="typed", key="cs_mode", required=True)
try:
    if mode == "typed":
        example = example_for(config)
        box = st.text_area if task_of(config) == "vectors" and config.input_size <= 6 else st.text_input
        inp = typed_input(box("Sequence", example, key=f"cs_text_{config.kind}_{config.input_size}"), config)
    else:
        c1, c2 = st.columns(2)
        length = parse_int(c1.text_input("Length", "8", key="cs_len"), name="Length", minimum=1, maximum=5000)
        inp = random_input(config, length, parse_int(c2.text_input("Seed", "0", key="cs_seed"), name="Seed"))
except InputError as err:
    show_input_error(err)
    inp = None

try:
    lstm = cs.lstm_of(loaded.model)
except ValueError as err:
    st.warning(str(err))
    lstm = None

if inp is not None and lstm is not None:
    rec = cached_recording(loaded, inp.x)
    x_np = inp.x.detach().to("cpu", torch.float32).numpy()
    par = parity_of(loaded.key + str(inp.key()), x_np, lstm)
    verdict = "matches" if par.ok else "DIFFERS FROM"
    badge(f"RecordingLSTM {verdict} torch.nn.LSTM · max |Δ| = {par.max_diff:.1e} ({par.dtype})", par.ok)
    with st.expander("Parity check: output, h_n, c_n vs torch.nn.LSTM (seed 003's torch.allclose, live)"):
        table = pd.DataFrame(par.rows).T.rename(index={"recording": "recorded gates → c, h", "loop": "per-step loop"})
        table["torch.allclose"] = [par.allclose[k] for k in par.rows]
        st.dataframe(table.style.format({k: "{:.2e}" for k in ("output", "h_n", "c_n")}), width="stretch")
        st.caption(f"Max absolute differences; rounding tolerance in {par.dtype}: {par.tolerance:g}.")

    c = st.columns(4)
    T = rec.seq_len
    t = c[0].slider("Time step t", 0, T - 1, min(1, T - 1), key="cs_t") if T > 1 else 0
    layer = c[1].selectbox("Layer", range(rec.num_layers), key="cs_layer") if rec.num_layers > 1 else 0
    direction = c[2].selectbox("Direction", range(rec.num_directions), format_func=["forward", "backward"].__getitem__,
                               key="cs_dir") if rec.num_directions > 1 else 0  # fmt: skip
    unit = c[3].selectbox("Unit j", range(rec.hidden_size), key=f"cs_unit_{rec.hidden_size}")
    step = cs.cell_step(lstm, rec, t, layer, direction)

    st.subheader(f"Inputs of step t = {t}")
    v = st.columns(3)
    prev = "h[t-1]" if direction == 0 else "h[t+1]"
    v[0].dataframe(vector(step.x, "x[t]"), width="stretch", key="cs_x")
    v[1].dataframe(vector(step.h_prev, prev), width="stretch", key="cs_h")
    v[2].dataframe(vector(step.c_prev, prev.replace("h", "c")), width="stretch", key="cs_c")

    st.subheader(f"The gates of unit {unit}, with the numbers substituted")
    for gate in ("f", "i", "g", "o"):
        st.markdown(f"**{cs.GATE_NAMES[gate]}**")
        st.latex(cs.gate_latex(step, gate, unit))
    st.markdown("**cell state and output**")
    st.latex(cs.cell_latex(step, unit))
    if step.w_hr is not None:
        st.latex(cs.projection_latex(step, min(unit, len(step.h) - 1)))
    st.caption(f"Recomputed in float64 from the weights; max |Δ| to the recording: {step.recorded_diff:.1e}.")

    st.subheader("Where the numbers come from: weight_ih = [W_ii | W_if | W_ig | W_io]")
    names = {"ih": "weight_ih (input)", "hh": "weight_hh (recurrent)"}
    which = st.segmented_control("Matrix", list(names), default="ih", format_func=names.get, key="cs_which",
                                 required=True)  # fmt: skip
    split = cs.split_weights(lstm, layer, direction)
    st.plotly_chart(gf.weight_split_figure(split, which, unit), width="stretch", key="cs_split")
    st.caption(cs.split_rows(rec.hidden_size, split[f"W_{which[0]}i"].shape[1], which) + f"; unit {unit} outlined.")
    st.subheader(f"All units at step {t}")
    st.dataframe(pd.DataFrame(cs.step_table(step)).rename_axis("unit"), width="stretch", key="cs_table")

st.header("RNNCell vs RNN (seed 003)")
st.markdown("`RNNCell` is one step; `RNN` is the same cell unrolled over time. Same weights, same input:")
r = st.columns(6)
try:
    sizes = [parse_int(col.text_input(lab, val, key=f"cs_rnn_{lab}"), name=lab, minimum=1, maximum=top)
             for col, lab, val, top in zip(r, ("input_size", "hidden_size", "batch", "steps"), ("10", "20", "3", "6"),
                                           (256, 256, 64, 1000), strict=False)]  # fmt: skip
    seed = parse_int(r[4].text_input("seed", "0", key="cs_rnn_seed"), name="seed", maximum=2**31 - 1)
    dtype = r[5].selectbox("dtype", ["float32", "float64"], key="cs_rnn_dtype")
    run = cs.rnncell_vs_rnn(*sizes, seed=seed, dtype=getattr(torch, dtype))
except InputError as err:
    show_input_error(err, "size")
    run = None
if run is not None:
    badge(f"RNNCell step by step = nn.RNN unrolled, up to {run.dtype} rounding: max |Δ| = {run.max_diff:.1e}", run.ok)
    st.caption(f"torch.allclose (rtol 1e-5, atol 1e-8) says {run.allclose}: the fused RNN adds in another order, "
               "so float32 results differ in the last bits, which fails a relative test where h ≈ 0; in float64 "
               "they agree to ~1e-16.")  # fmt: skip
    shown_t = st.slider("Step shown", 0, run.h_cell.shape[0] - 1, min(2, run.h_cell.shape[0] - 1), key="cs_rnn_t") \
        if run.h_cell.shape[0] > 1 else 0  # fmt: skip
    st.latex(cs.rnn_step_latex(run, t=shown_t))
    left, right = st.columns([1, 1.3])
    left.dataframe(pd.DataFrame(cs.rnn_table(run)), hide_index=True, width="stretch", key="cs_rnn_table")
    right.plotly_chart(gf.rnn_unroll_figure(run), width="stretch", key="cs_rnn_fig")
