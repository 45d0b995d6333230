"""One layer of a multi-layer nn.LSTM / nn.GRU through the fused kernel, without cuDNN copying its weights.

Recording and the ablation sweep run the fused kernel one layer at a time: they need every layer's h sequence, which
a call for all layers keeps to itself. On CUDA an nn.LSTM's parameters are views into one flat cuDNN weight buffer for
all its layers (``flatten_parameters``), but PyTorch hands cuDNN that buffer only when it is exactly the size of the
call's weights. A call for one layer of several therefore copied the layer's weights into a fresh buffer first, on
every call (a zeroed allocation and one copy per weight tensor: 16 small kernels for a 2-layer bidirectional LSTM),
and warned "RNN module weights are not part of single contiguous chunk of memory".

When a layer's weights lie in the flat buffer exactly as cuDNN lays out a one-layer buffer of that shape, the layer's
slice of the flat buffer *is* such a buffer, and ``run_layer`` hands it to cuDNN itself (``torch._cudnn_rnn``, the
call ``_VF.lstm`` makes with the buffer it found). That is checked, not assumed: once per shape, cuDNN lays out a
one-layer buffer for throwaway weights (``torch._cudnn_rnn_flatten_weight``), giving each weight's offset in it and its
size; on every call, the layer's own weights must be contiguous views of one storage at those same offsets from one
start. Anything else (the CPU, cuDNN off, weights that are not views of a flat buffer, a layout that differs) takes
the ordinary call, with the same results.
"""

from __future__ import annotations

import threading
import warnings

import torch
from torch import Tensor

__all__ = ["run_layer"]

# False: always the ordinary call (benchmarks and tests compare the two).
NO_COPY = True

# (cell, dtype, device, weight shapes, bidirectional, hidden, proj) → each weight's offset in a one-layer cuDNN
# buffer of that shape and the buffer's size (None: not laid out as views)
_LAYOUTS: dict[tuple, tuple[tuple[int, ...], int] | None] = {}
_LAYOUTS_LOCK = threading.Lock()


def run_layer(
    cell: str,
    x: Tensor,
    hx: Tensor | tuple[Tensor, Tensor],
    params: list[Tensor],
    bias: bool,
    bidirectional: bool,
    hidden_size: int,
    proj_size: int = 0,
) -> tuple[Tensor, Tensor, Tensor | None]:
    """One layer (one or both directions) of an LSTM (``cell`` "lstm", ``hx`` = (h0, c0)) or GRU ("gru", ``hx`` = h0)
    with the fused kernel: time-major ``x`` (T, B, I) → (output (T, B, D·P), h_n (D, B, P), c_n (D, B, H) or None for
    a GRU). ``params`` is the layer's flat weight list as ``_VF.lstm``/``_VF.gru`` take it (per direction: w_ih,
    w_hh[, b_ih, b_hh][, w_hr])."""
    buffer = _layer_buffer(cell, x, params, bidirectional, hidden_size, proj_size) if NO_COPY else None
    if buffer is not None:
        h0, c0 = hx if cell == "lstm" else (hx, None)
        out, h_n, c_n, _, _ = torch._cudnn_rnn(
            x,
            params,
            len(params) // (2 if bidirectional else 1),
            buffer,
            h0.contiguous(),
            None if c0 is None else c0.contiguous(),
            _cudnn_mode(cell),
            hidden_size,
            proj_size,
            1,
            False,
            0.0,
            False,
            bidirectional,
            [],
            None,
        )
        return out, h_n, (c_n if cell == "lstm" else None)
    with warnings.catch_warnings():  # cuDNN: one layer's weights are not the whole flat buffer (copied for the call)
        warnings.filterwarnings("ignore", "RNN module weights are not part of single contiguous chunk")
        if cell == "gru":
            out, h_n = torch._VF.gru(x, hx, params, bias, 1, 0.0, False, bidirectional, False)
            return out, h_n, None
        out, h_n, c_n = torch._VF.lstm(x, hx, params, bias, 1, 0.0, False, bidirectional, False)
        return out, h_n, c_n


def _cudnn_mode(cell: str) -> int:
    from torch.backends.cudnn import rnn

    return rnn.get_cudnn_mode("LSTM" if cell == "lstm" else "GRU")


def _layer_buffer(
    cell: str, x: Tensor, params: list[Tensor], bidirectional: bool, hidden_size: int, proj_size: int
) -> Tensor | None:
    """The layer's slice of the flat weight buffer, where cuDNN can take it as the call's own buffer; else None."""
    if not x.is_cuda or not params or not torch.backends.cudnn.is_acceptable(x):
        return None
    first = params[0]
    storage = first.untyped_storage()
    for p in params:
        if (
            p.dtype != x.dtype
            or p.device != x.device
            or not p.is_contiguous()
            or p.untyped_storage().data_ptr() != storage.data_ptr()
        ):
            return None
    key = (cell, x.dtype, x.device, tuple(tuple(p.shape) for p in params), bidirectional, hidden_size, proj_size)
    with _LAYOUTS_LOCK:
        if key not in _LAYOUTS:
            _LAYOUTS[key] = _one_layer_layout(cell, params, bidirectional, hidden_size, proj_size)
        layout = _LAYOUTS[key]
    if layout is None:
        return None
    offsets, numel = layout
    start = first.storage_offset() - offsets[0]  # where a one-layer buffer would begin in the flat one
    if start < 0 or start + numel > storage.nbytes() // first.element_size():
        return None
    if any(p.storage_offset() - start != offset for p, offset in zip(params, offsets, strict=True)):
        return None
    if start == 0 and numel * first.element_size() == storage.nbytes():
        return None  # the weights are the whole buffer: the ordinary call already hands it over as it is
    return first.as_strided((numel,), (1,), start)


def _one_layer_layout(
    cell: str, params: list[Tensor], bidirectional: bool, hidden_size: int, proj_size: int
) -> tuple[tuple[int, ...], int] | None:
    """Where cuDNN puts each of these weights in a one-layer buffer of their shapes, and the buffer's size; None
    where it does not lay them out as views (then the ordinary call decides)."""
    probe = [torch.empty(p.shape, dtype=p.dtype, device=p.device) for p in params]
    try:
        with torch.no_grad():
            buffer = torch._cudnn_rnn_flatten_weight(
                probe,
                len(params) // (2 if bidirectional else 1),
                params[0].shape[1],
                _cudnn_mode(cell),
                hidden_size,
                proj_size,
                1,
                False,
                bidirectional,
            )
    except RuntimeError:  # a shape or dtype this cuDNN does not lay out
        return None
    base = buffer.untyped_storage().data_ptr()
    if any(p.untyped_storage().data_ptr() != base or not p.is_contiguous() for p in probe):
        return None  # flattening makes each weight a view into the buffer; these were not
    return tuple(p.storage_offset() - buffer.storage_offset() for p in probe), buffer.numel()
