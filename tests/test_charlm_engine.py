"""Training the character model with the engine: the same weights as the research loop ``train_charlm`` step for
step, exact resumption from a checkpoint, every recipe setting of ``TrainConfig``/``CharLMConfig`` reachable from
``python -m lstm_viz train charlm``, and the command itself (progress on stderr, the last stdout line JSON)."""

from __future__ import annotations

import ast
import dataclasses
import inspect
from pathlib import Path

import numpy as np
import pytest
import torch

from lstm_viz.cli import build_parser, main
from lstm_viz.tasks import ModelConfig, TaskData, build_model
from lstm_viz.tasks.charlm import data as charlm_data
from lstm_viz.tasks.charlm import stdlib, task
from lstm_viz.tasks.charlm.data import build_manifest, encode
from lstm_viz.tasks.charlm.loop import HANDLED, research_view
from lstm_viz.tasks.charlm.model import CharLMConfig
from lstm_viz.tasks.charlm.task import CHARLM
from lstm_viz.tasks.charlm.tbptt import TrainConfig, train_charlm
from lstm_viz.training.checkpoints import load_checkpoint
from lstm_viz.training.engine import Trainer, make_trainer
from tests.cli_output import last_json

TEXT = inspect.getsource(charlm_data)
IDS = torch.from_numpy(encode(TEXT * 2).astype(np.uint8))
OPTIONS = {"seq_len": 32, "max_chars": 16_000, "log_every": 5, "warmup_steps": 3, "eval_every": 20,
           "eval_chars": 3000}  # fmt: skip


def model(seed: int = 0):
    torch.manual_seed(seed)
    return build_model(ModelConfig.default("charlm", hidden_size=24, input_size=8))


def data() -> TaskData:
    return TaskData(CHARLM, IDS, IDS, IDS[:3000], IDS[:3000], source="stdlib")


@pytest.mark.parametrize("l1", [0.0, 0.5])
def test_the_engine_trains_exactly_as_train_charlm(l1):
    mine, theirs = model(), model()  # both on the CPU: bit for bit holds for the same kernels on the same device
    options = {**OPTIONS, "activation_l1": l1}
    trainer = Trainer(mine, data(), lr=3e-3, batch_size=8, seed=0, device="cpu", options=options, num_threads=1)
    history = trainer.train_epochs(1000)
    assert trainer.finished and history[-1]["chars"] >= OPTIONS["max_chars"]
    recipe = TrainConfig(batch_size=8, seq_len=32, lr=3e-3, max_chars=16_000, log_every=5, warmup_steps=3,
                         eval_every=20, eval_chars=3000, activation_l1=l1)  # fmt: skip
    records = list(train_charlm(research_view(theirs), IDS.numpy().astype(np.int64), recipe, IDS[:3000].numpy()))
    for a, b in zip(mine.state_dict().values(), theirs.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    evals = [r["val_bpc"] for r in records if r["kind"] == "eval"]
    assert [m["val_bpc"] for m in history if "val_bpc" in m] == pytest.approx(evals)
    assert history[-1]["train_bpc"] == pytest.approx(records[-1]["loss_bpc"])
    if l1:  # the penalty acted: other weights than the plain recipe's, with smaller activations
        plain = Trainer(model(), data(), lr=3e-3, batch_size=8, seed=0, device="cpu", options=OPTIONS, num_threads=1)
        plain.train_epochs(1000)
        x = IDS[None, :2000].long()
        sizes = [sum(o.abs().mean().item() for o in research_view(m).forward_layers(x)[2]) for m in (mine, plain.model)]
        assert sizes[0] < 0.8 * sizes[1], sizes


def test_a_run_resumed_from_its_checkpoint_ends_where_one_run_ends(tmp_path):
    # on the CPU: equal to the last bit needs deterministic kernels, which cuDNN and cuBLAS do not promise
    whole = Trainer(model(), data(), lr=3e-3, batch_size=8, device="cpu", options=OPTIONS, num_threads=1)
    whole.train_epochs(1000)
    first = Trainer(model(), data(), lr=3e-3, batch_size=8, device="cpu", options=OPTIONS, num_threads=1)
    first.train_epochs(7)  # stop in the middle of a pass
    path = first.save(tmp_path / "half.pt")
    ckpt = load_checkpoint(path)
    state = ckpt.meta["trainer"]
    second = Trainer(ckpt.model, data(), lr=state["options"]["lr"], batch_size=state["batch_size"], device="cpu",
                     optimizer_state=ckpt.optimizer_state, history=ckpt.history, options=state["options"],
                     loop_state=state["loop"], num_threads=1)  # fmt: skip
    second.train_epochs(1000)
    assert second.history[-1]["step"] == whole.history[-1]["step"]
    for a, b in zip(second.model.state_dict().values(), whole.model.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_request_stop_ends_a_block_after_a_whole_step_and_the_run_goes_on_exactly():
    """Ctrl-C in ``train charlm`` (or a page's Pause) ends the block in progress after the step under way: the
    block is recorded with the steps it took, the weights are those of that step, and going on ends where one
    uninterrupted run ends."""
    whole = Trainer(model(), data(), lr=3e-3, batch_size=8, device="cpu", options=OPTIONS, num_threads=1)
    whole.train_epochs(1000)
    trainer = Trainer(model(), data(), lr=3e-3, batch_size=8, device="cpu", options=OPTIONS, num_threads=1)
    trainer.train_epochs(2)  # 10 steps
    step = trainer.loop._train_step
    calls = []

    def stepping():
        calls.append(1)
        if len(calls) == 2:
            trainer.request_stop()
        return step()

    trainer.loop._train_step = stepping
    assert len(trainer.train_epochs(5)) == 1 and trainer.history[-1]["step"] == 12 and trainer.epoch == 3
    trainer.request_stop()  # before a block's first step: nothing happens, nothing is recorded
    assert trainer.loop.run_block(stop=lambda: True) is None and trainer.loop.step == 12
    trainer.loop._train_step = step
    trainer.train_epochs(1000)
    assert trainer.history[-1]["step"] == whole.history[-1]["step"]
    for a, b in zip(trainer.model.state_dict().values(), whole.model.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_every_recipe_field_is_implemented_and_has_a_flag():
    assert {f.name for f in dataclasses.fields(TrainConfig)} <= HANDLED, (
        "TrainConfig has fields that the engine's loop (lstm_viz/tasks/charlm/loop.py) does not implement: port them "
        "from train_charlm")  # fmt: skip
    parser = build_parser()
    train = parser._subparsers._group_actions[0].choices["train"]
    flags = {s for action in train._actions for s in action.option_strings}
    generic = {"batch_size": "--batch-size", "lr": "--lr", "seed": "--seed", "hidden_size": "--hidden-size",
               "num_layers": "--num-layers", "proj_size": "--proj-size", "max_seconds": "--minutes",
               "vocab_size": None}  # fmt: skip
    for cls in (TrainConfig, CharLMConfig):
        for field in dataclasses.fields(cls):
            flag = generic.get(field.name, "--" + field.name.replace("_", "-"))
            assert flag is None or flag in flags, f"{cls.__name__}.{field.name} has no flag {flag}"
    for research_flag in ("--embed", "--hidden", "--layers", "--seq", "--batch", "--warmup", "--wd", "--clip",
                          "--final-lr-ratio", "--minutes", "--max-chars", "--eval-every", "--threads", "--forget-bias",
                          "--activation-l1"):
        assert research_flag in flags or any(f.startswith(research_flag) for f in flags), research_flag


def test_make_trainer_applies_options_embedding_and_forget_bias(monkeypatch, tmp_path):
    monkeypatch.setattr(task, "load_corpus", lambda: _corpus(tmp_path))
    trainer = make_trainer("charlm", hidden_size=16, num_layers=1, device="cpu", options={
        "embed_size": 12, "forget_bias": 1.5, "max_chars": 4000, "seq_len": 16, "log_every": 4})  # fmt: skip
    config = trainer.model.config
    assert (config.input_size, config.hidden_size, config.num_layers) == (12, 16, 1)
    f_bias = trainer.model.lstm.bias_ih_l0[16:32]
    assert torch.all(f_bias == 1.5) and torch.all(trainer.model.lstm.bias_hh_l0[16:32] == 0)
    assert trainer.batch_size == 16 and trainer.options["seq_len"] == 16 and trainer.options["max_seconds"] == 600
    with pytest.raises(ValueError, match="no option"):
        make_trainer("charlm", device="cpu", options={"nonsense": 1})


def _corpus(tmp_path) -> stdlib.Corpus:
    root = tmp_path / "lib"
    root.mkdir(exist_ok=True)
    # whole top-level statements of a real module, dealt into six files: each file is Python that tokenizes (a cut
    # every 3,000 characters left unmatched brackets, which are refused now)
    segments = [ast.get_source_segment(TEXT, node) for node in ast.parse(TEXT).body]
    for k in range(6):
        (root / f"m{k}.py").write_text("\n\n".join(segments[k::6]) + "\n")
    manifest = build_manifest(root, val_percent=30)
    train = "".join((root / r).read_text() for r, v in sorted(manifest["files"].items()) if v["split"] == "train")
    val = "".join((root / r).read_text() for r, v in sorted(manifest["files"].items()) if v["split"] == "val")
    return stdlib.Corpus(manifest, encode(train).astype(np.uint8), encode(val or train).astype(np.uint8))


def test_the_train_command_writes_a_checkpoint_and_resumes(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(task, "load_corpus", lambda: _corpus(tmp_path))
    out = tmp_path / "c.pt"
    code = main(["train", "charlm", "--hidden", "16", "--layers", "1", "--embed", "8", "--batch", "4", "--seq",
                 "16", "--max-chars", "3e3", "--log-every", "5", "--threads", "1", "--out", str(out)])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = last_json(captured.out)
    assert summary["task"] == "charlm" and summary["val_bpc"] > 0 and summary["chars"] >= 3000
    assert summary["options"]["seq_len"] == 16 and "char" in captured.err  # progress in characters on stderr
    ckpt = load_checkpoint(out)
    assert ckpt.meta["manifest"]["counts"]["train"] > 0 and ckpt.optimizer_state is not None
    code = main(["train", "charlm", "--resume", str(out), "--max-chars", "6000", "--without-optimizer", "--quiet",
                 "--out", str(tmp_path / "d.pt")])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    again = last_json(captured.out)
    assert again["chars"] >= 6000 and again["epoch"] > summary["epoch"]
    assert load_checkpoint(tmp_path / "d.pt").optimizer_state is None


@pytest.mark.parametrize("argv, fragment", [
    (["train", "charlm", "--preset", "seed"], "charlm has the presets fast, shipped"),
    (["train", "charlm", "--bidirectional"], "reads left to right"),
    (["train", "subtraction", "--seq-len", "10"], "--seq-len does not apply to subtraction"),
    (["train", "charlm", "--seq-len", "ten"], "invalid"),
])  # fmt: skip
def test_bad_train_settings_are_one_line(argv, fragment, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(task, "load_corpus", lambda: _corpus(tmp_path))
    code = main([*argv, "--out", str(tmp_path / "x.pt")])
    err = capsys.readouterr().err
    assert code == 2 and fragment in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("changes, message", [
    ({"max_seconds": 0.0}, "--minutes must be a positive number of minutes, got 0.0"),
    ({"max_seconds": float("nan")}, "--minutes must be a positive number"),
    ({"max_seconds": -60.0}, "got -1.0"),
    ({"max_chars": 0}, "--max-chars must be a whole number ≥ 1"),
    ({"seq_len": 0}, "--seq-len must be a whole number ≥ 1"),
    ({"log_every": 0}, "--log-every must be a whole number ≥ 1"),
    ({"warmup_steps": -3}, "--warmup-steps must be a whole number ≥ 0"),
    ({"eval_chars": 0}, "--eval-chars must be a whole number ≥ 1"),
    ({"clip_norm": -1.0}, "--clip-norm must be a positive number"),
    ({"final_lr_ratio": 5.0}, "--final-lr-ratio must be from 0 to 1"),
    ({"weight_decay": float("nan")}, "--weight-decay must be ≥ 0"),
    ({"lr": float("inf")}, "--lr must be a positive number"),
])  # fmt: skip
def test_a_recipe_that_cannot_run_is_refused_naming_its_flag(changes, message):
    with pytest.raises(ValueError) as err:
        TrainConfig(**{"max_chars": 1000, **changes})
    assert message in str(err.value)


def test_train_charlm_with_zero_minutes_is_one_line_and_exit_2(tmp_path, capsys):
    """It trained until stopped (0 read as "no limit"), and NaN minutes ended in "cannot convert float NaN"."""
    for minutes in ("0", "nan", "-1"):
        code = main(["train", "charlm", "--minutes", minutes, "--out", str(tmp_path / "c.pt"), "--quiet"])
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("error: --minutes must be a positive number") and err.count("\n") == 1
        assert not (tmp_path / "c.pt").exists()


def test_a_warm_up_longer_than_the_run_is_noted():
    quick = Trainer(model(), data(), lr=3e-3, batch_size=8, seed=0, device="cpu", options=OPTIONS)
    assert quick.notes == []  # 63 steps, 3 of warm-up
    short = Trainer(model(), data(), lr=3e-3, batch_size=8, seed=0, device="cpu",
                    options={**OPTIONS, "warmup_steps": 100})  # fmt: skip
    assert len(short.notes) == 1 and "the run is about 63 steps" in short.notes[0] and "warm-up 100" in short.notes[0]
    short.train_epochs(1000)
    assert short.history[-1]["step"] == 63  # as the note said: 16,000 / (8 × 32) = 62.5 rounds up (it said 62)


def test_the_research_script_checks_its_out_first_and_runs_without_a_warning(tmp_path):
    """`--out` into a missing folder trained for an hour, then failed with a traceback; and `python -m` warned that
    the module ran was already imported by the package (the loop lived in it)."""
    import subprocess
    import sys

    from lstm_viz.tasks.charlm.train import main

    for bad, said in ((tmp_path / "x.txt", "must end in .pt"), (tmp_path, "is a folder")):
        with pytest.raises(SystemExit) as stopped:
            main(["--out", str(bad)])
        assert stopped.value.code == 2, said
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    for argv in (["--save-corpus", str(tmp_path / "c.txt")], ["--save-corpus", str(tmp_path)],
                 ["--corpus", str(tmp_path / "none.npz")], ["--corpus", str(junk)]):  # fmt: skip
        with pytest.raises(SystemExit) as stopped:  # before minutes of encoding or training, not a traceback
            main(argv)
        assert stopped.value.code == 2, argv
    done = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-m", "lstm_viz.tasks.charlm.train",
                           "--help"], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0 and "RuntimeWarning" not in done.stderr, done.stderr


def test_text_report_prints_models_readme_numbers(tmp_path, capsys):
    """python -m lstm_viz text-report: bits per character over the corpus's validation text and, for each goal
    feature, the unit picked on its training text and scored on validation — the numbers models/README.md gives,
    computed as unit_report computes them; bad input refused in one line."""
    import json

    from lstm_viz.core.recording import parse_unit
    from lstm_viz.tasks.charlm.data import label_text
    from lstm_viz.tasks.charlm.evaluate import GOALS, REPORTED, unit_report, unit_values
    from lstm_viz.tasks.charlm.scoring import exact_auroc
    from lstm_viz.tasks.charlm.tbptt import evaluate_bpc
    from lstm_viz.training.checkpoints import save_checkpoint

    torch.manual_seed(0)
    model = build_model(ModelConfig.default("charlm", hidden_size=16, input_size=8)).eval()
    path = tmp_path / "small.pt"
    save_checkpoint(path, model, meta={"manifest": {"digest": "0123456789abcdef"}})
    cut = [TEXT.index("\n\n\ndef ", at) + 3 for at in (6000, 12000)]  # whole top-level statements of real Python
    val, select = TEXT[: cut[0]], TEXT[cut[0] : cut[1]]
    arrays = {"train_ids": encode(TEXT).astype(np.uint8), "val_ids": encode(val).astype(np.uint8),
              "select_ids": encode(select).astype(np.uint8)}  # fmt: skip
    for prefix, text in (("val", val), ("select", select)):
        arrays.update({f"{prefix}.{k}": v for k, v in label_text(text).items()})
    corpus = tmp_path / "corpus.npz"
    np.savez_compressed(corpus, manifest=json.dumps({"digest": "fedcba9876543210"}), **arrays)
    assert main(["text-report", str(path), "--corpus", str(corpus), "--json"]) == 0
    out, err = capsys.readouterr()
    assert "trained on another standard library (manifest 0123456789abcdef, this one fedcba9876543210)" in err
    report = last_json(out)
    view = research_view(model)
    assert report["val_bpc"] == pytest.approx(evaluate_bpc(view, arrays["val_ids"].astype(np.int64)), rel=1e-6)
    labels = {p: {k.split(".", 1)[1]: v for k, v in arrays.items() if k.startswith(p + ".")} for p in ("val", "select")}
    expected = unit_report(view, (arrays["select_ids"].astype(np.int64), labels["select"]),
                           (arrays["val_ids"].astype(np.int64), labels["val"]), REPORTED)  # fmt: skip
    assert set(report["units"]) == set(GOALS) | {"in_long_string"} and report["val_chars"] == len(val)
    assert report["units"]["in_long_string"]["goal"] is None and report["units"]["in_long_string"]["reached"] is None
    long_, string = labels["val"]["in_long_string"], labels["val"]["in_string"]
    assert long_.any() and (string & ~long_).any()  # both kinds of string in the text
    for feature, unit in report["units"].items():
        assert unit["unit"] == expected[feature]["unit"]
        assert unit["report_score"] == pytest.approx(expected[feature]["report_score"], rel=1e-6)
    # the string unit scored with the comment characters left out (and with the long strings: its score on the short
    # ones), the comment unit without the strings
    val_ids = arrays["val_ids"].astype(np.int64)
    for feature, others in (("in_string", ("in_comment", "in_long_string")),
                            ("in_comment", ("in_string", "in_long_string"))):  # fmt: skip
        unit = report["units"][feature]
        name, k = parse_unit(unit["unit"])
        values, where = unit_values(view, val_ids, [(name, k)])
        assert set(unit["report_score_without"]) == set(others)
        for other in others:
            keep = labels["val"][other][where] == 0
            auroc = exact_auroc(values[keep, 0], labels["val"][feature][where][keep])
            oriented = auroc if unit["direction"] == "high" else 1 - auroc
            assert unit["report_score_without"][other] == pytest.approx(oriented)
    assert main(["text-report", str(path), "--corpus", str(corpus)]) == 0  # the table
    out = capsys.readouterr().out
    assert "for that unit with the in_comment characters left out" in out
    assert "for that unit with the in_long_string characters left out" in out
    assert "in_long_string" in out and "no goal (the triple-quoted part of in_string)" in out
    # a corpus written before in_long_string existed: reported without it, and said so
    older = tmp_path / "older.npz"
    np.savez_compressed(older, manifest=json.dumps({"digest": "fedcba9876543210"}),
                        **{k: v for k, v in arrays.items() if not k.endswith(".in_long_string")})  # fmt: skip
    assert main(["text-report", str(path), "--corpus", str(older), "--json"]) == 0
    captured = capsys.readouterr()
    assert set(last_json(captured.out)["units"]) == set(GOALS)
    assert "has no in_long_string labels" in captured.err and "--save-corpus" in captured.err
    # --text-file: the picked units scored on one more text too (Python nobody trained or picked on)
    other = TEXT[cut[1] : cut[1] + 5000]
    other = other[: other.rindex("\n\n\ndef ") + 1]
    (tmp_path / "other.py").write_text(other)
    assert main(["text-report", str(path), "--corpus", str(corpus), "--text-file", str(tmp_path / "other.py"),
                 "--json"]) == 0  # fmt: skip
    also = last_json(capsys.readouterr().out)
    assert also["text_file_chars"] == len(other) and also["text_file_bpc"] > 0
    other_labels = label_text(other)
    for feature, unit in also["units"].items():
        assert unit["unit"] == report["units"][feature]["unit"]  # picked on the same training text
        values, where = unit_values(view, encode(other).astype(np.int64), [parse_unit(unit["unit"])], batch_size=1)
        target = other_labels[feature][where]
        if target.min() == target.max():  # a feature the text does not have (no comment in it): no score, null
            assert unit["also_score"] is None
            continue
        if REPORTED[feature][0] == "auroc":
            auroc = exact_auroc(values[:, 0], target)
            assert unit["also_score"] == pytest.approx(auroc if unit["direction"] == "high" else 1 - auroc, abs=1e-9)
        else:
            r = np.corrcoef(values[:, 0], target)[0, 1]
            assert unit["also_score"] == pytest.approx(abs(r), abs=1e-6)
            assert unit["also_sign_kept"] == bool((r > 0) == (unit["direction"] == "+"))
        assert unit["also_best"] >= unit["also_score"] - 1e-12
    assert sum(unit["also_score"] is not None for unit in also["units"].values()) >= 3
    assert main(["text-report", str(path), "--corpus", str(corpus), "--text-file", str(tmp_path / "other.py")]) == 0
    out = capsys.readouterr().out
    assert f"on {tmp_path / 'other.py'} ({len(other):,} characters" in out and "nan" not in out
    assert all(f"for {u['unit']}" in out or "is the same on every character" in out for u in also["units"].values())
    (tmp_path / "broken.py").write_text("x = (1,\n")
    assert main(["text-report", str(path), "--corpus", str(corpus), "--text-file", str(tmp_path / "broken.py")]) == 2
    err = capsys.readouterr().err
    assert "broken.py" in err and "does not tokenize" in err and "Traceback" not in err
    assert out.startswith(f"{path}: {report['val_bpc']:.3f} bits per character over {len(val):,} validation")
    assert all(f"for {unit['unit']} (" in out for unit in report["units"].values())
    subtraction = str(Path(__file__).resolve().parent.parent / "models" / "subtraction_lstm.pt")
    for argv, said in (([str(tmp_path / "none.pt")], "none.pt"), ([subtraction], "does not read text"),
                       ([str(path), "--corpus", str(tmp_path / "none.npz")], "no such file"),
                       ([str(path), "--corpus", str(path)], "is not a corpus written by --save-corpus"),
                       ([str(path), "--threads", "0"], "--threads must be from 1 to 256")):  # fmt: skip
        assert main(["text-report", *argv]) == 2, argv
        err = capsys.readouterr().err
        assert said in err and "Traceback" not in err, (argv, err)
