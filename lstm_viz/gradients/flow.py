"""Gradient flow through time in a tanh RNN, a GRU and an LSTM: ‖∂L/∂h_t‖, ‖∂L/∂c_t‖, ∏f, ∂L/∂x_t by autograd.

The experiment behind the seeds' claim that the LSTM's additive cell update lets gradients survive long
sequences: one sequence x_0..x_{T-1} goes through three recurrent nets of the same hidden size; the loss L is
computed from the *last* hidden state only (a linear read-out and a binary cross-entropy, the label being the
sign of the first input), and autograd tells how much L depends on each earlier state and input:

    ∂L/∂h_t for every t (RNN, GRU, LSTM)      ∂L/∂c_t (LSTM)      ∂L/∂x_t (all three, per input feature)

    ∏_{s=t+1}^{T-1} f_s   the product of forget gates: how much of c_t reaches c_{T-1} along the cell path alone.

The nets are unrolled one step at a time (``nn.RNNCell``/``GRUCell`` holding the weights of ``nn.RNN``/``GRU``;
the LSTM's six equations written out), and a zero "probe" tensor is added to every h_t (and c_t): the gradient
with respect to the probe *is* the total derivative ∂L/∂h_t through all later steps. Computation is in float64
(on the device from :func:`lstm_viz.core.device.pick_device`; float32 on Apple MPS), so a plain RNN's gradient can
fall to 1e-100 and still be drawn. Weights are PyTorch's default initialisation (seeded) or trained with Adam on
the same "remember the first input" task at a short length; the LSTM's forget-gate bias can be set.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from lstm_viz.core.device import pick_device, seeded, torch_threads
from lstm_viz.parsing import InputError, parse_float, parse_int, quote

__all__ = [
    "KINDS",
    "LABELS",
    "FlowResult",
    "FlowSettings",
    "ModelFlow",
    "build_net",
    "compare_gradient_flow",
    "gradient_flow",
    "horizon",
    "make_task",
    "parse_settings",
    "train_net",
    "train_weights",
    "unroll_loss",
]

KINDS: tuple[str, ...] = ("rnn", "gru", "lstm")
LABELS: dict[str, str] = {"rnn": "RNN (tanh)", "gru": "GRU", "lstm": "LSTM"}
WEIGHTS: tuple[str, ...] = ("random", "trained")

MAX_LENGTH = 2000
MAX_HIDDEN = 256
MAX_INPUT = 64
MAX_TRAIN_STEPS = 2000
MAX_TRAIN_LENGTH = 200
TRAIN_BATCH = 64
TRAIN_LR = 0.01


@dataclass(frozen=True)
class FlowSettings:
    """Everything that determines a gradient-flow experiment (hashable: it keys the page's cache).

    ``forget_bias``: the LSTM's forget-gate bias at initialisation (``bias_ih`` f-part set to it, ``bias_hh``
    f-part to 0); ``None`` keeps PyTorch's default uniform(-1/√H, 1/√H) for both. ``weights="trained"`` trains
    each net for ``train_steps`` Adam steps on sequences of ``train_length`` before measuring.
    """

    length: int = 200
    hidden_size: int = 32
    input_size: int = 4
    forget_bias: float | None = 1.0
    weights: str = "random"
    seed: int = 0
    train_steps: int = 400
    train_length: int = 10

    def __post_init__(self) -> None:
        checks = (
            ("length", self.length, 2, MAX_LENGTH),
            ("hidden_size", self.hidden_size, 1, MAX_HIDDEN),
            ("input_size", self.input_size, 1, MAX_INPUT),
            ("train_steps", self.train_steps, 1, MAX_TRAIN_STEPS),
            ("train_length", self.train_length, 2, MAX_TRAIN_LENGTH),
            ("seed", self.seed, 0, 2**31 - 1),
        )
        for name, value, low, high in checks:
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise InputError(f"{name} must be a whole number in {low}..{high}, got {value!r}")
        if self.weights not in WEIGHTS:
            raise InputError(f"weights must be one of {', '.join(WEIGHTS)}, got {self.weights!r}")
        bias = self.forget_bias
        if bias is not None and not (isinstance(bias, (int, float)) and math.isfinite(bias) and abs(bias) <= 20):
            raise InputError(f"forget_bias must be a finite number in -20..20 (e.g. 1.0), got {bias!r}")


def parse_settings(
    length: str,
    hidden_size: str,
    input_size: str,
    forget_bias: str,
    weights: str = "random",
    seed: str = "0",
    train_steps: str = "400",
    train_length: str = "10",
) -> FlowSettings:
    """FlowSettings from what a user typed; raises :class:`InputError` with an example on bad text.

    ``forget_bias`` may be a number (``"1"``, ``"0"``, ``"-2.5"``) or ``"default"`` (PyTorch's init).
    """
    bias_text = str(forget_bias).strip().lower()
    if not bias_text:  # never silently "default": say what the box needs
        raise InputError(
            "LSTM forget-gate bias is empty; type a number between -20 and 20, or 'default' for PyTorch's own "
            "initialisation. Example: 1"
        )
    if bias_text in ("default", "pytorch", "none"):
        bias: float | None = None
    else:
        try:
            bias = parse_float(bias_text, name="Forget-gate bias", minimum=-20, maximum=20)
        except InputError:
            raise InputError(
                f"LSTM forget-gate bias must be a number between -20 and 20, or 'default' for PyTorch's own "
                f"initialisation; got {quote(str(forget_bias).strip())}. Example: 1"
            ) from None
    return FlowSettings(
        # each message suggests the field's own default (every one said "Example: 10", the seed's included)
        length=parse_int(length, name="Sequence length", minimum=2, maximum=MAX_LENGTH, example=200),
        hidden_size=parse_int(hidden_size, name="Hidden size", minimum=1, maximum=MAX_HIDDEN, example=32),
        input_size=parse_int(input_size, name="Input size", minimum=1, maximum=MAX_INPUT, example=4),
        forget_bias=bias,
        weights=weights,
        seed=parse_int(seed, name="Random seed", minimum=0, maximum=2**31 - 1, example=0),
        train_steps=parse_int(train_steps, name="Training steps", minimum=1, maximum=MAX_TRAIN_STEPS, example=400),
        train_length=parse_int(train_length, name="Training length", minimum=2, maximum=MAX_TRAIN_LENGTH,
                               example=10),
    )


# ------------------------------------------------------------------------------------------------ the nets
def _dtype_for(device: torch.device) -> torch.dtype:
    return torch.float32 if device.type == "mps" else torch.float64


def build_net(kind: str, settings: FlowSettings, device: torch.device | None = None) -> nn.ModuleDict:
    """``{"rnn": nn.RNN | GRU | LSTM (batch_first), "readout": nn.Linear(H, 1)}``, seeded by ``settings.seed``.

    Each kind gets its own seed offset, so the three nets do not share random numbers by accident of layout.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    device = device or pick_device()
    dtype = _dtype_for(device)
    cls = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[kind]
    extra = {"nonlinearity": "tanh"} if kind == "rnn" else {}
    H = settings.hidden_size
    with seeded(settings.seed * 3 + KINDS.index(kind)):
        layers = {"rnn": cls(settings.input_size, H, batch_first=True, **extra), "readout": nn.Linear(H, 1)}
    net = nn.ModuleDict(layers).to(device=device, dtype=dtype)
    if kind == "lstm" and settings.forget_bias is not None:
        with torch.no_grad():  # storage order i, f, g, o: the f-part is rows H..2H
            net["rnn"].bias_ih_l0[H : 2 * H] = settings.forget_bias
            net["rnn"].bias_hh_l0[H : 2 * H] = 0.0
    return net


def make_task(
    batch: int, length: int, input_size: int, seed: int, device: torch.device, dtype: torch.dtype
) -> tuple[Tensor, Tensor]:
    """The "remember the first input" task: x ~ N(0, 1), shape ``(batch, length, input_size)``; y = [x_0[0] > 0].

    Only the first step carries the label, so the loss at the last step can only be lowered through the
    gradient that travels all the way back to t = 0.
    """
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, length, input_size, generator=gen, dtype=torch.float64)
    y = (x[:, 0, 0] > 0).to(torch.float64).unsqueeze(1)
    return x.to(device=device, dtype=dtype), y.to(device=device, dtype=dtype)


def train_net(
    net: nn.ModuleDict, settings: FlowSettings, progress: Callable[[float], None] | None = None
) -> dict[str, float]:
    """Adam (lr 0.01) for ``settings.train_steps`` steps on fresh batches of the task; returns last loss/accuracy."""
    p = next(net.parameters())
    opt = torch.optim.Adam(net.parameters(), lr=TRAIN_LR)
    loss = acc = float("nan")
    for step in range(settings.train_steps):
        seed = 10_000 + step
        x, y = make_task(TRAIN_BATCH, settings.train_length, settings.input_size, seed, p.device, p.dtype)
        out, _ = net["rnn"](x)
        logits = net["readout"](out[:, -1])
        batch_loss = F.binary_cross_entropy_with_logits(logits, y)
        opt.zero_grad()
        batch_loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt.step()
        loss = batch_loss.item()
        acc = float(((logits > 0).to(y.dtype) == y).float().mean())
        if progress is not None and (step % 10 == 0 or step == settings.train_steps - 1):
            progress((step + 1) / settings.train_steps)
    return {"loss": loss, "accuracy": acc}


def _cell_of(rnn: nn.Module) -> nn.Module:
    """The one-step cell sharing the weights of a one-layer ``nn.RNN``/``GRU``/``LSTM`` (shared, not copied)."""
    cls = {nn.RNN: nn.RNNCell, nn.GRU: nn.GRUCell, nn.LSTM: nn.LSTMCell}[type(rnn)]
    extra = {"nonlinearity": rnn.nonlinearity} if isinstance(rnn, nn.RNN) else {}
    p = rnn.weight_ih_l0
    cell = cls(rnn.input_size, rnn.hidden_size, bias=rnn.bias, device=p.device, dtype=p.dtype, **extra)
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        if hasattr(rnn, f"{name}_l0"):
            setattr(cell, name, getattr(rnn, f"{name}_l0"))
    return cell


def unroll_loss(
    net: nn.ModuleDict,
    x: Tensor,
    y: Tensor,
    dh: list[Tensor] | None = None,
    dc: list[Tensor] | None = None,
) -> tuple[Tensor, dict[str, Tensor]]:
    """L for input ``x`` ``(1, T, I)``, unrolled one step at a time: h_t ← cell(x_t, h_{t-1}) + dh[t].

    ``dh``/``dc`` are additive probes (normally zeros): ∂L/∂dh[t] is exactly the total derivative ∂L/∂h_t, and
    perturbing them numerically gives finite differences of L with respect to h_t. Returns L and, for an LSTM,
    the forget gates ``{"f": (T, H)}`` of the pass (recomputed from the cell's own weights).
    """
    rnn = net["rnn"]
    cell = _cell_of(rnn)
    B, T, _ = x.shape
    H = rnn.hidden_size
    h = x.new_zeros(B, H)
    c = x.new_zeros(B, H)
    forget = []
    for t in range(T):
        x_t = x[:, t]
        if isinstance(rnn, nn.LSTM):  # the six equations, storage order i, f, g, o
            gates = F.linear(x_t, cell.weight_ih, cell.bias_ih) + F.linear(h, cell.weight_hh, cell.bias_hh)
            i, f, g, o = gates.chunk(4, dim=1)
            i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
            forget.append(f.detach()[0])
            c = f * c + i * g
            if dc is not None:
                c = c + dc[t]
            h = o * torch.tanh(c)
        else:
            h = cell(x_t, h)
        if dh is not None:
            h = h + dh[t]
    logits = net["readout"](h)
    loss = F.binary_cross_entropy_with_logits(logits, y)
    return loss, ({"f": torch.stack(forget)} if forget else {})


# ------------------------------------------------------------------------------------------------ measuring
@dataclass(frozen=True)
class ModelFlow:
    """What the loss at step T says about each earlier step t = 0..T-1 for one net (numpy, float64).

    ``grad_h[t] = ‖∂L/∂h_t‖``, ``grad_x[t, k] = |∂L/∂x_{t,k}|``; LSTM only: ``grad_c[t] = ‖∂L/∂c_t‖`` and
    ``forget_product[t]`` = mean over units of ∏_{s=t+1}^{T-1} f_s (1 at the last step).
    """

    kind: str
    grad_h: np.ndarray
    grad_x: np.ndarray
    loss: float
    grad_c: np.ndarray | None = None
    forget_product: np.ndarray | None = None
    train: dict[str, float] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return LABELS[self.kind]

    @property
    def grad_x_norm(self) -> np.ndarray:
        """‖∂L/∂x_t‖ over input features, shape ``(T,)`` (``_row_norms``: no underflow while one is above 0)."""
        return _row_norms(torch.from_numpy(self.grad_x)).numpy()


@dataclass(frozen=True)
class FlowResult:
    """The three nets' :class:`ModelFlow` for one :class:`FlowSettings`, in the order of ``KINDS``."""

    settings: FlowSettings
    flows: dict[str, ModelFlow]
    device: str

    @property
    def dtype(self) -> str:
        """What the gradients were computed in: float64, or float32 on Apple MPS (the norms are float64 numbers
        either way, so their dtype does not say)."""
        return str(_dtype_for(torch.device(self.device))).removeprefix("torch.")

    def horizons(self, ratio: float = 1e-3) -> dict[str, int]:
        """Per net: over how many of the last steps (the last included) ‖∂L/∂h_t‖ stays ≥ ``ratio`` × its value at
        the last step (see :func:`horizon`)."""
        return {k: horizon(f.grad_h, ratio) for k, f in self.flows.items()}

    def to_frame(self) -> pd.DataFrame:
        """Long table ``net, t, quantity, value`` of every curve (grad_h, grad_c, forget_product, grad_x[k])."""
        frames = []
        for kind, f in self.flows.items():
            curves = {"grad_h": f.grad_h, "grad_c": f.grad_c, "forget_product": f.forget_product}
            curves |= {f"grad_x[{k}]": f.grad_x[:, k] for k in range(f.grad_x.shape[1])}
            for name, values in curves.items():
                if values is not None:
                    frames.append(pd.DataFrame({"net": kind, "t": np.arange(len(values)), "quantity": name,
                                                "value": values}))  # fmt: skip
        return pd.concat(frames, ignore_index=True)

    def summary(self) -> list[str]:
        """One line per net: ‖∂L/∂h_0‖ / ‖∂L/∂h_T‖ (h_T: the last state), the 1/1000 horizon, the loss (and
        training result)."""
        lines = []
        for f in self.flows.values():
            ratio = f.grad_h[0] / f.grad_h[-1] if f.grad_h[-1] > 0 else float("nan")
            trained = f", trained: loss {f.train['loss']:.3f} accuracy {f.train['accuracy']:.0%}" if f.train else ""
            lines.append(
                f"{f.label:<11} ‖∂L/∂h_0‖/‖∂L/∂h_T‖ = {ratio:.2e}, above 1/1000 over the last "
                f"{horizon(f.grad_h)} steps, "
                f"loss {f.loss:.3f}{trained}"
            )
        return lines


def horizon(grad: np.ndarray, ratio: float = 1e-3) -> int:
    """How many of the last steps, the last one included, keep ``grad[t] ≥ ratio·grad[-1]`` (counting back from
    the last step until the first that drops below); ``len(grad)`` if none does."""
    grad = np.asarray(grad, dtype=np.float64)
    if grad.size == 0 or not grad[-1] > 0:
        return 0
    below = np.nonzero(grad < ratio * grad[-1])[0]
    return int(grad.size if below.size == 0 else grad.size - 1 - below[-1])


def _row_norms(rows: Tensor) -> Tensor:
    """‖row‖ of each row, scaled by the row's largest |element| first: ``Tensor.norm`` squares the elements, so a
    float64 gradient whose elements are all below ~1e-162 would read 0 although it is far from the smallest float64
    (~5e-324); scaled, a norm is 0 only when every element is."""
    scale = rows.abs().amax(dim=1, keepdim=True)
    return (rows / torch.where(scale > 0, scale, torch.ones_like(scale))).norm(dim=1) * scale[:, 0]


def _forget_product(f: Tensor) -> np.ndarray:
    """``f`` (T, H) → mean over units of ∏_{s>t} f_s for each t, summed in log space (no early underflow)."""
    logf = torch.log(f.to(torch.float64).cpu().clamp_min(1e-300))
    after = torch.flip(torch.cumsum(torch.flip(logf, [0]), 0), [0])  # Σ_{s≥t} log f_s
    log_prod = torch.cat([after[1:], torch.zeros_like(after[:1])])  # Σ_{s>t}
    return (torch.logsumexp(log_prod, dim=1) - math.log(f.shape[1])).exp().numpy()


def train_weights(
    kind: str,
    settings: FlowSettings,
    device: torch.device | None = None,
    progress: Callable[[float], None] | None = None,
) -> tuple[dict[str, Tensor], dict[str, float]]:
    """Train one net as ``settings`` say; returns its state_dict (on the CPU) and the last loss/accuracy.

    The result does not depend on ``settings.length`` (the test length), so callers may cache it without it.
    """
    net = build_net(kind, settings, device)
    with torch_threads(1):
        report = train_net(net, settings, progress)
    return {k: v.detach().cpu() for k, v in net.state_dict().items()}, report


def gradient_flow(
    kind: str,
    settings: FlowSettings,
    device: torch.device | None = None,
    progress: Callable[[float], None] | None = None,
    trained: tuple[dict[str, Tensor], dict[str, float]] | None = None,
) -> ModelFlow:
    """Build one net (for ``weights="trained"``: load ``trained`` from :func:`train_weights`, or train it now),
    then measure its gradients on one test sequence of ``settings.length`` steps."""
    device = device or pick_device()
    net = build_net(kind, settings, device)
    report: dict[str, float] = {}
    if settings.weights == "trained":
        state, report = trained if trained is not None else train_weights(kind, settings, device, progress)
        net.load_state_dict(state)
    p = next(net.parameters())
    x, y = make_task(1, settings.length, settings.input_size, settings.seed + 1, device, p.dtype)
    x.requires_grad_(True)
    H = settings.hidden_size
    dh = [x.new_zeros(1, H, requires_grad=True) for _ in range(settings.length)]
    dc = [x.new_zeros(1, H, requires_grad=True) for _ in range(settings.length)] if kind == "lstm" else None
    with torch_threads(1):
        loss, extra = unroll_loss(net, x, y, dh, dc)
        grads = torch.autograd.grad(loss, [x, *dh, *(dc or [])])
    grad_x = grads[0][0].abs()
    grad_h = _row_norms(torch.cat(grads[1 : 1 + settings.length]))
    grad_c = _row_norms(torch.cat(grads[1 + settings.length :])) if dc is not None else None
    if progress is not None:
        progress(1.0)

    def np64(t: Tensor) -> np.ndarray:
        return t.detach().to("cpu", torch.float64).numpy()

    return ModelFlow(
        kind=kind,
        grad_h=np64(grad_h),
        grad_x=np64(grad_x),
        loss=loss.item(),
        grad_c=None if grad_c is None else np64(grad_c),
        forget_product=_forget_product(extra["f"]) if "f" in extra else None,
        train=report,
    )


def compare_gradient_flow(
    settings: FlowSettings,
    device: torch.device | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> FlowResult:
    """:func:`gradient_flow` for the RNN, GRU and LSTM; ``progress(fraction, message)`` after each stage."""
    device = device or pick_device()
    flows = {}
    for n, kind in enumerate(KINDS):

        def stage(fraction: float, n: int = n, kind: str = kind) -> None:
            if progress is not None:
                progress((n + fraction) / len(KINDS), f"{LABELS[kind]}: {fraction:.0%}")

        flows[kind] = gradient_flow(kind, settings, device, stage)
    return FlowResult(settings=settings, flows=flows, device=str(device))


def with_length(settings: FlowSettings, length: int) -> FlowSettings:
    """The same settings for another sequence length (handy for sweeps and the benchmark)."""
    return replace(settings, length=length)
