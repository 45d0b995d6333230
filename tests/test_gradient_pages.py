"""AppTest smoke tests of the gradient-flow and one-cell pages: defaults, bad input, other models."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from streamlit.testing.v1 import AppTest

from lstm_viz.app.sources import LoadedModel
from lstm_viz.tasks import ModelConfig, build_model

ROOT = Path(__file__).resolve().parents[1]
FLOW = str(ROOT / "pages" / "gradient_flow.py")
CELL = str(ROOT / "pages" / "cell_step.py")
TIMEOUT = 180


def _flow_app() -> AppTest:
    return AppTest.from_file(FLOW, default_timeout=TIMEOUT).run()


def _ratios(at: AppTest) -> dict[str, float]:
    return {m.label.split(":")[0]: float(m.value) for m in at.metric}


def test_gradient_flow_defaults_show_the_rnn_vanishing_fastest():
    at = _flow_app()
    assert not at.exception and not at.error
    ratios = _ratios(at)
    assert list(ratios) == ["RNN (tanh)", "GRU", "LSTM"]
    assert ratios["RNN (tanh)"] < ratios["LSTM"] < 1
    assert any("float64" in c.value for c in at.caption)


def test_gradient_flow_bad_input_keeps_the_last_result():
    at = _flow_app()
    before = _ratios(at)
    at.text_input(key="gf_length").set_value("lots").run()
    assert not at.exception
    assert len(at.error) == 1 and "Sequence length" in at.error[0].value and "Example" in at.error[0].value
    assert _ratios(at) == before  # still drawn from the last valid settings
    at.text_input(key="gf_length").set_value("200")
    at.text_input(key="gf_fbias").set_value("banana")
    at.run()
    assert "forget-gate bias" in at.error[0].value and "Example" in at.error[0].value
    at.text_input(key="gf_fbias").set_value("default").run()
    assert not at.error and not at.exception and len(at.metric) == 3


def test_gradient_flow_first_input_bad_stops_cleanly():
    at = AppTest.from_file(FLOW, default_timeout=TIMEOUT)
    at.session_state["gf_hidden"] = "0"
    at.run()
    assert not at.exception and len(at.error) == 1 and "Hidden size" in at.error[0].value
    assert len(at.metric) == 0


def test_gradient_flow_long_sequence_and_higher_forget_bias():
    at = _flow_app()
    at.text_input(key="gf_length").set_value("500").run()
    low = _ratios(at)
    at.text_input(key="gf_fbias").set_value("3").run()
    high = _ratios(at)
    assert not at.exception and not at.error
    assert high["LSTM"] > low["LSTM"] * 1e3  # forget gates nearer 1 keep the cell path open
    assert high["RNN (tanh)"] == low["RNN (tanh)"]  # the bias only concerns the LSTM


def test_gradient_flow_trained_weights_report_training():
    at = _flow_app()
    at.radio(key="gf_weights").set_value("trained").run()
    at.text_input(key="gf_steps").set_value("15")
    at.text_input(key="gf_tlen").set_value("5")
    at.run()
    assert not at.exception and not at.error
    assert sum(" · training accuracy " in c.value for c in at.caption) == 3  # one per net
    reading = next(c.value for c in at.caption if c.value.startswith("Trained weights"))
    assert "on 5-step sequences" in reading and "this 200-step sequence" in reading and "‖∂L/∂c_t‖" in reading
    lstm = next(c.value for c in at.caption if "(‖∂L/∂c_t‖: **" in c.value)  # the LSTM's horizon along c too
    assert "training accuracy" in lstm
    at.text_input(key="gf_steps").set_value("-3").run()
    assert "Training steps" in at.error[0].value


def _badges(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if "badge[" in m.value]


def test_cell_step_defaults_show_equations_parity_and_rnn():
    at = AppTest.from_file(CELL, default_timeout=TIMEOUT).run()
    assert not at.exception and not at.error
    assert len(at.latex) >= 6
    badges = _badges(at)
    assert any("matches torch.nn.LSTM" in b for b in badges)
    assert any("RNNCell step by step = nn.RNN" in b for b in badges)
    first = at.latex[0].value
    at.slider(key="cs_t").set_value(0).run()
    assert at.latex[0].value != first and "f_t[0]" in at.latex[0].value
    x_table = next(d.value for d in at.dataframe if "x[t]" in d.value.columns)  # its rows are the input's features
    assert list(x_table.index) == ["a bit", "b bit"] and x_table.index.name == "feature"
    assert any(c.value.startswith("“pre”: a gate before its squashing") for c in at.caption)
    # every unit's numbers to the same four decimals (the table showed -0.229 beside -1.177 and 0.2894)
    step_table = next(d for d in at.dataframe if "f pre" in d.value.columns)
    formats = json.loads(step_table.proto.columns)
    assert all(formats[c]["type_config"]["format"] == "%.4f" for c in step_table.value.columns)


def test_cell_step_random_initial_state_like_post_3():
    at = AppTest.from_file(CELL, default_timeout=TIMEOUT).run()
    at.slider(key="cs_t").set_value(0).run()
    from_zeros = at.latex[0].value
    at.button_group(key="cs_state").set_value("random").run()
    assert not at.exception and not at.error
    assert any("matches torch.nn.LSTM" in b for b in _badges(at))
    assert at.latex[0].value != from_zeros  # h_{t-1} at t = 0 is now h0, not 0


def test_cell_step_bad_inputs_are_explained_and_the_rest_survives():
    at = AppTest.from_file(CELL, default_timeout=TIMEOUT).run()
    box = next(w for w in [*at.text_area, *at.text_input] if w.key.startswith("cs_text"))  # fits the model
    latex_before = [e.value for e in at.latex]
    box.set_value("1, 2, x").run()
    assert not at.exception and len(at.error) == 1 and "Example" in at.error[0].value
    assert any("RNNCell" in b for b in _badges(at))  # the RNN section still works
    assert any(c.value.startswith("Still showing the last valid input: `123 - 61`") for c in at.caption)
    assert [e.value for e in at.latex] == latex_before  # the steps of the last valid input stay
    at.text_input(key="cs_rnn_hidden_size").set_value("zero").run()
    assert len(at.error) == 2 and any("hidden\\_size" in e.value for e in at.error)  # shown as typed: _ escaped
    at.button_group(key="cs_mode").set_value("random").run()
    length = at.text_input(key="cs_len_subtraction")  # the default model: always 8 steps, said and not asked
    assert length.disabled and "always have 8 steps" in length.help and length.value == "8"
    assert any(c.value.startswith("Drawn: ") and " - " in c.value for c in at.caption)  # which a − b
    at.text_input(key="cs_rnn_hidden_size").set_value("7")
    at.run()
    assert not at.error and not at.exception and any("matches" in b for b in _badges(at))


def test_cell_step_random_text_honours_the_length_and_says_what_was_drawn():
    from lstm_viz.app.ui import MODEL_KEY

    torch.manual_seed(0)
    model = build_model(ModelConfig.default("charlm", hidden_size=8, input_size=4, num_layers=1)).eval()
    at = AppTest.from_file(CELL, default_timeout=TIMEOUT)
    at.session_state[MODEL_KEY] = LoadedModel(model, "test charlm", "test:charlm:cell", "session")
    at.run()
    at.button_group(key="cs_mode").set_value("random").run()
    at.text_input(key="cs_len_charlm").set_value("0").run()
    assert any("Length" in e.value for e in at.error)
    at.text_input(key="cs_len_charlm").set_value("12").run()
    assert not at.exception and not at.error
    assert any("the first 12 characters of validation file" in c.value for c in at.caption)
    assert at.slider(key="cs_t").max == 11  # 12 steps, not the whole file
    assert any("matches torch.nn.LSTM" in b for b in _badges(at))


def _with_model(model, label: str) -> AppTest:
    at = AppTest.from_file(CELL, default_timeout=TIMEOUT)
    at.session_state["lstm_viz.model"] = LoadedModel(model, label, f"test:{label}", "random")
    return at.run()


def test_cell_step_on_the_statquest_model_and_an_lstmp():
    torch.manual_seed(0)
    at = _with_model(build_model(ModelConfig.default("statquest")), "StatQuest")
    assert not at.exception and not at.error
    assert at.text_input(key="cs_text_statquest_1").value == "0, 0.5, 0.25, 1"
    assert "cdots" not in at.latex[0].value  # one input, one unit: every product is written out
    at = _with_model(build_model(ModelConfig.default("sequence", input_size=3, hidden_size=6, proj_size=2,
                                                     num_layers=2, bidirectional=True)), "LSTMP")  # fmt: skip
    assert not at.exception and not at.error
    assert any("W_{hr}" in x.value for x in at.latex)
    at.selectbox(key="cs_layer").set_value(1)
    at.selectbox(key="cs_dir").set_value(1)
    at.run()
    assert not at.exception and any("c_{t+1}" in x.value for x in at.latex)


def test_cell_step_on_the_shipped_text_model():
    """The LSTM of a text model reads the characters' embeddings, not their ids; its cell states reach ~55, where
    float32 rounding passes 1e-5 — the badge still says it matches (from zeros and from a random state)."""
    from lstm_viz.app.sources import load_shipped
    from lstm_viz.paths import MODELS_DIR

    at = AppTest.from_file(CELL, default_timeout=TIMEOUT)
    at.session_state["lstm_viz.model"] = load_shipped(MODELS_DIR / "charlm_python.pt")
    at.run()
    assert not at.exception and not at.error and len(at.latex) >= 6
    assert any("RecordingLSTM matches torch.nn.LSTM" in b for b in _badges(at))
    at.slider(key="cs_t").set_value(3).run()  # "def greet(…": t = 3 is the space
    assert any("embedding of the character '␣'" in c.value for c in at.caption)
    at.button_group(key="cs_state").set_value("random").run()
    assert not at.exception and any("RecordingLSTM matches torch.nn.LSTM" in b for b in _badges(at))
    at.button_group(key="cs_mode").set_value("random").run()
    at.text_input(key="cs_len_charlm").set_value("2000").run()  # the start of a validation file: 2,000 steps
    assert not at.exception and any("RecordingLSTM matches torch.nn.LSTM" in b for b in _badges(at))
    assert any("growing with √steps" in c.value for c in at.caption)


def test_cell_step_explains_that_a_gru_has_no_cell():
    at = _with_model(build_model(ModelConfig.default("subtraction", cell="gru", hidden_size=8)), "GRU")
    assert not at.exception
    assert any("GRU" in w.value for w in at.warning)
    assert any("RNNCell" in b for b in _badges(at))
