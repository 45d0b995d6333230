"""The live-training controller: states, time-boxed ticks, lr/epoch changes mid-run, speed, ETA."""

from __future__ import annotations

import math

import pytest
import torch

from lstm_viz.parsing import parse_lr
from lstm_viz.training.live import (
    TICK_SECONDS,
    TRAIN_SHARE,
    FineSteps,
    LiveRun,
    RunState,
    format_seconds,
    validate_epochs,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeTrainer:
    """Each epoch takes ``epoch_seconds`` on the fake clock; the loss halves every epoch."""

    def __init__(self, clock: FakeClock, epoch_seconds: float = 0.01, lr: float = 0.1, nan_at: int = -1):
        self.clock = clock
        self.epoch_seconds = epoch_seconds
        self.lr = lr
        self.epoch = 0
        self.history: list[dict] = []
        self.calls: list[int] = []
        self.nan_at = nan_at
        self.model = object()

    def train_epochs(self, n: int) -> list[dict]:
        self.calls.append(n)
        rows = []
        for _ in range(n):
            self.clock.advance(self.epoch_seconds)
            self.epoch += 1
            loss = math.nan if self.epoch == self.nan_at else 0.5**self.epoch
            rows.append({"epoch": self.epoch, "loss": loss, "lr": self.lr})
        self.history.extend(rows)
        return rows

    def set_lr(self, lr: float) -> None:
        self.lr = lr


def make_run(epochs: int = 1000, epoch_seconds: float = 0.01, nan_at: int = -1, **kwargs):
    clock = FakeClock()
    built: list[FakeTrainer] = []

    def factory() -> FakeTrainer:
        trainer = FakeTrainer(clock, epoch_seconds, nan_at=nan_at)
        built.append(trainer)
        return trainer

    run = LiveRun(factory, epochs=epochs, clock=clock, **kwargs)
    return run, clock, built


def test_idle_until_started_and_tick_does_nothing():
    run, _, built = make_run()
    assert run.state is RunState.IDLE and run.trainer is None and run.epoch == 0
    assert run.tick() == [] and built == []
    assert run.progress().fraction == 0.0


def test_a_tick_uses_its_budget_in_whole_epochs_with_few_calls():
    run, clock, built = make_run(epochs=10_000, epoch_seconds=0.001)
    run.start()
    t0 = clock.now
    rows = run.tick(budget=0.45)
    spent = clock.now - t0
    assert 0.40 <= spent <= 0.46, spent  # about the budget, overshooting at most half an epoch
    assert len(rows) == run.epoch == len(built[0].history)
    assert rows[-1]["epoch"] == run.epoch
    assert len(built[0].calls) < 20  # chunks grow once the epoch time is known: not one call per epoch


def test_slow_epochs_still_train_one_per_tick():
    run, _, _ = make_run(epochs=5, epoch_seconds=2.0)
    run.start()
    assert len(run.tick(budget=0.45)) == 1
    assert len(run.tick(budget=0.45)) == 1


def test_a_target_lowered_while_a_tick_trains_ends_the_run_where_it_is():
    run, _, built = make_run(epochs=1000, epoch_seconds=0.001)
    run.start()
    run.tick(budget=0.05)
    trainer = built[0]
    train = trainer.train_epochs

    def lowered_meanwhile(n):  # the page's callback lowers the epochs while this chunk trains
        run.target = run.epoch + 1
        return train(n)

    trainer.train_epochs = lowered_meanwhile
    run.tick(budget=0.45)
    assert run.state is RunState.FINISHED and run.target == run.epoch
    assert run.progress().label().startswith(f"epoch {run.epoch:,} / {run.epoch:,}")


def test_reaching_the_target_finishes_exactly_there():
    run, _, _ = make_run(epochs=50, epoch_seconds=0.001)
    run.start()
    while run.running:
        run.tick()
    assert run.state is RunState.FINISHED and run.epoch == 50
    assert run.tick() == []


def test_pause_resume_keeps_the_same_trainer_and_stop_answers_at_once():
    run, _, built = make_run()
    run.start()
    run.tick()
    first = run.epoch
    run.pause()
    assert run.state is RunState.PAUSED and run.tick() == [] and run.epoch == first
    run.resume()
    run.tick()
    assert run.epoch > first and len(built) == 1
    run.stop()
    assert run.state is RunState.STOPPED and run.tick() == []
    assert run.model is built[0].model  # the model stays to save or explore


def test_start_after_stop_builds_a_fresh_model_and_start_while_paused_resumes():
    run, _, built = make_run()
    run.start()
    run.tick()
    run.pause()
    run.start()
    assert run.running and len(built) == 1
    run.stop()
    run.start()
    assert len(built) == 2 and run.epoch == 0 and run.running


def test_reset_forgets_everything():
    run, _, _ = make_run()
    run.start()
    run.tick()
    run.reset()
    assert run.state is RunState.IDLE and run.trainer is None and run.history == [] and run.probes == []
    assert run.progress().epochs_per_second is None


def test_continue_for_n_more_epochs_like_post_0():
    run, _, built = make_run(epochs=2000, epoch_seconds=0.0001)
    run.start()
    while run.running:
        run.tick()
    assert run.state is RunState.FINISHED and run.epoch == 2000
    run.continue_for(3000)
    assert run.running and run.target == 5000
    while run.running:
        run.tick()
    assert run.epoch == 5000 and len(built) == 1 and len(run.history) == 5000


def test_continue_without_a_model_starts_one():
    run, _, built = make_run(epochs=10)
    run.continue_for(7)
    assert run.running and run.target == 7 and len(built) == 1


def test_lr_change_mid_run_reaches_the_trainer_and_the_next_build():
    run, _, built = make_run(lr=0.001)
    run.start()
    assert built[0].lr == 0.001  # the run's lr wins over the factory default
    run.tick()
    run.set_lr(0.05)
    rows = run.tick()
    assert built[0].lr == 0.05 and rows[0]["lr"] == 0.05 and run.epoch > 0
    run.stop()
    run.start()
    assert built[1].lr == 0.05


def test_target_change_mid_run():
    run, _, _ = make_run(epochs=1000, epoch_seconds=0.001)
    run.start()
    run.tick()
    at = run.epoch
    run.set_target(at)
    assert run.state is RunState.FINISHED
    run.set_target(at + 10)
    assert run.state is RunState.STOPPED  # resumable now that the target is ahead
    run.resume()
    while run.running:
        run.tick()
    assert run.epoch == at + 10


def test_speed_eta_and_train_share_from_the_tick_window():
    run, clock, _ = make_run(epochs=100_000, epoch_seconds=0.001)
    run.start()
    for _ in range(6):
        run.tick(budget=TICK_SECONDS * TRAIN_SHARE)
        clock.advance(0.05)  # the page's redraw between ticks
    p = run.progress()
    assert p.epochs_per_second == pytest.approx(900, rel=0.05)  # 1000 epochs/s × 0.45/0.5
    assert p.train_share == pytest.approx(0.9, abs=0.02)
    assert p.eta_seconds == pytest.approx((100_000 - run.epoch) / p.epochs_per_second)
    label = p.label()
    assert "epochs/s" in label and "left" in label and f"{run.epoch:,}" in label


def test_time_away_from_the_page_is_not_counted_as_slow_training():
    run, clock, _ = make_run(epochs=100_000, epoch_seconds=0.001)
    run.start()
    run.tick()
    run.tick()
    clock.advance(60)  # the user opened another page for a minute
    run.tick()
    run.tick()
    assert run.progress().epochs_per_second > 500


def test_probe_is_called_per_chunk_and_max_chunk_makes_it_per_epoch():
    run, _, _ = make_run(epochs=20, epoch_seconds=0.001, probe=lambda t: {"seen": t.epoch}, max_chunk=1)
    run.start()
    while run.running:
        run.tick()
    assert [p["epoch"] for p in run.probes] == list(range(1, 21))
    assert all(p["seen"] == p["epoch"] for p in run.probes)


def test_nan_loss_fails_with_a_message_and_keeps_the_model():
    run, _, _ = make_run(epochs=100, nan_at=3, max_chunk=1)
    run.start()
    run.tick()
    assert run.state is RunState.FAILED and run.epoch == 3
    assert "nan" in run.error and "learning rate" in run.error
    assert run.model is not None


def test_a_trainer_exception_becomes_a_message():
    run, _, built = make_run()
    run.start()

    def boom(n):
        raise RuntimeError("out of memory")

    built[0].train_epochs = boom
    run.tick()
    assert run.state is RunState.FAILED and "out of memory" in run.error


@pytest.mark.parametrize("bad", ["abc", "", None, 0, -1, math.nan, math.inf, 11, "1e9"])
def test_the_learning_rate_check_rejects_with_an_example(bad):
    with pytest.raises(ValueError, match=r"Example: 0\.01"):
        parse_lr(bad)


@pytest.mark.parametrize("bad", ["ten", 0, -5, 2.5, math.nan, math.inf, 10**9, True])
def test_validate_epochs_rejects_with_an_example(bad):
    with pytest.raises(ValueError, match="300"):
        validate_epochs(bad)


def test_validators_accept_good_values():
    assert parse_lr("0.001") == 0.001 and parse_lr(10) == 10.0
    assert validate_epochs(5000.0) == 5000 and validate_epochs("300") == 300


def test_bad_values_never_change_the_run():
    run, _, _ = make_run(epochs=100, lr=0.01)
    with pytest.raises(ValueError):
        run.set_lr(-1)
    with pytest.raises(ValueError):
        run.set_target(0)
    with pytest.raises(ValueError):
        run.continue_for("many")
    assert run.lr == 0.01 and run.target == 100 and run.state is RunState.IDLE


def test_format_seconds():
    assert format_seconds(0.25) == "0.2 s"
    assert format_seconds(4) == "4 s"
    assert format_seconds(125) == "2 min 05 s"
    assert format_seconds(3720) == "1 h 02 min"


def test_checkpoint_path_is_safe_and_never_an_existing_file(tmp_path):
    from lstm_viz.training.live import checkpoint_path

    assert checkpoint_path(tmp_path, "Toy StatQuest 5000.pt").name == "trained-toy-statquest-5000.pt"
    assert checkpoint_path(tmp_path, "../../etc/passwd").parent == tmp_path
    assert checkpoint_path(tmp_path, "../../etc/passwd").name == "trained-etc-passwd.pt"
    (tmp_path / "subtraction_lstm.pt").write_bytes(b"shipped")
    (tmp_path / "trained-subtraction_lstm.pt").write_bytes(b"mine")
    again = checkpoint_path(tmp_path, "subtraction_lstm")
    assert again.name == "trained-subtraction_lstm-2.pt" and not again.exists()
    with pytest.raises(ValueError, match="toy-statquest-5000"):
        checkpoint_path(tmp_path, " /// ")


def test_two_visitors_saving_one_name_at_once_get_two_files(tmp_path, monkeypatch):
    """Both looked for a free name before either wrote: the second used to replace the first's file."""
    import threading

    from lstm_viz import paths
    from lstm_viz.training.checkpoints import load_checkpoint
    from lstm_viz.training.engine import make_trainer
    from lstm_viz.training.live import save_new_checkpoint

    trainers = [make_trainer("toy-lstm", seed=s) for s in (0, 1)]
    both_looked = threading.Barrier(2)
    link = paths._link_new

    first_tries = []

    def late_link(tmp, path):  # each writer finished its file after both picked the same free name
        if len(first_tries) < 2:
            first_tries.append(path)
            both_looked.wait(timeout=10)
        return link(tmp, path)

    monkeypatch.setattr(paths, "_link_new", late_link)
    saved = []
    contents = [t.checkpoint_bytes() for t in trainers]
    threads = [threading.Thread(target=lambda c=c: saved.append(save_new_checkpoint(tmp_path, "run", c)))
               for c in contents]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [p.name for p in first_tries] == ["trained-run.pt"] * 2  # the race happened
    assert sorted(p.name for p in saved) == ["trained-run-2.pt", "trained-run.pt"]
    weights = {p.name: load_checkpoint(p).model.state_dict() for p in saved}
    assert not all(torch.equal(a, b) for a, b in zip(*(w.values() for w in weights.values()), strict=True))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trained-run-2.pt", "trained-run.pt"]  # no temp left


def test_stop_from_another_thread_waits_for_the_tick_in_flight_and_nothing_trains_after():
    """Streamlit can run the live fragment in a worker thread while a click on Stop reruns the page."""
    import threading
    import time

    class SlowTrainer(FakeTrainer):
        def train_epochs(self, n: int) -> list[dict]:
            time.sleep(0.05)  # a real chunk of epochs takes wall time
            return super().train_epochs(1)

    clock = FakeClock()
    run = LiveRun(lambda: SlowTrainer(clock), epochs=10_000, clock=time.perf_counter)
    run.start()
    worker = threading.Thread(target=run.tick, kwargs={"budget": 5.0})
    worker.start()
    time.sleep(0.2)
    run.stop()  # returns only once the tick in flight has finished its chunk
    stopped_at = run.epoch
    assert not worker.is_alive() or worker.join(timeout=1) is None
    time.sleep(0.2)
    assert run.state is RunState.STOPPED and run.epoch == stopped_at and stopped_at < 100
    assert run.tick() == []  # and a later tick does nothing


def test_two_threads_never_train_the_same_run_at_once():
    import threading
    import time

    active, overlaps = [0], [0]

    class CountingTrainer(FakeTrainer):
        def train_epochs(self, n: int) -> list[dict]:
            active[0] += 1
            overlaps[0] += active[0] > 1
            time.sleep(0.02)
            active[0] -= 1
            return super().train_epochs(1)

    clock = FakeClock()
    run = LiveRun(lambda: CountingTrainer(clock), epochs=10_000, clock=time.perf_counter)
    run.start()
    threads = [threading.Thread(target=run.tick, kwargs={"budget": 0.3}) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps[0] == 0 and run.epoch > 0


# ---- what a first-time user found ---------------------------------------------------------------------------------
def test_start_over_with_settings_the_model_refuses_keeps_the_model():
    """Train, Stop, then a factory that refuses its settings (proj_size ≥ hidden): nothing is discarded."""
    run, clock, _ = make_run(epochs=1000)
    run.start()
    run.tick()
    run.stop()
    trainer, epoch, history = run.trainer, run.epoch, list(run.history)

    def refuses():
        raise ValueError("proj_size (32) must be smaller than the hidden size (32)")

    for attempt in (lambda: run.restart(refuses, epochs=500, lr=0.02), lambda: run.restart(epochs=0),
                    lambda: run.restart(lr=-5)):  # fmt: skip
        with pytest.raises(ValueError):
            attempt()
        assert run.trainer is trainer and run.epoch == epoch and run.history == history
        assert run.state is RunState.STOPPED and run.target == 1000 and run.lr is None
    run.factory = refuses
    with pytest.raises(ValueError):
        run.start()  # from stopped, start builds a fresh model: refused before anything goes
    assert run.trainer is trainer and run.state is RunState.STOPPED
    run.restart(lambda: FakeTrainer(clock), epochs=7, lr=0.02)  # good settings: a fresh model
    assert run.trainer is not trainer and run.epoch == 0 and run.target == 7 and run.state is RunState.RUNNING


def test_a_target_below_the_epoch_reached_ends_the_run_there():
    run, _, _ = make_run(epochs=1000)
    run.start()
    run.tick()
    epoch = run.epoch
    assert epoch > 3
    run.set_target(3)
    assert run.target == epoch and run.state is RunState.FINISHED  # never "epoch 40 / 3"
    assert run.progress().label().startswith(f"epoch {epoch:,} / {epoch:,}")
    run.set_target(epoch + 5)
    assert run.state is RunState.STOPPED and run.target == epoch + 5  # resumable again
    run.reset()
    run.set_target(3)
    assert run.target == 3  # no model: the number is taken as it is


def test_pace_holds_on_average_when_the_page_redraws_fast():
    run, clock, _ = make_run(epochs=100_000, epoch_seconds=0.001, sleep=lambda s: clock.advance(s))
    run.set_pace(100.0)
    run.start()
    t0 = clock.now
    for _ in range(40):  # the page comes back for the next tick at once: periods of the budget (0.45 s), not 0.5 s
        run.tick(TICK_SECONDS * TRAIN_SHARE)
    assert run.epoch / (clock.now - t0) <= 100 * 1.02  # at most the pace (it read 105–110 epochs/s in a browser)


def test_pace_limits_epochs_per_tick_and_sleeps_the_rest():
    slept = []
    run, clock, _ = make_run(epochs=10_000, epoch_seconds=0.001, sleep=lambda s: (slept.append(s), clock.advance(s)))
    run.set_pace(100.0)
    run.start()
    rows = run.tick(TICK_SECONDS * TRAIN_SHARE)
    assert len(rows) == round(100 * TICK_SECONDS) and slept and slept[-1] > 0  # 50 epochs, then it waits
    run.set_pace(None)
    assert len(run.tick(TICK_SECONDS * TRAIN_SHARE)) > 50
    with pytest.raises(ValueError):
        run.set_pace(0)


def test_a_paced_run_never_shows_a_speed_over_its_pace():
    """A few seconds' window of whole paced ticks read 107–110 epochs/s beside "≤ 100 epochs/s" (multi-user review);
    the pace is kept since the run began, so that is what the speed shows at most."""
    run, _, _ = make_run(epochs=10_000, epoch_seconds=0.001)
    run.set_pace(100.0)
    run.start()
    run._window.clear()
    run._window.extend([(0.0, 0, 0.0), (4.0, 440, 0.2)])  # 110 epochs/s over the window
    assert run.progress().epochs_per_second == 100.0
    run.set_pace(None)
    assert run.progress().epochs_per_second == 110.0


@pytest.mark.parametrize("bad", ["9" * 10_000, "-" + "9" * 10_000, "", "1e999"], ids=["huge", "-huge", "", "1e999"])
def test_validators_read_any_length_and_never_echo_it_whole(bad):
    for validate in (parse_lr, validate_epochs):
        with pytest.raises(ValueError) as err:
            validate(bad)
        assert len(str(err.value)) < 300 and "int_max_str_digits" not in str(err.value)


# ---- the first epochs in fine steps -------------------------------------------------------------------------------
def _test_scores(trainer) -> dict:
    return trainer.evaluate(("test",))


def test_the_first_epochs_in_fine_steps_show_the_climb_then_whole_epochs_follow():
    """Post 4's LSTM learns to borrow inside three epochs: trained 4 mini-batches at a time and scored after each
    step, the test exact match climbs from ~0 to 100 %; the steps end where whole epochs would have (the same
    batches), epoch 3's score is the history's, and the run goes on in whole epochs."""
    from lstm_viz.training.engine import make_trainer

    run = LiveRun(lambda: make_trainer("subtraction", preset="seed", device="cpu"), epochs=5,
                  fine=FineSteps(score=_test_scores, epochs=3, every=4, per_second=None))  # fmt: skip
    whole = make_trainer("subtraction", preset="seed", device="cpu")
    whole.train_epochs(3)
    run.start()
    for _ in range(200):
        if run.epoch >= 3:
            break
        run.tick(budget=10.0)
    per_epoch = run.trainer.batches_per_epoch
    epochs = [row["epoch"] for row in run.steps]
    assert epochs[0] == 0.0 and epochs[-1] == 3.0 and epochs == sorted(epochs)
    assert len(run.steps) == 1 + 3 * -(-per_epoch // 4)  # the start, then every 4 mini-batches of 3 epochs
    assert epochs[1] == pytest.approx(4 / per_epoch)
    assert run.steps[0]["test_exact_match"] < 0.1 and run.steps[-1]["test_exact_match"] == 1.0  # post 4's climb
    assert run.steps[-1]["test_exact_match"] == run.history[-1]["test_exact_match"] == whole.history[-1][
        "test_exact_match"
    ]
    for a, b in zip(whole.model.parameters(), run.model.parameters(), strict=True):
        assert torch.equal(a, b)  # the same weights as three whole epochs
    steps = len(run.steps)
    run.tick(budget=10.0)  # past the first epochs: whole epochs again, no more steps
    assert run.epoch >= 4 and len(run.steps) == steps


class BatchTrainer(FakeTrainer):
    """A FakeTrainer that also trains a few mini-batches at a time (4 to an epoch), each on the fake clock."""

    batches_per_epoch = 4

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock, epoch_seconds=0.04)
        self.done = 0  # mini-batches of the epoch in progress

    @property
    def partial_epoch(self):
        return (self.done, 4) if self.done else None

    def train_batches(self, n: int):
        for _ in range(n):
            self.clock.advance(0.01)
            self.done += 1
            if self.done == 4:
                self.done = 0
                self.epoch += 1
                self.history.append({"epoch": self.epoch, "loss": 0.5**self.epoch, "lr": self.lr})
                return self.history[-1]
        return None


def test_fine_steps_are_paced_scored_and_paused_like_epochs():
    clock = FakeClock()
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(seconds)

    fine = FineSteps(score=lambda t: {"test_exact_match": t.epoch / 10}, epochs=2, every=1, per_second=4.0)
    run = LiveRun(lambda: BatchTrainer(clock), epochs=10, clock=clock, sleep=sleep, fine=fine,
                  probe=lambda t: {"epoch_seen": t.epoch})  # fmt: skip
    run.start()
    assert run.progress().label() == "epoch 0 / 10 · the first 2 epochs, 1 mini-batches a step, each scored"
    run.tick(budget=0.6)  # 4 steps a second: the start's score, then steps at 0, 0.25 and 0.5 s
    assert [row["epoch"] for row in run.steps] == [0.0, 0.25, 0.5, 0.75]
    assert slept and all(s == pytest.approx(0.24) for s in slept)  # each step takes 0.01 s of the 0.25
    run.tick(budget=0.6)  # the next step was due 0.24 s on: waited for within this tick
    assert [row["epoch"] for row in run.steps][-2:] == [1.0, 1.25]
    assert [p["epoch"] for p in run.probes] == [1]  # the probe follows each epoch's end, as with whole epochs
    run.pause()
    run.tick(budget=0.6)
    assert len(run.steps) == 6 and run.state is RunState.PAUSED
    run.resume()
    run.tick(budget=5.0)
    assert run.steps[-1]["epoch"] == 2.0 and run.epoch >= 2  # the fine phase ends at epoch 2
    run.tick(budget=0.6)
    assert "epochs/s" in run.progress().label()  # whole epochs: speed and time left again, measured afresh
    run.reset()
    assert run.steps == []


def test_no_probe_of_weights_part_way_into_an_epoch():
    """A Pause inside a chunk of epochs leaves the weights part-way into the next epoch: the probe drew them at the
    epoch before (the StatQuest weights chart showed epoch 3 as 0.66652 where an uninterrupted run has 0.66586)."""
    clock = FakeClock()
    holder: dict = {}

    class PausedInside(FakeTrainer):
        partial_epoch = None

        def train_epochs(self, n: int) -> list[dict]:
            if n < 2:  # the first epoch alone (its time sets the chunks' length)
                return super().train_epochs(n)
            rows = super().train_epochs(n - 1)  # n - 1 whole epochs, then the Pause lands inside the next one
            self.partial_epoch = (1, 4)
            holder["run"].pause()
            return rows

    run = LiveRun(lambda: PausedInside(clock), epochs=50, clock=clock, probe=lambda t: {"seen": t.epoch})
    holder["run"] = run
    run.start()
    while run.state is RunState.RUNNING:
        run.tick(budget=1.0)
    assert run.state is RunState.PAUSED and run.epoch >= 2
    assert [p["epoch"] for p in run.probes] == [1]  # the first epoch; none for weights that are not the epoch's


def test_weights_part_way_into_an_epoch_are_named_so():
    """The Try box, the error chart, the toy's gates and a kept file said "epoch 1" for weights 20 mini-batches into
    epoch 2 (the first epochs, or after a Pause); ``LiveRun.at`` says where they are."""
    clock = FakeClock()
    run = LiveRun(lambda: BatchTrainer(clock), epochs=10, clock=clock)
    assert run.at == "epoch 0"
    run.start()
    run.trainer.train_batches(4)  # one epoch (4 mini-batches)
    run.trainer.train_batches(2)  # and 2 of the next
    assert run.at == "epoch 2, after 2 of its 4 mini-batches"
    run.trainer.train_batches(2)
    assert run.at == "epoch 2"
    from lstm_viz.live.figures import absolute_error_figure

    title = absolute_error_figure([1, 2], [1, 2], epoch="epoch 2, after 2 of its 4 mini-batches").layout.title.text
    assert title.endswith("(epoch 2, after 2 of its 4 mini-batches)")
    assert absolute_error_figure([1], [1], epoch=3).layout.title.text.endswith("(epoch 3)")


def test_a_step_cut_short_by_a_pause_puts_the_next_one_back_on_the_grid():
    """Scored every 2 mini-batches: a Pause that cut a step after 1 left every later point off the grid (1, 3, 5 …
    under a legend that says "every 2")."""
    clock = FakeClock()
    fine = FineSteps(score=lambda t: {"test_exact_match": 0.0}, epochs=2, every=2, per_second=None)
    run = LiveRun(lambda: BatchTrainer(clock), epochs=10, clock=clock, fine=fine)
    run.start()
    run.trainer.train_batches(1)  # what a Pause inside a step leaves: 1 of its 2 mini-batches
    run.tick(budget=0.05)
    quarters = [round(row["epoch"] * 4) for row in run.steps]  # mini-batches trained at each scored step
    assert quarters and all(q % 2 == 0 for q in quarters), quarters  # back on the grid: 2, 4, … (not 3, 5, …)
