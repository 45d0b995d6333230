"""Train post 4's 8-bit subtraction LSTM live: loss and accuracy, errors and RMSE, gates committing, any a - b."""

import functools

import streamlit as st

from lstm_viz.app.ui import ensure_app_shell, number_box, remembered
from lstm_viz.live.figures import gate_saturation, subtraction_live_figures
from lstm_viz.live.ui import (
    epochs_box,
    live_fragment,
    live_run,
    lr_box,
    read_lr,
    run_controls,
    save_and_explore,
    try_subtraction,
)
from lstm_viz.parsing import InputError, parse_int
from lstm_viz.tasks import subtraction
from lstm_viz.training.engine import make_trainer
from lstm_viz.training.live import DETAIL_SECONDS_SUBTRACTION, FineSteps

ensure_app_shell()

SOURCES = {label: source for source, label in subtraction.DATA_LABELS.items()}  # the radio's words → the source
PROBE_SAMPLES = 256  # the fixed test samples on which gate saturation is measured after every epoch
MAX_HIDDEN = 512

st.title("Live training: 8-bit binary subtraction")
st.caption(
    f"From **{subtraction.SUBTRACTION.post}**, one of the tutorial posts lstm-viz rebuilds: the LSTM reads the bits "
    "of a and b, least significant first, and writes the bits of a − b, one per step: `LSTM(2, 32) → Linear(32, 1) "
    "→ sigmoid`, BCE loss, Adam lr 0.01, batch 128, 100 epochs. Learning rate and epochs apply at once, even "
    "mid-run; the rest applies when you press Start."
)
defaults = {"source": next(iter(SOURCES)), "cell": "LSTM", "hidden": "32", "proj": "0", "lr": "0.01",
            "epochs": "100", "seed": str(subtraction.SEED)}  # fmt: skip
remembered("sub", defaults)

data = subtraction.load_data(SOURCES[st.session_state.sub_source])  # the radio below holds the same choice
with st.expander(f"The data: {len(data.x_train):,} train and {len(data.x_test):,} test samples", expanded=False):
    st.radio("Data", list(SOURCES), key="sub_source", horizontal=True)
    c1, c2, c3 = st.columns(3)
    c1.metric("train samples", f"{len(data.x_train):,}")
    c2.metric("test samples", f"{len(data.x_test):,}")
    c3.metric("steps × features", "8 × 2 bits")
    st.dataframe(subtraction.dataset_preview(data.pairs_train, 8), hide_index=True, width="stretch")


def proj_problem(hidden: int, proj: int) -> str | None:
    """What is wrong with this proj_size for this hidden size, or None."""
    if proj < hidden:
        return None
    return (f"proj_size ({proj}) must be smaller than the hidden size ({hidden}), e.g. proj_size 8 with hidden 32; "
            "use 0 for no projection.")  # fmt: skip


def read_sizes() -> tuple[str, int, int, int]:
    """(cell, hidden, proj_size, seed) as typed now, or an InputError naming the setting that is wrong."""
    s = st.session_state
    cell = s.sub_cell
    hidden = parse_int(s.sub_hidden, name="Hidden size", minimum=1, maximum=MAX_HIDDEN)
    proj = parse_int(s.sub_proj, name="proj_size", minimum=0, maximum=MAX_HIDDEN - 1) if cell == "LSTM" else 0
    seed = parse_int(s.sub_seed, name="Random seed", minimum=0, maximum=2**31 - 1)
    if problem := proj_problem(hidden, proj):
        raise InputError(problem)
    return cell, hidden, proj, seed


def factory():
    cell, hidden, proj, seed = read_sizes()
    task = "subtraction-gru" if cell == "GRU" else "subtraction"
    options = dict(preset="seed", hidden_size=hidden, proj_size=proj, lr=read_lr("sub"), seed=seed,
                   data=SOURCES[st.session_state.sub_source])  # fmt: skip
    return functools.partial(make_trainer, task, **options)


def trained_on(trainer) -> subtraction.SubtractionData:
    """The data a run trains on (chosen at its Start): its test split is what its charts score, whatever the Data
    radio says now (load_data is cached: the same object as the page's when they agree)."""
    return subtraction.load_data(trainer.data.source)


def probe(trainer) -> dict:
    model = trainer.model
    probe_x = trained_on(trainer).x_test[:PROBE_SAMPLES]
    return {"saturation": gate_saturation(model.record(probe_x))}  # f, i, o for an LSTM; r, z for a GRU


def test_scores(trainer) -> dict:
    return trainer.evaluate(("test",))  # test bit accuracy and exact match, one batch


# The LSTM learns to borrow inside its first three epochs: the run trains those 8 mini-batches at a time, scored
# after each step, at most 8 steps a second (about 3 s), so that the curves show the climb as it happens.
FINE = FineSteps(score=test_scores, epochs=3, every=8, per_second=8.0)
# Created once per session; Start replaces its factory, learning rate and epochs with the boxes' values.
run = live_run("sub_run", functools.partial(make_trainer, "subtraction", preset="seed"), epochs=100, lr=0.01,
               probe=probe, max_chunk=1, fine=FINE)  # fmt: skip
at_start = "Start is refused until it is fixed."
row = st.container(horizontal=True, vertical_alignment="top", gap="medium")
cell = row.radio("Cell", ["LSTM", "GRU"], key="sub_cell", horizontal=True, width=130)
hidden = number_box("Hidden size", "sub_hidden", lambda t: parse_int(t, name="Hidden size", minimum=1,
                    maximum=MAX_HIDDEN), container=row, keeps=at_start, width=130,
                    help=f"1 to {MAX_HIDDEN}; applies at Start")  # fmt: skip
proj = number_box("proj_size", "sub_proj", lambda t: parse_int(t, name="proj_size", minimum=0,
                  maximum=MAX_HIDDEN - 1), container=row, keeps=at_start, width=130,
                  help="LSTMP: 0 = no projection; must be smaller than the hidden size. A GRU has none.")  # fmt: skip
lr_box(row, run, "sub_run", "sub")
epochs_box(row, run, "sub_run", "sub")
number_box("Random seed", "sub_seed", lambda t: parse_int(t, name="Random seed", minimum=0, maximum=2**31 - 1),
           container=row, keeps=at_start, width=130,
           help=f"draws the initial weights and the shuffling; {subtraction.SEED} starts from post 4's own weights")
if cell == "LSTM" and hidden is not None and proj is not None and (problem := proj_problem(hidden, proj)):
    st.error(f"{problem} {at_start}")
run_controls(run, "sub_run", factory, prefix="sub", more=100)


def figures(run, previous, parts):
    shown = trained_on(run.trainer) if run.trainer is not None else data
    return subtraction_live_figures(run.history, run.probes, run.model, shown.x_test, shown.pairs_test,
                                    previous=previous, parts=parts, steps=run.steps, every=FINE.every,
                                    epoch=run.at if run.model is not None else None)  # fmt: skip


if run.trainer is not None and run.trainer.data.source != data.source:
    names = {v: k for k, v in SOURCES.items()}
    st.caption(f"The model on the page trains on {names[run.trainer.data.source]} and is scored on its test split; "
               f"{names[data.source]} applies at the next Start.")  # fmt: skip


live_fragment(run, "sub", figures, main=("curves",), details=("errors", "saturation"),
              details_every=DETAIL_SECONDS_SUBTRACTION, follow=try_subtraction(run))  # fmt: skip
save_and_explore(run, "sub_run", default_name="subtraction")
