"""Recording a PackedSequence (variable-length batch) through an LSTM or a GRU.

``record_packed(module, packed, hx)`` returns the module's recording with

- ``output``: a PackedSequence, and ``h_n`` (``c_n``): exactly what the module's forward returns on ``packed``
  (computed by nn.LSTM's / nn.GRU's forward with the weights the recording uses, or handed in by the caller); under
  autocast, as for a padded input, computed in the weights' dtype (read off the recording);
- every recorded tensor ``(num_layers, num_directions, batch, T, units)`` in the *original* batch order
  (``unsorted_indices`` applied, as ``pad_packed_sequence`` gives it), T the longest length, and **NaN** past each
  sequence's end; ``x`` the padded input with NaN there too; ``extras["lengths"]`` the lengths (CPU int64).

The values at each sequence's valid steps are those of that sequence recorded alone: each layer and direction runs
as a one-layer twin of the module on the padded batch, the forward direction left to right (padding only ever comes
after a sequence's steps), the backward direction on each sequence reversed *within its own length*, so it starts at
that sequence's last valid step, then reversed back. Padding is zero in every layer's input.

Arguments are taken as forward takes them: nn's own forward runs first (it gives ``output`` and ``h_n``) and what it
refuses is refused, with its exception and a readable explanation after its text; ``hx`` is read as forward reads
it (nn.LSTM's ``permute_hidden`` takes ``hx[0]`` and ``hx[1]`` of an unsorted batch's hx, and the rows each sequence
starts from).
"""

from __future__ import annotations

import contextlib
import warnings

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

from lstm_viz.core.errors import RNNArgumentError, RNNInputError, RNNInputTypeError, mirror
from lstm_viz.core.lstm_args import autocast_on, describe_argument, dtype_problem, led_by
from lstm_viz.core.recording import CellRecording, GRURecording, Recording
from lstm_viz.core.twins import current_weights, recording_twin

__all__ = ["record_packed", "reverse_within_lengths"]


def reverse_within_lengths(lengths: Tensor, T: int) -> Tensor:
    """``(T, B)`` int64 index: position t of sequence b reads ``len_b − 1 − t`` for t < len_b, else t (padding stays).

    Its own inverse, so one gather reverses each sequence in place and the same gather reverses it back.
    """
    t = torch.arange(T, device=lengths.device)[:, None]  # (T, 1)
    return torch.where(t < lengths[None, :], lengths[None, :] - 1 - t, t)


def _states(module: nn.RNNBase, packed: PackedSequence, hx: object, lstm: bool) -> object:
    """``hx`` as forward reads it, in the original batch order with one row per sequence: for an unsorted batch
    nn.LSTM / nn.GRU take ``permute_hidden(hx, sorted_indices)`` (nn.LSTM: ``hx[0]`` and ``hx[1]`` of whatever hx is,
    rows picked by index); ``permute_hidden`` with ``unsorted_indices`` undoes the reordering."""
    if hx is None:
        return None
    if packed.sorted_indices is not None:
        hx = module.permute_hidden(module.permute_hidden(hx, packed.sorted_indices), packed.unsorted_indices)
    return (hx[0], hx[1]) if lstm else hx


def _data_problem(module: nn.RNNBase, packed: PackedSequence) -> RNNInputError | None:
    """A packed input of the wrong shape. (nn.LSTM's forward does not check a packed input's feature size, and runs
    on one that does not fit its weights; a recording of that would mean nothing, so it is refused.)"""
    data = packed.data
    if data.dim() != 2:
        return RNNInputError(f"a PackedSequence's data must be 2-D (total steps, input_size); got {tuple(data.shape)}")
    if data.shape[-1] != module.input_size:
        return RNNInputError(
            f"the packed input's last dimension must be input_size={module.input_size}; got {tuple(data.shape)}"
        )
    return None


def _problem(
    module: nn.RNNBase, packed: PackedSequence, hx: object, lstm: bool, weight: Tensor
) -> RNNArgumentError | None:
    """Why the module's forward refuses ``packed`` and ``hx``, said readably, or None (not clear)."""
    problem = _data_problem(module, packed)
    if problem is not None:
        return problem
    data = packed.data
    problem = dtype_problem("the packed input", data, weight)
    if problem is not None:
        return RNNInputError(f"{problem}; convert it with packed.to({weight.dtype})")
    if hx is None:
        return None
    D = 2 if module.bidirectional else 1
    B = int(packed.batch_sizes[0])
    lead = module.num_layers * D
    if lstm:
        want = f"hx must be a tuple (h0, c0) of two tensors (num_layers*num_directions, batch, units) = {(lead, B)}…"
        if packed.sorted_indices is None and isinstance(hx, Tensor):  # handed to the kernel as it is
            return RNNInputTypeError(f"{want}; got a single tensor of shape {tuple(hx.shape)}")
        if packed.sorted_indices is None and isinstance(hx, (tuple, list)) and len(hx) != 2:
            return RNNInputError(f"{want}; got {describe_argument(hx)}")
        try:
            pair = _states(module, packed, hx, lstm)
        except (TypeError, IndexError, AttributeError, RuntimeError) as err:
            cls = mirror(err)
            return None if cls is None else cls(f"{want}; got {describe_argument(hx)}")
        expected = [("h0", pair[0], (lead, B, module.proj_size or module.hidden_size)),
                    ("c0", pair[1], (lead, B, module.hidden_size))]  # fmt: skip
    else:
        if not isinstance(hx, Tensor):
            return RNNInputTypeError(f"hx must be one tensor h0 (a GRU has no cell state), got {type(hx).__name__}")
        try:
            h0 = _states(module, packed, hx, lstm)
        except (IndexError, RuntimeError) as err:
            cls = mirror(err)
            shape = (lead, B, module.hidden_size)
            return None if cls is None else cls(f"h0 must have shape {shape}; got {tuple(hx.shape)}")
        expected = [("h0", h0, (lead, B, module.hidden_size))]
    for name, tensor, shape in expected:
        if not isinstance(tensor, Tensor):
            return RNNInputTypeError(f"{name} must be a tensor of shape {shape}, got {type(tensor).__name__}")
        if tuple(tensor.shape) != shape:
            return RNNInputError(
                f"{name} must have shape {shape} (num_layers*num_directions, batch, units) for this packed batch; "
                f"got {tuple(tensor.shape)}"
            )
        problem = dtype_problem(name, tensor, weight)
        if problem is not None:
            return RNNInputError(f"{problem}; convert it with {name}.to({weight.dtype})")
    return None


@torch.no_grad()
def record_packed(
    module: nn.LSTM | nn.GRU,
    packed: PackedSequence,
    hx: Tensor | tuple[Tensor, Tensor] | None = None,
    *,
    strategy: str = "auto",
    apply_dropout: bool = False,
    forward_result: tuple | None = None,
    weights: dict[str, Tensor] | None = None,
) -> CellRecording:
    """The recording of ``module`` (nn.LSTM or nn.GRU, plain or recording) on a packed batch; see the module doc.

    ``strategy`` and ``apply_dropout`` are passed to each layer's record. ``forward_result``: what the module's
    forward already returned on this input (``record_modules`` hands it in), so it is not computed again;
    ``weights``: the weights that forward used (by default the module's current ones).
    """
    lstm = isinstance(module, nn.LSTM)
    if not lstm and not isinstance(module, nn.GRU):
        raise TypeError(f"record_packed records an nn.LSTM or nn.GRU, got {type(module).__name__}")
    if not isinstance(packed, PackedSequence):
        raise RNNInputTypeError(f"expected a PackedSequence, got {type(packed).__name__}")
    problem = _data_problem(module, packed)
    if problem is not None:
        raise problem
    weights = current_weights(module) if weights is None else weights
    weight = weights["weight_ih_l0"]
    dropped = module.training and module.dropout > 0 and module.num_layers > 1
    from_recording = False
    if forward_result is None:  # nn's own forward first: it refuses what forward refuses
        forward_result = _checked_forward(module, packed, hx, weights, lstm, training=module.training and not dropped)
        # forward would draw other dropout masks; under autocast the recording is computed in the weights' dtype
        from_recording = (dropped and apply_dropout) or autocast_on()
    hx = _states(module, packed, hx, lstm)
    cast = autocast_on()
    with torch.autocast(packed.data.device.type, enabled=False) if cast else contextlib.nullcontext():
        if cast:  # as record does for a padded input: computed in the weights' dtype
            packed = packed.to(weight.dtype)
            hx = None if hx is None else (tuple(t.to(weight.dtype) for t in hx) if lstm else hx.to(weight.dtype))
        tensors, lengths, strategies, x_bt = _record_layers(module, packed, hx, weights, strategy, apply_dropout)
    if from_recording:
        forward_result = _from_recording(tensors, packed, lengths, lstm)
    output, hidden = forward_result
    output = PackedSequence(output.data.detach(), output.batch_sizes, output.sorted_indices, output.unsorted_indices)
    extras = {
        "batched": True,
        "strategy": strategies.pop() if len(strategies) == 1 else "+".join(sorted(strategies)),
        "hx_given": hx is not None,
        "lengths": lengths,
        "packed": True,
    }
    if lstm:
        extras["proj_size"] = module.proj_size
        h_n, c_n = hidden[0].detach(), hidden[1].detach()
        return Recording(output=output, h_n=h_n, c_n=c_n, x=x_bt, **tensors, extras=extras)
    return GRURecording(output=output, h_n=hidden.detach(), x=x_bt, **tensors, extras=extras)


def _record_layers(
    module: nn.RNNBase,
    packed: PackedSequence,
    hx: object,
    weights: dict[str, Tensor],
    strategy: str,
    apply_dropout: bool,
) -> tuple[dict[str, Tensor], Tensor, set[str], Tensor]:
    """Every layer and direction recorded on the padded batch, ``hx`` read as :func:`_states` gives it:
    ``(tensors, lengths, strategies used, x)``, each tensor ``(L, D, B, T, units)`` and x ``(B, T, input_size)``, NaN
    past each sequence's end."""
    lstm = isinstance(module, nn.LSTM)
    L, D, H = module.num_layers, 2 if module.bidirectional else 1, module.hidden_size
    P = (module.proj_size or H) if lstm else H
    padded, lengths = pad_packed_sequence(packed)  # (T, B, I), original batch order; lengths on the CPU
    T, B, _ = padded.shape
    device = padded.device
    valid = torch.arange(T)[:, None] < lengths[None, :]  # (T, B) on the CPU
    valid_d = valid.to(device)
    reverse = reverse_within_lengths(lengths, T).to(device)  # (T, B)
    if hx is None:
        h0 = padded.new_zeros(L, D, B, P)
        c0 = padded.new_zeros(L, D, B, H) if lstm else None
    elif lstm:
        h0, c0 = hx[0].reshape(L, D, B, P), hx[1].reshape(L, D, B, H)
    else:
        h0, c0 = hx.reshape(L, D, B, H), None

    names = [n for n in (Recording if lstm else GRURecording).recorded_tensors if not (lstm and n == "h" and P == H)]
    tensors: dict[str, Tensor] = {}  # name → (L, D, B, T, units), filled layer by layer, direction by direction
    strategies = set()
    x_l = padded
    for k in range(L):
        for d in range(D):
            twin = recording_twin(module, k, d, weights)
            inp = x_l if d == 0 else _gather_time(x_l, reverse)
            state = (h0[k, d][None], c0[k, d][None]) if lstm else h0[k, d][None]
            rec = twin.record(inp, state, strategy=strategy)
            strategies.add(rec.extras["strategy"])
            for name in names:
                part = getattr(rec, name)[0, 0]  # (B, T, U)
                if name not in tensors:
                    tensors[name] = part.new_empty(L, D, B, T, part.shape[-1])
                if d == 1:  # back to position order, each sequence within its own length
                    part = _gather_time(part.transpose(0, 1), reverse).transpose(0, 1)
                tensors[name][k, d].copy_(part)  # copied at once: the twin's buffers may be reused
        top = tensors["h" if "h" in tensors else "m"][k]  # (D, B, T, P): this layer's output
        x_l = top.permute(2, 1, 0, 3).reshape(T, B, D * P)  # (T, B, D·P), directions concatenated
        x_l = x_l.masked_fill(~valid_d[:, :, None], 0.0)  # padding stays zero in the next layer's input
        if apply_dropout and module.training and module.dropout > 0 and k < L - 1:
            x_l = F.dropout(x_l, p=module.dropout, training=True)

    pad = ~valid_d.t()[:, :, None]  # (B, T, 1)
    for t in tensors.values():
        t.masked_fill_(pad, float("nan"))
    if "h" not in tensors:
        tensors["h"] = tensors["m"]  # no projection: h is m, as in every LSTM recording
    return tensors, lengths, strategies, padded.transpose(0, 1).masked_fill(pad, float("nan"))


def _gather_time(x: Tensor, index: Tensor) -> Tensor:
    """x (T, B, F) with each column b read at ``index[:, b]`` along time."""
    return x.gather(0, index[:, :, None].expand(-1, -1, x.shape[-1]))


def _from_recording(tensors: dict[str, Tensor], packed: PackedSequence, lengths: Tensor, lstm: bool) -> tuple:
    """``output, h_n`` (``output, (h_n, c_n)``) as forward returns them, read off the recorded tensors
    ``(L, D, B, T, ·)`` (NaN past each sequence's end): the top layer's h packed as ``packed`` is, and each layer's
    and direction's last state — the forward direction's at each sequence's last step, the backward one's at t = 0."""
    h = tensors["h"]
    L, D, B, T, P = h.shape
    top = h[L - 1].permute(2, 1, 0, 3).reshape(T, B, D * P)  # (T, B, D·P), directions concatenated
    order = packed.sorted_indices if packed.sorted_indices is not None else torch.arange(B, device=h.device)
    data = torch.cat([top[t, order[: int(n)]] for t, n in enumerate(packed.batch_sizes)])
    output = PackedSequence(data, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices)
    last = (lengths - 1).to(h.device)
    rows = torch.arange(B, device=h.device)

    def final(t: Tensor) -> Tensor:  # (L, D, B, T, U) → (L·D, B, U)
        ends = [t[:, 0, rows, last]] + ([t[:, 1, :, 0]] if D == 2 else [])
        return torch.stack(ends, dim=1).reshape(L * D, B, t.shape[-1])

    return (output, (final(h), final(tensors["c"]))) if lstm else (output, final(h))


def _checked_forward(
    module: nn.RNNBase, packed: PackedSequence, hx: object, weights: dict[str, Tensor], lstm: bool, *, training: bool
) -> tuple:
    """:func:`_forward`; where it refuses the arguments, its exception in an RNNArgumentError class that says why,
    after its own text (or unchanged, where the reason is not clear)."""
    try:
        return _forward(module, packed, hx, weights, training=training)
    except (RuntimeError, ValueError, TypeError, AttributeError, IndexError) as err:
        try:
            clearer = _problem(module, packed, hx, lstm, weights["weight_ih_l0"])
        except Exception:  # too odd to describe: nn's exception says what it can
            clearer = None
        if clearer is None or not isinstance(clearer, type(err)):
            raise
        raise led_by(clearer, str(err)) from None


def _forward(
    module: nn.RNNBase, packed: PackedSequence, hx: object, weights: dict[str, Tensor], *, training: bool
) -> tuple:
    """nn.LSTM's / nn.GRU's own forward on the packed input, with the weights the recording used, no hooks, in
    training mode or not (dropout between layers)."""
    twin = recording_twin(module, weights=weights)
    twin.train(training)
    base = nn.LSTM if isinstance(module, nn.LSTM) else nn.GRU
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="RNN module weights are not part of single contiguous chunk")
        return base.forward(twin, packed, hx)
