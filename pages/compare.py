"""LSTM vs LSTMP: what the projection costs and saves — shapes, parameters, compute, latency, training, sweep."""

import streamlit as st

from lstm_viz import compare
from lstm_viz import compare_figures as cf

SIZE_KEYS = ("cmp_input", "cmp_hidden", "cmp_proj", "cmp_layers")
PRESETS = {
    "Seed 004 subtraction (I 2, H 32, P 8)": ("2", "32", "8", "1"),
    "Seed 003 example (I 4, H 5, P 3)": ("4", "5", "3", "1"),
}


def use_preset(values: tuple[str, ...]) -> None:
    for key, value in zip(SIZE_KEYS, values, strict=True):
        st.session_state[key] = value


for key, value in zip(SIZE_KEYS, next(iter(PRESETS.values())), strict=True):
    st.session_state.setdefault(key, value)

st.title("LSTM vs LSTMP")
st.markdown(
    "An **LSTMP** (`nn.LSTM(..., proj_size=P)`, seed 003) projects h to P < hidden_size dimensions at every step "
    "with a new matrix `weight_hr`, while the cell state c keeps hidden_size. `weight_hh` then reads the small h, "
    "so it shrinks from `(4H, H)` to `(4H, P)`. Everything below is measured on real modules."
)
cols = st.columns([1, 1, 1, 1, 1])
labels = ("input_size", "hidden_size", "proj_size (LSTMP)", "num_layers")
sizes = [col.text_input(label, key=key) for col, label, key in zip(cols, labels, SIZE_KEYS, strict=False)]
bidirectional = cols[4].checkbox("bidirectional", key="cmp_bidir")
preset_cols = st.columns([1] * len(PRESETS) + [3])
for col, (name, values) in zip(preset_cols, PRESETS.items(), strict=False):
    col.button(name, on_click=use_preset, args=(values,), key=f"cmp_preset_{name[:8]}", width="stretch")

try:
    spec = compare.validate_pair(*sizes, bidirectional=bidirectional)
except ValueError as err:
    st.error(f"These sizes cannot be compared: {err}")
    spec = None

if spec is not None:
    if st.session_state.get("cmp_pair_spec") != spec:
        st.session_state["cmp_pair"] = compare.build_pair(spec)
        st.session_state["cmp_pair_spec"] = spec
    lstm, lstmp = st.session_state["cmp_pair"]
    st.caption(f"Left: `{spec.describe('LSTM')}` · right: `{spec.describe('LSTMP')}` · both `batch_first=True`.")

    st.subheader("Parameters, read off `named_parameters()`")
    table = compare.compare_parameters(lstm, lstmp)
    left, right = st.columns([1.1, 1])
    left.dataframe(table, hide_index=True, width="stretch", key="cmp_param_table")
    right.plotly_chart(cf.parameter_figure(table), width="stretch", key="cmp_param_fig")

    st.subheader("Compute, state sizes and latency")
    c1, c2, c3 = st.columns(3)
    lat_inputs = (
        c1.text_input("batch", "1", key="cmp_lat_batch"),
        c2.text_input("sequence length T", "64", key="cmp_lat_T"),
        c3.text_input("timed runs", "30", key="cmp_lat_runs"),
    )
    try:
        batch, steps, runs = compare.check_latency_work((lstm, lstmp), *lat_inputs)
    except ValueError as err:
        st.error(f"Cannot time this: {err}")
        batch, steps, runs = None, None, None
    latency = None
    if batch is not None:
        wanted = (spec, batch, steps, runs)
        if st.session_state.get("cmp_latency_key") != wanted or st.button("Measure again", key="cmp_lat_again"):
            with st.spinner("Timing forward passes…"):
                st.session_state["cmp_latency"] = compare.measure_latency((lstm, lstmp), batch, steps, runs)
            st.session_state["cmp_latency_key"] = wanted
        latency = st.session_state["cmp_latency"]
    left, right = st.columns([1.1, 1])
    summary = compare.summary_table(lstm, lstmp, batch or 2, steps or 3, latency)
    left.dataframe(summary, hide_index=True, width="stretch", key="cmp_summary")
    left.caption(
        "Multiply-adds per time step of one sequence: each weight matrix (rows × cols) once, plus the cell's "
        "three element-wise products (f·c, i·g, o·tanh c). Shapes come from a real forward pass."
    )
    if latency is not None:
        right.plotly_chart(cf.latency_figure(latency), width="stretch", key="cmp_latency_fig")
        right.caption(" · ".join(f"{n}: {lat.label()}" for n, lat in zip(compare.MODEL_NAMES, latency, strict=True)))
        note = compare.kernel_note(latency[0].device)
        if note:
            right.info(note)
