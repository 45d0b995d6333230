"""Tests for lstm_viz.lstmp and lstm_viz.lstmp.figures: every number checked against nn.LSTM itself."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from lstm_viz import lstmp as lstmp_api
from lstm_viz.cli import main as cli_main
from lstm_viz.core.lstm import RecordingLSTM
from lstm_viz.lstmp import (
    Latency,
    PairSpec,
    build_pair,
    compare_parameters,
    measure_latency,
    multiply_adds,
    multiply_adds_per_step,
    parameter_table,
    state_sizes,
    summary_table,
    validate_pair,
)
from lstm_viz.lstmp import figures as cf
from lstm_viz.tasks import build_model, count_parameters, subtraction

CASES = list(itertools.product([1, 2, 3], [False, True], [0, 2], [True, False]))  # layers, bidir, proj, bias


@pytest.mark.parametrize(("layers", "bidirectional", "proj", "bias"), CASES)
def test_parameter_table_is_named_parameters(layers: int, bidirectional: bool, proj: int, bias: bool) -> None:
    torch.manual_seed(0)
    lstm = nn.LSTM(3, 5, layers, bias=bias, bidirectional=bidirectional, proj_size=proj)
    table = parameter_table(lstm)
    expected = [(name, tuple(p.shape), p.numel()) for name, p in lstm.named_parameters()]
    assert list(zip(table["name"], table["shape"], table["count"], strict=True)) == expected
    assert table["count"].sum() == count_parameters(lstm) == sum(p.numel() for p in lstm.parameters())
    assert set(table["layer"]) == set(range(layers))
    assert set(table["direction"]) == ({"fwd", "bwd"} if bidirectional else {"fwd"})
    assert (table["kind"] == "projection W_hr").sum() == (layers * (1 + bidirectional) if proj else 0)


def test_post_3_shapes_and_sizes() -> None:
    """Post 3: bs=2, T=3, I=4, H=5, P=3 prints weight_ih_l0 (20, 4), weight_hh_l0 (20, 3), weight_hr_l0 (3, 5)."""
    lstm, lstmp = build_pair(validate_pair(4, 5, 3), device="cpu")
    table = compare_parameters(lstm, lstmp).set_index("tensor")
    assert table.at["weight_ih_l0", "LSTMP shape"] == "(20, 4)"
    assert table.at["weight_hh_l0", "LSTMP shape"] == "(20, 3)"
    assert table.at["weight_hh_l0", "LSTM shape"] == "(20, 5)"
    assert table.at["weight_hr_l0", "LSTMP shape"] == "(3, 5)"
    assert table.at["weight_hr_l0", "LSTM shape"] == "—"
    assert table.at["weight_hr_l0", "LSTM params"] == 0
    assert table.at["bias_ih_l0", "LSTM shape"] == "(20,)"
    assert table.at["total", "LSTM params"] == count_parameters(lstm) == 220
    assert table.at["total", "LSTMP params"] == count_parameters(lstmp) == 195
    assert table.at["total", "change"] == -25
    body = table.drop(index="total")
    assert body["LSTMP params"].sum() == count_parameters(lstmp)
    assert (body["change"] == body["LSTMP params"] - body["LSTM params"]).all()
    assert state_sizes(lstmp, 2, 3) == {"output": (2, 3, 3), "h_n": (1, 2, 3), "c_n": (1, 2, 5)}
    assert state_sizes(lstm, 2, 3) == {"output": (2, 3, 5), "h_n": (1, 2, 5), "c_n": (1, 2, 5)}


def test_state_sizes_post_1_not_batch_first() -> None:
    """Post 1: nn.LSTM(10, 20, 2), input (5, 3, 10) → output (5, 3, 20), h_n and c_n (2, 3, 20)."""
    sizes = state_sizes(nn.LSTM(10, 20, 2), batch=3, seq_len=5)
    assert sizes == {"output": (5, 3, 20), "h_n": (2, 3, 20), "c_n": (2, 3, 20)}


def _reference_forward(lstm: nn.LSTM, x: torch.Tensor) -> torch.Tensor:
    """A per-step LSTM (post 3 style) using the module's own weights; returns the last layer's output."""
    directions = 2 if lstm.bidirectional else 1
    layer_input = x  # (B, T, I)
    for k in range(lstm.num_layers):
        outs = []
        for d in range(directions):
            sfx = f"_l{k}" + ("_reverse" if d else "")
            w_ih, w_hh = getattr(lstm, "weight_ih" + sfx), getattr(lstm, "weight_hh" + sfx)
            b = getattr(lstm, "bias_ih" + sfx) + getattr(lstm, "bias_hh" + sfx) if lstm.bias else None
            w_hr = getattr(lstm, "weight_hr" + sfx) if lstm.proj_size else None
            batch, steps = layer_input.shape[:2]
            h = x.new_zeros(batch, lstm.proj_size or lstm.hidden_size)
            c = x.new_zeros(batch, lstm.hidden_size)
            seq = layer_input.flip(1) if d else layer_input
            hs = []
            for t in range(steps):
                gates = torch.nn.functional.linear(seq[:, t], w_ih, b) + torch.nn.functional.linear(h, w_hh)
                i, f, g, o = gates.chunk(4, -1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                if w_hr is not None:
                    h = torch.nn.functional.linear(h, w_hr)
                hs.append(h)
            out = torch.stack(hs, 1)
            outs.append(out.flip(1) if d else out)
        layer_input = torch.cat(outs, -1)
    return layer_input


@pytest.mark.parametrize(("layers", "bidirectional", "proj", "bias"), CASES)
def test_multiply_adds_match_counted_flops(layers: int, bidirectional: bool, proj: int, bias: bool) -> None:
    """Matmul multiply-adds per step equal half the FLOPs torch counts for a real per-step forward."""
    torch.manual_seed(1)
    lstm = nn.LSTM(3, 6, layers, bias=bias, bidirectional=bidirectional, proj_size=proj, batch_first=True)
    steps, batch = 4, 2
    x = torch.randn(batch, steps, 3)
    with torch.no_grad():
        expected_out, _ = lstm(x)
        with FlopCounterMode(display=False) as counter:
            out = _reference_forward(lstm, x)
    torch.testing.assert_close(out, expected_out, atol=1e-5, rtol=1e-5)  # the reference really is nn.LSTM
    macs = multiply_adds_per_step(lstm)
    assert macs["matmul"] * steps * batch * 2 == counter.get_total_flops()
    assert macs["elementwise"] == 3 * 6 * layers * (2 if bidirectional else 1)
    assert macs["total"] == macs["matmul"] + macs["elementwise"]
    frame = multiply_adds(lstm)
    assert len(frame) == layers * (2 if bidirectional else 1)


def test_multiply_adds_match_nn_lstm_own_flops_with_projection() -> None:
    """With proj_size, nn.LSTM on the CPU runs its unfused path, which torch's flop counter sees directly."""
    lstm = nn.LSTM(4, 5, 2, proj_size=3, bidirectional=True, batch_first=True)
    x = torch.randn(2, 3, 4)
    with torch.no_grad(), FlopCounterMode(display=False) as counter, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "LSTM with projections is not supported with oneDNN"
        lstm(x)
    if counter.get_total_flops() == 0:
        pytest.skip("this build runs LSTMP in a fused kernel the flop counter cannot see")
    assert multiply_adds_per_step(lstm)["matmul"] * 2 * 3 * 2 == counter.get_total_flops()


def test_lstmp_saves_what_the_shapes_say() -> None:
    spec = validate_pair(32, 64, 16, 2)
    lstm, lstmp = build_pair(spec, device="cpu")
    a, b = count_parameters(lstm), count_parameters(lstmp)
    h, p, i = 64, 16, 32
    # the saving is exactly what weight_hh shrinking and weight_ih of layer 1 shrinking minus weight_hr costs
    saved = 2 * 4 * h * (h - p) + 4 * h * (h - p) - 2 * p * h
    assert a - b == saved
    assert multiply_adds_per_step(lstm)["matmul"] - multiply_adds_per_step(lstmp)["matmul"] == saved
    assert i == spec.input_size


def test_build_pair_same_seed_same_shared_weights() -> None:
    lstm, lstmp = build_pair(validate_pair(4, 5, 3), seed=7, device="cpu")
    assert isinstance(lstm, RecordingLSTM) and isinstance(lstmp, RecordingLSTM)
    assert lstm.proj_size == 0 and lstmp.proj_size == 3
    assert not lstm.training and not lstmp.training
    again, _ = build_pair(validate_pair(4, 5, 3), seed=7, device="cpu")
    for (n1, p1), (n2, p2) in zip(lstm.named_parameters(), again.named_parameters(), strict=True):
        assert n1 == n2 and torch.equal(p1, p2)


def test_build_pair_gives_one_seed_the_same_weights_on_every_device() -> None:
    # initialised on the CPU, then moved: a CUDA generator would draw other numbers (on a CPU-only machine both are
    # CPU models; the check bites on a GPU)
    on_cpu, _ = build_pair(validate_pair(4, 5, 3), seed=3, device="cpu")
    on_default, _ = build_pair(validate_pair(4, 5, 3), seed=3)
    for p1, p2 in zip(on_cpu.parameters(), on_default.parameters(), strict=True):
        assert torch.equal(p1, p2.cpu())


# ---- validation -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sizes", "fragment"),
    [
        ((4, 5, 5), "has to be smaller than hidden_size"),
        ((4, 5, 6), "has to be smaller than hidden_size"),
        ((4, 0, 3), "hidden_size must be greater than zero"),
        ((4, -5, 3), "hidden_size must be greater than zero"),
        ((0, 5, 3), "input_size must be greater than zero"),
        ((4, 5, -1), "proj_size must be greater than zero"),
        ((4, 5, 0), "0 switches the projection off"),
        ((4, 5, 3, 0), "num_layers must be greater than zero"),
        (("four", 5, 3), "input_size must be a whole number, got 'four'"),
        (("4", "5.5", "3"), "hidden_size must be a whole number"),
        (("4", "", "3"), "hidden_size is empty"),
        (("4", "nan", "3"), "hidden_size must be a whole number"),
        ((4, 5, 3, 99), "num_layers must be at most"),
        ((4, 100000, 3), "hidden_size must be at most"),
    ],
)
def test_bad_combinations_are_refused_with_a_reason(sizes: tuple, fragment: str) -> None:
    with pytest.raises(ValueError, match=r"(e\.g\.|Example)") as info:
        validate_pair(*sizes)
    assert fragment in str(info.value)


@pytest.mark.parametrize("sizes", [(4, 5, 5), (4, 0, 3), (0, 5, 3), (4, 5, -1), (4, 5, 3, 0), (4, 5, 9)])
def test_what_we_refuse_nn_lstm_refuses_too(sizes: tuple) -> None:
    """Every integer combination refused by validate_pair is one nn.LSTM itself refuses (proj 0 aside)."""
    i, h, p, *rest = sizes
    with pytest.raises(ValueError):
        validate_pair(*sizes)
    with pytest.raises(ValueError):
        nn.LSTM(i, h, rest[0] if rest else 1, proj_size=p, device="meta")


def test_good_text_is_accepted() -> None:
    spec = validate_pair(" 4 ", "5", "3", "2", True)
    assert spec == PairSpec(4, 5, 3, 2, True)
    assert spec.describe("LSTMP") == "nn.LSTM(4, 5, num_layers=2, bidirectional=True, proj_size=3)"
    assert spec.describe("LSTM") == "nn.LSTM(4, 5, num_layers=2, bidirectional=True)"
    with pytest.raises(ValueError):
        spec.kwargs("GRU")


# ---- latency and summary ----------------------------------------------------------------------------------------


def test_latency_measures_every_run() -> None:
    lstm, lstmp = build_pair(validate_pair(4, 16, 4), device="cpu")
    results = measure_latency([lstm, lstmp], batch=3, seq_len=5, runs=7, warmup=1)
    assert len(results) == 2
    for lat in results:
        assert len(lat.samples_ms) == 7 and all(s > 0 for s in lat.samples_ms)
        assert min(lat.samples_ms) <= lat.median_ms <= max(lat.samples_ms)
        q1, q3 = lat.iqr_ms
        assert min(lat.samples_ms) <= q1 <= lat.median_ms <= q3 <= max(lat.samples_ms)
        assert lat.batch == 3 and lat.seq_len == 5 and lat.device == "cpu"
        assert "the middle half of" in lat.label()
    with pytest.raises(ValueError):
        measure_latency([lstm], runs=0)


def test_latency_time_budget_cuts_runs() -> None:
    lstm, lstmp = build_pair(validate_pair(4, 16, 4), device="cpu")
    results = measure_latency([lstm, lstmp], batch=2, seq_len=200, runs=500, warmup=3, max_seconds=1e-6)
    for lat in results:
        assert len(lat.samples_ms) == 3 and lat.requested == 500 and lat.cut
        assert "3 runs of 500 asked" in lat.label()
    full = measure_latency([lstm], runs=4, max_seconds=60.0)[0]
    assert len(full.samples_ms) == 4 and not full.cut


def test_latency_quantiles() -> None:
    lat = Latency((4.0, 1.0, 3.0, 2.0, 5.0), "cpu", 1, 1)
    assert lat.median_ms == 3.0
    assert lat.iqr_ms == (2.0, 4.0)
    assert lat.quantile_ms(0.0) == 1.0 and lat.quantile_ms(1.0) == 5.0


def test_summary_table_reads_real_modules() -> None:
    lstm, lstmp = build_pair(validate_pair(4, 5, 3), device="cpu")
    lat = [Latency((1.0, 2.0, 3.0), "cpu", 2, 3), Latency((1.0, 1.0, 1.0), "cpu", 2, 3)]
    table = summary_table(lstm, lstmp, batch=2, seq_len=3, latency=lat).set_index("measure")
    assert table.at["parameters", "LSTM"] == "220" and table.at["parameters", "LSTMP"] == "195"
    assert table.at["parameters", "LSTMP / LSTM"] == f"{195 / 220:.3f}"
    assert table.at["output shape (batch 2, T 3)", "LSTMP"] == "(2, 3, 3)"
    assert table.at["c_n shape (batch 2, T 3)", "LSTMP"] == "(1, 2, 5)"
    assert table.at["multiply-adds per step (matmul)", "LSTMP"] == str(multiply_adds_per_step(lstmp)["matmul"])
    assert table.at["forward latency, median ms", "LSTMP / LSTM"] == "0.500"


# ---- figures ----------------------------------------------------------------------------------------------------


def test_parameter_figure_bars_are_the_table() -> None:
    lstm, lstmp = build_pair(validate_pair(4, 5, 3), device="cpu")
    table = compare_parameters(lstm, lstmp)
    fig = cf.parameter_figure(table)
    assert [t.name for t in fig.data] == ["LSTM", "LSTMP"]
    assert list(fig.data[1].x) == [80, 60, 20, 20, 15]
    assert list(fig.data[0].y) == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_hr_l0"]
    subtitle = fig.layout.title.subtitle.text
    assert "220" in subtitle and "195" in subtitle and "-11.4%" in subtitle


def test_latency_figure_shows_every_run() -> None:
    lat = [Latency((1.0, 2.0, 3.0), "cpu", 1, 8), Latency((0.5, 0.7), "cpu", 1, 8)]
    fig = cf.latency_figure(lat)
    assert [list(t.y) for t in fig.data] == [[1.0, 2.0, 3.0], [0.5, 0.7]]
    assert list(fig.layout.yaxis.tickvals) == [0.5, 1.0, 2.0, 5.0]  # 1-2-5 ticks over 0.5..3 ms, log scale
    assert "median ms: LSTM 2.000" in fig.layout.title.subtitle.text and "LSTMP 0.600" in fig.layout.title.subtitle.text


def _history() -> pd.DataFrame:
    rows = []
    for model, speed in (("LSTM", 1.0), ("LSTMP", 0.5)):
        for epoch in range(1, 4):
            rows.append(
                {"model": model, "epoch": epoch, "seconds": epoch * speed, "loss": 1 / epoch,
                 "test_exact_match": epoch / 4, "train_exact_match": epoch / 3}
            )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("x", ["epoch", "seconds"])
def test_training_figure_overlays_both_models(x: str) -> None:
    fig = cf.training_figure(_history(), x=x)
    names = [t.name for t in fig.data]
    assert names == ["LSTM loss", "LSTM test", "LSTM train", "LSTMP loss", "LSTMP test", "LSTMP train"]
    assert list(fig.data[3].x) == ([1, 2, 3] if x == "epoch" else [0.5, 1.0, 1.5])
    assert list(fig.data[1].y) == [0.25, 0.5, 0.75]
    assert fig.layout.yaxis.type == "log"
    # one legend for both panels: loss, test and train each look different (loss and test were both dotted lines)
    looks = {(t.mode, t.line.dash) for t in fig.data[:3]}
    assert len(looks) == 3


def test_training_figure_empty_and_bad_axis() -> None:
    empty = pd.DataFrame(columns=["model", "epoch", "seconds", "loss", "test_exact_match"])
    assert len(cf.training_figure(empty).data) == 0
    with pytest.raises(ValueError, match="epoch"):
        cf.training_figure(_history(), x="steps")


def test_sweep_figure_points_and_means() -> None:
    results = pd.DataFrame(
        {
            "proj_size": [0, 0, 4, 4],
            "parameters": [4513, 4513, 1441, 1441],
            "test_exact_match": [1.0, 0.9, 0.5, 0.7],
            "seed": [0, 1, 0, 1],
            "source": ["shipped", "shipped", "shipped", "computed"],
        }
    )
    fig = cf.sweep_figure(results, budget={"epochs": 5})
    by_name = {t.name: t for t in fig.data}
    assert list(by_name["shipped runs"].y) == [1.0, 0.9, 0.5]
    assert list(by_name["computed runs"].y) == [0.7]
    assert list(by_name["mean over seeds"].text) == ["P=4", "LSTM"]  # sorted by parameters
    assert list(by_name["mean over seeds"].y) == pytest.approx([0.6, 0.95])
    assert "epochs 5" in fig.layout.title.subtitle.text  # the budget under the title
    worded = cf.sweep_figure(results, budget={"epochs": 3, "data": "seed"}).layout.title.subtitle.text
    assert worded == "epochs 3, data: post 4's 10,000 samples"  # not "data seed", which reads as a random seed


def test_projection_figure_panels() -> None:
    m, w, h = np.ones((3, 5)), np.full((2, 5), 0.5), np.full((3, 2), 2.5)
    fig = cf.projection_figure(m, w, h, ["a", "b", "c"])
    assert [t.name for t in fig.data] == ["m", "W_hr", "h"]
    assert np.asarray(fig.data[0].z).shape == (5, 3)  # units × time
    assert np.asarray(fig.data[2].z).shape == (2, 3)
    assert list(fig.data[0].x) == ["a", "b", "c"]
    # each colour bar lies under its own panel (beside it, one ran into the next panel's unit numbers) ...
    for k, trace in enumerate(fig.data):
        lo, hi = fig.layout[f"xaxis{k + 1 if k else ''}"].domain
        bar = trace.colorbar
        assert bar.orientation == "h" and lo <= bar.x <= hi and bar.len == pytest.approx(hi - lo)
    # ... and the panels' titles are short enough for a panel ~150 px wide; the subtitle says what m and h are
    assert all(len(a.text) <= 24 for a in fig.layout.annotations), [a.text for a in fig.layout.annotations]
    assert "m = o·tanh(c)" in fig.layout.title.subtitle.text
    # the step labels name the step themselves ("t 0 · 11"): the hover read "t t 0 · 11"
    default = cf.projection_figure(m, w, h)
    assert default.data[0].x[0] == "t 0" and default.data[0].hovertemplate.startswith("%{x}<br>unit")
    assert default.data[2].hovertemplate.startswith("%{x}<br>unit")
    with pytest.raises(ValueError, match="expected m"):
        cf.projection_figure(m, w.T, h)


def test_module_docstrings() -> None:
    assert lstmp_api.__doc__ and cf.__doc__


# ---- paired training (lockstep), with a fake trainer so it runs in milliseconds ------------------------------


class FakeTrainer:
    """Enough of lstm_viz.training.Trainer for LiveRun: epochs, history, set_lr, a model."""

    def __init__(self, settings: lstmp_api.TrainSettings, name: str, fail_at: int | None = None) -> None:
        self.name, self.epoch, self.history, self.lr = name, 0, [], settings.lr
        self.fail_at = fail_at
        self.model = build_model(lstmp_api.task_model_config(lstmp_api.validate_pair(2, 8, 2), name))

    def train_epochs(self, n: int) -> list[dict]:
        rows = []
        for _ in range(n):
            self.epoch += 1
            loss = float("nan") if self.fail_at == self.epoch else 1.0 / self.epoch
            row = {"epoch": self.epoch, "loss": loss, "seconds": 0.5 if self.name == "LSTM" else 0.25,
                   "train_bit_acc": 0.9, "train_exact_match": 0.5, "test_bit_acc": 0.8,
                   "test_exact_match": min(1.0, self.epoch / 3)}
            self.history.append(row)
            rows.append(row)
        return rows

    def set_lr(self, lr: float) -> None:
        self.lr = lr


def _pair(epochs: int = 4, **fake) -> lstmp_api.PairedRun:
    settings = lstmp_api.TrainSettings(8, 2, epochs=epochs)
    return lstmp_api.PairedRun(settings, factory=lambda s, name: FakeTrainer(s, name, **fake))


def test_paired_run_trains_in_lockstep() -> None:
    pair = _pair(epochs=4)
    assert pair.state is lstmp_api.RunState.IDLE and pair.history_frame().empty and pair.final_table().empty
    pair.start()
    assert pair.running
    trained = pair.tick(budget=0.0)  # at least one epoch: the side behind (the LSTM, first)
    assert trained == 1 and [r.epoch for r in pair.runs.values()] == [1, 0]
    pair.tick(budget=0.0)
    assert [r.epoch for r in pair.runs.values()] == [1, 1]
    while pair.running:
        pair.tick(budget=10.0)
        epochs = [r.epoch for r in pair.runs.values()]
        assert max(epochs) - min(epochs) <= 1
    assert pair.state is lstmp_api.RunState.FINISHED and pair.epoch == 4
    frame = pair.history_frame()
    assert list(frame.columns[:3]) == ["model", "epoch", "seconds"]
    lstm = frame[frame["model"] == "LSTM"]
    assert list(lstm["seconds"]) == [0.5, 1.0, 1.5, 2.0]  # cumulative wall time of that model
    final = pair.final_table().set_index("model")
    assert final.at["LSTMP", "proj_size"] == 2 and final.at["LSTM", "proj_size"] == 0
    assert final.at["LSTM", "first epoch at 100% test"] == 3
    assert final.at["LSTMP", "parameters"] < final.at["LSTM", "parameters"]
    assert final.at["LSTM", "training seconds"] == 2.0


def test_paired_run_controls_apply_to_both() -> None:
    pair = _pair(epochs=3)
    pair.start()
    pair.tick(0.0)
    pair.pause()
    assert all(r.state is lstmp_api.RunState.PAUSED for r in pair.runs.values())
    assert pair.tick(1.0) == 0
    pair.resume()
    assert pair.running
    pair.set_lr(0.05)
    assert all(r.trainer.lr == 0.05 for r in pair.runs.values())
    while pair.running:
        pair.tick(1.0)
    pair.continue_for(2)
    assert pair.target == 5 and pair.running
    while pair.running:
        pair.tick(1.0)
    assert pair.epoch == 5
    assert "epoch 5 / 5" in pair.progress().label()
    pair.reset()
    assert pair.state is lstmp_api.RunState.IDLE and pair.models() == {"LSTM": None, "LSTMP": None}


def test_paired_run_failure_stops_both_with_the_reason() -> None:
    pair = _pair(epochs=5, fail_at=2)
    pair.start()
    while pair.running:
        pair.tick(1.0)
    assert pair.state is lstmp_api.RunState.FAILED
    assert "nan" in pair.error.lower() and "LSTM" in pair.error


def test_paired_run_real_trainers_share_data_and_seed() -> None:
    settings = lstmp_api.TrainSettings(8, 2, seed=3, epochs=1)
    trainers = {name: lstmp_api.make_pair_trainer(settings, name) for name in lstmp_api.MODEL_NAMES}
    a, b = trainers["LSTM"], trainers["LSTMP"]
    assert torch.equal(a.data.x_train, b.data.x_train) and torch.equal(a.data.y_test, b.data.y_test)
    assert a.seed == b.seed == 3 and a.lr == b.lr == settings.lr
    assert a.model.config.proj_size == 0 and b.model.config.proj_size == 2
    assert a.model.config.hidden_size == b.model.config.hidden_size == 8
    # same seed → the first tensor drawn (weight_ih_l0, same shape in both) starts equal
    assert torch.equal(a.model.lstm.weight_ih_l0, b.model.lstm.weight_ih_l0)


def test_train_settings_validation() -> None:
    assert lstmp_api.parse_train_settings("20", "0.01", "822") == {"epochs": 20, "lr": 0.01, "seed": 822}
    for bad, fragment in ((("x", "0.01", "1"), "epochs"), (("5", "-1", "1"), "learning rate"),
                          (("5", "0.01", "a"), "seed")):
        with pytest.raises(ValueError, match=fragment):
            lstmp_api.parse_train_settings(*bad)
    with pytest.raises(ValueError, match="live training here is capped"):
        lstmp_api.check_trainable(validate_pair(2, 1024, 8))


# ---- sweep --------------------------------------------------------------------------------------------------


def test_plan_sweep_and_refusals() -> None:
    plan = lstmp_api.plan_sweep("32", "16, 1 4,4", "3", "0 1")
    assert plan.proj_sizes == (1, 4, 16) and plan.seeds == (0, 1)
    assert plan.points()[:3] == [(0, 0), (0, 1), (1, 0)] and len(plan.points()) == 8
    for args, fragment in [
        (("8", "1, 8", "3", "0"), "proj_sizes: 8 is outside 1..7"),
        (("8", "1, x", "3", "0"), "'x' is not a whole number"),
        (("8", "", "3", "0"), "proj_sizes is empty"),
        (("1", "1", "3", "0"), "hidden_size must be at least 2"),
        (("8", "1", "0", "0"), "epochs must be greater than zero"),
        (("8", "1,2,3,4,5,6,7", "3", ",".join(map(str, range(40)))), "training runs is more than"),
        (("8", "1", "3", "0", float("nan")), "learning rate: 'nan' is not a finite number"),  # refused before a run
        (("8", "1", "3", "0", 0.0), "learning rate must be greater than 0"),
    ]:
        with pytest.raises(ValueError, match=fragment):
            lstmp_api.plan_sweep(*args)


def test_run_sweep_reports_progress_and_roundtrips(tmp_path) -> None:
    plan = lstmp_api.plan_sweep(8, "2, 4", 2, "0, 5")
    calls = []

    def fake_point(hidden, proj, epochs, seed, lr, data):
        return {"proj_size": proj, "seed": seed, "parameters": 100 + proj, "test_exact_match": 0.5, "epochs": epochs}

    results = lstmp_api.run_sweep(plan, point=fake_point, on_point=lambda k, n, row: calls.append((k, n)))
    assert calls == [(k, 6) for k in range(1, 7)]
    assert list(results["proj_size"]) == [0, 0, 2, 2, 4, 4]
    path = tmp_path / "sweep.json"
    path.write_text(__import__("json").dumps(lstmp_api.sweep_document(plan, results)))
    plan2, results2 = lstmp_api.load_sweep(path)
    assert plan2 == plan
    pd.testing.assert_frame_equal(results2, results)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not a sweep result file"):
        lstmp_api.load_sweep(bad)
    with pytest.raises(ValueError, match="python -m lstm_viz lstmp-sweep"):
        lstmp_api.load_sweep(tmp_path / "missing.json")


def test_shipped_sweep_is_complete_and_documented() -> None:
    from pathlib import Path

    plan, results = lstmp_api.load_sweep(Path(__file__).resolve().parents[1] / "models" / "proj_sweep.json")
    assert sorted(zip(results["proj_size"], results["seed"], strict=True)) == sorted(plan.points())
    assert (results["epochs"] == plan.epochs).all()
    for proj in set(results["proj_size"]):  # parameters match a freshly built model of that size
        model = build_model(subtraction.model_config(hidden_size=plan.hidden_size, proj_size=proj))
        assert (results.loc[results["proj_size"] == proj, "parameters"] == count_parameters(model)).all()
    assert results["test_exact_match"].between(0, 1).all()


def test_sweep_summary_reads_the_results() -> None:
    frame = pd.DataFrame({"proj_size": [0, 0, 2, 2, 4, 4], "parameters": [100, 100, 30, 30, 50, 50],
                          "test_exact_match": [1.0, 0.98, 0.5, 1.0, 1.0, 0.99]})
    text = lstmp_api.sweep_summary(frame)
    assert text.startswith("proj_size 4 is the smallest") and "50% of its parameters (50 vs 100)" in text
    worse = frame.assign(test_exact_match=[1.0, 1.0, 0.5, 0.5, 0.7, 0.7])
    assert "the best was proj_size 4 with 70.0%" in lstmp_api.sweep_summary(worse)
    assert "needs the plain LSTM" in lstmp_api.sweep_summary(frame[frame["proj_size"] > 0])


def test_sweep_point_really_trains() -> None:
    row = lstmp_api.sweep_point(4, 1, 1, 0)
    model = build_model(subtraction.model_config(hidden_size=4, proj_size=1))
    assert row["parameters"] == count_parameters(model) and row["epochs"] == 1
    assert 0 <= row["test_exact_match"] <= 1 and row["seconds"] > 0 and 0 <= row["all_pairs_exact_match"] <= 1


def test_cli_writes_the_json(tmp_path, capsys) -> None:
    out = tmp_path / "sweep.json"
    code = cli_main(["lstmp-sweep", "--hidden-size", "4", "--proj-sizes", "1", "--epochs", "1", "--seeds", "0",
                         "--out", str(out)])
    assert code == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(out)
    plan, results = lstmp_api.load_sweep(out)
    assert plan.hidden_size == 4 and list(results["proj_size"]) == [0, 1]
    assert cli_main(["lstmp-sweep", "--proj-sizes", "40", "--out", str(out)]) == 2
    assert "--proj-sizes: 40 is outside" in capsys.readouterr().err


# ---- the same input through both ----------------------------------------------------------------------------


def test_side_by_side_records_both_and_projection_is_w_hr_m() -> None:
    models = lstmp_api.fresh_task_pair(validate_pair(2, 8, 3))
    sides = lstmp_api.side_by_side(models, "123 - 61")
    assert set(sides) == {"LSTM", "LSTMP"}
    assert sides["LSTM"].recording.h.shape == (1, 1, 1, 8, 8)
    assert sides["LSTMP"].recording.h.shape == (1, 1, 1, 8, 3)
    assert sides["LSTMP"].recording.m.shape == (1, 1, 1, 8, 8)
    m, w_hr, h, labels = lstmp_api.projection_arrays(models["LSTMP"], sides["LSTMP"].recording)
    np.testing.assert_allclose(h, m @ w_hr.T, atol=1e-5)
    assert w_hr.shape == (3, 8) and labels[0] == "t 0 · 11"  # 123 and 61 both end in bit 1
    with pytest.raises(ValueError, match="Example"):
        lstmp_api.side_by_side(models, "300 - 5")
    with pytest.raises(ValueError, match="no projection"):
        lstmp_api.projection_arrays(models["LSTM"], sides["LSTM"].recording)


def test_shipped_pair_answers_right() -> None:
    from pathlib import Path

    models = lstmp_api.shipped_pair(Path(__file__).resolve().parents[1] / "models")
    sides = lstmp_api.side_by_side(models, "123 - 61")
    assert all(side.answer.correct and side.answer.prediction == 62 for side in sides.values())
    assert models["LSTMP"].config.proj_size > 0 and models["LSTM"].config.proj_size == 0


def test_kernel_note_and_latency_budget() -> None:
    assert lstmp_api.kernel_note("cpu") is None or "oneDNN" in lstmp_api.kernel_note("cpu")
    assert lstmp_api.kernel_note("cuda") is None
    lstm, lstmp = build_pair(validate_pair(64, 1024, 8), device="meta")
    with pytest.raises(ValueError, match="Use a smaller batch"):
        lstmp_api.check_latency_work((lstm, lstmp), 1024, 4096, 30)
    assert lstmp_api.check_latency_work((lstm, lstmp), "1", " 8", "5") == (1, 8, 5)
    with pytest.raises(ValueError, match="runs must be at least 3"):
        lstmp_api.check_latency_work((lstm, lstmp), 1, 8, 1)


def test_more_epochs_after_a_pause_end_both_models_at_the_same_epoch() -> None:
    """Between ticks the sides can be an epoch apart; "+ more" set each side's target from its own epoch, and the
    pair finished with an LSTM after 12 epochs against an LSTMP after 11 (pages review)."""
    pair = _pair(epochs=20)
    pair.start()
    pair.tick(budget=0.0)  # the LSTM one epoch ahead
    assert [r.epoch for r in pair.runs.values()] == [1, 0]
    pair.pause()
    pair.continue_for(10)
    while pair.running:
        pair.tick(budget=10.0)
    assert [(r.epoch, r.target) for r in pair.runs.values()] == [(11, 11), (11, 11)]
    assert pair.state is lstmp_api.RunState.FINISHED
    pair.set_target(15)
    assert {r.target for r in pair.runs.values()} == {15}


def test_the_pairs_speed_is_the_slower_sides_not_half_of_it() -> None:
    """Each side's speed is measured in wall time that already includes the other's turns: combined again as
    1 / (1/a + 1/b) it showed half the speed and twice the time left."""
    from types import SimpleNamespace

    pair = _pair(epochs=10)
    sides = {"LSTM": 2.4, "LSTMP": 2.3}
    for name, run in pair.runs.items():
        run.progress = lambda speed=sides[name]: SimpleNamespace(epochs_per_second=speed, train_share=0.5)
    progress = pair.progress()
    assert progress.epochs_per_second == 2.3 and progress.eta_seconds == pytest.approx(10 / 2.3)
