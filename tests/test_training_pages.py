"""The live-training pages without a browser: AppTest with tiny epoch counts, driving the session's LiveRun."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lstm_viz.training.live import LiveRun, RunState

PAGES = Path(__file__).resolve().parents[1] / "pages"
TIMEOUT = 180


def open_page(name: str) -> AppTest:
    at = AppTest.from_file(str(PAGES / name), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def train_until_done(at: AppTest, run: LiveRun, max_runs: int = 60) -> None:
    """AppTest does not rerun fragments on a timer: each ``at.run()`` is one page run, i.e. one training tick."""
    for _ in range(max_runs):
        if not run.running:
            return
        at.run()
        assert not at.exception, at.exception
    raise AssertionError(f"still running after {max_runs} ticks at epoch {run.epoch}")


def charts(at: AppTest) -> int:
    return len(at.get("plotly_chart"))


@pytest.fixture
def toy() -> AppTest:
    return open_page("train_toy.py")


@pytest.fixture
def sub() -> AppTest:
    return open_page("train_subtraction.py")


# ---- toy page ---------------------------------------------------------------------------------------------------
def test_toy_page_opens_idle_with_the_seed_recipe(toy):
    run = toy.session_state["toy_run"]
    assert isinstance(run, LiveRun) and run.state is RunState.IDLE
    assert toy.number_input(key="toy_lr").value == 0.001 and toy.number_input(key="toy_epochs").value == 2000
    labels = [b.label for b in toy.button]
    for label in ("Start", "Pause", "Resume", "Stop", "Reset", "Continue N more"):
        assert label in labels
    assert toy.button(key="toy_run_pause").disabled and toy.button(key="toy_run_reset").disabled
    assert charts(toy) == 1  # the empty TensorBoard panels, saying "press Start"


def test_toy_start_trains_to_the_target_and_draws_curves_gates_and_weights(toy):
    toy.number_input(key="toy_epochs").set_value(6).run()
    toy.button(key="toy_run_start").click().run()
    run = toy.session_state["toy_run"]
    assert run.trainer is not None and run.lr == 0.001
    train_until_done(toy, run)
    assert run.state is RunState.FINISHED and run.epoch == 6
    assert [row["epoch"] for row in run.history] == [1, 2, 3, 4, 5, 6]
    assert {"loss", "out_0", "out_1"} <= set(run.history[-1])
    assert charts(toy) == 3  # curves, the gate view and the twelve weights
    assert run.probes and "wlr1" in run.probes[-1]
    assert "epoch 6 / 6" in toy.get("progress")[0].proto.text


def test_toy_lr_and_epochs_change_mid_run_without_a_new_model(toy):
    toy.number_input(key="toy_epochs").set_value(100_000).run()
    toy.button(key="toy_run_start").click().run()
    run = toy.session_state["toy_run"]
    trainer = run.trainer
    toy.number_input(key="toy_lr").set_value(0.02).run()
    assert run.trainer is trainer and run.lr == 0.02
    assert trainer.optimizer.param_groups[0]["lr"] == 0.02
    toy.run()
    assert run.history[-1]["lr"] == 0.02
    toy.number_input(key="toy_epochs").set_value(run.epoch + 2).run()
    train_until_done(toy, run)
    assert run.state is RunState.FINISHED and run.trainer is trainer


def test_toy_pause_resume_stop_continue_reset(toy):
    toy.number_input(key="toy_epochs").set_value(100_000).run()
    toy.button(key="toy_run_start").click().run()
    run = toy.session_state["toy_run"]
    toy.button(key="toy_run_pause").click().run()
    assert run.state is RunState.PAUSED
    paused_at = run.epoch
    toy.run()
    assert run.epoch == paused_at  # no training while paused
    toy.button(key="toy_run_resume").click().run()
    assert run.epoch > paused_at
    toy.button(key="toy_run_stop").click().run()
    assert run.state is RunState.STOPPED
    stopped_at = run.epoch
    toy.number_input(key="toy_run_more").set_value(3).run()
    toy.button(key="toy_run_continue").click().run()
    assert run.target == stopped_at + 3 and toy.number_input(key="toy_epochs").value == stopped_at + 3
    train_until_done(toy, run)
    assert run.epoch == stopped_at + 3 and len(run.history) == stopped_at + 3
    toy.button(key="toy_run_reset").click().run()
    assert run.state is RunState.IDLE and run.trainer is None and charts(toy) == 1


def test_toy_switching_to_nn_lstm_applies_its_recipe(toy):
    toy.radio(key="toy_model").set_value("nn.LSTM(1, 1)").run()
    assert toy.number_input(key="toy_lr").value == 0.1 and toy.number_input(key="toy_epochs").value == 300
    toy.number_input(key="toy_epochs").set_value(3).run()
    toy.button(key="toy_run_start").click().run()
    run = toy.session_state["toy_run"]
    train_until_done(toy, run)
    assert type(run.model).__name__ == "ToyLSTM" and run.lr == 0.1
    assert charts(toy) == 2  # curves and gates; no named weights for nn.LSTM


def test_toy_same_seed_same_start(toy):
    runs = []
    for _ in range(2):
        at = open_page("train_toy.py")
        at.number_input(key="toy_epochs").set_value(2).run()
        at.button(key="toy_run_start").click().run()
        run = at.session_state["toy_run"]
        train_until_done(at, run)
        runs.append(run)
    assert runs[0].history[-1]["loss"] == runs[1].history[-1]["loss"]
    assert runs[0].model is not runs[1].model  # each session has its own model


def test_leaving_the_page_and_coming_back_finds_the_run_and_the_settings():
    at = AppTest.from_file(str(PAGES.parent / "app.py"), default_timeout=TIMEOUT)
    at.run()
    at.switch_page("pages/train_toy.py").run()
    at.number_input(key="toy_lr").set_value(0.005).run()
    at.number_input(key="toy_epochs").set_value(100_000).run()
    at.button(key="toy_run_start").click().run()
    run = at.session_state["toy_run"]
    at.switch_page("pages/home.py").run()
    assert "toy_lr" not in at.session_state  # Streamlit forgot the widget...
    left_at = run.epoch
    at.switch_page("pages/train_toy.py").run()
    assert not at.exception
    assert at.session_state["toy_run"] is run and run.epoch > left_at  # ...the run went on where it was
    assert at.number_input(key="toy_lr").value == 0.005 and at.number_input(key="toy_epochs").value == 100_000


def test_toy_save_into_models_never_overwrites(toy, tmp_path, monkeypatch):
    import lstm_viz.app.sources
    from lstm_viz.training.checkpoints import load_checkpoint

    monkeypatch.setattr(lstm_viz.app.sources, "MODELS_DIR", tmp_path)
    toy.number_input(key="toy_epochs").set_value(2).run()
    toy.button(key="toy_run_start").click().run()
    train_until_done(toy, toy.session_state["toy_run"])
    toy.text_input(key="toy_run_save_name").input("my toy/../model").run()
    toy.button(key="toy_run_save").click().run()
    toy.button(key="toy_run_save").click().run()
    saved = sorted(p.name for p in tmp_path.glob("*.pt"))
    assert saved == ["trained-my-toy-model-2.pt", "trained-my-toy-model.pt"]
    assert "models/trained-my-toy-model-2.pt" in toy.success[-1].value
    checkpoint = load_checkpoint(tmp_path / "trained-my-toy-model.pt")
    assert checkpoint.config.kind == "statquest" and len(checkpoint.history) == 2
    assert len(toy.get("download_button")) == 1  # the same file as a download (bytes made on click)


def test_toy_open_on_the_explorer_hands_over_a_copy(toy):
    from lstm_viz.app.ui import MODEL_KEY, SESSION_MODEL_KEY

    toy.number_input(key="toy_epochs").set_value(2).run()
    toy.button(key="toy_run_start").click().run()
    run = toy.session_state["toy_run"]
    train_until_done(toy, run)
    toy.button(key="toy_run_explore").click().run()
    loaded = toy.session_state[SESSION_MODEL_KEY]
    assert toy.session_state[MODEL_KEY] is loaded and loaded.model is not run.model
    assert loaded.model.named_weights() == run.model.named_weights()
    assert "epoch 2" in loaded.label


# ---- subtraction page -------------------------------------------------------------------------------------------
def test_subtraction_page_shows_the_dataset(sub):
    assert sub.session_state["sub_run"].state is RunState.IDLE
    metrics = {m.label: m.value for m in sub.metric}
    assert metrics["train samples"] == "9,000" and metrics["test samples"] == "1,000"
    table = sub.dataframe[0].value
    assert table["sample"].str.fullmatch(r"\d+ - \d+ = \d+").all()
    a, b, c = (int(v) for v in table["sample"][0].replace("=", "-").split(" - "))
    assert a - b == c
    assert table["a bits (t0…t7)"][0] == " ".join(str((a >> t) & 1) for t in range(8))
    assert sub.number_input(key="sub_lr").value == 0.01 and sub.number_input(key="sub_epochs").value == 100


def test_subtraction_trains_and_answers_any_a_minus_b(sub):
    sub.number_input(key="sub_hidden").set_value(8).run()
    sub.number_input(key="sub_epochs").set_value(2).run()
    sub.button(key="sub_run_start").click().run()
    run = sub.session_state["sub_run"]
    train_until_done(sub, run)
    assert run.epoch == 2 and run.model.config.hidden_size == 8
    row = run.history[-1]
    for key in ("train_bit_acc", "train_exact_match", "test_bit_acc", "test_exact_match"):
        assert 0.0 <= row[key] <= 1.0
    assert [p["epoch"] for p in run.probes] == [1, 2]  # gate saturation after every epoch
    assert len(run.probes[-1]["saturation"]["f"]["low"]) == 8
    # curves, absolute errors, saturation, then the try box: the answer's bits and the gate heatmaps
    assert charts(sub) == 5
    assert "the model at epoch 2" in (sub.success or sub.warning)[0].value
    sub.text_input(key="sub_try").input("300 - 1").run()
    assert "does not fit in 8 bits" in sub.error[0].value and not sub.exception
    sub.text_input(key="sub_try").input("ten - 2").run()
    assert sub.error and "Example" in sub.error[0].value


def test_subtraction_lstmp_and_gru(sub):
    sub.number_input(key="sub_hidden").set_value(8).run()
    sub.number_input(key="sub_proj").set_value(8).run()
    assert any("proj_size (8) must be smaller" in e.value for e in sub.error)
    sub.number_input(key="sub_proj").set_value(3).run()
    sub.number_input(key="sub_epochs").set_value(1).run()
    sub.button(key="sub_run_start").click().run()
    run = sub.session_state["sub_run"]
    train_until_done(sub, run)
    assert run.model.config.proj_size == 3
    sub.radio(key="sub_cell").set_value("GRU").run()
    sub.button(key="sub_run_start").click().run()  # "Start over" with the new settings
    train_until_done(sub, run)
    assert run.model.config.cell == "gru" and run.probes == []
    assert any("A GRU has no forget" in i.value for i in sub.info)


def test_subtraction_bad_start_settings_give_a_message_not_a_traceback(sub):
    sub.number_input(key="sub_hidden").set_value(4).run()
    sub.number_input(key="sub_proj").set_value(4).run()
    sub.button(key="sub_run_start").click().run()
    assert not sub.exception
    assert any("proj_size" in e.value for e in sub.error)
    assert sub.session_state["sub_run"].state is RunState.IDLE
