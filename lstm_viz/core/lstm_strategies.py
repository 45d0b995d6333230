"""RecordingLSTM's three recording strategies — ``kernel`` (the fused oneDNN kernel's own gates), ``replay`` (the
kernel's output through one batched product per layer) and ``loop`` (the equations step by step) — with the reused
buffers and the c recurrence they share. A mixin of :class:`lstm_viz.core.lstm.RecordingLSTM`."""

import contextlib
import itertools
import math
import threading
import weakref
from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from lstm_viz.core import cudnn_gates, fused_cell, kernel_gates
from lstm_viz.core.allocator import BufferPool
from lstm_viz.core.cudnn_layer import layer_params, run_layer
from lstm_viz.core.errors import RNNArgumentError
from lstm_viz.core.lstm_args import autocast_on
from lstm_viz.core.recording import Recording

__all__ = ["SCAN_MIN_STEPS", "LSTMRecordingStrategies", "cell_states"]


# ---------------------------------------------------------------------------------------------------- buffers
_POOLS: "weakref.WeakKeyDictionary[nn.Module, BufferPool]" = weakref.WeakKeyDictionary()


_POOLS_LOCK = threading.Lock()


class LSTMRecordingStrategies:
    """How ``record`` computes every gate and state (``_record``), given checked arguments."""

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
        if autocast_on():  # compute in the weights' dtype, as the recording is read
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
            if not (c0.dtype == torch.float32 and dtype in (torch.float16, torch.bfloat16)):
                c0 = c0.to(dtype)  # a c0 dtype nn.LSTM runs with (see _c0_dtype_runs)
            # A float32 c0 beside bfloat16 weights stays float32, as nn.LSTM keeps it: the kernel then carries c in
            # float32 and returns c_n in float32, and so does the recording (its c is stored in the weights' dtype).
        h0 = h0.reshape(L, D, B, P)
        c0 = c0.reshape(L, D, B, H)
        if strategy == "auto":
            strategy = self._pick_strategy(B, weight)
        if strategy == "kernel" and not self._kernel_available(weight):
            raise RNNArgumentError(
                "strategy='kernel' reads the gates from the fused kernel's own memory: PyTorch's oneDNN kernel on "
                "the CPU (float32) or cuDNN on CUDA, for LSTMs without projections; use strategy='auto' to pick "
                "what works for this model"
            )
        if B == 0:
            return self._empty_recording(x, x_l, batched, strategy)
        dropout_on = apply_dropout and self.training and self.dropout > 0
        if strategy == "kernel":
            recording = self._record_from_kernel(x, x_l, h0, c0, batched, dropout_on, weights)
            if recording is not None:
                return recording
            strategy = "replay"  # the layout check failed (another oneDNN or cuDNN build?): compute the gates

        # Time-major buffers, (L, D, T, B, ·), carved from one flat buffer. replay keeps the gates in the kernel's
        # order i, f, g, o (the weights as they are); loop reorders them i, f, o, g so that one sigmoid per step
        # covers three of them. They are handed out in the math's names below.
        n_gates, n_state, n_h = L * D * T * B * 4 * H, L * D * T * B * H, L * D * T * B * P
        flat = self._buffer(n_gates + 2 * n_state + (n_h if self.proj_size > 0 else 0), x_l)
        gates = flat[:n_gates].view(L, D, T, B, 4 * H)
        c = flat[n_gates : n_gates + n_state].view(L, D, T, B, H)
        m = flat[n_gates + n_state : n_gates + 2 * n_state].view(L, D, T, B, H)
        h = flat[n_gates + 2 * n_state :].view(L, D, T, B, P) if self.proj_size > 0 else m
        if strategy == "replay":
            out, h_n, c_n = self._replay(x_l, h0, c0, weights, dropout_on, gates, c, m, h)
            order = "ifgo"
        else:
            out, h_n, c_n = self._loop(x_l, h0, c0, weights, dropout_on, gates, c, m, h)
            order = "ifog"
        named = {name: gates[..., n * H : (n + 1) * H] for n, name in enumerate(order)}
        return self._assemble(x, out, h_n, c_n, batched, strategy, {**named, "c": c, "m": m, "h": h})

    def _replay(self, x_l, h0, c0, weights, dropout_on, gates, c, m, h) -> tuple[Tensor, list[Tensor], list[Tensor]]:
        """The fused kernel layer by layer, its h sequences replayed through batched products into ``gates``
        (laid out i, f, g, o), then the nonlinearities, the c recurrence and m for all layers at once.

        On a GPU every PyTorch call costs a few microseconds of launch and dispatch whatever its size, so the work is
        arranged in as few calls as the data dependencies allow: per layer one kernel call and three products per
        direction; then, on CUDA with Triton, one kernel for the nonlinearities, c and m of every layer and direction
        (``core/fused_cell.py``); elsewhere three activations over every layer and direction, one c recurrence per
        direction over all layers together (``cell_states``), and two calls for m. Returns the last layer's output
        and each layer's (h_n, c_n) from the kernel.
        """
        L, D, H, P = self.num_layers, self.num_directions, self.hidden_size, self.real_hidden_size
        tf32 = self._replay_tf32(x_l)
        h_n, c_n = [], []
        for k in range(L):
            # The fused kernel, one layer: out (T, B, D*P), hk/ck (D, B, P/H) — what nn.LSTM computes.
            layer = layer_params(weights, k, range(D), self.bias, self.proj_size > 0)
            out, hk, ck = run_layer("lstm", x_l, (h0[k], c0[k]), layer, self.bias, D == 2, H, self.proj_size)
            for d in range(D):
                h_d = out[..., d * P : (d + 1) * P]
                self._replay_products(x_l, h_d, h0[k, d], self._layer_weights(weights, k, d), d == 1, gates[k, d], tf32)
                if self.proj_size > 0:
                    h[k, d] = h_d
            h_n.append(hk)
            c_n.append(ck)
            x_l = out
            if dropout_on and k < L - 1:
                x_l = F.dropout(x_l, p=self.dropout, training=True)
        fused = self.REPLAY_FUSED
        if fused is not False and fused_cell.lstm_cell(gates, c0, c, m, interpreter=bool(fused)):
            return out, h_n, c_n  # the gates, c and m of every layer and direction in one GPU kernel
        gates[..., : 2 * H].sigmoid_()  # i, f
        gates[..., 2 * H : 3 * H].tanh_()  # g
        gates[..., 3 * H :].sigmoid_()  # o
        i, f, g, o = (gates[..., n * H : (n + 1) * H] for n in range(4))
        for d in range(D):  # (L, T, B, H) → (T, L, B, H): the layers side by side as lanes of one recurrence
            lanes = [t[:, d].transpose(0, 1) for t in (f, i, g, c)]
            cell_states(*lanes[:3], c0[:, d], reverse=d == 1, out=lanes[3], scan=self.REPLAY_SCAN)
        torch.tanh(c, out=m)
        m.mul_(o)  # m_t = o_t ⊙ tanh(c_t)
        return out, h_n, c_n

    def _loop(self, x_l, h0, c0, weights, dropout_on, gates, c, m, h) -> tuple[Tensor, list[Tensor], list[Tensor]]:
        """The six equations step by step, layer by layer, into ``gates`` (laid out i, f, o, g)."""
        T = x_l.shape[0]
        L, D = self.num_layers, self.num_directions
        h_n, c_n = [], []
        for k in range(L):
            c_last = [
                self._loop_direction(x_l, h0[k, d], c0[k, d], weights, k, d, gates[k, d], c[k, d], m[k, d], h[k, d])
                for d in range(D)
            ]
            out = torch.cat([h[k, d] for d in range(D)], dim=-1) if D == 2 else h[k, 0]
            last = [T - 1, 0]  # where each direction ends: the forward one at T-1, the backward one at 0
            h_n.append(torch.stack([h[k, d, last[d]] for d in range(D)]))
            c_n.append(torch.stack(c_last).to(c0.dtype))  # as the recurrence carried it (float32 for a float32 c0)
            x_l = out
            if dropout_on and k < L - 1:
                x_l = F.dropout(x_l, p=self.dropout, training=True)
        return out, h_n, c_n

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
        if x_l.is_cuda:
            return self._record_from_cudnn(x, x_l, h0, c0, batched, dropout_on, weights)
        T, B, _ = x_l.shape
        L, D, H = self.num_layers, self.num_directions, self.hidden_size
        if (
            L == 1
            and D == 1
            and kernel_gates.fits_one_call(T, B, self.input_size, H, num_layers=1, bidirectional=False)
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
        return self._kernel_recording(x, outs[-1], h_n, c_n, batched, gates, c, m)

    def _record_from_cudnn(
        self,
        x: Tensor,
        x_l: Tensor,
        h0: Tensor,
        c0: Tensor,
        batched: bool,
        dropout_on: bool,
        weights: dict[str, Tensor],
    ) -> Recording | None:
        """On CUDA: every layer through cuDNN in training mode, its gates and c read from the reserve space
        (:mod:`lstm_viz.core.cudnn_gates`). One layer: the recording *is* the reserve and the output (views, nothing
        copied). Several: each layer's reserve is copied into one (L, D, T, B, ·) buffer per name as it comes.
        None where a layer cannot be read (the caller replays)."""
        T, B, _ = x_l.shape
        L, D, H = self.num_layers, self.num_directions, self.hidden_size
        if L > 1:
            n_gates, n_state = L * D * T * B * 4 * H, L * D * T * B * H
            flat = self._buffer(n_gates + 2 * n_state, x_l)
            gates = flat[:n_gates].view(L, D, T, B, 4 * H)
            c = flat[n_gates : n_gates + n_state].view(L, D, T, B, H)
            outs = flat[n_gates + n_state :].view(L, T, B, D * H)  # each layer's output; m = h is a view of it
        h_n, c_n = [], []
        for k in range(L):
            layer = layer_params(weights, k, range(D), self.bias, False)
            got = cudnn_gates.run_layer(x_l, h0[k], c0[k], layer, D == 2, H)
            if got is None:
                return None
            h_n.append(got.h_n)
            c_n.append(got.c_n)
            if L > 1:
                gates[k].copy_(got.gates)
                c[k].copy_(got.c)
                outs[k].copy_(got.output)
            x_l = got.output
            if dropout_on and k < L - 1:
                x_l = F.dropout(x_l, p=self.dropout, training=True)
        if L == 1:
            gates, c, outs = got.gates[None], got.c[None], got.output[None]
        # (L, T, B, D·H) → (L, D, T, B, H): each direction's slice of each layer's output
        m = outs.view(L, T, B, D, H).permute(0, 3, 1, 2, 4)
        return self._kernel_recording(x, got.output, h_n, c_n, batched, gates, c, m)

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
        gates, c, m = trace.gates[None, None], trace.c[None, None], trace.output[None, None]
        return self._kernel_recording(x, trace.output, [trace.h_n[None]], [trace.c_n[None]], batched, gates, c, m)

    def _kernel_recording(
        self, x: Tensor, out: Tensor, h_n: list[Tensor], c_n: list[Tensor], batched: bool, gates, c, m
    ) -> Recording:
        """The kernel strategy's Recording from (L, D, T, B, ·) gates in the kernel's order i, f, g, o, c and m (which
        is h: no projection)."""
        H = self.hidden_size
        i_, f_, g_, o_ = (gates[..., n * H : (n + 1) * H] for n in range(4))
        named = {"i": i_, "f": f_, "g": g_, "o": o_, "c": c, "m": m, "h": m}
        return self._assemble(x, out, h_n, c_n, batched, "kernel", named)

    # Below this many multiply-adds per step of the first layer (batch × (input + h) × 4·hidden), replaying the
    # kernel's output through one big matrix product costs less on the CPU than the per-step loop: the kernel is
    # then bound by streaming W_hh once per step, which the loop would pay too. Measured with
    # benchmarks/bench_recording.py (it prints both strategies): replay wins at (1, 1000, 32, 512) and
    # (16, 128, 64, 128), the loop at (32, 256, 64, 256).
    REPLAY_MAX_MACS_PER_STEP = 2_000_000

    def _kernel_available(self, weight: Tensor) -> bool:
        """Whether the fused kernel's own gates can be read for this module: oneDNN's workspace on the CPU, cuDNN's
        reserve space on CUDA."""
        return kernel_gates.kernel_available(weight, self.proj_size) or cudnn_gates.available(weight, self.proj_size)

    def _pick_strategy(self, batch: int, weight: Tensor | None = None) -> str:
        weight = self._flat_weights[0] if weight is None else weight
        if self._kernel_available(weight):
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
        rows = torch.arange(4 * H, device=W["w_ih"].device).view(4, H)  # made on the device: no host copy
        order = torch.cat([rows[:2], rows[3:], rows[2:3]]).flatten()
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

    # Whether replay runs the c recurrence as a chunked scan (None: on accelerators, for 64 steps or more; see
    # cell_states). Tests set True to run the GPU's arrangement on the CPU.
    REPLAY_SCAN: bool | None = None

    # Whether replay runs the cell's elementwise half (nonlinearities, c, m) as one Triton kernel
    # (``core/fused_cell.py``): None where it can (CUDA with Triton), False never (the PyTorch calls), True also on
    # the CPU under Triton's interpreter (TRITON_INTERPRET=1; tests).
    REPLAY_FUSED: bool | None = None

    def _replay_products(self, x_l, h_d, h0, W, reverse: bool, pre, tf32: bool) -> None:
        """pre (T, B, 4H) ← x_t W_ih^T + b + h_{t-1} W_hh^T for all steps at once, from the kernel's h sequence
        ``h_d`` (T, B, P); h_{t-1} is h0 at the first step the direction takes (t = 0 going forward, t = T-1 going
        backward) and the kernel's h of the step before it elsewhere."""
        T, B, _ = x_l.shape
        bias = W["b_ih"] + W["b_hh"] if W["b_ih"] is not None else None
        w_hh_t = W["w_hh"].t()
        first, rest, prev = (T - 1, slice(0, T - 1), slice(1, T)) if reverse else (0, slice(1, T), slice(0, T - 1))
        with _matmul_tf32(tf32, cuda=x_l.is_cuda):
            self._input_projection(x_l, W["w_ih"], bias, pre)
            pre[first].addmm_(h0, w_hh_t)
            if T > 1:
                pre[rest].view((T - 1) * B, -1).addmm_(h_d[prev].reshape((T - 1) * B, -1), w_hh_t)

    def _loop_direction(self, x_l, h0, c0, weights, k, d, ifog, c, m, h) -> Tensor:
        """The six equations one step at a time for one layer/direction, writing into the buffers; returns the last
        step's c as the recurrence carried it (float32 for float16/bfloat16 models)."""
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
        return c_prev


_MATMUL_TF32_LOCK = threading.Lock()


@contextlib.contextmanager
def _matmul_tf32(enabled: bool, cuda: bool) -> Iterator[None]:
    """cuBLAS float32 products with TF32 on or off inside the block (a process-wide flag, restored after); products
    off CUDA (``cuda`` False) do not read it, and the block leaves it alone.

    On CUDA the block only enqueues a few products (the flag is read when one is launched), so it holds a lock: two
    threads (the app's sessions) asking for different settings take turns instead of restoring each other's."""
    if not cuda:
        yield
        return
    with _MATMUL_TF32_LOCK:
        before = torch.backends.cuda.matmul.allow_tf32
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
    """out (T, ·) ← c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t with c_{-1} = c0 (·), over t forward or (``reverse``)
    backward. f, i, g and out are (T, ·), possibly strided views: (T, B, H) for one layer, (T, L, B, H) for the
    layers of one direction side by side.

    A linear recurrence: a loop of T fused steps on the CPU, where each step costs microseconds; on accelerators,
    where each step would be a kernel launch, a chunked scan with about 2√T launches (``scan=None`` picks). float16
    and bfloat16 are accumulated in float32, like the fused kernels' cell state.
    """
    T = f.shape[0]
    if scan is None:
        scan = f.device.type != "cpu" and T >= SCAN_MIN_STEPS
    acc = torch.float32 if out.dtype in (torch.float16, torch.bfloat16) else out.dtype
    if acc == out.dtype:  # b_t = i_t ⊙ g_t, in out, becomes c in place
        work = torch.mul(i, g, out=out)
    else:
        work = i.to(acc) * g
    (_chunked_scan if scan else _scan_loop)(f, work, c0.to(acc), reverse)
    if work is not out:
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
    """In place: b_t ← f_t ⊙ b_{t-1} + b_t along dim 0 with b_{-1} = c0, in about 2√T calls of big elementwise ops.

    Split the steps into n chunks of K. (1) Within every chunk at once, run the recurrence from zero — K - 1 calls
    over (n, ·) slices — and take A, the running product of f within the chunk (one cumprod). (2) Carry the state
    across chunks: carry_m = A_m,end ⊙ carry_{m-1} + local_m,end — n small calls. (3) Add each chunk's incoming carry:
    c = local + A ⊙ carry_in, one call. Only products of numbers in [0, 1] and sums occur (no division, no
    logarithms), so it is as stable as the plain loop; the r = T mod K steps left over run as a plain loop last.

    Going backward the recurrence runs from t = T-1 down: the chunks cover [r, T) in position order and are taken
    from the last, each from its last step, and the r leftover steps [0, r) come last — index arithmetic on views,
    nothing flipped. Every slice a loop touches is made once (``unbind``), since on a GPU each PyTorch call costs
    microseconds of dispatch whatever its size.
    """
    T = b.shape[0]
    root = max(1, math.isqrt(T))  # calls: K - 1 local steps, T // K carries, T mod K leftover steps; K near √T
    K = min(range(max(1, root // 2), 2 * root + 1), key=lambda k: (k - 1 + T // k + T % k, abs(k - root)))
    n = T // K
    r = T - n * K
    span = slice(r, T) if reverse else slice(0, n * K)
    fv = f[span].unflatten(0, (n, K))
    bv = b[span].unflatten(0, (n, K))
    steps = range(K - 1, -1, -1) if reverse else range(K)  # within a chunk, in the order the recurrence runs
    chunks = range(n - 1, -1, -1) if reverse else range(n)
    f_cols, b_cols = fv.unbind(1), bv.unbind(1)
    for prev, j in itertools.pairwise(steps):  # (1) local recurrences, all chunks at once
        b_cols[j].addcmul_(f_cols[j], b_cols[prev])
    fa = fv.to(b.dtype)
    A = fa.flip(1).cumprod(1).flip(1) if reverse else fa.cumprod(1)  # Π f from the chunk's first step to each step
    end = steps[-1]
    local_end, A_end = bv[:, end].unbind(0), A[:, end].unbind(0)
    carry_in = torch.empty_like(bv[:, 0])
    into = carry_in.unbind(0)
    into[chunks[0]].copy_(c0)
    for prev, m in itertools.pairwise(chunks):  # (2) carries across chunks
        torch.addcmul(local_end[prev], A_end[prev], into[prev], out=into[m])
    carry = torch.addcmul(local_end[chunks[-1]], A_end[chunks[-1]], into[chunks[-1]])
    bv.addcmul_(A, carry_in.unsqueeze(1))  # (3)
    if r:
        rest = slice(0, r) if reverse else slice(n * K, T)
        _scan_loop(f[rest], b[rest], carry, reverse)
