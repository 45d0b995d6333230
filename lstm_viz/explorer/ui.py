"""Streamlit sections of the Gate Explorer page: the input box, each view with its controls, and the exports.

Each function draws one section and returns what the next needs; the page (pages/explorer.py) only calls them in
order. Bad input never raises: it is shown with :func:`lstm_viz.app.ui.refuse_input_keeping_last`, and the last valid
input stays on screen.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any

import streamlit as st

from lstm_viz.app.inputs import (
    ExplorerInput,
    csv_input,
    file_input,
    random_input,
    typed_input,
)
from lstm_viz.app.sources import LoadedModel
from lstm_viz.app.ui import (
    cached_recording,
    figure_downloads,
    keep_widget,
    narrow_columns,
    refuse_input_keeping_last,
    show_input_error,
    show_verdict,
)
from lstm_viz.core.recording import TENSOR_TITLES, CellRecording, Recording
from lstm_viz.explorer import export
from lstm_viz.explorer.worked_steps import is_one_unit, worked_steps
from lstm_viz.parsing import MAX_STEPS, InputError, parse_int, shorten
from lstm_viz.tasks import task_for
from lstm_viz.tasks.posts import post
from lstm_viz.viz.answer import answer_figure, answer_h, model_answer
from lstm_viz.viz.belt import belt_words, conveyor_belt
from lstm_viz.viz.divergence import difference_heatmaps, first_divergence
from lstm_viz.viz.gates import gate_heatmaps, most_active_units, panels_of
from lstm_viz.viz.saturation import saturation_batch, saturation_figure, saturation_table
from lstm_viz.viz.traces import unit_traces

__all__ = [
    "answer_section",
    "belt_section",
    "cell_note",
    "chart",
    "equations_available",
    "equations_section",
    "export_section",
    "heatmap_section",
    "input_section",
    "reads_text",
    "saturation_section",
    "second_input",
    "traced_by_default",
    "traces_section",
    "two_inputs_section",
]

_MODES = {"type": "Type it", "random": "Random sequence", "csv": "CSV file"}


def tensor_note(rec: CellRecording) -> str:
    """What the export's ``tensor`` column holds, for this recording's cell."""
    names = ", ".join(f"{n} the {TENSOR_TITLES[n]}" for n in rec.recorded_tensors if n != "m")
    note = f"The `tensor` column: {names} (the output)."
    if "m" in rec.recorded_tensors:
        note += (" m = o·tanh(c) is the output before the projection of an LSTMP (h = W_hr·m, proj_size units)."
                 if rec.proj_size else " m = o·tanh(c) equals h (no projection).")  # fmt: skip
    return note + " t counts from 0."


# Each tab's widget keys, kept while another tab is open (app.ui.keep_tab_widgets: the page draws only the open tab's
# widgets, and a B typed in "Compare two inputs" was gone — and patched from the example B — after a look at another
# tab). No buttons or uploaders here.
KEPT = "explorer__kept"  # where keep_tab_widgets keeps the tabs' values while they are hidden
TAB_KEYS = {
    "Unit traces": ("explorer_units_", "explorer_traces_panel_", "explorer_traces_q_"),
    "Conveyor belt": ("explorer_belt_",),
    "Compare two inputs": ("explorer_b_",),
    "Gate saturation": ("explorer_sat_over",),
    "Export": ("explorer_export_tensors",),
}


def chart(fig, key: str) -> None:
    """A Plotly chart with its own key (every chart on the page has a distinct one)."""
    st.plotly_chart(fig, width="stretch", key=key, config={"displaylogo": False})


def input_section(loaded: LoadedModel) -> ExplorerInput | None:
    """The input controls; returns the input to record (the last valid one when the new one is bad)."""
    config = loaded.config
    task = task_for(config)
    modes = task.input_modes(config)
    keep_widget("explorer_mode", "type", allowed=modes)
    if st.session_state["explorer_mode"] not in modes:  # another kind of model had other modes
        st.session_state["explorer_mode"] = "type"
    mode = st.segmented_control("Input", list(modes), format_func=modes.get, key="explorer_mode", required=True)
    try:
        if mode == "random" and task.reads_text:
            inp = _random_text(loaded)
        elif mode == "file":
            file = st.file_uploader(
                f"A {' or '.join('.' + t for t in task.file_types)} file (UTF-8, up to 1 MB; the first "
                f"{task.max_input_steps:,} characters are recorded)",
                type=list(task.file_types), key=f"explorer_file_{task.kind}",
            )  # fmt: skip
            if file is None:
                st.caption("No file yet: showing the last input.")
                return _last_good(loaded)
            inp = file_input(file.getvalue(), config, name=file.name)
        elif mode == "random":
            c1, c2 = st.columns(2)
            fixed = task.fixed_steps
            length_key = f"explorer_len_{task.kind}"
            keep_widget(length_key, str(fixed or task.default_random_length))  # the box says the length used
            if fixed is not None:
                st.session_state[length_key] = str(fixed)
            length_text = c1.text_input(
                "length (time steps)", key=length_key, disabled=fixed is not None,
                help=f"this model's inputs always have {fixed} steps" if fixed else f"1 to {MAX_STEPS:,}",
            )  # fmt: skip
            keep_widget("explorer_seed", "0")
            seed_text = c2.text_input("random seed", key="explorer_seed", help="0 to 2,147,483,647")
            length = parse_int(length_text, name="The length", minimum=1, maximum=MAX_STEPS)
            seed = parse_int(seed_text, name="The random seed", minimum=0, maximum=2**31 - 1)
            inp = random_input(config, length, seed)
        elif mode == "csv":
            file = st.file_uploader(
                f"One row per time step, {config.input_size} column{'s' if config.input_size != 1 else ''}; an "
                "optional header names them",
                type=["csv", "txt"], key=f"explorer_csv_{task.kind}_{config.input_size}",
            )  # fmt: skip
            if file is None:
                st.caption("No file yet: showing the last input.")
                return _last_good(loaded)
            inp = csv_input(file.getvalue(), config, name=file.name)
        else:
            inp = _typed(loaded)
    except InputError as err:
        return refuse_input_keeping_last(err, _good_key(loaded))
    st.session_state[_good_key(loaded)] = inp
    if inp.note:
        st.info(inp.note, icon=":material/content_cut:")
    table = task.input_table(inp)
    if table is not None:
        st.dataframe(table[0], width="stretch")
        st.caption(table[1])
    return inp


def _typed(loaded: LoadedModel) -> ExplorerInput:
    config = loaded.config
    task = task_for(config)
    key = f"explorer_text_{task.kind}_{config.input_size}"
    example = task.example(config)
    label = task.input_label(config)
    keep_widget(key, example)  # what was typed survives a visit to another page
    if task.reads_text:
        text = st.text_area(label, key=key, height=260)
    elif task.multiline(config):
        text = st.text_area(label, key=key, height=110)
    else:
        text = st.text_input(label, key=key)
    return typed_input(text, config)


def _random_text(loaded: LoadedModel) -> ExplorerInput:
    """A text model's random input: a validation file, another one at each press of the button."""
    config = loaded.config
    key = "explorer_text_seed"
    st.session_state.setdefault(key, 0)
    c1, c2 = st.columns([1, 3])
    if c1.button("A random validation file", key="explorer_text_random", icon=":material/casino:"):
        st.session_state[key] = int(st.session_state[key]) + 1
    inp = random_input(config, task_for(config).max_input_steps, int(st.session_state[key]))
    c2.caption(f"A file of the standard library's validation split (never trained on): {inp.text}. A long file's "
               "first part is recorded; the button draws another file.")  # fmt: skip
    return inp


def _good_key(loaded: LoadedModel) -> str:
    return f"explorer_last_good_{loaded.config.kind}_{loaded.config.input_size}"


def _last_good(loaded: LoadedModel) -> ExplorerInput | None:
    return st.session_state.get(_good_key(loaded))


def answer_section(loaded: LoadedModel, inp: ExplorerInput, rec: Recording | None) -> None:
    """View 4: what the model answers, right or wrong."""
    answer, fig = _answer_and_figure(loaded, inp, rec)
    if answer.correct is True:
        st.success(answer.summary, icon=":material/check_circle:")
    elif answer.correct is False:
        st.error(answer.summary, icon=":material/cancel:")
    else:
        st.info(answer.summary)
    if fig is not None:
        chart(fig, "explorer_answer")


def _answer_and_figure(loaded: LoadedModel, inp: ExplorerInput, rec: Recording | None):
    """The model's answer and its figure (None where the task draws none): the page and the export share it."""
    answer = model_answer(loaded.model, inp)
    return answer, answer_figure(answer, answer_h(answer, rec))


def _answer_figure(loaded: LoadedModel, inp: ExplorerInput, rec: Recording | None):
    return _answer_and_figure(loaded, inp, rec)[1]


def _labels(inp: ExplorerInput):
    return list(inp.step_labels) if inp.step_labels is not None else None


def _panel_label(panel: tuple[int, str]) -> str:
    return f"layer {panel[0]} · {panel[1]}"


def heatmap_section(rec: Recording, inp: ExplorerInput) -> tuple[int, str]:
    """View 1: six aligned heatmaps. Returns the (layer, direction) the other views should use."""
    panels = panels_of(rec)
    choice = panels[0]
    shown = [choice]
    if len(panels) > 1:
        options = ["all", *panels]
        picked = st.selectbox(
            "Layer and direction", options, format_func=lambda p: "all at once" if p == "all" else _panel_label(p),
            key="explorer_panel",
        )  # fmt: skip
        shown = panels if picked == "all" else [picked]
        choice = panels[0] if picked == "all" else picked
    chart(gate_heatmaps(rec, shown, feature_names=inp.feature_names, step_labels=_labels(inp)), "explorer_heatmaps")
    return choice


def _tag(model_key: str) -> str:
    """A short stand-in for a model's cache key in widget keys."""
    return hashlib.sha256(model_key.encode()).hexdigest()[:10]


def _traces_keys(rec: Recording, panel: tuple[int, str], model_key: str) -> tuple[str, str, str]:
    """The Unit traces tab's widget keys: its panel (following the heatmaps' choice until changed there), its units
    (kept per model: another model of the same size starts from its own most active units) and its tensors (a
    choice for short inputs and one for long ones)."""
    length = "long" if rec.seq_len > LONG_TRACE else "short"
    return (f"explorer_traces_panel_{panel[0]}_{panel[1]}", f"explorer_units_{rec.hidden_size}_{_tag(model_key)}",
            f"explorer_traces_q_{rec.cell}_{length}")  # fmt: skip


def _picked(key: str, default: Any) -> Any:
    """A widget's value where the page shows it — live, or kept while its tab is hidden (``KEPT``) — else
    ``default``: what the Export tab builds is the figure the user set up in the other tabs."""
    return st.session_state.get(key, st.session_state.get(KEPT, {}).get(key, default))


def traces_shown(rec: Recording, panel: tuple[int, str], model_key: str) -> tuple[tuple[int, str], list[int], list]:
    """The panel, units and tensors the Unit traces tab draws (its defaults where it was never opened)."""
    panel_key, units_key, tensors_key = _traces_keys(rec, panel, model_key)
    picked = _picked(panel_key, panel) if len(panels_of(rec)) > 1 else panel
    panel = tuple(picked) if tuple(picked) in panels_of(rec) else panel
    default = most_active_units(rec, panel[0], panel[1], k=min(3, rec.hidden_size))
    units = [u for u in _picked(units_key, default) or [] if isinstance(u, int) and 0 <= u < rec.hidden_size]
    tensors = [q for q in _picked(tensors_key, traced_by_default(rec)) or [] if q in rec.tensor_names]
    return panel, units or default, tensors or traced_by_default(rec)


def traces_section(rec: Recording, inp: ExplorerInput, panel: tuple[int, str], model_key: str = "") -> None:
    """View 2: unit traces of the chosen units with the input underneath, of any layer and direction (the one picked
    for the heatmaps first). The units chosen are kept per model (``model_key``: another model of the same size
    starts from its own most active units, not the last one's)."""
    panels = panels_of(rec)
    panel_key, units_key, tensors_key = _traces_keys(rec, panel, model_key)
    if len(panels) > 1:
        panel = st.selectbox(
            "Which layer's units to trace", panels, index=panels.index(panel), format_func=_panel_label,
            key=panel_key,  # follows the heatmaps' choice until changed here
        )  # fmt: skip
    layer, direction = panel
    default = most_active_units(rec, layer, direction, k=min(3, rec.hidden_size))
    units = st.multiselect(
        f"Units ({_panel_label(panel)}; the most active are preselected)",
        list(range(rec.hidden_size)), default=default, max_selections=8, key=units_key,
    )  # fmt: skip
    names = list(rec.tensor_names)
    tensors = st.pills(
        "Draw", names, selection_mode="multi", default=traced_by_default(rec), key=tensors_key,
        help=f"over more than {LONG_TRACE} steps only the states are drawn at first: six lines over hundreds of "
        "steps are a tangle",
    )  # fmt: skip
    if not units or not tensors:
        st.info(f"Pick at least one unit and one of {', '.join(names)} to draw traces.")
        return
    chart(unit_traces(rec, units, layer, direction, feature_names=inp.feature_names, step_labels=_labels(inp),
                      tensors=tensors), "explorer_traces")  # fmt: skip


LONG_TRACE = 64  # steps: a longer input's traces start with its states alone


def traced_by_default(rec: Recording) -> list[str]:
    """What the traces draw at first: every gate and state, or over more than ``LONG_TRACE`` steps only the states
    (an LSTM's c and h, a GRU's h)."""
    if rec.seq_len <= LONG_TRACE:
        return list(rec.tensor_names)
    return [q for q in rec.tensor_names if q == "h" or rec.value_range(q) is None]


def belt_section(rec: Recording, inp: ExplorerInput, panel: tuple[int, str], model_key: str = "") -> None:
    """View 3: the cell-state conveyor belt (its unit kept per model, as the traces' units)."""
    layer, direction = panel
    default = most_active_units(rec, layer, direction, k=1)[0]
    unit = st.selectbox(
        "Unit for the bars", list(range(rec.hidden_size)), index=default, key=_belt_key(rec, model_key),
    )
    chart(conveyor_belt(rec, int(unit), layer, direction, feature_names=inp.feature_names, step_labels=_labels(inp)),
          "explorer_belt")
    st.caption(belt_words(rec.cell, direction)["caption"])


def _belt_key(rec: Recording, model_key: str) -> str:
    return f"explorer_belt_{rec.hidden_size}_{_tag(model_key)}"


def belt_unit_shown(rec: Recording, panel: tuple[int, str], model_key: str) -> int:
    """The unit the Conveyor belt tab draws (the panel's most active one where it was never opened)."""
    unit = _picked(_belt_key(rec, model_key), None)
    valid = isinstance(unit, int) and 0 <= unit < rec.hidden_size
    return int(unit) if valid else int(most_active_units(rec, panel[0], panel[1], k=1)[0])


def _second_key(loaded: LoadedModel) -> str:
    config = loaded.config
    task = task_for(config)
    return f"explorer_b_{task.kind}_{config.input_size}" if task.multiline(config) else f"explorer_b_{task.kind}"


def second_input(loaded: LoadedModel, inp: ExplorerInput) -> ExplorerInput | None:
    """The second input B as typed in the two-input tab (its example until something is typed); None if bad."""
    config = loaded.config
    key = _second_key(loaded)  # the box's value, or while its tab is hidden what keep_tab_widgets kept of it
    text = st.session_state.get(key, st.session_state.get(KEPT, {}).get(key))
    if text is None:
        text = task_for(config).second_example(config, inp)
    try:
        return typed_input(text, config)
    except InputError:
        return None


def two_inputs_section(loaded: LoadedModel, rec_a: Recording, inp: ExplorerInput, panel: tuple[int, str]) -> None:
    """View 5: a second input, difference heatmaps and the first step where the runs diverge."""
    config = loaded.config
    task = task_for(config)
    default = task.second_example(config, inp)
    label = "Second input B (same format as above); A is the input above"
    key = _second_key(loaded)
    # the default through the session, not value=: keep_tab_widgets writes the box back after another tab was open,
    # and a widget given both made Streamlit warn at every such run
    st.session_state.setdefault(key, default)
    if task.multiline(config):
        text = st.text_area(label, key=key, height=200 if task.reads_text else None)
    else:
        text = st.text_input(label, key=key)
    try:
        inp_b = typed_input(text, loaded.config)
    except InputError as err:
        show_input_error(err, "second input")
        return
    rec_b = cached_recording(loaded, inp_b.x)
    div = first_divergence(rec_a, rec_b)
    for col, (name, x) in zip(narrow_columns(2, key="explorer_two_answers", narrow="stack"), (("A", inp), ("B", inp_b)),
                              strict=True):  # what each input makes the model answer, beside each other
        with col:
            show_verdict(model_answer(loaded.model, x), name)
    st.markdown(f"**A** = `{shorten(inp.text)}` · **B** = `{shorten(inp_b.text)}` — {div.sentence}")
    chart(_two_inputs_figure(rec_a, inp, inp_b, loaded, panel, rec_b), "explorer_two_inputs")


def _two_inputs_figure(rec_a: Recording, inp: ExplorerInput, inp_b: ExplorerInput, loaded: LoadedModel,
                       panel: tuple[int, str], rec_b: Recording | None = None):  # fmt: skip
    """The difference heatmaps of B − A in ``panel`` (the tab's figure and its export)."""
    rec_b = cached_recording(loaded, inp_b.x) if rec_b is None else rec_b
    texts = (inp.step_labels, inp_b.step_labels) if inp.step_labels and inp_b.step_labels else None
    return difference_heatmaps(rec_a, rec_b, *panel, feature_names=inp.feature_names, step_labels=texts)


def saturation_section(loaded: LoadedModel, rec: Recording) -> None:
    """View 6: gate saturation over the typed sequence or a batch of task samples."""
    st.session_state.setdefault("explorer_sat_over", "batch")  # the default through the session: keep_tab_widgets
    over = st.segmented_control(  # writes it back after a visit to another page, which a default= then warned of
        "Measure over", ["typed", "batch"], required=True, key="explorer_sat_over",
        format_func={"typed": "the input above", "batch": "a batch of task samples"}.get,
    )  # fmt: skip
    chart(_saturation(loaded, rec, over), "explorer_saturation")


def _saturation(loaded: LoadedModel, rec: Recording, over: str | None):
    """The saturation figure over the typed input's recording, or (``"batch"``, the tab's default) over 256 task
    samples."""
    if over != "typed":
        rec = cached_recording(loaded, saturation_batch(loaded.model, n=256, seed=0))
    return saturation_figure(saturation_table(rec))


def equations_section(loaded: LoadedModel, rec: Recording) -> None:
    """The one-unit model's equations with each step's numbers substituted."""
    steps = worked_steps(loaded.model, rec)
    st.caption("t counts from 0, as in the heatmaps (t = 0 is the post's day 1); before t = 0 the state is "
               "h_{-1} = c_{-1} = 0.")  # fmt: skip
    for step in steps[:32]:
        st.markdown(f"**t = {step.step}** — going in: ${step.header}$")
        st.latex(step.latex())
    if len(steps) > 32:
        st.caption(f"The first 32 of {len(steps)} steps are shown.")


def export_section(rec: Recording, inp: ExplorerInput, panel: tuple[int, str], loaded: LoadedModel) -> None:
    """View 7: the recording as CSV / Parquet and every figure as standalone HTML (built when clicked)."""
    stem = loaded.stem  # subtraction_lstm-recording.csv, subtraction_lstm-gate_heatmaps.html
    inputs = ("The `char` column is the character read at t." if inp.step_labels is not None
              else "The `x` columns hold the input at t.")  # fmt: skip
    recorded = list(rec.recorded_tensors)
    tensors = st.multiselect("Tensors to export", recorded, default=recorded, key="explorer_export_tensors")
    rows = export.export_rows(rec, tensors)
    st.caption(f"Long format: one row per (layer, direction, t, unit, tensor) — {rows:,} rows. {tensor_note(rec)} "
               f"{inputs}")
    refused, no_csv = export.export_refusals(rows, export.export_columns(rec, _labels(inp)))
    if not tensors:
        refused = "Choose at least one tensor to export."
    for why in (refused, no_csv):
        if why:
            st.warning(why, icon=":material/block:")
    c1, c2 = st.columns(2)
    c1.download_button(
        "Recording as CSV", functools.partial(export.recording_csv, rec, step_labels=_labels(inp), tensors=tensors),
        f"{stem}-recording.csv", "text/csv",
        key="explorer_dl_csv", on_click="ignore", icon=":material/table_view:",
        disabled=refused is not None or no_csv is not None,
    )  # fmt: skip
    c2.download_button(
        "Recording as Parquet",
        functools.partial(export.recording_parquet, rec, step_labels=_labels(inp), tensors=tensors),
        f"{stem}-recording.parquet", "application/vnd.apache.parquet",
        key="explorer_dl_parquet", on_click="ignore", icon=":material/database:", disabled=refused is not None,
    )  # fmt: skip
    # the figures as the other tabs show them: their panel, units, tensors and "measure over" as picked there
    picked = _picked("explorer_panel", panel)
    shown = panels_of(rec) if picked == "all" or len(panels_of(rec)) == 1 else [panel]
    traced, units, drawn = traces_shown(rec, panel, loaded.key)
    labels = {"feature_names": inp.feature_names, "step_labels": _labels(inp)}
    figures = {
        "gate_heatmaps": functools.partial(gate_heatmaps, rec, shown, **labels),
        "unit_traces": functools.partial(unit_traces, rec, units, *traced, tensors=drawn, **labels),
        "conveyor_belt": functools.partial(conveyor_belt, rec, belt_unit_shown(rec, panel, loaded.key), *panel,
                                           **labels),
        "gate_saturation": functools.partial(_saturation, loaded, rec, _picked("explorer_sat_over", "batch")),
    }  # fmt: skip
    answer = _answer_figure(loaded, inp, rec)  # built once: a bare recurrent model has no task and no answer figure
    if answer is not None:
        figures["answer"] = answer
    second = second_input(loaded, inp)  # B as typed in "Compare two inputs" (its example until something is typed)
    if second is not None:
        figures["two_inputs"] = functools.partial(_two_inputs_figure, rec, inp, second, loaded, panel)
    st.markdown("Every figure of these tabs as a standalone HTML file, as the tabs show it (opens offline, "
                "interactive):")
    figure_downloads(figures, loaded.stem, "explorer_dl")


def cell_note(loaded: LoadedModel) -> None:
    """A GRU has other gates than an LSTM: say which, once, above its heatmaps; an untrained model's gates mean
    nothing yet: say that too."""
    if loaded.origin == "random":
        st.caption("An untrained model: random weights, so most gates sit near 0.5 and nothing here means anything "
                   "yet. Pick a shipped checkpoint in the sidebar to see gates that learned a task.")  # fmt: skip
    if loaded.config.cell != "gru":
        return
    st.info(
        "This is a GRU: one update gate z instead of the forget and input gates, a reset gate r, a candidate n and "
        f"one state h instead of c and h (the closing note of {post(4)}): h = (1 − z)·n + z·h(t−1). Below are its "
        "r, z, n and h; the conveyor belt shows how much of h each step keeps (z·h) and writes ((1 − z)·n).",
        icon=":material/info:",
    )


def reads_text(loaded: LoadedModel) -> bool:
    """Whether the model reads text (one step per character): the page then adds the text tabs."""
    return task_for(loaded.config).reads_text


def equations_available(loaded: LoadedModel) -> bool:
    return is_one_unit(loaded.model)

