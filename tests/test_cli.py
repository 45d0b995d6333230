"""Command line: train/predict/record/info, JSON on the last stdout line, one-line errors without traceback."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from lstm_viz.cli import main
from lstm_viz.core.device import pick_device
from lstm_viz.tasks import ModelConfig, build_model
from lstm_viz.training.checkpoints import load_checkpoint, save_checkpoint
from lstm_viz.training.engine import make_trainer
from tests.cli_output import last_json

REPO = Path(__file__).resolve().parents[1]


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def subtraction_ckpt(tmp_path_factory):
    """A small subtraction model trained on every pair (1 epoch is enough to be exact)."""
    path = tmp_path_factory.mktemp("ckpt") / "sub.pt"
    trainer = make_trainer("subtraction", data="all", seed=822, device="cpu")
    trainer.train_epochs(2)
    trainer.save(path)
    return path


def test_train_toy_writes_checkpoint_and_json(tmp_path, capsys):
    out = tmp_path / "toy.pt"
    code, stdout, stderr = run(capsys, "train", "toy-lstm", "--epochs", "5", "--seed", "1", "--out", str(out))
    assert code == 0
    summary = last_json(stdout)
    assert summary["epoch"] == 5 and summary["epochs_run"] == 5 and summary["out"] == str(out)
    assert {"loss", "out_0", "out_1", "lr"} <= set(summary)
    assert "epoch" in stderr  # the progress bar goes to stderr
    ckpt = load_checkpoint(out)
    assert len(ckpt.history) == 5
    assert ckpt.meta["command"] == f"python -m lstm_viz train toy-lstm --epochs 5 --seed 1 --out {out}"
    assert ckpt.meta["final"]["epoch"] == 5


def test_train_resume_and_jsonl(tmp_path, capsys):
    first = tmp_path / "a.pt"
    run(capsys, "train", "toy-statquest", "--epochs", "3", "--out", str(first), "--quiet")
    code, stdout, stderr = run(
        capsys, "train", "toy-statquest", "--epochs", "2", "--resume", str(first), "--out", str(first), "--jsonl",
        "--quiet", "--lr", "0.01",
    )  # fmt: skip
    assert code == 0 and stderr == ""
    lines = [json.loads(line) for line in stdout.strip().splitlines()]
    assert [line["epoch"] for line in lines[:-1]] == [4, 5]
    assert lines[-1]["epoch"] == 5 and lines[-1]["lr"] == 0.01 and lines[-1]["epochs_run"] == 2
    assert len(load_checkpoint(first).history) == 5


def test_train_zero_epochs_says_nothing_was_trained(tmp_path, capsys):
    out = tmp_path / "init.pt"
    code, stdout, stderr = run(capsys, "train", "toy-lstm", "--epochs", "0", "--seed", "4", "--out", str(out),
                               "--quiet")  # fmt: skip
    assert code == 0 and last_json(stdout)["epochs_run"] == 0
    assert stderr.strip() == f"note: nothing was trained (--epochs 0); {out} holds the initial weights (seed 4)"
    assert load_checkpoint(out).history == []
    again = tmp_path / "again.pt"
    code, _, stderr = run(capsys, "train", "toy-lstm", "--epochs", "0", "--resume", str(out), "--out", str(again),
                          "--quiet")  # fmt: skip
    assert code == 0 and f"{again} holds the weights of {out}" in stderr
    code, _, stderr = run(capsys, "train", "toy-lstm", "--epochs", "1", "--out", str(again), "--quiet")
    assert code == 0 and "nothing was trained" not in stderr


def test_train_subtraction_reports_test_exact_match(tmp_path, capsys):
    code, stdout, _ = run(
        capsys, "train", "subtraction", "--epochs", "1", "--proj-size", "4", "--out", str(tmp_path / "s.pt"),
        "--quiet", "--batch-size", "256",
    )  # fmt: skip
    assert code == 0
    summary = last_json(stdout)
    assert 0 <= summary["test_exact_match"] <= 1 and 0 <= summary["all_pairs_exact_match"] <= 1
    assert summary["proj_size"] == 4 and summary["data"] == "seed"


def test_train_reports_the_data_it_was_given(tmp_path, capsys):
    """Every task's JSON line names its --data as given (the regressor said "random" for --data seed)."""
    code, stdout, _ = run(capsys, "train", "regressor", "--data", "seed", "--epochs", "1",
                          "--out", str(tmp_path / "r.pt"), "--quiet")  # fmt: skip
    assert code == 0 and last_json(stdout)["data"] == "seed"


def test_predict_subtraction(subtraction_ckpt, capsys, monkeypatch):
    code, stdout, _ = run(capsys, "predict", str(subtraction_ckpt), "123 - 61", "255-0", "7 - 7")
    assert code == 0 and stdout.splitlines() == ["62", "255", "0"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("200 - 100\n\n9-3\n"))
    code, stdout, _ = run(capsys, "predict", str(subtraction_ckpt), "-")
    assert code == 0 and stdout.splitlines() == ["100", "6"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("1 - 1\n\n2 - 1\nfoo\n"))
    code, _, stderr = run(capsys, "predict", str(subtraction_ckpt), "-")
    assert code == 2 and stderr.startswith("error: stdin line 4 ('foo'): ")  # the line, blank ones counted
    code, stdout, _ = run(capsys, "predict", str(subtraction_ckpt), "--json", "5 - 2")
    assert json.loads(stdout) == {"input": "5 - 2", "answer": 3}


def test_predict_toy_and_other_models(tmp_path, capsys):
    toy = build_model(ModelConfig.default("toy_lstm"))
    save_checkpoint(tmp_path / "toy.pt", toy)
    code, stdout, _ = run(capsys, "predict", str(tmp_path / "toy.pt"), "0, 0.5, 0.25, 1")
    device = pick_device()  # where the command computes: a GPU rounds unlike the CPU (cuDNN's TF32)
    with torch.no_grad():
        expected = float(toy.to(device).eval()(torch.tensor([[0.0, 0.5, 0.25, 1.0]], device=device).unsqueeze(-1))[0])
    assert code == 0 and float(stdout) == pytest.approx(expected, abs=1e-5)
    reg = build_model(ModelConfig.default("regressor", input_size=2, hidden_size=3, num_layers=1, output_size=2))
    save_checkpoint(tmp_path / "reg.pt", reg)
    code, stdout, _ = run(capsys, "predict", str(tmp_path / "reg.pt"), "1, 2; 3, 4")
    assert code == 0 and len(stdout.strip().split(", ")) == 2


def test_record_csv_and_parquet(subtraction_ckpt, tmp_path, capsys):
    for name in ("rec.csv", "rec.parquet"):
        out = tmp_path / name
        code, stdout, _ = run(capsys, "record", str(subtraction_ckpt), "123 - 61", "--out", str(out))
        assert code == 0
        summary = last_json(stdout)
        frame = pd.read_csv(out) if name.endswith(".csv") else pd.read_parquet(out)
        assert len(frame) == summary["rows"] == 7 * 8 * 32  # 7 tensors × 8 steps × 32 units
        # the input at each step, as the app's export has it: bits of 123 and 61, least significant first
        assert list(frame.columns) == ["layer", "direction", "batch", "t", "unit", "tensor", "value", "x0", "x1"]
        by_t = frame.groupby("t")[["x0", "x1"]].first()
        assert by_t["x0"].tolist() == [(123 >> t) & 1 for t in range(8)]
        assert by_t["x1"].tolist() == [(61 >> t) & 1 for t in range(8)]
        assert summary["answer"] == 62 and summary["steps"] == 8 and summary["columns"] == list(frame.columns)


LONG = "1 - 1" * 100_000 + "9"  # 500,001 characters


@pytest.mark.parametrize(
    "argv, fragment",
    [
        ([], "required: COMMAND"),
        (["train", "addition", "--out", "x.pt"], "invalid choice: 'addition'"),
        (["train", "toy-lstm"], "required: --out"),
        (["train", "toy-lstm", "--epochs", "ten", "--out", "x.pt"], "invalid int value: 'ten'"),
        (["train", "toy-lstm", "--lr", "-1", "--out", "x.pt"], "--lr: learning rate must be greater than 0"),
        (["train", "toy-lstm", "--data", "all", "--out", "x.pt"], "--data all is for the subtraction"),
        (["train", "subtraction-gru", "--proj-size", "4", "--out", "x.pt"], "GRU has no projection"),
        (["train", "subtraction", "--proj-size", "40", "--out", "x.pt"], "must be smaller than hidden_size"),
        (["train", "subtraction", "--batch-size", "big", "--out", "x.pt"], "--batch-size must be"),
        (["train", "toy-lstm", "--resume", "nope.pt", "--out", "x.pt"], "does not exist"),
        (["train", "toy-lstm", "--out", "/proc/x/y.pt"], "cannot create the folder /proc/x"),
        (["train", "toy-lstm", "--out", "TMP"], "is a folder"),
        (["train", "toy-lstm", "--resume", "PLAIN", "--out", "x.pt"], "a model no lstm-viz task trains"),
        (["train", "toy-lstm", "--out", "results.json"], "would hold a PyTorch checkpoint under a .json name"),
        (["convert", "SUB", "--out", "model.CSV"], "under a .csv name; give a name ending in .pt"),
        (["predict", "nope.pt", "1"], "no checkpoint at nope.pt"),
        (["predict", "SUB", "123 - 61", "300 - 1"], "input 2 ('300 - 1'): In '300 - 1', a = 300 does not fit"),
        (["predict", "SUB", "61 - 123"], "larger than a"),
        (["predict", "JUNK", "1"], "not a PyTorch file"),
        (["record", "SUB", "1 - 1", "--out", "x.txt"], "must end in .csv or .parquet"),
        (["record", "SUB", "1 - 1", "--out", "r\udce9c.parquet"], "is not a UTF-8 name"),  # bytes not UTF-8
        (["record-corpus", "--text-file", "a.py", "SUB", "--out", "c"], "--text-file takes every value after it"),
        (["predict", "SUB", "1\udcff - 1"], "input 1 is not UTF-8 text"),  # argv's bytes that are not UTF-8
        (["ablate", "SUB", "--tensors", "q"], "--tensors: tensors must be some of"),  # before any progress bar
        (["train", "subtraction", "--batch-size", "0", "--out", "x.pt"], "--batch-size: batch size must be at least"),
        (["train", "charlm", "--dropout", "1.5", "--out", "x.pt"], "--dropout: dropout must be in [0, 1)"),
        (["info", "SUB", "extra"], "unrecognized arguments: extra (see `python -m lstm_viz info --help`)"),
        (["lstmp-sweep", "--out", "sweep.pt"], "--out must end in .json"),
        (["convert", "SUB", "--out", "SUB"], "is the research file itself"),
        (["predict", "SUB", "1 - 1", LONG], "input 2 ('1 - 1" + "1 - 1" * 7 + "'… (500,001 characters))"),
        (["record", "SUB", "1 - 1", "--layers", "9" * 10_000, "--out", "x.csv"], "… (10,000 characters): choose"),
    ],
)
def test_errors_are_one_line(argv, fragment, subtraction_ckpt, tmp_path, capsys):
    """One line on stderr that says what was wrong; a long input is quoted by its start, not repeated whole."""
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"definitely not torch")
    gru = tmp_path / "gru.pt"
    save_checkpoint(gru, build_model(ModelConfig.default("subtraction", cell="gru")))
    plain = tmp_path / "plain.pt"
    torch.save(torch.nn.LSTM(3, 4).state_dict(), plain)
    swap = {"SUB": str(subtraction_ckpt), "JUNK": str(junk), "GRU": str(gru), "TMP": str(tmp_path), "PLAIN": str(plain)}
    code, _, stderr = run(capsys, *[swap.get(a, a) for a in argv])
    assert code != 0
    assert stderr.count("\n") == 1 and stderr.startswith("error: ")
    assert fragment in stderr
    assert "Traceback" not in stderr and len(stderr) < 1_000


def test_info(subtraction_ckpt, capsys):
    code, stdout, _ = run(capsys, "info", str(subtraction_ckpt))
    info = last_json(stdout)
    assert code == 0 and info["config"]["kind"] == "subtraction" and info["epochs"] == 2


def test_python_dash_m_entry_point(subtraction_ckpt):
    ok = subprocess.run(
        [sys.executable, "-m", "lstm_viz", "predict", str(subtraction_ckpt), "-"],
        input="123 - 61\n", capture_output=True, text=True, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert ok.returncode == 0 and ok.stdout.strip() == "62"
    bad = subprocess.run(
        [sys.executable, "-m", "lstm_viz", "predict", str(subtraction_ckpt), "12 - x"],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.startswith("error: ") and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


def test_record_a_gru_checkpoint(tmp_path, capsys):
    """A GRU records its own gates: r, z, n, h (there is no c or m)."""
    path = tmp_path / "gru.pt"
    save_checkpoint(path, build_model(ModelConfig.default("subtraction", cell="gru", hidden_size=4)))
    out = tmp_path / "gru.parquet"
    assert main(["record", str(path), "123 - 61", "--out", str(out)]) == 0
    summary = last_json(capsys.readouterr().out)
    assert summary["tensors"] == ["r", "z", "n", "h"] and summary["steps"] == 8  # recording order
    frame = pd.read_parquet(out)
    assert len(frame) == 8 * 4 * 4 and set(frame["tensor"]) == {"r", "z", "n", "h"}


@pytest.mark.parametrize("error, code, fragment", [
    (RuntimeError("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory: you "
                  "tried to allocate 160000000000 bytes. Error code 12"), 2,
     "not enough memory (one piece of 160.0 GB was asked for); choose smaller sizes"),
    (MemoryError(), 2, "not enough memory; choose smaller sizes"),
    (RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"), 2, "not enough memory; choose smaller"),
    (RuntimeError("something else broke"), 1, "unexpected RuntimeError: something else broke"),
])  # fmt: skip
def test_running_out_of_memory_says_so_in_one_line(error, code, fragment, subtraction_ckpt, capsys, monkeypatch):
    """A model too big for the machine (e.g. train --hidden-size 100000) said "unexpected RuntimeError: [enforce fail
    at alloc_cpu.cpp:127] …"; now it says what ran out and what to change."""
    from lstm_viz.cli import info

    def fail(*_args):
        raise error

    monkeypatch.setattr(info, "add_parser", _with_run(info.add_parser, fail))  # `info` fails as a big model would
    got, _, stderr = run(capsys, "info", str(subtraction_ckpt))
    assert got == code and stderr.count("\n") == 1 and fragment in stderr, stderr


def test_running_out_of_memory_names_the_commands_own_flags(tmp_path, capsys, monkeypatch):
    """record-corpus --batch 100000000 was told to choose a smaller --hidden-size, --num-layers or --batch-size: flags
    it does not have."""
    from lstm_viz.cli import record_corpus

    def fail(*_args, **_kwargs):
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 307200000000 bytes.")

    monkeypatch.setattr(record_corpus, "record_corpus", fail)
    text = tmp_path / "t.py"
    text.write_text("x = 1\n")
    got, _, err = run(capsys, "record-corpus", str(REPO / "models" / "charlm_python.pt"), "--text-file", str(text),
                      "--out", str(tmp_path / "c"))  # fmt: skip
    assert got == 2 and "not enough memory (one piece of 307.2 GB was asked for); read fewer files side by side " \
        "(--batch)" in err, err


def _with_run(add_parser, func):
    """``add_parser`` with the subcommand's function replaced by ``func``."""

    def patched(sub):
        add_parser(sub)
        sub.choices["info"].set_defaults(func=func)

    return patched


def test_version_names_lstm_viz_torch_and_python(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0 and out.startswith("lstm-viz ") and f"PyTorch {torch.__version__}" in out


@pytest.mark.parametrize("error, code, fragment", [
    (OSError(28, "No space left on device", "out/rec.parquet"), 2,
     "the disk is full writing out/rec.parquet; free some space or choose an --out on another disk"),
    (OSError("[Errno 28] Error writing bytes to file. Detail: [errno 28] No space left on device"), 2,
     "the disk is full; free some space"),  # Arrow's writer: the errno only in the text
    (OSError(13, "Permission denied", "x.pt"), 2, "Permission denied"),
])  # fmt: skip
def test_a_full_disk_is_named_with_what_to_do(error, code, fragment, subtraction_ckpt, capsys, monkeypatch):
    """It said "error: [Errno 28] No space left on device": neither the file nor what to do."""
    from lstm_viz.cli import info

    def fail(*_args):
        raise error

    monkeypatch.setattr(info, "add_parser", _with_run(info.add_parser, fail))
    got, _, stderr = run(capsys, "info", str(subtraction_ckpt))
    assert got == code and stderr.count("\n") == 1 and fragment in stderr, stderr


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path):
    """`generate … | head -c 5` said "error: [Errno 32] Broken pipe" and exited 2 (bad input); it stops quietly now,
    with 141 as a tool stopped by SIGPIPE (`set -o pipefail` sees it)."""
    from tests.planted import planted_model

    path = tmp_path / "planted.pt"
    save_checkpoint(path, planted_model())
    done = subprocess.run(
        ["bash", "-c", f"{sys.executable} -m lstm_viz generate {path} --chars 100000 --seed 0 | head -c 5; "
         "echo \" ${PIPESTATUS[0]}\""],
        capture_output=True, text=True, cwd=REPO, check=False,
    )  # fmt: skip
    assert done.stdout.endswith(" 141\n") and len(done.stdout) == len("xxxxx 141\n"), done.stdout
    assert done.stderr == "", done.stderr


def test_record_refuses_to_write_over_its_own_input(tmp_path, capsys):
    """`record MODEL --text-file data.csv --out data.csv` replaced the user's file with the recording."""
    from tests.planted import planted_model

    planted_text_model = tmp_path / "planted.pt"
    save_checkpoint(planted_text_model, planted_model())
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n")
    code, _, stderr = run(capsys, "record", str(planted_text_model), "--text-file", str(data), "--out", str(data))
    assert code == 2 and "is the --text-file itself" in stderr and "data_recording.csv" in stderr
    assert data.read_text() == "a,b\n1,2\n"


@pytest.mark.parametrize("command", ["predict", "record", "ablate"])
def test_json_lines_stay_json_when_a_model_overflows(command, tmp_path, capsys):
    """A regressor whose head overflows answers -inf: `predict --json`, `record` and `ablate --json` printed
    -Infinity / Infinity, which JSON parsers refuse; non-finite numbers are written as strings, as `info` does."""
    torch.manual_seed(0)
    model = build_model(ModelConfig.default("regressor", input_size=3, hidden_size=4, num_layers=1))
    with torch.no_grad():  # every h near +1, and a head that multiplies it past float32's largest number
        for name, p in model.named_parameters():
            p.fill_(3e38 if name.startswith("fc.") else 10.0 if "bias" in name else 0.0)
    path = tmp_path / "inf.pt"
    save_checkpoint(path, model)
    argv = {
        "predict": ["predict", str(path), "1,2,3; 4,5,6", "--json"],
        "record": ["record", str(path), "1,2,3; 4,5,6", "--out", str(tmp_path / "r.csv")],
        "ablate": ["ablate", str(path), "--quiet", "--json", "--top", "2"],
    }[command]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    json.loads(out.strip().splitlines()[-1], parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))


def test_module_chooses_one_lstm_or_gru_of_a_bigger_models_state_dict(tmp_path, capsys):
    """A seq2seq's state_dict: without --module the error lists its recurrent modules; with it, record, predict,
    info and parity use that module alone."""
    model = torch.nn.Module()
    model.emb, model.encoder, model.decoder = torch.nn.Embedding(9, 3), torch.nn.LSTM(3, 4), torch.nn.GRU(3, 2)
    path = tmp_path / "s2s.pt"
    torch.save(model.state_dict(), path)
    code, out, err = run(capsys, "record", str(path), "1, 2, 3", "--out", str(tmp_path / "r.parquet"))
    assert code == 2 and f"{path} holds 2 recurrent modules (encoder: LSTM(3→4, 1 layer), decoder: GRU(3→2, 1 " \
        "layer))" in err
    assert "on the command line: --module encoder;" in err and "Traceback" not in err
    code, out, _ = run(capsys, "info", str(path))  # info lists them: what the file holds is its answer
    got = last_json(out)
    assert code == 0 and got["modules"] == {"encoder": "LSTM(3→4, 1 layer)", "decoder": "GRU(3→2, 1 layer)"}
    assert got["unreadable"] == {} and "--module NAME" in got["description"]
    code, out, _ = run(capsys, "info", str(path), "--module", "decoder")
    assert code == 0 and last_json(out)["config"]["cell"] == "gru"
    rec = tmp_path / "enc.parquet"
    code, out, err = run(capsys, "record", str(path), "1, 2, 3; 0, 0, 1", "--module", "encoder", "--out", str(rec))
    assert code == 0, err
    frame = pd.read_parquet(rec)
    assert set(frame["tensor"].unique()) >= {"f", "i", "g", "o", "c", "h"} and frame["t"].max() == 1
    code, out, _ = run(capsys, "parity", str(path), "--module", "encoder", "--json")
    assert code == 0 and last_json(out)["ok"]
    code, _, err = run(capsys, "predict", str(path), "1, 2, 3", "--module", "nope")
    assert code == 2 and "has no recurrent module 'nope'; it holds encoder: LSTM(3→4, 1 layer)" in err
    code, _, err = run(capsys, "parity", "--module", "encoder")
    assert code == 2 and "--module chooses a recurrent module of a checkpoint" in err



@pytest.mark.parametrize(
    "argv, wanted",
    [(["ablate", "--data", "probe"], "an lstm-viz checkpoint or a plain LSTM/GRU state_dict"),
     (["units", "--text-file", __file__, "--feature", "in_string"], "a text model such as models/charlm_python.pt"),
     (["generate"], "a text model such as models/charlm_python.pt"),
     (["record-corpus", "--text-file", __file__, "--out", "corpus"], "not a character model: record a corpus with a "
      "text model such as models/charlm_python.pt")],
)  # fmt: skip
def test_commands_without_module_refuse_a_bigger_models_state_dict_in_their_own_words(tmp_path, capsys, argv,
                                                                                      wanted):  # fmt: skip
    """ablate, units, generate and record-corpus told the user to pass --module encoder, which they do not take."""
    model = torch.nn.Module()
    model.encoder, model.decoder = torch.nn.LSTM(3, 4), torch.nn.GRU(3, 2)
    path = tmp_path / "s2s.pt"
    torch.save(model.state_dict(), path)
    argv = [a if a != "corpus" else str(tmp_path / "corpus") for a in argv]
    code, _, err = run(capsys, argv[0], str(path), *argv[1:])
    assert code == 2 and f"{path} is a bigger model's state_dict (encoder: LSTM(3→4, 1 layer), decoder: GRU(3→2, 1 " \
        "layer))" in err and wanted in err
    assert "--module encoder" not in err or "record, predict, info or parity --module encoder" in err
    assert "Traceback" not in err

def test_record_without_input_says_what_a_wide_model_reads(tmp_path, capsys):
    """A model of 300 inputs was told "e.g. '1, 0.25, … 0… (4,076 characters)'", an example cut mid-number."""
    for width, says in ((300, "give one input to record: 300 numbers a step, commas between them and ';' (or a new "
                               "line) between steps"), (7, "give one input to record, e.g. '1, 0.25")):  # fmt: skip
        path = tmp_path / f"w{width}.pt"
        torch.save(torch.nn.LSTM(width, 8).state_dict(), path)
        code, _, err = run(capsys, "record", str(path), "--out", str(tmp_path / "r.parquet"))
        assert code == 2 and says in err and "…" not in err



def test_info_gives_a_bare_models_output_size_as_wide_as_predicts_answer(tmp_path, capsys):
    """info said "output_size": 1 for a plain nn.LSTM state_dict, whose predict answers with D × size-of-h numbers."""
    path = tmp_path / "lstmp.pt"
    torch.save(torch.nn.LSTM(3, 5, proj_size=2, bidirectional=True).state_dict(), path)
    code, out, _ = run(capsys, "info", str(path))
    assert code == 0 and last_json(out)["config"]["output_size"] == 4
    code, out, _ = run(capsys, "predict", str(path), "1, 2, 3; 0, 1, 0", "--json")
    assert code == 0 and len(last_json(out)["answer"]) == 4
