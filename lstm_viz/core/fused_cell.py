"""The LSTM cell's elementwise half in one GPU kernel: for every layer, direction, sequence and unit at once, the
gates' nonlinearities, the c recurrence and m = o ⊙ tanh(c) — what ``replay`` otherwise does in some 2√T + 5 PyTorch
calls per direction (on a GPU each call costs microseconds of launch whatever its size, and each reads and writes
the whole gates buffer again).

Written in Triton, which PyTorch's CUDA builds for Linux install; without it (or on the CPU) ``replay`` keeps its
PyTorch calls (:func:`lstm_viz.core.lstm_strategies.cell_states`). If Triton is there but cannot build the kernel
(no C compiler, say), the first call warns once and every later call takes the PyTorch path.

One program per (layer, direction, sequence) and block of units walks the steps in the direction's order, so the
recurrence needs no scan: each step loads the four pre-activations, and stores the four gates (in place), c and m.
Arithmetic is in float32 and the state is carried in float32 (as the fused kernels carry it); the gates and c are
rounded to the buffers' dtype before they are used, so that the stored numbers satisfy the equations the recording
shows (c_t = f c_{t-1} + i g, m_t = o tanh(c_t)) to that dtype's rounding.
"""

from __future__ import annotations

import contextlib
import os
import warnings

import torch
from torch import Tensor

try:  # an optional dependency: the kernel is used only where it imports
    import triton
    import triton.language as tl
except ImportError:  # pragma: no cover - depends on the install
    triton = None

__all__ = ["available", "lstm_cell", "status"]

_DTYPES = (torch.float32, torch.float16, torch.bfloat16)
_BROKEN: str | None = None  # why the kernel could not be built in this process, once it failed


def _interpreting() -> bool:
    """Triton's CPU interpreter (TRITON_INTERPRET=1): how the tests run the kernel without a GPU."""
    return os.environ.get("TRITON_INTERPRET", "") == "1"


def available(t: Tensor, *, interpreter: bool = False) -> bool:
    """Whether :func:`lstm_cell` can run on tensors like ``t``: a float dtype on CUDA, or (``interpreter``, for
    tests) on the CPU under Triton's interpreter."""
    if triton is None or _BROKEN is not None or t.dtype not in _DTYPES:
        return False
    return t.is_cuda or (interpreter and _interpreting() and t.device.type == "cpu")


def status() -> str:
    """One line for reports: whether the fused kernel is in use, and if not why."""
    if triton is None:
        return "fused cell kernel: off (Triton is not installed)"
    if _BROKEN is not None:
        return f"fused cell kernel: off (it failed to build: {_BROKEN})"
    return f"fused cell kernel: on CUDA (Triton {triton.__version__})"


if triton is not None:

    @triton.jit
    def _sigmoid(x):
        return 1.0 / (1.0 + tl.exp(-x))

    @triton.jit
    def _tanh(x):
        # tanh x = 1 - 2 / (e^{2x} + 1): exact at both saturations (e^{2x} → inf gives 1, → 0 gives -1)
        return 1.0 - 2.0 / (tl.exp(2.0 * x) + 1.0)

    @triton.jit
    def _lstm_cell_kernel(gates, c0, c, m, T, B, H, D, BLOCK: tl.constexpr):
        row = tl.program_id(0)  # (layer · D + direction) · B + sequence
        lane = row // B  # layer · D + direction
        reverse = lane % D  # 1 for the backward direction: t runs T-1 … 0
        b = row % B
        cols = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
        mask = cols < H
        dtype = c.dtype.element_ty
        state = tl.load(c0 + row.to(tl.int64) * H + cols, mask=mask, other=0.0).to(tl.float32)
        for s in tl.range(0, T, num_stages=4):  # loads of later steps issued ahead (they need no state)
            t = s + reverse * (T - 1 - 2 * s)
            step = (lane.to(tl.int64) * T + t) * B + b  # (lane, t, b) in the (L·D, T, B, ·) buffers
            pre = gates + step * 4 * H + cols
            i = _sigmoid(tl.load(pre, mask=mask, other=0.0).to(tl.float32)).to(dtype)
            f = _sigmoid(tl.load(pre + H, mask=mask, other=0.0).to(tl.float32)).to(dtype)
            g = _tanh(tl.load(pre + 2 * H, mask=mask, other=0.0).to(tl.float32)).to(dtype)
            o = _sigmoid(tl.load(pre + 3 * H, mask=mask, other=0.0).to(tl.float32)).to(dtype)
            tl.store(pre, i, mask=mask)
            tl.store(pre + H, f, mask=mask)
            tl.store(pre + 2 * H, g, mask=mask)
            tl.store(pre + 3 * H, o, mask=mask)
            state = f.to(tl.float32) * state + i.to(tl.float32) * g.to(tl.float32)
            c_t = state.to(dtype)
            tl.store(c + step * H + cols, c_t, mask=mask)
            tl.store(m + step * H + cols, (o.to(tl.float32) * _tanh(c_t.to(tl.float32))).to(dtype), mask=mask)


def lstm_cell(gates: Tensor, c0: Tensor, c: Tensor, m: Tensor, *, interpreter: bool = False) -> bool:
    """gates (L, D, T, B, 4H) holds the pre-activations in the kernel's order i, f, g, o; in place, it becomes the
    gates σ(i), σ(f), tanh(g), σ(o), and c, m (L, D, T, B, H) get c_t = f c_{t-1} + i g (c_{-1} = c0, (L, D, B, H);
    direction 1 runs backward in t) and m_t = o tanh(c_t). All contiguous, on one device, of one dtype.

    Returns False, having touched nothing, where the kernel cannot run (see :func:`available`, or a first build
    that failed): the caller then takes the PyTorch path.
    """
    global _BROKEN
    if not available(gates, interpreter=interpreter):
        return False
    L, D, T, B, H4 = gates.shape
    H = H4 // 4
    if not (gates.is_contiguous() and c.is_contiguous() and m.is_contiguous()):
        raise ValueError("lstm_cell needs contiguous gates, c and m buffers")
    c0 = c0.to(gates.dtype).contiguous()
    BLOCK = min(128, triton.next_power_of_2(H))
    grid = (L * D * B, triton.cdiv(H, BLOCK))
    # Triton launches on the current CUDA device: make it the buffers' (a model on cuda:1 while cuda:0 is current)
    on_device = torch.cuda.device(gates.device) if gates.is_cuda else contextlib.nullcontext()
    try:
        with on_device:
            _lstm_cell_kernel[grid](gates, c0, c, m, T, B, H, D, BLOCK=BLOCK)
    except Exception as err:  # a kernel that cannot be built: say so once, then the PyTorch path for good
        if isinstance(err, torch.OutOfMemoryError) or "out of memory" in str(err):
            raise
        _BROKEN = " ".join(str(err).split())[:200] or type(err).__name__
        warnings.warn(
            f"lstm_viz: the fused GPU cell kernel could not run ({_BROKEN}); recording goes on with PyTorch "
            "calls (slower on a GPU; the same values up to rounding)",
            RuntimeWarning,
            stacklevel=2,
        )
        return False
    return True
