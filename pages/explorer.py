"""Gate Explorer: record the chosen model on a sequence you type and see f, i, g, o, c, h at every step."""

import streamlit as st

from lstm_viz.app.ui import (
    OPEN_TAB,
    cached_recording,
    current_model,
    ensure_app_shell,
    keep_tab_widgets,
    keep_widget,
)
from lstm_viz.core.device import describe_device
from lstm_viz.explorer import ui as ew
from lstm_viz.interventions import ui as iv
from lstm_viz.text import ui as tw

ensure_app_shell()
loaded = current_model()
st.title("Gate Explorer")
st.caption(
    f"Model: **{loaded.label}** (choose another in the sidebar) · tensors on {describe_device()} · "
    "hover any cell for t, unit, input and the exact value"
)

inp = ew.input_section(loaded)
if inp is None:
    st.stop()
rec = cached_recording(loaded, inp.x)
ew.answer_section(loaded, inp, rec)
text = ew.reads_text(loaded)
if text:
    tw.generate_section(loaded, inp)
st.subheader(f"Gates and states: {', '.join(rec.tensor_names)}")
ew.cell_note(loaded)
panel = ew.heatmap_section(rec, inp)

names = [*tw.TABS] if text else []  # a text model: the text coloured by units and the cell finder come first
names += ["Unit traces", "Conveyor belt", "Compare two inputs", "Intervene", "Which units matter", "Gate saturation"]
if ew.equations_available(loaded):
    names.append("Equations with numbers")
names.append("Export")
keep_widget("explorer_tab", names[0], allowed=names)  # the open tab survives a visit to another page
if st.session_state.get("explorer_tab_names", names) != names:  # another kind of model (other tabs): its first
    st.session_state["explorer_tab"] = names[0]
if st.session_state.get(OPEN_TAB) in names:  # asked for by a button elsewhere (Home's "Try first")
    st.session_state["explorer_tab"] = st.session_state.pop(OPEN_TAB)
# Text models' tabs and the others' each have their own place on the page. Drawn in the same place, a text model's
# tab bar would start in the browser with the old one's tabs (a replaced block keeps its children until new ones
# arrive) and, as they came in, could re-open the old first tab, "Unit traces", which text models have too — the
# page then showed an empty "Unit traces" while the server drew "Text by unit" (seen under load).
places = {"text": st.empty(), "numbers": st.empty()}
with places["text" if text else "numbers"].container():
    tabs = dict(zip(names, st.tabs(names, key="explorer_tab", on_change="rerun"), strict=True))
# Recorded only once the tabs are drawn: a run stopped before (the browser asked for a rerun meanwhile, sending the old
# model's open tab, "Unit traces" say, which the new tabs have too) must start on the first tab again next time.
st.session_state["explorer_tab_names"] = names
keep_tab_widgets(tabs, {**ew.TAB_KEYS, **tw.TAB_KEYS, "Intervene": iv.INTERVENE_KEYS,
                        "Which units matter": iv.ABLATION_KEYS}, ew.KEPT)  # fmt: skip

if text:
    with tabs[tw.TABS[0]]:
        if tabs[tw.TABS[0]].open:
            tw.coloured_text_section(loaded, inp, rec)
    with tabs[tw.TABS[1]]:
        if tabs[tw.TABS[1]].open:
            tw.find_cells_section(loaded, inp, rec)
with tabs["Unit traces"]:
    if tabs["Unit traces"].open:
        ew.traces_section(rec, inp, panel, loaded.key)
with tabs["Conveyor belt"]:
    if tabs["Conveyor belt"].open:
        ew.belt_section(rec, inp, panel, loaded.key)
with tabs["Compare two inputs"]:
    if tabs["Compare two inputs"].open:
        ew.two_inputs_section(loaded, rec, inp, panel)
with tabs["Intervene"]:
    if tabs["Intervene"].open:
        iv.intervene_section(loaded, inp, rec, panel, ew.second_input(loaded, inp))
with tabs["Which units matter"]:
    if tabs["Which units matter"].open:
        iv.ablation_section(loaded)
with tabs["Gate saturation"]:
    if tabs["Gate saturation"].open:
        ew.saturation_section(loaded, rec)
if "Equations with numbers" in tabs:
    with tabs["Equations with numbers"]:
        if tabs["Equations with numbers"].open:
            ew.equations_section(loaded, rec)
with tabs["Export"]:
    if tabs["Export"].open:
        ew.export_section(rec, inp, panel, loaded)
