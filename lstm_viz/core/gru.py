"""RecordingGRU: torch.nn.GRU that can also record r, z, n, h at every step, layer and direction.

The equations (PyTorch stores the three gates stacked in the order r, z, n):

    r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)                reset gate
    z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)                update gate
    n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))      candidate
    h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}                          hidden state

``forward`` *is* nn.GRU's forward, so a RecordingGRU is a drop-in twin: same constructor, parameter names, shapes
and state_dict, same outputs and gradients, and it compiles under TorchScript like nn.GRU.

On the CPU, PyTorch's GRU is a C++ loop over these equations (aten's ``GRUCell``: the input product hoisted out of
the loop, then one matrix product and a few elementwise ops per step; there is no oneDNN GRU). The ``loop`` strategy
runs the same ops on the same memory layouts — the matrix products on 64-byte-aligned operands as aten's fresh
tensors are, sigmoid and tanh on blocks shaped like aten's (their vectorised and scalar paths round differently) —
and writes r, z, n and h into the recording instead of dropping them. So on the CPU its ``output`` and ``h_n`` are
bit-identical to nn.GRU's (tested over every option) and recording costs about one forward.

``replay`` runs the fused kernel (cuDNN on a GPU) layer by layer and gets every gate of a layer from one batched
matrix product over the kernel's h sequence: for a GRU all of r, z and n depend only on x_t and h_{t-1}, so nothing
is left to step through.
"""

# No `from __future__ import annotations` here: TorchScript reads forward's overload annotations as real types.
import inspect
from collections.abc import Sequence
from typing import Any, overload

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch.nn.utils.rnn import PackedSequence

from lstm_viz.core.cudnn_layer import layer_params, run_layer
from lstm_viz.core.errors import RNNInputError, RNNInputTypeError
from lstm_viz.core.interventions import Intervention, as_list, packed_interventions_error, record_intervened
from lstm_viz.core.lstm_args import autocast_mismatch, autocast_on, dtype_problem, init_checked, led_by, nn_message
from lstm_viz.core.recording import GRURecording
from lstm_viz.core.twins import current_weights, plain_copy, register_twin, run_forward_pre_hooks

__all__ = ["RecordingGRU"]

STRATEGIES = ("auto", "replay", "loop")

# nn.GRU hands its (*args, **kwargs) to nn.RNNBase; its parameters (after self and mode) name them.
_RNN_BASE = inspect.signature(nn.RNNBase.__init__)


class RecordingGRU(nn.GRU):
    """A drop-in ``torch.nn.GRU`` (same constructor, parameters, state_dict, forward) that can ``record``."""

    # Properties TorchScript must not compile (nn.GRU lists all_weights).
    __jit_unused_properties__ = [*nn.GRU.__jit_unused_properties__, "num_directions"]  # noqa: RUF012

    @overload
    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None: ...

    @overload
    def __init__(self, *args: Any, **kwargs: Any) -> None: ...

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """nn.GRU's constructor, as nn.GRU declares it: ``(*args, **kwargs)`` handed to nn.RNNBase, so the eighth
        positional argument is RNNBase's proj_size (0 for a GRU) and a ``proj_size=`` keyword is refused with
        nn.GRU's ValueError. A refusal of a size, dropout or flag is re-raised in its RNNArgumentError class, naming
        the value."""
        try:
            bound = _RNN_BASE.bind(self, "GRU", *args, **kwargs)
            bound.apply_defaults()
            given = None if "proj_size" in kwargs else bound.arguments
        except TypeError:  # not arguments nn.RNNBase takes: nn.GRU says so
            given = None
        init_checked(nn.GRU.__init__, self, given, *args, **kwargs)

    @classmethod
    def from_gru(cls, gru: nn.GRU) -> "RecordingGRU":
        """A RecordingGRU with ``gru``'s options and a copy of its (current) weights, on the same device and dtype.

        A weight-normed or otherwise parametrized ``gru`` gives a plain RecordingGRU holding the weights its forward
        uses.
        """
        if not isinstance(gru, nn.GRU):
            raise TypeError(f"from_gru expects a torch.nn.GRU, got {type(gru).__name__}")
        return plain_copy(cls, gru)

    # ------------------------------------------------------------------ input checks
    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @torch.jit.unused
    def _check_input(self, x: object, hx: object, weight: Tensor | None = None) -> None:
        """Raise RNNInputError naming the expected and the given shape for arguments nn.GRU.forward refuses (record
        and intervened_forward, before anything runs); its message starts with nn.GRU's own for the same call (as
        RecordingLSTM's start with nn.LSTM's), so code that matches nn.GRU's text keeps matching. ``weight``: the
        first weight as forward will see it (by default the one it last used: reading a parametrized weight again
        would run its parametrization again)."""
        problem = self._problem(x, hx, self._flat_weights[0] if weight is None else weight)
        if problem is not None:
            raise led_by(problem, nn_message(nn.GRU.forward, self, x, hx))

    @torch.jit.unused
    def _problem(self, x: object, hx: object, weight: Tensor) -> RNNInputError | None:
        """Why nn.GRU.forward refuses ``(x, hx)``, said readably, or None (where it runs, or where it is not clear)."""
        try:
            self._check_input_readably(x, hx, weight)
        except RNNInputError as problem:
            return problem
        except Exception:  # arguments too odd to describe: nn.GRU's exception says what it can
            return None
        return None

    @torch.jit.unused
    def _check_input_readably(self, x: object, hx: object, weight: Tensor) -> None:
        if not isinstance(x, Tensor):
            raise RNNInputTypeError(f"input must be a torch.Tensor or PackedSequence, got {type(x).__name__}")
        layout = "(batch, seq_len, input_size)" if self.batch_first else "(seq_len, batch, input_size)"
        if x.dim() not in (2, 3):
            raise RNNInputError(
                f"input must be 2-D (seq_len, input_size={self.input_size}) or 3-D {layout} with "
                f"input_size={self.input_size}; got a {x.dim()}-D tensor of shape {tuple(x.shape)}"
            )
        if autocast_on():  # nn.GRU leaves the dtypes to the kernel, with autocast's casts
            mismatch = autocast_mismatch(x, weight)
            if mismatch is not None:
                raise RNNInputError(
                    f"under autocast the input ({x.dtype}) reaches the kernel as {mismatch[0]} and the weights "
                    f"({weight.dtype}) as {mismatch[1]}; convert the input with x.to({weight.dtype})"
                )
        elif x.dtype != weight.dtype:
            raise RNNInputError(
                f"input dtype {x.dtype} does not match the weights' {weight.dtype}; convert the input with "
                + (
                    f"x.to({weight.dtype}) or the model with model.to({x.dtype})"
                    if x.is_floating_point() or x.is_complex()
                    else f"x.to({weight.dtype}): a GRU computes in floating point (an embedding first, for token ids?)"
                )
            )
        if x.device != weight.device:
            raise RNNInputError(
                f"input is on {x.device} but the weights are on {weight.device}; move one with .to(device)"
            )
        if x.shape[-1] != self.input_size:
            raise RNNInputError(
                f"input's last dimension must be input_size={self.input_size}; got shape {tuple(x.shape)}"
            )
        time_dim = (1 if self.batch_first else 0) if x.dim() == 3 else 0
        if x.shape[time_dim] == 0:
            raise RNNInputError(f"input has no time steps (shape {tuple(x.shape)}); give at least one step")
        if hx is None:
            return
        self._check_hx(hx, () if x.dim() == 2 else (x.shape[0 if self.batch_first else 1],), x, weight)

    @torch.jit.unused
    def _check_hx(self, hx: object, batch: tuple[int, ...], x: Tensor, weight: Tensor) -> None:
        if not isinstance(hx, Tensor):
            raise RNNInputTypeError(f"hx must be one tensor h0 (a GRU has no cell state), got {type(hx).__name__}")
        expected = (self.num_layers * self.num_directions, *batch, self.hidden_size)
        if tuple(hx.shape) != expected:
            raise RNNInputError(
                f"h0 must have shape {expected} (num_layers*num_directions, {'batch, ' if batch else ''}"
                f"hidden_size); got {tuple(hx.shape)}"
            )
        problem = dtype_problem("h0", hx, weight)
        if problem is not None:
            raise RNNInputError(f"{problem}; convert it with h0.to({weight.dtype})")
        if hx.device != x.device:
            raise RNNInputError(f"h0 is on {hx.device} but the input is on {x.device}")

    # ------------------------------------------------------------------ forward: nn.GRU's own
    @overload  # type: ignore[override]
    @torch._jit_internal._overload_method
    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        pass

    @overload
    @torch._jit_internal._overload_method
    def forward(self, input: PackedSequence, hx: Tensor | None = None) -> tuple[PackedSequence, Tensor]:
        pass

    def forward(self, input, hx=None):
        """``nn.GRU.forward`` itself; when it refuses its arguments, the same exception with a clearer message.

        Nothing is checked before it runs, so it reads the weights (and runs their parametrizations) as often as
        nn.GRU does, and takes what nn.GRU takes. Under TorchScript (where ``super()`` does not compile, and nn.GRU's
        overloads are keyed by class name) the body below is nn.GRU.forward's own code, so ``torch.jit.script``
        compiles a RecordingGRU as it does nn.GRU.
        """
        if not torch.jit.is_scripting():
            return self._eager_forward(input, hx)
        # ---- TorchScript only: torch.nn.GRU.forward (PyTorch 2.13), verbatim but for comments.
        orig_input = input
        if isinstance(orig_input, PackedSequence):
            input, batch_sizes, sorted_indices, unsorted_indices = input
            max_batch_size = batch_sizes[0]
            if hx is None:
                num_directions = 2 if self.bidirectional else 1
                hx = torch.zeros(
                    self.num_layers * num_directions,
                    max_batch_size,
                    self.hidden_size,
                    dtype=input.dtype,
                    device=input.device,
                )
            else:
                hx = self.permute_hidden(hx, sorted_indices)
        else:
            batch_sizes = None
            if input.dim() not in (2, 3):
                raise ValueError(f"GRU: Expected input to be 2D or 3D, got {input.dim()}D instead")
            is_batched = input.dim() == 3
            batch_dim = 0 if self.batch_first else 1
            if not is_batched:
                input = input.unsqueeze(batch_dim)
                if hx is not None:
                    if hx.dim() != 2:
                        raise RuntimeError(
                            f"For unbatched 2-D input, hx should also be 2-D but got {hx.dim()}-D tensor"
                        )
                    hx = hx.unsqueeze(1)
            else:
                if hx is not None and hx.dim() != 3:
                    raise RuntimeError(f"For batched 3-D input, hx should also be 3-D but got {hx.dim()}-D tensor")
            max_batch_size = input.size(0) if self.batch_first else input.size(1)
            sorted_indices = None
            unsorted_indices = None
            if hx is None:
                num_directions = 2 if self.bidirectional else 1
                hx = torch.zeros(
                    self.num_layers * num_directions,
                    max_batch_size,
                    self.hidden_size,
                    dtype=input.dtype,
                    device=input.device,
                )
            else:
                hx = self.permute_hidden(hx, sorted_indices)

        self.check_forward_args(input, hx, batch_sizes)
        if batch_sizes is None:
            result = torch._VF.gru(
                input,
                hx,
                self._flat_weights,
                self.bias,
                self.num_layers,
                self.dropout,
                self.training,
                self.bidirectional,
                self.batch_first,
            )
        else:
            result = torch._VF.gru(
                input,
                batch_sizes,
                hx,
                self._flat_weights,
                self.bias,
                self.num_layers,
                self.dropout,
                self.training,
                self.bidirectional,
            )
        output = result[0]
        hidden = result[1]

        if isinstance(orig_input, PackedSequence):
            output_packed = PackedSequence(output, batch_sizes, sorted_indices, unsorted_indices)
            return output_packed, self.permute_hidden(hidden, unsorted_indices)
        else:
            if not is_batched:
                output = output.squeeze(batch_dim)
                hidden = hidden.squeeze(1)
            return output, self.permute_hidden(hidden, unsorted_indices)

    def _eager_forward(self, input: Any, hx: Any) -> Any:
        """nn.GRU.forward; an exception it raises about the arguments comes back clearer, in a subclass of its own."""
        try:
            return nn.GRU.forward(self, input, hx)
        except (RuntimeError, ValueError, TypeError, AttributeError, IndexError) as err:
            # forward has refreshed _flat_weights: its first weight is the one the kernel was handed
            clearer = None if isinstance(input, PackedSequence) else self._problem(input, hx, self._flat_weights[0])
            if clearer is None or not isinstance(clearer, type(err)):
                raise  # not about the arguments (or not understood): nn.GRU's own exception, unchanged
            raise led_by(clearer, str(err)) from None

    # ------------------------------------------------------------------ recording
    @torch.no_grad()
    def record(
        self,
        x: Tensor | PackedSequence,
        hx: Tensor | None = None,
        *,
        strategy: str = "auto",
        apply_dropout: bool = False,
        interventions: Sequence[Intervention] | None = None,
    ) -> GRURecording:
        """Run the GRU on ``x`` and return r, z, n, h at every step, layer and direction, plus what forward returns.

        ``x`` is what ``forward`` takes: ``(T, B, input_size)`` (``(B, T, input_size)`` if batch_first),
        unbatched ``(T, input_size)``, or a PackedSequence (then every recorded tensor is padded with NaN past each
        sequence's end: see :mod:`lstm_viz.core.packed`). The strategies compute the same numbers:

        - ``"loop"``: the equations step by step with the ops of PyTorch's CPU GRU on the same memory layouts: on
          the CPU ``output`` and ``h_n`` are bit-identical to forward's, and it costs about one forward.
        - ``"replay"``: the fused kernel runs layer by layer (``output`` and ``h_n`` are its own tensors) and its
          output, every h_t, is replayed through one batched matrix product per layer and direction to get r, z, n.
        - ``"auto"`` (default): ``loop`` on the CPU, ``replay`` on accelerators (where the kernel is cuDNN's and
          per-step launches are costly).

        Eval-mode semantics by default (no dropout between layers); with ``apply_dropout=True`` and the module in
        training mode, dropout is applied to each layer's output before the next, as nn.GRU does (with its own
        random mask). Like a call of the module, it first runs the module's forward pre-hooks, and weights are read
        as forward reads them (parametrizations, weight_norm and pruning included). Under autocast the recording is
        computed in the weights' dtype. ``interventions`` as for RecordingLSTM.record (step by step, so with
        ``strategy`` ``"auto"`` or ``"loop"``, and ``apply_dropout`` as above; none for a PackedSequence).
        The tensors are detached; r and z are views into one (…, 3H) buffer per layer and direction.
        """
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be 'auto', 'replay' or 'loop', got {strategy!r}")
        x, hx = run_forward_pre_hooks(self, x, hx)  # as a call of the module does: weight_norm, pruning, …
        interventions = as_list(interventions)
        if isinstance(x, PackedSequence):
            if interventions:
                raise packed_interventions_error()
            from lstm_viz.core.packed import record_packed

            return record_packed(self, x, hx, strategy=strategy, apply_dropout=apply_dropout)
        weights = current_weights(self)  # read once (a parametrization runs once); the input is checked against them
        self._check_input(x, hx, weights["weight_ih_l0"])
        if interventions:  # replace gates or states and run on from there, step by step (core/interventions.py)
            dropout = self.dropout if apply_dropout and self.training else 0.0
            return record_intervened(self, x, hx, interventions, strategy=strategy, dropout=dropout, weights=weights)
        if autocast_on():  # compute in the weights' dtype, as the recording is read
            dtype = weights["weight_ih_l0"].dtype
            with torch.autocast(x.device.type, enabled=False):
                hx = None if hx is None else hx.to(dtype)
                return self._record_padded(x.to(dtype), hx, weights, strategy, apply_dropout)
        return self._record_padded(x, hx, weights, strategy, apply_dropout)

    def _record_padded(
        self, x: Tensor, hx: Tensor | None, weights: dict[str, Tensor], strategy: str, apply_dropout: bool
    ) -> GRURecording:
        """record's work on a checked tensor input (hooks run, weights read), in the weights' dtype."""
        batched = x.dim() == 3
        # Time-major, as the kernel works: x_l is (T, B, features) for every layer.
        if not batched:
            x_l = x.unsqueeze(1)
        else:
            x_l = x.transpose(0, 1) if self.batch_first else x
        T, B, _ = x_l.shape
        L, D, H = self.num_layers, self.num_directions, self.hidden_size
        if hx is None:
            h0 = x_l.new_zeros(L, D, B, H)
        else:
            h0 = (hx if batched else hx.unsqueeze(1)).reshape(L, D, B, H)
        if strategy == "auto":
            strategy = "loop" if weights["weight_ih_l0"].device.type == "cpu" else "replay"
        dropout_on = apply_dropout and self.training and self.dropout > 0

        # (L, D, T, B, ·) buffers. gh holds W_h h_{t-1} + b_h per step; its r and z thirds are overwritten by the
        # activated gates (as in PyTorch's GRUCell) and handed out as views.
        # The loop keeps each step's blocks 64-byte aligned as aten's fresh tensors are; replay works on whole layers.
        blocks = _step_blocks if strategy == "loop" else _contiguous
        gh = blocks(x_l, L, D, T, B, 3 * H)
        n = blocks(x_l, L, D, T, B, H)
        h = blocks(x_l, L, D, T, B, H)
        h_n = []
        for k in range(L):
            W = [_layer_weights(weights, k, d, self.bias) for d in range(D)]
            if strategy == "replay":
                flat = layer_params(weights, k, range(D), self.bias, False)
                out, hk, _ = run_layer("gru", x_l, h0[k], flat, self.bias, D == 2, H)
                for d in range(D):
                    h[k, d].copy_(out[..., d * H : (d + 1) * H])
                    _replay_direction(x_l, h[k, d], h0[k, d], *W[d], d == 1, gh[k, d], n[k, d])
            else:
                for d in range(D):
                    _loop_direction(x_l, h0[k, d], *W[d], d == 1, gh[k, d], n[k, d], h[k, d])
                # What aten's layer returns: the stacked steps (D = 1) or their concatenation (D = 2), contiguous.
                out = h[k, 0].contiguous() if D == 1 else torch.cat([h[k, 0], h[k, 1]], dim=-1)
                hk = torch.stack([h[k, 0, T - 1]] + ([h[k, 1, 0]] if D == 2 else []))
            h_n.append(hk)
            x_l = out
            if dropout_on and k < L - 1:
                x_l = F.dropout(x_l, p=self.dropout, training=True)

        output = out if batched else out.squeeze(1)
        if batched and self.batch_first:
            output = output.transpose(0, 1)
        h_n_t = torch.cat(h_n, 0) if batched else torch.cat(h_n, 0).squeeze(1)
        x_bt = x.unsqueeze(0) if not batched else (x if self.batch_first else x.transpose(0, 1))
        time_major = {"r": gh[..., :H], "z": gh[..., H : 2 * H], "n": n, "h": h}
        return GRURecording(
            output=output,
            h_n=h_n_t,
            x=x_bt.detach(),
            **{name: t.transpose(2, 3) for name, t in time_major.items()},  # (L, D, B, T, ·), views
            extras={"batched": batched, "strategy": strategy, "hx_given": hx is not None},
        )


_ALIGN_BYTES = 64  # PyTorch's CPU allocator aligns every tensor to 64 bytes


def _step_blocks(like: Tensor, L: int, D: int, T: int, B: int, width: int) -> Tensor:
    """An empty (L, D, T, B, width) tensor whose per-step (B, width) blocks are contiguous and 64-byte aligned.

    aten's GRU allocates each step's tensors afresh, hence aligned; the matrix product's rounding can depend on
    where its operands start, so the loop keeps h_{t-1} and the product's output aligned too. When B·width is a
    multiple of 16 floats (every power-of-two size) the tensor is simply contiguous.
    """
    per = max(1, _ALIGN_BYTES // like.element_size())
    block = B * width
    stride = -(-block // per) * per
    return like.new_empty(L, D, T, stride)[..., :block].view(L, D, T, B, width)


def _contiguous(like: Tensor, L: int, D: int, T: int, B: int, width: int) -> Tensor:
    return like.new_empty(L, D, T, B, width)


def _layer_weights(
    weights: dict[str, Tensor], layer: int, direction: int, bias: bool
) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
    """W_ih (3H, F), W_hh (3H, H), b_ih, b_hh of one layer and direction, rows stacked r, z, n."""
    sfx = f"l{layer}{'_reverse' if direction == 1 else ''}"
    return (
        weights[f"weight_ih_{sfx}"],
        weights[f"weight_hh_{sfx}"],
        weights[f"bias_ih_{sfx}"] if bias else None,
        weights[f"bias_hh_{sfx}"] if bias else None,
    )


def _loop_direction(
    x_l: Tensor,
    h0: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    reverse: bool,
    gh: Tensor,
    n: Tensor,
    h: Tensor,
) -> None:
    """One layer and direction step by step, with the ops of aten's GRUCell (hence its exact numbers).

    x_l (T, B, F), h0 (B, H) → gh (T, B, 3H) with r, z in its first two thirds; n, h (T, B, H). Each step's h
    and n are contiguous, aligned (B, H) blocks and r, z are the (B, H) slices of an aligned (B, 3H) block, as in
    aten, so the matrix product, sigmoid and tanh see the same layouts and round the same way; the exact ops
    (add, sub, mul) are free to be grouped, and the adds for r and z are one op here.
    """
    H = h0.shape[-1]
    gi = F.linear(x_l, w_ih, b_ih)  # (T, B, 3H): x_t W_ih^T + b_ih for every t, hoisted as aten does
    w_hh_t = w_hh.t()
    # Per-step views made once (unbind is one C++ call), so the loop body is only the math.
    gi_rz, gi_n = gi[..., : 2 * H].unbind(0), gi[..., 2 * H :].unbind(0)
    gh_rz, gh_r, gh_z, gh_n = (gh[..., a:b].unbind(0) for a, b in ((0, 2 * H), (0, H), (H, 2 * H), (2 * H, 3 * H)))
    gh_, n_, h_ = gh.unbind(0), n.unbind(0), h.unbind(0)
    h_prev = h0
    for t in range(x_l.shape[0] - 1, -1, -1) if reverse else range(x_l.shape[0]):
        if b_hh is None:
            torch.mm(h_prev, w_hh_t, out=gh_[t])  # (B, 3H) = h_{t-1} W_hh^T
        else:
            torch.addmm(b_hh, h_prev, w_hh_t, out=gh_[t])  # (B, 3H) = h_{t-1} W_hh^T + b_hh
        gh_rz[t].add_(gi_rz[t])  # one add for r and z (exact either way); aten's separate sigmoids kept below
        r = gh_r[t].sigmoid_()  # r = σ(W_ir x + b_ir + W_hr h + b_hr)
        z = gh_z[t].sigmoid_()  # z = σ(W_iz x + b_iz + W_hz h + b_hz)
        gh_n[t].mul_(r)  # r ⊙ (W_hn h + b_hn)
        n_t = torch.add(gi_n[t], gh_n[t], out=n_[t]).tanh_()  # n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
        h_prev = torch.sub(h_prev, n_t, out=h_[t]).mul_(z).add_(n_t)  # h = n + z ⊙ (h_prev − n)


def _replay_direction(
    x_l: Tensor,
    h_d: Tensor,
    h0: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    reverse: bool,
    gh: Tensor,
    n: Tensor,
) -> None:
    """r, z (into gh) and n of one layer and direction from the kernel's h sequence ``h_d`` (T, B, H), no steps."""
    T, B, _ = x_l.shape
    H = h0.shape[-1]
    # h_{t-1} for every t: the forward direction reads left to right, the backward one right to left.
    if reverse:
        h_prev = torch.cat([h_d[1:], h0.unsqueeze(0)], dim=0)
    else:
        h_prev = torch.cat([h0.unsqueeze(0), h_d[:-1]], dim=0)
    gi = F.linear(x_l, w_ih, b_ih)  # (T, B, 3H)
    flat = gh.view(T * B, 3 * H)
    if b_hh is None:
        torch.mm(h_prev.reshape(T * B, H), w_hh.t(), out=flat)
    else:
        torch.addmm(b_hh, h_prev.reshape(T * B, H), w_hh.t(), out=flat)  # all steps' W_hh h_{t-1} + b_hh at once
    rz = gh[..., : 2 * H].add_(gi[..., : 2 * H]).sigmoid_()  # r and z in one op
    gh[..., 2 * H :].mul_(rz[..., :H])  # r ⊙ (W_hn h + b_hn)
    torch.add(gi[..., 2 * H :], gh[..., 2 * H :], out=n).tanh_()


register_twin(nn.GRU, RecordingGRU)  # packed recording and record_modules record nn.GRU through it
