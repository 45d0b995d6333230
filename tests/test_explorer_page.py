"""Smoke tests of the Gate Explorer page with Streamlit's AppTest: it runs standalone, every tab renders, and bad
input shows a message (never an exception) while the last valid recording stays on screen."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import plotly.graph_objects as go
import pytest
import torch
from streamlit.testing.v1 import AppTest

from lstm_viz.app.sources import LoadedModel, RandomSpec, random_model
from lstm_viz.app.ui import MODEL_KEY
from lstm_viz.explorer.ui import traced_by_default
from lstm_viz.tasks import ModelConfig, build_model

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "explorer.py")


def page_with(loaded: LoadedModel | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    if loaded is not None:
        at.session_state[MODEL_KEY] = loaded
    return at.run()


def task_model(kind: str, seed: int = 0, **options) -> LoadedModel:
    torch.manual_seed(seed)
    model = build_model(ModelConfig.default(kind, **options)).eval()
    return LoadedModel(model, f"test {kind}", f"test:{kind}:{seed}:{sorted(options.items())}", "session")


def charts(at: AppTest) -> dict[str, dict]:
    """Every Plotly chart on the page by key, as its figure JSON."""
    found = {}
    for element in at.get("plotly_chart"):
        spec = json.loads(element.proto.spec)
        found[element.proto.id.split("-")[-1] if not element.key else element.key] = spec
    return found


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_page_runs_standalone_with_a_default_model():
    at = page_with()
    no_exception(at)
    assert at.title[0].value == "Gate Explorer"
    assert "explorer_heatmaps" in charts(at)
    assert "explorer_traces" in charts(at)  # the first tab is open


def test_subtraction_input_answer_and_bad_input_keeps_the_last_recording():
    at = page_with(task_model("subtraction"))
    no_exception(at)
    box = at.text_input(key="explorer_text_subtraction_2")
    assert box.value == "123 - 61"
    assert at.dataframe, "the bit columns of a, b and a − b are shown"
    verdict = [*at.success, *at.error]
    assert any("123 − 61 = 62" in v.value for v in verdict)
    assert {"explorer_answer", "explorer_heatmaps"} <= set(charts(at))

    box.set_value("300 - 1").run()
    no_exception(at)
    assert any("does not fit in 8 bits" in e.value for e in at.error)
    assert any("last valid input" in c.value and "123 - 61" in c.value for c in at.caption)
    assert "explorer_heatmaps" in charts(at), "the last valid recording stays on screen"

    at.text_input(key="explorer_text_subtraction_2").set_value("abc").run()
    assert any("123 - 61" in e.value for e in at.error), "the message shows a valid example"
    at.text_input(key="explorer_text_subtraction_2").set_value("200 - 3").run()
    no_exception(at)
    assert not any("8 bits" in e.value for e in at.error)
    assert any("200 − 3 = 197" in v.value for v in [*at.success, *at.error])


@pytest.mark.parametrize("tab", ["Unit traces", "Conveyor belt", "Compare two inputs", "Gate saturation", "Export"])
def test_every_tab_renders_for_a_bidirectional_lstmp_stack(tab):
    loaded = random_model(RandomSpec(input_size=2, hidden_size=12, num_layers=2, bidirectional=True, proj_size=5))
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state[MODEL_KEY] = loaded
    at.session_state["explorer_tab"] = tab
    at.run()
    no_exception(at)
    assert not at.error
    found = charts(at)
    assert "explorer_heatmaps" in found
    expected = {
        "Unit traces": "explorer_traces",
        "Conveyor belt": "explorer_belt",
        "Compare two inputs": "explorer_two_inputs",
        "Gate saturation": "explorer_saturation",
    }.get(tab)
    if expected:
        assert expected in found
    else:
        labels = [b.proto.label for b in at.get("download_button")]
        assert "Recording as CSV" in labels and "Recording as Parquet" in labels
        assert len(labels) == 2 + 6 and "two inputs" in labels  # every tab's figure, A − B included


def test_intervene_differences_follow_the_change_to_its_layer_and_direction():
    """The panel shown above (layer 0 forward) cannot see a change made in layer 1, nor layer 1 forward one made in
    layer 1 backward: the difference heatmaps show where the change is made, and say so."""
    loaded = random_model(RandomSpec(input_size=2, hidden_size=12, num_layers=2, bidirectional=True))
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state[MODEL_KEY] = loaded
    at.session_state["explorer_tab"] = "Intervene"
    at.session_state["iv_name"] = "layer1.bwd.c"
    at.run()
    no_exception(at)
    assert any("those of layer 1 bwd, where the change is made: the panel shown above, layer 0 fwd, lies below it"
               in c.value for c in at.caption)
    assert "layer 1 bwd" in charts(at)["iv_differences"]["layout"]["title"]["text"]
    assert "no difference beyond rounding" not in charts(at)["iv_differences"]["layout"]["title"]["subtitle"]["text"]
    at.selectbox(key="iv_name").set_value("layer0.bwd.c").run()  # the panel's layer, the other direction
    assert any("layer 0 fwd, runs the other way and does not read it" in c.value for c in at.caption)
    at.selectbox(key="iv_name").set_value("layer0.fwd.c").run()  # the panel itself: nothing said
    assert not any("where the change is made" in c.value for c in at.caption)
    assert "layer 0 fwd" in charts(at)["iv_differences"]["layout"]["title"]["text"]


def test_export_takes_chosen_tensors_and_refuses_a_file_too_big_to_build(monkeypatch):
    """Export: a tensor selection sets the rows; past the cap the downloads are disabled and the page says what to
    do instead (the app would otherwise build a multi-GB file in memory: a 10,000-character text is 54 M rows)."""
    from lstm_viz.explorer import export
    from lstm_viz.viz.download import file_stem

    loaded = random_model(RandomSpec(input_size=2, hidden_size=12, num_layers=2, bidirectional=True))
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state[MODEL_KEY] = loaded
    at.session_state["explorer_tab"] = "Export"
    at.run()
    rows = [c.value for c in at.caption if "rows." in c.value]
    assert rows and "— 1,008 rows" in rows[0]  # 2 layers × 2 directions × 3 steps × 12 units × 7 tensors
    buttons = {b.proto.label: b.proto.disabled for b in at.get("download_button")}
    assert buttons["Recording as CSV"] is False and buttons["Recording as Parquet"] is False
    # files named after the model, so that downloads of several models tell themselves apart
    assert loaded.label.startswith("random RecordingLSTM(2, 12, num_layers=2, bidirectional)")
    assert file_stem(loaded.label) == "random-RecordingLSTM-2-12-num_layers-2-bidirectional-seed-0"
    assert file_stem("subtraction_lstm.pt — subtraction LSTM(2→32)") == "subtraction_lstm"
    assert file_stem("日本.pt — x") == "model"
    assert file_stem("my résumé (v2).pth — x") == "my-resume-v2" and file_stem("epoch=3.ckpt — y") == "epoch-3"
    long = "random RecordingLSTM(64, 512, num_layers=4, bidirectional, proj_size=100, bias=False), seed {}"
    assert file_stem(long.format(7)) != file_stem(long.format(8)) and file_stem(long.format(7)).endswith("seed-7")
    assert dataclasses.replace(loaded, module="encoder.lstm").stem == f"{loaded.stem}-encoder-lstm"  # its module
    at.multiselect(key="explorer_export_tensors").set_value(["c", "h"]).run()
    assert any("— 288 rows" in c.value for c in at.caption)
    monkeypatch.setattr(export, "MAX_CSV_BYTES", 10_000)  # 288 rows × (40 + 2 × 20) bytes: CSV only refused
    at.run()
    assert any("CSV: 288 rows would be" in w.value and "Parquet holds them" in w.value for w in at.warning)
    buttons = {b.proto.label: b.proto.disabled for b in at.get("download_button")}
    assert buttons["Recording as CSV"] is True and buttons["Recording as Parquet"] is False
    monkeypatch.setattr(export, "MAX_EXPORT_CELLS", 2000)  # the cap counts values: rows × (7 + the 2 inputs)
    at.run()
    no_exception(at)
    assert any("288 rows × 9 columns (2,592 values) is more than the app builds into one file (2,000 values)"
               in w.value for w in at.warning)  # fmt: skip
    buttons = {b.proto.label: b.proto.disabled for b in at.get("download_button")}
    assert buttons["Recording as CSV"] is True and buttons["Recording as Parquet"] is True
    at.multiselect(key="explorer_export_tensors").set_value([]).run()
    assert any("at least one tensor" in w.value for w in at.warning)


def test_all_layers_at_once_and_a_long_random_sequence_stay_small():
    loaded = random_model(RandomSpec(input_size=3, hidden_size=128, num_layers=2, seed=1))
    at = page_with(loaded)
    at.button_group(key="explorer_mode").set_value("random").run()
    at.text_input(key="explorer_len_sequence").input("2000").run()
    at.selectbox(key="explorer_panel").set_value("all").run()
    no_exception(at)
    heat = charts(at)["explorer_heatmaps"]
    assert len([t for t in heat["data"] if t["type"] == "heatmap"]) == 12
    subtitle = heat["layout"]["title"]["subtitle"]["text"]
    assert "time binned" in subtitle and "most active of 128 units" in subtitle
    sizes = [len(e.proto.spec) for e in at.get("plotly_chart")]
    assert sum(sizes) < 5_000_000


def test_unit_traces_follow_the_heatmaps_layer_until_another_is_picked():
    """The traces' own layer picker starts at the heatmaps' choice (layer 1 bwd here) and can trace any other."""
    loaded = random_model(RandomSpec(input_size=2, hidden_size=6, num_layers=2, bidirectional=True))
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state[MODEL_KEY] = loaded
    at.session_state["explorer_tab"] = "Unit traces"
    at.run()
    at.selectbox(key="explorer_panel").set_value((1, "bwd")).run()
    no_exception(at)
    picker = at.selectbox(key="explorer_traces_panel_1_bwd")
    assert picker.value == (1, "bwd") and picker.label == "Which layer's units to trace"

    def titles() -> list[str]:
        layout = charts(at)["explorer_traces"]["layout"]
        return [a["text"] for a in layout["annotations"] if a["text"].startswith("unit ")]

    assert titles() and all(t.endswith("layer 1 bwd") for t in titles())
    picker.set_value((0, "fwd")).run()
    no_exception(at)
    assert titles() and all(t.endswith("layer 0 fwd") for t in titles())


def test_long_inputs_trace_the_states_first_and_any_tensor_on_request():
    """Six lines over 224 characters were a tangle: over more than 64 steps the traces start with c and h alone (a
    GRU: h); a short input shows every gate. Each keeps its own choice."""
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state[MODEL_KEY] = random_model(RandomSpec(input_size=2, hidden_size=6))
    at.session_state["explorer_tab"] = "Unit traces"
    at.run()
    no_exception(at)

    def title() -> str:
        return charts(at)["explorer_traces"]["layout"]["title"]["text"]

    assert title().startswith("Unit traces: f, i, g, o, c, h of")  # the default input is short
    at.session_state["explorer_mode"] = "random"
    at.run()
    at.text_input(key="explorer_len_sequence").set_value("200").run()
    no_exception(at)
    assert title().startswith("Unit traces: c, h of")
    at.session_state["explorer_traces_q_lstm_long"] = ["g"]
    at.run()
    assert title().startswith("Unit traces: g of")
    at.text_input(key="explorer_len_sequence").set_value("20").run()
    assert title().startswith("Unit traces: f, i, g, o, c, h of")
    gru = build_model(ModelConfig.default("sequence", cell="gru", input_size=2, hidden_size=3))
    assert traced_by_default(gru.record(torch.randn(1, 65, 2))) == ["h"]
    assert traced_by_default(gru.record(torch.randn(1, 64, 2))) == ["r", "z", "n", "h"]


def test_statquest_model_gets_its_equations_with_numbers():
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state[MODEL_KEY] = task_model("statquest", seed=2)
    at.session_state["explorer_tab"] = "Equations with numbers"
    at.run()
    no_exception(at)
    assert len(at.latex) == 4  # one block per day of "0, 0.5, 0.25, 1"
    assert r"\mathit{wlr1}" in at.latex[0].value
    assert any("Company A" in v.value for v in [*at.success, *at.error])


def test_gru_is_explained_and_recorded():
    """A GRU is recorded (r, z, n, h): its heatmaps, answer and every tab, with a note on its gates."""
    at = page_with(task_model("subtraction", cell="gru"))
    no_exception(at)
    assert any("GRU" in i.value and "r, z, n and h" in i.value for i in at.info)
    found = charts(at)
    assert "explorer_heatmaps" in found and "explorer_answer" in found
    titles = " ".join(a["text"] for a in found["explorer_heatmaps"]["layout"]["annotations"])
    assert "z · update gate" in titles and "f · forget gate" not in titles
    for tab, key in (("Conveyor belt", "explorer_belt"), ("Gate saturation", "explorer_saturation"),
                     ("Compare two inputs", "explorer_two_inputs"), ("Unit traces", "explorer_traces")):
        at.session_state["explorer_tab"] = tab
        at.run()
        no_exception(at)
        assert key in charts(at), tab


def test_vector_input_with_the_wrong_width_is_refused_politely():
    at = page_with(random_model(RandomSpec(input_size=3, hidden_size=4)))
    at.text_area(key="explorer_text_sequence_3").set_value("1, 2\n3, 4").run()
    no_exception(at)
    assert any("expects 3 per step" in e.value for e in at.error)
    assert "explorer_heatmaps" in charts(at)


def test_shipped_regressor_reads_rows_of_ten_features():
    """Post 2's regressor is selectable: its default input is 5 rows of 10 numbers and its answer is shown."""
    from lstm_viz.app.sources import MODELS_DIR, load_shipped

    at = page_with(load_shipped(MODELS_DIR / "regressor.pt"))
    no_exception(at)
    box = at.text_area(key="explorer_text_regressor_10")
    assert len(box.value.splitlines()) == 5 and all(len(row.split(",")) == 10 for row in box.value.splitlines())
    assert any("The regressor outputs" in i.value for i in at.info)
    figures = charts(at)
    assert "explorer_heatmaps" in figures and "explorer_answer" in figures
    box.set_value("0, 1, 0, 1, 0, 1, 0, 1, 0, 1; 1, 1, 1, 1, 1, 1, 1, 1, 1, 1").run()
    no_exception(at)
    assert any("The regressor outputs" in i.value for i in at.info)


def test_intervene_tab_breaks_the_borrow_and_says_where():
    from lstm_viz.app.sources import MODELS_DIR, load_shipped

    at = page_with(load_shipped(MODELS_DIR / "subtraction_lstm.pt"))
    at.session_state["explorer_tab"] = "Intervene"
    at.run()
    no_exception(at)
    assert at.selectbox(key="iv_name").value == "layer0.fwd.c"
    at.text_input(key="iv_units_32").set_value("1").run()
    no_exception(at)
    assert any(s.value.startswith("**Before:**") and "62" in s.value for s in at.success)
    assert any(e.value.startswith("**After:**") and "wrong" in e.value for e in at.error)
    found = charts(at)
    assert {"iv_answer_before", "iv_answer_after", "iv_differences", "iv_spread"} <= set(found)
    downloads = {b.proto.label for b in at.get("download_button")}  # each figure as a standalone HTML file
    assert downloads == {"intervene answer before", "intervene answer after", "intervene differences",
                         "intervene spread"}  # fmt: skip
    from lstm_viz.interventions.ui import _titled  # a downloaded answer carries the verdict the page shows above it

    shown = found["iv_answer_after"]
    titled = _titled(go.Figure(shown), "After: 123 − 61 = 62; the model says 30: wrong")
    assert titled.layout.title.text.startswith("After: 123 − 61") and shown["layout"]["title"]["text"] == "After"
    at.text_input(key="iv_units_32").set_value("40").run()  # bad input: a message, the tab stays
    no_exception(at)
    assert any("outside 0…31" in e.value for e in at.error)
    # and the last valid intervention stays on show under it (its charts were gone, only the message left)
    assert any("Still showing the last valid intervention" in c.value for c in at.caption)
    assert {"iv_answer_before", "iv_answer_after", "iv_differences"} <= set(charts(at))
    at.text_input(key="iv_units_32").set_value("").run()  # empty reads as all, and the caption says so
    assert any("(the units box left empty: all)" in c.value for c in at.caption)
    at.text_input(key="iv_units_32").set_value("all").run()
    at.text_input(key="iv_steps").set_value("0").run()
    at.segmented_control(key="iv_kind").set_value("patch").run()  # from B = 123 - 60
    no_exception(at)
    assert any("replaced by their values on the second input B" in c.value for c in at.caption)
    # a forget gate set far outside 0…1 is allowed (a thought experiment) but said; inside, nothing is said
    at.selectbox(key="iv_name").set_value("layer0.fwd.f").run()
    at.segmented_control(key="iv_kind").set_value("constant").run()
    at.text_input(key="iv_constant").set_value("1000000").run()
    no_exception(at)
    assert any("1e+06 is outside 0…1, where f (forget gate, a sigmoid's output) always lies" in w.value
               for w in at.warning), [w.value for w in at.warning]  # fmt: skip
    at.text_input(key="iv_constant").set_value("0.9").run()
    assert not any("is outside" in w.value for w in at.warning)


def test_what_was_typed_in_a_tab_survives_a_look_at_another_tab():
    """Only the open tab's widgets are drawn, and Streamlit forgets undrawn widgets: a B typed in "Compare two inputs"
    was lost on a tab change — and "replaced by B" then patched with the example B — and Intervene's units reset."""
    from lstm_viz.app.sources import MODELS_DIR, load_shipped

    at = page_with(load_shipped(MODELS_DIR / "subtraction_lstm.pt"))
    at.session_state["explorer_tab"] = "Compare two inputs"
    at.run()
    at.text_input(key="explorer_b_subtraction").set_value("200 - 100").run()
    at.session_state["explorer_tab"] = "Intervene"
    at.run()
    no_exception(at)
    at.text_input(key="iv_units_32").set_value("1").run()
    at.segmented_control(key="iv_kind").set_value("patch").run()
    assert any("B = `200 - 100`" in c.value for c in at.caption), [c.value for c in at.caption]
    at.session_state["explorer_tab"] = "Unit traces"
    at.run()
    at.session_state["explorer_tab"] = "Intervene"
    at.run()
    no_exception(at)
    assert at.text_input(key="iv_units_32").value == "1" and at.segmented_control(key="iv_kind").value == "patch"
    at.session_state["explorer_tab"] = "Compare two inputs"
    at.run()
    assert at.text_input(key="explorer_b_subtraction").value == "200 - 100"
    assert not at.warning or all("Session State" not in w.value for w in at.warning)


def test_which_units_matter_tab_ranks_units():
    at = page_with(task_model("subtraction", hidden_size=4))
    at.session_state["explorer_tab"] = "Which units matter"
    at.run()
    no_exception(at)
    assert "iv_ablation" not in charts(at)  # nothing runs until asked
    at.button(key="iv_sweep_run").click().run()
    no_exception(at)
    assert "iv_ablation" in charts(at)
    assert [b.proto.label for b in at.get("download_button")] == ["unit ranking"]  # the chart as HTML
    assert any("layer0.fwd." in m.value and "borrow" in m.value for m in at.markdown)
    assert any("A unit's c and h rows match" in c.value for c in at.caption)  # zeroed at every step: one path


def test_the_top_ranked_unit_opens_in_intervene_alone():
    """The Intervene tab starts on every unit at once, which breaks any answer; the ranking offers its top unit
    there, set as the ranking set it, and Intervene says where single units are found."""
    from lstm_viz.app.sources import MODELS_DIR, load_shipped

    at = page_with(load_shipped(MODELS_DIR / "subtraction_lstm.pt"))
    at.session_state["explorer_tab"] = "Intervene"
    at.run()
    assert any("Which units matter" in c.value for c in at.caption)  # "all": where to find single units
    at.session_state["explorer_tab"] = "Which units matter"
    at.run()
    at.segmented_control(key="iv_sweep_value").set_value("mean").run()
    at.button(key="iv_sweep_run").click().run()
    no_exception(at)
    [button] = [b for b in at.button if b.key == "iv_sweep_try"]
    name, unit = button.label.removeprefix("Try ").removesuffix(" in Intervene").split(" unit ")
    button.click().run()
    no_exception(at)
    assert at.session_state["explorer_tab"] == "Intervene"
    assert at.selectbox(key="iv_name").value == name and at.text_input(key="iv_units_32").value == unit
    assert at.segmented_control(key="iv_kind").value == "mean"
    said = [c.value for c in at.caption]
    assert any(c.startswith(f"{name}: unit {unit} at every step") for c in said), said
    assert not any("To find single units that matter" in c.value for c in at.caption)  # the hint is for "all"
    assert any("the mean Which units matter ranks by" in c for c in said)  # the value it was ranked with


def test_another_model_of_the_same_size_starts_from_its_own_most_active_units():
    """The units chosen for the traces and the belt are kept per model: switching to another model with as many units
    preselects that model's most active units (it used to keep the last model's, under "the most active are
    preselected")."""
    first, second = task_model("subtraction", seed=0), task_model("subtraction", seed=1, cell="gru")
    assert first.model.config.hidden_size == second.model.config.hidden_size
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state[MODEL_KEY] = first
    at.session_state["explorer_tab"] = "Unit traces"
    at.run()
    [box] = [m for m in at.multiselect if m.key.startswith("explorer_units_")]
    box.set_value([5]).run()
    at.session_state[MODEL_KEY] = second
    at.run()
    no_exception(at)
    [box] = [m for m in at.multiselect if m.key.startswith("explorer_units_")]
    assert box.value != [5] and len(box.value) == 3  # the GRU's own three most active units
    at.session_state[MODEL_KEY] = first
    at.run()
    [box] = [m for m in at.multiselect if m.key.startswith("explorer_units_")]
    assert box.value == [5]  # and the first model's choice is still there


def test_compare_two_inputs_says_what_the_model_answers_to_each():
    """A and B's answers side by side above the differences (only the heatmaps were shown: whether B's answer was
    right had to be guessed)."""
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state[MODEL_KEY] = task_model("subtraction")
    at.session_state["explorer_tab"] = "Compare two inputs"
    at.run()
    no_exception(at)
    said = [m.value for m in [*at.success, *at.error, *at.info] if m.value.startswith(("**A:**", "**B:**"))]
    assert sorted(s[:6] for s in said) == ["**A:**", "**B:**"] and all("the model says" in s for s in said)


def test_the_exported_figures_are_the_ones_the_tabs_show(monkeypatch):
    """Export built the traces of the 3 most active units, the belt of the most active one and the saturation over
    the typed input, whatever the tabs showed; it now reads the tabs' choices — live, or kept while a tab is
    hidden — and their defaults where a tab was never opened."""
    from types import SimpleNamespace

    from lstm_viz.explorer import ui as ew

    loaded = random_model(RandomSpec(input_size=2, hidden_size=12, num_layers=2, bidirectional=True))
    rec = loaded.model.record(torch.randn(1, 5, 2))
    panel = (0, "fwd")
    state: dict = {}
    monkeypatch.setattr(ew, "st", SimpleNamespace(session_state=state))
    default = ew.most_active_units(rec, 0, "fwd", k=3)
    assert ew.traces_shown(rec, panel, loaded.key) == (panel, default, ew.traced_by_default(rec))
    panel_key, units_key, tensors_key = ew._traces_keys(rec, panel, loaded.key)
    state.update({panel_key: (1, "bwd"), tensors_key: ["c"], ew.KEPT: {units_key: [7, 2]}})  # units: tab hidden
    assert ew.traces_shown(rec, panel, loaded.key) == ((1, "bwd"), [7, 2], ["c"])
    state[units_key] = [99]  # not a unit of this model: the default again, not an error
    assert ew.traces_shown(rec, panel, loaded.key)[1] == ew.most_active_units(rec, 1, "bwd", k=3)
    assert ew.belt_unit_shown(rec, panel, loaded.key) == ew.most_active_units(rec, 0, "fwd", k=1)[0]
    state[ew._belt_key(rec, loaded.key)] = 11
    assert ew.belt_unit_shown(rec, panel, loaded.key) == 11


def test_a_figure_download_is_a_standalone_page_of_that_figure_built_at_the_click():
    """figure_downloads' data: the figure (or what a callable builds, only when asked) as an offline HTML page."""
    import plotly.graph_objects as go

    from lstm_viz.app.ui import _figure_bytes

    fig = go.Figure(go.Scatter(x=[0, 1], y=[0.25, 0.75], name="unit 7"))
    built = []
    page = _figure_bytes(lambda: built.append(1) or fig, "subtraction_lstm · spread").decode()
    assert built == [1] and "<title>subtraction_lstm · spread</title>" in page and '"unit 7"' in page
    assert "plotly.js v" in page and '<script src="http' not in page  # plotly.js inlined: opens offline
    assert '"unit 7"' in _figure_bytes(fig, "x").decode()  # a figure itself: no callable needed
