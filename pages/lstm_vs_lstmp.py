"""LSTM vs LSTMP: what the projection costs and saves — shapes, parameters, compute, latency, training, sweep."""

import streamlit as st

from lstm_viz.app.ui import ensure_app_shell
from lstm_viz.lstmp import ui as cw

ensure_app_shell()
st.title("LSTM vs LSTMP")
st.markdown(
    "An **LSTMP** (`nn.LSTM(..., proj_size=P)`, from post 3) projects h to P < hidden_size dimensions at every step "
    "with a new matrix `weight_hr`, while the cell state c keeps hidden_size. `weight_hh` then reads the small h, "
    "so it shrinks from `(4H, H)` to `(4H, P)`. Everything below is measured on real modules."
)
spec = cw.size_inputs()
cost, train, same_input, sweep = st.tabs(
    ["Shapes & cost", "Train both live", "Same input, side by side", "proj_size sweep"]
)
with cost:
    cw.cost_section(spec)
with train:
    cw.train_section(spec)
with same_input:
    cw.input_section(spec)
with sweep:
    cw.sweep_section()
