"""Recording on CUDA from cuDNN's reserve space (lstm_viz/core/cudnn_gates.py).

On the CPU: the decoding, the layout check and the assembly into a Recording, with a stand-in for cuDNN's
training-mode call that lays out a CPU recording as cuDNN does. On CUDA (skipped without): the real thing against
replay."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lstm_viz import RecordingLSTM
from lstm_viz.core import cudnn_gates

NAMES = ("i", "f", "g", "o", "c", "m", "h")


def reserve_like_cudnn(c: torch.Tensor, gates: torch.Tensor, align: int = 1) -> torch.Tensor:
    """Bytes laid out as cuDNN's reserve was seen: c (D, T, B, H), the gates (D, T, B, 4H) after c rounded up to
    ``align`` elements, then a tail; the gaps hold unrelated numbers."""
    n_c = c.numel()
    offset = -(-n_c // align) * align
    flat = torch.randn(offset + 4 * n_c + 64, dtype=c.dtype, generator=torch.Generator().manual_seed(7))
    flat[:n_c] = c.reshape(-1)
    flat[offset : offset + 4 * n_c] = gates.reshape(-1)
    return flat.view(torch.uint8)


def fake_training_call(align: int = 1, damage=None):
    """A stand-in for cudnn_layer.run_lstm_layer_training on the CPU: the layer recorded by the per-step loop, its
    gates and c laid out as cuDNN's reserve (``damage`` may change the gates first)."""

    def run(x, hx, params, bidirectional, H):
        D = 2 if bidirectional else 1
        lstm = nn.LSTM(x.shape[-1], H, 1, bias=len(params) // D == 4, bidirectional=bidirectional)
        with torch.no_grad():
            for mine, given in zip(lstm._flat_weights, params, strict=True):
                mine.copy_(given)
        rec = RecordingLSTM.from_lstm(lstm).record(x, hx, strategy="loop")
        gates = torch.cat([getattr(rec, n)[0].transpose(1, 2) for n in "ifgo"], -1)  # (D, T, B, 4H)
        if damage is not None:
            gates = damage(gates)
        return rec.output, rec.h_n, rec.c_n, reserve_like_cudnn(rec.c[0].transpose(1, 2), gates, align)

    return run


@pytest.fixture
def fresh_layouts(monkeypatch):
    """No layout remembered or failed from another test."""
    monkeypatch.setattr(cudnn_gates, "_offsets", {})
    monkeypatch.setattr(cudnn_gates, "_failed", set())
    monkeypatch.setattr(cudnn_gates, "_odd_sizes", set())


def one_layer(D=1, T=5, B=3, I=4, H=8, bias=True, seed=0):
    torch.manual_seed(seed)
    lstm = nn.LSTM(I, H, 1, bias=bias, bidirectional=D == 2)
    x = torch.randn(T, B, I)
    h0, c0 = torch.randn(D, B, H) * 0.5, torch.randn(D, B, H) * 0.5
    return lstm, x, h0, c0


def test_offset_candidates_start_right_after_c_then_aligned():
    assert cudnn_gates.gates_offset_candidates(120) == [120, 128, 256]
    assert cudnn_gates.gates_offset_candidates(1344) == [1344, 1408, 1536]
    assert cudnn_gates.gates_offset_candidates(512)[0] == 512


@pytest.mark.parametrize("D", [1, 2])
@pytest.mark.parametrize("align", [1, 128])
def test_run_layer_finds_the_layout_and_reads_views(monkeypatch, fresh_layouts, D, align):
    monkeypatch.setattr(cudnn_gates, "run_lstm_layer_training", fake_training_call(align))
    lstm, x, h0, c0 = one_layer(D=D)
    got = cudnn_gates.run_layer(x, h0, c0, list(lstm._flat_weights), D == 2, 8)
    assert got is not None
    want = RecordingLSTM.from_lstm(lstm).record(x, (h0, c0), strategy="loop")
    for n, name in enumerate("ifgo"):
        torch.testing.assert_close(got.gates[..., n * 8 : (n + 1) * 8], getattr(want, name)[0].transpose(1, 2))
    torch.testing.assert_close(got.c, want.c[0].transpose(1, 2))
    torch.testing.assert_close(got.output, want.output)
    ((key, offset),) = cudnn_gates._offsets.items()
    assert offset == -(-D * 5 * 3 * 8 // align) * align and key[0] == torch.float32
    # the second call of the size reads the remembered offset (no check: a damaged reserve now goes unnoticed)
    monkeypatch.setattr(cudnn_gates, "consistent", lambda *a: pytest.fail("checked twice"))
    assert cudnn_gates.run_layer(x, h0, c0, list(lstm._flat_weights), D == 2, 8) is not None


@pytest.mark.parametrize(
    "damage",
    [
        lambda g: g.roll(1, dims=-1),  # gates one element off
        lambda g: g.roll(1, dims=1),  # steps one off
        lambda g: torch.cat([g[..., 8:16], g[..., :8], g[..., 16:]], -1),  # i and f swapped
        lambda g: g.flip(0),  # directions swapped (the same for one direction: flip a step instead)
    ],
    ids=["element", "step", "i-f", "direction"],
)
def test_a_layout_that_does_not_check_out_is_refused_and_the_dtype_replays(monkeypatch, fresh_layouts, damage):
    monkeypatch.setattr(cudnn_gates, "run_lstm_layer_training", fake_training_call(damage=damage))
    lstm, x, h0, c0 = one_layer(D=2)
    assert cudnn_gates.run_layer(x, h0, c0, list(lstm._flat_weights), True, 8) is None
    assert torch.float32 in cudnn_gates._failed
    assert not cudnn_gates.available(torch.zeros(1, device="meta"), 0)  # not CUDA anyway; and never again for it


def test_one_odd_size_of_a_layout_that_passed_elsewhere_replays_alone(monkeypatch, fresh_layouts):
    """A dtype whose layout checked out at one size keeps the reserve path when another size fails its check: that
    size replays (and is not checked again), the others still read the reserve."""
    lstm, x, h0, c0 = one_layer(T=5)
    params = list(lstm._flat_weights)
    monkeypatch.setattr(cudnn_gates, "run_lstm_layer_training", fake_training_call())
    assert cudnn_gates.run_layer(x, h0, c0, params, False, 8) is not None
    monkeypatch.setattr(cudnn_gates, "run_lstm_layer_training", fake_training_call(damage=lambda g: g.roll(1, -1)))
    assert cudnn_gates.run_layer(x[:4], h0, c0, params, False, 8) is None  # T = 4: this size's layout is odd
    assert torch.float32 not in cudnn_gates._failed and len(cudnn_gates._odd_sizes) == 1
    monkeypatch.setattr(cudnn_gates, "run_lstm_layer_training", lambda *a: pytest.fail("cuDNN called for it"))
    assert cudnn_gates.run_layer(x[:4], h0, c0, params, False, 8) is None  # remembered: not tried (nor run) again
    monkeypatch.setattr(cudnn_gates, "run_lstm_layer_training", fake_training_call())
    assert cudnn_gates.run_layer(x, h0, c0, params, False, 8) is not None  # T = 5 still reads the reserve


def test_nan_in_the_input_is_not_a_layout_failure(monkeypatch, fresh_layouts):
    monkeypatch.setattr(cudnn_gates, "run_lstm_layer_training", fake_training_call())
    lstm, x, h0, c0 = one_layer()
    x[2, 1] = float("nan")
    assert cudnn_gates.run_layer(x, h0, c0, list(lstm._flat_weights), False, 8) is not None


def test_a_reserve_too_small_for_the_gates_is_refused(fresh_layouts):
    assert cudnn_gates.read_reserve(torch.zeros(100, dtype=torch.uint8), torch.float32, 1, 5, 3, 8, 120) is None


@pytest.mark.parametrize(
    "layers, bidirectional, batch_first, bias, batched",
    [
        (1, False, False, True, True),
        (1, True, True, True, True),
        (2, True, True, True, True),
        (3, False, False, False, True),
        (2, True, False, True, False),
    ],
)
def test_the_recording_from_cudnns_reserve_equals_replay(
    monkeypatch, fresh_layouts, layers, bidirectional, batch_first, bias, batched
):
    """The assembly of ``_record_from_cudnn`` (views for one layer, copies for several), run on the CPU with the
    stand-in for cuDNN: every recorded tensor and output, h_n, c_n as replay gives them."""
    monkeypatch.setattr(cudnn_gates, "run_lstm_layer_training", fake_training_call(align=128))
    torch.manual_seed(1)
    model = RecordingLSTM(4, 6, layers, bias=bias, batch_first=batch_first, bidirectional=bidirectional)
    L, D, H, T, B = layers, 2 if bidirectional else 1, 6, 7, 3
    x = torch.randn((B, T, 4) if batch_first else (T, B, 4)) if batched else torch.randn(T, 4)
    hx = (torch.randn(L * D, B, H), torch.randn(L * D, B, H)) if batched else None
    x_l = (x.transpose(0, 1) if batch_first else x) if batched else x.unsqueeze(1)
    h0 = hx[0].reshape(L, D, B, H) if batched else torch.zeros(L, D, 1, H)
    c0 = hx[1].reshape(L, D, B, H) if batched else torch.zeros(L, D, 1, H)
    with torch.no_grad():
        rec = model._record_from_cudnn(x, x_l, h0, c0, batched, False, model._weights_now())
    want = model.record(x, hx, strategy="replay")
    assert rec.extras["strategy"] == "kernel"
    for name in (*NAMES, "output", "h_n", "c_n"):
        torch.testing.assert_close(getattr(rec, name), getattr(want, name), rtol=1e-5, atol=1e-6, msg=name)
    if layers == 1:  # views of the reserve and of the output, nothing copied
        assert rec.m.untyped_storage().data_ptr() == rec.output.untyped_storage().data_ptr()


# ---------------------------------------------------------------------------------------------------- on CUDA
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (cuDNN's reserve space)")


@pytest.fixture
def no_tf32(monkeypatch):
    """TF32 off: cuDNN's gates and replay's products then agree to float32 rounding (with TF32 on, each rounds its
    own products to 10-bit mantissas, ~1e-3 apart; gpu_check compares them that way too, with its TF32 tolerance)."""
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)


@cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize(
    "layers, bidirectional, bias, proj",
    [(1, False, True, 0), (2, True, True, 0), (1, True, False, 0), (2, False, True, 3)],
)
def test_on_cuda_the_kernel_strategy_reads_cudnn_and_equals_replay(no_tf32, dtype, layers, bidirectional, bias, proj):
    torch.manual_seed(0)
    ref = nn.LSTM(5, 16, layers, bias=bias, bidirectional=bidirectional, proj_size=proj, batch_first=True)
    model = RecordingLSTM.from_lstm(ref).to("cuda", dtype).eval()
    x = torch.randn(3, 40, 5, device="cuda", dtype=dtype)
    rec = model.record(x)
    replay = model.record(x, strategy="replay")
    tol = {torch.float32: 2e-5, torch.float16: 4e-3, torch.bfloat16: 3e-2}[dtype]
    if proj or not torch.backends.cudnn.is_acceptable(x):
        # cuDNN's reserve of a projected LSTM is not read; a dtype cuDNN does not take here (bfloat16 with some
        # PyTorch builds) is not run by cuDNN at all
        assert rec.extras["strategy"] == "replay"
        return
    if dtype in cudnn_gates._failed:
        pytest.skip(f"this cuDNN's {dtype} reserve did not pass the layout check: replay is used (tested below)")
    assert rec.extras["strategy"] == "kernel"
    for name in NAMES:
        torch.testing.assert_close(getattr(rec, name), getattr(replay, name), rtol=tol, atol=tol, msg=name)
    with torch.no_grad():
        out, (_, c_n) = model.train()(x)  # training mode: the cuDNN call record makes
    torch.testing.assert_close(rec.output, out, rtol=0, atol=0)
    torch.testing.assert_close(rec.c_n, c_n, rtol=0, atol=0)


@cuda
def test_on_cuda_a_failed_layout_check_falls_back_to_replay(monkeypatch, fresh_layouts, no_tf32):
    monkeypatch.setattr(cudnn_gates, "gates_offset_candidates", lambda n_c: [n_c + 1])  # never the right place
    torch.manual_seed(0)
    model = RecordingLSTM(5, 16, 2, bidirectional=True).cuda()
    x = torch.randn(30, 2, 5, device="cuda")
    rec = model.record(x)
    assert rec.extras["strategy"] == "replay" and torch.float32 in cudnn_gates._failed
    assert model._pick_strategy(2) == "replay"
    torch.testing.assert_close(rec.c, model.record(x, strategy="loop").c, rtol=1e-4, atol=1e-5)
