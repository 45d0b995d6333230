"""Train post 0's toy LSTM live: the post's TensorBoard panels, the gates over four days, the twelve weights."""

import functools

import streamlit as st

from lstm_viz.app.ui import ensure_app_shell, number_box, remembered
from lstm_viz.live.figures import toy_live_figures
from lstm_viz.live.ui import (
    apply_settings,
    epochs_box,
    live_fragment,
    live_run,
    lr_box,
    read_lr,
    run_controls,
    save_and_explore,
)
from lstm_viz.parsing import parse_int
from lstm_viz.tasks import STATQUEST, TOY_LSTM
from lstm_viz.training.engine import make_trainer
from lstm_viz.training.live import DETAIL_SECONDS_TOY, RunState

ensure_app_shell()

MODELS = {"StatQuest LSTM by hand (12 named weights)": STATQUEST, "nn.LSTM(1, 1)": TOY_LSTM}
# The post's story with its recipe: "mediocre" after 2,000 epochs, "very good" after 3,000 more.
STORY_EPOCHS = {STATQUEST: 2000}
# The post's recipe ends in about 3 s at full speed, too fast to watch or pause: by default it is paced.
SPEEDS = {"watch": 100.0, "fast": None}
SPEED_NAMES = {"watch": "watchable (≤ 100 epochs/s)", "fast": "as fast as possible"}


def _recipes(task) -> dict[str, tuple[str, float, int]]:
    """label → (make_trainer preset, learning rate, epochs): the post's recipe first, then the engine's faster one."""
    seed, fast = (task.presets[_name(task)][p] for p in ("seed", "fast"))
    epochs = STORY_EPOCHS.get(task, seed["epochs"])
    more = f" (then {seed['epochs'] - epochs:,} more)" if epochs < seed["epochs"] else ""
    return {
        f"post 0's recipe: Adam lr {seed['lr']:g}, batch {seed['batch_size']}, {epochs:,} epochs{more}":
            ("seed", seed["lr"], epochs),
        f"faster: Adam lr {fast['lr']:g}, full batch, {fast['epochs']:,} epochs": ("fast", fast["lr"], fast["epochs"]),
    }  # fmt: skip


def _name(task) -> str:
    return next(iter(task.training_names))  # each toy model trains under one name


RECIPES = {task: _recipes(task) for task in MODELS.values()}

st.title("Live training: the StatQuest toy LSTM")
st.caption(
    f"From **{STATQUEST.post}**: one LSTM unit reads four days of a company's prices and predicts day 5: Company A "
    "`[0, 0.5, 0.25, 1]` → 0, Company B `[1, 0.5, 0.25, 1]` → 1; the loss is the squared error of the last h. "
    "Time steps count from t = 0, as on every page: t = 0 is day 1, t = 3 is day 4. Learning rate and epochs apply "
    "at once, even mid-run; model, recipe and random seed when you press Start."
)
# The post's story with its recipe: "mediocre" after 2,000 epochs, "very good" after 3,000 more. Random seed 1
# tells it (A 0.34, B 0.62 → A 0.0002, B 0.975); seed 0 stays on the 0.5 plateau even at 5,000 (the post names none).
STORY_SEED = 1
first = next(iter(RECIPES[STATQUEST].values()))
remembered("toy", {"model": next(iter(MODELS)), "recipe": next(iter(RECIPES[STATQUEST])), "lr": f"{first[1]:g}",
                   "epochs": str(first[2]), "seed": str(STORY_SEED), "speed": "watch"})  # fmt: skip


def apply_recipe() -> None:
    """A new model or recipe puts its learning rate and epochs into the boxes, for the next Start; a model already
    on the page keeps its own (they belong to another model or recipe: the "In use" line says what it runs with)."""
    recipes = RECIPES[MODELS[st.session_state.toy_model]]
    if st.session_state.toy_recipe not in recipes:
        st.session_state.toy_recipe = next(iter(recipes))
    _, lr, epochs = recipes[st.session_state.toy_recipe]
    st.session_state.toy_lr, st.session_state.toy_epochs = f"{lr:g}", str(epochs)
    if st.session_state.toy_run.trainer is None:
        apply_settings("toy_run", "toy")


def factory():
    s = st.session_state
    preset = RECIPES[MODELS[s.toy_model]][s.toy_recipe][0]
    seed = parse_int(s.toy_seed, name="Random seed", minimum=0, maximum=2**31 - 1)
    return functools.partial(make_trainer, _name(MODELS[s.toy_model]), preset=preset, lr=read_lr("toy"), seed=seed)


def probe(trainer) -> dict:
    named = getattr(trainer.model, "named_weights", None)  # the StatQuest model's twelve scalars
    return named() if named else {}


# Created once per session; Start replaces its factory, learning rate and epochs with the boxes' values.
run = live_run("toy_run", functools.partial(make_trainer, "toy-statquest", preset="seed", seed=STORY_SEED),
               epochs=first[2], lr=first[1], probe=probe)  # fmt: skip
top = st.container(horizontal=True, vertical_alignment="top", gap="medium")
task = MODELS[top.radio("Model", list(MODELS), key="toy_model", on_change=apply_recipe, width=330)]
if st.session_state.toy_recipe not in RECIPES[task]:
    st.session_state.toy_recipe = next(iter(RECIPES[task]))
top.selectbox("Recipe", list(RECIPES[task]), key="toy_recipe", on_change=apply_recipe, width="stretch")
row = st.container(horizontal=True, vertical_alignment="top", gap="medium")
lr_box(row, run, "toy_run", "toy")
epochs_box(row, run, "toy_run", "toy")
number_box("Random seed", "toy_seed", lambda t: parse_int(t, name="Random seed", minimum=0, maximum=2**31 - 1),
           container=row, keeps="Start is refused until it is fixed.", width=130,
           help="the same random seed draws the same initial weights. With the post's recipe, random seed 1 retells "
                "the post (mediocre at 2,000 epochs, very good at 5,000); 0 stays stuck near 0.5")  # fmt: skip
speed = row.segmented_control("Speed", list(SPEED_NAMES), format_func=SPEED_NAMES.get, key="toy_speed",
                              required=True, help="watchable: the post's 2,000 epochs take about 20 s, so you can "
                              "pause and look; as fast as possible: about 3 s")  # fmt: skip
run.set_pace(SPEEDS[speed or "watch"])
run_controls(run, "toy_run", factory, prefix="toy", more=3000,
             more_help="post 0 went on from 2,000 to 5,000: 3,000 more")  # fmt: skip
story = STORY_EPOCHS.get(task)
post_recipe = run.trainer is not None and run.trainer.preset == "seed"
if run.state is RunState.FINISHED and post_recipe and run.epoch == story and run.history:  # the post's first half
    last = run.history[-1]
    st.info(f"Half of post 0's story: after {story:,} epochs the post's model was still mediocre, and this one "
            f"predicts {last['out_0']:.2f} for Company A (target 0) and {last['out_1']:.2f} for B (target 1). Press "
            "**Continue 3,000 more** (the box *more epochs*) to train the post's other 3,000 epochs.",
            icon=":material/hourglass_top:")


def figures(run, previous, parts):
    return toy_live_figures(run.history, run.probes, run.model, previous=previous, parts=parts, at=run.at)


live_fragment(run, "toy", figures, main=("curves",), details=("gates", "weights"), details_every=DETAIL_SECONDS_TOY)
save_and_explore(run, "toy_run", default_name=_name(task))
