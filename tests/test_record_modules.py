"""record_modules: any nn.Module run once, its output untouched, every nn.LSTM / nn.GRU inside recorded, and the
model exactly as it was afterwards — also when its forward raises."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from lstm_viz import GRURecording, Recording, RecordingGRU, RecordingLSTM, record_modules

VOCAB, EMB, ENC, DEC = 20, 6, 8, 7


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(ENC, DEC, batch_first=True)
        self.head = nn.Linear(DEC, VOCAB)

    def forward(self, x, h0=None):
        out, h_n = self.rnn(x, h0)
        return self.head(out), h_n


class Seq2Seq(nn.Module):
    """A small word-level encoder-decoder: Embedding → 2-layer bidirectional LSTM → Linear → GRU → Linear."""

    def __init__(self, fail_after_encoder: bool = False):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, EMB)
        self.encoder = nn.LSTM(EMB, ENC, num_layers=2, bidirectional=True, batch_first=True, dropout=0.2)
        self.bridge = nn.Linear(2 * ENC, ENC)
        self.decoder = Decoder()
        self.fail_after_encoder = fail_after_encoder

    def forward(self, tokens, steps: int = 2):
        encoded, _ = self.encoder(self.embed(tokens))
        if self.fail_after_encoder:
            raise RuntimeError("boom, midway")
        x = torch.tanh(self.bridge(encoded))
        logits, h = self.decoder(x)
        for _ in range(steps - 1):  # the decoder runs again on its own state: its GRU is called twice or more
            logits, h = self.decoder(x, h)
        return logits


def _model(**kwargs):
    torch.manual_seed(0)
    return Seq2Seq(**kwargs).eval()


def _tokens():
    return torch.randint(0, VOCAB, (3, 9), generator=torch.Generator().manual_seed(1))


def _hook_state(model: nn.Module) -> dict:
    """Every hook dict of every module, by identity of the hook functions, to compare before and after."""
    attrs = (
        "_forward_hooks",
        "_forward_hooks_with_kwargs",
        "_forward_hooks_always_called",
        "_forward_pre_hooks",
        "_forward_pre_hooks_with_kwargs",
        "_backward_hooks",
    )
    return {(path, attr): list(getattr(m, attr).items()) for path, m in model.named_modules() for attr in attrs}


def _snapshot(model: nn.Module) -> dict:
    return {
        "classes": {path: type(m) for path, m in model.named_modules()},
        "state": {k: v.clone() for k, v in model.state_dict().items()},
        "hooks": _hook_state(model),
        "training": {path: m.training for path, m in model.named_modules()},
    }


def _assert_unchanged(model: nn.Module, before: dict) -> None:
    after = _snapshot(model)
    assert after["classes"] == before["classes"]
    assert after["hooks"] == before["hooks"]
    assert after["training"] == before["training"]
    assert after["state"].keys() == before["state"].keys()
    for k, v in before["state"].items():
        assert torch.equal(after["state"][k], v), k


def test_encoder_decoder_output_identical_and_every_rnn_recorded():
    model = _model()
    model.decoder.rnn.register_forward_hook(lambda m, a, o: None)  # a user's hook stays
    tokens = _tokens()
    before = _snapshot(model)
    expected = model(tokens)
    output, recs = record_modules(model, tokens, steps=2)
    assert torch.equal(output, expected)  # bit-identical: the model saw each module's own output
    assert list(recs) == ["encoder", "decoder.rnn", "decoder.rnn#1"]  # call order; a second call gets #1
    _assert_unchanged(model, before)
    assert torch.equal(model(tokens), expected)

    enc = recs["encoder"]
    assert isinstance(enc, Recording) and enc.f.shape == (2, 2, 3, 9, ENC)
    embedded = model.embed(tokens)
    with torch.no_grad():
        enc_out, (h_n, c_n) = model.encoder(embedded)
    assert torch.equal(enc.output, enc_out) and torch.equal(enc.h_n, h_n) and torch.equal(enc.c_n, c_n)
    alone = RecordingLSTM.from_lstm(model.encoder).record(embedded)
    for name in enc.recorded_tensors:
        assert torch.allclose(getattr(enc, name), getattr(alone, name), atol=1e-6), name
    assert torch.allclose(torch.cat([enc.h[-1, 0], enc.h[-1, 1]], -1), enc_out, atol=1e-6)

    first, second = recs["decoder.rnn"], recs["decoder.rnn#1"]
    assert isinstance(first, GRURecording) and first.z.shape == (1, 1, 3, 9, DEC)
    x = torch.tanh(model.bridge(enc_out))
    gru = RecordingGRU.from_gru(model.decoder.rnn)
    assert torch.equal(first.h, gru.record(x).h)
    assert torch.equal(second.h, gru.record(x, first.h_n).h)  # the second call started from the first's state
    assert torch.equal(first["layer0.fwd.z"], first.z[0, 0])


def test_model_is_restored_when_its_forward_raises():
    model = _model(fail_after_encoder=True)
    before = _snapshot(model)
    with pytest.raises(RuntimeError, match="boom, midway"):
        record_modules(model, _tokens())
    _assert_unchanged(model, before)
    model.fail_after_encoder = False
    output, recs = record_modules(model, _tokens())  # works again afterwards
    assert torch.equal(output, model(_tokens())) and set(recs) == {"encoder", "decoder.rnn", "decoder.rnn#1"}


def test_names_filter_records_only_what_is_asked():
    model = _model()
    tokens = _tokens()
    _, recs = record_modules(model, tokens, names=["decoder.rnn"])
    assert list(recs) == ["decoder.rnn", "decoder.rnn#1"]
    _, recs = record_modules(model, tokens, names=lambda path: path.startswith("enc"))
    assert list(recs) == ["encoder"]
    output, recs = record_modules(model, tokens, names=[])
    assert recs == {} and torch.equal(output, model(tokens))
    with pytest.raises(ValueError, match=r"'bridge' is a Linear.*recurrent modules are: 'encoder', 'decoder.rnn'"):
        record_modules(model, tokens, names=["bridge"])
    with pytest.raises(ValueError, match="no module 'decoder.gru'"):
        record_modules(model, tokens, names=["decoder.gru"])


def test_only_recorded_modules_are_hooked():
    model = _model()
    seen = []
    original = RecordingLSTM.record

    def spy(self, *args, **kwargs):
        seen.append(self.num_layers)
        return original(self, *args, **kwargs)

    RecordingLSTM.record = spy
    try:
        record_modules(model, _tokens(), names=["decoder.rnn"])
    finally:
        RecordingLSTM.record = original
    assert seen == []  # the encoder was not recorded, so it cost nothing extra


class Tagger(nn.Module):
    """Embedding → LSTM with projections (given hx by keyword) → GRU on a packed batch → Linear."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, EMB)
        self.lstm = nn.LSTM(EMB, 6, proj_size=3, batch_first=True)
        self.gru = nn.GRU(3, 4, bidirectional=True, batch_first=True)
        self.head = nn.Linear(8, 5)

    def forward(self, tokens, lengths):
        B = tokens.shape[0]
        hx = (torch.ones(1, B, 3) * 0.1, torch.ones(1, B, 6) * -0.2)
        h, _ = self.lstm(self.embed(tokens), hx=hx)
        packed = pack_padded_sequence(h, lengths, batch_first=True, enforce_sorted=False)
        _, h_n = self.gru(packed)
        return self.head(torch.cat([h_n[0], h_n[1]], -1))


def test_hx_by_keyword_projections_and_packed_sequences_inside_a_model():
    torch.manual_seed(0)
    model = Tagger().eval()
    tokens, lengths = _tokens(), torch.tensor([9, 4, 6])
    expected = model(tokens, lengths)
    output, recs = record_modules(model, tokens, lengths)
    assert torch.equal(output, expected)
    lstm, gru = recs["lstm"], recs["gru"]
    assert lstm.proj_size == 3 and lstm.h.shape == (1, 1, 3, 9, 3) and lstm.m.shape == (1, 1, 3, 9, 6)
    hx = (torch.ones(1, 3, 3) * 0.1, torch.ones(1, 3, 6) * -0.2)
    alone = RecordingLSTM.from_lstm(model.lstm).record(model.embed(tokens), hx)
    assert torch.allclose(lstm.c, alone.c, atol=1e-6)  # recorded from the hx the module received
    assert gru.lengths.tolist() == [9, 4, 6] and torch.isnan(gru.z[0, 0, 1, 4:]).all()
    assert isinstance(gru.output, nn.utils.rnn.PackedSequence)


@pytest.mark.filterwarnings("ignore:`torch.nn.utils.weight_norm` is deprecated:FutureWarning")
def test_pre_hooks_and_weight_norm_are_seen():
    model = _model()
    torch.nn.utils.weight_norm(model.encoder, "weight_hh_l1")
    with torch.no_grad():
        model.encoder.weight_hh_l1_g.mul_(1.5)
    model.decoder.rnn.register_forward_pre_hook(lambda m, args: (args[0] * 2.0, *args[1:]))
    tokens = _tokens()
    before = _snapshot(model)
    expected = model(tokens)
    output, recs = record_modules(model, tokens)
    assert torch.equal(output, expected)
    _assert_unchanged(model, before)
    with torch.no_grad():
        enc_out, _ = model.encoder(model.embed(tokens))
        x = torch.tanh(model.bridge(enc_out)) * 2.0  # what the decoder's GRU received after its pre-hook
    assert torch.equal(recs["encoder"].output, enc_out)
    assert torch.allclose(recs["encoder"].h[-1, 0], enc_out[..., :ENC], atol=1e-6)  # the weight-normed weights
    assert torch.equal(recs["decoder.rnn"].h, RecordingGRU.from_gru(model.decoder.rnn).record(x).h)


def test_a_bare_rnn_and_a_model_in_training_mode():
    torch.manual_seed(0)
    gru = RecordingGRU(3, 4, 2, dropout=0.5).train()
    x = torch.randn(5, 2, 3)
    torch.manual_seed(3)
    expected = gru(x)
    torch.manual_seed(3)
    (output, h_n), recs = record_modules(gru, x)
    assert torch.equal(output, expected[0]) and torch.equal(h_n, expected[1])  # dropout mask and all
    assert list(recs) == [""] and recs[""].output.requires_grad is False
    assert gru.training
    assert torch.equal(recs[""].h, gru.record(x).h)  # recorded without dropout, as record does
    with pytest.raises(TypeError, match="nn.Module"):
        record_modules(lambda t: t, x)


def test_recordings_feed_the_figures():
    from lstm_viz.viz.gates import gate_heatmaps, panels_of

    _, recs = record_modules(_model(), _tokens(), names=["encoder"])
    rec = recs["encoder"]
    fig = gate_heatmaps(rec, panels_of(rec))
    assert len(fig.data) >= len(rec.tensor_names) * len(panels_of(rec))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_record_modules_on_the_gpu():
    model = _model().cuda()
    tokens = _tokens().cuda()
    with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
        expected = model(tokens)
        output, recs = record_modules(model, tokens)
    assert torch.equal(output, expected)
    assert recs["encoder"].c.device.type == "cuda" and recs["decoder.rnn"].z.device.type == "cuda"
    cpu_model = _model()
    _, cpu = record_modules(cpu_model, _tokens())
    for key in ("encoder", "decoder.rnn", "decoder.rnn#1"):
        for name in recs[key].recorded_tensors:
            assert torch.allclose(getattr(recs[key], name).cpu(), getattr(cpu[key], name), atol=1e-4), (key, name)


class _Shared(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(3, 4)
        self.alias = self.lstm  # the same module under a second name
        self.gru = nn.GRU(4, 4)

    def forward(self, x):
        return self.gru(self.alias(self.lstm(x)[0][..., :3])[0])[0]


def test_a_shared_modules_second_name_and_a_strategy_a_module_cannot_use_are_explained_before_running():
    model = _Shared()
    x = torch.randn(5, 2, 3)
    with pytest.raises(ValueError, match="'alias' is the same module as 'lstm' \\(shared\\); ask for 'lstm'"):
        record_modules(model, x, names=["alias"])
    with pytest.raises(ValueError, match="'kernel' cannot record 'gru' \\(GRU\\); it takes 'auto', 'replay'"):
        record_modules(model, x, strategy="kernel")
    _, recs = record_modules(model, x, names=["lstm"], strategy="loop")
    assert list(recs) == ["lstm", "lstm#1"]  # called twice, through both names


def test_a_model_that_edits_the_lstms_results_in_place_leaves_the_recording_alone():
    """output, h_n and c_n were the forward's own tensors, detached: a ReLU(inplace=True) after the LSTM or a carried
    state reset with zero_() rewrote the recording."""

    class Edits(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(3, 4, batch_first=True)

        def forward(self, x):
            out, (h_n, c_n) = self.rnn(x)
            h_n.zero_()
            c_n.zero_()
            return torch.relu_(out)

    torch.manual_seed(0)
    model = Edits().eval()
    _, recs = record_modules(model, torch.randn(2, 5, 3))
    rec = recs["rnn"]
    assert torch.equal(rec.output, rec.h[0, 0]) and (rec.output < 0).any()  # not the ReLU'd output
    assert torch.equal(rec.h_n[0], rec.h[0, 0, :, -1]) and torch.equal(rec.c_n[0], rec.c[0, 0, :, -1])
    assert rec.extras["reproduced"] is True



@pytest.mark.parametrize("cell", [nn.LSTM, nn.GRU])
def test_the_models_own_forward_hooks_that_edit_the_output_run_after_the_recording(cell):
    """record_modules' hook ran after the module's own forward hooks: an activation-patching hook that adds to the
    output, or one that resets h_n, changed the recording's output (no longer its top layer's h, yet "reproduced")
    or made it warn that a plain nn.LSTM "computes more than nn.LSTM's equations". The model still gets the edit."""
    import warnings

    torch.manual_seed(0)
    rnn = cell(3, 4).eval()
    x = torch.randn(5, 2, 3)
    own, own_h = rnn(x)
    rnn.register_forward_hook(lambda m, a, o: (o[0] + 1.0, o[1]))
    state = (lambda h: torch.zeros_like(h)) if cell is nn.GRU else (lambda hc: (torch.zeros_like(hc[0]), hc[1]))
    rnn.register_forward_hook(lambda m, a, o: (o[0], state(o[1])))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "computes more than nn.LSTM's equations"
        out, recs = record_modules(rnn, x)
    rec = recs[""]
    assert torch.equal(out[0], own + 1.0)  # the model's hooks still edit what the model gets
    assert torch.equal(rec.output, own) and torch.equal(rec.h_n, own_h if cell is nn.GRU else own_h[0])
    assert rec.extras["reproduced"] is True


def test_a_subclass_whose_forward_computes_something_else_is_recorded_with_a_warning():
    """record_modules records nn.LSTM subclasses with nn.LSTM's equations: one whose forward scales its input gave
    gates that were not what it ran, silently. Now the recording's h_n is checked against the module's own."""

    class Scaled(nn.LSTM):
        def forward(self, x, hx=None):
            return super().forward(2.0 * x, hx)

    class Model(nn.Module):
        def __init__(self, rnn):
            super().__init__()
            self.rnn = rnn

        def forward(self, x):
            return self.rnn(x)[0]

    torch.manual_seed(0)
    x = torch.randn(2, 5, 3)
    with pytest.warns(RuntimeWarning, match=r"'rnn' \(Scaled\) returned an h_n that its recording does not reproduce"):
        _, recs = record_modules(Model(Scaled(3, 4, batch_first=True)).eval(), x)
    assert recs["rnn"].extras["reproduced"] is False

    class OwnState(nn.GRU):  # starts from its own state, not the hx it is given
        def forward(self, x, hx=None):
            return super().forward(x, torch.ones(2, 2, 4))

    packed = pack_padded_sequence(x, torch.tensor([5, 3]), batch_first=True)
    with pytest.warns(RuntimeWarning, match=r"\(OwnState\) returned an h_n .* than nn\.GRU's equations"):
        record_modules(OwnState(3, 4, batch_first=True, bidirectional=True).eval(), packed)


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_the_check_passes_for_plain_modules_of_every_shape_and_in_training_mode():
    torch.manual_seed(0)
    x = torch.randn(3, 6, 4)
    packed = pack_padded_sequence(x, torch.tensor([6, 2, 4]), batch_first=True, enforce_sorted=False)
    for module in (
        nn.LSTM(4, 5, num_layers=2, bidirectional=True, proj_size=2, batch_first=True),
        nn.GRU(4, 5, num_layers=2, bidirectional=True, batch_first=True),
        nn.LSTM(4, 5, num_layers=3, dropout=0.5, batch_first=True).train(),  # dropout changed layers 1 and 2
    ):
        for given in (x, packed, x[0]):
            _, recs = record_modules(module, given)
            assert recs[""].extras["reproduced"] is True


def test_a_forward_that_skips_the_hooks_is_told_nothing_was_recorded():
    class Direct(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(3, 4)

        def forward(self, x):
            return self.rnn.forward(x)[0]

    with pytest.warns(RuntimeWarning, match=r"recorded nothing: none of 'rnn'.*self\.rnn\(x\)"):
        _, recs = record_modules(Direct(), torch.randn(5, 3))
    assert recs == {}


def test_a_module_called_again_records_through_the_same_twin_until_its_weights_change():
    """A new twin each call allocated its buffers anew (56 ms against 38 ms for forward plus record at (32, 256, 64,
    256)); the twin is kept while the module's weights are the same tensors, and made again when they are not."""
    from lstm_viz.core import modules

    torch.manual_seed(0)
    lstm = nn.LSTM(3, 5, batch_first=True)
    x = torch.randn(2, 4, 3)
    _, first = record_modules(lstm, x)
    twin = modules._TWINS[lstm][1]
    with torch.no_grad():
        lstm.weight_hh_l0.mul_(0.5)  # in place: the same tensor, seen by the kept twin
    _, second = record_modules(lstm, x)
    assert modules._TWINS[lstm][1] is twin
    torch.testing.assert_close(second[""].h, RecordingLSTM.from_lstm(lstm).record(x).h)
    assert not torch.allclose(first[""].h, second[""].h)
    lstm.weight_hh_l0 = nn.Parameter(torch.zeros(20, 5))  # a new tensor: a new twin, with it
    _, third = record_modules(lstm, x)
    assert modules._TWINS[lstm][1] is not twin
    torch.testing.assert_close(third[""].h, RecordingLSTM.from_lstm(lstm).record(x).h)
    lstm.double()  # another dtype (module.to keeps the Parameter objects, with new data)
    _, fourth = record_modules(lstm, x.double())
    assert fourth[""].h.dtype == torch.float64
    torch.testing.assert_close(fourth[""].h, RecordingLSTM.from_lstm(lstm).record(x.double()).h)
