"""RecordingLSTM: torch.nn.LSTM that can also record f, i, g, o, c, m, h at every step, layer and direction.

The equations (PyTorch stores the four gates stacked in the order i, f, g, o):

    i_t = σ(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)        input gate
    f_t = σ(W_if x_t + b_if + W_hf h_{t-1} + b_hf)        forget gate
    g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)     candidate
    o_t = σ(W_io x_t + b_io + W_ho h_{t-1} + b_ho)        output gate
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t                       cell state ("long memory")
    m_t = o_t ⊙ tanh(c_t)                                  hidden state before projection
    h_t = m_t, or W_hr m_t when proj_size > 0 (LSTMP)      hidden state ("short memory")

A drop-in twin. ``forward`` *is* ``nn.LSTM.forward`` (the fused kernel): same parameters, state_dict, outputs and
gradients, and the same exceptions — where nn.LSTM refuses its arguments, RecordingLSTM raises an exception of the
class nn.LSTM raises (a ``RuntimeError`` for a wrong shape, say) that is also a ``ValueError``, whose message starts
with nn.LSTM's own and then says what was expected and what was given. ``torch.jit.script`` compiles it as it
compiles nn.LSTM.

``record`` runs the same fused kernel and, on the CPU, reads the gates and cell states the kernel keeps for its
backward pass (:mod:`lstm_viz.core.kernel_gates`) — one kernel pass, nothing computed twice. Where that kernel does
not run (GPUs, projections, float64, half precision) it replays the kernel's output — every h_t, hence every h_{t-1}
— through one batched matrix product per layer and gets c by the elementwise recurrence above (a chunked parallel
scan on accelerators), or steps through the equations. Recording buffers are reused from call to call once nothing
outside holds them (:class:`lstm_viz.core.allocator.BufferPool`), so recording does not page-fault fresh memory.
"""

import contextlib
import math
import numbers
import operator
import threading
import warnings
import weakref
from collections.abc import Iterator
from typing import Any, overload

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch.nn.utils.rnn import PackedSequence

from lstm_viz.core import kernel_gates
from lstm_viz.core.allocator import BufferPool
from lstm_viz.core.recording import Recording

__all__ = [
    "LSTMArgumentAttributeError",
    "LSTMArgumentError",
    "LSTMArgumentIndexError",
    "LSTMArgumentRuntimeError",
    "LSTMArgumentTypeError",
    "RecordingLSTM",
]

STRATEGIES = ("auto", "kernel", "replay", "loop")


# ---------------------------------------------------------------------------------------------------- exceptions
class LSTMArgumentError(ValueError):
    """An argument RecordingLSTM cannot take. A ``ValueError`` (what lstm-viz's app and CLI catch and show).

    Raised as itself where nn.LSTM raises ``ValueError``; elsewhere as the subclass that is also the exception class
    nn.LSTM raises for the same argument, so code written for nn.LSTM catches it too.
    """


class LSTMArgumentRuntimeError(LSTMArgumentError, RuntimeError):
    """Shapes, sizes, devices, dtypes of (h0, c0), zero time steps: where nn.LSTM raises ``RuntimeError``."""


class LSTMArgumentTypeError(LSTMArgumentError, TypeError):
    """Constructor sizes that are not whole numbers, an hx that is not a pair: where nn.LSTM raises ``TypeError``."""


class LSTMArgumentAttributeError(LSTMArgumentError, AttributeError):
    """An input that is not a tensor (a list, a NumPy array): where nn.LSTM raises ``AttributeError``."""


class LSTMArgumentIndexError(LSTMArgumentError, IndexError):
    """An hx with fewer than two states: where nn.LSTM raises ``IndexError``."""


_MIRRORS: tuple[tuple[type[Exception], type[LSTMArgumentError]], ...] = (
    (RuntimeError, LSTMArgumentRuntimeError),
    (TypeError, LSTMArgumentTypeError),
    (AttributeError, LSTMArgumentAttributeError),
    (IndexError, LSTMArgumentIndexError),
    (ValueError, LSTMArgumentError),
)


def _mirror(err: BaseException) -> type[LSTMArgumentError] | None:
    """The LSTMArgumentError class that is also ``err``'s class, or None when there is none."""
    return next((ours for builtin, ours in _MIRRORS if isinstance(err, builtin)), None)


def _autocast_on() -> bool:
    check = getattr(torch._C, "_is_any_autocast_enabled", None)
    return bool(check()) if check is not None else torch.is_autocast_enabled()


def _shape(t: Tensor) -> tuple[int, ...]:
    return tuple(t.shape)


def _describe(value: Any) -> str:
    if isinstance(value, Tensor):
        return f"a single tensor of shape {_shape(value)}"
    if isinstance(value, (tuple, list)):
        parts = ", ".join(f"tensor {_shape(v)}" if isinstance(v, Tensor) else type(v).__name__ for v in value)
        return f"a {type(value).__name__} of {len(value)} ({parts})"
    name = type(value).__name__
    return f"{'an' if name[0].lower() in 'aeiou' else 'a'} {name}"


def _c0_dtype_runs(weight: torch.dtype, c0: torch.dtype) -> bool:
    """Whether nn.LSTM runs with c0 in another dtype than the weights (and h0): float64 weights take any c0, bfloat16
    weights a float32 c0 (CPU, PyTorch 2.13); it refuses every other mismatch."""
    return weight == torch.float64 or (weight == torch.bfloat16 and c0 == torch.float32)


# ---------------------------------------------------------------------------------------------------- buffers
_POOLS: "weakref.WeakKeyDictionary[nn.Module, BufferPool]" = weakref.WeakKeyDictionary()
_POOLS_LOCK = threading.Lock()


class RecordingLSTM(nn.LSTM):
    """A drop-in ``torch.nn.LSTM`` (constructor, parameters, state_dict, forward, exceptions) that can ``record``."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        given = {
            "input_size": input_size,
            "hidden_size": hidden_size,
            "num_layers": num_layers,
            "bias": bias,
            "batch_first": batch_first,
            "dropout": dropout,
            "proj_size": proj_size,
        }
        try:
            super().__init__(
                input_size,
                hidden_size,
                num_layers=num_layers,
                bias=bias,
                batch_first=batch_first,
                dropout=dropout,
                bidirectional=bidirectional,
                proj_size=proj_size,
                device=device,
                dtype=dtype,
            )
        except (TypeError, ValueError) as err:
            clearer = _constructor_error(err, given)
            if clearer is None:
                raise
            raise clearer from None

    @classmethod
    def from_lstm(cls, lstm: nn.LSTM) -> "RecordingLSTM":
        """A RecordingLSTM with ``lstm``'s options and a copy of its weights, on the same device and dtype."""
        if not isinstance(lstm, nn.LSTM):
            raise TypeError(f"from_lstm expects a torch.nn.LSTM, got {type(lstm).__name__}")
        weight = lstm.weight_ih_l0
        twin = cls(
            lstm.input_size,
            lstm.hidden_size,
            num_layers=lstm.num_layers,
            bias=lstm.bias,
            batch_first=lstm.batch_first,
            dropout=lstm.dropout,
            bidirectional=lstm.bidirectional,
            proj_size=lstm.proj_size,
            device=weight.device,
            dtype=weight.dtype,
        )
        twin.load_state_dict(lstm.state_dict(), strict=True)
        twin.train(lstm.training)
        return twin

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def real_hidden_size(self) -> int:
        """The size of h and of the output: proj_size for an LSTMP, else hidden_size."""
        return self.proj_size if self.proj_size > 0 else self.hidden_size

    # ------------------------------------------------------------------------------------------------ forward
    @overload  # type: ignore[override]
    @torch._jit_internal._overload_method
    def forward(
        self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]: ...

    @overload
    @torch._jit_internal._overload_method
    def forward(
        self, input: PackedSequence, hx: tuple[Tensor, Tensor] | None = None
    ) -> tuple[PackedSequence, tuple[Tensor, Tensor]]: ...

    def forward(self, input, hx=None):
        """``nn.LSTM.forward`` itself; when it refuses its arguments, the same exception with a clearer message.

        Under ``torch.jit.script`` what follows the first branch is compiled instead: nn.LSTM.forward's own body
        (TorchScript resolves nn.LSTM's forward overloads by class name, so a subclass needs a copy of its own).
        """
        if not torch.jit.is_scripting():
            return self._eager_forward(input, hx)
        self._update_flat_weights()
        orig_input = input
        batch_sizes = None
        num_directions = 2 if self.bidirectional else 1
        real_hidden_size = self.proj_size if self.proj_size > 0 else self.hidden_size
        if isinstance(orig_input, PackedSequence):
            input, batch_sizes, sorted_indices, unsorted_indices = input
            max_batch_size = batch_sizes[0]
            if hx is None:
                h_zeros = torch.zeros(
                    self.num_layers * num_directions,
                    max_batch_size,
                    real_hidden_size,
                    dtype=input.dtype,
                    device=input.device,
                )
                c_zeros = torch.zeros(
                    self.num_layers * num_directions,
                    max_batch_size,
                    self.hidden_size,
                    dtype=input.dtype,
                    device=input.device,
                )
                hx = (h_zeros, c_zeros)
            else:
                hx = self.permute_hidden(hx, sorted_indices)
        else:
            if input.dim() not in (2, 3):
                raise ValueError(f"LSTM: Expected input to be 2D or 3D, got {input.dim()}D instead")
            is_batched = input.dim() == 3
            batch_dim = 0 if self.batch_first else 1
            if not is_batched:
                input = input.unsqueeze(batch_dim)
            max_batch_size = input.size(0) if self.batch_first else input.size(1)
            sorted_indices = None
            unsorted_indices = None
            if hx is None:
                h_zeros = torch.zeros(
                    self.num_layers * num_directions,
                    max_batch_size,
                    real_hidden_size,
                    dtype=input.dtype,
                    device=input.device,
                )
                c_zeros = torch.zeros(
                    self.num_layers * num_directions,
                    max_batch_size,
                    self.hidden_size,
                    dtype=input.dtype,
                    device=input.device,
                )
                hx = (h_zeros, c_zeros)
                self.check_forward_args(input, hx, batch_sizes)
            else:
                if is_batched:
                    if hx[0].dim() != 3 or hx[1].dim() != 3:
                        msg = (
                            "For batched 3-D input, hx and cx should "
                            f"also be 3-D but got ({hx[0].dim()}-D, {hx[1].dim()}-D) tensors"
                        )
                        raise RuntimeError(msg)
                else:
                    if hx[0].dim() != 2 or hx[1].dim() != 2:
                        msg = (
                            "For unbatched 2-D input, hx and cx should "
                            f"also be 2-D but got ({hx[0].dim()}-D, {hx[1].dim()}-D) tensors"
                        )
                        raise RuntimeError(msg)
                    hx = (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
                self.check_forward_args(input, hx, batch_sizes)
                hx = self.permute_hidden(hx, sorted_indices)
        if batch_sizes is None:
            result = torch._VF.lstm(
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
            result = torch._VF.lstm(
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
        hidden = result[1:]
        if isinstance(orig_input, PackedSequence):
            output_packed = PackedSequence(output, batch_sizes, sorted_indices, unsorted_indices)
            return output_packed, self.permute_hidden(hidden, unsorted_indices)
        else:
            if not is_batched:
                output = output.squeeze(batch_dim)
                hidden = (hidden[0].squeeze(1), hidden[1].squeeze(1))
            return output, self.permute_hidden(hidden, unsorted_indices)

    def _eager_forward(self, input: Any, hx: Any) -> Any:
        """nn.LSTM.forward; an exception it raises about the arguments comes back clearer, in a subclass of its own."""
        try:
            return nn.LSTM.forward(self, input, hx)
        except (RuntimeError, ValueError, TypeError, AttributeError, IndexError) as err:
            try:
                clearer = None if isinstance(input, PackedSequence) else self._diagnose(input, hx)
            except Exception:  # arguments too odd to describe: nn.LSTM's exception says what it can
                clearer = None
            if clearer is None or not isinstance(clearer, type(err)):
                raise  # not about the arguments (or not understood): nn.LSTM's own exception, unchanged
            raise clearer from None

    # ------------------------------------------------------------------------------------------------ argument checks
    def _layout(self) -> str:
        """The batched input's shape in words, e.g. ``(seq_len, batch, input_size=3)``."""
        size = f"input_size={self.input_size}"
        return f"(batch, seq_len, {size})" if self.batch_first else f"(seq_len, batch, {size})"

    def _diagnose(self, x: Any, hx: Any) -> LSTMArgumentError | None:
        """What nn.LSTM.forward would raise for ``(x, hx)`` — its class (an LSTMArgumentError subclass) and its message
        first, then what was expected and what was given — or None where nn.LSTM runs. The checks come in nn.LSTM's
        order: its Python checks, then its kernel's."""
        I, H, P = self.input_size, self.hidden_size, self.real_hidden_size
        weight = self._flat_weights[0]
        if not isinstance(x, Tensor):
            if hasattr(x, "dim"):
                return None  # tensor-like: nn.LSTM decides
            return LSTMArgumentAttributeError(
                f"'{type(x).__name__}' object has no attribute 'dim': the input must be a torch.Tensor, 2-D "
                f"(seq_len, input_size={I}) or 3-D {self._layout()}, or a PackedSequence; "
                f"got {_describe(x)} — convert it with torch.tensor(..., dtype={weight.dtype})"
            )
        if x.dim() not in (2, 3):
            return LSTMArgumentError(
                f"LSTM: Expected input to be 2D or 3D, got {x.dim()}D instead: 2-D (seq_len, input_size={I}) for one "
                f"sequence or 3-D {self._layout()} for a batch; got a {x.dim()}-D tensor of "
                f"shape {_shape(x)}"
            )
        batched = x.dim() == 3
        batch = x.shape[0 if self.batch_first else 1] if batched else 1
        lead = self.num_layers * self.num_directions
        want_h, want_c = (lead, batch, P), (lead, batch, H)  # as nn.LSTM states them (unbatched: batch 1)
        shown_h, shown_c = (want_h, want_c) if batched else ((lead, P), (lead, H))
        meaning = (
            f"(num_layers * num_directions = {lead}, {'batch = ' + str(batch) + ', ' if batched else ''}"
            f"{{}} = {{}}) for input of shape {_shape(x)}"
        )
        h_meaning = meaning.format("proj_size" if self.proj_size else "hidden_size", P)
        c_meaning = meaning.format("hidden_size", H)
        if hx is not None:
            single = isinstance(hx, Tensor)
            try:
                h0, c0 = hx[0], hx[1]
                dims = (h0.dim(), c0.dim())
            except (TypeError, IndexError, AttributeError) as err:
                cls = _mirror(err)
                if cls is None:
                    return None  # not a failure nn.LSTM's own checks would meet: it decides
                return cls(
                    f"{err}: hx must be a tuple (h0, c0) of two tensors, h0 of shape {shown_h} and c0 of shape "
                    f"{shown_c}; got {_describe(hx)}"
                )
            not_a_pair = f"; hx must be a tuple (h0, c0), not {_describe(hx)}" if single else ""
            want = 3 if batched else 2
            if dims != (want, want):
                return LSTMArgumentRuntimeError(
                    f"For {'batched 3-D' if batched else 'unbatched 2-D'} input, hx and cx should also be {want}-D "
                    f"but got ({dims[0]}-D, {dims[1]}-D) tensors: h0 must have shape {shown_h} and c0 {shown_c} "
                    f"for input of shape {_shape(x)}; got h0 {_shape(h0)} and c0 {_shape(c0)}{not_a_pair}"
                )
        if x.dtype != weight.dtype and not _autocast_on():
            convert = f"Convert input: input.to({weight.dtype})"
            return LSTMArgumentError(
                f"RNN input dtype ({x.dtype}) does not match weight dtype ({weight.dtype}). "
                + (
                    f"{convert}, or convert model: model.to({x.dtype})"
                    if x.is_floating_point()
                    else f"{convert}: an LSTM computes in floating point"
                )
            )
        if x.shape[-1] != I:
            return LSTMArgumentRuntimeError(
                f"input.size(-1) must be equal to input_size. Expected {I}, got {x.shape[-1]}: the input's last "
                f"dimension holds the features, {self._layout() if batched else f'(seq_len, input_size={I})'}; "
                f"got shape {_shape(x)}"
            )
        if hx is not None:
            for k, (name, state, want_shape, shown, said) in enumerate(
                (("h0", h0, want_h, shown_h, h_meaning), ("c0", c0, want_c, shown_c, c_meaning))
            ):
                given = _shape(state if batched else state.unsqueeze(1))
                if given != want_shape:
                    return LSTMArgumentRuntimeError(
                        f"Expected hidden[{k}] size {want_shape}, got {list(given)}: {name} must have shape "
                        f"{shown} {said}; got {_shape(state)}{not_a_pair}"
                    )
            if single:
                return LSTMArgumentTypeError(
                    f"lstm() received an invalid combination of arguments: hx must be a tuple (h0, c0) of two "
                    f"tensors, not {_describe(hx)}; split it with tuple(hx) if it stacks h0 and c0"
                )
            if len(hx) != 2:
                return LSTMArgumentRuntimeError(
                    f"lstm expects two hidden states: hx must be (h0, c0); got {_describe(hx)}"
                )
        if x.device != weight.device:
            return LSTMArgumentRuntimeError(
                f"Input and parameter tensors are not at the same device, found input tensor at {x.device} and "
                f"parameter tensor at {weight.device}: move the input with x.to({str(weight.device)!r})"
            )
        if hx is not None:
            for name, state in (("h0", h0), ("c0", c0)):
                if state.device != x.device:
                    return LSTMArgumentRuntimeError(
                        f"Input and hidden tensors are not at the same device, found input tensor at {x.device} and "
                        f"hidden tensor at {state.device}: move {name} with {name}.to({str(x.device)!r})"
                    )
        if x.shape[(1 if self.batch_first else 0) if batched else 0] == 0:
            where = ("dimension 1 (batch_first)" if self.batch_first else "dimension 0") if batched else "dimension 0"
            return LSTMArgumentRuntimeError(
                f"Expected sequence length to be larger than 0 in RNN: the input's time axis, {where}, is empty "
                f"(shape {_shape(x)}); give at least one step"
            )
        if hx is not None and not _autocast_on():
            bad_h = h0.dtype != weight.dtype
            bad_c = c0.dtype != weight.dtype and (bad_h or not _c0_dtype_runs(weight.dtype, c0.dtype))
            if bad_h or bad_c:
                name = "h0" if bad_h else "c0"
                state = h0 if bad_h else c0
                return LSTMArgumentRuntimeError(
                    f"{name} dtype ({state.dtype}) does not match weight dtype ({weight.dtype}) (nn.LSTM's kernel "
                    f"fails on it); convert it with {name}.to({weight.dtype})"
                )
        return None

    # ------------------------------------------------------------------------------------------------ recording
    def record(
        self,
        x: Tensor,
        hx: tuple[Tensor, Tensor] | None = None,
        *,
        strategy: str = "auto",
        apply_dropout: bool = False,
    ) -> Recording:
        """Run the LSTM on ``x`` and return every gate and state, plus what ``forward`` returns.

        Takes what ``forward`` takes (2-D or 3-D input, an optional ``(h0, c0)``) and refuses what it refuses, with
        the same exception classes. Like a call of the module, it first runs the module's forward pre-hooks — where
        ``torch.nn.utils.weight_norm``, pruning and spectral norm recompute the weights — and reads the weights
        forward would read (parametrizations included). Forward (post) hooks are not run: record returns a
        Recording, not forward's output. A ``PackedSequence`` goes to ``_record_packed``.

        Three strategies compute the same numbers:

        - ``"kernel"``: every layer and direction runs through the fused oneDNN kernel nn.LSTM uses on the CPU, in
          its training mode, which keeps all gates and cell states in a workspace; they are read from there
          (:mod:`lstm_viz.core.kernel_gates`, layout checked against the kernel's own output), in chunks of steps
          that keep each workspace small enough for malloc to reuse; a one-layer, one-direction recording that fits
          one chunk *is* the workspace (views, nothing copied). ``output, h_n, c_n`` are bit-identical to
          ``forward`` with autograd on; with autograd off nn.LSTM uses oneDNN's inference variant, which can differ
          by about 1e-7. CPU, float32, no projections.
        - ``"replay"``: the fused kernel runs layer by layer and its output (every h_t) is *replayed* through one
          batched matrix product per layer to get all gates; ``output, h_n, c_n`` are the kernel's own tensors,
          bit-identical to ``forward`` under ``torch.no_grad()``. c comes from the elementwise recurrence (a
          chunked parallel scan on accelerators), accumulated in float32 for float16/bfloat16 models.
        - ``"loop"``: one step at a time, like the equations, with the input projection hoisted out of the loop.
          ``output, h_n, c_n`` are computed here and equal the kernel's to float rounding (~1e-7 in float32).
        - ``"auto"`` (default) picks ``kernel`` where it runs; otherwise ``replay`` on accelerators and for small
          batch × width on the CPU, else ``loop``. If the kernel's workspace ever fails its layout check (another
          oneDNN build), ``kernel`` falls back to ``replay`` for the rest of the process.

        Recording uses eval-mode semantics by default (no dropout between layers), the documented way to look at a
        model. With ``apply_dropout=True`` and the module in training mode, dropout is applied to each layer's
        output before the next layer, as nn.LSTM does (the random mask then differs from a separate forward call).
        Under autocast the recording is computed in the weights' dtype. The tensors are detached views into one
        buffer per recording, which the module reuses for a later recording of the same size once nothing else
        holds it (on the CPU; ``release_buffers()`` frees the kept ones).
        """
        if strategy not in STRATEGIES:
            raise LSTMArgumentError(f"strategy must be 'auto', 'kernel', 'replay' or 'loop', got {strategy!r}")
        x, hx = self._run_forward_pre_hooks(x, hx)
        if isinstance(x, PackedSequence):
            return self._record_packed(x, hx, strategy=strategy, apply_dropout=apply_dropout)
        problem = self._diagnose(x, hx)
        if problem is not None:
            raise problem
        with torch.no_grad():
            return self._record(x, hx, strategy, apply_dropout)

    def _record_packed(self, x: PackedSequence, hx: tuple[Tensor, Tensor] | None, **kwargs: Any) -> Recording:
        """Recording a PackedSequence: not yet. (``record`` has already run the forward pre-hooks.)"""
        raise LSTMArgumentTypeError(
            "record does not take a PackedSequence yet (forward does): record the padded batch instead — "
            "padded, lengths = torch.nn.utils.rnn.pad_packed_sequence(x, batch_first=model.batch_first) — and read "
            "each sequence's first `length` steps"
        )

    def _run_forward_pre_hooks(self, x: Any, hx: Any) -> tuple[Any, Any]:
        """This module's forward pre-hooks, as calling it runs them, on ``(x,)`` or ``(x, hx)``; the (x, hx) they leave.

        ``weight_norm``, pruning and spectral norm recompute the weights in such hooks. Global hooks
        (``nn.modules.module.register_module_forward_pre_hook``) are left out: tools pair them with forward hooks,
        which record does not run.
        """
        hooks = self._forward_pre_hooks
        if not hooks:
            return x, hx
        args: tuple = (x,) if hx is None else (x, hx)
        with_kwargs = getattr(self, "_forward_pre_hooks_with_kwargs", {})
        for hook_id, hook in list(hooks.items()):
            if hook_id in with_kwargs:
                result = hook(self, args, {})
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError(
                            f"forward pre-hook must return None or a tuple of (new_args, new_kwargs), but got {result}."
                        )
                    args = result[0] + tuple(result[1].values())
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        return args[0], (args[1] if len(args) > 1 else None)

    def _weights_now(self) -> dict[str, Tensor]:
        """The weights forward would hand the kernel now: nn.LSTM's ``_flat_weights``, refreshed as forward refreshes
        them (``torch.func.functional_call``, parametrizations)."""
        update = getattr(self, "_update_flat_weights", None)
        if update is not None:
            update()
        return dict(zip(self._flat_weights_names, self._flat_weights, strict=True))

    def _layer_weights(self, weights: dict[str, Tensor], layer: int, direction: int) -> dict[str, Tensor | None]:
        sfx = f"l{layer}{'_reverse' if direction == 1 else ''}"
        return {
            "w_ih": weights[f"weight_ih_{sfx}"],
            "w_hh": weights[f"weight_hh_{sfx}"],
            "b_ih": weights.get(f"bias_ih_{sfx}"),
            "b_hh": weights.get(f"bias_hh_{sfx}"),
            "w_hr": weights.get(f"weight_hr_{sfx}"),
        }

    def _flat_weights_of_layer(self, weights: dict[str, Tensor], layer: int) -> list[Tensor]:
        return [
            w
            for direction in range(self.num_directions)
            for w in self._layer_weights(weights, layer, direction).values()
            if w is not None
        ]

    def release_buffers(self) -> None:
        """Free the recording buffers this module keeps for reuse (recordings handed out keep their own memory)."""
        with _POOLS_LOCK:
            _POOLS.pop(self, None)

    def _buffer(self, numel: int, like: Tensor) -> Tensor:
        """A flat buffer of ``numel`` elements (dtype and device of ``like``), reused when nothing else holds it."""
        with _POOLS_LOCK:
            pool = _POOLS.get(self)
            if pool is None:
                pool = _POOLS[self] = BufferPool()
        return pool.take(numel, like.dtype, like.device)

    def _record(self, x: Tensor, hx: Any, strategy: str, apply_dropout: bool) -> Recording:
        weights = self._weights_now()
        weight = weights["weight_ih_l0"]
        dtype = weight.dtype
        if _autocast_on():  # compute in the weights' dtype, as the recording is read
            with torch.autocast(x.device.type, enabled=False):
                hx = None if hx is None else (hx[0].to(dtype), hx[1].to(dtype))
                return self._record(x.to(dtype), hx, strategy, apply_dropout)
        batched = x.dim() == 3
        # Work time-major: x_l is (T, B, features) for every layer.
        if not batched:
            x_l = x.unsqueeze(1)
        else:
            x_l = x.transpose(0, 1) if self.batch_first else x
        T, B, _ = x_l.shape
        L, D, H, P = self.num_layers, self.num_directions, self.hidden_size, self.real_hidden_size
        if hx is None:
            h0 = x_l.new_zeros(L * D, B, P)
            c0 = x_l.new_zeros(L * D, B, H)
        else:
            h0, c0 = (hx[0], hx[1]) if batched else (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
            c0 = c0.to(dtype)  # a c0 dtype nn.LSTM runs with (see _c0_dtype_runs)
        h0 = h0.reshape(L, D, B, P)
        c0 = c0.reshape(L, D, B, H)
        if strategy == "auto":
            strategy = self._pick_strategy(B, weight)
        if strategy == "kernel" and not kernel_gates.kernel_available(weight, self.proj_size):
            raise LSTMArgumentError(
                "strategy='kernel' reads the gates from PyTorch's oneDNN CPU kernel, which runs float32 LSTMs "
                "without projections on the CPU; use strategy='auto' to pick what works for this model"
            )
        if B == 0:
            return self._empty_recording(x, x_l, batched, strategy)
        dropout_on = apply_dropout and self.training and self.dropout > 0
        if strategy == "kernel":
            recording = self._record_from_kernel(x, x_l, h0, c0, batched, dropout_on, weights)
            if recording is not None:
                return recording
            strategy = "replay"  # the workspace layout check failed (another oneDNN build?): compute the gates

        # Time-major buffers, (L, D, T, B, ·), carved from one flat buffer. Gates are kept in the order i, f, o, g so
        # that one sigmoid covers three of them; they are handed out in the math's names below.
        n_gates, n_state, n_h = L * D * T * B * 4 * H, L * D * T * B * H, L * D * T * B * P
        flat = self._buffer(n_gates + 2 * n_state + (n_h if self.proj_size > 0 else 0), x_l)
        ifog = flat[:n_gates].view(L, D, T, B, 4 * H)
        c = flat[n_gates : n_gates + n_state].view(L, D, T, B, H)
        m = flat[n_gates + n_state : n_gates + 2 * n_state].view(L, D, T, B, H)
        h = flat[n_gates + 2 * n_state :].view(L, D, T, B, P) if self.proj_size > 0 else m
        h_n, c_n = [], []
        for k in range(L):
            if strategy == "replay":
                # The fused kernel, one layer: out (T, B, D*P), hk/ck (D, B, P/H) — what nn.LSTM computes.
                with warnings.catch_warnings():  # cuDNN: one layer's weights are not the whole flat buffer
                    warnings.filterwarnings("ignore", "RNN module weights are not part of single contiguous chunk")
                    out, hk, ck = torch._VF.lstm(
                        x_l,
                        (h0[k], c0[k]),
                        self._flat_weights_of_layer(weights, k),
                        self.bias,
                        1,
                        0.0,
                        False,
                        D == 2,
                        False,
                    )
                for d in range(D):
                    h_d = out[..., d * P : (d + 1) * P]
                    self._replay_direction(x_l, h_d, h0[k, d], c0[k, d], weights, k, d, ifog[k, d], c[k, d], m[k, d])
                    if self.proj_size > 0:
                        h[k, d] = h_d
            else:
                for d in range(D):
                    self._loop_direction(x_l, h0[k, d], c0[k, d], weights, k, d, ifog[k, d], c[k, d], m[k, d], h[k, d])
                out = torch.cat([h[k, d] for d in range(D)], dim=-1) if D == 2 else h[k, 0]
                last = [T - 1, 0]  # where each direction ends: the forward one at T-1, the backward one at 0
                hk = torch.stack([h[k, d, last[d]] for d in range(D)])
                ck = torch.stack([c[k, d, last[d]] for d in range(D)])
            h_n.append(hk)
            c_n.append(ck)
            x_l = out
            if dropout_on and k < L - 1:
                x_l = F.dropout(x_l, p=self.dropout, training=True)

        i_, f_, o_, g_ = (ifog[..., n * H : (n + 1) * H] for n in range(4))
        return self._assemble(
            x, out, h_n, c_n, batched, strategy, {"i": i_, "f": f_, "g": g_, "o": o_, "c": c, "m": m, "h": h}
        )

    def _empty_recording(self, x: Tensor, x_l: Tensor, batched: bool, strategy: str) -> Recording:
        """A batch of zero sequences: forward returns empty tensors, so does record (every shape as usual)."""
        T, B, _ = x_l.shape
        L, D, H, P = self.num_layers, self.num_directions, self.hidden_size, self.real_hidden_size
        out = x_l.new_empty(T, B, D * P)
        empty = {name: x_l.new_empty(L, D, T, B, H) for name in ("i", "f", "g", "o", "c", "m")}
        empty["h"] = x_l.new_empty(L, D, T, B, P) if self.proj_size > 0 else empty["m"]
        h_n = [x_l.new_empty(D, B, P) for _ in range(L)]
        c_n = [x_l.new_empty(D, B, H) for _ in range(L)]
        return self._assemble(x, out, h_n, c_n, batched, strategy, empty)

    def _assemble(
        self,
        x: Tensor,
        out: Tensor,
        h_n: list[Tensor],
        c_n: list[Tensor],
        batched: bool,
        strategy: str,
        time_major: dict[str, Tensor],
    ) -> Recording:
        """The Recording from the last layer's output, each layer's (h_n, c_n) and (L, D, T, B, ·) tensors."""
        output = out if batched else out.squeeze(1)
        if batched and self.batch_first:
            output = output.transpose(0, 1)
        h_n_t = torch.cat(h_n, 0)
        c_n_t = torch.cat(c_n, 0)
        if not batched:
            h_n_t, c_n_t = h_n_t.squeeze(1), c_n_t.squeeze(1)
        x_bt = x.unsqueeze(0) if not batched else (x if self.batch_first else x.transpose(0, 1))
        # (L, D, T, B, ·) → (L, D, B, T, ·), views
        tensors = {name: t.transpose(2, 3) for name, t in time_major.items()}
        return Recording(
            output=output,
            h_n=h_n_t,
            c_n=c_n_t,
            x=x_bt.detach(),
            **tensors,
            extras={"proj_size": self.proj_size, "batched": batched, "strategy": strategy},
        )

    def _record_from_kernel(
        self,
        x: Tensor,
        x_l: Tensor,
        h0: Tensor,
        c0: Tensor,
        batched: bool,
        dropout_on: bool,
        weights: dict[str, Tensor],
    ) -> Recording | None:
        """Every layer and direction through the fused kernel, reading its own gates and c (see kernel_gates).

        The kernel runs a chunk of steps at a time (``kernel_gates.record_layer``); each piece of workspace is
        copied into one (L, D, T, B, ·) buffer per name right after its kernel call, while it is still in cache, and
        the layer's output is written straight into the buffer the next layer reads and m views. One layer and
        direction in one chunk: ``_record_one_kernel_call``.
        """
        T, B, _ = x_l.shape
        L, D, H = self.num_layers, self.num_directions, self.hidden_size
        if (
            L == 1
            and D == 1
            and kernel_gates.steps_per_call(T, B, self.input_size, H, num_layers=1, bidirectional=False) >= T
        ):
            return self._record_one_kernel_call(x, x_l, h0, c0, batched, weights)
        n_gates, n_state = L * D * T * B * 4 * H, L * D * T * B * H
        flat = self._buffer(n_gates + 2 * n_state, x_l)
        gates = flat[:n_gates].view(L, D, T, B, 4 * H)
        c = flat[n_gates : n_gates + n_state].view(L, D, T, B, H)
        outs = flat[n_gates + n_state :].view(L, T, B, D * H)  # each layer's output; m = h is a view of it
        h_n, c_n = [], []
        for k in range(L):
            last = []
            for d in range(D):
                W = self._layer_weights(weights, k, d)
                states = kernel_gates.record_layer(
                    x_l,
                    (W["w_ih"], W["w_hh"], W["b_ih"], W["b_hh"]),
                    h0[k, d],
                    c0[k, d],
                    reverse=d == 1,
                    num_layers=L,
                    bidirectional=D == 2,
                    gates=gates[k, d],
                    c=c[k, d],
                    output=outs[k, ..., d * H : (d + 1) * H],
                )
                if states is None:
                    return None
                last.append(states)
            h_n.append(torch.stack([h for h, _ in last]))
            c_n.append(torch.stack([cn for _, cn in last]))
            x_l = outs[k]
            if dropout_on and k < L - 1:
                x_l = F.dropout(x_l, p=self.dropout, training=True)
        # (L, T, B, D·H) → (L, D, T, B, H): each direction's slice of each layer's output
        m = outs.view(L, T, B, D, H).permute(0, 3, 1, 2, 4)
        i_, f_, g_, o_ = (gates[..., n * H : (n + 1) * H] for n in range(4))  # the kernel's order: i, f, g, o
        return self._assemble(
            x, outs[-1], h_n, c_n, batched, "kernel", {"i": i_, "f": f_, "g": g_, "o": o_, "c": c, "m": m, "h": m}
        )

    def _record_one_kernel_call(
        self, x: Tensor, x_l: Tensor, h0: Tensor, c0: Tensor, batched: bool, weights: dict[str, Tensor]
    ) -> Recording | None:
        """One layer, one direction, a workspace small enough for one kernel call: the recording *is* the kernel's
        workspace (views, nothing copied). malloc hands a freed workspace of this size back without page faults."""
        W = self._layer_weights(weights, 0, 0)
        trace = kernel_gates.run_layer(
            x_l,
            (W["w_ih"], W["w_hh"], W["b_ih"], W["b_hh"]),
            h0[0, 0],
            c0[0, 0],
            reverse=False,
            num_layers=1,
            bidirectional=False,
        )
        if trace is None:
            return None
        H = self.hidden_size
        gates, c, m = trace.gates[None, None], trace.c[None, None], trace.output[None, None]
        i_, f_, g_, o_ = (gates[..., n * H : (n + 1) * H] for n in range(4))  # the kernel's order: i, f, g, o
        return self._assemble(
            x,
            trace.output,
            [trace.h_n[None]],
            [trace.c_n[None]],
            batched,
            "kernel",
            {"i": i_, "f": f_, "g": g_, "o": o_, "c": c, "m": m, "h": m},
        )

    # Below this many multiply-adds per step of the first layer (batch × (input + h) × 4·hidden), replaying the
    # kernel's output through one big matrix product costs less on the CPU than the per-step loop: the kernel is
    # then bound by streaming W_hh once per step, which the loop would pay too. Measured with
    # benchmarks/bench_recording.py (it prints both strategies): replay wins at (1, 1000, 32, 512) and
    # (16, 128, 64, 128), the loop at (32, 256, 64, 256).
    REPLAY_MAX_MACS_PER_STEP = 2_000_000

    def _pick_strategy(self, batch: int, weight: Tensor | None = None) -> str:
        weight = self._flat_weights[0] if weight is None else weight
        if kernel_gates.kernel_available(weight, self.proj_size):
            return "kernel"  # the fused kernel keeps its own gates: recording costs one kernel pass
        if weight.device.type != "cpu":
            return "replay"  # on accelerators the batched product is nearly free, per-step launches are not
        macs = batch * (self.input_size + self.real_hidden_size) * 4 * self.hidden_size
        return "replay" if macs <= self.REPLAY_MAX_MACS_PER_STEP else "loop"

    def _ifog_weights(
        self, weights: dict[str, Tensor], layer: int, direction: int
    ) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        """W_ih, W_hh (rows reordered i, f, g, o → i, f, o, g), the summed bias likewise, and W_hr."""
        W = self._layer_weights(weights, layer, direction)
        H = self.hidden_size
        order = torch.cat([torch.arange(0, 2 * H), torch.arange(3 * H, 4 * H), torch.arange(2 * H, 3 * H)])
        order = order.to(W["w_ih"].device)
        bias = (W["b_ih"] + W["b_hh"])[order] if W["b_ih"] is not None else None
        return W["w_ih"][order], W["w_hh"][order], bias, W["w_hr"]

    def _input_projection(self, x_l: Tensor, w_ih: Tensor, bias: Tensor | None, out: Tensor) -> None:
        """out (T, B, 4H) = x W_ih^T + b for every step at once (hoisted out of the time loop)."""
        T, B, _ = x_l.shape
        flat = out.view(T * B, -1)
        if bias is not None:
            torch.addmm(bias, x_l.reshape(T * B, -1), w_ih.t(), out=flat)
        else:
            torch.mm(x_l.reshape(T * B, -1), w_ih.t(), out=flat)

    def _activate(self, pre: Tensor) -> None:
        """In place: σ on i, f, o and tanh on g (pre's last dim is laid out i, f, o, g)."""
        H = self.hidden_size
        pre[..., : 3 * H].sigmoid_()
        pre[..., 3 * H :].tanh_()

    # Precision of replay's matrix products for float32 on CUDA: None follows the kernel being replayed — cuDNN
    # computes float32 LSTMs with TF32 tensor cores when torch.backends.cudnn.allow_tf32 (PyTorch's default), so
    # replay then does too (TF32 rounding, ~1e-3 relative, is already in the h it replays); True/False force it.
    REPLAY_TF32: bool | None = None

    def _replay_tf32(self, t: Tensor) -> bool:
        if t.device.type != "cuda" or t.dtype != torch.float32:
            return torch.backends.cuda.matmul.allow_tf32
        if self.REPLAY_TF32 is not None:
            return self.REPLAY_TF32
        return torch.backends.cudnn.allow_tf32 or torch.backends.cuda.matmul.allow_tf32

    def _replay_direction(self, x_l, h_d, h0, c0, weights, k, d, ifog, c, m) -> None:
        """Gates and c of one layer/direction from the kernel's h sequence ``h_d`` (T, B, P)."""
        T, B, _ = x_l.shape
        H = self.hidden_size
        w_ih, w_hh, bias, _ = self._ifog_weights(weights, k, d)
        with _matmul_tf32(self._replay_tf32(x_l)):
            self._input_projection(x_l, w_ih, bias, ifog)
            # + h_{t-1} W_hh^T for all steps at once; h_{t-1} is h0 at the first step the direction takes (t = 0
            # going forward, t = T-1 going backward) and the kernel's h of the step before it elsewhere.
            first, rest, prev = (0, slice(1, T), slice(0, T - 1)) if d == 0 else (T - 1, slice(0, T - 1), slice(1, T))
            ifog[first].addmm_(h0, w_hh.t())
            if T > 1:
                ifog[rest].view((T - 1) * B, -1).addmm_(h_d[prev].reshape((T - 1) * B, -1), w_hh.t())
        self._activate(ifog)
        i, f, o, g = (ifog[..., n * H : (n + 1) * H] for n in range(4))
        cell_states(f, i, g, c0, reverse=d == 1, out=c)
        torch.tanh(c, out=m)
        m.mul_(o)  # m_t = o_t ⊙ tanh(c_t)

    def _loop_direction(self, x_l, h0, c0, weights, k, d, ifog, c, m, h) -> None:
        """The six equations one step at a time for one layer/direction, writing into the buffers."""
        T = x_l.shape[0]
        H = self.hidden_size
        w_ih, w_hh, bias, w_hr = self._ifog_weights(weights, k, d)
        self._input_projection(x_l, w_ih, bias, ifog)  # (T, B, 4H): x_t W_ih^T + b for every t
        w_hh_t = w_hh.t()
        w_hr_t = w_hr.t() if w_hr is not None else None
        # c is carried in float32 for float16/bfloat16 models (as the fused kernels accumulate it).
        acc = torch.float32 if c.dtype in (torch.float16, torch.bfloat16) else c.dtype
        # Per-step views made once (unbind is one C++ call), so the loop body is only the math.
        ifo_, g_ = ifog[..., : 3 * H].unbind(0), ifog[..., 3 * H :].unbind(0)
        i_, f_, o_ = ifog[..., :H].unbind(0), ifog[..., H : 2 * H].unbind(0), ifog[..., 2 * H : 3 * H].unbind(0)
        pre_, c_, m_, h_ = ifog.unbind(0), c.unbind(0), m.unbind(0), h.unbind(0)
        h_prev, c_prev = h0, c0.to(acc)
        for t in range(T) if d == 0 else range(T - 1, -1, -1):
            pre_[t].addmm_(h_prev, w_hh_t)  # (B, 4H) += h_{t-1} W_hh^T
            ifo_[t].sigmoid_()
            g_[t].tanh_()
            if acc == c.dtype:
                torch.mul(i_[t], g_[t], out=c_[t])
                c_[t].addcmul_(f_[t], c_prev)  # c_t = f ⊙ c_{t-1} + i ⊙ g
                c_prev = c_[t]
            else:
                c_prev = torch.addcmul(i_[t].to(acc) * g_[t], f_[t], c_prev)
                c_[t].copy_(c_prev)
            if acc == c.dtype:
                torch.tanh(c_prev, out=m_[t])
            else:
                m_[t].copy_(torch.tanh(c_prev))
            m_[t].mul_(o_[t])  # m_t = o ⊙ tanh(c_t)
            if w_hr_t is not None:
                torch.mm(m_[t], w_hr_t, out=h_[t])  # h_t = W_hr m_t (LSTMP)
            h_prev = h_[t]


@contextlib.contextmanager
def _matmul_tf32(enabled: bool) -> Iterator[None]:
    """cuBLAS float32 products with TF32 on or off inside the block (a process-wide flag, restored after)."""
    before = torch.backends.cuda.matmul.allow_tf32
    if enabled == before:
        yield
        return
    torch.backends.cuda.matmul.allow_tf32 = enabled
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = before


# ---------------------------------------------------------------------------------------------------- c recurrence
SCAN_MIN_STEPS = 64  # below this many steps a per-step loop launches fewer kernels than the chunked scan


def cell_states(
    f: Tensor, i: Tensor, g: Tensor, c0: Tensor, *, reverse: bool, out: Tensor, scan: bool | None = None
) -> None:
    """out (T, B, H) ← c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t with c_{-1} = c0 (B, H), over t forward or (``reverse``)
    backward. f, i, g are (T, B, H), possibly strided views.

    A linear recurrence: a loop of T fused steps on the CPU, where each step costs microseconds; on accelerators,
    where each step would be a kernel launch, a chunked scan with about 2√T launches (``scan=None`` picks). float16
    and bfloat16 are accumulated in float32, like the fused kernels' cell state.
    """
    T = f.shape[0]
    if scan is None:
        scan = f.device.type != "cpu" and T >= SCAN_MIN_STEPS
    acc = torch.float32 if out.dtype in (torch.float16, torch.bfloat16) else out.dtype
    if not scan:
        if acc == out.dtype:
            torch.mul(i, g, out=out)
            c_, f_ = out.unbind(0), f.unbind(0)
            c_prev = c0
            for t in range(T - 1, -1, -1) if reverse else range(T):
                c_[t].addcmul_(f_[t], c_prev)
                c_prev = c_[t]
        else:
            work = i.to(acc) * g
            _scan_loop(f, work, c0.to(acc), reverse)
            out.copy_(work)
        return
    if acc == out.dtype:  # b_t = i_t ⊙ g_t, in out, becomes c in place
        torch.mul(i, g, out=out)
        _chunked_scan(f, out, c0, reverse)
    else:
        work = i.to(acc) * g
        _chunked_scan(f, work, c0.to(acc), reverse)
        out.copy_(work)


def _scan_loop(f: Tensor, b: Tensor, c0: Tensor, reverse: bool) -> Tensor:
    """In place: b_t ← f_t ⊙ b_{t-1} + b_t along dim 0 (b_{-1} = c0), one step at a time; returns the last state."""
    c_, f_ = b.unbind(0), f.unbind(0)
    c_prev = c0
    for t in range(len(c_) - 1, -1, -1) if reverse else range(len(c_)):
        c_[t].addcmul_(f_[t], c_prev)
        c_prev = c_[t]
    return c_prev


def _chunked_scan(f: Tensor, b: Tensor, c0: Tensor, reverse: bool) -> None:
    """In place: b_t ← f_t ⊙ b_{t-1} + b_t along dim 0 with b_{-1} = c0, in about 2√T steps of big elementwise ops.

    Split the steps into n chunks of K (in the order the recurrence runs). (1) Within every chunk at once, run the
    recurrence from zero — K steps over (n, B, H) slices — and take A, the running product of f within the chunk
    (one cumprod). (2) Carry the state across chunks: carry_m = A_m,last ⊙ carry_{m-1} + local_m,last — n small steps.
    (3) Add each chunk's incoming carry: c = local + A ⊙ carry_in, one op. Only products of numbers in [0, 1] and
    sums occur (no division, no logarithms), so it is as stable as the plain loop; the steps left over when K does
    not divide T run as a plain loop at the end.
    """
    T = b.shape[0]
    K = max(1, math.isqrt(T))
    n = T // K
    r = T - n * K
    # The chunked part, (n, K, ·) in the order the recurrence runs: positions [0, nK) going forward, [r, T) going
    # backward (there chunk 0 is the last one in position order, and within a chunk steps run from K-1 to 0).
    span = slice(0, n * K) if not reverse else slice(r, T)
    fv = f[span].unflatten(0, (n, K))
    bv = b[span].unflatten(0, (n, K))
    if reverse:
        fv, bv = fv.flip(0), bv.flip(0)  # copies; written back below
    steps = range(K - 1, -1, -1) if reverse else range(K)
    prev = None
    for j in steps:  # (1) local recurrences, all chunks at once
        if prev is not None:
            bv[:, j].addcmul_(fv[:, j], bv[:, prev])
        prev = j
    fa = fv.to(b.dtype)
    A = fa.flip(1).cumprod(1).flip(1) if reverse else fa.cumprod(1)  # Π f from the chunk's start
    last = 0 if reverse else K - 1
    carry_in = torch.empty_like(bv[:, 0])
    carry = c0
    for m in range(n):  # (2) carries across chunks
        carry_in[m] = carry
        carry = torch.addcmul(bv[m, last], A[m, last], carry)
    bv.addcmul_(A, carry_in.unsqueeze(1))  # (3)
    if reverse:
        b[span].copy_(bv.flip(0).flatten(0, 1))
    if r:
        rest = slice(n * K, T) if not reverse else slice(0, r)
        _scan_loop(f[rest], b[rest], carry, reverse)


# ---------------------------------------------------------------------------------------------------- constructor
def _constructor_error(err: BaseException, given: dict[str, Any]) -> LSTMArgumentError | None:
    """nn.LSTM's constructor refused ``given``: the same exception, in its LSTMArgumentError class, naming the value.

    The checks follow nn.LSTM's order; None if none of them explains ``err`` (then it is re-raised unchanged).
    """
    dropout = given["dropout"]
    if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
        problem: LSTMArgumentError = LSTMArgumentError(
            "dropout should be a number in range [0, 1] representing the probability of an element being zeroed, "
            f"got {dropout!r}"
        )
    else:
        problem = _size_error(given)
    return problem if problem is not None and isinstance(problem, type(err)) else None


def _size_error(given: dict[str, Any]) -> LSTMArgumentError | None:
    for name in ("bias", "batch_first"):
        if not isinstance(given[name], bool):
            return LSTMArgumentTypeError(
                f"{name} should be of type bool, got: {type(given[name]).__name__} ({given[name]!r}); use True or False"
            )
    for name, meaning in (("input_size", "features per time step"), ("hidden_size", "units per layer")):
        value = given[name]
        if not isinstance(value, int):
            return LSTMArgumentTypeError(
                f"{name} should be of type int, got: {type(value).__name__} ({value!r}); it is the number of "
                f"{meaning}, a whole number ≥ 1"
            )
        if value <= 0:
            return LSTMArgumentError(f"{name} must be greater than zero, got {value}; it is the number of {meaning}")
    layers = given["num_layers"]
    if isinstance(layers, numbers.Real) and not isinstance(layers, bool) and layers <= 0:
        return LSTMArgumentError(f"num_layers must be greater than zero, got {layers!r}")
    try:
        operator.index(layers)
    except TypeError:
        return LSTMArgumentTypeError(
            f"num_layers should be of type int, got: {type(layers).__name__} ({layers!r}); a whole number ≥ 1"
        )
    proj, hidden = given["proj_size"], given["hidden_size"]
    if isinstance(proj, numbers.Real):
        if proj < 0:
            return LSTMArgumentError(
                f"proj_size should be a positive integer or zero to disable projections, got {proj!r}"
            )
        if proj >= hidden:
            return LSTMArgumentError(
                f"proj_size has to be smaller than hidden_size: got proj_size={proj!r} with hidden_size={hidden} "
                f"(the projection maps hidden_size units to proj_size); use 0 for no projection"
            )
    try:
        operator.index(proj)
    except TypeError:
        return LSTMArgumentTypeError(
            f"proj_size should be of type int, got: {type(proj).__name__} ({proj!r}); 0 for no projection"
        )
    return None
