"""Training engine: metrics per task, reproducible seeded runs, pause/resume, lr changes, checkpoint resume."""


import pytest
import torch

from lstm_viz.parsing import InputError
from lstm_viz.tasks import TOY_LSTM, ModelConfig, build_model, toy
from lstm_viz.training.checkpoints import CheckpointError
from lstm_viz.training.engine import PRESETS, TASKS, TaskData, Trainer, make_task_data, make_trainer, task_of_config
from tests.seed004 import LSTMSubtractor, post_splits

CPU = torch.device("cpu")


def losses(history):
    return [h["loss"] for h in history]


def test_toy_metrics_and_seeded_reproducibility():
    a = make_trainer("toy-lstm", seed=3, device=CPU).train_epochs(20)
    b = make_trainer("toy-lstm", seed=3, device=CPU).train_epochs(20)
    assert losses(a) == losses(b)
    assert [h["out_1"] for h in a] == [h["out_1"] for h in b]
    assert losses(make_trainer("toy-lstm", seed=4, device=CPU).train_epochs(20)) != losses(a)
    assert set(a[-1]) == {"epoch", "loss", "loss_sum", "lr", "seconds", "out_0", "out_1"}
    assert [h["epoch"] for h in a] == list(range(1, 21))
    assert a[-1]["lr"] == PRESETS["toy-lstm"]["fast"]["lr"]
    assert a[-1]["seconds"] > 0


def test_statquest_fast_preset_converges():
    trainer = make_trainer("toy-statquest", seed=0, device=CPU)
    trainer.train_epochs(PRESETS["toy-statquest"]["fast"]["epochs"])
    out = toy.predict_companies(trainer.model)
    assert abs(out["out_0"]) < 0.05 and abs(out["out_1"] - 1) < 0.05
    assert trainer.history[-1]["out_0"] == pytest.approx(out["out_0"])


def test_statquest_seed_preset_is_the_posts_recipe():
    assert PRESETS["toy-statquest"]["seed"] == dict(lr=0.001, batch_size=1, shuffle=False, epochs=5000)
    trainer = make_trainer("toy-statquest", preset="seed", seed=0, device=CPU)
    torch.manual_seed(0)
    reference = toy.build_statquest()  # the post's init for this seed
    assert trainer.model.named_weights() == reference.named_weights()
    trainer.train_epochs(2)
    # batch 1 over two companies: two Adam steps per epoch
    state = next(iter(trainer.optimizer.state.values()))
    assert int(state["step"]) == 4
    again = make_trainer("toy-statquest", preset="seed", seed=0, device=CPU)
    again.train_epochs(2)
    assert again.model.named_weights() == trainer.model.named_weights()


def post_initial_subtractor():
    """Post 4 up to `model = LSTMSubtractor()`: the global seeds, the data and split, then the model."""
    post_splits()
    return LSTMSubtractor()


@pytest.mark.parametrize("data", ["seed", "all"])
def test_subtraction_seed_822_starts_from_the_posts_weights(data):
    theirs = post_initial_subtractor().state_dict()
    ours = make_trainer("subtraction", seed=822, preset="seed", data=data, device=CPU).model.state_dict()
    assert theirs.keys() == ours.keys()
    assert all(torch.equal(theirs[k], ours[k]) for k in theirs)


def test_post_4s_recipe_prints_the_posts_losses():
    """`--preset seed --seed 822` shuffles as the post's DataLoader does, from where the post's global generator is
    after its model's init, and `loss_sum` adds the batches' mean losses as the post's loop prints them: the post's
    own loop (tests/seed004.py, Sigmoid + BCELoss, Adam) gives the same epochs (its epoch 1 prints 47.0924). With a
    plain randperm the batches differed from the post's from the first epoch on."""
    from torch.utils.data import DataLoader

    from lstm_viz.core.device import torch_threads

    train_set, _ = post_splits()
    model = LSTMSubtractor()  # the post's init, then its loop, as written
    loader = DataLoader(train_set, batch_size=128, shuffle=True)
    criterion, optimizer = torch.nn.BCELoss(), torch.optim.Adam(model.parameters(), lr=0.01)
    theirs = []
    with torch_threads(1):
        for _ in range(2):
            total = 0.0
            for x, y in loader:
                optimizer.zero_grad()
                loss = criterion(model(x), y.unsqueeze(-1))  # (batch, 8, 1), as the post
                loss.backward()
                optimizer.step()
                total += loss.item()
            theirs.append(total)
    ours = make_trainer("subtraction", seed=822, preset="seed", data="seed", device=CPU).train_epochs(2)
    assert round(theirs[0], 4) == 47.0924
    assert [h["loss_sum"] for h in ours] == pytest.approx(theirs, rel=1e-4)  # fused BCE and Adam round apart
    fast = make_trainer("subtraction", seed=822, data="seed", device=CPU).train_epochs(1)  # randperm's batches
    assert fast[0]["loss_sum"] != pytest.approx(theirs[0], rel=1e-3)


def test_subtraction_learns_and_reports_all_metrics():
    trainer = make_trainer("subtraction", seed=822, device=CPU)
    history = trainer.train_epochs(4)
    keys = {"train_bit_acc", "train_exact_match", "test_bit_acc", "test_exact_match"}
    assert keys | {"epoch", "loss", "loss_sum", "lr", "seconds"} == set(history[-1])
    assert history[-1]["loss"] < history[0]["loss"]
    assert history[-1]["test_exact_match"] > 0.9  # the post reaches 100 % around epoch 3


@pytest.mark.parametrize("task", ["subtraction", "subtraction-gru"])
def test_running_train_metrics_are_the_batches_predictions(task):
    """train_* are tallied from the training batches; with the weights held still they equal a full evaluation."""
    trainer = make_trainer(task, seed=5, device=CPU)
    trainer.optimizer.step = lambda *args, **kwargs: None  # hold the weights still for one epoch
    running = trainer.step_epoch()
    full = trainer.evaluate(splits=("train",))
    assert set(full) == {"train_bit_acc", "train_exact_match"}
    n = trainer.data.n_train
    assert running["train_bit_acc"] == pytest.approx(full["train_bit_acc"], abs=2 / (8 * n))
    assert running["train_exact_match"] == pytest.approx(full["train_exact_match"], abs=2 / n)
    assert 0 < running["train_bit_acc"] < 1  # an untrained model: neither all right nor all wrong
    assert running["test_exact_match"] == trainer.evaluate(splits=("test",))["test_exact_match"]


def test_pause_from_a_callback_then_resume_equals_an_uninterrupted_run():
    straight = make_trainer("subtraction", seed=1, device=CPU).train_epochs(4)

    trainer = make_trainer("subtraction", seed=1, device=CPU)
    trainer.add_callback(lambda m: trainer.pause() if m["epoch"] == 2 else None)
    first = list(trainer.run(10))
    assert [m["epoch"] for m in first] == [1, 2] and trainer.paused
    assert list(trainer.run(5)) == []  # still paused
    trainer.resume()
    rest = trainer.train_epochs(2)
    assert [m["epoch"] for m in rest] == [3, 4]
    assert losses(first + rest) == losses(straight)
    assert len(trainer.history) == 4


def _stop_at_batch(trainer, batch: int, on_stop) -> list[int]:
    """Wrap the task's loss so that ``on_stop()`` is called during mini-batch ``batch`` of the next epoch."""
    task = trainer.data.task
    loss, seen = task.loss, []

    def counting(model, xb, yb):
        seen.append(len(xb))
        if len(seen) == batch:
            on_stop()
        return loss(model, xb, yb)

    task.loss = counting
    return seen


def test_request_stop_leaves_the_epoch_mid_way_and_the_next_run_finishes_it_exactly(monkeypatch):
    straight = make_trainer("subtraction", seed=3, device=CPU)
    straight.train_epochs(2)

    trainer = make_trainer("subtraction", seed=3, device=CPU)
    trainer.train_epochs(1)
    task = trainer.data.task
    monkeypatch.setattr(task, "loss", task.loss)  # restored after the test
    seen = _stop_at_batch(trainer, 5, trainer.request_stop)
    assert trainer.train_epochs(3) == [] and trainer.epoch == 1  # left at the 6th of 71 mini-batches
    assert len(seen) == 5
    rest = trainer.train_epochs(1)  # the same epoch, from its 6th batch
    assert [m["epoch"] for m in rest] == [2] and len(seen) == 71
    assert losses(trainer.history) == losses(straight.history)
    for a, b in zip(trainer.model.parameters(), straight.model.parameters(), strict=True):
        assert torch.equal(a, b)


def test_a_live_pause_answers_within_a_mini_batch_and_resume_finishes_the_epoch(monkeypatch):
    from lstm_viz.training.live import LiveRun, RunState

    straight = make_trainer("subtraction", seed=4, device=CPU)
    straight.train_epochs(1)
    run = LiveRun(lambda: make_trainer("subtraction", seed=4, device=CPU), epochs=1)
    run.start()
    task = run.trainer.data.task
    monkeypatch.setattr(task, "loss", task.loss)
    _stop_at_batch(run.trainer, 10, run.pause)  # the page's Pause, while the epoch trains
    run.tick(budget=60.0)
    assert run.state is RunState.PAUSED and run.epoch == 0 and run.error is None
    run.resume()
    run.tick(budget=60.0)
    assert run.state is RunState.FINISHED and run.epoch == 1
    assert losses(run.trainer.history) == losses(straight.history)


def test_checkpoint_resume_continues_exactly(tmp_path):
    straight = make_trainer("subtraction", seed=2, device=CPU).train_epochs(3)
    trainer = make_trainer("subtraction", seed=2, device=CPU)
    trainer.train_epochs(1)
    path = trainer.save(tmp_path / "run.pt", meta={"note": "half way"})
    resumed = make_trainer("subtraction", resume=path, device=CPU)
    assert resumed.epoch == 1 and len(resumed.history) == 1
    rest = resumed.train_epochs(2)
    assert [m["epoch"] for m in rest] == [2, 3]
    assert losses(resumed.history) == losses(straight)


def test_a_checkpoint_saved_mid_epoch_resumes_exactly_where_it_stopped(tmp_path, monkeypatch):
    """A Ctrl-C (the CLI) or a Pause (the app) leaves an epoch part-way; the checkpoint keeps its place — the shuffled
    order, the batch done, the sums — so the resumed run equals an uninterrupted one, weights and losses bit for bit."""
    straight = make_trainer("subtraction", seed=5, device=CPU)
    straight.train_epochs(3)
    trainer = make_trainer("subtraction", seed=5, device=CPU)
    trainer.train_epochs(1)
    task = trainer.data.task
    monkeypatch.setattr(task, "loss", task.loss)
    _stop_at_batch(trainer, 20, trainer.request_stop)
    assert trainer.train_epochs(2) == [] and trainer.partial_epoch == (20, 71)
    path = trainer.save(tmp_path / "mid.pt")
    resumed = make_trainer("subtraction", resume=path, device=CPU)
    assert resumed.epoch == 1 and resumed.partial_epoch == (20, 71)
    assert [m["epoch"] for m in resumed.train_epochs(2)] == [2, 3] and resumed.partial_epoch is None
    assert losses(resumed.history) == losses(straight.history)
    assert [m["train_exact_match"] for m in resumed.history] == [m["train_exact_match"] for m in straight.history]
    for a, b in zip(resumed.model.parameters(), straight.model.parameters(), strict=True):
        assert torch.equal(a, b)


def test_a_mid_epoch_checkpoint_with_another_batch_size_starts_the_epoch_afresh_and_says_so(tmp_path, monkeypatch):
    trainer = make_trainer("subtraction", seed=5, device=CPU)
    task = trainer.data.task
    monkeypatch.setattr(task, "loss", task.loss)
    _stop_at_batch(trainer, 3, trainer.request_stop)
    trainer.train_epochs(1)
    path = trainer.save(tmp_path / "mid.pt")
    resumed = make_trainer("subtraction", resume=path, batch_size=256, device=CPU)
    assert resumed.partial_epoch is None and any("starts afresh" in n for n in resumed.notes)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("order", torch.zeros(3, dtype=torch.int32), "batch order is damaged"),
     ("order", "flip", "not a shuffle"), ("next", 10_000, "position is damaged"),
     ("total", "text", "loss sum is damaged"), ("tallies", {"bits": 3}, "running metrics are damaged")],
)  # fmt: skip
def test_a_damaged_mid_epoch_checkpoint_is_named(tmp_path, monkeypatch, field, value, message):
    trainer = make_trainer("subtraction", seed=5, device=CPU)
    task = trainer.data.task
    monkeypatch.setattr(task, "loss", task.loss)
    _stop_at_batch(trainer, 3, trainer.request_stop)
    trainer.train_epochs(1)
    state = trainer.trainer_state()
    partial = state["partial"]
    partial[field] = torch.cat([partial["order"][:1], partial["order"][:-1]]) if value == "flip" else value
    original = trainer.trainer_state
    monkeypatch.setattr(trainer, "trainer_state", lambda: {**original(), "partial": partial})
    path = trainer.save(tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match=message):
        make_trainer("subtraction", resume=path, device=CPU)


def test_statquest_resume_from_2000_style(tmp_path):
    """Post 0 resumed a run from its checkpoint to train longer; the epoch count continues."""
    trainer = make_trainer("toy-statquest", preset="seed", seed=0, device=CPU)
    trainer.train_epochs(5)
    trainer.save(tmp_path / "sq.pt")
    resumed = make_trainer("toy-statquest", preset="seed", resume=tmp_path / "sq.pt", device=CPU)
    assert resumed.lr == 0.001 and resumed.batch_size == 1
    resumed.train_epochs(3)
    trainer.train_epochs(3)
    assert resumed.epoch == 8
    assert resumed.model.named_weights() == trainer.model.named_weights()


def test_set_lr_keeps_adam_state():
    trainer = make_trainer("toy-lstm", seed=0, device=CPU)
    trainer.train_epochs(2)
    step_before = int(next(iter(trainer.optimizer.state.values()))["step"])
    trainer.set_lr(0.02)
    metrics = trainer.train_epochs(1)[0]
    assert metrics["lr"] == 0.02 == trainer.lr
    assert int(next(iter(trainer.optimizer.state.values()))["step"]) == step_before + 1
    for bad in [0, -1, float("nan"), float("inf"), 100.0, "0.1"]:
        with pytest.raises(InputError, match="learning rate"):
            trainer.set_lr(bad)


def test_until_stops_early_and_run_for_is_time_boxed():
    trainer = make_trainer("toy-lstm", seed=0, device=CPU)
    done = trainer.train_epochs(50, until=lambda m: m["epoch"] == 7)
    assert len(done) == 7
    ticks = trainer.run_for(0.0)
    assert len(ticks) == 1 and ticks[0]["epoch"] == 8
    assert len(trainer.run_for(10.0, max_epochs=3)) == 3


def test_diverging_loss_pauses():
    x, _ = toy.dataset()
    data = TaskData(TOY_LSTM, x, torch.tensor([0.0, 3e38]))
    trainer = Trainer(build_model(ModelConfig.default("toy_lstm")), data, lr=0.01, device=CPU)
    history = list(trainer.run(5))
    assert len(history) == 1 and history[0]["diverged"] and trainer.paused


def test_generic_trainer_on_custom_data_and_regressor():
    trainer = make_trainer("regressor", seed=0, device=CPU)
    history = trainer.train_epochs(5)
    assert history[-1]["loss"] < history[0]["loss"]
    assert trainer.model.config.kind == "regressor"
    data = make_task_data("regressor", seed=0)
    custom = Trainer(build_model(ModelConfig.default("regressor", hidden_size=8, num_layers=1)), data,
                     lr=0.01, batch_size=16, device=CPU)  # fmt: skip
    assert len(custom.train_epochs(2)) == 2


def test_gru_variant_trains():
    trainer = make_trainer("subtraction-gru", seed=0, device=CPU)
    assert trainer.model.config.cell == "gru"
    history = trainer.train_epochs(2)
    assert history[-1]["loss"] < history[0]["loss"]


def test_bad_options():
    with pytest.raises(ValueError, match="unknown task"):
        make_trainer("addition")
    with pytest.raises(InputError, match="preset"):
        make_trainer("toy-lstm", preset="slow")
    with pytest.raises(InputError, match="no projection"):
        make_trainer("subtraction-gru", proj_size=4)
    with pytest.raises(InputError, match="twelve"):
        make_trainer("toy-statquest", hidden_size=4)
    with pytest.raises(InputError, match="batch size"):
        make_trainer("subtraction", batch_size=0)
    with pytest.raises(InputError, match="epochs"):
        make_trainer("toy-lstm").train_epochs(-1)
    with pytest.raises(ValueError, match="same, non-zero number"):
        TaskData(TOY_LSTM, torch.zeros(2, 4, 1), torch.zeros(3))


def test_resume_rejects_another_tasks_checkpoint(tmp_path):
    trainer = make_trainer("toy-lstm", seed=0, device=CPU)
    trainer.save(tmp_path / "toy.pt")
    with pytest.raises(InputError, match="not 'subtraction'"):
        make_trainer("subtraction", resume=tmp_path / "toy.pt")


def test_task_of_config():
    assert task_of_config(ModelConfig.default("subtraction", cell="gru")) == "subtraction-gru"
    assert {task_of_config(make_trainer(t, device=CPU).model.config) for t in TASKS} == set(TASKS)
    with pytest.raises(ValueError, match="no training task"):
        task_of_config(ModelConfig.default("sequence"))


def test_post_0_story_mediocre_at_2000_epochs_very_good_at_5000():
    """The post's recipe (Adam lr 0.001, batch 1) from the toy page's default seed: resumed 2,000 → 5,000, with the
    numbers README.md and models/README.md print (A 0.34, B 0.62; then A 0.0002, B 0.975)."""
    trainer = make_trainer("toy-statquest", preset="seed", seed=1, device=CPU)
    at_2000 = trainer.train_epochs(2000)[-1]
    assert max(abs(at_2000["out_0"]), abs(at_2000["out_1"] - 1)) > 0.2  # "mediocre"
    assert (round(at_2000["out_0"], 2), round(at_2000["out_1"], 2)) == (0.34, 0.62)
    at_5000 = trainer.train_epochs(3000)[-1]
    assert abs(at_5000["out_0"]) < 0.05 and abs(at_5000["out_1"] - 1) < 0.05  # "very good"
    assert (round(at_5000["out_0"], 4), round(at_5000["out_1"], 3)) == (0.0002, 0.975)


def test_a_seed_decides_the_weights_when_two_sessions_start_at_once(monkeypatch):
    """The app's sessions are threads sharing torch's global generator: a second Start seeding it while the first
    model was being built changed the first one's initial weights (multi-user review)."""
    import threading
    import time

    from lstm_viz.tasks import get_task

    alone = make_trainer("subtraction", seed=822).model.state_dict()
    task = get_task("subtraction")
    seed_init = task.seed_init
    first = threading.Event()

    def slow_seed_init(seed):  # the first session is between its seeding and its model's draws
        seed_init(seed)
        if seed == 822:
            first.set()
            time.sleep(0.3)

    monkeypatch.setattr(task, "seed_init", slow_seed_init)
    got = {}
    a = threading.Thread(target=lambda: got.setdefault("a", make_trainer("subtraction", seed=822)))
    a.start()
    first.wait(10)
    b = threading.Thread(target=lambda: got.setdefault("b", make_trainer("subtraction", seed=7)))
    b.start()
    a.join(30)
    b.join(30)
    for name, value in got["a"].model.state_dict().items():
        assert torch.equal(value, alone[name]), name


def test_a_model_too_big_for_the_machine_is_refused_before_it_is_built():
    from lstm_viz.parsing import InputError
    from lstm_viz.tasks import ModelConfig
    from lstm_viz.training.memory import check_fits_memory

    config = ModelConfig.default("regressor", hidden_size=1000, num_layers=1000)
    with pytest.raises(InputError, match=r"has 8,004,041,001 parameters: training it needs at least 128\.1 GB"):
        check_fits_memory(config, memory=16 * 10**9)
    check_fits_memory(ModelConfig.default("subtraction"), memory=16 * 10**9)  # 4,769 parameters: fine
    with pytest.raises(InputError, match="more than this machine's"):
        make_trainer("regressor", hidden_size=4000, num_layers=400)  # 51 G parameters: > any test machine


def test_training_a_few_batches_at_a_time_gives_the_weights_of_whole_epochs():
    """train_batches keeps its place as request_stop does: the same batches in the same order, so 4 at a time
    through an epoch ends where one whole epoch does, metrics and all."""
    whole, steps = (make_trainer("subtraction", seed=3, device=CPU) for _ in range(2))
    whole.train_epochs(1)
    ends = [steps.train_batches(4) for _ in range(-(-steps.batches_per_epoch // 4))]
    assert ends[:-1] == [None] * (len(ends) - 1) and ends[-1] is not None and steps.epoch == 1
    for a, b in zip(whole.model.parameters(), steps.model.parameters(), strict=True):
        assert torch.equal(a, b)
    assert whole.history[-1]["test_exact_match"] == steps.history[-1]["test_exact_match"]
    assert steps.train_batches(3) is None and steps.partial_epoch == (3, steps.batches_per_epoch)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(InputError, match="mini-batches"):
            steps.train_batches(bad)




def test_an_epoch_whose_rate_changed_part_way_says_both():
    """The pages apply a new learning rate at once, mid-epoch: the epoch was recorded with the new rate alone."""
    trainer = make_trainer("subtraction", seed=822, data="seed", device=CPU, hidden_size=8)
    trainer.train_batches(10)
    trainer.set_lr(0.003)
    done = trainer.train_epochs(2)
    assert done[0]["lr"] == 0.003 and done[0]["lr_from"] == 0.01
    assert "lr_from" not in done[1]  # the next epoch ran at one rate
    saved = make_trainer("subtraction", seed=822, data="seed", device=CPU, hidden_size=8)
    saved.train_batches(10)
    state = saved.trainer_state()["partial"]
    assert state["lr_start"] == 0.01
