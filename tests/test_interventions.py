"""Interventions: invariants any correct implementation satisfies, the exact API, the sweep, and the CLI contract."""

from __future__ import annotations

import itertools
import json
import re

import pytest
import torch
from torch import nn

from lstm_viz import Intervention, RecordingGRU, RecordingLSTM, intervened_forward, parse_intervention
from lstm_viz.cli import main
from lstm_viz.core.sweep import ablated_outputs
from lstm_viz.interventions.ablation import ablate_units, describe_unit
from lstm_viz.paths import MODELS_DIR
from lstm_viz.tasks import STATQUEST, SUBTRACTION, ModelConfig, TaskInput, registered
from lstm_viz.tasks.toy import dataset
from lstm_viz.training.checkpoints import load_checkpoint
from tests.cli_output import last_json

GRID = list(itertools.product([1, 2], [False, True], [0, 2], [False, True]))  # layers, bidirectional, proj, batch_first


def lstm(layers=1, bidirectional=False, proj=0, batch_first=False, seed=0) -> RecordingLSTM:
    torch.manual_seed(seed)
    return RecordingLSTM(3, 5, layers, bidirectional=bidirectional, proj_size=proj, batch_first=batch_first).double()


def inputs(batch_first: bool, B: int = 2, T: int = 6, seed: int = 1) -> torch.Tensor:
    x = torch.randn(B, T, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.double)
    return x if batch_first else x.transpose(0, 1)


@pytest.mark.parametrize(("layers", "bidirectional", "proj", "batch_first"), GRID)
def test_no_interventions_is_exactly_record(layers, bidirectional, proj, batch_first):
    m = lstm(layers, bidirectional, proj, batch_first)
    x = inputs(batch_first)
    a, b = m.record(x), m.record(x, interventions=[])
    for name in ("output", "h_n", "c_n", "f", "i", "g", "o", "c", "h"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    out, (h_n, c_n) = intervened_forward(m, x, None, [])
    ref, (ref_h, ref_c) = m(x)
    assert torch.equal(out, ref) and torch.equal(h_n, ref_h) and torch.equal(c_n, ref_c)


@pytest.mark.parametrize(("layers", "bidirectional", "proj", "batch_first"), GRID)
def test_forget_one_input_zero_keeps_c_at_c0(layers, bidirectional, proj, batch_first):
    m = lstm(layers, bidirectional, proj, batch_first)
    x = inputs(batch_first)
    L, D = layers, 2 if bidirectional else 1
    h0 = torch.randn(L * D, 2, proj or 5, dtype=torch.double)
    c0 = torch.randn(L * D, 2, 5, dtype=torch.double)
    names = [f"layer{k}.{d}" for k in range(L) for d in ("fwd", "bwd")[:D]]
    ivs = [Intervention(f"{n}.{q}", v) for n in names for q, v in (("f", 1.0), ("i", 0.0))]
    rec = m.record(x, (h0, c0), interventions=ivs)
    for k in range(L):
        for d in range(D):
            kept = c0[k * D + d].unsqueeze(1).expand(-1, rec.seq_len, -1)
            torch.testing.assert_close(rec.c[k, d], kept, rtol=0, atol=0)
    torch.testing.assert_close(rec.c_n, c0, rtol=0, atol=0)


@pytest.mark.parametrize(("layers", "bidirectional", "proj", "batch_first"), GRID)
def test_output_gate_zero_zeroes_h_and_the_output_at_those_steps(layers, bidirectional, proj, batch_first):
    m = lstm(layers, bidirectional, proj, batch_first)
    x = inputs(batch_first)
    top = f"layer{layers - 1}"
    ivs = [Intervention(f"{top}.{d}.o", 0.0, steps=[1, 4]) for d in ("fwd", "bwd")[: 2 if bidirectional else 1]]
    rec = m.record(x, interventions=ivs)
    assert rec.h[layers - 1, :, :, [1, 4]].abs().max() == 0
    assert rec.h[layers - 1, :, :, [0, 2, 3, 5]].abs().min() > 0
    out = rec.output if batch_first else rec.output.transpose(0, 1)  # (B, T, D*P)
    assert out[:, [1, 4]].abs().max() == 0


@pytest.mark.parametrize(("layers", "bidirectional", "proj", "batch_first"), GRID)
def test_the_equations_hold_on_the_returned_recording(layers, bidirectional, proj, batch_first):
    """Every gate is what the weights make of x_t and the *recorded* h_{t-1}; c and h follow from the gates."""
    m = lstm(layers, bidirectional, proj, batch_first)
    x = inputs(batch_first)
    ivs = [Intervention("layer0.fwd.c", 0.7, steps=[2], units=[1, 3]), Intervention("layer0.fwd.g", -1.0, steps=[4])]
    rec = m.record(x, interventions=ivs)
    H = 5
    layer_in = rec.x  # (B, T, I)
    for k in range(layers):
        for d in range(2 if bidirectional else 1):
            sfx = f"l{k}{'_reverse' if d else ''}"
            w_ih, w_hh = getattr(m, f"weight_ih_{sfx}"), getattr(m, f"weight_hh_{sfx}")
            b = getattr(m, f"bias_ih_{sfx}") + getattr(m, f"bias_hh_{sfx}")
            order = range(rec.seq_len) if d == 0 else range(rec.seq_len - 1, -1, -1)
            h_prev = torch.zeros(2, proj or H, dtype=torch.double)
            c_prev = torch.zeros(2, H, dtype=torch.double)
            for t in order:
                pre = layer_in[:, t] @ w_ih.t() + h_prev @ w_hh.t() + b
                s, th = pre.sigmoid(), pre.tanh()
                expected = {"i": s[:, :H], "f": s[:, H : 2 * H], "g": th[:, 2 * H : 3 * H], "o": s[:, 3 * H :]}
                if not (k == 0 and d == 0 and t == 4):  # g was replaced there
                    torch.testing.assert_close(rec.g[k, d, :, t], expected["g"])
                for q in "ifo":
                    torch.testing.assert_close(getattr(rec, q)[k, d, :, t], expected[q])
                c = rec.f[k, d, :, t] * c_prev + rec.i[k, d, :, t] * rec.g[k, d, :, t]
                if k == 0 and d == 0 and t == 2:
                    c[:, [1, 3]] = 0.7
                torch.testing.assert_close(rec.c[k, d, :, t], c)
                m_t = rec.o[k, d, :, t] * torch.tanh(c)
                h_t = m_t @ getattr(m, f"weight_hr_{sfx}").t() if proj else m_t
                torch.testing.assert_close(rec.h[k, d, :, t], h_t)
                h_prev, c_prev = rec.h[k, d, :, t], rec.c[k, d, :, t]
        layer_in = torch.cat([rec.h[k, d] for d in range(2 if bidirectional else 1)], dim=-1)


def test_patching_c_and_h_from_b_makes_later_outputs_equal_b():
    m = lstm()
    a = torch.randn(7, 1, 3, dtype=torch.double)
    b = a.clone()
    b[:3] = torch.randn(3, 1, 3, dtype=torch.double)  # the inputs differ up to step 2 and agree after
    rec_b = m.record(b)
    patch = [
        Intervention("layer0.fwd.c", rec_b.c[0, 0, :, 2:3], steps=[2]),
        Intervention("layer0.fwd.h", rec_b.h[0, 0, :, 2:3], steps=[2]),
    ]
    rec_a = m.record(a, interventions=patch)
    torch.testing.assert_close(rec_a.output[3:], rec_b.output[3:])
    torch.testing.assert_close(rec_a.c_n, rec_b.c_n)
    assert not torch.allclose(rec_a.output[:2], rec_b.output[:2])


def test_zeroing_layer0_h_feeds_layer1_zeros():
    m = lstm(layers=2)
    x = inputs(False)
    rec = m.record(x, interventions=[Intervention("layer0.fwd.h", 0.0)])
    assert rec.h[0, 0].abs().max() == 0
    layer1 = nn.LSTM(5, 5).double()
    layer1.load_state_dict({k.replace("_l1", "_l0"): v for k, v in m.state_dict().items() if "_l1" in k})
    out, _ = layer1(torch.zeros(6, 2, 5, dtype=torch.double))
    torch.testing.assert_close(rec.output, out)


def test_unbatched_and_lstmp_h_replaces_the_projected_h():
    m = lstm(proj=2)
    x = torch.randn(6, 3, dtype=torch.double)
    rec = m.record(x, interventions=[Intervention("layer0.fwd.h", 0.5, steps=[3], units=[1])])
    assert rec.h.shape == (1, 1, 1, 6, 2) and rec.h[0, 0, 0, 3, 1] == 0.5 and rec.output[3, 1] == 0.5
    assert rec.m.shape == (1, 1, 1, 6, 5)  # m (before the projection) keeps o ⊙ tanh(c)


def test_backward_direction_steps_are_positions_in_the_input():
    m = lstm(bidirectional=True)
    x = inputs(False)
    rec = m.record(x, interventions=[Intervention("layer0.bwd.c", 0.0, steps=[5])])
    assert rec.c[0, 1, :, 5].abs().max() == 0  # the backward direction's first step is position 5
    plain = m.record(x)
    torch.testing.assert_close(rec.c[0, 0], plain.c[0, 0])  # the forward direction is untouched
    assert not torch.allclose(rec.c[0, 1, :, :5], plain.c[0, 1, :, :5])  # everything the backward run does later


def test_gradients_flow_through_forward_with_interventions():
    m = lstm(layers=2, bidirectional=True, proj=2)
    x = inputs(True).transpose(0, 1).clone().requires_grad_(True)  # (T, B, I)
    ivs = [Intervention("layer0.fwd.c", 0.0, steps=[2], units=[1]), Intervention("layer1.bwd.f", 1.0, steps=[3])]
    assert torch.autograd.gradcheck(lambda inp: intervened_forward(m, inp, None, ivs)[0], (x,))
    loss = intervened_forward(m, x, None, ivs)[0].pow(2).sum()
    loss.backward()
    assert m.weight_hh_l0.grad is not None and m.weight_hh_l0.grad.abs().sum() > 0


def test_bad_names_steps_units_and_values_say_what_exists():
    m = lstm(layers=2, proj=2)
    x = inputs(False)
    cases = [
        (Intervention("layer2.fwd.c", 0.0), "layer0…layer1"),
        (Intervention("layer0.bwd.c", 0.0), "direction fwd"),
        (Intervention("layer0.fwd.q", 0.0), "tensors f, i, g, o, c, m, h"),  # an LSTMP: m before the projection
        (Intervention("c", 0.0), "not a recording name"),
        (Intervention("layer0.fwd.c", 0.0, steps=[6]), "step 6 is outside the input's steps 0…5"),
        (Intervention("layer0.fwd.h", 0.0, units=[2]), "unit 2 is outside 0…1 (h has 2 units)"),
        (Intervention("layer0.fwd.c", torch.zeros(3, 1, 1), steps=[1]), "does not broadcast"),
    ]
    for iv, fragment in cases:
        with pytest.raises(ValueError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
            m.record(x, interventions=[iv])
    with pytest.raises(ValueError, match="whole numbers"):
        Intervention("layer0.fwd.c", 0.0, steps=[1.5])
    with pytest.raises(ValueError, match="number or a tensor"):
        Intervention("layer0.fwd.c", "zero")


def test_gru_update_gate_one_keeps_h_and_reset_zero_cuts_the_recurrence():
    torch.manual_seed(0)
    g = RecordingGRU(3, 4, num_layers=2, bidirectional=True).double()
    x = inputs(False)
    h0 = torch.randn(4, 2, 4, dtype=torch.double)
    rec = g.record(x, h0, interventions=[Intervention("layer1.fwd.z", 1.0)])
    torch.testing.assert_close(rec.h[1, 0], h0[2].unsqueeze(1).expand(-1, 6, -1), rtol=0, atol=0)
    reset = g.record(x, interventions=[Intervention("layer0.fwd.r", 0.0)])
    w_in, b_in, b_hn = g.weight_ih_l0[8:], g.bias_ih_l0[8:], g.bias_hh_l0[8:]
    expected_n = torch.tanh(reset.x @ w_in.t() + b_in)  # r = 0: n does not read h_{t-1} (b_hn is multiplied by r)
    torch.testing.assert_close(reset.n[0, 0], expected_n)
    assert b_hn.abs().sum() > 0


# ------------------------------------------------------------------------------------------- the sweep
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_the_sweep_equals_one_intervention_at_a_time(cell):
    torch.manual_seed(0)
    kw = dict(num_layers=2, bidirectional=True, batch_first=True)
    m = (RecordingLSTM(3, 4, proj_size=2, **kw) if cell == "lstm" else RecordingGRU(3, 4, **kw)).double().eval()
    x = inputs(True, B=3, T=5)
    for name in ("layer0.fwd.h", "layer1.bwd.h", "layer0.bwd.z" if cell == "gru" else "layer0.bwd.c"):
        units = range(2 if name.endswith("h") and cell == "lstm" else 4)
        for steps in (None, [3]):
            fast = ablated_outputs(m, x, name, list(units), 0.25, steps)
            for j, u in enumerate(units):
                slow = intervened_forward(m, x, None, [Intervention(name, 0.25, steps=steps, units=[u])])[0]
                torch.testing.assert_close(fast[j], slow)


def test_ablation_finds_the_borrow_unit_of_the_shipped_subtraction_lstm():
    model = load_checkpoint(MODELS_DIR / "subtraction_lstm.pt").model
    result = ablate_units(model, ("c",), source="probe")
    top = result.table.iloc[0]
    assert result.inputs == 256 and set(result.groups) == {"borrow", "no borrow"}
    assert top["effect"] > 0.05 and top["effect borrow"] > top["effect no borrow"]
    inp = SUBTRACTION.parse("123 - 61", model.config)
    broken = SUBTRACTION.answer(model, inp, [Intervention(top["name"], 0.0, units=[int(top["unit"])])])
    assert SUBTRACTION.answer(model, inp).correct and not broken.correct
    assert "borrow" in describe_unit(result, top)


def test_toy_forget_gate_on_day_2_moves_company_b():
    model = load_checkpoint(MODELS_DIR / "toy_statquest.pt").model
    x, _ = dataset()
    company_b = TaskInput(x=x[1:], text="B", feature_names=("x",), target=1.0)
    before = STATQUEST.answer(model, company_b)
    after = STATQUEST.answer(model, company_b, [Intervention("layer0.fwd.f", 0.0, steps=[1])])
    assert before.correct and after.prediction != before.prediction
    # the by-hand model, the equivalent RecordingLSTM(1, 1) and its recording agree under the intervention
    rec = model.record(x[1:], interventions=[Intervention("layer0.fwd.f", 0.0, steps=[1])])
    assert float(rec.h[0, 0, 0, -1, 0]) == pytest.approx(after.prediction, abs=1e-6)


def test_a_toy_answer_before_and_after_is_drawn_with_h_over_the_days_and_said_in_numbers():
    """Intervene on a toy model: each chart draws h over the four days (it drew one diamond on an empty axis), and
    the sentence gives the prediction's move ("The answer changed." when both were right read as a verdict)."""
    from lstm_viz.interventions import effects
    from lstm_viz.viz.answer import answer_figure, answer_h

    model = load_checkpoint(MODELS_DIR / "toy_statquest.pt").model
    x, _ = dataset()
    company_a = TaskInput(x=x[:1], text="A", feature_names=("x",), target=0.0)
    rec = model.record(company_a.x)
    effect = effects.intervene(model, company_a, effects.build(effects.Choice("layer0.fwd.c", None, (3,), "zero"),
                                                               model), rec)  # fmt: skip
    for answer, recording in ((effect.before, effect.rec_before), (effect.after, effect.rec_after)):
        h = answer_h(answer, recording)
        assert h.shape == (4,) and h[-1] == pytest.approx(answer.prediction, abs=1e-6)
        [line] = [t for t in answer_figure(answer, h, title="Before").data if t.name == "h (short memory)"]
        assert len(line.y) == 4
    assert effect.changed and effect.before.correct and effect.after.correct
    assert effect.change_sentence() == (f"The prediction moved from {effect.before.value:.4f} to "
                                        f"{effect.after.value:.4f} (still right).")  # fmt: skip
    same = effects.intervene(model, company_a, effects.build(effects.Choice("layer0.fwd.c", None, (3,), "patch"),
                                                             model, rec), rec)  # fmt: skip
    assert same.change_sentence() == "The answer did not change."
    sub = load_checkpoint(MODELS_DIR / "subtraction_lstm.pt").model
    inp = SUBTRACTION.parse("123 - 61", sub.config)
    broken = effects.intervene(sub, inp, effects.build(effects.Choice("layer0.fwd.c", (1,), None, "zero"), sub),
                               sub.record(inp.x))  # fmt: skip
    assert broken.change_sentence() == "The answer changed (now wrong)."


def test_a_text_models_before_and_after_share_one_scale_and_say_which_is_which():
    """Side by side, Before's 0.5 and After's 0.08 were drawn on their own axes and looked alike."""
    from lstm_viz.interventions import effects
    from lstm_viz.tasks import task_for
    from lstm_viz.viz.answer import answer_figure, shared_range

    model = load_checkpoint(MODELS_DIR / "charlm_python.pt").model
    inp = task_for(model.config).parse("def hello(name):\n    return f'Hello, {name}", model.config)
    effect = effects.intervene(model, inp, effects.build(effects.Choice("layer0.fwd.c", None, None, "zero"), model),
                               model.record(inp.x))  # fmt: skip
    y_range = shared_range((effect.before, None), (effect.after, None))
    top = max(max(effect.before.probs), max(effect.after.probs))
    assert y_range[0] == 0 and top < y_range[1] <= 1.15
    sides = ((effect.before, "Before"), (effect.after, "After"))
    figures = [answer_figure(answer, title=title, y_range=y_range) for answer, title in sides]
    assert [tuple(f.layout.yaxis.range) for f in figures] == [y_range, y_range]
    assert [f.layout.title.text for f in figures] == [f"{t}: likeliest next characters" for t in ("Before", "After")]
    sub = load_checkpoint(MODELS_DIR / "subtraction_lstm.pt").model
    bits = SUBTRACTION.answer(sub, SUBTRACTION.parse("3 - 1", sub.config))
    assert shared_range((effect.before, None), (bits, None)) is None  # two forms: nothing shared


# ------------------------------------------------------------------------------------------------- CLI
def test_parse_intervention():
    assert parse_intervention("layer0.fwd.c[units=7,steps=3]=0") == Intervention("layer0.fwd.c", 0.0, [3], [7])
    assert parse_intervention("layer1.bwd.h[units=1-3;5]=-0.5").units == (1, 2, 3, 5)
    assert parse_intervention("layer0.fwd.f=1").steps is None
    for bad in ("layer0.fwd.c=zero", "c=0", "layer0.fwd.c[unit=1]=0", "layer0.fwd.c[units=a]=0", "layer0.fwd.c=nan"):
        with pytest.raises(ValueError, match="layer0.fwd.c\\[units=7,steps=3\\]=0|finite"):
            parse_intervention(bad)
    for bad, says in (("layer0.fwd.c[steps=0-999999]=0", "spans 1,000,000; a range may span at most 100,001"),
                      ("layer0.fwd.c[units=5-3]=0", "must go up"),
                      ("layer0.fwd.c[units=1234567890]=0", "is far too large (10 digits; at most 9)"),
                      ("layer0.fwd.c[units=]=0", "units= needs a list, e.g. units=1;2 or units=3-5 (leave units= "
                                                 "out, or write units=all, for every unit)")):  # fmt: skip
        with pytest.raises(ValueError, match=re.escape(says)):
            parse_intervention(bad)
    # "all", as the app's boxes take it: the same as leaving the option out
    assert parse_intervention("layer0.fwd.c[units=all,steps=2]=0") == Intervention("layer0.fwd.c", 0.0, [2], None)
    lstm = RecordingLSTM(2, 3, batch_first=True)
    x = torch.randn(1, 3, 2)
    with pytest.raises(ValueError, match=re.escape("without a projection m = o·tanh(c) is h itself; replace "
                                                   "'layer0.fwd.h'")):  # fmt: skip
        lstm.record(x, interventions=[Intervention("layer0.fwd.m", 0.0)])
    with pytest.raises(ValueError, match="this model has layer0, direction fwd"):  # not "layer0…layer0"
        lstm.record(x, interventions=[Intervention("layer1.fwd.c", 0.0)])


def test_an_lstmps_m_before_the_projection_is_replaced_as_a_hand_written_loop_replaces_it():
    """m = o·tanh(c) of an LSTMP (hidden units, before h = W_hr m) was recorded but could not be replaced; setting
    one of its units is a change of its own — h mixes every m unit — and matches a loop written out by hand, in
    the record, in intervened_forward (with gradients) and in the which-units-matter sweep."""
    from lstm_viz.core.interventions import replaceable_sizes

    torch.manual_seed(0)
    lstm = RecordingLSTM(3, 5, num_layers=2, batch_first=True, bidirectional=True, proj_size=2).double()
    assert replaceable_sizes(lstm) == {"f": 5, "i": 5, "g": 5, "o": 5, "c": 5, "m": 5, "h": 2}
    x = torch.randn(2, 6, 3, dtype=torch.float64)

    def by_hand(unit: int, steps: set[int]) -> torch.Tensor:  # layer 1's backward m[unit] := 0.25 at steps
        inp = x
        for k in range(2):
            outs = []
            for d, sfx in enumerate(("", "_reverse")):
                w = {n: getattr(lstm, f"{n}_l{k}{sfx}") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh",
                                                                   "weight_hr")}  # fmt: skip
                h, c, hs = x.new_zeros(2, 2), x.new_zeros(2, 5), [None] * 6
                for t in (range(6) if d == 0 else range(5, -1, -1)):
                    z = inp[:, t] @ w["weight_ih"].T + w["bias_ih"] + h @ w["weight_hh"].T + w["bias_hh"]
                    i, f, g, o = z.chunk(4, dim=1)
                    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                    m = torch.sigmoid(o) * torch.tanh(c)
                    if (k, d) == (1, 1) and t in steps:
                        m = m.clone()
                        m[:, unit] = 0.25
                    h = m @ w["weight_hr"].T
                    hs[t] = h
                outs.append(torch.stack(hs, dim=1))
            inp = torch.cat(outs, dim=2)
        return inp

    change = Intervention("layer1.bwd.m", 0.25, steps=[1, 4], units=[3])
    rec = lstm.record(x, interventions=[change])
    torch.testing.assert_close(rec.output, by_hand(3, {1, 4}))
    assert float(rec["layer1.bwd.m"][:, [1, 4], 3].sub(0.25).abs().max()) == 0.0
    assert not torch.allclose(rec.output, lstm.record(x).output)  # a real change
    swept = ablated_outputs(lstm, x, "layer1.bwd.m", [3, 0], value=0.25, steps=[1, 4])
    torch.testing.assert_close(swept[0], by_hand(3, {1, 4}))
    torch.testing.assert_close(swept[1], by_hand(0, {1, 4}))
    xg = x.clone().requires_grad_(True)
    out, _ = intervened_forward(lstm, xg, interventions=[change])
    out.sum().backward()
    assert xg.grad is not None and torch.isfinite(xg.grad).all()


def test_a_change_to_m_shows_in_the_difference_heatmaps_and_the_sentence():
    """The heatmaps and "first diverge at" looked at f, i, g, o, c, h only: setting an LSTMP's m unit 14 at t = 3
    showed nowhere there (the spread chart counted it), and the sentence named h."""
    from lstm_viz.interventions import effects
    from lstm_viz.viz.divergence import difference_heatmaps

    model = load_checkpoint(MODELS_DIR / "subtraction_lstmp.pt").model
    inp = SUBTRACTION.parse("123 - 61", model.config)
    change = effects.build(effects.Choice("layer0.fwd.m", (14,), (3,), "one", 0.0), model)
    effect = effects.intervene(model, inp, change, model.record(inp.x))
    assert "first diverge at t = 3 (layer 0 fwd m, unit 14)" in effect.divergence.sentence
    fig = difference_heatmaps(effect.rec_before, effect.rec_after, 0, "fwd")
    titles = [a.text for a in fig.layout.annotations]
    assert "Δ m · o·tanh(c), before projection" in titles and titles.index("Δ m · o·tanh(c), before projection") == 5
    m_panel = fig.data[5]
    assert m_panel.z[[int(u) for u in m_panel.y].index(14), 3] > 0.5  # the set unit (a row), at t = 3 (a column)
    plain = load_checkpoint(MODELS_DIR / "subtraction_lstm.pt").model  # without a projection: no m panel (it is h)
    rec = plain.record(inp.x)
    assert len(difference_heatmaps(rec, rec, 0, "fwd").data) == 6


def test_cli_predict_with_interventions_and_ablate_json(capsys):
    path = str(MODELS_DIR / "subtraction_lstm.pt")
    assert main(["predict", path, "123 - 61", "--intervene", "layer0.fwd.c[units=1]=0", "--json"]) == 0
    line = json.loads(capsys.readouterr().out.strip())
    assert line["answer"] == 62 and line["intervened"] != 62 and line["interventions"] == ["layer0.fwd.c[units=1]=0"]
    assert main(["predict", path, "123 - 61", "--intervene", "layer0.fwd.c[units=99]=0"]) == 2
    assert "unit 99 is outside 0…31" in capsys.readouterr().err
    assert main(["ablate", path, "--data", "probe", "--tensors", "c", "--json", "--quiet", "--top", "3"]) == 0
    out = last_json(capsys.readouterr().out)
    assert out["inputs"] == 256 and len(out["units"]) == 3 and out["units"][0]["name"] == "layer0.fwd.c"
    assert out["units"][0]["effect"] >= out["units"][1]["effect"] and "effect borrow" in out["units"][0]


# ------------------------------------------------------------------------------- the Intervene tab's logic
def test_effects_choices_build_interventions_and_the_spread_starts_at_the_step():
    from lstm_viz.interventions import effects
    from lstm_viz.interventions.figures import ablation_figure, spread_figure

    model = load_checkpoint(MODELS_DIR / "subtraction_lstm.pt").model
    inp = SUBTRACTION.parse("123 - 61", model.config)
    rec = model.record(inp.x)
    choice = effects.Choice("layer0.fwd.c", (1,), None, "zero")
    effect = effects.intervene(model, inp, effects.build(choice, model), rec)
    assert effect.before.value == 62 and effect.after.value != 62 and effect.changed
    assert "unit 1 at every step set to 0 (ablated)" in choice.describe()
    late = effects.Choice("layer0.fwd.h", None, (5,), "constant", 0.9)
    spread = effects.spread_table(rec, effects.intervene(model, inp, effects.build(late, model), rec).rec_after)
    assert (spread.loc[spread["t"] < 5, "max_abs"] == 0).all() and spread.loc[spread["t"] == 5, "max_abs"].item() > 0
    fig = spread_figure(spread, first_step=5)
    assert len(fig.data) == 1
    # the log axis reads 0.2, 0.5, 1, 2 — not Plotly's "1, 9, 8, …, 3, 2" for 0.2–0.9
    shown = spread["max_abs"][spread["max_abs"] > 0]
    ticks = fig.layout.yaxis.tickvals
    assert ticks[0] <= shown.min() * 2 and ticks[-1] >= shown.max() / 2 and set(fig.layout.yaxis.ticktext) >= {"1"}
    second = SUBTRACTION.parse("123 - 60", model.config)
    patch = effects.build(effects.Choice("layer0.fwd.c", None, (0,), "patch"), model, model.record(second.x))
    patched = model.record(inp.x, interventions=[patch])
    torch.testing.assert_close(patched.c[0, 0, 0, 0], model.record(second.x).c[0, 0, 0, 0])
    means = effects.build(effects.Choice("layer0.fwd.f", (2, 3), None, "mean"), model)
    assert means.value.shape == (2,)
    with pytest.raises(ValueError, match="second input B"):
        effects.build(effects.Choice("layer0.fwd.c", None, None, "patch"), model)
    longer = model.record(torch.cat([second.x, second.x], dim=1))  # B of 16 steps, A of 8: steps 0-7 patched
    every = effects.build(effects.Choice("layer0.fwd.c", None, None, "patch"), model, longer, steps_a=inp.steps)
    assert list(every.steps) == list(range(8)) and every.value.shape[1] == 8
    assert effects.parse_indices("3, 5-7", 8, "Units", "7") == (3, 5, 6, 7)
    assert effects.parse_indices("all", 8, "Units", "7") is None
    for bad, fragment in (("9", "outside 0…7"), ("5-3", "goes down"), ("x", "not a whole number"),
                          ("9" * 5000, "far outside"), ("²", "not a whole number"), ("1-²", "not a whole number"),
                          ("-1", r"-1 is outside 0…7 \(they count from 0\)"), ("-", "not a whole number")):
        with pytest.raises(ValueError, match=fragment):
            effects.parse_indices(bad, 8, "Units", "7")
    assert effects.names_of(model)[:3] == ["layer0.fwd.f", "layer0.fwd.i", "layer0.fwd.g"]
    result = ablate_units(model, ("c",), source="probe")
    fig = ablation_figure(result, top=5)
    # ablations that change nothing get no empty row (here most: they held 14 of 20 rows), and the subtitle says
    # how many were left out
    moved = int((result.table[["effect", "effect borrow", "effect no borrow"]] != 0).any(axis=1).sum())
    assert len(fig.data) == 3 and len(fig.data[0].y) == min(5, moved)  # all inputs, borrow, no borrow
    everything = ablation_figure(result, top=len(result.table))
    assert 0 < moved < len(result.table) and len(everything.data[0].y) == moved
    assert f"{len(result.table) - moved:,} that change nothing not shown" in everything.layout.title.subtitle.text


@pytest.mark.parametrize("file", ["regressor.pt", "toy_lstm.pt", "charlm_python.pt"])
def test_patching_an_input_with_its_own_values_does_not_change_the_answer(file):
    """The intervened run goes step by step, the plain one through the fused kernel: answers that are numbers (a
    regression, a toy's prediction, a text's bits per character) differ in their last bits, which is not a change."""
    from lstm_viz.interventions import effects
    from lstm_viz.tasks import task_for

    model = load_checkpoint(MODELS_DIR / file).model.eval()
    task = task_for(model.config)
    inp = task.parse(task.example(model.config), model.config)
    rec = model.record(inp.x)
    same = effects.intervene(
        model, inp, effects.build(effects.Choice("layer0.fwd.c", None, None, "patch"), model, rec), rec
    )
    assert not same.changed and same.divergence.state_step is None
    ablated = effects.intervene(
        model, inp, effects.build(effects.Choice("layer0.fwd.c", None, (0,), "zero"), model), rec
    )
    assert ablated.changed


def test_answers_are_the_same_up_to_rounding_and_integers_exactly():
    from lstm_viz.interventions.effects import _same_answer

    assert _same_answer(-0.13394847512245178, -0.1339481770992279) and not _same_answer(0.1339, 0.1349)
    assert _same_answer([1.0, float("nan")], [1.0 + 1e-9, float("nan")]) and not _same_answer([1.0], [1.0, 2.0])
    assert not _same_answer(62, 63) and _same_answer({"bpc": 2.0, "next": ["a"]}, {"bpc": 2.0 + 1e-9, "next": ["a"]})
    assert not _same_answer({"next": ["a"]}, {"next": ["b"]})


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_on_the_gpu_the_spread_still_starts_at_the_step():
    """cuDNN's float32 with TF32 products (PyTorch's default) puts the plain recording ~1e-3 off the step-by-step run
    an intervention needs: the Intervene tab compares with that run without it, so nothing changes before t = 5."""
    from lstm_viz.interventions import effects

    model = load_checkpoint(MODELS_DIR / "subtraction_lstm.pt", device="cuda").model
    inp = SUBTRACTION.parse("123 - 61", model.config)
    late = effects.build(effects.Choice("layer0.fwd.h", None, (5,), "constant", 0.9), model)
    effect = effects.intervene(model, inp, late, model.record(inp.x).to("cpu"))
    spread = effects.spread_table(effect.rec_before, effect.rec_after)
    assert (spread.loc[spread["t"] < 5, "max_abs"] == 0).all() and spread.loc[spread["t"] == 5, "max_abs"].item() > 0
    assert effect.divergence.state_step == 5


def test_every_task_says_in_words_what_data_its_sweep_ablates_over():
    """The Which-units-matter tab names each task's sweep data (it once said "for subtraction: all 32,896 pairs" for
    every model): the words give the number of inputs ablation_inputs really returns."""
    for task in registered():
        config = ModelConfig.default(task.kind)
        x, _ = task.ablation_inputs(config, "all")
        count = "two" if len(x) == 2 else f"{len(x):,}"
        assert count in task.ablation_data, (task.kind, task.ablation_data, len(x))


# ---- arguments a library user hands in ------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [RecordingLSTM, RecordingGRU])
def test_interventions_on_a_packed_sequence_are_refused_not_ignored(cls):
    from torch.nn.utils.rnn import pack_sequence

    packed = pack_sequence([torch.randn(5, 3), torch.randn(3, 3)], enforce_sorted=False)
    module = cls(3, 4).eval()
    name = "layer0.fwd.c" if cls is RecordingLSTM else "layer0.fwd.h"
    with pytest.raises(ValueError, match="PackedSequence"):
        module.record(packed, interventions=[Intervention(name, 0.0)])
    with pytest.raises(ValueError, match="pad_packed_sequence"):
        intervened_forward(module, packed, interventions=[Intervention(name, 0.0)])
    assert module.record(packed, interventions=[]).extras["packed"]  # none given: recorded as before


@pytest.mark.parametrize(
    ("x", "hx", "error", "says"),
    [
        (torch.randn(6, 3, 7), None, RuntimeError, "input_size"),
        (torch.randn(6, 3, 4, 1), None, ValueError, "2D or 3D"),
        (torch.randn(6, 3, 4), (torch.zeros(1, 3, 5),), IndexError, "(h0, c0)"),
        (torch.randn(6, 3, 4), (torch.zeros(1, 2, 5), torch.zeros(1, 2, 5)), RuntimeError, "h0 must have shape"),
    ],
)
def test_intervened_forward_checks_its_arguments_as_forward_does(x, hx, error, says):
    lstm = nn.LSTM(4, 5)
    with pytest.raises(error):
        lstm(x, hx)  # nn.LSTM's own class for the same mistake
    with pytest.raises(error, match=re.escape(says)):
        intervened_forward(lstm, x, hx, [Intervention("layer0.fwd.c", 0.0, steps=[1])])


def test_intervened_forward_checks_a_gru_input():
    with pytest.raises(RuntimeError, match="input_size=4"):
        intervened_forward(nn.GRU(4, 5), torch.randn(6, 3, 7), None, [Intervention("layer0.fwd.h", 0.0, steps=[1])])


def test_intervened_forward_in_training_mode_drops_out_between_layers_as_forward_does():
    torch.manual_seed(0)
    lstm = nn.LSTM(3, 4, num_layers=2, dropout=0.5).train()
    x = torch.randn(6, 2, 3)
    late = [Intervention("layer1.fwd.c", 0.0, steps=[4])]
    torch.manual_seed(1)
    plain, _ = intervened_forward(lstm, x, None, [])  # module(x): dropout between the layers
    torch.manual_seed(1)
    patched, _ = intervened_forward(lstm, x, None, late)
    # the same mask for the same seed: the steps the patch cannot reach agree, the patched one differs
    assert torch.allclose(plain[:4], patched[:4], atol=1e-6)
    assert not torch.allclose(plain[4], patched[4], atol=1e-6)
    lstm.eval()
    eval_out, _ = intervened_forward(lstm, x, None, late)
    assert not torch.allclose(eval_out[:4], patched[:4], atol=1e-4)  # training mode did drop units


def test_units_and_steps_take_numpy_integers_and_arrays():
    import numpy as np

    top = np.argsort(np.array([0.1, 0.9, 0.3, 0.8]))[-2:]  # int64 array
    spec = Intervention("layer0.fwd.c", 0.0, units=top, steps=np.int64(2))
    assert spec.units == (3, 1) and spec.steps == (2,)
    assert all(type(u) is int for u in spec.units)
    with pytest.raises(ValueError, match="whole numbers"):
        Intervention("layer0.fwd.c", 0.0, units=np.array([0.5]))


def test_interventions_given_as_a_generator_are_applied_and_listed():
    lstm = RecordingLSTM(3, 4).eval()
    x = torch.randn(5, 1, 3)
    rec = lstm.record(x, interventions=(Intervention(n, 0.0) for n in ["layer0.fwd.c"]))
    assert rec.extras["interventions"] == ["layer0.fwd.c"]
    assert rec.c.abs().max() == 0


def test_a_float32_c0_beside_bfloat16_weights_runs_under_interventions_as_nn_lstm_runs_it():
    lstm = RecordingLSTM(3, 4, dtype=torch.bfloat16).eval()
    x = torch.randn(5, 2, 3, dtype=torch.bfloat16)
    hx = (torch.zeros(1, 2, 4, dtype=torch.bfloat16), torch.zeros(1, 2, 4))  # nn.LSTM accepts this c0
    nn.LSTM.forward(lstm, x, hx)
    rec = lstm.record(x, hx, interventions=[Intervention("layer0.fwd.h", 0.0, steps=[1])])
    assert rec.h[0, 0, :, 1].abs().max() == 0
    out, _ = intervened_forward(lstm, x, hx, [Intervention("layer0.fwd.h", 0.0, steps=[1])])
    assert out.dtype == torch.bfloat16 and torch.equal(out, rec.output)


def test_one_sweep_for_sessions_asking_at_once_and_a_stopped_one_is_taken_over(monkeypatch):
    """The page's sweep (Which units matter): a second session asking for a sweep that is running waits for it
    instead of computing it again; when the running session is stopped (its visitor clicked elsewhere), the waiting
    one computes it. Outside a Streamlit script the progress bar is a no-op."""
    import threading
    import time
    import warnings

    pytest.importorskip("streamlit", reason="the sweep's page code imports streamlit (not installed here)")
    from lstm_viz.interventions import ui

    calls, release = [], threading.Event()

    def fake_ablate(model, tensors, *, value, progress):
        calls.append(threading.current_thread().name)
        progress(1, 4)
        if len(calls) == 1:
            release.wait(10)
            if model == "stopped":
                raise RuntimeError("the first session's visitor clicked elsewhere")
        progress(4, 4)
        return f"result of {threading.current_thread().name}"

    monkeypatch.setattr(ui, "ablate_units", fake_ablate)
    monkeypatch.setattr(ui, "_SWEEPS", type(ui._SWEEPS)())
    for first_model, want_calls in (("fine", 1), ("stopped", 2)):
        calls.clear()
        release.clear()
        ui._SWEEPS.clear()
        got = {}

        def ask(name, model, got=got):
            try:
                got[name] = ui._sweep("key", ("c",), "zero", model)
            except RuntimeError as err:
                got[name] = err

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "missing ScriptRunContext": no Streamlit script here
            a = threading.Thread(target=ask, args=("A", first_model), name="A")
            a.start()
            while not calls:
                time.sleep(0.01)
            b = threading.Thread(target=ask, args=("B", "fine"), name="B")
            b.start()
            time.sleep(0.6)  # B is waiting, not computing
            assert calls == ["A"]
            release.set()
            a.join(10)
            b.join(10)
        assert len(calls) == want_calls
        if first_model == "fine":
            assert got == {"A": "result of A", "B": "result of A"}
        else:
            assert isinstance(got["A"], RuntimeError) and got["B"] == "result of B"
        assert not ui._RUNNING


@pytest.mark.parametrize(
    ("values", "ticks"),
    [([0.22, 3.1], ["0.2", "0.5", "1", "2", "5"]), ([0.05, 0.07], ["0.05", "0.1"]), ([7.0, 7.0], ["5", "10"])],
)
def test_log_axes_are_labelled_at_1_2_5(values, ticks):
    from lstm_viz.viz.plotgrid import log_axis_125

    assert log_axis_125(values)["ticktext"] == ticks


def test_log_axes_over_many_decades_tick_each_decade_and_ignore_zeros():
    from lstm_viz.viz.plotgrid import log_axis_125

    assert log_axis_125([1e-7, 0.0, 5.0]) == {"dtick": 1, "exponentformat": "power"}
    assert log_axis_125([0.0, float("nan")]) == {}


@pytest.mark.parametrize("values", [[1.7, 3.2], [2.0], [7.0, 7.0], [0.013, 0.018]])
def test_a_log_axis_over_less_than_a_1_2_5_step_still_labels_two_ticks(values):
    """The spread chart of changes 1.7–3.2 showed one tick label, "2", on its whole axis."""
    import math

    from lstm_viz.viz.plotgrid import log_axis_125

    axis = log_axis_125(values)
    low, high = axis.get("range", [math.log10(min(values)), math.log10(max(values))])
    shown = [t for t in axis["tickvals"] if low <= math.log10(t) <= high]
    assert len(shown) >= 2 and low <= math.log10(min(values)) and math.log10(max(values)) <= high


def test_intervene_sets_a_unit_to_the_mean_its_ranking_used():
    """'Its mean' was two values: Intervene averaged over 256 probe pairs (0.034 for the subtraction LSTM's c unit
    1), Which units matter over all 32,896 (0.077) — a unit opened from the ranking showed another effect. One mean
    now, kept until the weights change; the caption names the data."""
    from lstm_viz.interventions import ablation, effects

    model = load_checkpoint(MODELS_DIR / "subtraction_lstm.pt").model.eval()
    x, _ = SUBTRACTION.ablation_inputs(model.config, "all")
    ranked = ablation.unit_means(model, x, ["c"])["layer0.fwd.c"]
    opened = effects.build(effects.Choice("layer0.fwd.c", (1,), None, "mean"), model)
    torch.testing.assert_close(opened.value, ranked[[1]])
    assert effects.unit_means(model, "layer0.fwd.c") is effects.unit_means(model, "layer0.fwd.c")  # kept
    with torch.no_grad():
        model.rnn().bias_hh_l0.add_(0.5)  # the weights change (as in a training step): computed again
    torch.testing.assert_close(effects.unit_means(model, "layer0.fwd.c"),
                               ablation.unit_means(model, x, ["c"])["layer0.fwd.c"])  # fmt: skip
    caption = effects.Choice("layer0.fwd.c", (1,), None, "mean").describe(SUBTRACTION.ablation_data)
    assert "average value over all 32,896 pairs 0 ≤ b ≤ a ≤ 255, every step" in caption


def test_the_spread_counts_an_lstmps_projected_h_apart():
    """Zeroing h unit 2 of the subtraction LSTMP at t = 3 changes h alone there: the chart's point of 1.22 said
    "0 units changed"."""
    from lstm_viz.interventions import effects
    from lstm_viz.interventions.figures import spread_figure

    model = load_checkpoint(MODELS_DIR / "subtraction_lstmp.pt").model.eval()
    inp = SUBTRACTION.parse("123 - 61", model.config)
    rec = model.record(inp.x)
    choice = effects.Choice("layer0.fwd.h", (2,), (3,), "zero")
    table = effects.spread_table(rec, effects.intervene(model, inp, effects.build(choice, model), rec).rec_after)
    at3 = table[table["t"] == 3].iloc[0]
    assert at3["max_abs"] > 1 and at3["units_changed"] == 0 and at3["h_units_changed"] == 1
    assert spread_figure(table, 3).data[0].customdata[3] == "0 units changed (and 1 of the projected h's)"
    plain = load_checkpoint(MODELS_DIR / "subtraction_lstm.pt").model.eval()
    rec = plain.record(inp.x)
    choice = effects.Choice("layer0.fwd.h", (2,), (3,), "zero")
    table = effects.spread_table(rec, effects.intervene(plain, inp, effects.build(choice, plain), rec).rec_after)
    assert (table["h_units_changed"] == 0).all() and table[table["t"] == 3].iloc[0]["units_changed"] == 1
    assert spread_figure(table, 3).data[0].customdata[3] == "1 unit changed"


def test_a_tensor_value_beyond_the_models_range_is_refused_like_a_number():
    """A float64 tensor of 1e39 became inf in a float32 model; the same number was refused."""
    lstm = RecordingLSTM(2, 3, batch_first=True)
    x = torch.randn(1, 4, 2)
    for value in (1e39, torch.tensor([1e39], dtype=torch.float64)):
        with pytest.raises(ValueError, match="beyond torch.float32's range"):
            lstm.record(x, interventions=[Intervention("layer0.fwd.c", value, units=[0])])


@pytest.mark.parametrize("steps, says", [([-1], "step -1 is outside the input's steps 0…3"),
                                         ([4], "step 4 is outside the input's steps 0…3"),
                                         ([1, 1], "steps [1, 1] name a step twice; give each once")])  # fmt: skip
def test_the_sweep_checks_its_steps_as_intervention_does(steps, says):
    """-1 ablated the last step (Python indexing), 4 failed with a bare IndexError, [1, 1] passed."""
    lstm = nn.LSTM(2, 3, batch_first=True)
    with pytest.raises(ValueError, match=re.escape(says)):
        ablated_outputs(lstm, torch.randn(1, 4, 2), "layer0.fwd.c", [0], steps=steps)
