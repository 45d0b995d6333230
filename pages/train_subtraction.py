"""Train seed 004's 8-bit subtraction LSTM live: loss and accuracy, errors and RMSE, gates committing, any a - b."""

import functools

import streamlit as st

from lstm_viz.app.ui import ensure_app_shell, remembered
from lstm_viz.live.figures import dataset_preview, gate_saturation, subtraction_live_figures
from lstm_viz.live.ui import (
    apply_settings,
    live_fragment,
    live_run,
    run_controls,
    save_and_explore,
    try_subtraction,
)
from lstm_viz.tasks import subtraction
from lstm_viz.training.engine import make_trainer
from lstm_viz.training.live import DETAIL_SECONDS_SUBTRACTION, MAX_EPOCHS, MAX_LR

ensure_app_shell()

SOURCES = {"seed 004's 10,000 samples": "seed", "every pair 0 ≤ b ≤ a ≤ 255": "all"}
PROBE_SAMPLES = 256  # the fixed test samples on which gate saturation is measured after every epoch

st.title("Live training: 8-bit binary subtraction")
st.caption(
    "Seed 004: the LSTM reads the bits of a and b, least significant first, and writes the bits of a − b, "
    "one per step: `LSTM(2, 32) → Linear(32, 1) → sigmoid`, BCE loss, Adam lr 0.01, batch 128, 100 epochs. "
    "Learning rate and epochs apply at once, even mid-run; the rest applies when you press Start."
)
defaults = {"source": next(iter(SOURCES)), "cell": "LSTM", "hidden": 32, "proj": 0, "lr": 0.01, "epochs": 100,
            "seed": subtraction.SEED}  # fmt: skip
saved = remembered("sub", defaults)

data = subtraction.load_data(SOURCES[st.session_state.sub_source])  # the radio below holds the same choice
with st.expander(f"The data: {len(data.x_train):,} train and {len(data.x_test):,} test samples", expanded=False):
    st.radio("Data", list(SOURCES), key="sub_source", horizontal=True)
    c1, c2, c3 = st.columns(3)
    c1.metric("train samples", f"{len(data.x_train):,}")
    c2.metric("test samples", f"{len(data.x_test):,}")
    c3.metric("steps × features", "8 × 2 bits")
    st.dataframe(dataset_preview(data.pairs_train, 8), hide_index=True, width="stretch")

c_cell, c_hidden, c_proj, c_lr, c_epochs, c_seed = st.columns(6)
cell = c_cell.radio("Cell", ["LSTM", "GRU"], key="sub_cell", horizontal=True)
hidden = c_hidden.number_input("Hidden size", min_value=1, max_value=512, step=1, key="sub_hidden")
proj = c_proj.number_input("proj_size (LSTMP)", min_value=0, max_value=511, step=1, key="sub_proj",
                           disabled=cell == "GRU", help="0 = none; must be smaller than the hidden size")  # fmt: skip
c_lr.number_input("Learning rate", min_value=1e-6, max_value=MAX_LR, format="%g", step=0.001, key="sub_lr",
                  on_change=apply_settings, args=("sub_run", "sub"))  # fmt: skip
c_epochs.number_input("Epochs", min_value=1, max_value=MAX_EPOCHS, step=10, key="sub_epochs",
                      on_change=apply_settings, args=("sub_run", "sub"))  # fmt: skip
c_seed.number_input("Seed", min_value=0, max_value=2**31 - 1, step=1, key="sub_seed")
if cell == "LSTM" and proj >= hidden:
    st.error(f"proj_size ({proj}) must be smaller than the hidden size ({hidden}), e.g. proj_size 8 with hidden 32; "
             "use 0 for no projection.")  # fmt: skip


def factory():
    s = st.session_state
    task = "subtraction-gru" if s.sub_cell == "GRU" else "subtraction"
    options = dict(
        preset="seed",
        hidden_size=int(s.sub_hidden),
        proj_size=int(s.sub_proj) if s.sub_cell == "LSTM" else 0,  # a GRU has no projection
        lr=float(s.sub_lr),
        seed=int(s.sub_seed),
        data=SOURCES[s.sub_source],
    )
    return functools.partial(make_trainer, task, **options)


probe_x = data.x_test[:PROBE_SAMPLES]


def probe(trainer) -> dict:
    model = trainer.model
    return {"saturation": gate_saturation(model.record(probe_x))} if model.recordable else {}


run = live_run("sub_run", factory(), epochs=int(saved["epochs"]), lr=float(saved["lr"]), probe=probe, max_chunk=1)
run_controls(run, "sub_run", factory, prefix="sub")


def figures(run, previous, parts):
    return subtraction_live_figures(
        run.history, run.probes, run.model, data.x_test, data.pairs_test, previous=previous, parts=parts
    )


live_fragment(run, "sub", figures, main=("curves",), details=("errors", "saturation"),
              details_every=DETAIL_SECONDS_SUBTRACTION)
try_subtraction(run)
save_and_explore(run, "sub_run", default_name="subtraction")
