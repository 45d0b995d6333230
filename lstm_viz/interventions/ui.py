"""Streamlit sections of the Gate Explorer's Intervene tab: change a gate or state and see what the model does then,
and rank the units by what ablating each one does. The logic is :mod:`lstm_viz.interventions.effects` and
:mod:`lstm_viz.interventions.ablation`; the figures :mod:`lstm_viz.interventions.figures`."""

from __future__ import annotations

import collections
import functools
import threading
import time

import plotly.graph_objects as go
import streamlit as st
from torch import nn

from lstm_viz.app.inputs import ExplorerInput
from lstm_viz.app.sources import LoadedModel
from lstm_viz.app.ui import OPEN_TAB, cached_recording, figure_downloads, show_input_error, show_verdict
from lstm_viz.core.interventions import replaceable_sizes
from lstm_viz.core.recording import DIRECTIONS, CellRecording, parse_name, parse_unit
from lstm_viz.interventions import effects
from lstm_viz.interventions.ablation import VALUES, Ablation, ablate_units, describe_unit
from lstm_viz.interventions.figures import ablation_figure, spread_figure
from lstm_viz.parsing import InputError, parse_float, shorten
from lstm_viz.tasks import task_for
from lstm_viz.training.live import format_seconds
from lstm_viz.viz.answer import answer_figure, answer_h, shared_range
from lstm_viz.viz.divergence import difference_heatmaps

__all__ = ["ablation_section", "intervene_section", "try_in_intervene", "units_key"]


def units_key(width: int) -> str:
    """The Intervene tab's units box for a tensor of ``width`` units (one box per width: 0–31 differs from 0–7)."""
    return f"iv_units_{width}"


def _chart(fig, key: str) -> None:
    st.plotly_chart(fig, width="stretch", key=key, config={"displaylogo": False})


# The widgets' keys of each tab (the Gate Explorer keeps them while another tab is open; no buttons here).
INTERVENE_KEYS = ("iv_name", "iv_units_", "iv_steps", "iv_kind", "iv_constant")
ABLATION_KEYS = ("iv_sweep_tensors_", "iv_sweep_value")


def _beyond_range(rec: CellRecording, name: str, constant: float) -> str | None:
    """Words for a constant outside the range its tensor takes by construction (a forget gate set to 10⁶: c then
    grows a million-fold a step), else None. Allowed — a thought experiment — but said."""
    tensor = name.rsplit(".", 1)[-1]
    bounds = rec.value_range(tensor) if tensor in rec.recorded_tensors else None
    if bounds is None or bounds[0] <= constant <= bounds[1]:
        return None
    made = "a sigmoid's output" if bounds == (0.0, 1.0) else "a tanh's output" if tensor in ("g", "n") else "bounded"
    return (f"{constant:g} is outside {bounds[0]:g}…{bounds[1]:g}, where {tensor} ({rec.title(tensor)}, {made}) always "
            "lies: the model can never produce this value itself, so what follows is a thought experiment beyond "
            "anything it computes (states may grow without bound).")


def _last_good_key(loaded: LoadedModel) -> str:
    return f"iv_last_good_{loaded.key}"


def _text_unit(model: nn.Module, names: list[str]) -> tuple[str, int] | None:
    """The unit the Text by unit tab last showed (``text_chosen_unit``, e.g. ``"layer0.fwd.c[375]"``) when it is one
    of this model's, else None."""
    try:
        name, unit = parse_unit(str(st.session_state.get("text_chosen_unit", "")))
    except ValueError:
        return None
    return (name, unit) if name in names and unit < effects.width_of(model, name) else None


def _effect(loaded: LoadedModel, inp: ExplorerInput, rec: CellRecording, second: ExplorerInput | None,
            choice: effects.Choice) -> effects.Effect:  # fmt: skip
    """What ``choice`` does to the model's answer on ``inp`` (a patch takes its values from the second input)."""
    rec_b = cached_recording(loaded, second.x) if choice.kind == "patch" and second is not None else None
    intervention = effects.build(choice, loaded.model, rec_b, steps_a=inp.steps)
    return effects.intervene(loaded.model, inp, intervention, rec)


def intervene_section(
    loaded: LoadedModel, inp: ExplorerInput, rec: CellRecording, panel: tuple[int, str], second: ExplorerInput | None
) -> None:
    """Pick a tensor, units, steps and a value; show the answer before and after, the heatmaps' differences and
    how the change spreads."""
    model = loaded.model
    names = effects.names_of(model)
    layer, direction = panel
    state = "c" if loaded.config.cell == "lstm" else "h"
    default = names.index(f"layer{layer}.{direction}.{state}") if f"layer{layer}.{direction}.{state}" in names else 0
    # Defaults through the session, as "Try … in Intervene" sets these widgets (a default passed to a widget beside a
    # value set through the session made Streamlit log a warning at every such run)
    picked = _text_unit(model, names)
    if picked is not None and units_key(effects.width_of(model, picked[0])) not in st.session_state:
        # a text model, first time here: the unit Text by unit shows (one cell; all 384 of a layer's c at once
        # only garbles the text), set to zero at every step
        st.session_state.update({"iv_name": picked[0], units_key(effects.width_of(model, picked[0])): str(picked[1])})
    elif st.session_state.get("iv_name") not in names:  # first time, or another model's tensor
        st.session_state["iv_name"] = names[default]
    for key, value in (("iv_steps", "all"), ("iv_kind", "zero")):
        st.session_state.setdefault(key, value)
    c1, c2, c3 = st.columns([1.2, 1, 1])
    name = c1.selectbox("Tensor", names, key="iv_name",
                        help="a recording name: layer, direction, then the gate or state")  # fmt: skip
    width = effects.width_of(model, name)
    st.session_state.setdefault(units_key(width), "all")
    units_text = c2.text_input(f"Units (0–{width - 1}, or all)", key=units_key(width),
                               help="e.g. 7, or 3, 5-7; all = every unit")  # fmt: skip
    steps_text = c3.text_input(f"Steps t (0–{inp.steps - 1}, or all)", key="iv_steps",
                               help="positions in the input, the same for both directions; e.g. 3 or 2-4")  # fmt: skip
    # the page's whole width, its own line: in three quarters of it, a 1,024-px window hid the last option
    kind = st.segmented_control("Set them to", list(effects.VALUE_KINDS), required=True,
                                format_func=effects.VALUE_KINDS.get, key="iv_kind")  # fmt: skip
    constant = 0.0
    try:
        if kind == "constant":  # its box under the choices, a quarter of the width
            box = st.columns([1, 3])[0].text_input("Constant", "0.5", key="iv_constant")
            constant = parse_float(box, name="The constant", minimum=-1e6, maximum=1e6, example="0.5")
        choice = effects.Choice(
            name,
            effects.parse_indices(units_text, width, "Units", "7 or 3, 5-7"),
            effects.parse_indices(steps_text, inp.steps, "Steps", "3 or 2-4"),
            kind,
            constant,
        )
        effect = _effect(loaded, inp, rec, second, choice)
    except (InputError, ValueError) as err:
        show_input_error(err, "intervention")
        choice = st.session_state.get(_last_good_key(loaded))  # the last valid one stays on show, as the input's
        try:
            effect = _effect(loaded, inp, rec, second, choice) if choice is not None else None
        except (InputError, ValueError):  # (it does not fit this input: nothing to show)
            effect = None
        if effect is None:
            return
        st.caption("Still showing the last valid intervention, below.")
        name, kind, constant, width = choice.name, choice.kind, choice.constant, effects.width_of(model, choice.name)
        units_text = steps_text = "kept"  # (not a box left empty)
    else:
        st.session_state[_last_good_key(loaded)] = choice
    emptied = [what for what, text in (("units", units_text), ("steps", steps_text)) if not (text or "").strip()]
    said = f" (the {' and '.join(emptied)} box{'es' if len(emptied) > 1 else ''} left empty: all)" if emptied else ""
    hint = "" if choice.units else " To find single units that matter, rank them in the *Which units matter* tab."
    if name.endswith(".m"):  # an LSTMP's: say what it is beside h
        hint = (f" m = o·tanh(c) is the cell's output before the projection ({width} units); h = W_hr·m "
                f"({effects.width_of(model, name[:-1] + 'h')} units) mixes all of them." + hint)  # fmt: skip
    patched = _patch_note(choice, inp, second) if kind == "patch" and second else ""
    st.caption(choice.describe(task_for(model.config).ablation_data) + said + patched + "." + hint)
    beyond = _beyond_range(rec, name, constant) if kind == "constant" else None
    if beyond:
        st.warning(beyond, icon=":material/science:")
    before, after = st.columns(2)
    drawn = [(effect.before, answer_h(effect.before, effect.rec_before)),
             (effect.after, answer_h(effect.after, effect.rec_after))]  # a toy model's h over the days  # fmt: skip
    y_range = shared_range(*drawn)  # one scale for both: side by side, 0.08 looked as tall as 0.4
    figures = {}
    for col, title, (answer, h) in zip((before, after), ("Before", "After"), drawn, strict=True):
        with col:
            show_verdict(answer, title)
            figure = answer_figure(answer, h, title=title, y_range=y_range)  # the verdict above says the rest
            if figure is not None:
                _chart(figure, f"iv_answer_{title.lower()}")  # the file has no verdict above it: in its title
                figures[f"answer_{title.lower()}"] = functools.partial(
                    _titled, figure, f"{title}: {answer.headline or answer.summary}")
    st.markdown(effect.change_sentence() + " " + effect.divergence.sentence.replace("The two runs", "Before and after"))
    # Rounding between the fused kernel and the step-by-step run is not a change: the same tolerance as the sentence.
    chars = None if inp.step_labels is None else (inp.step_labels, inp.step_labels)
    changed, at, _ = parse_name(name)  # where the change is made
    at_direction = DIRECTIONS[at]
    # Neither a lower layer nor the other direction of the changed layer reads it: their differences would all be zero
    if changed > layer or (changed == layer and at_direction != direction):
        why = "lies below it" if changed > layer else "runs the other way and does not read it"
        st.caption(f"The differences below are those of layer {changed} {at_direction}, where the change is made: "
                   f"the panel shown above, layer {layer} {direction}, {why}.")  # fmt: skip
        layer, direction = changed, at_direction
    figures["differences"] = difference_heatmaps(
        effect.rec_before, effect.rec_after, layer, direction, feature_names=inp.feature_names,
        labels=("before", "after"), step_labels=chars, tol=effects.ROUNDING,
        title="After − before: what the intervention changes",
    )  # fmt: skip
    _chart(figures["differences"], "iv_differences")
    first = min(choice.steps) if choice.steps else 0
    figures["spread"] = spread_figure(effects.spread_table(effect.rec_before, effect.rec_after), first_step=first)
    _chart(figures["spread"], "iv_spread")
    st.caption("These figures as standalone HTML files (open offline, interactive):")
    figure_downloads({f"intervene_{name}": fig for name, fig in figures.items()}, loaded.stem, "iv_dl")


def _titled(figure: go.Figure, title: str) -> go.Figure:
    """A copy of ``figure`` under another title (the page shows the verdict above a chart; a download carries it)."""
    return go.Figure(figure).update_layout(title_text=title)


def try_in_intervene(model: nn.Module, name: str, unit: int, value: str) -> None:
    """Open the Intervene tab on one unit of ``name`` set to ``value`` ("zero" or "mean") at every step: a button's
    ``on_click``, so that the tab's widgets take these values before they are drawn."""
    st.session_state.update({"iv_name": name, units_key(effects.width_of(model, name)): str(unit), "iv_steps": "all",
                             "iv_kind": value, OPEN_TAB: "Intervene"})  # fmt: skip


def _patch_note(choice: effects.Choice, inp: ExplorerInput, second: ExplorerInput) -> str:
    """Which B the patch came from, and — at every step — which steps both inputs have."""
    rows = second.x[0, :3].tolist()  # a typed sequence's text only says its length: show its first rows
    shown = "; ".join(", ".join(f"{v:g}" for v in row) for row in rows) + ("; …" if second.steps > 3 else "")
    what = shorten(second.text, 40) if not second.text.startswith("typed:") else shown
    note = f" (B = `{what}`, {_steps(second.steps)})"
    if choice.steps is None and second.steps != inp.steps:
        both = min(second.steps, inp.steps)
        which = "step 0 was" if both == 1 else f"steps 0–{both - 1} were"
        note += f"; A has {_steps(inp.steps)} and B {_steps(second.steps)}, so {which} patched"
    return note


def _steps(n: int) -> str:
    return f"{n} step{'' if n == 1 else 's'}"


# Sweeps done, shared by every session (like st.cache_data, which cannot hold this one: the sweep updates a progress
# bar made outside it, so that a click elsewhere or a closed tab stops it at the next batch). The model is read-only
# here and its key names its weights. A sweep one session is running is not started again by another: that one
# waits for it (with its progress), and runs it itself if the first is stopped.
_SWEEPS: collections.OrderedDict[tuple, Ablation] = collections.OrderedDict()
_RUNNING: dict[tuple, float] = {}  # key → share done, while a session runs that sweep
_SWEEPS_LOCK = threading.Lock()
MAX_SWEEPS = 8


def _sweep(model_key: str, tensors: tuple[str, ...], value: str, model: nn.Module) -> Ablation:
    key = (model_key, tensors, value)
    bar = st.progress(0.0, text="Ablating every unit…")
    started = time.perf_counter()
    while True:
        with _SWEEPS_LOCK:
            if key in _SWEEPS:
                _SWEEPS.move_to_end(key)
                bar.empty()
                return _SWEEPS[key]
            share = _RUNNING.get(key)
            if share is None:
                _RUNNING[key] = 0.0  # this session runs it
                break
        # Another session is running this very sweep: wait for its result, showing its progress; a Streamlit call
        # each half second, where a click elsewhere stops the waiting.
        bar.progress(min(share, 1.0), text=f"Another visitor is ranking these units: {share:.0%}, waiting for it…")
        time.sleep(0.5)

    def progress(done: int, total: int) -> None:  # a Streamlit call: where a rerun or a closed tab stops the sweep
        share = done / max(total, 1)
        _RUNNING[key] = share
        seconds = time.perf_counter() - started
        left = f", about {format_seconds(seconds / share - seconds)} left" if 0.02 < share < 1 and seconds > 2 else ""
        bar.progress(min(share, 1.0), text=f"Ablating every unit… {share:.0%}{left} (another click stops it)")

    try:
        result = ablate_units(model, tensors, value=value, progress=progress)
        with _SWEEPS_LOCK:
            _SWEEPS[key] = result
            while len(_SWEEPS) > MAX_SWEEPS:
                _SWEEPS.popitem(last=False)
    finally:
        with _SWEEPS_LOCK:
            _RUNNING.pop(key, None)  # done, or stopped: a session waiting for it takes over
    bar.empty()
    return result


def ablation_section(loaded: LoadedModel) -> None:
    """Ablate every unit of the chosen tensors in turn over the task's data; rank the units by the effect."""
    model = loaded.model
    sizes = replaceable_sizes(model.rnn())
    default = ["c", "h"] if "c" in sizes else ["h"]
    c1, c2 = st.columns([2, 1])
    tensors = c1.multiselect("Tensors to ablate, one unit at a time", list(sizes), default=default,
                             key=f"iv_sweep_tensors_{loaded.config.cell}")  # fmt: skip
    value = c2.segmented_control("Set each unit to", list(VALUES), default="zero", required=True,
                                 format_func={"zero": "0", "mean": "its mean"}.get, key="iv_sweep_value")  # fmt: skip
    if not tensors:
        st.info("Pick at least one tensor to rank its units.")
        return
    asked = st.session_state.get("iv_sweep_asked") == (loaded.key, tuple(tensors), value)
    if not asked and not st.button("Rank the units", key="iv_sweep_run", icon=":material/leaderboard:"):
        task = task_for(loaded.config)
        st.caption("Ablates every unit of the chosen tensors in every layer and direction, one at a time, over the "
                   f"task's data ({task.ablation_data}), and ranks them by the {task.ablation_measure}.")
        return  # fmt: skip
    st.session_state["iv_sweep_asked"] = (loaded.key, tuple(tensors), value)
    result = _sweep(loaded.key, tuple(tensors), value, model)
    figure = ablation_figure(result)
    _chart(figure, "iv_ablation")
    for k in range(min(5, len(result.table))):
        st.markdown("- " + describe_unit(result, result.table.iloc[k]))
    top = result.table.iloc[0]
    if top["effect"] > 0:
        st.button(f"Try {top['name']} unit {top['unit']} in Intervene", key="iv_sweep_try", icon=":material/science:",
                  on_click=try_in_intervene, args=(model, top["name"], int(top["unit"]), result.value),
                  help="opens Intervene on this unit alone, set so at every step, for the input above")  # fmt: skip
    unchanged = int((result.table["effect"] == 0).sum())
    notes = [f"{unchanged:,} of the {len(result.table):,} ablations change nothing at all."] if unchanged else []
    if {"c", "h"} <= set(tensors) and value == "zero" and sizes["c"] == sizes["h"]:  # an LSTM without projection
        notes.append("A unit's c and h rows match: zeroing c_j at every step zeroes h_j = o_j·tanh(c_j) too, and "
                     "c_j reaches the rest of the network only through h_j, so both cut the same path.")  # fmt: skip
    if {"c", "m"} <= set(tensors) and value == "zero":  # an LSTMP: m = o·tanh(c) before the projection
        notes.append("A unit's c and m rows match: zeroing c_j at every step zeroes m_j = o_j·tanh(c_j) too, and "
                     "c_j reaches the rest of the network only through m_j (then h = W_hr·m), so both cut the same "
                     "path.")  # fmt: skip
    if notes:
        st.caption(" ".join(notes))
    shown = result.table
    if (shown["step"] < 0).all():  # every ablation holds at every step: the column said "-1" for that
        shown = shown.drop(columns="step")
    st.dataframe(shown, hide_index=True, width="stretch", height=260, column_config={  # effects as the chart's %
        c: st.column_config.NumberColumn(format="percent" if result.in_shares else "%.4g")
        for c in result.effect_columns})  # fmt: skip
    st.caption("The chart as a standalone HTML file (opens offline, interactive); the whole table as CSV from the "
               "download icon above it (hover the table).")  # fmt: skip
    figure_downloads({"unit_ranking": figure}, loaded.stem, "iv_dl")
