"""RecordingLSTM: torch.nn.LSTM that can also record f, i, g, o, c, m, h at every step, layer and direction.

The equations (PyTorch stores the four gates stacked in the order i, f, g, o):

    i_t = σ(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)        input gate
    f_t = σ(W_if x_t + b_if + W_hf h_{t-1} + b_hf)        forget gate
    g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)     candidate
    o_t = σ(W_io x_t + b_io + W_ho h_{t-1} + b_ho)        output gate
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t                       cell state ("long memory")
    m_t = o_t ⊙ tanh(c_t)                                  hidden state before projection
    h_t = m_t, or W_hr m_t when proj_size > 0 (LSTMP)      hidden state ("short memory")

``forward`` *is* nn.LSTM's forward (the fused kernel), so a RecordingLSTM is a drop-in twin: same parameter names,
shapes and state_dict, same outputs and gradients. ``record`` runs the same fused kernel one layer and direction
at a time and, on the CPU, reads the gates and cell states the kernel itself keeps for its backward pass
(:mod:`lstm_viz.kernel_gates`) — one kernel pass, nothing computed twice. Where that kernel does not run (GPUs,
projections, float64) it replays the kernel's output — every h_t, hence every h_{t-1} — through one batched matrix
product per layer and gets c by the cheap elementwise recurrence above, or steps through the equations.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from lstm_viz.core import kernel_gates
from lstm_viz.core.interventions import Intervention, record_intervened
from lstm_viz.core.recording import Recording
from lstm_viz.core.twins import register_twin

__all__ = ["RecordingLSTM"]


class RecordingLSTM(nn.LSTM):
    """A drop-in ``torch.nn.LSTM`` (same constructor, parameters, state_dict, forward) that can ``record``."""

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
        for name, value in (
            ("input_size", input_size),
            ("hidden_size", hidden_size),
            ("num_layers", num_layers),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if isinstance(proj_size, bool) or not isinstance(proj_size, int) or proj_size < 0:
            raise ValueError(f"proj_size must be a non-negative integer, got {proj_size!r}")
        if proj_size >= hidden_size:
            raise ValueError(
                f"proj_size ({proj_size}) must be smaller than hidden_size ({hidden_size}); use 0 for no projection"
            )
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

    @classmethod
    def from_lstm(cls, lstm: nn.LSTM) -> RecordingLSTM:
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

    # ------------------------------------------------------------------ input checks
    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def real_hidden_size(self) -> int:
        """The size of h and of the output: proj_size for an LSTMP, else hidden_size."""
        return self.proj_size if self.proj_size > 0 else self.hidden_size

    def _check_input(self, x: object, hx: object) -> None:
        """Raise ValueError naming the expected and the given shape, before the kernel sees bad input."""
        if not isinstance(x, Tensor):
            raise ValueError(f"input must be a torch.Tensor, got {type(x).__name__}")
        layout = "(batch, seq_len, input_size)" if self.batch_first else "(seq_len, batch, input_size)"
        if x.dim() not in (2, 3):
            raise ValueError(
                f"input must be 2-D (seq_len, input_size={self.input_size}) or 3-D {layout} with "
                f"input_size={self.input_size}; got a {x.dim()}-D tensor of shape {tuple(x.shape)}"
            )
        if not x.is_floating_point():
            raise ValueError(
                f"input must be a floating-point tensor like the weights ({self.weight_ih_l0.dtype}); "
                f"got dtype {x.dtype} — convert it with x.float()"
            )
        weight_dtype = self.weight_ih_l0.dtype
        if x.dtype != weight_dtype:
            raise ValueError(
                f"input dtype {x.dtype} does not match the weights' {weight_dtype}; convert the input with "
                f"x.to({weight_dtype}) or the model with model.to({x.dtype})"
            )
        if x.shape[-1] != self.input_size:
            raise ValueError(
                f"input's last dimension must be input_size={self.input_size}; got shape {tuple(x.shape)}"
            )
        time_dim = (1 if self.batch_first else 0) if x.dim() == 3 else 0
        if x.shape[time_dim] == 0:
            raise ValueError(f"input has no time steps (shape {tuple(x.shape)}); give at least one step")
        if hx is None:
            return
        if not (isinstance(hx, (tuple, list)) and len(hx) == 2 and all(isinstance(t, Tensor) for t in hx)):
            raise ValueError("hx must be a tuple (h0, c0) of two tensors")
        batch = () if x.dim() == 2 else (x.shape[0 if self.batch_first else 1],)
        lead = self.num_layers * self.num_directions
        expected_h = (lead, *batch, self.real_hidden_size)
        expected_c = (lead, *batch, self.hidden_size)
        for name, tensor, expected in (("h0", hx[0], expected_h), ("c0", hx[1], expected_c)):
            if tuple(tensor.shape) != expected:
                raise ValueError(
                    f"{name} must have shape {expected} (num_layers*num_directions, "
                    f"{'batch, ' if batch else ''}{'proj_size' if name == 'h0' and self.proj_size else 'hidden_size'})"
                    f"; got {tuple(tensor.shape)}"
                )
            if tensor.dtype != weight_dtype:
                raise ValueError(
                    f"{name} dtype {tensor.dtype} does not match the weights' {weight_dtype}; "
                    f"convert it with {name}.to({weight_dtype})"
                )

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None):
        """Exactly ``nn.LSTM.forward`` (the fused kernel), after a shape check with a readable message."""
        if not isinstance(input, nn.utils.rnn.PackedSequence):
            self._check_input(input, hx)
        return super().forward(input, hx)

    # ------------------------------------------------------------------ recording
    def _layer_weights(self, layer: int, direction: int) -> dict[str, Tensor | None]:
        sfx = f"l{layer}{'_reverse' if direction == 1 else ''}"
        return {
            "w_ih": getattr(self, f"weight_ih_{sfx}"),
            "w_hh": getattr(self, f"weight_hh_{sfx}"),
            "b_ih": getattr(self, f"bias_ih_{sfx}") if self.bias else None,
            "b_hh": getattr(self, f"bias_hh_{sfx}") if self.bias else None,
            "w_hr": getattr(self, f"weight_hr_{sfx}") if self.proj_size > 0 else None,
        }

    def _flat_weights_of_layer(self, layer: int) -> list[Tensor]:
        keys = ("w_ih", "w_hh", "b_ih", "b_hh", "w_hr")
        return [
            w
            for direction in range(self.num_directions)
            for key, w in self._layer_weights(layer, direction).items()
            if key in keys and w is not None
        ]

    @torch.no_grad()
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

        Three strategies compute the same numbers:

        - ``"kernel"``: every layer and direction runs through the fused oneDNN kernel nn.LSTM uses on the CPU, in
          its training mode, which keeps all gates and cell states in a workspace; they are read from there
          (:mod:`lstm_viz.kernel_gates`, layout checked against the kernel's own output). ``output, h_n, c_n`` are
          bit-identical to ``forward`` with autograd on; with autograd off nn.LSTM uses oneDNN's inference variant,
          which can differ by about 1e-7. CPU, float32, no projections.
        - ``"replay"``: the fused kernel runs layer by layer and its output (every h_t) is *replayed* through one
          batched matrix product per layer to get all gates; ``output, h_n, c_n`` are the kernel's own tensors,
          bit-identical to ``forward`` under ``torch.no_grad()``.
        - ``"loop"``: one step at a time, like the equations, with the input projection hoisted out of the loop.
          ``output, h_n, c_n`` are computed here and equal the kernel's to float rounding (~1e-7 in float32).
        - ``"auto"`` (default) picks ``kernel`` where it runs; otherwise ``replay`` on accelerators and for small
          batch × width on the CPU, else ``loop``. If the kernel's workspace ever fails its layout check (another
          oneDNN build), ``kernel`` falls back to ``replay`` for the rest of the process.

        Recording uses eval-mode semantics by default (no dropout between layers), the documented way to look at a
        model. With ``apply_dropout=True`` and the module in training mode, dropout is applied to each layer's
        output before the next layer, as nn.LSTM does (the random mask then differs from a separate forward call).
        The tensors are detached; with ``kernel`` on a one-layer, one-direction model they are views into the
        kernel's workspace (nothing copied).
        """
        if isinstance(x, nn.utils.rnn.PackedSequence):  # variable lengths: NaN past each end (core/packed.py)
            from lstm_viz.core.packed import record_packed

            return record_packed(self, x, hx, strategy=strategy, apply_dropout=apply_dropout)
        self._check_input(x, hx)
        if interventions:  # replace gates or states and run on from there, step by step (core/interventions.py)
            return record_intervened(self, x, hx, interventions)
        if strategy not in ("auto", "kernel", "replay", "loop"):
            raise ValueError(f"strategy must be 'auto', 'kernel', 'replay' or 'loop', got {strategy!r}")
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
            h0, c0 = hx if batched else (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
        h0 = h0.reshape(L, D, B, P)
        c0 = c0.reshape(L, D, B, H)
        if strategy == "auto":
            strategy = self._pick_strategy(B)
        dropout_on = apply_dropout and self.training and self.dropout > 0
        if strategy == "kernel":
            if not kernel_gates.kernel_available(self.weight_ih_l0, self.proj_size):
                raise ValueError(
                    "strategy='kernel' reads the gates from PyTorch's oneDNN CPU kernel, which runs float32 LSTMs "
                    "without projections on the CPU; use strategy='auto' to pick what works for this model"
                )
            recording = self._record_from_kernel(x, x_l, h0, c0, batched, dropout_on)
            if recording is not None:
                return recording
            strategy = "replay"  # the workspace layout check failed (another oneDNN build?): compute the gates

        # Time-major buffers, (L, D, T, B, ·). Gates are kept in the order i, f, o, g so that one sigmoid covers
        # three of them; they are handed out in the math's names below.
        ifog = x_l.new_empty(L, D, T, B, 4 * H)
        c = x_l.new_empty(L, D, T, B, H)
        m = x_l.new_empty(L, D, T, B, H)
        h = x_l.new_empty(L, D, T, B, P) if self.proj_size > 0 else m
        h_n, c_n = [], []
        for k in range(L):
            if strategy == "replay":
                # The fused kernel, one layer: out (T, B, D*P), hk/ck (D, B, P/H) — what nn.LSTM computes.
                out, hk, ck = torch._VF.lstm(
                    x_l,
                    (h0[k], c0[k]),
                    self._flat_weights_of_layer(k),
                    self.bias,
                    1,
                    0.0,
                    False,
                    D == 2,
                    False,
                )
                for d in range(D):
                    self._replay_direction(
                        x_l,
                        out[..., d * P : (d + 1) * P],
                        h0[k, d],
                        c0[k, d],
                        k,
                        d,
                        ifog[k, d],
                        c[k, d],
                        m[k, d],
                    )
                    if self.proj_size > 0:
                        h[k, d] = out[..., d * P : (d + 1) * P]
            else:
                for d in range(D):
                    self._loop_direction(x_l, h0[k, d], c0[k, d], k, d, ifog[k, d], c[k, d], m[k, d], h[k, d])
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
        self, x: Tensor, x_l: Tensor, h0: Tensor, c0: Tensor, batched: bool, dropout_on: bool
    ) -> Recording | None:
        """Every layer and direction through the fused kernel, reading its own gates and c (see kernel_gates).

        One layer and direction: the recording *is* the kernel's workspace (views, nothing copied). Several: each
        workspace is copied into one (L, D, T, B, ·) tensor per name right after its kernel call, while it is
        still in cache, and the layer's output is written by the concatenation that feeds the next layer.
        """
        T, B, _ = x_l.shape
        L, D, H = self.num_layers, self.num_directions, self.hidden_size
        single = L == 1 and D == 1
        if not single:
            gates = x_l.new_empty(L, D, T, B, 4 * H)
            c = x_l.new_empty(L, D, T, B, H)
            outs = x_l.new_empty(L, T, B, D * H)  # each layer's output; m = h is a view of it
            backwards = torch.arange(T - 1, -1, -1, device=x_l.device)
        h_n, c_n = [], []
        for k in range(L):
            layer = []
            for d in range(D):
                W = self._layer_weights(k, d)
                trace = kernel_gates.run_layer(
                    x_l,
                    (W["w_ih"], W["w_hh"], W["b_ih"], W["b_hh"]),
                    h0[k, d],
                    c0[k, d],
                    reverse=d == 1,
                    num_layers=L,
                    bidirectional=D == 2,
                )
                if trace is None:
                    return None
                if single:
                    gates, c = trace.gates[None, None], trace.c[None, None]
                elif trace.time_reversed:  # steps back in position order
                    torch.index_select(trace.gates, 0, backwards, out=gates[k, d])
                    torch.index_select(trace.c, 0, backwards, out=c[k, d])
                else:
                    gates[k, d].copy_(trace.gates)
                    c[k, d].copy_(trace.c)
                layer.append((trace.output, trace.h_n, trace.c_n))
            if single:
                out = layer[0][0]
            else:
                out = torch.cat([o for o, _, _ in layer], dim=-1, out=outs[k])
            h_n.append(torch.stack([h for _, h, _ in layer]))
            c_n.append(torch.stack([cn for _, _, cn in layer]))
            x_l = out
            if dropout_on and k < L - 1:
                x_l = F.dropout(x_l, p=self.dropout, training=True)
        # (L, T, B, D·H) → (L, D, T, B, H): each direction's slice of each layer's output
        m = out[None, None] if single else outs.view(L, T, B, D, H).permute(0, 3, 1, 2, 4)
        i_, f_, g_, o_ = (gates[..., n * H : (n + 1) * H] for n in range(4))  # the kernel's order: i, f, g, o
        return self._assemble(
            x, out, h_n, c_n, batched, "kernel", {"i": i_, "f": f_, "g": g_, "o": o_, "c": c, "m": m, "h": m}
        )

    # Below this many multiply-adds per step of the first layer (batch × (input + h) × 4·hidden), replaying the
    # kernel's output through one big matrix product costs less on the CPU than the per-step loop: the kernel is
    # then bound by streaming W_hh once per step, which the loop would pay too. Measured with
    # benchmarks/bench_recording.py (it prints both strategies): replay wins at (1, 1000, 32, 512) and
    # (16, 128, 64, 128), the loop at (32, 256, 64, 256).
    REPLAY_MAX_MACS_PER_STEP = 2_000_000

    def _pick_strategy(self, batch: int) -> str:
        if kernel_gates.kernel_available(self.weight_ih_l0, self.proj_size):
            return "kernel"  # the fused kernel keeps its own gates: recording costs one kernel pass
        if self.weight_ih_l0.device.type != "cpu":
            return "replay"  # on accelerators the batched product is nearly free, per-step launches are not
        macs = batch * (self.input_size + self.real_hidden_size) * 4 * self.hidden_size
        return "replay" if macs <= self.REPLAY_MAX_MACS_PER_STEP else "loop"

    def _ifog_weights(
        self, layer: int, direction: int
    ) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        """W_ih, W_hh (rows reordered i, f, g, o → i, f, o, g), the summed bias likewise, and W_hr."""
        W = self._layer_weights(layer, direction)
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

    def _replay_direction(self, x_l, h_d, h0, c0, k, d, ifog, c, m) -> None:
        """Gates and c of one layer/direction from the kernel's h sequence ``h_d`` (T, B, P)."""
        T, B, _ = x_l.shape
        H = self.hidden_size
        w_ih, w_hh, bias, _ = self._ifog_weights(k, d)
        # h_{t-1} for every t: the forward direction reads left to right, the backward one right to left.
        if d == 0:
            h_prev = torch.cat([h0.unsqueeze(0), h_d[:-1]], dim=0)
        else:
            h_prev = torch.cat([h_d[1:], h0.unsqueeze(0)], dim=0)
        self._input_projection(x_l, w_ih, bias, ifog)
        ifog.view(T * B, -1).addmm_(
            h_prev.reshape(T * B, -1), w_hh.t()
        )  # + h_{t-1} W_hh^T, all steps at once
        self._activate(ifog)
        i, f, o, g = (ifog[..., n * H : (n + 1) * H] for n in range(4))
        # c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t: an elementwise linear recurrence, one fused op per step.
        torch.mul(i, g, out=c)
        c_, f_ = c.unbind(0), f.unbind(0)
        c_prev = c0
        for t in range(T) if d == 0 else range(T - 1, -1, -1):
            c_[t].addcmul_(f_[t], c_prev)
            c_prev = c_[t]
        torch.tanh(c, out=m)
        m.mul_(o)  # m_t = o_t ⊙ tanh(c_t)

    def _loop_direction(self, x_l, h0, c0, k, d, ifog, c, m, h) -> None:
        """The six equations one step at a time for one layer/direction, writing into the buffers."""
        T = x_l.shape[0]
        H = self.hidden_size
        w_ih, w_hh, bias, w_hr = self._ifog_weights(k, d)
        self._input_projection(x_l, w_ih, bias, ifog)  # (T, B, 4H): x_t W_ih^T + b for every t
        w_hh_t = w_hh.t()
        w_hr_t = w_hr.t() if w_hr is not None else None
        # Per-step views made once (unbind is one C++ call), so the loop body is only the math.
        ifo_, g_ = ifog[..., : 3 * H].unbind(0), ifog[..., 3 * H :].unbind(0)
        i_, f_, o_ = ifog[..., :H].unbind(0), ifog[..., H : 2 * H].unbind(0), ifog[..., 2 * H : 3 * H].unbind(0)
        pre_, c_, m_, h_ = ifog.unbind(0), c.unbind(0), m.unbind(0), h.unbind(0)
        h_prev, c_prev = h0, c0
        for t in range(T) if d == 0 else range(T - 1, -1, -1):
            pre_[t].addmm_(h_prev, w_hh_t)  # (B, 4H) += h_{t-1} W_hh^T
            ifo_[t].sigmoid_()
            g_[t].tanh_()
            torch.mul(i_[t], g_[t], out=c_[t])
            c_[t].addcmul_(f_[t], c_prev)  # c_t = f ⊙ c_{t-1} + i ⊙ g
            torch.tanh(c_[t], out=m_[t])
            m_[t].mul_(o_[t])  # m_t = o ⊙ tanh(c_t)
            if w_hr_t is not None:
                torch.mm(m_[t], w_hr_t, out=h_[t])  # h_t = W_hr m_t (LSTMP)
            h_prev, c_prev = h_[t], c_[t]


register_twin(nn.LSTM, RecordingLSTM)  # packed recording and record_modules record nn.LSTM through it
