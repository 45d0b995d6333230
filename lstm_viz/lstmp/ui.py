"""Streamlit sections of the LSTM vs LSTMP page (pages/lstm_vs_lstmp.py): sizes, cost, live training, same input, sweep.

Each ``*_section`` draws one tab from the logic in :mod:`lstm_viz.lstmp` and the figures in
:mod:`lstm_viz.lstmp.figures`; state lives in ``st.session_state`` under ``cmp_*`` keys (the paired run under
``cmp_run``), so other tabs and pages keep theirs.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lstm_viz import lstmp as logic
from lstm_viz.app.ui import narrow_columns, remembered
from lstm_viz.lstmp import figures as cf
from lstm_viz.paths import SWEEP_FILE
from lstm_viz.training.live import TICK_SECONDS
from lstm_viz.viz.gates import gate_heatmaps, panels_of, shared_ranges
from lstm_viz.viz.history import thin_each

__all__ = ["cost_section", "input_section", "size_inputs", "sweep_section", "train_section"]

SIZE_KEYS = ("cmp_input", "cmp_hidden", "cmp_proj", "cmp_layers")
PERCENT = st.column_config.NumberColumn(format="percent")
PRESETS = {  # short labels: a button never wraps, and a quarter of a 1,024-px window holds about 16 characters
    "post 4: 2, 32, 8": ("2", "32", "8", "1"),
    "post 3: 4, 5, 3": ("4", "5", "3", "1"),
}
DEFAULTS = {"bidir": False, "lat_batch": "1", "lat_T": "64", "lat_runs": "30", "epochs": "20", "lr": "0.01",
            "seed": "822", "text": "123 - 61"}  # fmt: skip


@st.cache_data(show_spinner=False, max_entries=500)
def cached_sweep_point(hidden: int, proj: int, epochs: int, seed: int, lr: float, data: str) -> dict:
    return logic.sweep_point(hidden, proj, epochs, seed, lr, data)


@st.cache_resource(show_spinner=False)
def shipped_models() -> dict:  # read-only shipped weights, shared by all sessions
    return logic.shipped_pair(SWEEP_FILE.parent)


def start_pair() -> None:  # reads the widgets' values as they are at the click
    state = st.session_state
    try:
        spec = logic.validate_pair(*(state[key] for key in SIZE_KEYS), bidirectional=state["cmp_bidir"])
        logic.check_trainable(spec)
        train = logic.parse_train_settings(state["cmp_epochs"], state["cmp_lr"], state["cmp_seed"])
        settings = logic.TrainSettings.from_spec(spec, **train)
    except ValueError as err:
        st.session_state["cmp_train_error"] = str(err)
        return
    st.session_state["cmp_run"] = logic.PairedRun(settings)
    st.session_state["cmp_run"].start()


def use_preset(values: tuple[str, ...]) -> None:
    """Button callback: fill the size boxes with a preset."""
    for key, value in zip(SIZE_KEYS, values, strict=True):
        st.session_state[key] = value


def size_inputs() -> logic.PairSpec | None:
    """The sizes of both models (text boxes, presets); the validated pair, or None after an error box."""
    remembered("cmp", {key[4:]: value for key, value in zip(SIZE_KEYS, next(iter(PRESETS.values())), strict=True)})
    remembered("cmp", DEFAULTS)
    cols = narrow_columns([1, 1, 1, 1, 1], key="cmp_sizes")
    labels = ("input_size", "hidden_size", "proj_size (LSTMP)", "num_layers")
    sizes = [col.text_input(label, key=key) for col, label, key in zip(cols, labels, SIZE_KEYS, strict=False)]
    bidirectional = cols[4].checkbox("bidirectional", key="cmp_bidir")
    preset_cols = narrow_columns([1] * len(PRESETS) + [2], key="cmp_presets")
    for col, (name, values) in zip(preset_cols, PRESETS.items(), strict=False):
        col.button(name, on_click=use_preset, args=(values,), key=f"cmp_preset_{name[:8]}", width="stretch",
                   help=f"{name.split(':')[0]}'s sizes: input {values[0]}, hidden {values[1]}, proj {values[2]}")
    try:
        return logic.validate_pair(*sizes, bidirectional=bidirectional)
    except ValueError as err:
        st.error(f"These sizes cannot be compared: {str(err)[:1].lower()}{str(err)[1:]}")
        return None


def cost_section(spec: logic.PairSpec | None) -> None:
    """Parameter table and bars, multiply-adds, state sizes and the latency of both models."""
    c1, c2, c3, c4 = narrow_columns([1, 1, 1, 1], key="cmp_latency", vertical_alignment="bottom")
    lat_inputs = (
        c1.text_input("latency: batch", key="cmp_lat_batch"),
        c2.text_input("latency: sequence length T", key="cmp_lat_T"),
        c3.text_input("latency: timed runs", key="cmp_lat_runs"),
    )
    again = c4.button("Measure again", key="cmp_lat_again", help="time both forward passes again")
    if spec is None:
        st.info("Fix the sizes above to see the shapes, parameter counts and latency.")
    else:
        if st.session_state.get("cmp_pair_spec") != spec:
            st.session_state["cmp_pair"] = logic.build_pair(spec)
            st.session_state["cmp_pair_spec"] = spec
        lstm, lstmp = st.session_state["cmp_pair"]
        st.caption(f"Left: `{spec.describe('LSTM')}` · right: `{spec.describe('LSTMP')}` · `batch_first=True`.")
        table = logic.compare_parameters(lstm, lstmp)
        # One under the other: beside its chart, the table's last column ("change", the one that answers the page's
        # question) was cut off at 1,280 px and below
        st.markdown("**Parameters, read off `named_parameters()`**")
        st.dataframe(table, hide_index=True, width="stretch", key="cmp_param_table")
        st.plotly_chart(cf.parameter_figure(table), width="stretch", key="cmp_param_fig")
        try:
            batch, steps, runs = logic.check_latency_work((lstm, lstmp), *lat_inputs)
        except ValueError as err:
            st.error(f"Cannot time this: {err}")
            batch = steps = runs = None
        latency = None
        if batch is not None:
            wanted = (spec, batch, steps, runs)
            if again or st.session_state.get("cmp_latency_key") != wanted:
                with st.spinner("Timing forward passes…"):
                    st.session_state["cmp_latency"] = logic.measure_latency(
                        (lstm, lstmp), batch, steps, runs, max_seconds=logic.LATENCY_SECONDS
                    )
                st.session_state["cmp_latency_key"] = wanted
            latency = st.session_state["cmp_latency"]
        left, right = narrow_columns([1.45, 1], key="cmp_compute", narrow="stack")
        left.markdown("**Compute, state sizes and latency**")
        summary = logic.summary_table(lstm, lstmp, batch or 2, steps or 3, latency)
        left.dataframe(summary, hide_index=True, width="stretch", key="cmp_summary")
        left.caption(
            "Multiply-adds per time step of one sequence: each weight matrix (rows × cols) once, plus the "
            "cell's three element-wise products (f·c, i·g, o·tanh c). Shapes come from a real forward pass."
        )
        if latency is not None:
            right.plotly_chart(cf.latency_figure(latency), width="stretch", key="cmp_latency_fig")
            labels = (f"{n}: {lat.label()}" for n, lat in zip(logic.MODEL_NAMES, latency, strict=True))
            right.caption(" · ".join(labels))
            if note := logic.kernel_note(latency[0].device):
                right.info(note)


def train_section(spec: logic.PairSpec | None) -> None:
    """Train both on the subtraction task, live: controls, progress, curves, final table."""
    st.markdown(
        "Both models learn post 4's 8-bit subtraction (input_size is the task's: 2 bits per step) from the same "
        "data, seed and learning rate, one epoch each in turn; only proj_size differs."
    )
    c1, c2, c3, c4 = narrow_columns([1, 1, 1, 3], key="cmp_train", vertical_alignment="bottom")
    c1.text_input("epochs", key="cmp_epochs")
    c2.text_input("learning rate", key="cmp_lr")
    c3.text_input("random seed", key="cmp_seed", help="draws the initial weights and the shuffling (822: post 4's "
                  "initial weights; the batches are this page's own shuffle)")
    pair = st.session_state.get("cmp_run")
    state = None if pair is None else pair.state
    try:  # checked as typed, not only at Start: a bad box says so at once
        logic.parse_train_settings(st.session_state["cmp_epochs"], st.session_state["cmp_lr"],
                                   st.session_state["cmp_seed"])  # fmt: skip
        settings_error = None
    except ValueError as err:
        settings_error = str(err)
    row = c4.container(horizontal=True)  # buttons as wide as their labels, onto a second row if c4 is narrow
    row.button("Start" if pair is None else "Start over", type="primary", key="cmp_start",
               disabled=spec is None or settings_error is not None, on_click=start_pair)  # fmt: skip
    running = state is logic.RunState.RUNNING
    row.button("Pause" if running else "Resume", key="cmp_pause",
               disabled=state not in (logic.RunState.RUNNING, logic.RunState.PAUSED),
               on_click=pair.pause if running else pair.resume if pair else None)  # fmt: skip
    row.button("+10 epochs", key="cmp_more", disabled=pair is None or running,
               on_click=pair.continue_for if pair else None, args=(10,))  # fmt: skip
    row.button("Reset", key="cmp_reset", disabled=pair is None,
               on_click=st.session_state.pop, args=("cmp_run", None))  # fmt: skip
    if settings_error is not None:
        st.session_state.pop("cmp_train_error", None)
        kept = " The pair trained below is kept." if pair is not None else ""
        st.error(f"{settings_error.rstrip('.')}. Start is refused until it is fixed.{kept}")
    elif message := st.session_state.pop("cmp_train_error", None):
        st.error(f"Cannot start: {message}")
    if pair is None:
        st.info("Press Start to train the LSTM and the LSTMP of the sizes above side by side.")
    else:
        ts = pair.settings
        bidir = ", bidirectional" if ts.bidirectional else ""
        st.caption(f"Training H {ts.hidden_size}, P {ts.proj_size}, {ts.num_layers} layer(s){bidir}, random seed "
                   f"{ts.seed}, lr {ts.lr:g}, {pair.target:,} epochs, data: post 4's 9,000/1,000 split.")  # fmt: skip

        @st.fragment(run_every=TICK_SECONDS if pair.running else None)
        def live(run: logic.PairedRun) -> None:  # a few epochs per tick, then redraw; clicks stop it
            was_running = run.running
            run.tick()
            progress = run.progress()
            st.progress(progress.fraction, text=progress.label())
            if run.error:
                st.error(run.error)
            history = thin_each(run.history_frame(), "model")
            left, right = st.columns(2)
            with run.threads():
                for col, x in ((left, "epoch"), (right, "seconds")):
                    col.plotly_chart(cf.training_figure(history, x=x), width="stretch", key=f"cmp_curve_{x}")
                final = run.final_table()
            if len(final):
                percent = ("test bit accuracy", "test exact match", "train exact match (running)")
                st.dataframe(final, hide_index=True, width="stretch", key="cmp_final",
                             column_config=dict.fromkeys(percent, PERCENT))  # fmt: skip
            if was_running and not run.running:
                st.rerun(scope="app")  # the buttons follow the finished run

        live(pair)


def input_section(spec: logic.PairSpec | None) -> None:
    """One typed a − b through both models: answers, gate heatmaps side by side, projection."""
    pair = st.session_state.get("cmp_run")
    sources = (["trained on this page"] if pair is not None and pair.epoch > 0 else []) + [
        "shipped checkpoints", "untrained, sizes above"]  # fmt: skip
    c1, c2 = st.columns([1, 2])
    text = c1.text_input("a − b, typed once, fed to both models", key="cmp_text")
    source = c2.radio("models", sources, horizontal=True, key="cmp_source")
    models = None
    try:
        if source == "trained on this page":
            models = pair.models()
            st.caption(f"The pair trained in 'Train both live', at epoch {pair.epoch:,}.")
        elif source == "shipped checkpoints":
            models = shipped_models()
            st.caption("`models/subtraction_lstm.pt` and `models/subtraction_lstmp.pt` (proj_size 8): both answer "
                       "every 8-bit a − b (see models/README.md).")  # fmt: skip
        elif spec is not None:
            models = logic.fresh_task_pair(spec)
            st.caption("Random weights (seed 0), nothing learned yet: train them in 'Train both live'.")
        else:
            st.info("Fix the sizes above to build the untrained pair.")
    except ValueError as err:
        st.error(f"These models cannot be used: {err}")
    if models is not None:
        try:
            shown = logic.side_by_side(models, text)
        except ValueError as err:
            st.error(f"This input cannot be used: {err}")
        else:
            panels = panels_of(shown["LSTMP"].recording)
            layer, direction = panels[0]
            if len(panels) > 1:
                layer, direction = st.selectbox("layer and direction", panels, key="cmp_panel",
                                                format_func=lambda p: f"layer {p[0]} {p[1]}")  # fmt: skip
            sides = narrow_columns(2, key="cmp_sides", narrow="stack")  # each answer above its own heatmaps
            ranges = shared_ranges([side.recording for side in shown.values()], layer, direction)  # one c scale
            for col, (name, side) in zip(sides, shown.items(), strict=True):
                (col.success if side.answer.correct else col.warning)(f"**{name}**: {side.answer.summary}")
                fig = gate_heatmaps(side.recording, panels=[(layer, direction)], feature_names=side.feature_names,
                                    title=f"{name}: {side.describe}", ranges=ranges)  # fmt: skip
                col.plotly_chart(fig, width="stretch", key=f"cmp_gates_{name}")
            proj = logic.projection_arrays(models["LSTMP"], shown["LSTMP"].recording, layer, direction)
            st.plotly_chart(cf.projection_figure(*proj, title=f"LSTMP layer {layer} {direction}: h = W_hr m "
                            f"for {text.strip()}"), width="stretch", key="cmp_projection")  # fmt: skip


def sweep_section() -> None:
    """The proj_size sweep: shipped results at once, a new sweep on demand (cached per run)."""
    try:
        shipped_plan, shipped = logic.load_sweep(SWEEP_FILE)
        shipped = shipped.assign(source="shipped")
    except ValueError as err:
        st.warning(str(err))
        shipped_plan, shipped = None, None
    base = shipped_plan or logic.SweepPlan(**{**logic.SWEEP_DEFAULTS})
    remembered("cmp_sw", {"hidden": str(base.hidden_size), "projs": ", ".join(map(str, base.proj_sizes)),
                          "epochs": str(base.epochs), "seeds": ", ".join(map(str, base.seeds))})  # fmt: skip
    c1, c2, c3, c4 = narrow_columns([1.3, 2, 1.1, 1.4], key="cmp_sweep", vertical_alignment="bottom")
    sweep_inputs = (
        c1.text_input("sweep: hidden_size", key="cmp_sw_hidden"),
        c2.text_input("proj_sizes", key="cmp_sw_projs", help="0, the plain LSTM, is always included"),
        c3.text_input("epochs (budget)", key="cmp_sw_epochs"),
        c4.text_input("random seeds", key="cmp_sw_seeds"),
    )
    run_sweep = st.button("Run sweep", key="cmp_sw_run", type="primary")  # under the boxes: whole at any width
    try:
        plan = logic.plan_sweep(*sweep_inputs)
    except ValueError as err:
        st.error(f"This sweep cannot run: {err}")
        plan = None
    results = st.session_state.get("cmp_sweep")
    if run_sweep and plan is not None:
        bar = st.progress(0.0, text=f"0 / {len(plan.points())} training runs")
        done = lambda k, n, row: bar.progress(k / n, text=f"{k} / {n} training runs · last: proj_size "  # noqa: E731
                                              f"{row['proj_size']}, seed {row['seed']}")
        results = logic.run_sweep(plan, point=cached_sweep_point, on_point=done).assign(source="computed")
        st.session_state["cmp_sweep"] = results = (plan, results)
    if results is not None:
        plan_shown, frame = results
        st.plotly_chart(cf.sweep_figure(frame, plan_shown.budget()), width="stretch", key="cmp_sweep_fig")
        st.markdown(logic.sweep_summary(frame))
        st.dataframe(_sweep_shown(frame), hide_index=True, width="stretch", key="cmp_sweep_table")
    if shipped is not None:
        st.markdown(f"**Shipped results** (`{logic.SWEEP_COMMAND}`)")
        st.plotly_chart(cf.sweep_figure(shipped, shipped_plan.budget()), width="stretch", key="cmp_sweep_shipped")
        st.markdown(logic.sweep_summary(shipped))
        st.caption(f"Each point is one model trained for {shipped_plan.epochs} epochs (the budget) from one seed; "
                   "the diamonds are the means over seeds.")  # fmt: skip
        with st.expander("Shipped results as a table"):
            st.dataframe(_sweep_shown(shipped), hide_index=True, width="stretch", key="cmp_sweep_shipped_table")


def _sweep_shown(frame: pd.DataFrame) -> pd.DataFrame:
    """The sweep table as shown: its ``loss`` is the last epoch's running mean (over that epoch's batches, while the
    weights changed), beside accuracies of the final weights — the header says so (a loss of 0.443 beside 100 %
    exact match read as a contradiction)."""
    return frame.rename(columns={"loss": "last epoch's mean loss (during training)"})

