"""Command line: what a run may write and when — ``--out`` checked before any work, nothing written by a failed
run, interruptions saying what was kept — and options taken as given (sizes, bounds, GRU defaults)."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from lstm_viz.cli import main
from lstm_viz.cli.common import json_safe
from lstm_viz.cli.train import _epochs_to_run
from lstm_viz.training import engine
from lstm_viz.training.checkpoints import load_checkpoint
from lstm_viz.training.engine import PRESETS
from tests.cli_output import last_json

REPO = Path(__file__).resolve().parents[1]
POSIX = pytest.mark.skipif(sys.platform == "win32", reason="named pipes are POSIX")


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@POSIX
@pytest.mark.parametrize(
    "argv",
    [
        ("train", "toy-lstm", "--epochs", "1", "--quiet"),
        ("record", "models/toy_lstm.pt", "0, 1"),
        ("lstmp-sweep", "--hidden-size", "4", "--proj-sizes", "2", "--epochs", "1", "--seeds", "0"),
        ("convert", "nowhere.pt"),
    ],
    ids=["train", "record", "lstmp-sweep", "convert"],
)
def test_an_out_that_is_a_device_or_pipe_is_refused_before_any_work(argv, tmp_path, capsys):
    # /dev/null as --out used to be *replaced* by the file (written beside it, then moved into place)
    pipe = tmp_path / {"record": "out.parquet", "lstmp-sweep": "out.json"}.get(argv[0], "out.pt")
    os.mkfifo(pipe)
    code, out, err = run(capsys, *argv, "--out", pipe)
    assert code == 2 and out == "" and "not a regular file" in err and err.count("\n") == 1
    assert pipe.is_fifo()
    code, _, err = run(capsys, *argv, "--out", f"{tmp_path}/newdir/")  # a trailing slash names a folder
    assert code == 2 and "is a folder" in err and not (tmp_path / "newdir").is_file()


def test_lstmp_sweep_records_the_command_that_ran(tmp_path, capsys):
    out = tmp_path / "sweep.json"
    code, stdout, _ = run(capsys, "lstmp-sweep", "--hidden-size", "4", "--proj-sizes", "2", "--epochs", "1",
                          "--seeds", "0", "--out", out)  # fmt: skip
    assert code == 0 and stdout.strip() == str(out)
    command = json.loads(out.read_text())["metadata"]["command"]
    assert command.startswith("python -m lstm_viz lstmp-sweep --hidden-size 4 --proj-sizes 2")
    assert [p.name for p in tmp_path.iterdir()] == ["sweep.json"]  # no temporary file left


def test_a_stopped_lstmp_sweep_says_nothing_was_written(tmp_path, capsys, monkeypatch):
    from lstm_viz.cli import lstmp_sweep

    def stopped(plan, on_point):
        raise KeyboardInterrupt

    monkeypatch.setattr(lstmp_sweep, "run_sweep", stopped)
    out = tmp_path / "sweep.json"
    code, _, err = run(capsys, "lstmp-sweep", "--hidden-size", "4", "--proj-sizes", "2", "--out", out)
    assert code == 130 and "interrupted during the sweep: nothing was written" in err and not out.exists()


def test_size_options_are_taken_as_given(tmp_path, capsys):
    code, _, _ = run(capsys, "train", "regressor", "--num-layers", "1", "--epochs", "1", "--quiet",
                       "--out", tmp_path / "r.pt")  # fmt: skip
    assert code == 0 and load_checkpoint(tmp_path / "r.pt").config.num_layers == 1  # it trained 2 before
    code, _, err = run(capsys, "train", "subtraction", "--hidden-size", "0", "--out", tmp_path / "s.pt")
    assert code == 2 and "--hidden-size must be at least 1" in err and not (tmp_path / "s.pt").exists()
    for argv, said in ((("subtraction", "--num-layers", "0"), "--num-layers must be at least 1"),
                       (("subtraction", "--num-layers", "10000"), "--num-layers must be at most 64, got 10,000"),
                       (("subtraction", "--proj-size", "-1"), "--proj-size must be at least 0"),
                       (("charlm", "--embed", "0"), "--embed must be at least 1")):  # named as the flags, not fields
        code, _, err = run(capsys, "train", *argv, "--out", tmp_path / "x.pt")
        assert code == 2 and said in err, err


@pytest.mark.parametrize("value", ["inf", "nan", "1e39", "-1000"])
def test_charlm_forget_bias_must_be_finite_and_sane(value, tmp_path, capsys):
    code, _, err = run(capsys, "train", "charlm", "--forget-bias", value, "--out", tmp_path / "c.pt")
    assert code == 2 and "--forget-bias must be a finite number" in err and not (tmp_path / "c.pt").exists()


def test_json_safe_reaches_every_depth():
    """A non-finite number is null: as the string "nan" a number's field changed type (d["loss"] < 1 raised)."""
    got = json_safe({"a": float("nan"), "options": {"forget_bias": float("inf"), "xs": [1.0, float("-inf")]}})
    assert json.loads(json.dumps(got, allow_nan=False)) == {"a": None, "options": {"forget_bias": None,
                                                                                  "xs": [1.0, None]}}


def _signal_at_batch(monkeypatch, batch: int, *signals: int) -> None:
    """The task's loss sends ``signals`` to this process during mini-batch ``batch`` (counted over the whole run; 0:
    as the first epoch's batches are drawn, before any mini-batch) — a Ctrl-C or a scheduler's SIGTERM."""
    from lstm_viz.tasks import get_task

    task = get_task("subtraction")  # the instance: other tests leave a bound `loss` on it, which a class patch misses
    calls = []
    loss, batches = task.loss, engine.Trainer._batches

    def counting(model, xb, yb):
        calls.append(1)
        if len(calls) == batch:
            for signum in signals:
                os.kill(os.getpid(), signum)
        return loss(model, xb, yb)

    def drawing(self):
        if batch == 0 and not calls:
            calls.append(0)
            for signum in signals:
                os.kill(os.getpid(), signum)
        return batches(self)

    monkeypatch.setattr(task, "loss", counting)
    monkeypatch.setattr(engine.Trainer, "_batches", drawing)


SUB = ("train", "subtraction", "--batch-size", "2048", "--seed", "3", "--quiet")  # 5 mini-batches an epoch, fast


@pytest.fixture
def sigint_heard():
    """Ctrl-C as an interactive shell delivers it: a suite started in the background by a non-interactive shell
    inherits SIGINT ignored, and train rightly leaves an ignored SIGINT ignored (tested below)."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


@pytest.mark.skipif(not hasattr(signal, "SIGTERM") or os.name != "posix", reason="signals to oneself are POSIX")
@pytest.mark.parametrize(("signum", "code", "how"), [(signal.SIGINT, 130, "interrupted"),
                                                     (signal.SIGTERM, 143, "terminated")])  # fmt: skip
def test_a_signal_stops_after_the_mini_batch_and_resume_finishes_the_epoch_exactly(
    tmp_path, capsys, monkeypatch, sigint_heard, signum, code, how
):
    straight = tmp_path / "straight.pt"
    assert run(capsys, *SUB, "--epochs", "2", "--out", straight)[0] == 0
    before = signal.getsignal(signal.SIGINT)
    out = tmp_path / "stopped.pt"
    with monkeypatch.context() as m:
        _signal_at_batch(m, 7, signum)  # the 2nd mini-batch of epoch 2
        got, stdout, err = run(capsys, *SUB, "--epochs", "2", "--out", out)
    assert got == code and signal.getsignal(signal.SIGINT) == before  # the caller's handler is back
    summary = last_json(stdout)
    assert summary["interrupted"] and summary["partial_epoch"] == {"epoch": 2, "batches_done": 2, "batches": 5}
    assert f"{how} in epoch 2, after 2 of its 5 mini-batches" in err and "--resume" in err
    again = "press Ctrl-C again" if signum == signal.SIGINT else "send SIGTERM again"  # SIGTERM spoke of Ctrl-C
    assert f"then saving ({again} to quit at once, saving nothing)" in err
    assert len(load_checkpoint(out).history) == 1
    assert last_json(run(capsys, "info", out)[1])["partial_epoch"] == summary["partial_epoch"]
    resumed = tmp_path / "resumed.pt"
    assert run(capsys, "train", "subtraction", "--resume", out, "--epochs", "1", "--quiet", "--out", resumed)[0] == 0
    a, b = load_checkpoint(straight), load_checkpoint(resumed)
    assert [h["loss"] for h in a.history] == [h["loss"] for h in b.history]
    for name, value in a.model.state_dict().items():
        assert torch.equal(value, b.model.state_dict()[name]), name


@pytest.mark.skipif(not hasattr(signal, "SIGTERM") or os.name != "posix", reason="signals to oneself are POSIX")
def test_resume_without_epochs_finishes_the_stopped_run(tmp_path, capsys, monkeypatch):
    """--resume of a run stopped before its end, with no --epochs, trains what was left of it (it used to train the
    default preset's count, whatever the run was asked for) and ends exactly where the run would have ended."""
    straight = tmp_path / "straight.pt"
    assert run(capsys, *SUB, "--epochs", "3", "--out", straight)[0] == 0
    out = tmp_path / "stopped.pt"
    with monkeypatch.context() as m:
        _signal_at_batch(m, 7, signal.SIGTERM)  # the 2nd mini-batch of epoch 2 of 3
        assert run(capsys, *SUB, "--epochs", "3", "--out", out)[0] == 143
    resumed = tmp_path / "resumed.pt"
    got, stdout, err = run(capsys, "train", "subtraction", "--resume", out, "--quiet", "--out", resumed)
    assert got == 0 and "stopped 2 epochs before the end of its run (epoch 3); finishing it" in err
    assert last_json(stdout)["epoch"] == 3 and last_json(stdout)["epochs_run"] == 2
    a, b = load_checkpoint(straight), load_checkpoint(resumed)
    assert [h["loss"] for h in a.history] == [h["loss"] for h in b.history]
    for name, value in a.model.state_dict().items():
        assert torch.equal(value, b.model.state_dict()[name]), name
    # the finished run, resumed again with no --epochs: its own recipe's length, no note
    trainer = SimpleNamespace(epoch=3, until_epoch=3, preset="seed")
    args = SimpleNamespace(epochs=None, resume=resumed, task="subtraction", preset="fast")
    assert _epochs_to_run(args, trainer) == PRESETS["subtraction"]["seed"]["epochs"] != PRESETS["subtraction"][
        "fast"]["epochs"]
    assert trainer.until_epoch == 3 + PRESETS["subtraction"]["seed"]["epochs"]


@pytest.mark.skipif(os.name != "posix", reason="signals to oneself are POSIX")
def test_an_ignored_sigint_stays_ignored(tmp_path, capsys, monkeypatch):
    """A background job's SIGINT is ignored (nohup, `cmd &` from a script): train leaves it so and trains on."""
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _signal_at_batch(monkeypatch, 2, signal.SIGINT)
        code, stdout, _ = run(capsys, *SUB, "--epochs", "1", "--out", tmp_path / "x.pt")
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)
    assert code == 0 and not last_json(stdout).get("interrupted")
    assert len(load_checkpoint(tmp_path / "x.pt").history) == 1


@pytest.mark.skipif(os.name != "posix", reason="signals to oneself are POSIX")
def test_a_second_signal_quits_at_once_and_writes_nothing(tmp_path, capsys, monkeypatch, sigint_heard):
    out = tmp_path / "keep.pt"
    assert run(capsys, *SUB, "--epochs", "1", "--out", out)[0] == 0
    before = out.read_bytes()
    _signal_at_batch(monkeypatch, 2, signal.SIGINT, signal.SIGINT)
    code, _, err = run(capsys, *SUB, "--epochs", "3", "--out", out)
    assert code == 130 and "interrupted twice: stopped at once" in err and "was not written" in err
    assert out.read_bytes() == before


@pytest.mark.skipif(os.name != "posix", reason="signals to oneself are POSIX")
def test_a_second_signal_during_the_final_evaluation_keeps_the_saved_run(tmp_path, capsys, monkeypatch, sigint_heard):
    """A stopped run was saved only after its final evaluation (28 s for the character model, silent): a second
    Ctrl-C then, or a scheduler's kill after SIGTERM, lost the whole run. It is saved first, and says so."""
    out = tmp_path / "run.pt"
    _signal_at_batch(monkeypatch, 7, signal.SIGINT)
    evaluate = engine.Trainer.evaluate

    def slow(self, *args, **kwargs):  # the final evaluation, interrupted in turn (the first call is trainer.last's)
        if self.history and self.partial_epoch is not None:
            os.kill(os.getpid(), signal.SIGINT)
        return evaluate(self, *args, **kwargs)

    monkeypatch.setattr(engine.Trainer, "evaluate", slow)
    code, _, err = run(capsys, *SUB, "--epochs", "2", "--out", out)
    assert code == 130 and f"saved {out}; evaluating the final weights" in err
    assert "interrupted twice: stopped at once" in err and "was written before it" in err
    saved = load_checkpoint(out)
    assert len(saved.history) == 1 and saved.meta["final"]["interrupted"] is True  # epoch 1 and the place in 2
    assert last_json(run(capsys, "info", out)[1])["partial_epoch"] == {"epoch": 2, "batches_done": 2, "batches": 5}


@pytest.mark.skipif(os.name != "posix", reason="signals to oneself are POSIX")
def test_stopped_before_the_first_mini_batch_keeps_an_existing_out(tmp_path, capsys, monkeypatch, sigint_heard):
    out = tmp_path / "keep.pt"
    assert run(capsys, *SUB, "--epochs", "1", "--out", out)[0] == 0
    before = out.read_bytes()
    _signal_at_batch(monkeypatch, 0, signal.SIGINT)
    code, stdout, err = run(capsys, *SUB, "--epochs", "3", "--out", out)
    assert code == 130 and "before the first mini-batch ended" in err and last_json(stdout)["out"] is None
    assert out.read_bytes() == before


def test_a_diverged_run_writes_nothing_and_says_so(tmp_path, capsys, monkeypatch):
    out = tmp_path / "keep.pt"
    assert run(capsys, "train", "toy-lstm", "--epochs", "3", "--quiet", "--out", out)[0] == 0
    before = out.read_bytes()
    original = engine.Trainer.run

    def diverging(self, n):
        for metrics in original(self, n):
            self.history[-1]["diverged"] = True
            yield metrics
            return

    monkeypatch.setattr(engine.Trainer, "run", diverging)
    code, stdout, err = run(capsys, "train", "toy-lstm", "--epochs", "3", "--quiet", "--out", out)
    assert code == 3 and "diverged" in err and f"{out} was not written" in err
    assert last_json(stdout)["diverged"] and out.read_bytes() == before


def test_ablate_a_gru_by_default_and_each_tensor_once(capsys):
    code, out, err = run(capsys, "ablate", "models/subtraction_gru.pt", "--data", "probe", "--quiet", "--json")
    assert code == 0, err
    units = last_json(out)["units"]
    assert {u["name"].split(".")[-1] for u in units} == {"h"}
    code, out, _ = run(capsys, "ablate", "models/subtraction_lstm.pt", "--data", "probe", "--quiet", "--json",
                       "--tensors", "c,c", "--top", "0")  # fmt: skip
    rows = [(u["name"], u["unit"]) for u in last_json(out)["units"]]
    assert code == 0 and len(rows) == len(set(rows)) == 32


def test_predict_checks_every_input_before_printing_any(capsys):
    code, out, err = run(capsys, "predict", "models/toy_lstm.pt", "0, 1, 2, 3", "0",
                         "--intervene", "layer0.fwd.c[steps=3]=0")  # fmt: skip
    assert code == 2 and out == "" and "input 2" in err
    code, out, err = run(capsys, "predict", "models/subtraction_lstm.pt", "123 - 61", "--intervene",
                         "layer0.fwd.c=1e300")  # fmt: skip
    assert code == 2 and "float32's range" in err and "unexpected" not in err


def test_a_tiny_file_claiming_a_huge_model_is_refused_without_building_it(tmp_path, capsys):
    path = tmp_path / "huge.pt"
    torch.save({"format": "lstm-viz-checkpoint", "version": 1, "config": {"kind": "subtraction",
                "hidden_size": 10**6}, "state_dict": {"a": torch.zeros(1)}}, path)  # fmt: skip
    code, _, err = run(capsys, "info", path)  # building it first asked for terabytes
    assert code == 2 and "do not match the saved config" in err and "memory" not in err


def test_resume_refuses_sizes_it_would_ignore_and_keeps_the_recipe(tmp_path, capsys):
    first = tmp_path / "a.pt"
    code = run(capsys, "train", "toy-statquest", "--epochs", "2", "--quiet", "--out", first, "--without-optimizer")[0]
    assert code == 0
    for flags in (["--hidden-size", "64"], ["--seed", "5"], ["--bidirectional"], ["--num-layers", "2"],
                  ["--preset", "seed"]):
        code, out, err = run(capsys, "train", "toy-statquest", "--resume", first, "--epochs", "1", "--quiet",
                             "--out", tmp_path / "b.pt", *flags)  # fmt: skip
        assert code == 2 and out == "" and "does not apply with --resume" in err and flags[0] in err, flags
    code, _, err = run(capsys, "train", "toy-statquest", "--resume", first, "--epochs", "1", "--quiet", "--seed", "0",
                       "--out", tmp_path / "b.pt")  # fmt: skip
    assert code == 0, err  # the checkpoint's own seed is no contradiction
    # the fast recipe's Adam betas (0.9, 0.9) survive a checkpoint saved without the optimizer's state
    resumed = engine.make_trainer("toy-statquest", resume=tmp_path / "b.pt", device="cpu")
    assert tuple(resumed.optimizer.param_groups[0]["betas"]) == (0.9, 0.9)


def test_resume_with_an_explicit_data_source_uses_it(tmp_path):
    trainer = engine.make_trainer("subtraction", data="all", device="cpu")
    trainer.train_epochs(1)
    trainer.save(tmp_path / "all.pt")
    assert engine.make_trainer("subtraction", resume=tmp_path / "all.pt", device="cpu").data.source == "all"
    explicit = engine.make_trainer("subtraction", resume=tmp_path / "all.pt", data="seed", device="cpu")
    assert explicit.data.source == "seed"


@pytest.mark.parametrize("damage,field", [
    (lambda c: c["meta"]["trainer"].update(generator_state=torch.zeros(3, dtype=torch.uint8)), "generator_state"),
    (lambda c: c["meta"]["trainer"].update(seed="abc"), "seed"),
    (lambda c: c["meta"]["trainer"].update(lr="fast"), "lr"),
    (lambda c: c["meta"]["trainer"].update(lr=float("nan")), "lr"),
    (lambda c: c["meta"]["trainer"].update(lr=50.0), "lr"),  # beyond what training takes anywhere (parse_lr)
    (lambda c: c["meta"]["trainer"].update(batch_size=-3), "batch_size"),
    (lambda c: c["meta"]["trainer"].update(epoch=-5), "epoch"),
    (lambda c: c["meta"]["trainer"].update(seed=-5), "seed"),
    (lambda c: c["meta"]["trainer"].update(options={"lr": "abc"}), "options"),
    (lambda c: c["optimizer"]["state"][0].pop("exp_avg_sq"), "optimizer state"),
])  # fmt: skip
def test_a_damaged_training_state_is_named_on_resume(damage, field, tmp_path, capsys):
    path = tmp_path / "s.pt"
    assert run(capsys, "train", "toy-lstm", "--epochs", "2", "--quiet", "--out", path)[0] == 0
    checkpoint = torch.load(path, weights_only=True)
    damage(checkpoint)
    torch.save(checkpoint, path)
    code, _, err = run(capsys, "train", "toy-lstm", "--resume", path, "--epochs", "1", "--quiet", "--out",
                       tmp_path / "t.pt")  # fmt: skip
    assert code == 2 and str(path) in err and "damaged" in err and field in err and "unexpected" not in err


def test_loader_and_info_messages_for_odd_files(tmp_path, capsys):
    import pickle

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    torch.save({"x": Evil()}, tmp_path / "evil.pt")
    code, _, err = run(capsys, "info", tmp_path / "evil.pt")
    assert code == 2 and "Python objects besides tensors" in err and not (tmp_path / "pwned").exists()
    with open(tmp_path / "p4.pt", "wb") as f:
        pickle.dump({"a": 1}, f, protocol=4)
    code, _, err = run(capsys, "info", tmp_path / "p4.pt")
    assert code == 2 and err.count("\n") == 1 and "Warning" not in err  # torch's protocol warning is not shown
    path = tmp_path / "m.pt"
    assert run(capsys, "train", "toy-lstm", "--epochs", "1", "--quiet", "--out", path)[0] == 0
    checkpoint = torch.load(path, weights_only=True)
    checkpoint["history"][-1]["odd"] = torch.tensor(float("nan"))
    checkpoint["meta"]["metrics"] = {"x": float("nan"), "t": torch.ones(3)}
    torch.save(checkpoint, path)
    code, out, err = run(capsys, "info", path)
    info = json.loads(out.strip().splitlines()[-1], parse_constant=pytest.fail)  # strict JSON: no bare NaN
    assert code == 0 and info["last"]["odd"] is None and info["metrics"] == {"x": None, "t": [1.0, 1.0, 1.0]}


def test_a_resumed_run_reports_the_recipe_it_continues(tmp_path, capsys):
    first = tmp_path / "sq.pt"
    assert run(capsys, "train", "toy-statquest", "--preset", "seed", "--epochs", "2", "--quiet", "--out", first)[0] == 0
    code, out, _ = run(capsys, "train", "toy-statquest", "--resume", first, "--epochs", "1", "--quiet", "--out", first)
    summary = last_json(out)
    assert code == 0 and summary["preset"] == "seed" and summary["lr"] == 0.001  # not the default "fast"


def test_a_failed_command_leaves_no_folder_it_made_for_out(tmp_path, capsys):
    model = REPO / "models" / "subtraction_lstm.pt"
    code, _, _ = run(capsys, "record", model, "abc", "--out", tmp_path / "new" / "deeper" / "r.csv")
    assert code == 2 and list(tmp_path.iterdir()) == []
    code, _, _ = run(capsys, "train", "toy-lstm", "--lr", "nan", "--out", tmp_path / "new2" / "x.pt")
    assert code == 2 and list(tmp_path.iterdir()) == []
    (tmp_path / "kept").mkdir()  # a folder that was there before is never removed
    code, _, _ = run(capsys, "record", model, "abc", "--out", tmp_path / "kept" / "r.csv")
    assert code == 2 and [p.name for p in tmp_path.iterdir()] == ["kept"]
    code, _, err = run(capsys, "record", model, "12 - 3", "--out", tmp_path / "made" / "r.csv")
    assert code == 0 and (tmp_path / "made" / "r.csv").is_file(), err
    text = tmp_path / "made" / "t.py"
    text.write_text("x = 1\n")
    for layers in ("-0", "+1", "1_0"):  # int() reads them all as layers 0 and 1 and 10
        code, _, err = run(capsys, "record", model, "12 - 3", "--layers", layers, "--out", tmp_path / "l.csv")
        assert code == 2 and "--layers" in err and "choose from 0" in err and not (tmp_path / "l.csv").exists(), err
    # refused after the folder was made: a/b/c all go again
    for bad in (["--tensors", "q"], ["--layers", "5"], ["--layers", "-0"]):
        code, _, err = run(capsys, "record-corpus", REPO / "models" / "charlm_python.pt", "--text-file", text, *bad,
                           "--out", tmp_path / "corp" / "x" / "y")  # fmt: skip
        assert code == 2 and sorted(p.name for p in tmp_path.iterdir()) == ["kept", "made"], err


def test_a_run_whose_loss_grew_says_so(tmp_path, capsys):
    code, _, err = run(capsys, "train", "regressor", "--lr", "10", "--epochs", "20", "--quiet", "--out",
                       tmp_path / "r.pt")  # fmt: skip
    assert code == 0 and "note: the loss grew from " in err and "(the first epoch) to " in err and "smaller --lr" in err
    code, _, err = run(capsys, "train", "regressor", "--epochs", "3", "--quiet", "--out", tmp_path / "ok.pt")
    assert code == 0 and "loss grew" not in err



@pytest.mark.parametrize(
    "argv, says",
    [(["record", "models/subtraction_lstm.pt", "1 - 0", "--out", "{file}/x.parquet"],
      "--out {file}/x.parquet: {file} is a file, not a folder; choose another --out"),
     (["lstmp-sweep", "--out", "{tmp}/sweep.json", "--lr", "nan"], "--lr: learning rate: 'nan' is not a finite number"),
     (["record-corpus", "models/charlm_python.pt", "--text-file", "{file}", "--threads", "999", "--out", "{tmp}/c"],
      "--threads must be from 1 to 256, got 999"),
     (["record-corpus", "models/charlm_python.pt", "--text-file", "{file}", "--glob", "*.txt", "--out", "{tmp}/c"],
      "--glob '*.txt' chooses files under --text-dir"),
     (["record", "models/subtraction_lstm.pt", "1 - 0", "--out", "{tmp}/" + "a" * 300 + ".parquet"],
      "cannot be used: File name too long; choose another --out"),
     (["train", "subtraction", "--out", "{tmp}/" + "a" * 300 + ".pt"], "… (3"),  # the name cut, its length said
     (["lstmp-sweep", "--out", "{tmp}/" + "a" * 300 + ".json"], "File name too long; choose another --out")],
)  # fmt: skip
def test_flags_are_named_alike_by_every_command(tmp_path, capsys, monkeypatch, argv, says):
    """An --out under a file said "cannot create the folder s.py: File exists"; lstmp-sweep's --lr error did not
    name the flag (and came after the first run had started); record-corpus took --threads 999 and ignored --glob
    without --text-dir; a name too long for the file system came out as "[Errno 36] File name too long: '…'"."""
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    file = tmp_path / "s.py"
    file.write_text("x = 1\n")
    fill = {"file": str(file), "tmp": str(tmp_path)}
    code, _, err = run(capsys, *[a.format(**fill) for a in argv])
    assert code == 2 and says.format(**fill) in err and "Traceback" not in err
    assert not (tmp_path / "sweep.json").exists() and not (tmp_path / "c").exists()
