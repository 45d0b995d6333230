"""The seed posts' models (ModelConfig dataclass + build_model), built on RecordingLSTM so each can record.

Kinds (``ModelConfig.kind``):

- ``statquest``   seed 000: the one-unit LSTM written with twelve named scalars (``wlr1 … bo1``).
- ``toy_lstm``    seed 000: ``LSTM(1, 1)``, prediction = the last output.
- ``regressor``   seed 002: (multi-layer) LSTM + ``Linear`` on the last time step.
- ``subtraction`` seed 004: ``LSTM(2, 32)`` → ``Linear(32, 1)`` → sigmoid per bit; ``proj_size`` makes it
  an LSTMP, ``cell="gru"`` swaps in a GRU (seed 004's closing note), ``num_layers``/``bidirectional`` for
  experiments.
- ``sequence``    a bare LSTM (what a plain ``nn.LSTM`` state_dict holds): ``forward`` returns its output.

Every model takes batch-first input ``(B, T, input_size)`` and has ``.config`` and ``.recordable``; LSTM
models have ``record(x) -> Recording``. Output shapes: statquest/toy_lstm ``(B,)``; regressor
``(B, output_size)``; subtraction ``(B, T)`` bit probabilities (``logits(x)`` before the sigmoid); sequence
``(B, T, D * (proj or H))``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from lstm_viz.core.lstm import RecordingLSTM
from lstm_viz.core.recording import Recording

__all__ = [
    "CELLS",
    "KINDS",
    "STATQUEST_NAMES",
    "BitSubtractor",
    "LSTMVizModel",
    "ModelConfig",
    "Regressor",
    "SequenceModel",
    "StatQuestLSTM",
    "ToyLSTM",
    "build_model",
    "count_parameters",
]

KINDS: tuple[str, ...] = ("statquest", "toy_lstm", "regressor", "subtraction", "sequence")
CELLS: tuple[str, ...] = ("lstm", "gru")

# The twelve scalars of seed 000, grouped per gate as (weight on h, weight on x, bias).
STATQUEST_NAMES: tuple[str, ...] = (
    "wlr1", "wlr2", "blr1",  # forget gate f   ("long-term remember %")
    "wpr1", "wpr2", "bpr1",  # input gate i    ("potential remember %")
    "wp1", "wp2", "bp1",     # candidate g     ("potential memory", tanh)
    "wo1", "wo2", "bo1",     # output gate o   ("output %")
)  # fmt: skip
# The same scalars in PyTorch's storage order i, f, g, o: (weight on h, weight on x, bias) per gate.
_STATQUEST_IFGO: tuple[tuple[str, str, str], ...] = (
    ("wpr1", "wpr2", "bpr1"),
    ("wlr1", "wlr2", "blr1"),
    ("wp1", "wp2", "bp1"),
    ("wo1", "wo2", "bo1"),
)

# What each kind fixes; the remaining fields are free.
_FIXED: dict[str, dict[str, Any]] = {
    "statquest": dict(input_size=1, hidden_size=1, num_layers=1, proj_size=0, bidirectional=False,
                      cell="lstm", output_size=1, dropout=0.0, bias=True),
    "toy_lstm": dict(input_size=1, hidden_size=1, proj_size=0, bidirectional=False, cell="lstm",
                     output_size=1),
    "regressor": dict(),
    "subtraction": dict(input_size=2, output_size=1),
    "sequence": dict(),
}  # fmt: skip
_DEFAULTS: dict[str, dict[str, Any]] = {
    "statquest": {},
    "toy_lstm": {},
    "regressor": dict(input_size=10, hidden_size=50, num_layers=2),
    "subtraction": dict(hidden_size=32),
    "sequence": {},
}


@dataclass
class ModelConfig:
    """Everything needed to rebuild a model; saved with its weights in every checkpoint."""

    kind: str = "subtraction"
    input_size: int = 2
    hidden_size: int = 32
    num_layers: int = 1
    proj_size: int = 0
    bidirectional: bool = False
    cell: str = "lstm"
    output_size: int = 1
    dropout: float = 0.0
    bias: bool = True

    def __post_init__(self) -> None:
        self.validate()

    @classmethod
    def default(cls, kind: str, **overrides: Any) -> ModelConfig:
        """The seed's configuration for ``kind`` (e.g. ``default("subtraction", proj_size=8)``)."""
        if kind not in KINDS:
            raise ValueError(f"unknown model kind {kind!r}; choose one of {', '.join(KINDS)}")
        fields = {**_defaults_of(kind), **overrides, "kind": kind}
        return cls(**fields)

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def real_hidden_size(self) -> int:
        """Size of h (and of the recurrent output per direction): proj_size for an LSTMP, else hidden_size."""
        return self.proj_size if self.proj_size > 0 else self.hidden_size

    @property
    def recordable(self) -> bool:
        return self.cell == "lstm"

    def label(self) -> str:
        """A short human name, e.g. ``subtraction LSTMP(2→32→8)`` or ``StatQuest LSTM by hand``."""
        if self.kind == "statquest":
            return "StatQuest LSTM by hand"
        cell = "GRU" if self.cell == "gru" else ("LSTMP" if self.proj_size else "LSTM")
        inner = f"{self.input_size}→{self.hidden_size}" + (f"→{self.proj_size}" if self.proj_size else "")
        extra = (f", {self.num_layers} layers" if self.num_layers > 1 else "") + (
            ", bidirectional" if self.bidirectional else ""
        )
        task = {"toy_lstm": "toy", "statquest": "StatQuest"}.get(self.kind, self.kind)
        return f"{task} {cell}({inner}{extra})"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> ModelConfig:
        """Rebuild from ``to_dict()`` output (missing fields take the kind's defaults); raises ValueError
        naming any unknown or bad field."""
        if not isinstance(data, dict):
            raise ValueError(f"a model config must be a dict, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(str(k) for k in data if k not in names)
        if unknown:
            raise ValueError(f"unknown model config field(s): {', '.join(unknown)}; known: {', '.join(sorted(names))}")
        if "kind" not in data:
            raise ValueError(f"model config has no 'kind'; one of {', '.join(KINDS)}")
        if data["kind"] not in KINDS:
            raise ValueError(f"unknown model kind {data['kind']!r}; choose one of {', '.join(KINDS)}")
        return cls(**{**_defaults_of(data["kind"]), **data})  # missing fields: the kind's defaults

    def validate(self) -> None:
        """Raise ValueError with a clear message if the fields do not describe a buildable model."""
        if self.kind not in KINDS:
            raise ValueError(f"unknown model kind {self.kind!r}; choose one of {', '.join(KINDS)}")
        if self.cell not in CELLS:
            raise ValueError(f"cell must be 'lstm' or 'gru', got {self.cell!r}")
        for name in ("input_size", "hidden_size", "num_layers", "output_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if isinstance(self.proj_size, bool) or not isinstance(self.proj_size, int) or self.proj_size < 0:
            raise ValueError(f"proj_size must be a non-negative integer (0 = no projection), got {self.proj_size!r}")
        if self.proj_size >= self.hidden_size:
            raise ValueError(
                f"proj_size ({self.proj_size}) must be smaller than hidden_size ({self.hidden_size}); "
                "use 0 for no projection"
            )
        if self.proj_size and self.cell == "gru":
            raise ValueError("proj_size is an LSTM option (LSTMP); a GRU has no projection — use proj_size=0")
        for name in ("bidirectional", "bias"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float)):
            raise ValueError(f"dropout must be a number in [0, 1), got {self.dropout!r}")
        if not (0.0 <= float(self.dropout) < 1.0) or math.isnan(self.dropout):
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if self.dropout > 0 and self.num_layers == 1:
            raise ValueError("dropout acts only between stacked layers: use num_layers ≥ 2 or dropout 0")
        self.dropout = float(self.dropout)
        for name, value in _FIXED[self.kind].items():
            if getattr(self, name) != value:
                raise ValueError(
                    f"a {self.kind!r} model needs {name}={value!r} (got {getattr(self, name)!r}); "
                    f"see ModelConfig.default({self.kind!r})"
                )


def _defaults_of(kind: str) -> dict[str, Any]:
    base = {f.name: f.default for f in dataclasses.fields(ModelConfig)}
    return {**base, **_FIXED[kind], **_DEFAULTS[kind]}


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


class LSTMVizModel(nn.Module):
    """Base of every lstm-viz model: a config, a batch-first input check, and ``record`` for LSTM cells."""

    config: ModelConfig

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config

    @property
    def recordable(self) -> bool:
        """True when ``record`` works (every LSTM model); False for a GRU, which has no f/i/o gates."""
        return self.config.recordable

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def rnn(self) -> nn.Module:
        """The recurrent module (a RecordingLSTM, or an nn.GRU)."""
        return self.gru if self.config.cell == "gru" else self.lstm

    def check_input(self, x: Any) -> Tensor:
        """``x`` if it is a batch-first ``(B, T, input_size)`` float tensor, else a clear ValueError."""
        size = self.config.input_size
        if not isinstance(x, Tensor):
            raise ValueError(f"input must be a torch.Tensor of shape (batch, time, {size}), got {type(x).__name__}")
        if x.dim() != 3 or x.shape[-1] != size:
            raise ValueError(
                f"input must have shape (batch, time, {size}), batch first; got {tuple(x.shape)}"
                + (" — add a batch dimension with x.unsqueeze(0)" if x.dim() == 2 and x.shape[-1] == size else "")
            )
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(f"input has an empty batch or no time steps: shape {tuple(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(f"input must be a floating-point tensor, got dtype {x.dtype}; use x.float()")
        return x

    def record(self, x: Tensor) -> Recording:
        """Every gate and state of the LSTM on batch-first ``x`` ``(B, T, input_size)``."""
        if not self.recordable:
            raise TypeError(
                "a GRU has no forget/input/output gates and no cell state c, so it cannot be recorded as "
                "f, i, g, o, c, h; pick an LSTM model to record"
            )
        x = self.check_input(x).to(self.device)
        return self.lstm.record(x)


def _make_rnn(config: ModelConfig) -> nn.Module:
    if config.cell == "gru":
        return nn.GRU(
            config.input_size, config.hidden_size, num_layers=config.num_layers, bias=config.bias,
            batch_first=True, dropout=config.dropout, bidirectional=config.bidirectional,
        )  # fmt: skip
    return RecordingLSTM(
        config.input_size, config.hidden_size, num_layers=config.num_layers, bias=config.bias,
        batch_first=True, dropout=config.dropout, bidirectional=config.bidirectional,
        proj_size=config.proj_size,
    )  # fmt: skip


class StatQuestLSTM(LSTMVizModel):
    """Seed 000's LSTM by hand: one unit, twelve named scalars, c and h start at 0.

    The gates, exactly as in the post (h = short memory, c = long memory)::

        f = σ(h·wlr1 + x·wlr2 + blr1)      i = σ(h·wpr1 + x·wpr2 + bpr1)
        g = tanh(h·wp1 + x·wp2 + bp1)      o = σ(h·wo1 + x·wo2 + bo1)
        c = f·c + i·g                      h = o·tanh(c)

    Weights are drawn from N(0, 1) in the post's order, biases start at 0. The model equals an
    ``nn.LSTM(1, 1)`` with ``weight_ih = [wpr2, wlr2, wp2, wo2]``, ``weight_hh = [wpr1, wlr1, wp1, wo1]``,
    ``bias_ih = [bpr1, blr1, bp1, bo1]`` and ``bias_hh = 0`` (i, f, g, o order): see :meth:`lstm_state_dict`
    and :meth:`to_lstm`.
    """

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__(config or ModelConfig.default("statquest"))
        mean, std = torch.tensor(0.0), torch.tensor(1.0)
        for name in STATQUEST_NAMES:  # same draw order as the post: wlr1, wlr2, wpr1, wpr2, wp1, wp2, wo1, wo2
            value = torch.tensor(0.0) if name.startswith("b") else torch.normal(mean=mean, std=std)
            setattr(self, name, nn.Parameter(value))

    def named_weights(self) -> dict[str, float]:
        """The twelve scalars by name, in the post's order (forget, input, candidate, output)."""
        return {name: float(getattr(self, name).detach()) for name in STATQUEST_NAMES}

    def set_weights(self, values: dict[str, float]) -> None:
        """Overwrite some or all of the twelve scalars, e.g. ``set_weights({"wlr1": 2.7})``."""
        unknown = sorted(set(values) - set(STATQUEST_NAMES))
        if unknown:
            raise ValueError(f"unknown StatQuest parameter(s) {unknown}; the names are {', '.join(STATQUEST_NAMES)}")
        with torch.no_grad():
            for name, value in values.items():
                value = float(value)
                if not math.isfinite(value):
                    raise ValueError(f"{name} must be a finite number, got {value}")
                getattr(self, name).fill_(value)

    def _stacked(self) -> tuple[Tensor, Tensor, Tensor]:
        """(w_x, w_h, b), each (4,) in storage order i, f, g, o; differentiable w.r.t. the twelve scalars."""
        w_h, w_x, b = (torch.stack([getattr(self, gate[k]) for gate in _STATQUEST_IFGO]) for k in range(3))
        return w_x, w_h, b

    def lstm_state_dict(self) -> dict[str, Tensor]:
        """The twelve scalars as an ``nn.LSTM(1, 1)`` state_dict (detached copies)."""
        w_x, w_h, b = (t.detach().clone() for t in self._stacked())
        return {
            "weight_ih_l0": w_x.view(4, 1),
            "weight_hh_l0": w_h.view(4, 1),
            "bias_ih_l0": b,
            "bias_hh_l0": torch.zeros_like(b),
        }

    def to_lstm(self) -> RecordingLSTM:
        """A RecordingLSTM(1, 1, batch_first=True) holding the twelve values; same outputs as this model."""
        lstm = RecordingLSTM(1, 1, batch_first=True).to(self.device)
        lstm.load_state_dict(self.lstm_state_dict())
        return lstm.eval()

    def unroll(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """All h and c over time, ``(B, T)`` each, computed with the post's equations."""
        x = self.check_input(x)
        w_x, w_h, b = self._stacked()
        B, T, _ = x.shape
        c = x.new_zeros(B, 1)  # long memory
        h = x.new_zeros(B, 1)  # short memory
        hs, cs = [], []
        for t in range(T):
            pre = x[:, t] * w_x + h * w_h + b  # (B, 4): i, f, g, o pre-activations
            i, f, o = torch.sigmoid(pre[:, 0:1]), torch.sigmoid(pre[:, 1:2]), torch.sigmoid(pre[:, 3:4])
            g = torch.tanh(pre[:, 2:3])
            c = f * c + i * g
            h = o * torch.tanh(c)
            hs.append(h)
            cs.append(c)
        return torch.cat(hs, 1), torch.cat(cs, 1)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, T, 1)`` → the last short memory h, ``(B,)`` — the prediction.

        Computes exactly :meth:`unroll`'s equations, with the twelve scalars stacked into nn.LSTM's weight
        layout and run through PyTorch's fused LSTM kernel (about twice as fast to train; tested equal).
        """
        x = self.check_input(x)
        w_x, w_h, b = self._stacked()
        zeros = x.new_zeros(1, x.shape[0], 1)  # c and h start at 0
        weights = [w_x.view(4, 1), w_h.view(4, 1), b, torch.zeros_like(b)]
        out, _, _ = torch._VF.lstm(x, (zeros, zeros), weights, True, 1, 0.0, self.training, False, True)
        return out[:, -1, 0]

    def record(self, x: Tensor) -> Recording:
        """Record f, i, g, o, c, h through the equivalent RecordingLSTM(1, 1)."""
        x = self.check_input(x).to(self.device)
        return self.to_lstm().record(x)


class ToyLSTM(LSTMVizModel):
    """Seed 000's ``nn.LSTM(input_size=1, hidden_size=1)``; the prediction is the last output."""

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__(config or ModelConfig.default("toy_lstm"))
        self.lstm = _make_rnn(self.config)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, T, 1)`` → last output ``(B,)``."""
        out, _ = self.lstm(self.check_input(x))  # (B, T, 1)
        return out[:, -1, 0]


class Regressor(LSTMVizModel):
    """Seed 002's regressor: LSTM (``num_layers`` deep, batch first) + ``Linear`` on the last time step."""

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__(config or ModelConfig.default("regressor"))
        c = self.config
        setattr(self, c.cell, _make_rnn(c))
        self.fc = nn.Linear(c.num_directions * c.real_hidden_size, c.output_size)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, T, input_size)`` → ``(B, output_size)``."""
        out, _ = self.rnn()(self.check_input(x))  # (B, T, D*P)
        return self.fc(out[:, -1, :])


class BitSubtractor(LSTMVizModel):
    """Seed 004's ``LSTMSubtractor``: recurrent layer → ``Linear(·, 1)`` → sigmoid, one probability per bit.

    Same attribute names as the post (``lstm``, ``fc``), so the post's saved state_dict loads as is.
    """

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__(config or ModelConfig.default("subtraction"))
        c = self.config
        setattr(self, c.cell, _make_rnn(c))
        self.fc = nn.Linear(c.num_directions * c.real_hidden_size, 1)

    def logits(self, x: Tensor) -> Tensor:
        """``(B, T, 2)`` bit pairs (LSB first) → ``(B, T)`` logits of the difference's bits."""
        out, _ = self.rnn()(self.check_input(x))  # (B, T, D*P)
        return self.fc(out).squeeze(-1)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, T, 2)`` → ``(B, T)`` probability that each bit of ``a - b`` is 1."""
        return torch.sigmoid(self.logits(x))


class SequenceModel(LSTMVizModel):
    """A bare LSTM (e.g. a plain ``nn.LSTM`` state_dict someone uploaded): ``forward`` returns its output."""

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__(config or ModelConfig.default("sequence"))
        setattr(self, self.config.cell, _make_rnn(self.config))

    def forward(self, x: Tensor) -> Tensor:
        """``(B, T, input_size)`` → ``(B, T, num_directions * (proj_size or hidden_size))``."""
        return self.rnn()(self.check_input(x))[0]


_CLASSES: dict[str, type[LSTMVizModel]] = {
    "statquest": StatQuestLSTM,
    "toy_lstm": ToyLSTM,
    "regressor": Regressor,
    "subtraction": BitSubtractor,
    "sequence": SequenceModel,
}


def build_model(config: ModelConfig, device: torch.device | str | None = None) -> LSTMVizModel:
    """A freshly initialised model for ``config`` on ``device`` (seed torch first for a reproducible init)."""
    if not isinstance(config, ModelConfig):
        raise TypeError(f"build_model expects a ModelConfig, got {type(config).__name__}")
    config.validate()
    model = _CLASSES[config.kind](dataclasses.replace(config))
    return model.to(device) if device is not None else model
