"""Tests for lstm_viz.gradients: autograd gradients against finite differences, unrolling against nn.RNN/GRU/LSTM."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lstm_viz.gradients.flow import (
    KINDS,
    FlowSettings,
    build_net,
    compare_gradient_flow,
    gradient_flow,
    horizon,
    make_task,
    parse_settings,
    unroll_loss,
)
from lstm_viz.parsing import InputError

CPU = torch.device("cpu")
TINY = FlowSettings(length=5, hidden_size=3, input_size=2, forget_bias=1.0, seed=7)
EPS = 1e-6


def _tiny_problem(kind: str, settings: FlowSettings = TINY):
    net = build_net(kind, settings, CPU)
    x, y = make_task(1, settings.length, settings.input_size, settings.seed + 1, CPU, torch.float64)
    return net, x, y


def _loss(net, x, y, dh=None, dc=None) -> float:
    with torch.no_grad():
        return unroll_loss(net, x, y, dh, dc)[0].item()


@pytest.mark.parametrize("kind", KINDS)
def test_grad_x_matches_finite_differences(kind):
    flow = gradient_flow(kind, TINY, CPU)
    net, x, y = _tiny_problem(kind)
    numeric = np.zeros((TINY.length, TINY.input_size))
    for t in range(TINY.length):
        for k in range(TINY.input_size):
            plus, minus = x.clone(), x.clone()
            plus[0, t, k] += EPS
            minus[0, t, k] -= EPS
            numeric[t, k] = (_loss(net, plus, y) - _loss(net, minus, y)) / (2 * EPS)
    assert flow.grad_x.shape == (TINY.length, TINY.input_size)
    np.testing.assert_allclose(flow.grad_x, np.abs(numeric), rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("kind", KINDS)
def test_grad_h_matches_finite_differences(kind):
    flow = gradient_flow(kind, TINY, CPU)
    net, x, y = _tiny_problem(kind)
    H = TINY.hidden_size
    for t in range(TINY.length):
        numeric = np.zeros(H)
        for j in range(H):
            plus = [torch.zeros(1, H, dtype=torch.float64) for _ in range(TINY.length)]
            minus = [p.clone() for p in plus]
            plus[t][0, j] += EPS
            minus[t][0, j] -= EPS
            numeric[j] = (_loss(net, x, y, dh=plus) - _loss(net, x, y, dh=minus)) / (2 * EPS)
        assert flow.grad_h[t] == pytest.approx(np.linalg.norm(numeric), rel=1e-5, abs=1e-10), f"t={t}"
    # the loss reads only the last state, so the gradient at an earlier step is a product of Jacobians: it differs
    assert len(set(np.round(flow.grad_h, 12))) == TINY.length


def test_grad_c_matches_finite_differences():
    flow = gradient_flow("lstm", TINY, CPU)
    net, x, y = _tiny_problem("lstm")
    H = TINY.hidden_size
    zeros = [torch.zeros(1, H, dtype=torch.float64) for _ in range(TINY.length)]
    for t in range(TINY.length):
        numeric = np.zeros(H)
        for j in range(H):
            plus = [z.clone() for z in zeros]
            minus = [z.clone() for z in zeros]
            plus[t][0, j] += EPS
            minus[t][0, j] -= EPS
            numeric[j] = (_loss(net, x, y, dc=plus) - _loss(net, x, y, dc=minus)) / (2 * EPS)
        assert flow.grad_c[t] == pytest.approx(np.linalg.norm(numeric), rel=1e-5, abs=1e-10), f"t={t}"


def test_forget_product_is_the_product_of_later_forget_gates():
    net, x, y = _tiny_problem("lstm")
    _, extra = unroll_loss(net, x, y)
    f = extra["f"].numpy()  # (T, H)
    flow = gradient_flow("lstm", TINY, CPU)
    expected = [np.prod(f[t + 1 :], axis=0).mean() for t in range(TINY.length)]
    np.testing.assert_allclose(flow.forget_product, expected, rtol=1e-12)
    assert flow.forget_product[-1] == 1.0
    # the forget gates are sigmoid(pre-activation) with the f-bias 1.0 in the pre-activation
    H = TINY.hidden_size
    assert torch.all(net["rnn"].bias_ih_l0[H : 2 * H] == 1.0) and torch.all(net["rnn"].bias_hh_l0[H : 2 * H] == 0)


@pytest.mark.parametrize("kind", KINDS)
def test_unrolled_cells_match_the_fused_module(kind):
    """The step-by-step unroll used for the gradients computes what nn.RNN / nn.GRU / nn.LSTM compute."""
    settings = FlowSettings(length=30, hidden_size=6, input_size=3, seed=3)
    net, x, y = _tiny_problem(kind, settings)
    out, _ = net["rnn"](x)
    fused = torch.nn.functional.binary_cross_entropy_with_logits(net["readout"](out[:, -1]), y)
    assert _loss(net, x, y) == pytest.approx(fused.item(), rel=1e-12)


def test_forget_bias_default_keeps_pytorch_init():
    net = build_net("lstm", FlowSettings(hidden_size=8, forget_bias=None, seed=1), CPU)
    f_bias = net["rnn"].bias_ih_l0[8:16]
    assert torch.all(f_bias.abs() <= 1 / math.sqrt(8)) and f_bias.std() > 0


def test_rnn_gradient_vanishes_much_faster_than_lstm_with_a_high_forget_bias():
    result = compare_gradient_flow(FlowSettings(length=200, hidden_size=16, forget_bias=3.0, seed=0), CPU)
    rnn, lstm = result.flows["rnn"], result.flows["lstm"]
    rnn_ratio = rnn.grad_h[0] / rnn.grad_h[-1]
    lstm_ratio = lstm.grad_h[0] / lstm.grad_h[-1]
    assert rnn_ratio < 1e-20  # a tanh RNN forgets within a few dozen steps
    assert lstm_ratio > 1e6 * rnn_ratio
    assert result.horizons()["lstm"] > result.horizons()["rnn"]
    assert all(np.all(np.isfinite(f.grad_h)) for f in result.flows.values())


def test_result_table_and_summary():
    result = compare_gradient_flow(FlowSettings(length=6, hidden_size=3, input_size=2), CPU)
    frame = result.to_frame()
    assert set(frame["quantity"]) == {"grad_h", "grad_c", "forget_product", "grad_x[0]", "grad_x[1]"}
    assert len(frame[(frame.net == "rnn") & (frame.quantity == "grad_h")]) == 6
    assert frame[frame.quantity == "grad_c"].net.unique().tolist() == ["lstm"]
    lstm_h = frame[(frame.net == "lstm") & (frame.quantity == "grad_h")].value.to_numpy()
    np.testing.assert_array_equal(lstm_h, result.flows["lstm"].grad_h)
    lines = result.summary()
    assert len(lines) == 3 and lines[0].startswith("RNN (tanh)") and "over the last" in lines[2]


def test_progress_reaches_one_and_names_each_net():
    seen = []
    compare_gradient_flow(FlowSettings(length=8, hidden_size=4), CPU, progress=lambda f, m: seen.append((f, m)))
    assert seen[-1][0] == pytest.approx(1.0)
    assert [f for f, _ in seen] == sorted(f for f, _ in seen)
    assert any("RNN" in m for _, m in seen) and any("LSTM" in m for _, m in seen)


@pytest.mark.slow
def test_training_lowers_the_loss_on_the_memory_task():
    settings = FlowSettings(length=20, hidden_size=16, weights="trained", train_steps=150, train_length=6, seed=0)
    flow = gradient_flow("gru", settings, CPU)
    assert flow.train["loss"] < 0.5 and flow.train["accuracy"] > 0.8  # chance level is 0.693 / 0.5


def test_horizon_counts_the_last_steps_until_the_gradient_drops():
    assert horizon(np.array([1e-9, 1e-4, 0.01, 1.0]), 1e-3) == 2
    assert horizon(np.array([0.5, 0.9, 1.0]), 1e-3) == 3
    assert horizon(np.array([0.0, 0.0]), 1e-3) == 0


def test_parse_settings_reads_text_and_rejects_bad_values():
    s = parse_settings("500", "32", "4", "default")
    assert s.length == 500 and s.forget_bias is None
    assert parse_settings("10", "8", "1", "0").forget_bias == 0.0
    for args, words in (
        (("abc", "32", "4", "1"), "Sequence length"),
        (("1", "32", "4", "1"), "at least 2"),
        (("500", "0", "4", "1"), "Hidden size"),
        (("500", "32", "4", "nan"), "forget-gate bias"),
        (("500", "32", "4", ""), "forget-gate bias is empty"),  # never a silent "default"
        (("9" * 10_000, "32", "4", "1"), "far too large"),
        (("500", "32", "4", "25"), "between -20 and 20"),
        (("99999", "32", "4", "1"), "at most"),
    ):
        with pytest.raises(InputError, match=words) as err:
            parse_settings(*args)
        assert "Example" in str(err.value)
    with pytest.raises(InputError):
        FlowSettings(weights="pretrained")
    # each message suggests the field's own default (all said "Example: 10", the length of 200 and the seed too)
    for args, example in ((("abc", "32", "4", "1"), "Example: 200"), (("500", "32", "4", "1", "random", "x"),
                                                                     "Example: 0")):  # fmt: skip
        with pytest.raises(InputError, match=example):
            parse_settings(*args)


# ------------------------------------------------------------------------------------------------ figures
def test_gradient_flow_figure_is_log_scale_and_normalised_to_the_last_step():
    from lstm_viz.gradients.figures import gradient_flow_figure

    result = compare_gradient_flow(FlowSettings(length=40, hidden_size=8), CPU)
    fig = gradient_flow_figure(result)
    assert fig.layout.yaxis.type == "log"
    names = [t.name for t in fig.data]
    assert names[:2] == ["RNN (tanh): ‖∂L/∂h_t‖", "GRU: ‖∂L/∂h_t‖"]
    assert "LSTM: ‖∂L/∂c_t‖" in names and any(n.startswith("LSTM: ∏ f") for n in names)
    for trace in fig.data:
        assert np.asarray(trace.y)[-1] == pytest.approx(1.0)
    raw = gradient_flow_figure(result, normalise=False)
    np.testing.assert_allclose(np.asarray(raw.data[0].y), result.flows["rnn"].grad_h)
    assert "step 39" in fig.layout.title.text
    assert "÷ its value at the last step" in fig.layout.yaxis.title.text  # the axis says relative (the title not)
    assert "÷" not in raw.layout.yaxis.title.text


def test_gradient_flow_figure_marks_underflow_instead_of_failing():
    from dataclasses import replace as dc_replace

    from lstm_viz.gradients.figures import gradient_flow_figure

    result = compare_gradient_flow(FlowSettings(length=10, hidden_size=4), CPU)
    rnn = result.flows["rnn"]
    grad = rnn.grad_h.copy()
    grad[:3] = 0.0  # what float64 underflow looks like after thousands of steps
    flows = {**result.flows, "rnn": dc_replace(rnn, grad_h=grad)}
    fig = gradient_flow_figure(dc_replace(result, flows=flows))
    y = np.asarray(fig.data[0].y, dtype=float)
    assert np.isnan(y[:3]).all() and np.isfinite(y[3:]).all()
    assert "0 in float64 (below 5e-324)" in fig.layout.title.text and "t = 3" in fig.layout.title.text
    # every curve 0 everywhere: still a figure (no value to label, nothing to spread the labels over)
    zero = {k: dc_replace(f, grad_h=0 * f.grad_h, grad_c=None if f.grad_c is None else 0 * f.grad_c,
                          forget_product=None if f.forget_product is None else 0 * f.forget_product)
            for k, f in result.flows.items()}  # fmt: skip
    assert not gradient_flow_figure(dc_replace(result, flows=zero)).layout.annotations
    # a curve with nothing to divide by at the last step is drawn as it is, and says so (the axis said "÷")
    grad = rnn.grad_h.copy()
    grad[-1] = 0.0
    fig = gradient_flow_figure(dc_replace(result, flows={**result.flows, "rnn": dc_replace(rnn, grad_h=grad)}))
    assert fig.data[0].name.endswith("(as it is: 0 at the last step)")
    np.testing.assert_allclose(np.asarray(fig.data[0].y, dtype=float)[:-1], grad[:-1])
    assert "RNN (tanh) ‖∂L/∂h_t‖ is drawn as it is, not ÷ its value at the last step (0 there)</sup>" in (
        fig.layout.title.text) and "5e-324" not in fig.layout.title.text  # fmt: skip


def test_norms_below_1e_162_are_not_read_as_zero():
    # Tensor.norm squares the elements: at 1000 steps this RNN's gradients are ~1e-230, whose squares underflow
    flow = gradient_flow("rnn", FlowSettings(length=1000, hidden_size=8, input_size=2), CPU)
    assert (flow.grad_h > 0).all() and flow.grad_h.min() < 1e-200
    assert (flow.grad_x_norm > 0).all() and flow.grad_x_norm.min() < 1e-200
    assert np.all(np.diff(np.log10(flow.grad_h[:50])) > 0)  # still falling smoothly back in time, not cut off
    rows = np.array([[3e-200, 4e-200], [0.0, 0.0], [3.0, 4.0]])
    np.testing.assert_allclose(replace_grad_x(flow, rows).grad_x_norm, [5e-200, 0.0, 5.0], rtol=1e-12)


def replace_grad_x(flow, grad_x):
    from dataclasses import replace as dc_replace

    return dc_replace(flow, grad_x=grad_x)


def test_input_gradient_heatmap_rows_and_shared_colour_scale():
    from lstm_viz.gradients.figures import input_gradient_heatmap

    result = compare_gradient_flow(FlowSettings(length=12, hidden_size=4, input_size=3), CPU)
    fig = input_gradient_heatmap(result)
    z = np.asarray(fig.data[0].z, dtype=float)
    assert z.shape == (3, 12) and list(fig.data[0].y) == ["RNN (tanh)", "GRU", "LSTM"]
    np.testing.assert_allclose(z[2], np.log10(result.flows["lstm"].grad_x_norm))
    per = input_gradient_heatmap(result, per_feature=True)
    assert len(per.data) == 3 and all(np.asarray(t.z).shape == (3, 12) for t in per.data)
    assert {t.coloraxis for t in per.data} == {"coloraxis"}


def test_labels_at_the_first_step_never_lie_on_each_other():
    from lstm_viz.gradients.figures import LABEL_GAP_PX, _label_offsets

    # GRU at 8.5e-3 and LSTM at 8.9e-2 on an axis of 12 decades: ~32 px apart, no offset needed...
    assert _label_offsets([np.log10(8.5e-3), np.log10(8.9e-2)], 12.0) == [0.0, 0.0]
    # ... on 40 decades ~10 px apart: the lower one moves down until they are LABEL_GAP_PX apart
    offsets = _label_offsets([np.log10(8.5e-3), np.log10(8.9e-2), -30.0], 40.0)
    per_decade = 380 / 40
    gap = (np.log10(8.9e-2) - np.log10(8.5e-3)) * per_decade + offsets[0] - offsets[1]
    assert offsets[1] == 0.0 and offsets[2] == 0.0 and gap == pytest.approx(LABEL_GAP_PX)
