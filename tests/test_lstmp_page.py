"""Smoke tests of pages/lstm_vs_lstmp.py with Streamlit's AppTest (no browser; Plotly is not rendered here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "lstm_vs_lstmp.py")


@pytest.fixture
def at() -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=120)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def _tables(app: AppTest) -> list:
    return [df.value for df in app.dataframe]


def test_default_page_shows_real_numbers(at: AppTest) -> None:
    assert not at.error, [e.value for e in at.error]
    params, summary = _tables(at)[:2]
    total = params.set_index("tensor").loc["total"]
    assert (total["LSTM params"], total["LSTMP params"]) == (4608, 1792)  # LSTM(2, 32) vs proj_size 8
    assert params.set_index("tensor").at["weight_hr_l0", "LSTMP shape"] == "(8, 32)"
    rows = summary.set_index("measure")
    assert rows.at["parameters", "LSTMP"] == "1792"
    assert rows.at["c_n shape (batch 1, T 64)", "LSTMP"] == "(1, 1, 32)"
    assert float(rows.at["forward latency, median ms", "LSTM"]) > 0


def test_post_3_preset(at: AppTest) -> None:
    at.button(key="cmp_preset_post 3: ").click().run()
    assert not at.exception
    assert at.text_input(key="cmp_hidden").value == "5"
    params = _tables(at)[0].set_index("tensor")
    assert params.at["weight_ih_l0", "LSTMP shape"] == "(20, 4)"
    assert params.at["weight_hh_l0", "LSTMP shape"] == "(20, 3)"
    assert params.at["weight_hr_l0", "LSTMP shape"] == "(3, 5)"


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("cmp_proj", "32", "has to be smaller than hidden_size"),
        ("cmp_proj", "40", "has to be smaller than hidden_size"),
        ("cmp_hidden", "0", "hidden_size must be greater than zero"),
        ("cmp_input", "-3", "input_size must be greater than zero"),
        ("cmp_layers", "two", "num_layers must be a whole number"),
        ("cmp_proj", "0", "0 switches the projection off"),
        ("cmp_hidden", "", "hidden_size is empty"),
    ],
)
def test_bad_sizes_are_refused_and_nothing_is_lost(at: AppTest, key: str, value: str, fragment: str) -> None:
    at.text_input(key="cmp_lat_runs").set_value("12").run()
    at.text_input(key=key).set_value(value).run()
    assert not at.exception
    assert any(fragment in e.value for e in at.error), [e.value for e in at.error]
    assert any("e.g." in e.value or "Example" in e.value for e in at.error)
    assert at.text_input(key="cmp_lat_runs").value == "12"  # other inputs survive
    default = {"cmp_proj": "8", "cmp_hidden": "32", "cmp_input": "2", "cmp_layers": "1"}[key]
    at.text_input(key=key).set_value(default).run()
    assert not at.error and not at.exception
    assert _tables(at)[0].set_index("tensor").at["total", "LSTMP params"] == 1792


def test_bad_latency_settings_are_refused(at: AppTest) -> None:
    at.text_input(key="cmp_lat_T").set_value("long").run()
    assert any("sequence length must be a whole number" in e.value for e in at.error)
    at.text_input(key="cmp_lat_batch").set_value("1024").run()
    at.text_input(key="cmp_hidden").set_value("2048").run()  # a big pair, but still no measurement: T is bad
    at.text_input(key="cmp_lat_T").set_value("4096").run()
    assert any("Use a smaller batch or a shorter sequence" in e.value for e in at.error)
    assert not at.exception
    assert _tables(at)[0].set_index("tensor").at["weight_hh_l0", "LSTM shape"] == "(8192, 2048)"


def test_bigger_models_and_layers(at: AppTest) -> None:
    at.text_input(key="cmp_layers").set_value("2").run()
    at.checkbox(key="cmp_bidir").check().run()
    assert not at.exception and not at.error
    params = _tables(at)[0].set_index("tensor")
    assert params.at["weight_ih_l1_reverse", "LSTMP shape"] == "(128, 16)"  # layer 1 reads 2 directions × P
    assert params.at["weight_ih_l1_reverse", "LSTM shape"] == "(128, 64)"
    at.radio(key="cmp_source").set_value("untrained, sizes above").run()  # 2 layers × 2 directions to pick from
    assert [str(o) for o in at.selectbox(key="cmp_panel").options][-1] == "layer 1 bwd"
    at.selectbox(key="cmp_panel").set_value((1, "bwd")).run()
    assert not at.exception and not at.error


def _run_until_done(app: AppTest, limit: int = 60) -> None:
    for _ in range(limit):
        run = app.session_state["cmp_run"]
        if not run.running:
            return
        app.run()
    raise AssertionError("the paired run did not finish")


def test_train_both_live(at: AppTest) -> None:
    at.text_input(key="cmp_hidden").set_value("8").run()
    at.text_input(key="cmp_proj").set_value("2").run()
    at.text_input(key="cmp_epochs").set_value("2").run()
    assert any("Press Start" in i.value for i in at.info)
    at.button(key="cmp_start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    _run_until_done(at)
    assert not at.exception and not at.error
    run = at.session_state["cmp_run"]
    assert run.epoch == 2 and run.settings.hidden_size == 8 and run.settings.proj_size == 2
    final = next(df.value for df in at.dataframe if "first epoch at 100% test" in df.value.columns)
    assert list(final["model"]) == ["LSTM", "LSTMP"] and list(final["epochs"]) == [2, 2]
    assert final.set_index("model").at["LSTMP", "parameters"] < final.set_index("model").at["LSTM", "parameters"]
    # the trained pair is offered on the side-by-side tab, and answers there
    assert "trained on this page" in at.radio(key="cmp_source").options
    at.radio(key="cmp_source").set_value("trained on this page").run()
    assert not at.exception and not at.error
    assert any("epoch 2" in c.value for c in at.caption)
    at.button(key="cmp_more").click().run()
    assert at.session_state["cmp_run"].target == 12
    at.button(key="cmp_pause").click().run()
    assert at.session_state["cmp_run"].state.value == "paused"
    at.button(key="cmp_reset").click().run()
    assert "cmp_run" not in at.session_state
    assert at.text_input(key="cmp_hidden").value == "8"  # sizes survive


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [("cmp_epochs", "many", "epochs"), ("cmp_lr", "fast", "learning rate"), ("cmp_seed", "-1", "seed")],
)
def test_bad_training_settings_are_refused(at: AppTest, key: str, value: str, fragment: str) -> None:
    at.text_input(key=key).set_value(value).run()  # said at once, not only when Start is pressed
    assert not at.exception
    assert any("Start is refused" in e.value and fragment in e.value for e in at.error)
    assert at.button(key="cmp_start").disabled
    good = at.text_input(key=key).value
    at.text_input(key=key).set_value({"cmp_epochs": "3", "cmp_lr": "0.01", "cmp_seed": "1"}[key]).run()
    assert not at.button(key="cmp_start").disabled and good == value
    at.text_input(key=key).set_value(value)
    at.button(key="cmp_start").click()  # typed and clicked at once: the click still sees the bad value
    at.run()
    assert not at.exception and "cmp_run" not in at.session_state


def test_too_big_to_train_is_refused(at: AppTest) -> None:
    at.text_input(key="cmp_hidden").set_value("1024").run()
    at.button(key="cmp_start").click().run()
    assert any("live training here is capped" in e.value for e in at.error)


def test_same_input_side_by_side(at: AppTest) -> None:
    assert at.radio(key="cmp_source").value == "shipped checkpoints"
    assert sum("the model says 62: right" in s.value for s in at.success) == 2  # both shipped models
    at.text_input(key="cmp_text").set_value("300 - 5").run()
    assert any("This input cannot be used" in e.value and "Example" in e.value for e in at.error)
    at.text_input(key="cmp_text").set_value("200 - 13").run()
    assert not at.error and sum("= 187" in s.value for s in at.success) == 2
    at.radio(key="cmp_source").set_value("untrained, sizes above").run()
    assert not at.exception and any("Random weights" in c.value for c in at.caption)


def test_sweep_tab_shows_shipped_and_runs_on_demand(at: AppTest) -> None:
    shipped = next(df.value for df in at.dataframe if "source" in df.value.columns)
    assert (shipped["source"] == "shipped").all() and len(shipped) == 21
    at.text_input(key="cmp_sw_projs").set_value("1, 40").run()
    assert any("This sweep cannot run" in e.value and "outside 1..31" in e.value for e in at.error)
    at.text_input(key="cmp_sw_hidden").set_value("4").run()
    at.text_input(key="cmp_sw_projs").set_value("1").run()
    at.text_input(key="cmp_sw_epochs").set_value("1").run()
    at.text_input(key="cmp_sw_seeds").set_value("0").run()
    at.button(key="cmp_sw_run").click().run()
    assert not at.exception and not at.error
    computed = at.session_state["cmp_sweep"][1]
    assert list(computed["proj_size"]) == [0, 1] and (computed["source"] == "computed").all()
