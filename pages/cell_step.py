"""One LSTM cell, step by step: every gate's equation with the real numbers, the parity badge, RNNCell vs RNN."""

import streamlit as st

from lstm_viz.app.ui import current_model, ensure_app_shell
from lstm_viz.cell_step import ui as cw
from lstm_viz.core import reference as ref

ensure_app_shell()

loaded = current_model()
st.title("One LSTM cell, step by step")
st.caption(f"Model: **{loaded.label}** (choose another in the sidebar). Input: one sequence, batch item 0.")

inp = cw.input_section(loaded)
try:
    lstm = ref.lstm_of(loaded.model)
except ValueError as err:
    st.warning(str(err))
    lstm = None

if inp is not None and lstm is not None:
    state_seed = cw.state_section()
    rec = cw.recording(loaded, inp, lstm, state_seed)
    cw.parity_section(loaded, inp, lstm, state_seed)
    t, layer, direction, unit = cw.step_controls(rec)
    hx = None if state_seed is None else ref.initial_state(lstm, rec.batch_size, state_seed)
    step = ref.cell_step(lstm, rec, t, layer, direction, hx=hx)
    cw.equations_section(step, unit, inp.step_labels[t] if inp.step_labels else None, inp.feature_names)
    cw.weights_section(lstm, step, unit)

cw.rnn_section()
