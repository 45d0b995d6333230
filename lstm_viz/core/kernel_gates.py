"""Read the gates and cell states that PyTorch's fused CPU LSTM kernel (oneDNN) already computed.

On the CPU, ``nn.LSTM`` runs each layer and direction through ``aten::mkldnn_rnn_layer``, a oneDNN RNN primitive.
In *training* mode that primitive keeps, for its backward pass, a workspace that holds every step's activated
gates i, f, g, o and every cell state c. Reading them back costs nothing: recording then runs the kernel once, at
the kernel's speed, instead of computing all gates a second time.

The workspace layout is oneDNN's, not a public API, so this module

- derives it from oneDNN's own rules (``rnn_utils::set_offsets``: regions page-aligned in the order gates, ht,
  states, c; leading dimensions padded by ``get_good_ld``),
- checks each new size against numbers it knows independently — the last step read from the workspace must
  satisfy c_n = f⊙c_prev + i⊙g with the kernel's own c_n, and h = o⊙tanh(c_n) with the kernel's own output — and
- returns ``None`` whenever it is unavailable (no oneDNN, not float32 on the CPU, projections, a layout check that
  fails), so the caller falls back to computing the gates itself.

``record_layer`` runs a layer a chunk of steps at a time, so that each workspace stays small enough for malloc to
hand the same memory back on the next call (a fresh mapping costs a page fault per 4 KiB page), and copies each
chunk's gates and states into the caller's buffers while they are still in cache. The outputs are bit-identical to
``nn.LSTM`` run with autograd enabled (the same kernel in the same mode; the chunks carry h and c exactly as the
kernel carries them from step to step); with autograd off nn.LSTM uses oneDNN's inference variant, which can differ
from it by about 1e-7.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
from torch import Tensor

from lstm_viz.core.allocator import kept_threshold

__all__ = ["LayerTrace", "fits_one_call", "kernel_available", "record_layer", "run_layer", "steps_per_call"]

_PAGE = 4096  # bytes; oneDNN page-aligns each workspace region
_FLOAT = 4  # bytes per float32
_MODE_LSTM = 2  # aten's RNN mode code for LSTM
_layout_ok = True  # cleared (for this process) the first time a layout check fails
_checked: set[tuple[int, int, int, int]] = set()  # (T, B, input_size, H) whose layout passed the check


@dataclass
class LayerTrace:
    """One layer and direction: what nn.LSTM returns for it, plus the kernel's own gates and cell states.

    ``gates`` is (T, B, 4H) laid out i, f, g, o and ``c`` is (T, B, H), both views into the kernel's workspace in
    the order the kernel *processed* the steps: position order for the forward direction, reversed (index j holds
    position T-1-j) when ``time_reversed``.
    """

    output: Tensor  # (T, B, H), position order
    h_n: Tensor  # (B, H)
    c_n: Tensor  # (B, H)
    gates: Tensor
    c: Tensor
    time_reversed: bool
    workspace_bytes: int = 0


def kernel_available(weight: Tensor, proj_size: int) -> bool:
    """True when nn.LSTM would run this module on oneDNN and the workspace can be read."""
    return (
        _layout_ok
        and weight.device.type == "cpu"
        and weight.dtype == torch.float32
        and proj_size == 0
        and torch.backends.mkldnn.is_available()
        and torch.backends.mkldnn.enabled
    )


def _good_ld(dim: int) -> int:
    """oneDNN's leading dimension for float32: a multiple of 64 bytes, never a multiple of 1 KiB (4K aliasing)."""
    step = 64 // _FLOAT
    ld = -(-dim // step) * step
    return ld + step if ld % 256 == 0 else ld


def _page(nbytes: int) -> int:
    return -(-nbytes // _PAGE) * _PAGE


def _workspace_views(ws: Tensor, T: int, B: int, input_size: int, H: int) -> tuple[Tensor, Tensor] | None:
    """(gates (T, B, 4H), c (T, B, H)) as views of the workspace, or None if it is smaller than the layout says."""
    gates_ld = _good_ld(4 * H)
    gates_bytes = T * B * gates_ld * _FLOAT
    ht_bytes = T * B * _good_ld(H) * _FLOAT
    states_bytes = 2 * (T + 1) * B * _good_ld(max(input_size, H)) * _FLOAT  # (layers + 1, dir, T + 1, B, ld)
    c_offset = _page(_page(_page(gates_bytes) + ht_bytes) + states_bytes)
    c_bytes = 2 * (T + 1) * B * H * _FLOAT  # (layers + 1, dir, T + 1, B, H); step j at [1, 0, j + 1]
    # (the kernel writes the last step's c only to c_n; run_layer copies it into its slot)
    if ws.dtype != torch.uint8 or ws.dim() != 1 or ws.numel() < c_offset + c_bytes or ws.numel() % _FLOAT:
        return None
    flat = ws.view(torch.float32)
    gates = flat.as_strided((T, B, 4 * H), (B * gates_ld, gates_ld, 1))
    c_first = c_offset // _FLOAT + (T + 2) * B * H
    c = flat.as_strided((T, B, H), (B * H, H, 1), c_first)
    return gates, c


def _consistent(trace: LayerTrace, c0: Tensor) -> bool:
    """Check the decoded layout against the kernel's own output at the last step.

    c_T = f_T ⊙ c_{T-1} + i_T ⊙ g_T (all four read from the workspace; c_T is the kernel's c_n) and
    h_T = o_T ⊙ tanh(c_T) (h_T from the kernel's output). A wrong offset or stride reads unrelated memory (other
    steps, padding, other regions) and fails these by far more than float rounding.
    """
    H = trace.c.shape[-1]
    i, f, g, o = trace.gates[-1].split(H, dim=-1)
    c_prev = trace.c[-2] if trace.c.shape[0] > 1 else c0
    h_last = trace.output[0 if trace.time_reversed else -1]
    tol = {"rtol": 1e-4, "atol": 1e-5, "equal_nan": True}  # NaN in, NaN out: not a layout error
    return torch.allclose(trace.c_n, f * c_prev + i * g, **tol) and torch.allclose(
        h_last, o * torch.tanh(trace.c_n), **tol
    )


def run_layer(
    x: Tensor,
    weights: tuple[Tensor, Tensor, Tensor | None, Tensor | None],
    h0: Tensor,
    c0: Tensor,
    *,
    reverse: bool,
    num_layers: int,
    bidirectional: bool,
) -> LayerTrace | None:
    """Run one layer/direction exactly as nn.LSTM does on oneDNN, keeping the gates; None if that is not possible.

    ``x`` is time-major (T, B, input_size); ``weights`` are W_ih, W_hh, b_ih, b_hh (biases may be None);
    ``h0``/``c0`` are (B, H). ``num_layers`` and ``bidirectional`` are the whole module's, passed through as
    nn.LSTM passes them.
    """
    global _layout_ok
    w_ih, w_hh, b_ih, b_hh = (w.detach() if w is not None else None for w in weights)
    H = w_hh.shape[1]
    T, B, input_size = x.shape
    if b_ih is None:  # as nn.LSTM does without biases: zero tensors, has_biases=False
        b_ih, b_hh = torch.zeros_like(w_ih), torch.zeros_like(w_hh)
        has_biases = False
    else:
        has_biases = True
    with torch.enable_grad():  # the workspace exists only when autograd is on; nothing here requires grad
        output, h_n, c_n, ws = torch.ops.aten.mkldnn_rnn_layer(
            x.detach().contiguous(),  # the op reads raw (T, B, features) memory
            w_ih,
            w_hh,
            b_ih,
            b_hh,
            h0.detach().contiguous(),
            c0.detach().contiguous(),
            reverse,
            [],
            _MODE_LSTM,
            H,
            num_layers,
            has_biases,
            bidirectional,
            False,
            True,
        )
    views = _workspace_views(ws, T, B, input_size, H) if ws is not None else None
    if views is None:
        _layout_ok = False
        return None
    gates, c = views
    c[-1].copy_(c_n)  # the last step's c went only to c_n; its workspace slot is unused
    trace = LayerTrace(output, h_n, c_n, gates, c, time_reversed=reverse, workspace_bytes=ws.numel())
    # The layout is a function of the sizes alone, so each size is checked once per process.
    sizes = (T, B, input_size, H)
    if sizes not in _checked:
        if not _consistent(trace, c0):
            _layout_ok = False
            return None
        _checked.add(sizes)
    return trace


# How long a kernel call is. glibc maps blocks over its mmap threshold afresh on every call — a page fault per 4 KiB
# page when written — and raises that threshold to the size of a freed mapped block if that block is at most 32 MiB
# (DEFAULT_MMAP_THRESHOLD_MAX on 64-bit), so workspaces under 32 MiB come from the heap, already faulted in, from the
# second call on. Chunking does not change a bit of the result (tested); each chunk costs a kernel call (weights
# reordered again).
#
# - One layer, one direction whose whole workspace fits WORKSPACE_BUDGET (31 MiB, just under glibc's limit with room
#   for malloc's header; or the threshold up to which malloc was told to keep freed memory, if larger) runs in one
#   call, and the recording *is* that workspace: nothing is copied. At (1, 1000, 32, 512) the 29.8 MiB workspace
#   then fits: record 1.13× nn.LSTM forward instead of 1.21× with 24 MiB chunks.
# - Anything else is copied out of the workspace chunk by chunk, right after each call, and CHUNK_BUDGET (16 MiB)
#   keeps a chunk's workspace and the rows it is copied into within the last-level cache (32 MiB here). Measured
#   2026-11-27 on this 2-core EPYC, one process, budgets interleaved, median of 41: 2-layer bidirectional
#   (16, 200, 32, 128) 1.22-1.27× nn.LSTM forward with 16 MiB chunks against 1.26-1.35× with 31 MiB ones, and
#   (32, 256, 64, 256) 1.05-1.06× against 1.12-1.14× (12 MiB: about as 16; 4 MiB and less: slower, calls dominate).
WORKSPACE_BUDGET = 31 << 20
CHUNK_BUDGET = 16 << 20
_ws_bytes_per_step: dict[tuple[int, int, int, int, bool], float] = {}  # measured per (B, input, H, layers, bidir)


def _bytes_per_step(key: tuple[int, int, int, int, bool]) -> float:
    per_step = _ws_bytes_per_step.get(key)
    if per_step is None:  # not measured yet: twice the layout's regions, on the safe side
        B, input_size, H = key[:3]
        per_step = 2 * _FLOAT * B * (_good_ld(4 * H) + _good_ld(H) + 2 * _good_ld(max(input_size, H)) + 2 * H)
    return per_step


def _chunk_steps(T: int, key: tuple[int, int, int, int, bool]) -> int:
    """Steps per kernel call when the workspace is copied out: chunks of (nearly) equal length, each workspace
    under CHUNK_BUDGET."""
    most = max(1, int(CHUNK_BUDGET // _bytes_per_step(key)))
    chunks = -(-T // most)
    return -(-T // chunks)  # (200 steps, at most 92 a call: 67, 67, 66 rather than 92, 92, 16)


def fits_one_call(T: int, B: int, input_size: int, H: int, *, num_layers: int, bidirectional: bool) -> bool:
    """Whether a layer of these sizes runs in one kernel call whose workspace is kept as the recording (see above:
    WORKSPACE_BUDGET, or malloc's kept threshold if larger)."""
    budget = max(WORKSPACE_BUDGET, kept_threshold())
    return T * _bytes_per_step((B, input_size, H, num_layers, bidirectional)) <= budget


def steps_per_call(T: int, B: int, input_size: int, H: int, *, num_layers: int, bidirectional: bool) -> int:
    """How many steps ``record_layer`` (which copies the workspace out) runs per kernel call for these sizes."""
    return _chunk_steps(T, (B, input_size, H, num_layers, bidirectional))


@functools.lru_cache(maxsize=64)
def _reversed_steps(n: int, device: torch.device) -> Tensor:
    """n-1, …, 0: where each step a backward chunk ran lands in position order."""
    return torch.arange(n - 1, -1, -1, device=device)


def record_layer(
    x: Tensor,
    weights: tuple[Tensor, Tensor, Tensor | None, Tensor | None],
    h0: Tensor,
    c0: Tensor,
    *,
    reverse: bool,
    num_layers: int,
    bidirectional: bool,
    gates: Tensor,
    c: Tensor,
    output: Tensor,
) -> tuple[Tensor, Tensor] | None:
    """One layer/direction through the kernel, a chunk of steps at a time, writing into the caller's buffers.

    ``x`` is time-major (T, B, input_size). Writes, in position order, ``gates`` (T, B, 4H; laid out i, f, g, o),
    ``c`` (T, B, H) and ``output`` (T, B, H, may be strided) and returns ``(h_n, c_n)``; None if the workspace
    cannot be read (nothing useful is written then). Each chunk starts from the state the previous one (in the
    direction's order) ended in, exactly as the kernel carries it from step to step.
    """
    T, B, input_size = x.shape
    H = weights[1].shape[1]
    key = (B, input_size, H, num_layers, bidirectional)
    steps = _chunk_steps(T, key)
    starts = list(range(0, T, steps))
    h, cc = h0, c0
    for t0 in reversed(starts) if reverse else starts:
        t1 = min(T, t0 + steps)
        trace = run_layer(x[t0:t1], weights, h, cc, reverse=reverse, num_layers=num_layers, bidirectional=bidirectional)
        if trace is None:
            return None
        if key not in _ws_bytes_per_step:
            _ws_bytes_per_step[key] = trace.workspace_bytes / (t1 - t0)
        if reverse:  # the workspace holds the steps in the order they ran: back to position order
            back = _reversed_steps(t1 - t0, x.device)
            torch.index_select(trace.gates, 0, back, out=gates[t0:t1])
            torch.index_select(trace.c, 0, back, out=c[t0:t1])
        else:
            gates[t0:t1].copy_(trace.gates)
            c[t0:t1].copy_(trace.c)
        output[t0:t1].copy_(trace.output)
        h, cc = trace.h_n, trace.c_n
        del trace  # frees this chunk's workspace before the next one is allocated, so malloc hands it back
    return h, cc
