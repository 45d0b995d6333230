"""Recording packed (variable-length) batches: forward's output and states, NaN past each end, and each sequence's
values equal to that sequence recorded alone — for RecordingLSTM (with and without projections) and RecordingGRU."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pack_sequence, pad_sequence

from lstm_viz import GRURecording, Recording, RecordingGRU, RecordingLSTM, RNNInputError, record_packed

I, H, P = 3, 5, 2
LENGTHS = [4, 7, 1, 5]  # unsorted on purpose; the longest is not first
TOL = {"atol": 1e-5, "rtol": 1e-4}

CELLS = [("lstm", 0), ("lstm", P), ("gru", 0)]
SWEEP = list(
    itertools.product(
        CELLS,
        [1, 2],  # num_layers
        [False, True],  # bidirectional
        [False, True],  # enforce_sorted (sorted input) / unsorted
        [False, True],  # given hx
    )
)


def _model(cell, proj_size, num_layers, bidirectional, batch_first=False, seed=0):
    torch.manual_seed(seed)
    if cell == "lstm":
        model = RecordingLSTM(
            I, H, num_layers, bidirectional=bidirectional, proj_size=proj_size, batch_first=batch_first
        )
    else:
        model = RecordingGRU(I, H, num_layers, bidirectional=bidirectional, batch_first=batch_first)
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(-0.8, 0.8)
    return model


def _hx(model, batch, seed=2):
    g = torch.Generator().manual_seed(seed)
    lead = model.num_layers * (2 if model.bidirectional else 1)
    if isinstance(model, nn.LSTM):
        return torch.randn(lead, batch, model.proj_size or H, generator=g), torch.randn(lead, batch, H, generator=g)
    return torch.randn(lead, batch, H, generator=g)


def _hx_of(hx, b):
    """The initial state of sequence b alone (unbatched)."""
    if hx is None:
        return None
    return (hx[0][:, b], hx[1][:, b]) if isinstance(hx, tuple) else hx[:, b]


def _sequences(lengths, seed=1):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, I, generator=g) for n in lengths]


def _packed(seqs, enforce_sorted):
    if enforce_sorted:
        order = sorted(range(len(seqs)), key=lambda b: -len(seqs[b]))
        seqs = [seqs[b] for b in order]
        return pack_sequence(seqs, enforce_sorted=True), seqs
    return pack_sequence(seqs, enforce_sorted=False), seqs


@pytest.mark.parametrize("cell_proj,num_layers,bidirectional,enforce_sorted,given_hx", SWEEP)
def test_packed_recording_matches_forward_and_each_sequence_alone(
    cell_proj, num_layers, bidirectional, enforce_sorted, given_hx
):
    cell, proj_size = cell_proj
    model = _model(cell, proj_size, num_layers, bidirectional)
    packed, seqs = _packed(_sequences(LENGTHS), enforce_sorted)
    lengths = [len(s) for s in seqs]
    hx = _hx(model, len(seqs)) if given_hx else None
    with torch.no_grad():
        out, hidden = model(packed, hx)
    rec = model.record(packed, hx)
    assert isinstance(rec, Recording if cell == "lstm" else GRURecording)

    # What forward returns, exactly.
    assert isinstance(rec.output, nn.utils.rnn.PackedSequence)
    assert torch.equal(rec.output.data, out.data) and torch.equal(rec.output.batch_sizes, out.batch_sizes)
    for a, b in ((rec.output.sorted_indices, out.sorted_indices), (rec.output.unsorted_indices, out.unsorted_indices)):
        assert (a is None and b is None) or torch.equal(a, b)
    if cell == "lstm":
        assert torch.equal(rec.h_n, hidden[0]) and torch.equal(rec.c_n, hidden[1])
    else:
        assert torch.equal(rec.h_n, hidden)

    # Padded to the longest, in the caller's batch order, NaN past each end.
    L, D, T = num_layers, 2 if bidirectional else 1, max(lengths)
    assert rec.lengths.tolist() == lengths and rec.seq_len == T and rec.batch_size == len(seqs)
    assert rec.valid.tolist() == [[t < n for t in range(T)] for n in lengths]
    for name in rec.recorded_tensors:
        tensor = getattr(rec, name)
        assert tensor.shape[:4] == (L, D, len(seqs), T), name
        assert torch.isnan(tensor[:, :, ~rec.valid]).all(), name
        assert not torch.isnan(tensor[:, :, rec.valid]).any(), name
    assert torch.isnan(rec.x[~rec.valid]).all() and torch.equal(rec.x[0, : lengths[0]], seqs[0])

    # Each sequence's valid steps are what recording it alone gives (the backward direction starts at its end).
    for b, seq in enumerate(seqs):
        alone = model.record(seq, _hx_of(hx, b))
        for name in rec.recorded_tensors:
            assert torch.allclose(getattr(rec, name)[:, :, b, : len(seq)], getattr(alone, name)[:, :, 0], **TOL), (
                name,
                b,
            )
    # h_n is each direction's last valid state: the forward one at the sequence's end, the backward one at t = 0.
    last = rec.h[-1, 0, torch.arange(len(seqs)), torch.tensor(lengths) - 1]
    assert torch.allclose(hidden[0][-D] if cell == "lstm" else hidden[-D], last, **TOL)
    if bidirectional:
        assert torch.allclose((hidden[0] if cell == "lstm" else hidden)[-1], rec.h[-1, 1, :, 0], **TOL)


@pytest.mark.parametrize(
    "cell,strategy", [("lstm", "kernel"), ("lstm", "replay"), ("lstm", "loop"), ("gru", "loop"), ("gru", "replay")]
)
def test_every_strategy_records_packed_input(cell, strategy):
    model = _model(cell, 0, 2, True)
    seqs = _sequences([3, 6, 2])
    packed = pack_sequence(seqs, enforce_sorted=False)
    rec = model.record(packed, strategy=strategy)
    assert rec.extras["strategy"] == strategy and rec.extras["packed"]
    reference = model.record(packed)
    for name in rec.recorded_tensors:
        a, b = getattr(rec, name), getattr(reference, name)
        assert torch.allclose(a.nan_to_num(7.0), b.nan_to_num(7.0), atol=1e-5), name


def test_batch_first_modules_and_padded_packing():
    """A batch_first module takes the same PackedSequence; pack_padded_sequence from a batch-first tensor works."""
    model = _model("gru", 0, 2, True, batch_first=True)
    seqs = _sequences([2, 5, 3])
    padded = pad_sequence(seqs, batch_first=True)  # (B, T, I)
    packed = pack_padded_sequence(padded, [2, 5, 3], batch_first=True, enforce_sorted=False)
    with torch.no_grad():
        out, h_n = model(packed)
    rec = model.record(packed)
    assert torch.equal(rec.output.data, out.data) and torch.equal(rec.h_n, h_n)
    assert torch.allclose(rec.h[:, :, 1], model.record(seqs[1]).h[:, :, 0], **TOL)


def test_to_frame_leaves_out_the_padding_unless_asked():
    model = _model("lstm", 0, 1, True)
    rec = model.record(pack_sequence(_sequences([3, 1]), enforce_sorted=False))
    frame = rec.to_frame(tensors=["c"])
    assert len(frame) == 2 * (3 + 1) * H  # directions × valid steps × units
    assert not frame["value"].isna().any()
    assert set(frame[frame.batch == 1]["t"]) == {0}
    full = rec.to_frame(tensors=["c"], include_padding=True)
    assert len(full) == 2 * 2 * 3 * H and full["value"].isna().sum() == 2 * 2 * H


def test_record_packed_takes_plain_modules_and_checks_the_input():
    torch.manual_seed(0)
    plain = nn.LSTM(I, H, 2, bidirectional=True)
    packed = pack_sequence(_sequences([4, 2]), enforce_sorted=False)
    rec = record_packed(plain, packed)
    twin = RecordingLSTM.from_lstm(plain).record(packed)
    for name in rec.recorded_tensors:
        assert torch.equal(getattr(rec, name).nan_to_num(7.0), getattr(twin, name).nan_to_num(7.0)), name
    with pytest.raises(RNNInputError, match=r"h0 must have shape \(4, 2, 5\)"):  # as forward refuses it
        record_packed(plain, pack_sequence(_sequences([4, 2])), (torch.zeros(4, 3, H), torch.zeros(4, 3, H)))
    with pytest.raises(RNNInputError, match="input_size=3"):
        record_packed(plain, pack_sequence([torch.randn(2, 4)]))
    with pytest.raises(RNNInputError, match="a GRU has no cell state"):
        RecordingGRU(I, H).record(packed, (torch.zeros(1, 2, H), torch.zeros(1, 2, H)))
    with pytest.raises(TypeError, match="nn.LSTM or nn.GRU"):
        record_packed(nn.RNN(I, H), packed)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_packed_on_the_gpu_matches_the_cpu(cell):
    model = _model(cell, 0, 2, True)
    seqs = _sequences([4, 7, 2])
    cpu = model.record(pack_sequence(seqs, enforce_sorted=False))
    gpu_model = model.cuda()
    packed = pack_sequence([s.cuda() for s in seqs], enforce_sorted=False)
    with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
        rec = gpu_model.record(packed)
        with torch.no_grad():
            out, _ = gpu_model(packed)
    assert torch.equal(rec.output.data, out.data) and rec.h.device.type == "cuda"
    for name in rec.recorded_tensors:
        a, b = getattr(rec, name).cpu().nan_to_num(7.0), getattr(cpu, name).nan_to_num(7.0)
        assert torch.allclose(a, b, atol=1e-5), name


@pytest.mark.parametrize("cls", [RecordingLSTM, RecordingGRU])
@pytest.mark.parametrize("apply_dropout", [False, True])
def test_packed_recording_in_training_mode_agrees_with_its_own_output(cls, apply_dropout):
    # output and h_n follow the recording's semantics: no dropout by default (forward run in eval mode), or the
    # recording's own masks with apply_dropout (read off the recorded tensors), never a third set of masks
    from torch.nn.utils.rnn import pad_packed_sequence

    torch.manual_seed(0)
    module = cls(3, 4, num_layers=2, dropout=0.5, bidirectional=True).train()
    packed = pack_sequence([torch.randn(5, 3), torch.randn(3, 3), torch.randn(4, 3)], enforce_sorted=False)
    rec = module.record(packed, apply_dropout=apply_dropout)
    out, lengths = pad_packed_sequence(rec.output, batch_first=True)
    top = torch.cat([rec.h[1, 0], rec.h[1, 1]], dim=-1)  # (B, T, 2H), NaN past each end
    for b, n in enumerate(lengths.tolist()):
        assert torch.allclose(out[b, :n], top[b, :n], atol=1e-6)
        for k in range(2):
            assert torch.allclose(rec.h_n[2 * k, b], rec.h[k, 0, b, n - 1], atol=1e-6)  # forward: its last step
            assert torch.allclose(rec.h_n[2 * k + 1, b], rec.h[k, 1, b, 0], atol=1e-6)  # backward: t = 0
            if cls is RecordingLSTM:
                assert torch.allclose(rec.c_n[2 * k, b], rec.c[k, 0, b, n - 1], atol=1e-6)
    if not apply_dropout:  # eval semantics: what the module computes in eval mode
        expected, _ = module.eval()(packed)
        assert torch.allclose(rec.output.data, expected.data, atol=1e-6)
