"""Tests for lstm_viz.core.reference and lstm_viz.cell_step: one cell step with numbers, parity, RNNCell vs RNN."""

from __future__ import annotations

import dataclasses
import re
from itertools import product

import numpy as np
import pytest
import torch
from torch import nn

from lstm_viz.cell_step import latex as tex
from lstm_viz.cell_step.figures import rnn_unroll_figure, weight_split_figure
from lstm_viz.core import reference as ref
from lstm_viz.core.lstm import RecordingLSTM
from lstm_viz.tasks import ModelConfig, build_model


def _lstm(seed: int = 0, **kw) -> RecordingLSTM:
    torch.manual_seed(seed)
    return RecordingLSTM(kw.pop("input_size", 3), kw.pop("hidden_size", 5), batch_first=True, **kw)


def test_lstm_of_finds_the_lstm_in_every_model_kind():
    plain = nn.LSTM(2, 4)
    twin = ref.lstm_of(plain)
    assert isinstance(twin, RecordingLSTM) and torch.equal(twin.weight_ih_l0, plain.weight_ih_l0)
    sub = build_model(ModelConfig.default("subtraction", hidden_size=8))
    assert ref.lstm_of(sub) is sub.lstm
    quest = build_model(ModelConfig.default("statquest"))
    assert ref.lstm_of(quest).hidden_size == 1
    with pytest.raises(ValueError, match=r"^This model has no LSTM cell to step through: it is a GRU"):
        ref.lstm_of(build_model(ModelConfig.default("subtraction", cell="gru", hidden_size=8)))


def test_split_weights_follows_pytorch_storage_order_i_f_g_o():
    lstm = _lstm(hidden_size=4)
    W = ref.split_weights(lstm)
    w = lstm.weight_ih_l0.detach().double().numpy()
    assert W["W_ii"].shape == (4, 3)
    np.testing.assert_array_equal(np.concatenate([W["W_ii"], W["W_if"], W["W_ig"], W["W_io"]]), w)
    np.testing.assert_array_equal(W["W_if"], w[4:8])  # the forget gate is the second block
    np.testing.assert_array_equal(W["W_hg"], lstm.weight_hh_l0.detach().double().numpy()[8:12])
    np.testing.assert_array_equal(W["b_io"], lstm.bias_ih_l0.detach().double().numpy()[12:16])
    text = tex.split_rows(4, 3)
    assert "(16, 3)" in text and "rows 4–7: W_if (forget gate)" in text and "rows 12–15: W_io" in text
    assert "W_hg (candidate)" in tex.split_rows(4, 4, "hh")


@pytest.mark.parametrize(
    ("bias", "bidirectional", "proj_size", "num_layers"), list(product([True, False], [False, True], [0, 2], [1, 2]))
)
def test_cell_step_reproduces_the_recording_everywhere(bias, bidirectional, proj_size, num_layers):
    lstm = _lstm(bias=bias, bidirectional=bidirectional, proj_size=proj_size, num_layers=num_layers)
    x = torch.randn(2, 4, 3)
    rec = lstm.record(x)
    for layer, direction, t, b in product(range(num_layers), range(rec.num_directions), range(4), range(2)):
        step = ref.cell_step(lstm, rec, t, layer, direction, b)
        assert step.recorded_diff < 1e-5, (layer, direction, t, b)
        assert step.h.shape == (proj_size or 5,) and step.c.shape == (5,)
        assert step.has_bias == bias


def test_cell_step_equals_lstmcell_on_the_same_state():
    lstm = _lstm(seed=3)
    x = torch.randn(1, 5, 3)
    rec = lstm.record(x)
    step = ref.cell_step(lstm, rec, 3)
    cell = nn.LSTMCell(3, 5).double()
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(lstm, f"{name}_l0").double())
        h, c = cell(
            torch.from_numpy(step.x).unsqueeze(0),
            (torch.from_numpy(step.h_prev).unsqueeze(0), torch.from_numpy(step.c_prev).unsqueeze(0)),
        )
    np.testing.assert_allclose(step.h, h[0].numpy(), atol=1e-12)
    np.testing.assert_allclose(step.c, c[0].numpy(), atol=1e-12)
    np.testing.assert_allclose(step.h_prev, rec.h[0, 0, 0, 2].double().numpy())  # h_{t-1} is the step before


def test_cell_step_on_the_statquest_model_uses_the_posts_twelve_scalars():
    torch.manual_seed(0)
    model = build_model(ModelConfig.default("statquest"))
    w = model.named_weights()
    x = torch.tensor([[[0.0], [0.5], [0.25], [1.0]]])
    rec = model.record(x)
    step = ref.cell_step(ref.lstm_of(model), rec, 2)
    h, c, xt = step.h_prev[0], step.c_prev[0], 0.25

    def sig(v):
        return 1 / (1 + np.exp(-v))

    assert step.gates["f"].value[0] == pytest.approx(sig(h * w["wlr1"] + xt * w["wlr2"] + w["blr1"]), abs=1e-7)
    assert step.gates["i"].value[0] == pytest.approx(sig(h * w["wpr1"] + xt * w["wpr2"] + w["bpr1"]), abs=1e-7)
    assert step.gates["g"].value[0] == pytest.approx(np.tanh(h * w["wp1"] + xt * w["wp2"] + w["bp1"]), abs=1e-7)
    assert step.gates["o"].value[0] == pytest.approx(sig(h * w["wo1"] + xt * w["wo2"] + w["bo1"]), abs=1e-7)
    f, i, g = (step.gates[k].value[0] for k in "fig")
    assert step.c[0] == pytest.approx(f * c + i * g)


def test_cell_step_rejects_out_of_range_indices():
    lstm = _lstm()
    rec = lstm.record(torch.randn(1, 3, 3))
    with pytest.raises(ValueError, match=r"t must be in 0\.\.2"):
        ref.cell_step(lstm, rec, 3)
    with pytest.raises(ValueError, match="layer"):
        ref.cell_step(lstm, rec, 0, layer=1)


def _numbers(latex: str) -> list[float]:
    return [float(v) for v in re.findall(r"-?\d+\.\d+", latex)]


def test_gate_latex_substitutes_the_actual_numbers():
    torch.manual_seed(1)
    lstm = RecordingLSTM(2, 1, batch_first=True)  # 2 inputs, 1 unit: every product is shown
    rec = lstm.record(torch.tensor([[[0.5, -1.0], [0.25, 2.0]]]))
    step = ref.cell_step(lstm, rec, 1)
    for gate in ("f", "i", "g", "o"):
        latex = tex.gate_latex(step, gate)
        g = step.gates[gate]
        nums = _numbers(latex)
        for v in (*g.W_x[0], *step.x, g.b_x[0], g.W_h[0, 0], step.h_prev[0], g.b_h[0]):
            assert round(abs(v), 3) in [round(abs(n), 3) for n in nums], (gate, v)
        assert f"{g.value[0]:.4f}" in latex and f"{abs(g.pre[0]):.4f}" in latex
    assert r"W_{if}[0,:]" in tex.gate_latex(step, "f") and r"\sigma" in tex.gate_latex(step, "f")
    assert r"\tanh" in tex.gate_latex(step, "g")
    cell = tex.cell_latex(step)
    assert f"{step.c[0]:.4f}".lstrip("-") in cell and f"{step.h[0]:.4f}".lstrip("-") in cell
    with pytest.raises(ValueError):
        tex.gate_latex(step, "z")
    with pytest.raises(ValueError):
        tex.gate_latex(step, "f", unit=1)


def test_long_rows_are_shortened_with_a_count_of_the_rest():
    lstm = _lstm(input_size=10, hidden_size=6)
    rec = lstm.record(torch.randn(1, 2, 10))
    latex = tex.gate_latex(ref.cell_step(lstm, rec, 1), "o", unit=5, max_terms=3)
    assert r"8\text{ more}" in latex and r"4\text{ more}" in latex  # 10 - 2 inputs, 6 - 2 hidden


def test_projection_latex_only_for_lstmp():
    lstm = _lstm(proj_size=2)
    rec = lstm.record(torch.randn(1, 2, 3))
    step = ref.cell_step(lstm, rec, 1)
    assert "W_{hr}" in tex.projection_latex(step, 1) and "m_t" in tex.cell_latex(step)
    assert tex.projection_latex(ref.cell_step(_lstm(), _lstm().record(torch.randn(1, 2, 3)), 0)) == ""


@pytest.mark.parametrize(("bidirectional", "proj_size", "num_layers"), [(False, 0, 1), (True, 3, 2), (True, 0, 3)])
def test_parity_with_torch_nn_lstm(bidirectional, proj_size, num_layers):
    lstm = _lstm(bidirectional=bidirectional, proj_size=proj_size, num_layers=num_layers, hidden_size=6)
    par = ref.parity(lstm, torch.randn(2, 7, 3))
    assert par.ok  # within float32 rounding; torch.allclose's relative test may fail where a value is ≈ 0
    assert par.allclose["recording"] or num_layers > 1
    assert set(par.rows) == {"forward", "recording", "loop"} and set(par.rows["loop"]) == {"output", "h_n", "c_n"}
    assert par.rows["forward"] == {"output": 0.0, "h_n": 0.0, "c_n": 0.0}  # the drop-in twin: nn.LSTM's own kernel


def test_parity_reports_post_1s_shapes_in_the_modules_own_layout():
    """Post 1: nn.LSTM(10, 20, 2) on (5, 3, 10), sequence first, gives (5, 3, 20) and h_n, c_n (2, 3, 20); the twin's
    are the same. A module in training mode with dropout is compared in eval mode and left in training mode."""
    lstm = RecordingLSTM(10, 20, 2, dropout=0.5)
    par = ref.parity(lstm, torch.randn(3, 5, 10))  # parity takes batch-first input whatever the module's layout
    assert par.shapes == par.twin_shapes == {"output": (5, 3, 20), "h_n": (2, 3, 20), "c_n": (2, 3, 20)}
    assert par.ok and par.rows["forward"]["output"] == 0.0 and lstm.training
    assert 0 <= par.max_diff < 1e-5 and par.dtype == "float32"


def test_parity_from_post_3s_random_initial_state():
    """Post 3: bs, T, i_size, h_size = 2, 3, 4, 5; h0, c0 random; allclose → True, True, True."""
    lstm = _lstm(input_size=4, hidden_size=5)
    x = torch.randn(2, 3, 4)
    hx = ref.initial_state(lstm, 2, seed=3)
    assert hx[0].shape == (1, 2, 5) and hx[1].shape == (1, 2, 5)
    par = ref.parity(lstm, x, hx)
    assert par.ok and all(par.allclose.values())
    zero = ref.parity(lstm, x)
    assert zero.ok
    rec = lstm.record(x, hx)
    first = ref.cell_step(lstm, rec, 0, batch=1, hx=hx)
    np.testing.assert_allclose(first.h_prev, hx[0][0, 1].double().numpy())
    np.testing.assert_allclose(first.c_prev, hx[1][0, 1].double().numpy())
    assert first.recorded_diff < 1e-5
    out, h_n, c_n = ref.step_by_step(lstm, x, hx)
    ref_out, (ref_h, ref_c) = nn.LSTM.forward(lstm, x, hx)
    assert torch.allclose(out, ref_out, atol=1e-6) and torch.allclose(c_n, ref_c, atol=1e-6)
    assert torch.allclose(h_n, ref_h, atol=1e-6)
    lstmp = _lstm(bidirectional=True, proj_size=2, num_layers=2)
    hx2 = ref.initial_state(lstmp, 2, seed=1)
    assert hx2[0].shape == (4, 2, 2) and hx2[1].shape == (4, 2, 5)
    assert ref.parity(lstmp, torch.randn(2, 3, 3), hx2).ok


def test_parity_judges_rounding_relative_to_a_values_size():
    """float32 rounds a cell state of 50 by ~1e-5: that is rounding (the shipped text model's states reach ~55), the
    same difference on a value below 1 is not."""
    rows = {"recording": {"output": 1e-7, "h_n": 1e-7, "c_n": 2e-5}, "loop": {"output": 1e-7, "h_n": 1e-7, "c_n": 2e-5}}
    assert ref.Parity(rows, {"recording": False, "loop": False}, "float32", scaled_diff=2e-5 / 50).ok
    assert not ref.Parity(rows, {"recording": False, "loop": False}, "float32", scaled_diff=2e-5).ok
    lstm = _lstm(hidden_size=4)
    with torch.no_grad():  # forget nothing, write ~1 a step: c grows to ~T, and so does its rounding
        lstm.bias_ih_l0[4:8] = 20.0
        lstm.bias_ih_l0[:4] = 20.0
        lstm.bias_ih_l0[8:12] = 2.0
    par = ref.parity(lstm, torch.randn(1, 400, 3))
    # c reaches ~400, where float32 rounds by ~3e-5: rounding, whatever this CPU's kernels make of it (here the
    # differences exceed the absolute tolerance; another CPU and PyTorch 2.11 rounded both alike)
    assert float(par.rows["loop"]["c_n"]) < 400 * par.tolerance
    assert par.ok and par.scaled_diff < par.tolerance
    # over long sequences rounding adds up: the tolerance grows with √(steps / 100)
    assert (par.steps, par.tolerance) == (400, pytest.approx(2e-5))
    assert ref.Parity(rows, {}, "float32", scaled_diff=5e-5, steps=10_000).ok
    assert not ref.Parity(rows, {}, "float32", scaled_diff=5e-5, steps=100).ok



@pytest.mark.parametrize("wrap", ["weight_norm", "parametrized", "pruned", "weight_norm twin"])
def test_parity_takes_a_weight_normed_parametrized_or_pruned_lstm(wrap):
    """parity loaded the module's state_dict into a plain nn.LSTM: a weight-normed, pruned or parametrized LSTM —
    which from_lstm, record and record_modules take — raised "Missing key(s) in state_dict: weight_hh_l0"."""
    import warnings

    from torch import nn
    from torch.nn.utils import prune
    from torch.nn.utils.parametrizations import weight_norm

    torch.manual_seed(0)
    lstm = RecordingLSTM(3, 5, batch_first=True) if wrap.endswith("twin") else nn.LSTM(3, 5, batch_first=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        if wrap.startswith("weight_norm"):
            weight_norm(lstm, "weight_hh_l0")
        elif wrap == "parametrized":
            torch.nn.utils.parametrize.register_parametrization(lstm, "weight_ih_l0", nn.Tanh())
        else:
            prune.l1_unstructured(lstm, "weight_ih_l0", 0.3)
    par = ref.parity(lstm, torch.randn(2, 6, 3))
    assert par.ok and par.rows["forward"]["output"] == 0


def test_parity_catches_a_wrong_recording():
    class Broken(RecordingLSTM):
        def record(self, x, hx=None, **kw):
            rec = super().record(x, hx, **kw)
            return dataclasses.replace(rec, c=rec.c * 1.01, m=rec.m * 1.01)

    torch.manual_seed(0)
    broken = Broken(3, 5, batch_first=True)
    par = ref.parity(broken, torch.randn(1, 4, 3))
    assert not par.ok and not par.allclose["recording"] and par.allclose["loop"]
    assert par.rows["recording"]["c_n"] > 1e-4


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_parity_on_the_gpu_with_pytorchs_tf32_defaults():
    """The one-cell page's badge for a model on the GPU: cuDNN's TF32 products (~1e-3 off) are not a difference."""
    from lstm_viz.paths import MODELS_DIR
    from lstm_viz.tasks import SUBTRACTION
    from lstm_viz.training.checkpoints import load_checkpoint

    model = load_checkpoint(MODELS_DIR / "subtraction_lstm.pt", device="cuda").model
    par = ref.parity(ref.lstm_of(model), SUBTRACTION.parse("123 - 61", model.config).x)
    assert par.ok, par.rows
    assert par.device == "cuda" and par.base_tolerance == ref.PARITY_TOLERANCE_CUDA["float32"]


def test_step_by_step_is_post_3s_lstm_forward_generalised():
    lstm = _lstm(bidirectional=True, proj_size=2, num_layers=2)
    x = torch.randn(2, 3, 3)
    out, h_n, c_n = ref.step_by_step(lstm, x)
    ref_out, (ref_h, ref_c) = nn.LSTM.forward(lstm, x)
    assert out.shape == (2, 3, 4) and h_n.shape == (4, 2, 2) and c_n.shape == (4, 2, 5)
    assert torch.allclose(out, ref_out, atol=1e-6) and torch.allclose(h_n, ref_h, atol=1e-6)
    assert torch.allclose(c_n, ref_c, atol=1e-6)


def test_rnncell_vs_rnn_with_post_3s_example():
    run = ref.rnncell_vs_rnn()  # RNNCell(10, 20), input (6, 3, 10), hx (3, 20)
    assert run.x.shape == (6, 3, 10) and run.h_cell.shape == (6, 3, 20) and run.h0.shape == (3, 20)
    assert run.ok and run.max_diff < 1e-5
    exact = ref.rnncell_vs_rnn(dtype=torch.float64, seed=4)
    assert exact.allclose and exact.max_diff < 1e-12
    # the cell really is h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
    t = 3
    by_hand = np.tanh(
        run.weight_ih @ run.x[t, 0] + run.bias_ih + run.weight_hh @ run.h_cell[t - 1, 0] + run.bias_hh
    )
    np.testing.assert_allclose(by_hand, run.h_rnn[t, 0], atol=1e-5)
    latex = tex.rnn_step_latex(run, t=t, unit=4)
    assert f"{abs(run.h_rnn[t, 0, 4]):.6f}" in latex and "RNNCell" in latex
    table = ref.rnn_table(run)
    assert len(table["t"]) == 6 and np.allclose(table["RNNCell ‖h_t‖"], table["RNN ‖h_t‖"], atol=1e-5)
    with pytest.raises(ValueError, match="hidden_size"):
        ref.rnncell_vs_rnn(hidden_size=0)
    with pytest.raises(ValueError):
        tex.rnn_step_latex(run, t=6)


def test_weight_split_figure_outlines_four_gate_blocks():
    lstm = _lstm(hidden_size=4)
    fig = weight_split_figure(ref.split_weights(lstm), "ih", unit=1)
    heat = fig.data[0]
    assert np.asarray(heat.z).shape == (16, 3)
    assert [a.text for a in fig.layout.annotations] == ["<b>W_ii</b>", "<b>W_if</b>", "<b>W_ig</b>", "<b>W_io</b>"]
    assert len(fig.layout.shapes) == 8  # four blocks + the chosen unit's row in each
    assert "(16, 3)" in fig.layout.title.text
    hh = weight_split_figure(ref.split_weights(lstm), "hh")
    assert "W_hf" in hh.layout.annotations[1].text and np.asarray(hh.data[0].z).shape == (16, 4)
    with pytest.raises(ValueError):
        weight_split_figure(ref.split_weights(lstm), "hr")
    assert "weight_ih_l0 = [W_ii" in fig.layout.title.text and fig.layout.xaxis.title.text == "input x_t"


def test_weight_split_figure_names_the_layer_and_direction_it_shows():
    """Layer 1 backward of a bidirectional LSTM: the title names weight_ih_l1_reverse and the columns are layer 0's
    h, forward units then backward (it said weight_ih and x[k] whatever was shown)."""
    torch.manual_seed(0)
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    split = ref.split_weights(lstm, 1, 1)
    fig = weight_split_figure(split, "ih", layer=1, direction=1, bidirectional=True)
    np.testing.assert_array_equal(np.asarray(fig.data[0].z), lstm.weight_ih_l1_reverse.detach().numpy())
    assert fig.layout.title.text.startswith("weight_ih_l1_reverse = [W_ii")
    assert list(fig.data[0].x) == [f"fwd h[{k}]" for k in range(4)] + [f"bwd h[{k}]" for k in range(4)]
    assert "layer 0's h_t, forward units then backward" in fig.layout.xaxis.title.text
    hh = weight_split_figure(ref.split_weights(lstm, 1, 0), "hh", layer=1, direction=0, bidirectional=True)
    assert hh.layout.title.text.startswith("weight_hh_l1 = [W_hi") and hh.data[0].x[0] == "h[0]"


def test_rnn_unroll_figure_plots_the_differences_on_a_log_axis():
    run = ref.rnncell_vs_rnn()
    fig = rnn_unroll_figure(run)
    assert fig.layout.yaxis.type == "log"
    np.testing.assert_allclose(np.nan_to_num(np.asarray(fig.data[0].y, dtype=float)), run.step_diff)
    assert fig.layout.yaxis.range[1] == pytest.approx(np.log10(1e-5) + 1)  # float32's tolerance, 10×


def test_a_step_far_beyond_the_tolerance_is_drawn_whole():
    """A failing step (1e-3 against float32's 1e-5) stands inside the axis with room for its label; the top was
    fixed at 10× the tolerance and cut it off."""
    run = ref.rnncell_vs_rnn()
    shift = np.zeros_like(run.h_rnn)
    shift[2] = 1e-3
    bad = dataclasses.replace(run, h_rnn=run.h_rnn + shift)
    assert bad.step_diff.max() == pytest.approx(1e-3, rel=0.01)
    fig = rnn_unroll_figure(bad)
    assert fig.layout.yaxis.range[1] >= np.log10(1e-3) + 0.5


@pytest.mark.parametrize("sizes", [(2, 3, 2, 3), (10, 20, 3, 6), (1, 1, 1, 1)])
def test_post_3s_bidirectional_rnn_by_hand_is_nn_rnn(sizes):
    """Post 3's bidirectional_rnn_forward (the backward layer as the forward loop over the flipped input, flipped
    back and concatenated) equals nn.RNN(bidirectional=True) up to rounding, output and h_n."""
    for seed in range(3):
        run = ref.bidirectional_rnn_by_hand(*sizes, seed=seed)
        assert run.ok and run.dtype == "float32", run
        exact = ref.bidirectional_rnn_by_hand(*sizes, seed=seed, dtype=torch.float64)
        assert exact.allclose and max(exact.output_diff, exact.h_n_diff) < 1e-12
    with pytest.raises(ValueError, match="steps must be a whole number in 1..1000"):
        ref.bidirectional_rnn_by_hand(steps=0)


def test_post_3s_lstmp_parity_at_its_own_sizes():
    """Post 3's LSTMP: bs, T, i_size, h_size = 2, 3, 4, 5 and proj_size 3, h0 (1, 2, 3) and c0 (1, 2, 5) random:
    the hand-written loop and the recording equal nn.LSTM (its torch.allclose, True, True, True)."""
    lstmp = _lstm(input_size=4, hidden_size=5, proj_size=3)
    x = torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(1))
    hx = ref.initial_state(lstmp, 2, seed=3)
    assert hx[0].shape == (1, 2, 3) and hx[1].shape == (1, 2, 5)
    par = ref.parity(lstmp, x, hx)
    assert par.ok and all(par.allclose.values()), par
