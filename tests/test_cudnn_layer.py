"""core/cudnn_layer.py: one layer of a multi-layer LSTM/GRU through the fused kernel. On CUDA the layer's slice of
the flat cuDNN weight buffer is handed over as it is (no per-call copy); the results must be the very numbers of the
ordinary call, and nothing else may change (no warning, the CPU untouched)."""

from __future__ import annotations

import itertools
import warnings

import pytest
import torch
from torch import nn

from lstm_viz.core import cudnn_layer
from lstm_viz.core.cudnn_layer import layer_params, run_layer


def _layer(module: nn.Module, k: int) -> list[torch.Tensor]:
    weights = dict(zip(module._flat_weights_names, module._flat_weights, strict=True))
    gru = isinstance(module, nn.GRU)
    D = 2 if module.bidirectional else 1
    return layer_params(weights, k, range(D), module.bias, (not gru) and module.proj_size > 0)


def _both_ways(module: nn.Module, k: int, x: torch.Tensor):
    """run_layer for layer k with and without handing over the buffer; also whether it was handed over."""
    gru = isinstance(module, nn.GRU)
    D = 2 if module.bidirectional else 1
    P = module.hidden_size if gru or not module.proj_size else module.proj_size
    B = x.shape[1]
    h0 = torch.randn(D, B, P, device=x.device)
    hx = h0 if gru else (h0, torch.randn(D, B, module.hidden_size, device=x.device))
    cell, proj = ("gru", 0) if gru else ("lstm", module.proj_size)
    args = (cell, x, hx, _layer(module, k), module.bias, D == 2, module.hidden_size, proj)
    handed = cudnn_layer._layer_buffer(cell, x, args[3], D == 2, module.hidden_size, proj) is not None
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("error")  # neither way may warn
        fast = run_layer(*args)
        cudnn_layer.NO_COPY = False
        try:
            plain = run_layer(*args)
        finally:
            cudnn_layer.NO_COPY = True
    return handed, fast, plain


def _lstm_reference(module: nn.LSTM, k: int, x, hx):
    """_VF.lstm for layer k alone (what recording called before run_layer)."""
    D = 2 if module.bidirectional else 1
    return torch._VF.lstm(x, hx, _layer(module, k), module.bias, 1, 0.0, False, D == 2, False)


def test_on_the_cpu_it_is_the_ordinary_call():
    torch.manual_seed(0)
    lstm = nn.LSTM(3, 5, 2, bidirectional=True)
    x = torch.randn(7, 2, 10)
    hx = (torch.randn(2, 2, 5), torch.randn(2, 2, 5))
    assert cudnn_layer._layer_buffer("lstm", x, _layer(lstm, 1), True, 5, 0) is None
    with torch.no_grad():
        got = run_layer("lstm", x, hx, _layer(lstm, 1), True, True, 5)
        want = _lstm_reference(lstm, 1, x, hx)
    for a, b in zip(got, want, strict=True):
        assert torch.equal(a, b)
    gru = nn.GRU(3, 5, 2)
    h0 = torch.randn(1, 2, 5)
    with torch.no_grad():
        out, h_n, c_n = run_layer("gru", torch.randn(7, 2, 5), h0, _layer(gru, 1), True, False, 5)
    assert out.shape == (7, 2, 5) and h_n.shape == (1, 2, 5) and c_n is None


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")


@needs_cuda
@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.LSTM(3, 5, 2, bidirectional=True),
        lambda: nn.LSTM(8, 32, 3),
        lambda: nn.LSTM(8, 32, 2, bidirectional=True, proj_size=8),
        lambda: nn.LSTM(8, 32, 2, bias=False),
        lambda: nn.GRU(8, 32, 2, bidirectional=True),
    ],
    ids=["lstm-bi", "lstm-3", "lstmp-bi", "no-bias", "gru-bi"],
)
def test_on_cuda_the_flat_buffer_is_handed_over_with_the_same_numbers(make):
    torch.manual_seed(0)
    module = make().cuda()  # .cuda() flattens the weights into one cuDNN buffer
    D = 2 if module.bidirectional else 1
    P = module.proj_size if getattr(module, "proj_size", 0) else module.hidden_size
    x = torch.randn(40, 4, D * P, device="cuda")
    handed, fast, plain = _both_ways(module, 1, x)
    assert handed, "layer 1's weights should be a plain one-layer slice of the flat buffer"
    for a, b in zip(fast, plain, strict=True):
        assert (a is None and b is None) or torch.equal(a, b)


@needs_cuda
def test_on_cuda_weights_outside_a_flat_buffer_take_the_ordinary_call():
    torch.manual_seed(0)
    lstm = nn.LSTM(3, 5, 2).cuda()
    with torch.no_grad():  # a weight replaced by a tensor of its own: no longer a view of the flat buffer
        lstm.weight_hh_l1 = nn.Parameter(lstm.weight_hh_l1.clone())
    x = torch.randn(6, 2, 5, device="cuda")
    handed, fast, plain = _both_ways(lstm, 1, x)
    assert not handed
    for a, b in zip(fast, plain, strict=True):
        assert torch.equal(a, b)
    one = nn.LSTM(3, 5, 1).cuda()  # one layer: the whole buffer already goes to cuDNN as it is
    assert cudnn_layer._layer_buffer("lstm", torch.randn(6, 2, 3, device="cuda"), _layer(one, 0), False, 5, 0) is None


def _cudnn_flat(module: nn.Module, layout) -> torch.Tensor:
    """Place ``module``'s weights as cuDNN does (``layout``: name → offset) in one buffer, as views (on the CPU)."""
    total = max(off + getattr(module, n).numel() for n, off in layout.items())
    flat = torch.full((total + 5,), float("nan"))  # padding that must never be read
    with torch.no_grad():
        for name, off in layout.items():
            p = getattr(module, name)
            flat[off : off + p.numel()] = p.flatten()
            p.set_(flat.untyped_storage(), off, p.shape, p.stride())
    return flat


def test_the_one_layer_buffer_is_gathered_from_cudnns_flat_layout(monkeypatch):
    """The layout an H200's cuDNN 9.19 gave a 2-layer bidirectional LSTM(32, 128): every matrix first, layer by layer
    and direction by direction, then every bias. A one-layer buffer holds the layer's matrices, then its biases: two
    runs of the flat buffer, one torch.cat. Checked on the CPU by standing in for CUDA."""
    torch.manual_seed(0)
    lstm = nn.LSTM(32, 128, 2, bidirectional=True)
    names = lstm._flat_weights_names
    mats = [n for n in names if n.startswith("weight")]
    biases = [n for n in names if n.startswith("bias")]
    layout, off = {}, 0
    for n in mats + biases:
        layout[n] = off
        off += getattr(lstm, n).numel()
    _cudnn_flat(lstm, layout)
    one_layer = {  # per layer: (w_ih, w_hh, b_ih, b_hh) per direction, matrices first
        0: ((0, 16384, 163840, 164352, 81920, 98304, 164864, 165376), 165888),
        1: ((0, 131072, 393216, 393728, 196608, 327680, 394240, 394752), 395264),
    }
    monkeypatch.setattr(torch.backends.cudnn, "is_acceptable", lambda t: True)
    monkeypatch.setattr(cudnn_layer, "_one_layer_layout", lambda cell, params, *a: one_layer[params[0].shape[1] // 256])
    monkeypatch.setattr(cudnn_layer, "_LAYOUTS", {})

    class OnCuda:  # what _layer_buffer reads of x
        is_cuda, dtype, device = True, torch.float32, torch.device("cpu")

    for k in (0, 1):
        params = _layer(lstm, k)
        got = cudnn_layer._layer_buffer("lstm", OnCuda(), params, True, 128, 0)
        offsets, numel = one_layer[k]
        want = torch.empty(numel)
        for p, o in zip(params, offsets, strict=True):
            want[o : o + p.numel()] = p.flatten()
        assert got is not None and torch.equal(got, want)
    no_bias = nn.LSTM(32, 128, 2, bias=False)  # a layer's matrices alone: its slice of the flat buffer, no copy
    names = no_bias._flat_weights_names
    flat = _cudnn_flat(
        no_bias,
        dict(zip(names, itertools.accumulate([0] + [getattr(no_bias, n).numel() for n in names[:-1]]), strict=True)),
    )
    monkeypatch.setattr(
        cudnn_layer,
        "_one_layer_layout",
        lambda cell, params, *a: ((0, params[0].numel()), sum(p.numel() for p in params)),
    )
    got = cudnn_layer._layer_buffer("lstm", OnCuda(), _layer(no_bias, 1), False, 128, 0)
    assert got is not None and got.untyped_storage().data_ptr() == flat.untyped_storage().data_ptr()
    assert got.storage_offset() == no_bias.weight_ih_l1.storage_offset()


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_cudnn_rnn_names_every_argument_as_this_pytorch_does(cell, monkeypatch):
    """cudnn_rnn passes torch._cudnn_rnn's arguments by name. On the CPU the call gets through argument parsing to
    the dispatcher, which has no CPU kernel: a renamed or missing argument would be a TypeError instead. (cuDNN's
    mode code is asked of cuDNN, which a CPU build lacks: LSTM 2, GRU 3, as torch.backends.cudnn.rnn has them.)"""
    monkeypatch.setattr(cudnn_layer, "_cudnn_mode", {"lstm": 2, "gru": 3}.__getitem__)
    torch.manual_seed(0)
    module = (nn.LSTM if cell == "lstm" else nn.GRU)(3, 4)
    x = torch.randn(5, 2, 3)
    h0 = torch.zeros(1, 2, 4)
    c0 = torch.zeros(1, 2, 4) if cell == "lstm" else None
    params = list(module._flat_weights)
    with pytest.raises(NotImplementedError, match="_cudnn_rnn"):
        cudnn_layer.cudnn_rnn(x, params, None, h0, c0, cell=cell, hidden_size=4, train=True, bidirectional=False)
