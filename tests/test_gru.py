"""RecordingGRU against torch.nn.GRU: parity of outputs and gradients, the recorded equations, names, bad input,
TorchScript, empty batches, weight_norm; and what a recording says about its tensors (LSTM and GRU alike)."""

from __future__ import annotations

import itertools
import pickle

import pandas as pd
import pytest
import torch
from torch import nn

from lstm_viz import (
    GRU_DISPLAY_ORDER,
    GRU_STORAGE_ORDER,
    CellRecording,
    GRURecording,
    RecordingGRU,
    RecordingLSTM,
    RNNInputError,
    recording_names,
)

I, H, B, T = 3, 5, 2, 6
TOL = {"atol": 1e-5, "rtol": 1e-4}

SWEEP = list(
    itertools.product(
        [1, 2, 3],  # num_layers
        [True, False],  # bias
        [False, True],  # bidirectional
        [False, True],  # batch_first
        [False, True],  # given hx
        [True, False],  # batched
    )
)


def _pair(num_layers, bias, bidirectional, batch_first, dropout=0.0, seed=0):
    torch.manual_seed(seed)
    ref = nn.GRU(I, H, num_layers, bias=bias, batch_first=batch_first, bidirectional=bidirectional, dropout=dropout)
    with torch.no_grad():  # non-zero biases everywhere so a bias mix-up cannot hide
        for p in ref.parameters():
            p.uniform_(-0.8, 0.8)
    return ref, RecordingGRU.from_gru(ref)


def _inputs(ref: nn.GRU, batched: bool, given_hx: bool, seed=1):
    g = torch.Generator().manual_seed(seed)
    D = 2 if ref.bidirectional else 1
    if batched:
        x = torch.randn((B, T, I) if ref.batch_first else (T, B, I), generator=g)
        hx_shape = (ref.num_layers * D, B, H)
    else:
        x = torch.randn(T, I, generator=g)
        hx_shape = (ref.num_layers * D, H)
    return x, (torch.randn(*hx_shape, generator=g) if given_hx else None)


@pytest.mark.parametrize("num_layers,bias,bidirectional,batch_first,given_hx,batched", SWEEP)
def test_forward_and_gradients_match_nn_gru(num_layers, bias, bidirectional, batch_first, given_hx, batched):
    ref, rec = _pair(num_layers, bias, bidirectional, batch_first, dropout=0.3 if num_layers > 1 else 0.0)
    ref.eval(), rec.eval()  # dropout configured, eval mode: none applied
    x, hx = _inputs(ref, batched, given_hx)
    results = []
    for model in (ref, rec):
        xi = x.clone().requires_grad_()
        hxi = hx.clone().requires_grad_() if hx is not None else None
        out, h_n = model(xi, hxi)
        loss = (out * torch.linspace(-1, 1, out.shape[-1])).sum() + (h_n**2).sum()
        loss.backward()
        grads = [xi.grad] + ([hxi.grad] if hxi is not None else []) + [p.grad for p in model.parameters()]
        results.append((out, h_n, grads))
    (o1, h1, g1), (o2, h2, g2) = results
    assert torch.equal(o1, o2) and torch.equal(h1, h2)  # forward *is* nn.GRU's
    assert len(g1) == len(g2)
    for a, b in zip(g1, g2, strict=True):
        assert torch.equal(a, b)


def _h_prev(h_seq, h0, reverse):
    """h_{t-1} for every t of a (batch, T, H) sequence: from the left, or from the right for the backward direction."""
    if reverse:
        return torch.cat([h_seq[:, 1:], h0.unsqueeze(1)], 1)
    return torch.cat([h0.unsqueeze(1), h_seq[:, :-1]], 1)


@pytest.mark.parametrize("strategy", ["loop", "replay"])
@pytest.mark.parametrize("num_layers,bias,bidirectional,batch_first,given_hx,batched", SWEEP)
def test_record_matches_forward_and_obeys_the_equations(
    strategy, num_layers, bias, bidirectional, batch_first, given_hx, batched
):
    ref, model = _pair(num_layers, bias, bidirectional, batch_first, dropout=0.3 if num_layers > 1 else 0.0)
    ref.eval(), model.eval()
    x, hx = _inputs(ref, batched, given_hx)
    with torch.no_grad():
        out, h_n = ref(x, hx)
    rec = model.record(x, hx, strategy=strategy)
    assert isinstance(rec, GRURecording) and isinstance(rec, CellRecording)
    assert rec.extras["strategy"] == strategy
    # Both strategies give forward's numbers bit for bit on the CPU: replay returns the kernel's own tensors, and
    # the loop runs aten's GRUCell ops in its order on its layouts.
    assert torch.equal(rec.output, out) and torch.equal(rec.h_n, h_n)

    L, D = num_layers, 2 if bidirectional else 1
    n_batch = B if batched else 1
    for name in ("r", "z", "n", "h"):
        assert getattr(rec, name).shape == (L, D, n_batch, T, H), name
    assert rec.x.shape == (n_batch, T, I)
    assert rec.r.min() >= 0 and rec.r.max() <= 1 and rec.z.min() >= 0 and rec.z.max() <= 1
    assert rec.n.min() >= -1 and rec.n.max() <= 1

    h0 = (hx if hx is not None else torch.zeros(L * D, *((B,) if batched else ()), H)).reshape(L, D, n_batch, H)
    for k in range(L):
        layer_in = rec.x if k == 0 else torch.cat([rec.h[k - 1, dd] for dd in range(D)], -1)
        for d in range(D):
            sfx = f"l{k}{'_reverse' if d else ''}"
            h_prev = _h_prev(rec.h[k, d], h0[k, d], reverse=d == 1)
            gi = layer_in @ getattr(model, f"weight_ih_{sfx}").T
            gh = h_prev @ getattr(model, f"weight_hh_{sfx}").T
            if bias:
                gi = gi + getattr(model, f"bias_ih_{sfx}")
                gh = gh + getattr(model, f"bias_hh_{sfx}")
            (i_r, i_z, i_n), (h_r, h_z, h_n_) = gi.chunk(3, -1), gh.chunk(3, -1)  # PyTorch's order: r, z, n
            r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
            n = torch.tanh(i_n + r * h_n_)
            assert torch.allclose(rec.r[k, d], r, **TOL)
            assert torch.allclose(rec.z[k, d], z, **TOL)
            assert torch.allclose(rec.n[k, d], n, **TOL)
            assert torch.allclose(rec.h[k, d], (1 - rec.z[k, d]) * rec.n[k, d] + rec.z[k, d] * h_prev, **TOL)

    # The last layer's recorded h is the output.
    out_bt = out.unsqueeze(0) if not batched else (out if batch_first else out.transpose(0, 1))
    assert torch.equal(torch.cat([rec.h[-1, d] for d in range(D)], -1), out_bt)


@pytest.mark.parametrize("layers,bidirectional", [(1, False), (2, True)])
def test_loop_and_replay_record_the_same_gates(layers, bidirectional):
    torch.manual_seed(2)
    model = RecordingGRU(7, 33, layers, bidirectional=bidirectional)  # 33: widths that are not multiples of 8
    x = torch.randn(11, 3, 7)
    loop, replay = model.record(x, strategy="loop"), model.record(x, strategy="replay")
    for name in ("r", "z", "n", "h"):
        assert torch.allclose(getattr(loop, name), getattr(replay, name), atol=1e-6), name


def test_auto_picks_the_loop_on_the_cpu_and_rejects_unknown_strategies():
    model = RecordingGRU(3, 4)
    assert model.record(torch.randn(5, 2, 3)).extras["strategy"] == "loop"
    with pytest.raises(ValueError, match="'auto', 'replay' or 'loop'"):
        model.record(torch.randn(5, 2, 3), strategy="kernel")


def test_float64_records_exactly():
    torch.manual_seed(0)
    ref = nn.GRU(3, 6, 2, bidirectional=True, dtype=torch.float64)
    rec = RecordingGRU.from_gru(ref).record(torch.randn(7, 2, 3, dtype=torch.float64))
    with torch.no_grad():
        out, _ = ref(rec.x.transpose(0, 1))
    assert rec.h.dtype == torch.float64 and torch.equal(rec.output, out)


def test_dropout_behaves_as_in_nn_gru():
    torch.manual_seed(0)
    ref = nn.GRU(3, 5, 3, dropout=0.5)
    rec = RecordingGRU.from_gru(ref)
    x = torch.randn(6, 2, 3)
    ref.train(), rec.train()
    torch.manual_seed(7)
    a = ref(x)[0]
    torch.manual_seed(7)
    b = rec(x)[0]
    assert torch.equal(a, b)  # forward *is* nn.GRU's, dropout included
    r1, r2 = rec.record(x), rec.record(x)  # eval-mode semantics by default
    assert torch.equal(r1.output, r2.output)
    with torch.no_grad():
        assert torch.equal(r1.output, rec.eval()(x)[0])
    rec.train()
    r3 = rec.record(x, apply_dropout=True)
    assert not torch.allclose(r3.output, r1.output)
    assert torch.equal(r3.h[0], r1.h[0])  # the first layer sees the raw input either way


# ---------------------------------------------------------------- module plumbing
def test_state_dict_loads_strictly_both_ways_and_from_gru_copies_options():
    ref = nn.GRU(4, 6, 2, bias=False, batch_first=True, dropout=0.25, bidirectional=True).eval()
    rec = RecordingGRU(4, 6, 2, bias=False, batch_first=True, dropout=0.25, bidirectional=True)
    rec.load_state_dict(ref.state_dict(), strict=True)
    nn.GRU(4, 6, 2, bias=False, batch_first=True, bidirectional=True).load_state_dict(rec.state_dict(), strict=True)
    assert list(rec.state_dict()) == list(ref.state_dict())
    assert isinstance(rec, nn.GRU)
    twin = RecordingGRU.from_gru(ref)
    for attr in ("input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout", "bidirectional"):
        assert getattr(twin, attr) == getattr(ref, attr)
    assert not twin.training
    for name, p in ref.named_parameters():
        assert torch.equal(p, dict(twin.named_parameters())[name])
    with pytest.raises(TypeError, match="torch.nn.GRU"):
        RecordingGRU.from_gru(nn.LSTM(2, 4))
    with pytest.raises(ValueError, match="hidden_size must be greater than zero"):
        RecordingGRU(3, 0)


@pytest.mark.parametrize(("args", "kwargs", "named"), [((4.0, 6), {}, "input_size"),
                                                       ((4, 6), {"num_layers": 1.5}, "num_layers"),
                                                       ((4, 0), {}, "hidden_size"),
                                                       ((4, 6), {"dropout": 2.0}, "dropout"),
                                                       ((True, 6), {}, None)])  # fmt: skip
def test_constructor_refuses_and_accepts_what_nn_gru_does_with_its_exception_classes(args, kwargs, named):
    try:
        nn.GRU(*args, **kwargs)
    except (TypeError, ValueError) as err:
        with pytest.raises(type(err), match=named):  # nn.GRU's class (code catching TypeError still works)
            RecordingGRU(*args, **kwargs)
    else:
        assert named is None
        RecordingGRU(*args, **kwargs)  # nn.GRU takes it (True is an int): so do we


def test_forward_pre_hooks_and_pruning_are_honoured_by_record():
    from torch.nn.utils import prune

    torch.manual_seed(0)
    x = torch.randn(5, 2, 3)
    gru = RecordingGRU(3, 4).eval()
    gru.register_forward_pre_hook(lambda module, args: (args[0] * 2, *args[1:]))
    assert torch.allclose(gru.record(x).output, gru(x)[0], atol=1e-6)  # the hook doubled the input in both
    pruned = RecordingGRU(3, 4).eval()
    prune.random_unstructured(pruned, "weight_hh_l0", amount=0.5)
    with torch.no_grad():
        pruned.weight_hh_l0_orig.mul_(0.5)  # changed since the last forward: the pruning hook recomputes it
    assert torch.allclose(pruned.record(x).output, pruned(x)[0], atol=1e-6)


def test_record_and_forward_under_cpu_autocast_take_bfloat16_input_like_nn_gru():
    torch.manual_seed(0)
    ref = nn.GRU(3, 4)
    gru = RecordingGRU.from_gru(ref)
    x = torch.randn(5, 2, 3, dtype=torch.bfloat16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        expected = ref(x)[0]
        assert gru(x)[0].dtype == expected.dtype
        rec = gru.record(x)
    assert rec.h.dtype == torch.float32  # computed in the weights' dtype, as documented
    assert torch.allclose(rec.output, gru(x.float())[0], atol=1e-5)


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_torchscript_compiles_like_nn_gru():
    class Tagger(nn.Module):
        def __init__(self, rnn: nn.GRU):
            super().__init__()
            self.rnn = rnn
            self.head = nn.Linear(rnn.hidden_size * 2, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.rnn(x)[0])

    torch.manual_seed(0)
    ref = nn.GRU(3, 4, 2, bidirectional=True, batch_first=True)
    rec = RecordingGRU.from_gru(ref)
    torch.jit.script(rec)  # compiles, like torch.jit.script(nn.GRU(...))
    eager = Tagger(ref)
    scripted = torch.jit.script(Tagger(rec))
    scripted.head.load_state_dict(eager.head.state_dict())
    for x in (torch.randn(2, 5, 3), torch.randn(5, 3), torch.randn(0, 5, 3)):
        assert torch.equal(scripted(x), eager(x))
    with pytest.raises(torch.jit.Error, match="input_size"):  # nn.GRU's own check, compiled
        scripted(torch.randn(2, 5, 7))


def test_empty_batch_records_empty_tensors():
    torch.manual_seed(0)
    ref = nn.GRU(3, 4, 2, bidirectional=True)
    model = RecordingGRU.from_gru(ref)
    x = torch.randn(5, 0, 3)
    out, h_n = ref(x)
    assert torch.equal(model(x)[0], out)
    for strategy in ("loop", "replay"):
        rec = model.record(x, strategy=strategy)
        assert rec.output.shape == out.shape == (5, 0, 8) and rec.h_n.shape == h_n.shape == (4, 0, 4)
        for name in ("r", "z", "n", "h"):
            assert getattr(rec, name).shape == (2, 2, 0, 5, 4)
        assert rec.to_frame().empty
    batch_first = RecordingGRU(3, 4, batch_first=True).record(torch.randn(0, 5, 3))
    assert batch_first.h.shape == (1, 1, 0, 5, 4) and batch_first.output.shape == (0, 5, 4)


@pytest.mark.filterwarnings("ignore:`torch.nn.utils.weight_norm` is deprecated:FutureWarning")
@pytest.mark.parametrize("kind", ["legacy", "parametrization"])
def test_record_sees_weight_norm(kind):
    torch.manual_seed(0)
    model = RecordingGRU(3, 4, 2)
    if kind == "legacy":
        model = torch.nn.utils.weight_norm(model, "weight_hh_l1")
        with torch.no_grad():
            model.weight_hh_l1_g.mul_(1.7)  # forward would recompute weight_hh_l1 from g and v
    else:
        model = torch.nn.utils.parametrizations.weight_norm(model, "weight_hh_l1")
        with torch.no_grad():
            model.parametrizations.weight_hh_l1.original0.mul_(1.7)
    x = torch.randn(6, 2, 3)
    rec = model.record(x)  # before any forward: must not use a stale weight
    with torch.no_grad():
        out, _ = model(x)
    assert torch.equal(rec.output, out)
    plain = RecordingGRU.from_gru(model)  # the current weights, as plain parameters
    with torch.no_grad():
        assert torch.equal(plain(x)[0], out)


# ---------------------------------------------------------------- bad input
BAD_INPUTS = [
    ("wrong input_size", torch.randn(5, 2, 7), None),
    ("1-D", torch.randn(5), None),
    ("4-D", torch.randn(1, 5, 2, 3), None),
    ("integer", torch.ones(5, 2, 3, dtype=torch.long), None),
    ("float64", torch.randn(5, 2, 3, dtype=torch.float64), None),
    ("no steps", torch.randn(0, 2, 3), None),
    ("hx wrong shape", torch.randn(5, 2, 3), torch.zeros(1, 2, 4)),
    ("hx 2-D for batched", torch.randn(5, 2, 3), torch.zeros(2, 4)),
    ("hx a tuple", torch.randn(5, 2, 3), (torch.zeros(2, 2, 4),)),
    ("input a list", [[0.0, 1.0, 2.0]], None),
]


@pytest.mark.parametrize("case,x,hx", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
@pytest.mark.parametrize("method", ["forward", "record"])
def test_bad_input_raises_what_nn_gru_raises_with_a_clearer_message(case, x, hx, method):
    ref = nn.GRU(3, 4, 2)
    with pytest.raises(Exception) as expected:
        ref(x, hx)
    model = RecordingGRU(3, 4, 2)
    call = model if method == "forward" else model.record
    with pytest.raises(expected.type) as raised:  # catchable as what nn.GRU raises
        call(x, hx)
    assert isinstance(raised.value, (RNNInputError, AttributeError, TypeError)), raised.value


@pytest.mark.parametrize("method", ["forward", "record"])
def test_bad_input_names_expected_and_given_shapes(method):
    model = RecordingGRU(3, 4, 2, batch_first=True)
    call = model if method == "forward" else model.record
    with pytest.raises(RNNInputError, match=r"input_size=3.*\(2, 5, 7\)"):
        call(torch.randn(2, 5, 7))
    with pytest.raises(RNNInputError, match=r"2-D.*3-D.*1-D tensor of shape \(5,\)"):
        call(torch.randn(5))
    with pytest.raises(RNNInputError, match=r"h0 must have shape \(2, 2, 4\).*got \(1, 2, 4\)"):
        call(torch.randn(2, 5, 3), torch.zeros(1, 2, 4))
    with pytest.raises(RNNInputError, match="a GRU has no cell state"):
        call(torch.randn(2, 5, 3), (torch.zeros(2, 2, 4), torch.zeros(2, 2, 4)))
    with pytest.raises(RNNInputError, match=r"input dtype torch.float64 does not match the weights' torch.float32"):
        call(torch.randn(2, 5, 3, dtype=torch.float64))
    with pytest.raises(RNNInputError, match="no time steps"):
        call(torch.randn(2, 0, 3))
    # One class for all of them, caught as either of PyTorch's.
    assert issubclass(RNNInputError, ValueError) and issubclass(RNNInputError, RuntimeError)


# ---------------------------------------------------------------- the recording
def test_gru_names_are_pinned_and_index_the_tensors():
    assert recording_names(2, bidirectional=True, cell="gru") == [
        "layer0.fwd.r", "layer0.fwd.z", "layer0.fwd.n", "layer0.fwd.h",
        "layer0.bwd.r", "layer0.bwd.z", "layer0.bwd.n", "layer0.bwd.h",
        "layer1.fwd.r", "layer1.fwd.z", "layer1.fwd.n", "layer1.fwd.h",
        "layer1.bwd.r", "layer1.bwd.z", "layer1.bwd.n", "layer1.bwd.h",
    ]  # fmt: skip
    assert GRU_DISPLAY_ORDER == ("r", "z", "n", "h") and GRU_STORAGE_ORDER == ("r", "z", "n")
    rec = RecordingGRU(2, 3, 2, bidirectional=True).record(torch.randn(4, 2))
    assert rec.names() == recording_names(2, bidirectional=True, cell="gru")
    for name in rec.names():
        assert rec[name].shape == (1, 4, 3)
    assert torch.equal(rec["layer0.fwd.z"], rec.z[0, 0]) and torch.equal(rec["layer1.bwd.n"], rec.n[1, 1])
    with pytest.raises(KeyError, match="layer0.fwd.r"):
        rec["gate_z"]
    with pytest.raises(KeyError, match="unknown tensor 'f'"):
        rec["layer0.fwd.f"]
    with pytest.raises(KeyError, match="not in this recording"):
        rec["layer2.fwd.z"]


def test_recordings_say_which_tensors_they_hold_and_how_to_show_them():
    lstm = RecordingLSTM(2, 3).record(torch.randn(4, 2))
    gru = RecordingGRU(2, 3).record(torch.randn(4, 2))
    lstmp = RecordingLSTM(2, 3, proj_size=2).record(torch.randn(4, 2))
    assert (lstm.cell, gru.cell) == ("lstm", "gru")
    assert lstm.tensor_names == ("f", "i", "g", "o", "c", "h") and gru.tensor_names == ("r", "z", "n", "h")
    assert lstm.recorded_tensors == ("f", "i", "g", "o", "c", "m", "h") and gru.recorded_tensors == gru.tensor_names
    assert lstm.gates == ("f", "i", "o") and gru.gates == ("r", "z")
    assert set(lstm.signed) == {"g", "c", "m", "h"} and set(gru.signed) == {"n", "h"}
    assert lstm.storage_order == ("i", "f", "g", "o") and gru.storage_order == ("r", "z", "n")
    assert lstm.final_states == ("h_n", "c_n") and gru.final_states == ("h_n",)
    assert lstm.value_range("f") == (0.0, 1.0) and lstm.value_range("c") is None
    assert lstm.value_range("h") == (-1.0, 1.0) and lstmp.value_range("h") is None
    assert gru.value_range("z") == (0.0, 1.0) and gru.value_range("n") == (-1.0, 1.0)
    assert gru.value_range("h") == (-1.0, 1.0)  # from h0 = 0
    given = RecordingGRU(2, 3).record(torch.randn(4, 2), torch.full((1, 3), 5.0))
    assert given.value_range("h") is None  # a given h0 can lie anywhere
    assert gru.title("z") == "update gate" and lstm.title("f") == "forget gate"
    with pytest.raises(KeyError, match="not recorded for gru"):
        gru.value_range("f")
    for rec in (lstm, gru):  # every displayed tensor is held, and its range says how to colour it
        for name in rec.tensor_names:
            assert getattr(rec, name).shape[:4] == (1, 1, 1, 4)
            low, high = rec.value_range(name) or (-float("inf"), float("inf"))
            assert low <= getattr(rec, name).min() and getattr(rec, name).max() <= high
    assert lstm.lengths is None and lstm.valid.all() and lstm.valid.shape == (1, 4)


def test_gru_to_frame_and_to_device_and_pickling():
    torch.manual_seed(0)
    model = RecordingGRU(2, 3, 2, bidirectional=True)
    rec = model.record(torch.randn(5, 4, 2))  # T=5, B=4
    frame = rec.to_frame()
    assert list(frame.columns) == ["layer", "direction", "batch", "t", "unit", "tensor", "value"]
    assert len(frame) == 4 * (2 * 2 * 4 * 5 * 3)  # four tensors × layers × directions × batch × T × units
    assert set(frame["tensor"]) == {"r", "z", "n", "h"}
    small = rec.to_frame(layers=[1], directions=["bwd"], tensors=["z"], batch=2)
    row = small[(small.t == 3) & (small.unit == 1)]
    assert row["value"].item() == pytest.approx(rec.z[1, 1, 2, 3, 1].item())
    with pytest.raises(ValueError, match="choose from r, z, n, h"):
        rec.to_frame(tensors=["f"])
    assert isinstance(frame, pd.DataFrame)

    moved = rec.to("cpu")
    assert isinstance(moved, GRURecording) and torch.equal(moved.z, rec.z) and moved.extras == rec.extras

    big = RecordingGRU(4, 64, 2, bidirectional=True).record(torch.randn(300, 4))
    data = pickle.dumps(big)
    back = pickle.loads(data)
    names = ("output", "h_n", "x", "r", "z", "n", "h")
    assert all(torch.equal(getattr(big, k), getattr(back, k)) for k in names)
    compact = sum(getattr(big, k).numel() * 4 for k in names)  # r and z are views into a 3H-wide buffer
    assert len(data) < 1.1 * compact + 20_000, (len(data), compact)


def test_recording_is_detached():
    model = RecordingGRU(2, 3)
    x = torch.randn(4, 2, requires_grad=True)
    rec = model.record(x)
    for name in ("output", "h_n", "r", "z", "n", "h", "x"):
        assert not getattr(rec, name).requires_grad, name


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_gpu_parity():
    ref, model = _pair(2, True, True, True)
    ref, model = ref.cuda(), model.cuda()
    x = torch.randn(B, T, I, device="cuda")
    hx = torch.randn(4, B, H, device="cuda")
    with torch.backends.cudnn.flags(enabled=True, allow_tf32=False), torch.no_grad():  # full float32 in cuDNN
        out, h_n = ref(x, hx)
        rec = model.record(x, hx)
        loop = model.record(x, hx, strategy="loop")
        assert torch.allclose(model(x, hx)[0], out, atol=1e-6)
    assert rec.extras["strategy"] == "replay" and rec.z.device.type == "cuda"
    assert torch.allclose(rec.output, out, atol=1e-5) and torch.allclose(rec.h_n, h_n, atol=1e-5)
    for name in ("r", "z", "n", "h"):
        assert torch.allclose(getattr(loop, name), getattr(rec, name), atol=1e-5), name
    cpu = RecordingGRU.from_gru(model.cpu()).record(x.cpu(), hx.cpu())
    for name in ("r", "z", "n", "h"):
        assert torch.allclose(getattr(rec, name).cpu(), getattr(cpu, name), atol=1e-5), name
