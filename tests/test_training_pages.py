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
    assert toy.text_input(key="toy_lr").value == "0.001" and toy.text_input(key="toy_epochs").value == "2000"
    labels = [b.label for b in toy.button]
    for label in ("Start", "Pause", "Resume", "Stop", "Reset", "Continue 3,000 more"):  # N: the box's 3,000
        assert label in labels
    assert toy.button(key="toy_run_pause").disabled and toy.button(key="toy_run_reset").disabled
    assert charts(toy) == 1  # the empty TensorBoard panels, saying "press Start"


def test_toy_start_trains_to_the_target_and_draws_curves_gates_and_weights(toy):
    toy.text_input(key="toy_epochs").input(str(6)).run()
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
    toy.text_input(key="toy_epochs").input(str(100_000)).run()
    toy.button(key="toy_run_start").click().run()
    run = toy.session_state["toy_run"]
    trainer = run.trainer
    toy.text_input(key="toy_lr").input(str(0.02)).run()
    assert run.trainer is trainer and run.lr == 0.02
    assert trainer.optimizer.param_groups[0]["lr"] == 0.02
    toy.run()
    assert run.history[-1]["lr"] == 0.02
    toy.text_input(key="toy_lr").input("abc").run()  # refused mid-run: the run goes on with 0.02
    assert run.lr == 0.02 and any("the run goes on with the settings in use" in c.value for c in toy.caption)
    toy.text_input(key="toy_lr").input(str(0.02)).run()
    toy.text_input(key="toy_epochs").input(str(run.epoch + 2)).run()
    train_until_done(toy, run)
    assert run.state is RunState.FINISHED and run.trainer is trainer


def test_toy_says_the_post_recipe_is_half_done_after_its_first_2000_epochs(toy):
    toy.button_group(key="toy_speed").set_value("fast").run()
    toy.button(key="toy_run_start").click().run()
    run = toy.session_state["toy_run"]
    train_until_done(toy, run)
    assert run.epoch == 2000 and any("Half of post 0's story" in i.value for i in toy.info)
    toy.button(key="toy_run_continue").click().run()
    train_until_done(toy, run)
    assert run.epoch == 5000 and not any("Half of post 0's story" in i.value for i in toy.info)


def test_toy_pause_resume_stop_continue_reset(toy):
    toy.text_input(key="toy_epochs").input(str(100_000)).run()
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
    toy.text_input(key="toy_run_more").input(str(3)).run()
    toy.button(key="toy_run_continue").click().run()
    assert run.target == stopped_at + 3 and toy.text_input(key="toy_epochs").value == str(stopped_at + 3)
    train_until_done(toy, run)
    assert run.epoch == stopped_at + 3 and len(run.history) == stopped_at + 3
    toy.button(key="toy_run_reset").click().run()
    assert run.state is RunState.IDLE and run.trainer is None and charts(toy) == 1


def test_toy_switching_to_nn_lstm_applies_its_recipe(toy):
    toy.radio(key="toy_model").set_value("nn.LSTM(1, 1)").run()
    assert toy.text_input(key="toy_lr").value == "0.1" and toy.text_input(key="toy_epochs").value == "300"
    toy.text_input(key="toy_epochs").input(str(3)).run()
    toy.button(key="toy_run_start").click().run()
    run = toy.session_state["toy_run"]
    train_until_done(toy, run)
    assert type(run.model).__name__ == "ToyLSTM" and run.lr == 0.1
    assert charts(toy) == 2  # curves and gates; no named weights for nn.LSTM


def test_toy_picking_another_model_or_recipe_mid_run_waits_for_start(toy):
    toy.text_input(key="toy_epochs").input(str(100_000)).run()
    toy.button(key="toy_run_start").click().run()
    run = toy.session_state["toy_run"]
    trainer, lr, target = run.trainer, run.lr, run.target
    toy.radio(key="toy_model").set_value("nn.LSTM(1, 1)").run()  # its recipe: lr 0.1, 300 epochs — for Start
    assert toy.text_input(key="toy_lr").value == "0.1" and toy.text_input(key="toy_epochs").value == "300"
    assert run.trainer is trainer and run.running and (run.lr, run.target) == (lr, target)
    assert trainer.optimizer.param_groups[0]["lr"] == lr
    toy.selectbox(key="toy_recipe").select_index(1).run()
    assert run.trainer is trainer and run.running and (run.lr, run.target) == (lr, target)
    toy.button(key="toy_run_stop").click().run()
    toy.button(key="toy_run_start").click().run()  # Start over: now the new model with the boxes' recipe
    assert type(run.model).__name__ == "ToyLSTM" and run.lr == float(toy.text_input(key="toy_lr").value)


def test_toy_same_seed_same_start(toy):
    runs = []
    for _ in range(2):
        at = open_page("train_toy.py")
        at.text_input(key="toy_epochs").input(str(2)).run()
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
    at.text_input(key="toy_lr").input(str(0.005)).run()
    at.text_input(key="toy_epochs").input(str(100_000)).run()
    at.button(key="toy_run_start").click().run()
    run = at.session_state["toy_run"]
    at.switch_page("pages/home.py").run()
    assert "toy_lr" not in at.session_state  # Streamlit forgot the widget...
    left_at = run.epoch
    at.switch_page("pages/train_toy.py").run()
    assert not at.exception
    assert at.session_state["toy_run"] is run and run.epoch > left_at  # ...the run went on where it was
    assert at.text_input(key="toy_lr").value == "0.005" and at.text_input(key="toy_epochs").value == "100000"


def test_toy_keep_in_session_never_writes_to_disk_and_names_follow_the_epoch(toy, tmp_path, monkeypatch):
    import lstm_viz.app.sources
    from lstm_viz.app.ui import SAVES_KEY
    from lstm_viz.training.checkpoints import load_checkpoint

    monkeypatch.delenv("LSTM_VIZ_SAVE_DIR", raising=False)
    monkeypatch.setattr(lstm_viz.app.sources, "MODELS_DIR", tmp_path)
    toy.text_input(key="toy_epochs").input("2").run()
    toy.button(key="toy_run_start").click().run()
    run = toy.session_state["toy_run"]
    train_until_done(toy, run)
    assert not [b for b in toy.button if b.key == "toy_run_server_save"]  # off unless the operator allows it
    toy.button(key="toy_run_save").click().run()  # empty name: the epoch of the click
    assert "trained-toy-statquest-e2.pt" in toy.success[-1].value
    toy.text_input(key="toy_run_more").input("3").run()
    toy.button(key="toy_run_continue").click().run()
    train_until_done(toy, run)
    toy.button(key="toy_run_save").click().run()
    assert "trained-toy-statquest-e5.pt" in toy.success[-1].value  # not the epoch the section first appeared at
    toy.text_input(key="toy_run_save_name").input("my toy/../model").run()
    toy.button(key="toy_run_save").click().run()
    toy.button(key="toy_run_save").click().run()
    saves = toy.session_state[SAVES_KEY]
    assert saves.names() == ["trained-toy-statquest-e2.pt", "trained-toy-statquest-e5.pt", "trained-my-toy-model.pt",
                             "trained-my-toy-model-2.pt"]  # fmt: skip
    assert list(tmp_path.iterdir()) == []  # nothing on the server's disk
    checkpoint = load_checkpoint(saves.get("trained-toy-statquest-e5.pt").data)
    assert checkpoint.config.kind == "statquest" and len(checkpoint.history) == 5
    assert checkpoint.meta["source"] == "live training page" and checkpoint.meta["trainer"]["epoch"] == 5
    download = toy.get("download_button")[0]
    assert download.proto.label == "Download .pt"
    toy.button(key="toy_run_start").click().run()  # Start over: "Kept epoch 5 as …" was about the old model
    assert not any("Kept epoch" in s.value for s in toy.success)


def test_server_saves_only_where_the_operator_allows_and_capped(toy, tmp_path, monkeypatch):
    monkeypatch.setenv("LSTM_VIZ_SAVE_DIR", str(tmp_path))
    monkeypatch.setenv("LSTM_VIZ_SAVE_MAX_FILES", "2")
    toy.text_input(key="toy_epochs").input("2").run()
    toy.button(key="toy_run_start").click().run()
    train_until_done(toy, toy.session_state["toy_run"])
    for _ in range(3):
        toy.button(key="toy_run_server_save").click().run()
    saved = sorted(p.name for p in tmp_path.glob("*.pt"))
    assert saved == ["trained-toy-statquest-e2-2.pt", "trained-toy-statquest-e2.pt"]
    assert "LSTM_VIZ_SAVE_MAX_FILES" in toy.error[-1].value  # the third is refused: the cap


def test_toy_open_on_the_explorer_hands_over_a_copy(toy):
    from lstm_viz.app.ui import MODEL_KEY, SESSION_MODEL_KEY

    toy.text_input(key="toy_epochs").input(str(2)).run()
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
    assert sub.text_input(key="sub_lr").value == "0.01" and sub.text_input(key="sub_epochs").value == "100"


def test_subtraction_trains_and_answers_any_a_minus_b(sub):
    sub.text_input(key="sub_hidden").input(str(8)).run()
    sub.text_input(key="sub_epochs").input(str(2)).run()
    sub.button(key="sub_run_start").click().run()
    run = sub.session_state["sub_run"]
    train_until_done(sub, run)
    assert run.epoch == 2 and run.model.config.hidden_size == 8
    row = run.history[-1]
    for key in ("train_bit_acc", "train_exact_match", "test_bit_acc", "test_exact_match"):
        assert 0.0 <= row[key] <= 1.0
    assert [p["epoch"] for p in run.probes] == [1, 2]  # gate saturation after every epoch
    # the first epochs in steps of 8 mini-batches, each scored on the test samples: the curves show the climb
    per_epoch = run.trainer.batches_per_epoch
    assert [s["epoch"] for s in run.steps][:2] == [0.0, pytest.approx(8 / per_epoch)] and run.steps[-1]["epoch"] == 2
    assert run.steps[-1]["test_exact_match"] == row["test_exact_match"]
    curves = sub.session_state["sub_figures"]["curves"]
    fine = next(t for t in curves.data if t.name == "test exact match, every 8 mini-batches")
    assert len(fine.x) == len(run.steps)
    assert len(run.probes[-1]["saturation"]["f"]["low"]) == 8
    # curves, absolute errors, saturation, then the try box: the answer's bits and the gate heatmaps
    assert charts(sub) == 5
    assert "the model at epoch 2" in (sub.success or sub.warning)[0].value
    sub.text_input(key="sub_try").input("300 - 1").run()
    assert "does not fit in 8 bits" in sub.error[0].value and not sub.exception
    assert "Still showing the last valid sum: 123 - 61" in sub.caption.values and charts(sub) == 5  # kept
    sub.text_input(key="sub_try").input("ten - 2").run()
    assert sub.error and "Example" in sub.error[0].value


def test_subtraction_switching_the_data_mid_run_keeps_scoring_the_runs_own_split(sub):
    sub.text_input(key="sub_epochs").input("1").run()
    sub.button(key="sub_run_start").click().run()
    run = sub.session_state["sub_run"]
    train_until_done(sub, run)
    sub.radio(key="sub_source").set_value("every pair 0 ≤ b ≤ a ≤ 255").run()  # applies at the next Start
    specs = " ".join(chart.proto.spec for chart in sub.get("plotly_chart"))
    assert "1,000 test samples" in specs and "3,290 test samples" not in specs
    assert any("applies at the next Start" in c.value for c in sub.caption)


def test_subtraction_lstmp_and_gru(sub):
    sub.text_input(key="sub_hidden").input(str(8)).run()
    sub.text_input(key="sub_proj").input(str(8)).run()
    assert any("proj_size (8) must be smaller" in e.value for e in sub.error)
    sub.text_input(key="sub_proj").input(str(3)).run()
    sub.text_input(key="sub_epochs").input(str(1)).run()
    sub.button(key="sub_run_start").click().run()
    run = sub.session_state["sub_run"]
    train_until_done(sub, run)
    assert run.model.config.proj_size == 3
    sub.radio(key="sub_cell").set_value("GRU").run()
    sub.button(key="sub_run_start").click().run()  # "Start over" with the new settings
    train_until_done(sub, run)
    assert run.model.config.cell == "gru"  # a GRU's gates are recorded too: saturation of r and z
    assert run.probes and set(run.probes[-1]["saturation"]) == {"r", "z"}


def test_subtraction_bad_start_settings_give_a_message_not_a_traceback(sub):
    sub.text_input(key="sub_hidden").input("4").run()
    sub.text_input(key="sub_proj").input("4").run()
    assert not sub.exception
    assert [e.value for e in sub.error if "proj_size" in e.value] and sub.button(key="sub_run_start").disabled
    assert sub.session_state["sub_run"].state is RunState.IDLE


def test_stop_then_bad_settings_keep_the_trained_model(sub):
    """Train, Stop, then proj_size 32 with hidden 32 and Start over: refused, the model and its epochs stay."""
    sub.text_input(key="sub_hidden").input("8").run()
    sub.text_input(key="sub_epochs").input("1000").run()
    sub.button(key="sub_run_start").click().run()
    run = sub.session_state["sub_run"]
    for _ in range(20):  # the first epochs go in paced steps of 8 mini-batches: a few ticks to the first epoch
        if run.epoch >= 1:
            break
        sub.run()
    sub.button(key="sub_run_stop").click().run()
    trainer, epoch = run.trainer, run.epoch
    assert run.state is RunState.STOPPED and epoch >= 1
    sub.text_input(key="sub_proj").input("8")  # typed and clicked at once: the click sees the bad value
    sub.button(key="sub_run_start").click().run()
    assert not sub.exception
    assert run.trainer is trainer and run.epoch == epoch and run.state is RunState.STOPPED
    assert len([e for e in sub.error if "proj_size" in e.value]) == 1  # one message, not two
    assert any(f"model at epoch {epoch:,} is kept" in c.value for c in sub.caption)
    assert not sub.button(key="sub_run_reset").disabled


@pytest.mark.parametrize(
    "key, text, fragment",
    [
        ("sub_lr", "", "Learning rate is empty"),
        ("sub_lr", "-5", "greater than 0"),
        ("sub_lr", "9" * 10_000, "too large"),
        ("sub_epochs", "", "Epochs is empty"),
        ("sub_epochs", "0", "at least 1"),
        ("sub_epochs", "999999999", "at most 1,000,000"),
        ("sub_epochs", "9" * 10_000, "far too large"),
        ("sub_hidden", "abc", "whole number"),
        ("sub_seed", "-1", "at least 0"),
    ],
    ids=lambda v: v[:12] + "…" if isinstance(v, str) and len(v) > 12 else None,
)
def test_subtraction_bad_numbers_are_refused_and_say_what_is_used(sub, key, text, fragment):
    run = sub.session_state["sub_run"]
    lr, target = run.lr, run.target
    sub.text_input(key=key).input(text).run()
    assert not sub.exception
    messages = [e.value for e in sub.error]
    assert any(fragment in m for m in messages), messages
    assert all(len(m) < 400 for m in messages)  # a 10,000-digit number is not echoed whole
    assert run.lr == lr and run.target == target  # nothing applied silently
    assert sub.button(key="sub_run_start").disabled
    if key in ("sub_lr", "sub_epochs"):
        assert any("Still using" in m for m in messages)


def test_epochs_below_the_current_epoch_end_the_run_there(toy):
    toy.text_input(key="toy_epochs").input("100000").run()
    toy.button(key="toy_run_start").click().run()
    run = toy.session_state["toy_run"]
    toy.button(key="toy_run_pause").click().run()
    epoch = run.epoch
    assert epoch > 5
    toy.text_input(key="toy_epochs").input("5").run()
    assert run.target == epoch and run.state is RunState.FINISHED
    assert f"epoch {epoch:,} / {epoch:,}" in toy.get("progress")[0].proto.text
    assert any("apply to the next Start over" in i.value for i in toy.info)


def test_live_charts_never_reuse_a_key_while_training_and_keep_theirs_when_idle(sub):
    """Each chart drawn while the run trains gets a key never used before in the session (counting from 0 in every
    run reused old keys, and Chromium then drew a detail chart's subtitle above its title); once idle, reruns keep
    the last keys, so the charts — and a user's zoom — stay."""

    def curve_key() -> str:
        return next(c.proto.id for c in sub.get("plotly_chart") if c.proto.id.endswith(tuple("0123456789"))
                    and "sub_curves_" in c.proto.id).rsplit("sub_curves_", 1)[1]  # fmt: skip

    sub.text_input(key="sub_hidden").input("8").run()
    sub.text_input(key="sub_epochs").input("4").run()
    sub.button(key="sub_run_start").click().run()
    run = sub.session_state["sub_run"]
    seen = [curve_key()]
    for _ in range(60):
        if not run.running:
            break
        sub.run()
        seen.append(curve_key())
    assert not run.running and len(seen) > 3
    training = seen[:-1]  # the last run drew the finished run, idle
    assert len(set(training)) == len(training)  # a new key for every draw while training
    idle = curve_key()
    sub.text_input(key="sub_try").input("200 - 1").run()
    sub.run()
    assert curve_key() == idle  # idle reruns keep the charts
