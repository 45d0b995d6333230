"""RecordingLSTM / RecordingGRU as drop-in twins, and the intervention API: edges a review found (each failed before
its fix).

Parametrized weights computed as often as nn computes them (a random parametrization, spectral norm's power
iteration) and recordings made with the weights forward used; packed input under autocast; hx that nn.LSTM reads
as (hx[0], hx[1]); complex GRUs; hx dtypes under autocast; nn.GRU's constructor signature; nn.LSTM's own text first
in every refusal; the README's safe_globals list for a packed recording; dropout and strategy with interventions;
intervention values, units and names the CLI's parser refuses."""

from __future__ import annotations

import copy
import io
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm
from torch.nn.utils.rnn import PackedSequence, pack_sequence

import lstm_viz
from lstm_viz import (
    Intervention,
    RecordingGRU,
    RecordingLSTM,
    RNNArgumentError,
    intervened_forward,
    parse_intervention,
    record_modules,
)
from tests.test_lstm_twin import _outcome

ROOT = Path(__file__).resolve().parents[1]
TWINS = [(RecordingLSTM, nn.LSTM), (RecordingGRU, nn.GRU)]
TWIN_IDS = ["lstm", "gru"]




def _same_refusal(got, expected):
    """``got`` is caught as ``expected`` is and its message starts with ``expected``'s (nn's own text)."""
    assert expected is not None and got is not None, (expected, got)
    assert isinstance(got, type(expected)), (type(got), type(expected))
    assert isinstance(got, RNNArgumentError), type(got)
    assert str(got).startswith(str(expected).rstrip()), (str(got), str(expected))


class DropConnect(nn.Module):
    """Weight dropout as a parametrization (AWD-LSTM style): a random weight at every evaluation."""

    def forward(self, w):
        return nn.functional.dropout(w, 0.5, self.training)


# ------------------------------------------------------------------------- 1: parametrized weights computed once
def _pair(cls, base):
    """nn's module and its twin with the same weights."""
    torch.manual_seed(0)
    ref, twin = base(4, 5), cls(4, 5)
    twin.load_state_dict(ref.state_dict())
    return ref, twin


@pytest.mark.parametrize(("cls", "base"), TWINS, ids=TWIN_IDS)
def test_forward_with_a_random_parametrization_matches_nn_under_the_same_seed(cls, base):
    """The GRU's forward read weight_ih_l0 for its own check, so DropConnect drew one mask more (0.64 apart)."""
    ref, twin = _pair(cls, base)
    for m in (ref, twin):
        parametrize.register_parametrization(m, "weight_ih_l0", DropConnect())
    x = torch.randn(3, 2, 4)
    torch.manual_seed(7)
    a = ref(x)[0]
    torch.manual_seed(7)
    b = twin(x)[0]
    assert torch.equal(a, b)


@pytest.mark.parametrize(("cls", "base"), TWINS, ids=TWIN_IDS)
def test_spectral_norm_takes_as_many_power_iteration_steps_as_in_nn(cls, base):
    ref, twin = _pair(cls, base)
    torch.manual_seed(1)
    spectral_norm(ref, "weight_ih_l0")
    torch.manual_seed(1)
    spectral_norm(twin, "weight_ih_l0")
    x = torch.randn(3, 2, 4)
    for _ in range(3):
        assert torch.equal(ref(x)[0], twin(x)[0])
    assert torch.equal(ref.parametrizations.weight_ih_l0[0]._u, twin.parametrizations.weight_ih_l0[0]._u)


@pytest.mark.parametrize("base", [nn.LSTM, nn.GRU, RecordingLSTM, RecordingGRU])
@pytest.mark.parametrize("packed", [False, True], ids=["padded", "packed"])
def test_record_modules_records_with_the_weights_forward_used(base, packed):
    """The hook read the weights again after forward: a new DropConnect mask (recorded h 0.06 off the returned
    output) and one more spectral-norm step than a plain call."""
    torch.manual_seed(0)
    model = base(4, 5)
    parametrize.register_parametrization(model, "weight_hh_l0", DropConnect())
    x = pack_sequence([torch.randn(4, 4), torch.randn(2, 4)]) if packed else torch.randn(4, 2, 4)
    out, recs = record_modules(model, x)
    out = out[0]
    if packed:  # the output at each sequence's steps is its h there
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True)
        h = recs[""].h[0, 0].nan_to_num(0.0)
    else:
        out, h = out.transpose(0, 1), recs[""].h[0, 0]
    torch.testing.assert_close(h, out, atol=1e-6, rtol=0)

    torch.manual_seed(0)
    normed = spectral_norm(base(4, 5), "weight_hh_l0")
    plain, recorded = copy.deepcopy(normed), copy.deepcopy(normed)
    for _ in range(2):
        expected = plain(x)[0]
        got, _ = record_modules(recorded, x)
    u = [m.parametrizations.weight_hh_l0[0]._u for m in (plain, recorded)]
    assert torch.equal(u[0], u[1])
    assert torch.equal(got[0].data if packed else got[0], expected.data if packed else expected)


# ------------------------------------------------------------------------- 2: packed input under autocast
@pytest.mark.parametrize(("cls", "base"), TWINS, ids=TWIN_IDS)
def test_a_packed_bfloat16_input_records_under_autocast_as_a_padded_one(cls, base):
    torch.manual_seed(0)
    model = cls(4, 5, num_layers=2, bidirectional=True).eval()
    seqs = [torch.randn(3, 4), torch.randn(2, 4)]
    packed = pack_sequence(seqs).to(torch.bfloat16)
    want = model.record(packed.to(torch.float32))  # computed in the weights' dtype, as a padded input under autocast
    with torch.autocast("cpu", dtype=torch.bfloat16):
        forward_out = model(packed)[0]
        rec = model.record(packed)
        out, recs = record_modules(model, packed)
        plain = base(4, 5, num_layers=2, bidirectional=True).eval()
        plain.load_state_dict(model.state_dict())
        _, plain_recs = record_modules(plain, packed)
    for got in (rec, recs[""], plain_recs[""]):
        assert got.h.dtype == torch.float32
        torch.testing.assert_close(got.h, want.h, equal_nan=True, atol=1e-6, rtol=0)
    assert rec.output.data.dtype == torch.float32  # the padded rule: the whole recording in the weights' dtype
    torch.testing.assert_close(rec.output.data, want.output.data, atol=1e-6, rtol=0)
    assert torch.equal(recs[""].output.data, out[0].data) and out[0].data.dtype == forward_out.data.dtype


# ------------------------------------------------------------------------- 3: hx as nn.LSTM reads it
def test_an_unbatched_inputs_hx_is_read_as_hx0_and_hx1_as_nn_lstm_reads_it():
    torch.manual_seed(0)
    lstm = RecordingLSTM(4, 5, num_layers=2).eval()
    plain = nn.LSTM(4, 5, num_layers=2).eval()
    plain.load_state_dict(lstm.state_dict())
    x, h0, c0 = torch.randn(3, 4), torch.randn(2, 5), torch.randn(2, 5)
    want = lstm.record(x, (h0, c0))
    iv = [Intervention("layer0.fwd.c", 0.0, steps=[1])]
    want_iv = intervened_forward(lstm, x, (h0, c0), iv)[0]
    for hx in (torch.stack([h0, c0]), (h0, c0, torch.zeros(1)), [h0, c0]):
        assert torch.equal(lstm(x, hx)[0], plain(x, hx)[0])  # the control: nn.LSTM runs it
        torch.testing.assert_close(lstm.record(x, hx).c, want.c)
        torch.testing.assert_close(record_modules(plain, x, hx)[1][""].c, want.c)
        torch.testing.assert_close(intervened_forward(plain, x, hx, iv)[0], want_iv)


def test_a_batched_inputs_hx_must_be_a_pair_as_nn_lstm_says():
    torch.manual_seed(0)
    lstm = RecordingLSTM(4, 5)
    x, h0, c0 = torch.randn(3, 2, 4), torch.randn(1, 2, 5), torch.randn(1, 2, 5)
    ivs = [Intervention("layer0.fwd.c", 0)]
    for hx in (torch.stack([h0, c0]), (h0, c0, h0)):
        expected = _outcome(lambda hx=hx: nn.LSTM.forward(lstm, x, hx))
        for call in (lstm, lstm.record, lambda x, hx: intervened_forward(lstm, x, hx, ivs)):
            _same_refusal(_outcome(lambda call=call, hx=hx: call(x, hx)), expected)


def test_a_packed_unsorted_inputs_hx_is_read_as_nn_lstm_reads_it():
    """nn.LSTM permutes an unsorted batch's hx as (hx[0][:, order], hx[1][:, order]): a stacked tensor runs."""
    torch.manual_seed(0)
    lstm = RecordingLSTM(4, 5).eval()
    packed = pack_sequence([torch.randn(2, 4), torch.randn(3, 4)], enforce_sorted=False)
    h0, c0 = torch.randn(1, 2, 5), torch.randn(1, 2, 5)
    want = lstm.record(packed, (h0, c0))
    for hx in (torch.stack([h0, c0]), (h0, c0, h0)):
        out = lstm(packed, hx)[0]
        rec = lstm.record(packed, hx)
        torch.testing.assert_close(rec.c, want.c, equal_nan=True)
        assert torch.equal(rec.output.data, out.data)
        torch.testing.assert_close(record_modules(lstm, packed, hx)[1][""].c, want.c, equal_nan=True)
    sorted_packed = pack_sequence([torch.randn(3, 4), torch.randn(2, 4)])  # nn.LSTM hands this hx to the kernel
    for hx in (torch.stack([h0, c0]), (h0, c0, h0)):
        expected = _outcome(lambda hx=hx: nn.LSTM.forward(lstm, sorted_packed, hx))
        _same_refusal(_outcome(lambda hx=hx: lstm.record(sorted_packed, hx)), expected)


# ------------------------------------------------------------------------- 4: complex GRUs
@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_a_complex_gru_takes_what_nn_gru_takes(dtype):
    torch.manual_seed(0)
    ref = nn.GRU(4, 5, num_layers=2, dtype=dtype)
    twin = RecordingGRU(4, 5, num_layers=2, dtype=dtype)
    twin.load_state_dict(ref.state_dict())
    x, h0 = torch.randn(3, 2, 4, dtype=dtype), torch.randn(2, 2, 5, dtype=dtype)
    with torch.no_grad():
        out, h_n = ref(x, h0)
        assert torch.equal(twin(x, h0)[0], out)
    rec = twin.record(x, h0)
    torch.testing.assert_close(rec.output, out)
    torch.testing.assert_close(rec.h_n, h_n)


# ------------------------------------------------------------------------- 5: hx dtypes under autocast
@pytest.mark.parametrize(("cls", "base"), TWINS, ids=TWIN_IDS)
def test_under_autocast_record_refuses_an_hx_forward_refuses(cls, base):
    torch.manual_seed(0)
    model = cls(4, 5)
    x = torch.randn(3, 2, 4)
    h = torch.zeros(1, 2, 5, dtype=torch.float64)
    hx = (h, torch.zeros(1, 2, 5)) if base is nn.LSTM else h
    with torch.autocast("cpu", dtype=torch.bfloat16):
        expected = _outcome(lambda: base.forward(model, x, hx))
        _same_refusal(_outcome(lambda: model(x, hx)), expected)
        _same_refusal(_outcome(lambda: model.record(x, hx)), expected)
        _same_refusal(_outcome(lambda: intervened_forward(model, x, hx, [Intervention("layer0.fwd.h", 0)])), expected)
        assert "h0.to(torch.float32)" in str(_outcome(lambda: model.record(x, hx)))  # what to do about it


# ------------------------------------------------------------------------- 6: nn.GRU's constructor
def test_recording_grus_constructor_takes_and_refuses_what_nn_grus_takes_and_refuses():
    import inspect

    def parameters(cls):
        return [(p.name, p.kind, p.default) for p in inspect.signature(cls).parameters.values()]

    assert parameters(RecordingGRU) == parameters(nn.GRU)  # (*args, **kwargs), handed to nn.RNNBase
    args = (4, 5, 1, True, False, 0.0, False, 0, "cpu", torch.float64)  # the 8th: nn.RNNBase's proj_size
    assert RecordingGRU(*args).weight_ih_l0.dtype == nn.GRU(*args).weight_ih_l0.dtype == torch.float64
    for make_args, kwargs in [((4, 5), {"proj_size": 0}), ((4, 5), {"proj_size": 2}),
                              ((4, 5, 1, True, False, 0.0, False, "cpu"), {}), ((4, 5), {"foo": 1})]:  # fmt: skip
        expected = _outcome(lambda a=make_args, k=kwargs: nn.GRU(*a, **k))
        got = _outcome(lambda a=make_args, k=kwargs: RecordingGRU(*a, **k))
        assert isinstance(got, type(expected)) and str(got).startswith(str(expected)), (got, expected)


# ------------------------------------------------------------------------- 7: nn.LSTM's text first
LSTM_REFUSALS = [
    ("numpy input", lambda: (np.zeros((3, 2, 4), np.float32), None)),
    ("int64 input", lambda: (torch.zeros(3, 2, 4, dtype=torch.long), None)),
    ("complex input", lambda: (torch.zeros(3, 2, 4, dtype=torch.complex64), None)),
    ("float64 h0", lambda: (torch.zeros(3, 2, 4), (torch.zeros(1, 2, 5, dtype=torch.float64), torch.zeros(1, 2, 5)))),
    ("int h0", lambda: (torch.zeros(3, 2, 4), (torch.zeros(1, 2, 5, dtype=torch.long), torch.zeros(1, 2, 5)))),
    ("bool c0", lambda: (torch.zeros(3, 2, 4), (torch.zeros(1, 2, 5), torch.zeros(1, 2, 5, dtype=torch.bool)))),
    ("float16 c0", lambda: (torch.zeros(3, 2, 4), (torch.zeros(1, 2, 5), torch.zeros(1, 2, 5, dtype=torch.float16)))),
    ("float64 c0", lambda: (torch.zeros(3, 2, 4), (torch.zeros(1, 2, 5), torch.zeros(1, 2, 5, dtype=torch.float64)))),
]


@pytest.mark.parametrize("label,make", LSTM_REFUSALS, ids=[case[0] for case in LSTM_REFUSALS])
@pytest.mark.parametrize("method", ["forward", "record", "intervened_forward"])
def test_every_refusal_starts_with_nn_lstms_own_message(label, make, method):
    torch.manual_seed(0)
    ref = nn.LSTM(4, 5)
    twin = RecordingLSTM.from_lstm(ref)
    x, hx = make()
    expected = _outcome(lambda: ref(x, hx))
    ivs = [Intervention("layer0.fwd.c", 0)]
    call = {
        "forward": twin,
        "record": twin.record,
        "intervened_forward": lambda x, hx: intervened_forward(ref, x, hx, ivs),
    }
    got = _outcome(lambda: call[method](x, hx))
    _same_refusal(got, expected)
    assert len(str(got)) > len(str(expected)) + 20 or label == "complex input"  # ...and says what to do


# ------------------------------------------------------------------------- 8: the README's safe_globals list
@pytest.mark.parametrize("cls", [RecordingLSTM, RecordingGRU])
def test_a_packed_recording_loads_under_the_readmes_safe_globals(cls):
    readme = (ROOT / "README.md").read_text()
    listed = re.search(r"torch\.serialization\.safe_globals\(\[([^\]]+)\]\)", readme)
    assert listed is not None
    names = [name.strip() for name in listed[1].split(",")]
    allowed = [getattr(lstm_viz, name, None) or getattr(torch.nn.utils.rnn, name) for name in names]
    torch.manual_seed(0)
    for x in (torch.randn(3, 2, 4), pack_sequence([torch.randn(3, 4), torch.randn(2, 4)])):
        rec = cls(4, 5, bidirectional=True).record(x)
        buffer = io.BytesIO()
        torch.save(rec, buffer)
        buffer.seek(0)
        with torch.serialization.safe_globals(allowed):
            back = torch.load(buffer)
        assert isinstance(back.output, type(rec.output))
        torch.testing.assert_close(back.h, rec.h, equal_nan=True)
        if isinstance(rec.output, PackedSequence):
            assert torch.equal(back.output.data, rec.output.data)


# ------------------------------------------------------------------------- 9: dropout and strategy with interventions
@pytest.mark.parametrize("cls", [RecordingLSTM, RecordingGRU])
def test_record_with_interventions_applies_dropout_as_asked_and_refuses_a_strategy_it_cannot_run(cls):
    torch.manual_seed(0)
    model = cls(3, 4, num_layers=3, dropout=0.5).train()
    x = torch.randn(5, 2, 3)
    ivs = [Intervention("layer0.fwd.h", 0.0, steps=[0])]
    torch.manual_seed(1)
    dropped = model.record(x, apply_dropout=True, interventions=ivs)
    torch.manual_seed(1)
    assert torch.equal(dropped.output, intervened_forward(model, x, None, ivs)[0].detach())  # forward's dropout
    torch.manual_seed(1)
    plain = model.record(x, interventions=ivs)  # eval semantics by default, as without interventions
    assert not torch.allclose(dropped.output, plain.output)
    assert torch.equal(plain.output, model.eval().record(x, interventions=ivs).output)
    for strategy in ("auto", "loop"):
        assert model.record(x, strategy=strategy, interventions=ivs).extras["strategy"] == "loop"
    with pytest.raises(RNNArgumentError, match="strategy='replay' cannot record under interventions.*'auto' or 'loop'"):
        model.record(x, strategy="replay", interventions=ivs)
    if cls is RecordingLSTM:
        with pytest.raises(RNNArgumentError, match="strategy='kernel' cannot record under interventions"):
            model.record(x, strategy="kernel", interventions=ivs)


# ------------------------------------------------------------------------- 10: what the CLI's parser refuses
@pytest.mark.parametrize(
    "make,message",
    [
        (lambda: Intervention("layer0.fwd.c", float("nan")), "must be a finite number, got nan"),
        (lambda: Intervention("layer0.fwd.c", float("inf")), "must be a finite number, got inf"),
        (lambda: Intervention("layer0.fwd.c", -float("inf")), "must be a finite number, got -inf"),
        (lambda: Intervention("layer0.fwd.c", torch.tensor([0.0, float("nan")])), "holds NaN or infinity"),
        (lambda: Intervention("layer0.fwd.c", torch.tensor([1.0, 2.0]), units=[1, 1]), r"units \[1, 1\] name a unit"),
        (lambda: parse_intervention("layer0.fwd.c[units=1;1]=0"), r"name a unit twice"),
        (lambda: parse_intervention("layer0.fwd.c[units=\u0661]=0"), "units must be whole numbers"),
        (lambda: parse_intervention("layer0.fwd.c=\u0661"), "is not a number"),
        (lambda: parse_intervention("layer0.fwd.c=1_000"), "is not a number"),
        (lambda: parse_intervention("layer\u0661.fwd.c=0"), "cannot read the intervention"),
    ],
    ids=[
        "nan",
        "inf",
        "-inf",
        "nan tensor",
        "units twice",
        "parsed units twice",
        "unicode unit",
        "unicode value",
        "underscore value",
        "unicode layer",
    ],
)
def test_the_intervention_api_refuses_what_the_parser_refuses(make, message):
    with pytest.raises(ValueError, match=message) as raised:
        make()
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("name", ["layer01.fwd.c", "layer00.fwd.c", "layer\u0661.fwd.c"])
def test_a_layer_written_with_leading_zeros_or_other_digits_is_refused(name):
    lstm = RecordingLSTM(3, 4, num_layers=2)
    with pytest.raises(ValueError, match="leading zeros|not a recording name") as raised:
        lstm.record(torch.randn(5, 2, 3), interventions=[Intervention(name, 0.0)])
    assert "\n" not in str(raised.value)


def test_a_value_beyond_the_models_dtype_is_refused():
    lstm = RecordingLSTM(3, 4)
    with pytest.raises(ValueError, match="beyond torch.float32's range"):
        lstm.record(torch.randn(5, 2, 3), interventions=[Intervention("layer0.fwd.c", 1e39)])
    lstm.double().record(torch.randn(5, 2, 3, dtype=torch.float64), interventions=[Intervention("layer0.fwd.c", 1e39)])
