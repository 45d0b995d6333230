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

``record`` runs the same fused kernel and reads the gates and cell states the kernel keeps for its backward pass:
oneDNN's workspace on the CPU (:mod:`lstm_viz.core.kernel_gates`), cuDNN's reserve space on CUDA
(:mod:`lstm_viz.core.cudnn_gates`) — one kernel pass, nothing computed twice. Where that does not run (projections,
float64, half precision on the CPU, bfloat16 on CUDA) it replays the kernel's output — every h_t, hence every h_{t-1}
— through one batched matrix product per layer and gets c by the elementwise recurrence above (a chunked parallel
scan on accelerators), or steps through the equations. Recording buffers are reused from call to call once nothing
outside holds them (:class:`lstm_viz.core.allocator.BufferPool`), so recording does not page-fault fresh memory.
"""

from collections.abc import Sequence
from typing import Any, overload

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from lstm_viz.core.errors import (
    RNNArgumentError,
)
from lstm_viz.core.interventions import Intervention, as_list, packed_interventions_error, record_intervened
from lstm_viz.core.lstm_args import LSTMArgumentChecks, init_checked, led_by
from lstm_viz.core.lstm_strategies import LSTMRecordingStrategies
from lstm_viz.core.packed import record_packed
from lstm_viz.core.recording import Recording
from lstm_viz.core.twins import plain_copy, register_twin, run_forward_pre_hooks

__all__ = ["STRATEGIES", "RecordingLSTM"]

STRATEGIES = ("auto", "kernel", "replay", "loop")


class RecordingLSTM(LSTMArgumentChecks, LSTMRecordingStrategies, nn.LSTM):
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
        given = {"input_size": input_size, "hidden_size": hidden_size, "num_layers": num_layers, "bias": bias,
                 "batch_first": batch_first, "dropout": dropout, "proj_size": proj_size}  # fmt: skip
        init_checked(nn.LSTM.__init__, self, given, **given, bidirectional=bidirectional, device=device, dtype=dtype)

    @classmethod
    def from_lstm(cls, lstm: nn.LSTM) -> "RecordingLSTM":
        """A RecordingLSTM with ``lstm``'s options and a copy of its (current) weights, on the same device and dtype.

        A weight-normed, pruned or otherwise parametrized ``lstm`` gives a plain RecordingLSTM holding the weights
        its forward uses.
        """
        if not isinstance(lstm, nn.LSTM):
            raise TypeError(f"from_lstm expects a torch.nn.LSTM, got {type(lstm).__name__}")
        return plain_copy(cls, lstm)

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
            raise led_by(clearer, str(err)) from None

    # ------------------------------------------------------------------------------------------------ recording
    def record(
        self,
        x: Tensor | nn.utils.rnn.PackedSequence,
        hx: tuple[Tensor, Tensor] | None = None,
        *,
        strategy: str = "auto",
        apply_dropout: bool = False,
        interventions: Sequence[Intervention] | None = None,
    ) -> Recording:
        """Run the LSTM on ``x`` and return every gate and state, plus what ``forward`` returns.

        Takes what ``forward`` takes (2-D or 3-D input, an optional ``(h0, c0)``) and refuses what it refuses, with
        the same exception classes. Like a call of the module, it first runs the module's forward pre-hooks — where
        ``torch.nn.utils.weight_norm``, pruning and spectral norm recompute the weights — and reads the weights
        forward would read (parametrizations included). Forward (post) hooks are not run: record returns a
        Recording, not forward's output. A ``PackedSequence`` is recorded padded, with NaN past each sequence's end
        (:mod:`lstm_viz.core.packed`). ``interventions`` (see :class:`lstm_viz.Intervention`) replace gates or states
        at chosen steps and units and run on from there, step by step (:mod:`lstm_viz.core.interventions`), with
        ``apply_dropout`` as below; they run as the ``loop`` strategy, so ``strategy`` must then be ``"auto"`` or
        ``"loop"`` (another is refused rather than silently not used). A PackedSequence takes none (refused with a
        ValueError that says what to do instead).

        Three strategies compute the same numbers:

        - ``"kernel"``: every layer and direction runs through the fused oneDNN kernel nn.LSTM uses on the CPU, in
          its training mode, which keeps all gates and cell states in a workspace; they are read from there
          (:mod:`lstm_viz.core.kernel_gates`, layout checked against the kernel's own output), in chunks of steps
          that keep each workspace small enough for malloc to reuse; a one-layer, one-direction recording that fits
          one chunk *is* the workspace (views, nothing copied). ``output, h_n, c_n`` are bit-identical to
          ``forward`` with autograd on; with autograd off nn.LSTM uses oneDNN's inference variant, which can differ
          by about 1e-7. CPU, float32, no projections. On CUDA the same idea with cuDNN: each layer runs in cuDNN's
          training mode, and the gates and c are read from the reserve space it keeps for its backward pass
          (:mod:`lstm_viz.core.cudnn_gates`, layout checked likewise); ``output, h_n, c_n`` are those of a module in
          training mode, and an eval-mode forward (cuDNN's inference mode) can differ by float rounding. float32
          and float16, no projections.
        - ``"replay"``: the fused kernel runs layer by layer and its output (every h_t) is *replayed* through one
          batched matrix product per layer to get all gates; ``output, h_n, c_n`` are the kernel's own tensors,
          bit-identical to ``forward`` under ``torch.no_grad()``. The nonlinearities and c's elementwise recurrence
          run as one Triton kernel on CUDA where Triton is installed (:mod:`lstm_viz.core.fused_cell`), else as
          PyTorch calls (a chunked parallel scan on accelerators); c is accumulated in float32 for float16/bfloat16.
        - ``"loop"``: one step at a time, like the equations, with the input projection hoisted out of the loop.
          ``output, h_n, c_n`` are computed here and equal the kernel's to float rounding (~1e-7 in float32).
        - ``"auto"`` (default) picks ``kernel`` where it runs; otherwise ``replay`` on accelerators and for small
          batch × width on the CPU, else ``loop``. If the kernel's workspace ever fails its layout check (another
          oneDNN or cuDNN build), ``kernel`` falls back to ``replay`` for the rest of the process.

        Recording uses eval-mode semantics by default (no dropout between layers), the documented way to look at a
        model. With ``apply_dropout=True`` and the module in training mode, dropout is applied to each layer's
        output before the next layer, as nn.LSTM does (the random mask then differs from a separate forward call).
        Under autocast the recording is computed in the weights' dtype. The tensors are detached views into one
        buffer per recording, which the module reuses for a later recording of the same size once nothing else
        holds it (on the CPU; ``release_buffers()`` frees the kept ones).
        """
        if strategy not in STRATEGIES:
            raise RNNArgumentError(f"strategy must be 'auto', 'kernel', 'replay' or 'loop', got {strategy!r}")
        x, hx = run_forward_pre_hooks(self, x, hx)
        interventions = as_list(interventions)
        if isinstance(x, PackedSequence):
            if interventions:
                raise packed_interventions_error()
            return self._record_packed(x, hx, strategy=strategy, apply_dropout=apply_dropout)
        problem = self._refusal(x, hx)
        if problem is not None:
            raise problem
        if hx is not None:
            hx = (hx[0], hx[1])  # as nn.LSTM reads it (unbatched: a stacked tensor, a longer tuple)
        if interventions:  # replace gates or states and run on from there, step by step (core/interventions.py)
            dropout = self.dropout if apply_dropout and self.training else 0.0
            return record_intervened(self, x, hx, interventions, strategy=strategy, dropout=dropout)
        with torch.no_grad():
            return self._record(x, hx, strategy, apply_dropout)

    def _record_packed(self, x: PackedSequence, hx: tuple[Tensor, Tensor] | None, **kwargs: Any) -> Recording:
        """A PackedSequence (``record`` has already run the forward pre-hooks): NaN past each sequence's end, the
        backward direction from each sequence's own last step (:mod:`lstm_viz.core.packed`)."""
        return record_packed(self, x, hx, **kwargs)


register_twin(nn.LSTM, RecordingLSTM)  # packed recording and record_modules record nn.LSTM through it
