"""Train seed 000's toy LSTM live: the seed's TensorBoard panels, the gates over four days, the twelve weights."""

import functools

import streamlit as st

from lstm_viz.app.ui import ensure_app_shell, remembered
from lstm_viz.live.figures import toy_live_figures
from lstm_viz.live.ui import apply_settings, live_fragment, live_run, run_controls, save_and_explore
from lstm_viz.tasks import STATQUEST, TOY_LSTM
from lstm_viz.training.engine import make_trainer
from lstm_viz.training.live import DETAIL_SECONDS_TOY, MAX_EPOCHS, MAX_LR

ensure_app_shell()

MODELS = {"StatQuest LSTM by hand (12 named weights)": STATQUEST, "nn.LSTM(1, 1)": TOY_LSTM}
# The post's story with its recipe: "mediocre" after 2,000 epochs, "very good" after 3,000 more.
STORY_EPOCHS = {STATQUEST: 2000}


def _recipes(task) -> dict[str, tuple[str, float, int]]:
    """label → (make_trainer preset, learning rate, epochs): the post's recipe first, then the engine's faster one."""
    seed, fast = (task.presets[_name(task)][p] for p in ("seed", "fast"))
    epochs = STORY_EPOCHS.get(task, seed["epochs"])
    more = f" (then {seed['epochs'] - epochs:,} more)" if epochs < seed["epochs"] else ""
    return {
        f"seed 000: Adam lr {seed['lr']:g}, batch {seed['batch_size']}, {epochs:,} epochs{more}":
            ("seed", seed["lr"], epochs),
        f"faster: Adam lr {fast['lr']:g}, full batch, {fast['epochs']:,} epochs": ("fast", fast["lr"], fast["epochs"]),
    }  # fmt: skip


def _name(task) -> str:
    return next(iter(task.training_names))  # each toy model trains under one name


RECIPES = {task: _recipes(task) for task in MODELS.values()}

st.title("Live training: the StatQuest toy LSTM")
st.caption(
    "Seed 000: one LSTM unit reads four days of a company's prices and predicts day 5: Company A "
    "`[0, 0.5, 0.25, 1]` → 0, Company B `[1, 0.5, 0.25, 1]` → 1; the loss is the squared error of the last h. "
    "Learning rate and epochs apply at once, even mid-run; model, recipe and seed when you press Start."
)
# The post's story with its recipe: "mediocre" after 2,000 epochs, "very good" after 3,000 more. Seed 1 tells it
# (A 0.34, B 0.63 → A 0.000, B 0.975); seed 0 stays on the 0.5 plateau even at 5,000 (the post names no seed).
STORY_SEED = 1
first = next(iter(RECIPES[STATQUEST].values()))
remembered("toy", {"model": next(iter(MODELS)), "recipe": next(iter(RECIPES[STATQUEST])),
                   "lr": first[1], "epochs": first[2], "seed": STORY_SEED})  # fmt: skip


def apply_recipe() -> None:
    """A new model or recipe puts its learning rate and epochs into the widgets (and the run)."""
    recipes = RECIPES[MODELS[st.session_state.toy_model]]
    if st.session_state.toy_recipe not in recipes:
        st.session_state.toy_recipe = next(iter(recipes))
    _, st.session_state.toy_lr, st.session_state.toy_epochs = recipes[st.session_state.toy_recipe]
    apply_settings("toy_run", "toy")


c_model, c_recipe, c_lr, c_epochs, c_seed = st.columns([1.6, 2.4, 1, 1, 1])
task = MODELS[c_model.radio("Model", list(MODELS), key="toy_model", on_change=apply_recipe)]
if st.session_state.toy_recipe not in RECIPES[task]:
    st.session_state.toy_recipe = next(iter(RECIPES[task]))
c_recipe.selectbox("Recipe", list(RECIPES[task]), key="toy_recipe", on_change=apply_recipe)
c_lr.number_input("Learning rate", min_value=1e-6, max_value=MAX_LR, format="%g", step=0.001, key="toy_lr",
                  on_change=apply_settings, args=("toy_run", "toy"), help="Adam's; applies at once")  # fmt: skip
c_epochs.number_input("Epochs", min_value=1, max_value=MAX_EPOCHS, step=100, key="toy_epochs",
                      on_change=apply_settings, args=("toy_run", "toy"), help="total epochs of the run")  # fmt: skip
c_seed.number_input("Seed", min_value=0, max_value=2**31 - 1, step=1, key="toy_seed",
                    help="the same seed draws the same initial weights. With the seed recipe, seed 1 retells the post "
                         "(mediocre at 2,000 epochs, very good at 5,000); seed 0 stays stuck near 0.5")  # fmt: skip


def factory():
    s = st.session_state
    preset = RECIPES[MODELS[s.toy_model]][s.toy_recipe][0]
    return functools.partial(make_trainer, _name(MODELS[s.toy_model]), preset=preset, lr=float(s.toy_lr),
                             seed=int(s.toy_seed))  # fmt: skip


def probe(trainer) -> dict:
    named = getattr(trainer.model, "named_weights", None)  # the StatQuest model's twelve scalars
    return named() if named else {}


run = live_run("toy_run", factory(), epochs=int(st.session_state.toy_epochs), lr=float(st.session_state.toy_lr),
               probe=probe)  # fmt: skip
run_controls(run, "toy_run", factory, prefix="toy", more=3000)


def figures(run, previous, parts):
    return toy_live_figures(run.history, run.probes, run.model, previous=previous, parts=parts)


live_fragment(run, "toy", figures, main=("curves",), details=("gates", "weights"), details_every=DETAIL_SECONDS_TOY)
save_and_explore(run, "toy_run", default_name=_name(task))
