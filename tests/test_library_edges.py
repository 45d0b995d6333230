"""The library as an ML engineer uses it in a notebook: edges a review of the API found (each failed before its fix).

Inference mode and the recording buffers, autocast's dtype rules, nn.GRU's messages first, a recording as a mapping
with a one-line repr, frozen weights through from_lstm, clear refusals for a scripted model and for a whole model given
to intervened_forward, parse_intervention's lists, and the documented torch.fx and torch.load recipes."""

from __future__ import annotations

import io

import pytest
import torch
from torch import nn

from lstm_viz import (
    GRURecording,
    Intervention,
    Recording,
    RecordingGRU,
    RecordingLSTM,
    intervened_forward,
    parse_intervention,
    record_modules,
)


@pytest.mark.parametrize("kw", [dict(num_layers=2), dict(num_layers=2, bidirectional=True), dict(proj_size=8)])
def test_recording_inside_and_outside_inference_mode_in_turn(kw):
    """The kept recording buffer (over 1 MiB) was made inside inference_mode, so the next recording of that size
    outside it failed: "Inplace update to inference tensor outside InferenceMode"."""
    torch.manual_seed(0)
    lstm = RecordingLSTM(16, 32, **kw)
    x = torch.randn(100, 16, 16)
    want = lstm.record(x).c.clone()
    with torch.inference_mode():
        inside = lstm.record(x).c.clone()
    outside = lstm.record(x)
    with torch.inference_mode():
        again = lstm.record(x).c.clone()
    assert torch.equal(inside, want) and torch.equal(outside.c, want) and torch.equal(again, want)
    outside.c.add_(1.0)  # what was handed out is the user's to change


@pytest.mark.parametrize("cls", [RecordingLSTM, RecordingGRU])
@pytest.mark.parametrize("dtype", [torch.long, torch.bool, torch.float64])
def test_under_autocast_record_refuses_what_forward_refuses(cls, dtype):
    """Under autocast nn.LSTM/nn.GRU leave the dtypes to the kernel, which refuses integer, bool and float64 input
    beside float32 weights; record used to cast such input (token ids without their embedding) and record it."""
    module = cls(3, 4)
    plain = (nn.LSTM if cls is RecordingLSTM else nn.GRU)(3, 4)
    x = torch.ones(5, 2, 3).to(dtype)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        with pytest.raises(RuntimeError) as theirs:
            plain(x)
        with pytest.raises(RuntimeError) as ours:
            module.record(x)
        with pytest.raises(RuntimeError):
            module(x)
        assert module.record(torch.randn(5, 2, 3)).output.dtype == torch.float32  # float32 input: recorded
        assert module.record(torch.randn(5, 2, 3, dtype=torch.float16)).output.shape == (5, 2, 4)
    if cls is RecordingLSTM or dtype == torch.float64:  # nn.GRU refuses integers before the kernel, differently
        assert str(ours.value).startswith(str(theirs.value).split(":")[0][:40])


def test_recording_grus_messages_start_with_nn_grus():
    plain, twin = nn.GRU(5, 7, num_layers=2), RecordingGRU(5, 7, num_layers=2)
    x = torch.randn(4, 3, 5)
    for args in [(x, torch.zeros(2, 4, 7)), (torch.randn(4, 3, 6),), (torch.randn(5),), (x, torch.zeros(2, 7)),
                 (x.double(),)]:  # fmt: skip
        with pytest.raises(Exception) as theirs:
            plain(*args)
        for call in (twin, twin.record):
            with pytest.raises(type(theirs.value)) as ours:
                call(*args)
            assert str(ours.value).startswith(str(theirs.value)), (str(ours.value), str(theirs.value))
            assert len(str(ours.value)) > len(str(theirs.value))  # and says more


def test_a_recording_is_a_mapping_of_its_names_with_a_one_line_repr():
    rec = RecordingLSTM(8, 64, num_layers=2, bidirectional=True, proj_size=4).record(torch.randn(50, 4, 8))
    assert "layer1.bwd.c" in rec and "layer2.fwd.c" not in rec and 0 not in rec
    assert list(rec) == rec.names() == rec.keys() and len(rec) == 2 * 2 * 7
    as_dict = dict(rec)
    assert torch.equal(as_dict["layer0.bwd.h"], rec["layer0.bwd.h"])
    # the rest of a mapping's reading side ({k: v.device for k, v in rec.items()} raised AttributeError on a GPU run)
    assert [name for name, _ in rec.items()] == rec.keys() and len(rec.values()) == len(rec)
    assert all(torch.equal(value, rec[name]) for name, value in rec.items())
    assert torch.equal(rec.get("layer1.fwd.m"), rec["layer1.fwd.m"]) and rec.get("layer1.fwd.m").shape == (4, 50, 64)
    assert rec.get("layer2.fwd.c") is None and rec.get("nonsense", "x") == "x" and rec.get(0) is None
    for loose in ("layer01.fwd.c", "layer+1.fwd.c", "layer 1.fwd.c", "layer1.fwd.c "):  # rec[...] read them as layer 1
        assert loose not in rec and rec.get(loose) is None
        with pytest.raises(KeyError, match="is not a recording name"):
            rec[loose]
    again = RecordingLSTM(8, 64, num_layers=2, bidirectional=True, proj_size=4).record(torch.randn(50, 4, 8))
    assert rec == rec and rec != again and len({rec, again}) == 2  # == compared tensor fields and raised
    text = repr(rec)
    assert "\n" not in text and len(text) < 300
    assert text.startswith("Recording(lstm, layers=2, directions=2, batch=4, T=50, hidden_size=64, proj_size=4")
    gru = RecordingGRU(3, 5).record(torch.randn(7, 3))
    assert repr(gru).startswith("GRURecording(gru, layers=1") and next(iter(gru)) == "layer0.fwd.r"


def test_a_saved_recording_loads_as_the_readme_says():
    rec = RecordingLSTM(4, 8).record(torch.randn(5, 2, 4))
    buffer = io.BytesIO()
    torch.save(rec, buffer)
    buffer.seek(0)
    with torch.serialization.safe_globals([Recording, GRURecording]):
        back = torch.load(buffer)
    assert torch.equal(back.c, rec.c)


def test_from_lstm_and_from_gru_keep_frozen_weights_frozen():
    lstm = nn.LSTM(8, 16, num_layers=2).requires_grad_(False)
    lstm.weight_hh_l1.requires_grad_(True)  # one weight left trainable
    twin = RecordingLSTM.from_lstm(lstm)
    assert {n: p.requires_grad for n, p in twin.named_parameters()} == {
        n: p.requires_grad for n, p in lstm.named_parameters()
    }
    gru = RecordingGRU.from_gru(nn.GRU(3, 4).requires_grad_(False))
    assert not any(p.requires_grad for p in gru.parameters())


class _Tagger(nn.Module):
    def __init__(self, cls=nn.LSTM):
        super().__init__()
        self.rnn = cls(8, 16, batch_first=True)
        self.head = nn.Linear(16, 4)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


def test_a_scripted_model_is_refused_by_record_modules_not_silently_empty():
    scripted = torch.jit.script(_Tagger())
    with pytest.raises(TypeError, match="TorchScript"):
        record_modules(scripted, torch.randn(2, 5, 8))
    _, recs = record_modules(nn.Sequential(nn.Linear(3, 3)), torch.randn(2, 3))  # nothing recurrent: nothing to say
    assert recs == {}


def test_intervened_forward_names_what_it_takes_and_takes_one_intervention():
    model = _Tagger()
    x = torch.randn(2, 5, 8)
    with pytest.raises(TypeError, match="runs one nn.LSTM or nn.GRU.*got _Tagger.*model.lstm"):
        intervened_forward(model, x, None, [Intervention("layer0.fwd.c", 0.0)])
    one = Intervention("layer0.fwd.c", 0.0, steps=[2])
    lstm = RecordingLSTM.from_lstm(model.rnn)
    got = intervened_forward(model.rnn, x, None, one)[0]
    assert torch.equal(got, intervened_forward(model.rnn, x, None, [one])[0])
    assert torch.equal(lstm.record(x, interventions=one).output, lstm.record(x, interventions=[one]).output)


def test_parse_intervention_says_how_to_list_and_refuses_a_repeated_option():
    with pytest.raises(ValueError, match=r"written with ';' or '\|' \(units=1;2\)"):
        parse_intervention("layer0.fwd.c[units=1,2]=0")
    with pytest.raises(ValueError, match="units= is given twice"):
        parse_intervention("layer0.fwd.c[units=1,units=2]=0")
    assert parse_intervention("layer0.fwd.c[units=1;2,steps=3]=0").units == (1, 2)


def test_the_readmes_fx_recipe_traces_a_model_holding_a_twin():
    from lstm_viz import RecordingGRU as GRU

    class Leaf(torch.fx.Tracer):
        def is_leaf_module(self, m, name):
            return isinstance(m, (RecordingLSTM, GRU)) or super().is_leaf_module(m, name)

    for cls in (RecordingLSTM, RecordingGRU):
        model = _Tagger(cls)
        traced = torch.fx.GraphModule(model, Leaf().trace(model))
        x = torch.randn(2, 5, 8)
        assert torch.equal(traced(x), model(x))
