"""RecordingLSTM against torch.nn.LSTM: parity of outputs and gradients, the recorded equations, names, bad input."""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
import pytest
import torch
from torch import nn
from torch.nn.utils import prune

from lstm_viz import DISPLAY_ORDER, STORAGE_ORDER, Recording, RecordingLSTM, recording_names

I, H, P, B, T = 3, 5, 2, 2, 6
TOL = {"atol": 1e-5, "rtol": 1e-4}

SWEEP = list(
    itertools.product(
        [1, 2, 3],  # num_layers
        [True, False],  # bias
        [False, True],  # bidirectional
        [False, True],  # batch_first
        [0, P],  # proj_size
        [False, True],  # given hx
        [True, False],  # batched
    )
)


def _pair(num_layers, bias, bidirectional, batch_first, proj_size, seed=0):
    torch.manual_seed(seed)
    ref = nn.LSTM(
        I, H, num_layers, bias=bias, batch_first=batch_first, bidirectional=bidirectional, proj_size=proj_size
    )
    with torch.no_grad():  # non-zero biases everywhere so a bias mix-up cannot hide
        for p in ref.parameters():
            p.uniform_(-0.8, 0.8)
    return ref, RecordingLSTM.from_lstm(ref)


def _inputs(ref: nn.LSTM, batched: bool, given_hx: bool, seed=1):
    g = torch.Generator().manual_seed(seed)
    D = 2 if ref.bidirectional else 1
    real_h = ref.proj_size or ref.hidden_size
    if batched:
        x = torch.randn((B, T, I) if ref.batch_first else (T, B, I), generator=g)
        hx_shape = (ref.num_layers * D, B)
    else:
        x = torch.randn(T, I, generator=g)
        hx_shape = (ref.num_layers * D,)
    hx = None
    if given_hx:
        hx = (torch.randn(*hx_shape, real_h, generator=g), torch.randn(*hx_shape, H, generator=g))
    return x, hx


@pytest.mark.parametrize("num_layers,bias,bidirectional,batch_first,proj_size,given_hx,batched", SWEEP)
def test_forward_and_gradients_match_nn_lstm(
    num_layers, bias, bidirectional, batch_first, proj_size, given_hx, batched
):
    ref, rec = _pair(num_layers, bias, bidirectional, batch_first, proj_size)
    x, hx = _inputs(ref, batched, given_hx)
    outs = []
    for model in (ref, rec):
        xi = x.clone().requires_grad_()
        hxi = tuple(t.clone().requires_grad_() for t in hx) if hx else None
        out, (h_n, c_n) = model(xi, hxi)
        # A loss that touches every output so every gradient path is exercised.
        loss = (out * torch.linspace(-1, 1, out.shape[-1])).sum() + (h_n**2).sum() + c_n.sum()
        loss.backward()
        grads = [xi.grad] + ([t.grad for t in hxi] if hxi else []) + [p.grad for p in model.parameters()]
        outs.append((out, h_n, c_n, grads))
    (o1, h1, c1, g1), (o2, h2, c2, g2) = outs
    assert o1.shape == o2.shape and h1.shape == h2.shape and c1.shape == c2.shape
    assert torch.allclose(o1, o2, **TOL) and torch.allclose(h1, h2, **TOL) and torch.allclose(c1, c2, **TOL)
    assert len(g1) == len(g2)
    for a, b in zip(g1, g2, strict=True):
        assert torch.allclose(a, b, **TOL)


# oneDNN has no LSTM with projections, so "kernel" is swept without them (its refusal is tested below).
STRATEGY_SWEEP = [(s, *case) for s in ("kernel", "replay", "loop") for case in SWEEP if s != "kernel" or case[4] == 0]


@pytest.mark.parametrize(
    "strategy,num_layers,bias,bidirectional,batch_first,proj_size,given_hx,batched", STRATEGY_SWEEP
)
def test_record_matches_forward_and_obeys_the_equations(
    strategy, num_layers, bias, bidirectional, batch_first, proj_size, given_hx, batched
):
    ref, model = _pair(num_layers, bias, bidirectional, batch_first, proj_size)
    x, hx = _inputs(ref, batched, given_hx)
    with torch.no_grad():
        out, (h_n, c_n) = ref(x, hx)
    rec = model.record(x, hx, strategy=strategy)
    assert rec.extras["strategy"] == strategy

    # What forward returns.
    if strategy == "replay":  # the no-grad kernel's own tensors: bit-identical
        assert torch.equal(rec.output, out) and torch.equal(rec.h_n, h_n) and torch.equal(rec.c_n, c_n)
    if strategy == "kernel":  # the kernel in its autograd mode, the one models train in: bit-identical
        out_g, (h_n_g, c_n_g) = ref(x, hx)
        assert torch.equal(rec.output, out_g) and torch.equal(rec.h_n, h_n_g) and torch.equal(rec.c_n, c_n_g)
    assert torch.allclose(rec.output, out, **TOL)
    assert torch.allclose(rec.h_n, h_n, **TOL) and torch.allclose(rec.c_n, c_n, **TOL)

    L, D = num_layers, 2 if bidirectional else 1
    n_batch = B if batched else 1
    for name in ("f", "i", "g", "o", "c", "m"):
        assert getattr(rec, name).shape == (L, D, n_batch, T, H), name
    assert rec.h.shape == (L, D, n_batch, T, proj_size or H)
    assert rec.x.shape == (n_batch, T, I)

    # Ranges of the gates.
    for gate in (rec.f, rec.i, rec.o):
        assert gate.min() >= 0 and gate.max() <= 1
    assert rec.g.min() >= -1 and rec.g.max() <= 1

    # c_t = f_t c_{t-1} + i_t g_t, with c_{-1} = c0 (time runs backwards for the reverse direction).
    c0 = (hx[1] if hx else torch.zeros(L * D, *((B,) if batched else ()), H)).reshape(L, D, n_batch, H)
    h0 = (hx[0] if hx else torch.zeros(L * D, *((B,) if batched else ()), proj_size or H)).reshape(
        L, D, n_batch, proj_size or H
    )
    for d in range(D):
        order = range(T) if d == 0 else range(T - 1, -1, -1)
        c_prev = c0[:, d]
        for t in order:
            f, i, g, o = (getattr(rec, n)[:, d, :, t] for n in ("f", "i", "g", "o"))
            c_t = rec.c[:, d, :, t]
            assert torch.allclose(c_t, f * c_prev + i * g, **TOL)
            assert torch.allclose(rec.m[:, d, :, t], o * torch.tanh(c_t), **TOL)
            c_prev = c_t
        # h_t = m_t, or W_hr m_t for an LSTMP.
        for k in range(L):
            m = rec.m[k, d]
            if proj_size:
                w_hr = getattr(model, f"weight_hr_l{k}{'_reverse' if d else ''}")
                assert torch.allclose(rec.h[k, d], m @ w_hr.T, **TOL)
            else:
                assert torch.allclose(rec.h[k, d], m, **TOL)
        # Gates recomputed from the recorded h_{t-1} and the layer's input with the stored weights (i, f, g, o).
        for k in range(L):
            sfx = f"l{k}{'_reverse' if d else ''}"
            layer_in = rec.x if k == 0 else torch.cat([rec.h[k - 1, dd] for dd in range(D)], -1)
            h_seq = rec.h[k, d]
            h_prev_seq = (
                torch.cat([h0[k, d].unsqueeze(1), h_seq[:, :-1]], 1)
                if d == 0
                else torch.cat([h_seq[:, 1:], h0[k, d].unsqueeze(1)], 1)
            )
            pre = layer_in @ getattr(model, f"weight_ih_{sfx}").T + h_prev_seq @ getattr(model, f"weight_hh_{sfx}").T
            if bias:
                pre = pre + getattr(model, f"bias_ih_{sfx}") + getattr(model, f"bias_hh_{sfx}")
            i, f, g, o = pre.chunk(4, -1)  # PyTorch's storage order
            assert torch.allclose(rec.i[k, d], torch.sigmoid(i), **TOL)
            assert torch.allclose(rec.f[k, d], torch.sigmoid(f), **TOL)
            assert torch.allclose(rec.g[k, d], torch.tanh(g), **TOL)
            assert torch.allclose(rec.o[k, d], torch.sigmoid(o), **TOL)

    # The last layer's recorded h is the output.
    out_bt = out.unsqueeze(0) if not batched else (out if batch_first else out.transpose(0, 1))
    assert torch.allclose(torch.cat([rec.h[-1, d] for d in range(D)], -1), out_bt, **TOL)


def test_state_dict_loads_strictly_both_ways():
    ref = nn.LSTM(4, 6, 2, bidirectional=True, proj_size=3)
    rec = RecordingLSTM(4, 6, 2, bidirectional=True, proj_size=3)
    rec.load_state_dict(ref.state_dict(), strict=True)
    back = nn.LSTM(4, 6, 2, bidirectional=True, proj_size=3)
    back.load_state_dict(rec.state_dict(), strict=True)
    assert list(rec.state_dict()) == list(ref.state_dict())
    for name, p in ref.named_parameters():
        assert torch.equal(p, dict(rec.named_parameters())[name])
    assert isinstance(rec, nn.LSTM)


def test_from_lstm_copies_options_and_mode():
    ref = nn.LSTM(2, 4, 2, bias=False, batch_first=True, dropout=0.25, bidirectional=True, proj_size=1).eval()
    rec = RecordingLSTM.from_lstm(ref)
    for attr in ("input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout", "bidirectional"):
        assert getattr(rec, attr) == getattr(ref, attr)
    assert rec.proj_size == 1 and not rec.training
    with pytest.raises(TypeError, match="torch.nn.LSTM"):
        RecordingLSTM.from_lstm(nn.GRU(2, 4))


def test_model_trains_through_recording_lstm():
    torch.manual_seed(0)
    model = RecordingLSTM(1, 4, batch_first=True)
    head = nn.Linear(4, 1)
    opt = torch.optim.Adam([*model.parameters(), *head.parameters()], lr=0.05)
    x = torch.tensor([[[0.0], [0.5], [0.25], [1.0]], [[1.0], [0.5], [0.25], [1.0]]])
    y = torch.tensor([[0.0], [1.0]])
    first = None
    for _ in range(150):
        opt.zero_grad()
        loss = ((head(model(x)[0][:, -1]) - y) ** 2).mean()
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < first / 20


def test_dropout_behaves_as_in_nn_lstm():
    torch.manual_seed(0)
    ref = nn.LSTM(3, 5, 3, dropout=0.5)
    rec = RecordingLSTM.from_lstm(ref)
    x = torch.randn(6, 2, 3)
    rec.train()
    ref.train()
    torch.manual_seed(7)
    a = ref(x)[0]
    torch.manual_seed(7)
    b = rec(x)[0]
    assert torch.equal(a, b)  # forward *is* nn.LSTM's, dropout included
    # Recording is eval-mode by default: deterministic, and equal to the eval-mode forward.
    r1, r2 = rec.record(x), rec.record(x)
    assert torch.equal(r1.output, r2.output)
    with torch.no_grad():
        assert torch.allclose(r1.output, rec.eval()(x)[0], **TOL)
    # With apply_dropout in training mode some next-layer inputs are dropped, so the output changes.
    rec.train()
    r3 = rec.record(x, apply_dropout=True)
    assert not torch.allclose(r3.output, r1.output)
    assert torch.allclose(r3.c[0], r1.c[0])  # the first layer sees the raw input either way


def test_recording_names_are_pinned():
    assert recording_names(2, bidirectional=True) == [
        "layer0.fwd.f", "layer0.fwd.i", "layer0.fwd.g", "layer0.fwd.o", "layer0.fwd.c", "layer0.fwd.m",
        "layer0.fwd.h",
        "layer0.bwd.f", "layer0.bwd.i", "layer0.bwd.g", "layer0.bwd.o", "layer0.bwd.c", "layer0.bwd.m",
        "layer0.bwd.h",
        "layer1.fwd.f", "layer1.fwd.i", "layer1.fwd.g", "layer1.fwd.o", "layer1.fwd.c", "layer1.fwd.m",
        "layer1.fwd.h",
        "layer1.bwd.f", "layer1.bwd.i", "layer1.bwd.g", "layer1.bwd.o", "layer1.bwd.c", "layer1.bwd.m",
        "layer1.bwd.h",
    ]  # fmt: skip
    assert DISPLAY_ORDER == ("f", "i", "g", "o", "c", "h")
    assert STORAGE_ORDER == ("i", "f", "g", "o")
    rec = RecordingLSTM(2, 3, 2, bidirectional=True).record(torch.randn(4, 2))
    assert rec.names() == recording_names(2, bidirectional=True)
    for name in rec.names():
        assert rec[name].shape[:2] == (1, 4)
    assert torch.equal(rec["layer1.bwd.c"], rec.c[1, 1])
    with pytest.raises(KeyError, match="layer0.fwd.f"):
        rec["gate_f"]
    with pytest.raises(KeyError, match="not in this recording"):
        rec["layer2.fwd.f"]


def test_to_frame_long_format_and_selection():
    torch.manual_seed(0)
    model = RecordingLSTM(2, 3, 2, bidirectional=True, proj_size=2)
    rec = model.record(torch.randn(5, 4, 2))  # T=5, B=4
    frame = rec.to_frame()
    assert list(frame.columns) == ["layer", "direction", "batch", "t", "unit", "tensor", "value"]
    n_hidden = 2 * 2 * 4 * 5 * 3  # layers * directions * batch * T * units
    assert len(frame) == 6 * n_hidden + n_hidden * 2 // 3  # six tensors of 3 units, h of 2 units
    small = rec.to_frame(layers=[1], directions=["bwd"], tensors=["c", "h"], batch=2)
    assert set(small["tensor"]) == {"c", "h"} and set(small["layer"]) == {1} and set(small["batch"]) == {2}
    assert len(small) == 5 * 3 + 5 * 2
    row = small[(small.tensor == "c") & (small.t == 3) & (small.unit == 1)]
    assert row["value"].item() == pytest.approx(rec.c[1, 1, 2, 3, 1].item())
    with pytest.raises(ValueError, match="choose from"):
        rec.to_frame(tensors=["z"])
    with pytest.raises(ValueError, match="layers must be in"):
        rec.to_frame(layers=[5])
    assert isinstance(frame, pd.DataFrame)


def test_recording_is_detached_and_on_model_device():
    model = RecordingLSTM(2, 3)
    x = torch.randn(4, 2, requires_grad=True)
    rec = model.record(x)
    assert isinstance(rec, Recording)
    for name in ("output", "h_n", "c_n", "f", "i", "g", "o", "c", "m", "h", "x"):
        t = getattr(rec, name)
        assert not t.requires_grad, name
        assert t.device == model.weight_ih_l0.device


def test_tf32_switches_leave_the_flags_as_they_were_whatever_order_threads_leave_in():
    """The app's sessions are threads of one process and TF32 is a process-wide flag: overlapping blocks must not
    restore each other's settings (the last one out restores the flag as it was before the first)."""
    import threading

    from lstm_viz.core.device import without_tf32
    from lstm_viz.core.lstm_strategies import _matmul_tf32

    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    before = (cudnn.allow_tf32, matmul.allow_tf32)
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = []

    def first():
        with without_tf32():
            a_in.set()
            b_in.wait(5)
            seen.append(("first", cudnn.allow_tf32))
        a_out.set()

    def second():
        a_in.wait(5)
        with without_tf32():
            b_in.set()
            a_out.wait(5)  # the first block has closed: still off for this one
            seen.append(("second", cudnn.allow_tf32))

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == [("first", False), ("second", False)] and cudnn.allow_tf32 == before[0]

    with _matmul_tf32(not before[1], cuda=False):  # products off CUDA do not read the flag: left alone
        assert matmul.allow_tf32 == before[1]
    inside = threading.Event()
    order = []

    def holder():
        with _matmul_tf32(True, cuda=True):
            inside.set()
            order.append(("holder", matmul.allow_tf32))
            threading.Event().wait(0.2)  # the other thread waits for the lock meanwhile
            order.append(("holder still", matmul.allow_tf32))

    t = threading.Thread(target=holder)
    t.start()
    inside.wait(5)
    with _matmul_tf32(False, cuda=True):
        order.append(("other", matmul.allow_tf32))
    t.join(5)
    assert order == [("holder", True), ("holder still", True), ("other", False)]
    assert (cudnn.allow_tf32, matmul.allow_tf32) == before


# ---------------------------------------------------------------- strategies
@pytest.mark.parametrize(
    "input_size,hidden,layers,bidirectional",
    [
        (70, 64, 2, True),  # 4H = 256: oneDNN pads the gate rows (to 272); input wider than hidden
        (3, 128, 1, False),  # 4H = 512, padded too
        (300, 20, 1, True),  # rows padded from 80 to 80, states from 300 to 304
    ],
)
def test_kernel_gates_equal_recomputed_gates_at_padded_layouts(input_size, hidden, layers, bidirectional):
    """The workspace layout depends on the sizes (padding, page alignment); check it where padding kicks in."""
    torch.manual_seed(3)
    model = RecordingLSTM(input_size, hidden, layers, bidirectional=bidirectional)
    x = torch.randn(9, 4, input_size)
    kernel = model.record(x, strategy="kernel")
    replay = model.record(x, strategy="replay")
    assert kernel.extras["strategy"] == "kernel"
    for name in ("f", "i", "g", "o", "c", "m", "h"):
        assert torch.allclose(getattr(kernel, name), getattr(replay, name), atol=1e-5), name


@pytest.mark.parametrize("T,batch", [(1, 1), (1, 5), (2, 1)])
def test_kernel_gates_at_one_and_two_steps(T, batch):
    """The shortest sequences: the layout check then leans on c0 (one step) and the workspace's first c slot."""
    torch.manual_seed(4)
    model = RecordingLSTM(3, 16, 2, bidirectional=True)
    x = torch.randn(T, batch, 3)
    hx = (torch.randn(4, batch, 16), torch.randn(4, batch, 16))
    kernel, replay = model.record(x, hx, strategy="kernel"), model.record(x, hx, strategy="replay")
    for name in ("f", "i", "g", "o", "c", "h"):
        assert torch.allclose(getattr(kernel, name), getattr(replay, name), atol=1e-6), name


def test_nan_input_is_recorded_as_nan_and_keeps_the_kernel(monkeypatch):
    from lstm_viz.core import kernel_gates

    monkeypatch.setattr(kernel_gates, "_checked", set())
    model = RecordingLSTM(2, 8)
    x = torch.randn(7, 1, 2)
    x[3, 0, 1] = float("nan")
    rec = model.record(x)
    assert rec.extras["strategy"] == "kernel" and kernel_gates._layout_ok
    assert torch.isnan(rec.c[0, 0, 0, 3:]).all() and not torch.isnan(rec.c[0, 0, 0, :3]).any()


@pytest.mark.parametrize("strategy", ["kernel", "replay", "loop"])
@pytest.mark.parametrize("layers,bidirectional", [(1, False), (2, True)])
def test_pickling_stores_compact_tensors(strategy, layers, bidirectional):
    """st.cache_data pickles recordings: views into a workspace or a shared gate buffer must not drag it along."""
    import pickle

    model = RecordingLSTM(4, 64, layers, bidirectional=bidirectional)
    rec = model.record(torch.randn(300, 4), strategy=strategy)
    data = pickle.dumps(rec)
    back = pickle.loads(data)
    names = ("output", "h_n", "c_n", "x", "f", "i", "g", "o", "c", "m", "h")
    assert all(torch.equal(getattr(rec, k), getattr(back, k)) for k in names)
    assert back.m is back.h and back.extras == rec.extras
    compact = sum(getattr(rec, k).numel() * 4 for k in names if k != "h")  # h is m
    assert len(data) < 1.1 * compact + 20_000, (len(data), compact)


def test_auto_picks_the_kernel_where_it_runs_and_computes_elsewhere():
    x = torch.randn(5, 2, 3)
    assert RecordingLSTM(3, 4).record(x).extras["strategy"] == "kernel"
    assert RecordingLSTM(3, 4, proj_size=2).record(x).extras["strategy"] in ("replay", "loop")
    model64 = RecordingLSTM(3, 4, dtype=torch.float64)
    assert model64.record(x.double()).extras["strategy"] in ("replay", "loop")
    for model, xx in ((RecordingLSTM(3, 4, proj_size=2), x), (model64, x.double())):
        with pytest.raises(ValueError, match=r"oneDNN kernel on the CPU \(float32\) or cuDNN on CUDA, for LSTMs wi"):
            model.record(xx, strategy="kernel")
    with pytest.raises(ValueError, match="'auto', 'kernel', 'replay' or 'loop'"):
        RecordingLSTM(3, 4).record(x, strategy="fast")


def test_a_layout_that_does_not_check_out_falls_back_to_computing_the_gates(monkeypatch):
    """If another oneDNN build laid its workspace out differently, the checks catch it and replay takes over."""
    from lstm_viz.core import kernel_gates

    monkeypatch.setattr(kernel_gates, "_layout_ok", True)
    monkeypatch.setattr(kernel_gates, "_checked", set())
    monkeypatch.setattr(kernel_gates, "_good_ld", lambda dim: dim)  # a wrong guess at the padding
    torch.manual_seed(0)
    model = RecordingLSTM(3, 64)  # 4H = 256, where the real layout pads
    x = torch.randn(6, 2, 3)
    rec = model.record(x)
    assert rec.extras["strategy"] == "replay"
    assert kernel_gates._layout_ok is False  # not tried again in this process
    with torch.no_grad():
        out, _ = nn.LSTM.forward(model, x)
    assert torch.equal(rec.output, out)
    assert model._pick_strategy(2) != "kernel"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_gpu_parity():
    ref, model = _pair(2, True, True, True, 0)
    ref, model = ref.cuda(), model.cuda()
    x = torch.randn(B, T, I, device="cuda")
    with torch.no_grad():
        out, (_, c_n) = ref(x)
    rec = model.record(x)
    assert rec.f.device.type == "cuda"
    assert torch.allclose(rec.output, out, atol=1e-5) and torch.allclose(rec.c_n, c_n, atol=1e-5)
    assert torch.allclose(model(x)[0], ref(x)[0], atol=1e-5)


# ---------------------------------------------------------------- bad input (tests/test_lstm_twin.py has them all)
@pytest.mark.parametrize("method", ["forward", "record"])
def test_bad_input_names_expected_and_given_shapes(method):
    model = RecordingLSTM(3, 4, 2, batch_first=True)
    call = model if method == "forward" else model.record
    with pytest.raises(ValueError, match=r"input_size=3.*\(2, 5, 7\)"):
        call(torch.randn(2, 5, 7))
    with pytest.raises(ValueError, match=r"2-D.*3-D.*1-D tensor of shape \(5,\)"):
        call(torch.randn(5))
    with pytest.raises(ValueError, match=r"4-D tensor of shape \(1, 2, 5, 3\)"):
        call(torch.randn(1, 2, 5, 3))
    with pytest.raises(ValueError, match=r"RNN input dtype \(torch.int64\).*input.to\(torch.float32\)"):
        call(torch.ones(2, 5, 3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"h0 must have shape \(2, 2, 4\).*got \(1, 2, 4\)"):
        call(torch.randn(2, 5, 3), (torch.zeros(1, 2, 4), torch.zeros(2, 2, 4)))
    with pytest.raises(ValueError, match=r"c0 must have shape \(2, 2, 4\).*got \(2, 3, 4\)"):
        call(torch.randn(2, 5, 3), (torch.zeros(2, 2, 4), torch.zeros(2, 3, 4)))
    with pytest.raises(ValueError, match=r"RNN input dtype \(torch.float64\) does not match weight dtype"):
        call(torch.randn(2, 5, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"c0 dtype \(torch.float64\) does not match.*c0.to\(torch.float32\)"):
        call(torch.randn(2, 5, 3), (torch.zeros(2, 2, 4), torch.zeros(2, 2, 4, dtype=torch.float64)))
    with pytest.raises(ValueError, match="larger than 0.*give at least one step"):
        call(torch.randn(2, 0, 3))
    with pytest.raises(ValueError, match="tuple"):
        call(torch.randn(2, 5, 3), torch.zeros(2, 2, 4))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        RecordingLSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="hidden_size must be greater than zero, got 0"):
        RecordingLSTM(3, 0)
    with pytest.raises(ValueError, match="proj_size should be a positive integer or zero"):
        RecordingLSTM(3, 4, proj_size=-1)
    with pytest.raises(TypeError, match=r"input_size should be of type int, got: float \(3.0\)") as info:
        RecordingLSTM(3.0, 4)
    assert isinstance(info.value, ValueError)


# ---------------------------------------------------------------- empty batches, hooks, packed input
@pytest.mark.parametrize("strategy", ["auto", "kernel", "replay", "loop"])
@pytest.mark.parametrize(
    "layers,bidirectional,batch_first,proj_size", [(1, False, False, 0), (2, True, True, 0), (2, False, False, 2)]
)
def test_record_of_a_batch_of_zero_sequences_is_empty(strategy, layers, bidirectional, batch_first, proj_size):
    if strategy == "kernel" and proj_size:
        pytest.skip("no kernel strategy with projections")
    model = RecordingLSTM(3, 4, layers, batch_first=batch_first, bidirectional=bidirectional, proj_size=proj_size)
    x = torch.zeros((0, 5, 3) if batch_first else (5, 0, 3))
    out, (h_n, c_n) = model(x)
    rec = model.record(x, strategy=strategy)
    assert rec.output.shape == out.shape and rec.h_n.shape == h_n.shape and rec.c_n.shape == c_n.shape
    D = 2 if bidirectional else 1
    for name in ("f", "i", "g", "o", "c", "m"):
        assert getattr(rec, name).shape == (layers, D, 0, 5, 4)
    assert rec.h.shape == (layers, D, 0, 5, proj_size or 4) and rec.x.shape == (0, 5, 3)
    assert rec.to_frame().empty and rec.extras["strategy"] != "auto"


def _weight_normed_pair(kind):
    torch.manual_seed(0)
    model = RecordingLSTM(3, 8, 2, bidirectional=True)
    x = torch.randn(7, 2, 3)
    if kind == "weight_norm":
        model = torch.nn.utils.weight_norm(model, "weight_hh_l0")
        model(x)  # the hook computes weight_hh_l0 from g and v
        with torch.no_grad():
            model.weight_hh_l0_g.mul_(1.5)  # no forward since: the attribute is stale until the next call
    elif kind == "parametrizations.weight_norm":
        model = torch.nn.utils.parametrizations.weight_norm(model, "weight_hh_l0")
        model(x)
        with torch.no_grad():
            model.parametrizations.weight_hh_l0.original0.mul_(1.5)
    elif kind == "prune":
        model(x)
        prune.random_unstructured(model, "weight_ih_l1", amount=0.5)
        with torch.no_grad():
            model.weight_ih_l1_orig.mul_(2.0)
    return model, x


@pytest.mark.parametrize("strategy", ["kernel", "replay", "loop"])
@pytest.mark.parametrize("kind", ["weight_norm", "parametrizations.weight_norm", "prune"])
def test_record_uses_the_weights_forward_uses(kind, strategy):
    model, x = _weight_normed_pair(kind)
    before = {name: w.clone() for name, w in zip(model._flat_weights_names, model._flat_weights, strict=True)}
    rec = model.record(x, strategy=strategy)
    with torch.no_grad():
        out, (_, c_n) = model(x)
    assert torch.allclose(rec.output, out, atol=1e-6) and torch.allclose(rec.c_n, c_n, atol=1e-6)
    if kind != "parametrizations.weight_norm":  # (a parametrization is computed on access: never stale)
        changed = [n for n, w in zip(model._flat_weights_names, model._flat_weights, strict=True)
                   if not torch.equal(w, before[n])]  # fmt: skip
        assert changed, "the weights forward would use differ from the stale ones; record used the new ones"
    stale = model.record(x, strategy=strategy)
    assert torch.equal(stale.output, rec.output)  # and again: nothing left stale by the first record


def test_record_runs_forward_pre_hooks_like_a_call():
    model = RecordingLSTM(3, 4)
    x = torch.randn(5, 2, 3)
    model.register_forward_pre_hook(lambda module, args: (args[0] * 2, *args[1:]))
    with torch.no_grad():
        assert torch.allclose(model.record(x).output, model(x)[0], atol=1e-6)
    assert torch.equal(model.record(x).x, (x * 2).transpose(0, 1))


def test_record_reads_swapped_parameters_like_forward():
    """torch.func.functional_call swaps the parameters for a call; forward notices (_update_flat_weights), so does
    record. (functional_call itself calls forward; record is called under the same swap.)"""
    from torch.nn.utils.stateless import _reparametrize_module

    model = RecordingLSTM(3, 4)
    x = torch.randn(5, 2, 3)
    params = {k: v * 0.5 for k, v in model.named_parameters()}
    with torch.no_grad():
        out = torch.func.functional_call(model, params, (x,))[0]
        with _reparametrize_module(model, params):
            recorded = model.record(x)
    assert torch.allclose(recorded.output, out, atol=1e-6)
    assert not torch.allclose(model.record(x).output, out, atol=1e-3)


def test_packed_input_goes_to_record_packed(monkeypatch):
    model = RecordingLSTM(3, 4)
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.randn(5, 2, 3), [5, 3])
    rec = model.record(packed)  # recorded (tests/test_packed.py checks the values): NaN past the shorter one's end
    assert rec.lengths.tolist() == [5, 3] and rec.h[0, 0, 1, 3:].isnan().all()
    seen = {}
    monkeypatch.setattr(RecordingLSTM, "_record_packed", lambda self, x, hx, **kw: seen.update(x=x, hx=hx, **kw))
    model.record(packed, strategy="loop")
    assert seen["x"] is packed and seen["hx"] is None and seen["strategy"] == "loop"


# ---------------------------------------------------------------- buffers, chunks, precision
def test_a_recording_held_is_never_overwritten_and_a_dropped_one_is_reused():
    torch.manual_seed(0)
    model = RecordingLSTM(16, 64, 2)  # 128 steps × batch 8, two layers: buffers of a few MB, pooled
    x1, x2 = torch.randn(128, 8, 16), torch.randn(128, 8, 16)
    r1 = model.record(x1)
    kept = {k: getattr(r1, k).clone() for k in ("f", "c", "h", "output")}
    r2 = model.record(x2)
    r3 = model.record(x2)  # r1 and r2 both held: a third buffer, not kept
    for k, v in kept.items():
        assert torch.equal(getattr(r1, k), v), k
    assert len({r.f.data_ptr() for r in (r1, r2, r3)}) == 3
    f_only = r2.f  # a view outlives its Recording: r2's buffer stays taken
    ptr1 = r1.f.data_ptr()
    del r1, r2, r3
    r4 = model.record(x1)
    assert r4.f.data_ptr() == ptr1  # r1's buffer, free again, reused
    assert f_only.data_ptr() != r4.f.data_ptr() and torch.equal(r4.f, kept["f"])
    model.release_buffers()
    assert torch.equal(r4.c, kept["c"])  # what was handed out stays valid


@pytest.mark.parametrize("layers,bidirectional,batch_first", [(1, False, False), (2, True, True)])
def test_the_kernel_in_chunks_is_bit_identical(monkeypatch, layers, bidirectional, batch_first):
    from lstm_viz.core import kernel_gates

    torch.manual_seed(2)
    model = RecordingLSTM(5, 32, layers, bidirectional=bidirectional, batch_first=batch_first)
    x = torch.randn((3, 23, 5) if batch_first else (23, 3, 5))
    whole = model.record(x, strategy="kernel")
    monkeypatch.setattr(kernel_gates, "kept_threshold", lambda: 0)  # (as if keep_freed_memory had not been called)
    monkeypatch.setattr(kernel_gates, "WORKSPACE_BUDGET", 1)  # no layer in one call
    monkeypatch.setattr(kernel_gates, "CHUNK_BUDGET", 1)  # one step per kernel call
    monkeypatch.setattr(kernel_gates, "_ws_bytes_per_step", {})
    steps = model.record(x, strategy="kernel")
    monkeypatch.setattr(kernel_gates, "CHUNK_BUDGET", 5 * 40_000)  # a few steps, with a ragged last chunk
    monkeypatch.setattr(kernel_gates, "_ws_bytes_per_step", {})
    chunks = model.record(x, strategy="kernel")
    out_g, (h_n_g, c_n_g) = model(x)  # autograd on: the same kernel mode
    for rec in (whole, steps, chunks):
        assert torch.equal(rec.output, out_g) and torch.equal(rec.h_n, h_n_g) and torch.equal(rec.c_n, c_n_g)
        for name in ("f", "i", "g", "o", "c", "m", "h"):
            assert torch.equal(getattr(rec, name), getattr(whole, name)), name


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("T", [1, 2, 7, 64, 100, 257])
def test_chunked_scan_equals_the_loop(T, reverse):
    from lstm_viz.core.lstm_strategies import cell_states

    g = torch.Generator().manual_seed(T)
    f = torch.rand(T, 3, 5, generator=g, dtype=torch.float64)
    f[T // 2, 0] = 0.0  # a forget gate fully shut...
    f[T // 3, 1] = 1.0  # ...and fully open
    i = torch.rand(T, 3, 5, generator=g, dtype=torch.float64)
    gg = torch.rand(T, 3, 5, generator=g, dtype=torch.float64) * 2 - 1
    c0 = torch.randn(3, 5, generator=g, dtype=torch.float64)
    loop, scan = torch.empty_like(f), torch.empty_like(f)
    cell_states(f, i, gg, c0, reverse=reverse, out=loop, scan=False)
    cell_states(f, i, gg, c0, reverse=reverse, out=scan, scan=True)
    expected, prev = torch.empty_like(f), c0
    for t in range(T - 1, -1, -1) if reverse else range(T):
        expected[t] = prev = f[t] * prev + i[t] * gg[t]
    assert torch.allclose(loop, expected, atol=1e-12) and torch.allclose(scan, expected, atol=1e-12)


@pytest.mark.parametrize(
    "layers,bidirectional,proj_size,T,dtype",
    [
        (1, False, 0, 70, torch.float64),  # K = 8: 8 chunks and 6 steps left over
        (2, True, 0, 100, torch.float64),  # K divides T: no leftover
        (3, True, 2, 67, torch.float64),  # projections, three layers as lanes of one scan
        (2, True, 0, 1, torch.float64),  # one step: one chunk of one
        (2, True, 0, 65, torch.bfloat16),  # c accumulated in float32 through the scan
    ],
)
def test_replay_as_the_gpu_runs_it_equals_the_loop(layers, bidirectional, proj_size, T, dtype):
    """What a GPU runs, on the CPU: replay with the chunked scan over every layer of a direction at once
    (REPLAY_SCAN = True) records what the step-by-step loop records, and the kernel's outputs unchanged."""
    torch.manual_seed(T)
    model = RecordingLSTM(3, 6, layers, bidirectional=bidirectional, proj_size=proj_size, dtype=dtype)
    x = torch.randn(T, 4, 3, dtype=dtype)
    hx = (
        torch.randn(layers * (1 + bidirectional), 4, proj_size or 6, dtype=dtype),
        torch.randn(layers * (1 + bidirectional), 4, 6, dtype=dtype),
    )
    loop = model.record(x, hx, strategy="loop")
    model.REPLAY_SCAN = True
    scan = model.record(x, hx, strategy="replay")
    tol = 1e-12 if dtype == torch.float64 else 4e-2
    for name in ("f", "i", "g", "o", "c", "m", "h"):
        assert torch.allclose(getattr(scan, name), getattr(loop, name), atol=tol), name
    with torch.no_grad():
        output, (h_n, c_n) = model(x, hx)
    assert torch.equal(scan.output, output) and torch.equal(scan.h_n, h_n) and torch.equal(scan.c_n, c_n)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("strategy", ["replay", "loop"])
def test_half_precision_recordings_follow_float64(dtype, strategy):
    """Reduced precision on the CPU (the path GPUs take for half models): gates within the dtype's rounding, c
    accumulated in float32, compared with the same weights in float64."""
    torch.manual_seed(1)
    ref64 = RecordingLSTM(4, 16, 2, bidirectional=True, dtype=torch.float64)
    model = RecordingLSTM.from_lstm(ref64).to(dtype)
    x = torch.randn(40, 3, 4, dtype=torch.float64)
    exact = ref64.record(x, strategy="loop")
    rec = model.record(x.to(dtype), strategy=strategy)
    assert rec.f.dtype == dtype and rec.extras["strategy"] == strategy
    tol = 4e-2 if dtype == torch.bfloat16 else 6e-3
    for name in ("f", "i", "g", "o", "c", "m", "h"):
        assert (getattr(rec, name).double() - getattr(exact, name)).abs().max() < tol, name
    if strategy == "replay":
        with torch.no_grad():
            assert torch.equal(rec.output, model(x.to(dtype))[0])


def test_replay_on_a_gpu_makes_few_pytorch_calls():
    """On a GPU replay is bound by its number of PyTorch calls (each one launch and some microseconds of dispatch);
    benchmarks/count_gpu_calls.py counts them on the CPU with the GPU's arrangement. Guard the count: a 2-layer
    bidirectional model over 200 steps once took 286 compute calls; now two cuDNN layers, products, activations over
    all layers at once and one chunked scan (about 2√T calls) per direction — and with the fused cell kernel (CUDA
    with Triton) the nonlinearities, c and m are one launch."""
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "count_gpu_calls.py"
    spec = importlib.util.spec_from_file_location("count_gpu_calls", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    calls = bench.count(2, 200, 3, 8, 2, True, fused=False)
    compute = sum(n for name, n in calls.items() if name not in bench.VIEWS)
    assert calls["aten.mkldnn_rnn_layer"] == 4  # the fused kernel once per layer and direction, as nn.LSTM calls it
    assert compute <= 120, calls
    assert sum(calls.values()) <= 270, calls
    fused = bench.count(2, 200, 3, 8, 2, True, fused=True)
    assert fused["triton._lstm_cell_kernel"] == 1
    assert sum(n for name, n in fused.items() if name not in bench.VIEWS) <= 40, fused


def test_to_frame_takes_one_layer_tensor_or_direction_on_its_own_and_refuses_a_run_together_name():
    torch.manual_seed(0)
    rec = RecordingLSTM(3, 4, num_layers=2, bidirectional=True).record(torch.randn(5, 2, 3))
    one = rec.to_frame(layers=1, tensors="c", directions="bwd", batch=0)
    assert set(one["layer"]) == {1} and set(one["tensor"]) == {"c"} and set(one["direction"]) == {"bwd"}
    assert len(one) == 5 * 4
    assert len(rec.to_frame(layers=[1], tensors=["c"], directions=["bwd"], batch=[0])) == len(one)
    with pytest.raises(ValueError, match="'ch' is not recorded"):
        rec.to_frame(tensors="ch")  # not read as 'c' and 'h'


def test_unit_labels_round_trip_and_nothing_looser_parses():
    from lstm_viz.core.recording import parse_name, parse_unit, unit_label

    for name in recording_names(3, bidirectional=True):
        for unit in (0, 7, 1023):
            assert parse_unit(unit_label(name, unit)) == (name, unit)
    assert parse_unit("  layer12.bwd.g[3] ") == ("layer12.bwd.g", 3)
    assert parse_name("layer12.bwd.g") == (12, 1, "g")
    for bad in ("layer0.fwd.c[12", "layer0.fwd.c12]", "layer0.fwd.c[-1]", "layer0.fwd.c[01]", "layer01.fwd.c[1]",
                "layer0.up.c[1]", "layer0.fwd.C[1]", "layer0.fwd.c[1][2]", "", "c[1]", None):
        with pytest.raises(ValueError, match="units look like 'layer0.fwd.c\\[12\\]'"):
            parse_unit(bad)
    with pytest.raises(KeyError, match="names look like"):
        parse_name("layer0.fwd")
