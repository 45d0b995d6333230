"""The Gate Explorer with a text model (AppTest): the text box, a random validation file, uploads, the answer
(next characters), the text coloured by units, the cell finder's three parts, generation, every other tab with the
characters on the time axis — and bad input of every kind shown as a message while the last text stays."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from lstm_viz.app.sources import LoadedModel
from lstm_viz.app.ui import MODEL_KEY
from lstm_viz.tasks import ModelConfig, build_model
from lstm_viz.tasks.charlm.inputs import EXAMPLE, MAX_TEXT_CHARS

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "explorer.py")
BOX = "explorer_text_charlm_8"


@pytest.fixture(scope="module")
def small_charlm() -> LoadedModel:
    torch.manual_seed(0)
    model = build_model(ModelConfig.default("charlm", hidden_size=24, input_size=8)).eval()
    return LoadedModel(model, "test charlm", "test:charlm:24", "session")


def page(loaded: LoadedModel, **state) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.session_state[MODEL_KEY] = loaded
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def charts(at: AppTest) -> dict[str, dict]:
    return {e.key or e.proto.id: json.loads(e.proto.spec) for e in at.get("plotly_chart")}


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_text_mode_records_the_example_and_colours_it(small_charlm):
    at = page(small_charlm)
    no_exception(at)
    assert at.text_area(key=BOX).value == EXAMPLE
    assert [t.label for t in at.tabs][:2] == ["Text by unit", "Find cells"]
    assert any("bits per character" in i.value and "expects" in i.value for i in at.info)  # the answer
    found = charts(at)
    assert {"explorer_answer", "explorer_heatmaps", "text_units_chart", "text_coloured_0"} <= set(found)
    heat = found["explorer_heatmaps"]["data"][0]
    assert heat["x"][0] in ("t 0 · 'd'", "t 0–1 · 'de'")  # the time axis carries the characters
    assert any("␣" in label for label in heat["x"][:10])
    text = found["text_coloured_0"]["data"][0]
    assert text["type"] == "heatmap" and text["text"][0][:3] == ["d", "e", "f"]
    assert "next:" in text["hovertext"][0][0] and "t 0 · 'd'" in text["hovertext"][0][0]
    assert at.multiselect(key="text_units").value  # the list's first unit is chosen


def test_several_units_one_under_another_and_a_gate_on_its_own_scale(small_charlm):
    at = page(small_charlm, text_units=["layer0.fwd.c[3]", "layer1.fwd.f[5]"])
    no_exception(at)
    found = charts(at)
    assert {"text_coloured_0", "text_coloured_1"} <= set(found)
    downloads = [b.proto.label for b in at.get("download_button")]  # the list and each text as HTML
    assert downloads == ["unit list", "text by layer0.fwd.c[3]", "text by layer1.fwd.f[5]"]
    assert found["text_coloured_1"]["data"][0]["zmin"] == 0 and found["text_coloured_1"]["data"][0]["zmax"] == 1
    c = found["text_coloured_0"]["data"][0]
    assert c["zmin"] == -c["zmax"]  # c: a diverging scale centred on 0


def test_ranking_by_a_feature_and_a_text_that_is_not_python(small_charlm):
    at = page(small_charlm, text_rank_by="in_string")
    no_exception(at)
    assert "track in_string best" in charts(at)["text_units_chart"]["layout"]["title"]["text"]
    at.text_area(key=BOX).set_value("just some words ( that do not close").run()
    no_exception(at)
    assert any("does not tokenize as Python" in w.value for w in at.warning)
    assert "text_coloured_0" in charts(at)  # the most active units instead


def test_find_cells_features_marks_and_bad_marks(small_charlm):
    at = page(small_charlm, explorer_tab="Find cells")
    no_exception(at)
    assert at.dataframe, "the ranking table"
    assert "text_feature_best_0" in charts(at)
    at.button_group(key="text_find_by").set_value("marks").run()
    no_exception(at)
    assert "text_marks_best" in charts(at)
    assert any("characters marked" in c.value for c in at.caption)
    at.text_input(key="text_mark_regex").set_value("(unclosed").run()
    no_exception(at)
    assert any("does not compile" in e.value for e in at.error)
    at.text_input(key="text_mark_regex").set_value("zzzz").run()
    assert any("matches nothing" in e.value for e in at.error)
    at.radio(key="text_mark_by").set_value("ranges").run()
    at.text_input(key="text_mark_ranges").set_value("5-99999").run()
    no_exception(at)
    assert any("outside the text" in e.value for e in at.error)
    at.text_input(key="text_mark_ranges").set_value("10-30").run()
    at.text_input(key="text_mark_threshold").set_value("abc").run()
    no_exception(at)
    assert any("threshold" in e.value.lower() for e in at.error)


def test_contexts_across_validation_files(small_charlm):
    at = page(small_charlm, explorer_tab="Find cells", text_find_by="contexts", text_context_unit="layer1.fwd.c[2]")
    no_exception(at)
    fig = charts(at)["text_contexts"]
    assert len(fig["layout"]["yaxis"]["ticktext"]) == 10 and ".py, line" in fig["layout"]["yaxis"]["ticktext"][0]
    at.text_input(key="text_context_unit").set_value("layer9.fwd.c[2]").run()
    no_exception(at)
    assert any("not a unit of this model" in e.value for e in at.error)
    kept = charts(at)["text_contexts"]  # the last valid unit's chart stays, and says so
    assert kept["layout"]["yaxis"]["ticktext"] == fig["layout"]["yaxis"]["ticktext"]
    assert any("last valid unit, layer1.fwd.c[2]" in c.value for c in at.caption)


def test_a_recorded_corpus_in_the_cell_finder(small_charlm, tmp_path, monkeypatch):
    """d) opens a folder written by record-corpus: top contexts, match, statistics; a missing folder says how to make
    one; a corpus of another model is named as such; a folder outside the app's and LSTM_VIZ_CORPUS's is refused."""
    from lstm_viz.cli import main
    from lstm_viz.corpus.model import as_text_model

    monkeypatch.setenv("LSTM_VIZ_CORPUS", str(tmp_path))  # the operator lets the app read corpora here

    model_file = tmp_path / "small.pt"
    twin = as_text_model(small_charlm.model)
    torch.save({"config": twin.config.to_dict(), "state_dict": twin.state_dict()}, model_file)
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "a.py").write_text("def f(x):\n    return (x, 'a')  # comment\n" * 20)
    out = tmp_path / "corpus"
    assert main(["record-corpus", str(model_file), "--text-dir", str(tmp_path / "texts"), "--out", str(out),
                 "--quiet"]) == 0  # fmt: skip
    at = page(small_charlm, explorer_tab="Find cells", text_find_by="corpus", text_corpus_dir=str(tmp_path / "none"))
    no_exception(at)
    assert any("No recorded corpus" in i.value for i in at.info)
    at.text_input(key="text_corpus_dir").set_value(str(out)).run()
    no_exception(at)
    assert not at.warning, [w.value for w in at.warning]  # recorded with this very model
    assert any("context" in f.value.columns for f in at.dataframe)  # the top contexts across the corpus
    at.button(key="text_corpus_find").click().run()
    no_exception(at)
    assert any("spans" in c.value for c in at.caption)
    other = LoadedModel(build_model(ModelConfig.default("charlm", hidden_size=24, input_size=8)).eval(), "other",
                        "test:charlm:other", "session")  # fmt: skip
    at = page(other, explorer_tab="Find cells", text_find_by="corpus", text_corpus_dir=str(out))
    no_exception(at)
    assert any("recorded with another model" in w.value for w in at.warning)
    monkeypatch.delenv("LSTM_VIZ_CORPUS")  # now tmp_path is outside what the app may read
    at = page(small_charlm, explorer_tab="Find cells", text_find_by="corpus", text_corpus_dir=str(out))
    no_exception(at)
    assert any("outside the folders this app reads corpora from" in e.value for e in at.error)
    assert not at.dataframe and not any("No recorded corpus" in i.value for i in at.info)  # nothing read, nothing said


def test_bad_text_keeps_the_last_one(small_charlm):
    at = page(small_charlm)
    at.text_area(key=BOX).set_value("   \n  ").run()
    no_exception(at)
    assert any("The text is empty" in e.value for e in at.error)
    assert any("last valid input" in c.value for c in at.caption)
    assert "explorer_heatmaps" in charts(at)
    at.text_area(key=BOX).set_value("x = 1\n" * (MAX_TEXT_CHARS // 4)).run()
    no_exception(at)
    assert any(f"at most {MAX_TEXT_CHARS:,}" in i.value for i in at.info)  # cut, and the page says so
    assert charts(at)["explorer_heatmaps"]["layout"]["title"]["subtitle"]["text"].startswith("time binned")


def test_random_validation_file_and_another_one(small_charlm):
    at = page(small_charlm, explorer_mode="random")
    no_exception(at)
    first = [c.value for c in at.caption if "validation split" in c.value]
    at.button(key="explorer_text_random").click().run()
    no_exception(at)
    assert "explorer_heatmaps" in charts(at)
    second = [c.value for c in at.caption if "validation split" in c.value]
    assert first and second and first != second and ".py" in second[0] and "(seed 1)" in second[0]  # the file named


def test_a_text_cut_at_the_length_limit_inside_brackets_still_has_its_features(small_charlm):
    """At most 10,000 characters are recorded, cut at a line end — here inside a list, as a long validation file's
    table often is. The cut text does not tokenize on its own; its features are those of the text so far."""
    long = "TABLE = [\n" + "    'a',  # one\n" * 1500 + "]\n"
    at = page(small_charlm, explorer_tab="Find cells")
    at.text_area(key=BOX).set_value(long).run()
    no_exception(at)
    assert not at.error and any("the first" in i.value and "are shown" in i.value for i in at.info)
    assert any("ranked by **AUROC" in m.value and "in_string" in m.value for m in at.markdown)


def test_every_other_tab_renders_for_a_text_model(small_charlm):
    for tab, key in (("Unit traces", "explorer_traces"), ("Conveyor belt", "explorer_belt"),
                     ("Compare two inputs", "explorer_two_inputs"), ("Gate saturation", "explorer_saturation")):
        at = page(small_charlm, explorer_tab=tab)
        no_exception(at)
        assert key in charts(at), tab
    at = page(small_charlm, explorer_tab="Export")
    no_exception(at)
    assert "Recording as Parquet" in [b.proto.label for b in at.get("download_button")]


def test_generation_writes_text(small_charlm):
    at = page(small_charlm)
    at.button(key="text_gen_go").click().run()
    no_exception(at)
    assert len(at.code) == 1 and len(at.code[0].value) == 300
    at.text_input(key="text_gen_temperature").set_value("hot").run()
    no_exception(at)
    assert any("temperature" in e.value.lower() for e in at.error)


def _tab_bar_path(at: AppTest) -> tuple[int, ...]:
    """Where the explorer's tab bar sits in the page's element tree (the browser's delta path)."""

    def walk(node, path):
        for index, child in getattr(node, "children", {}).items():
            if getattr(child, "type", None) == "tab_container":
                return (*path, index)
            found = walk(child, (*path, index))
            if found:
                return found
        return None

    found = walk(at.main, ())
    assert found, "no tab bar on the page"
    return found


def _node_at(at: AppTest, path: tuple[int, ...]):
    node = at.main
    for index in path:
        node = getattr(node, "children", {}).get(index)
        if node is None:
            return None
    return node


def test_a_switch_of_model_kind_draws_the_new_tab_bar_where_the_old_one_was_not(small_charlm):
    # The browser keeps a replaced block's children until new ones arrive; a text model's tab bar drawn where a
    # number model's was could re-open the old model's "Unit traces" while the server drew the first tab (a flake of
    # the browser tests under load). Each kind has its own place, and a switch starts on the new kind's first tab.
    subtraction = build_model(ModelConfig.default("subtraction")).eval()
    numbers = LoadedModel(subtraction, "test subtraction", "t:sub", "session")
    at = page(numbers, explorer_tab="Conveyor belt")
    no_exception(at)
    numbers_path = _tab_bar_path(at)
    assert at.tabs[1].label == "Conveyor belt" and at.session_state["explorer_tab"] == "Conveyor belt"
    at.session_state[MODEL_KEY] = small_charlm
    at.run()
    no_exception(at)
    text_path = _tab_bar_path(at)
    assert text_path[:-1] != numbers_path[:-1]  # another place for the bar: the old bar's children are not reused
    assert _node_at(at, numbers_path) is None or getattr(_node_at(at, numbers_path), "type", None) != "tab_container"
    assert at.session_state["explorer_tab"] == "Text by unit"
    assert "text_coloured_0" in charts(at)
    at.session_state[MODEL_KEY] = numbers
    at.run()
    no_exception(at)
    assert _tab_bar_path(at) == numbers_path and at.session_state["explorer_tab"] == "Unit traces"


def test_intervene_starts_at_the_unit_text_by_unit_shows(small_charlm):
    """A text model's Intervene tab opens on the one unit the coloured text showed, not on all of a layer's c (which
    only garbles the text); the user's own later choice is kept, and a unit this model lacks is not taken."""
    at = page(small_charlm)  # Text by unit: its first ranked unit is the chosen one
    chosen = at.session_state["text_chosen_unit"]
    name, unit = chosen.rstrip("]").split("[")
    at.session_state["explorer_tab"] = "Intervene"
    at.run()
    no_exception(at)
    assert at.selectbox(key="iv_name").value == name and at.text_input(key="iv_units_24").value == unit
    assert any(f"unit {unit}" in c.value for c in at.caption)  # what is done, in words
    at.text_input(key="iv_units_24").set_value("all").run()
    at.session_state["explorer_tab"] = "Text by unit"
    at.run()
    at.session_state["explorer_tab"] = "Intervene"
    at.run()
    assert at.text_input(key="iv_units_24").value == "all"  # the user's choice stays

    fresh = page(small_charlm, text_chosen_unit="layer0.fwd.c[999]", explorer_tab="Intervene")
    no_exception(fresh)
    assert fresh.selectbox(key="iv_name").value == "layer0.fwd.c"
    assert fresh.text_input(key="iv_units_24").value == "all"


def test_intervene_shows_the_differences_of_the_layer_it_changes(small_charlm):
    """A change in layer 1 never reaches layer 0: the difference heatmaps of the page's panel (layer 0) were all
    zero. They now show the changed layer, and say why."""
    assert small_charlm.config.num_layers == 2
    at = page(small_charlm, text_chosen_unit="layer1.fwd.c[3]", explorer_tab="Intervene")
    no_exception(at)
    assert any("those of layer 1 fwd, where the change is made: the panel shown above, layer 0 fwd, lies below it"
               in c.value for c in at.caption)
    diff = charts(at)["iv_differences"]
    assert "layer 1 fwd" in diff["layout"]["title"]["text"]
    at.selectbox(key="iv_name").set_value("layer0.fwd.c").run()  # below or at the panel: the panel, nothing said
    assert not any("where the change is made" in c.value for c in at.caption)
    assert "layer 0 fwd" in charts(at)["iv_differences"]["layout"]["title"]["text"]
