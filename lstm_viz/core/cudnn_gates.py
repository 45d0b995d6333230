"""On CUDA, every step's gates and cell state of an LSTM layer, read from cuDNN's own memory instead of recomputed.

cuDNN's LSTM forward in training mode keeps what its backward pass needs in a *reserve space*, which
``torch._cudnn_rnn`` returns: every step's cell state c and the four gates after their nonlinearities. That is the
whole recording of the layer but h, which is the output. Reading it costs nothing beyond the forward pass in
training mode (about 1.07× the inference mode nn.LSTM's eval forward runs, at (256, 512, 128, 1024) on an H200);
``replay`` instead recomputes the gates with one more matrix product over every step and runs the c recurrence
again (1.4× there).

The layout is not documented. Seen with cuDNN 9.19 (PyTorch 2.11, H200), one layer, one or both directions, by
searching the reserve's bytes for the values ``replay`` computes (``benchmarks/cudnn_reserve_probe.py``; its
findings: docs/measurements/cudnn_reserve_h200.txt): c as (D, T, B, H) at the start, then the gates as
(D, T, B, 4H) in the weights' order i, f, g, o, right after c (in float16 once seen after c rounded up to 128
elements). So the layout is *checked*, as
:mod:`lstm_viz.core.kernel_gates` checks oneDNN's: once per size, against cuDNN's own outputs at both ends of every
direction (c_n is the last c; c at the first step is f ⊙ c0 + i ⊙ g; c at the last step is f ⊙ c_prev + i ⊙ g; h
there is o ⊙ tanh(c)). A wrong offset or stride reads other steps, other gates or padding, and fails by far more
than rounding. Where no candidate offset passes, this dtype takes ``replay`` for the rest of the process
(:func:`available` says False) — or, where other sizes of the dtype passed, that size alone does (its recordings
say ``strategy: replay``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import torch
from torch import Tensor

from lstm_viz.core.cudnn_layer import run_lstm_layer_training

__all__ = ["LayerGates", "available", "gates_offset_candidates", "read_reserve", "run_layer"]

_DTYPES = (torch.float32, torch.float16, torch.bfloat16)
# Element-wise check tolerances per dtype (the reserve holds values rounded to the dtype; the check recomputes the
# equations in float32 from them).
_TOL = {
    torch.float32: dict(rtol=1e-4, atol=1e-5),
    torch.float16: dict(rtol=4e-3, atol=4e-3),
    torch.bfloat16: dict(rtol=3e-2, atol=3e-2),
}
_lock = threading.Lock()
_failed: set[torch.dtype] = set()  # dtypes whose first layout check failed in this process: replay from then on
_offsets: dict[tuple, int] = {}  # (dtype, T, B, input, H, D, weight count) → the gates' offset that passed the check
_odd_sizes: set[tuple] = set()  # sizes whose check failed in a dtype that passed at other sizes: replay for them


@dataclass
class LayerGates:
    """One layer, both directions where it has two: what nn.LSTM returns for it and what cuDNN kept.

    ``output`` (T, B, D·H), ``h_n`` and ``c_n`` (D, B, H) are cuDNN's training-mode results; ``gates`` (D, T, B, 4H)
    holds i, f, g, o after their nonlinearities and ``c`` (D, T, B, H) every step's cell state: views of the
    reserve space (nothing copied), t in input order for both directions."""

    output: Tensor
    h_n: Tensor
    c_n: Tensor
    gates: Tensor
    c: Tensor


def available(weight: Tensor, proj_size: int) -> bool:
    """Whether :func:`run_layer` can record a module with this weight: CUDA with cuDNN acceptable, float32, float16
    or bfloat16, no projections (cuDNN's reserve of a projected LSTM is not read here), and no failed layout check
    for the dtype so far."""
    return (
        weight.is_cuda
        and proj_size == 0
        and weight.dtype in _DTYPES
        and weight.dtype not in _failed
        and torch.backends.cudnn.is_acceptable(weight)
    )


def gates_offset_candidates(n_c: int) -> list[int]:
    """Where the gates may start, in elements, after c's ``n_c``: right after it, or rounded up to an alignment."""
    return sorted({-(-n_c // a) * a for a in (1, 2, 4, 8, 16, 32, 64, 128, 256)})


def read_reserve(reserve: Tensor, dtype: torch.dtype, D: int, T: int, B: int, H: int, offset: int):
    """(gates (D, T, B, 4H), c (D, T, B, H)) as views of the reserve bytes, with the gates at element ``offset``;
    None if the reserve is too small to hold them there."""
    n_c = D * T * B * H
    size = torch.empty((), dtype=dtype).element_size()
    nbytes = (offset + 4 * n_c) * size
    raw = reserve.view(torch.uint8).reshape(-1)
    if raw.numel() < nbytes or raw.data_ptr() % size:
        return None
    flat = raw[:nbytes].view(dtype)
    return flat[offset : offset + 4 * n_c].view(D, T, B, 4 * H), flat[:n_c].view(D, T, B, H)


def consistent(out: Tensor, c_n: Tensor, gates: Tensor, c: Tensor, c0: Tensor) -> bool:
    """The layout check: at both ends of every direction, c and the gates read from the reserve against cuDNN's
    own c_n and output (see the module's docstring). Recomputed in float32; NaN in, NaN out is not a failure."""
    D, T, _, H4 = gates.shape
    H = H4 // 4
    tol = dict(_TOL[gates.dtype], equal_nan=True)
    for d in range(D):
        first, last, step = (0, T - 1, 1) if d == 0 else (T - 1, 0, -1)
        i, f, g, o = gates[d, last].float().split(H, dim=-1)
        c_prev = c[d, last - step].float() if T > 1 else c0[d].float()
        c_last = c[d, last].float()
        h_last = out[last, :, d * H : (d + 1) * H].float()
        i0, f0, g0, _ = gates[d, first].float().split(H, dim=-1)
        if not (
            torch.allclose(c_last, c_n[d].float(), **tol)
            and torch.allclose(c_last, f * c_prev + i * g, **tol)
            and torch.allclose(h_last, o * torch.tanh(c_last), **tol)
            and torch.allclose(c[d, first].float(), f0 * c0[d].float() + i0 * g0, **tol)
        ):
            return False
    return True


def run_layer(x: Tensor, h0: Tensor, c0: Tensor, params: list[Tensor], bidirectional: bool, H: int):
    """One layer (one or both directions) of an LSTM without projections through cuDNN in training mode, with its
    gates and c read from the reserve space: a :class:`LayerGates`, or None where that is not possible (then the
    caller replays). ``x`` is time-major (T, B, input); ``h0``/``c0`` (D, B, H) in the weights' dtype; ``params`` the
    layer's flat weight list (per direction w_ih, w_hh[, b_ih, b_hh])."""
    dtype = params[0].dtype
    if dtype in _failed or c0.dtype != dtype or x.dtype != dtype:
        return None
    T, B, input_size = x.shape
    D = 2 if bidirectional else 1
    key = (dtype, T, B, input_size, H, D, len(params))
    if key in _odd_sizes:  # known not to read: the caller replays, without a training-mode call first
        return None
    out, h_n, c_n, reserve = run_lstm_layer_training(x, (h0, c0), params, bidirectional, H)
    offset = _offsets.get(key)
    views = None if offset is None else read_reserve(reserve, dtype, D, T, B, H, offset)
    if views is not None:
        return LayerGates(out, h_n, c_n, *views)
    for offset in gates_offset_candidates(D * T * B * H):  # a new size: find the layout and check it
        views = read_reserve(reserve, dtype, D, T, B, H, offset)
        if views is not None and consistent(out, c_n, *views, c0):
            with _lock:
                _offsets[key] = offset
            return LayerGates(out, h_n, c_n, *views)
    with _lock:  # another layout altogether (no size of this dtype passed), or one odd size of a known layout
        if any(k[0] == dtype for k in _offsets):
            _odd_sizes.add(key)
        else:
            _failed.add(dtype)
    return None
