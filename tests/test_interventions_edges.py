"""Interventions: final states of both directions, eval-mode dropout, weight_norm, gradients into a patched value,
per-row ablation, unbatched GRU state, and the checks on steps, units and parsed ranges (gaps found by mutation)."""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_sequence

from lstm_viz import Intervention, RecordingGRU, RecordingLSTM, intervened_forward, parse_intervention
from lstm_viz.core.intervention_text import MAX_RANGE
from lstm_viz.core.interventions import UnitPerRow, run_module


def _x(T: int = 5, B: int = 2, I: int = 3, seed: int = 1) -> torch.Tensor:
    return torch.randn(T, B, I, generator=torch.Generator().manual_seed(seed), dtype=torch.double)


def test_an_intervention_on_the_top_forward_layer_leaves_every_other_final_state_as_forward_returns_it():
    """h_n and c_n of the backward directions are their state at position 0 (the last step they run), not at T-1."""
    torch.manual_seed(0)
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True).double().eval()
    x = _x()
    late = [Intervention("layer1.fwd.c", 0.0, steps=[4], units=[1])]
    out, (h_n, c_n) = intervened_forward(lstm, x, None, late)
    ref_out, (ref_h, ref_c) = lstm(x)
    untouched = [0, 1, 3]  # layer0 fwd, layer0 bwd, layer1 bwd; index 2 (layer1 fwd) took the intervention
    torch.testing.assert_close(h_n[untouched], ref_h[untouched])
    torch.testing.assert_close(c_n[untouched], ref_c[untouched])
    torch.testing.assert_close(out[:4], ref_out[:4])
    assert c_n[2, :, 1].abs().max() == 0 and not torch.allclose(h_n[2], ref_h[2])


def test_a_gru_intervention_on_the_top_forward_layer_leaves_the_backward_h_n_as_forward_returns_it():
    """A GRU's backward h_n is its h at position 0 under interventions too."""
    torch.manual_seed(0)
    gru = nn.GRU(3, 4, num_layers=2, bidirectional=True).double().eval()
    x = _x()
    out, h_n = intervened_forward(gru, x, None, [Intervention("layer1.fwd.h", 0.0, steps=[4])])
    ref_out, ref_h = gru(x)
    torch.testing.assert_close(h_n[[0, 1, 3]], ref_h[[0, 1, 3]])
    assert h_n[2].abs().max() == 0
    torch.testing.assert_close(out[:4], ref_out[:4])


def test_intervened_forward_in_eval_mode_never_drops_out_even_when_the_module_has_dropout():
    """Eval mode: no dropout between layers, so the steps before the intervention equal module(x) exactly."""
    torch.manual_seed(0)
    lstm = nn.LSTM(3, 4, num_layers=2, dropout=0.5).double().eval()
    x = _x()
    late = [Intervention("layer1.fwd.c", 0.0, steps=[4])]
    first, _ = intervened_forward(lstm, x, None, late)
    second, _ = intervened_forward(lstm, x, None, late)
    assert torch.equal(first, second)
    torch.testing.assert_close(first[:4], lstm(x)[0][:4])


@pytest.mark.filterwarnings("ignore:`torch.nn.utils.weight_norm` is deprecated:FutureWarning")
def test_intervened_forward_uses_the_weights_a_weight_norm_hook_would_set():
    """Before any forward call a legacy weight_norm's attribute is stale: intervened_forward computes it afresh."""
    torch.manual_seed(0)
    model = torch.nn.utils.weight_norm(RecordingLSTM(3, 4).double().eval(), "weight_hh_l0")
    with torch.no_grad():
        model.weight_hh_l0_g.mul_(1.7)  # forward would recompute weight_hh_l0 from g and v
    x = _x()
    late = [Intervention("layer0.fwd.c", 0.0, steps=[4])]
    out, _ = intervened_forward(model, x, None, late)  # before the module's first call
    rec = model.record(x, interventions=late)
    with torch.no_grad():
        ref, _ = model(x)  # runs the hook: the weight the module really uses
    torch.testing.assert_close(out[:4], ref[:4])
    torch.testing.assert_close(rec.output[:4], ref[:4])


def test_gradients_reach_a_patched_value_that_requires_grad():
    """A patch value that requires grad keeps its graph: the loss's gradient with respect to it is not zero."""
    torch.manual_seed(0)
    lstm = RecordingLSTM(3, 4).double().eval()
    value = torch.full((1, 1, 4), 0.3, dtype=torch.double, requires_grad=True)
    out, _ = intervened_forward(lstm, _x(), None, [Intervention("layer0.fwd.c", value, steps=[2])])
    out.pow(2).sum().backward()
    assert value.grad is not None and value.grad.abs().sum() > 0


def test_unit_per_row_replaces_unit_b_of_row_b():
    """UnitPerRow (the sweep's one-unit-per-row plan) puts row b's own unit, and its own value, at the chosen steps."""
    torch.manual_seed(0)
    lstm = RecordingLSTM(3, 4).double().eval()
    x = _x(B=3)
    units, values = [0, 2, 3], [0.1, 0.2, 0.3]
    per_row = UnitPerRow("layer0.fwd.c", torch.tensor(units), torch.tensor(values, dtype=torch.double), steps=[1])
    _, _, _, tensors = run_module(lstm, x, None, [per_row])
    c = tensors["c"][0, 0, 1]  # (B, H) at step 1
    assert c[0, 0].item() == 0.1 and c[1, 2].item() == 0.2 and c[2, 3].item() == 0.3
    for b, (unit, value) in enumerate(zip(units, values, strict=True)):
        alone = lstm.record(x[:, b : b + 1], interventions=[Intervention("layer0.fwd.c", value, [1], [unit])])
        torch.testing.assert_close(tensors["h"][0, 0, :, b], alone.h[0, 0, 0])


def test_an_unbatched_multilayer_gru_takes_its_initial_state_under_interventions():
    """Unbatched input with h0 (L·D, H): the same numbers as the batch of one."""
    torch.manual_seed(0)
    gru = RecordingGRU(3, 4, num_layers=2, bidirectional=True).double().eval()
    x = _x(B=1)
    h0 = torch.randn(4, 1, 4, dtype=torch.double)
    ivs = [Intervention("layer0.fwd.r", 0.0, steps=[2])]
    batched = gru.record(x, h0, interventions=ivs)
    unbatched = gru.record(x[:, 0], h0[:, 0], interventions=ivs)
    torch.testing.assert_close(unbatched.h, batched.h)
    torch.testing.assert_close(unbatched.output, batched.output[:, 0])


@pytest.mark.parametrize("name", ["layer0.fwd.c", "layer0.fwd.h"])
def test_negative_steps_and_units_are_refused_not_wrapped_or_ignored(name):
    """A negative unit would index from the end, a negative step would never match: both are ValueErrors."""
    lstm = RecordingLSTM(3, 4).double()
    x = _x()
    with pytest.raises(ValueError, match=re.escape("unit -1 is outside 0…3")):
        lstm.record(x, interventions=[Intervention(name, 0.0, units=[-1])])
    with pytest.raises(ValueError, match=re.escape("step -1 is outside the input's steps 0…4")):
        lstm.record(x, interventions=[Intervention(name, 0.0, steps=[-1])])


def test_a_step_named_twice_is_refused():
    """steps=[2, 2] is a mistake (a tensor value's second slice would silently win): a ValueError says so."""
    lstm = RecordingLSTM(3, 4).double()
    with pytest.raises(ValueError, match="name a step twice"):
        lstm.record(_x(), interventions=[Intervention("layer0.fwd.c", 0.0, steps=[2, 2])])


def test_a_gru_recording_under_interventions_or_packed_says_whether_h0_was_given():
    """h is bounded in (-1, 1) only from h0 = 0: intervened and packed recordings keep track as plain ones do."""
    torch.manual_seed(0)
    gru = RecordingGRU(3, 4).double().eval()
    x, h0 = _x(), torch.full((1, 2, 4), 5.0, dtype=torch.double)
    ivs = [Intervention("layer0.fwd.r", 0.0, steps=[1])]
    assert gru.record(x, interventions=ivs).value_range("h") == (-1.0, 1.0)
    assert gru.record(x, h0, interventions=ivs).value_range("h") is None
    packed = pack_sequence([x[:, 0], x[:3, 1]])
    assert gru.record(packed).value_range("h") == (-1.0, 1.0)
    assert gru.record(packed, h0).value_range("h") is None


def test_a_parsed_range_may_span_exactly_max_range_values():
    """The limit is MAX_RANGE values: 0-(MAX_RANGE-1) is read, one more is refused."""
    assert len(parse_intervention(f"layer0.fwd.c[steps=0-{MAX_RANGE - 1}]=0").steps) == MAX_RANGE
    with pytest.raises(ValueError, match="a range may span at most"):
        parse_intervention(f"layer0.fwd.c[steps=0-{MAX_RANGE}]=0")


def test_a_parsed_value_may_go_up_to_float32s_largest():
    """Values up to float32's range (±3.4e38) are read; beyond it they are refused."""
    assert parse_intervention("layer0.fwd.c=3e38").value == 3e38
    assert parse_intervention("layer0.fwd.c=-3.4e38").value == -3.4e38
    with pytest.raises(ValueError, match="beyond float32's range"):
        parse_intervention("layer0.fwd.c=3.5e38")


def test_an_unbatched_multilayer_lstm_takes_its_initial_state_under_interventions():
    """Unbatched input with (h0, c0) of (L·D, ·): the same numbers as the batch of one."""
    torch.manual_seed(0)
    lstm = RecordingLSTM(3, 4, num_layers=2, bidirectional=True).double().eval()
    x = _x(B=1)
    hx = (torch.randn(4, 1, 4, dtype=torch.double), torch.randn(4, 1, 4, dtype=torch.double))
    ivs = [Intervention("layer0.fwd.i", 0.0, steps=[2])]
    batched = lstm.record(x, hx, interventions=ivs)
    unbatched = lstm.record(x[:, 0], (hx[0][:, 0], hx[1][:, 0]), interventions=ivs)
    torch.testing.assert_close(unbatched.c, batched.c)
    torch.testing.assert_close(unbatched.c_n, batched.c_n[:, 0])


def test_a_tensor_value_goes_to_the_steps_in_the_order_they_were_given():
    """steps=[3, 1] with a value of two steps: slice 0 goes to step 3, slice 1 to step 1 (not sorted)."""
    lstm = RecordingLSTM(3, 4).double().eval()
    value = torch.tensor([0.25, -0.5], dtype=torch.double).view(1, 2, 1)  # (batch, steps, units)
    rec = lstm.record(_x(), interventions=[Intervention("layer0.fwd.c", value, steps=[3, 1])])
    assert rec.c[0, 0, :, 3].eq(0.25).all() and rec.c[0, 0, :, 1].eq(-0.5).all()
