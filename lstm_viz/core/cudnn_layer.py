"""One layer of a multi-layer nn.LSTM / nn.GRU through the fused kernel, its weights handed to cuDNN in one piece.

Recording and the ablation sweep run the fused kernel one layer at a time: they need every layer's h sequence, which
a call for all layers keeps to itself. On CUDA an nn.LSTM's parameters are views into one flat cuDNN weight buffer for
all its layers (``flatten_parameters``), but PyTorch hands cuDNN that buffer only when it is exactly the size of the
call's weights. A call for one layer of several therefore copied the layer's weights into a fresh buffer first, on
every call (a zeroed allocation and one copy per weight tensor: 16 small kernels for a 2-layer bidirectional LSTM),
and warned "RNN module weights are not part of single contiguous chunk of memory".

Most of that cost is on the CPU (cuDNN is asked where each weight goes, every call), and on a GPU a small model's
record waits on the CPU. ``run_layer`` builds the one-layer buffer itself and hands it to cuDNN (``torch._cudnn_rnn``,
the call ``_VF.lstm`` makes with a buffer it found). Where each weight goes in a one-layer buffer is asked of cuDNN
once per shape (``torch._cudnn_rnn_flatten_weight`` on throwaway weights); the weights that lie back to back in both
buffers are then taken as whole runs. cuDNN keeps a layer's matrices together and all layers' biases together at the
end of the flat buffer, so a layer is two runs: one ``torch.cat`` on the device, or none at all for a layer without
biases, whose slice of the flat buffer already is a one-layer buffer. Anything else (the CPU, cuDNN off, weights that
are not views of one buffer) takes the ordinary call, with the same results.
"""

from __future__ import annotations

import itertools
import threading
import warnings
from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = ["cudnn_rnn", "layer_params", "run_layer", "run_lstm_layer_training"]

# False: always the ordinary call (benchmarks and tests compare the two).
NO_COPY = True

# (cell, dtype, device, weight shapes, bidirectional, hidden, proj) → each weight's offset in a one-layer cuDNN
# buffer of that shape and the buffer's size (None: not laid out as views)
_LAYOUTS: dict[tuple, tuple[tuple[int, ...], int] | None] = {}
_LAYOUTS_LOCK = threading.Lock()


def layer_params(weights: dict[str, Tensor], layer: int, directions: Sequence[int], bias: bool, proj: bool):
    """The flat weight list ``run_layer`` (and ``_VF.lstm``/``_VF.gru``) takes for one layer, from ``weights`` by
    name (``weight_ih_l1_reverse``…): per direction, in the order given, w_ih, w_hh[, b_ih, b_hh][, w_hr]."""
    names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if bias else []) + (["weight_hr"] if proj else [])
    return [weights[f"{n}_l{layer}{'_reverse' if d else ''}"] for d in directions for n in names]


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
        out, h_n, c_n, _ = cudnn_rnn(
            x,
            params,
            buffer,
            h0,
            c0,
            cell=cell,
            hidden_size=hidden_size,
            proj_size=proj_size,
            train=False,
            bidirectional=bidirectional,
        )
        return out, h_n, (c_n if cell == "lstm" else None)
    with warnings.catch_warnings():  # cuDNN: one layer's weights are not the whole flat buffer (copied for the call)
        warnings.filterwarnings("ignore", "RNN module weights are not part of single contiguous chunk")
        if cell == "gru":
            out, h_n = torch._VF.gru(x, hx, params, bias, 1, 0.0, False, bidirectional, False)
            return out, h_n, None
        out, h_n, c_n = torch._VF.lstm(x, hx, params, bias, 1, 0.0, False, bidirectional, False)
        return out, h_n, c_n


def run_lstm_layer_training(
    x: Tensor, hx: tuple[Tensor, Tensor], params: list[Tensor], bidirectional: bool, hidden_size: int
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """One LSTM layer (no projections) through cuDNN in its *training* mode, as nn.LSTM's forward runs it for a
    module in training mode: (output (T, B, D·H), h_n, c_n, reserve). The reserve space is what cuDNN keeps for its
    backward pass (bytes; :mod:`lstm_viz.core.cudnn_gates` reads the gates and c from it). The weights are handed to
    cuDNN in one buffer as :func:`run_layer` hands them; where they cannot be, cuDNN copies them (as nn.LSTM then
    does). Needs CUDA with cuDNN acceptable for ``x``."""
    buffer = _layer_buffer("lstm", x, params, bidirectional, hidden_size, 0, whole=True) if NO_COPY else None
    h0, c0 = hx
    with warnings.catch_warnings():  # cuDNN copying the weights (buffer None): said once per module by nn.LSTM
        warnings.filterwarnings("ignore", "RNN module weights are not part of single contiguous chunk")
        out, h_n, c_n, reserve = cudnn_rnn(
            x, params, buffer, h0, c0, cell="lstm", hidden_size=hidden_size, train=True, bidirectional=bidirectional
        )
    return out, h_n, c_n, reserve


def cudnn_rnn(
    x: Tensor,
    params: list[Tensor],
    buffer: Tensor | None,
    h0: Tensor,
    c0: Tensor | None,
    *,
    cell: str,
    hidden_size: int,
    proj_size: int = 0,
    train: bool,
    bidirectional: bool,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``torch._cudnn_rnn`` for one layer of time-major ``x`` (T, B, I), every argument passed by its schema name (a
    PyTorch that renames one fails here, loudly): (output (T, B, D·P), h_n, c_n (meaningless for a GRU), reserve).
    ``params`` is the layer's flat weight list (per direction: w_ih, w_hh[, b_ih, b_hh][, w_hr]); ``buffer`` the
    one-layer cuDNN weight buffer holding them, or None (cuDNN then copies them into one). ``train``: cuDNN's training
    mode, which fills the reserve space its backward pass reads (:mod:`lstm_viz.core.cudnn_gates` reads the gates from
    it). No dropout, no packed lengths."""
    out, h_n, c_n, reserve, _ = torch._cudnn_rnn(  # by the names of aten::_cudnn_rnn's schema
        input=x,
        weight=params,
        weight_stride0=len(params) // (2 if bidirectional else 1),  # weights per direction
        weight_buf=buffer,
        hx=h0.contiguous(),
        cx=None if c0 is None else c0.contiguous(),
        mode=_cudnn_mode(cell),
        hidden_size=hidden_size,
        proj_size=proj_size,
        num_layers=1,
        batch_first=False,
        dropout=0.0,
        train=train,
        bidirectional=bidirectional,
        batch_sizes=[],  # a packed sequence's
        dropout_state=None,
    )
    return out, h_n, c_n, reserve


def _cudnn_mode(cell: str) -> int:
    from torch.backends.cudnn import rnn

    return rnn.get_cudnn_mode("LSTM" if cell == "lstm" else "GRU")


def _layer_buffer(
    cell: str,
    x: Tensor,
    params: list[Tensor],
    bidirectional: bool,
    hidden_size: int,
    proj_size: int,
    *,
    whole: bool = False,
) -> Tensor | None:
    """A one-layer cuDNN weight buffer holding ``params``, taken from the flat buffer they are views of in as few
    pieces as its layout allows; None where that does not apply (then the ordinary call runs). Where the weights
    are the whole flat buffer, that buffer with ``whole`` (for a direct ``torch._cudnn_rnn`` call), else None (the
    ordinary call finds it itself)."""
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
    # Runs of weights that lie back to back both in the flat buffer and in the one-layer one: cuDNN keeps a layer's
    # matrices together and every layer's biases together at the end of the buffer, so a layer is two runs.
    runs: list[list[int]] = []  # [start in the flat buffer, start in the one-layer buffer, length]
    for j in sorted(range(len(params)), key=offsets.__getitem__):
        src, dst, n = params[j].storage_offset(), offsets[j], params[j].numel()
        if runs and runs[-1][0] + runs[-1][2] == src and runs[-1][1] + runs[-1][2] == dst:
            runs[-1][2] += n
        else:
            runs.append([src, dst, n])
    flat = first.as_strided((storage.nbytes() // first.element_size(),), (1,), 0)
    if len(runs) == 1 and runs[0][1] == 0 and runs[0][2] == numel:  # the slice is a one-layer buffer as it is
        if runs[0][0] == 0 and numel == flat.numel():
            return flat if whole else None  # the weights are the whole buffer: the ordinary call hands it over
        if runs[0][0] * first.element_size() % 256 == 0:  # aligned as a buffer of its own would be
            return flat.narrow(0, runs[0][0], numel)
    pieces = [flat.narrow(0, src, n) for src, _, n in runs]
    if [dst for _, dst, _ in runs] == list(itertools.accumulate([0] + [n for *_, n in runs[:-1]])) and (
        sum(n for *_, n in runs) == numel
    ):
        return torch.cat(pieces)  # one small copy on the device
    buffer = flat.new_zeros(numel)  # the layout has gaps: cuDNN's padding stays zero
    for (_, dst, n), piece in zip(runs, pieces, strict=True):
        buffer.narrow(0, dst, n).copy_(piece)
    return buffer


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
