"""``python -m lstm_viz parity``: posts 1 and 3 from the command line — shapes, differences to nn.LSTM, the RNN
checks, any size or a checkpoint's LSTM, an exit status that says whether the twin is exact, and bad flags."""

from __future__ import annotations

import dataclasses

import pytest

from lstm_viz.cli import main
from lstm_viz.core import reference as ref
from lstm_viz.paths import MODELS_DIR
from tests.cli_output import last_json


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_post_1s_example_by_default_shapes_and_exact_forward(capsys):
    code, out, err = run(capsys, "parity", "--device", "cpu")
    assert code == 0 and err == ""
    assert out.startswith("nn.LSTM(10, 20, num_layers=2) on an input of shape (5, 3, 10) (sequence first), post 1's")
    assert "  output          (5, 3, 20)      (5, 3, 20)" in out  # post 1's shapes, nn.LSTM and the twin
    assert "  h_n             (2, 3, 20)      (2, 3, 20)" in out
    forward = next(line for line in out.splitlines() if line.strip().startswith("RecordingLSTM.forward"))
    assert forward.split()[1:] == ["0", "0", "0", "True"]  # the drop-in twin runs nn.LSTM's own kernel
    assert "nn.RNNCell(10, 20) stepped by hand vs nn.RNN" in out and "bidirectional RNN by hand" in out
    assert out.rstrip().endswith("parity: ok")


def test_json_for_any_size_with_post_3s_random_state(capsys):
    code, out, _ = run(capsys, "parity", "--input-size", "4", "--hidden-size", "5", "--proj-size", "3",
                       "--num-layers", "2", "--bidirectional", "--batch-first", "--steps", "7", "--batch", "2",
                       "--state", "random", "--dtype", "float64", "--device", "cpu", "--json")  # fmt: skip
    got = last_json(out)
    assert code == 0 and got["ok"] is True and got["dtype"] == "float64" and got["state"] == "random"
    assert got["lstm"] == "nn.LSTM(4, 5, proj_size=3, num_layers=2, batch_first=True, bidirectional=True)"
    assert got["input_shape"] == [2, 7, 4]
    assert got["shapes"]["nn.LSTM"] == got["shapes"]["RecordingLSTM"] == {
        "output": [2, 7, 6], "h_n": [4, 2, 3], "c_n": [4, 2, 5]}  # fmt: skip
    assert set(got["max_diff"]) == {"forward", "recording", "loop"}
    assert max(max(row.values()) for row in got["max_diff"].values()) < 1e-12  # float64: rounding only
    assert got["tolerance"] == 1e-10 and all(check["ok"] for check in got["rnn"].values())


def test_a_checkpoints_lstm_on_its_tasks_input(capsys):
    code, out, _ = run(capsys, "parity", str(MODELS_DIR / "subtraction_lstm.pt"), "--input", "123 - 61",
                       "--device", "cpu", "--json")  # fmt: skip
    got = last_json(out)
    assert code == 0 and got["ok"] and got["input_shape"] == [1, 8, 2] and got["rnn"] == {}
    assert got["max_diff"]["forward"] == {"output": 0.0, "h_n": 0.0, "c_n": 0.0}
    code, out, _ = run(capsys, "parity", str(MODELS_DIR / "charlm_python.pt"), "--input", "def f(x):\n",
                       "--device", "cpu", "--json")  # a text model: its LSTM reads the characters' embeddings
    got = last_json(out)
    assert code == 0 and got["ok"] and got["input_shape"] == [1, 10, 64]


def test_a_difference_beyond_rounding_fails_with_status_1(capsys, monkeypatch):
    real = ref.parity

    def off(lstm, x, hx=None):
        par = real(lstm, x, hx)
        rows = {**par.rows, "recording": {"output": 0.01, "h_n": 0.01, "c_n": 0.01}}
        return dataclasses.replace(par, rows=rows, scaled_diff=0.01, allclose={**par.allclose, "recording": False})

    monkeypatch.setattr(ref, "parity", off)
    code, out, err = run(capsys, "parity", "--device", "cpu")
    assert code == 1 and "← BEYOND ROUNDING" in out and out.rstrip().endswith("parity: FAILED")
    assert err.startswith("error: a difference beyond rounding") and "Traceback" not in err
    code, out, _ = run(capsys, "parity", "--device", "cpu", "--json")
    assert code == 1 and last_json(out)["ok"] is False


@pytest.mark.parametrize("argv, says", [
    (["--hidden-size", "0"], "--hidden-size must be from 1 to 4,096, got 0"),
    (["--proj-size", "20"], "--proj-size must be from 0 (no projection) to 19 (below --hidden-size 20), got 20"),
    (["--hidden-size", "4000", "--steps", "10000"], "more than 50,000,000 (~0.2 GB): give fewer --steps"),
    (["--input", "1 - 1"], "--input is read by a checkpoint's task: give a checkpoint"),
    (["--hidden-size", "abc"], "argument --hidden-size: invalid int value: 'abc'"),
    ([str(MODELS_DIR / "subtraction_lstm.pt"), "--hidden-size", "3"], "--hidden-size describes a new LSTM"),
    ([str(MODELS_DIR / "subtraction_lstm.pt"), "--input", "1 - 1", "--steps", "3"], "--input has its own"),
    ([str(MODELS_DIR / "subtraction_lstm.pt"), "--input", "300 - 1"], "a = 300 does not fit in 8 bits"),
    ([str(MODELS_DIR / "subtraction_gru.pt")], "is a GRU, and this command checks RecordingLSTM against nn.LSTM"),
])  # fmt: skip
def test_bad_flags_say_what_to_do(capsys, argv, says):
    code, out, err = run(capsys, "parity", *argv)
    assert code == 2 and says in err and "Traceback" not in err and out == ""


def test_an_overflow_is_not_ok_and_a_checkpoints_input_is_bounded(tmp_path, capsys):
    """Weights of 3e38 made every difference NaN, and max(0.0, nan) is 0.0: "parity: ok". A checkpoint's --steps and
    --batch had no bound (~190 GB for the text model) and 0 ran as 5 × 3."""
    import torch

    lstm = torch.nn.LSTM(3, 4)
    with torch.no_grad():
        for p in lstm.parameters():
            p.fill_(3e38)
    path = tmp_path / "huge.pt"
    torch.save(lstm.state_dict(), path)
    code, out, err = run(capsys, "parity", str(path), "--device", "cpu")
    assert code == 1 and "parity: FAILED" in out and "yet within rounding" not in out
    assert "nn.LSTM's own output is not finite (inf or NaN)" in err
    code, out, _ = run(capsys, "parity", str(path), "--device", "cpu", "--json")
    got = last_json(out)
    assert code == 1 and got["ok"] is False and got["reference_finite"] is False and got["scaled_diff"] is None
    nan = float("nan")
    rows = {"forward": {"output": 0.0, "h_n": 0.0, "c_n": 0.0}, "loop": {"output": nan, "h_n": 0.0, "c_n": 0.0}}
    assert ref.Parity(rows, {}, "float32").max_diff != ref.Parity(rows, {}, "float32").max_diff  # NaN, not 0.0
    text = str(MODELS_DIR / "charlm_python.pt")
    code, _, err = run(capsys, "parity", text, "--steps", "10000", "--batch", "1024")
    assert code == 2 and "more than 50,000,000 (~0.2 GB)" in err
    for flag in ("--steps", "--batch"):
        code, _, err = run(capsys, "parity", str(MODELS_DIR / "subtraction_lstm.pt"), flag, "0")
        assert code == 2 and f"{flag} must be from 1 to" in err
