"""The text commands' contracts: ``units`` (its JSON line), ``record --text-file`` (its Parquet table: t = the
character position in the file, a ``char`` column), ``generate``, ``convert``, ``predict`` on a text — and bad input
of every kind as one line on stderr with exit status 2."""

from __future__ import annotations

import json
from collections import namedtuple

import pandas as pd
import pytest
import torch

from lstm_viz.cli import main
from lstm_viz.core.device import pick_device
from lstm_viz.tasks.charlm.data import label_text
from lstm_viz.tasks.charlm.scoring import exact_auroc, pearson
from lstm_viz.training.checkpoints import load_checkpoint, save_checkpoint
from tests.cli_output import last_json
from tests.planted import BRACKETS, QUOTES, SNIPPET, planted_model

shutil_usage = namedtuple("shutil_usage", "total used free")


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("text")
    model = planted_model()
    save_checkpoint(folder / "planted.pt", model)
    (folder / "snippet.py").write_text(SNIPPET)
    (folder / "long.py").write_text(SNIPPET * 20)  # 2,820 characters: recorded and ranked in two chunks
    (folder / "crlf.py").write_bytes(b'a = "x"\r\nb = (1,\r\n     2)\r\n')
    (folder / "empty.py").write_bytes(b"")
    (folder / "bom.py").write_bytes(b"\xef\xbb\xbf")  # a byte-order mark and nothing else
    (folder / "binary.py").write_bytes(b"\x00\x01\x02\x03" * 100)
    (folder / "latin.py").write_bytes("x = 'café'\n".encode("latin-1"))
    (folder / "prose.txt").write_text("It's a 'quote (that never closes\n")
    (folder / "big.py").write_bytes(b"x = 1\n" * 900_000)
    from lstm_viz.tasks import ModelConfig, build_model

    save_checkpoint(folder / "sub.pt", build_model(ModelConfig.default("subtraction")))
    return folder


def test_units_json_contract_finds_the_planted_cells(files, capsys):
    code, out, err = run(capsys, "units", files / "planted.pt", "--text-file", files / "snippet.py", "--feature",
                         "bracket_depth", "--top", "5", "--json")  # fmt: skip
    assert code == 0, err
    result = last_json(out)
    assert result["feature"] == "bracket_depth" and result["metric"] == "abs_pearson"
    assert len(result["units"]) == 5
    assert set(result["units"][0]) >= {"name", "unit", "score"}
    first = result["units"][0]
    assert (first["name"], first["unit"]) == ("layer0.fwd.c", BRACKETS) and first["score"] > 0.999
    scores = [u["score"] for u in result["units"]]
    assert scores == sorted(scores, reverse=True)
    assert all(u["name"].count(".") == 2 and u["name"].split(".")[2] in "figoch" for u in result["units"])
    code, out, _ = run(capsys, "units", files / "planted.pt", "--text-file", files / "snippet.py", "--feature",
                       "in_string", "--json")  # fmt: skip
    result = last_json(out)
    assert result["metric"] == "auroc" and len(result["units"]) == 10
    assert ("layer0.fwd.c", QUOTES) in {(u["name"], u["unit"]) for u in result["units"][:3]}
    assert result["units"][0]["score"] == pytest.approx(1.0)


@pytest.mark.parametrize("feature", ["in_string", "bracket_depth"])  # AUROC (scored again, exactly) and |r|
def test_units_top_0_lists_every_unit_as_ablate_does(files, capsys, feature):
    every = []
    for top in ("0", "10000"):
        code, out, err = run(capsys, "units", files / "planted.pt", "--text-file", files / "snippet.py", "--feature",
                             feature, "--top", top, "--json")  # fmt: skip
        assert code == 0, err
        every.append(last_json(out)["units"])
    assert every[0] == every[1] and len(every[0]) > 40  # more than the 40 candidates scored again by default
    code, _, err = run(capsys, "units", files / "planted.pt", "--text-file", files / "snippet.py", "--feature",
                       feature, "--top", "-1")  # fmt: skip
    assert code == 2 and "--top must be from 1 to 10,000, or 0 for every unit; got -1" in err


def test_units_scores_are_exact(files, capsys):
    code, out, _ = run(capsys, "units", files / "planted.pt", "--text-file", files / "snippet.py", "--feature",
                       "column", "--top", "3", "--json")  # fmt: skip
    result = last_json(out)
    model = load_checkpoint(files / "planted.pt", device=pick_device()).model  # recorded where the command records
    from lstm_viz.tasks.charlm.data import encode

    rec = model.record(torch.from_numpy(encode(SNIPPET)).unsqueeze(0)).to("cpu")
    labels = label_text(SNIPPET)
    for unit in result["units"]:
        values = rec[unit["name"]][0, :, unit["unit"]]
        assert unit["score"] == pytest.approx(abs(pearson(values, labels["column"])), abs=1e-5)
    # r comes from the ranking pass itself (moments merged across chunks), AUROC from a second, exact pass
    code, out, _ = run(capsys, "units", files / "planted.pt", "--text-file", files / "long.py", "--feature",
                       "bracket_depth", "--top", "3", "--json")  # fmt: skip
    long_rec = model.record(torch.from_numpy(encode(SNIPPET * 20)).unsqueeze(0)).to("cpu")
    depth = label_text(SNIPPET * 20)["bracket_depth"]
    for unit in last_json(out)["units"]:
        r = pearson(long_rec[unit["name"]][0, :, unit["unit"]], depth)
        assert (unit["score"], unit["value"]) == (pytest.approx(abs(r), abs=1e-5), pytest.approx(r, abs=1e-5))
    code, out, _ = run(capsys, "units", files / "planted.pt", "--text-file", files / "snippet.py", "--feature",
                       "keyword", "--top", "2", "--json")  # fmt: skip
    for unit in last_json(out)["units"]:
        raw = exact_auroc(rec[unit["name"]][0, :, unit["unit"]], labels["keyword"])
        assert unit["score"] == pytest.approx(max(raw, 1 - raw), abs=1e-6)
    code, out, _ = run(capsys, "units", files / "planted.pt", "--text-file", files / "snippet.py", "--feature",
                       "in_comment")  # fmt: skip
    assert code == 0 and "in_comment over" in out and "unit" in out


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_record_of_typed_text_has_the_char_column_too(files, tmp_path, capsys, suffix):
    """A text typed on the command line is recorded like a --text-file: one step a character and a char column
    (it had neither the char column nor anything else naming the step's input)."""
    out = tmp_path / f"typed{suffix}"
    typed = "x = (1, 'a')  # c"
    code, stdout, err = run(capsys, "record", files / "planted.pt", typed, "--tensors", "c", "--out", out)
    assert code == 0, err
    assert last_json(stdout)["columns"][-1] == "char"
    frame = pd.read_csv(out, keep_default_na=False) if suffix == ".csv" else pd.read_parquet(out)
    assert "".join(frame.groupby("t")["char"].first().astype(str)) == typed
    by_file = tmp_path / "typed.py"
    by_file.write_text(typed)
    code, _, err = run(capsys, "record", files / "planted.pt", "--text-file", by_file, "--tensors", "c",
                       "--out", tmp_path / f"file{suffix}")  # fmt: skip
    same = pd.read_csv(tmp_path / f"file{suffix}", keep_default_na=False) if suffix == ".csv" else pd.read_parquet(
        tmp_path / f"file{suffix}")  # fmt: skip
    key = ["layer", "t", "unit"]
    assert frame.sort_values(key)["value"].to_numpy() == pytest.approx(same.sort_values(key)["value"].to_numpy())


def test_record_text_file_parquet_contract(files, tmp_path, capsys):
    out = tmp_path / "rec.parquet"
    code, stdout, err = run(capsys, "record", files / "planted.pt", "--text-file", files / "crlf.py", "--layers", "0",
                            "--tensors", "c,h", "--out", out)  # fmt: skip
    assert code == 0, err
    summary = last_json(stdout)
    raw = (files / "crlf.py").read_bytes().decode()
    assert summary["steps"] == len(raw) == 27 and summary["tensors"] == ["c", "h"]
    frame = pd.read_parquet(out)
    assert {"layer", "t", "unit", "tensor", "value", "char"} <= set(frame.columns)
    assert sorted(frame["t"].unique()) == list(range(len(raw)))  # one step per character, the first included
    assert set(frame["layer"]) == {0} and len(frame) == len(raw) * 2 * 16
    by_t = frame.groupby("t")["char"].first().astype(str)
    assert "".join(by_t) == raw  # t is the character's position in the file (\r kept)
    model = load_checkpoint(files / "planted.pt").model
    from lstm_viz.tasks.charlm.data import encode

    rec = model.record(torch.from_numpy(encode(raw)).unsqueeze(0))
    c = frame[(frame.tensor == "c") & (frame.unit == BRACKETS)].sort_values("t")["value"].to_numpy()
    torch.testing.assert_close(torch.tensor(c, dtype=torch.float32), rec["layer0.fwd.c"][0, :, BRACKETS])


def test_generate_writes_as_it_goes_and_keeps_what_it_wrote_when_stopped(files, capsys, monkeypatch):
    import lstm_viz.cli.generate as cli_generate

    code, out, _ = run(capsys, "generate", files / "planted.pt", "--prompt", "x", "--chars", "150", "--seed", "2")
    _, payload, _ = run(capsys, "generate", files / "planted.pt", "--prompt", "x", "--chars", "150", "--seed", "2",
                        "--json")  # fmt: skip
    text = json.loads(payload)["text"]
    assert code == 0 and out == "x" + text + ("" if text.endswith("\n") else "\n")  # streamed = the same text

    def stopped(*args):
        yield from "abc"
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_generate, "generate_stream", stopped)
    code, out, err = run(capsys, "generate", files / "planted.pt", "--prompt", "p", "--chars", "10")
    assert code == 130 and out == "pabc\n" and err == "error: interrupted after 3 of 10 characters (written above)\n"
    code, out, err = run(capsys, "generate", files / "planted.pt", "--chars", "10", "--json")
    assert code == 130 and out == "" and "interrupted after 3 of 10 characters; --json prints only" in err
    monkeypatch.undo()
    code, out, _ = run(capsys, "generate", files / "planted.pt", "--chars", "5", "--json", "--seed", "1")
    assert code == 0 and last_json(out)["prompt"] == "\n"  # what the model read first (it said "")


def test_record_says_how_big_a_big_table_will_be_before_writing_it(files, tmp_path, capsys, monkeypatch):
    import lstm_viz.cli.record as cli_record

    monkeypatch.setattr(cli_record, "BIG_TABLE_BYTES", 0)  # every table counts as big
    code, _, err = run(capsys, "record", files / "planted.pt", "--text-file", files / "snippet.py", "--tensors", "c",
                       "--out", tmp_path / "r.parquet")  # fmt: skip
    assert code == 0 and err.startswith("note: recording ") and "rows, ~" in err and "--layers and --tensors" in err


def test_units_on_a_tiny_text_says_the_ranking_says_little(files, tmp_path, capsys):
    tiny = tmp_path / "tiny.py"
    tiny.write_text('def f(x):\n    return "a"  # c\n')
    code, out, err = run(capsys, "units", files / "planted.pt", "--text-file", tiny, "--feature", "in_string", "--json")
    assert code == 0 and json.loads(out)["units"] and "the ranking says little" in err


def test_a_typed_text_past_the_limit_is_refused_and_notes_are_said(files, tmp_path, capsys):
    long = "x = 1\n" * 3000 + "def f("  # 18,006 characters: the app would record its first 10,000
    code, out, err = run(capsys, "predict", files / "planted.pt", long)
    assert code == 2 and out == "" and "more than the 10,000 a typed input may have; give its last part" in err
    code, _, err = run(capsys, "record", files / "planted.pt", long, "--out", tmp_path / "r.parquet")
    assert code == 2 and "record --text-file FILE" in err and not (tmp_path / "r.parquet").exists()
    code, out, err = run(capsys, "predict", files / "planted.pt", "x = 'é'", "y = 1")
    assert code == 0 and err == ("note: input 1: 1 character outside the model's vocabulary (printable ASCII, tab "
                                 "and newline) is read as <unk>.\n")  # fmt: skip
    assert len(out.splitlines()) == 2


def test_record_a_long_text_in_chunks_equals_one_pass(files, tmp_path, capsys, monkeypatch):
    from lstm_viz.cli import record

    monkeypatch.setattr(record, "CHUNK", 7)
    out = tmp_path / "rec.csv"
    code, _, err = run(capsys, "record", files / "planted.pt", "--text-file", files / "snippet.py", "--tensors", "c",
                       "--out", out)  # fmt: skip
    assert code == 0, err
    frame = pd.read_csv(out, keep_default_na=False)
    c = frame[(frame.layer == 0) & (frame.unit == BRACKETS)].sort_values("t")["value"].to_numpy()
    assert c.max() == pytest.approx(label_text(SNIPPET)["bracket_depth"].max(), abs=0.05)
    assert len(frame) == len(SNIPPET) * 2 * 16
    # Parquet written a chunk at a time: one schema, every character once, the same values as the CSV
    code, _, err = run(capsys, "record", files / "planted.pt", "--text-file", files / "snippet.py", "--tensors", "c",
                       "--out", tmp_path / "rec.parquet")  # fmt: skip
    assert code == 0, err
    table = pd.read_parquet(tmp_path / "rec.parquet")
    assert "".join(table.groupby("t")["char"].first().astype(str)) == SNIPPET
    key = ["layer", "t", "unit"]
    both = table.sort_values(key)["value"].to_numpy(), frame.sort_values(key)["value"].to_numpy()
    assert both[0] == pytest.approx(both[1], abs=1e-6)


def test_a_recording_too_big_for_the_disk_is_refused_before_writing(files, tmp_path, capsys, monkeypatch):
    from lstm_viz.cli import record

    monkeypatch.setattr(record.shutil, "disk_usage", lambda _: shutil_usage(10**9, 10**9 - 50_000, 50_000))
    out = tmp_path / "deep" / "rec.parquet"
    code, stdout, err = run(capsys, "record", files / "planted.pt", "--text-file", files / "snippet.py", "--out", out)
    assert code == 2 and stdout == "", err  # 141 characters × 224 rows: ~250 kB, with 50 kB free
    assert "rows" in err and "GB free" in err and "--layers" in err and len(err.strip().splitlines()) == 1
    assert not out.parent.exists() or not any(out.parent.iterdir())  # nothing written, no temporary file left
    code, _, err = run(capsys, "record", files / "planted.pt", "--text-file", files / "snippet.py", "--layers", "0",
                       "--tensors", "c", "--out", out)  # fmt: skip
    assert code == 0 and out.exists(), err  # 141 × 16 rows fit
    monkeypatch.setattr(record.shutil, "disk_usage", lambda _: shutil_usage(10**9, 10**9 - 1_000, 1_000))
    code, stdout, err = run(capsys, "record", files / "sub.pt", "123 - 61", "--out", tmp_path / "sub.parquet")
    assert code == 2 and "recording this input makes about 1,792 rows" in err  # an INPUT is checked the same way
    assert not (tmp_path / "sub.parquet").exists()


def test_the_old_record_form_still_works(files, tmp_path, capsys):
    code, out, err = run(capsys, "record", files / "sub.pt", "123 - 61", "--out", tmp_path / "r.parquet")
    assert code == 0, err
    assert last_json(out)["answer"] == pytest.approx(json.loads(out)["answer"])


def test_generate_and_predict(files, capsys):
    code, out, _ = run(capsys, "generate", files / "planted.pt", "--prompt", "def ", "--chars", "40", "--seed", "3")
    assert code == 0 and out.startswith("def ") and len(out.rstrip("\n")) >= 40
    code, out, _ = run(capsys, "generate", files / "planted.pt", "--chars", "40", "--seed", "3", "--json")
    payload = json.loads(out)
    assert len(payload["text"]) == 40 and payload["seed"] == 3
    code, out, _ = run(capsys, "predict", files / "planted.pt", "x = (1", "--json")
    answer = json.loads(out)["answer"]
    assert len(answer["next"]) == 5 and answer["bits_per_char"] > 0
    code, out, _ = run(capsys, "predict", files / "planted.pt", "x = (1")  # plain: one line a person reads
    first = json.dumps(answer["next"][0]["char"])
    assert code == 0 and out.startswith(f"next {first} ") and "bits/char" in out and "{" not in out
    code, out, _ = run(capsys, "predict", files / "planted.pt", "x")  # one character: nothing scored yet
    assert code == 0 and out.startswith("next ") and "bits/char" not in out


@pytest.mark.parametrize("argv, fragment", [
    (["units", "{planted}", "--text-file", "{empty}", "--feature", "in_string"], "is empty (0 bytes). Give a"),
    (["units", "{planted}", "--text-file", "{binary}", "--feature", "in_string"], "not text. Give"),
    (["units", "{planted}", "--text-file", "{bom}", "--feature", "in_string"], "only a UTF-8 byte-order mark"),
    (["record", "{planted}", "--text-file", "{bom}", "--out", "{out}"], "only a UTF-8 byte-order mark"),
    (["units", "{planted}", "--text-file", "{latin}", "--feature", "in_string"], "not UTF-8"),
    (["units", "{planted}", "--text-file", "{big}", "--feature", "in_string"], "of up to 1,000,000 bytes are read"),
    (["units", "{planted}", "--text-file", "{prose}", "--feature", "in_string"], "does not tokenize as Python"),
    (["units", "{planted}", "--text-file", "{missing}", "--feature", "in_string"], "no such file"),
    (["units", "{planted}", "--text-file", "{folder}", "--feature", "in_string"], "this is a folder"),
    (["units", "{planted}", "--text-file", "/dev/null", "--feature", "in_string"], "not a regular file"),
    (["units", "{planted}", "--text-file", "{snippet}", "--feature", "sparkle"], "invalid choice"),
    (["units", "{sub}", "--text-file", "{snippet}", "--feature", "in_string"], "does not read text"),
    (["record", "{planted}", "--text-file", "{snippet}", "--tensors", "q", "--out", "{out}"], "--tensors 'q'"),
    (["record", "{planted}", "--out", "{out}"], "give one input to record: --text-file F (a .py or .txt file) or"),
    (["record", "{sub}", "--out", "{out}"], "give one input to record, e.g. '123 - 61' for this subtraction"),
    (["record", "{sub}", "9 - 3", "--text-file", "{snippet}", "--out", "{out}"], "INPUT or --text-file F, not both"),
    (["record", "{sub}", "--text-file", "{snippet}", "--out", "{out}"], "does not read text"),
    (["generate", "{planted}", "--temperature", "-2"], "temperature"),
    (["generate", "{sub}"], "does not read text"),
    (["generate", "{planted}", "--seed", "18446744073709551616"], "--seed: must be from 0 to"),
    (["generate", "{planted}", "--seed", "-1"], "--seed: must be from 0 to"),
    (["record", "{planted}", "--text-file", "{snippet}", "--out", "{outdir}"], "is a folder; give a file"),
    (["convert", "{sub}", "--out", "{ptout}"], "not a research charlm checkpoint"),
    (["convert", "{folder}", "--out", "{ptout}"], "is a folder, not a checkpoint file"),
    (["convert", "{snippet}", "--out", "{ptout}"], "not a PyTorch file (or it is corrupt); give a"),  # not "(EOFError)"
])  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(argv, fragment, files, tmp_path, capsys):
    (tmp_path / "dir.parquet").mkdir()  # a folder whose name ends in .parquet
    names = {"planted": files / "planted.pt", "sub": files / "sub.pt", "out": tmp_path / "o.parquet",
             "ptout": tmp_path / "o.pt", "outdir": tmp_path / "dir.parquet",
             "missing": files / "nope.py", "folder": files, **{p.stem: p for p in files.iterdir()}}  # fmt: skip
    code, out, err = run(capsys, *[a.format(**names) for a in argv])
    assert code == 2, (out, err)
    assert fragment in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "upload" not in err.lower() and "paste" not in err  # the app's words, not the command line's


def test_convert_a_research_checkpoint(tmp_path, capsys):
    from lstm_viz.tasks.charlm.model import CharLM, CharLMConfig

    torch.manual_seed(0)
    research = CharLM(CharLMConfig(embed_size=8, hidden_size=16, num_layers=1))
    torch.save({"format": "lstm-viz/charlm-checkpoint-v0", "config": research.config.to_dict(),
                "state_dict": research.state_dict(), "manifest": {"digest": "x"}, "recipe": {"lr": 1e-3},
                "command": "python -m lstm_viz.tasks.charlm.train --hidden 16", "torch_version": str(torch.__version__),
                "metrics": {"train": {"kind": "done", "val_bpc": 2.5, "loss_bpc": 2.6}, "units": {}}},
               tmp_path / "r.pt")  # fmt: skip
    code, _, err = run(capsys, "convert", tmp_path / "r.pt", "--out", tmp_path / "c.pt")
    assert code == 0, err
    ckpt = load_checkpoint(tmp_path / "c.pt")
    assert ckpt.meta["metrics"] == {"val_bpc": 2.5, "train_bpc": 2.6} and "--hidden 16" in ckpt.meta["how"]
    x = torch.tensor([[5, 6, 7]])
    torch.testing.assert_close(ckpt.model(x), research(x)[0])


@pytest.mark.parametrize("change, says", [
    ({"metrics": {"train": {"val_bpc": torch.tensor(1.4)}, "units": {}}}, "training metrics are not what"),
    ({"metrics": {"train": [1, 2], "units": {}}}, "training metrics are not what"),
    ({"config": {"embed_size": 8, "hidden_size": 100_000, "num_layers": 1, "vocab_size": 98}},
     "the weights do not match the saved config"),
    ({"state_dict": [1, 2]}, "it holds no weights"),
    ({"config": {"embed_size": 8, "hidden_size": 16, "num_layers": 1.7, "vocab_size": 98}},
     "num_layers must be a whole number, got 1.7"),  # was read as 1
    ({"recipe": {"lr": torch.tensor(1e-3)}}, "its recipe is not plain data"),  # json.dumps' TypeError, no file named
    ({"recipe": {("a", "b"): 1}}, "its recipe is not plain data"),
    ({"manifest": {"x": b"\x00"}}, "r.pt: what it says of its training is not plain data"),  # the file unnamed
])  # fmt: skip
def test_convert_refuses_a_foreign_research_file_before_writing(change, says, tmp_path, capsys):
    from lstm_viz.tasks.charlm.model import CharLM, CharLMConfig

    research = CharLM(CharLMConfig(embed_size=8, hidden_size=16, num_layers=1))
    torch.save({"format": "lstm-viz/charlm-checkpoint-v0", "config": research.config.to_dict(),
                "state_dict": research.state_dict(), "metrics": {"train": {}, "units": {}}, **change},
               tmp_path / "r.pt")  # fmt: skip
    (tmp_path / "c.pt").write_bytes(b"kept")
    code, _, err = run(capsys, "convert", tmp_path / "r.pt", "--out", tmp_path / "c.pt")
    assert code == 2 and says in err and len(err.splitlines()) == 1
    assert (tmp_path / "c.pt").read_bytes() == b"kept"  # a failed run writes nothing


def test_record_of_a_crlf_text_to_csv_keeps_every_carriage_return(files, tmp_path, capsys):
    import csv

    text = 'x = "a"  # c\r\nif x:\r\n    y = (1, [2])\r\n'
    source = tmp_path / "crlf.py"
    source.write_bytes(text.encode())
    out = tmp_path / "crlf.csv"
    code, _, err = run(capsys, "record", files / "planted.pt", "--text-file", source, "--tensors", "c", "--layers", "0",
                       "--out", out)  # fmt: skip
    assert code == 0, err
    frame = pd.read_csv(out, keep_default_na=False)
    assert "".join(frame.groupby("t")["char"].first()) == text  # "\r" read back as itself, not ""
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert {r["char"] for r in rows if r["t"] == "12"} == {"\r"}


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGTERM") or __import__("os").name != "posix",
                    reason="SIGTERM to oneself is a POSIX test")  # fmt: skip
def test_sigterm_mid_recording_leaves_no_partial_file(files, tmp_path, capsys, monkeypatch):
    import os
    import signal
    import threading

    from lstm_viz.cli import record

    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers are installed by the main thread only")
    monkeypatch.setattr(record, "CHUNK", 7)
    write = record._TableWriter.write

    def write_then_terminated(self, frame):  # a scheduler's `kill` arrives after the first chunk is on disk
        write(self, frame)
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(record._TableWriter, "write", write_then_terminated)
    before = signal.getsignal(signal.SIGTERM)
    out = tmp_path / "rec.parquet"
    code, _, err = run(capsys, "record", files / "planted.pt", "--text-file", files / "snippet.py", "--out", out)
    assert code == 143 and "terminated" in err
    assert list(tmp_path.iterdir()) == []  # neither rec.parquet nor .rec.parquet.tmp
    assert signal.getsignal(signal.SIGTERM) == before  # the caller's handler is back


def test_two_records_into_one_out_each_write_their_own_temporary_file(tmp_path):
    """Two runs writing the same --out shared one temporary file: one said exit 0 over a corrupt table."""
    import pyarrow.parquet as pq

    from lstm_viz.cli.record import _TableWriter

    out = tmp_path / "rec.parquet"
    a, b = _TableWriter(out), _TableWriter(out)
    assert a.tmp != b.tmp and a.tmp.parent == b.tmp.parent == tmp_path
    a.write(pd.DataFrame({"t": range(1000)}))
    b.write(pd.DataFrame({"t": range(5)}))
    b.finish()
    a.write(pd.DataFrame({"t": range(1000, 2000)}))
    a.finish()  # the last to finish wins, whole
    assert pq.read_table(out).num_rows == 2000 and sorted(p.name for p in tmp_path.iterdir()) == ["rec.parquet"]


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="FIFOs are POSIX")
def test_a_pipe_as_the_model_is_refused_not_waited_on(files, tmp_path, capsys):
    import os

    fifo = tmp_path / "model.pt"
    os.mkfifo(fifo)
    code, _, err = run(capsys, "units", fifo, "--text-file", files / "snippet.py", "--feature", "in_string")
    assert code == 2 and "not a regular file" in err  # it blocked for ever reading the pipe


def test_units_on_a_cut_file_says_what_the_command_line_can_do(files, tmp_path, capsys):
    cut = tmp_path / "cut.py"
    cut.write_text('x = """a docstring that never ends\n')
    code, _, err = run(capsys, "units", files / "planted.pt", "--text-file", cut, "--feature", "in_string")
    assert code == 2 and "Give a whole Python file" in err and "regular expression" not in err


def test_a_temporary_file_left_by_a_killed_record_is_removed_by_the_next(tmp_path):
    from lstm_viz.cli.record import _TableWriter

    dead = tmp_path / ".rec.parquet.999999999.0badf00d.tmp"  # no such process
    dead.write_bytes(b"half a table")
    _TableWriter(tmp_path / "rec.parquet")
    assert not dead.exists()


@pytest.mark.parametrize("command", [
    ["units", "{planted}", "--text-file", "{snippet}", "--feature", "in_string", "--json"],
    ["generate", "{planted}", "--chars", "20", "--json"],
    ["record", "{planted}", "--text-file", "{snippet}", "--tensors", "c", "--out", "{out}"],
])  # fmt: skip
def test_text_commands_take_threads_for_themselves_only(command, files, tmp_path, capsys):
    """On a machine busy with other work, PyTorch's one thread per core made `units` take 15 s instead of 1 s; the
    text commands take --threads as train and record-corpus do, for the command only."""
    import torch

    names = {"planted": files / "planted.pt", "snippet": files / "snippet.py", "out": tmp_path / "r.parquet"}
    argv = [a.format(**names) for a in command]
    before = torch.get_num_threads()
    seen = []
    real = torch.set_num_threads
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(torch, "set_num_threads", lambda n: (seen.append(n), real(n)))
        code, _, err = run(capsys, *argv, "--threads", "1")
    assert code == 0, err
    assert seen[0] == 1 and torch.get_num_threads() == before  # used, then PyTorch's own again
    code, _, err = run(capsys, *argv, "--threads", "0")
    assert code == 2 and "--threads must be from 1 to 256, got 0" in err


def test_units_says_when_characters_are_read_as_unk(files, capsys):
    """A CRLF file's \\r are characters the model never saw: units ranked on them silently (the app reads CRLF as
    one newline); it says so now, and why."""
    code, _, err = run(capsys, "units", files / "planted.pt", "--text-file", files / "crlf.py", "--feature",
                       "in_string")  # fmt: skip
    assert code == 0
    assert "3 characters of" in err and "read as <unk> — 3 of them the \\r of CRLF line ends" in err
    code, _, err = run(capsys, "units", files / "planted.pt", "--text-file", files / "snippet.py", "--feature",
                       "in_string")  # fmt: skip
    assert code == 0 and "<unk>" not in err
