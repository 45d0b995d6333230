"""The reference maths of one LSTM cell step: every number of one step recomputed in float64, the parity check
against torch.nn.LSTM, and RNNCell vs RNN (post 3).

For one time step t of one layer and direction the cell computes (PyTorch stores the gates as i, f, g, o; we show
them as f, i, g, o):

    f_t = σ(W_if x_t + b_if + W_hf h_{t-1} + b_hf)      i_t = σ(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)
    g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)   o_t = σ(W_io x_t + b_io + W_ho h_{t-1} + b_ho)
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t      m_t = o_t ⊙ tanh(c_t)      h_t = m_t (or W_hr m_t for an LSTMP)

:func:`cell_step` takes x_t, h_{t-1}, c_{t-1} from a recording, recomputes everything in float64 from the weights
(``weight_ih`` split into W_ii | W_if | W_ig | W_io) and says how far the result is from what was recorded.
:func:`parity` is post 3's ``torch.allclose`` check, done live: the recording's gates rebuilt into output, h_n,
c_n, and a plain per-step loop, each against ``torch.nn.LSTM`` with the same weights. :func:`rnncell_vs_rnn` unrolls
``nn.RNNCell`` by hand and compares it with ``nn.RNN`` (post 3's first example: RNNCell(10, 20), input (6, 3, 10)).
The LaTeX of these numbers is in :mod:`lstm_viz.cell_step.latex`.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from lstm_viz.core.device import seeded, without_tf32
from lstm_viz.core.lstm import RecordingLSTM
from lstm_viz.core.recording import DISPLAY_ORDER, STORAGE_ORDER, Recording
from lstm_viz.core.twins import current_weights

__all__ = [
    "GATES",
    "GATE_NAMES",
    "PARITY_TOLERANCE",
    "PARITY_TOLERANCE_CUDA",
    "BiRnnCheck",
    "CellStep",
    "GateNumbers",
    "Parity",
    "RnnUnroll",
    "bidirectional_rnn_by_hand",
    "cell_step",
    "initial_state",
    "lstm_of",
    "parity",
    "rnn_table",
    "rnncell_vs_rnn",
    "split_weights",
    "step_by_step",
    "step_table",
]

GATES: tuple[str, ...] = DISPLAY_ORDER[:4]  # the four gates in display order: f, i, g, o
GATE_NAMES: dict[str, str] = {"f": "forget gate", "i": "input gate", "g": "candidate", "o": "output gate"}
PARITY_TOLERANCE: dict[str, float] = {"float64": 1e-10, "float32": 1e-5, "float16": 1e-2, "bfloat16": 1e-1}
# On a CUDA GPU cuDNN's float32 LSTM is itself less exact than the CPU's, TF32 off: on an H200 nn.LSTM's own output
# was 1e-5 from float64 after 80 steps, and the shipped subtraction model's per-step loop 1.9e-5 from nn.LSTM after 8
# (benchmarks/gpu_check.py). Where a device has its own tolerance, it is here.
PARITY_TOLERANCE_CUDA: dict[str, float] = {"float32": 1e-4}


def lstm_of(model: nn.Module) -> RecordingLSTM:
    """The RecordingLSTM inside an lstm-viz model (or the model itself); ValueError when there is none (a GRU)."""
    if isinstance(model, RecordingLSTM):
        return model
    if isinstance(model, nn.LSTM):
        return RecordingLSTM.from_lstm(model)
    to_lstm = getattr(model, "to_lstm", None)
    if callable(to_lstm):  # the StatQuest model: twelve scalars, equal to an LSTM(1, 1)
        return to_lstm()
    lstm = getattr(model, "lstm", None)
    if isinstance(lstm, nn.LSTM):
        return lstm if isinstance(lstm, RecordingLSTM) else RecordingLSTM.from_lstm(lstm)
    raise ValueError(
        "This model has no LSTM cell to step through: it is a GRU, with reset and update gates and no cell state "
        "(its r, z, n and h are in the Gate Explorer). Pick an LSTM model in the sidebar."
        if any(isinstance(m, nn.GRU) for m in model.modules())
        else f"This model ({type(model).__name__}) has no LSTM cell to step through. Pick an LSTM model in the sidebar."
    )


def _to_layout(lstm: nn.LSTM, x: Tensor) -> Tensor:
    """Batch-first ``(B, T, I)`` → the layout ``lstm`` expects (a Recording is batch-major either way)."""
    return x if lstm.batch_first else x.transpose(0, 1)


def _weights(lstm: nn.LSTM, layer: int, direction: int) -> dict[str, Tensor | None]:
    sfx = f"l{layer}{'_reverse' if direction == 1 else ''}"

    def get(name: str) -> Tensor | None:
        w = getattr(lstm, f"{name}_{sfx}", None)
        return None if w is None else w.detach().to("cpu", torch.float64)

    return {n: get(n) for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")}


def split_weights(lstm: nn.LSTM, layer: int = 0, direction: int = 0) -> dict[str, np.ndarray]:
    """``weight_ih`` → ``{"W_ii": (H, I), "W_if", "W_ig", "W_io"}`` and ``weight_hh`` → ``W_hi … W_ho`` (numpy).

    The rows of ``weight_ih_l{k}`` are the four gates stacked in PyTorch's storage order i, f, g, o.
    """
    W = _weights(lstm, layer, direction)
    H = lstm.hidden_size
    out = {}
    for n, gate in enumerate(STORAGE_ORDER):
        out[f"W_i{gate}"] = W["weight_ih"][n * H : (n + 1) * H].numpy()
        out[f"W_h{gate}"] = W["weight_hh"][n * H : (n + 1) * H].numpy()
        if W["bias_ih"] is not None:
            out[f"b_i{gate}"] = W["bias_ih"][n * H : (n + 1) * H].numpy()
            out[f"b_h{gate}"] = W["bias_hh"][n * H : (n + 1) * H].numpy()
    return out


@dataclass(frozen=True)
class GateNumbers:
    """One gate at one step, every unit: ``pre = W_x x + b_x + W_h h_prev + b_h`` and ``value = act(pre)``."""

    name: str  # f, i, g, o
    W_x: np.ndarray  # (H, I_in): rows of weight_ih for this gate
    W_h: np.ndarray  # (H, P): rows of weight_hh
    b_x: np.ndarray  # (H,) zeros when the LSTM has no bias
    b_h: np.ndarray  # (H,)
    pre: np.ndarray  # (H,)
    value: np.ndarray  # (H,)


@dataclass(frozen=True)
class CellStep:
    """Everything one cell computes at step ``t`` of ``layer``/``direction`` for batch item ``batch`` (float64).

    ``recorded_diff`` is the largest |difference| between these recomputed f, i, g, o, c, h and the recording.
    """

    layer: int
    direction: int
    batch: int
    t: int
    x: np.ndarray  # (I_in,) x_t: the input for layer 0, the previous layer's h (both directions) above
    h_prev: np.ndarray  # (P,) h_{t-1} (h_{t+1} for the backward direction)
    c_prev: np.ndarray  # (H,)
    gates: dict[str, GateNumbers]  # in display order f, i, g, o
    c: np.ndarray  # (H,)
    m: np.ndarray  # (H,) o ⊙ tanh(c)
    h: np.ndarray  # (P,)
    w_hr: np.ndarray | None  # (P, H) for an LSTMP
    has_bias: bool
    recorded_diff: float

    @property
    def prev_t(self) -> int:
        """The step h_prev/c_prev come from: t-1 forward, t+1 backward (−1 or T means the initial state)."""
        return self.t - 1 if self.direction == 0 else self.t + 1


def cell_step(
    lstm: nn.LSTM,
    rec: Recording,
    t: int,
    layer: int = 0,
    direction: int = 0,
    batch: int = 0,
    hx: tuple[Tensor, Tensor] | None = None,
) -> CellStep:
    """Recompute step ``t`` of ``layer``/``direction`` from the weights, with x_t, h_prev, c_prev from ``rec``.

    ``rec`` must be ``lstm.record(x, hx)``; pass the same ``hx`` (h0, c0 of shape ``(L·D, B, ·)``, default zeros)
    so the first step of each direction starts from it. Raises ValueError for an out-of-range index.
    """
    T = rec.seq_len
    for name, value, size in (
        ("t", t, T),
        ("layer", layer, rec.num_layers),
        ("direction", direction, rec.num_directions),
        ("batch", batch, rec.batch_size),
    ):
        if not 0 <= value < size:
            raise ValueError(f"{name} must be in 0..{size - 1}, got {value}")

    def f64(tensor: Tensor) -> np.ndarray:
        return tensor.detach().to("cpu", torch.float64).numpy()

    H, P = rec.hidden_size, rec.h.shape[-1]
    if layer == 0:
        x = f64(rec.x[batch, t])
    else:  # the layer below's h_t, forward then backward, as nn.LSTM concatenates them
        x = np.concatenate([f64(rec.h[layer - 1, d, batch, t]) for d in range(rec.num_directions)])
    prev = t - 1 if direction == 0 else t + 1
    if 0 <= prev < T:
        h_prev, c_prev = f64(rec.h[layer, direction, batch, prev]), f64(rec.c[layer, direction, batch, prev])
    elif hx is not None:  # the initial state of this layer and direction
        h_prev = f64(hx[0][layer * rec.num_directions + direction, batch])
        c_prev = f64(hx[1][layer * rec.num_directions + direction, batch])
    else:
        h_prev, c_prev = np.zeros(P), np.zeros(H)

    W = split_weights(lstm, layer, direction)
    has_bias = "b_if" in W
    gates = {}
    for gate in GATES:
        b_x = W.get(f"b_i{gate}", np.zeros(H))
        b_h = W.get(f"b_h{gate}", np.zeros(H))
        pre = W[f"W_i{gate}"] @ x + b_x + W[f"W_h{gate}"] @ h_prev + b_h
        value = np.tanh(pre) if gate == "g" else 1.0 / (1.0 + np.exp(-pre))
        gates[gate] = GateNumbers(gate, W[f"W_i{gate}"], W[f"W_h{gate}"], b_x, b_h, pre, value)
    c = gates["f"].value * c_prev + gates["i"].value * gates["g"].value
    m = gates["o"].value * np.tanh(c)
    w_hr_t = _weights(lstm, layer, direction)["weight_hr"]
    w_hr = None if w_hr_t is None else w_hr_t.numpy()
    h = m if w_hr is None else w_hr @ m

    recorded = {
        "f": gates["f"].value, "i": gates["i"].value, "g": gates["g"].value, "o": gates["o"].value, "c": c, "h": h,
    }  # fmt: skip
    diff = max(float(np.max(np.abs(v - f64(getattr(rec, k)[layer, direction, batch, t])))) for k, v in recorded.items())
    return CellStep(layer, direction, batch, t, x, h_prev, c_prev, gates, c, m, h, w_hr, has_bias, diff)


def step_table(step: CellStep) -> dict[str, np.ndarray]:
    """Columns for a per-unit table: c_{t-1}, each gate's pre-activation and value (f, i, g, o), c_t, m_t."""
    cols: dict[str, np.ndarray] = {"c_prev": step.c_prev}
    for gate in GATES:
        cols[f"{gate} pre"] = step.gates[gate].pre
        cols[gate] = step.gates[gate].value
    cols["c"] = step.c
    cols["o·tanh(c)" if step.w_hr is not None else "h"] = step.m
    return cols


@dataclass(frozen=True)
class Parity:
    """Max |difference| to ``torch.nn.LSTM`` (same weights, same input) for output, h_n and c_n, per method.

    ``rows[method] = {"output": d, "h_n": d, "c_n": d}`` with methods ``"forward"`` (RecordingLSTM's own forward,
    the drop-in twin: bit-identical where it runs nn.LSTM's kernel), ``"recording"`` (the recorded gates rebuilt into
    c and h) and ``"loop"`` (:func:`step_by_step`); ``allclose[method]`` uses torch.allclose's default tolerances
    (rtol 1e-5, atol 1e-8), as post 3 did. ``shapes`` are nn.LSTM's output, h_n and c_n in the module's own layout
    (post 1's (T, B, D·P), (L·D, B, P), (L·D, B, H) when it is not batch-first); ``twin_shapes`` the same of
    RecordingLSTM's forward.
    """

    rows: dict[str, dict[str, float]]
    allclose: dict[str, bool]
    dtype: str
    scaled_diff: float = 0.0  # the largest |difference| / max(1, |nn.LSTM's value|) over every method and tensor
    steps: int = 1  # the sequence's length
    device: str = "cpu"  # where it ran ("cuda": cuDNN's own rounding, PARITY_TOLERANCE_CUDA)
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    twin_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    reference_finite: bool = True  # nn.LSTM's own output, h_n and c_n hold no inf or NaN

    @property
    def base_tolerance(self) -> float:
        """The rounding tolerance of the dtype for values up to 1 and up to 100 steps (``PARITY_TOLERANCE``, or
        ``PARITY_TOLERANCE_CUDA`` where it has the dtype and the comparison ran on a CUDA GPU)."""
        if self.device == "cuda" and self.dtype in PARITY_TOLERANCE_CUDA:
            return PARITY_TOLERANCE_CUDA[self.dtype]
        return PARITY_TOLERANCE.get(self.dtype, 1e-3)

    @property
    def tolerance(self) -> float:
        """The largest |difference| that is rounding, not a bug, for values up to 1 (relative above): 1e-5 in
        float32, 1e-10 in float64, up to 100 steps. Rounding differences are carried from step to step and add up
        like a random walk, so the tolerance grows with √(steps / 100): over the 10,000 characters of a validation
        file the text model's per-step loop and nn.LSTM's fused kernel differ by 1.4e-5 in h (a recording off by
        1 % differs by 1e-2)."""
        return self.base_tolerance * max(1.0, math.sqrt(self.steps / 100))

    @property
    def ok(self) -> bool:
        """Every difference within :attr:`tolerance` × max(1, |value|): rounding grows with a value's size (a text
        model's cell states reach ~50, where float32 rounds by ~1e-5), and torch.allclose's purely relative test
        fails near 0. Never where nn.LSTM's own numbers are not finite (an overflow: nothing to compare) or a
        difference is NaN."""
        return self.reference_finite and self.scaled_diff <= self.tolerance

    @property
    def max_diff(self) -> float:
        """The largest difference over every method and tensor; NaN if any is NaN (Python's max would skip it)."""
        values = [v for row in self.rows.values() for v in row.values()]
        return math.nan if any(math.isnan(v) for v in values) else max(values)


def _rebuilt_from_recording(lstm: nn.LSTM, rec: Recording) -> tuple[Tensor, Tensor, Tensor]:
    """output, h_n, c_n assembled from the recorded m = o ⊙ tanh(c) and c (not from the kernel's h)."""
    L, D = rec.num_layers, rec.num_directions
    hs = {}
    for k in range(L):
        for d in range(D):
            m = rec.m[k, d]  # (B, T, H)
            w_hr = getattr(lstm, f"weight_hr_l{k}{'_reverse' if d else ''}", None) if lstm.proj_size else None
            hs[k, d] = m if w_hr is None else m @ w_hr.detach().T
    output = torch.cat([hs[L - 1, d] for d in range(D)], dim=2)
    last = {0: -1, 1: 0}  # the final step of each direction
    h_n = torch.stack([hs[k, d][:, last[d]] for k in range(L) for d in range(D)])
    c_n = torch.stack([rec.c[k, d][:, last[d]] for k in range(L) for d in range(D)])
    return output, h_n, c_n


def initial_state(lstm: nn.LSTM, batch: int, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Random (h0, c0) ~ N(0, 1) as post 3 passes them: ``(L·D, batch, P)`` and ``(L·D, batch, H)``."""
    gen = torch.Generator().manual_seed(seed)
    lead = lstm.num_layers * (2 if lstm.bidirectional else 1)
    p = lstm.weight_ih_l0
    h0 = torch.randn(lead, batch, lstm.proj_size or lstm.hidden_size, generator=gen)
    c0 = torch.randn(lead, batch, lstm.hidden_size, generator=gen)
    return h0.to(p.device, p.dtype), c0.to(p.device, p.dtype)


def parity(lstm: nn.LSTM, x: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> Parity:
    """Compare the recording and a per-step loop with ``torch.nn.LSTM`` on batch-first ``x`` ``(B, T, I)``,
    from the initial state ``hx`` (zeros when None).

    In the model's dtype itself: on a CUDA GPU cuDNN computes float32 with TF32 products by default (~1e-3
    relative; the recording's replay follows it, the loop does not), which would read as a difference, so the check
    runs :func:`~lstm_viz.core.device.without_tf32`."""
    reference = nn.LSTM(
        lstm.input_size, lstm.hidden_size, num_layers=lstm.num_layers, bias=lstm.bias, batch_first=lstm.batch_first,
        bidirectional=lstm.bidirectional, proj_size=lstm.proj_size,
    ).to(device=lstm.weight_ih_l0.device, dtype=lstm.weight_ih_l0.dtype)  # fmt: skip
    # the weights its forward uses now: a weight-normed, pruned or parametrized LSTM's state_dict holds other names
    reference.load_state_dict(current_weights(lstm), strict=True)
    reference.eval()
    x = x.to(device=lstm.weight_ih_l0.device, dtype=lstm.weight_ih_l0.dtype)
    rec_lstm = lstm if isinstance(lstm, RecordingLSTM) else RecordingLSTM.from_lstm(lstm)
    # the twin's forward in eval mode, as the reference (the kernel's inference variant, no dropout), without
    # touching the module itself (the app shares shipped models between sessions)
    twin = copy.deepcopy(rec_lstm).eval() if rec_lstm.training else rec_lstm
    with without_tf32():
        with torch.no_grad():
            out, (h_n, c_n) = reference(_to_layout(reference, x), hx)
            twin_out, (twin_h, twin_c) = twin(_to_layout(twin, x), hx)
        rec = rec_lstm.record(_to_layout(rec_lstm, x), hx)
        candidates = {"forward": (_to_layout(twin, twin_out), twin_h, twin_c),  # back to batch-first
                      "recording": _rebuilt_from_recording(rec_lstm, rec), "loop": step_by_step(rec_lstm, x, hx)}
    shapes = {"output": tuple(out.shape), "h_n": tuple(h_n.shape), "c_n": tuple(c_n.shape)}
    twin_shapes = {"output": tuple(twin_out.shape), "h_n": tuple(twin_h.shape), "c_n": tuple(twin_c.shape)}
    truth = {"output": _to_layout(reference, out), "h_n": h_n, "c_n": c_n}
    rows, close, scaled = {}, {}, 0.0
    for method, (o, h, c) in candidates.items():
        got = {"output": o, "h_n": h, "c_n": c}
        diff = {k: (got[k] - truth[k]).abs() for k in truth}
        rows[method] = {k: float(d.max()) for k, d in diff.items()}
        close[method] = all(torch.allclose(got[k], truth[k]) for k in truth)
        for k, d in diff.items():  # NaN (inf − inf, or a NaN of one side) counts as the largest difference
            worst = float(torch.nan_to_num(d / truth[k].abs().clamp(min=1), nan=math.inf).max())
            scaled = max(scaled, worst)
    dtype = str(x.dtype).removeprefix("torch.")
    finite = all(bool(torch.isfinite(t).all()) for t in truth.values())
    return Parity(rows=rows, allclose=close, dtype=dtype, scaled_diff=scaled, steps=int(x.shape[1]),
                  device=x.device.type, shapes=shapes, twin_shapes=twin_shapes, reference_finite=finite)  # fmt: skip


@dataclass(frozen=True)
class RnnUnroll:
    """Post 3's first example: ``nn.RNNCell`` stepped by hand vs ``nn.RNN`` unrolled, on the same numbers."""

    x: np.ndarray  # (T, B, I) time-major, as in the seed
    h0: np.ndarray  # (B, H)
    h_cell: np.ndarray  # (T, B, H): hx = cell(x[t], hx), step by step
    h_rnn: np.ndarray  # (T, B, H): nn.RNN's output
    h_n_diff: float  # |RNN's h_n - the cell's last hx|, max
    weight_ih: np.ndarray  # (H, I)
    weight_hh: np.ndarray  # (H, H)
    bias_ih: np.ndarray  # (H,)
    bias_hh: np.ndarray  # (H,)
    allclose: bool  # torch.allclose(RNN, cells) for every step and h_n, default tolerances
    dtype: str

    @property
    def step_diff(self) -> np.ndarray:
        """Max |difference| per step, ``(T,)``."""
        return np.abs(self.h_cell - self.h_rnn).reshape(self.h_cell.shape[0], -1).max(axis=1)

    @property
    def max_diff(self) -> float:
        return float(max(self.step_diff.max(), self.h_n_diff))

    @property
    def ok(self) -> bool:
        """Equal up to rounding of the dtype (see ``PARITY_TOLERANCE``)."""
        return self.max_diff <= PARITY_TOLERANCE.get(self.dtype, 1e-3)


def rnncell_vs_rnn(
    input_size: int = 10,
    hidden_size: int = 20,
    batch: int = 3,
    steps: int = 6,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> RnnUnroll:
    """``rnn = nn.RNNCell(10, 20); hx = rnn(input[t], hx)`` for t in 0..5 — and ``nn.RNN`` with the same weights.

    The defaults are post 3's: input ``(6, 3, 10)`` time-major, ``hx`` random ``(3, 20)``, float32. The two
    differ by float rounding only (the fused RNN sums in another order); in float64 they agree to ~1e-16.
    """
    for name, value, top in (
        ("input_size", input_size, 256), ("hidden_size", hidden_size, 256), ("batch", batch, 64),
        ("steps", steps, 1000),
    ):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
            raise ValueError(f"{name} must be a whole number in 1..{top}, got {value!r}")
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    cell = nn.RNNCell(input_size, hidden_size).to(dtype)
    x = torch.randn(steps, batch, input_size, generator=gen, dtype=dtype)
    h0 = torch.randn(batch, hidden_size, generator=gen, dtype=dtype)
    with torch.no_grad():
        hx, hs = h0, []
        for t in range(steps):  # RNNCell: one step at a time
            hx = cell(x[t], hx)
            hs.append(hx)
        h_cell = torch.stack(hs)
        rnn = nn.RNN(input_size, hidden_size).to(dtype)  # RNN: the same cell unrolled over time
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(rnn, f"{name}_l0").copy_(getattr(cell, name))
        out, h_n = rnn(x, h0.unsqueeze(0))

    def np_(t: Tensor) -> np.ndarray:
        return t.detach().numpy().astype(np.float64)

    return RnnUnroll(
        x=np_(x), h0=np_(h0), h_cell=np_(h_cell), h_rnn=np_(out),
        h_n_diff=float((h_n[0] - hx).abs().max()),
        weight_ih=np_(cell.weight_ih), weight_hh=np_(cell.weight_hh), bias_ih=np_(cell.bias_ih),
        bias_hh=np_(cell.bias_hh),
        allclose=bool(torch.allclose(out, h_cell) and torch.allclose(h_n[0], hx)),
        dtype=str(dtype).removeprefix("torch."),
    )  # fmt: skip


@dataclass(frozen=True)
class BiRnnCheck:
    """Post 3's ``bidirectional_rnn_forward`` against ``nn.RNN(bidirectional=True)``: the largest differences."""

    output_diff: float  # max |hand − nn.RNN| over the output (batch, T, 2H)
    h_n_diff: float  # over h_n (2, batch, H)
    allclose: bool  # torch.allclose on both, default tolerances, as the post checks
    dtype: str

    @property
    def max_diff(self) -> float:
        return max(self.output_diff, self.h_n_diff)

    @property
    def ok(self) -> bool:
        """Equal up to rounding of the dtype (see ``PARITY_TOLERANCE``)."""
        return self.max_diff <= PARITY_TOLERANCE.get(self.dtype, 1e-3)


def bidirectional_rnn_by_hand(
    input_size: int = 2, hidden_size: int = 3, batch: int = 2, steps: int = 3, seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> BiRnnCheck:  # fmt: skip
    """Post 3's bidirectional RNN by hand: one ``tanh`` RNN loop over the input (the forward layer), the same loop
    with the ``_reverse`` weights over the input flipped in time (the backward layer), its output flipped back and
    concatenated on the features; h_n stacks each layer's last step — checked against ``nn.RNN(...,
    bidirectional=True, batch_first=True)`` with the same weights and zero initial states, as the post does."""
    for name, value, top in (("input_size", input_size, 256), ("hidden_size", hidden_size, 256),
                             ("batch", batch, 64), ("steps", steps, 1000)):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
            raise ValueError(f"{name} must be a whole number in 1..{top}, got {value!r}")
    with seeded(seed, restore=True):
        rnn = nn.RNN(input_size, hidden_size, batch_first=True, bidirectional=True).to(dtype)
    x = torch.randn(batch, steps, input_size, generator=torch.Generator().manual_seed(seed), dtype=dtype)

    def rnn_forward(inp: Tensor, suffix: str) -> Tensor:  # the post's rnn_forward: h_t = tanh(W_ih x + W_hh h + b)
        w_ih, w_hh = getattr(rnn, f"weight_ih_l0{suffix}"), getattr(rnn, f"weight_hh_l0{suffix}")
        b = getattr(rnn, f"bias_ih_l0{suffix}") + getattr(rnn, f"bias_hh_l0{suffix}")
        h, out = torch.zeros(batch, hidden_size, dtype=dtype), []
        for t in range(steps):
            h = torch.tanh(inp[:, t] @ w_ih.T + h @ w_hh.T + b)
            out.append(h)
        return torch.stack(out, dim=1)  # (batch, T, H)

    with torch.no_grad():
        forward, backward = rnn_forward(x, ""), rnn_forward(torch.flip(x, [1]), "_reverse")
        hand = torch.cat([forward, torch.flip(backward, [1])], dim=-1)
        hand_n = torch.stack([forward[:, -1], backward[:, -1]])
        out, h_n = rnn(x, torch.zeros(2, batch, hidden_size, dtype=dtype))
    return BiRnnCheck(
        output_diff=float((hand - out).abs().max()), h_n_diff=float((hand_n - h_n).abs().max()),
        allclose=bool(torch.allclose(hand, out) and torch.allclose(hand_n, h_n)),
        dtype=str(dtype).removeprefix("torch."),
    )  # fmt: skip


def rnn_table(run: RnnUnroll, batch: int = 0) -> dict[str, np.ndarray]:
    """Per step: ‖h_t‖ from RNNCell and from RNN (batch item ``batch``) and the largest |difference| over all
    batch items and units."""
    return {
        "t": np.arange(run.h_cell.shape[0]),
        "RNNCell ‖h_t‖": np.linalg.norm(run.h_cell[:, batch], axis=1),
        "RNN ‖h_t‖": np.linalg.norm(run.h_rnn[:, batch], axis=1),
        "max |Δ|": run.step_diff,
    }


def step_by_step(lstm: nn.LSTM, x: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """Post 3's hand-written ``lstm_forward``, for any layers/directions/projection: a plain loop over t.

    ``x`` batch-first ``(B, T, I)``; ``hx = (h0, c0)`` of shape ``(L·D, B, P)``/``(L·D, B, H)`` or None for
    zeros. Returns ``output (B, T, D·P), h_n, c_n (L·D, B, ·)``.
    """
    B, T, _ = x.shape
    H, D = lstm.hidden_size, 2 if lstm.bidirectional else 1
    layer_in = x
    h_n, c_n = [], []
    with torch.no_grad():
        for k in range(lstm.num_layers):
            outs = []
            for d in range(D):
                sfx = f"l{k}{'_reverse' if d == 1 else ''}"
                w_ih, w_hh = getattr(lstm, f"weight_ih_{sfx}"), getattr(lstm, f"weight_hh_{sfx}")
                b = getattr(lstm, f"bias_ih_{sfx}") + getattr(lstm, f"bias_hh_{sfx}") if lstm.bias else 0.0
                w_hr = getattr(lstm, f"weight_hr_{sfx}", None) if lstm.proj_size else None
                h = x.new_zeros(B, w_hh.shape[1]) if hx is None else hx[0][k * D + d]
                c = x.new_zeros(B, H) if hx is None else hx[1][k * D + d]
                hs = [None] * T
                for t in range(T) if d == 0 else range(T - 1, -1, -1):
                    gates = layer_in[:, t] @ w_ih.T + h @ w_hh.T + b  # (B, 4H) in the order i, f, g, o
                    i, f, g, o = gates.chunk(4, dim=1)
                    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                    h = torch.sigmoid(o) * torch.tanh(c)
                    if w_hr is not None:
                        h = h @ w_hr.T
                    hs[t] = h
                outs.append(torch.stack(hs, dim=1))
                h_n.append(h)
                c_n.append(c)
            layer_in = torch.cat(outs, dim=2)
    return layer_in, torch.stack(h_n), torch.stack(c_n)
